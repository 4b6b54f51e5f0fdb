/* Conformance of socket(): argument errors, type flags, reported options and
 * descriptor exhaustion (matrix rows SK-01..SK-10). */
#include "support.h"
#include "common.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

/* The upper bound of descriptors a test opens to fill the table. */
#define FILL_MAX 256

#if defined(_WIN32)
enum info_field { INFO_FAMILY, INFO_TYPE, INFO_PROTOCOL };

/* Winsock has no SO_DOMAIN and SO_PROTOCOL: SO_PROTOCOL_INFO gives the
 * socket's family, type and protocol (SOL_SOCKET socket options;
 * WSAPROTOCOL_INFO structure). */
static int protocol_info(int s, enum info_field f)
{
    WSAPROTOCOL_INFOA pi;
    socklen_t len = sizeof(pi);
    cr_assert_eq(getsockopt(s, SOL_SOCKET, SO_PROTOCOL_INFOA, &pi, &len), 0, "SO_PROTOCOL_INFO: %s",
                 strerror(errno));
    return f == INFO_FAMILY ? pi.iAddressFamily : f == INFO_TYPE ? pi.iSocketType : pi.iProtocol;
}

/* Winsock cannot read the blocking mode back: a connect to a listener
 * tells, WSAEWOULDBLOCK on a non-blocking socket (connect function,
 * Return value), success on a blocking one. */
static int is_nonblocking(int s, int family)
{
    sc_addr_t a;
    int l = sct_bound(family, SOCK_STREAM, &a);
    errno = 0;
    int rc = connect(s, (struct sockaddr *)&a.ss, a.len);
    int err = errno;
    close(l);
    cr_assert(rc == 0 || err == EAGAIN, "connect: %s", strerror(err));
    return rc != 0;
}
#endif

Test(socket, eafnosupport_for_domain_0, .description = "SK-01", .timeout = 10)
{
    errno = 0;
    int rc = socket(0, SOCK_STREAM, 0);
    cr_assert_eq(rc, -1);
#if defined(_WIN32)
    /* Winsock: AF_UNSPEC (0) with no protocol names no provider, WSAEINVAL
     * (socket function, Return value: "the af parameter is set to AF_UNSPEC
     * and the type and protocol parameter are unspecified"). */
    cr_assert_eq(errno, EINVAL, "errno %d (%s)", errno, strerror(errno));
#else
    cr_assert_eq(errno, EAFNOSUPPORT, "errno %d (%s)", errno, strerror(errno));
#endif
}

/* POSIX lists EPROTOTYPE/EPROTONOSUPPORT for a bad type; Linux rejects the
 * unknown flag bits of type (75 = 0x40 | 11) with EINVAL before looking at
 * the family (net/socket.c __sys_socket, man socket(2) EINVAL "Unknown
 * protocol, or protocol family not available" / "Invalid flags in type"). */
Test(socket, einval_for_type_75, .description = "SK-02", .timeout = 10)
{
    errno = 0;
    int rc = socket(PF_INET, 75, 0);
    cr_assert_eq(rc, -1);
#if defined(_WIN32)
    /* Winsock: WSAESOCKTNOSUPPORT, "The specified socket type is not
     * supported in this address family" (socket function, Return value). */
    cr_assert_eq(errno, WSAESOCKTNOSUPPORT, "errno %d (%s)", errno, strerror(errno));
#else
    cr_assert_eq(errno, EINVAL, "errno %d (%s)", errno, strerror(errno));
#endif
}

/* A protocol of another type: EPROTONOSUPPORT on Linux. Winsock lists
 * both WSAEPROTONOSUPPORT ("The specified protocol is not supported") and
 * WSAEPROTOTYPE ("The specified protocol is the wrong type for this
 * socket") for it (socket function, Return value). */
static void assert_wrong_protocol(int err, const char *what)
{
#if defined(_WIN32)
    cr_assert(err == EPROTONOSUPPORT || err == EPROTOTYPE, "%s: errno %d (%s)", what, err, strerror(err));
#else
    cr_assert_eq(err, EPROTONOSUPPORT, "%s: errno %d (%s)", what, err, strerror(err));
#endif
}

struct proto_case {
    int family;
    int type;
    int protocol;
};

ParameterizedTestParameters(socket, eprotonosupport_for_stream_udp)
{
    return cr_make_param_array(int, api_families, 2);
}

ParameterizedTest(int *family, socket, eprotonosupport_for_stream_udp, .description = "SK-03", .timeout = 10)
{
    errno = 0;
    int rc = socket(*family, SOCK_STREAM, IPPROTO_UDP);
    cr_assert_eq(rc, -1, "%s", api_fam_name(*family));
    assert_wrong_protocol(errno, api_fam_name(*family));
}

ParameterizedTestParameters(socket, eprotonosupport_for_dgram_tcp)
{
    return cr_make_param_array(int, api_families, 2);
}

ParameterizedTest(int *family, socket, eprotonosupport_for_dgram_tcp, .description = "SK-04", .timeout = 10)
{
    errno = 0;
    int rc = socket(*family, SOCK_DGRAM, IPPROTO_TCP);
    cr_assert_eq(rc, -1, "%s", api_fam_name(*family));
    assert_wrong_protocol(errno, api_fam_name(*family));
}

