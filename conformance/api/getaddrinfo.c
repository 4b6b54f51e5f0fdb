/* Conformance of getaddrinfo() without name service lookups: numeric-only
 * flags, passive and loopback defaults, bad hints, service names, v4-mapped
 * results and EAI_* error reporting (matrix rows GA-01..GA-10). Only
 * numeric hosts or NULL are resolved, except under AI_NUMERICHOST and with
 * no descriptor free, so no query leaves the machine. */
#include "support.h"
#include "common.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

static int lookup(const char *node, const char *service, int family, int socktype, int protocol, int flags,
                  struct addrinfo **res)
{
    struct addrinfo hints;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = family;
    hints.ai_socktype = socktype;
    hints.ai_protocol = protocol;
    hints.ai_flags = flags;
    *res = NULL;
    return getaddrinfo(node, service, &hints, res);
}

/* Checks every result: family, address text and port. */
static void expect_all(const struct addrinfo *res, int family, const char *text, uint16_t port)
{
    int n = 0;
    for (const struct addrinfo *p = res; p; p = p->ai_next, n++) {
        cr_assert_eq(p->ai_family, family, "result %d: family %d", n, p->ai_family);
        char got[INET6_ADDRSTRLEN];
        const void *bin;
        uint16_t got_port;
        if (family == AF_INET6) {
            cr_assert_eq(p->ai_addrlen, sizeof(struct sockaddr_in6));
            const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)p->ai_addr;
            bin = &s6->sin6_addr;
            got_port = ntohs(s6->sin6_port);
        } else {
            cr_assert_eq(p->ai_addrlen, sizeof(struct sockaddr_in));
            const struct sockaddr_in *s4 = (const struct sockaddr_in *)p->ai_addr;
            bin = &s4->sin_addr;
            got_port = ntohs(s4->sin_port);
        }
        cr_assert_not_null(inet_ntop(family, bin, got, sizeof(got)));
        cr_assert_str_eq(got, text, "result %d: address %s, expected %s", n, got, text);
        cr_assert_eq(got_port, port, "result %d: port %u", n, got_port);
    }
    cr_assert_gt(n, 0, "no results");
}

Test(getaddrinfo, numerichost_rejects_host_name, .description = "GA-01", .timeout = 10)
{
    struct addrinfo *res;
    int rc = lookup("localhost", NULL, AF_UNSPEC, 0, 0, AI_NUMERICHOST, &res);
    cr_assert_eq(rc, EAI_NONAME, "rc %d (%s)", rc, gai_strerror(rc));
    cr_assert_null(res);
}

Test(getaddrinfo, numericserv_rejects_service_name, .description = "GA-02", .timeout = 10)
{
    struct addrinfo *res;
    int rc = lookup("127.0.0.1", "echo", AF_UNSPEC, 0, 0, AI_NUMERICSERV, &res);
    cr_assert_eq(rc, EAI_NONAME, "rc %d (%s)", rc, gai_strerror(rc));
}

ParameterizedTestParameters(getaddrinfo, null_node_passive_gives_any)
{
    return cr_make_param_array(int, api_families, 2);
}

ParameterizedTest(int *family, getaddrinfo, null_node_passive_gives_any, .description = "GA-03",
                  .timeout = 10)
{
    struct addrinfo *res;
    int rc = lookup(NULL, "7", *family, SOCK_STREAM, 0, AI_PASSIVE, &res);
    cr_assert_eq(rc, 0, "rc %d (%s)", rc, gai_strerror(rc));
    expect_all(res, *family, *family == AF_INET6 ? "::" : "0.0.0.0", 7);
    freeaddrinfo(res);
}

ParameterizedTestParameters(getaddrinfo, null_node_gives_loopback)
{
    return cr_make_param_array(int, api_families, 2);
}

ParameterizedTest(int *family, getaddrinfo, null_node_gives_loopback, .description = "GA-04", .timeout = 10)
{
    struct addrinfo *res;
    int rc = lookup(NULL, "7", *family, SOCK_STREAM, 0, 0, &res);
    cr_assert_eq(rc, 0, "rc %d (%s)", rc, gai_strerror(rc));
    expect_all(res, *family, *family == AF_INET6 ? "::1" : "127.0.0.1", 7);
    freeaddrinfo(res);
}

