/* The in-memory network: sockets in a fixed table, bounded rings, virtual
 * time, and a byte schedule of chunking and injected errors. */
#include "sockcheck/memnet.h"
#include "sockcheck/addr.h"
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#if !defined(_WIN32)
#include <netinet/tcp.h>
#endif

/* memnet is the test double, not the code under test: under libFuzzer its
 * branches and comparisons would cost every step of a target a callback
 * and fill the fuzzer's feature space with the simulator's own states.
 * Source-based coverage (ci/coverage) is not affected. */
#if defined(__clang__) && __clang_major__ >= 13
#pragma clang attribute push(__attribute__((no_sanitize("coverage"))), apply_to = function)
#define MEMNET_POP_ATTRIBUTE 1
#endif

/* Handles carry a generation so that a handle used after its close fails
 * with EBADF even when the slot was given to a new socket. */
#define GENERATIONS 4096
#define BACKLOG_MAX 32
#define NO_SOCK (-1)

enum kind { K_FREE, K_TCP, K_UDP, K_PAIR };
enum state { S_NEW, S_LISTEN, S_CONN };

/* The addresses memnet keeps: big enough for IPv4 and IPv6, far smaller
 * than a sockaddr_storage, so that a reset touches little memory. */
typedef union maddr {
    struct sockaddr sa;
    struct sockaddr_in v4;
    struct sockaddr_in6 v6;
} maddr_t;

struct ring {
    size_t head, used, limit;
};

struct msock {
    int kind, family, type, state;
    int nonblock, v6only, reuse, nodelay, keepalive;
    int bufsize;           /* SO_RCVBUF / SO_SNDBUF as read back: the ring limit */
    int linger_reset;      /* SO_LINGER {1, 0}: close sends RST (CL-02) */
    int bound, connected;  /* connected: TCP established, or UDP default peer set */
    maddr_t local, remote;
    int peer;              /* the other end of a stream, NO_SOCK once gone */
    int rd_shut, wr_shut;  /* our own shutdowns */
    int peer_fin;          /* the other end sent FIN (or closed) */
    int broken;            /* reset: no more data moves either way */
    int gone_sends;        /* sends after the peer closed: the first is swallowed */
    int so_error;          /* pending error (positive), reported once */
    int listener;          /* queued in this listener's backlog, NO_SOCK when not */
    int next;              /* backlog link */
    int q_head, q_tail, q_len, q_max; /* listener: connections not yet accepted */
    unsigned gen;
    struct ring rx;
    size_t ndgrams;
};

/* Header of a datagram in a ring, followed by its payload. */
struct dgram_hdr {
    uint32_t len;
    uint32_t alen;
    maddr_t from;
};

struct sc_memnet {
    sc_sys_t sys;
    struct msock s[SC_MEMNET_MAX_SOCKETS];
    size_t hw;             /* slots ever used since the reset: what a reset clears */
    uint8_t *rings;
    size_t stream_limit, dgram_limit;
    unsigned gen_next;
    uint16_t next_port[2]; /* ephemeral cursor: TCP, UDP */
    const uint8_t *chaos;
    size_t chaos_len, chaos_pos;
    int64_t now;           /* virtual time, milliseconds */
    sc_memnet_stats_t st;
};

#define M(ctx) ((sc_memnet_t *)(ctx))

/* ---- rings ---- */

static uint8_t *ring_buf(sc_memnet_t *m, int i)
{
    return m->rings + (size_t)i * SC_MEMNET_RING_MAX;
}

static size_t ring_space(const struct ring *r)
{
    return r->limit - r->used;
}

static void ring_put(sc_memnet_t *m, int i, const void *p, size_t n)
{
    struct ring *r = &m->s[i].rx;
    uint8_t *b = ring_buf(m, i);
    size_t at = (r->head + r->used) % SC_MEMNET_RING_MAX;
    size_t first = n < SC_MEMNET_RING_MAX - at ? n : SC_MEMNET_RING_MAX - at;
    memcpy(b + at, p, first);
    memcpy(b, (const uint8_t *)p + first, n - first);
    r->used += n;
}

/* Copies n bytes from offset off of the queue into p (p may be NULL). */
static void ring_peek(sc_memnet_t *m, int i, size_t off, void *p, size_t n)
{
    const struct ring *r = &m->s[i].rx;
    const uint8_t *b = ring_buf(m, i);
    size_t at = (r->head + off) % SC_MEMNET_RING_MAX;
    size_t first = n < SC_MEMNET_RING_MAX - at ? n : SC_MEMNET_RING_MAX - at;
    if (!p)
        return;
    memcpy(p, b + at, first);
    memcpy((uint8_t *)p + first, b, n - first);
}

static void ring_drop(struct ring *r, size_t n)
{
    r->head = (r->head + n) % SC_MEMNET_RING_MAX;
    r->used -= n;
    if (r->used == 0)
        r->head = 0;
}

/* ---- handles and slots ---- */

static sc_sock_t handle_of(const sc_memnet_t *m, int i)
{
    return (sc_sock_t)SC_MEMNET_HANDLE_BASE +
           (sc_sock_t)(m->s[i].gen % GENERATIONS) * SC_MEMNET_MAX_SOCKETS + i;
}

/* The slot of a handle the caller holds, or -EBADF (never a queued,
 * not yet accepted socket: the caller has no handle to it). */
static int slot_of(const sc_memnet_t *m, sc_sock_t h)
{
    if (h < (sc_sock_t)SC_MEMNET_HANDLE_BASE)
        return -EBADF;
    sc_sock_t off = h - (sc_sock_t)SC_MEMNET_HANDLE_BASE;
    if (off >= (sc_sock_t)GENERATIONS * SC_MEMNET_MAX_SOCKETS)
        return -EBADF;
    int i = (int)(off % SC_MEMNET_MAX_SOCKETS);
    const struct msock *s = &m->s[i];
    if (s->kind == K_FREE || s->listener != NO_SOCK || s->gen % GENERATIONS != (unsigned)(off / SC_MEMNET_MAX_SOCKETS))
        return -EBADF;
    return i;
}

