/* Conformance of bind(): ephemeral ports, conflicts, bad addresses and
 * lengths, privileged ports, TIME_WAIT and the reuse options (matrix rows
 * BD-01..BD-21). */
#include "support.h"
#include "common.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#if defined(_WIN32)
#include <afunix.h>
#else
#include <sys/un.h>
#endif

/* Winsock's errors where Linux's differ (bind function, Return value): an
 * address too short or of another family than the socket's is WSAEFAULT
 * ("the namelen parameter is too small, the name parameter contains an
 * incorrect address format for the associated address family, or the
 * first two bytes of the memory block specified by name do not match the
 * address family associated with the socket descriptor"). */
#if defined(_WIN32)
#define BAD_ADDRLEN_ERROR EFAULT
#define WRONG_FAMILY_ERROR EFAULT
#else
#define BAD_ADDRLEN_ERROR EINVAL
#define WRONG_FAMILY_ERROR EAFNOSUPPORT
#endif

/* /proc/net/tcp state code of TIME_WAIT (include/net/tcp_states.h). */
#define TCP_STATE_TIME_WAIT 0x06
/* Bounds of the waits that poll /proc/net/tcp: count x 10 ms. */
#define STATE_POLLS 500

struct fam_type {
    int family;
    int type;
};

static struct fam_type fam_types[] = {
    {AF_INET, SOCK_STREAM},
    {AF_INET, SOCK_DGRAM},
    {AF_INET6, SOCK_STREAM},
    {AF_INET6, SOCK_DGRAM},
};
#define N_FAM_TYPES (sizeof(fam_types) / sizeof(fam_types[0]))

/* A socket bound to loopback port 0, with SO_REUSEADDR / SO_REUSEPORT set
 * first when asked; *out gets its name. */
static int bound_with(int family, int type, int reuseaddr, int reuseport, sc_addr_t *out)
{
    int s = api_socket(family, type);
    if (reuseaddr)
        api_set_int(s, SOL_SOCKET, SO_REUSEADDR, 1);
#if defined(_WIN32)
    if (reuseport)
        cr_skip_test("no SO_REUSEPORT on Windows");
#else
    if (reuseport)
        api_set_int(s, SOL_SOCKET, SO_REUSEPORT, 1);
#endif
    sc_addr_t a = sct_loopback(family, 0);
    cr_assert_eq(api_bind_addr(s, &a), 0, "bind: %s", strerror(errno));
    *out = api_name_of(s);
    return s;
}

/* Checks that the UDP socket u (bound to a) still receives a datagram. */
static void assert_receives(int u, const sc_addr_t *a)
{
    int c = api_socket(a->ss.ss_family, SOCK_DGRAM);
    cr_assert_eq(sendto(c, "ping", 4, 0, (const struct sockaddr *)&a->ss, a->len), 4, "sendto: %s",
                 strerror(errno));
    cr_assert(api_wait_events(u, POLLIN, SCT_TIMEOUT_MS) & POLLIN, "datagram never arrived");
    char buf[8];
    cr_assert_eq(recv(u, buf, sizeof(buf), MSG_DONTWAIT), 4);
    close(c);
}

#if !defined(_WIN32)
/* Whether /proc/net/tcp{,6} lists a socket lport -> rport in state. */
static int tcp_state_present(int family, unsigned lport, unsigned rport, unsigned state)
{
    FILE *f = fopen(family == AF_INET6 ? "/proc/net/tcp6" : "/proc/net/tcp", "r");
    cr_assert_not_null(f, "cannot read /proc/net/tcp: %s", strerror(errno));
    char line[512];
    int found = 0;
    while (!found && fgets(line, sizeof(line), f)) {
        char la[64], ra[64];
        unsigned lp, rp, st;
        if (sscanf(line, " %*u: %63[0-9A-Fa-f]:%x %63[0-9A-Fa-f]:%x %x", la, &lp, ra, &rp, &st) == 5)
            found = lp == lport && rp == rport && st == state;
    }
    fclose(f);
    return found;
}

/* Waits (bounded) until the kernel lists lport -> rport in TIME_WAIT. */
static void wait_time_wait(int family, uint16_t lport, uint16_t rport)
{
    for (int i = 0; i < STATE_POLLS; i++) {
        if (tcp_state_present(family, lport, rport, TCP_STATE_TIME_WAIT))
            return;
        poll(NULL, 0, 10);
    }
    cr_assert_fail("port %u -> %u never reached TIME_WAIT", lport, rport);
}

/* Reads EOF from s within the deadline. */
static void assert_eof(int s)
{
    cr_assert(api_wait_events(s, POLLIN, SCT_TIMEOUT_MS) & POLLIN, "no EOF");
    char b;
    cr_assert_eq(recv(s, &b, 1, 0), 0, "expected EOF");
}
#endif

/* ---- BD-01 .. BD-05: binding and rebinding ---- */

