/* Conformance of accept() and accept4(): new descriptors, readiness,
 * addresses and their lengths, errors, flags, inheritance, resets before
 * accept, EMFILE and EINTR (matrix rows AC-01..AC-14, SK-10 for accept, and
 * the EINTR gap as GAP-EINTR like the recv and send suites). */
#include "support.h"
#include "common.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#if !defined(_WIN32)
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#endif
#include <sys/socket.h>
#include <unistd.h>

/* Upper bound of descriptors a test opens to fill the table. */
#define FILL_MAX 256
/* Interval and count of the signals the helper thread sends. */
#define KICK_MS 20
#define KICK_MAX 250

/* Polls fd until revents contains all of need (bounded), then returns the
 * full revents of one more zero-timeout poll. */
static int wait_mask(int fd, short events, int need, int ms)
{
    for (int waited = 0; waited < ms; waited += 10) {
        int re = api_wait_events(fd, events, 10);
        if ((re & need) == need)
            return api_wait_events(fd, events, 0);
    }
    return api_wait_events(fd, events, 0);
}

ParameterizedTestParameters(accept, returns_new_fd_and_listener_keeps_accepting)
{
    return cr_make_param_array(int, api_families, 2);
}

ParameterizedTest(int *family, accept, returns_new_fd_and_listener_keeps_accepting, .description = "AC-01",
                  .timeout = 10)
{
    enum { N = 3 };
    sc_addr_t a;
    int l = sct_bound(*family, SOCK_STREAM, &a);
    int c[N], s[N];
    for (int i = 0; i < N; i++) {
        c[i] = api_tcp_connect(&a);
        s[i] = accept(l, NULL, NULL);
        cr_assert_geq(s[i], 0, "accept #%d: %s", i, strerror(errno));
        cr_assert_neq(s[i], l, "accept returned the listener");
        for (int j = 0; j < i; j++)
            cr_assert_neq(s[i], s[j]);
        /* The new descriptor is the connection to c[i]. */
        sc_addr_t cn = api_name_of(c[i]), sp = api_peer_of(s[i]);
        cr_assert(api_same_name(&cn, &sp), "accepted #%d is not connected to its client", i);
        cr_assert_eq(api_get_int(l, SOL_SOCKET, SO_ACCEPTCONN), 1);
    }
    for (int i = 0; i < N; i++) {
        close(c[i]);
        close(s[i]);
    }
    close(l);
}

ParameterizedTestParameters(accept, listener_readable_only_while_connection_pending)
{
    return cr_make_param_array(int, api_families, 2);
}

ParameterizedTest(int *family, accept, listener_readable_only_while_connection_pending,
                  .description = "AC-02", .timeout = 10)
{
    sc_addr_t a;
    int l = sct_bound(*family, SOCK_STREAM, &a);
    cr_assert_eq(api_wait_events(l, POLLIN, 0), 0, "listener readable with an empty queue");
    int c = api_tcp_connect(&a);
#if defined(_WIN32)
    /* WSAPoll: POLLIN is POLLRDNORM | POLLRDBAND, and a pending connection
     * is normal data, POLLRDNORM (WSAPOLLFD structure; WSAPoll function,
     * Remarks). */
    cr_assert_eq(api_wait_events(l, POLLIN, SCT_TIMEOUT_MS), POLLRDNORM,
                 "listener not readable with a pending connection");
#else
    cr_assert_eq(api_wait_events(l, POLLIN, SCT_TIMEOUT_MS), POLLIN,
                 "listener not readable with a pending connection");
#endif
    int s = accept(l, NULL, NULL);
    cr_assert_geq(s, 0, "accept: %s", strerror(errno));
    cr_assert_eq(api_wait_events(l, POLLIN, 0), 0, "listener still readable after accept");
    close(s);
    close(c);
    close(l);
}

