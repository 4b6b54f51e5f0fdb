/* Conformance of connect() on TCP: refusals, repeated connects, the
 * non-blocking state machine, bad arguments, unspecified addresses, port
 * conflicts, implicit bind, self-connect, shutdown and close while
 * connecting, and EINTR (matrix rows CT-01..CT-24). */
#include "support.h"
#include "common.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <fcntl.h>
#if !defined(_WIN32)
#include <linux/filter.h>
#endif
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef IP_LOCAL_PORT_RANGE
#define IP_LOCAL_PORT_RANGE 51 /* linux/in.h, Linux 6.3 */
#endif

/* How long a connect whose SYN was dropped is watched to stay pending; see
 * listen.c: retransmitted SYNs are dropped too while the queue is full. */
#define PENDING_MS 300
/* Interval and count of the signals the helper thread sends. */
#define KICK_MS 20
#define KICK_MAX 250
/* The ack number of the forged SYN-ACK of CT-23, echoed as the RST's seq. */
#define FORGED_ACK 0x5ca1ab1eu

/* A TCP socket bound to loopback port 0 but not listening: its address
 * refuses connections, and no other socket can listen there meanwhile. */
static int bound_not_listening(int family, sc_addr_t *a)
{
    int s = api_socket(family, SOCK_STREAM);
    sc_addr_t lo = sct_loopback(family, 0);
    cr_assert_eq(bind(s, (struct sockaddr *)&lo.ss, lo.len), 0, "bind: %s", strerror(errno));
    *a = api_name_of(s);
    return s;
}

struct refuse_case {
    int family;
    int closed; /* the port was bound and closed, else it is bound, not listening */
};

ParameterizedTestParameters(connect, econnrefused_when_nothing_listens)
{
    static struct refuse_case cases[] = {{AF_INET, 0}, {AF_INET, 1}, {AF_INET6, 0}, {AF_INET6, 1}};
    return cr_make_param_array(struct refuse_case, cases, 4);
}

ParameterizedTest(struct refuse_case *c, connect, econnrefused_when_nothing_listens, .description = "CT-01",
                  .timeout = 10)
{
    sc_addr_t a;
    int b = bound_not_listening(c->family, &a);
    if (c->closed)
        close(b);
    int s = api_socket(c->family, SOCK_STREAM);
    errno = 0;
    cr_assert_eq(api_connect_addr(s, &a), -1);
    cr_assert_eq(errno, ECONNREFUSED, "errno %d (%s)", errno, strerror(errno));
    close(s);
    if (!c->closed)
        close(b);
}

ParameterizedTestParameters(connect, eisconn_when_already_connected)
{
    return cr_make_param_array(int, api_families, 2);
}

ParameterizedTest(int *family, connect, eisconn_when_already_connected, .description = "CT-02", .timeout = 10)
{
    sc_addr_t a;
    int l = sct_bound(*family, SOCK_STREAM, &a);
    int c = api_tcp_connect(&a);
    int s = api_accept_one(l);
    errno = 0;
    cr_assert_eq(api_connect_addr(c, &a), -1);
    cr_assert_eq(errno, EISCONN, "connecting end: errno %d (%s)", errno, strerror(errno));
    sc_addr_t cn = api_name_of(c);
    errno = 0;
    cr_assert_eq(api_connect_addr(s, &cn), -1);
    cr_assert_eq(errno, EISCONN, "accepted end: errno %d (%s)", errno, strerror(errno));
    close(s);
    close(c);
    close(l);
}

ParameterizedTestParameters(connect, eisconn_after_shutdown_rdwr)
{
    return cr_make_param_array(int, api_families, 2);
}

ParameterizedTest(int *family, connect, eisconn_after_shutdown_rdwr, .description = "CT-03", .timeout = 10)
{
    sc_addr_t a;
    int l = sct_bound(*family, SOCK_STREAM, &a);
    int c = api_tcp_connect(&a);
    int s = api_accept_one(l);
    cr_assert_eq(shutdown(c, SHUT_RDWR), 0, "shutdown: %s", strerror(errno));
    errno = 0;
    cr_assert_eq(api_connect_addr(c, &a), -1);
    cr_assert_eq(errno, EISCONN, "errno %d (%s)", errno, strerror(errno));
    close(s);
    close(c);
    close(l);
}

ParameterizedTestParameters(connect, nonblocking_einprogress_then_writable)
{
    return cr_make_param_array(int, api_families, 2);
}

ParameterizedTest(int *family, connect, nonblocking_einprogress_then_writable, .description = "CT-04",
                  .timeout = 10)
{
    sc_addr_t a;
    int l = sct_bound(*family, SOCK_STREAM, &a);
    sct_require_family(*family);
    int c = api_tcp_connect_nb(&a);
    int re = api_wait_events(c, POLLOUT | POLLWRNORM, SCT_TIMEOUT_MS);
    cr_assert_eq(re, POLLOUT | POLLWRNORM, "revents 0x%x", (unsigned)re);
    cr_assert_eq(api_so_error(c), 0);
    int s = api_accept_one(l);
    close(s);
    close(c);
    close(l);
}

