/* Conformance of shutdown(): argument and state errors, half-close in each
 * direction on TCP, queued data, TIME_WAIT, and UDP (matrix rows
 * SH-01..SH-09). */
#include "support.h"
#include "common.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define CHUNK 65536

/* Reads exactly len bytes (bounded wait) and compares them. */
static void read_exact(int fd, const char *want, size_t len)
{
    char buf[64];
    size_t got = 0;
    cr_assert_leq(len, sizeof(buf));
    while (got < len) {
        cr_assert(api_poll_once(fd, POLLIN, SCT_TIMEOUT_MS) & POLLIN, "only %zu of %zu bytes", got, len);
        ssize_t n = recv(fd, buf + got, len - got, MSG_DONTWAIT);
        cr_assert_gt(n, 0, "recv: %zd (%s)", n, strerror(errno));
        got += (size_t)n;
    }
    cr_assert_arr_eq(buf, want, len);
}

/* Send after our own SHUT_WR: EPIPE; Winsock: WSAESHUTDOWN (send function,
 * Return value). Recv after our own SHUT_RD returns 0 on Linux; Winsock
 * fails it with WSAESHUTDOWN (recv function, Return value). */
#if defined(_WIN32)
#define SEND_AFTER_SHUT_WR WSAESHUTDOWN
#else
#define SEND_AFTER_SHUT_WR EPIPE
#endif

static void assert_eof(int fd)
{
    char c;
    cr_assert(api_poll_once(fd, POLLIN, SCT_TIMEOUT_MS) & API_POLL_EOF, "no EOF");
    cr_assert_eq(recv(fd, &c, 1, 0), 0, "expected EOF: %s", strerror(errno));
}

/* Writes the pattern without blocking until the send buffer stays full (no
 * POLLOUT for 200 ms after EAGAIN). Returns the number of bytes taken. */
static size_t fill_until_full(int fd)
{
    static unsigned char buf[CHUNK];
    size_t off = 0;
    for (int i = 0; i < 100000; i++) {
        for (size_t k = 0; k < sizeof(buf); k++)
            buf[k] = api_pattern(off + k);
        ssize_t n = send(fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0) {
            off += (size_t)n;
            continue;
        }
        cr_assert(n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK), "send: %s", strerror(errno));
        if (api_poll_once(fd, POLLOUT, 200) == 0)
            return off;
    }
    cr_assert_fail("send buffer never filled");
    return off;
}

static size_t drain_and_check(int fd, size_t total)
{
    static unsigned char buf[CHUNK];
    size_t got = 0;
    for (int i = 0; i < 1000000; i++) {
        cr_assert(api_poll_once(fd, POLLIN, SCT_TIMEOUT_MS) & API_POLL_EOF, "stalled after %zu of %zu bytes",
                  got, total);
        ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
        if (n == 0)
            return got;
        cr_assert_gt(n, 0, "recv: %s", strerror(errno));
        for (ssize_t k = 0; k < n; k++)
            cr_assert_eq(buf[k], api_pattern(got + (size_t)k), "byte %zu differs", got + (size_t)k);
        got += (size_t)n;
    }
    return got;
}

ParameterizedTestParameters(shutdown, einval_for_bad_how)
{
    return cr_make_param_array(int, api_families, 2);
}
ParameterizedTest(int *fam, shutdown, einval_for_bad_how, .description = "SH-01", .timeout = 10)
{
    int c, s;
    sct_tcp_pair(*fam, &c, &s);
    int bad[] = {-1, 3, 1000};
    for (int i = 0; i < 3; i++) {
        errno = 0;
        cr_assert_eq(shutdown(c, bad[i]), -1, "how %d accepted", bad[i]);
        cr_assert_eq(errno, EINVAL, "how %d: errno %d (%s)", bad[i], errno, strerror(errno));
    }
    /* The connection is untouched. */
    cr_assert_eq(send(c, "ok", 2, 0), 2);
    read_exact(s, "ok", 2);
    cr_assert_eq(send(s, "ko", 2, 0), 2);
    read_exact(c, "ko", 2);
    close(c);
    close(s);
}

static struct api_fam_mode sh02_params[] = {{AF_INET, 0},  {AF_INET, 1},  {AF_INET, 2},  {AF_INET, 3},
                                            {AF_INET6, 0}, {AF_INET6, 1}, {AF_INET6, 2}, {AF_INET6, 3}};
ParameterizedTestParameters(shutdown, enotconn_when_not_connected)
{
    return cr_make_param_array(struct api_fam_mode, sh02_params, 8);
}
/* mode 0: fresh TCP; 1: bound TCP (not listening); 2: unbound UDP; 3:
 * bound UDP. Every how. */