Test(socket, eprotonosupport_for_stream_icmp, .description = "SK-05", .timeout = 10)
{
    errno = 0;
    int rc = socket(AF_INET, SOCK_STREAM, IPPROTO_ICMP);
    cr_assert_eq(rc, -1);
    assert_wrong_protocol(errno, "AF_INET");
}

static int raw_proto0_errno(int unused)
{
    (void)unused;
    int s = socket(AF_INET, SOCK_RAW, 0);
    if (s >= 0) {
        close(s);
        return 0;
    }
    return errno;
}

static int raw_icmp_errno(int unused)
{
    (void)unused;
    int s = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
    if (s >= 0) {
        close(s);
        return 0;
    }
    return errno;
}

/* Linux checks the protocol before the privilege: SOCK_RAW with protocol 0
 * matches no raw protocol, so the result is EPROTONOSUPPORT with or without
 * CAP_NET_RAW (net/ipv4/af_inet.c inet_create). */
Test(socket, eprotonosupport_for_raw_protocol_0_unprivileged, .description = "SK-06", .timeout = 10)
{
    int err = api_run_unprivileged(raw_proto0_errno, 0);
    cr_assert_eq(err, EPROTONOSUPPORT, "errno %d (%s)", err, strerror(err));
}

/* A valid raw protocol without CAP_NET_RAW: POSIX says "may fail with
 * EACCES"; Linux returns EPERM (man raw(7): "Only processes with an
 * effective user ID of 0 or the CAP_NET_RAW capability are allowed to open
 * raw sockets"; inet_create returns -EPERM). */
Test(socket, eperm_for_raw_icmp_unprivileged, .description = "SK-06 raw with a valid protocol", .timeout = 10)
{
    int err = api_run_unprivileged(raw_icmp_errno, 0);
    cr_assert_eq(err, EPERM, "errno %d (%s)", err, strerror(err));
}

struct type_case {
    int family;
    int type;
    int protocol; /* what SO_PROTOCOL must report for protocol 0 */
};