ParameterizedTestParameters(connect, ealready_while_in_progress)
{
    return cr_make_param_array(int, api_families, 2);
}

/* The listener's queue is full, so the connect stays in SYN_SENT until
 * the queue is drained. Gap: re-issued non-blocking connect. */
ParameterizedTest(int *family, connect, ealready_while_in_progress, .description = "CT-05", .timeout = 20)
{
    sc_addr_t a;
    int filler;
    int l = api_full_listener(*family, &a, &filler);
    int c = api_tcp_connect_nb(&a);
    for (int i = 0; i < 2; i++) {
        errno = 0;
        cr_assert_eq(api_connect_addr(c, &a), -1);
        cr_assert_eq(errno, EALREADY, "re-issued connect #%d: errno %d (%s)", i, errno, strerror(errno));
    }
    close(api_accept_one(l));
    cr_assert(api_wait_events(c, POLLOUT, 2 * SCT_TIMEOUT_MS) & POLLOUT,
              "connect never completed after the drain");
    cr_assert_eq(api_so_error(c), 0);
    close(c);
    close(filler);
    close(l);
}

ParameterizedTestParameters(connect, zero_once_then_eisconn_after_async_completion)
{
    return cr_make_param_array(int, api_families, 2);
}

ParameterizedTest(int *family, connect, zero_once_then_eisconn_after_async_completion, .description = "CT-06",
                  .timeout = 10)
{
    sc_addr_t a;
    int l = sct_bound(*family, SOCK_STREAM, &a);
    int c = api_tcp_connect_nb(&a);
    cr_assert(api_wait_events(c, POLLOUT, SCT_TIMEOUT_MS) & POLLOUT);
#if defined(_WIN32)
    /* Winsock: connect fails "with WSAEISCONN when the connection completes
     * successfully" (connect function, Remarks): no 0 first. */
    errno = 0;
    cr_assert_eq(api_connect_addr(c, &a), -1);
    cr_assert_eq(errno, EISCONN, "first connect after completion: errno %d (%s)", errno, strerror(errno));
#else
    cr_assert_eq(api_connect_addr(c, &a), 0, "first connect after completion: %s", strerror(errno));
#endif
    errno = 0;
    cr_assert_eq(api_connect_addr(c, &a), -1);
    cr_assert_eq(errno, EISCONN, "errno %d (%s)", errno, strerror(errno));
    close(api_accept_one(l));
    close(c);
    close(l);
}

/* Starts a non-blocking connect to the refusing address a and waits until
 * the refusal has arrived (poll with no events still reports errors). */
static int refused_nb(const sc_addr_t *a, int *revents)
{
    int c = api_tcp_connect_nb(a);
    *revents = api_wait_events(c, 0, SCT_TIMEOUT_MS);
    return c;
}

ParameterizedTestParameters(connect, nonblocking_refused_reports_hup_err_and_so_error_once)
{
    return cr_make_param_array(int, api_families, 2);
}

ParameterizedTest(int *family, connect, nonblocking_refused_reports_hup_err_and_so_error_once,
                  .description = "CT-07", .timeout = 10)
{
    sc_addr_t a;
    int b = bound_not_listening(*family, &a);
    int re;
    int c = refused_nb(&a, &re);
#if defined(_WIN32)
    /* WSAPoll: POLLERR, "An error has occurred"; POLLHUP is for a
     * connection "disconnected or aborted" (WSAPOLLFD structure). SO_ERROR
     * "Retrieves error status and clear" (SOL_SOCKET socket options). What
     * a read returns afterwards is not documented. */
    cr_assert(re & POLLERR, "revents 0x%x", (unsigned)re);
    cr_assert_eq(api_so_error(c), ECONNREFUSED, "SO_ERROR");
    cr_assert_eq(api_so_error(c), 0, "SO_ERROR not cleared");
    close(c);
    close(b);
    return;
#endif
    cr_assert_eq(re, POLLHUP | POLLERR, "revents 0x%x", (unsigned)re);
    cr_assert_eq(api_so_error(c), ECONNREFUSED, "SO_ERROR");
    cr_assert_eq(api_so_error(c), 0, "SO_ERROR not cleared");
    char x;
    cr_assert_eq(read(c, &x, 1), 0, "read after the error: %s", strerror(errno));
    close(c);
    close(b);
}

struct peek_case {
    int family;
    int peek;
};

ParameterizedTestParameters(connect, nonblocking_refused_read_reports_error_once)
{
    static struct peek_case cases[] = {{AF_INET, 0}, {AF_INET, 1}, {AF_INET6, 0}, {AF_INET6, 1}};
    return cr_make_param_array(struct peek_case, cases, 4);
}