ParameterizedTestParameters(bind, port_0_picks_ephemeral_port)
{
    return cr_make_param_array(struct fam_type, fam_types, N_FAM_TYPES);
}

ParameterizedTest(struct fam_type *c, bind, port_0_picks_ephemeral_port, .description = "BD-01",
                  .timeout = 10)
{
    int s = api_socket(c->family, c->type);
    sc_addr_t want = sct_loopback(c->family, 0);
    cr_assert_eq(api_bind_addr(s, &want), 0, "bind: %s", strerror(errno));
    sc_addr_t got = api_name_of(s);
    cr_assert_eq(got.len, want.len, "%s %s: addrlen %u", api_fam_name(c->family), api_type_name(c->type),
                 got.len);
    cr_assert_eq(got.ss.ss_family, c->family);
    cr_assert_neq(api_port_of(&got), 0, "%s %s: port 0 after bind", api_fam_name(c->family),
                  api_type_name(c->type));
    if (c->family == AF_INET6)
        cr_assert(IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *)&got.ss)->sin6_addr), "address is not ::1");
    else
        cr_assert_eq(((struct sockaddr_in *)&got.ss)->sin_addr.s_addr, htonl(INADDR_LOOPBACK));
    close(s);
}

ParameterizedTestParameters(bind, eaddrinuse_when_port_in_use)
{
    return cr_make_param_array(struct fam_type, fam_types, N_FAM_TYPES);
}

/* Linux reports the conflict at bind() itself (Winsock may defer it). */
ParameterizedTest(struct fam_type *c, bind, eaddrinuse_when_port_in_use, .description = "BD-02",
                  .timeout = 10)
{
    sc_addr_t a;
    int first = sct_bound(c->family, c->type, &a);
    int s = api_socket(c->family, c->type);
    errno = 0;
    int rc = api_bind_addr(s, &a);
    cr_assert_eq(rc, -1, "%s %s: second bind succeeded", api_fam_name(c->family), api_type_name(c->type));
    cr_assert_eq(errno, EADDRINUSE, "errno %d (%s)", errno, strerror(errno));
    if (c->type == SOCK_STREAM)
        api_assert_accepts(first, &a);
    else
        assert_receives(first, &a);
    close(s);
    close(first);
}

ParameterizedTestParameters(bind, einval_when_already_bound)
{
    return cr_make_param_array(struct fam_type, fam_types, N_FAM_TYPES);
}

ParameterizedTest(struct fam_type *c, bind, einval_when_already_bound, .description = "BD-03", .timeout = 10)
{
    int s = api_socket(c->family, c->type);
    sc_addr_t a = sct_loopback(c->family, 0);
    cr_assert_eq(api_bind_addr(s, &a), 0, "bind: %s", strerror(errno));
    sc_addr_t before = api_name_of(s);
    errno = 0;
    int rc = api_bind_addr(s, &a);
    cr_assert_eq(rc, -1);
    cr_assert_eq(errno, EINVAL, "errno %d (%s)", errno, strerror(errno));
    sc_addr_t after = api_name_of(s);
    cr_assert_eq(after.len, before.len);
    cr_assert_eq(memcmp(&after.ss, &before.ss, before.len), 0, "bound address changed");
    close(s);
}

ParameterizedTestParameters(bind, einval_after_udp_connect)
{
    return cr_make_param_array(int, api_families, 2);
}

/* connect() on an unbound UDP socket binds it implicitly. */
ParameterizedTest(int *family, bind, einval_after_udp_connect, .description = "BD-04", .timeout = 10)
{
    sc_addr_t peer;
    int p = sct_bound(*family, SOCK_DGRAM, &peer);
    int s = api_socket(*family, SOCK_DGRAM);
    cr_assert_eq(connect(s, (struct sockaddr *)&peer.ss, peer.len), 0, "connect: %s", strerror(errno));
    sc_addr_t implicit = api_name_of(s);
    sc_addr_t a = sct_loopback(*family, 0);
    errno = 0;
    int rc = api_bind_addr(s, &a);
    cr_assert_eq(rc, -1);
    cr_assert_eq(errno, EINVAL, "errno %d (%s)", errno, strerror(errno));
    sc_addr_t after = api_name_of(s);
    cr_assert_eq(api_port_of(&after), api_port_of(&implicit), "implicit port changed");
    close(s);
    close(p);
}

ParameterizedTestParameters(bind, einval_after_listen)
{
    return cr_make_param_array(int, api_families, 2);
}

ParameterizedTest(int *family, bind, einval_after_listen, .description = "BD-05", .timeout = 10)
{
    sc_addr_t a;
    int l = sct_bound(*family, SOCK_STREAM, &a);
    sc_addr_t other = sct_loopback(*family, 0);
    errno = 0;
    int rc = api_bind_addr(l, &other);
    cr_assert_eq(rc, -1);
    cr_assert_eq(errno, EINVAL, "errno %d (%s)", errno, strerror(errno));
    api_assert_accepts(l, &a);
    close(l);
}