/* POSIX allows EAI_SOCKTYPE or EAI_SERVICE; glibc gives EAI_SOCKTYPE. */
Test(getaddrinfo, stream_with_udp_protocol_fails, .description = "GA-05", .timeout = 10)
{
#if defined(_WIN32)
    cr_skip_test("Windows documents no result for a protocol that contradicts the socket type");
#endif
    struct addrinfo *res;
    int rc = lookup("127.0.0.1", "7", AF_INET, SOCK_STREAM, IPPROTO_UDP, 0, &res);
    cr_assert(rc == EAI_SOCKTYPE || rc == EAI_SERVICE, "rc %d (%s)", rc, gai_strerror(rc));
}

Test(getaddrinfo, null_node_and_service_eai_noname, .description = "GA-06", .timeout = 10)
{
    struct addrinfo *res;
    int rc = lookup(NULL, NULL, AF_UNSPEC, 0, 0, 0, &res);
    cr_assert_eq(rc, EAI_NONAME, "rc %d (%s)", rc, gai_strerror(rc));
}

Test(getaddrinfo, unknown_family_eai_family, .description = "GA-07", .timeout = 10)
{
    struct addrinfo *res;
    int rc = lookup("127.0.0.1", "7", 12345, 0, 0, 0, &res);
    cr_assert_eq(rc, EAI_FAMILY, "rc %d (%s)", rc, gai_strerror(rc));
}

/* A flag bit no libc defines; Windows uses 0x40000000 (AI_RESOLUTION_HANDLE
 * in ws2def.h), not 0x04000000. */
#if defined(_WIN32)
#define UNKNOWN_AI_FLAG 0x04000000
#else
#define UNKNOWN_AI_FLAG 0x40000000
#endif

Test(getaddrinfo, bad_flags_eai_badflags, .description = "GA-07", .timeout = 10)
{
    struct addrinfo *res;
    int rc = lookup("127.0.0.1", "7", AF_UNSPEC, 0, 0, UNKNOWN_AI_FLAG, &res);
    cr_assert_eq(rc, EAI_BADFLAGS, "unknown flag: rc %d (%s)", rc, gai_strerror(rc));
    /* POSIX: AI_CANONNAME without a node name is EAI_BADFLAGS. */
    rc = lookup(NULL, "7", AF_UNSPEC, 0, 0, AI_CANONNAME, &res);
    cr_assert_eq(rc, EAI_BADFLAGS, "AI_CANONNAME without node: rc %d (%s)", rc, gai_strerror(rc));
}

/* Needs the echo entries of /etc/services (Debian package netbase). */
Test(getaddrinfo, echo_service_gives_port_7_for_tcp_and_udp, .description = "GA-08", .timeout = 10)
{
    struct servent *se = getservbyname("echo", "tcp");
    if (!se)
        cr_skip_test("needs an \"echo\" entry in /etc/services (package netbase)");
    struct addrinfo *res;
    int rc;
#if defined(_WIN32)
    /* Windows documents only that socket type 0 "will accept any socket
     * type" and no filled-in protocol (addrinfo structure), not one result
     * per type as glibc gives: each type is asked for. */
    static const int types[] = {SOCK_STREAM, SOCK_DGRAM};
    for (int i = 0; i < 2; i++) {
        rc = lookup("127.0.0.1", "echo", AF_INET, types[i], 0, 0, &res);
        cr_assert_eq(rc, 0, "rc %d (%s)", rc, gai_strerror(rc));
        expect_all(res, AF_INET, "127.0.0.1", 7);
        cr_assert_eq(res->ai_socktype, types[i]);
        freeaddrinfo(res);
    }
    return;
#endif
    rc = lookup("127.0.0.1", "echo", AF_INET, 0, 0, 0, &res);
    cr_assert_eq(rc, 0, "rc %d (%s)", rc, gai_strerror(rc));
    expect_all(res, AF_INET, "127.0.0.1", 7);
    int stream = 0, dgram = 0;
    for (const struct addrinfo *p = res; p; p = p->ai_next) {
        stream += p->ai_socktype == SOCK_STREAM && p->ai_protocol == IPPROTO_TCP;
        dgram += p->ai_socktype == SOCK_DGRAM && p->ai_protocol == IPPROTO_UDP;
    }
    freeaddrinfo(res);
    cr_assert_eq(stream, 1, "%d TCP results", stream);
    cr_assert_eq(dgram, 1, "%d UDP results", dgram);
}

