/* Fuzz target api_calls: sequences of socket calls with fuzzer-chosen
 * arguments on real loopback sockets, each result checked against a small
 * state model built from the conformance matrix (row IDs in comments).
 * Target functions: the platform seam (sc_sys_platform: socket, bind,
 * listen, connect, accept, send, sendto, recv, shutdown, close,
 * setsockopt, getsockname, getpeername), memnet's table, and
 * sc_addr_validate.
 * Input: 4-byte operations (opcode, slot, a, b) over NSLOTS slots. An
 * input whose length is not a multiple of 4 runs on memnet instead of the
 * kernel: the in-memory network must satisfy the same model.
 * Safety: every socket is non-blocking (nothing can hang); every address
 * is built from a loopback address or read back from a slot, and passes
 * sc_addr_validate(SC_ADDR_REQUIRE_LOOPBACK) before the call, or the call
 * is skipped; listen() only on sockets already bound to loopback (an
 * unbound listen would bind the wildcard). Ports are 0 or our own
 * slots' ports: nothing outside this process is ever reached.
 * Oracles (abort on failure): each return value is one the model allows
 * in the slot's state (exact where the kernel's answer is determined,
 * a set where the peer's asynchronous actions matter, e.g. a reset); no
 * call fails with EBADF, ENOTSOCK or EFAULT; after the input every slot
 * is closed and the lowest free descriptor is the one before it (no
 * leak), or memnet has no socket open. */
#include "sockcheck/addr.h"
#include "sockcheck/memnet.h"
#include "sockcheck/net.h"
#include "sockcheck/sys.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CHECK(cond) ((cond) ? (void)0 : fail(__LINE__, #cond))
#define NSLOTS 4
#define OP_SIZE 4
#define MAX_OPS 48
#define END 0 /* ends an errno list */

enum op { OP_SOCKET, OP_BIND, OP_LISTEN, OP_CONNECT, OP_ACCEPT, OP_SEND, OP_RECV,
          OP_SHUTDOWN, OP_CLOSE, OP_SETSOCKOPT, OP_GETSOCKNAME, OP_GETPEERNAME, OP_COUNT };

enum state { ST_NEW, ST_LISTEN, ST_CONNECTING, ST_CONNECTED };

struct slot {
    sc_sock_t s; /* SC_INVALID_SOCK: free */
    int family, type;
    enum state st;
    int bound;   /* 1: has a local port, 0: none, -1: unknown (an autobind may have been undone) */
    int fuzzy;   /* an asynchronous outcome or an unmodelled step: only the call's global set */
    int rd_shut, wr_shut, v6only;
    int explicit_port; /* bound to a port given to bind (SOCK_BINDPORT_LOCK: kept by a disconnect) */
    sc_addr_t local;
};

static const sc_sys_t *sys; /* the table of this input: the platform's or memnet's */
static sc_memnet_t *net;
static struct slot slots[NSLOTS];
static size_t op_index;
static long last_rc; /* the last call's result, for the failure message */
static int trace; /* API_CALLS_TRACE set: each operation is printed (for reading a crash) */
static uint8_t buf[4096];

/* Names the operation and the rule that failed, so that a crash report
 * says which row of the model the kernel (or the model) broke. */
static void fail(int line, const char *cond)
{
    fprintf(stderr, "api_calls: operation %zu: check at line %d failed: %s (last call returned %ld)\n", op_index,
            line, cond, last_rc);
    abort();
}

/* rc >= 0 passes when ok; rc < 0 passes when -rc is in the list. */
static int one_of(ptrdiff_t rc, int ok, ...)
{
    va_list ap;
    int found = 0;
    if (rc >= 0)
        return ok;
    va_start(ap, ok);
    for (int e; (e = va_arg(ap, int)) != END;)
        found |= rc == -e;
    va_end(ap);
    return found;
}

/* open returns the lowest free descriptor: a leaked one would take it. */
static int lowest_fd(void)
{
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    CHECK(fd >= 0);
    close(fd);
    return fd;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    sys = sc_sys_platform();
    if (sc_net_init() != 0 || (!net && sc_memnet_create(&net) != 0))
        abort();
    trace = getenv("API_CALLS_TRACE") != NULL;
    for (int i = 0; i < NSLOTS; i++)
        slots[i].s = SC_INVALID_SOCK;
    return 0;
}

