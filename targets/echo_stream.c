/* Fuzz target echo_stream: the reference server and a client on the
 * in-memory network, driven on one thread; the input chooses the payload,
 * the chunking of every send/recv and the errors injected into them.
 * Target functions: sc_server_create, sc_server_step, sc_server_stats,
 * sc_server_destroy (conn_readable/echo/flush/finish in server.c),
 * sc_client_connect_addr, and memnet's stream sockets.
 * Input: payload | schedule | 3 trailer bytes (options, schedule length,
 * payload repeat count); a shorter input is all payload.
 * Oracles (abort on failure):
 *  - every byte echoed equals the byte sent at that offset;
 *  - without an injected reset, everything comes back (and EOF after a
 *    half-close), and the server counts as many bytes in and out;
 *  - after a reset, what came back is a prefix and the client saw the
 *    error (ECONNRESET or EPIPE), never a silent EOF;
 *  - the exchange ends within a bounded number of steps (no hang);
 *  - after sc_server_destroy and the client's close no socket is open. */
#include "sockcheck/client.h"
#include "sockcheck/memnet.h"
#include "sockcheck/server.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond) ((cond) ? (void)0 : abort())
#define TRAILER 3
#define MAX_REPEAT 8
#define RECV_CHUNK 8192

/* Server buffer and memnet queue sizes the options byte picks from. */
static const size_t server_buffers[4] = {0, 5, 127, 1500};
static const size_t queue_limits[4] = {0, 3, 61, 1024};

static sc_memnet_t *net;

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
    size_t pay_len, total;  /* total = pay_len * repeat */
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
    if (x->sent == x->total && x->half_close && !x->shut) {
        CHECK(x->sys->shutdown(x->sys->ctx, x->s, SHUT_WR) == 0);
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

static int finished(const struct exchange *x)
{
    if (x->eof || x->recv_err)
        return 1;
    return !x->half_close && x->received == x->total;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t opts = 0, repeat = 0;
    size_t sched_len = 0;
    if (size > TRAILER) {
        opts = data[size - 3];
        sched_len = data[size - 2];
        repeat = data[size - 1];
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
    const sc_sys_t *sys = sc_memnet_sys(net);
    const sc_sys_t *old = sc_sys_install(sys);

    sc_server_opts_t o;
    sc_server_opts_init(&o);
    o.listen[0] = (opts & 1) ? "[::1]:0" : "127.0.0.1:0";
    o.nlisten = 1;
    o.tcp = 1;
    o.buffer = server_buffers[(opts >> 1) & 3];
    o.sys = sys;
    sc_server_t *srv = NULL;
    CHECK(sc_server_create(&srv, &o, NULL, 0) == 0);

    sc_addr_t addr;
    CHECK(sc_server_listener(srv, 0, &addr, NULL) == 0);
    struct exchange x = {.sys = sys, .pay = data, .pay_len = pay_len,
                         .total = pay_len * (1 + repeat % MAX_REPEAT), .half_close = (opts >> 5) & 1};
    CHECK(sc_client_connect_addr(&addr, SOCK_STREAM, SC_NONBLOCK, 0, &x.s) == 0);

    /* The schedule starts once connected: it is about the byte stream. */
    sc_memnet_chaos(net, data + pay_len, sched_len);
    size_t max_steps = 64 + 4 * (x.total + sched_len);
    size_t steps = 0;
    while (!finished(&x)) {
        CHECK(++steps <= max_steps);
        client_send(&x);
        CHECK(sc_server_step(srv, 0) == 1);
        client_recv(&x);
    }

    sc_memnet_stats_t ns;
    sc_memnet_stats(net, &ns);
    sc_server_stats_t ss;
    sc_server_stats(srv, &ss);
    if (ns.resets == 0) {
        CHECK(!x.send_err && !x.recv_err && x.received == x.total);
        CHECK(ss.bytes_in == x.total && ss.bytes_out == x.total);
        if (x.half_close)
            CHECK(x.eof && ss.conns == 0 && ss.buffered == 0);
    } else {
        CHECK(x.received == x.total || x.send_err || x.recv_err);
    }

    CHECK(sys->close(sys->ctx, x.s) == 0);
    sc_server_destroy(srv);
    CHECK(sc_memnet_open_count(net) == 0);
    sc_sys_install(old);
    return 0;
}