static int slot_alloc(sc_memnet_t *m, int kind, int family, int type)
{
    for (int i = 0; i < SC_MEMNET_MAX_SOCKETS; i++) {
        struct msock *s = &m->s[i];
        if (s->kind != K_FREE)
            continue;
        memset(s, 0, sizeof(*s));
        s->kind = kind;
        s->family = family;
        s->type = type;
        s->v6only = 0; /* Linux's default: net.ipv6.bindv6only = 0 */
        s->peer = s->listener = s->next = NO_SOCK;
        s->q_head = s->q_tail = NO_SOCK;
        s->gen = ++m->gen_next;
        s->rx.limit = type == SOCK_DGRAM ? m->dgram_limit : m->stream_limit;
        s->local.sa.sa_family = (sa_family_t)family;
        if ((size_t)i + 1 > m->hw)
            m->hw = (size_t)i + 1;
        m->st.open++;
        m->st.created++;
        if (m->st.open > m->st.peak)
            m->st.peak = m->st.open;
        return i;
    }
    return -EMFILE;
}

static void slot_free(sc_memnet_t *m, int i)
{
    m->s[i].kind = K_FREE;
    m->st.open--;
}

/* ---- addresses ---- */

static sc_socklen_t addr_len(int family)
{
    return family == AF_INET6 ? (sc_socklen_t)sizeof(struct sockaddr_in6)
           : family == AF_INET ? (sc_socklen_t)sizeof(struct sockaddr_in)
                               : (sc_socklen_t)sizeof(sa_family_t);
}

static uint16_t port_of(const maddr_t *a)
{
    return ntohs(a->sa.sa_family == AF_INET6 ? a->v6.sin6_port : a->v4.sin_port);
}

static void set_port(maddr_t *a, uint16_t port)
{
    if (a->sa.sa_family == AF_INET6)
        a->v6.sin6_port = htons(port);
    else
        a->v4.sin_port = htons(port);
}

static int v6_mapped(const struct in6_addr *a)
{
    static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return memcmp(a->s6_addr, prefix, sizeof(prefix)) == 0;
}

/* The IPv4 address of a (AF_INET, or IPv4-mapped IPv6), network order. */
static int as_v4(const maddr_t *a, uint32_t *out)
{
    if (a->sa.sa_family == AF_INET) {
        *out = a->v4.sin_addr.s_addr;
        return 1;
    }
    if (a->sa.sa_family == AF_INET6 && v6_mapped(&a->v6.sin6_addr)) {
        memcpy(out, a->v6.sin6_addr.s6_addr + 12, 4);
        return 1;
    }
    return 0;
}

static int is_any(const maddr_t *a)
{
    uint32_t v4;
    if (a->sa.sa_family == AF_INET6 && !v6_mapped(&a->v6.sin6_addr))
        return IN6_IS_ADDR_UNSPECIFIED(&a->v6.sin6_addr);
    return as_v4(a, &v4) && v4 == htonl(INADDR_ANY);
}

/* The only interfaces memnet has: loopback, reached by 127/8 and ::1. */
static int is_local(const maddr_t *a)
{
    uint32_t v4;
    if (as_v4(a, &v4))
        return (ntohl(v4) >> 24) == 127;
    return a->sa.sa_family == AF_INET6 && IN6_IS_ADDR_LOOPBACK(&a->v6.sin6_addr);
}

/* Same host address (ports aside), an IPv4 address and its mapped form
 * counting as one. */
static int same_host(const maddr_t *a, const maddr_t *b)
{
    uint32_t x = 0, y = 0;
    int ax = as_v4(a, &x), bx = as_v4(b, &y);
    if (ax || bx)
        return ax && bx && x == y;
    return memcmp(&a->v6.sin6_addr, &b->v6.sin6_addr, sizeof(a->v6.sin6_addr)) == 0;
}

/* Whether a socket bound to b (wildcard allowed) receives for dest. An
 * IPv6 wildcard takes IPv4 traffic unless IPV6_V6ONLY. */
static int covers(const struct msock *b, const maddr_t *dest)
{
    uint32_t v4;
    int dest_v4 = as_v4(dest, &v4);
    if (b->local.sa.sa_family == AF_INET6 && !v6_mapped(&b->local.v6.sin6_addr)) {
        if (dest_v4)
            return !b->v6only && is_any(&b->local);
        return is_any(&b->local) || same_host(&b->local, dest);
    }
    return dest_v4 && (is_any(&b->local) || same_host(&b->local, dest));
}

/* Two bindings of one port clash when one covers the other's address. */
static int clash(const struct msock *a, const struct msock *b)
{
    return covers(a, &b->local) || covers(b, &a->local);
}

/* The loopback address of family (127.0.0.1 or ::1, or ::ffff:127.0.0.1
 * for an IPv6 socket talking to IPv4). */
static void loopback_of(maddr_t *a, int family, int mapped)
{
    memset(a, 0, sizeof(*a));
    a->sa.sa_family = (sa_family_t)family;
    if (family == AF_INET) {
        a->v4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    } else if (mapped) {
        a->v6.sin6_addr.s6_addr[10] = a->v6.sin6_addr.s6_addr[11] = 0xff;
        a->v6.sin6_addr.s6_addr[12] = 127;
        a->v6.sin6_addr.s6_addr[15] = 1;
    } else {
        a->v6.sin6_addr = in6addr_loopback;
    }
}

/* a as a socket of family sees it: IPv4 and IPv4-mapped IPv6 convert
 * into each other; anything else is returned as it is. */
static maddr_t in_family(const maddr_t *a, int family)
{
    maddr_t out;
    uint32_t v4;
    if (a->sa.sa_family == family || !as_v4(a, &v4))
        return *a;
    uint16_t port = port_of(a);
    memset(&out, 0, sizeof(out));
    out.sa.sa_family = (sa_family_t)family;
    if (family == AF_INET6) {
        out.v6.sin6_addr.s6_addr[10] = out.v6.sin6_addr.s6_addr[11] = 0xff;
        memcpy(out.v6.sin6_addr.s6_addr + 12, &v4, 4);
    } else {
        out.v4.sin_addr.s_addr = v4;
    }
    set_port(&out, port);
    return out;
}

/* The source address of what slot s sends: its bound address, with a
 * wildcard replaced by the loopback address. */
static maddr_t source_of(const struct msock *s, const maddr_t *dest)
{
    maddr_t src = s->local;
    if (is_any(&src)) {
        uint32_t v4;
        uint16_t port = port_of(&src);
        loopback_of(&src, s->family, s->family == AF_INET6 && as_v4(dest, &v4));
        set_port(&src, port);
    }
    return src;
}

/* Reads a caller's sockaddr for a socket of family: EFAULT for NULL,
 * EINVAL for a short length, EAFNOSUPPORT for another family (an IPv6
 * socket given a sockaddr_in is EINVAL on Linux: its length is short). */
