/* The reference RFC 862 echo server: listeners, the event loop, TCP
 * connections with bounded buffers, UDP echo, limits and drain. */
#include "sockcheck/server.h"
#include "sockcheck/io.h"
#include "sockcheck/net.h"
#include "internal.h"
#include "guard.h"
#include "loop.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#if !defined(_WIN32)
#include <netinet/tcp.h>
#endif

#define DEFAULT_MAX_CONNS 10000
#define DEFAULT_BUFFER (64 * 1024)
#define DEFAULT_MAX_BUFFERED (32u * 1024 * 1024)
#define DEFAULT_DRAIN_MS 5000
#define UDP_SCRATCH 65536     /* larger than any IPv4 or IPv6 UDP payload */
#define ACCEPT_BATCH 64       /* accepts per readiness event, so listeners cannot starve clients */
#define READ_BATCH 4          /* full reads per readiness event for a streaming client */
#define UDP_BATCH 32          /* datagrams per readiness event, likewise */
#define UDP_VEC 8             /* datagrams per recv_batch/send_batch call, where the seam has them */
#define EINTR_TRIES 8         /* EINTRs one batch send may see before its rest is dropped */
#define BACKOFF_MIN_MS 10     /* accept pause after EMFILE, doubled up to the max */
#define BACKOFF_MAX_MS 1000
#define PORT_TRIES 16         /* port 0 with TCP and UDP: tries to find one port free for both */

enum handle_kind { H_TCP_LISTEN, H_UDP, H_WAKE, H_CONN };

struct listener {
    struct sc__handle h;
    sc_addr_t addr;
    int socktype;
};

struct conn {
    struct sc__handle h;
    struct conn *prev, *next;
    char *pend;          /* received, not yet echoed: pend[off .. off+len) */
    size_t off, len;
    int peer_eof;        /* the client's FIN arrived */
    int wr_shut;         /* we sent our FIN (drain) and discard what comes */
    int64_t last_active; /* for the idle timeout */
    int starved;         /* waits in srv->starved for memory to read into */
    struct conn *sprev, *snext;
};

enum state { RUNNING, DRAINING, STOPPED };

struct sc_server {
    const sc_sys_t *sys;
    sc_server_opts_t opts;
    struct sc__loop loop;
    struct listener listeners[2 * SC_SERVER_MAX_LISTEN];
    size_t nlisteners;
    struct sc__handle wake;  /* read end of the wakeup pair */
    sc_sock_t wake_tx;   /* write end */
    struct conn *conns;  /* every open connection */
    struct conn *starved, *starved_tail; /* not read until max_buffered has room: oldest first */
    atomic_int stop_req; /* 0, SC_STOP_DRAIN or SC_STOP_NOW */
    enum state state;
    int64_t drain_deadline;
    int64_t accept_resume; /* accepting paused until then (EMFILE), 0: not paused */
    int backoff_ms;
    int64_t next_idle_scan;
    int run_rc;
    int turn_events;     /* what the last turn's wait returned (none: 0) */
    pthread_t thread;
    int has_thread;
    sc_server_stats_t st;
    struct sc__guard *guard; /* UDP reflection and loop guard (allocated with UDP) */
    struct sc__ready ready[256]; /* one wait's events (not on the stack: ASan clears a
                                    stack frame's shadow at every return) */
    char *scratch;       /* one receive buffer shared by all connections; with batches,
                            UDP_VEC datagram buffers of UDP_SCRATCH */
    size_t scratch_len;
    sc_dgram_t *dgrams;  /* UDP_VEC entries where the seam has batches, else NULL */
};

void sc_server_opts_init(sc_server_opts_t *o)
{
    memset(o, 0, sizeof(*o));
    o->v6only = 1;
}

/* ---- connections ---- */

/* ---- the server-wide bound on held bytes ---- */

/* Interest follows the state: read while nothing is pending (backpressure:
 * a client that does not read stops being read), write while something is. */
static uint32_t conn_events(const struct conn *c)
{
    if (c->len)
        return SC_EV_OUT;
    return c->peer_eof ? 0 : SC_EV_IN;
}

/* Whether one more full read could be held without passing max_buffered. */
static int room_for_read(const sc_server_t *srv)
{
    return srv->st.buffered + srv->opts.buffer <= srv->opts.max_buffered;
}

/* Takes the client out of the loop until there is room: not even an error
 * or hang-up is reported for it meanwhile (both stay level-triggered, and
 * reading them would need the memory that is missing), so that it cannot
 * make the loop spin. */
