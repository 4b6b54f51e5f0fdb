/* The POSIX socket calls of sct_posix.h over Winsock, for the Windows build
 * of the suites; and Winsock's start in every process of the test binary. */
#include "sct_posix.h"

#include <limits.h>
#include <stdarg.h>

/* These are the real Winsock calls: undo the renaming for this file. */
#undef socket
#undef socketpair
#undef bind
#undef listen
#undef accept
#undef accept4
#undef connect
#undef send
#undef recv
#undef sendto
#undef recvfrom
#undef shutdown
#undef setsockopt
#undef getsockopt
#undef getsockname
#undef getpeername
#undef poll
#undef close
#undef read
#undef write
#undef pipe
#undef fcntl
#undef ioctl
#undef inet_pton
#undef inet_ntop
#undef strerror

#include <stdint.h>
#include <string.h>

#include "sockcheck/net.h"
#include "sockcheck/sys.h"

int sc__wsa_error(int wsa);           /* harness/net_win.c */
const char *sc__win_strerror(int err); /* harness/net_win.c */

/* Criterion runs every test in a new process of this binary (the runner
 * and each worker), and each needs Winsock started before its first socket
 * call; the library leaves that to its caller (sc_net_init). */
__attribute__((constructor)) static void start_winsock(void)
{
    sc_net_init();
}

/* -1 with errno set from the thread's last Winsock error. */
static int fail(void)
{
    errno = -sc__wsa_error(WSAGetLastError());
    return -1;
}

static int clamp(size_t len)
{
    return len > INT_MAX ? INT_MAX : (int)len;
}

/* -1 with errno set from a Winsock error taken earlier. */
static int fail_with(int wsa)
{
    errno = -sc__wsa_error(wsa);
    return -1;
}

/* The library's record of the sockets made non-blocking (harness/sys_win.c):
 * Winsock cannot read the mode back, and MSG_DONTWAIT must know what to
 * restore. This file notes every mode it sets there too, so that the
 * library's own MSG_DONTWAIT calls restore it right. */
void sc__win_nb_note(SOCKET s, int on);
int sc__win_nb_is(SOCKET s);
#define nb_note sc__win_nb_note
#define nb_is sc__win_nb_is

static int set_nonblock(SOCKET s, int on)
{
    u_long arg = on ? 1 : 0;
    if (ioctlsocket(s, (long)FIONBIO, &arg) == SOCKET_ERROR)
        return fail();
    nb_note(s, on);
    return 0;
}

static int set_cloexec(SOCKET s, int on)
{
    if (SetHandleInformation((HANDLE)s, HANDLE_FLAG_INHERIT, on ? 0 : HANDLE_FLAG_INHERIT))
        return 0;
    errno = EBADF;
    return -1;
}

/* Applies SOCK_NONBLOCK / SOCK_CLOEXEC to a new socket; closes it on failure. */
static int with_flags(SOCKET s, int flags)
{
    if (s == INVALID_SOCKET)
        return fail();
    if (((flags & SOCK_NONBLOCK) && set_nonblock(s, 1) < 0) || ((flags & SOCK_CLOEXEC) && set_cloexec(s, 1) < 0)) {
        int e = errno;
        closesocket(s);
        errno = e;
        return -1;
    }
    return (int)s;
}

int sct_socket(int domain, int type, int protocol)
{
    int flags = type & (SOCK_NONBLOCK | SOCK_CLOEXEC);
    return with_flags(socket(domain, type & ~flags, protocol), flags);
}

/* Winsock has no socketpair: the library's loopback emulation (the domain
 * is not checked; the pair is AF_INET). */
int sct_socketpair(int domain, int type, int protocol, int sv[2])
{
    (void)domain;
    (void)protocol;
    const sc_sys_t *sys = sc_sys_platform();
    int flags = type & (SOCK_NONBLOCK | SOCK_CLOEXEC);
    sc_sock_t s[2];
    int rc = sys->socketpair(sys->ctx, type & ~flags,
                             ((flags & SOCK_NONBLOCK) ? SC_NONBLOCK : 0) | ((flags & SOCK_CLOEXEC) ? SC_CLOEXEC : 0), s);
    if (rc < 0) {
        errno = -rc;
        return -1;
    }
    nb_note((SOCKET)s[0], (flags & SOCK_NONBLOCK) != 0);
    nb_note((SOCKET)s[1], (flags & SOCK_NONBLOCK) != 0);
    sv[0] = (int)s[0];
    sv[1] = (int)s[1];
    return 0;
}

int sct_bind(int s, const struct sockaddr *sa, socklen_t len)
{
    return bind((SOCKET)s, sa, len) == SOCKET_ERROR ? fail() : 0;
}

int sct_listen(int s, int backlog)
{
    return listen((SOCKET)s, backlog) == SOCKET_ERROR ? fail() : 0;
}

