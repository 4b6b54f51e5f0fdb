/* Conformance of listen(): errors, implicit bind, backlog semantics,
 * SO_ACCEPTCONN, shutdown of a listener and what happens to its queue
 * (matrix rows LS-01..LS-12). */
#include "support.h"
#include "common.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* How long a connect whose SYN was dropped is watched to stay pending. The
 * first SYN retransmission comes after 1 s, but it is dropped too while
 * the queue is full, so a late poll cannot turn this into a false result. */
#define PENDING_MS 300

ParameterizedTestParameters(listen, eopnotsupp_on_udp)
{
    return cr_make_param_array(int, api_families, 2);
}

ParameterizedTest(int *family, listen, eopnotsupp_on_udp, .description = "LS-01", .timeout = 10)
{
    sc_addr_t a;
    int s = sct_bound(*family, SOCK_DGRAM, &a);
    errno = 0;
    int rc = listen(s, 4);
    cr_assert_eq(rc, -1);
    cr_assert_eq(errno, EOPNOTSUPP, "errno %d (%s)", errno, strerror(errno));
    close(s);
}

Test(listen, ebadf_for_closed_fd, .description = "LS-02", .timeout = 10)
{
    int fd = 400;
    if (fcntl(fd, F_GETFD) != -1) {
        fd = dup(0);
        close(fd);
    }
    errno = 0;
    int rc = listen(fd, 4);
    cr_assert_eq(rc, -1);
    cr_assert_eq(errno, API_EBADF_SOCK, "errno %d (%s)", errno, strerror(errno));
}

Test(listen, enotsock_for_dev_null, .description = "LS-02", .timeout = 10)
{
    int fd = open(API_NULL_DEVICE, O_RDWR);
    cr_assert_geq(fd, 0, "open: %s", strerror(errno));
    errno = 0;
    int rc = listen(fd, 4);
    cr_assert_eq(rc, -1);
    cr_assert_eq(errno, ENOTSOCK, "errno %d (%s)", errno, strerror(errno));
    close(fd);
}

ParameterizedTestParameters(listen, unbound_socket_gets_ephemeral_port)
{
    return cr_make_param_array(int, api_families, 2);
}

/* Linux binds the wildcard address and an ephemeral port (Winsock:
 * WSAEINVAL). The wildcard listener lives in a private network
 * namespace. */
ParameterizedTest(int *family, listen, unbound_socket_gets_ephemeral_port, .description = "LS-03",
                  .timeout = 10)
{
#if defined(_WIN32)
    /* Winsock: "The socket has not been bound with bind", WSAEINVAL
     * (listen function, Return value). No address is bound, so no private
     * namespace is needed. */
    int u = api_socket(*family, SOCK_STREAM);
    errno = 0;
    api_assert_fails(listen(u, 4), EINVAL, "listen on an unbound socket");
    close(u);
    return;
#endif
    api_enter_private_netns();
    int l = api_socket(*family, SOCK_STREAM);
    cr_assert_eq(listen(l, 4), 0, "listen: %s", strerror(errno));
    sc_addr_t a = api_name_of(l);
    cr_assert_eq(a.ss.ss_family, *family);
    cr_assert_neq(api_port_of(&a), 0, "no port after listen");
    if (*family == AF_INET6)
        cr_assert(IN6_IS_ADDR_UNSPECIFIED(&((struct sockaddr_in6 *)&a.ss)->sin6_addr), "not bound to ::");
    else
        cr_assert_eq(((struct sockaddr_in *)&a.ss)->sin_addr.s_addr, htonl(INADDR_ANY),
                     "not bound to 0.0.0.0");
    sc_addr_t lo = sct_loopback(*family, api_port_of(&a));
    api_assert_accepts(l, &lo);
    close(l);
}

ParameterizedTestParameters(listen, again_changes_backlog)
{
    return cr_make_param_array(int, api_families, 2);
}

ParameterizedTest(int *family, listen, again_changes_backlog, .description = "LS-04", .timeout = 10)
{
    sc_addr_t a;
    int l = sct_bound(*family, SOCK_STREAM, &a);
    static const int backlogs[] = {2, 8, 1};
    for (size_t i = 0; i < sizeof(backlogs) / sizeof(backlogs[0]); i++) {
        cr_assert_eq(listen(l, backlogs[i]), 0, "listen(%d): %s", backlogs[i], strerror(errno));
        unsigned limit = 0;
        api_listen_queue(l, NULL, &limit);
        cr_assert_eq(limit, (unsigned)backlogs[i], "backlog %u after listen(%d)", limit, backlogs[i]);
    }
    sc_addr_t b = api_name_of(l);
    cr_assert_eq(api_port_of(&b), api_port_of(&a), "port changed");
    api_assert_accepts(l, &a);
    close(l);
}