ParameterizedTest(struct peek_case *c, connect, nonblocking_refused_read_reports_error_once,
                  .description = "CT-08", .timeout = 10)
{
    sc_addr_t a;
    int b = bound_not_listening(c->family, &a);
    int re;
    int s = refused_nb(&a, &re);
    cr_assert(re & POLLERR, "revents 0x%x", (unsigned)re);
    char x;
    errno = 0;
#if defined(_WIN32)
    /* Winsock reports a failed connect through select, WSAPoll and SO_ERROR
     * (connect function, Remarks); the socket is not connected, so recv
     * fails with WSAENOTCONN (recv function, Return value). */
    int n = (int)recv(s, &x, 1, c->peek ? MSG_PEEK : 0);
    cr_assert_eq(n, -1, "%s returned %d", c->peek ? "peek" : "read", n);
    cr_assert_eq(errno, ENOTCONN, "%s: errno %d (%s)", c->peek ? "peek" : "read", errno, strerror(errno));
    close(s);
    close(b);
    return;
#endif
    cr_assert_eq(recv(s, &x, 1, c->peek ? MSG_PEEK : 0), -1);
    cr_assert_eq(errno, ECONNREFUSED, "first %s: errno %d (%s)", c->peek ? "peek" : "read", errno,
                 strerror(errno));
    cr_assert_eq(recv(s, &x, 1, c->peek ? MSG_PEEK : 0), 0, "second %s: %s", c->peek ? "peek" : "read",
                 strerror(errno));
    cr_assert_eq(api_so_error(s), 0);
    close(s);
    close(b);
}

ParameterizedTestParameters(connect, econnaborted_once_after_failed_nonblocking_connect)
{
    return cr_make_param_array(int, api_families, 2);
}

/* Once SO_ERROR has been read, the next connect reports ECONNABORTED and
 * resets the socket (net/ipv4/af_inet.c __inet_stream_connect), so the one
 * after that starts a new attempt. */
ParameterizedTest(int *family, connect, econnaborted_once_after_failed_nonblocking_connect,
                  .description = "CT-09", .timeout = 10)
{
    sc_addr_t a;
    int b = bound_not_listening(*family, &a);
    int re;
    int c = refused_nb(&a, &re);
    cr_assert_eq(api_so_error(c), ECONNREFUSED);
#if !defined(_WIN32)
    errno = 0;
    cr_assert_eq(api_connect_addr(c, &a), -1);
    cr_assert_eq(errno, ECONNABORTED, "errno %d (%s)", errno, strerror(errno));
#endif
    /* Winsock: after WSAECONNREFUSED "the application can call connect
     * again for the same socket" (connect function, Remarks): the next
     * call starts a new attempt at once. */
    errno = 0;
    cr_assert_eq(api_connect_addr(c, &a), -1);
    cr_assert_eq(errno, API_CONNECT_PENDING, "new attempt: errno %d (%s)", errno, strerror(errno));
    cr_assert(api_wait_events(c, 0, SCT_TIMEOUT_MS) & POLLERR);
    cr_assert_eq(api_so_error(c), ECONNREFUSED, "new attempt not refused");
    close(c);
    close(b);
}

ParameterizedTestParameters(connect, blocking_refused_socket_can_retry)
{
    return cr_make_param_array(int, api_families, 2);
}

/* Linux re-sends a SYN on the same socket (gVisor: ECONNABORTED). */
ParameterizedTest(int *family, connect, blocking_refused_socket_can_retry, .description = "CT-10",
                  .timeout = 10)
{
    sc_addr_t a;
    int b = bound_not_listening(*family, &a);
    int c = api_socket(*family, SOCK_STREAM);
    for (int i = 0; i < 2; i++) {
        errno = 0;
        cr_assert_eq(api_connect_addr(c, &a), -1);
        cr_assert_eq(errno, ECONNREFUSED, "attempt %d: errno %d (%s)", i, errno, strerror(errno));
    }
    cr_assert_eq(listen(b, 4), 0, "listen: %s", strerror(errno));
    cr_assert_eq(api_connect_addr(c, &a), 0, "attempt with a listener: %s", strerror(errno));
    close(api_accept_one(b));
    close(c);
    close(b);
}

ParameterizedTestParameters(connect, einval_for_short_addrlen)
{
    return cr_make_param_array(int, api_families, 2);
}

ParameterizedTest(int *family, connect, einval_for_short_addrlen, .description = "CT-11", .timeout = 10)
{
    sc_addr_t a;
    int l = sct_bound(*family, SOCK_STREAM, &a);
    static const socklen_t lens[] = {3, sizeof(sa_family_t)};
    for (size_t i = 0; i < 2; i++) {
        int c = api_socket(*family, SOCK_STREAM);
        errno = 0;
        cr_assert_eq(connect(c, (struct sockaddr *)&a.ss, lens[i]), -1);
#if defined(_WIN32)
        /* Winsock: WSAEFAULT, "the namelen parameter is too small" (connect
         * function, Return value). */
        cr_assert_eq(errno, EFAULT, "addrlen %u: errno %d (%s)", (unsigned)lens[i], errno, strerror(errno));
#else
        cr_assert_eq(errno, EINVAL, "addrlen %u: errno %d (%s)", lens[i], errno, strerror(errno));
#endif
        close(c);
    }
    close(l);
}

ParameterizedTestParameters(connect, efault_for_address_in_prot_none_page)
{
    return cr_make_param_array(int, api_families, 2);
}