ParameterizedTestParameters(socket, protocol_0_selects_tcp_or_udp)
{
    static struct type_case cases[] = {
        {AF_INET, SOCK_STREAM, IPPROTO_TCP},
        {AF_INET, SOCK_DGRAM, IPPROTO_UDP},
        {AF_INET6, SOCK_STREAM, IPPROTO_TCP},
        {AF_INET6, SOCK_DGRAM, IPPROTO_UDP},
    };
    return cr_make_param_array(struct type_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct type_case *c, socket, protocol_0_selects_tcp_or_udp, .description = "SK-07",
                  .timeout = 10)
{
    sct_require_family(c->family);
    int s = socket(c->family, c->type, 0);
    cr_assert_geq(s, 0, "%s: socket: %s", api_fam_name(c->family), strerror(errno));
#if defined(_WIN32)
    int v = protocol_info(s, INFO_PROTOCOL);
#else
    int v = -1;
    socklen_t len = sizeof(v);
    cr_assert_eq(getsockopt(s, SOL_SOCKET, SO_PROTOCOL, &v, &len), 0, "getsockopt: %s", strerror(errno));
#endif
    cr_assert_eq(v, c->protocol, "%s type %d: SO_PROTOCOL %d", api_fam_name(c->family), c->type, v);
    close(s);
}

struct flag_case {
    int family;
    int flags;
};

ParameterizedTestParameters(socket, type_flags_set_exactly_nonblock_and_cloexec)
{
    static struct flag_case cases[] = {
        {AF_INET, 0},
        {AF_INET, SOCK_NONBLOCK},
        {AF_INET, SOCK_CLOEXEC},
        {AF_INET, SOCK_NONBLOCK | SOCK_CLOEXEC},
        {AF_INET6, 0},
        {AF_INET6, SOCK_NONBLOCK},
        {AF_INET6, SOCK_CLOEXEC},
        {AF_INET6, SOCK_NONBLOCK | SOCK_CLOEXEC},
    };
    return cr_make_param_array(struct flag_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct flag_case *c, socket, type_flags_set_exactly_nonblock_and_cloexec,
                  .description = "SK-08", .timeout = 10)
{
    sct_require_family(c->family);
    int s = socket(c->family, SOCK_STREAM | c->flags, 0);
    cr_assert_geq(s, 0, "socket: %s", strerror(errno));
    int fl = fcntl(s, F_GETFL);
    int fd = fcntl(s, F_GETFD);
    cr_assert_geq(fl, 0, "F_GETFL: %s", strerror(errno));
    cr_assert_geq(fd, 0, "F_GETFD: %s", strerror(errno));
#if defined(_WIN32)
    /* F_GETFD reads the handle's inherit flag; F_GETFL cannot be read. */
    if (is_nonblocking(s, c->family))
        fl |= O_NONBLOCK;
#endif
    cr_assert_eq(!!(fl & O_NONBLOCK), !!(c->flags & SOCK_NONBLOCK), "%s flags 0x%x: O_NONBLOCK %s",
                 api_fam_name(c->family), (unsigned)c->flags, (fl & O_NONBLOCK) ? "set" : "clear");
    cr_assert_eq(!!(fd & FD_CLOEXEC), !!(c->flags & SOCK_CLOEXEC), "%s flags 0x%x: FD_CLOEXEC %s",
                 api_fam_name(c->family), (unsigned)c->flags, (fd & FD_CLOEXEC) ? "set" : "clear");
    close(s);
}

ParameterizedTestParameters(socket, so_type_domain_protocol_report_creation_args)
{
    static struct type_case cases[] = {
        {AF_INET, SOCK_STREAM, IPPROTO_TCP},
        {AF_INET, SOCK_DGRAM, IPPROTO_UDP},
        {AF_INET6, SOCK_STREAM, IPPROTO_TCP},
        {AF_INET6, SOCK_DGRAM, IPPROTO_UDP},
    };
    return cr_make_param_array(struct type_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct type_case *c, socket, so_type_domain_protocol_report_creation_args,
                  .description = "SK-09", .timeout = 10)
{
    sct_require_family(c->family);
    /* The SOCK_* flags are part of the type argument but not of SO_TYPE. */
    int s = socket(c->family, c->type | SOCK_NONBLOCK | SOCK_CLOEXEC, c->protocol);
    cr_assert_geq(s, 0, "socket: %s", strerror(errno));
    socklen_t len = 0;
    cr_assert_eq(api_getsockopt_int(s, SOL_SOCKET, SO_TYPE, &len), c->type, "%s SO_TYPE",
                 api_fam_name(c->family));
    cr_assert_eq(len, sizeof(int));
#if defined(_WIN32)
    cr_assert_eq(protocol_info(s, INFO_FAMILY), c->family, "%s iAddressFamily", api_fam_name(c->family));
    cr_assert_eq(protocol_info(s, INFO_TYPE), c->type, "%s iSocketType", api_fam_name(c->family));
    cr_assert_eq(protocol_info(s, INFO_PROTOCOL), c->protocol, "%s iProtocol", api_fam_name(c->family));
#else
    cr_assert_eq(api_getsockopt_int(s, SOL_SOCKET, SO_DOMAIN, &len), c->family, "%s SO_DOMAIN",
                 api_fam_name(c->family));
    cr_assert_eq(len, sizeof(int));
    cr_assert_eq(api_getsockopt_int(s, SOL_SOCKET, SO_PROTOCOL, &len), c->protocol, "%s SO_PROTOCOL",
                 api_fam_name(c->family));
    cr_assert_eq(len, sizeof(int));
#endif
    close(s);
}

/* Lowers RLIMIT_NOFILE to a few slots above the highest open descriptor and
 * opens sockets until socket() fails. Nothing is asserted until the
 * descriptors are closed and the limit restored, so that the runner's
 * worker can report the result. ENFILE (the system-wide table) is not
 * provoked: filling it would disturb every other process on the machine. */
Test(socket, emfile_when_fd_table_full, .description = "SK-10", .timeout = 10)
{
#if defined(_WIN32)
    cr_skip_test("Windows has no descriptor limit to lower: no setrlimit, sockets are handles");
#endif
    struct rlimit old;
    cr_assert_eq(getrlimit(RLIMIT_NOFILE, &old), 0, "getrlimit: %s", strerror(errno));
    int top = api_max_open_fd();
    cr_assert_geq(top, 0, "cannot read /proc/self/fd");
    struct rlimit low = old;
    low.rlim_cur = (rlim_t)top + 1 + 4;
    cr_assert_leq(low.rlim_cur, old.rlim_max, "hard limit too low to test");
    cr_assert_eq(setrlimit(RLIMIT_NOFILE, &low), 0, "setrlimit: %s", strerror(errno));

    int fds[FILL_MAX];
    int n = 0, rc = 0, err = 0, above = 0;
    while (n < FILL_MAX) {
        errno = 0;
        rc = socket(AF_INET, SOCK_STREAM, 0);
        if (rc < 0) {
            err = errno;
            break;
        }
        if ((rlim_t)rc >= low.rlim_cur)
            above++;
        fds[n++] = rc;
    }
    /* One freed slot makes socket() work again. */
    int again = -1, again_err = 0;
    if (n > 0) {
        close(fds[--n]);
        again = socket(AF_INET, SOCK_STREAM, 0);
        again_err = errno;
    }
    if (again >= 0)
        close(again);
    for (int i = 0; i < n; i++)
        close(fds[i]);
    cr_assert_eq(setrlimit(RLIMIT_NOFILE, &old), 0, "setrlimit restore: %s", strerror(errno));

    cr_assert_eq(rc, -1, "socket() never failed after %d descriptors", n);
    cr_assert_eq(err, EMFILE, "errno %d (%s)", err, strerror(err));
    cr_assert_geq(n + 1, 4, "failed after only %d sockets", n + 1);
    cr_assert_eq(above, 0, "a descriptor at or above RLIMIT_NOFILE was returned");
    cr_assert_geq(again, 0, "socket after freeing a slot: %s", strerror(again_err));
}
