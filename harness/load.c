/* The load generator: many connections to one echo server on a single
 * event loop, ping-pong or streaming, verifying every byte against a
 * deterministic pattern and timing every round trip. */
#include "sockcheck/load.h"
#include "sockcheck/net.h"
#include "internal.h"
#include "loop.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if !defined(_WIN32)
#include <netinet/in.h>
#include <netinet/tcp.h>
#endif

/* The payload is a window onto one random pattern of PATTERN_LEN bytes,
 * repeated; SLICE more bytes at its end repeat its start, so that any
 * slice of at most SLICE bytes is contiguous and can be sent or compared
 * in place, with no copy and no per-connection buffer. */
#define PATTERN_LEN (1u << 20)
#define SLICE 65536
#define UDP_MAX_SIZE 65507 /* IPv4: 65535 - 20 (IP) - 8 (UDP) */
#define UDP_RING 64        /* datagrams remembered a connection; a power of 2 */
#define UDP_WINDOW_MAX (UDP_RING / 2)
#define TCP_RECS 64        /* send records a stream connection keeps for latency */
#define SEQ_BYTES 8
#define BATCH 256
#define WAIT_MAX_MS 50     /* how late a sc_load_stop may be noticed */
#define SENDS_PER_TURN 16  /* bound on sends for one readiness event */
#define NS_PER_MS 1000000LL

/* A log-linear histogram in the manner of HdrHistogram: values below
 * 2^SUB_BITS are exact; above, each power of two has HALF buckets, so a
 * value is known within 1/HALF. Fixed size; recording never allocates. */
#define HIST_SUB_BITS 7
#define HIST_HALF (1u << (HIST_SUB_BITS - 1))
#define HIST_MAX_BITS 40 /* 2^40 ns is about 18 minutes; longer is clamped */
#define HIST_LEN ((1u << HIST_SUB_BITS) + (HIST_MAX_BITS - HIST_SUB_BITS) * HIST_HALF)

struct hist {
    uint64_t n[HIST_LEN];
    uint64_t total, max;
};

static unsigned msb64(uint64_t v)
{
#if defined(__GNUC__)
    return 63u - (unsigned)__builtin_clzll(v);
#else
    unsigned b = 0;
    while (v >>= 1)
        b++;
    return b;
#endif
}

static size_t hist_index(uint64_t v)
{
    if (v < (1u << HIST_SUB_BITS))
        return (size_t)v;
    unsigned shift = msb64(v) - (HIST_SUB_BITS - 1);
    return (1u << HIST_SUB_BITS) + (shift - 1) * HIST_HALF + (size_t)((v >> shift) - HIST_HALF);
}

/* The highest value that falls in bucket i. */
static uint64_t hist_top(size_t i)
{
    if (i < (1u << HIST_SUB_BITS))
        return i;
    size_t j = i - (1u << HIST_SUB_BITS);
    unsigned shift = (unsigned)(j / HIST_HALF) + 1;
    uint64_t sub = j % HIST_HALF + HIST_HALF;
    return ((sub + 1) << shift) - 1;
}

static void hist_add(struct hist *h, uint64_t v, uint64_t count)
{
    if (v > h->max)
        h->max = v;
    if (v >= (UINT64_C(1) << HIST_MAX_BITS))
        v = (UINT64_C(1) << HIST_MAX_BITS) - 1;
    h->n[hist_index(v)] += count;
    h->total += count;
}

/* The value at quantile q: the top of the bucket holding the
 * ceil(q * total)-th value, never above the largest value seen. */
static uint64_t hist_quantile(const struct hist *h, double q)
{
    if (h->total == 0)
        return 0;
    uint64_t rank = (uint64_t)(q * (double)h->total);
    if ((double)rank < q * (double)h->total || rank == 0)
        rank++;
    uint64_t seen = 0;
    for (size_t i = 0; i < HIST_LEN; i++) {
        seen += h->n[i];
        if (seen >= rank) {
            uint64_t top = hist_top(i);
            return top < h->max ? top : h->max;
        }
    }
    return h->max;
}

enum { C_PENDING, C_CONNECTING, C_ACTIVE, C_CLOSED };
enum { S_FREE, S_OUT, S_DONE, S_LOST };

/* UDP: one datagram sent (key: its sequence number). TCP stream: one send
 * (key: the stream offset it ended at). */
struct slot {
    uint64_t key;
    int64_t t;
    int state;
};

struct conn {
    struct sc__handle h; /* first: the loop hands it back */
    int state;
    uint32_t phase;      /* where this connection's pattern starts */
    int64_t t_progress;  /* the last echo, or the start of waiting for one */
    /* TCP: byte offsets of the stream; limit is what may be sent so far. */
    uint64_t sent, recvd, limit;
    int64_t t_req;       /* ping-pong: when the request went out */
    uint64_t lat_done;   /* stream: offset up to which latency is recorded */
    unsigned rhead, rcount;
    /* UDP: sequence numbers; base is the oldest datagram still awaited. */
    uint64_t next_seq, base;
    unsigned inflight, credit;
    struct slot *ring;
    int queued;          /* waiting out the interval in the pause queue */
    int64_t t_due;       /* when its pause ends */
};