ParameterizedTest(int *family, connect, efault_for_address_in_prot_none_page, .description = "CT-12",
                  .timeout = 10)
{
    /* Winsock: WSAEFAULT, "The sockaddr structure pointed to by the name
     * contains incorrect address format ..., or the name parameter is not
     * a valid part of the user address space" (connect function, Return
     * value). */
    void *p = api_noaccess_page();
    int c = api_socket(*family, SOCK_STREAM);
    socklen_t len = *family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    errno = 0;
    cr_assert_eq(connect(c, (const struct sockaddr *)p, len), -1);
    cr_assert_eq(errno, EFAULT, "errno %d (%s)", errno, strerror(errno));
    close(c);
    api_noaccess_free(p);
}

ParameterizedTestParameters(connect, eafnosupport_for_family_47)
{
    return cr_make_param_array(int, api_families, 2);
}

ParameterizedTest(int *family, connect, eafnosupport_for_family_47, .description = "CT-13", .timeout = 10)
{
    sc_addr_t a = sct_loopback(*family, 7);
    a.ss.ss_family = 47;
    int c = api_socket(*family, SOCK_STREAM);
    errno = 0;
    cr_assert_eq(api_connect_addr(c, &a), -1);
#if defined(_WIN32)
    /* Winsock lists both WSAEAFNOSUPPORT, "Addresses in the specified
     * family cannot be used with this socket", and WSAEFAULT, "incorrect
     * address format for the associated address family" (connect
     * function, Return value). */
    cr_assert(errno == EAFNOSUPPORT || errno == EFAULT, "errno %d (%s)", errno, strerror(errno));
#else
    cr_assert_eq(errno, EAFNOSUPPORT, "errno %d (%s)", errno, strerror(errno));
#endif
    close(c);
}

Test(connect, ebadf_for_closed_fd, .description = "CT-14", .timeout = 10)
{
    int fd = 400;
    if (fcntl(fd, F_GETFD) != -1) {
        fd = dup(0);
        close(fd);
    }
    sc_addr_t a = sct_loopback(AF_INET, 7);
    errno = 0;
    cr_assert_eq(api_connect_addr(fd, &a), -1);
    cr_assert_eq(errno, API_EBADF_SOCK, "errno %d (%s)", errno, strerror(errno));
}

Test(connect, enotsock_for_dev_null, .description = "CT-14", .timeout = 10)
{
    int fd = open(API_NULL_DEVICE, O_RDWR);
    cr_assert_geq(fd, 0, "open: %s", strerror(errno));
    sc_addr_t a = sct_loopback(AF_INET, 7);
    errno = 0;
    cr_assert_eq(api_connect_addr(fd, &a), -1);
    cr_assert_eq(errno, ENOTSOCK, "errno %d (%s)", errno, strerror(errno));
    close(fd);
}

struct unspec_case {
    int family;
    char text[24];
};

ParameterizedTestParameters(connect, econnrefused_for_unspecified_address_port_0)
{
    static struct unspec_case cases[] = {
        {AF_INET, "0.0.0.0"}, {AF_INET6, "::"}, {AF_INET6, "::ffff:0.0.0.0"}};
    return cr_make_param_array(struct unspec_case, cases, 3);
}

/* The unspecified address means the local host (CT-16); nothing can
 * listen on port 0. */
ParameterizedTest(struct unspec_case *c, connect, econnrefused_for_unspecified_address_port_0,
                  .description = "CT-15", .timeout = 10)
{
    sc_addr_t a = sct_loopback(c->family, 0);
    void *dst = c->family == AF_INET6 ? (void *)&((struct sockaddr_in6 *)&a.ss)->sin6_addr
                                      : (void *)&((struct sockaddr_in *)&a.ss)->sin_addr;
    cr_assert_eq(inet_pton(c->family, c->text, dst), 1);
    int s = api_socket(c->family, SOCK_STREAM);
    errno = 0;
    cr_assert_eq(api_connect_addr(s, &a), -1, "connect to %s:0 succeeded", c->text);
#if defined(_WIN32)
    /* Winsock: WSAEADDRNOTAVAIL, "The remote address is not a valid
     * address (such as INADDR_ANY or in6addr_any)" (connect function,
     * Return value). */
    cr_assert_eq(errno, EADDRNOTAVAIL, "%s: errno %d (%s)", c->text, errno, strerror(errno));
#else
    cr_assert_eq(errno, ECONNREFUSED, "%s: errno %d (%s)", c->text, errno, strerror(errno));
#endif
    close(s);
}

ParameterizedTestParameters(connect, unspecified_address_reaches_local_listener)
{
    return cr_make_param_array(int, api_families, 2);
}

/* Linux routes 0.0.0.0 and :: to the loopback address (Winsock needs a
 * rewrite, see libuv). */
