/* Loops over send and recv that survive partial transfers, EINTR and
 * EAGAIN, bounded by a deadline; datagram calls that report truncation. */
#ifndef SOCKCHECK_IO_H
#define SOCKCHECK_IO_H

#include "sockcheck/addr.h"
#include "sockcheck/platform.h"

/* Milliseconds of a monotonic clock. */
int64_t sc_now_ms(void);

/* A deadline timeout_ms from now (timeout_ms < 0: none, returns -1). */
int64_t sc_deadline(int timeout_ms);

/* Milliseconds left to a deadline for poll: -1 for none, 0 when past. */
int sc_remaining_ms(int64_t deadline);

/* Waits until s is ready for events (SC_EV_IN / SC_EV_OUT), restarting on
 * EINTR. Returns the revents (> 0), or -ETIMEDOUT at the deadline. */
int sc_wait(sc_sock_t s, int events, int64_t deadline);

/* Sends all len bytes, on blocking or non-blocking sockets. *done (may be
 * NULL) is the count sent even on failure. Returns 0, or the error of the
 * failing call (-EPIPE, -ECONNRESET, -ETIMEDOUT ...). */
int sc_send_all(sc_sock_t s, const void *buf, size_t len, int64_t deadline, size_t *done);

/* Receives exactly len bytes. SC_EEOF when the peer closes first. */
int sc_recv_exact(sc_sock_t s, void *buf, size_t len, int64_t deadline, size_t *done);

/* Receives what is there (at least one byte), waiting up to the deadline.
 * Returns the count, 0 at EOF, or a negative error. */
ptrdiff_t sc_recv_some(sc_sock_t s, void *buf, size_t cap, int64_t deadline);

/* Sends one datagram (to NULL: the connected peer). A datagram that goes
 * out shorter than len is -EMSGSIZE, never silently cut. */
int sc_udp_send(sc_sock_t s, const void *buf, size_t len, const sc_addr_t *to, int64_t deadline);

/* Receives one datagram into buf. Returns its length; when it was longer
 * than cap, returns SC_ETRUNCATED and *full (if not NULL) is its real
 * length where the platform says it. from may be NULL. */
ptrdiff_t sc_udp_recv(sc_sock_t s, void *buf, size_t cap, sc_addr_t *from, size_t *full, int64_t deadline);

#endif