struct sc_load {
    sc_load_opts_t o;
    const sc_sys_t *sys;
    struct sc__loop loop;
    int udp, stream;
    size_t window;            /* chunks (TCP stream) or datagrams (UDP) */
    struct conn *conns;
    struct slot *slots;
    sc_addr_t *sources;       /* a copy of o.sources */
    /* Connections pausing between round trips (interval_ms): a binary
     * min-heap on the end of the pause, at most one entry a connection. */
    struct conn **pauseq;
    size_t pq_len;
    uint64_t jitter;          /* state of the pauses' random part */
    unsigned char *pattern;
    size_t next_open, connecting, open;
    unsigned long long reserved;
    int started, ending, finished;
    volatile sig_atomic_t stop;
    int64_t now, t_start, t_end_by, t_ending, t_last, t_end;
    int64_t sweep_ns, t_sweep, t_progress_cb;
    sc_load_stats_t st;
    struct hist hist;
    char target_text[SC_ADDR_STRLEN];
    struct sc__ready ready[BATCH];
    unsigned char rbuf[SLICE];
    unsigned char tbuf[SLICE];
};

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int would_block(ptrdiff_t rc)
{
    return rc == -EAGAIN || rc == -EWOULDBLOCK || rc == -EINTR;
}

/* xorshift64*: a fast deterministic generator for the pattern. */
static uint64_t next_random(uint64_t *x)
{
    *x ^= *x >> 12;
    *x ^= *x << 25;
    *x ^= *x >> 27;
    return *x * UINT64_C(2685821657736338717);
}

void sc_load_opts_init(sc_load_opts_t *o)
{
    memset(o, 0, sizeof(*o));
    o->socktype = SOCK_STREAM;
    o->mode = SC_LOAD_PINGPONG;
    o->seed = 1;
}

/* ---- bookkeeping shared by TCP and UDP ---- */

static void begin_end(struct sc_load *l)
{
    if (!l->ending) {
        l->ending = 1;
        l->t_ending = l->now;
    }
}

/* Grants up to want units (chunks or datagrams) of the count bound. */
static uint64_t reserve(struct sc_load *l, uint64_t want)
{
    if (l->ending)
        return 0;
    if (l->o.count == 0)
        return want;
    uint64_t left = l->o.count - l->reserved;
    if (want > left)
        want = left;
    l->reserved += want;
    if (l->reserved == l->o.count)
        begin_end(l);
    return want;
}

static void conn_close(struct sc_load *l, struct conn *c)
{
    if (c->state == C_CONNECTING)
        l->connecting--;
    else if (c->state == C_ACTIVE)
        l->open--;
    if (c->h.s != SC_INVALID_SOCK) {
        sc__loop_del(&l->loop, &c->h);
        SC__CALL(l->sys, close, c->h.s);
        c->h.s = SC_INVALID_SOCK;
    }
    c->state = C_CLOSED;
}

/* A connection that failed: counts it, and its unechoed bytes as lost. */
static void conn_fail(struct sc_load *l, struct conn *c, const char *call, int err, uint64_t lost)
{
    l->st.errors++;
    l->st.lost += lost;
    if (!l->st.first_error) {
        l->st.first_error = err;
        sc__errorf(l->st.first_error_text, sizeof(l->st.first_error_text), err, "%s %s", call, l->target_text);
    }
    conn_close(l, c);
}

static void conn_done(struct sc_load *l, struct conn *c)
{
    l->st.conns_done++;
    conn_close(l, c);
}

static void want_out(struct sc_load *l, struct conn *c, int on)
{
    uint32_t ev = SC_EV_IN | (on ? SC_EV_OUT : 0);
    if (ev != c->h.events) {
        int rc = sc__loop_mod(&l->loop, &c->h, ev);
        if (rc < 0)
            conn_fail(l, c, "ev_ctl", rc, 0);
    }
}

/* Counts the bytes of got that differ from the pattern at offset off. */
static uint64_t corrupt_bytes(const struct sc_load *l, uint64_t off, const unsigned char *got, size_t n)
{
    const unsigned char *want = l->pattern + off % PATTERN_LEN;
    if (memcmp(got, want, n) == 0)
        return 0;
    uint64_t bad = 0;
    for (size_t i = 0; i < n; i++)
        bad += got[i] != want[i];
    return bad;
}

/* ---- TCP ---- */

static void stream_record(struct conn *c, int64_t t)
{
    if (c->rcount == TCP_RECS) {
        /* Full: the newest record grows, keeping its earlier time, so the
         * latency of these bytes can only be overstated. */
        c->ring[(c->rhead + c->rcount - 1) % TCP_RECS].key = c->sent;
        return;
    }
    c->ring[(c->rhead + c->rcount) % TCP_RECS] = (struct slot){c->sent, t, S_OUT};
    c->rcount++;
}

