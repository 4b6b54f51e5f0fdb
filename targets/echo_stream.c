/* Fuzz target echo_stream: the reference server and a client on the
 * in-memory network, driven on one thread; the input chooses the payload,
 * the chunking of every send/recv, errors injected into them (memnet's
 * chaos schedule) and into any one seam call (the fault seam, on top),
 * the server's buffer sizes, a stop (drain or now) and a second client
 * over the connection limit.
 * Target functions: sc_server_create, sc_server_step, sc_server_stop,
 * sc_server_stats, sc_server_destroy (the TCP path of server.c),
 * sc_client_connect_addr, the fault seam, memnet's stream sockets.
 * Input: payload | schedule | trailer of 6 bytes: options, more options,
 * fault call, fault error, schedule length, payload repeat count (a
 * shorter input is all payload).
 * Oracles (abort on failure):
 *  - every byte echoed equals the byte sent at that offset (a prefix);
 *  - undisturbed (no reset, no fault, no stop), everything comes back, EOF
 *    follows a half-close, the server counts as many bytes in as out, and
 *    a client over the limit is accepted and closed at once;
 *  - disturbed, the client still ends: all bytes, EOF or an error;
 *  - a failed sc_server_create or connect returns the injected error;
 *  - the exchange ends within a bounded number of steps (no hang);
 *  - after sc_server_destroy and the clients' close no socket is open. */
#include "sockcheck/client.h"
#include "sockcheck/fault.h"
#include "sockcheck/memnet.h"
#include "sockcheck/server.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond) ((cond) ? (void)0 : fail(__LINE__, #cond))
#define TRAILER 6
#define MAX_REPEAT 8
#define RECV_CHUNK 8192

/* Server buffer and memnet queue sizes the options byte picks from. */
static const size_t server_buffers[4] = {0, 5, 127, 1500};
static const size_t queue_limits[4] = {0, 3, 61, 1024};
/* Errors the fault byte picks from. An accept failing with EMFILE or
 * ENOMEM makes the server back off on the real clock, which a run in
 * virtual time cannot wait for: there they become ECONNABORTED. */
static const int fault_errors[8] = {-EINTR, -EAGAIN, -EMFILE, -ENOMEM, -EADDRINUSE, -EACCES, -EBADF, -ECONNABORTED};

static sc_memnet_t *net;
static sc_fault_t fault;

/* Names the broken oracle: a crash report then says what went wrong. */
static void fail(int line, const char *cond)
{
    fprintf(stderr, "echo_stream: check at line %d failed: %s\n", line, cond);
    abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (!net)
        CHECK(sc_memnet_create(&net) == 0);
    return 0;
}

struct exchange {
    const sc_sys_t *sys;
    sc_sock_t s;
    const uint8_t *pay;
    size_t pay_len, total; /* total = pay_len * repeat */
    size_t sent, received;
    int half_close, shut, eof;
    int send_err, recv_err;
};

/* Whether n bytes at in equal the payload from offset off on (the
 * payload repeats, so the comparison goes one copy at a time). */
static int matches(const struct exchange *x, const uint8_t *in, size_t n, size_t off)
{
    while (n) {
        size_t at = off % x->pay_len;
        size_t k = x->pay_len - at < n ? x->pay_len - at : n;
        if (memcmp(in, x->pay + at, k) != 0)
            return 0;
        in += k;
        off += k;
        n -= k;
    }
    return 1;
}

static void client_send(struct exchange *x)
{
    if (x->sent < x->total && !x->send_err) {
        /* The payload repeats: send at most up to the end of one copy. */
        size_t off = x->sent % x->pay_len;
        ptrdiff_t n = x->sys->send(x->sys->ctx, x->s, x->pay + off, x->pay_len - off, 0);
        if (n > 0)
            x->sent += (size_t)n;
        else if (n != -EAGAIN && n != -EINTR)
            x->send_err = (int)(n < 0 ? n : -EIO);
    }
    if (x->sent == x->total && x->half_close && !x->shut && !x->send_err) {
        int rc = x->sys->shutdown(x->sys->ctx, x->s, SHUT_WR);
        if (rc < 0)
            x->send_err = rc;
        x->shut = 1;
    }
}

static void client_recv(struct exchange *x)
{
    uint8_t in[RECV_CHUNK];
    ptrdiff_t n = x->sys->recv(x->sys->ctx, x->s, in, sizeof(in), 0);
    if (n == 0) {
        x->eof = 1;
    } else if (n > 0) {
        CHECK(x->received + (size_t)n <= x->sent);
        CHECK(matches(x, in, (size_t)n, x->received));
        x->received += (size_t)n;
    } else if (n != -EAGAIN && n != -EINTR) {
        x->recv_err = (int)n;
    }
}

/* Done: everything back (the half-closing client waits for EOF), EOF,
 * an error, or sending failed and all that went out came back. */
static int finished(const struct exchange *x)
{
    if (x->eof || x->recv_err || (x->send_err && x->received == x->sent))
        return 1;
    return !x->half_close && x->received == x->total;
}

static unsigned long faults_injected(void)
{
    unsigned long n = 0;
    for (int op = 0; op < SC_OP_COUNT; op++)
        n += fault.injected[op];
    return n;
}

/* The fault bytes: none (0), or one call of one operation failing. */
static int add_fault(uint8_t which, uint8_t how)
{
    if (which == 0)
        return 0;
    sc_op_t op = (sc_op_t)((which - 1) % SC_OP_COUNT);
    int err = fault_errors[how & 7];
    if (op == SC_OP_ACCEPT && (err == -EMFILE || err == -ENOMEM))
        err = -ECONNABORTED;
    CHECK(sc_fault_add(&fault, op, 1 + (how >> 3) % 8, 1, err, 0) == 0);
    return err;
}

