/* Socket addresses: strict numeric text <-> sc_addr_t, raw sockaddr validation. */
#include "sockcheck/addr.h"
#include "sockcheck/net.h"
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#if defined(_WIN32)
#include <iphlpapi.h>
#else
#include <arpa/inet.h>
#include <net/if.h>
#include <netdb.h>
#endif

/* The longest decimal scope id ("4294967295") and port ("65535"). */
#define SCOPE_DIGITS_MAX 10
#define PORT_DIGITS_MAX 5

/* Link-local unicast (fe80::/10) and the interface- and link-local
 * multicast scopes (ff01::/16, ff02::/16) are the zones of RFC 4007 whose
 * addresses are ambiguous without an interface; every other address must
 * carry scope id 0. */
static int v6_is_scoped(const struct in6_addr *a)
{
    const uint8_t *b = a->s6_addr;
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
        return 1;
    return b[0] == 0xff && ((b[1] & 0x0f) == 0x01 || (b[1] & 0x0f) == 0x02);
}

static int v6_is_v4mapped(const struct in6_addr *a)
{
    static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return memcmp(a->s6_addr, prefix, sizeof(prefix)) == 0;
}

static int all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

/* Decimal digits only, no sign, no spaces, no leading zero except "0"
 * itself: "080" could be read as octal by other tools, so it is refused. */
static int parse_decimal(const char *s, size_t n, size_t max_digits, uint32_t *out)
{
    if (n == 0 || n > max_digits || (n > 1 && s[0] == '0'))
        return -1;
    if (!all_digits(s, n))
        return -1;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (uint64_t)(s[i] - '0');
    if (v > UINT32_MAX)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

static int parse_port(const char *s, size_t n, uint16_t *port)
{
    uint32_t v;
    if (parse_decimal(s, n, PORT_DIGITS_MAX, &v) < 0 || v > 65535)
        return SC_EPORTRANGE;
    *port = (uint16_t)v;
    return 0;
}

/* Exactly four decimal parts of 0..255 without leading zeros, as glibc's
 * inet_pton(AF_INET) reads them (inet_aton's "1.2.3" and 0x forms are not
 * accepted). */
static int parse_v4(const char *s, size_t n, struct in_addr *out)
{
    uint8_t b[4];
    size_t i = 0;
    for (int part = 0; part < 4; part++) {
        size_t start = i;
        while (i < n && s[i] != '.')
            i++;
        uint32_t v;
        if (parse_decimal(s + start, i - start, 3, &v) < 0 || v > 255)
            return SC_EADDRFORMAT;
        b[part] = (uint8_t)v;
        if (part < 3) {
            if (i == n)
                return SC_EADDRFORMAT;
            i++; /* the dot */
        }
    }
    if (i != n)
        return SC_EADDRFORMAT;
    memcpy(&out->s_addr, b, 4);
    return 0;
}

/* The scope text after '%': a decimal interface index, or an interface
 * name looked up with if_nametoindex unless flags forbid names. */
static int parse_scope(const char *s, size_t n, unsigned flags, uint32_t *scope)
{
    if (n == 0)
        return SC_EADDRFORMAT;
    /* All digits is an index; Linux allows names that start with a digit
     * ("6to4"), so only a text of digits alone is read as a number. */
    if (all_digits(s, n))
        return parse_decimal(s, n, SCOPE_DIGITS_MAX, scope) < 0 ? SC_EADDRFORMAT : 0;
    if (flags & SC_ADDR_NO_IFNAME)
        return SC_EADDRFORMAT;
    char name[IF_NAMESIZE];
    if (n >= sizeof(name))
        return -ENODEV;
    memcpy(name, s, n);
    name[n] = '\0';
    unsigned idx = if_nametoindex(name);
    if (idx == 0)
        return -ENODEV;
    *scope = idx;
    return 0;
}

/* True when the IPv6 text s[0..n) ends in an embedded IPv4 address
 * ("::ffff:1.2.3.4") that parse_v4 refuses. glibc's inet_pton refuses
 * the same forms (a leading zero, as in "01.2.3.4"), but Wine's accepts
 * them, so the rule is checked here rather than left to the platform. */
static int bad_v4_tail(const char *s, size_t n)
{
    const char *colon = NULL;
    for (size_t i = 0; i < n; i++)
        if (s[i] == ':')
            colon = s + i;
    if (!colon || !memchr(colon, '.', n - (size_t)(colon - s)))
        return 0;
    struct in_addr v4;
    size_t tail = n - (size_t)(colon + 1 - s);
    return parse_v4(colon + 1, tail, &v4) < 0;
}

/* "v6" or "v6%scope" in s[0..n), which the caller may write to (it is the
 * parser's own copy of the text). */
static int parse_v6(char *s, size_t n, unsigned flags, struct sockaddr_in6 *sin6)
{
    char *pct = memchr(s, '%', n);
    size_t alen = pct ? (size_t)(pct - s) : n;
    if (bad_v4_tail(s, alen))
        return SC_EADDRFORMAT;
    char save = s[alen];
    s[alen] = '\0';
    int ok = inet_pton(AF_INET6, s, &sin6->sin6_addr);
    s[alen] = save;
    if (ok != 1)
        return SC_EADDRFORMAT;
    sin6->sin6_family = AF_INET6;
    if (!pct)
        return 0;
    if (!v6_is_scoped(&sin6->sin6_addr))
        return SC_EADDRFORMAT;
    uint32_t scope = 0;
    int rc = parse_scope(pct + 1, n - alen - 1, flags, &scope);
    if (rc < 0)
        return rc;
    sin6->sin6_scope_id = scope;
    return 0;
}

/* The text after the address: nothing (default port), or ":port". */
static int parse_tail(const char *s, size_t n, uint16_t default_port, unsigned flags, uint16_t *port)
{
    if (n == 0) {
        if (flags & SC_ADDR_PORT_REQUIRED)
            return SC_EPORTRANGE;
        *port = default_port;
        return 0;
    }
    if (s[0] != ':')
        return SC_EADDRFORMAT;
    return parse_port(s + 1, n - 1, port);
}

static int parse_bracketed(sc_addr_t *a, char *s, size_t n, uint16_t default_port, unsigned flags)
{
    char *close = memchr(s, ']', n);
    if (!close)
        return SC_EADDRFORMAT;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&a->ss;
    size_t inner = (size_t)(close - s) - 1;
    int rc = parse_v6(s + 1, inner, flags, sin6);
    if (rc < 0)
        return rc;
    uint16_t port;
    rc = parse_tail(close + 1, n - inner - 2, default_port, flags, &port);
    if (rc < 0)
        return rc;
    sin6->sin6_port = htons(port);
    a->len = sizeof(*sin6);
    return 0;
}

static int parse_v4_port(sc_addr_t *a, const char *s, size_t n, uint16_t default_port, unsigned flags)
{
    struct sockaddr_in *sin = (struct sockaddr_in *)&a->ss;
    const char *colon = memchr(s, ':', n);
    size_t hlen = colon ? (size_t)(colon - s) : n;
    int rc = parse_v4(s, hlen, &sin->sin_addr);
    if (rc < 0)
        return rc;
    uint16_t port;
    rc = parse_tail(s + hlen, n - hlen, default_port, flags, &port);
    if (rc < 0)
        return rc;
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    a->len = sizeof(*sin);
    return 0;
}

/* "80" or ":80": a port alone means 127.0.0.1, never the wildcard, so a
 * bare port cannot expose anything beyond loopback. */
static int parse_bare_port(sc_addr_t *a, const char *s, size_t n)
{
    struct sockaddr_in *sin = (struct sockaddr_in *)&a->ss;
    uint16_t port;
    int rc = parse_port(s, n, &port);
    if (rc < 0)
        return rc;
    sin->sin_family = AF_INET;
    sin->sin_port = htons(port);
    sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a->len = sizeof(*sin);
    return 0;
}

static size_t count_char(const char *s, size_t n, char c)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += s[i] == c;
    return k;
}

