/* send/recv loops that survive partial transfers, EINTR and EAGAIN, each
 * bounded by a deadline; datagram calls that never cut silently. */
#include "sockcheck/io.h"
#include "sockcheck/net.h"
#include "internal.h"

#include <errno.h>
#include <string.h>
#include <time.h>

int64_t sc__now_ms(const sc_sys_t *sys)
{
    return sys && sys->now_ms ? sys->now_ms(sys->ctx) : sc_now_ms();
}

int64_t sc__now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t sc_now_ms(void)
{
    return sc__now_us() / 1000;
}

int64_t sc_deadline(int timeout_ms)
{
    return timeout_ms < 0 ? -1 : sc_now_ms() + timeout_ms;
}

int sc_remaining_ms(int64_t deadline)
{
    if (deadline < 0)
        return -1;
    int64_t left = deadline - sc_now_ms();
    return left <= 0 ? 0 : left > 0x7fffffff ? 0x7fffffff : (int)left;
}

int sc_wait(sc_sock_t s, int events, int64_t deadline)
{
    const sc_sys_t *sys = sc_sys_current();
    /* Bounded: every turn either returns or waits on the deadline, and an
     * EINTR storm cannot outlive the deadline either. */
    for (;;) {
        sc_pollfd_t p = {.fd = s, .events = (short)events, .revents = 0};
        int left = sc_remaining_ms(deadline);
        int rc = SC__CALL(sys, poll, &p, 1, left);
        if (rc > 0)
            return p.revents;
        if (rc == 0 || (rc == -EINTR && left == 0))
            return -ETIMEDOUT;
        if (rc != -EINTR)
            return rc;
    }
}

/* With a deadline, no call may block past it, and the socket may be a
 * blocking one: each call is made non-blocking with MSG_DONTWAIT (the
 * Winsock table honours it too, see sys_win.c), or, where a platform has
 * no such flag, waits for readiness first. Without a deadline, calls block
 * as the socket does. */
#if defined(MSG_DONTWAIT)
#define NOWAIT MSG_DONTWAIT
#else
#define NOWAIT 0
#endif

/* The flags for a call bounded by deadline; 0 or a negative error (the
 * deadline passed while waiting) when the call must not be made. */
static int bounded(sc_sock_t s, int events, int64_t deadline, int *flags)
{
    *flags = 0;
    if (deadline < 0)
        return 0;
    if (NOWAIT) {
        *flags = NOWAIT;
        return 0;
    }
    int w = sc_wait(s, events, deadline);
    return w > 0 ? 0 : w;
}

/* One step of a transfer loop: decides what to do after a call returned
 * rc. Returns 1 to go on, or the final value (0 or a negative error). */
static int after(sc_sock_t s, ptrdiff_t rc, int events, int64_t deadline)
{
    if (rc >= 0 || rc == -EINTR)
        return 1;
    if (rc == -EAGAIN || rc == -EWOULDBLOCK) {
        int w = sc_wait(s, events, deadline);
        return w > 0 ? 1 : w;
    }
    return (int)rc;
}

/* The loop of sc_send_all and sc_recv_exact: moves len bytes in one
 * direction, through partial transfers, EINTR and EAGAIN, up to the
 * deadline. A send that returns 0 is waited on like EAGAIN; a recv that
 * returns 0 is the peer's EOF. */
static int transfer(sc_sock_t s, char *p, size_t len, int64_t deadline, size_t *done, int sending)
{
    const sc_sys_t *sys = sc_sys_current();
    size_t off = 0;
    int rc = 0;
    while (off < len) {
        int fl;
        if ((rc = bounded(s, sending ? SC_EV_OUT : SC_EV_IN, deadline, &fl)) < 0)
            break;
        ptrdiff_t n = sending ? SC__CALL(sys, send, s, p + off, len - off, fl)
                              : SC__CALL(sys, recv, s, p + off, len - off, fl);
        if (n == 0 && !sending) {
            rc = SC_EEOF;
            break;
        }
        if (n > 0)
            off += (size_t)n;
        else if ((rc = after(s, n == 0 ? -EAGAIN : n, sending ? SC_EV_OUT : SC_EV_IN, deadline)) != 1)
            break;
        rc = 0;
        if (off < len && deadline >= 0 && sc_remaining_ms(deadline) == 0) {
            rc = -ETIMEDOUT;
            break;
        }
    }
    if (done)
        *done = off;
    return rc;
}