#define CALL(op, ...) (last_rc = (long)sys->op(sys->ctx, __VA_ARGS__))

static void slot_close(struct slot *sl, int linger_reset)
{
    if (sl->s == SC_INVALID_SOCK)
        return;
    if (linger_reset && sl->type == SOCK_STREAM) {
        /* At the end of an input: RST instead of FIN, so that thousands of
         * inputs a second leave no TIME_WAIT behind (CL-02). */
        struct linger lg = {1, 0};
        CALL(setsockopt, sl->s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    }
    CHECK(CALL(close, sl->s) == 0);
    memset(sl, 0, sizeof(*sl));
    sl->s = SC_INVALID_SOCK;
}

/* Reads the slot's local address back (after bind, connect, accept). */
static void refresh_local(struct slot *sl)
{
    struct sockaddr_storage ss;
    sc_socklen_t len = sizeof(ss);
    memset(&ss, 0, sizeof(ss));
    CHECK(CALL(getsockname, sl->s, (struct sockaddr *)&ss, &len) == 0);
    if (sc_addr_from_bytes(&sl->local, &ss, (size_t)len) < 0)
        memset(&sl->local, 0, sizeof(sl->local));
}

/* The loopback address of family: 127.0.0.1, ::1, or (variant) 127.0.0.2
 * and ::ffff:127.0.0.1. */
static sc_addr_t loopback(int family, int variant, uint16_t port)
{
    sc_addr_t a;
    static const char *const text[2][2] = {{"127.0.0.1", "127.0.0.2"}, {"::1", "::ffff:127.0.0.1"}};
    const char *t = text[family == AF_INET6][variant & 1];
    CHECK(sc_addr_parse(&a, t, strlen(t), port, 0) == 0);
    return a;
}

/* addr as a socket of family sends it: an IPv4 address becomes IPv4-mapped
 * for an IPv6 socket. */
static sc_addr_t for_family(const sc_addr_t *addr, int family)
{
    if (family != AF_INET6 || sc_addr_family(addr) != AF_INET)
        return *addr;
    const struct sockaddr_in *v4 = (const struct sockaddr_in *)&addr->ss;
    char text[SC_ADDR_STRLEN] = "::ffff:";
    CHECK(inet_ntop(AF_INET, &v4->sin_addr, text + 7, sizeof(text) - 7) != NULL);
    sc_addr_t a;
    CHECK(sc_addr_parse(&a, text, strlen(text), sc_addr_port(addr), 0) == 0);
    return a;
}

static int is_mapped(const sc_addr_t *a)
{
    const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)&a->ss;
    return sc_addr_family(a) == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr);
}

/* The filter every address passes before any call: loopback only. */
static int loopback_only(const sc_addr_t *a)
{
    return a->len > 0 && sc_addr_validate(&a->ss, a->len, SC_ADDR_REQUIRE_LOOPBACK) == 0;
}

static void do_socket(struct slot *sl, uint8_t a, uint8_t b)
{
    static const int families[3] = {AF_INET, AF_INET6, 0};
    int family = families[a % 3];
    int type = (b & 3) == 1 ? SOCK_DGRAM : (b & 3) == 3 ? 75 : SOCK_STREAM;
    int proto = (b & 3) == 2 ? IPPROTO_UDP : 0;
    slot_close(sl, 0);
    sc_sock_t s = CALL(socket, family, type, proto, SC_NONBLOCK | SC_CLOEXEC);
    if (type == 75)
        CHECK(s == -EINVAL); /* SK-02: Linux checks the type before the family */
    else if (family == 0)
        CHECK(s == -EAFNOSUPPORT); /* SK-01 */
    else if (proto == IPPROTO_UDP)
        CHECK(s == -EPROTONOSUPPORT); /* SK-03 */
    else
        CHECK(s >= 0); /* SK-07 */
    if (s < 0)
        return;
    sl->s = s;
    sl->family = family;
    sl->type = type;
    sl->st = ST_NEW;
}

