/* Conformance of getsockname() (suite sockname) and getpeername() (suite
 * sockname_peer): unbound and disconnected sockets, bad descriptors,
 * pointers and lengths (matrix rows GN-01..GN-05, GP-01..GP-04). */
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
#include <sys/socket.h>

/* ASan's getsockname/getpeername interceptors read *addrlen before calling
 * the kernel, so an invalid addrlen pointer crashes the test process
 * instead of reaching the stack under test. */
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

typedef int (*name_fn)(int, struct sockaddr *, socklen_t *);

/* Winsock's error for a negative *namelen: "too small", WSAEFAULT
 * (getsockname function, getpeername function: Return value). */
#if defined(_WIN32)
#define NEGATIVE_LEN_ERROR EFAULT
#else
#define NEGATIVE_LEN_ERROR EINVAL
#endif

static void wait_hangup(int fd, short events)
{
    struct pollfd p = {.fd = fd, .events = events};
    cr_assert_eq(poll(&p, 1, SCT_TIMEOUT_MS), 1, "nothing from the peer after %d ms", SCT_TIMEOUT_MS);
}

static void reset_by_peer(int victim, int peer)
{
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    cr_assert_eq(setsockopt(peer, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
    cr_assert_eq(close(peer), 0);
    wait_hangup(victim, POLLHUP);
}

ParameterizedTestParameters(sockname, unbound_is_any_address_port_zero)
{
    return cr_make_param_array(struct api_fam_mode, api_fam_types, 4);
}
ParameterizedTest(struct api_fam_mode *p, sockname, unbound_is_any_address_port_zero, .description = "GN-01",
                  .timeout = 10)
{
    sct_require_family(p->family);
    int fd = socket(p->family, p->mode, 0);
    cr_assert_geq(fd, 0);
    struct sockaddr_storage ss;
    memset(&ss, 0x55, sizeof(ss));
    socklen_t len = sizeof(ss);
#if defined(_WIN32)
    /* Windows names no unbound socket: WSAEINVAL (getsockname function,
     * Return value). */
    errno = 0;
    api_assert_fails(getsockname(fd, (struct sockaddr *)&ss, &len), EINVAL, "getsockname of an unbound socket");
    close(fd);
    return;
#endif
    cr_assert_eq(getsockname(fd, (struct sockaddr *)&ss, &len), 0, "getsockname: %s", strerror(errno));
    cr_assert_eq(len, api_family_len(p->family), "*addrlen %u", (unsigned)len);
    cr_assert_eq(ss.ss_family, p->family);
    if (p->family == AF_INET) {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        cr_assert_eq(s4->sin_addr.s_addr, htonl(INADDR_ANY));
        cr_assert_eq(s4->sin_port, 0);
    } else {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        cr_assert(IN6_IS_ADDR_UNSPECIFIED(&s6->sin6_addr));
        cr_assert_eq(s6->sin6_port, 0);
    }
    close(fd);
}

static void ebadf_and_enotsock(name_fn fn, int closed_fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    cr_assert_eq(fcntl(closed_fd, F_GETFD), -1, "fd %d is open in this process", closed_fd);
    errno = 0;
    api_assert_fails(fn(closed_fd, (struct sockaddr *)&ss, &len), API_EBADF_SOCK, "closed fd");
    int fd = open(API_NULL_DEVICE, O_RDONLY);
    cr_assert_geq(fd, 0);
    len = sizeof(ss);
    errno = 0;
    api_assert_fails(fn(fd, (struct sockaddr *)&ss, &len), ENOTSOCK, API_NULL_DEVICE);
    close(fd);
}

Test(sockname, ebadf_and_enotsock_on_non_sockets, .description = "GN-02", .timeout = 10)
{
    ebadf_and_enotsock(getsockname, 400);
}

/* Bad addrlen pointers: NULL and (socklen_t *)1. */
static void efault_addrlen_cases(name_fn fn, int fd)
{
    struct sockaddr_storage ss;
    if (UNDER_ASAN)
        cr_skip_test("not run under ASan: its interceptor dereferences addrlen before the call");
    errno = 0;
    api_assert_fails(fn(fd, (struct sockaddr *)&ss, NULL), EFAULT, "addrlen NULL");
    errno = 0;
    api_assert_fails(fn(fd, (struct sockaddr *)&ss, (socklen_t *)1), EFAULT, "addrlen (socklen_t *)1");
}

ParameterizedTestParameters(sockname, efault_for_bad_pointers)
{
    return cr_make_param_array(int, api_families, 2);
}
ParameterizedTest(int *fam, sockname, efault_for_bad_pointers, .description = "GN-03", .timeout = 10)
{
    int fd = sct_bound(*fam, SOCK_DGRAM, NULL);
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    errno = 0;
    api_assert_fails(getsockname(fd, NULL, &len), EFAULT, "addr NULL");
    errno = 0;
    api_assert_fails(getsockname(fd, (struct sockaddr *)-1, &len), EFAULT, "addr (void *)-1");
    close(fd);
}

ParameterizedTestParameters(sockname, efault_for_bad_length_pointer)
{
    return cr_make_param_array(int, api_families, 2);
}
ParameterizedTest(int *fam, sockname, efault_for_bad_length_pointer, .description = "GN-03", .timeout = 10)
{
    int fd = sct_bound(*fam, SOCK_DGRAM, NULL);
    efault_addrlen_cases(getsockname, fd);
    close(fd);
}

ParameterizedTestParameters(sockname, einval_for_negative_length)
{
    return cr_make_param_array(int, api_families, 2);
}
ParameterizedTest(int *fam, sockname, einval_for_negative_length, .description = "GN-04", .timeout = 10)
{
    int fd = sct_bound(*fam, SOCK_DGRAM, NULL);
    struct sockaddr_storage ss;
    socklen_t len = (socklen_t)-1;
    errno = 0;
    api_assert_fails(getsockname(fd, (struct sockaddr *)&ss, &len), NEGATIVE_LEN_ERROR, "*addrlen -1");
    close(fd);
}

ParameterizedTestParameters(sockname, kept_after_peer_hangs_up)
{
    return cr_make_param_array(struct api_fam_mode, api_fam2_params, 4);
}
/* mode 0: the peer closes (FIN); 1: the peer resets. */
ParameterizedTest(struct api_fam_mode *p, sockname, kept_after_peer_hangs_up, .description = "GN-05",
                  .timeout = 10)
{
    int c, s;
    sct_tcp_pair(p->family, &c, &s);
    sc_addr_t before = api_name_of(c);
    if (p->mode == 0) {
        cr_assert_eq(close(s), 0);
        wait_hangup(c, POLLIN);
        char b;
        cr_assert_eq(recv(c, &b, 1, 0), 0);
    } else {
        reset_by_peer(c, s);
    }
    sc_addr_t after = api_name_of(c);
    cr_assert_eq(after.len, before.len);
    cr_assert_arr_eq(&after.ss, &before.ss, before.len, "local address changed after the peer left");
    close(c);
}

static struct api_fam_mode gp01_params[] = {{AF_INET, 0},  {AF_INET, 1},  {AF_INET, 2},  {AF_INET, 3},
                                            {AF_INET, 4},  {AF_INET6, 0}, {AF_INET6, 1}, {AF_INET6, 2},
                                            {AF_INET6, 3}, {AF_INET6, 4}};
ParameterizedTestParameters(sockname_peer, enotconn_when_unconnected)
{
    return cr_make_param_array(struct api_fam_mode, gp01_params, 10);
}
/* mode 0: fresh TCP; 1: bound TCP; 2: listening TCP; 3: fresh UDP; 4:
 * bound UDP. */
ParameterizedTest(struct api_fam_mode *p, sockname_peer, enotconn_when_unconnected, .description = "GP-01",
                  .timeout = 10)
{
    int fd;
    sct_require_family(p->family);
    if (p->mode == 2) {
        fd = sct_bound(p->family, SOCK_STREAM, NULL);
    } else if (p->mode == 4) {
        fd = sct_bound(p->family, SOCK_DGRAM, NULL);
    } else {
        fd = socket(p->family, p->mode == 3 ? SOCK_DGRAM : SOCK_STREAM, 0);
        cr_assert_geq(fd, 0);
        if (p->mode == 1) {
            sc_addr_t a = sct_loopback(p->family, 0);
            cr_assert_eq(bind(fd, (struct sockaddr *)&a.ss, a.len), 0);
        }
    }
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    errno = 0;
    api_assert_fails(getpeername(fd, (struct sockaddr *)&ss, &len), ENOTCONN, "getpeername");
    close(fd);
}

Test(sockname_peer, ebadf_and_enotsock_on_non_sockets, .description = "GP-02", .timeout = 10)
{
    ebadf_and_enotsock(getpeername, -1);
}

ParameterizedTestParameters(sockname_peer, einval_and_efault_for_bad_arguments)
{
    return cr_make_param_array(int, api_families, 2);
}
ParameterizedTest(int *fam, sockname_peer, einval_and_efault_for_bad_arguments, .description = "GP-03",
                  .timeout = 10)
{
    int c, s;
    sct_tcp_pair(*fam, &c, &s);
    struct sockaddr_storage ss;
    socklen_t len = (socklen_t)-1;
    errno = 0;
    api_assert_fails(getpeername(c, (struct sockaddr *)&ss, &len), NEGATIVE_LEN_ERROR, "*addrlen -1");
    len = sizeof(ss);
    errno = 0;
    api_assert_fails(getpeername(c, (struct sockaddr *)-1, &len), EFAULT, "addr (void *)-1");
    errno = 0;
    api_assert_fails(getpeername(c, NULL, &len), EFAULT, "addr NULL");
    /* Still connected and named correctly. */
    len = sizeof(ss);
    cr_assert_eq(getpeername(c, (struct sockaddr *)&ss, &len), 0);
    sc_addr_t srv = api_name_of(s);
    cr_assert_eq(len, srv.len);
    cr_assert_arr_eq(&ss, &srv.ss, len);
    close(c);
    close(s);
}

ParameterizedTestParameters(sockname_peer, efault_for_bad_length_pointer)
{
    return cr_make_param_array(int, api_families, 2);
}
ParameterizedTest(int *fam, sockname_peer, efault_for_bad_length_pointer, .description = "GP-03",
                  .timeout = 10)
{
    int c, s;
    sct_tcp_pair(*fam, &c, &s);
    efault_addrlen_cases(getpeername, c);
    close(c);
    close(s);
}

ParameterizedTestParameters(sockname_peer, enotconn_after_reset)
{
    return cr_make_param_array(int, api_families, 2);
}
ParameterizedTest(int *fam, sockname_peer, enotconn_after_reset, .description = "GP-04", .timeout = 10)
{
    int c, s;
    sct_tcp_pair(*fam, &c, &s);
    reset_by_peer(c, s);
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    errno = 0;
    api_assert_fails(getpeername(c, (struct sockaddr *)&ss, &len), ENOTCONN, "getpeername after RST");
    close(c);
}

ParameterizedTestParameters(sockname_peer, enotconn_when_reset_before_accept)
{
    return cr_make_param_array(int, api_families, 2);
}
/* gVisor socket_inet_loopback.cc TCPAcceptAfterReset: the accepted socket
 * of a connection the client already reset has no peer; the reset is
 * reported through SO_ERROR. */
ParameterizedTest(int *fam, sockname_peer, enotconn_when_reset_before_accept, .description = "GP-04",
                  .timeout = 10)
{
    sc_addr_t la;
    int l = sct_bound(*fam, SOCK_STREAM, &la);
    int c = socket(*fam, SOCK_STREAM, 0);
    cr_assert_geq(c, 0);
    cr_assert_eq(connect(c, (struct sockaddr *)&la.ss, la.len), 0, "connect: %s", strerror(errno));
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    cr_assert_eq(setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
    cr_assert_eq(close(c), 0);
    wait_hangup(l, POLLIN);
#if defined(_WIN32)
    /* Windows: accept itself fails with WSAECONNRESET for a connection
     * that the peer ended before it was accepted (accept function, Return
     * value). */
    errno = 0;
    api_assert_fails(accept(l, NULL, NULL), ECONNRESET, "accept of a reset connection");
    close(l);
    return;
#endif
    int s = accept(l, NULL, NULL);
    cr_assert_geq(s, 0, "accept: %s", strerror(errno));
    wait_hangup(s, POLLHUP);
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    errno = 0;
    api_assert_fails(getpeername(s, (struct sockaddr *)&ss, &len), ENOTCONN, "getpeername");
    int err = -1;
    len = sizeof(err);
    cr_assert_eq(getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len), 0);
    cr_assert_eq(err, ECONNRESET, "SO_ERROR %d (%s)", err, strerror(err));
    close(s);
    close(l);
}
