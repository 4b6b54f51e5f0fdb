/* The reference echo client: connect with a deadline (every resolved
 * address in turn), then send and verify the echo byte for byte. */
#include "sockcheck/client.h"
#include "sockcheck/io.h"
#include "sockcheck/net.h"
#include "sockcheck/sys.h"
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* How many resolved addresses sc_client_connect tries at most. */
#define MAX_ADDRS 16
/* Bytes read from the socket per recv in sc_echo_tcp. */
#define ECHO_CHUNK 65536
/* The largest datagram payload (IPv6 without jumbograms); one more byte
 * of room lets a longer echo be told from an exact one. */
#define UDP_MAX 65536
/* Rounds of connect/poll/connect a single attempt makes at most: a
 * well-behaved stack needs two (EINPROGRESS, then EISCONN). */
#define CONNECT_ROUNDS 8

/* MSG_DONTWAIT makes one call non-blocking without touching the socket's
 * mode, so that a caller's blocking socket stays blocking. Winsock has no
 * such flag: there the socket is switched to non-blocking for the
 * exchange and back to blocking after it. */
#if defined(MSG_DONTWAIT)
#define DONTWAIT MSG_DONTWAIT
#else
#define DONTWAIT 0
#endif

static int nb_begin(const sc_sys_t *sys, sc_sock_t s)
{
#if defined(MSG_DONTWAIT)
    (void)sys;
    (void)s;
    return 0;
#else
    return SC__CALL(sys, set_nonblock, s, 1);
#endif
}

static void nb_end(const sc_sys_t *sys, sc_sock_t s)
{
#if defined(MSG_DONTWAIT)
    (void)sys;
    (void)s;
#else
    SC__CALL(sys, set_nonblock, s, 0);
#endif
}

static int would_block(ptrdiff_t rc)
{
    return rc == -EAGAIN || rc == -EWOULDBLOCK || rc == -EINTR;
}

/* A connect that has not finished yet. POSIX: after EINTR the connection
 * is still established asynchronously, like after EINPROGRESS; a second
 * connect while it is pending fails with EALREADY. Winsock reports a
 * pending non-blocking connect as WSAEWOULDBLOCK. */
static int connect_pending(int rc)
{
#if defined(_WIN32)
    if (rc == -EWOULDBLOCK)
        return 1;
#endif
    return rc == -EINPROGRESS || rc == -EALREADY || rc == -EINTR;
}

/* Waits for a pending connect and reads its outcome. A connect is only
 * known to have finished when a further connect says EISCONN: a socket
 * that was never connected also polls writable (with POLLHUP) and has no
 * SO_ERROR, so writability alone proves nothing. *call names the step
 * that failed. */
static int finish_connect(const sc_sys_t *sys, sc_sock_t s, const sc_addr_t *addr, int rc, int64_t deadline,
                          const char **call)
{
    for (int round = 0; round < CONNECT_ROUNDS; round++) {
        if (rc == 0 || (round > 0 && rc == -EISCONN))
            return 0;
        if (!connect_pending(rc))
            return rc;
        int w = sc_wait(s, SC_EV_OUT, deadline);
        if (w < 0)
            return w;
        int soerr = 0;
        sc_socklen_t len = sizeof(soerr);
        int g = SC__CALL(sys, getsockopt, s, SOL_SOCKET, SO_ERROR, &soerr, &len);
        if (g < 0) {
            *call = "getsockopt";
            return g;
        }
        if (soerr != 0)
            return -soerr;
        rc = SC__CALL(sys, connect, s, (const struct sockaddr *)&addr->ss, addr->len);
    }
    return -ETIMEDOUT;
}

/* One connect attempt; *call names the failing call for the caller's
 * message ("connect" unless socket or an option call failed). */
static int connect_one(const sc_addr_t *addr, int socktype, int flags, int timeout_ms, sc_sock_t *out,
                       const char **call)
{
    const sc_sys_t *sys = sc_sys_current();
    *call = "socket";
    if (!addr || addr->len == 0 || !out)
        return -EINVAL;
    int64_t deadline = sc_deadline(timeout_ms);
    sc_sock_t s = SC__CALL(sys, socket, addr->ss.ss_family, socktype, 0, SC_NONBLOCK | SC_CLOEXEC);
    if (s < 0)
        return (int)s;
    *call = "connect";
    int rc = SC__CALL(sys, connect, s, (const struct sockaddr *)&addr->ss, addr->len);
    rc = finish_connect(sys, s, addr, rc, deadline, call);
    if (rc == 0 && !(flags & SC_NONBLOCK)) {
        rc = SC__CALL(sys, set_nonblock, s, 0);
        if (rc < 0)
            *call = "set_nonblock";
    }
    if (rc < 0) {
        SC__CALL(sys, close, s);
        return rc;
    }
    *out = s;
    return 0;
}