/* Opens more of the stream window; 0 when nothing more may be sent. */
static int tcp_grant(struct sc_load *l, struct conn *c)
{
    if (!l->stream)
        return 0;
    uint64_t room = (uint64_t)l->window * l->o.size - (c->limit - c->recvd);
    uint64_t chunks = reserve(l, room / l->o.size);
    c->limit += chunks * l->o.size;
    return chunks > 0;
}

/* Sends from the pattern up to the limit, stopping at the first short
 * send (the socket buffer is full: another try would only fail). */
static void tcp_send(struct sc_load *l, struct conn *c)
{
    for (int i = 0; i < SENDS_PER_TURN; i++) {
        if (c->sent == c->limit && !tcp_grant(l, c))
            break;
        size_t want = c->limit - c->sent < SLICE ? (size_t)(c->limit - c->sent) : SLICE;
        const unsigned char *p = l->pattern + (c->phase + c->sent) % PATTERN_LEN;
        ptrdiff_t n = SC__CALL(l->sys, send, c->h.s, p, want, 0);
        if (n > 0) {
            if (c->sent == c->recvd)
                c->t_progress = l->now;
            c->sent += (uint64_t)n;
            l->st.sent += (uint64_t)n;
            if (l->stream)
                stream_record(c, l->now);
            if ((size_t)n < want)
                break;
            continue;
        }
        if (n == 0 || would_block(n))
            break;
        conn_fail(l, c, "send", (int)n, c->sent - c->recvd);
        return;
    }
    want_out(l, c, c->sent < c->limit);
}

static void pq_swap(struct conn **q, size_t i, size_t j)
{
    struct conn *t = q[i];
    q[i] = q[j];
    q[j] = t;
}

