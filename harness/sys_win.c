/* The platform's table of the syscall seam on Windows (Winsock 2); see
 * sys.c for POSIX and for the pointer to the table in use. */
#include "internal.h"

#if defined(_WIN32)
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* Defined by net_win.c: a Winsock error code as a negative errno value. */
int sc__wsa_error(int wsa);

/* A failed Winsock call, captured before anything else can overwrite the
 * thread's last error. */
static int fail(void)
{
    return sc__wsa_error(WSAGetLastError());
}

#define RET(expr)                                                                                            \
    do {                                                                                                     \
        int r_ = (expr);                                                                                     \
        return r_ == SOCKET_ERROR ? fail() : r_;                                                             \
    } while (0)

/* Winsock takes int lengths where POSIX takes size_t: a longer request is
 * cut to INT_MAX, which the caller sees as a short transfer. */
static int clamp_len(size_t len)
{
    return len > INT_MAX ? INT_MAX : (int)len;
}

/* The sockets the seam made non-blocking. Winsock cannot read a socket's
 * mode back (ioctlsocket FIONBIO only sets it), and a MSG_DONTWAIT call
 * must put the socket back as it was; a socket not listed is blocking, as
 * Winsock creates it. A mode set outside the seam is not seen, unless the
 * setter notes it (sc__win_nb_note: the suites' win32 shim does). */
void sc__win_nb_note(SOCKET s, int on);
int sc__win_nb_is(SOCKET s);
#define NB_MAX 4096
static SOCKET nb_socks[NB_MAX];
static int nb_count;
static SRWLOCK nb_lock = SRWLOCK_INIT;

static int nb_find(SOCKET s)
{
    for (int i = 0; i < nb_count; i++)
        if (nb_socks[i] == s)
            return i;
    return -1;
}

void sc__win_nb_note(SOCKET s, int on)
{
    AcquireSRWLockExclusive(&nb_lock);
    int i = nb_find(s);
    if (on && i < 0 && nb_count < NB_MAX)
        nb_socks[nb_count++] = s;
    else if (!on && i >= 0)
        nb_socks[i] = nb_socks[--nb_count];
    ReleaseSRWLockExclusive(&nb_lock);
}

int sc__win_nb_is(SOCKET s)
{
    AcquireSRWLockShared(&nb_lock);
    int on = nb_find(s) >= 0;
    ReleaseSRWLockShared(&nb_lock);
    return on;
}

static int set_nonblock(SOCKET s, int on)
{
    u_long arg = on ? 1 : 0;
    if (ioctlsocket(s, (long)FIONBIO, &arg) == SOCKET_ERROR)
        return fail();
    sc__win_nb_note(s, on);
    return 0;
}

/* MSG_DONTWAIT, which Winsock does not have: the library's Windows build
 * defines it outside Winsock's MSG_* bits (CMakeLists.txt), and the call
 * is made with the socket non-blocking, which goes back to blocking
 * afterwards unless the seam made it non-blocking. Returns 1 when the mode
 * must be restored, 0 when not, or a negative error. */
#if defined(MSG_DONTWAIT)
#define DONTWAIT_FLAG MSG_DONTWAIT
#else
#define DONTWAIT_FLAG 0
#endif

static int dontwait_begin(SOCKET s, int *flags)
{
    if (!DONTWAIT_FLAG || !(*flags & DONTWAIT_FLAG))
        return 0;
    *flags &= ~DONTWAIT_FLAG;
    if (sc__win_nb_is(s))
        return 0;
    u_long on = 1;
    return ioctlsocket(s, (long)FIONBIO, &on) == SOCKET_ERROR ? fail() : 1;
}

/* Ends a call begun with dontwait_begin; r is the call's result, whose
 * error is taken before the mode is restored. */
static ptrdiff_t dontwait_end(SOCKET s, int restore, int r)
{
    int err = r == SOCKET_ERROR ? fail() : 0;
    if (restore == 1) {
        u_long off = 0;
        ioctlsocket(s, (long)FIONBIO, &off);
    }
    return r == SOCKET_ERROR ? err : r;
}

/* SC_CLOEXEC: the handle is not inherited by child processes, which is
 * what close-on-exec means on a system without exec. */
static int set_noinherit(SOCKET s)
{
    return SetHandleInformation((HANDLE)s, HANDLE_FLAG_INHERIT, 0) ? 0 : -EBADF;
}

static int apply_flags(SOCKET s, int flags)
{
    int rc = 0;
    if (flags & SC_NONBLOCK)
        rc = set_nonblock(s, 1);
    if (rc == 0 && (flags & SC_CLOEXEC))
        rc = set_noinherit(s);
    return rc;
}

