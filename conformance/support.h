/* Fixtures shared by the suites: loopback sockets on ephemeral ports, the
 * embedded reference server, and the echo target (SOCKCHECK_TARGET). All
 * helpers fail the current test (cr_fatal) rather than return errors. */
#ifndef SOCKCHECK_CONFORMANCE_SUPPORT_H
#define SOCKCHECK_CONFORMANCE_SUPPORT_H

#include "sockcheck/addr.h"
#include "sockcheck/server.h"

/* How long a blocking step of a test may take before the test fails. */
#define SCT_TIMEOUT_MS 5000

/* The loopback address of a family (AF_INET: 127.0.0.1, AF_INET6: ::1) on
 * the given port. */
sc_addr_t sct_loopback(int family, uint16_t port);

/* True when the machine can bind ::1 (IPv6 loopback configured). */
int sct_have_ipv6(void);

/* Skips the current test (with the reason) when family is AF_INET6 and the
 * machine has no IPv6 loopback. */
void sct_require_family(int family);

/* A socket bound to loopback port 0 (listening when socktype is
 * SOCK_STREAM); *bound gets the address read back with getsockname. */
int sct_bound(int family, int socktype, sc_addr_t *bound);

/* A connected TCP pair over loopback: *client from connect, *server from
 * accept. Both blocking. */
void sct_tcp_pair(int family, int *client, int *server);

/* The embedded reference server on 127.0.0.1:0 and [::1]:0, TCP and UDP,
 * running on its own thread. opts may be NULL for the defaults; its listen
 * list is replaced by the loopback addresses when empty. */
sc_server_t *sct_server_start(const sc_server_opts_t *opts);

/* Stops (drain) and destroys it; fails the test if the loop returned an
 * error. */
void sct_server_stop(sc_server_t *srv);

/* Where the echo suites send: SOCKCHECK_TARGET ("host:port", loopback
 * only), or the embedded server given (which may be NULL when a target is
 * set). Skips the test when the family is not available. */
sc_addr_t sct_echo_target(sc_server_t *srv, int socktype, int family);

/* Opens RLIMIT_NOFILE headroom check: the number of descriptors open now,
 * or -1 where there is no way to count them (Windows): callers skip their
 * descriptor check then. */
int sct_count_fds(void);

#endif