static void starve(sc_server_t *srv, struct conn *c)
{
    sc__loop_del(&srv->loop, &c->h);
    c->starved = 1;
    c->snext = NULL;
    c->sprev = srv->starved_tail;
    if (c->sprev)
        c->sprev->snext = c;
    else
        srv->starved = c;
    srv->starved_tail = c;
    srv->st.reads_deferred++;
}

static void unlink_starved(sc_server_t *srv, struct conn *c)
{
    if (c->sprev)
        c->sprev->snext = c->snext;
    else
        srv->starved = c->snext;
    if (c->snext)
        c->snext->sprev = c->sprev;
    else
        srv->starved_tail = c->sprev;
    c->starved = 0;
    c->sprev = c->snext = NULL;
}

/* Back into the loop, waiting for what its state asks for. */
static int unstarve(sc_server_t *srv, struct conn *c)
{
    if (!c->starved)
        return 0;
    unlink_starved(srv, c);
    return sc__loop_add(&srv->loop, &c->h, conn_events(c));
}

static void conn_close(sc_server_t *srv, struct conn *c)
{
    if (c->starved)
        unlink_starved(srv, c); /* out of the loop already */
    else
        sc__loop_del(&srv->loop, &c->h);
    SC__CALL(srv->sys, close, c->h.s);
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    srv->st.buffered -= c->len;
    srv->st.conns--;
    free(c->pend);
    free(c);
    /* A descriptor came free: accepting may work again (EMFILE backoff). */
    if (srv->accept_resume)
        srv->accept_resume = 1;
}

/* Brings the loop's interest in line with conn_events. */
static int conn_interest(sc_server_t *srv, struct conn *c)
{
    uint32_t ev = conn_events(c);
    if (ev == c->h.events)
        return 0;
    return sc__loop_mod(&srv->loop, &c->h, ev);
}

/* Sends pending bytes. Returns 0, or a negative error that ends the
 * connection. */
static int conn_flush(sc_server_t *srv, struct conn *c)
{
    while (c->len) {
        ptrdiff_t n = SC__CALL(srv->sys, send, c->h.s, c->pend + c->off, c->len, 0);
        if (n == -EINTR)
            continue;
        if (n == -EAGAIN || n == -EWOULDBLOCK)
            return 0;
        if (n < 0)
            return (int)n;
        c->off += (size_t)n;
        c->len -= (size_t)n;
        srv->st.bytes_out += (unsigned long long)n;
        srv->st.buffered -= (size_t)n;
    }
    /* Nothing held: give the memory back, so that idle clients cost none. */
    free(c->pend);
    c->pend = NULL;
    c->off = 0;
    return 0;
}

/* Echoes n bytes just received into the scratch buffer: straight back when
 * the socket takes them, the rest kept (at most opts.buffer bytes). */
static int conn_echo(sc_server_t *srv, struct conn *c, size_t n)
{
    size_t sent = 0;
    while (sent < n) {
        ptrdiff_t w = SC__CALL(srv->sys, send, c->h.s, srv->scratch + sent, n - sent, 0);
        if (w == -EINTR)
            continue;
        if (w == -EAGAIN || w == -EWOULDBLOCK)
            break;
        if (w < 0)
            return (int)w;
        sent += (size_t)w;
    }
    srv->st.bytes_out += sent;
    if (sent < n) {
        /* Exactly what is left: nothing is added while it waits (reading
         * stops until it is sent), and a client behind by a few bytes
         * holds a few bytes. */
        c->pend = malloc(n - sent);
        if (!c->pend)
            return -ENOMEM;
        memcpy(c->pend, srv->scratch + sent, n - sent);
        c->off = 0;
        c->len = n - sent;
        srv->st.buffered += c->len;
        if (srv->st.buffered > srv->st.buffered_peak)
            srv->st.buffered_peak = srv->st.buffered;
    }
    return 0;
}

/* After the client's FIN (RFC 862: the server echoes until the client
 * stops), or during drain: once nothing is pending, the connection ends
 * with our FIN. */
static int conn_finish(sc_server_t *srv, struct conn *c)
{
    if (c->len)
        return conn_interest(srv, c);
    if (c->peer_eof)
        return -ECONNABORTED; /* both directions done: close */
    if (!c->wr_shut) {
        /* Without our FIN the client would wait for the end of the echo
         * forever: a connection that cannot send it ends now. */
        int rc = SC__CALL(srv->sys, shutdown, c->h.s, SHUT_WR);
        if (rc < 0)
            return rc;
        c->wr_shut = 1;
    }
    return sc__loop_mod(&srv->loop, &c->h, SC_EV_IN);
}