/* ---- BD-06 .. BD-13: addresses, lengths and descriptors ---- */

ParameterizedTestParameters(bind, eaddrnotavail_for_non_local_address)
{
    return cr_make_param_array(int, api_families, 2);
}

/* 10.255.254.253 and 2001:db8::1 (documentation prefix) are not assigned
 * here; nothing is sent to them. */
ParameterizedTest(int *family, bind, eaddrnotavail_for_non_local_address, .description = "BD-06",
                  .timeout = 10)
{
    const char *knob =
        *family == AF_INET6 ? "/proc/sys/net/ipv6/ip_nonlocal_bind" : "/proc/sys/net/ipv4/ip_nonlocal_bind";
    if (api_read_proc(knob, 0) != 0)
        cr_skip_test("%s is 1: non-local binds are allowed", knob);
    int s = api_socket(*family, SOCK_STREAM);
    sc_addr_t a = sct_loopback(*family, 0);
    if (*family == AF_INET6)
        cr_assert_eq(inet_pton(AF_INET6, "2001:db8::1", &((struct sockaddr_in6 *)&a.ss)->sin6_addr), 1);
    else
        cr_assert_eq(inet_pton(AF_INET, "10.255.254.253", &((struct sockaddr_in *)&a.ss)->sin_addr), 1);
    errno = 0;
    int rc = api_bind_addr(s, &a);
    cr_assert_eq(rc, -1);
    cr_assert_eq(errno, EADDRNOTAVAIL, "errno %d (%s)", errno, strerror(errno));
    close(s);
}

/* All of 127.0.0.0/8 is local on Linux (lo has 127.0.0.1/8), even its
 * broadcast address. */
Test(bind, succeeds_for_127_255_255_255, .description = "BD-07", .timeout = 10)
{
#if defined(_WIN32)
    cr_skip_test("127.255.255.255 is local because Linux gives lo 127.0.0.1/8; Windows documents no such rule");
#endif
    int s = api_socket(AF_INET, SOCK_STREAM);
    sc_addr_t a = sct_loopback(AF_INET, 0);
    ((struct sockaddr_in *)&a.ss)->sin_addr.s_addr = htonl(0x7fffffffu);
    cr_assert_eq(api_bind_addr(s, &a), 0, "bind 127.255.255.255: %s", strerror(errno));
    close(s);
}

Test(bind, any_127_address_is_local_and_accepts, .description = "BD-07", .timeout = 10)
{
    int l = api_socket(AF_INET, SOCK_STREAM);
    sc_addr_t a = sct_loopback(AF_INET, 0);
    ((struct sockaddr_in *)&a.ss)->sin_addr.s_addr = htonl(0x7f010203u);
    cr_assert_eq(api_bind_addr(l, &a), 0, "bind 127.1.2.3: %s", strerror(errno));
    cr_assert_eq(listen(l, 4), 0, "listen: %s", strerror(errno));
    a = api_name_of(l);
    cr_assert_eq(((struct sockaddr_in *)&a.ss)->sin_addr.s_addr, htonl(0x7f010203u));
    api_assert_accepts(l, &a);
    close(l);
}

ParameterizedTestParameters(bind, einval_for_addrlen_3)
{
    return cr_make_param_array(int, api_families, 2);
}

ParameterizedTest(int *family, bind, einval_for_addrlen_3, .description = "BD-08", .timeout = 10)
{
    int s = api_socket(*family, SOCK_STREAM);
    sc_addr_t a = sct_loopback(*family, 0);
    errno = 0;
    int rc = bind(s, (struct sockaddr *)&a.ss, 3);
    cr_assert_eq(rc, -1);
    cr_assert_eq(errno, BAD_ADDRLEN_ERROR, "errno %d (%s)", errno, strerror(errno));
    close(s);
}

ParameterizedTestParameters(bind, eafnosupport_for_unix_sockaddr)
{
    return cr_make_param_array(int, api_families, 2);
}

ParameterizedTest(int *family, bind, eafnosupport_for_unix_sockaddr, .description = "BD-09", .timeout = 10)
{
    int s = api_socket(*family, SOCK_STREAM);
    struct sockaddr_un un;
    memset(&un, 0, sizeof(un));
    un.sun_family = AF_UNIX;
    strcpy(un.sun_path, "/tmp/sockcheck-bind-unix");
    errno = 0;
    int rc = bind(s, (struct sockaddr *)&un, sizeof(un));
    cr_assert_eq(rc, -1);
    cr_assert_eq(errno, WRONG_FAMILY_ERROR, "errno %d (%s)", errno, strerror(errno));
    close(s);
}

/* The length is checked before the family: 16 bytes are shorter than the
 * smallest sockaddr_in6 Linux accepts (SIN6_LEN_RFC2133, 24). */