static int read_addr(const struct sockaddr *sa, sc_socklen_t len, int family, maddr_t *out)
{
    if (!sa)
        return -EFAULT;
    if (len < (sc_socklen_t)sizeof(sa_family_t))
        return -EINVAL;
    memset(out, 0, sizeof(*out));
    if (family == AF_INET6) {
        /* 24 bytes: the RFC 2133 sockaddr_in6 without a scope, still valid. */
        if (len < 24)
            return -EINVAL;
        memcpy(out, sa, (size_t)len < sizeof(out->v6) ? (size_t)len : sizeof(out->v6));
        if (out->sa.sa_family != AF_INET6)
            return -EAFNOSUPPORT;
        return 0;
    }
    if (len < (sc_socklen_t)sizeof(struct sockaddr_in))
        return -EINVAL;
    memcpy(out, sa, sizeof(out->v4));
    return out->sa.sa_family == AF_INET ? 0 : -EAFNOSUPPORT;
}

/* Copies a to the caller, cut to *len, and reports the full length. */
static int write_addr(const maddr_t *a, struct sockaddr *sa, sc_socklen_t *len)
{
    if (!sa && !len)
        return 0;
    if (!sa || !len)
        return -EFAULT;
    if ((int)*len < 0)
        return -EINVAL;
    sc_socklen_t full = addr_len(a->sa.sa_family);
    memcpy(sa, a, (size_t)(*len < full ? *len : full));
    *len = full;
    return 0;
}

static int proto_ix(int type)
{
    return type == SOCK_DGRAM;
}

static int port_in_use(const sc_memnet_t *m, int type, uint16_t port)
{
    for (size_t i = 0; i < m->hw; i++) {
        const struct msock *s = &m->s[i];
        if (s->kind != K_FREE && s->kind != K_PAIR && s->type == type && s->bound && port_of(&s->local) == port)
            return 1;
    }
    return 0;
}

static int ephemeral(sc_memnet_t *m, int type)
{
    uint16_t *cur = &m->next_port[proto_ix(type)];
    for (int tries = 0; tries <= SC_MEMNET_EPHEMERAL_LAST - SC_MEMNET_EPHEMERAL_FIRST; tries++) {
        uint16_t p = *cur;
        *cur = p >= SC_MEMNET_EPHEMERAL_LAST ? SC_MEMNET_EPHEMERAL_FIRST : (uint16_t)(p + 1);
        if (!port_in_use(m, type, p))
            return p;
    }
    return -EADDRINUSE;
}

/* Binds slot i to a, giving port 0 an ephemeral port. */
static int bind_to(sc_memnet_t *m, int i, const maddr_t *a)
{
    struct msock *s = &m->s[i];
    maddr_t want = *a;
    if (port_of(&want) == 0) {
        int p = ephemeral(m, s->type);
        if (p < 0)
            return p;
        set_port(&want, (uint16_t)p);
    } else {
        struct msock probe = *s;
        probe.local = want;
        for (size_t j = 0; j < m->hw; j++) {
            const struct msock *o = &m->s[j];
            if ((int)j != i && o->kind == s->kind && o->bound && port_of(&o->local) == port_of(&want) &&
                clash(&probe, o))
                return -EADDRINUSE;
        }
    }
    s->local = want;
    s->bound = 1;
    return 0;
}

/* The implicit bind of connect and sendto: the wildcard address with an
 * ephemeral port; connect then fixes the local address to the loopback
 * one, as the route to the destination decides on Linux (CT-20, CU-06). */
static int autobind(sc_memnet_t *m, int i, const maddr_t *dest, int fix_address)
{
    struct msock *s = &m->s[i];
    if (!s->bound) {
        maddr_t any;
        memset(&any, 0, sizeof(any));
        any.sa.sa_family = (sa_family_t)s->family;
        int rc = bind_to(m, i, &any);
        if (rc < 0)
            return rc;
    }
    if (fix_address)
        s->local = source_of(s, dest);
    return 0;
}

/* An IPv6 socket bound to ::1 cannot reach an IPv4-mapped address
 * (ENETUNREACH, DS-05), one bound to an IPv4-mapped address cannot reach
 * a real IPv6 one (EAFNOSUPPORT, DS-06). */
static int mixes_families(const struct msock *s, const maddr_t *dest)
{
    if (s->family != AF_INET6 || !s->bound || is_any(&s->local) || dest->sa.sa_family != AF_INET6)
        return 0;
    int from_mapped = v6_mapped(&s->local.v6.sin6_addr), to_mapped = v6_mapped(&dest->v6.sin6_addr);
    if (!from_mapped && to_mapped)
        return -ENETUNREACH;
    if (from_mapped && !to_mapped)
        return -EAFNOSUPPORT;
    return 0;
}

/* ---- connections ---- */

/* Cuts a stream with an RST: both ends are broken, the other end learns
 * ECONNRESET on its next call; data already queued stays readable. */
static void reset_conn(sc_memnet_t *m, int i)
{
    struct msock *s = &m->s[i];
    int p = s->peer;
    s->broken = 1;
    s->peer = NO_SOCK;
    if (p != NO_SOCK) {
        m->s[p].broken = 1;
        m->s[p].peer = NO_SOCK;
        m->s[p].so_error = ECONNRESET;
    }
}

static void queue_push(sc_memnet_t *m, int l, int c)
{
    struct msock *L = &m->s[l];
    m->s[c].listener = l;
    m->s[c].next = NO_SOCK;
    if (L->q_tail == NO_SOCK)
        L->q_head = c;
    else
        m->s[L->q_tail].next = c;
    L->q_tail = c;
    L->q_len++;
}

static int queue_pop(sc_memnet_t *m, int l)
{
    struct msock *L = &m->s[l];
    int c = L->q_head;
    if (c == NO_SOCK)
        return NO_SOCK;
    L->q_head = m->s[c].next;
    if (L->q_head == NO_SOCK)
        L->q_tail = NO_SOCK;
    L->q_len--;
    m->s[c].listener = NO_SOCK;
    m->s[c].next = NO_SOCK;
    return c;
}

/* Connections a listener never accepted are reset (listen(2): the
 * clients of a closed listener see ECONNRESET). */
static void drop_backlog(sc_memnet_t *m, int l)
{
    int c;
    while ((c = queue_pop(m, l)) != NO_SOCK) {
        reset_conn(m, c);
        slot_free(m, c);
    }
}