ParameterizedTestParameters(accept, peer_and_local_names_are_reciprocal)
{
    return cr_make_param_array(int, api_families, 2);
}

ParameterizedTest(int *family, accept, peer_and_local_names_are_reciprocal, .description = "AC-03",
                  .timeout = 10)
{
    sc_addr_t a;
    int l = sct_bound(*family, SOCK_STREAM, &a);
    int c = api_tcp_connect(&a);
    sc_addr_t from;
    memset(&from, 0, sizeof(from));
    from.len = sizeof(from.ss);
    int s = accept(l, (struct sockaddr *)&from.ss, &from.len);
    cr_assert_geq(s, 0, "accept: %s", strerror(errno));
    sc_addr_t cn = api_name_of(c), cp = api_peer_of(c), sn = api_name_of(s), sp = api_peer_of(s);
    cr_assert(api_same_name(&cp, &sn), "client's peer != accepted socket's name");
    cr_assert(api_same_name(&sp, &cn), "accepted socket's peer != client's name");
    cr_assert(api_same_name(&from, &cn), "address from accept != client's name");
    cr_assert(api_same_name(&sn, &a), "accepted socket's name != listener's");
    close(s);
    close(c);
    close(l);
}

ParameterizedTestParameters(accept, einval_when_not_listening)
{
    return cr_make_param_array(int, api_families, 2);
}

ParameterizedTest(int *family, accept, einval_when_not_listening, .description = "AC-04", .timeout = 10)
{
    int unbound = api_socket(*family, SOCK_STREAM);
    errno = 0;
    cr_assert_eq(accept(unbound, NULL, NULL), -1);
    cr_assert_eq(errno, EINVAL, "unbound: errno %d (%s)", errno, strerror(errno));
    int bound = api_socket(*family, SOCK_STREAM);
    sc_addr_t lo = sct_loopback(*family, 0);
    cr_assert_eq(bind(bound, (struct sockaddr *)&lo.ss, lo.len), 0, "bind: %s", strerror(errno));
    errno = 0;
    cr_assert_eq(accept(bound, NULL, NULL), -1);
    cr_assert_eq(errno, EINVAL, "bound: errno %d (%s)", errno, strerror(errno));
    close(bound);
    close(unbound);
}

ParameterizedTestParameters(accept, eopnotsupp_on_udp)
{
    return cr_make_param_array(int, api_families, 2);
}

ParameterizedTest(int *family, accept, eopnotsupp_on_udp, .description = "AC-05", .timeout = 10)
{
    sc_addr_t a;
    int u = sct_bound(*family, SOCK_DGRAM, &a);
    errno = 0;
    cr_assert_eq(accept(u, NULL, NULL), -1);
    cr_assert_eq(errno, EOPNOTSUPP, "errno %d (%s)", errno, strerror(errno));
    close(u);
}

Test(accept, ebadf_for_closed_fd, .description = "AC-06", .timeout = 10)
{
    int fd = 400;
    if (fcntl(fd, F_GETFD) != -1) {
        fd = dup(0);
        close(fd);
    }
    errno = 0;
    cr_assert_eq(accept(fd, NULL, NULL), -1);
    cr_assert_eq(errno, API_EBADF_SOCK, "errno %d (%s)", errno, strerror(errno));
}

/* Every kind of non-socket descriptor gives ENOTSOCK (LTP accept03 walks
 * the same kinds); an O_PATH descriptor gives EBADF, as it cannot be used
 * for I/O at all. */
