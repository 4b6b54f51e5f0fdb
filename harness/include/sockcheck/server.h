/* The reference RFC 862 echo server: one event loop (epoll, or poll where
 * the seam has no epoll), TCP and UDP, IPv4 and IPv6, any number of listen
 * addresses, bounded buffers with backpressure, connection limit, idle
 * timeout, half-close and graceful drain. The UDP echo never answers a
 * source port that answers back (7, 13, 17, 19, 37), its own port or port
 * 0, and caps replies per source address. Embeddable: create it on port 0,
 * read the port back, run it on a thread, stop it. */
#ifndef SOCKCHECK_SERVER_H
#define SOCKCHECK_SERVER_H

#include "sockcheck/addr.h"
#include "sockcheck/sys.h"

#define SC_SERVER_MAX_LISTEN 16
#define SC_SERVER_DEFAULT_PORT 7007

typedef struct sc_server sc_server_t;

typedef struct sc_server_opts {
    const char *listen[SC_SERVER_MAX_LISTEN]; /* text addresses; none: the defaults */
    size_t nlisten;
    int tcp, udp;          /* both 0: both on */
    size_t max_conns;      /* 0: 10000; further TCP clients are accepted and closed */
    int idle_timeout_ms;   /* 0: none */
    size_t buffer;         /* bytes a TCP connection may hold unechoed, and the size
                              of one read; 0: 64 KiB */
    size_t max_buffered;   /* bytes all TCP connections together may hold; a client
                              is not read while one more read could pass it (it
                              waits its turn); 0: 32 MiB; at least `buffer` */
    int drain_timeout_ms;  /* SC_STOP_DRAIN waits at most this; 0: 5000 */
    int spin_us;           /* sc_server_run: after a turn that handled events, wait
                              without blocking for up to this many microseconds
                              before it blocks again (busy polling: a client's next
                              message needs no wakeup of the server, for CPU time
                              spent polling); 0 (default): always block */
    int backlog;           /* 0: SOMAXCONN */
    int v6only;            /* IPV6_V6ONLY on IPv6 listeners: 1 (default) or 0 */
    unsigned udp_rate;     /* UDP replies per source address a second; 0: no cap for
                              loopback sources, 1000 for others */
    uint16_t default_port; /* for addresses without one; 0 means SC_SERVER_DEFAULT_PORT */
    const sc_sys_t *sys;   /* NULL: sc_sys_current() at creation */
} sc_server_opts_t;

void sc_server_opts_init(sc_server_opts_t *o);

/* Opens every listener. On failure returns the negative error and writes
 * the failing call and its argument to err ("bind [::1]:7007: Address
 * already in use"); nothing stays open. */
int sc_server_create(sc_server_t **out, const sc_server_opts_t *opts, char *err, size_t errlen);

/* The listeners: how many, and each one's bound address and type. */
size_t sc_server_nlisteners(const sc_server_t *s);
int sc_server_listener(const sc_server_t *s, size_t i, sc_addr_t *addr, int *socktype);

/* The bound port of the first listener of this type and family
 * (AF_UNSPEC: any), 0 if none. */
uint16_t sc_server_port(const sc_server_t *s, int socktype, int family);

/* Runs the loop until stopped; returns 0 after a stop, or a negative
 * error of the event loop itself. Errors of single clients never end it. */
int sc_server_run(sc_server_t *s);

/* One turn of the loop: waits at most timeout_ms, handles what is ready.
 * Returns 1 while running, 0 once stopped, or a negative error. */
int sc_server_step(sc_server_t *s, int timeout_ms);

#define SC_STOP_DRAIN 1 /* stop accepting; echo what was received; then stop */
#define SC_STOP_NOW 2   /* close everything now */

/* Asks the loop to stop. Safe from a signal handler and from another
 * thread: it sets a flag and writes a byte to the loop's wakeup pair. */
void sc_server_stop(sc_server_t *s, int how);

/* Runs the loop on a new thread / waits for that thread. */
int sc_server_start_thread(sc_server_t *s);
int sc_server_join(sc_server_t *s);

typedef struct sc_server_stats {
    size_t conns;          /* TCP connections open now */
    size_t conns_peak;
    unsigned long long accepted, refused_max_conns, closed_idle;
    unsigned long long accept_errors; /* EMFILE and friends, survived */
    unsigned long long bytes_in, bytes_out;
    unsigned long long datagrams_in, datagrams_out, datagrams_dropped;
    unsigned long long datagrams_refused; /* reflection/loop guard and rate cap */
    size_t buffered;       /* bytes held for TCP clients now */
    size_t buffered_peak;
    unsigned long long reads_deferred; /* a client left unread: max_buffered was reached */
    unsigned long long spins, sleeps;  /* sc_server_run's waits: without blocking (spin_us),
                                          and blocking ones */
} sc_server_stats_t;

void sc_server_stats(const sc_server_t *s, sc_server_stats_t *st);

/* Closes everything and frees the server (after run/join has returned). */
void sc_server_destroy(sc_server_t *s);

#endif
