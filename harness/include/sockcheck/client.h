/* The reference echo client: connect (every getaddrinfo result in turn,
 * each with a timeout), send, read the echo back, verify byte for byte. */
#ifndef SOCKCHECK_CLIENT_H
#define SOCKCHECK_CLIENT_H

#include "sockcheck/addr.h"

/* Connects a socket of socktype to addr, non-blocking connect bounded by
 * timeout_ms (< 0: none); the socket returned is blocking unless flags has
 * SC_NONBLOCK. Returns 0 and *out, or the negative error. */
int sc_client_connect_addr(const sc_addr_t *addr, int socktype, int flags, int timeout_ms, sc_sock_t *out);

/* Resolves host/port and tries every result in order until one connects.
 * *peer (may be NULL) is the address connected to. On failure, err gets
 * the last failing call and its argument ("connect [::1]:7: Connection
 * refused"). */
int sc_client_connect(const char *host, const char *port, int socktype, int flags, int timeout_ms,
                      sc_sock_t *out, sc_addr_t *peer, char *err, size_t errlen);

/* Result of a verified echo. */
typedef struct sc_echo_result {
    size_t sent, received; /* bytes (TCP) or datagrams' bytes (UDP) */
    size_t mismatch_at;    /* offset of the first differing byte, if any */
} sc_echo_result_t;

/* Sends len bytes on a connected TCP socket and reads the echo back at the
 * same time (so that a server with small buffers never deadlocks it),
 * comparing every byte. Returns 0, SC_EMISMATCH, SC_EEOF, or the error of
 * the failing call. res may be NULL. */
int sc_echo_tcp(sc_sock_t s, const void *buf, size_t len, int timeout_ms, sc_echo_result_t *res);

/* Sends one datagram on a connected UDP socket, waits for its echo,
 * compares it. -ETIMEDOUT when none came back (a lost datagram);
 * SC_EMISMATCH for a different one. */
int sc_echo_udp(sc_sock_t s, const void *buf, size_t len, int timeout_ms, sc_echo_result_t *res);

#endif