Test(accept, enotsock_for_every_non_socket_fd_and_ebadf_for_o_path, .description = "AC-06", .timeout = 10)
{
#if defined(_WIN32)
    /* The kinds are Linux's (eventfd, epoll, memfd, O_PATH); the one
     * Windows has, a file that is no socket, is accept/enotsock_for_dev_null. */
    cr_skip_test("Linux descriptor kinds (eventfd, epoll, memfd, O_PATH): see accept/enotsock_for_dev_null");
#else
    char tmpl[] = "/tmp/sockcheck-accept-XXXXXX";
    int pipefd[2];
    cr_assert_eq(pipe(pipefd), 0, "pipe: %s", strerror(errno));
    struct {
        const char *kind;
        int fd;
    } kinds[] = {
        {"regular file", mkstemp(tmpl)},
        {"directory", open("/", O_RDONLY | O_DIRECTORY)},
        {"pipe", pipefd[0]},
        {"/dev/null", open("/dev/null", O_RDWR)},
        {"eventfd", eventfd(0, 0)},
        {"epoll", epoll_create1(0)},
        {"memfd", memfd_create("sockcheck", 0)},
    };
    unlink(tmpl);
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        cr_assert_geq(kinds[i].fd, 0, "%s: cannot open", kinds[i].kind);
        errno = 0;
        int rc = accept(kinds[i].fd, NULL, NULL);
        int err = errno;
        close(kinds[i].fd);
        cr_expect_eq(rc, -1, "%s: accept returned %d", kinds[i].kind, rc);
        cr_expect_eq(err, ENOTSOCK, "%s: errno %d (%s)", kinds[i].kind, err, strerror(err));
    }
    close(pipefd[1]);
    int path = open("/", O_PATH);
    cr_assert_geq(path, 0, "open O_PATH: %s", strerror(errno));
    errno = 0;
    int rc = accept(path, NULL, NULL);
    cr_assert_eq(rc, -1);
    cr_assert_eq(errno, EBADF, "O_PATH: errno %d (%s)", errno, strerror(errno));
    close(path);
#endif
}

/* Winsock: WSAENOTSOCK, "The descriptor is not a socket" (accept
 * function, Return value); Linux: ENOTSOCK (man accept(2)). */
Test(accept, enotsock_for_dev_null, .description = "AC-06", .timeout = 10)
{
    int fd = open(API_NULL_DEVICE, O_RDWR);
    cr_assert_geq(fd, 0, "open: %s", strerror(errno));
    errno = 0;
    int rc = accept(fd, NULL, NULL);
    int err = errno;
    close(fd);
    cr_assert_eq(rc, -1);
    cr_assert_eq(err, ENOTSOCK, "errno %d (%s)", err, strerror(err));
}

ParameterizedTestParameters(accept, eagain_on_nonblocking_empty_queue)
{
    return cr_make_param_array(int, api_families, 2);
}

ParameterizedTest(int *family, accept, eagain_on_nonblocking_empty_queue, .description = "AC-07",
                  .timeout = 10)
{
    sc_addr_t a;
    int l = sct_bound(*family, SOCK_STREAM, &a);
    api_set_nonblock(l, 1);
    errno = 0;
    cr_assert_eq(accept(l, NULL, NULL), -1);
    cr_assert(errno == EAGAIN || errno == EWOULDBLOCK, "errno %d (%s)", errno, strerror(errno));
    close(l);
}

ParameterizedTestParameters(accept, einval_for_negative_addrlen_consumes_connection)
{
    return cr_make_param_array(int, api_families, 2);
}

/* Linux takes the connection off the queue first and fails only when it
 * copies the address out (net/socket.c do_accept, move_addr_to_user): the
 * new socket is released, so the client sees an orderly close and the
 * queue is empty afterwards. */