Test(bind, einval_for_sockaddr_in_on_inet6_socket, .description = "BD-10", .timeout = 10)
{
    int s = api_socket(AF_INET6, SOCK_STREAM);
    sc_addr_t a = sct_loopback(AF_INET, 0);
    errno = 0;
    int rc = bind(s, (struct sockaddr *)&a.ss, sizeof(struct sockaddr_in));
    cr_assert_eq(rc, -1);
    cr_assert_eq(errno, BAD_ADDRLEN_ERROR, "errno %d (%s)", errno, strerror(errno));
    close(s);
}

/* POSIX requires EAFNOSUPPORT for a foreign family, but Linux (like
 * FreeBSD) takes AF_UNSPEC with INADDR_ANY on an AF_INET socket as
 * INADDR_ANY for compatibility (net/ipv4/af_inet.c inet_bind_sk). Binding
 * the wildcard happens in a private network namespace. */
Test(bind, zeroed_sockaddr_binds_any_on_inet, .description = "BD-11", .timeout = 10)
{
    api_enter_private_netns();
    int s = api_socket(AF_INET, SOCK_STREAM);
    struct sockaddr_in z;
    memset(&z, 0, sizeof(z));
    cr_assert_eq(z.sin_family, AF_UNSPEC);
    cr_assert_eq(bind(s, (struct sockaddr *)&z, sizeof(z)), 0, "bind: %s", strerror(errno));
    sc_addr_t got = api_name_of(s);
    cr_assert_eq(got.ss.ss_family, AF_INET);
    cr_assert_eq(((struct sockaddr_in *)&got.ss)->sin_addr.s_addr, htonl(INADDR_ANY));
    cr_assert_neq(api_port_of(&got), 0);
    close(s);
}

Test(bind, zeroed_sockaddr_eafnosupport_on_inet6, .description = "BD-11", .timeout = 10)
{
    int s = api_socket(AF_INET6, SOCK_STREAM);
    struct sockaddr_in6 z;
    memset(&z, 0, sizeof(z));
    errno = 0;
    int rc = bind(s, (struct sockaddr *)&z, sizeof(z));
    cr_assert_eq(rc, -1);
    cr_assert_eq(errno, WRONG_FAMILY_ERROR, "errno %d (%s)", errno, strerror(errno));
    close(s);
}

static int bind_low_port_errno(int port)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0)
        return 251;
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)port);
    int rc = bind(s, (struct sockaddr *)&a, sizeof(a));
    int err = rc == 0 ? 0 : errno;
    close(s);
    return err;
}

/* Ports below net.ipv4.ip_unprivileged_port_start (1024 by default) need
 * CAP_NET_BIND_SERVICE; the permission check comes before the port is
 * looked up, so the port need not be free. Run without root in a child. */
Test(bind, eacces_for_privileged_port_unprivileged, .description = "BD-12", .timeout = 10)
{
    int start = api_read_proc("/proc/sys/net/ipv4/ip_unprivileged_port_start", 1024);
    if (start <= 1)
        cr_skip_test("net.ipv4.ip_unprivileged_port_start is %d: no port is privileged", start);
    int port = start > 1024 ? 1023 : start - 1;
    int err = api_run_unprivileged(bind_low_port_errno, port);
    cr_assert_eq(err, EACCES, "bind to port %d: errno %d (%s)", port, err, strerror(err));
}

Test(bind, ebadf_for_closed_fd, .description = "BD-13", .timeout = 10)
{
    int fd = 400;
    if (fcntl(fd, F_GETFD) != -1) {
        fd = dup(0);
        close(fd);
    }
    sc_addr_t a = sct_loopback(AF_INET, 0);
    errno = 0;
    int rc = api_bind_addr(fd, &a);
    cr_assert_eq(rc, -1);
    cr_assert_eq(errno, API_EBADF_SOCK, "errno %d (%s)", errno, strerror(errno));
}

Test(bind, enotsock_for_dev_null, .description = "BD-13", .timeout = 10)
{
    int fd = open(API_NULL_DEVICE, O_RDWR);
    cr_assert_geq(fd, 0, "open %s: %s", API_NULL_DEVICE, strerror(errno));
    sc_addr_t a = sct_loopback(AF_INET, 0);
    errno = 0;
    int rc = api_bind_addr(fd, &a);
    cr_assert_eq(rc, -1);
    cr_assert_eq(errno, ENOTSOCK, "errno %d (%s)", errno, strerror(errno));
    close(fd);
}

/* ---- BD-14 .. BD-16: ports held after shutdown and in TIME_WAIT ---- */

ParameterizedTestParameters(bind, eaddrinuse_after_listener_shutdown_rd)
{
    return cr_make_param_array(int, api_families, 2);
}

/* shutdown(SHUT_RD) stops the listener (state CLOSE) but a port that was
 * bound by number stays bound (SOCK_BINDPORT_LOCK) until close(). */
