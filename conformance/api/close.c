/* Conformance of close() on TCP sockets: RST on unread data and on
 * SO_LINGER {1, 0}, lingering on unconnected sockets, duplicated
 * descriptors, delivery of queued data, and SO_LINGER itself (matrix rows
 * CL-01..CL-06). */
#include "support.h"
#include "common.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#define CHUNK 65536

static void wait_reset(int fd)
{
    short ev = api_poll_once(fd, POLLHUP | POLLERR, SCT_TIMEOUT_MS);
    cr_assert(ev & (POLLHUP | POLLERR), "no RST arrived (revents %#x)", ev);
}

static void set_linger(int fd, int onoff, int secs)
{
    struct linger lg = {.l_onoff = onoff, .l_linger = secs};
    cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0, "SO_LINGER: %s", strerror(errno));
}

static struct linger get_linger(int fd)
{
    struct linger lg;
    memset(&lg, 0x55, sizeof(lg));
    socklen_t len = sizeof(lg);
    cr_assert_eq(getsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, &len), 0, "SO_LINGER: %s", strerror(errno));
    cr_assert_eq(len, sizeof(lg));
    return lg;
}

ParameterizedTestParameters(close, rst_when_unread_data)
{
    return cr_make_param_array(int, api_families, 2);
}
/* RFC 2525 2.17: closing with unread received data sends RST, not FIN. */
ParameterizedTest(int *fam, close, rst_when_unread_data, .description = "CL-01", .timeout = 10)
{
    int c, s;
    sct_tcp_pair(*fam, &c, &s);
    cr_assert_eq(send(s, "buffered", 8, 0), 8);
    api_wait_inq(c, 8);
    cr_assert_eq(send(c, "unread", 6, 0), 6);
    api_wait_inq(s, 6);
    cr_assert_eq(close(s), 0);
    wait_reset(c);
    char buf[16];
    cr_assert_eq(recv(c, buf, sizeof(buf), 0), 8, "buffered data not readable: %s", strerror(errno));
    cr_assert_arr_eq(buf, "buffered", 8);
    errno = 0;
    cr_assert_eq(recv(c, buf, sizeof(buf), 0), -1, "FIN instead of RST");
    cr_assert_eq(errno, ECONNRESET, "errno %d (%s)", errno, strerror(errno));
    close(c);
}

ParameterizedTestParameters(close, rst_with_linger_zero)
{
    return cr_make_param_array(struct api_fam_mode, api_fam2_params, 4);
}
/* mode 0: the peer's next send fails; 1: its next recv. */
ParameterizedTest(struct api_fam_mode *p, close, rst_with_linger_zero, .description = "CL-02", .timeout = 10)
{
    int c, s;
    sct_tcp_pair(p->family, &c, &s);
    set_linger(s, 1, 0);
    cr_assert_eq(close(s), 0);
    wait_reset(c);
    char buf[4];
    errno = 0;
    if (p->mode == 0)
        cr_assert_eq(send(c, "x", 1, MSG_NOSIGNAL), -1);
    else
        cr_assert_eq(recv(c, buf, sizeof(buf), 0), -1, "FIN instead of RST");
    cr_assert_eq(errno, ECONNRESET, "errno %d (%s)", errno, strerror(errno));
    close(c);
}

static struct api_fam_mode cl03_params[] = {{AF_INET, 0},  {AF_INET, 1},  {AF_INET, 2},
                                            {AF_INET6, 0}, {AF_INET6, 1}, {AF_INET6, 2}};
ParameterizedTestParameters(close, returns_at_once_with_linger_when_unconnected)
{
    return cr_make_param_array(struct api_fam_mode, cl03_params, 6);
}
/* POSIX close(): SO_LINGER blocks only "if there is still data to
 * transmit". mode 0: fresh socket; 1: bound; 2: listening. */
