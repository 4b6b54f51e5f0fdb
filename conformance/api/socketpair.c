/* Conformance of socketpair() on the inet families and its argument errors
 * (matrix rows SP-01..SP-03, and SK-01 for socketpair). */
#include "support.h"
#include "common.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Initial content of sv. The tests do not check that a failing call leaves
 * sv alone: man socketpair(2) NOTES says Linux does not modify sv on
 * failure (POSIX.1-2008 TC2 requires it), but Linux 6.18 reserves the two
 * descriptors and writes their numbers to sv before it creates the sockets
 * (net/socket.c __sys_socketpair), so sv holds two unopened descriptor
 * numbers after EAFNOSUPPORT or EOPNOTSUPP. */
#define SV_UNTOUCHED (-77)

/* socketpair(2) as the platform exports it, called through a pointer that
 * the compiler cannot see through, so that invalid sv arguments are passed
 * as given. */
#if defined(_WIN32)
/* Winsock has no socketpair(): the suite's rows do not exist there (the
 * suites' own pairs are loopback TCP, see win32/sct_posix.c). */
#define NO_SOCKETPAIR() cr_skip_test("Winsock has no socketpair()")
#else
static int (*volatile socketpair_fn)(int, int, int, int *) = socketpair;
#endif

Test(socketpair, eafnosupport_for_domain_0, .description = "SK-01", .timeout = 10)
{
#if defined(_WIN32)
    NO_SOCKETPAIR();
#else
    int sv[2] = {SV_UNTOUCHED, SV_UNTOUCHED};
    errno = 0;
    int rc = socketpair(0, SOCK_STREAM, 0, sv);
    cr_assert_eq(rc, -1);
    cr_assert_eq(errno, EAFNOSUPPORT, "errno %d (%s)", errno, strerror(errno));
#endif
}

struct sp_case {
    int family;
    int type;
    int protocol;
};

ParameterizedTestParameters(socketpair, eopnotsupp_on_inet)
{
    static struct sp_case cases[] = {
        {AF_INET, SOCK_STREAM, IPPROTO_TCP},
        {AF_INET, SOCK_DGRAM, IPPROTO_UDP},
        {AF_INET6, SOCK_STREAM, IPPROTO_TCP},
        {AF_INET6, SOCK_DGRAM, IPPROTO_UDP},
    };
    return cr_make_param_array(struct sp_case, cases, sizeof(cases) / sizeof(cases[0]));
}

/* The inet families create the two sockets, then refuse to pair them; no
 * descriptor leaks. */
ParameterizedTest(struct sp_case *c, socketpair, eopnotsupp_on_inet, .description = "SP-01", .timeout = 10)
{
#if defined(_WIN32)
    (void)c;
    NO_SOCKETPAIR();
#else
    int before = sct_count_fds();
    int sv[2] = {SV_UNTOUCHED, SV_UNTOUCHED};
    errno = 0;
    int rc = socketpair(c->family, c->type, c->protocol, sv);
    cr_assert_eq(rc, -1, "%s type %d", api_fam_name(c->family), c->type);
    cr_assert_eq(errno, EOPNOTSUPP, "%s type %d: errno %d (%s)", api_fam_name(c->family), c->type, errno,
                 strerror(errno));
    cr_assert_eq(sct_count_fds(), before, "descriptors leaked");
#endif
}

ParameterizedTestParameters(socketpair, esocktnosupport_for_type_0)
{
    return cr_make_param_array(int, api_families, 2);
}

/* Type 0 names no inet socket type: the socket cannot even be created. */
ParameterizedTest(int *family, socketpair, esocktnosupport_for_type_0, .description = "SP-02", .timeout = 10)
{
#if defined(_WIN32)
    (void)family;
    NO_SOCKETPAIR();
#else
    int sv[2] = {SV_UNTOUCHED, SV_UNTOUCHED};
    errno = 0;
    int rc = socketpair(*family, 0, 0, sv);
    cr_assert_eq(rc, -1, "%s", api_fam_name(*family));
    cr_assert_eq(errno, ESOCKTNOSUPPORT, "%s: errno %d (%s)", api_fam_name(*family), errno, strerror(errno));
#endif
}

/* The pair is created, then copying the descriptors out faults: the call
 * fails with EFAULT and both new descriptors are released again. */
Test(socketpair, efault_for_null_sv, .description = "SP-03", .timeout = 10)
{
#if defined(_WIN32)
    NO_SOCKETPAIR();
#else
    int before = sct_count_fds();
    errno = 0;
    int rc = socketpair_fn(AF_UNIX, SOCK_STREAM, 0, NULL);
    cr_assert_eq(rc, -1);
    cr_assert_eq(errno, EFAULT, "errno %d (%s)", errno, strerror(errno));
    cr_assert_eq(sct_count_fds(), before, "descriptors leaked");
#endif
}

Test(socketpair, efault_for_unmapped_sv, .description = "SP-03", .timeout = 10)
{
#if defined(_WIN32)
    NO_SOCKETPAIR();
#else
    int before = sct_count_fds();
    errno = 0;
    int rc = socketpair_fn(AF_UNIX, SOCK_STREAM, 0, (int *)7);
    cr_assert_eq(rc, -1);
    cr_assert_eq(errno, EFAULT, "errno %d (%s)", errno, strerror(errno));
    cr_assert_eq(sct_count_fds(), before, "descriptors leaked");
#endif
}