static void do_bind(struct slot *sl, uint8_t a, uint8_t b)
{
    uint16_t port = 0;
    const struct slot *other = &slots[(b >> 1) % NSLOTS];
    if ((b & 1) && other->s != SC_INVALID_SOCK && other->bound == 1)
        port = sc_addr_port(&other->local);
    int mismatch = (a & 3) == 2;
    int family = mismatch ? (sl->family == AF_INET ? AF_INET6 : AF_INET) : sl->family;
    sc_addr_t addr = loopback(family, (a & 3) == 1, port);
    if (!loopback_only(&addr))
        return;
    sc_socklen_t len = (a & 3) == 3 ? 3 : addr.len;
    int rc = CALL(bind, sl->s, (const struct sockaddr *)&addr.ss, len);
    int mapped = sl->family == AF_INET6 && (a & 3) == 1;
    if (len == 3)
        CHECK(rc == -EINVAL); /* BD-08 */
    else if (mismatch)
        CHECK(rc == (sl->family == AF_INET ? -EAFNOSUPPORT : -EINVAL)); /* BD-09, BD-10 */
    else if (sl->fuzzy || sl->bound == -1 || (sl->type == SOCK_STREAM && sl->st >= ST_CONNECTING))
        /* A connection that failed, or closed in both directions, gives an
         * ephemeral port back: bind may then succeed. */
        CHECK(one_of(rc, 1, EINVAL, EADDRINUSE, END));
    else if (sl->bound)
        CHECK(rc == -EINVAL); /* BD-03, BD-04, BD-05 */
    else if (mapped && sl->v6only)
        CHECK(rc == -EINVAL); /* an IPv6-only socket takes no IPv4-mapped address */
    else if (port)
        CHECK(one_of(rc, 1, EADDRINUSE, END)); /* BD-02, BD-17: depends on SO_REUSEADDR and listening */
    else
        CHECK(rc == 0); /* BD-01, BD-07 */
    if (rc == 0) {
        sl->bound = 1;
        sl->explicit_port = port != 0;
        refresh_local(sl);
    }
}

/* Another slot's socket of the same type holds the same port. */
static int port_shared(const struct slot *sl)
{
    for (int i = 0; i < NSLOTS; i++) {
        const struct slot *o = &slots[i];
        if (o != sl && o->s != SC_INVALID_SOCK && o->type == sl->type && o->bound &&
            sc_addr_port(&o->local) == sc_addr_port(&sl->local))
            return 1;
    }
    return 0;
}

static void do_listen(struct slot *sl, uint8_t a)
{
    /* Only a socket bound to loopback: listen() would bind an unbound one
     * to the wildcard address (LS-03), which the filter forbids. */
    if (sl->bound != 1 || !loopback_only(&sl->local))
        return;
    int rc = CALL(listen, sl->s, (int)(a % 8) - 1);
    if (sl->type == SOCK_DGRAM)
        CHECK(rc == -EOPNOTSUPP); /* LS-01 */
    else if (sl->fuzzy)
        CHECK(one_of(rc, 1, EINVAL, EADDRINUSE, END));
    else if (sl->st == ST_CONNECTED || sl->st == ST_CONNECTING)
        CHECK(rc == -EINVAL); /* LS-12 */
    else if (sl->explicit_port || port_shared(sl))
        CHECK(one_of(rc, 1, EADDRINUSE, END)); /* BD-18: a port shared with SO_REUSEADDR */
    else
        CHECK(rc == 0); /* LS-04, LS-07, LS-09: again after SHUT_RD */
    if (rc == 0)
        sl->st = ST_LISTEN;
}

/* inet_stream_connect looks at the socket's state before the address:
 * EISCONN and EALREADY come before any family or length error. */