ParameterizedTest(int *family, connect, unspecified_address_reaches_local_listener, .description = "CT-16",
                  .timeout = 10)
{
    sc_addr_t a;
    int l = sct_bound(*family, SOCK_STREAM, &a);
    sc_addr_t any = a;
    if (*family == AF_INET6)
        ((struct sockaddr_in6 *)&any.ss)->sin6_addr = in6addr_any;
    else
        ((struct sockaddr_in *)&any.ss)->sin_addr.s_addr = htonl(INADDR_ANY);
    int c = api_socket(*family, SOCK_STREAM);
#if defined(_WIN32)
    /* Winsock: WSAEADDRNOTAVAIL, "The remote address is not a valid
     * address (such as INADDR_ANY or in6addr_any)" (connect function). */
    errno = 0;
    api_assert_fails(api_connect_addr(c, &any), EADDRNOTAVAIL, "connect to the unspecified address");
    close(c);
    close(l);
    return;
#endif
    cr_assert_eq(api_connect_addr(c, &any), 0, "connect: %s", strerror(errno));
    int s = api_accept_one(l);
    sc_addr_t cp;
    memset(&cp, 0, sizeof(cp));
    cp.len = sizeof(cp.ss);
    cr_assert_eq(getpeername(c, (struct sockaddr *)&cp.ss, &cp.len), 0);
    cr_assert_eq(cp.len, a.len);
    cr_assert_eq(memcmp(&cp.ss, &a.ss, a.len), 0, "peer is not the loopback listener");
    close(s);
    close(c);
    close(l);
}

ParameterizedTestParameters(connect, eaddrnotavail_for_duplicate_four_tuple)
{
    return cr_make_param_array(int, api_families, 2);
}

ParameterizedTest(int *family, connect, eaddrnotavail_for_duplicate_four_tuple, .description = "CT-17",
                  .timeout = 10)
{
    sc_addr_t la;
    int l = sct_bound(*family, SOCK_STREAM, &la);
    int c1 = api_socket(*family, SOCK_STREAM);
    api_set_int(c1, SOL_SOCKET, SO_REUSEADDR, 1);
    sc_addr_t lo = sct_loopback(*family, 0);
    cr_assert_eq(bind(c1, (struct sockaddr *)&lo.ss, lo.len), 0, "bind: %s", strerror(errno));
    sc_addr_t ca = api_name_of(c1);
    cr_assert_eq(api_connect_addr(c1, &la), 0, "connect: %s", strerror(errno));
    int c2 = api_socket(*family, SOCK_STREAM);
    api_set_int(c2, SOL_SOCKET, SO_REUSEADDR, 1);
    cr_assert_eq(bind(c2, (struct sockaddr *)&ca.ss, ca.len), 0, "second bind: %s", strerror(errno));
    errno = 0;
    cr_assert_eq(api_connect_addr(c2, &la), -1);
    cr_assert_eq(errno, EADDRNOTAVAIL, "errno %d (%s)", errno, strerror(errno));
    close(c2);
    close(api_accept_one(l));
    close(c1);
    close(l);
}

ParameterizedTestParameters(connect, eaddrnotavail_when_ephemeral_range_exhausted)
{
    return cr_make_param_array(int, api_families, 2);
}

/* The socket's ephemeral range is narrowed to one port with
 * IP_LOCAL_PORT_RANGE (Linux 6.3), and that port is taken by an explicit
 * bind, so the implicit bind of connect() finds no port. This exhausts
 * the range of one socket instead of the machine's. */
ParameterizedTest(int *family, connect, eaddrnotavail_when_ephemeral_range_exhausted, .description = "CT-18",
                  .timeout = 10)
{
#if defined(_WIN32)
    (void)family;
    cr_skip_test("no per-socket ephemeral port range on Windows (Linux's IP_LOCAL_PORT_RANGE); exhausting "
                 "the machine's is no test");
#else
    sc_addr_t la;
    int l = sct_bound(*family, SOCK_STREAM, &la);
    int taker = api_socket(*family, SOCK_STREAM);
    sc_addr_t lo = sct_loopback(*family, 0);
    cr_assert_eq(bind(taker, (struct sockaddr *)&lo.ss, lo.len), 0, "bind: %s", strerror(errno));
    sc_addr_t ta = api_name_of(taker);
    unsigned q = api_port_of(&ta);
    int c = api_socket(*family, SOCK_STREAM);
    unsigned range = q | (q << 16);
    if (setsockopt(c, IPPROTO_IP, IP_LOCAL_PORT_RANGE, &range, sizeof(range)) != 0) {
        int err = errno;
        if (err == ENOPROTOOPT)
            cr_skip_test("needs IP_LOCAL_PORT_RANGE (Linux 6.3+)");
        cr_assert_fail("IP_LOCAL_PORT_RANGE: %s", strerror(err));
    }
    errno = 0;
    cr_assert_eq(api_connect_addr(c, &la), -1, "connect found a port");
    cr_assert_eq(errno, EADDRNOTAVAIL, "errno %d (%s)", errno, strerror(errno));
    close(c);
    close(taker);
    close(l);
#endif
}

ParameterizedTestParameters(connect, bind_to_listener_port_fails_at_bind_not_connect)
{
    return cr_make_param_array(int, api_families, 2);
}

