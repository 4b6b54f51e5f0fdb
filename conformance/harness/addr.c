/* The addr module: every accepted and rejected text form, formatting,
 * raw sockaddr validation at every length, predicates, resolve, getsockname. */
#include "support.h"
#include "sockcheck/addr.h"
#include "sockcheck/fault.h"
#include "sockcheck/net.h"

#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_PORT 7

/* A text and what sc_addr_format must write for the address it parses to
 * (with DEFAULT_PORT as the default port). */
typedef struct accepted {
    const char *text;
    unsigned flags;
    const char *formatted;
} accepted_t;

static const accepted_t accepted_forms[] = {
    {"1.2.3.4:80", 0, "1.2.3.4:80"},
    {"1.2.3.4", 0, "1.2.3.4:7"},
    {"0.0.0.0:0", 0, "0.0.0.0:0"},
    {"255.255.255.255:65535", 0, "255.255.255.255:65535"},
    {"127.0.0.1:1", SC_ADDR_PORT_REQUIRED, "127.0.0.1:1"},
    {"10.0.0.1", SC_ADDR_NO_IFNAME, "10.0.0.1:7"},
    {"[::1]:80", 0, "[::1]:80"},
    {"[::1]", 0, "[::1]:7"},
    {"[::]:0", 0, "[::]:0"},
    {"[fe80::1%2]:80", 0, "[fe80::1%2]:80"},
    {"[fe80::1%4294967295]:65535", SC_ADDR_NO_IFNAME, "[fe80::1%4294967295]:65535"},
    {"[fe80::1%0]:80", 0, "[fe80::1]:80"},
    {"[ff02::1%3]:5353", 0, "[ff02::1%3]:5353"},
    {"[ff01::1%3]:9", 0, "[ff01::1%3]:9"},
    {"[FE80::ABCD%2]:1", 0, "[fe80::abcd%2]:1"},
    {"[2001:db8::1]:443", SC_ADDR_PORT_REQUIRED, "[2001:db8::1]:443"},
    {"[::ffff:1.2.3.4]:80", 0, "[::ffff:1.2.3.4]:80"},
    {"[1:2:3:4:5:6:7:8]:8", 0, "[1:2:3:4:5:6:7:8]:8"},
    {"[0001:0002::]:8", 0, "[1:2::]:8"},
    {"::1", 0, "[::1]:7"},
    {"::", 0, "[::]:7"},
    {"fe80::1%2", 0, "[fe80::1%2]:7"},
    {"fe80::1%2", SC_ADDR_NO_IFNAME, "[fe80::1%2]:7"},
    {"::ffff:127.0.0.1", 0, "[::ffff:127.0.0.1]:7"},
    {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 0, "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:7"},
    {"80", 0, "127.0.0.1:80"},
    {"0", 0, "127.0.0.1:0"},
    {"65535", SC_ADDR_PORT_REQUIRED, "127.0.0.1:65535"},
    {":80", 0, "127.0.0.1:80"},
    {":0", SC_ADDR_PORT_REQUIRED, "127.0.0.1:0"},
};

typedef struct rejected {
    const char *text;
    unsigned flags;
    int err;
} rejected_t;

