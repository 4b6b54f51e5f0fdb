/* The platform's table of the syscall seam (POSIX; see sys_win.c for
 * Winsock) and the pointer to the table in use. */
#include "internal.h"

#if !defined(_WIN32)
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/epoll.h>
#endif

/* MSG_NOSIGNAL turns a write to a reset stream into EPIPE instead of a
 * SIGPIPE that would kill the process (send(2)). */
#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0
#endif

#define RET(expr)                                                                                            \
    do {                                                                                                     \
        long r_ = (long)(expr);                                                                              \
        return r_ < 0 ? -errno : r_;                                                                         \
    } while (0)

static int apply_flags(sc_sock_t s, int flags)
{
    if ((flags & SC_NONBLOCK) && fcntl((int)s, F_SETFL, fcntl((int)s, F_GETFL) | O_NONBLOCK) < 0)
        return -errno;
    if ((flags & SC_CLOEXEC) && fcntl((int)s, F_SETFD, FD_CLOEXEC) < 0)
        return -errno;
    return 0;
}

#if defined(SOCK_NONBLOCK)
static int type_flags(int flags)
{
    return ((flags & SC_NONBLOCK) ? SOCK_NONBLOCK : 0) | ((flags & SC_CLOEXEC) ? SOCK_CLOEXEC : 0);
}
#endif

static sc_sock_t px_socket(void *ctx, int domain, int type, int protocol, int flags)
{
    (void)ctx;
#if defined(SOCK_NONBLOCK)
    RET(socket(domain, type | type_flags(flags), protocol));
#else
    int s = socket(domain, type, protocol);
    if (s < 0)
        return -errno;
    int rc = apply_flags(s, flags);
    if (rc < 0)
        close(s);
    return rc < 0 ? rc : s;
#endif
}

static int px_socketpair(void *ctx, int type, int flags, sc_sock_t sv[2])
{
    int fds[2];
    (void)ctx;
    if (socketpair(AF_UNIX, type, 0, fds) < 0)
        return -errno;
    int rc = apply_flags(fds[0], flags);
    if (rc == 0)
        rc = apply_flags(fds[1], flags);
    if (rc < 0) {
        close(fds[0]);
        close(fds[1]);
        return rc;
    }
    sv[0] = fds[0];
    sv[1] = fds[1];
    return 0;
}

static int px_bind(void *ctx, sc_sock_t s, const struct sockaddr *sa, sc_socklen_t len)
{
    (void)ctx;
    RET(bind((int)s, sa, len));
}

static int px_listen(void *ctx, sc_sock_t s, int backlog)
{
    (void)ctx;
    RET(listen((int)s, backlog));
}

static sc_sock_t px_accept(void *ctx, sc_sock_t s, struct sockaddr *sa, sc_socklen_t *len, int flags)
{
    (void)ctx;
#if defined(SOCK_NONBLOCK)
    RET(accept4((int)s, sa, len, type_flags(flags)));
#else
    int c = accept((int)s, sa, len);
    if (c < 0)
        return -errno;
    int rc = apply_flags(c, flags);
    if (rc < 0)
        close(c);
    return rc < 0 ? rc : c;
#endif
}

static int px_connect(void *ctx, sc_sock_t s, const struct sockaddr *sa, sc_socklen_t len)
{
    (void)ctx;
    RET(connect((int)s, sa, len));
}

static ptrdiff_t px_send(void *ctx, sc_sock_t s, const void *buf, size_t len, int flags)
{
    (void)ctx;
    RET(send((int)s, buf, len, flags | MSG_NOSIGNAL));
}

static ptrdiff_t px_recv(void *ctx, sc_sock_t s, void *buf, size_t len, int flags)
{
    (void)ctx;
    RET(recv((int)s, buf, len, flags));
}

static ptrdiff_t px_sendto(void *ctx, sc_sock_t s, const void *buf, size_t len, int flags,
                           const struct sockaddr *sa, sc_socklen_t salen)
{
    (void)ctx;
    RET(sendto((int)s, buf, len, flags | MSG_NOSIGNAL, sa, salen));
}

static ptrdiff_t px_recvfrom(void *ctx, sc_sock_t s, void *buf, size_t len, int flags, struct sockaddr *sa,
                             sc_socklen_t *salen)
{
    (void)ctx;
    RET(recvfrom((int)s, buf, len, flags, sa, salen));
}

#if defined(__linux__)
#define BATCH_MAX 64 /* entries per recvmmsg/sendmmsg call; a larger batch is cut */

/* The kernel's view of v: one buffer and one address per entry (recv:
 * the room and the room for the source; send: the bytes and the
 * destination). Returns the number of entries, at most BATCH_MAX. */
static int to_mmsg(struct mmsghdr *m, struct iovec *io, const sc_dgram_t *v, int n, int recv)
{
    if (n > BATCH_MAX)
        n = BATCH_MAX;
    for (int i = 0; i < n; i++) {
        io[i] = (struct iovec){.iov_base = v[i].buf, .iov_len = recv ? v[i].cap : v[i].len};
        m[i] = (struct mmsghdr){.msg_hdr = {.msg_name = (void *)&v[i].addr,
                                            .msg_namelen = recv ? sizeof(v[i].addr) : v[i].addrlen,
                                            .msg_iov = &io[i], .msg_iovlen = 1}};
    }
    return n;
}