int sc_client_connect_addr(const sc_addr_t *addr, int socktype, int flags, int timeout_ms, sc_sock_t *out)
{
    const char *call;
    return connect_one(addr, socktype, flags, timeout_ms, out, &call);
}

/* "host:port" as a reader expects it, brackets around an IPv6 host. */
static const char *host_port(char *buf, size_t cap, const char *host, const char *port)
{
    const char *fmt = host && strchr(host, ':') ? "[%s]:%s" : "%s:%s";
    snprintf(buf, cap, fmt, host ? host : "", port ? port : "");
    return buf;
}

int sc_client_connect(const char *host, const char *port, int socktype, int flags, int timeout_ms,
                      sc_sock_t *out, sc_addr_t *peer, char *err, size_t errlen)
{
    sc_addr_t addrs[MAX_ADDRS];
    char text[SC_ADDR_TEXT_MAX + 8];
    if (err && errlen)
        err[0] = '\0';
    int n = sc_addr_resolve(host, port, socktype, addrs, MAX_ADDRS);
    if (n < 0)
        return sc__errorf(err, errlen, n, "resolve %s", host_port(text, sizeof(text), host, port));
    int rc = SC_ERESOLVE;
    for (int i = 0; i < n; i++) {
        const char *call;
        rc = connect_one(&addrs[i], socktype, flags, timeout_ms, out, &call);
        if (rc == 0) {
            if (peer)
                *peer = addrs[i];
            return 0;
        }
        if (sc_addr_format((const struct sockaddr *)&addrs[i].ss, addrs[i].len, text, sizeof(text)) < 0)
            snprintf(text, sizeof(text), "?");
        sc__errorf(err, errlen, rc, "%s %s", call, text);
    }
    return rc;
}

/* Compares n received bytes with those sent at the same offset. Returns
 * the index of the first difference, or n when they are equal. */
static size_t first_difference(const unsigned char *got, const unsigned char *want, size_t n)
{
    if (memcmp(got, want, n) == 0)
        return n;
    size_t i = 0;
    while (got[i] == want[i])
        i++;
    return i;
}

/* The state of one sc_echo_tcp exchange. */
struct echo {
    const sc_sys_t *sys;
    sc_sock_t s;
    const unsigned char *buf;
    size_t len, sent, received;
    int send_err; /* the error that ended sending, 0 while it goes on */
};

/* One send of whatever is left. Returns 1 on progress, 0 when it would
 * block, or -1 after sending failed (the error is kept for later). */
static int echo_send(struct echo *e)
{
    if (e->sent == e->len || e->send_err)
        return 0;
    ptrdiff_t n = SC__CALL(e->sys, send, e->s, e->buf + e->sent, e->len - e->sent, DONTWAIT);
    if (n > 0) {
        e->sent += (size_t)n;
        return 1;
    }
    if (n == 0 || would_block(n))
        return 0;
    /* The peer may have closed on purpose: what it echoed before is still
     * to be read, and the read tells an early EOF from a reset. */
    e->send_err = (int)n;
    return -1;
}

/* One recv of at most what is still owed. Returns 1 on progress, 0 when
 * it would block, or a final result (SC_EMISMATCH, SC_EEOF, an error). */
static int echo_recv(struct echo *e, size_t *mismatch_at)
{
    unsigned char in[ECHO_CHUNK];
    size_t want = e->len - e->received;
    ptrdiff_t n = SC__CALL(e->sys, recv, e->s, in, want < sizeof(in) ? want : sizeof(in), DONTWAIT);
    if (n == 0)
        return SC_EEOF;
    if (n < 0)
        return would_block(n) ? 0 : (int)n;
    size_t i = first_difference(in, e->buf + e->received, (size_t)n);
    if (i < (size_t)n) {
        *mismatch_at = e->received + i;
        e->received += i;
        return SC_EMISMATCH;
    }
    e->received += (size_t)n;
    return 1;
}