static sc_sock_t w_socket(void *ctx, int domain, int type, int protocol, int flags)
{
    (void)ctx;
    /* WSA_FLAG_OVERLAPPED gives the same kind of socket as socket() does;
     * WSA_FLAG_NO_HANDLE_INHERIT makes it non-inheritable atomically. */
    DWORD wflags = WSA_FLAG_OVERLAPPED | ((flags & SC_CLOEXEC) ? WSA_FLAG_NO_HANDLE_INHERIT : 0);
    SOCKET s = WSASocketW(domain, type, protocol, NULL, 0, wflags);
    if (s == INVALID_SOCKET)
        return fail();
    int rc = (flags & SC_NONBLOCK) ? set_nonblock(s, 1) : 0;
    if (rc < 0) {
        closesocket(s);
        return rc;
    }
    return (sc_sock_t)s;
}

/* Two loopback sockets bound to port 0, each the other's peer. */
static int open_pair(int type, SOCKET *a, SOCKET *b, struct sockaddr_in *sa)
{
    int len = sizeof(*sa);
    *a = WSASocketW(AF_INET, type, 0, NULL, 0, WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
    if (*a == INVALID_SOCKET)
        return fail();
    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(*a, (struct sockaddr *)sa, len) == SOCKET_ERROR || getsockname(*a, (struct sockaddr *)sa, &len) ==
                                                                     SOCKET_ERROR)
        return fail();
    *b = WSASocketW(AF_INET, type, 0, NULL, 0, WSA_FLAG_OVERLAPPED | WSA_FLAG_NO_HANDLE_INHERIT);
    return *b == INVALID_SOCKET ? fail() : 0;
}

/* True when the two sockets are each other's peer: another local process
 * could connect to the listener (or send to the datagram socket) between
 * bind and our own connect, and must not end up in the pair. */
static int same_endpoint(SOCKET local, SOCKET peer_of)
{
    struct sockaddr_in x, y;
    int xl = sizeof(x), yl = sizeof(y);
    if (getsockname(local, (struct sockaddr *)&x, &xl) == SOCKET_ERROR ||
        getpeername(peer_of, (struct sockaddr *)&y, &yl) == SOCKET_ERROR)
        return 0;
    return x.sin_port == y.sin_port && x.sin_addr.s_addr == y.sin_addr.s_addr;
}

static int stream_pair(SOCKET sv[2])
{
    struct sockaddr_in sa;
    SOCKET lst = INVALID_SOCKET, cli = INVALID_SOCKET, srv = INVALID_SOCKET;
    int rc = open_pair(SOCK_STREAM, &lst, &cli, &sa);
    if (rc == 0 && listen(lst, 1) == SOCKET_ERROR)
        rc = fail();
    /* A connect to a listening loopback socket completes from its backlog
     * at once, so the blocking connect and accept cannot wait long. */
    if (rc == 0 && connect(cli, (struct sockaddr *)&sa, sizeof(sa)) == SOCKET_ERROR)
        rc = fail();
    if (rc == 0 && (srv = accept(lst, NULL, NULL)) == INVALID_SOCKET)
        rc = fail();
    if (rc == 0 && !same_endpoint(cli, srv))
        rc = -ECONNABORTED;
    if (lst != INVALID_SOCKET)
        closesocket(lst);
    if (rc < 0) {
        if (cli != INVALID_SOCKET)
            closesocket(cli);
        if (srv != INVALID_SOCKET)
            closesocket(srv);
        return rc;
    }
    /* The wakeup pair carries single bytes that should not wait for
     * Nagle's algorithm. */
    BOOL one = TRUE;
    setsockopt(cli, IPPROTO_TCP, TCP_NODELAY, (const char *)&one, sizeof(one));
    setsockopt(srv, IPPROTO_TCP, TCP_NODELAY, (const char *)&one, sizeof(one));
    sv[0] = srv;
    sv[1] = cli;
    return 0;
}

static int dgram_pair(SOCKET sv[2])
{
    struct sockaddr_in sa0, sa1;
    SOCKET a = INVALID_SOCKET, b = INVALID_SOCKET;
    int len = sizeof(sa1);
    int rc = open_pair(SOCK_DGRAM, &a, &b, &sa0);
    if (rc == 0) {
        memset(&sa1, 0, sizeof(sa1));
        sa1.sin_family = AF_INET;
        sa1.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (bind(b, (struct sockaddr *)&sa1, len) == SOCKET_ERROR ||
            getsockname(b, (struct sockaddr *)&sa1, &len) == SOCKET_ERROR ||
            connect(a, (struct sockaddr *)&sa1, sizeof(sa1)) == SOCKET_ERROR ||
            connect(b, (struct sockaddr *)&sa0, sizeof(sa0)) == SOCKET_ERROR)
            rc = fail();
    }
    if (rc < 0) {
        if (a != INVALID_SOCKET)
            closesocket(a);
        if (b != INVALID_SOCKET)
            closesocket(b);
        return rc;
    }
    sv[0] = a;
    sv[1] = b;
    return 0;
}