/* The matrix (after libuv's tcp_bind_error_addrinuse_connect) expects
 * EADDRINUSE from connect. On the socket API Linux reports it from bind()
 * (even with SO_REUSEADDR on both, as the first listens: man socket(7));
 * libuv only defers that bind error to its connect (src/unix/tcp.c
 * delayed_error). The unbound socket then connects from a new port. */
ParameterizedTest(int *family, connect, bind_to_listener_port_fails_at_bind_not_connect,
                  .description = "CT-19", .timeout = 10)
{
    int l = api_socket(*family, SOCK_STREAM);
    api_set_int(l, SOL_SOCKET, SO_REUSEADDR, 1);
    sc_addr_t lo = sct_loopback(*family, 0);
    cr_assert_eq(bind(l, (struct sockaddr *)&lo.ss, lo.len), 0, "bind: %s", strerror(errno));
    cr_assert_eq(listen(l, 4), 0, "listen: %s", strerror(errno));
    sc_addr_t la = api_name_of(l);
    int c = api_socket(*family, SOCK_STREAM);
    api_set_int(c, SOL_SOCKET, SO_REUSEADDR, 1);
#if defined(_WIN32)
    /* Winsock: with SO_REUSEADDR on both sockets the second bind of the
     * same specific address succeeds, the first listening or not (Using
     * SO_REUSEADDR and SO_EXCLUSIVEADDRUSE; bind/reuseaddr_eaddrinuse_when_first_listens):
     * the error cannot move to connect. */
    cr_assert_eq(bind(c, (struct sockaddr *)&la.ss, la.len), 0, "second bind: %s", strerror(errno));
    close(c);
    close(l);
    return;
#endif
    errno = 0;
    cr_assert_eq(bind(c, (struct sockaddr *)&la.ss, la.len), -1, "bind to the listener's port succeeded");
    cr_assert_eq(errno, EADDRINUSE, "errno %d (%s)", errno, strerror(errno));
    cr_assert_eq(api_connect_addr(c, &la), 0, "connect: %s", strerror(errno));
    sc_addr_t cn = api_name_of(c);
    cr_assert_neq(api_port_of(&cn), api_port_of(&la));
    close(api_accept_one(l));
    close(c);
    close(l);
}

ParameterizedTestParameters(connect, binds_implicitly_and_keeps_name_after_disconnect)
{
    return cr_make_param_array(int, api_families, 2);
}

ParameterizedTest(int *family, connect, binds_implicitly_and_keeps_name_after_disconnect,
                  .description = "CT-20", .timeout = 10)
{
    sc_addr_t a;
    int l = sct_bound(*family, SOCK_STREAM, &a);
    int c = api_tcp_connect(&a);
    sc_addr_t cn = api_name_of(c);
    cr_assert_neq(api_port_of(&cn), 0);
    sc_addr_t want = sct_loopback(*family, api_port_of(&cn));
    cr_assert_eq(cn.len, want.len);
    cr_assert_eq(memcmp(&cn.ss, &want.ss, want.len), 0, "local address is not the loopback address");
    close(api_accept_one(l));
    cr_assert(api_wait_events(c, POLLIN, SCT_TIMEOUT_MS) & API_POLL_EOF);
    char x;
    cr_assert_eq(recv(c, &x, 1, 0), 0, "expected EOF");
    sc_addr_t after = api_name_of(c);
    cr_assert_eq(memcmp(&after.ss, &cn.ss, cn.len), 0, "name changed after the peer hung up");
    close(c);
    close(l);
}

ParameterizedTestParameters(connect, self_connect_succeeds_and_loops_data)
{
    return cr_make_param_array(int, api_families, 2);
}

/* A simultaneous open with itself (RFC 9293 3.5). */
ParameterizedTest(int *family, connect, self_connect_succeeds_and_loops_data, .description = "CT-21",
                  .timeout = 10)
{
    int s = api_socket(*family, SOCK_STREAM);
    sc_addr_t lo = sct_loopback(*family, 0);
    cr_assert_eq(bind(s, (struct sockaddr *)&lo.ss, lo.len), 0, "bind: %s", strerror(errno));
    sc_addr_t a = api_name_of(s);
    cr_assert_eq(api_connect_addr(s, &a), 0, "self-connect: %s", strerror(errno));
    cr_assert_eq(send(s, "loop", 4, MSG_NOSIGNAL), 4, "send: %s", strerror(errno));
    cr_assert(api_wait_events(s, POLLIN, SCT_TIMEOUT_MS) & POLLIN);
    char b[8];
    cr_assert_eq(recv(s, b, sizeof(b), 0), 4);
    cr_assert_eq(memcmp(b, "loop", 4), 0);
    close(s);
}

struct shut_case {
    int family;
    int how;
};

ParameterizedTestParameters(connect, shutdown_while_connecting_errors_socket)
{
    static struct shut_case cases[] = {
        {AF_INET, SHUT_RD},  {AF_INET, SHUT_WR},  {AF_INET, SHUT_RDWR},
        {AF_INET6, SHUT_RD}, {AF_INET6, SHUT_WR}, {AF_INET6, SHUT_RDWR},
    };
    return cr_make_param_array(struct shut_case, cases, 6);
}