ParameterizedTest(int *family, bind, eaddrinuse_after_listener_shutdown_rd, .description = "BD-14",
                  .timeout = 10)
{
#if defined(_WIN32)
    (void)family;
    cr_skip_test("shutdown of a listener fails on Windows (WSAENOTCONN): see listen::shutdown_rd_stops_listener");
#endif
    sc_addr_t a;
    int l = api_bound_explicit(*family, SOCK_STREAM, 0, &a);
    cr_assert_eq(listen(l, 4), 0, "listen: %s", strerror(errno));
    cr_assert_eq(shutdown(l, SHUT_RD), 0, "shutdown: %s", strerror(errno));
    int s = api_socket(*family, SOCK_STREAM);
    errno = 0;
    int rc = api_bind_addr(s, &a);
    cr_assert_eq(rc, -1);
    cr_assert_eq(errno, EADDRINUSE, "errno %d (%s)", errno, strerror(errno));
    close(s);
    close(l);
}

ParameterizedTestParameters(bind, port_0_listener_releases_port_on_shutdown_rd)
{
    return cr_make_param_array(int, api_families, 2);
}

/* Linux difference from the matrix's "port kept until close": a port the
 * kernel picked for bind(port 0) is not locked, and moving to CLOSE puts it
 * back (net/ipv4/tcp.c tcp_set_state: inet_put_port unless
 * SOCK_BINDPORT_LOCK; __inet_bind sets that lock only for a non-zero
 * port). getsockname keeps showing the old port. Observed on 6.18. */
ParameterizedTest(int *family, bind, port_0_listener_releases_port_on_shutdown_rd,
                  .description = "BD-14 ephemeral port", .timeout = 10)
{
#if defined(_WIN32)
    (void)family;
    cr_skip_test("shutdown of a listener fails on Windows (WSAENOTCONN): see listen::shutdown_rd_stops_listener");
#endif
    sc_addr_t a;
    int l = sct_bound(*family, SOCK_STREAM, &a);
    cr_assert_eq(shutdown(l, SHUT_RD), 0, "shutdown: %s", strerror(errno));
    sc_addr_t stale = api_name_of(l);
    cr_assert_eq(api_port_of(&stale), api_port_of(&a), "getsockname changed after shutdown");
    int s = api_socket(*family, SOCK_STREAM);
    cr_assert_eq(api_bind_addr(s, &a), 0, "bind to the released port: %s", strerror(errno));
    close(s);
    close(l);
}

struct reuse_case {
    int family;
    int reuse;
};

static struct reuse_case reuse_cases[] = {
    {AF_INET, 0},
    {AF_INET, 1},
    {AF_INET6, 0},
    {AF_INET6, 1},
};

ParameterizedTestParameters(bind, server_restart_with_time_wait_needs_reuseaddr)
{
    return cr_make_param_array(struct reuse_case, reuse_cases, 4);
}

/* The server closes first, so the accepted connection lingers in
 * TIME_WAIT on the listener's port after the listener is gone. */
ParameterizedTest(struct reuse_case *c, bind, server_restart_with_time_wait_needs_reuseaddr,
                  .description = "BD-15", .timeout = 20)
{
#if defined(_WIN32)
    (void)c;
    cr_skip_test("TIME_WAIT is watched in /proc/net/tcp, and SO_REUSEADDR rules differ: Linux only");
#else
    sc_addr_t a;
    int l = bound_with(c->family, SOCK_STREAM, c->reuse, 0, &a);
    cr_assert_eq(listen(l, 4), 0, "listen: %s", strerror(errno));
    int cl = api_tcp_connect(&a);
    sc_addr_t cname = api_name_of(cl);
    int acc = accept(l, NULL, NULL);
    cr_assert_geq(acc, 0, "accept: %s", strerror(errno));
    close(acc);
    assert_eof(cl);
    close(cl);
    wait_time_wait(c->family, api_port_of(&a), api_port_of(&cname));
    close(l);

    int n = api_socket(c->family, SOCK_STREAM);
    if (c->reuse)
        api_set_int(n, SOL_SOCKET, SO_REUSEADDR, 1);
    errno = 0;
    int rc = api_bind_addr(n, &a);
    if (!c->reuse) {
        cr_assert_eq(rc, -1, "rebind without SO_REUSEADDR succeeded");
        cr_assert_eq(errno, EADDRINUSE, "errno %d (%s)", errno, strerror(errno));
    } else {
        cr_assert_eq(rc, 0, "rebind with SO_REUSEADDR: %s", strerror(errno));
        cr_assert_eq(listen(n, 4), 0, "listen: %s", strerror(errno));
        api_assert_accepts(n, &a);
    }
    close(n);
#endif
}

ParameterizedTestParameters(bind, client_time_wait_blocks_rebind_unless_it_had_reuseaddr)
{
    return cr_make_param_array(struct reuse_case, reuse_cases, 4);
}

/* man socket(7) SO_REUSEADDR: both the old and the new socket must have
 * set the option; the new socket always sets it here. */