ParameterizedTest(int *family, accept, einval_for_negative_addrlen_consumes_connection,
                  .description = "AC-08", .timeout = 10)
{
    sc_addr_t a;
    int l = sct_bound(*family, SOCK_STREAM, &a);
    int c = api_tcp_connect(&a);
#if defined(_WIN32)
    /* Winsock: WSAEFAULT, "The addrlen parameter is too small" (accept
     * function, Return value; socklen_t is an int there). What becomes of
     * the connection is not documented. */
    cr_assert(api_wait_events(l, POLLIN, SCT_TIMEOUT_MS) & POLLIN, "no connection pending");
    struct sockaddr_storage from;
    socklen_t len = -1;
    errno = 0;
    int rc = accept(l, (struct sockaddr *)&from, &len);
    cr_assert_eq(rc, -1, "accept returned %d", rc);
    cr_assert_eq(errno, EFAULT, "errno %d (%s)", errno, strerror(errno));
    close(c);
    close(l);
#else
    api_wait_queued(l, 1);
    struct sockaddr_storage from;
    socklen_t len = (socklen_t)-1;
    errno = 0;
    int rc = accept(l, (struct sockaddr *)&from, &len);
    cr_assert_eq(rc, -1, "accept returned %d", rc);
    cr_assert_eq(errno, EINVAL, "errno %d (%s)", errno, strerror(errno));
    cr_assert(api_wait_events(c, POLLIN, SCT_TIMEOUT_MS) & POLLIN, "client never saw the close");
    char b;
    cr_assert_eq(recv(c, &b, 1, 0), 0, "client: expected EOF");
    api_set_nonblock(l, 1);
    errno = 0;
    cr_assert_eq(accept(l, NULL, NULL), -1);
    cr_assert_eq(errno, EAGAIN, "queue not empty: errno %d (%s)", errno, strerror(errno));
    close(c);
    close(l);
#endif
}

ParameterizedTestParameters(accept, addrlen_reports_real_size_and_truncates)
{
    return cr_make_param_array(int, api_families, 2);
}

ParameterizedTest(int *family, accept, addrlen_reports_real_size_and_truncates, .description = "AC-09",
                  .timeout = 10)
{
    sc_addr_t a;
    int l = sct_bound(*family, SOCK_STREAM, &a);
    const socklen_t real = *family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);

    /* Larger than needed: *addrlen shrinks to the real size. */
    int c1 = api_tcp_connect(&a);
    unsigned char big[sizeof(struct sockaddr_storage) + 16];
    socklen_t len = sizeof(big);
    int s1 = accept(l, (struct sockaddr *)big, &len);
    cr_assert_geq(s1, 0, "accept: %s", strerror(errno));
    cr_assert_eq(len, real, "addrlen %u, expected %u", len, real);
    sc_addr_t cn = api_name_of(c1);
    cr_assert_eq(memcmp(big, &cn.ss, real), 0, "address differs from the client's name");

    /* Smaller: the address is cut at the given length, the rest of the
     * buffer is untouched, and *addrlen tells the real size. */
    int c2 = api_tcp_connect(&a);
    unsigned char small[sizeof(struct sockaddr_in6)];
    memset(small, 0xAA, sizeof(small));
    len = 4;
#if defined(_WIN32)
    /* Winsock does not truncate: WSAEFAULT, "The addrlen parameter is too
     * small" (accept function, Return value). */
    errno = 0;
    api_assert_fails(accept(l, (struct sockaddr *)small, &len), EFAULT, "accept with addrlen 4");
    close(c2);
    close(s1);
    close(c1);
    close(l);
    return;
#endif
    int s2 = accept(l, (struct sockaddr *)small, &len);
    cr_assert_geq(s2, 0, "accept: %s", strerror(errno));
    cr_assert_eq(len, real, "addrlen %u after truncation, expected %u", len, real);
    sc_addr_t cn2 = api_name_of(c2);
    cr_assert_eq(memcmp(small, &cn2.ss, 4), 0, "first bytes differ from the client's name");
    for (size_t i = 4; i < sizeof(small); i++)
        cr_assert_eq(small[i], 0xAA, "byte %zu written beyond addrlen", i);
    close(s2);
    close(c2);
    close(s1);
    close(c1);
    close(l);
}

ParameterizedTestParameters(accept, returns_connection_reset_before_accept)
{
    return cr_make_param_array(int, api_families, 2);
}