/* Sends and receives until everything came back. Each turn tries both
 * directions without waiting and polls only when neither moved, so a
 * server that stops reading until its echo is read never deadlocks us. */
static int echo_loop(struct echo *e, int64_t deadline, size_t *mismatch_at)
{
    while (e->received < e->len) {
        if (deadline >= 0 && sc_remaining_ms(deadline) == 0)
            return -ETIMEDOUT;
        int sent = echo_send(e);
        int got = echo_recv(e, mismatch_at);
        if (got < 0)
            return got;
        if (sent > 0 || got > 0)
            continue;
        if (e->send_err && e->received >= e->sent) /* nothing more can come back */
            return e->send_err;
        short ev = (short)(SC_EV_IN | (e->sent < e->len && !e->send_err ? SC_EV_OUT : 0));
        sc_pollfd_t p = {.fd = e->s, .events = ev, .revents = 0};
        int rc = SC__CALL(e->sys, poll, &p, 1, sc_remaining_ms(deadline));
        if (rc == 0)
            return -ETIMEDOUT;
        if (rc < 0 && rc != -EINTR)
            return rc;
    }
    return 0;
}

int sc_echo_tcp(sc_sock_t s, const void *buf, size_t len, int timeout_ms, sc_echo_result_t *res)
{
    struct echo e = {.sys = sc_sys_current(), .s = s, .buf = buf, .len = len};
    size_t mismatch_at = 0;
    int rc = 0;
    if (len > 0 && !buf)
        rc = -EINVAL;
    else if (len > 0 && (rc = nb_begin(e.sys, s)) == 0) {
        rc = echo_loop(&e, sc_deadline(timeout_ms), &mismatch_at);
        nb_end(e.sys, s);
    }
    if (res) {
        res->sent = e.sent;
        res->received = e.received;
        res->mismatch_at = mismatch_at;
    }
    return rc;
}

/* Waits for one datagram and reads it, within the deadline, without ever
 * blocking in recv (the socket may be blocking). */
static ptrdiff_t udp_recv_one(const sc_sys_t *sys, sc_sock_t s, unsigned char *in, size_t cap, int64_t deadline)
{
    for (;;) {
        int w = sc_wait(s, SC_EV_IN, deadline);
        if (w < 0)
            return w;
        ptrdiff_t n = SC__CALL(sys, recv, s, in, cap, DONTWAIT);
        if (n >= 0 || !would_block(n))
            return n;
        if (sc_remaining_ms(deadline) == 0)
            return -ETIMEDOUT;
    }
}

static int udp_exchange(const sc_sys_t *sys, sc_sock_t s, const unsigned char *buf, size_t len, int64_t deadline,
                        sc_echo_result_t *res)
{
    unsigned char in[UDP_MAX + 1];
    for (;;) {
        ptrdiff_t n = SC__CALL(sys, send, s, buf, len, DONTWAIT);
        if (n >= 0) {
            if ((size_t)n != len)
                return -EMSGSIZE;
            break;
        }
        if (!would_block(n))
            return (int)n;
        int w = sc_wait(s, SC_EV_OUT, deadline);
        if (w < 0)
            return w;
    }
    res->sent = len;
    ptrdiff_t n = udp_recv_one(sys, s, in, sizeof(in), deadline);
    if (n < 0)
        return (int)n;
    res->received = (size_t)n;
    size_t common = (size_t)n < len ? (size_t)n : len;
    size_t i = first_difference(in, buf, common);
    if (i < common || (size_t)n != len) {
        res->mismatch_at = i;
        return SC_EMISMATCH;
    }
    return 0;
}

int sc_echo_udp(sc_sock_t s, const void *buf, size_t len, int timeout_ms, sc_echo_result_t *res)
{
    const sc_sys_t *sys = sc_sys_current();
    sc_echo_result_t r = {0, 0, 0};
    int rc;
    if ((len > 0 && !buf) || len > UDP_MAX)
        rc = len > UDP_MAX ? -EMSGSIZE : -EINVAL;
    else if ((rc = nb_begin(sys, s)) == 0) {
        rc = udp_exchange(sys, s, buf, len, sc_deadline(timeout_ms), &r);
        nb_end(sys, s);
    }
    if (res)
        *res = r;
    return rc;
}