ParameterizedTest(struct reuse_case *c, bind, client_time_wait_blocks_rebind_unless_it_had_reuseaddr,
                  .description = "BD-16", .timeout = 20)
{
#if defined(_WIN32)
    (void)c;
    cr_skip_test("TIME_WAIT is watched in /proc/net/tcp, and SO_REUSEADDR rules differ: Linux only");
#else
    sc_addr_t la;
    int l = sct_bound(c->family, SOCK_STREAM, &la);
    sc_addr_t ca;
    int cl = bound_with(c->family, SOCK_STREAM, c->reuse, 0, &ca);
    cr_assert_eq(connect(cl, (struct sockaddr *)&la.ss, la.len), 0, "connect: %s", strerror(errno));
    int acc = accept(l, NULL, NULL);
    cr_assert_geq(acc, 0, "accept: %s", strerror(errno));
    close(cl);
    assert_eof(acc);
    close(acc);
    wait_time_wait(c->family, api_port_of(&ca), api_port_of(&la));

    int n = api_socket(c->family, SOCK_STREAM);
    api_set_int(n, SOL_SOCKET, SO_REUSEADDR, 1);
    errno = 0;
    int rc = api_bind_addr(n, &ca);
    if (!c->reuse) {
        cr_assert_eq(rc, -1, "rebind over a TIME_WAIT socket without SO_REUSEADDR succeeded");
        cr_assert_eq(errno, EADDRINUSE, "errno %d (%s)", errno, strerror(errno));
    } else {
        cr_assert_eq(rc, 0, "rebind when both set SO_REUSEADDR: %s", strerror(errno));
    }
    close(n);
    close(l);
#endif
}

/* ---- BD-17 .. BD-21: SO_REUSEADDR and SO_REUSEPORT ---- */

ParameterizedTestParameters(bind, reuseaddr_lets_two_non_listening_tcp_sockets_share)
{
    return cr_make_param_array(int, api_families, 2);
}

ParameterizedTest(int *family, bind, reuseaddr_lets_two_non_listening_tcp_sockets_share,
                  .description = "BD-17", .timeout = 10)
{
    sc_addr_t a;
    int first = bound_with(*family, SOCK_STREAM, 1, 0, &a);
    int second = api_socket(*family, SOCK_STREAM);
    api_set_int(second, SOL_SOCKET, SO_REUSEADDR, 1);
    cr_assert_eq(api_bind_addr(second, &a), 0, "second bind: %s", strerror(errno));
    sc_addr_t b = api_name_of(second);
    cr_assert_eq(memcmp(&a.ss, &b.ss, a.len), 0, "second socket bound elsewhere");
    close(second);
    close(first);
}

ParameterizedTestParameters(bind, reuseaddr_eaddrinuse_when_first_listens)
{
    return cr_make_param_array(int, api_families, 2);
}

ParameterizedTest(int *family, bind, reuseaddr_eaddrinuse_when_first_listens, .description = "BD-18",
                  .timeout = 10)
{
    sc_addr_t a;
    int first = bound_with(*family, SOCK_STREAM, 1, 0, &a);
    cr_assert_eq(listen(first, 4), 0, "listen: %s", strerror(errno));
    int second = api_socket(*family, SOCK_STREAM);
    api_set_int(second, SOL_SOCKET, SO_REUSEADDR, 1);
    errno = 0;
    int rc = api_bind_addr(second, &a);
#if defined(_WIN32)
    /* Winsock: SO_REUSEADDR on both sockets lets the second bind the same
     * specific address, listening or not; what the port does afterwards
     * is "indeterminate" (Using SO_REUSEADDR and SO_EXCLUSIVEADDRUSE;
     * Sharing Transport Addresses, first and second SO_REUSEADDR,
     * specific: SUCCESS). */
    cr_assert_eq(rc, 0, "second bind: %s", strerror(errno));
#else
    cr_assert_eq(rc, -1);
    cr_assert_eq(errno, EADDRINUSE, "errno %d (%s)", errno, strerror(errno));
    api_assert_accepts(first, &a);
#endif
    close(second);
    close(first);
}

ParameterizedTestParameters(bind, reuseaddr_second_listen_eaddrinuse)
{
    return cr_make_param_array(int, api_families, 2);
}

/* Both binds succeed (BD-17); the conflict surfaces at the second listen. */
ParameterizedTest(int *family, bind, reuseaddr_second_listen_eaddrinuse, .description = "BD-18 second listen",
                  .timeout = 10)
{
#if defined(_WIN32)
    (void)family;
    cr_skip_test("two sockets sharing a port with SO_REUSEADDR behave \"indeterminate\" on Windows (Using SO_REUSEADDR and SO_EXCLUSIVEADDRUSE)");
#endif
    sc_addr_t a;
    int first = bound_with(*family, SOCK_STREAM, 1, 0, &a);
    int second = api_socket(*family, SOCK_STREAM);
    api_set_int(second, SOL_SOCKET, SO_REUSEADDR, 1);
    cr_assert_eq(api_bind_addr(second, &a), 0, "second bind: %s", strerror(errno));
    cr_assert_eq(listen(first, 4), 0, "listen: %s", strerror(errno));
    errno = 0;
    int rc = listen(second, 4);
    cr_assert_eq(rc, -1);
    cr_assert_eq(errno, EADDRINUSE, "errno %d (%s)", errno, strerror(errno));
    api_assert_accepts(first, &a);
    close(second);
    close(first);
}