static void tcp_connect_result(struct slot *sl, int rc, int mismatch_rc, int v6)
{
    if (sl->fuzzy)
        CHECK(one_of(rc, 1, EINPROGRESS, EALREADY, EISCONN, ECONNREFUSED, ECONNABORTED, ECONNRESET, EPIPE, EINVAL,
                     EADDRNOTAVAIL, EADDRINUSE, EAFNOSUPPORT, ENETUNREACH, END));
    else if (sl->st == ST_CONNECTED || sl->st == ST_LISTEN)
        CHECK(rc == -EISCONN); /* CT-02 */
    else if (sl->st == ST_CONNECTING)
        CHECK(one_of(rc, 1, EALREADY, EISCONN, ECONNREFUSED, ECONNABORTED, ECONNRESET, EPIPE,
                     END)); /* CT-05, CT-06, CT-09; LS-11: the listener went away (its RST) */
    else if (mismatch_rc)
        CHECK(rc == mismatch_rc); /* CT-11, CT-13 */
    else if (v6)
        CHECK(one_of(rc, 1, EINPROGRESS, ECONNREFUSED, EADDRNOTAVAIL, EADDRINUSE, ENETUNREACH, EAFNOSUPPORT,
                     END)); /* DS-05, DS-06: ::1 and IPv4-mapped addresses do not mix */
    else
        CHECK(one_of(rc, 1, EINPROGRESS, ECONNREFUSED, EADDRNOTAVAIL, EADDRINUSE, END)); /* CT-01, CT-04, CT-17, CT-19 */
    if (rc == 0 || (rc == -EISCONN && sl->st == ST_CONNECTING)) {
        sl->st = ST_CONNECTED;
    } else if (rc == -EINPROGRESS || rc == -EALREADY) {
        sl->st = ST_CONNECTING;
    } else if (rc == -ECONNREFUSED || rc == -ECONNABORTED || rc == -ECONNRESET || rc == -EPIPE) {
        /* The socket is unconnected again (inet_stream_connect's
         * sock_error), in a state POSIX leaves unspecified (CT-09, CT-10). */
        sl->st = ST_NEW;
        sl->fuzzy = 1;
    }
}

static void do_connect(struct slot *sl, uint8_t a, uint8_t b)
{
    const struct slot *to = &slots[a % NSLOTS];
    if (to->s == SC_INVALID_SOCK || to->bound != 1)
        return;
    int mismatch = (b & 3) == 1;
    sc_addr_t addr = mismatch ? to->local : for_family(&to->local, sl->family);
    if (!loopback_only(&addr) || sc_addr_port(&addr) == 0)
        return;
    /* A UDP connect binds an unbound socket to the wildcard address before
     * it looks at the destination (inet_dgram_connect); only a successful
     * connect then narrows it to loopback. The filter allows no wildcard:
     * an unbound UDP socket connects only where it surely can. */
    if (sl->type == SOCK_DGRAM && sl->bound != 1 && (sc_addr_family(&addr) != sl->family || is_mapped(&addr)))
        return;
    int rc = CALL(connect, sl->s, (const struct sockaddr *)&addr.ss, addr.len);
    int afam = sc_addr_family(&addr);
    /* A family mismatch: an IPv4 socket given a sockaddr_in6 fails with
     * EAFNOSUPPORT (CT-13); an IPv6 TCP socket given a sockaddr_in with
     * EINVAL (too short); an IPv6 UDP socket connects to the IPv4 address
     * as a mapped one unless it is IPv6-only (CU-09). */
    int mismatch_rc = afam == sl->family ? 0 : sl->family == AF_INET ? -EAFNOSUPPORT : -EINVAL;
    if (sl->type == SOCK_STREAM)
        tcp_connect_result(sl, rc, mismatch_rc, sl->family == AF_INET6);
    else if (mismatch_rc == -EAFNOSUPPORT)
        CHECK(rc == -EAFNOSUPPORT);
    else if (mismatch_rc)
        CHECK(one_of(rc, !sl->v6only, EAFNOSUPPORT, ENETUNREACH, END));
    else
        CHECK(one_of(rc, 1, ENETUNREACH, EAFNOSUPPORT, END)); /* CU-03; DS-05: ::1 cannot reach a mapped address */
    if (sl->type == SOCK_DGRAM && rc == 0)
        sl->st = ST_CONNECTED;
    if (rc == 0 || rc == -EINPROGRESS) {
        sl->bound = 1;
        refresh_local(sl);
    } else if (sl->bound != 1) {
        sl->bound = -1; /* an autobind may or may not have stayed */
    }
}