static int conn_readable(sc_server_t *srv, struct conn *c)
{
    /* A read that filled the buffer and was echoed whole is followed by
     * another at once: a streaming client then costs one wait per
     * READ_BATCH buffers. A short read means the socket is empty, and a
     * second recv would only return EAGAIN. */
    for (int i = 0; i < READ_BATCH; i++) {
        if (!c->wr_shut && !room_for_read(srv)) {
            /* Held bytes are at the server-wide bound: this client waits,
             * unread (backpressure), until others' bytes are sent. */
            starve(srv, c);
            return 0;
        }
        ptrdiff_t n;
        do
            n = SC__CALL(srv->sys, recv, c->h.s, srv->scratch, srv->opts.buffer, 0);
        while (n == -EINTR);
        if (n == -EAGAIN || n == -EWOULDBLOCK)
            return 0;
        if (n < 0)
            return (int)n;
        if (n == 0) {
            c->peer_eof = 1;
            return c->len ? conn_interest(srv, c) : -ECONNABORTED;
        }
        srv->st.bytes_in += (unsigned long long)n;
        if (c->wr_shut)
            return 0; /* draining: what comes after our FIN is discarded */
        int rc = conn_echo(srv, c, (size_t)n);
        if (rc < 0)
            return rc;
        if (c->len)
            return conn_interest(srv, c);
        if ((size_t)n < srv->opts.buffer)
            return 0;
    }
    return 0;
}

static void conn_event(sc_server_t *srv, struct conn *c, uint32_t ev)
{
    int rc = 0;
    if (srv->opts.idle_timeout_ms)
        c->last_active = sc__now_ms(srv->sys);
    if (c->len && (ev & (SC_EV_OUT | SC_EV_ERR | SC_EV_HUP))) {
        /* Pending bytes first: on an error the send reports it. */
        rc = conn_flush(srv, c);
        if (rc == 0 && !c->len)
            rc = (c->peer_eof || srv->state == DRAINING) ? conn_finish(srv, c) : conn_interest(srv, c);
    } else if (ev & (SC_EV_IN | SC_EV_ERR | SC_EV_HUP)) {
        /* ERR and HUP are read as well: recv reports the error or EOF. */
        rc = conn_readable(srv, c);
    }
    if (rc < 0)
        conn_close(srv, c);
}