static int find_listener(const sc_memnet_t *m, const maddr_t *dest)
{
    for (size_t i = 0; i < m->hw; i++) {
        const struct msock *s = &m->s[i];
        if (s->kind == K_TCP && s->state == S_LISTEN && port_of(&s->local) == port_of(dest) && covers(s, dest))
            return (int)i;
    }
    return NO_SOCK;
}

static int tcp_connect(sc_memnet_t *m, int i, const maddr_t *dest)
{
    struct msock *s = &m->s[i];
    if (s->state == S_LISTEN || s->connected)
        return -EISCONN;
    if (s->broken)
        return -ECONNABORTED; /* a reset socket stays unusable; make a new one */
    if (!is_local(dest) && !is_any(dest))
        return -ENETUNREACH;
    int rc = mixes_families(s, dest);
    if (rc < 0)
        return rc;
    int l = port_of(dest) ? find_listener(m, dest) : NO_SOCK;
    if (l == NO_SOCK)
        return -ECONNREFUSED;
    if (m->s[l].q_len >= m->s[l].q_max)
        return -ECONNREFUSED; /* Linux would drop the SYN and retry; memnet has no time to retry in */
    if ((rc = autobind(m, i, dest, 1)) < 0)
        return rc;
    int c = slot_alloc(m, K_TCP, m->s[l].family, SOCK_STREAM);
    if (c < 0)
        return c == -EMFILE ? -ECONNREFUSED : c;
    struct msock *a = &m->s[c];
    a->state = S_CONN;
    a->connected = 1;
    a->bound = 1;
    a->nodelay = m->s[l].nodelay;
    /* The accepted end: the address the client asked for (the loopback
     * one for a wildcard), in the listener's family. */
    maddr_t to = in_family(dest, a->family);
    if (is_any(&to)) {
        uint32_t v4;
        loopback_of(&to, a->family, a->family == AF_INET6 && as_v4(dest, &v4));
        set_port(&to, port_of(dest));
    }
    a->local = to;
    a->remote = in_family(&s->local, a->family);
    a->peer = i;
    s->state = S_CONN;
    s->connected = 1;
    s->remote = in_family(dest, s->family);
    if (is_any(&s->remote)) {
        loopback_of(&s->remote, s->family, 0);
        set_port(&s->remote, port_of(dest));
    }
    s->peer = c;
    queue_push(m, l, c);
    return 0;
}

/* ---- the chaos schedule ---- */

enum chaos_act { C_PASS, C_CAP, C_EINTR, C_EAGAIN, C_RESET };

static enum chaos_act chaos_next(sc_memnet_t *m, size_t *cap)
{
    if (m->chaos_pos >= m->chaos_len)
        return C_PASS;
    uint8_t b = m->chaos[m->chaos_pos++];
    m->st.chaos_used++;
    if (b < 0x80) {
        *cap = (size_t)b + 1;
        return C_CAP;
    }
    if (b < 0xc0) {
        *cap = (size_t)(b - 0x7f) * 64;
        return C_CAP;
    }
    if (b < 0xd0)
        return C_EINTR;
    if (b < 0xe0)
        return C_EAGAIN;
    if (b < 0xe4)
        return C_RESET;
    return C_PASS;
}

/* Applies the next schedule byte to a transfer of *len bytes on slot i.
 * Returns 0 to go on (with *len possibly cut) or the injected error. */
static int chaos_apply(sc_memnet_t *m, int i, size_t *len, int may_cut)
{
    size_t cap = 0;
    switch (chaos_next(m, &cap)) {
    case C_CAP:
        if (may_cut && cap < *len) {
            *len = cap;
            m->st.capped++;
        }
        return 0;
    case C_EINTR:
        m->st.eintr++;
        return -EINTR;
    case C_EAGAIN:
        m->st.eagain++;
        return -EAGAIN;
    case C_RESET:
        if (m->s[i].kind == K_TCP && m->s[i].peer != NO_SOCK) {
            m->st.resets++;
            reset_conn(m, i);
            return -ECONNRESET;
        }
        return 0;
    case C_PASS:
        break;
    }
    return 0;
}

/* ---- seam operations ---- */

static sc_sock_t mn_socket(void *ctx, int domain, int type, int protocol, int flags)
{
    sc_memnet_t *m = M(ctx);
    /* Linux looks at the type before the family (SK-02 before SK-01). */
    if (type != SOCK_STREAM && type != SOCK_DGRAM)
        return -EINVAL;
    if (domain != AF_INET && domain != AF_INET6)
        return -EAFNOSUPPORT;
    if (protocol != 0 && protocol != (type == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP))
        return -EPROTONOSUPPORT;
    int i = slot_alloc(m, type == SOCK_STREAM ? K_TCP : K_UDP, domain, type);
    if (i < 0)
        return i;
    m->s[i].nonblock = (flags & SC_NONBLOCK) != 0;
    return handle_of(m, i);
}

static int mn_socketpair(void *ctx, int type, int flags, sc_sock_t sv[2])
{
    sc_memnet_t *m = M(ctx);
    if (type != SOCK_STREAM)
        return -EOPNOTSUPP;
    if (!sv)
        return -EFAULT;
    int a = slot_alloc(m, K_PAIR, AF_UNIX, SOCK_STREAM);
    if (a < 0)
        return a;
    int b = slot_alloc(m, K_PAIR, AF_UNIX, SOCK_STREAM);
    if (b < 0) {
        slot_free(m, a);
        return b;
    }
    int ends[2] = {a, b};
    for (int k = 0; k < 2; k++) {
        struct msock *s = &m->s[ends[k]];
        s->state = S_CONN;
        s->connected = 1;
        s->peer = ends[1 - k];
        s->nonblock = (flags & SC_NONBLOCK) != 0;
        s->remote.sa.sa_family = AF_UNIX;
        sv[k] = handle_of(m, ends[k]);
    }
    return 0;
}

static int mn_bind(void *ctx, sc_sock_t h, const struct sockaddr *sa, sc_socklen_t len)
{
    sc_memnet_t *m = M(ctx);
    int i = slot_of(m, h);
    if (i < 0)
        return i;
    struct msock *s = &m->s[i];
    if (s->kind == K_PAIR)
        return -EINVAL;
    maddr_t a;
    int rc = read_addr(sa, len, s->family, &a);
    if (rc < 0)
        return rc;
    if (s->bound)
        return -EINVAL;
    if (s->family == AF_INET6 && s->v6only && v6_mapped(&a.v6.sin6_addr))
        return -EINVAL; /* an IPv6-only socket takes no IPv4-mapped address */
    if (!is_local(&a) && !is_any(&a))
        return -EADDRNOTAVAIL;
    if (s->family == AF_INET6)
        a.v6.sin6_flowinfo = 0;
    return bind_to(m, i, &a);
}