/* Text without a dot that starts like a number ("80", "+80", " 80") is
 * meant as a port, so a bad one is SC_EPORTRANGE; a word ("localhost") is
 * SC_EADDRFORMAT, since names are not read here. */
static int looks_like_port(const char *s, size_t n)
{
    return !memchr(s, '.', n) && ((s[0] >= '0' && s[0] <= '9') || s[0] == '+' || s[0] == '-' || s[0] == ' ');
}

/* Dispatch on the shape of the text: '[' opens the bracketed IPv6 form;
 * two or more colons make a bare IPv6 address; one colon is "v4:port" or
 * ":port"; no colon is a bare dotted quad or a bare port. */
static int parse_text(sc_addr_t *a, char *s, size_t n, uint16_t default_port, unsigned flags)
{
    if (s[0] == '[')
        return parse_bracketed(a, s, n, default_port, flags);
    size_t colons = count_char(s, n, ':');
    if (colons >= 2) {
        /* A bare IPv6 address has no port: its colons leave no room for
         * one ("::1:80" is the address ::1:80). */
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&a->ss;
        int rc = parse_v6(s, n, flags, sin6);
        if (rc < 0)
            return rc;
        if (flags & SC_ADDR_PORT_REQUIRED)
            return SC_EPORTRANGE;
        sin6->sin6_port = htons(default_port);
        a->len = sizeof(*sin6);
        return 0;
    }
    if (s[0] == ':')
        return parse_bare_port(a, s + 1, n - 1);
    if (colons == 0 && looks_like_port(s, n))
        return parse_bare_port(a, s, n);
    return parse_v4_port(a, s, n, default_port, flags);
}