/* In SYN_SENT, any shutdown disconnects the socket (net/ipv4/af_inet.c
 * inet_shutdown, tcp_disconnect sets ECONNRESET). */
ParameterizedTest(struct shut_case *c, connect, shutdown_while_connecting_errors_socket,
                  .description = "CT-22", .timeout = 10)
{
    sc_addr_t a;
    int filler;
    int l = api_full_listener(c->family, &a, &filler);
    int s = api_tcp_connect_nb(&a);
    cr_assert_eq(shutdown(s, c->how), 0, "shutdown(%d): %s", c->how, strerror(errno));
    int re = api_wait_events(s, 0, SCT_TIMEOUT_MS);
    cr_assert_eq(re, POLLHUP | POLLERR, "how %d: revents 0x%x", c->how, (unsigned)re);
    close(s);
    close(filler);
    close(l);
}

#if !defined(_WIN32)
/* Internet checksum over len bytes, continuing from sum. */
static uint32_t csum_add(uint32_t sum, const unsigned char *p, size_t len)
{
    for (size_t i = 0; i + 1 < len; i += 2)
        sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (len & 1)
        sum += (uint32_t)(p[len - 1] << 8);
    return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

/* A 20-byte TCP header with its checksum over the loopback pseudo-header
 * (127.0.0.1 or ::1 on both ends). */
static void forge_tcp(unsigned char *h, int family, uint16_t sport, uint16_t dport, uint32_t seq,
                      uint32_t ack, unsigned flags)
{
    memset(h, 0, 20);
    h[0] = (unsigned char)(sport >> 8), h[1] = (unsigned char)sport;
    h[2] = (unsigned char)(dport >> 8), h[3] = (unsigned char)dport;
    for (int i = 0; i < 4; i++) {
        h[4 + i] = (unsigned char)(seq >> (24 - 8 * i));
        h[8 + i] = (unsigned char)(ack >> (24 - 8 * i));
    }
    h[12] = 5 << 4;
    h[13] = (unsigned char)flags;
    h[14] = 0xff, h[15] = 0xff;
    unsigned char pseudo[40];
    size_t plen;
    memset(pseudo, 0, sizeof(pseudo));
    if (family == AF_INET6) {
        pseudo[15] = 1, pseudo[31] = 1; /* ::1, ::1 */
        pseudo[35] = 20, pseudo[39] = IPPROTO_TCP;
        plen = 40;
    } else {
        pseudo[0] = 127, pseudo[3] = 1, pseudo[4] = 127, pseudo[7] = 1;
        pseudo[9] = IPPROTO_TCP, pseudo[11] = 20;
        plen = 12;
    }
    uint16_t c = csum_fold(csum_add(csum_add(0, pseudo, plen), h, 20));
    h[16] = (unsigned char)(c >> 8), h[17] = (unsigned char)c;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Lets only segments from port sport to port dport into the raw socket,
 * so that bulk traffic of other tests cannot overflow its buffer. An IPv4
 * raw socket filters from the IP header, an IPv6 one from the TCP header. */
static void attach_port_filter(int raw, int family, uint16_t sport, uint16_t dport)
{
    struct sock_filter code[] = {
        family == AF_INET ? (struct sock_filter)BPF_STMT(BPF_LDX | BPF_B | BPF_MSH, 0)
                          : (struct sock_filter)BPF_STMT(BPF_LDX | BPF_IMM, 0),
        BPF_STMT(BPF_LD | BPF_H | BPF_IND, 0),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, sport, 0, 3),
        BPF_STMT(BPF_LD | BPF_H | BPF_IND, 2),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, dport, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, 0xffff),
        BPF_STMT(BPF_RET | BPF_K, 0),
    };
    struct sock_fprog prog = {.len = sizeof(code) / sizeof(code[0]), .filter = code};
    cr_assert_eq(setsockopt(raw, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)), 0,
                 "SO_ATTACH_FILTER: %s", strerror(errno));
}
#endif

ParameterizedTestParameters(connect, close_in_syn_sent_sends_no_rst_and_late_syn_ack_gets_rst)
{
    return cr_make_param_array(int, api_families, 2);
}

/* A raw TCP socket sees every TCP segment delivered on loopback. The
 * client's SYN is dropped (full queue), the client is closed in SYN_SENT,
 * then a SYN-ACK is forged from the listener's port: the kernel answers it
 * with a RST whose seq is the forged ack number. Any other RST from the
 * client's port means close() sent one. Needs CAP_NET_RAW. */