static void pq_push(struct sc_load *l, struct conn *c)
{
    struct conn **q = l->pauseq;
    size_t i = l->pq_len++;
    q[i] = c;
    while (i > 0 && q[(i - 1) / 2]->t_due > q[i]->t_due) {
        pq_swap(q, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

static struct conn *pq_pop(struct sc_load *l)
{
    struct conn **q = l->pauseq;
    struct conn *top = q[0];
    q[0] = q[--l->pq_len];
    for (size_t i = 0;;) {
        size_t m = i, a = 2 * i + 1, b = a + 1;
        if (a < l->pq_len && q[a]->t_due < q[m]->t_due)
            m = a;
        if (b < l->pq_len && q[b]->t_due < q[m]->t_due)
            m = b;
        if (m == i)
            break;
        pq_swap(q, i, m);
        i = m;
    }
    return top;
}

/* Puts a connection that finished a round trip into the pause queue; 0
 * when there is no pause (or the run is ending) and it goes on at once.
 * A pause lasts the interval give or take a random quarter: with equal
 * pauses, connections whose echoes came in one batch would send their
 * next requests in one burst again, for ever, and every round trip would
 * wait behind the whole burst. */
static int pause_conn(struct sc_load *l, struct conn *c)
{
    if (l->o.interval_ms <= 0 || l->ending || c->queued)
        return 0;
    int64_t ns = (int64_t)l->o.interval_ms * NS_PER_MS;
    c->queued = 1;
    c->t_due = l->now + ns - ns / 4 + (int64_t)(next_random(&l->jitter) % (uint64_t)(ns / 2 + 1));
    pq_push(l, c);
    return 1;
}

/* Starts the next request, or finishes the connection when there is none
 * and nothing is owed. */
static void tcp_kick(struct sc_load *l, struct conn *c)
{
    if (!l->stream && c->sent == c->limit && c->recvd == c->sent && reserve(l, 1)) {
        c->limit += l->o.size;
        c->t_req = l->now;
    }
    tcp_send(l, c);
    if (c->state == C_ACTIVE && c->recvd == c->sent && c->sent == c->limit)
        conn_done(l, c);
}

/* Records the latency of every send whose bytes have all come back, one
 * sample for each chunk that ended in it. */
static void stream_echoed(struct sc_load *l, struct conn *c)
{
    uint64_t size = l->o.size;
    while (c->rcount > 0) {
        struct slot *r = &c->ring[c->rhead];
        if (r->key > c->recvd)
            break;
        uint64_t chunks = r->key / size - c->lat_done / size;
        if (chunks)
            hist_add(&l->hist, (uint64_t)(l->now - r->t), chunks);
        c->lat_done = r->key;
        c->rhead = (c->rhead + 1) % TCP_RECS;
        c->rcount--;
    }
}

/* One read per readiness event: verify, account, and send what comes
 * next at once. */
static void tcp_recv(struct sc_load *l, struct conn *c)
{
    ptrdiff_t n = SC__CALL(l->sys, recv, c->h.s, l->rbuf, sizeof(l->rbuf), 0);
    uint64_t owed = c->sent - c->recvd;
    if (n <= 0) {
        if (n < 0 && would_block(n))
            return;
        if (n == 0 && l->o.eof_ok) {
            /* A draining server ends the stream: what came back so far
             * was verified in order, the rest was never echoed. */
            l->st.conns_eof++;
            l->st.unechoed += owed;
            conn_close(l, c);
            return;
        }
        conn_fail(l, c, "recv", n == 0 ? SC_EEOF : (int)n, owed);
        return;
    }
    uint64_t take = (uint64_t)n < owed ? (uint64_t)n : owed;
    l->st.duplicated += (uint64_t)n - take; /* bytes never sent */
    uint64_t bad = corrupt_bytes(l, c->phase + c->recvd, l->rbuf, (size_t)take);
    uint64_t before = c->recvd;
    c->recvd += take;
    l->st.corrupted += bad;
    l->st.echoed += take - bad;
    if (take) {
        c->t_progress = l->now;
        l->t_last = l->now;
    }
    if (l->stream) {
        l->st.round_trips += c->recvd / l->o.size - before / l->o.size;
        stream_echoed(l, c);
    } else if (take && c->recvd == c->limit) {
        l->st.round_trips++;
        hist_add(&l->hist, (uint64_t)(l->now - c->t_req), 1);
        if (pause_conn(l, c))
            return;
    }
    if (!c->queued)
        tcp_kick(l, c);
}

/* ---- UDP ---- */

static size_t udp_payload_off(const struct conn *c, uint64_t seq)
{
    return (size_t)((c->phase + seq * 4099u) % PATTERN_LEN);
}

static void put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static void udp_advance(struct conn *c)
{
    while (c->base < c->next_seq && c->ring[c->base % UDP_RING].state != S_OUT)
        c->base++;
}

static void udp_send(struct sc_load *l, struct conn *c)
{
    size_t size = l->o.size;
    for (int i = 0; i < SENDS_PER_TURN; i++) {
        if (c->inflight >= l->window || c->next_seq - c->base >= UDP_RING)
            break;
        if (!c->credit && !reserve(l, 1))
            break;
        c->credit = 1;
        uint64_t seq = c->next_seq;
        put64(l->tbuf, seq);
        memcpy(l->tbuf + SEQ_BYTES, l->pattern + udp_payload_off(c, seq), size - SEQ_BYTES);
        ptrdiff_t n = SC__CALL(l->sys, send, c->h.s, l->tbuf, size, 0);
        if (n < 0 && would_block(n))
            break;
        if (n < 0 || (size_t)n != size) {
            conn_fail(l, c, "send", n < 0 ? (int)n : -EMSGSIZE, (uint64_t)c->inflight * size);
            return;
        }
        c->ring[seq % UDP_RING] = (struct slot){seq, l->now, S_OUT};
        if (c->inflight == 0)
            c->t_progress = l->now;
        c->next_seq++;
        c->inflight++;
        c->credit = 0;
        l->st.sent += size;
    }
    want_out(l, c, c->credit && c->inflight < l->window);
}

static void udp_kick(struct sc_load *l, struct conn *c)
{
    udp_send(l, c);
    if (c->state == C_ACTIVE && c->inflight == 0 && !c->credit)
        conn_done(l, c);
}

/* Sorts one echoed datagram: the awaited one (intact or corrupted), a
 * second copy (duplicated), one already written off (late: it stays
 * lost), or one that was never sent (corrupted). */
static void udp_classify(struct sc_load *l, struct conn *c, size_t n)
{
    size_t size = l->o.size;
    if (n < SEQ_BYTES) {
        l->st.corrupted += n;
        return;
    }
    uint64_t seq = get64(l->rbuf);
    struct slot *s = &c->ring[seq % UDP_RING];
    if (seq >= c->next_seq) {
        l->st.corrupted += n;
        return;
    }
    if (s->key != seq || s->state == S_LOST)
        return;
    if (s->state == S_DONE) {
        l->st.duplicated += n;
        return;
    }
    if (n == size && memcmp(l->rbuf + SEQ_BYTES, l->pattern + udp_payload_off(c, seq), size - SEQ_BYTES) == 0) {
        l->st.echoed += size;
        l->st.round_trips++;
        hist_add(&l->hist, (uint64_t)(l->now - s->t), 1);
    } else {
        l->st.corrupted += n;
    }
    s->state = S_DONE;
    c->inflight--;
    c->t_progress = l->now;
    l->t_last = l->now;
    udp_advance(c);
}

static void udp_recv(struct sc_load *l, struct conn *c)
{
    ptrdiff_t n = SC__CALL(l->sys, recv, c->h.s, l->rbuf, sizeof(l->rbuf), 0);
    if (n < 0) {
        if (!would_block(n))
            conn_fail(l, c, "recv", (int)n, (uint64_t)c->inflight * l->o.size);
        return;
    }
    udp_classify(l, c, (size_t)n);
    if (c->queued || (c->inflight == 0 && !c->credit && pause_conn(l, c)))
        return;
    udp_kick(l, c);
}

/* Writes off the datagrams awaited longer than the timeout. */
static void udp_expire(struct sc_load *l, struct conn *c, int64_t timeout_ns)
{
    int changed = 0;
    while (c->inflight > 0) {
        struct slot *s = &c->ring[c->base % UDP_RING];
        if (s->state != S_OUT || l->now - s->t < timeout_ns)
            break;
        s->state = S_LOST;
        c->inflight--;
        l->st.lost += l->o.size;
        udp_advance(c);
        changed = 1;
    }
    if (changed && !c->queued && !(c->inflight == 0 && !c->credit && pause_conn(l, c)))
        udp_kick(l, c);
}

/* ---- connections ---- */

static void conn_activate(struct sc_load *l, struct conn *c)
{
    c->state = C_ACTIVE;
    l->open++;
    if (l->open > l->st.conns_peak)
        l->st.conns_peak = l->open;
    c->t_progress = l->now;
    if (l->udp)
        udp_kick(l, c);
    else
        tcp_kick(l, c);
}

static int connect_pending(int rc)
{
#if defined(_WIN32)
    if (rc == -EWOULDBLOCK)
        return 1;
#endif
    return rc == -EINPROGRESS || rc == -EINTR;
}

/* Binds the connection's source address. The port is left to connect
 * (IP_BIND_ADDRESS_NO_PORT, ip(7)), which picks it for the whole 4-tuple:
 * a port bound here would be reserved for this address alone and the
 * range would run out as before. */
static int bind_source(struct sc_load *l, struct conn *c)
{
    const sc_addr_t *src = &l->sources[(size_t)(c - l->conns) % l->o.nsources];
#if defined(IP_BIND_ADDRESS_NO_PORT)
    if (!l->udp) {
        int one = 1;
        SC__CALL(l->sys, setsockopt, c->h.s, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
    }
#endif
    return SC__CALL(l->sys, bind, c->h.s, (const struct sockaddr *)&src->ss, src->len);
}

static void conn_open(struct sc_load *l, struct conn *c)
{
    const sc_addr_t *a = &l->o.target;
    c->state = C_CONNECTING;
    l->connecting++;
    c->t_progress = l->now;
    c->h.s = SC__CALL(l->sys, socket, a->ss.ss_family, l->o.socktype, 0, SC_NONBLOCK | SC_CLOEXEC);
    if (c->h.s < 0) {
        int err = (int)c->h.s;
        c->h.s = SC_INVALID_SOCK;
        conn_fail(l, c, "socket", err, 0);
        return;
    }
    if (!l->udp) {
        /* Small requests must leave at once, not wait for an ACK (Nagle). */
        int one = 1;
        SC__CALL(l->sys, setsockopt, c->h.s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    int rc = l->o.nsources ? bind_source(l, c) : 0;
    if (rc < 0) {
        conn_fail(l, c, "bind", rc, 0);
        return;
    }
    rc = SC__CALL(l->sys, connect, c->h.s, (const struct sockaddr *)&a->ss, a->len);
    if (rc < 0 && !connect_pending(rc)) {
        conn_fail(l, c, "connect", rc, 0);
        return;
    }
    int lr = sc__loop_add(&l->loop, &c->h, rc == 0 ? SC_EV_IN : SC_EV_OUT);
    if (lr < 0) {
        conn_fail(l, c, "ev_ctl", lr, 0);
        return;
    }
    if (rc == 0) {
        l->connecting--;
        conn_activate(l, c);
    }
}

static void conn_connected(struct sc_load *l, struct conn *c)
{
    int soerr = 0;
    sc_socklen_t len = sizeof(soerr);
    int rc = SC__CALL(l->sys, getsockopt, c->h.s, SOL_SOCKET, SO_ERROR, &soerr, &len);
    if (rc < 0 || soerr != 0) {
        conn_fail(l, c, rc < 0 ? "getsockopt" : "connect", rc < 0 ? rc : -soerr, 0);
        return;
    }
    l->connecting--;
    conn_activate(l, c);
}

static void open_more(struct sc_load *l)
{
    while (!l->ending && l->next_open < l->o.conns && l->connecting < l->o.max_connecting)
        conn_open(l, &l->conns[l->next_open++]);
}

static void handle(struct sc_load *l, struct conn *c, uint32_t ev)
{
    if (c->state == C_CONNECTING) {
        conn_connected(l, c);
        return;
    }
    if (c->state != C_ACTIVE)
        return;
    if (ev & (SC_EV_IN | SC_EV_ERR | SC_EV_HUP)) {
        if (l->udp)
            udp_recv(l, c);
        else
            tcp_recv(l, c);
    }
    if (c->state == C_ACTIVE && !c->queued && (ev & SC_EV_OUT)) {
        if (l->udp)
            udp_kick(l, c);
        else
            tcp_kick(l, c);
    }
}

/* Timeouts: connects that take too long, TCP connections that owe an echo
 * and made no progress, UDP datagrams never echoed. */
static void sweep(struct sc_load *l)
{
    int64_t timeout_ns = (int64_t)l->o.timeout_ms * NS_PER_MS;
    int64_t connect_ns = (int64_t)l->o.connect_timeout_ms * NS_PER_MS;
    for (size_t i = 0; i < l->next_open; i++) {
        struct conn *c = &l->conns[i];
        if (c->state == C_CONNECTING && l->now - c->t_progress >= connect_ns)
            conn_fail(l, c, "connect", -ETIMEDOUT, 0);
        else if (c->state == C_ACTIVE && l->udp)
            udp_expire(l, c, timeout_ns);
        else if (c->state == C_ACTIVE && c->sent > c->recvd && l->now - c->t_progress >= timeout_ns)
            conn_fail(l, c, "recv", -ETIMEDOUT, c->sent - c->recvd);
    }
    l->t_sweep = l->now + l->sweep_ns;
}

/* ---- the run ---- */

static int check_options(sc_load_opts_t *o)
{
    if (o->socktype == 0)
        o->socktype = SOCK_STREAM;
    int udp = o->socktype == SOCK_DGRAM;
    if ((!udp && o->socktype != SOCK_STREAM) || (o->mode != SC_LOAD_PINGPONG && o->mode != SC_LOAD_STREAM))
        return SC_EUSAGE;
    if (o->target.len == 0 || (o->duration_ms <= 0 && o->count == 0) || o->duration_ms < 0)
        return SC_EUSAGE;
    if (o->size == 0)
        o->size = 64;
    if (udp && (o->size < SC_LOAD_UDP_MIN_SIZE || o->size > UDP_MAX_SIZE))
        return SC_EUSAGE;
    if (o->conns == 0)
        o->conns = 1;
    if (o->timeout_ms <= 0)
        o->timeout_ms = udp ? 1000 : 10000;
    if (o->connect_timeout_ms <= 0)
        o->connect_timeout_ms = 5000;
    if (o->max_connecting == 0)
        o->max_connecting = 64;
    if (o->interval_ms < 0 || (o->interval_ms > 0 && o->mode != SC_LOAD_PINGPONG) || (o->eof_ok && udp))
        return SC_EUSAGE;
    if (o->nsources > 0 && !o->sources)
        return SC_EUSAGE;
    for (size_t i = 0; i < o->nsources; i++)
        if (o->sources[i].ss.ss_family != o->target.ss.ss_family)
            return SC_EUSAGE;
    return 0;
}

static size_t pick_window(const sc_load_opts_t *o)
{
    if (o->mode == SC_LOAD_PINGPONG)
        return 1;
    if (o->socktype == SOCK_DGRAM)
        return o->window == 0 ? UDP_WINDOW_MAX : o->window < UDP_WINDOW_MAX ? o->window : UDP_WINDOW_MAX;
    if (o->window)
        return o->window;
    size_t w = (256u * 1024u) / o->size;
    return w ? w : 1;
}

static int load_alloc(struct sc_load *l)
{
    size_t ring = l->udp ? UDP_RING : l->stream ? TCP_RECS : 0;
    uint64_t x = l->o.seed ? l->o.seed : 1;
    l->conns = calloc(l->o.conns, sizeof(*l->conns));
    l->slots = ring ? calloc(l->o.conns * ring, sizeof(*l->slots)) : NULL;
    l->pattern = malloc(PATTERN_LEN + SLICE);
    if (!l->conns || (ring && !l->slots) || !l->pattern)
        return -ENOMEM;
    if (l->o.nsources) {
        l->sources = malloc(l->o.nsources * sizeof(*l->sources));
        if (!l->sources)
            return -ENOMEM;
        memcpy(l->sources, l->o.sources, l->o.nsources * sizeof(*l->sources));
        l->o.sources = l->sources;
    }
    if (l->o.interval_ms > 0 && !(l->pauseq = calloc(l->o.conns, sizeof(*l->pauseq))))
        return -ENOMEM;
    for (size_t i = 0; i < PATTERN_LEN; i += 8)
        put64(l->pattern + i, next_random(&x));
    memcpy(l->pattern + PATTERN_LEN, l->pattern, SLICE);
    for (size_t i = 0; i < l->o.conns; i++) {
        struct conn *c = &l->conns[i];
        c->h.s = SC_INVALID_SOCK;
        c->phase = (uint32_t)(next_random(&x) % PATTERN_LEN);
        c->ring = ring ? &l->slots[i * ring] : NULL;
        for (size_t k = 0; k < ring; k++)
            c->ring[k].key = UINT64_MAX;
    }
    return 0;
}

int sc_load_create(sc_load_t **out, const sc_load_opts_t *opts)
{
    sc_load_opts_t o = *opts;
    int rc = check_options(&o);
    if (rc < 0)
        return rc;
    struct sc_load *l = calloc(1, sizeof(*l));
    if (!l)
        return -ENOMEM;
    l->o = o;
    l->sys = o.sys ? o.sys : sc_sys_current();
    l->udp = o.socktype == SOCK_DGRAM;
    l->stream = o.mode == SC_LOAD_STREAM;
    l->window = pick_window(&o);
    l->jitter = (o.seed ? o.seed : 1) ^ UINT64_C(0x9e3779b97f4a7c15);
    int64_t sweep_ns = (int64_t)o.timeout_ms * NS_PER_MS / 10;
    l->sweep_ns = sweep_ns < NS_PER_MS ? NS_PER_MS : sweep_ns > 100 * NS_PER_MS ? 100 * NS_PER_MS : sweep_ns;
    if (sc_addr_format((const struct sockaddr *)&o.target.ss, o.target.len, l->target_text,
                       sizeof(l->target_text)) < 0)
        snprintf(l->target_text, sizeof(l->target_text), "?");
    rc = load_alloc(l);
    if (rc == 0)
        rc = sc__loop_init(&l->loop, l->sys);
    if (rc < 0) {
        free(l->conns);
        free(l->slots);
        free(l->pattern);
        free(l->sources);
        free(l->pauseq);
        free(l);
        return rc;
    }
    *out = l;
    return 0;
}

static int is_finished(const struct sc_load *l)
{
    return (l->ending || l->next_open == l->o.conns) && l->connecting == 0 && l->open == 0;
}

static int ms_until(int64_t now, int64_t t)
{
    int64_t ms = (t - now + NS_PER_MS - 1) / NS_PER_MS;
    return ms < 0 ? 0 : ms > 0x7fffffff ? 0x7fffffff : (int)ms;
}

/* How long the next wait may be: until the first timer that is due. */
static int wait_ms(const struct sc_load *l, int timeout_ms)
{
    int ms = WAIT_MAX_MS;
    if (timeout_ms >= 0 && timeout_ms < ms)
        ms = timeout_ms;
    int m = ms_until(l->now, l->t_sweep);
    ms = m < ms ? m : ms;
    if (!l->ending && l->t_end_by) {
        m = ms_until(l->now, l->t_end_by);
        ms = m < ms ? m : ms;
    }
    if (l->o.progress && l->o.progress_ms > 0) {
        m = ms_until(l->now, l->t_progress_cb);
        ms = m < ms ? m : ms;
    }
    if (l->pq_len) {
        m = ms_until(l->now, l->pauseq[0]->t_due);
        ms = m < ms ? m : ms;
    }
    return ms;
}

static void start(struct sc_load *l)
{
    l->started = 1;
    l->now = l->t_start = now_ns();
    l->t_end_by = l->o.duration_ms > 0 ? l->t_start + (int64_t)l->o.duration_ms * NS_PER_MS : 0;
    l->t_sweep = l->now + l->sweep_ns;
    l->t_progress_cb = l->now + (int64_t)l->o.progress_ms * NS_PER_MS;
    open_more(l);
}

/* Resumes the connections whose pause is over; every one once the run is
 * ending, so that each finishes at once. */
static void resume_paused(struct sc_load *l)
{
    while (l->pq_len) {
        if (!l->ending && l->pauseq[0]->t_due > l->now)
            break;
        struct conn *c = pq_pop(l);
        c->queued = 0;
        if (c->state != C_ACTIVE)
            continue;
        if (l->udp)
            udp_kick(l, c);
        else
            tcp_kick(l, c);
    }
}

static void timers(struct sc_load *l)
{
    if (!l->ending && (l->stop || (l->t_end_by && l->now >= l->t_end_by)))
        begin_end(l);
    resume_paused(l);
    if (l->now >= l->t_sweep)
        sweep(l);
    if (l->o.progress && l->o.progress_ms > 0 && l->now >= l->t_progress_cb) {
        sc_load_stats_t st;
        sc_load_stats(l, &st);
        l->o.progress(&st, l->o.progress_arg);
        l->t_progress_cb = l->now + (int64_t)l->o.progress_ms * NS_PER_MS;
    }
}

static void finish(struct sc_load *l)
{
    l->finished = 1;
    l->t_end = l->now;
}

int sc_load_step(sc_load_t *l, int timeout_ms)
{
    if (l->finished)
        return 0;
    if (!l->started)
        start(l);
    else
        l->now = now_ns();
    timers(l);
    if (is_finished(l)) {
        finish(l);
        return 0;
    }
    int n = sc__loop_wait(&l->loop, l->ready, BATCH, wait_ms(l, timeout_ms));
    if (n < 0 && n != -EINTR)
        return n;
    for (int i = 0; i < n; i++) {
        /* Each event gets its own time: a late entry of a long batch must
         * not inherit the time the batch began. */
        l->now = now_ns();
        handle(l, (struct conn *)l->ready[i].h, l->ready[i].events);
    }
    l->now = now_ns();
    open_more(l);
    timers(l);
    if (is_finished(l)) {
        finish(l);
        return 0;
    }
    return 1;
}

int sc_load_run(sc_load_t *l)
{
    int rc;
    while ((rc = sc_load_step(l, -1)) == 1)
        ;
    return rc;
}

void sc_load_stop(sc_load_t *l)
{
    l->stop = 1;
}

void sc_load_stats(const sc_load_t *l, sc_load_stats_t *st)
{
    *st = l->st;
    int64_t end = l->finished ? l->t_end : l->now;
    if (l->finished) {
        /* The run's length ends with its last echo (or the end of the
         * duration), not with the wait for echoes that never came. */
        int64_t last = l->t_last > l->t_ending ? l->t_last : l->t_ending;
        if (last && last < end)
            end = last;
    }
    st->elapsed_s = l->started ? (double)(end - l->t_start) / 1e9 : 0.0;
    st->conns_open = l->open;
    st->conns_connecting = l->connecting;
    st->p50_ns = hist_quantile(&l->hist, 0.50);
    st->p99_ns = hist_quantile(&l->hist, 0.99);
    st->p999_ns = hist_quantile(&l->hist, 0.999);
    st->max_ns = l->hist.max;
}

int sc_load_passed(const sc_load_stats_t *st)
{
    return st->lost == 0 && st->duplicated == 0 && st->corrupted == 0 && st->errors == 0 && st->round_trips > 0;
}

static unsigned long long to_us(unsigned long long ns)
{
    return (ns + 500) / 1000;
}

int sc_load_format(const sc_load_t *l, const sc_load_stats_t *st, char *buf, size_t cap)
{
    double secs = st->elapsed_s > 0 ? st->elapsed_s : 1e-9;
    return snprintf(buf, cap,
                    "load proto=%s mode=%s conns=%zu size=%zu duration_s=%.2f round_trips=%llu rt_per_s=%.1f "
                    "mb_per_s=%.2f p50_us=%llu p99_us=%llu p999_us=%llu max_us=%llu sent=%llu echoed=%llu "
                    "lost=%llu duplicated=%llu corrupted=%llu errors=%llu result=%s",
                    l->udp ? "udp" : "tcp", l->stream ? "stream" : "pingpong", l->o.conns, l->o.size,
                    st->elapsed_s, st->round_trips, (double)st->round_trips / secs,
                    (double)st->echoed / secs / 1e6, to_us(st->p50_ns), to_us(st->p99_ns), to_us(st->p999_ns),
                    to_us(st->max_ns), st->sent, st->echoed, st->lost, st->duplicated, st->corrupted, st->errors,
                    sc_load_passed(st) ? "PASS" : "FAIL");
}

/* Writes s as a JSON string: quotes, backslashes and control bytes escaped. */
static size_t json_string(char *buf, size_t cap, const char *s)
{
    size_t n = 0;
    for (const char *p = s; *p && n + 8 < cap; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch == '"' || ch == '\\')
            n += (size_t)snprintf(buf + n, cap - n, "\\%c", ch);
        else if (ch < 0x20)
            n += (size_t)snprintf(buf + n, cap - n, "\\u%04x", ch);
        else
            buf[n++] = (char)ch;
    }
    buf[n < cap ? n : cap - 1] = '\0';
    return n;
}

int sc_load_format_json(const sc_load_t *l, const sc_load_stats_t *st, char *buf, size_t cap)
{
    char err[2 * sizeof(st->first_error_text)];
    json_string(err, sizeof(err), st->first_error ? st->first_error_text : "");
    double secs = st->elapsed_s > 0 ? st->elapsed_s : 1e-9;
    return snprintf(buf, cap,
                    "{\"proto\":\"%s\",\"mode\":\"%s\",\"conns\":%zu,\"size\":%zu,\"duration_s\":%.3f,"
                    "\"round_trips\":%llu,\"rt_per_s\":%.1f,\"mb_per_s\":%.3f,\"p50_us\":%llu,\"p99_us\":%llu,"
                    "\"p999_us\":%llu,\"max_us\":%llu,\"sent\":%llu,\"echoed\":%llu,\"lost\":%llu,"
                    "\"duplicated\":%llu,\"corrupted\":%llu,\"errors\":%llu,\"conns_peak\":%zu,"
                    "\"conns_done\":%llu,\"conns_eof\":%llu,\"unechoed\":%llu,\"first_error\":\"%s\","
                    "\"result\":\"%s\"}",
                    l->udp ? "udp" : "tcp", l->stream ? "stream" : "pingpong", l->o.conns, l->o.size,
                    st->elapsed_s, st->round_trips, (double)st->round_trips / secs,
                    (double)st->echoed / secs / 1e6, to_us(st->p50_ns), to_us(st->p99_ns), to_us(st->p999_ns),
                    to_us(st->max_ns), st->sent, st->echoed, st->lost, st->duplicated, st->corrupted, st->errors,
                    st->conns_peak, st->conns_done, st->conns_eof, st->unechoed, err,
                    sc_load_passed(st) ? "PASS" : "FAIL");
}

void sc_load_destroy(sc_load_t *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->o.conns; i++)
        if (l->conns[i].h.s != SC_INVALID_SOCK)
            conn_close(l, &l->conns[i]);
    sc__loop_free(&l->loop);
    free(l->conns);
    free(l->slots);
    free(l->pattern);
    free(l->sources);
    free(l->pauseq);
    free(l);
}