/* Linux still hands out a queued connection that the client reset; its
 * error shows on the new socket (POSIX and other stacks: ECONNABORTED from
 * accept; man accept(2) "Error handling"). */
ParameterizedTest(int *family, accept, returns_connection_reset_before_accept, .description = "AC-10",
                  .timeout = 10)
{
    sc_addr_t a;
    int l = sct_bound(*family, SOCK_STREAM, &a);
    int c = api_tcp_connect(&a);
    api_wait_queued(l, 1);
    struct linger lin = {.l_onoff = 1, .l_linger = 0};
    cr_assert_eq(setsockopt(c, SOL_SOCKET, SO_LINGER, &lin, sizeof(lin)), 0, "SO_LINGER: %s",
                 strerror(errno));
    cr_assert_eq(close(c), 0);
    int s = accept(l, NULL, NULL);
    cr_assert_geq(s, 0, "accept: %s", strerror(errno));
    int re = wait_mask(s, POLLIN, POLLHUP, SCT_TIMEOUT_MS);
    cr_assert_eq(re, POLLIN | POLLHUP | POLLERR, "revents 0x%x", (unsigned)re);
    cr_assert_eq(api_so_error(s), ECONNRESET, "SO_ERROR");
    cr_assert_eq(api_so_error(s), 0, "SO_ERROR not cleared");
    struct sockaddr_storage p;
    socklen_t plen = sizeof(p);
    errno = 0;
    cr_assert_eq(getpeername(s, (struct sockaddr *)&p, &plen), -1);
    cr_assert_eq(errno, ENOTCONN, "getpeername: errno %d (%s)", errno, strerror(errno));
    close(s);
    close(l);
}

ParameterizedTestParameters(accept, accepted_fd_does_not_inherit_o_nonblock)
{
    return cr_make_param_array(int, api_families, 2);
}

#if defined(_WIN32)
/* Winsock cannot read the blocking mode back (no F_GETFL): a recv with
 * nothing queued tells, WSAEWOULDBLOCK at once on a non-blocking socket,
 * WSAETIMEDOUT after SO_RCVTIMEO (a DWORD of milliseconds) on a blocking
 * one (SOL_SOCKET socket options, SO_RCVTIMEO). */
static int connected_is_nonblocking(int s)
{
    DWORD ms = 100;
    cr_assert_eq(setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &ms, sizeof(ms)), 0, "SO_RCVTIMEO: %s",
                 strerror(errno));
    char b;
    errno = 0;
    cr_assert_eq(recv(s, &b, 1, 0), -1, "recv: something arrived");
    cr_assert(errno == EAGAIN || errno == ETIMEDOUT, "recv: errno %d (%s)", errno, strerror(errno));
    return errno == EAGAIN;
}
#endif

/* man accept(2) NOTES: on Linux the new socket does not inherit O_NONBLOCK
 * (BSD-derived stacks do). Winsock: the accepted socket "has the same
 * properties as socket s" (accept function, Remarks): it is non-blocking. */
ParameterizedTest(int *family, accept, accepted_fd_does_not_inherit_o_nonblock, .description = "AC-11",
                  .timeout = 10)
{
    sc_addr_t a;
    int l = sct_bound(*family, SOCK_STREAM, &a);
    api_set_nonblock(l, 1);
    int c = api_tcp_connect(&a);
    cr_assert(api_wait_events(l, POLLIN, SCT_TIMEOUT_MS) & POLLIN);
    int s = accept(l, NULL, NULL);
    cr_assert_geq(s, 0, "accept: %s", strerror(errno));
#if defined(_WIN32)
    cr_assert(connected_is_nonblocking(s), "accepted socket is blocking");
#else
    cr_assert_eq(fcntl(s, F_GETFL) & O_NONBLOCK, 0, "accepted socket is non-blocking");
#endif
    close(s);
    close(c);
    close(l);
}