static void do_accept(struct slot *sl, uint8_t b)
{
    struct slot *dst = &slots[b % NSLOTS];
    if (dst == sl)
        return;
    struct sockaddr_storage peer;
    sc_socklen_t len = sizeof(peer);
    sc_sock_t s = CALL(accept, sl->s, (struct sockaddr *)&peer, &len, SC_NONBLOCK | SC_CLOEXEC);
    if (sl->type == SOCK_DGRAM)
        CHECK(s == -EOPNOTSUPP); /* AC-05 */
    else if (sl->fuzzy)
        CHECK(one_of(s, 1, EAGAIN, EINVAL, ECONNABORTED, END));
    else if (sl->st != ST_LISTEN)
        CHECK(s == -EINVAL); /* AC-04 */
    else
        CHECK(one_of(s, 1, EAGAIN, ECONNABORTED, END)); /* AC-01, AC-07, AC-10 */
    if (s < 0)
        return;
    CHECK(len == (sl->family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6)));
    CHECK(sc_addr_validate(&peer, len, SC_ADDR_REQUIRE_LOOPBACK) == 0);
    slot_close(dst, 0);
    dst->s = s;
    dst->family = sl->family;
    dst->type = SOCK_STREAM;
    dst->st = ST_CONNECTED;
    dst->bound = 1;
    refresh_local(dst);
}

static void do_send(struct slot *sl, uint8_t a, uint8_t b)
{
    size_t len = (size_t)a * 16;
    ptrdiff_t rc;
    if (b & 1) {
        /* sendto our own bound address: a datagram to ourselves; a
         * stream ignores it or fails (ST-01, ST-07). */
        if (sl->bound != 1 || !loopback_only(&sl->local) || sc_addr_port(&sl->local) == 0)
            return;
        rc = CALL(sendto, sl->s, buf, len, MSG_DONTWAIT, (const struct sockaddr *)&sl->local.ss, sl->local.len);
        if (sl->type == SOCK_DGRAM) {
            CHECK(one_of(rc, !sl->wr_shut, EPIPE, EAGAIN, ECONNREFUSED, END));
            return;
        }
    } else {
        /* Linux binds an unbound UDP socket to the wildcard address in
         * send() before it finds no destination (inet_send_prepare), and
         * the filter allows no wildcard: only bound ones send. */
        if (sl->type == SOCK_DGRAM && sl->bound != 1)
            return;
        rc = CALL(send, sl->s, buf, len, MSG_DONTWAIT);
    }
    if (rc >= 0)
        CHECK((size_t)rc <= len);
    if (sl->type == SOCK_DGRAM) {
        if (sl->fuzzy)
            CHECK(one_of(rc, 1, EPIPE, EDESTADDRREQ, EAGAIN, ECONNREFUSED, END));
        else if (sl->st != ST_CONNECTED)
            CHECK(rc == -EDESTADDRREQ); /* SD-12, before the shutdown is looked at */
        else if (sl->wr_shut)
            CHECK(one_of(rc, 0, EPIPE, ECONNREFUSED, END)); /* SD-05 (a pending ICMP error comes first) */
        else
            CHECK(rc == (ptrdiff_t)len || one_of(rc, 0, EAGAIN, ECONNREFUSED, END)); /* SD-17, CU-07 */
        return;
    }
    if (sl->fuzzy || sl->st == ST_CONNECTING)
        CHECK(one_of(rc, 1, EAGAIN, EPIPE, ECONNRESET, ECONNREFUSED, END));
    else if (sl->st != ST_CONNECTED)
        CHECK(rc == -EPIPE); /* SD-06 */
    else if (sl->wr_shut)
        CHECK(one_of(rc, 0, EPIPE, ECONNRESET, END)); /* SD-05 (a pending reset comes first) */
    else
        CHECK(one_of(rc, 1, EAGAIN, EPIPE, ECONNRESET, END)); /* SD-01, SD-07, SD-09, SD-16 */
}