static const rejected_t rejected_forms[] = {
    /* Dotted quads: exactly four decimal parts, no leading zeros (as
     * glibc's inet_pton), no inet_aton shorthands. */
    {"01.2.3.4", 0, SC_EADDRFORMAT},
    {"1.2.3.04:80", 0, SC_EADDRFORMAT},
    {"1.2.3", 0, SC_EADDRFORMAT},
    {"1.2.3.4.5", 0, SC_EADDRFORMAT},
    {"1.2.3.", 0, SC_EADDRFORMAT},
    {".1.2.3", 0, SC_EADDRFORMAT},
    {"1..2.3", 0, SC_EADDRFORMAT},
    {"1.2.3.4.", 0, SC_EADDRFORMAT},
    {"256.1.1.1", 0, SC_EADDRFORMAT},
    {"1.2.3.1000", 0, SC_EADDRFORMAT},
    {"0x7f.0.0.1", 0, SC_EADDRFORMAT},
    {"1.2.3.-4", 0, SC_EADDRFORMAT},
    {" 1.2.3.4", 0, SC_EADDRFORMAT},
    {"1.2.3.4 ", 0, SC_EADDRFORMAT},
    {"1.2.3.4 :80", 0, SC_EADDRFORMAT},
    {"1.2.3.4%2", 0, SC_EADDRFORMAT},
    {"1.2.3.4/24", 0, SC_EADDRFORMAT},
    {"localhost", 0, SC_EADDRFORMAT},
    {"localhost:80", 0, SC_EADDRFORMAT},
    {"example.com:80", 0, SC_EADDRFORMAT},
    {"", 0, SC_EADDRFORMAT},
    {"1:80", 0, SC_EADDRFORMAT},
    {"1.2.3.4:80:90", 0, SC_EADDRFORMAT},
    /* Ports: decimal 0..65535, nothing else. */
    {"1.2.3.4:", 0, SC_EPORTRANGE},
    {"1.2.3.4:65536", 0, SC_EPORTRANGE},
    {"1.2.3.4:99999", 0, SC_EPORTRANGE},
    {"1.2.3.4:4294967376", 0, SC_EPORTRANGE},
    {"1.2.3.4:+80", 0, SC_EPORTRANGE},
    {"1.2.3.4:-1", 0, SC_EPORTRANGE},
    {"1.2.3.4: 80", 0, SC_EPORTRANGE},
    {"1.2.3.4:80 ", 0, SC_EPORTRANGE},
    {"1.2.3.4:080", 0, SC_EPORTRANGE},
    {"1.2.3.4:0x50", 0, SC_EPORTRANGE},
    {"1.2.3.4:http", 0, SC_EPORTRANGE},
    {"1.2.3.4", SC_ADDR_PORT_REQUIRED, SC_EPORTRANGE},
    {"[::1]", SC_ADDR_PORT_REQUIRED, SC_EPORTRANGE},
    {"::1", SC_ADDR_PORT_REQUIRED, SC_EPORTRANGE},
    {"[::1]:", 0, SC_EPORTRANGE},
    {"[::1]:65536", 0, SC_EPORTRANGE},
    {"[::1]:+1", 0, SC_EPORTRANGE},
    {":", 0, SC_EPORTRANGE},
    {":+80", 0, SC_EPORTRANGE},
    {":65536", 0, SC_EPORTRANGE},
    {"+80", 0, SC_EPORTRANGE},
    {"-80", 0, SC_EPORTRANGE},
    {" 80", 0, SC_EPORTRANGE},
    {"80 ", 0, SC_EPORTRANGE},
    {"65536", 0, SC_EPORTRANGE},
    {"080", 0, SC_EPORTRANGE},
    /* IPv6: inet_pton's grammar, brackets balanced, scope only where an
     * interface is needed to make the address unambiguous. */
    {"[::1", 0, SC_EADDRFORMAT},
    {"::1]", 0, SC_EADDRFORMAT},
    {"[]", 0, SC_EADDRFORMAT},
    {"[]:80", 0, SC_EADDRFORMAT},
    {"[1.2.3.4]:80", 0, SC_EADDRFORMAT},
    {"[::1]80", 0, SC_EADDRFORMAT},
    {"[::1]]:80", 0, SC_EADDRFORMAT},
    {"[[::1]]:80", 0, SC_EADDRFORMAT},
    {"[::1] :80", 0, SC_EADDRFORMAT},
    {"[::g]:80", 0, SC_EADDRFORMAT},
    {"1:2:3:4:5:6:7:8:9", 0, SC_EADDRFORMAT},
    {"1::2::3", 0, SC_EADDRFORMAT},
    {":::", 0, SC_EADDRFORMAT},
    {"12345::", 0, SC_EADDRFORMAT},
    {"::ffff:01.2.3.4", 0, SC_EADDRFORMAT},
    {"::ffff:1.2.3", 0, SC_EADDRFORMAT},
    {"::1:80", SC_ADDR_PORT_REQUIRED, SC_EPORTRANGE},
    {"::1%2", 0, SC_EADDRFORMAT},
    {"[::1%2]:80", 0, SC_EADDRFORMAT},
    {"[2001:db8::1%2]:80", 0, SC_EADDRFORMAT},
    {"[::ffff:127.0.0.1%1]:80", 0, SC_EADDRFORMAT},
    {"[fe80::1%]:80", 0, SC_EADDRFORMAT},
    {"fe80::1%", 0, SC_EADDRFORMAT},
    {"[fe80::1%4294967296]:80", 0, SC_EADDRFORMAT},
    {"[fe80::1%02]:80", 0, SC_EADDRFORMAT},
    {"[fe80::1%-1]:80", SC_ADDR_NO_IFNAME, SC_EADDRFORMAT},
    {"[fe80::1%lo]:80", SC_ADDR_NO_IFNAME, SC_EADDRFORMAT},
    {"[fe80::1%sc_no_such_if]:80", 0, -ENODEV},
    {"fe80::1%sc_no_such_if", 0, -ENODEV},
    {"[fe80::1%an_interface_name_longer_than_ifnamsiz]:80", 0, -ENODEV},
};

static void expect_parse_formats(const accepted_t *t)
{
    sc_addr_t a;
    int rc = sc_addr_parse(&a, t->text, strlen(t->text), DEFAULT_PORT, t->flags);
    cr_assert_eq(rc, 0, "parse \"%s\" (flags %u): %d %s", t->text, t->flags, rc, sc_strerror(rc));
    char buf[SC_ADDR_STRLEN];
    int n = sc_addr_format((const struct sockaddr *)&a.ss, a.len, buf, sizeof(buf));
    cr_assert_eq(n, (int)strlen(t->formatted), "format of \"%s\": %d", t->text, n);
    cr_assert_str_eq(buf, t->formatted, "format of \"%s\"", t->text);
}

Test(addr_parse, accepts_every_form, .timeout = 10)
{
    for (size_t i = 0; i < sizeof(accepted_forms) / sizeof(accepted_forms[0]); i++)
        expect_parse_formats(&accepted_forms[i]);
}

Test(addr_parse, rejects_every_malformed_form_with_its_error, .timeout = 10)
{
    for (size_t i = 0; i < sizeof(rejected_forms) / sizeof(rejected_forms[0]); i++) {
        const rejected_t *t = &rejected_forms[i];
        sc_addr_t a;
        memset(&a, 0xa5, sizeof(a));
        sc_addr_t before = a;
        int rc = sc_addr_parse(&a, t->text, strlen(t->text), DEFAULT_PORT, t->flags);
        cr_expect_eq(rc, t->err, "parse \"%s\" (flags %u): got %d (%s), want %d (%s)", t->text, t->flags, rc,
                     sc_strerror(rc), t->err, sc_strerror(t->err));
        cr_expect_eq(memcmp(&a, &before, sizeof(a)), 0, "parse \"%s\" wrote to out on failure", t->text);
    }
}