ParameterizedTest(int *family, connect, close_in_syn_sent_sends_no_rst_and_late_syn_ack_gets_rst,
                  .description = "CT-23", .timeout = 20)
{
#if defined(_WIN32)
    (void)family;
    cr_skip_test("watches and forges TCP segments with a Linux raw socket and a BPF filter (TCP raw sockets "
                 "do not exist on Windows)");
#else
    sc_addr_t a;
    int filler;
    int l = api_full_listener(*family, &a, &filler);
    int c = api_tcp_connect_nb(&a);
    sc_addr_t cn = api_name_of(c);
    uint16_t p = api_port_of(&a), q = api_port_of(&cn);
    cr_assert_eq(api_wait_events(c, POLLOUT, PENDING_MS), 0, "client left SYN_SENT");

    int raw = socket(*family, SOCK_RAW | SOCK_NONBLOCK, IPPROTO_TCP);
    if (raw < 0 && (errno == EPERM || errno == EACCES))
        cr_skip_test("needs CAP_NET_RAW to watch and forge TCP segments");
    cr_assert_geq(raw, 0, "raw socket: %s", strerror(errno));
    attach_port_filter(raw, *family, q, p);
    sc_addr_t self = sct_loopback(*family, 0);
    cr_assert_eq(bind(raw, (struct sockaddr *)&self.ss, self.len), 0, "bind raw: %s", strerror(errno));
    cr_assert_eq(close(c), 0);

    unsigned char h[20];
    forge_tcp(h, *family, p, q, 0x1000u, FORGED_ACK, 0x12 /* SYN|ACK */);
    cr_assert_eq(sendto(raw, h, sizeof(h), 0, (struct sockaddr *)&self.ss, self.len), (ssize_t)sizeof(h),
                 "sendto raw: %s", strerror(errno));

    /* Other tests' loopback traffic shows up here too: wait by the clock,
     * not by the number of wakeups. */
    int close_rsts = 0, answered = 0;
    for (long long end = now_ms() + 2 * SCT_TIMEOUT_MS; !answered && now_ms() < end;) {
        if (!(api_wait_events(raw, POLLIN, 10) & POLLIN))
            continue;
        unsigned char pkt[2048];
        ssize_t n;
        while (!answered && (n = recv(raw, pkt, sizeof(pkt), 0)) > 0) {
            size_t off = *family == AF_INET ? (size_t)(pkt[0] & 0x0f) * 4 : 0;
            if ((size_t)n < off + 20)
                continue;
            const unsigned char *t = pkt + off;
            uint16_t sp = (uint16_t)(t[0] << 8 | t[1]), dp = (uint16_t)(t[2] << 8 | t[3]);
            if (sp != q || dp != p || !(t[13] & 0x04) || (t[13] & 0x02))
                continue;
            if (be32(t + 4) == FORGED_ACK)
                answered = 1;
            else
                close_rsts++;
        }
    }
    close(raw);
    close(filler);
    close(l);
    cr_assert_eq(close_rsts, 0, "close() in SYN_SENT sent a RST");
    cr_assert(answered, "the late SYN-ACK was not answered with a RST");
#endif
}

ParameterizedTestParameters(connect, eintr_then_completes_asynchronously)
{
    return cr_make_param_array(int, api_families, 2);
}

/* Gap in public suites. POSIX: connect() interrupted by a caught signal
 * fails with EINTR, the connection is not aborted, and later connects fail
 * with EALREADY until it completes. The handler has no SA_RESTART; a
 * helper thread signals this thread every KICK_MS while connect() sleeps
 * (its SYN is dropped by the full queue). Linux returns EALREADY to a
 * re-issued connect only when it does not wait (non-blocking, or after
 * SO_SNDTIMEO); a blocking re-issue waits for the same attempt again
 * (net/ipv4/af_inet.c __inet_stream_connect). */
ParameterizedTest(int *family, connect, eintr_then_completes_asynchronously, .description = "CT-24",
                  .timeout = 20)
{
    sc_addr_t a;
    int filler;
    int l = api_full_listener(*family, &a, &filler);
    int c = api_socket(*family, SOCK_STREAM);
    api_catch_signal(SIGUSR1, 0);
    struct api_kicker kick;
    api_kicker_start(&kick, KICK_MS, KICK_MAX);
    errno = 0;
    int rc = api_connect_addr(c, &a);
    int err = errno;
    api_kicker_stop(&kick);
    cr_assert_eq(rc, -1, "connect returned %d", rc);
    cr_assert_eq(err, EINTR, "errno %d (%s)", err, strerror(err));
    cr_assert_gt(api_signal_count, 0);

    api_set_nonblock(c, 1);
    errno = 0;
    cr_assert_eq(api_connect_addr(c, &a), -1);
    cr_assert_eq(errno, EALREADY, "re-issued connect: errno %d (%s)", errno, strerror(errno));

    close(api_accept_one(l)); /* the filler: makes room for the interrupted attempt */
    cr_assert(api_wait_events(c, POLLOUT, 2 * SCT_TIMEOUT_MS) & POLLOUT,
              "the interrupted connect never completed");
    cr_assert_eq(api_so_error(c), 0);
    int s = api_accept_one(l);
    sc_addr_t cn = api_name_of(c), sp;
    memset(&sp, 0, sizeof(sp));
    sp.len = sizeof(sp.ss);
    cr_assert_eq(getpeername(s, (struct sockaddr *)&sp.ss, &sp.len), 0);
    cr_assert_eq(memcmp(&sp.ss, &cn.ss, cn.len), 0, "accepted a different connection");
    close(s);
    close(c);
    close(filler);
    close(l);
}