/* The accepted socket inherits the listener's mode (accept function,
 * Remarks). */
int sct_accept(int s, struct sockaddr *sa, socklen_t *len)
{
    SOCKET c = accept((SOCKET)s, sa, len);
    if (c == INVALID_SOCKET)
        return fail();
    nb_note(c, nb_is((SOCKET)s));
    return (int)c;
}

/* An accepted socket inherits the listener's mode on Windows: accept4's
 * flags are set both ways. */
int sct_accept4(int s, struct sockaddr *sa, socklen_t *len, int flags)
{
    SOCKET c = accept((SOCKET)s, sa, len);
    if (c == INVALID_SOCKET)
        return fail();
    if (set_nonblock(c, (flags & SOCK_NONBLOCK) != 0) < 0 || ((flags & SOCK_CLOEXEC) && set_cloexec(c, 1) < 0)) {
        int e = errno;
        closesocket(c);
        errno = e;
        return -1;
    }
    return (int)c;
}

int sct_connect(int s, const struct sockaddr *sa, socklen_t len)
{
    return connect((SOCKET)s, sa, len) == SOCKET_ERROR ? fail() : 0;
}

/* MSG_DONTWAIT: the call is made on a non-blocking socket (ioctlsocket
 * FIONBIO), which then goes back to blocking unless it was non-blocking
 * already. Returns 1 when the mode must be restored, 0 when not, -1 with
 * errno on failure. */
static int dontwait_begin(int s, int flags)
{
    if (!(flags & MSG_DONTWAIT) || nb_is((SOCKET)s))
        return 0;
    u_long on = 1;
    return ioctlsocket((SOCKET)s, (long)FIONBIO, &on) == SOCKET_ERROR ? fail() : 1;
}

/* Ends a call begun with dontwait_begin: r is the call's result; the
 * call's own error is kept. */
static int dontwait_end(int s, int restore, int r)
{
    int wsa = r == SOCKET_ERROR ? WSAGetLastError() : 0;
    if (restore) {
        u_long off = 0;
        ioctlsocket((SOCKET)s, (long)FIONBIO, &off);
    }
    return r == SOCKET_ERROR ? fail_with(wsa) : r;
}

ssize_t sct_send(int s, const void *buf, size_t len, int flags)
{
    int restore = dontwait_begin(s, flags);
    if (restore < 0)
        return -1;
    return dontwait_end(s, restore, send((SOCKET)s, buf, clamp(len), flags & ~MSG_DONTWAIT));
}

ssize_t sct_recv(int s, void *buf, size_t len, int flags)
{
    int restore = dontwait_begin(s, flags);
    if (restore < 0)
        return -1;
    return dontwait_end(s, restore, recv((SOCKET)s, buf, clamp(len), flags & ~MSG_DONTWAIT));
}

ssize_t sct_sendto(int s, const void *buf, size_t len, int flags, const struct sockaddr *sa, socklen_t salen)
{
    int restore = dontwait_begin(s, flags);
    if (restore < 0)
        return -1;
    return dontwait_end(s, restore, sendto((SOCKET)s, buf, clamp(len), flags & ~MSG_DONTWAIT, sa, salen));
}

ssize_t sct_recvfrom(int s, void *buf, size_t len, int flags, struct sockaddr *sa, socklen_t *salen)
{
    int restore = dontwait_begin(s, flags);
    if (restore < 0)
        return -1;
    return dontwait_end(s, restore, recvfrom((SOCKET)s, buf, clamp(len), flags & ~MSG_DONTWAIT, sa, salen));
}

int sct_shutdown(int s, int how)
{
    return shutdown((SOCKET)s, how) == SOCKET_ERROR ? fail() : 0;
}

int sct_setsockopt(int s, int level, int name, const void *val, socklen_t len)
{
    return setsockopt((SOCKET)s, level, name, val, len) == SOCKET_ERROR ? fail() : 0;
}

/* SO_ERROR holds a Winsock code; the suites compare errno values. */
int sct_getsockopt(int s, int level, int name, void *val, socklen_t *len)
{
    if (getsockopt((SOCKET)s, level, name, val, len) == SOCKET_ERROR)
        return fail();
    if (level == SOL_SOCKET && name == SO_ERROR && *len >= (int)sizeof(int) && *(int *)val != 0)
        *(int *)val = -sc__wsa_error(*(int *)val);
    return 0;
}

int sct_getsockname(int s, struct sockaddr *sa, socklen_t *len)
{
    return getsockname((SOCKET)s, sa, len) == SOCKET_ERROR ? fail() : 0;
}

int sct_getpeername(int s, struct sockaddr *sa, socklen_t *len)
{
    return getpeername((SOCKET)s, sa, len) == SOCKET_ERROR ? fail() : 0;
}

