/* Conformance of inet_pton(), inet_ntop(), IN6_IS_ADDR_V4MAPPED and the
 * byte-order functions (matrix rows IN-01..IN-09). Each test walks a table
 * of inputs and names every failing input. */
#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* A family no libc knows. */
#define AF_BOGUS 12345

Test(inet, pton_returns_1_0_or_eafnosupport, .description = "IN-01", .timeout = 10)
{
    unsigned char buf[16];
    cr_assert_eq(inet_pton(AF_INET, "127.0.0.1", buf), 1);
    cr_assert_eq(inet_pton(AF_INET6, "::1", buf), 1);
    cr_assert_eq(inet_pton(AF_INET, "x", buf), 0);
    cr_assert_eq(inet_pton(AF_INET6, "x", buf), 0);
    errno = 0;
    cr_assert_eq(inet_pton(AF_BOGUS, "127.0.0.1", buf), -1);
    cr_assert_eq(errno, EAFNOSUPPORT, "inet_pton: errno %d (%s)", errno, strerror(errno));
    char text[64];
    errno = 0;
    cr_assert_null(inet_ntop(AF_BOGUS, buf, text, sizeof(text)));
    cr_assert_eq(errno, EAFNOSUPPORT, "inet_ntop: errno %d (%s)", errno, strerror(errno));
}

/* POSIX: inet_pton AF_INET takes only dotted decimal "ddd.ddd.ddd.ddd";
 * the octal, hex and short forms inet_addr() accepts are rejected. */
Test(inet, pton_v4_rejects_non_dotted_decimal, .description = "IN-02", .timeout = 10)
{
    static const char *const bad[] = {"1.2.03.4",          "1.2.0x33.4", "1.0xabcdef",
                                      "00377.0x0ff.65534", "0x7f.1",     "127.1"};
    for (size_t i = 0; i < N_OF(bad); i++) {
        unsigned char buf[4];
        cr_expect_eq(inet_pton(AF_INET, bad[i], buf), 0, "\"%s\" accepted", bad[i]);
    }
    /* inet_addr still takes the classic forms: the contrast. */
    cr_assert_neq(inet_addr("1.0xabcdef"), INADDR_NONE, "inet_addr rejects a classic form");
}

Test(inet, pton_v4_rejects_malformed, .description = "IN-03", .timeout = 10)
{
    static const char *const bad[] = {".1.2.3",   "1..2.3", "1.2.3.",   "1.2.3.4.5", "1.256.2.3",
                                      "1.2. 3.4", "",       "1.2.3.4 ", "-1.2.3.4"};
    for (size_t i = 0; i < N_OF(bad); i++) {
        unsigned char buf[4];
        cr_expect_eq(inet_pton(AF_INET, bad[i], buf), 0, "\"%s\" accepted", bad[i]);
    }
}

struct v6_case {
    const char *text;
    unsigned char bytes[16];
};

Test(inet, pton_v6_accepts_valid_forms, .description = "IN-04", .timeout = 10)
{
    static const struct v6_case ok[] = {
        {"::", {0}},
        {"::1", {[15] = 1}},
        {"::ffff:192.168.1.1", {[10] = 0xff, [11] = 0xff, [12] = 192, [13] = 168, [14] = 1, [15] = 1}},
        {"0:0::0:0:0:192.168.1.1", {[12] = 192, [13] = 168, [14] = 1, [15] = 1}},
        {"a:b::c:d:e:f", {0, 0xa, 0, 0xb, 0, 0, 0, 0, 0, 0xc, 0, 0xd, 0, 0xe, 0, 0xf}},
        {"1:2:3:4:5:6:7::", {0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7, 0, 0}},
        {"::1:2:3:4:5:6:7", {0, 0, 0, 1, 0, 2, 0, 3, 0, 4, 0, 5, 0, 6, 0, 7}},
        {"FFFF:abcd::", {0xff, 0xff, 0xab, 0xcd}},
    };
    for (size_t i = 0; i < N_OF(ok); i++) {
        unsigned char buf[16];
        memset(buf, 0x55, sizeof(buf));
        int rc = inet_pton(AF_INET6, ok[i].text, buf);
        cr_expect_eq(rc, 1, "\"%s\" rejected", ok[i].text);
        if (rc == 1)
            cr_expect_eq(memcmp(buf, ok[i].bytes, 16), 0, "\"%s\" parsed to the wrong bytes", ok[i].text);
    }
}

Test(inet, pton_v6_rejects_invalid_forms, .description = "IN-05", .timeout = 10)
{
    static const char *const bad[] = {":",           ":::",     "1:2:3:4:5:6:7:8::", "::0::",
                                      "1::2::3",     "0000e::", "::0000e",           "::012.34.56.78",
                                      "192.168.1.1", "c0a8",    "1:2:3:4:5:6:7:8:9", "g::1",
                                      "::1 ",        ""};
    for (size_t i = 0; i < N_OF(bad); i++) {
        unsigned char buf[16];
        cr_expect_eq(inet_pton(AF_INET6, bad[i], buf), 0, "\"%s\" accepted", bad[i]);
    }
}