ParameterizedTestParameters(listen, backlog_overflow_leaves_connect_pending_until_accept)
{
    return cr_make_param_array(int, api_families, 2);
}

/* Linux queues backlog + 1 connections (sk_acceptq_is_full tests ">"),
 * then drops SYNs: the client stays in SYN_SENT and completes on a SYN
 * retransmission once accept() has made room (Winsock refuses instead). */
#if defined(_WIN32)
/* Winsock: a connect that finds the queue full is refused, "the client
 * will receive an error with an indication of WSAECONNREFUSED" (listen
 * function, Remarks). How many the queue takes is the provider's choice,
 * so connections are made until one is refused, at most MAX_CONNS; each
 * attempt is watched with select, which reports a failed non-blocking
 * connect in exceptfds (select function, Remarks). */
static int connect_outcome(int c, int ms)
{
    fd_set w, e;
    FD_ZERO(&w);
    FD_ZERO(&e);
    FD_SET((SOCKET)c, &w);
    FD_SET((SOCKET)c, &e);
    struct timeval tv = {.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
    int n = select(0, NULL, &w, &e, &tv);
    cr_assert_geq(n, 0, "select: %d", WSAGetLastError());
    if (n == 0)
        return -1; /* neither connected nor refused */
    return api_so_error(c);
}

static void overflow_is_refused(int family)
{
    enum { MAX_CONNS = 200 };
    sc_addr_t a;
    int l = sct_bound(family, SOCK_STREAM, &a);
    cr_assert_eq(listen(l, 2), 0, "listen: %s", strerror(errno));
    int c[MAX_CONNS], n = 0, refused = 0;
    while (n < MAX_CONNS && !refused) {
        c[n] = api_tcp_connect_nb(&a);
        int err = connect_outcome(c[n++], PENDING_MS);
        cr_assert(err == 0 || err == ECONNREFUSED, "connection %d: %s", n,
                  err < 0 ? "neither connected nor refused" : strerror(err));
        refused = err == ECONNREFUSED;
    }
    cr_assert(refused, "%d connections and none refused", n);
    while (n > 0)
        close(c[--n]);
    close(l);
}
#endif

ParameterizedTest(int *family, listen, backlog_overflow_leaves_connect_pending_until_accept,
                  .description = "LS-05", .timeout = 20)
{
#if defined(_WIN32)
    overflow_is_refused(*family);
    return;
#endif
    enum { BACKLOG = 2, QUEUED = BACKLOG + 1 };
    sc_addr_t a;
    int l = api_socket(*family, SOCK_STREAM);
    sc_addr_t lo = sct_loopback(*family, 0);
    cr_assert_eq(bind(l, (struct sockaddr *)&lo.ss, lo.len), 0, "bind: %s", strerror(errno));
    cr_assert_eq(listen(l, BACKLOG), 0, "listen: %s", strerror(errno));
    a = api_name_of(l);
    int c[QUEUED];
    for (int i = 0; i < QUEUED; i++) {
        c[i] = api_tcp_connect_nb(&a);
        cr_assert(api_wait_events(c[i], POLLOUT, SCT_TIMEOUT_MS) & POLLOUT, "connection %d never completed",
                  i);
        cr_assert_eq(api_so_error(c[i]), 0);
        api_wait_queued(l, (unsigned)i + 1);
    }
    int pending = api_tcp_connect_nb(&a);
    cr_assert_eq(api_wait_events(pending, POLLOUT, PENDING_MS), 0, "connect beyond the backlog completed");
    unsigned q = 0;
    api_listen_queue(l, &q, NULL);
    cr_assert_eq(q, QUEUED, "queue holds %u", q);

    int s = accept(l, NULL, NULL);
    cr_assert_geq(s, 0, "accept: %s", strerror(errno));
    close(s);
    cr_assert(api_wait_events(pending, POLLOUT, 2 * SCT_TIMEOUT_MS) & POLLOUT,
              "pending connect never completed");
    cr_assert_eq(api_so_error(pending), 0);
    api_wait_queued(l, QUEUED);
    for (int i = 0; i < QUEUED; i++) {
        s = accept(l, NULL, NULL);
        cr_assert_geq(s, 0, "accept: %s", strerror(errno));
        close(s);
        close(c[i]);
    }
    close(pending);
    close(l);
}

ParameterizedTestParameters(listen, backlog_0_still_queues_one_connection)
{
    return cr_make_param_array(int, api_families, 2);
}

ParameterizedTest(int *family, listen, backlog_0_still_queues_one_connection, .description = "LS-06",
                  .timeout = 10)
{
    sc_addr_t a;
    int filler;
    int l = api_full_listener(*family, &a, &filler);
    /* Exactly one: the next connect stays pending. */
    int pending = api_tcp_connect_nb(&a);
    cr_assert_eq(api_wait_events(pending, POLLOUT, PENDING_MS), 0,
                 "a second connection completed with backlog 0");
    cr_assert(api_wait_events(l, POLLIN, SCT_TIMEOUT_MS) & POLLIN);
    int s = accept(l, NULL, NULL);
    cr_assert_geq(s, 0, "accept: %s", strerror(errno));
    close(s);
    close(pending);
    close(filler);
    close(l);
}

ParameterizedTestParameters(listen, negative_backlog_means_somaxconn)
{
    return cr_make_param_array(int, api_families, 2);
}

/* POSIX: a negative backlog behaves as 0. Linux casts it to unsigned and
 * caps it at net.core.somaxconn (net/socket.c __sys_listen). */
ParameterizedTest(int *family, listen, negative_backlog_means_somaxconn, .description = "LS-07",
                  .timeout = 10)
{
#if defined(_WIN32)
    cr_skip_test("Linux caps a negative backlog at net.core.somaxconn; Winsock documents only a silent limit");
#endif
    sc_addr_t a;
    int l = api_socket(*family, SOCK_STREAM);
    sc_addr_t lo = sct_loopback(*family, 0);
    cr_assert_eq(bind(l, (struct sockaddr *)&lo.ss, lo.len), 0, "bind: %s", strerror(errno));
    cr_assert_eq(listen(l, -1), 0, "listen(-1): %s", strerror(errno));
    int somaxconn = api_read_proc("/proc/sys/net/core/somaxconn", -1);
    cr_assert_gt(somaxconn, 0, "cannot read net.core.somaxconn");
    unsigned limit = 0;
    api_listen_queue(l, NULL, &limit);
    cr_assert_eq(limit, (unsigned)somaxconn, "backlog %u, somaxconn %d", limit, somaxconn);
    a = api_name_of(l);
    api_assert_accepts(l, &a);
    close(l);
}

ParameterizedTestParameters(listen, so_acceptconn_only_on_listener)
{
    return cr_make_param_array(int, api_families, 2);
}

ParameterizedTest(int *family, listen, so_acceptconn_only_on_listener, .description = "LS-08", .timeout = 10)
{
    int fresh = api_socket(*family, SOCK_STREAM);
    cr_assert_eq(api_get_int(fresh, SOL_SOCKET, SO_ACCEPTCONN), 0, "fresh TCP socket");
    sc_addr_t a;
    int l = sct_bound(*family, SOCK_STREAM, &a);
    cr_assert_eq(api_get_int(l, SOL_SOCKET, SO_ACCEPTCONN), 1, "listener");
    int c = api_tcp_connect(&a);
    int s = accept(l, NULL, NULL);
    cr_assert_geq(s, 0, "accept: %s", strerror(errno));
    cr_assert_eq(api_get_int(c, SOL_SOCKET, SO_ACCEPTCONN), 0, "connected socket");
    cr_assert_eq(api_get_int(s, SOL_SOCKET, SO_ACCEPTCONN), 0, "accepted socket");
    int u = api_socket(*family, SOCK_DGRAM);
    cr_assert_eq(api_get_int(u, SOL_SOCKET, SO_ACCEPTCONN), 0, "UDP socket");
    close(u);
    close(s);
    close(c);
    close(l);
    close(fresh);
}

ParameterizedTestParameters(listen, shutdown_rd_stops_listener)
{
    return cr_make_param_array(int, api_families, 2);
}

#if defined(_WIN32)
/* Winsock: a listener is not connected, and shutdown of a socket that is
 * not connected fails with WSAENOTCONN (shutdown function, Return value);
 * the listener goes on accepting. */
static void listener_shutdown_fails(int family, int how)
{
    sc_addr_t a;
    int l = sct_bound(family, SOCK_STREAM, &a);
    errno = 0;
    api_assert_fails(shutdown(l, how), ENOTCONN, "shutdown of a listener");
    cr_assert_eq(api_get_int(l, SOL_SOCKET, SO_ACCEPTCONN), 1);
    api_assert_accepts(l, &a);
    close(l);
}
#endif

ParameterizedTest(int *family, listen, shutdown_rd_stops_listener, .description = "LS-09", .timeout = 10)
{
#if defined(_WIN32)
    listener_shutdown_fails(*family, SHUT_RD);
    return;
#endif
    sc_addr_t a;
    int l = api_bound_explicit(*family, SOCK_STREAM, 0, &a);
    cr_assert_eq(listen(l, 4), 0, "listen: %s", strerror(errno));
    cr_assert_eq(shutdown(l, SHUT_RD), 0, "shutdown: %s", strerror(errno));
    cr_assert_eq(api_get_int(l, SOL_SOCKET, SO_ACCEPTCONN), 0, "SO_ACCEPTCONN after SHUT_RD");
    errno = 0;
    int rc = accept(l, NULL, NULL);
    cr_assert_eq(rc, -1);
    cr_assert_eq(errno, EINVAL, "accept: errno %d (%s)", errno, strerror(errno));
    close(l);
}

ParameterizedTestParameters(listen, shutdown_rd_refuses_new_connections)
{
    return cr_make_param_array(int, api_families, 2);
}

/* The port was bound by number, so it stays reserved (BD-14) and no other
 * socket can listen there: connects get a RST. */
ParameterizedTest(int *family, listen, shutdown_rd_refuses_new_connections, .description = "LS-09",
                  .timeout = 10)
{
#if defined(_WIN32)
    cr_skip_test("shutdown of a listener fails on Windows (WSAENOTCONN): see shutdown_rd_stops_listener");
#endif
    sc_addr_t a;
    int l = api_bound_explicit(*family, SOCK_STREAM, 0, &a);
    cr_assert_eq(listen(l, 4), 0, "listen: %s", strerror(errno));
    cr_assert_eq(shutdown(l, SHUT_RD), 0, "shutdown: %s", strerror(errno));
    int c = api_socket(*family, SOCK_STREAM);
    errno = 0;
    int rc = connect(c, (struct sockaddr *)&a.ss, a.len);
    cr_assert_eq(rc, -1);
    cr_assert_eq(errno, ECONNREFUSED, "connect: errno %d (%s)", errno, strerror(errno));
    close(c);
    close(l);
}

ParameterizedTestParameters(listen, again_after_shutdown_rd_reenables)
{
    return cr_make_param_array(int, api_families, 2);
}

/* With a port bound by number the listener comes back on the same port;
 * a port-0 listener would come back on a new ephemeral port, since the
 * shutdown released its port (see BD-14). */
ParameterizedTest(int *family, listen, again_after_shutdown_rd_reenables, .description = "LS-09",
                  .timeout = 10)
{
#if defined(_WIN32)
    cr_skip_test("shutdown of a listener fails on Windows (WSAENOTCONN): see shutdown_rd_stops_listener");
#endif
    sc_addr_t a;
    int l = api_bound_explicit(*family, SOCK_STREAM, 0, &a);
    cr_assert_eq(listen(l, 4), 0, "listen: %s", strerror(errno));
    cr_assert_eq(shutdown(l, SHUT_RD), 0, "shutdown: %s", strerror(errno));
    cr_assert_eq(listen(l, 4), 0, "listen again: %s", strerror(errno));
    cr_assert_eq(api_get_int(l, SOL_SOCKET, SO_ACCEPTCONN), 1);
    sc_addr_t b = api_name_of(l);
    cr_assert_eq(api_port_of(&b), api_port_of(&a), "port changed");
    api_assert_accepts(l, &a);
    close(l);
}

ParameterizedTestParameters(listen, shutdown_wr_has_no_effect)
{
    return cr_make_param_array(int, api_families, 2);
}

ParameterizedTest(int *family, listen, shutdown_wr_has_no_effect, .description = "LS-10", .timeout = 10)
{
#if defined(_WIN32)
    listener_shutdown_fails(*family, SHUT_WR);
    return;
#endif
    sc_addr_t a;
    int l = sct_bound(*family, SOCK_STREAM, &a);
    cr_assert_eq(shutdown(l, SHUT_WR), 0, "shutdown: %s", strerror(errno));
    cr_assert_eq(api_get_int(l, SOL_SOCKET, SO_ACCEPTCONN), 1);
    api_assert_accepts(l, &a);
    close(l);
}

struct hangup_case {
    int family;
    int use_close; /* close() the listener, else shutdown(SHUT_RD) */
};

ParameterizedTestParameters(listen, hangup_resets_queued_and_refuses_connecting)
{
    static struct hangup_case cases[] = {{AF_INET, 1}, {AF_INET, 0}, {AF_INET6, 1}, {AF_INET6, 0}};
    return cr_make_param_array(struct hangup_case, cases, 4);
}

/* A guard socket shares the port (SO_REUSEADDR, never listening), so that
 * after the hang-up no other listener can take the port: the connecting
 * client's retransmitted SYN is answered with a RST. */
ParameterizedTest(struct hangup_case *c, listen, hangup_resets_queued_and_refuses_connecting,
                  .description = "LS-11", .timeout = 20)
{
    sc_addr_t a;
    int guard = api_bound_explicit(c->family, SOCK_STREAM, 1, &a);
    int l = api_socket(c->family, SOCK_STREAM);
    api_set_int(l, SOL_SOCKET, SO_REUSEADDR, 1);
    cr_assert_eq(bind(l, (struct sockaddr *)&a.ss, a.len), 0, "bind: %s", strerror(errno));
    cr_assert_eq(listen(l, 0), 0, "listen: %s", strerror(errno));
    int queued = api_tcp_connect_nb(&a);
    cr_assert(api_wait_events(queued, POLLOUT, SCT_TIMEOUT_MS) & POLLOUT, "first connection never completed");
    api_wait_queued(l, 1);
    int connecting = api_tcp_connect_nb(&a);

    if (c->use_close)
        cr_assert_eq(close(l), 0, "close: %s", strerror(errno));
    else
        cr_assert_eq(shutdown(l, SHUT_RD), 0, "shutdown: %s", strerror(errno));

    const int fds[2] = {queued, connecting};
    const int want[2] = {ECONNRESET, ECONNREFUSED};
    for (int i = 0; i < 2; i++) {
        int re = api_wait_events(fds[i], 0, 2 * SCT_TIMEOUT_MS);
        cr_assert_eq(re, POLLHUP | POLLERR, "%s client: revents 0x%x", i ? "connecting" : "queued",
                     (unsigned)re);
        char b;
        errno = 0;
        cr_assert_eq(read(fds[i], &b, 1), -1);
        cr_assert_eq(errno, want[i], "%s client: read errno %d (%s)", i ? "connecting" : "queued", errno,
                     strerror(errno));
    }
    close(connecting);
    close(queued);
    if (!c->use_close)
        close(l);
    close(guard);
}

ParameterizedTestParameters(listen, einval_on_connected_socket)
{
    return cr_make_param_array(int, api_families, 2);
}

/* Gap in public suites: POSIX "shall fail ... EINVAL: The socket is
 * already connected"; checked on both ends of a connection. Winsock:
 * WSAEISCONN, "The socket is already connected" (listen function, Return
 * value). */
#if defined(_WIN32)
#define LISTEN_CONNECTED_ERROR EISCONN
#else
#define LISTEN_CONNECTED_ERROR EINVAL
#endif

ParameterizedTest(int *family, listen, einval_on_connected_socket, .description = "LS-12", .timeout = 10)
{
    int c, s;
    sct_tcp_pair(*family, &c, &s);
    errno = 0;
    cr_assert_eq(listen(c, 4), -1, "listen on the connecting end succeeded");
    cr_assert_eq(errno, LISTEN_CONNECTED_ERROR, "errno %d (%s)", errno, strerror(errno));
    errno = 0;
    cr_assert_eq(listen(s, 4), -1, "listen on the accepted end succeeded");
    cr_assert_eq(errno, LISTEN_CONNECTED_ERROR, "errno %d (%s)", errno, strerror(errno));
    /* The connection is unaffected. */
    cr_assert_eq(send(c, "x", 1, MSG_NOSIGNAL), 1, "send: %s", strerror(errno));
    char b;
    cr_assert_eq(recv(s, &b, 1, 0), 1, "recv: %s", strerror(errno));
    close(c);
    close(s);
}