int sc_addr_parse(sc_addr_t *out, const char *text, size_t len, uint16_t default_port, unsigned flags)
{
    if (!out || (!text && len > 0))
        return -EINVAL;
    /* The text is copied into a fixed buffer so that the pieces can be
     * NUL-terminated for inet_pton without reading past len. */
    char buf[SC_ADDR_TEXT_MAX + 1];
    if (len == 0 || len > SC_ADDR_TEXT_MAX || memchr(text, '\0', len))
        return SC_EADDRFORMAT;
    memcpy(buf, text, len);
    buf[len] = '\0';
    sc_addr_t a;
    memset(&a, 0, sizeof(a));
    int rc = parse_text(&a, buf, len, default_port, flags);
    if (rc < 0)
        return rc;
    *out = a;
    return 0;
}

/* The family of p, read only when the family field lies within len (it
 * follows sa_len on the BSDs, hence offsetof). */
static int read_family(const void *p, size_t len, int *family)
{
    struct sockaddr head;
    size_t off = offsetof(struct sockaddr, sa_family);
    if (!p || len < off + sizeof(head.sa_family))
        return -EINVAL;
    memcpy(&head.sa_family, (const unsigned char *)p + off, sizeof(head.sa_family));
    *family = head.sa_family;
    return 0;
}

static int check_v4(const struct sockaddr_in *sin, unsigned flags)
{
    if ((flags & SC_ADDR_REQUIRE_PORT) && sin->sin_port == 0)
        return -EINVAL;
    if ((flags & SC_ADDR_REQUIRE_LOOPBACK) && (ntohl(sin->sin_addr.s_addr) >> 24) != 127)
        return -EADDRNOTAVAIL;
    return 0;
}

static int v6_is_loopback(const struct in6_addr *a)
{
    static const uint8_t one[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    if (memcmp(a->s6_addr, one, sizeof(one)) == 0)
        return 1;
    return v6_is_v4mapped(a) && a->s6_addr[12] == 127;
}

static int check_v6(const struct sockaddr_in6 *sin6, unsigned flags)
{
    if (sin6->sin6_scope_id != 0 && !v6_is_scoped(&sin6->sin6_addr))
        return -EINVAL;
    if ((flags & SC_ADDR_REJECT_V4MAPPED) && v6_is_v4mapped(&sin6->sin6_addr))
        return -EINVAL;
    if ((flags & SC_ADDR_REQUIRE_PORT) && sin6->sin6_port == 0)
        return -EINVAL;
    if ((flags & SC_ADDR_REQUIRE_LOOPBACK) && !v6_is_loopback(&sin6->sin6_addr))
        return -EADDRNOTAVAIL;
    return 0;
}

int sc_addr_validate(const void *p, size_t len, unsigned flags)
{
    int family;
    int rc = read_family(p, len, &family);
    if (rc < 0)
        return rc;
    /* The bytes are copied into a properly aligned local structure only
     * after the length check, so nothing beyond len is ever read. */
    if (family == AF_INET) {
        struct sockaddr_in sin;
        if (len < sizeof(sin))
            return -EINVAL;
        memcpy(&sin, p, sizeof(sin));
        return check_v4(&sin, flags);
    }
    if (family == AF_INET6) {
        struct sockaddr_in6 sin6;
        if (len < sizeof(sin6))
            return -EINVAL;
        memcpy(&sin6, p, sizeof(sin6));
        return check_v6(&sin6, flags);
    }
    return -EAFNOSUPPORT;
}

int sc_addr_from_bytes(sc_addr_t *out, const void *p, size_t len)
{
    if (!out)
        return -EINVAL;
    /* Built in a local first: p may point into *out itself. */
    sc_addr_t a;
    memset(&a, 0, sizeof(a));
    int family = AF_UNSPEC;
    int rc = sc_addr_validate(p, len, 0);
    if (rc == 0 && read_family(p, len, &family) == 0) {
        a.len = family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
        memcpy(&a.ss, p, a.len);
    }
    *out = a;
    return rc;
}

static int format_valid(const sc_addr_t *a, char *tmp, size_t cap)
{
    char host[INET6_ADDRSTRLEN];
    if (a->ss.ss_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)&a->ss;
        if (!inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host)))
            return -EINVAL;
        return snprintf(tmp, cap, "%s:%u", host, (unsigned)ntohs(sin->sin_port));
    }
    const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&a->ss;
    if (!inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host)))
        return -EINVAL;
    if (sin6->sin6_scope_id != 0)
        return snprintf(tmp, cap, "[%s%%%lu]:%u", host, (unsigned long)sin6->sin6_scope_id,
                        (unsigned)ntohs(sin6->sin6_port));
    return snprintf(tmp, cap, "[%s]:%u", host, (unsigned)ntohs(sin6->sin6_port));
}