ParameterizedTest(struct api_fam_mode *p, shutdown, enotconn_when_not_connected, .description = "SH-02",
                  .timeout = 10)
{
    static const int hows[] = {SHUT_RD, SHUT_WR, SHUT_RDWR};
    sct_require_family(p->family);
    for (int h = 0; h < 3; h++) {
        int fd;
        if (p->mode == 3) {
            fd = sct_bound(p->family, SOCK_DGRAM, NULL);
        } else {
            fd = socket(p->family, p->mode <= 1 ? SOCK_STREAM : SOCK_DGRAM, 0);
            cr_assert_geq(fd, 0);
            if (p->mode == 1) {
                sc_addr_t a = sct_loopback(p->family, 0);
                cr_assert_eq(bind(fd, (struct sockaddr *)&a.ss, a.len), 0, "bind: %s", strerror(errno));
            }
        }
        errno = 0;
#if defined(_WIN32)
        /* Winsock's WSAENOTCONN "applies only to a connection-oriented
         * socket" (shutdown function, Return value): UDP succeeds. */
        if (p->mode >= 2) {
            cr_assert_eq(shutdown(fd, hows[h]), 0, "UDP how %d: %s", hows[h], strerror(errno));
            close(fd);
            continue;
        }
#endif
        cr_assert_eq(shutdown(fd, hows[h]), -1, "how %d succeeded", hows[h]);
        cr_assert_eq(errno, ENOTCONN, "how %d: errno %d (%s)", hows[h], errno, strerror(errno));
        close(fd);
    }
}

Test(shutdown, ebadf_and_enotsock_on_non_sockets, .description = "SH-03", .timeout = 10)
{
    errno = 0;
    cr_assert_eq(shutdown(-1, SHUT_RDWR), -1);
    cr_assert_eq(errno, API_EBADF_SOCK, "errno %d (%s)", errno, strerror(errno));
    FILE *f = tmpfile();
    cr_assert_not_null(f);
    errno = 0;
    cr_assert_eq(shutdown(fileno(f), SHUT_RDWR), -1);
    cr_assert_eq(errno, ENOTSOCK, "errno %d (%s)", errno, strerror(errno));
    fclose(f);
}

ParameterizedTestParameters(shutdown, wr_half_close)
{
    return cr_make_param_array(int, api_families, 2);
}
ParameterizedTest(int *fam, shutdown, wr_half_close, .description = "SH-04", .timeout = 10)
{
    int c, s;
    sct_tcp_pair(*fam, &c, &s);
    cr_assert_eq(send(c, "last", 4, 0), 4);
    cr_assert_eq(shutdown(c, SHUT_WR), 0, "shutdown: %s", strerror(errno));
    /* The peer gets the data, then EOF (FIN). */
    read_exact(s, "last", 4);
    assert_eof(s);
    /* The other direction still works. */
    cr_assert_eq(send(s, "reply", 5, 0), 5, "peer send after our FIN: %s", strerror(errno));
    read_exact(c, "reply", 5);
    errno = 0;
    cr_assert_eq(send(c, "x", 1, MSG_NOSIGNAL), -1);
    cr_assert_eq(errno, SEND_AFTER_SHUT_WR, "errno %d (%s)", errno, strerror(errno));
    close(c);
    close(s);
}

ParameterizedTestParameters(shutdown, rd_sends_nothing_and_still_queues)
{
    return cr_make_param_array(int, api_families, 2);
}
/* Linux: SHUT_RD sends nothing; reads return 0 once the queue is empty, yet
 * later segments are still ACKed and queued and read() returns them
 * (Winsock resets the connection instead). */
#if defined(_WIN32)
/* Winsock: recv after SD_RECEIVE fails with WSAESHUTDOWN (recv function),
 * and data that arrives afterwards resets the connection, "since the data
 * cannot be delivered to the user" (shutdown function, Remarks). */
static void rd_shutdown_resets_on_late_data(int c, int s)
{
    cr_assert_eq(shutdown(c, SHUT_RD), 0, "shutdown: %s", strerror(errno));
    char buf[8];
    errno = 0;
    api_assert_fails((int)recv(c, buf, sizeof(buf), 0), WSAESHUTDOWN, "recv after SD_RECEIVE");
    cr_assert_eq(send(c, "still", 5, 0), 5, "send after SD_RECEIVE: %s", strerror(errno));
    read_exact(s, "still", 5);
    cr_assert_eq(send(s, "late", 4, 0), 4);
    short ev = api_poll_once(s, POLLIN, SCT_TIMEOUT_MS);
    cr_assert(ev & (POLLHUP | POLLERR), "no reset after data to a SD_RECEIVE socket (revents %#x)", ev);
    errno = 0;
    api_assert_fails((int)recv(s, buf, sizeof(buf), 0), ECONNRESET, "the peer's recv");
}
#endif

