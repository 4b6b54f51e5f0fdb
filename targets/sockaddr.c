/* Fuzz target sockaddr: the input is the raw bytes of a struct sockaddr,
 * its length the input's size (an exact-size buffer, so ASan sees any read
 * beyond it). Target functions: sc_addr_validate, sc_addr_from_bytes,
 * sc_addr_format, sc_addr_parse, sc_addr_is_loopback, sc_addr_port.
 * Oracles (abort on failure):
 *  - format succeeds iff validate does, and fails with the same error;
 *  - from_bytes succeeds iff validate does, copying exactly the family's
 *    structure;
 *  - the formatted text parses back to an equal address;
 *  - each validate flag only adds its own refusal, in agreement with
 *    sc_addr_port, sc_addr_is_loopback and the v4-mapped prefix. */
#include "sockcheck/addr.h"
#include "sockcheck/net.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond) ((cond) ? (void)0 : abort())

static int is_v4mapped(const sc_addr_t *a)
{
    static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return sc_addr_family(a) == AF_INET6 &&
           memcmp(((const struct sockaddr_in6 *)&a->ss)->sin6_addr.s6_addr, prefix, sizeof(prefix)) == 0;
}

static void check_flags(const uint8_t *data, size_t size, const sc_addr_t *a)
{
    int port = sc_addr_validate(data, size, SC_ADDR_REQUIRE_PORT);
    CHECK(port == (sc_addr_port(a) == 0 ? -EINVAL : 0));
    int mapped = sc_addr_validate(data, size, SC_ADDR_REJECT_V4MAPPED);
    CHECK(mapped == (is_v4mapped(a) ? -EINVAL : 0));
    int loop = sc_addr_validate(data, size, SC_ADDR_REQUIRE_LOOPBACK);
    CHECK(loop == (sc_addr_is_loopback(a) ? 0 : -EADDRNOTAVAIL));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int rc = sc_addr_validate(data, size, 0);
    CHECK(rc == 0 || rc == -EINVAL || rc == -EAFNOSUPPORT);
    for (unsigned flags = 1; flags < 8; flags++)
        CHECK(rc == 0 || sc_addr_validate(data, size, flags) != 0);

    sc_addr_t a;
    CHECK(sc_addr_from_bytes(&a, data, size) == rc);
    char text[SC_ADDR_STRLEN];
    int n = sc_addr_format((const struct sockaddr *)data, size, text, sizeof(text));
    if (rc != 0) {
        CHECK(n == rc && a.len == 0);
        return 0;
    }
    int family = sc_addr_family(&a);
    CHECK(family == AF_INET || family == AF_INET6);
    CHECK(a.len == (family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6)));
    CHECK(memcmp(&a.ss, data, a.len) == 0);
    CHECK(n > 0 && (size_t)n < sizeof(text) && strlen(text) == (size_t)n);
    check_flags(data, size, &a);

    sc_addr_t b;
    CHECK(sc_addr_parse(&b, text, (size_t)n, 0, SC_ADDR_PORT_REQUIRED | SC_ADDR_NO_IFNAME) == 0);
    CHECK(sc_addr_equal(&a, &b));
    return 0;
}