static int mn_listen(void *ctx, sc_sock_t h, int backlog)
{
    sc_memnet_t *m = M(ctx);
    int i = slot_of(m, h);
    if (i < 0)
        return i;
    struct msock *s = &m->s[i];
    if (s->kind != K_TCP)
        return -EOPNOTSUPP;
    if (s->connected || s->broken)
        return -EINVAL;
    if (!s->bound) {
        maddr_t any;
        memset(&any, 0, sizeof(any));
        any.sa.sa_family = (sa_family_t)s->family;
        int rc = bind_to(m, i, &any);
        if (rc < 0)
            return rc;
    }
    /* Linux queues backlog + 1 connections; a negative backlog is the
     * maximum (listen(2)); memnet's maximum is small. */
    int max = backlog < 0 || backlog >= BACKLOG_MAX ? BACKLOG_MAX : backlog + 1;
    s->q_max = max;
    s->state = S_LISTEN;
    return 0;
}

static sc_sock_t mn_accept(void *ctx, sc_sock_t h, struct sockaddr *sa, sc_socklen_t *len, int flags)
{
    sc_memnet_t *m = M(ctx);
    int i = slot_of(m, h);
    if (i < 0)
        return i;
    struct msock *s = &m->s[i];
    if (s->kind != K_TCP)
        return -EOPNOTSUPP;
    if (s->state != S_LISTEN)
        return -EINVAL;
    if (len && (int)*len < 0)
        return -EINVAL;
    if (s->q_head == NO_SOCK)
        return -EAGAIN;
    int c = queue_pop(m, i);
    m->s[c].nonblock = (flags & SC_NONBLOCK) != 0; /* Linux: not inherited */
    if (sa && len)
        write_addr(&m->s[c].remote, sa, len);
    return handle_of(m, c);
}

static int mn_connect(void *ctx, sc_sock_t h, const struct sockaddr *sa, sc_socklen_t len)
{
    sc_memnet_t *m = M(ctx);
    int i = slot_of(m, h);
    if (i < 0)
        return i;
    struct msock *s = &m->s[i];
    if (s->kind == K_PAIR)
        return -EISCONN;
    if (s->kind == K_UDP && sa && len >= (sc_socklen_t)sizeof(sa_family_t) && sa->sa_family == AF_UNSPEC) {
        /* connect(AF_UNSPEC) dissolves the association (CU-04). */
        s->connected = 0;
        memset(&s->remote, 0, sizeof(s->remote));
        return 0;
    }
    maddr_t dest;
    int rc;
    /* TCP: the socket's state is looked at before the address
     * (inet_stream_connect): EISCONN comes before a family error. */
    if (s->kind == K_TCP && (s->state == S_LISTEN || s->connected))
        return sa && len < (sc_socklen_t)sizeof(sa_family_t) ? -EINVAL : -EISCONN;
    if (s->kind == K_UDP && s->family == AF_INET6 && sa && len >= (sc_socklen_t)sizeof(struct sockaddr_in) &&
        sa->sa_family == AF_INET) {
        /* An IPv6 UDP socket connects to an IPv4 address as the mapped
         * one, unless it is IPv6-only (CU-09). */
        if (s->v6only)
            return -EAFNOSUPPORT;
        maddr_t v4;
        memset(&v4, 0, sizeof(v4));
        memcpy(&v4.v4, sa, sizeof(v4.v4));
        dest = in_family(&v4, AF_INET6);
    } else if ((rc = read_addr(sa, len, s->family, &dest)) < 0) {
        return rc;
    }
    if (s->kind == K_TCP)
        return tcp_connect(m, i, &dest);
    if (!is_local(&dest) && !is_any(&dest))
        return -ENETUNREACH;
    if ((rc = mixes_families(s, &dest)) < 0)
        return rc;
    if ((rc = autobind(m, i, &dest, 1)) < 0)
        return rc;
    s->remote = dest;
    s->connected = port_of(&dest) != 0; /* port 0: accepted, but no peer (CU-05) */
    return 0;
}

/* ---- data ---- */

/* memnet follows Linux, MSG_TRUNC included. Winsock has no such flag
 * (mingw-w64 does not define it): Linux's value there, which the Windows
 * build of the suites passes too (conformance/win32/sct_posix.h). */
#if defined(_WIN32)
#undef MSG_TRUNC
#define MSG_TRUNC 0x20
#elif !defined(MSG_TRUNC)
#define MSG_TRUNC 0
#endif

static int take_error(struct msock *s)
{
    int e = s->so_error;
    s->so_error = 0;
    return -e;
}

/* Delivers one datagram from slot i to the socket bound to dest. Returns
 * 1 when queued, 0 when dropped (full queue, another peer), -1 when no
 * socket has that port: UDP drops silently in both cases. */
static int deliver(sc_memnet_t *m, int i, const maddr_t *dest, const void *buf, size_t len)
{
    const maddr_t from = source_of(&m->s[i], dest);
    for (size_t j = 0; j < m->hw; j++) {
        struct msock *r = &m->s[j];
        if (r->kind != K_UDP || !r->bound || port_of(&r->local) != port_of(dest) || !covers(r, dest))
            continue;
        maddr_t src = in_family(&from, r->family);
        struct dgram_hdr hd;
        /* A connected UDP socket takes datagrams from its peer only (CU-01). */
        if (r->connected && !(same_host(&r->remote, &src) && port_of(&r->remote) == port_of(&src)))
            return 0;
        if (r->rx.limit - r->rx.used < sizeof(hd) + len)
            return 0;
        memset(&hd, 0, sizeof(hd));
        hd.len = (uint32_t)len;
        hd.alen = (uint32_t)addr_len(src.sa.sa_family);
        hd.from = src;
        ring_put(m, (int)j, &hd, sizeof(hd));
        ring_put(m, (int)j, buf, len);
        r->ndgrams++;
        return 1;
    }
    return -1;
}