Test(addr_parse, sets_fields_of_a_scoped_v6_address, .timeout = 10)
{
    sc_addr_t a;
    const char *text = "[fe80::1%42]:8080";
    cr_assert_eq(sc_addr_parse(&a, text, strlen(text), 0, SC_ADDR_PORT_REQUIRED | SC_ADDR_NO_IFNAME), 0);
    const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&a.ss;
    cr_assert_eq(a.len, sizeof(struct sockaddr_in6));
    cr_assert_eq(s6->sin6_family, AF_INET6);
    cr_assert_eq(ntohs(s6->sin6_port), 8080);
    cr_assert_eq(s6->sin6_scope_id, 42u);
    cr_assert_eq(s6->sin6_flowinfo, 0u);
    struct in6_addr want;
    cr_assert_eq(inet_pton(AF_INET6, "fe80::1", &want), 1);
    cr_assert_eq(memcmp(&s6->sin6_addr, &want, sizeof(want)), 0);
}

Test(addr_parse, sets_fields_of_a_v4_address, .timeout = 10)
{
    sc_addr_t a;
    cr_assert_eq(sc_addr_parse(&a, "10.20.30.40:5", 13, 0, 0), 0);
    const struct sockaddr_in *s4 = (const struct sockaddr_in *)&a.ss;
    cr_assert_eq(a.len, sizeof(struct sockaddr_in));
    cr_assert_eq(s4->sin_family, AF_INET);
    cr_assert_eq(ntohs(s4->sin_port), 5);
    cr_assert_eq(ntohl(s4->sin_addr.s_addr), 0x0a141e28u);
}

/* The text is read only up to len: an exact-size heap copy without a NUL
 * lets ASan catch any read past it, and the bytes after len must not
 * change the result. */
Test(addr_parse, reads_only_len_bytes_of_unterminated_text, .timeout = 10)
{
    for (size_t i = 0; i < sizeof(accepted_forms) / sizeof(accepted_forms[0]); i++) {
        const accepted_t *t = &accepted_forms[i];
        size_t n = strlen(t->text);
        char *exact = malloc(n);
        cr_assert_not_null(exact);
        memcpy(exact, t->text, n);
        sc_addr_t a, b;
        cr_expect_eq(sc_addr_parse(&a, exact, n, DEFAULT_PORT, t->flags), 0, "\"%s\" unterminated", t->text);
        cr_expect_eq(sc_addr_parse(&b, t->text, n, DEFAULT_PORT, t->flags), 0);
        cr_expect(sc_addr_equal(&a, &b), "\"%s\" differs when unterminated", t->text);
        free(exact);
    }
    sc_addr_t a;
    cr_assert_eq(sc_addr_parse(&a, "1.2.3.4:80junk", 10, 0, SC_ADDR_PORT_REQUIRED), 0);
    cr_assert_eq(sc_addr_port(&a), 80);
    cr_assert_eq(sc_addr_parse(&a, "[::1]:8080", 8, 0, 0), 0);
    cr_assert_eq(sc_addr_port(&a), 80);
}

Test(addr_parse, rejects_text_longer_than_text_max, .timeout = 10)
{
    /* "1.2.3.4:1" followed by zeros: the same bytes are a port out of
     * range at 128 bytes and text too long at 129. */
    char text[SC_ADDR_TEXT_MAX + 2];
    memset(text, '0', sizeof(text));
    memcpy(text, "1.2.3.4:", 8);
    text[8] = '1';
    sc_addr_t a;
    cr_assert_eq(sc_addr_parse(&a, text, SC_ADDR_TEXT_MAX + 1, 0, 0), SC_EADDRFORMAT);
    cr_assert_eq(sc_addr_parse(&a, text, SC_ADDR_TEXT_MAX, 0, 0), SC_EPORTRANGE);
    cr_assert_eq(sc_addr_parse(&a, text, 10, 0, 0), 0);
    cr_assert_eq(sc_addr_port(&a), 10);
}

Test(addr_parse, rejects_embedded_nul, .timeout = 10)
{
    sc_addr_t a;
    cr_assert_eq(sc_addr_parse(&a, "1.2.3.4\0:80", 11, 0, 0), SC_EADDRFORMAT);
    cr_assert_eq(sc_addr_parse(&a, "::1\0", 4, 0, 0), SC_EADDRFORMAT);
    cr_assert_eq(sc_addr_parse(&a, "8\0", 2, 0, 0), SC_EADDRFORMAT);
}

Test(addr_parse, rejects_null_arguments, .timeout = 10)
{
    sc_addr_t a;
    cr_assert_eq(sc_addr_parse(NULL, "1.2.3.4", 7, 0, 0), -EINVAL);
    cr_assert_eq(sc_addr_parse(&a, NULL, 3, 0, 0), -EINVAL);
    cr_assert_eq(sc_addr_parse(&a, NULL, 0, 0, 0), SC_EADDRFORMAT);
}