int sc_addr_format(const struct sockaddr *sa, size_t salen, char *buf, size_t cap)
{
    sc_addr_t a;
    int rc = sc_addr_from_bytes(&a, sa, salen);
    if (rc < 0)
        return rc;
    char tmp[SC_ADDR_STRLEN];
    int n = format_valid(&a, tmp, sizeof(tmp));
    if (n < 0 || (size_t)n >= sizeof(tmp))
        return n < 0 ? n : -EINVAL;
    if (!buf || (size_t)n >= cap)
        return -ENOSPC;
    memcpy(buf, tmp, (size_t)n + 1);
    return n;
}

int sc_addr_is_loopback(const sc_addr_t *a)
{
    if (!a || a->len == 0)
        return 0;
    if (a->ss.ss_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)&a->ss;
        return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
    }
    if (a->ss.ss_family == AF_INET6)
        return v6_is_loopback(&((const struct sockaddr_in6 *)&a->ss)->sin6_addr);
    return 0;
}

int sc_addr_family(const sc_addr_t *a)
{
    return a && a->len ? a->ss.ss_family : AF_UNSPEC;
}

uint16_t sc_addr_port(const sc_addr_t *a)
{
    switch (sc_addr_family(a)) {
    case AF_INET:
        return ntohs(((const struct sockaddr_in *)&a->ss)->sin_port);
    case AF_INET6:
        return ntohs(((const struct sockaddr_in6 *)&a->ss)->sin6_port);
    default:
        return 0;
    }
}

void sc_addr_set_port(sc_addr_t *a, uint16_t port)
{
    switch (sc_addr_family(a)) {
    case AF_INET:
        ((struct sockaddr_in *)&a->ss)->sin_port = htons(port);
        break;
    case AF_INET6:
        ((struct sockaddr_in6 *)&a->ss)->sin6_port = htons(port);
        break;
    default:
        break;
    }
}

int sc_addr_equal(const sc_addr_t *a, const sc_addr_t *b)
{
    int fa = sc_addr_family(a), fb = sc_addr_family(b);
    if (fa != fb)
        return 0;
    if (fa == AF_INET) {
        const struct sockaddr_in *x = (const struct sockaddr_in *)&a->ss;
        const struct sockaddr_in *y = (const struct sockaddr_in *)&b->ss;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    if (fa == AF_INET6) {
        const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)&a->ss;
        const struct sockaddr_in6 *y = (const struct sockaddr_in6 *)&b->ss;
        return x->sin6_port == y->sin6_port && x->sin6_scope_id == y->sin6_scope_id &&
               memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
    }
    return 1; /* Both empty. */
}

int sc_addr_of_socket(sc_addr_t *out, sc_sock_t s)
{
    return sc__addr_of_socket(sc_sys_current(), out, s);
}

int sc__addr_of_socket(const sc_sys_t *sys, sc_addr_t *out, sc_sock_t s)
{
    if (!out)
        return -EINVAL;
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    sc_socklen_t sl = sizeof(ss);
    int rc = SC__CALL(sys, getsockname, s, (struct sockaddr *)&ss, &sl);
    if (rc < 0) {
        memset(out, 0, sizeof(*out));
        return rc;
    }
    /* getsockname reports the full length even when it cut the address. */
    size_t n = (size_t)sl < sizeof(ss) ? (size_t)sl : sizeof(ss);
    return sc_addr_from_bytes(out, &ss, n);
}

static int already_kept(const sc_addr_t *out, size_t n, const sc_addr_t *a)
{
    for (size_t i = 0; i < n; i++)
        if (sc_addr_equal(&out[i], a))
            return 1;
    return 0;
}

int sc_addr_resolve(const char *host, const char *port, int socktype, sc_addr_t *out, size_t max)
{
    if (!out || max == 0)
        return -EINVAL;
    /* AI_ADDRCONFIG is left off: it hides ::1 on hosts whose only IPv6
     * address is loopback, which is exactly the test machine's case. */
    struct addrinfo hints;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = socktype;
    struct addrinfo *res = NULL;
    if (getaddrinfo(host, port, &hints, &res) != 0 || !res)
        return SC_ERESOLVE;
    size_t n = 0;
    for (const struct addrinfo *ai = res; ai && n < max; ai = ai->ai_next) {
        if (socktype != 0 && ai->ai_socktype != socktype)
            continue;
        /* Without a socktype the resolver repeats each address per socket
         * type; a duplicate is dropped rather than returned twice. */
        if (sc_addr_from_bytes(&out[n], ai->ai_addr, ai->ai_addrlen) == 0 && !already_kept(out, n, &out[n]))
            n++;
    }
    freeaddrinfo(res);
    return n > 0 ? (int)n : SC_ERESOLVE;
}
