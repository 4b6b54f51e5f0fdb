/* A fault-injecting seam: passes every call to an inner table unless a
 * rule says that this call of this operation fails or comes up short. */
#include "sockcheck/fault.h"
#include "internal.h"

#include <errno.h>
#include <string.h>

static const char *const op_names[SC_OP_COUNT] = {
    "socket", "socketpair", "bind", "listen", "accept", "connect", "send",
    "recv", "sendto", "recvfrom", "shutdown", "close", "poll", "setsockopt",
    "getsockopt", "getsockname", "getpeername", "set_nonblock", "ev_create",
    "ev_ctl", "ev_wait",
};

const char *sc_op_name(sc_op_t op)
{
    return (unsigned)op < SC_OP_COUNT ? op_names[op] : "?";
}

/* Counts the call and returns the rule that applies to it, or NULL. */
static const sc_fault_rule_t *match(sc_fault_t *f, sc_op_t op)
{
    unsigned long n = ++f->calls[op];
    for (size_t i = 0; i < f->nrules; i++) {
        const sc_fault_rule_t *r = &f->rules[i];
        unsigned long first = r->nth ? r->nth : 1;
        if (r->op == op && n >= first && (r->count == 0 || n < first + r->count)) {
            f->injected[op]++;
            return r;
        }
    }
    return NULL;
}

#define F(ctx) ((sc_fault_t *)(ctx))
#if defined(_WIN32)
#undef IN /* windef.h defines IN (and OUT) as an empty annotation */
#endif
#define IN(ctx) (F(ctx)->inner)
/* Fails the call when a rule with an error matches. */
#define GATE(ctx, op)                                                                                        \
    const sc_fault_rule_t *rule = match(F(ctx), op);                                                         \
    if (rule && rule->error)                                                                                 \
    return rule->error
/* Caps a transfer length when a short-transfer rule matches. */
#define CAP(len) (rule && !rule->error && rule->max_len < (len) ? rule->max_len : (len))

static sc_sock_t f_socket(void *ctx, int d, int t, int p, int fl)
{
    GATE(ctx, SC_OP_SOCKET);
    return SC__CALL(IN(ctx), socket, d, t, p, fl);
}

static int f_socketpair(void *ctx, int t, int fl, sc_sock_t sv[2])
{
    GATE(ctx, SC_OP_SOCKETPAIR);
    return SC__CALL(IN(ctx), socketpair, t, fl, sv);
}

static int f_bind(void *ctx, sc_sock_t s, const struct sockaddr *sa, sc_socklen_t len)
{
    GATE(ctx, SC_OP_BIND);
    return SC__CALL(IN(ctx), bind, s, sa, len);
}

static int f_listen(void *ctx, sc_sock_t s, int backlog)
{
    GATE(ctx, SC_OP_LISTEN);
    return SC__CALL(IN(ctx), listen, s, backlog);
}

static sc_sock_t f_accept(void *ctx, sc_sock_t s, struct sockaddr *sa, sc_socklen_t *len, int fl)
{
    GATE(ctx, SC_OP_ACCEPT);
    return SC__CALL(IN(ctx), accept, s, sa, len, fl);
}

static int f_connect(void *ctx, sc_sock_t s, const struct sockaddr *sa, sc_socklen_t len)
{
    GATE(ctx, SC_OP_CONNECT);
    return SC__CALL(IN(ctx), connect, s, sa, len);
}

static ptrdiff_t f_send(void *ctx, sc_sock_t s, const void *buf, size_t len, int fl)
{
    GATE(ctx, SC_OP_SEND);
    return SC__CALL(IN(ctx), send, s, buf, CAP(len), fl);
}

static ptrdiff_t f_recv(void *ctx, sc_sock_t s, void *buf, size_t len, int fl)
{
    GATE(ctx, SC_OP_RECV);
    return SC__CALL(IN(ctx), recv, s, buf, CAP(len), fl);
}

static ptrdiff_t f_sendto(void *ctx, sc_sock_t s, const void *buf, size_t len, int fl, const struct sockaddr *sa,
                          sc_socklen_t salen)
{
    GATE(ctx, SC_OP_SENDTO);
    return SC__CALL(IN(ctx), sendto, s, buf, CAP(len), fl, sa, salen);
}

static ptrdiff_t f_recvfrom(void *ctx, sc_sock_t s, void *buf, size_t len, int fl, struct sockaddr *sa,
                            sc_socklen_t *salen)
{
    GATE(ctx, SC_OP_RECVFROM);
    return SC__CALL(IN(ctx), recvfrom, s, buf, CAP(len), fl, sa, salen);
}

static int f_shutdown(void *ctx, sc_sock_t s, int how)
{
    GATE(ctx, SC_OP_SHUTDOWN);
    return SC__CALL(IN(ctx), shutdown, s, how);
}

/* An injected close error still closes: POSIX leaves the descriptor's
 * state unspecified after EINTR, Linux always releases it, and a test that
 * injects one must not leak. */
static int f_close(void *ctx, sc_sock_t s)
{
    const sc_fault_rule_t *rule = match(F(ctx), SC_OP_CLOSE);
    int rc = SC__CALL(IN(ctx), close, s);
    return rule && rule->error ? rule->error : rc;
}