static void conn_add(sc_server_t *srv, sc_sock_t s)
{
    struct conn *c = calloc(1, sizeof(*c));
    if (!c) {
        SC__CALL(srv->sys, close, s);
        srv->st.accept_errors++;
        return;
    }
    c->h.kind = H_CONN;
    c->h.s = s;
    c->last_active = srv->opts.idle_timeout_ms ? sc__now_ms(srv->sys) : 0;
    /* An echo must not wait for Nagle's algorithm behind a delayed ACK. */
    int one = 1;
    SC__CALL(srv->sys, setsockopt, s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (sc__loop_add(&srv->loop, &c->h, SC_EV_IN) < 0) {
        SC__CALL(srv->sys, close, s);
        free(c);
        srv->st.accept_errors++;
        return;
    }
    c->next = srv->conns;
    if (c->next)
        c->next->prev = c;
    srv->conns = c;
    srv->st.conns++;
    srv->st.accepted++;
    if (srv->st.conns > srv->st.conns_peak)
        srv->st.conns_peak = srv->st.conns;
}

/* ---- listeners ---- */

static void pause_accepting(sc_server_t *srv)
{
    srv->backoff_ms = srv->backoff_ms ? srv->backoff_ms * 2 : BACKOFF_MIN_MS;
    if (srv->backoff_ms > BACKOFF_MAX_MS)
        srv->backoff_ms = BACKOFF_MAX_MS;
    srv->accept_resume = sc__now_ms(srv->sys) + srv->backoff_ms;
    for (size_t i = 0; i < srv->nlisteners; i++)
        if (srv->listeners[i].socktype == SOCK_STREAM)
            sc__loop_mod(&srv->loop, &srv->listeners[i].h, 0);
}

static void resume_accepting(sc_server_t *srv)
{
    srv->accept_resume = 0;
    for (size_t i = 0; i < srv->nlisteners; i++)
        if (srv->listeners[i].socktype == SOCK_STREAM)
            sc__loop_mod(&srv->loop, &srv->listeners[i].h, SC_EV_IN);
}

static void tcp_acceptable(sc_server_t *srv, struct listener *l)
{
    for (int i = 0; i < ACCEPT_BATCH; i++) {
        sc_sock_t s = SC__CALL(srv->sys, accept, l->h.s, NULL, NULL, SC_NONBLOCK | SC_CLOEXEC);
        if (s >= 0) {
            srv->backoff_ms = 0;
            if (srv->st.conns >= srv->opts.max_conns) {
                /* Over the limit: accepted and closed at once, so that the
                 * client learns at once instead of waiting in the backlog. */
                SC__CALL(srv->sys, close, s);
                srv->st.refused_max_conns++;
                continue;
            }
            conn_add(srv, s);
            continue;
        }
        if (s == -EAGAIN || s == -EWOULDBLOCK)
            return;
        srv->st.accept_errors++;
        if (s == -EMFILE || s == -ENFILE || s == -ENOBUFS || s == -ENOMEM) {
            /* The pending connection stays queued; the level-triggered
             * listener would report it again at once, so stop listening
             * for a while instead of spinning (accept(2) ERRORS). */
            pause_accepting(srv);
            return;
        }
        /* ECONNABORTED, EPROTO, EPERM and network errors concern one
         * client (accept(2) "Error handling"): go on. */
    }
}

#if defined(MSG_TRUNC) && defined(__linux__)
#define TRUNC_FLAG MSG_TRUNC
#else
#define TRUNC_FLAG 0
#endif

/* Counts one received datagram; whether to echo it (whole, and from a
 * source the guard lets through). */
static int udp_accept_datagram(sc_server_t *srv, size_t n, size_t cap, const struct sockaddr *from,
                               sc_socklen_t fl)
{
    srv->st.datagrams_in++;
    if (n > cap || fl <= 0 || (size_t)fl > sizeof(struct sockaddr_storage)) {
        srv->st.datagrams_dropped++; /* truncated: never echo a cut datagram */
        return 0;
    }
    srv->st.bytes_in += (unsigned long long)n;
    if (sc__guard_check(srv->guard, from, fl) != SC__GUARD_OK) {
        srv->st.datagrams_refused++;
        return 0;
    }
    return 1;
}

/* Sends the k echoes of v; one that fails is dropped and counted (UDP may
 * drop), and the rest go on in the next call. */
static void udp_send_echoes(sc_server_t *srv, struct listener *l, const sc_dgram_t *v, int k)
{
    int done = 0, eintr = 0;
    while (done < k) {
        int w = SC__CALL(srv->sys, send_batch, l->h.s, v + done, k - done, 0);
        if (w == -EINTR && ++eintr <= EINTR_TRIES)
            continue;
        if (w <= 0) {
            srv->st.datagrams_dropped++; /* EAGAIN, ENOBUFS, an EINTR storm */
            done++;
            continue;
        }
        for (int i = done; i < done + w && i < k; i++) {
            srv->st.datagrams_out++;
            srv->st.bytes_out += (unsigned long long)v[i].len;
        }
        done += w;
    }
}

/* udp_readable with batches: UDP_VEC datagrams a call each way. */
static void udp_readable_batch(sc_server_t *srv, struct listener *l)
{
    sc_dgram_t *v = srv->dgrams;
    for (int round = 0; round < UDP_BATCH / UDP_VEC; round++) {
        /* Only the buffers: the compaction below moved them about; the
         * rest of an entry is the receive's to fill. */
        for (int i = 0; i < UDP_VEC; i++) {
            v[i].buf = srv->scratch + (size_t)i * UDP_SCRATCH;
            v[i].cap = UDP_SCRATCH;
        }
        int n = SC__CALL(srv->sys, recv_batch, l->h.s, v, UDP_VEC, TRUNC_FLAG);
        if (n == -EAGAIN || n == -EWOULDBLOCK)
            return;
        if (n < 0)
            continue; /* EINTR, or an ICMP error of an earlier reply */
        int k = 0;
        for (int i = 0; i < n; i++)
            if (udp_accept_datagram(srv, v[i].len, v[i].cap, (const struct sockaddr *)&v[i].addr, v[i].addrlen))
                v[k++] = v[i];
        udp_send_echoes(srv, l, v, k);
        if (n < UDP_VEC)
            return; /* the queue is empty: readiness says when more comes */
    }
}

static void udp_readable(sc_server_t *srv, struct listener *l)
{
    if (srv->dgrams) {
        udp_readable_batch(srv, l);
        return;
    }
    for (int i = 0; i < UDP_BATCH; i++) {
        struct sockaddr_storage from;
        sc_socklen_t fl = sizeof(from);
        ptrdiff_t n = SC__CALL(srv->sys, recvfrom, l->h.s, srv->scratch, srv->scratch_len, TRUNC_FLAG,
                               (struct sockaddr *)&from, &fl);
        if (n == -EINTR)
            continue;
        if (n < 0 && n != -EMSGSIZE) {
            /* EAGAIN ends the batch; ECONNREFUSED and the like are ICMP
             * errors of an earlier reply, not of this server. */
            if (n == -EAGAIN || n == -EWOULDBLOCK)
                return;
            continue;
        }
        /* -EMSGSIZE (Winsock's cut datagram) counts as too long. */
        if (!udp_accept_datagram(srv, n < 0 ? SIZE_MAX : (size_t)n, srv->scratch_len, (struct sockaddr *)&from, fl))
            continue;
        ptrdiff_t w;
        do
            w = SC__CALL(srv->sys, sendto, l->h.s, srv->scratch, (size_t)n, 0, (struct sockaddr *)&from, fl);
        while (w == -EINTR);
        if (w == n) {
            srv->st.datagrams_out++;
            srv->st.bytes_out += (unsigned long long)n;
        } else {
            srv->st.datagrams_dropped++; /* EAGAIN or ENOBUFS: UDP may drop, and we count it */
        }
    }
}

static int open_listener(sc_server_t *srv, struct listener *l, char *err, size_t errlen)
{
    char text[SC_ADDR_STRLEN];
    const sc_sys_t *sys = srv->sys;
    int family = sc_addr_family(&l->addr);
    int one = 1, rc;
    sc_addr_format((struct sockaddr *)&l->addr.ss, l->addr.len, text, sizeof(text));
    const char *proto = l->socktype == SOCK_STREAM ? "tcp" : "udp";
    sc_sock_t s = SC__CALL(sys, socket, family, l->socktype, 0, SC_NONBLOCK | SC_CLOEXEC);
    if (s < 0)
        return sc__errorf(err, errlen, (int)s, "socket %s %s", proto, text);
    l->h.s = s;
    l->h.kind = l->socktype == SOCK_STREAM ? H_TCP_LISTEN : H_UDP;
    /* SO_REUSEADDR lets a restarted server bind while old connections sit
     * in TIME_WAIT (socket(7)); it does not allow two listeners. On Windows
     * it does something else: it lets a socket share a port in use (Using
     * SO_REUSEADDR and SO_EXCLUSIVEADDRUSE), so it is left off there. */
#if defined(_WIN32)
    (void)one;
#else
    if (l->socktype == SOCK_STREAM &&
        (rc = SC__CALL(sys, setsockopt, s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one))) < 0)
        return sc__errorf(err, errlen, rc, "setsockopt SO_REUSEADDR %s", text);
#endif
    if (family == AF_INET6) {
        int v6only = srv->opts.v6only ? 1 : 0;
        if ((rc = SC__CALL(sys, setsockopt, s, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only))) < 0)
            return sc__errorf(err, errlen, rc, "setsockopt IPV6_V6ONLY %s", text);
    }
    if ((rc = SC__CALL(sys, bind, s, (struct sockaddr *)&l->addr.ss, l->addr.len)) < 0)
        return sc__errorf(err, errlen, rc, "bind %s %s", proto, text);
    if (l->socktype == SOCK_STREAM &&
        (rc = SC__CALL(sys, listen, s, srv->opts.backlog ? srv->opts.backlog : SOMAXCONN)) < 0)
        return sc__errorf(err, errlen, rc, "listen %s", text);
    if ((rc = sc__addr_of_socket(sys, &l->addr, s)) < 0)
        return sc__errorf(err, errlen, rc, "getsockname %s", text);
    return 0;
}