/* Winsock has no socketpair: emulated over loopback (TCP for streams,
 * connected UDP for datagrams). Both ends are never inherited. */
static int w_socketpair(void *ctx, int type, int flags, sc_sock_t out[2])
{
    SOCKET sv[2];
    (void)ctx;
    int rc = type == SOCK_STREAM ? stream_pair(sv) : type == SOCK_DGRAM ? dgram_pair(sv) : -EPROTONOSUPPORT;
    if (rc < 0)
        return rc;
    rc = apply_flags(sv[0], flags & SC_NONBLOCK);
    if (rc == 0)
        rc = apply_flags(sv[1], flags & SC_NONBLOCK);
    if (rc < 0) {
        closesocket(sv[0]);
        closesocket(sv[1]);
        return rc;
    }
    out[0] = (sc_sock_t)sv[0];
    out[1] = (sc_sock_t)sv[1];
    return 0;
}

static int w_bind(void *ctx, sc_sock_t s, const struct sockaddr *sa, sc_socklen_t len)
{
    (void)ctx;
    RET(bind((SOCKET)s, sa, len));
}

static int w_listen(void *ctx, sc_sock_t s, int backlog)
{
    (void)ctx;
    RET(listen((SOCKET)s, backlog));
}

static sc_sock_t w_accept(void *ctx, sc_sock_t s, struct sockaddr *sa, sc_socklen_t *len, int flags)
{
    (void)ctx;
    SOCKET c = accept((SOCKET)s, sa, len);
    if (c == INVALID_SOCKET)
        return fail();
    /* An accepted socket inherits the listener's non-blocking mode on
     * Windows (accept function, Remarks); set both ways so that the flags
     * mean the same as accept4's. */
    int rc = set_nonblock(c, (flags & SC_NONBLOCK) != 0);
    if (rc == 0 && (flags & SC_CLOEXEC))
        rc = set_noinherit(c);
    if (rc < 0) {
        closesocket(c);
        return rc;
    }
    return (sc_sock_t)c;
}

static int w_connect(void *ctx, sc_sock_t s, const struct sockaddr *sa, sc_socklen_t len)
{
    (void)ctx;
    if (connect((SOCKET)s, sa, len) != SOCKET_ERROR)
        return 0;
    int wsa = WSAGetLastError();
    /* A non-blocking connect that has started is WSAEWOULDBLOCK in Winsock
     * and EINPROGRESS in POSIX (connect function, Return value; POSIX
     * connect()): the seam speaks POSIX. */
    return wsa == WSAEWOULDBLOCK ? -EINPROGRESS : sc__wsa_error(wsa);
}

static ptrdiff_t w_send(void *ctx, sc_sock_t s, const void *buf, size_t len, int flags)
{
    (void)ctx;
    int restore = dontwait_begin((SOCKET)s, &flags);
    if (restore < 0)
        return restore;
    return dontwait_end((SOCKET)s, restore, send((SOCKET)s, buf, clamp_len(len), flags));
}

static ptrdiff_t w_recv(void *ctx, sc_sock_t s, void *buf, size_t len, int flags)
{
    (void)ctx;
    int restore = dontwait_begin((SOCKET)s, &flags);
    if (restore < 0)
        return restore;
    return dontwait_end((SOCKET)s, restore, recv((SOCKET)s, buf, clamp_len(len), flags));
}

static ptrdiff_t w_sendto(void *ctx, sc_sock_t s, const void *buf, size_t len, int flags, const struct sockaddr *sa,
                          sc_socklen_t salen)
{
    (void)ctx;
    int restore = dontwait_begin((SOCKET)s, &flags);
    if (restore < 0)
        return restore;
    return dontwait_end((SOCKET)s, restore, sendto((SOCKET)s, buf, clamp_len(len), flags, sa, salen));
}

/* A datagram longer than the buffer fails with WSAEMSGSIZE after filling
 * the buffer (recvfrom function, Remarks): that reaches the caller as
 * -EMSGSIZE, the address filled in. */
static ptrdiff_t w_recvfrom(void *ctx, sc_sock_t s, void *buf, size_t len, int flags, struct sockaddr *sa,
                            sc_socklen_t *salen)
{
    (void)ctx;
    int restore = dontwait_begin((SOCKET)s, &flags);
    if (restore < 0)
        return restore;
    return dontwait_end((SOCKET)s, restore, recvfrom((SOCKET)s, buf, clamp_len(len), flags, sa, salen));
}

static int w_shutdown(void *ctx, sc_sock_t s, int how)
{
    (void)ctx;
    /* SHUT_RD, SHUT_WR, SHUT_RDWR equal SD_RECEIVE, SD_SEND, SD_BOTH. */
    RET(shutdown((SOCKET)s, how));
}