ParameterizedTest(struct api_fam_mode *p, close, returns_at_once_with_linger_when_unconnected,
                  .description = "CL-03", .timeout = 20)
{
    int fd;
    if (p->mode == 2) {
        fd = sct_bound(p->family, SOCK_STREAM, NULL);
    } else {
        sct_require_family(p->family);
        fd = socket(p->family, SOCK_STREAM, 0);
        cr_assert_geq(fd, 0);
        if (p->mode == 1) {
            sc_addr_t a = sct_loopback(p->family, 0);
            cr_assert_eq(bind(fd, (struct sockaddr *)&a.ss, a.len), 0);
        }
    }
    set_linger(fd, 1, 5);
    double t0 = api_now_ms();
    cr_assert_eq(close(fd), 0, "close: %s", strerror(errno));
    double took = api_now_ms() - t0;
    cr_assert_lt(took, 2000.0, "close lingered %.0f ms", took);
}

ParameterizedTestParameters(close, dup_keeps_socket_open)
{
    return cr_make_param_array(int, api_families, 2);
}
ParameterizedTest(int *fam, close, dup_keeps_socket_open, .description = "CL-04", .timeout = 10)
{
#if defined(_WIN32)
    (void)fam;
    cr_skip_test("no dup() of a SOCKET in one process on Windows (WSADuplicateSocket is for another process)");
#else
    int c, s;
    sct_tcp_pair(*fam, &c, &s);
    int d = dup(c);
    cr_assert_geq(d, 0);
    cr_assert_eq(close(c), 0);
    /* The peer sees nothing: the socket is still open. */
    cr_assert_eq(api_poll_once(s, POLLIN | POLLRDHUP, 100), 0, "the peer saw EOF or data");
    cr_assert_eq(send(d, "via-dup", 7, 0), 7, "send on the duplicate: %s", strerror(errno));
    api_wait_inq(s, 7);
    char buf[16];
    cr_assert_eq(recv(s, buf, sizeof(buf), 0), 7);
    cr_assert_arr_eq(buf, "via-dup", 7);
    cr_assert_eq(send(s, "back", 4, 0), 4);
    api_wait_inq(d, 4);
    cr_assert_eq(recv(d, buf, sizeof(buf), 0), 4);
    cr_assert_arr_eq(buf, "back", 4);
    /* The closed number is no longer a descriptor. */
    errno = 0;
    cr_assert_eq(send(c, "x", 1, MSG_NOSIGNAL), -1);
    cr_assert_eq(errno, EBADF, "send on the closed fd: errno %d (%s)", errno, strerror(errno));
    errno = 0;
    cr_assert_eq(close(c), -1);
    cr_assert_eq(errno, EBADF, "second close: errno %d (%s)", errno, strerror(errno));
    /* Closing the last descriptor closes the connection. */
    cr_assert_eq(close(d), 0);
    cr_assert(api_poll_once(s, POLLIN, SCT_TIMEOUT_MS) & POLLIN);
    cr_assert_eq(recv(s, buf, sizeof(buf), 0), 0, "no EOF after the last close");
    close(s);
#endif
}

/* POSIX close(): EBADF when "The fildes argument is not a open file
 * descriptor"; a socket's number is freed by its first close. */
Test(close, ebadf_when_closed_twice, .description = "CL-04", .timeout = 10)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    cr_assert_eq(close(fd), 0, "close: %s", strerror(errno));
    errno = 0;
    cr_assert_eq(close(fd), -1);
    /* Windows: a closed SOCKET is WSAENOTSOCK (closesocket function). */
    cr_assert_eq(errno, API_EBADF_SOCK, "errno %d (%s)", errno, strerror(errno));
}

ParameterizedTestParameters(close, queued_data_and_fin_still_delivered)
{
    return cr_make_param_array(int, api_families, 2);
}
ParameterizedTest(int *fam, close, queued_data_and_fin_still_delivered, .description = "CL-05", .timeout = 30)
{
    int c, s;
    api_tcp_pair_small(*fam, 0, &c, &s);
    /* Fill both buffers so that most data is not yet sent, or not yet
     * acknowledged, when the socket is closed. */
    static unsigned char buf[CHUNK];
    size_t sent = 0;
    for (int i = 0; i < 100000; i++) {
        for (size_t k = 0; k < sizeof(buf); k++)
            buf[k] = api_pattern(sent + k);
        ssize_t n = send(c, buf, sizeof(buf), MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n > 0) {
            sent += (size_t)n;
            continue;
        }
        cr_assert(n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK), "send: %s", strerror(errno));
        if (api_poll_once(c, POLLOUT, 200) == 0)
            break;
    }