static void close_listener(sc_server_t *srv, struct listener *l)
{
    if (l->h.s != SC_INVALID_SOCK) {
        sc__loop_del(&srv->loop, &l->h);
        SC__CALL(srv->sys, close, l->h.s);
        l->h.s = SC_INVALID_SOCK;
    }
}

/* Opens the TCP and UDP listeners of one address. With port 0 and both
 * protocols, both get the same ephemeral port: TCP picks it, UDP takes it
 * too, and when UDP finds it taken the pair tries again. */
static int open_address(sc_server_t *srv, const sc_addr_t *addr, char *err, size_t errlen)
{
    int want_tcp = srv->opts.tcp, want_udp = srv->opts.udp;
    int tries = sc_addr_port(addr) == 0 && want_tcp && want_udp ? PORT_TRIES : 1;
    int rc = 0;
    for (int t = 0; t < tries; t++) {
        size_t base = srv->nlisteners;
        sc_addr_t a = *addr;
        rc = 0;
        for (int k = 0; k < 2 && rc == 0; k++) {
            int type = k == 0 ? SOCK_STREAM : SOCK_DGRAM;
            if ((type == SOCK_STREAM && !want_tcp) || (type == SOCK_DGRAM && !want_udp))
                continue;
            struct listener *l = &srv->listeners[srv->nlisteners++];
            l->addr = a;
            l->socktype = type;
            l->h.s = SC_INVALID_SOCK;
            rc = open_listener(srv, l, err, errlen);
            a = l->addr; /* the next protocol binds the port this one got */
        }
        if (rc == 0)
            return 0;
        while (srv->nlisteners > base)
            close_listener(srv, &srv->listeners[--srv->nlisteners]);
        if (rc != -EADDRINUSE)
            break;
    }
    return rc;
}