static void do_recv(struct slot *sl, uint8_t a, uint8_t b)
{
    size_t len = (size_t)a * 16;
    int flags = MSG_DONTWAIT | ((b & 1) ? MSG_PEEK : 0);
    ptrdiff_t rc = CALL(recv, sl->s, buf, len, flags);
    if (rc >= 0)
        CHECK((size_t)rc <= len || (sl->type == SOCK_DGRAM && len == 0 && rc == 0));
    if (sl->type == SOCK_DGRAM)
        CHECK(one_of(rc, 1, EAGAIN, ECONNREFUSED, END)); /* RV-02, RV-13, RV-19, CU-07 */
    else if (sl->fuzzy || sl->st == ST_CONNECTING)
        CHECK(one_of(rc, 1, EAGAIN, ENOTCONN, ECONNREFUSED, ECONNRESET, END));
    else if (sl->st != ST_CONNECTED)
        CHECK(rc == -ENOTCONN); /* RV-05 */
    else
        CHECK(one_of(rc, 1, EAGAIN, ECONNRESET, END)); /* RV-01, RV-02, RV-10, RV-19 */
}

static void do_shutdown(struct slot *sl, uint8_t a)
{
    static const int hows[4] = {SHUT_RD, SHUT_WR, SHUT_RDWR, 5};
    int how = hows[a & 3];
    int rc = CALL(shutdown, sl->s, how);
    if (how == 5) {
        CHECK(rc == -EINVAL); /* SH-01 */
        return;
    }
    if (sl->fuzzy || sl->st == ST_CONNECTING)
        CHECK(one_of(rc, 1, ENOTCONN, END));
    else if (sl->st == ST_LISTEN)
        CHECK(rc == 0); /* LS-09, LS-10 */
    else if (sl->st == ST_CONNECTED && sl->type == SOCK_STREAM)
        CHECK(one_of(rc, 1, ENOTCONN, END)); /* SH-04..07 (ENOTCONN once the peer reset it) */
    else if (sl->st == ST_CONNECTED)
        CHECK(rc == 0);
    else
        CHECK(rc == -ENOTCONN); /* SH-02 */
    if (sl->st == ST_LISTEN) {
        if (how != SHUT_WR) {
            /* LS-09: no longer listening. The disconnect keeps a port
             * given to bind, and may give an ephemeral one back. */
            sl->st = ST_NEW;
            if (!sl->explicit_port)
                sl->bound = -1;
        }
        return;
    }
    /* Linux records the shutdown even when it reports ENOTCONN. */
    if (how != SHUT_WR)
        sl->rd_shut = 1;
    if (how != SHUT_RD)
        sl->wr_shut = 1;
    /* A later connect of a socket shut down before it was connected (or
     * while connecting: CT-22) is not modelled. */
    if ((sl->st == ST_NEW || sl->st == ST_CONNECTING) && sl->type == SOCK_STREAM)
        sl->fuzzy = 1;
}

static void do_setsockopt(struct slot *sl, uint8_t a, uint8_t b)
{
    int v = b & 1, rc;
    switch (a % 6) {
    case 0:
        CHECK(CALL(setsockopt, sl->s, SOL_SOCKET, SO_REUSEADDR, &v, sizeof(v)) == 0); /* SO-13 */
        break;
    case 1:
        rc = CALL(setsockopt, sl->s, IPPROTO_TCP, TCP_NODELAY, &v, sizeof(v));
        CHECK(rc == (sl->type == SOCK_STREAM ? 0 : -ENOPROTOOPT)); /* SO-13, SO-06 */
        break;
    case 2:
        rc = CALL(setsockopt, sl->s, IPPROTO_IPV6, IPV6_V6ONLY, &v, sizeof(v));
        if (sl->family == AF_INET)
            CHECK(rc == -ENOPROTOOPT); /* SO-08 */
        else if (sl->bound == -1 || sl->fuzzy || (sl->type == SOCK_STREAM && sl->st >= ST_CONNECTING))
            CHECK(one_of(rc, 1, EINVAL, END));
        else
            CHECK(rc == (sl->bound ? -EINVAL : 0)); /* fixed once a port is bound */
        if (rc == 0)
            sl->v6only = v;
        break;
    case 3: {
        struct linger lg = {v, 0};
        CHECK(CALL(setsockopt, sl->s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) == 0); /* CL-06 */
        break;
    }
    case 4:
        CHECK(CALL(setsockopt, sl->s, 500, 1, &v, sizeof(v)) == -ENOPROTOOPT); /* SO-05 */
        break;
    default:
        CHECK(CALL(setsockopt, sl->s, SOL_SOCKET, SO_REUSEADDR, &v, 0) == -EINVAL); /* SO-03 */
        break;
    }
}