static int f_poll(void *ctx, sc_pollfd_t *fds, size_t n, int timeout_ms)
{
    GATE(ctx, SC_OP_POLL);
    return SC__CALL(IN(ctx), poll, fds, n, timeout_ms);
}

static int f_setsockopt(void *ctx, sc_sock_t s, int level, int name, const void *val, sc_socklen_t len)
{
    GATE(ctx, SC_OP_SETSOCKOPT);
    return SC__CALL(IN(ctx), setsockopt, s, level, name, val, len);
}

static int f_getsockopt(void *ctx, sc_sock_t s, int level, int name, void *val, sc_socklen_t *len)
{
    GATE(ctx, SC_OP_GETSOCKOPT);
    return SC__CALL(IN(ctx), getsockopt, s, level, name, val, len);
}

static int f_getsockname(void *ctx, sc_sock_t s, struct sockaddr *sa, sc_socklen_t *len)
{
    GATE(ctx, SC_OP_GETSOCKNAME);
    return SC__CALL(IN(ctx), getsockname, s, sa, len);
}

static int f_getpeername(void *ctx, sc_sock_t s, struct sockaddr *sa, sc_socklen_t *len)
{
    GATE(ctx, SC_OP_GETPEERNAME);
    return SC__CALL(IN(ctx), getpeername, s, sa, len);
}

static int f_set_nonblock(void *ctx, sc_sock_t s, int on)
{
    GATE(ctx, SC_OP_SET_NONBLOCK);
    return SC__CALL(IN(ctx), set_nonblock, s, on);
}

static int f_ev_create(void *ctx)
{
    GATE(ctx, SC_OP_EV_CREATE);
    return IN(ctx)->ev_create ? IN(ctx)->ev_create(IN(ctx)->ctx) : -ENOSYS;
}

static int f_ev_ctl(void *ctx, int ep, int op, sc_sock_t s, uint32_t events, uint64_t data)
{
    GATE(ctx, SC_OP_EV_CTL);
    return SC__CALL(IN(ctx), ev_ctl, ep, op, s, events, data);
}

static int f_ev_wait(void *ctx, int ep, sc_event_t *evs, int max, int timeout_ms)
{
    GATE(ctx, SC_OP_EV_WAIT);
    return SC__CALL(IN(ctx), ev_wait, ep, evs, max, timeout_ms);
}

/* A batch counts as one call of recvfrom / sendto; a short-transfer rule
 * cuts it to max_len datagrams (at least one). */
static int cap_batch(const sc_fault_rule_t *rule, int n)
{
    if (rule && !rule->error && n > 0 && rule->max_len < (size_t)n)
        return rule->max_len ? (int)rule->max_len : 1;
    return n;
}

static int f_recv_batch(void *ctx, sc_sock_t s, sc_dgram_t *v, int n, int fl)
{
    GATE(ctx, SC_OP_RECVFROM);
    return SC__CALL(IN(ctx), recv_batch, s, v, cap_batch(rule, n), fl);
}

static int f_send_batch(void *ctx, sc_sock_t s, const sc_dgram_t *v, int n, int fl)
{
    GATE(ctx, SC_OP_SENDTO);
    return SC__CALL(IN(ctx), send_batch, s, v, cap_batch(rule, n), fl);
}

/* Time is no call to fail: the inner table's clock, as it is. */
static int64_t f_now_ms(void *ctx)
{
    return sc__now_ms(IN(ctx));
}

void sc_fault_init(sc_fault_t *f, const sc_sys_t *inner)
{
    memset(f, 0, sizeof(*f));
    f->inner = inner ? inner : sc_sys_platform();
    f->sys = (sc_sys_t){
        .ctx = f,
        .socket = f_socket,
        .socketpair = f_socketpair,
        .bind = f_bind,
        .listen = f_listen,
        .accept = f_accept,
        .connect = f_connect,
        .send = f_send,
        .recv = f_recv,
        .sendto = f_sendto,
        .recvfrom = f_recvfrom,
        .shutdown = f_shutdown,
        .close = f_close,
        .poll = f_poll,
        .setsockopt = f_setsockopt,
        .getsockopt = f_getsockopt,
        .getsockname = f_getsockname,
        .getpeername = f_getpeername,
        .set_nonblock = f_set_nonblock,
        .ev_create = f_ev_create,
        .ev_ctl = f_ev_ctl,
        .ev_wait = f_ev_wait,
        .now_ms = f_now_ms,
    };
    if (f->inner->recv_batch && f->inner->send_batch) {
        f->sys.recv_batch = f_recv_batch;
        f->sys.send_batch = f_send_batch;
    }
}

int sc_fault_add(sc_fault_t *f, sc_op_t op, unsigned nth, unsigned count, int error, size_t max_len)
{
    if ((unsigned)op >= SC_OP_COUNT || error > 0)
        return -EINVAL;
    if (f->nrules == SC_FAULT_MAX_RULES)
        return -ENOSPC;
    f->rules[f->nrules++] = (sc_fault_rule_t){op, nth, count, error, max_len};
    return 0;
}

void sc_fault_reset(sc_fault_t *f)
{
    f->nrules = 0;
    memset(f->calls, 0, sizeof(f->calls));
    memset(f->injected, 0, sizeof(f->injected));
}