static int open_listeners(sc_server_t *srv, char *err, size_t errlen)
{
    static const char *const defaults[] = {"127.0.0.1", "[::1]"};
    const char *const *list = srv->opts.nlisten ? srv->opts.listen : defaults;
    size_t n = srv->opts.nlisten ? srv->opts.nlisten : SC__ARRAY_LEN(defaults);
    for (size_t i = 0; i < n; i++) {
        sc_addr_t a;
        int rc = sc_addr_parse(&a, list[i], strlen(list[i]), srv->opts.default_port, 0);
        if (rc < 0)
            return sc__errorf(err, errlen, rc, "address '%s'", list[i]);
        if ((rc = open_address(srv, &a, err, errlen)) < 0)
            return rc;
    }
    for (size_t i = 0; i < srv->nlisteners; i++) {
        int rc = sc__loop_add(&srv->loop, &srv->listeners[i].h, SC_EV_IN);
        if (rc < 0)
            return sc__errorf(err, errlen, rc, "event loop add listener");
        if (srv->listeners[i].socktype == SOCK_DGRAM)
            sc__guard_add_own_port(srv->guard, sc_addr_port(&srv->listeners[i].addr));
    }
    return 0;
}

/* ---- life cycle ---- */

static int open_wakeup(sc_server_t *srv, char *err, size_t errlen)
{
    sc_sock_t sv[2];
    int rc = SC__CALL(srv->sys, socketpair, SOCK_STREAM, SC_NONBLOCK | SC_CLOEXEC, sv);
    if (rc < 0)
        return sc__errorf(err, errlen, rc, "socketpair (wakeup)");
    srv->wake.kind = H_WAKE;
    srv->wake.s = sv[0];
    srv->wake_tx = sv[1];
    rc = sc__loop_add(&srv->loop, &srv->wake, SC_EV_IN);
    return rc < 0 ? sc__errorf(err, errlen, rc, "event loop add wakeup") : 0;
}

int sc_server_create(sc_server_t **out, const sc_server_opts_t *opts, char *err, size_t errlen)
{
    sc_server_t *srv = calloc(1, sizeof(*srv));
    if (!srv)
        return sc__errorf(err, errlen, -ENOMEM, "allocate server");
    srv->opts = *opts;
    if (!srv->opts.tcp && !srv->opts.udp)
        srv->opts.tcp = srv->opts.udp = 1;
    if (!srv->opts.max_conns)
        srv->opts.max_conns = DEFAULT_MAX_CONNS;
    if (!srv->opts.buffer)
        srv->opts.buffer = DEFAULT_BUFFER;
    if (!srv->opts.max_buffered)
        srv->opts.max_buffered = DEFAULT_MAX_BUFFERED;
    if (srv->opts.max_buffered < srv->opts.buffer)
        srv->opts.max_buffered = srv->opts.buffer;
    if (!srv->opts.drain_timeout_ms)
        srv->opts.drain_timeout_ms = DEFAULT_DRAIN_MS;
    if (!srv->opts.default_port)
        srv->opts.default_port = SC_SERVER_DEFAULT_PORT;
    srv->sys = opts->sys ? opts->sys : sc_sys_current();
    srv->wake.s = srv->wake_tx = SC_INVALID_SOCK;
    /* A TCP read takes at most opts.buffer bytes; only UDP needs room for
     * the largest datagram. */
    srv->scratch_len = srv->opts.buffer;
    if (srv->opts.udp && srv->scratch_len < UDP_SCRATCH)
        srv->scratch_len = UDP_SCRATCH;
    int batch = srv->opts.udp && srv->sys->recv_batch && srv->sys->send_batch;
    if (batch) {
        if (srv->scratch_len < (size_t)UDP_VEC * UDP_SCRATCH)
            srv->scratch_len = (size_t)UDP_VEC * UDP_SCRATCH;
        srv->dgrams = malloc(UDP_VEC * sizeof(*srv->dgrams));
    }
    srv->scratch = malloc(srv->scratch_len);
    /* The batch buffers are touched now: memory in use then stays flat,
     * rather than growing each time a burst reaches a buffer not used yet
     * (which a watch for leaks cannot tell from one). */
    for (size_t i = 0; batch && srv->scratch && i < srv->scratch_len; i += 4096)
        ((volatile char *)srv->scratch)[i] = 0; /* not memset: malloc+memset(0) may become calloc */
    srv->guard = srv->opts.udp ? calloc(1, sizeof(*srv->guard)) : NULL;
    int rc = srv->scratch && (srv->guard || !srv->opts.udp) && (srv->dgrams || !batch)
                 ? 0
                 : sc__errorf(err, errlen, -ENOMEM, "allocate buffers");
    if (srv->guard) {
        srv->guard->rate = srv->opts.udp_rate;
        srv->guard->clock = srv->sys;
    }
    if (rc == 0 && (rc = sc__loop_init(&srv->loop, srv->sys)) < 0)
        sc__errorf(err, errlen, rc, "event loop");
    if (rc == 0)
        rc = open_wakeup(srv, err, errlen);
    if (rc == 0)
        rc = open_listeners(srv, err, errlen);
    if (rc < 0) {
        sc_server_destroy(srv);
        return rc;
    }
    *out = srv;
    return 0;
}