int sct_poll(struct pollfd *fds, nfds_t n, int timeout_ms)
{
    if (n == 0) {
        Sleep(timeout_ms < 0 ? INFINITE : (DWORD)timeout_ms);
        return 0;
    }
    int rc = WSAPoll(fds, n, timeout_ms);
    return rc == SOCKET_ERROR ? fail() : rc;
}

/* Sockets and C runtime descriptors are told apart by asking Winsock
 * first: WSAENOTSOCK sends the call to the runtime. */
static int is_socket(int fd)
{
    int type;
    int len = sizeof(type);
    return getsockopt((SOCKET)fd, SOL_SOCKET, SO_TYPE, (char *)&type, &len) == 0;
}

/* closesocket, or the C runtime's close for one of its descriptors; a
 * number that is neither keeps closesocket's WSAENOTSOCK. */
int sct_close(int fd)
{
    if (closesocket((SOCKET)fd) == 0) {
        nb_note((SOCKET)fd, 0);
        return 0;
    }
    int wsa = WSAGetLastError();
    if (wsa != WSAENOTSOCK || _get_osfhandle(fd) == -1)
        return fail_with(wsa);
    return _close(fd);
}

ssize_t sct_read(int fd, void *buf, size_t len)
{
    return is_socket(fd) ? sct_recv(fd, buf, len, 0) : _read(fd, buf, (unsigned)clamp(len));
}

ssize_t sct_write(int fd, const void *buf, size_t len)
{
    return is_socket(fd) ? sct_send(fd, buf, len, 0) : _write(fd, buf, (unsigned)clamp(len));
}

/* A pipe that WSAPoll can watch: a loopback stream pair. */
int sct_pipe(int fds[2])
{
    int sv[2];
    if (sct_socketpair(AF_INET, SOCK_STREAM, 0, sv) < 0)
        return -1;
    fds[0] = sv[0];
    fds[1] = sv[1];
    return 0;
}

/* Winsock cannot read a socket's blocking mode back: F_GETFL reports 0,
 * which F_SETFL callers OR their flag into. F_GETFD reads the handle's
 * inherit flag: FD_CLOEXEC when the handle is not inherited. */
int sct_fcntl(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    int arg = cmd == F_SETFL || cmd == F_SETFD ? va_arg(ap, int) : 0;
    va_end(ap);
    if (!is_socket(fd)) {
        errno = EBADF;
        return -1;
    }
    switch (cmd) {
    case F_GETFD: {
        DWORD hf = 0;
        if (!GetHandleInformation((HANDLE)(SOCKET)fd, &hf)) {
            errno = EBADF;
            return -1;
        }
        return (hf & HANDLE_FLAG_INHERIT) ? 0 : FD_CLOEXEC;
    }
    case F_GETFL:
        return 0;
    case F_SETFL:
        return set_nonblock((SOCKET)fd, (arg & O_NONBLOCK) != 0);
    case F_SETFD:
        return set_cloexec((SOCKET)fd, (arg & FD_CLOEXEC) != 0);
    default:
        errno = EINVAL;
        return -1;
    }
}

int sct_ioctl(int fd, unsigned long request, ...)
{
    va_list ap;
    va_start(ap, request);
    int *arg = va_arg(ap, int *);
    va_end(ap);
    if (request != (unsigned long)FIONREAD && request != (unsigned long)FIONBIO) {
        errno = EINVAL;
        return -1;
    }
    if (request == (unsigned long)FIONBIO)
        return set_nonblock((SOCKET)fd, *arg != 0);
    u_long v = 0;
    if (ioctlsocket((SOCKET)fd, (long)request, &v) == SOCKET_ERROR)
        return fail();
    if (request == (unsigned long)FIONREAD)
        *arg = v > INT_MAX ? INT_MAX : (int)v;
    return 0;
}

/* inet_pton and inet_ntop report their errors through WSAGetLastError
 * (inet_pton function, inet_ntop function: Return value). */
int sct_inet_pton(int af, const char *src, void *dst)
{
    int rc = inet_pton(af, src, dst);
    return rc < 0 ? fail() : rc;
}

const char *sct_inet_ntop(int af, const void *src, char *dst, socklen_t size)
{
    const char *rc = inet_ntop(af, src, dst, (size_t)size);
    if (!rc)
        fail();
    return rc;
}

char *sct_strerror(int err)
{
    const char *t = sc__win_strerror(err);
    return t ? (char *)(uintptr_t)t : strerror(err);
}

int getrlimit(int resource, struct rlimit *rl)
{
    (void)resource;
    rl->rlim_cur = rl->rlim_max = RLIM_INFINITY;
    return 0;
}

int setrlimit(int resource, const struct rlimit *rl)
{
    (void)resource;
    (void)rl;
    errno = ENOSYS;
    return -1;
}