static ptrdiff_t udp_send(sc_memnet_t *m, int i, const void *buf, size_t len, const struct sockaddr *sa,
                          sc_socklen_t salen)
{
    struct msock *s = &m->s[i];
    maddr_t dest;
    int rc = chaos_apply(m, i, &len, 0); /* a datagram is never cut */
    if (rc < 0)
        return rc;
    if (s->so_error)
        return take_error(s);
    /* The destination is looked at before the shutdown (SD-12 before SD-05). */
    if (sa) {
        if ((rc = read_addr(sa, salen, s->family, &dest)) < 0)
            return rc;
        if (port_of(&dest) == 0)
            return -EINVAL; /* ST-04 */
    } else if (s->connected) {
        dest = s->remote;
    } else {
        return -EDESTADDRREQ;
    }
    if (s->wr_shut)
        return -EPIPE;
    if (len && !buf)
        return -EFAULT;
    if (len > SC_MEMNET_DGRAM_MAX)
        return -EMSGSIZE;
    if (!is_local(&dest) && !is_any(&dest))
        return -ENETUNREACH;
    if ((rc = mixes_families(s, &dest)) < 0)
        return rc;
    if ((rc = autobind(m, i, &dest, 0)) < 0)
        return rc;
    int got = deliver(m, i, &dest, buf, len);
    if (got > 0) {
        m->st.datagrams_sent++;
        m->st.bytes_sent += len;
    } else {
        m->st.datagrams_dropped++;
    }
    /* A connected socket learns of a closed port on its next call, as
     * from the ICMP port unreachable on Linux (CU-07). */
    if (got < 0 && s->connected && !sa)
        s->so_error = ECONNREFUSED;
    return (ptrdiff_t)len;
}

static ptrdiff_t stream_send(sc_memnet_t *m, int i, const void *buf, size_t len)
{
    struct msock *s = &m->s[i];
    int rc = chaos_apply(m, i, &len, 1);
    if (rc < 0)
        return rc;
    if (s->so_error)
        return take_error(s);
    /* Never connected, listening, shut down or reset: EPIPE (SD-05, SD-06). */
    if (!s->connected || s->wr_shut || s->broken)
        return -EPIPE;
    if (s->peer == NO_SOCK) {
        /* The peer closed: Linux accepts the first send (the peer answers
         * it with an RST), the next ones fail with EPIPE (SD-07). */
        return s->gone_sends++ == 0 ? (ptrdiff_t)len : -EPIPE;
    }
    if (len == 0)
        return 0;
    if (!buf)
        return -EFAULT;
    size_t room = ring_space(&m->s[s->peer].rx);
    if (room == 0)
        return -EAGAIN;
    size_t n = len < room ? len : room;
    ring_put(m, s->peer, buf, n);
    m->st.bytes_sent += n;
    return (ptrdiff_t)n;
}

static ptrdiff_t stream_recv(sc_memnet_t *m, int i, void *buf, size_t len, int flags)
{
    struct msock *s = &m->s[i];
    if (s->state == S_LISTEN || (!s->connected && !s->broken))
        return -ENOTCONN; /* RV-05 */
    int rc = chaos_apply(m, i, &len, 1);
    if (rc < 0)
        return rc;
    if (len == 0)
        return 0;
    if (s->rx.used) {
        /* Queued data comes before a pending error (RV-10). */
        if (!buf)
            return -EFAULT;
        size_t n = len < s->rx.used ? len : s->rx.used;
        ring_peek(m, i, 0, buf, n);
        if (!(flags & MSG_PEEK))
            ring_drop(&s->rx, n);
        return (ptrdiff_t)n;
    }
    if (s->so_error)
        return take_error(s);
    if (s->rd_shut || s->peer_fin || s->broken)
        return 0;
    return -EAGAIN;
}

static ptrdiff_t udp_recv(sc_memnet_t *m, int i, void *buf, size_t len, int flags, struct sockaddr *sa,
                          sc_socklen_t *salen)
{
    struct msock *s = &m->s[i];
    int rc = chaos_apply(m, i, &len, 0);
    if (rc < 0)
        return rc;
    if (s->so_error)
        return take_error(s);
    if (s->ndgrams == 0)
        return s->rd_shut ? 0 : -EAGAIN;
    struct dgram_hdr hd;
    ring_peek(m, i, 0, &hd, sizeof(hd));
    size_t n = len < hd.len ? len : hd.len;
    if (n && !buf)
        return -EFAULT;
    if (sa || salen) {
        if ((rc = write_addr(&hd.from, sa, salen)) < 0)
            return rc;
    }
    ring_peek(m, i, sizeof(hd), buf, n);
    if (!(flags & MSG_PEEK)) {
        /* What did not fit is discarded with the datagram (RV-13). */
        ring_drop(&s->rx, sizeof(hd) + hd.len);
        s->ndgrams--;
    }
    /* MSG_TRUNC: the real length, as on Linux (RV-15). */
    return (ptrdiff_t)((flags & MSG_TRUNC) ? hd.len : n);
}

static ptrdiff_t mn_send(void *ctx, sc_sock_t h, const void *buf, size_t len, int flags)
{
    sc_memnet_t *m = M(ctx);
    int i = slot_of(m, h);
    (void)flags;
    if (i < 0)
        return i;
    if (m->s[i].kind == K_UDP)
        return udp_send(m, i, buf, len, NULL, 0);
    return stream_send(m, i, buf, len);
}

static ptrdiff_t mn_recv(void *ctx, sc_sock_t h, void *buf, size_t len, int flags)
{
    sc_memnet_t *m = M(ctx);
    int i = slot_of(m, h);
    if (i < 0)
        return i;
    if (m->s[i].kind == K_UDP)
        return udp_recv(m, i, buf, len, flags, NULL, NULL);
    return stream_recv(m, i, buf, len, flags);
}

static ptrdiff_t mn_sendto(void *ctx, sc_sock_t h, const void *buf, size_t len, int flags, const struct sockaddr *sa,
                           sc_socklen_t salen)
{
    sc_memnet_t *m = M(ctx);
    int i = slot_of(m, h);
    (void)flags;
    if (i < 0)
        return i;
    if (m->s[i].kind == K_UDP)
        return udp_send(m, i, buf, len, sa, salen);
    return stream_send(m, i, buf, len); /* a stream ignores the address (ST-01, ST-07) */
}

static ptrdiff_t mn_recvfrom(void *ctx, sc_sock_t h, void *buf, size_t len, int flags, struct sockaddr *sa,
                             sc_socklen_t *salen)
{
    sc_memnet_t *m = M(ctx);
    int i = slot_of(m, h);
    if (i < 0)
        return i;
    if (salen && (int)*salen < 0)
        return -EINVAL; /* RF-04 */
    if (m->s[i].kind == K_UDP)
        return udp_recv(m, i, buf, len, flags, sa, salen);
    return stream_recv(m, i, buf, len, flags); /* the address is left alone (RF-02) */
}