size_t sc_server_nlisteners(const sc_server_t *s)
{
    return s->nlisteners;
}

int sc_server_listener(const sc_server_t *s, size_t i, sc_addr_t *addr, int *socktype)
{
    if (i >= s->nlisteners)
        return -EINVAL;
    if (addr)
        *addr = s->listeners[i].addr;
    if (socktype)
        *socktype = s->listeners[i].socktype;
    return 0;
}

uint16_t sc_server_port(const sc_server_t *s, int socktype, int family)
{
    for (size_t i = 0; i < s->nlisteners; i++) {
        const struct listener *l = &s->listeners[i];
        if (l->socktype == socktype && (family == AF_UNSPEC || family == sc_addr_family(&l->addr)))
            return sc_addr_port(&l->addr);
    }
    return 0;
}

void sc_server_stop(sc_server_t *s, int how)
{
    int cur = atomic_load(&s->stop_req);
    if (how > cur)
        atomic_store(&s->stop_req, how);
    char b = 1;
    SC__CALL(s->sys, send, s->wake_tx, &b, 1, 0);
}

static void begin_drain(sc_server_t *srv)
{
    srv->state = DRAINING;
    srv->drain_deadline = sc__now_ms(srv->sys) + srv->opts.drain_timeout_ms;
    for (size_t i = 0; i < srv->nlisteners; i++)
        close_listener(srv, &srv->listeners[i]);
    for (struct conn *c = srv->conns, *next; c; c = next) {
        next = c->next;
        /* A drain reads only to discard: no memory needed. */
        if (unstarve(srv, c) < 0 || conn_finish(srv, c) < 0)
            conn_close(srv, c);
    }
}

/* Memory came free: as many waiting clients as there is room for one
 * read each are read again, oldest first. */
static void feed_starved(sc_server_t *srv)
{
    size_t room = srv->opts.max_buffered - srv->st.buffered;
    for (size_t k = room / srv->opts.buffer; k > 0 && srv->starved; k--) {
        struct conn *c = srv->starved;
        if (unstarve(srv, c) < 0)
            conn_close(srv, c);
    }
}

static void close_all(sc_server_t *srv)
{
    while (srv->conns)
        conn_close(srv, srv->conns);
    for (size_t i = 0; i < srv->nlisteners; i++)
        close_listener(srv, &srv->listeners[i]);
    srv->state = STOPPED;
}

static void check_stop(sc_server_t *srv)
{
    char buf[64];
    while (SC__CALL(srv->sys, recv, srv->wake.s, buf, sizeof(buf), 0) > 0)
        ;
    int req = atomic_load(&srv->stop_req);
    if (req == SC_STOP_NOW)
        close_all(srv);
    else if (req == SC_STOP_DRAIN && srv->state == RUNNING)
        begin_drain(srv);
}

static void close_idle(sc_server_t *srv, int64_t now)
{
    int64_t limit = srv->opts.idle_timeout_ms;
    for (struct conn *c = srv->conns, *next; c; c = next) {
        next = c->next;
        if (!c->starved && now - c->last_active >= limit) {
            srv->st.closed_idle++;
            conn_close(srv, c);
        }
    }
    /* Scanning every quarter of the timeout closes an idle client between
     * 1 and 1.25 timeouts after its last byte. */
    srv->next_idle_scan = now + (limit / 4 > 0 ? limit / 4 : 1);
}