/* Ends the input: everything closed, nothing left open in memnet. */
static void finish(sc_server_t *srv, sc_sock_t c1, sc_sock_t c2, const sc_sys_t *old)
{
    const sc_sys_t *sys = &fault.sys;
    if (c1 != SC_INVALID_SOCK)
        sys->close(sys->ctx, c1);
    if (c2 != SC_INVALID_SOCK)
        sys->close(sys->ctx, c2);
    sc_server_destroy(srv);
    CHECK(sc_memnet_open_count(net) == 0);
    sc_sys_install(old);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t opts = 0, more = 0, fault_op = 0, fault_how = 0, repeat = 0;
    size_t sched_len = 0;
    if (size > TRAILER) {
        const uint8_t *t = data + size - TRAILER;
        opts = t[0], more = t[1], fault_op = t[2], fault_how = t[3], repeat = t[5];
        sched_len = t[4];
        size -= TRAILER;
        if (sched_len > size)
            sched_len = size;
    }
    size_t pay_len = size - sched_len;
    if (pay_len == 0)
        return 0;

    if (!net)
        LLVMFuzzerInitialize(NULL, NULL);
    sc_memnet_reset(net);
    sc_memnet_set_limits(net, queue_limits[(opts >> 3) & 3], 0);
    sc_fault_init(&fault, sc_memnet_sys(net));
    int err = add_fault(fault_op, fault_how);
    const sc_sys_t *sys = &fault.sys;
    /* The library's free functions (getsockname of the listener, the
     * client) use the installed table: the same one as the server. */
    const sc_sys_t *old = sc_sys_install(sys);

    sc_server_opts_t o;
    sc_server_opts_init(&o);
    o.listen[0] = (opts & 1) ? "[::1]:0" : "127.0.0.1:0";
    o.nlisten = 1;
    o.tcp = 1;
    o.buffer = server_buffers[(opts >> 1) & 3];
    o.max_conns = (more & 0x20) ? 1 : 0;
    o.sys = sys;
    sc_server_t *srv = NULL;
    char text[160];
    int rc = sc_server_create(&srv, &o, text, sizeof(text));
    if (rc < 0) {
        CHECK(faults_injected() == 1 && rc == err && text[0] != '\0');
        CHECK(sc_memnet_open_count(net) == 0);
        sc_sys_install(old);
        return 0;
    }

    sc_addr_t addr;
    CHECK(sc_server_listener(srv, 0, &addr, NULL) == 0);
    struct exchange x = {.sys = sys, .s = SC_INVALID_SOCK, .pay = data, .pay_len = pay_len,
                         .total = pay_len * (1 + repeat % MAX_REPEAT), .half_close = (opts >> 5) & 1};
    sc_sock_t extra = SC_INVALID_SOCK;
    rc = sc_client_connect_addr(&addr, SOCK_STREAM, SC_NONBLOCK, 0, &x.s);
    if (rc == 0 && (more & 0x20))
        rc = sc_client_connect_addr(&addr, SOCK_STREAM, SC_NONBLOCK, 0, &extra);
    if (rc < 0) {
        CHECK(faults_injected() == 1 && rc == err);
        finish(srv, x.s, extra, old);
        return 0;
    }

    /* The schedule starts once connected: it is about the byte stream. */
    sc_memnet_chaos(net, data + pay_len, sched_len);
    int stop = more & 3, stop_step = 2 + 4 * ((more >> 2) & 7);
    size_t max_steps = 64 + 4 * (x.total + sched_len);
    for (size_t steps = 1; !finished(&x); steps++) {
        /* A drain ends at its deadline on the real clock, which virtual
         * time never reaches: past the bound, a drain becomes a stop now
         * (what the deadline does), with a few more steps to take effect. */
        if (steps == max_steps && stop == 1)
            sc_server_stop(srv, SC_STOP_NOW);
        CHECK(steps <= max_steps + (stop == 1 ? 8 : 0));
        client_send(&x);
        if ((int)steps == stop_step && (stop == 1 || stop == 2))
            sc_server_stop(srv, stop == 1 ? SC_STOP_DRAIN : SC_STOP_NOW);
        rc = sc_server_step(srv, 0);
        /* Only an injected fault of the event loop may end the loop. */
        CHECK(rc >= 0 || (faults_injected() == 1 && rc == err));
        if (rc < 0)
            break;
        client_recv(&x);
    }

    sc_memnet_chaos(net, NULL, 0); /* the checks below are no part of the schedule */
    sc_memnet_stats_t ns;
    sc_memnet_stats(net, &ns);
    sc_server_stats_t ss;
    sc_server_stats(srv, &ss);
    int disturbed = ns.resets || faults_injected() || stop == 1 || stop == 2;
    if (!disturbed) {
        CHECK(!x.send_err && !x.recv_err && x.received == x.total);
        CHECK(ss.bytes_in == x.total && ss.bytes_out == x.total);
        if (x.half_close)
            CHECK(x.eof && ss.conns == 0 && ss.buffered == 0);
        if (extra != SC_INVALID_SOCK) {
            /* Straight to memnet: the check is no call of the schedule. */
            const sc_sys_t *mn = sc_memnet_sys(net);
            uint8_t b;
            CHECK(ss.refused_max_conns == 1 && mn->recv(mn->ctx, extra, &b, 1, 0) == 0);
        }
    }
    finish(srv, x.s, extra, old);
    return 0;
}
