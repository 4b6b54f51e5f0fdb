/* An in-memory network behind the syscall seam: TCP and UDP sockets over
 * IPv4 and IPv6 loopback that are entries of a fixed table, with bounded
 * ring buffers, immediate (virtual-time) readiness, and a deterministic
 * "chaos" schedule that chunks transfers and injects errors. Single
 * threaded: no locks, no descriptors, no system calls. Used by the fuzz
 * targets and the tests to drive the server and client without a kernel. */
#ifndef SOCKCHECK_MEMNET_H
#define SOCKCHECK_MEMNET_H

#include "sockcheck/sys.h"

/* Sockets open at the same time, including accepted connections still
 * waiting in a backlog; the next socket() fails with -EMFILE. */
#define SC_MEMNET_MAX_SOCKETS 64
/* Handles are SC_MEMNET_HANDLE_BASE and up, far above real descriptors, so
 * that a memnet handle given to the platform table fails with EBADF
 * instead of touching a real file. */
#define SC_MEMNET_HANDLE_BASE 0x10000000
/* Largest receive queue of a socket, in bytes (stream bytes, or datagram
 * payloads plus their headers). Room for one largest UDP datagram. */
#define SC_MEMNET_RING_MAX (65536 + 1024)
/* Default receive queue of a stream socket: small, so that a writer meets
 * backpressure (EAGAIN, short writes) after a few kilobytes. */
#define SC_MEMNET_STREAM_DEFAULT 4096
/* Largest datagram payload: 65535 - 20 (IPv4) - 8 (UDP), as on Linux for
 * IPv4; IPv6 allows 65527 but memnet keeps one limit for both. */
#define SC_MEMNET_DGRAM_MAX 65507
/* First ephemeral port handed out after a reset (Linux's default range
 * starts at 32768; ip_local_port_range). */
#define SC_MEMNET_EPHEMERAL_FIRST 32768
#define SC_MEMNET_EPHEMERAL_LAST 60999

/* The virtual clock after a reset (its table's now_ms), in milliseconds. */
#define SC_MEMNET_EPOCH_MS 1000000

typedef struct sc_memnet sc_memnet_t;

/* Counters since the last reset. */
typedef struct sc_memnet_stats {
    size_t open;          /* sockets open now (handles and queued accepts) */
    size_t peak;          /* most open at once */
    unsigned long created;
    unsigned long chaos_used;   /* schedule bytes consumed */
    unsigned long capped;       /* transfers cut by the schedule */
    unsigned long eintr, eagain, resets; /* errors injected */
    unsigned long bytes_sent, datagrams_sent, datagrams_dropped;
} sc_memnet_stats_t;

/* Allocates the table and every ring buffer once (a few MiB); nothing
 * afterwards allocates. Returns 0 or -ENOMEM. */
int sc_memnet_create(sc_memnet_t **out);
void sc_memnet_destroy(sc_memnet_t *m);

/* The seam table of this network: install it (sc_sys_install) or hand it
 * to sc_server_opts_t.sys. Its ev_create fails with -ENOSYS (the library
 * then uses poll), and its poll never waits: it reports what is ready now
 * and returns 0 at once when nothing is (time is virtual, below). A call that
 * would block on a blocking socket fails with -EAGAIN, like one that hit
 * SO_RCVTIMEO / SO_SNDTIMEO. Options: SO_REUSEADDR, SO_KEEPALIVE,
 * SO_RCVBUF, SO_SNDBUF (ignored), SO_LINGER ({1, 0}: close sends RST),
 * IPV6_V6ONLY, TCP_NODELAY are accepted; SO_ERROR, SO_TYPE and
 * SO_ACCEPTCONN read back; others fail with -ENOPROTOOPT. */
const sc_sys_t *sc_memnet_sys(sc_memnet_t *m);

/* Virtual time: the table's now_ms, which the server's timers read. It
 * moves only when told (advance), or by a poll that has nothing ready and
 * a positive timeout: that wait is over at once, its timeout elapsed. */
void sc_memnet_advance(sc_memnet_t *m, int64_t ms);
int64_t sc_memnet_now(const sc_memnet_t *m);

/* Forgets every socket (without FIN or RST), the ports, the schedule,
 * the counters and the time: the network is as after create. Costs a pass over the
 * table headers, not over the buffers. */
void sc_memnet_reset(sc_memnet_t *m);

/* Receive queue limits in bytes for stream and datagram sockets created
 * from now on (1 .. SC_MEMNET_RING_MAX; 0 keeps the default). */
void sc_memnet_set_limits(sc_memnet_t *m, size_t stream_bytes, size_t dgram_bytes);

/* The chaos schedule: each send, recv, sendto and recvfrom consumes one
 * byte b (in call order, while bytes are left; the bytes are not copied,
 * they must outlive their use):
 *   0x00-0x7f  a stream transfer moves at most b + 1 bytes
 *   0x80-0xbf  a stream transfer moves at most (b - 0x7f) * 64 bytes
 *   0xc0-0xcf  the call fails with -EINTR, nothing moves
 *   0xd0-0xdf  the call fails with -EAGAIN, nothing moves
 *   0xe0-0xe3  on a connected TCP socket, the connection is reset: the
 *              call fails with -ECONNRESET and the peer gets ECONNRESET
 *              on its next call (elsewhere: no effect)
 *   0xe4-0xff  no effect
 * Datagrams are never cut (a UDP send is whole or fails). len 0 (or
 * schedule NULL) turns chaos off. */
void sc_memnet_chaos(sc_memnet_t *m, const uint8_t *schedule, size_t len);

void sc_memnet_stats(const sc_memnet_t *m, sc_memnet_stats_t *st);

/* Sockets open now; 0 after everything was closed (a leak check). */
size_t sc_memnet_open_count(const sc_memnet_t *m);

#endif