/* The earliest timer, as a poll timeout no longer than want_ms. */
static int next_timeout(sc_server_t *srv, int want_ms)
{
    int64_t at = -1, now = 0;
    if (srv->opts.idle_timeout_ms && srv->conns)
        at = srv->next_idle_scan;
    if (srv->accept_resume > 1 && (at < 0 || srv->accept_resume < at))
        at = srv->accept_resume;
    if (srv->state == DRAINING && (at < 0 || srv->drain_deadline < at))
        at = srv->drain_deadline;
    if (at < 0)
        return want_ms;
    now = sc__now_ms(srv->sys);
    int64_t left = at > now ? at - now : 0;
    return want_ms >= 0 && want_ms < left ? want_ms : (int)left;
}

static void timers(sc_server_t *srv)
{
    if (!(srv->opts.idle_timeout_ms && srv->conns) && !srv->accept_resume && srv->state != DRAINING)
        return;
    int64_t now = sc__now_ms(srv->sys);
    if (srv->opts.idle_timeout_ms && srv->conns && now >= srv->next_idle_scan)
        close_idle(srv, now);
    if (srv->accept_resume && now >= srv->accept_resume && srv->state == RUNNING)
        resume_accepting(srv);
    if (srv->state == DRAINING && (now >= srv->drain_deadline || !srv->conns))
        close_all(srv);
}

static void dispatch(sc_server_t *srv, struct sc__handle *h, uint32_t ev)
{
    switch (h->kind) {
    case H_CONN:
        conn_event(srv, (struct conn *)h, ev);
        break;
    case H_TCP_LISTEN:
        if (srv->state == RUNNING && !srv->accept_resume)
            tcp_acceptable(srv, (struct listener *)h);
        break;
    case H_UDP:
        udp_readable(srv, (struct listener *)h);
        break;
    case H_WAKE:
        /* Handled after the batch: stopping closes connections that later
         * entries of this batch may still point to. */
        break;
    }
}

int sc_server_step(sc_server_t *srv, int timeout_ms)
{
    struct sc__ready *ready = srv->ready;
    if (srv->state == STOPPED)
        return 0;
    if (srv->opts.idle_timeout_ms && srv->conns && srv->next_idle_scan == 0)
        srv->next_idle_scan = sc__now_ms(srv->sys) + srv->opts.idle_timeout_ms / 4;
    int n = sc__loop_wait(&srv->loop, ready, (int)SC__ARRAY_LEN(srv->ready), next_timeout(srv, timeout_ms));
    if (n < 0 && n != -EINTR)
        return n;
    srv->turn_events = n > 0 ? n : 0;
    for (int i = 0; i < n && srv->state != STOPPED; i++)
        dispatch(srv, ready[i].h, ready[i].events);
    if (srv->state != STOPPED && atomic_load(&srv->stop_req))
        check_stop(srv);
    if (srv->starved && srv->state == RUNNING)
        feed_starved(srv);
    timers(srv);
    return srv->state == STOPPED ? 0 : 1;
}

int sc_server_run(sc_server_t *srv)
{
    int rc;
    const int64_t spin = srv->opts.spin_us > 0 ? srv->opts.spin_us : 0;
    int64_t busy = -1; /* when a turn last handled events (spin only), in us */
    for (;;) {
        int spinning = spin && busy >= 0 && sc__now_us() - busy < spin;
        if (spinning)
            srv->st.spins++;
        else
            srv->st.sleeps++;
        if ((rc = sc_server_step(srv, spinning ? 0 : -1)) <= 0)
            break;
        if (spin && srv->turn_events)
            busy = sc__now_us();
    }
    srv->run_rc = rc;
    return rc;
}

static void *thread_main(void *arg)
{
    sc_server_run(arg);
    return NULL;
}

int sc_server_start_thread(sc_server_t *s)
{
    int rc = pthread_create(&s->thread, NULL, thread_main, s);
    if (rc != 0)
        return -rc;
    s->has_thread = 1;
    return 0;
}

int sc_server_join(sc_server_t *s)
{
    if (!s->has_thread)
        return -EINVAL;
    pthread_join(s->thread, NULL);
    s->has_thread = 0;
    return s->run_rc;
}

void sc_server_stats(const sc_server_t *s, sc_server_stats_t *st)
{
    *st = s->st;
}

void sc_server_destroy(sc_server_t *srv)
{
    if (!srv)
        return;
    close_all(srv);
    if (srv->wake.s != SC_INVALID_SOCK) {
        sc__loop_del(&srv->loop, &srv->wake);
        SC__CALL(srv->sys, close, srv->wake.s);
    }
    if (srv->wake_tx != SC_INVALID_SOCK)
        SC__CALL(srv->sys, close, srv->wake_tx);
    sc__loop_free(&srv->loop);
    free(srv->scratch);
    free(srv->dgrams);
    sc__guard_free(srv->guard);
    free(srv->guard);
    free(srv);
}