static int px_recv_batch(void *ctx, sc_sock_t s, sc_dgram_t *v, int n, int flags)
{
    (void)ctx;
    struct mmsghdr m[BATCH_MAX];
    struct iovec io[BATCH_MAX];
    if (n <= 0)
        return -EINVAL;
    int got = recvmmsg((int)s, m, (unsigned)to_mmsg(m, io, v, n, 1), flags, NULL);
    if (got < 0)
        return -errno;
    for (int i = 0; i < got; i++) {
        v[i].len = m[i].msg_len;
        v[i].addrlen = (sc_socklen_t)m[i].msg_hdr.msg_namelen;
        if ((m[i].msg_hdr.msg_flags & MSG_TRUNC) && v[i].len <= v[i].cap)
            v[i].len = v[i].cap + 1; /* cut, whatever length the kernel reported */
    }
    return got;
}

static int px_send_batch(void *ctx, sc_sock_t s, const sc_dgram_t *v, int n, int flags)
{
    (void)ctx;
    struct mmsghdr m[BATCH_MAX];
    struct iovec io[BATCH_MAX];
    if (n <= 0)
        return -EINVAL;
    RET(sendmmsg((int)s, m, (unsigned)to_mmsg(m, io, v, n, 0), flags | MSG_NOSIGNAL));
}
#endif

static int px_shutdown(void *ctx, sc_sock_t s, int how)
{
    (void)ctx;
    RET(shutdown((int)s, how));
}

static int px_close(void *ctx, sc_sock_t s)
{
    (void)ctx;
    /* Linux releases the descriptor even when close reports EINTR, so a
     * retry could close someone else's new descriptor (close(2) NOTES). */
    RET(close((int)s));
}

static int px_poll(void *ctx, sc_pollfd_t *fds, size_t n, int timeout_ms)
{
    (void)ctx;
    RET(poll(fds, (nfds_t)n, timeout_ms));
}

static int px_setsockopt(void *ctx, sc_sock_t s, int level, int name, const void *val, sc_socklen_t len)
{
    (void)ctx;
    RET(setsockopt((int)s, level, name, val, len));
}

static int px_getsockopt(void *ctx, sc_sock_t s, int level, int name, void *val, sc_socklen_t *len)
{
    (void)ctx;
    RET(getsockopt((int)s, level, name, val, len));
}

static int px_getsockname(void *ctx, sc_sock_t s, struct sockaddr *sa, sc_socklen_t *len)
{
    (void)ctx;
    RET(getsockname((int)s, sa, len));
}

static int px_getpeername(void *ctx, sc_sock_t s, struct sockaddr *sa, sc_socklen_t *len)
{
    (void)ctx;
    RET(getpeername((int)s, sa, len));
}

static int px_set_nonblock(void *ctx, sc_sock_t s, int on)
{
    (void)ctx;
    int fl = fcntl((int)s, F_GETFL);
    if (fl < 0)
        return -errno;
    RET(fcntl((int)s, F_SETFL, on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK)));
}

#if defined(__linux__)
static int px_ev_create(void *ctx)
{
    (void)ctx;
    RET(epoll_create1(EPOLL_CLOEXEC));
}

static int px_ev_ctl(void *ctx, int ep, int op, sc_sock_t s, uint32_t events, uint64_t data)
{
    struct epoll_event ev = {.events = events, .data.u64 = data};
    int eop = op == SC_EV_ADD ? EPOLL_CTL_ADD : op == SC_EV_DEL ? EPOLL_CTL_DEL : EPOLL_CTL_MOD;
    (void)ctx;
    RET(epoll_ctl(ep, eop, (int)s, &ev));
}

/* SC_EV_* equal the poll bits, which equal EPOLLIN/OUT/ERR/HUP on Linux. */
static int px_ev_wait(void *ctx, int ep, sc_event_t *evs, int max, int timeout_ms)
{
    struct epoll_event buf[256];
    (void)ctx;
    if (max > (int)SC__ARRAY_LEN(buf))
        max = (int)SC__ARRAY_LEN(buf);
    int n = epoll_wait(ep, buf, max, timeout_ms);
    if (n < 0)
        return -errno;
    for (int i = 0; i < n; i++) {
        evs[i].events = buf[i].events;
        evs[i].data = buf[i].data.u64;
    }
    return n;
}
#endif

static const sc_sys_t platform = {
    .ctx = NULL,
    .socket = px_socket,
    .socketpair = px_socketpair,
    .bind = px_bind,
    .listen = px_listen,
    .accept = px_accept,
    .connect = px_connect,
    .send = px_send,
    .recv = px_recv,
    .sendto = px_sendto,
    .recvfrom = px_recvfrom,
    .shutdown = px_shutdown,
    .close = px_close,
    .poll = px_poll,
    .setsockopt = px_setsockopt,
    .getsockopt = px_getsockopt,
    .getsockname = px_getsockname,
    .getpeername = px_getpeername,
    .set_nonblock = px_set_nonblock,
#if defined(__linux__)
    .ev_create = px_ev_create,
    .ev_ctl = px_ev_ctl,
    .ev_wait = px_ev_wait,
    .recv_batch = px_recv_batch,
    .send_batch = px_send_batch,
#endif
};

const sc_sys_t *sc_sys_platform(void)
{
    return &platform;
}
#endif /* !_WIN32 */

static const sc_sys_t *sc__sys;

const sc_sys_t *sc_sys_install(const sc_sys_t *sys)
{
    const sc_sys_t *old = sc_sys_current();
    sc__sys = sys ? sys : sc_sys_platform();
    return old;
}

const sc_sys_t *sc_sys_current(void)
{
    return sc__sys ? sc__sys : sc_sys_platform();
}