/* A dual-stack [::] listener also holds 0.0.0.0 on its port, even for a
 * socket that sets SO_REUSEADDR. Wildcards are bound in a private
 * network namespace. */
Test(bind, reuseaddr_v4_any_eaddrinuse_under_v6_any_listener, .description = "BD-18 dual stack",
     .timeout = 10)
{
    api_enter_private_netns();
    sct_require_family(AF_INET6);
    int l = api_socket(AF_INET6, SOCK_STREAM);
    api_set_int(l, SOL_SOCKET, SO_REUSEADDR, 1);
    api_set_int(l, IPPROTO_IPV6, IPV6_V6ONLY, 0);
    struct sockaddr_in6 any6;
    memset(&any6, 0, sizeof(any6));
    any6.sin6_family = AF_INET6;
    cr_assert_eq(bind(l, (struct sockaddr *)&any6, sizeof(any6)), 0, "bind [::]: %s", strerror(errno));
    cr_assert_eq(listen(l, 4), 0, "listen: %s", strerror(errno));
    sc_addr_t a = api_name_of(l);

    int s = api_socket(AF_INET, SOCK_STREAM);
    api_set_int(s, SOL_SOCKET, SO_REUSEADDR, 1);
    struct sockaddr_in any4;
    memset(&any4, 0, sizeof(any4));
    any4.sin_family = AF_INET;
    any4.sin_port = htons(api_port_of(&a));
    errno = 0;
    int rc = bind(s, (struct sockaddr *)&any4, sizeof(any4));
    cr_assert_eq(rc, -1);
    cr_assert_eq(errno, EADDRINUSE, "errno %d (%s)", errno, strerror(errno));
    close(s);
    close(l);
}

ParameterizedTestParameters(bind, udp_reuseaddr_group_unicast_goes_to_last_bound)
{
    return cr_make_param_array(int, api_families, 2);
}

/* Without SO_REUSEPORT, the UDP lookup takes the first best match and new
 * binds are added at the head of the hash chain (net/ipv4/udp.c), so the
 * most recently bound socket gets every datagram. */
ParameterizedTest(int *family, bind, udp_reuseaddr_group_unicast_goes_to_last_bound, .description = "BD-19",
                  .timeout = 10)
{
#if defined(_WIN32)
    (void)family;
    cr_skip_test("two sockets sharing a port with SO_REUSEADDR behave \"indeterminate\" on Windows (Using SO_REUSEADDR and SO_EXCLUSIVEADDRUSE)");
#endif
    enum { GROUP = 3, DATAGRAMS = 10 };
    int g[GROUP];
    sc_addr_t a;
    g[0] = bound_with(*family, SOCK_DGRAM, 1, 0, &a);
    for (int i = 1; i < GROUP; i++) {
        g[i] = api_socket(*family, SOCK_DGRAM);
        api_set_int(g[i], SOL_SOCKET, SO_REUSEADDR, 1);
        cr_assert_eq(api_bind_addr(g[i], &a), 0, "bind #%d: %s", i, strerror(errno));
    }
    int tx = api_socket(*family, SOCK_DGRAM);
    for (int i = 0; i < DATAGRAMS; i++)
        cr_assert_eq(sendto(tx, "d", 1, 0, (struct sockaddr *)&a.ss, a.len), 1, "sendto: %s",
                     strerror(errno));
    char b[4];
    for (int i = 0; i < DATAGRAMS; i++) {
        cr_assert(api_wait_events(g[GROUP - 1], POLLIN, SCT_TIMEOUT_MS) & POLLIN,
                  "last bound socket got only %d of %d datagrams", i, DATAGRAMS);
        cr_assert_eq(recv(g[GROUP - 1], b, sizeof(b), MSG_DONTWAIT), 1);
    }
    for (int i = 0; i < GROUP - 1; i++) {
        errno = 0;
        cr_assert_eq(recv(g[i], b, sizeof(b), MSG_DONTWAIT), -1, "socket #%d received a datagram", i);
        cr_assert_eq(errno, EAGAIN, "errno %d (%s)", errno, strerror(errno));
    }
    for (int i = 0; i < GROUP; i++)
        close(g[i]);
    close(tx);
}

struct mix_case {
    int family;
    int first_reuseport; /* first sets SO_REUSEPORT and second SO_REUSEADDR, or the reverse */
};

ParameterizedTestParameters(bind, udp_reuseaddr_and_reuseport_do_not_mix)
{
    static struct mix_case cases[] = {{AF_INET, 0}, {AF_INET, 1}, {AF_INET6, 0}, {AF_INET6, 1}};
    return cr_make_param_array(struct mix_case, cases, 4);
}