ParameterizedTest(int *fam, shutdown, rd_sends_nothing_and_still_queues, .description = "SH-05",
                  .timeout = 10)
{
    int c, s;
    sct_tcp_pair(*fam, &c, &s);
#if defined(_WIN32)
    rd_shutdown_resets_on_late_data(c, s);
    close(c);
    close(s);
    return;
#else
    cr_assert_eq(shutdown(c, SHUT_RD), 0, "shutdown: %s", strerror(errno));
    /* Nothing reaches the peer: no data, no FIN, no RST. */
    cr_assert_eq(api_poll_once(s, POLLIN | POLLRDHUP, 100), 0, "the peer saw an event after SHUT_RD");
    char buf[8];
    cr_assert_eq(recv(c, buf, sizeof(buf), 0), 0, "read after SHUT_RD: %s", strerror(errno));
    /* Our sending side is untouched. */
    cr_assert_eq(send(c, "still", 5, 0), 5, "send after SHUT_RD: %s", strerror(errno));
    read_exact(s, "still", 5);
    /* Data the peer sends now is accepted and readable. */
    cr_assert_eq(send(s, "late", 4, 0), 4);
    api_wait_inq(c, 4);
    cr_assert_eq(recv(c, buf, sizeof(buf), 0), 4);
    cr_assert_arr_eq(buf, "late", 4);
    cr_assert_eq(recv(c, buf, sizeof(buf), 0), 0);
    int err = -1;
    socklen_t len = sizeof(err);
    cr_assert_eq(getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len), 0);
    cr_assert_eq(err, 0, "the peer got error %d", err);
    close(c);
    close(s);
#endif
}

ParameterizedTestParameters(shutdown, rdwr_delivers_queued_data_then_fin)
{
    return cr_make_param_array(int, api_families, 2);
}
ParameterizedTest(int *fam, shutdown, rdwr_delivers_queued_data_then_fin, .description = "SH-06",
                  .timeout = 30)
{
    int c, s;
    api_tcp_pair_small(*fam, 0, &c, &s);
    size_t sent = fill_until_full(c);
    cr_assert_eq(shutdown(c, SHUT_RDWR), 0, "shutdown: %s", strerror(errno));
    char b;
#if defined(_WIN32)
    errno = 0;
    api_assert_fails((int)recv(c, &b, 1, 0), WSAESHUTDOWN, "recv after SD_BOTH");
#else
    cr_assert_eq(recv(c, &b, 1, 0), 0, "read after SHUT_RDWR: %s", strerror(errno));
#endif
    errno = 0;
    cr_assert_eq(send(c, "x", 1, MSG_NOSIGNAL), -1);
    cr_assert_eq(errno, SEND_AFTER_SHUT_WR, "errno %d (%s)", errno, strerror(errno));
    /* Everything queued before the shutdown arrives, in order, then EOF. */
    cr_assert_eq(drain_and_check(s, sent), sent);
    close(c);
    close(s);
}

ParameterizedTestParameters(shutdown, wr_repeated_succeeds)
{
    return cr_make_param_array(int, api_families, 2);
}
ParameterizedTest(int *fam, shutdown, wr_repeated_succeeds, .description = "SH-07", .timeout = 10)
{
    int c, s;
    sct_tcp_pair(*fam, &c, &s);
    cr_assert_eq(shutdown(s, SHUT_WR), 0);
    cr_assert_eq(shutdown(s, SHUT_WR), 0, "second SHUT_WR: %s", strerror(errno));
    /* Once the peer has the FIN (we are in FIN_WAIT2), still a success. */
    assert_eof(c);
    cr_assert_eq(shutdown(s, SHUT_WR), 0, "SHUT_WR in FIN_WAIT2: %s", strerror(errno));
    close(c);
    close(s);
}

ParameterizedTestParameters(shutdown, wr_enotconn_in_time_wait)
{
    return cr_make_param_array(int, api_families, 2);
}
/* The side that closed first ends in TIME_WAIT; while its descriptor is
 * open the socket reads as closed (Linux moves the connection to a
 * timewait sock and the socket to TCP_CLOSE), so SHUT_WR fails ENOTCONN. */