enum { VIA_LIBC, VIA_SYSCALL, VIA_SOCKETCALL };

struct accept4_case {
    int family;
    int flags;
    int via;
};

ParameterizedTestParameters(accept, accept4_sets_flags_exactly)
{
    static struct accept4_case cases[] = {
        {AF_INET, 0, VIA_LIBC},
        {AF_INET, SOCK_CLOEXEC, VIA_LIBC},
        {AF_INET, SOCK_NONBLOCK, VIA_LIBC},
        {AF_INET, SOCK_CLOEXEC | SOCK_NONBLOCK, VIA_LIBC},
        {AF_INET, 0, VIA_SYSCALL},
        {AF_INET, SOCK_CLOEXEC, VIA_SYSCALL},
        {AF_INET, SOCK_NONBLOCK, VIA_SYSCALL},
        {AF_INET, SOCK_CLOEXEC | SOCK_NONBLOCK, VIA_SYSCALL},
        {AF_INET6, 0, VIA_LIBC},
        {AF_INET6, SOCK_CLOEXEC | SOCK_NONBLOCK, VIA_LIBC},
        {AF_INET6, SOCK_CLOEXEC | SOCK_NONBLOCK, VIA_SYSCALL},
        {AF_INET, SOCK_CLOEXEC | SOCK_NONBLOCK, VIA_SOCKETCALL},
    };
    return cr_make_param_array(struct accept4_case, cases, sizeof(cases) / sizeof(cases[0]));
}

#if !defined(_WIN32)
static int accept4_via(int l, int flags, int via)
{
    switch (via) {
    case VIA_SYSCALL:
        return (int)syscall(SYS_accept4, l, NULL, NULL, flags);
#ifdef SYS_socketcall
    case VIA_SOCKETCALL: {
        unsigned long args[4] = {(unsigned long)l, 0, 0, (unsigned long)flags};
        return (int)syscall(SYS_socketcall, 18 /* SYS_ACCEPT4 */, args);
    }
#endif
    default:
        return accept4(l, NULL, NULL, flags);
    }
}
#endif

/* The socketcall(2) multiplexer exists only on some 32-bit ABIs; on the
 * others that case skips. A preload library sees only the libc case. */
ParameterizedTest(struct accept4_case *c, accept, accept4_sets_flags_exactly, .description = "AC-12",
                  .timeout = 10)
{
#if defined(_WIN32)
    (void)c;
    cr_skip_test("accept4 and its flags do not exist on Windows "
                 "(accept/accepted_fd_does_not_inherit_o_nonblock covers the mode)");
#else
#ifndef SYS_socketcall
    if (c->via == VIA_SOCKETCALL)
        cr_skip_test("socketcall(2) does not exist on this ABI");
#endif
    sc_addr_t a;
    int l = sct_bound(c->family, SOCK_STREAM, &a);
    int cl = api_tcp_connect(&a);
    int s = accept4_via(l, c->flags, c->via);
    cr_assert_geq(s, 0, "accept4: %s", strerror(errno));
    int fl = fcntl(s, F_GETFL), fd = fcntl(s, F_GETFD);
    cr_assert_eq(!!(fl & O_NONBLOCK), !!(c->flags & SOCK_NONBLOCK), "flags 0x%x via %d: O_NONBLOCK %s",
                 (unsigned)c->flags, c->via, (fl & O_NONBLOCK) ? "set" : "clear");
    cr_assert_eq(!!(fd & FD_CLOEXEC), !!(c->flags & SOCK_CLOEXEC), "flags 0x%x via %d: FD_CLOEXEC %s",
                 (unsigned)c->flags, c->via, (fd & FD_CLOEXEC) ? "set" : "clear");
    close(s);
    close(cl);
    close(l);
#endif
}

ParameterizedTestParameters(accept, accepted_socket_inherits_listener_options)
{
    return cr_make_param_array(int, api_families, 2);
}