Test(addr_parse, looks_up_interface_names_for_scope, .timeout = 10)
{
    unsigned lo = if_nametoindex("lo");
    if (lo == 0)
        cr_skip_test("no interface named lo");
    sc_addr_t a;
    const char *text = "[fe80::1%lo]:80";
    cr_assert_eq(sc_addr_parse(&a, text, strlen(text), 0, 0), 0);
    cr_assert_eq(((const struct sockaddr_in6 *)&a.ss)->sin6_scope_id, lo);
    text = "fe80::2%lo";
    cr_assert_eq(sc_addr_parse(&a, text, strlen(text), 9, 0), 0);
    cr_assert_eq(((const struct sockaddr_in6 *)&a.ss)->sin6_scope_id, lo);
    cr_assert_eq(sc_addr_port(&a), 9);
    cr_assert_eq(sc_addr_parse(&a, text, strlen(text), 9, SC_ADDR_NO_IFNAME), SC_EADDRFORMAT);
}

Test(addr_parse, uses_default_port_only_when_port_is_absent, .timeout = 10)
{
    sc_addr_t a;
    cr_assert_eq(sc_addr_parse(&a, "1.2.3.4", 7, 4242, 0), 0);
    cr_assert_eq(sc_addr_port(&a), 4242);
    cr_assert_eq(sc_addr_parse(&a, "1.2.3.4:0", 9, 4242, 0), 0);
    cr_assert_eq(sc_addr_port(&a), 0);
    cr_assert_eq(sc_addr_parse(&a, "[::1]", 5, 4242, 0), 0);
    cr_assert_eq(sc_addr_port(&a), 4242);
}

/* Text -> sockaddr -> text -> sockaddr gives back the same address, and
 * the second text is the first formatted text (format is canonical). */
Test(addr_format, round_trips_every_accepted_form, .timeout = 10)
{
    for (size_t i = 0; i < sizeof(accepted_forms) / sizeof(accepted_forms[0]); i++) {
        const accepted_t *t = &accepted_forms[i];
        sc_addr_t a, b;
        cr_assert_eq(sc_addr_parse(&a, t->text, strlen(t->text), DEFAULT_PORT, t->flags), 0, "%s", t->text);
        char text1[SC_ADDR_STRLEN], text2[SC_ADDR_STRLEN];
        int n1 = sc_addr_format((const struct sockaddr *)&a.ss, a.len, text1, sizeof(text1));
        cr_assert_gt(n1, 0, "%s", t->text);
        cr_assert_eq(sc_addr_parse(&b, text1, (size_t)n1, 0, SC_ADDR_PORT_REQUIRED | SC_ADDR_NO_IFNAME), 0,
                     "%s -> %s", t->text, text1);
        cr_assert(sc_addr_equal(&a, &b), "%s -> %s parses to another address", t->text, text1);
        int n2 = sc_addr_format((const struct sockaddr *)&b.ss, b.len, text2, sizeof(text2));
        cr_assert_eq(n2, n1);
        cr_assert_str_eq(text2, text1);
    }
}

Test(addr_format, needs_room_for_text_and_nul, .timeout = 10)
{
    sc_addr_t a;
    cr_assert_eq(sc_addr_parse(&a, "1.2.3.4:80", 10, 0, 0), 0);
    char buf[16];
    memset(buf, 'x', sizeof(buf));
    cr_assert_eq(sc_addr_format((const struct sockaddr *)&a.ss, a.len, buf, 10), -ENOSPC);
    cr_assert_eq(sc_addr_format((const struct sockaddr *)&a.ss, a.len, buf, 0), -ENOSPC);
    cr_assert_eq(sc_addr_format((const struct sockaddr *)&a.ss, a.len, NULL, 16), -ENOSPC);
    cr_assert_eq(buf[10], 'x', "wrote past cap");
    cr_assert_eq(sc_addr_format((const struct sockaddr *)&a.ss, a.len, buf, 11), 10);
    cr_assert_str_eq(buf, "1.2.3.4:80");
    cr_assert_eq(buf[11], 'x', "wrote past the NUL");
}

Test(addr_format, longest_text_fits_strlen, .timeout = 10)
{
    struct sockaddr_in6 s6;
    memset(&s6, 0, sizeof(s6));
    s6.sin6_family = AF_INET6;
    memset(&s6.sin6_addr, 0xff, sizeof(s6.sin6_addr));
    s6.sin6_addr.s6_addr[0] = 0xfe;
    s6.sin6_addr.s6_addr[1] = 0xbf;
    s6.sin6_scope_id = 4294967295u;
    s6.sin6_port = htons(65535);
    char buf[SC_ADDR_STRLEN];
    const char *want = "[febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff%4294967295]:65535";
    cr_assert_eq(sc_addr_format((const struct sockaddr *)&s6, sizeof(s6), buf, sizeof(buf)), (int)strlen(want));
    cr_assert_str_eq(buf, want);
}

Test(addr_format, rejects_bad_family_and_short_length, .timeout = 10)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    char buf[SC_ADDR_STRLEN];
    ss.ss_family = AF_UNIX;
    cr_assert_eq(sc_addr_format((const struct sockaddr *)&ss, sizeof(ss), buf, sizeof(buf)), -EAFNOSUPPORT);
    ss.ss_family = AF_INET;
    cr_assert_eq(sc_addr_format((const struct sockaddr *)&ss, sizeof(struct sockaddr_in) - 1, buf, sizeof(buf)),
                 -EINVAL);
    ss.ss_family = AF_INET6;
    cr_assert_eq(sc_addr_format((const struct sockaddr *)&ss, sizeof(struct sockaddr_in), buf, sizeof(buf)),
                 -EINVAL);
    cr_assert_eq(sc_addr_format(NULL, 0, buf, sizeof(buf)), -EINVAL);
    /* A scope on ::1 is not an address any stack accepts. */
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    s6->sin6_addr = in6addr_loopback;
    s6->sin6_scope_id = 1;
    cr_assert_eq(sc_addr_format((const struct sockaddr *)&ss, sizeof(*s6), buf, sizeof(buf)), -EINVAL);
}