static void do_getsockname(struct slot *sl)
{
    struct sockaddr_storage ss;
    sc_socklen_t len = sizeof(ss);
    CHECK(CALL(getsockname, sl->s, (struct sockaddr *)&ss, &len) == 0);
    CHECK(ss.ss_family == sl->family); /* GN-01 */
    CHECK(len == (sl->family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6)));
}

static void do_getpeername(struct slot *sl)
{
    struct sockaddr_storage ss;
    sc_socklen_t len = sizeof(ss);
    int rc = CALL(getpeername, sl->s, (struct sockaddr *)&ss, &len);
    if (sl->fuzzy || sl->st == ST_CONNECTING || (sl->st == ST_CONNECTED && sl->type == SOCK_STREAM))
        CHECK(one_of(rc, 1, ENOTCONN, END)); /* GP-04 after a reset */
    else if (sl->st == ST_CONNECTED)
        CHECK(rc == 0); /* CU-01 */
    else
        CHECK(rc == -ENOTCONN); /* GP-01 */
    if (rc == 0)
        CHECK(sc_addr_validate(&ss, len, SC_ADDR_REQUIRE_LOOPBACK) == 0);
}

static void run_op(const uint8_t *op)
{
    static const char *const names[OP_COUNT] = {"socket", "bind", "listen", "connect", "accept", "send",
                                                "recv", "shutdown", "close", "setsockopt", "getsockname",
                                                "getpeername"};
    struct slot *sl = &slots[op[1] % NSLOTS];
    enum op code = (enum op)(op[0] % OP_COUNT);
    if (trace)
        fprintf(stderr, "api_calls: %zu: %s slot %d a=%u b=%u (state %d bound %d fuzzy %d shut %d%d)\n",
                op_index, names[code], op[1] % NSLOTS, op[2], op[3], sl->st, sl->bound, sl->fuzzy, sl->rd_shut,
                sl->wr_shut);
    if (code == OP_SOCKET) {
        do_socket(sl, op[2], op[3]);
        return;
    }
    if (sl->s == SC_INVALID_SOCK)
        return;
    switch (code) {
    case OP_BIND: do_bind(sl, op[2], op[3]); break;
    case OP_LISTEN: do_listen(sl, op[2]); break;
    case OP_CONNECT: do_connect(sl, op[2], op[3]); break;
    case OP_ACCEPT: do_accept(sl, op[3]); break;
    case OP_SEND: do_send(sl, op[2], op[3]); break;
    case OP_RECV: do_recv(sl, op[2], op[3]); break;
    case OP_SHUTDOWN: do_shutdown(sl, op[2]); break;
    case OP_CLOSE: slot_close(sl, 0); break;
    case OP_SETSOCKOPT: do_setsockopt(sl, op[2], op[3]); break;
    case OP_GETSOCKNAME: do_getsockname(sl); break;
    case OP_GETPEERNAME: do_getpeername(sl); break;
    default: break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!net)
        LLVMFuzzerInitialize(NULL, NULL);
    int on_memnet = size % OP_SIZE != 0;
    sys = on_memnet ? sc_memnet_sys(net) : sc_sys_platform();
    if (on_memnet)
        sc_memnet_reset(net);
    int lowest_free_fd = lowest_fd();
    for (op_index = 0; (op_index + 1) * OP_SIZE <= size && op_index < MAX_OPS; op_index++) {
        last_rc = 0;
        run_op(data + op_index * OP_SIZE);
        if (trace)
            fprintf(stderr, "api_calls: %zu: returned %ld\n", op_index, last_rc);
    }
    for (int i = 0; i < NSLOTS; i++)
        slot_close(&slots[i], 1);
    CHECK(lowest_fd() == lowest_free_fd);
    CHECK(!on_memnet || sc_memnet_open_count(net) == 0);
    return 0;
}
