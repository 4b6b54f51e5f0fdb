/* Socket addresses: numeric text <-> sockaddr_storage, and validation of a
 * raw sockaddr given as bytes and a length. Nothing here allocates, blocks
 * or resolves names, except sc_addr_resolve. */
#ifndef SOCKCHECK_ADDR_H
#define SOCKCHECK_ADDR_H

#include "sockcheck/platform.h"

/* The longest text sc_addr_parse reads, and a buffer that holds any text
 * sc_addr_format writes ("[ffff:...:255.255.255.255%4294967295]:65535"). */
#define SC_ADDR_TEXT_MAX 128
#define SC_ADDR_STRLEN 72

typedef struct sc_addr {
    struct sockaddr_storage ss;
    sc_socklen_t len; /* 0: empty; else sizeof(sockaddr_in or sockaddr_in6) */
} sc_addr_t;

/* Flags of sc_addr_parse. */
#define SC_ADDR_PORT_REQUIRED 0x1 /* text without a port is an error */
#define SC_ADDR_NO_IFNAME 0x2     /* scope must be numeric (no if_nametoindex) */

/* Parses numeric text (no DNS) into out. Accepted forms:
 *   1.2.3.4:80   1.2.3.4          dotted quad (exactly four decimal parts)
 *   [::1]:80     [fe80::1%eth0]:80  [fe80::1%2]:80
 *   ::1          fe80::1%2        bare IPv6, no port
 *   80  :80                      bare port: 127.0.0.1
 * A missing port is default_port unless SC_ADDR_PORT_REQUIRED. Ports are
 * decimal 0..65535 without sign or leading zeros. A bare IPv6 address has
 * no port ("::1:80" is an address). A scope is allowed on link-local
 * (fe80::/10) and interface/link-local multicast (RFC 4007); all digits is
 * an index, anything else an interface name ("%0": no scope). len counts
 * the bytes of text (no NUL needed; a NUL inside is malformed). On error
 * out is left untouched. Returns 0, SC_EADDRFORMAT, SC_EPORTRANGE, -ENODEV
 * (unknown interface name), or -EINVAL (out NULL). */
int sc_addr_parse(sc_addr_t *out, const char *text, size_t len, uint16_t default_port, unsigned flags);

/* Formats sa (salen bytes, validated first) as "1.2.3.4:80" or
 * "[v6%scope]:80" (scope as a number). Writes at most cap bytes including
 * the NUL. Returns the length written, -EAFNOSUPPORT/-EINVAL for a bad
 * address, or -ENOSPC when cap is too small. */
int sc_addr_format(const struct sockaddr *sa, size_t salen, char *buf, size_t cap);

/* Flags of sc_addr_validate. */
#define SC_ADDR_REQUIRE_PORT 0x1     /* port 0 is -EINVAL */
#define SC_ADDR_REJECT_V4MAPPED 0x2  /* ::ffff:a.b.c.d is -EINVAL */
#define SC_ADDR_REQUIRE_LOOPBACK 0x4 /* anything but 127/8, ::1, ::ffff:127/104 is -EADDRNOTAVAIL */

/* Checks len bytes at p as a struct sockaddr, reading nothing beyond len:
 * the family must be AF_INET or AF_INET6 (else -EAFNOSUPPORT), len at
 * least its sockaddr size (else -EINVAL), a scope id only on a link-local
 * IPv6 address (else -EINVAL). Returns 0, or the negative error. */
int sc_addr_validate(const void *p, size_t len, unsigned flags);

/* Validates then copies p into out (len trimmed to the family's size); on
 * failure out is left empty (len 0). */
int sc_addr_from_bytes(sc_addr_t *out, const void *p, size_t len);

/* Loopback: 127.0.0.0/8, ::1, or ::ffff:127.x.y.z. */
int sc_addr_is_loopback(const sc_addr_t *a);
int sc_addr_family(const sc_addr_t *a);
uint16_t sc_addr_port(const sc_addr_t *a);
void sc_addr_set_port(sc_addr_t *a, uint16_t port);
int sc_addr_equal(const sc_addr_t *a, const sc_addr_t *b); /* family, address, port, scope */

/* The bound address of s (getsockname through the seam). */
int sc_addr_of_socket(sc_addr_t *out, sc_sock_t s);

/* Resolves host/port with getaddrinfo (numeric or names; AI_ADDRCONFIG
 * off), keeping at most max results of socktype in out, in the resolver's
 * order, each address once. Returns how many, or SC_ERESOLVE. */
int sc_addr_resolve(const char *host, const char *port, int socktype, sc_addr_t *out, size_t max);

#endif