static struct sockaddr_in make_v4(const char *ip, uint16_t port)
{
    struct sockaddr_in s;
    memset(&s, 0, sizeof(s));
    s.sin_family = AF_INET;
    s.sin_port = htons(port);
    cr_assert_eq(inet_pton(AF_INET, ip, &s.sin_addr), 1, "%s", ip);
    return s;
}

static struct sockaddr_in6 make_v6(const char *ip, uint16_t port, uint32_t scope)
{
    struct sockaddr_in6 s;
    memset(&s, 0, sizeof(s));
    s.sin6_family = AF_INET6;
    s.sin6_port = htons(port);
    s.sin6_scope_id = scope;
    cr_assert_eq(inet_pton(AF_INET6, ip, &s.sin6_addr), 1, "%s", ip);
    return s;
}

/* Every length from 0 to the structure's size, each given as an
 * exact-size heap block so that ASan reports any read beyond len. */
static void expect_every_length(const void *sa, size_t size)
{
    for (size_t len = 0; len <= size + 4; len++) {
        unsigned char *exact = malloc(len ? len : 1);
        cr_assert_not_null(exact);
        memset(exact, 0, len);
        memcpy(exact, sa, len < size ? len : size);
        int want = len < size ? -EINVAL : 0;
        cr_expect_eq(sc_addr_validate(exact, len, 0), want, "len %zu of %zu", len, size);
        sc_addr_t a;
        cr_expect_eq(sc_addr_from_bytes(&a, exact, len), want, "from_bytes len %zu", len);
        cr_expect_eq(a.len, want == 0 ? (sc_socklen_t)size : 0, "from_bytes len %zu", len);
        char buf[SC_ADDR_STRLEN];
        int n = sc_addr_format((const struct sockaddr *)exact, len, buf, sizeof(buf));
        cr_expect(want == 0 ? n > 0 : n == want, "format len %zu: %d", len, n);
        free(exact);
    }
}

Test(addr_validate, checks_every_truncated_length_of_sockaddr_in, .timeout = 10)
{
    struct sockaddr_in s = make_v4("192.0.2.1", 80);
    expect_every_length(&s, sizeof(s));
}

Test(addr_validate, checks_every_truncated_length_of_sockaddr_in6, .timeout = 10)
{
    struct sockaddr_in6 s = make_v6("fe80::1", 80, 3);
    expect_every_length(&s, sizeof(s));
}

Test(addr_validate, rejects_families_other_than_inet, .timeout = 10)
{
    static const int families[] = {AF_UNSPEC, AF_UNIX, 3, 0x7fff, 0xffff};
    for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
        struct sockaddr_storage ss;
        memset(&ss, 0, sizeof(ss));
        ss.ss_family = (sa_family_t)families[i];
        cr_expect_eq(sc_addr_validate(&ss, sizeof(ss), 0), -EAFNOSUPPORT, "family %d", families[i]);
        sc_addr_t a;
        cr_expect_eq(sc_addr_from_bytes(&a, &ss, sizeof(ss)), -EAFNOSUPPORT, "family %d", families[i]);
        cr_expect_eq(a.len, 0);
    }
    cr_assert_eq(sc_addr_validate(NULL, 16, 0), -EINVAL);
}

Test(addr_validate, rejects_v4_mapped_only_when_asked, .timeout = 10)
{
    struct sockaddr_in6 m = make_v6("::ffff:192.0.2.1", 80, 0);
    cr_assert_eq(sc_addr_validate(&m, sizeof(m), 0), 0);
    cr_assert_eq(sc_addr_validate(&m, sizeof(m), SC_ADDR_REJECT_V4MAPPED), -EINVAL);
    struct sockaddr_in6 compat = make_v6("::192.0.2.1", 80, 0);
    cr_assert_eq(sc_addr_validate(&compat, sizeof(compat), SC_ADDR_REJECT_V4MAPPED), 0);
    struct sockaddr_in v4 = make_v4("192.0.2.1", 80);
    cr_assert_eq(sc_addr_validate(&v4, sizeof(v4), SC_ADDR_REJECT_V4MAPPED), 0);
}

Test(addr_validate, requires_a_port_only_when_asked, .timeout = 10)
{
    struct sockaddr_in v4 = make_v4("192.0.2.1", 0);
    struct sockaddr_in6 v6 = make_v6("2001:db8::1", 0, 0);
    cr_assert_eq(sc_addr_validate(&v4, sizeof(v4), 0), 0);
    cr_assert_eq(sc_addr_validate(&v6, sizeof(v6), 0), 0);
    cr_assert_eq(sc_addr_validate(&v4, sizeof(v4), SC_ADDR_REQUIRE_PORT), -EINVAL);
    cr_assert_eq(sc_addr_validate(&v6, sizeof(v6), SC_ADDR_REQUIRE_PORT), -EINVAL);
    v4.sin_port = htons(1);
    v6.sin6_port = htons(1);
    cr_assert_eq(sc_addr_validate(&v4, sizeof(v4), SC_ADDR_REQUIRE_PORT), 0);
    cr_assert_eq(sc_addr_validate(&v6, sizeof(v6), SC_ADDR_REQUIRE_PORT), 0);
}

