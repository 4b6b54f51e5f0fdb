/* The load generator: many TCP or UDP connections to one echo server,
 * ping-pong or streaming, on one single-threaded event loop; measures the
 * rate and the round-trip latency and counts every lost, duplicated or
 * corrupted byte. */
#ifndef SOCKCHECK_LOAD_H
#define SOCKCHECK_LOAD_H

#include "sockcheck/addr.h"
#include "sockcheck/sys.h"

/* Modes. Ping-pong: each connection sends one request of size bytes,
 * waits for its whole echo, verifies it, and sends the next. Stream: each
 * connection keeps sending size-byte chunks (up to a window in flight)
 * while it reads and verifies the echo. */
#define SC_LOAD_PINGPONG 0
#define SC_LOAD_STREAM 1

/* The smallest UDP size: each datagram starts with a 64-bit sequence
 * number so that loss, duplication and reordering can be told apart. */
#define SC_LOAD_UDP_MIN_SIZE 8

typedef struct sc_load sc_load_t;

/* Counters of a run so far. Bytes are payload bytes. A round trip is one
 * request (ping-pong) or chunk (TCP stream) whose last byte came back
 * (corrupted bytes in it are counted apart), or one datagram (UDP) that
 * came back intact. echoed counts the bytes that came back intact. */
typedef struct sc_load_stats {
    double elapsed_s; /* from the start to the last echo (or now) */
    unsigned long long round_trips;
    unsigned long long sent, echoed;              /* bytes */
    unsigned long long lost, duplicated, corrupted; /* bytes */
    unsigned long long errors;  /* connections that failed or ended early */
    size_t conns_open;          /* connected now */
    size_t conns_connecting;    /* connect in flight now */
    unsigned long long conns_done; /* closed after finishing their share */
    /* Round-trip latency in nanoseconds, from the log-linear histogram
     * (each value is the top of its bucket, within 1/64 of the truth). */
    unsigned long long p50_ns, p99_ns, p999_ns, max_ns;
    int first_error;            /* 0, or the first failure's code */
    char first_error_text[160]; /* "connect 127.0.0.1:9: Connection refused" */
    size_t conns_peak;          /* most connections open at once */
    /* With eof_ok: connections the server ended with its EOF, and the
     * bytes they had sent that never came back (not counted as lost). */
    unsigned long long conns_eof, unechoed;
} sc_load_stats_t;

typedef struct sc_load_opts {
    sc_addr_t target;
    int socktype;          /* SOCK_STREAM (default) or SOCK_DGRAM */
    int mode;              /* SC_LOAD_PINGPONG (default) or SC_LOAD_STREAM */
    size_t conns;          /* connections; 0: 1 */
    size_t size;           /* bytes a request, chunk or datagram; 0: 64 */
    int duration_ms;       /* stop starting round trips after this; 0: no limit */
    unsigned long long count; /* round trips in all connections; 0: no limit */
    int timeout_ms;        /* an echo later than this is lost; 0: 1000 (UDP), 10000 (TCP) */
    int connect_timeout_ms; /* 0: 5000 */
    size_t max_connecting; /* connects in flight at once; 0: 64 */
    size_t window;         /* stream: chunks in flight a connection; 0: 32 (UDP), 256 KiB worth (TCP) */
    uint64_t seed;         /* of the payload pattern */
    int progress_ms;       /* call progress this often; 0: never */
    void (*progress)(const sc_load_stats_t *st, void *arg);
    void *progress_arg;
    const sc_sys_t *sys;   /* NULL: sc_sys_current() at creation */
    /* Source addresses (copied at creation): connection i binds
     * sources[i % nsources] with port 0 before it connects, so that many
     * connections to one server are not limited by one address's
     * ephemeral ports. Same family as the target. NULL: no bind. */
    const sc_addr_t *sources;
    size_t nsources;
    int interval_ms;       /* ping-pong: a connection's pause between round trips, give or
                              take a random quarter (so connections fall out of step); 0: none */
    int eof_ok;            /* TCP: the server's EOF ends a connection cleanly (a draining
                              server); what it had not echoed counts as unechoed, not lost */
} sc_load_opts_t;

void sc_load_opts_init(sc_load_opts_t *o);

/* Checks the options and allocates everything the run needs (nothing is
 * allocated per round trip). SC_EUSAGE for options that do not fit
 * together: no bound (duration and count both 0), an unknown socktype or
 * mode, a UDP size below SC_LOAD_UDP_MIN_SIZE or above 65507, a source
 * of another family than the target, an interval with stream mode, or
 * eof_ok with UDP. */
int sc_load_create(sc_load_t **out, const sc_load_opts_t *opts);

/* Runs until every connection has finished: after the duration or count
 * bound, each one waits for its last echoes (at most timeout_ms without
 * progress). Returns 0, or a negative error of the event loop itself;
 * failures of single connections are counted, never returned. */
int sc_load_run(sc_load_t *l);

/* One turn: waits at most timeout_ms, handles what is ready. Returns 1
 * while running, 0 once finished, or a negative error. */
int sc_load_step(sc_load_t *l, int timeout_ms);

/* Ends the run early, as if the duration had passed. Safe from a signal
 * handler: it only sets a flag, seen within about 50 ms. */
void sc_load_stop(sc_load_t *l);

void sc_load_stats(const sc_load_t *l, sc_load_stats_t *st);

/* 1 when nothing was lost, duplicated or corrupted, no connection failed,
 * and at least one round trip completed. */
int sc_load_passed(const sc_load_stats_t *st);

/* The same result as one JSON object, with the fields of sc_load_stats_t
 * (conns_peak, conns_done, conns_eof, unechoed, first_error too). Returns
 * the length, as snprintf. */
int sc_load_format_json(const sc_load_t *l, const sc_load_stats_t *st, char *buf, size_t cap);

/* Writes the one-line result in key=value form:
 *   load proto=tcp mode=pingpong conns=100 size=64 duration_s=5.00
 *   round_trips=... rt_per_s=... mb_per_s=... p50_us=... p99_us=...
 *   p999_us=... max_us=... sent=... echoed=... lost=0 duplicated=0
 *   corrupted=0 errors=0 result=PASS
 * (one line, no newline). Returns the length, as snprintf. */
int sc_load_format(const sc_load_t *l, const sc_load_stats_t *st, char *buf, size_t cap);

void sc_load_destroy(sc_load_t *l);

#endif