ParameterizedTest(int *fam, shutdown, wr_enotconn_in_time_wait, .description = "SH-07", .timeout = 10)
{
#if defined(_WIN32)
    cr_skip_test("the result is Linux's (a TIME_WAIT socket reads as closed); Windows documents none");
#endif
    int c, s;
    sct_tcp_pair(*fam, &c, &s);
    cr_assert_eq(shutdown(s, SHUT_WR), 0);
    assert_eof(c);
    cr_assert_eq(shutdown(c, SHUT_RDWR), 0);
    /* Wait for the peer's FIN to close our side: POLLHUP. */
    short ev = api_poll_once(s, POLLHUP, SCT_TIMEOUT_MS);
    cr_assert(ev & POLLHUP, "never reached TIME_WAIT (revents %#x)", ev);
    errno = 0;
    cr_assert_eq(shutdown(s, SHUT_WR), -1);
    cr_assert_eq(errno, ENOTCONN, "errno %d (%s)", errno, strerror(errno));
    close(c);
    close(s);
}

ParameterizedTestParameters(shutdown, rd_with_unread_data_then_close_resets)
{
    return cr_make_param_array(int, api_families, 2);
}
ParameterizedTest(int *fam, shutdown, rd_with_unread_data_then_close_resets, .description = "SH-08",
                  .timeout = 10)
{
    int c, s;
    sct_tcp_pair(*fam, &c, &s);
    cr_assert_eq(send(c, "unread", 6, 0), 6);
    api_wait_inq(s, 6);
    cr_assert_eq(shutdown(s, SHUT_RD), 0);
#if defined(_WIN32)
    /* Winsock resets at once when data waits to be received (shutdown
     * function, Remarks): no close needed. */
#else
    /* SHUT_RD alone sends nothing. */
    cr_assert_eq(api_poll_once(c, POLLIN | POLLRDHUP, 100), 0, "the peer saw an event after SHUT_RD");
    cr_assert_eq(close(s), 0);
#endif
    short ev = api_poll_once(c, POLLHUP | POLLERR, SCT_TIMEOUT_MS);
    cr_assert(ev & (POLLHUP | POLLERR), "no RST (revents %#x)", ev);
    char buf[8];
    errno = 0;
    cr_assert_eq(recv(c, buf, sizeof(buf), 0), -1);
    cr_assert_eq(errno, ECONNRESET, "errno %d (%s)", errno, strerror(errno));
#if defined(_WIN32)
    close(s);
#endif
    close(c);
}

static struct api_fam_mode sh09_params[] = {
    {AF_INET, SHUT_RD}, {AF_INET, SHUT_WR}, {AF_INET6, SHUT_RD}, {AF_INET6, SHUT_WR}};

ParameterizedTestParameters(shutdown, udp_reconnect_keeps_shutdown)
{
    return cr_make_param_array(struct api_fam_mode, sh09_params, 4);
}
/* mode: the direction shut down before connecting elsewhere. */
ParameterizedTest(struct api_fam_mode *p, shutdown, udp_reconnect_keeps_shutdown, .description = "SH-09",
                  .timeout = 10)
{
    int a, b;
    sc_addr_t ba;
    api_udp_pair(p->family, &a, &b, &ba);
    cr_assert_eq(shutdown(a, p->mode), 0, "shutdown: %s", strerror(errno));
    sc_addr_t ca;
    int other = sct_bound(p->family, SOCK_DGRAM, &ca);
    cr_assert_eq(connect(a, (struct sockaddr *)&ca.ss, ca.len), 0, "reconnect: %s", strerror(errno));
    char buf[8];
    errno = 0;
#if defined(_WIN32)
    /* Winsock: "there is no method to re-enable send or receive for the
     * existing socket" (shutdown function, Remarks): WSAESHUTDOWN either
     * way (recv function, send function). */
    if (p->mode == SHUT_RD)
        api_assert_fails((int)recv(a, buf, sizeof(buf), 0), WSAESHUTDOWN, "recv after SD_RECEIVE");
    else
        api_assert_fails((int)send(a, "x", 1, 0), WSAESHUTDOWN, "send after SD_SEND");
#else
    if (p->mode == SHUT_RD) {
        /* A blocking read: after SHUT_RD Linux returns 0 only when it would
         * otherwise wait (a non-blocking one fails EAGAIN). */
        struct timeval tv = {.tv_sec = 3};
        cr_assert_eq(setsockopt(a, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
        double t0 = api_now_ms();
        cr_assert_eq(recv(a, buf, sizeof(buf), 0), 0, "SHUT_RD was cleared: %s", strerror(errno));
        cr_assert_lt(api_now_ms() - t0, 1000.0, "recv blocked: SHUT_RD was cleared");
    } else {
        cr_assert_eq(send(a, "x", 1, MSG_NOSIGNAL), -1, "SHUT_WR was cleared");
        cr_assert_eq(errno, EPIPE, "errno %d (%s)", errno, strerror(errno));
        api_assert_eagain(recv(other, buf, sizeof(buf), MSG_DONTWAIT), "recv at the new peer");
    }
#endif
    close(a);
    close(b);
    close(other);
}