#if !defined(_WIN32)
    /* Windows cannot tell what is still queued (no TIOCOUTQ); a graceful
     * close sends it all the same (closesocket function, Remarks). */
    int unsent = -1;
    cr_assert_eq(ioctl(c, TIOCOUTQ, &unsent), 0);
    cr_assert_gt(unsent, 0, "nothing left in the send queue");
#endif
    cr_assert_eq(close(c), 0);
    size_t got = 0;
    for (int i = 0; i < 1000000; i++) {
        cr_assert(api_poll_once(s, POLLIN, SCT_TIMEOUT_MS) & API_POLL_EOF, "stalled after %zu of %zu bytes", got,
                  sent);
        ssize_t n = recv(s, buf, sizeof(buf), MSG_DONTWAIT);
        if (n == 0)
            break;
        cr_assert_gt(n, 0, "recv: %s (after %zu bytes)", strerror(errno), got);
        for (ssize_t k = 0; k < n; k++)
            cr_assert_eq(buf[k], api_pattern(got + (size_t)k), "byte %zu differs", got + (size_t)k);
        got += (size_t)n;
    }
    cr_assert_eq(got, sent, "received %zu of %zu bytes before EOF", got, sent);
    close(s);
}

ParameterizedTestParameters(close, so_linger_default_and_round_trip)
{
    return cr_make_param_array(struct api_fam_mode, api_fam_types, 4);
}
ParameterizedTest(struct api_fam_mode *p, close, so_linger_default_and_round_trip, .description = "CL-06",
                  .timeout = 10)
{
    sct_require_family(p->family);
    int fd = socket(p->family, p->mode, 0);
    cr_assert_geq(fd, 0);
#if defined(_WIN32)
    if (p->mode == SOCK_DGRAM) {
        /* Winsock: SO_LINGER is not supported on SOCK_DGRAM sockets,
         * WSAENOPROTOOPT (getsockopt function, setsockopt function:
         * Return value). */
        struct linger none;
        socklen_t len = sizeof(none);
        errno = 0;
        api_assert_fails(getsockopt(fd, SOL_SOCKET, SO_LINGER, &none, &len), ENOPROTOOPT, "get SO_LINGER");
        none.l_onoff = 1;
        none.l_linger = 5;
        errno = 0;
        api_assert_fails(setsockopt(fd, SOL_SOCKET, SO_LINGER, &none, sizeof(none)), ENOPROTOOPT, "set SO_LINGER");
        close(fd);
        return;
    }
#endif
    struct linger lg = get_linger(fd);
    cr_assert(lg.l_onoff == 0 && lg.l_linger == 0, "default {%d, %d}", lg.l_onoff, lg.l_linger);
    set_linger(fd, 1, 5);
    lg = get_linger(fd);
    cr_assert(lg.l_onoff == 1 && lg.l_linger == 5, "after {1, 5}: {%d, %d}", lg.l_onoff, lg.l_linger);
    set_linger(fd, 1, 0);
    lg = get_linger(fd);
    cr_assert(lg.l_onoff == 1 && lg.l_linger == 0, "after {1, 0}: {%d, %d}", lg.l_onoff, lg.l_linger);
    set_linger(fd, 0, 0);
    lg = get_linger(fd);
    cr_assert_eq(lg.l_onoff, 0, "after {0, 0}: l_onoff %d", lg.l_onoff);
    /* A short option buffer is refused: EINVAL; Winsock: WSAEFAULT, "the
     * optlen parameter is too small" (setsockopt function, Return value).
     * Windows' struct linger is two u_shorts, as long as an int: the short
     * buffer there is 2 bytes. */
    int one = 1;
    errno = 0;
#if defined(_WIN32)
    char two[2] = {1, 0};
    cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_LINGER, two, sizeof(two)), -1);
    cr_assert_eq(errno, EFAULT, "errno %d (%s)", errno, strerror(errno));
    (void)one;
#else
    cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_LINGER, &one, sizeof(one)), -1);
    cr_assert_eq(errno, EINVAL, "errno %d (%s)", errno, strerror(errno));
#endif
    close(fd);
}