/* ---- shutdown, close ---- */

static int mn_shutdown(void *ctx, sc_sock_t h, int how)
{
    sc_memnet_t *m = M(ctx);
    int i = slot_of(m, h);
    if (i < 0)
        return i;
    struct msock *s = &m->s[i];
    if (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR)
        return -EINVAL;
    if (s->state == S_LISTEN) {
        /* Reading side of a listener: it stops listening, its queue is
         * reset, the port stays bound (LS-09); SHUT_WR does nothing. */
        if (how != SHUT_WR) {
            drop_backlog(m, i);
            s->state = S_NEW;
        }
        return 0;
    }
    /* Linux records the shutdown even when the socket is not connected
     * and it reports ENOTCONN (inet_shutdown): a later connect keeps it. */
    int rc = s->connected || s->broken ? 0 : -ENOTCONN;
    if (how != SHUT_WR)
        s->rd_shut = 1;
    if (how != SHUT_RD && !s->wr_shut) {
        s->wr_shut = 1;
        if (s->kind != K_UDP && s->peer != NO_SOCK)
            m->s[s->peer].peer_fin = 1;
    }
    return rc;
}

static int mn_close(void *ctx, sc_sock_t h)
{
    sc_memnet_t *m = M(ctx);
    int i = slot_of(m, h);
    if (i < 0)
        return i;
    struct msock *s = &m->s[i];
    if (s->state == S_LISTEN)
        drop_backlog(m, i);
    if (s->kind != K_UDP && s->peer != NO_SOCK) {
        if (s->rx.used || s->linger_reset) {
            reset_conn(m, i); /* unread data or linger 0: RST instead of FIN (CL-01, CL-02) */
        } else {
            struct msock *p = &m->s[s->peer];
            p->peer_fin = 1;
            p->peer = NO_SOCK;
        }
    }
    slot_free(m, i);
    return 0;
}

/* ---- readiness ---- */

/* The seam's poll speaks SC_EV_* (poll(2)'s bits on POSIX; Winsock's
 * POLL* values differ). A handle memnet does not know is POLLNVAL where
 * poll(2) has it, and SC_EV_ERR on Windows, as the Winsock table reports
 * WSAPoll's POLLNVAL (sys_win.c). */
#if defined(_WIN32)
#define MN_EV_NVAL SC_EV_ERR
#else
#define MN_EV_NVAL POLLNVAL
#endif

static short readiness(const sc_memnet_t *m, int i)
{
    const struct msock *s = &m->s[i];
    short r = 0;
    if (s->kind == K_UDP) {
        r = SC_EV_OUT;
        if (s->ndgrams || s->rd_shut)
            r |= SC_EV_IN;
    } else if (s->state == S_LISTEN) {
        r = s->q_len ? SC_EV_IN : 0;
    } else if (!s->connected && !s->broken) {
        r = SC_EV_OUT | SC_EV_HUP; /* as Linux reports a TCP socket in CLOSE */
    } else {
        if (s->rx.used || s->peer_fin || s->broken || s->rd_shut || s->so_error)
            r |= SC_EV_IN;
        if (s->wr_shut || s->broken || s->peer == NO_SOCK || ring_space(&m->s[s->peer].rx) > 0)
            r |= SC_EV_OUT;
        if (s->broken || (s->wr_shut && s->peer_fin))
            r |= SC_EV_HUP;
    }
    if (s->so_error)
        r |= SC_EV_ERR;
    return r;
}

static int mn_poll(void *ctx, sc_pollfd_t *fds, size_t n, int timeout_ms)
{
    sc_memnet_t *m = M(ctx);
    int count = 0;
    if (n && !fds)
        return -EFAULT;
    for (size_t k = 0; k < n; k++) {
        fds[k].revents = 0;
        if ((sc_sock_t)fds[k].fd < 0) /* Winsock's SOCKET is unsigned */
            continue;
        int i = slot_of(m, (sc_sock_t)fds[k].fd);
        if (i < 0)
            fds[k].revents = MN_EV_NVAL;
        else
            fds[k].revents = (short)(readiness(m, i) & (fds[k].events | SC_EV_ERR | SC_EV_HUP));
        count += fds[k].revents != 0;
    }
    /* Nothing can change while we wait (one thread): a wait with a
     * timeout and nothing ready lets the whole timeout pass at once. */
    if (count == 0 && timeout_ms > 0)
        m->now += timeout_ms;
    return count;
}

/* ---- options and names ---- */

static int *int_option(struct msock *s, int level, int name)
{
    if (level == SOL_SOCKET) {
        switch (name) {
        case SO_REUSEADDR:
            return &s->reuse;
        case SO_KEEPALIVE:
            return &s->keepalive;
        case SO_RCVBUF:
        case SO_SNDBUF:
            /* Accepted and ignored: the ring limits are memnet's own. */
            s->bufsize = (int)s->rx.limit;
            return &s->bufsize;
        default:
            return NULL;
        }
    }
    if (level == IPPROTO_IPV6 && name == IPV6_V6ONLY && s->family == AF_INET6)
        return &s->v6only;
    if (level == IPPROTO_TCP && name == TCP_NODELAY && s->kind == K_TCP)
        return &s->nodelay;
    return NULL;
}

static int mn_setsockopt(void *ctx, sc_sock_t h, int level, int name, const void *val, sc_socklen_t len)
{
    sc_memnet_t *m = M(ctx);
    int i = slot_of(m, h);
    if (i < 0)
        return i;
    if (!val)
        return -EFAULT;
    struct msock *s = &m->s[i];
    if (level == SOL_SOCKET && name == SO_LINGER) {
        struct linger lg;
        if (len < (sc_socklen_t)sizeof(lg))
            return -EINVAL;
        memcpy(&lg, val, sizeof(lg));
        s->linger_reset = lg.l_onoff && lg.l_linger == 0;
        return 0;
    }
    if (len < (sc_socklen_t)sizeof(int))
        return -EINVAL;
    if (level == IPPROTO_IPV6 && name == IPV6_V6ONLY && s->family == AF_INET6 && s->bound)
        return -EINVAL; /* Linux refuses to change it after bind */
    int *opt = int_option(s, level, name);
    if (!opt)
        return -ENOPROTOOPT;
    int v;
    memcpy(&v, val, sizeof(v));
    *opt = v != 0;
    return 0;
}