int sc_send_all(sc_sock_t s, const void *buf, size_t len, int64_t deadline, size_t *done)
{
    /* transfer only reads the buffer when sending. */
    return transfer(s, (char *)(uintptr_t)buf, len, deadline, done, 1);
}

int sc_recv_exact(sc_sock_t s, void *buf, size_t len, int64_t deadline, size_t *done)
{
    return transfer(s, buf, len, deadline, done, 0);
}

ptrdiff_t sc_recv_some(sc_sock_t s, void *buf, size_t cap, int64_t deadline)
{
    const sc_sys_t *sys = sc_sys_current();
    for (;;) {
        int fl, rc = bounded(s, SC_EV_IN, deadline, &fl);
        if (rc < 0)
            return rc;
        ptrdiff_t n = SC__CALL(sys, recv, s, buf, cap, fl);
        if (n >= 0)
            return n;
        rc = after(s, n, SC_EV_IN, deadline);
        if (rc != 1)
            return rc;
    }
}

int sc_udp_send(sc_sock_t s, const void *buf, size_t len, const sc_addr_t *to, int64_t deadline)
{
    const sc_sys_t *sys = sc_sys_current();
    const struct sockaddr *sa = to ? (const struct sockaddr *)&to->ss : NULL;
    sc_socklen_t salen = to ? to->len : 0;
    for (;;) {
        int fl, rc = bounded(s, SC_EV_OUT, deadline, &fl);
        if (rc < 0)
            return rc;
        ptrdiff_t n = SC__CALL(sys, sendto, s, buf, len, fl, sa, salen);
        if (n >= 0)
            return (size_t)n == len ? 0 : -EMSGSIZE;
        rc = after(s, n, SC_EV_OUT, deadline);
        if (rc != 1)
            return rc;
    }
}

#if defined(MSG_TRUNC) && defined(__linux__)
#define TRUNC_FLAG MSG_TRUNC /* Linux returns the datagram's real length (recv(2)). */
#else
#define TRUNC_FLAG 0
#endif

ptrdiff_t sc_udp_recv(sc_sock_t s, void *buf, size_t cap, sc_addr_t *from, size_t *full, int64_t deadline)
{
    const sc_sys_t *sys = sc_sys_current();
    struct sockaddr_storage ss;
    for (;;) {
        /* A table may fail the call without filling the address: start
         * from nothing, so that no stale bytes become a source. */
        memset(&ss, 0, sizeof(ss));
        sc_socklen_t sl = sizeof(ss);
        int fl, rc = bounded(s, SC_EV_IN, deadline, &fl);
        if (rc < 0)
            return rc;
        ptrdiff_t n = SC__CALL(sys, recvfrom, s, buf, cap, TRUNC_FLAG | fl, (struct sockaddr *)&ss, &sl);
        if (n >= 0 || n == -EMSGSIZE) { /* Winsock reports a cut datagram as WSAEMSGSIZE. */
            if (from) {
                memset(from, 0, sizeof(*from));
                if (sl > 0 && (size_t)sl <= sizeof(ss))
                    sc_addr_from_bytes(from, &ss, (size_t)sl);
            }
            if (full)
                *full = n >= 0 ? (size_t)n : cap;
            return n >= 0 && (size_t)n <= cap ? n : SC_ETRUNCATED;
        }
        rc = after(s, n, SC_EV_IN, deadline);
        if (rc != 1)
            return rc;
    }
}