ParameterizedTest(struct mix_case *c, bind, udp_reuseaddr_and_reuseport_do_not_mix, .description = "BD-20",
                  .timeout = 10)
{
#if defined(_WIN32)
    (void)c;
    cr_skip_test("no SO_REUSEPORT on Windows");
#else
    sc_addr_t a;
    int first = bound_with(c->family, SOCK_DGRAM, !c->first_reuseport, c->first_reuseport, &a);
    int second = api_socket(c->family, SOCK_DGRAM);
    api_set_int(second, SOL_SOCKET, c->first_reuseport ? SO_REUSEADDR : SO_REUSEPORT, 1);
    errno = 0;
    int rc = api_bind_addr(second, &a);
    cr_assert_eq(rc, -1, "%s: bind succeeded", api_fam_name(c->family));
    cr_assert_eq(errno, EADDRINUSE, "errno %d (%s)", errno, strerror(errno));
    close(second);
    close(first);
#endif
}

struct reuseport_case {
    int family;
    int first;  /* SO_REUSEPORT on the first socket */
    int second; /* SO_REUSEPORT on the second socket */
};

ParameterizedTestParameters(bind, tcp_reuseport_needs_both_sockets)
{
    static struct reuseport_case cases[] = {
        {AF_INET, 1, 0},  {AF_INET, 0, 1},  {AF_INET, 1, 1},
        {AF_INET6, 1, 0}, {AF_INET6, 0, 1}, {AF_INET6, 1, 1},
    };
    return cr_make_param_array(struct reuseport_case, cases, 6);
}

ParameterizedTest(struct reuseport_case *c, bind, tcp_reuseport_needs_both_sockets, .description = "BD-21",
                  .timeout = 10)
{
#if defined(_WIN32)
    (void)c;
    cr_skip_test("no SO_REUSEPORT on Windows");
#else
    sc_addr_t a;
    int first = bound_with(c->family, SOCK_STREAM, 0, c->first, &a);
    int second = api_socket(c->family, SOCK_STREAM);
    if (c->second)
        api_set_int(second, SOL_SOCKET, SO_REUSEPORT, 1);
    errno = 0;
    int rc = api_bind_addr(second, &a);
    if (c->first && c->second) {
        cr_assert_eq(rc, 0, "bind with SO_REUSEPORT on both: %s", strerror(errno));
        /* Both may listen: the port is shared by a reuseport group. */
        cr_assert_eq(listen(first, 4), 0, "listen first: %s", strerror(errno));
        cr_assert_eq(listen(second, 4), 0, "listen second: %s", strerror(errno));
    } else {
        cr_assert_eq(rc, -1, "bind with SO_REUSEPORT on one socket succeeded");
        cr_assert_eq(errno, EADDRINUSE, "errno %d (%s)", errno, strerror(errno));
    }
    close(second);
    close(first);
#endif
}

#if defined(_WIN32)
ParameterizedTestParameters(bind, exclusiveaddruse_denies_a_reuseaddr_bind)
{
    return cr_make_param_array(int, api_families, 2);
}

/* Winsock only: a socket bound with SO_EXCLUSIVEADDRUSE keeps its address
 * from a second socket even when that one sets SO_REUSEADDR: "access
 * denied", WSAEACCES (SO_EXCLUSIVEADDRUSE socket option; Sharing Transport
 * Addresses: first SO_EXCLUSIVEADDRUSE, second SO_REUSEADDR, specific:
 * DENIED); without SO_REUSEADDR the second bind is WSAEADDRINUSE. */
ParameterizedTest(int *family, bind, exclusiveaddruse_denies_a_reuseaddr_bind, .description = "BD-18 Winsock",
                  .timeout = 10)
{
    int first = api_socket(*family, SOCK_STREAM);
    api_set_int(first, SOL_SOCKET, SO_EXCLUSIVEADDRUSE, 1);
    sc_addr_t a = sct_loopback(*family, 0);
    cr_assert_eq(api_bind_addr(first, &a), 0, "bind: %s", strerror(errno));
    a = api_name_of(first);
    int second = api_socket(*family, SOCK_STREAM);
    api_set_int(second, SOL_SOCKET, SO_REUSEADDR, 1);
    errno = 0;
    api_assert_fails(api_bind_addr(second, &a), EACCES, "SO_REUSEADDR bind over SO_EXCLUSIVEADDRUSE");
    int third = api_socket(*family, SOCK_STREAM);
    errno = 0;
    api_assert_fails(api_bind_addr(third, &a), EADDRINUSE, "plain bind over SO_EXCLUSIVEADDRUSE");
    cr_assert_eq(listen(first, 4), 0, "listen: %s", strerror(errno));
    api_assert_accepts(first, &a);
    close(third);
    close(second);
    close(first);
}
#endif
