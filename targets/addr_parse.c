/* Fuzz target addr_parse: the input is address text for sc_addr_parse.
 * Target functions: sc_addr_parse, sc_addr_format, sc_addr_equal.
 * Oracles (abort on failure):
 *  - round trip: text -> sc_addr_parse -> sc_addr_format -> sc_addr_parse
 *    gives an equal address, and formatting that gives the same text;
 *  - flags: SC_ADDR_PORT_REQUIRED only ever adds SC_EPORTRANGE, and a
 *    failed parse leaves its output untouched;
 *  - differential against inet_pton on the bare forms: a text without
 *    ':' that has a '.' (IPv4) or with two or more ':' (IPv6), without '['
 *    or '%', is accepted by sc_addr_parse iff inet_pton accepts it, with
 *    the same address. Intended differences, not compared: "80" and ":80"
 *    are sockcheck's bare-port forms (127.0.0.1), one-colon texts are
 *    "v4:port", brackets and "%scope" are not inet_pton syntax (a scoped
 *    text must still have an address part inet_pton accepts), and a text
 *    with a NUL byte is rejected whole where inet_pton would stop at it.
 * SC_ADDR_NO_IFNAME keeps the target deterministic (no interface lookup). */
#include "sockcheck/addr.h"
#include "sockcheck/net.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_PORT 7
#define CHECK(cond) ((cond) ? (void)0 : abort())

static void check_round_trip(const sc_addr_t *a)
{
    char text[SC_ADDR_STRLEN], again[SC_ADDR_STRLEN];
    int n = sc_addr_format((const struct sockaddr *)&a->ss, a->len, text, sizeof(text));
    CHECK(n > 0 && (size_t)n < sizeof(text) && strlen(text) == (size_t)n);
    sc_addr_t b;
    CHECK(sc_addr_parse(&b, text, (size_t)n, 0, SC_ADDR_PORT_REQUIRED | SC_ADDR_NO_IFNAME) == 0);
    CHECK(sc_addr_equal(a, &b));
    CHECK(sc_addr_format((const struct sockaddr *)&b.ss, b.len, again, sizeof(again)) == n);
    CHECK(memcmp(text, again, (size_t)n + 1) == 0);
}

static void check_against_inet_pton(const char *text, int rc, const sc_addr_t *a)
{
    if (strchr(text, '[') || strchr(text, ']'))
        return;
    const char *colon = strchr(text, ':');
    const char *pct = strchr(text, '%');
    if (!colon && strchr(text, '.') && !pct) {
        struct in_addr v4;
        int ok = inet_pton(AF_INET, text, &v4) == 1;
        CHECK(ok == (rc == 0));
        if (ok)
            CHECK(sc_addr_family(a) == AF_INET &&
                  ((const struct sockaddr_in *)&a->ss)->sin_addr.s_addr == v4.s_addr);
    } else if (colon && strchr(colon + 1, ':')) {
        /* With a scope, only the address part before '%' is inet_pton's. */
        char addr[SC_ADDR_TEXT_MAX + 1];
        size_t alen = pct ? (size_t)(pct - text) : strlen(text);
        if (alen > SC_ADDR_TEXT_MAX)
            return;
        memcpy(addr, text, alen);
        addr[alen] = '\0';
        struct in6_addr v6;
        int ok = inet_pton(AF_INET6, addr, &v6) == 1;
        CHECK(pct ? (rc != 0 || ok) : ok == (rc == 0));
        if (rc == 0)
            CHECK(sc_addr_family(a) == AF_INET6 &&
                  memcmp(&((const struct sockaddr_in6 *)&a->ss)->sin6_addr, &v6, sizeof(v6)) == 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    sc_addr_t a, req, untouched;
    memset(&a, 0x5a, sizeof(a));
    untouched = a;
    int rc = sc_addr_parse(&a, text, size, DEFAULT_PORT, SC_ADDR_NO_IFNAME);
    CHECK(rc == 0 || rc == SC_EADDRFORMAT || rc == SC_EPORTRANGE);
    if (rc != 0)
        CHECK(memcmp(&a, &untouched, sizeof(a)) == 0);
    else
        check_round_trip(&a);

    int rc_req = sc_addr_parse(&req, text, size, DEFAULT_PORT, SC_ADDR_PORT_REQUIRED | SC_ADDR_NO_IFNAME);
    if (rc_req == 0)
        CHECK(rc == 0 && sc_addr_equal(&a, &req));
    else
        CHECK(rc_req == rc || (rc == 0 && rc_req == SC_EPORTRANGE));

    /* inet_pton needs a C string: compare only texts without a NUL byte. */
    if (size <= SC_ADDR_TEXT_MAX && !memchr(data, '\0', size)) {
        char copy[SC_ADDR_TEXT_MAX + 1];
        memcpy(copy, data, size);
        copy[size] = '\0';
        check_against_inet_pton(copy, rc, &a);
    }
    return 0;
}