/* POSIX: ENOSPC when size is too small for the text and its NUL. Windows:
 * ERROR_INVALID_PARAMETER (EINVAL here) for a zero size or a buffer too
 * short for the text (inet_ntop function, Return value). */
#if defined(_WIN32)
#define NTOP_TOO_SMALL EINVAL
#else
#define NTOP_TOO_SMALL ENOSPC
#endif

Test(inet, ntop_enospc_when_buffer_too_small, .description = "IN-06", .timeout = 10)
{
    struct {
        int af;
        const char *text;
    } cases[] = {{AF_INET, "255.255.255.255"}, {AF_INET6, "1234:5678:9abc:def0:1234:5678:9abc:def0"}};
    for (size_t i = 0; i < N_OF(cases); i++) {
        unsigned char bin[16];
        cr_assert_eq(inet_pton(cases[i].af, cases[i].text, bin), 1);
        char out[INET6_ADDRSTRLEN + 8];
        size_t need = strlen(cases[i].text) + 1;
        const size_t small[] = {0, need - 1};
        for (size_t k = 0; k < N_OF(small); k++) {
            errno = 0;
            cr_expect_null(inet_ntop(cases[i].af, bin, out, (socklen_t)small[k]), "%s: size %zu accepted",
                           cases[i].text, small[k]);
            cr_expect_eq(errno, NTOP_TOO_SMALL, "%s size %zu: errno %d (%s)", cases[i].text, small[k], errno,
                         strerror(errno));
        }
        cr_assert_eq(inet_ntop(cases[i].af, bin, out, (socklen_t)need), out, "exact size refused");
        cr_assert_str_eq(out, cases[i].text);
    }
}

Test(inet, ntop_writes_v4_mapped_dotted_and_round_trips, .description = "IN-07", .timeout = 10)
{
    static const char *const texts[] = {"::ffff:1.2.3.4", "::ffff:127.0.0.1", "::ffff:255.255.255.255"};
    for (size_t i = 0; i < N_OF(texts); i++) {
        unsigned char bin[16], again[16];
        cr_assert_eq(inet_pton(AF_INET6, texts[i], bin), 1, "%s", texts[i]);
        char out[INET6_ADDRSTRLEN];
        cr_assert_not_null(inet_ntop(AF_INET6, bin, out, sizeof(out)));
        cr_expect_str_eq(out, texts[i], "\"%s\" printed as \"%s\"", texts[i], out);
        cr_assert_eq(inet_pton(AF_INET6, out, again), 1, "\"%s\" does not parse back", out);
        cr_expect_eq(memcmp(bin, again, 16), 0, "\"%s\" does not round-trip", texts[i]);
    }
}

Test(inet, v4mapped_macro_matches_only_ffff_prefix, .description = "IN-08", .timeout = 10)
{
    static const struct {
        const char *text;
        int mapped;
    } cases[] = {
        {"::ffff:1.2.3.4", 1},
        {"::ffff:0.0.0.0", 1},
        {"::ffff:0:0", 1},
        {"::1.2.3.4", 0},
        {"::fffe:1.2.3.4", 0},
        {"1::ffff:1.2.3.4", 0},
        {"::", 0},
        {"::1", 0},
        {"ffff::1.2.3.4", 0},
        {"::ffff:ffff:ffff", 1},
        {"64:ff9b::1.2.3.4", 0},
    };
    for (size_t i = 0; i < N_OF(cases); i++) {
        struct in6_addr a;
        cr_assert_eq(inet_pton(AF_INET6, cases[i].text, &a), 1, "%s", cases[i].text);
        cr_expect_eq(!!IN6_IS_ADDR_V4MAPPED(&a), cases[i].mapped, "IN6_IS_ADDR_V4MAPPED(%s)", cases[i].text);
    }
}

/* Network byte order is big-endian whatever the host: the bytes in memory
 * after htons/htonl are the most significant first, and the reverse
 * functions undo them. */
Test(inet, htons_htonl_give_network_byte_order, .description = "IN-09", .timeout = 10)
{
    uint16_t s = htons(0x1234);
    uint32_t l = htonl(0x89abcdefu);
    unsigned char b[4];
    memcpy(b, &s, 2);
    cr_assert_eq(b[0], 0x12);
    cr_assert_eq(b[1], 0x34);
    memcpy(b, &l, 4);
    cr_assert_eq(b[0], 0x89);
    cr_assert_eq(b[1], 0xab);
    cr_assert_eq(b[2], 0xcd);
    cr_assert_eq(b[3], 0xef);
    cr_assert_eq(ntohs(s), 0x1234);
    cr_assert_eq(ntohl(l), 0x89abcdefu);
    static const uint32_t probes[] = {0,       1,          0xff,        0x100,      0xffff,
                                      0x10000, 0x7fffffff, 0x80000000u, 0xffffffffu};
    for (size_t i = 0; i < N_OF(probes); i++) {
        cr_expect_eq(ntohl(htonl(probes[i])), probes[i]);
        cr_expect_eq(ntohs(htons((uint16_t)probes[i])), (uint16_t)probes[i]);
    }
}