Test(addr_validate, requires_loopback_only_when_asked, .timeout = 10)
{
    static const char *const v4_yes[] = {"127.0.0.1", "127.0.0.0", "127.255.255.255", "127.1.2.3"};
    static const char *const v4_no[] = {"0.0.0.0", "126.255.255.255", "128.0.0.1", "10.0.0.1", "255.255.255.255"};
    static const char *const v6_yes[] = {"::1", "::ffff:127.0.0.1", "::ffff:127.255.0.9"};
    static const char *const v6_no[] = {"::", "::2", "::127.0.0.1", "::ffff:10.0.0.1", "fe80::1", "2001:db8::1",
                                        "1::1"};
    for (size_t i = 0; i < sizeof(v4_yes) / sizeof(v4_yes[0]); i++) {
        struct sockaddr_in s = make_v4(v4_yes[i], 1);
        cr_expect_eq(sc_addr_validate(&s, sizeof(s), SC_ADDR_REQUIRE_LOOPBACK), 0, "%s", v4_yes[i]);
    }
    for (size_t i = 0; i < sizeof(v4_no) / sizeof(v4_no[0]); i++) {
        struct sockaddr_in s = make_v4(v4_no[i], 1);
        cr_expect_eq(sc_addr_validate(&s, sizeof(s), 0), 0, "%s", v4_no[i]);
        cr_expect_eq(sc_addr_validate(&s, sizeof(s), SC_ADDR_REQUIRE_LOOPBACK), -EADDRNOTAVAIL, "%s", v4_no[i]);
    }
    for (size_t i = 0; i < sizeof(v6_yes) / sizeof(v6_yes[0]); i++) {
        struct sockaddr_in6 s = make_v6(v6_yes[i], 1, 0);
        cr_expect_eq(sc_addr_validate(&s, sizeof(s), SC_ADDR_REQUIRE_LOOPBACK), 0, "%s", v6_yes[i]);
    }
    for (size_t i = 0; i < sizeof(v6_no) / sizeof(v6_no[0]); i++) {
        struct sockaddr_in6 s = make_v6(v6_no[i], 1, 0);
        cr_expect_eq(sc_addr_validate(&s, sizeof(s), 0), 0, "%s", v6_no[i]);
        cr_expect_eq(sc_addr_validate(&s, sizeof(s), SC_ADDR_REQUIRE_LOOPBACK), -EADDRNOTAVAIL, "%s", v6_no[i]);
    }
}

/* RFC 4007: a zone index belongs to addresses whose scope is smaller than
 * global (link-local unicast, interface- and link-local multicast). */
Test(addr_validate, allows_scope_only_on_link_local, .timeout = 10)
{
    static const char *const scoped[] = {"fe80::1", "febf::1", "ff02::1", "ff12::1", "ff01::1"};
    static const char *const unscoped[] = {"::1", "::", "2001:db8::1", "fec0::1", "ff05::1", "ff0e::1",
                                           "::ffff:169.254.0.1"};
    for (size_t i = 0; i < sizeof(scoped) / sizeof(scoped[0]); i++) {
        struct sockaddr_in6 s = make_v6(scoped[i], 1, 7);
        cr_expect_eq(sc_addr_validate(&s, sizeof(s), 0), 0, "%s%%7", scoped[i]);
        char text[SC_ADDR_STRLEN];
        snprintf(text, sizeof(text), "[%s%%7]:1", scoped[i]);
        sc_addr_t a;
        cr_expect_eq(sc_addr_parse(&a, text, strlen(text), 0, 0), 0, "%s", text);
    }
    for (size_t i = 0; i < sizeof(unscoped) / sizeof(unscoped[0]); i++) {
        struct sockaddr_in6 s = make_v6(unscoped[i], 1, 7);
        cr_expect_eq(sc_addr_validate(&s, sizeof(s), 0), -EINVAL, "%s%%7", unscoped[i]);
        s.sin6_scope_id = 0;
        cr_expect_eq(sc_addr_validate(&s, sizeof(s), 0), 0, "%s", unscoped[i]);
        char text[SC_ADDR_STRLEN];
        snprintf(text, sizeof(text), "[%s%%7]:1", unscoped[i]);
        sc_addr_t a;
        cr_expect_eq(sc_addr_parse(&a, text, strlen(text), 0, 0), SC_EADDRFORMAT, "%s", text);
    }
}

Test(addr_validate, from_bytes_trims_length_to_the_family, .timeout = 10)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    struct sockaddr_in v4 = make_v4("192.0.2.9", 9);
    memcpy(&ss, &v4, sizeof(v4));
    sc_addr_t a;
    cr_assert_eq(sc_addr_from_bytes(&a, &ss, sizeof(ss)), 0);
    cr_assert_eq(a.len, sizeof(struct sockaddr_in));
    cr_assert_eq(sc_addr_family(&a), AF_INET);
    cr_assert_eq(sc_addr_port(&a), 9);
    cr_assert_eq(sc_addr_from_bytes(NULL, &ss, sizeof(ss)), -EINVAL);
    /* Copying an address onto itself (re-validating) keeps it intact. */
    cr_assert_eq(sc_addr_parse(&a, "[fe80::1%3]:9", 13, 0, 0), 0);
    sc_addr_t before = a;
    cr_assert_eq(sc_addr_from_bytes(&a, &a.ss, a.len), 0);
    cr_assert(sc_addr_equal(&a, &before));
    cr_assert_eq(a.len, sizeof(struct sockaddr_in6));
}