Test(getaddrinfo, v4mapped_maps_ipv4_for_inet6_only, .description = "GA-09", .timeout = 10)
{
    struct addrinfo *res;
    int rc = lookup("127.0.0.1", "7", AF_INET6, SOCK_STREAM, 0, AI_V4MAPPED, &res);
    cr_assert_eq(rc, 0, "AF_INET6 + AI_V4MAPPED: rc %d (%s)", rc, gai_strerror(rc));
    expect_all(res, AF_INET6, "::ffff:127.0.0.1", 7);
    freeaddrinfo(res);
    /* Ignored for AF_INET. */
    rc = lookup("127.0.0.1", "7", AF_INET, SOCK_STREAM, 0, AI_V4MAPPED, &res);
    cr_assert_eq(rc, 0, "AF_INET + AI_V4MAPPED: rc %d (%s)", rc, gai_strerror(rc));
    expect_all(res, AF_INET, "127.0.0.1", 7);
    freeaddrinfo(res);
    /* Without the flag an IPv4 literal has no AF_INET6 result (glibc:
     * EAI_ADDRFAMILY, a GNU extension; POSIX leaves it EAI_NONAME). */
    rc = lookup("127.0.0.1", "7", AF_INET6, SOCK_STREAM, 0, 0, &res);
    cr_assert_neq(rc, 0, "IPv4 literal resolved for AF_INET6 without AI_V4MAPPED");
    cr_assert_null(res);
}

/* Errors come back as the return value (EAI_*, which gai_strerror
 * describes), not in errno; only EAI_SYSTEM points at errno. EAI_SYSTEM is
 * provoked by leaving no descriptor free, so that the resolver cannot
 * open its files (nor a socket: nothing is queried). */
Test(getaddrinfo, reports_eai_codes_and_eai_system_with_errno, .description = "GA-10", .timeout = 10)
{
    struct addrinfo *res;
    errno = 0;
    int rc = lookup(NULL, NULL, AF_UNSPEC, 0, 0, 0, &res);
    cr_assert_eq(rc, EAI_NONAME);
    cr_assert_neq(rc, -1, "returned -1 like a system call");
    const char *msg = gai_strerror(rc);
    cr_assert(msg && *msg, "gai_strerror gave no text");
#if defined(_WIN32)
    /* Winsock has no EAI_SYSTEM (its EAI_* are WSA codes: getaddrinfo
     * function, Return value) and no descriptor limit to fill. */
    return;
#else
    struct rlimit old;
    cr_assert_eq(getrlimit(RLIMIT_NOFILE, &old), 0);
    int top = api_max_open_fd();
    cr_assert_geq(top, 0);
    struct rlimit low = old;
    low.rlim_cur = (rlim_t)top + 1;
    /* Fill any free slot below the highest descriptor too. */
    cr_assert_eq(setrlimit(RLIMIT_NOFILE, &low), 0, "setrlimit: %s", strerror(errno));
    int fill[64], n = 0;
    while (n < 64 && (fill[n] = dup(0)) >= 0)
        n++;
    errno = 0;
    rc = lookup("localhost", "7", AF_INET, SOCK_STREAM, 0, 0, &res);
    int err = errno;
    for (int i = 0; i < n; i++)
        close(fill[i]);
    cr_assert_eq(setrlimit(RLIMIT_NOFILE, &old), 0, "setrlimit restore: %s", strerror(errno));
    if (rc == 0)
        freeaddrinfo(res);
    cr_assert_eq(rc, EAI_SYSTEM, "rc %d (%s)", rc, gai_strerror(rc));
    cr_assert_eq(err, EMFILE, "errno %d (%s)", err, strerror(err));
#endif
}