ParameterizedTest(int *family, accept, accepted_socket_inherits_listener_options, .description = "AC-13",
                  .timeout = 10)
{
    int l = api_socket(*family, SOCK_STREAM);
    /* Winsock has no TCP_USER_TIMEOUT; the accepted socket "has the same
     * properties as socket s" (accept function, Remarks). */
#if !defined(_WIN32)
    api_set_int(l, IPPROTO_TCP, TCP_USER_TIMEOUT, 12345);
#endif
    api_set_int(l, SOL_SOCKET, SO_KEEPALIVE, 1);
    api_set_int(l, IPPROTO_TCP, TCP_NODELAY, 1);
    sc_addr_t lo = sct_loopback(*family, 0);
    cr_assert_eq(bind(l, (struct sockaddr *)&lo.ss, lo.len), 0, "bind: %s", strerror(errno));
    cr_assert_eq(listen(l, 4), 0, "listen: %s", strerror(errno));
    sc_addr_t a = api_name_of(l);
    int c = api_tcp_connect(&a);
    int s = accept(l, NULL, NULL);
    cr_assert_geq(s, 0, "accept: %s", strerror(errno));
#if !defined(_WIN32)
    cr_assert_eq(api_get_int(s, IPPROTO_TCP, TCP_USER_TIMEOUT), 12345, "TCP_USER_TIMEOUT not inherited");
#endif
    cr_assert_eq(api_get_int(s, SOL_SOCKET, SO_KEEPALIVE), 1, "SO_KEEPALIVE not inherited");
    cr_assert_eq(api_get_int(s, IPPROTO_TCP, TCP_NODELAY), 1, "TCP_NODELAY not inherited");
    close(s);
    close(c);
    close(l);
}

/* The [::] listener lives in a private network namespace. */
Test(accept, v6_any_listener_accepts_v4_client_as_mapped, .description = "AC-14", .timeout = 10)
{
    api_enter_private_netns();
    int l = api_socket(AF_INET6, SOCK_STREAM);
    api_set_int(l, IPPROTO_IPV6, IPV6_V6ONLY, 0);
    struct sockaddr_in6 any;
    memset(&any, 0, sizeof(any));
    any.sin6_family = AF_INET6;
    cr_assert_eq(bind(l, (struct sockaddr *)&any, sizeof(any)), 0, "bind [::]: %s", strerror(errno));
    cr_assert_eq(listen(l, 4), 0, "listen: %s", strerror(errno));
    sc_addr_t la = api_name_of(l);
    sc_addr_t v4 = sct_loopback(AF_INET, api_port_of(&la));
    int c = api_tcp_connect(&v4);
    sc_addr_t cn = api_name_of(c);
    struct sockaddr_in6 from;
    socklen_t len = sizeof(from);
    int s = accept(l, (struct sockaddr *)&from, &len);
    cr_assert_geq(s, 0, "accept: %s", strerror(errno));
    cr_assert_eq(len, sizeof(struct sockaddr_in6));
    cr_assert_eq(from.sin6_family, AF_INET6);
    cr_assert(IN6_IS_ADDR_V4MAPPED(&from.sin6_addr), "peer is not v4-mapped");
    cr_assert_eq(memcmp(&from.sin6_addr.s6_addr[12], &((struct sockaddr_in *)&cn.ss)->sin_addr, 4), 0,
                 "mapped address is not the client's");
    cr_assert_eq(ntohs(from.sin6_port), api_port_of(&cn), "peer port is not the client's");
    char text[INET6_ADDRSTRLEN];
    cr_assert_not_null(inet_ntop(AF_INET6, &from.sin6_addr, text, sizeof(text)));
    cr_assert_str_eq(text, "::ffff:127.0.0.1");
    close(s);
    close(c);
    close(l);
}

ParameterizedTestParameters(accept, emfile_when_fd_table_full_keeps_connection_queued)
{
    return cr_make_param_array(int, api_families, 2);
}