Test(addr_misc, loopback_predicate_matches_the_ranges, .timeout = 10)
{
    static const struct {
        const char *text;
        int loopback;
    } cases[] = {
        {"127.0.0.1:1", 1},  {"127.255.255.255:1", 1}, {"127.0.0.0:1", 1},       {"[::1]:1", 1},
        {"[::ffff:127.0.0.1]:1", 1}, {"[::ffff:127.9.9.9]:1", 1},   {"128.0.0.1:1", 0},   {"126.0.0.1:1", 0},
        {"0.0.0.0:1", 0},    {"[::]:1", 0},             {"[::2]:1", 0},           {"[::127.0.0.1]:1", 0},
        {"[::ffff:128.0.0.1]:1", 0}, {"[fe80::1%1]:1", 0},      {"[1::1]:1", 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sc_addr_t a;
        cr_assert_eq(sc_addr_parse(&a, cases[i].text, strlen(cases[i].text), 0, 0), 0, "%s", cases[i].text);
        cr_expect_eq(sc_addr_is_loopback(&a), cases[i].loopback, "%s", cases[i].text);
    }
    sc_addr_t empty;
    memset(&empty, 0, sizeof(empty));
    cr_assert_eq(sc_addr_is_loopback(&empty), 0);
    cr_assert_eq(sc_addr_is_loopback(NULL), 0);
}

Test(addr_misc, port_accessors_follow_the_family, .timeout = 10)
{
    sc_addr_t a;
    cr_assert_eq(sc_addr_parse(&a, "1.2.3.4:1", 9, 0, 0), 0);
    sc_addr_set_port(&a, 65535);
    cr_assert_eq(sc_addr_port(&a), 65535);
    cr_assert_eq(ntohs(((struct sockaddr_in *)&a.ss)->sin_port), 65535);
    cr_assert_eq(sc_addr_parse(&a, "[::1]:1", 7, 0, 0), 0);
    sc_addr_set_port(&a, 443);
    cr_assert_eq(sc_addr_port(&a), 443);
    cr_assert_eq(ntohs(((struct sockaddr_in6 *)&a.ss)->sin6_port), 443);
    sc_addr_t empty;
    memset(&empty, 0, sizeof(empty));
    sc_addr_set_port(&empty, 80);
    cr_assert_eq(sc_addr_port(&empty), 0);
    cr_assert_eq(sc_addr_family(&empty), AF_UNSPEC);
    cr_assert_eq(sc_addr_family(&a), AF_INET6);
}

Test(addr_misc, equal_compares_family_address_port_and_scope, .timeout = 10)
{
    static const char *const distinct[] = {"1.2.3.4:80", "1.2.3.4:81", "1.2.3.5:80", "[::ffff:1.2.3.4]:80",
                                           "[fe80::1%1]:80", "[fe80::1%2]:80", "[fe80::2%1]:80", "[::1]:80"};
    size_t n = sizeof(distinct) / sizeof(distinct[0]);
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < n; j++) {
            sc_addr_t a, b;
            cr_assert_eq(sc_addr_parse(&a, distinct[i], strlen(distinct[i]), 0, 0), 0);
            cr_assert_eq(sc_addr_parse(&b, distinct[j], strlen(distinct[j]), 0, 0), 0);
            cr_expect_eq(sc_addr_equal(&a, &b), i == j, "%s vs %s", distinct[i], distinct[j]);
        }
    }
    /* Flow labels are not part of the address. */
    sc_addr_t a, b;
    cr_assert_eq(sc_addr_parse(&a, "[::1]:80", 8, 0, 0), 0);
    b = a;
    ((struct sockaddr_in6 *)&b.ss)->sin6_flowinfo = htonl(5);
    cr_assert_eq(sc_addr_equal(&a, &b), 1);
    /* Two empty addresses are equal; an empty one equals no address. */
    sc_addr_t e1, e2;
    memset(&e1, 0, sizeof(e1));
    memset(&e2, 0xff, sizeof(e2));
    e2.len = 0;
    cr_assert_eq(sc_addr_equal(&e1, &e2), 1);
    cr_assert_eq(sc_addr_equal(&e1, &a), 0);
}

static int count_loopback(const sc_addr_t *out, int n)
{
    int k = 0;
    for (int i = 0; i < n; i++)
        k += sc_addr_is_loopback(&out[i]);
    return k;
}

Test(addr_misc, resolves_localhost_to_loopback, .timeout = 30)
{
    sc_addr_t out[8];
    int n = sc_addr_resolve("localhost", "80", SOCK_STREAM, out, 8);
    cr_assert_gt(n, 0, "resolve localhost: %d %s", n, sc_strerror(n));
    cr_assert_eq(count_loopback(out, n), n, "localhost gave a non-loopback address");
    for (int i = 0; i < n; i++)
        cr_expect_eq(sc_addr_port(&out[i]), 80);
    cr_assert_eq(sc_addr_resolve("localhost", "80", SOCK_STREAM, out, 1), 1);
}