static int w_close(void *ctx, sc_sock_t s)
{
    (void)ctx;
    if (closesocket((SOCKET)s) == SOCKET_ERROR)
        return fail();
    sc__win_nb_note((SOCKET)s, 0);
    return 0;
}

/* The seam's poll speaks SC_EV_* (the poll(2) bits); WSAPoll has its own
 * values, and rejects the output-only bits in events. */
static short to_wsa(short ev)
{
    return (short)(((ev & SC_EV_IN) ? POLLIN : 0) | ((ev & SC_EV_OUT) ? POLLOUT : 0));
}

static short from_wsa(short rev)
{
    return (short)(((rev & POLLIN) ? SC_EV_IN : 0) | ((rev & POLLOUT) ? SC_EV_OUT : 0) |
                   ((rev & (POLLERR | POLLNVAL)) ? SC_EV_ERR : 0) | ((rev & POLLHUP) ? SC_EV_HUP : 0));
}

#define POLL_STACK 64

static int w_poll(void *ctx, sc_pollfd_t *fds, size_t n, int timeout_ms)
{
    (void)ctx;
    if (n == 0) {
        /* WSAPoll fails on an empty set; poll(2) just waits. Without
         * signals nothing could end an endless wait, so refuse it. */
        if (timeout_ms < 0)
            return -EINVAL;
        Sleep((DWORD)timeout_ms);
        return 0;
    }
    if (n > ULONG_MAX)
        return -EINVAL;
    /* The caller's events are kept and restored: WSAPoll's bits differ, and
     * a loop keeps its array from one wait to the next. */
    short stack[POLL_STACK];
    short *saved = n <= POLL_STACK ? stack : malloc(n * sizeof(*saved));
    if (!saved)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        saved[i] = fds[i].events;
        fds[i].events = to_wsa(fds[i].events);
    }
    int rc = WSAPoll(fds, (ULONG)n, timeout_ms);
    int err = rc == SOCKET_ERROR ? fail() : 0;
    for (size_t i = 0; i < n; i++) {
        fds[i].events = saved[i];
        fds[i].revents = rc > 0 ? from_wsa(fds[i].revents) : 0;
    }
    if (saved != stack)
        free(saved);
    return err < 0 ? err : rc;
}

static int w_setsockopt(void *ctx, sc_sock_t s, int level, int name, const void *val, sc_socklen_t len)
{
    (void)ctx;
    RET(setsockopt((SOCKET)s, level, name, val, len));
}

static int w_getsockopt(void *ctx, sc_sock_t s, int level, int name, void *val, sc_socklen_t *len)
{
    (void)ctx;
    if (getsockopt((SOCKET)s, level, name, val, len) == SOCKET_ERROR)
        return fail();
    /* SO_ERROR holds a Winsock code; the seam's callers read errno values
     * there, as on POSIX. */
    if (level == SOL_SOCKET && name == SO_ERROR && val && len && *len >= (int)sizeof(int)) {
        int e;
        memcpy(&e, val, sizeof(e));
        e = e ? -sc__wsa_error(e) : 0;
        memcpy(val, &e, sizeof(e));
    }
    return 0;
}

static int w_getsockname(void *ctx, sc_sock_t s, struct sockaddr *sa, sc_socklen_t *len)
{
    (void)ctx;
    RET(getsockname((SOCKET)s, sa, len));
}

static int w_getpeername(void *ctx, sc_sock_t s, struct sockaddr *sa, sc_socklen_t *len)
{
    (void)ctx;
    RET(getpeername((SOCKET)s, sa, len));
}

static int w_set_nonblock(void *ctx, sc_sock_t s, int on)
{
    (void)ctx;
    return set_nonblock((SOCKET)s, on);
}

/* ev_* stay NULL: the event loop uses its poll backend over WSAPoll. */
static const sc_sys_t platform = {
    .ctx = NULL,
    .socket = w_socket,
    .socketpair = w_socketpair,
    .bind = w_bind,
    .listen = w_listen,
    .accept = w_accept,
    .connect = w_connect,
    .send = w_send,
    .recv = w_recv,
    .sendto = w_sendto,
    .recvfrom = w_recvfrom,
    .shutdown = w_shutdown,
    .close = w_close,
    .poll = w_poll,
    .setsockopt = w_setsockopt,
    .getsockopt = w_getsockopt,
    .getsockname = w_getsockname,
    .getpeername = w_getpeername,
    .set_nonblock = w_set_nonblock,
};

const sc_sys_t *sc_sys_platform(void)
{
    return &platform;
}
#else
/* ISO C wants at least one declaration in a translation unit. */
typedef int sc__sys_win_unused;
#endif