/* accept() reserves the descriptor before it takes a connection off the
 * queue (net/socket.c do_accept), so EMFILE leaves the connection queued
 * and it is accepted once a slot is free. Assertions wait until the limit
 * is restored so that the worker can report. */
ParameterizedTest(int *family, accept, emfile_when_fd_table_full_keeps_connection_queued,
                  .description = "SK-10 accept", .timeout = 10)
{
#if defined(_WIN32)
    cr_skip_test("Windows has no descriptor limit to lower: no setrlimit, sockets are handles");
#endif
    sc_addr_t a;
    int l = sct_bound(*family, SOCK_STREAM, &a);
    int c = api_tcp_connect(&a);
    api_wait_queued(l, 1);
    sc_addr_t cn = api_name_of(c);

    struct rlimit old;
    cr_assert_eq(getrlimit(RLIMIT_NOFILE, &old), 0, "getrlimit: %s", strerror(errno));
    int top = api_max_open_fd();
    cr_assert_geq(top, 0, "cannot read /proc/self/fd");
    struct rlimit low = old;
    low.rlim_cur = (rlim_t)top + 1;
    cr_assert_eq(setrlimit(RLIMIT_NOFILE, &low), 0, "setrlimit: %s", strerror(errno));
    int fill[FILL_MAX], n = 0;
    while (n < FILL_MAX) {
        int d = dup(l);
        if (d < 0)
            break;
        fill[n++] = d;
    }
    errno = 0;
    int rc = accept(l, NULL, NULL);
    int err = errno;
    if (n > 0)
        close(fill[--n]);
    sc_addr_t from;
    memset(&from, 0, sizeof(from));
    from.len = sizeof(from.ss);
    int s = accept(l, (struct sockaddr *)&from.ss, &from.len);
    int s_err = errno;
    for (int i = 0; i < n; i++)
        close(fill[i]);
    cr_assert_eq(setrlimit(RLIMIT_NOFILE, &old), 0, "setrlimit restore: %s", strerror(errno));

    cr_assert_eq(rc, -1, "accept succeeded with a full descriptor table");
    cr_assert_eq(err, EMFILE, "errno %d (%s)", err, strerror(err));
    cr_assert_geq(s, 0, "accept after freeing a slot: %s", strerror(s_err));
    cr_assert(api_same_name(&from, &cn), "the queued connection was lost");
    close(s);
    close(c);
    close(l);
}

ParameterizedTestParameters(accept, eintr_when_signal_interrupts_blocking_accept)
{
    return cr_make_param_array(int, api_families, 2);
}

/* Gap in public suites. The handler is installed without SA_RESTART; a
 * helper thread signals this thread repeatedly, so one signal lands while
 * accept() sleeps whatever the scheduling. The listener keeps working. */
ParameterizedTest(int *family, accept, eintr_when_signal_interrupts_blocking_accept,
                  .description = "GAP-EINTR accept: -1 EINTR without SA_RESTART, listener unaffected",
                  .timeout = 10)
{
    sc_addr_t a;
    int l = sct_bound(*family, SOCK_STREAM, &a);
    api_catch_signal(SIGUSR1, 0);
    struct api_kicker kick;
    api_kicker_start(&kick, KICK_MS, KICK_MAX);
    errno = 0;
    int rc = accept(l, NULL, NULL);
    int err = errno;
    api_kicker_stop(&kick);
    cr_assert_eq(rc, -1, "accept returned %d", rc);
    cr_assert_eq(err, EINTR, "errno %d (%s)", err, strerror(err));
    cr_assert_gt(api_signal_count, 0);
    int c = api_tcp_connect(&a);
    int s = accept(l, NULL, NULL);
    cr_assert_geq(s, 0, "accept after EINTR: %s", strerror(errno));
    close(s);
    close(c);
    close(l);
}