Test(addr_misc, resolves_numeric_hosts_exactly, .timeout = 30)
{
    sc_addr_t out[4];
    cr_assert_eq(sc_addr_resolve("127.0.0.1", "7", SOCK_DGRAM, out, 4), 1);
    cr_assert_eq(sc_addr_family(&out[0]), AF_INET);
    cr_assert_eq(sc_addr_port(&out[0]), 7);
    cr_assert_eq(sc_addr_is_loopback(&out[0]), 1);
    /* Without AI_ADDRCONFIG ::1 resolves even where no IPv6 is set up. */
    cr_assert_eq(sc_addr_resolve("::1", "65535", SOCK_STREAM, out, 4), 1);
    cr_assert_eq(sc_addr_family(&out[0]), AF_INET6);
    cr_assert_eq(sc_addr_port(&out[0]), 65535);
    /* Socket type 0 lists each address once, not once per socket type. */
    cr_assert_eq(sc_addr_resolve("127.0.0.1", "7", 0, out, 4), 1);
}

Test(addr_misc, resolve_fails_without_any_address, .timeout = 30)
{
    sc_addr_t out[2];
    /* An unknown service name fails before any DNS query is sent. */
    cr_assert_eq(sc_addr_resolve("127.0.0.1", "sc-no-such-service", SOCK_STREAM, out, 2), SC_ERESOLVE);
    cr_assert_eq(sc_addr_resolve("127.0.0.1", "7", SOCK_STREAM, NULL, 2), -EINVAL);
    cr_assert_eq(sc_addr_resolve("127.0.0.1", "7", SOCK_STREAM, out, 0), -EINVAL);
}

static void expect_of_socket(int family, int socktype)
{
    sc_addr_t bound;
    int s = sct_bound(family, socktype, &bound);
    sc_addr_t a;
    cr_assert_eq(sc_addr_of_socket(&a, s), 0);
    cr_assert_eq(sc_addr_family(&a), family);
    cr_assert_neq(sc_addr_port(&a), 0);
    cr_assert_eq(sc_addr_is_loopback(&a), 1);
    cr_assert(sc_addr_equal(&a, &bound));
    close(s);
}

Test(addr_misc, of_socket_reads_loopback_port, .timeout = 10)
{
    expect_of_socket(AF_INET, SOCK_STREAM);
    expect_of_socket(AF_INET, SOCK_DGRAM);
}

Test(addr_misc, of_socket_reads_v6_loopback_port, .timeout = 10)
{
    expect_of_socket(AF_INET6, SOCK_DGRAM);
}

Test(addr_misc, of_socket_reports_getsockname_errors_through_seam, .timeout = 10)
{
    sc_fault_t f;
    sc_fault_init(&f, NULL);
    cr_assert_eq(sc_fault_add(&f, SC_OP_GETSOCKNAME, 0, 0, -ENOBUFS, 0), 0);
    int s = sct_bound(AF_INET, SOCK_DGRAM, NULL);
    sc_addr_t a;
    const sc_sys_t *old = sc_sys_install(&f.sys);
    int rc = sc_addr_of_socket(&a, s);
    sc_sys_install(old);
    cr_assert_eq(rc, -ENOBUFS);
    cr_assert_eq(f.calls[SC_OP_GETSOCKNAME], 1u);
    cr_assert_eq(a.len, 0);
    close(s);
#if defined(_WIN32)
    /* INVALID_SOCKET is no socket: getsockname fails with WSAENOTSOCK
     * (getsockname function, Return value). */
    cr_assert_eq(sc_addr_of_socket(&a, SC_INVALID_SOCK), -ENOTSOCK);
#else
    cr_assert_eq(sc_addr_of_socket(&a, SC_INVALID_SOCK), -EBADF);
#endif
    cr_assert_eq(sc_addr_of_socket(NULL, SC_INVALID_SOCK), -EINVAL);
}

#if defined(_WIN32)
#include <afunix.h>

/* Winsock has no socketpair (the suites' one is TCP over loopback): the
 * non-inet socket is an AF_UNIX stream socket bound to a new path in the
 * temporary directory, which Windows 10 1803 and later provide (afunix.h;
 * "AF_UNIX comes to Windows", Windows Command Line blog, 2017). */
Test(addr_misc, of_socket_rejects_non_inet_sockets, .timeout = 10)
{
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    if (s < 0 && errno == EAFNOSUPPORT)
        cr_skip_test("no AF_UNIX sockets on this Windows (Windows 10 1803 and later have them)");
    cr_assert_geq(s, 0, "socket AF_UNIX: %s", strerror(errno));
    struct sockaddr_un un;
    memset(&un, 0, sizeof(un));
    un.sun_family = AF_UNIX;
    char dir[MAX_PATH];
    DWORD n = GetTempPathA(sizeof(dir), dir);
    cr_assert(n > 0 && n < sizeof(dir), "GetTempPath");
    snprintf(un.sun_path, sizeof(un.sun_path), "%ssct-%lu.sock", dir, (unsigned long)GetCurrentProcessId());
    DeleteFileA(un.sun_path);
    cr_assert_eq(bind(s, (struct sockaddr *)&un, sizeof(un)), 0, "bind %s: %s", un.sun_path, strerror(errno));
    sc_addr_t a;
    int rc = sc_addr_of_socket(&a, s);
    close(s);
    DeleteFileA(un.sun_path);
    cr_assert_eq(rc, -EAFNOSUPPORT);
}
#else
Test(addr_misc, of_socket_rejects_non_inet_sockets, .timeout = 10)
{
    int sv[2];
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    sc_addr_t a;
    cr_assert_eq(sc_addr_of_socket(&a, sv[0]), -EAFNOSUPPORT);
    close(sv[0]);
    close(sv[1]);
}
#endif