static int mn_getsockopt(void *ctx, sc_sock_t h, int level, int name, void *val, sc_socklen_t *len)
{
    sc_memnet_t *m = M(ctx);
    int i = slot_of(m, h);
    if (i < 0)
        return i;
    if (!val || !len)
        return -EFAULT;
    if ((int)*len < 0)
        return -EINVAL;
    struct msock *s = &m->s[i];
    int v;
    if (level == SOL_SOCKET && name == SO_ERROR) {
        v = s->so_error; /* read and cleared (SO-10) */
        s->so_error = 0;
    } else if (level == SOL_SOCKET && name == SO_TYPE) {
        v = s->type;
    } else if (level == SOL_SOCKET && name == SO_ACCEPTCONN) {
        v = s->state == S_LISTEN;
    } else {
        const int *opt = int_option(s, level, name);
        if (!opt)
            return -ENOPROTOOPT;
        v = *opt;
    }
    /* Cut silently to the caller's length (SO-09). */
    size_t n = (size_t)*len < sizeof(v) ? (size_t)*len : sizeof(v);
    memcpy(val, &v, n);
    *len = (sc_socklen_t)n;
    return 0;
}

static int mn_getsockname(void *ctx, sc_sock_t h, struct sockaddr *sa, sc_socklen_t *len)
{
    sc_memnet_t *m = M(ctx);
    int i = slot_of(m, h);
    if (i < 0)
        return i;
    if (!sa || !len)
        return -EFAULT;
    return write_addr(&m->s[i].local, sa, len);
}

static int mn_getpeername(void *ctx, sc_sock_t h, struct sockaddr *sa, sc_socklen_t *len)
{
    sc_memnet_t *m = M(ctx);
    int i = slot_of(m, h);
    if (i < 0)
        return i;
    const struct msock *s = &m->s[i];
    if (!s->connected || s->broken)
        return -ENOTCONN;
    if (!sa || !len)
        return -EFAULT;
    return write_addr(&s->remote, sa, len);
}

static int mn_set_nonblock(void *ctx, sc_sock_t h, int on)
{
    sc_memnet_t *m = M(ctx);
    int i = slot_of(m, h);
    if (i < 0)
        return i;
    m->s[i].nonblock = on != 0;
    return 0;
}

/* No scalable readiness interface: the library falls back to poll. */
static int mn_ev_create(void *ctx)
{
    (void)ctx;
    return -ENOSYS;
}

static int mn_ev_ctl(void *ctx, int ep, int op, sc_sock_t s, uint32_t events, uint64_t data)
{
    (void)ctx, (void)ep, (void)op, (void)s, (void)events, (void)data;
    return -ENOSYS;
}

static int mn_ev_wait(void *ctx, int ep, sc_event_t *evs, int max, int timeout_ms)
{
    (void)ctx, (void)ep, (void)evs, (void)max, (void)timeout_ms;
    return -ENOSYS;
}

static int64_t mn_now_ms(void *ctx)
{
    return M(ctx)->now;
}

static const sc_sys_t memnet_table = {
    .socket = mn_socket,
    .socketpair = mn_socketpair,
    .bind = mn_bind,
    .listen = mn_listen,
    .accept = mn_accept,
    .connect = mn_connect,
    .send = mn_send,
    .recv = mn_recv,
    .sendto = mn_sendto,
    .recvfrom = mn_recvfrom,
    .shutdown = mn_shutdown,
    .close = mn_close,
    .poll = mn_poll,
    .setsockopt = mn_setsockopt,
    .getsockopt = mn_getsockopt,
    .getsockname = mn_getsockname,
    .getpeername = mn_getpeername,
    .set_nonblock = mn_set_nonblock,
    .ev_create = mn_ev_create,
    .ev_ctl = mn_ev_ctl,
    .ev_wait = mn_ev_wait,
    .now_ms = mn_now_ms,
};

/* ---- public ---- */

int sc_memnet_create(sc_memnet_t **out)
{
    if (!out)
        return -EINVAL;
    sc_memnet_t *m = calloc(1, sizeof(*m));
    if (!m)
        return -ENOMEM;
    m->rings = malloc((size_t)SC_MEMNET_MAX_SOCKETS * SC_MEMNET_RING_MAX);
    if (!m->rings) {
        free(m);
        return -ENOMEM;
    }
    m->sys = memnet_table;
    m->sys.ctx = m;
    m->hw = SC_MEMNET_MAX_SOCKETS;
    sc_memnet_reset(m);
    *out = m;
    return 0;
}

void sc_memnet_destroy(sc_memnet_t *m)
{
    if (!m)
        return;
    free(m->rings);
    free(m);
}

const sc_sys_t *sc_memnet_sys(sc_memnet_t *m)
{
    return &m->sys;
}

void sc_memnet_reset(sc_memnet_t *m)
{
    memset(m->s, 0, m->hw * sizeof(m->s[0]));
    m->hw = 0;
    m->stream_limit = SC_MEMNET_STREAM_DEFAULT;
    m->dgram_limit = SC_MEMNET_RING_MAX;
    m->gen_next = 0;
    m->next_port[0] = m->next_port[1] = SC_MEMNET_EPHEMERAL_FIRST;
    m->chaos = NULL;
    m->chaos_len = m->chaos_pos = 0;
    m->now = SC_MEMNET_EPOCH_MS;
    memset(&m->st, 0, sizeof(m->st));
}

void sc_memnet_advance(sc_memnet_t *m, int64_t ms)
{
    if (ms > 0)
        m->now += ms;
}

int64_t sc_memnet_now(const sc_memnet_t *m)
{
    return m->now;
}

static size_t clamp_limit(size_t v, size_t dflt)
{
    if (v == 0)
        return dflt;
    return v > SC_MEMNET_RING_MAX ? SC_MEMNET_RING_MAX : v;
}

void sc_memnet_set_limits(sc_memnet_t *m, size_t stream_bytes, size_t dgram_bytes)
{
    m->stream_limit = clamp_limit(stream_bytes, m->stream_limit);
    m->dgram_limit = clamp_limit(dgram_bytes, m->dgram_limit);
}

void sc_memnet_chaos(sc_memnet_t *m, const uint8_t *schedule, size_t len)
{
    m->chaos = schedule;
    m->chaos_len = schedule ? len : 0;
    m->chaos_pos = 0;
}

void sc_memnet_stats(const sc_memnet_t *m, sc_memnet_stats_t *st)
{
    *st = m->st;
}

size_t sc_memnet_open_count(const sc_memnet_t *m)
{
    return m->st.open;
}

#if defined(MEMNET_POP_ATTRIBUTE)
#pragma clang attribute pop
#endif
