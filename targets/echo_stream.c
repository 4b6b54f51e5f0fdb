/* Fuzz target echo_stream: the reference server and a client on the
 * in-memory network, driven on one thread; the input chooses the payload,
 * the chunking of every send/recv, errors injected into them (memnet's
 * chaos schedule) and into any one seam call (the fault seam, on top),
 * the server's buffer sizes, a stop (drain or now) and a second client
 * over the connection limit. In "scripted peer" mode (more options bit 6)
 * the client library meets a peer that answers a fuzzer-chosen variant of
 * the payload (a byte changed, cut short or too long; then nothing, EOF
 * or RST), over TCP or (bit 7) UDP. With bit 7 alone, the server's UDP
 * echo runs instead of TCP, for a client on an ordinary port, on a port
 * that answers (7, 19) or on the server's own port (options bits 6-7):
 * the reflection and loop guard must refuse the last two.
 * Target functions: sc_server_create, sc_server_step, sc_server_stop,
 * sc_server_stats, sc_server_destroy (the TCP and UDP paths of server.c,
 * guard.c), sc_udp_send, sc_udp_recv,
 * sc_client_connect_addr, sc_echo_tcp, sc_echo_udp, the fault seam,
 * memnet's stream and datagram sockets.
 * The server's timers run on memnet's virtual clock, one millisecond a
 * turn: the drain deadline, an idle timeout (fault error byte bit 6) and
 * the accept backoff after EMFILE/ENOMEM fire after their turns.
 * Input: payload | schedule | trailer of 6 bytes: options, more options,
 * fault call, fault error, schedule length, payload repeat count (a
 * shorter input is all payload).
 * Oracles (abort on failure):
 *  - every byte echoed equals the byte sent at that offset (a prefix);
 *  - undisturbed (no reset, fault, stop or idle close), everything comes back, EOF
 *    follows a half-close, the server counts as many bytes in as out, and
 *    a client over the limit is accepted and closed at once;
 *  - disturbed, the client still ends: all bytes, EOF or an error;
 *  - a failed sc_server_create or connect returns the injected error;
 *  - the exchange ends within a bounded number of steps (no hang);
 *  - after sc_server_destroy and the clients' close no socket is open;
 *  - scripted peer: sc_echo_tcp / sc_echo_udp return 0 only for an exact
 *    echo, SC_EMISMATCH with the offset of the first wrong byte, and for a
 *    short answer SC_EEOF after EOF or -ETIMEDOUT when nothing more comes
 *    (time is virtual); never success for a wrong or missing byte;
 *  - UDP, undisturbed: each datagram comes back whole from the server's
 *    address or is counted dropped, or (guarded source) none comes back
 *    and each is counted refused. */
#include "sockcheck/client.h"
#include "sockcheck/fault.h"
#include "sockcheck/io.h"
#include "sockcheck/memnet.h"
#include "sockcheck/net.h"
#include "sockcheck/server.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond) ((cond) ? (void)0 : fail(__LINE__, #cond))
#define TRAILER 6
#define MAX_REPEAT 8
#define MAX_PAYLOAD 512 /* bytes of the input used as the payload, before repeating */
#define RECV_CHUNK 8192
#define SCRIPTED 0x40   /* more options: the client against a scripted peer */
#define SCRIPTED_UDP 0x80
#define EXTRA_ANSWER 16 /* a scripted answer may be this much longer than the payload */
#define DRAIN_MS 32     /* the server's drain deadline, in turns */
#define IDLE_MS 16      /* its idle timeout, when fault byte bit 6 asks for one */
#define IDLE_BIT 0x40

/* Server buffer and memnet queue sizes the options byte picks from. */
static const size_t server_buffers[4] = {0, 5, 127, 1500};
static const size_t queue_limits[4] = {0, 3, 61, 1024};
/* Errors the fault byte picks from (an accept failing with EMFILE or
 * ENOMEM makes the server back off: on memnet's clock, in turns). */
static const int fault_errors[8] = {-EINTR, -EAGAIN, -EMFILE, -ENOMEM, -EADDRINUSE, -EACCES, -EBADF, -ECONNABORTED};

static sc_memnet_t *net;
static sc_fault_t fault;
static uint8_t expanded[MAX_PAYLOAD * MAX_REPEAT], answer[MAX_PAYLOAD * MAX_REPEAT + EXTRA_ANSWER];

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
    /* Static: under ASan an 8 KiB stack array costs a shadow memset per call. */
    static uint8_t in[RECV_CHUNK];
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

/* ---- the server's UDP echo ---- */

/* Sends `count` datagrams of the payload from a source of the chosen
 * class and steps the server after each until its echo is back (or, for
 * a source the guard refuses, for as many steps). */
static void udp_exchange(sc_server_t *srv, const sc_sys_t *sys, const uint8_t *pay, size_t len, size_t count,
                         int source, size_t patience)
{
    static const uint16_t answering[2] = {7, 19};
    static uint8_t in[MAX_PAYLOAD + 1];
    sc_addr_t srv_addr, from_addr;
    CHECK(sc_server_listener(srv, 0, &srv_addr, NULL) == 0);
    int v6 = sc_addr_family(&srv_addr) == AF_INET6;
    const char *text = v6 ? "[::1]:0" : source == 3 ? "127.0.0.2:0" : "127.0.0.1:0";
    CHECK(sc_addr_parse(&from_addr, text, strlen(text), 0, 0) == 0);
    if (source == 1 || source == 2)
        sc_addr_set_port(&from_addr, answering[source - 1]);
    else if (source == 3 && !v6)
        sc_addr_set_port(&from_addr, sc_addr_port(&srv_addr)); /* the server's own port */
    int guarded = source == 1 || source == 2 || (source == 3 && !v6);
    sc_sock_t c = sys->socket(sys->ctx, sc_addr_family(&srv_addr), SOCK_DGRAM, 0, SC_NONBLOCK);
    if (c < 0)
        return; /* an injected fault */
    if (sys->bind(sys->ctx, c, (const struct sockaddr *)&from_addr.ss, from_addr.len) < 0) {
        sys->close(sys->ctx, c);
        return;
    }
    size_t echoed = 0;
    for (size_t k = 0; k < count; k++) {
        if (sc_udp_send(c, pay, len, &srv_addr, sc_deadline(0)) < 0)
            break;
        ptrdiff_t n = -ETIMEDOUT;
        for (size_t step = 0; step < patience && n == -ETIMEDOUT; step++) {
            if (sc_server_step(srv, 0) < 0)
                break;
            sc_addr_t from;
            size_t full = 0;
            n = sc_udp_recv(c, in, sizeof(in), &from, &full, sc_deadline(0));
            if (n >= 0) {
                CHECK((size_t)n == len && memcmp(in, pay, len) == 0 && sc_addr_equal(&from, &srv_addr));
                echoed++;
                break;
            }
            /* The server has dealt with every datagram so far and sent no
             * echo that is still on its way: nothing more will come. */
            sc_server_stats_t ss;
            sc_server_stats(srv, &ss);
            if (ss.datagrams_refused + ss.datagrams_dropped + ss.datagrams_out == k + 1 && ss.datagrams_out == echoed)
                break;
        }
    }
    sc_server_stats_t ss;
    sc_server_stats(srv, &ss);
    if (faults_injected() == 0) {
        /* An echo the schedule made fail (EAGAIN) is dropped and counted. */
        CHECK(guarded ? echoed == 0 && ss.datagrams_refused == count : echoed + ss.datagrams_dropped == count);
        CHECK(ss.datagrams_in == count && ss.datagrams_out == echoed);
    }
    CHECK(!guarded || echoed == 0); /* the guard holds even under faults */
    sys->close(sys->ctx, c);
}

/* ---- the client library against a scripted peer ---- */

/* The answer: the payload with byte `flip` changed (none when flip is
 * past it), cut to or grown to `keep` bytes. Returns the offset of its
 * first difference from the payload, or min(keep, total) when the common
 * part is equal. */
static size_t script_answer(size_t total, size_t flip, size_t keep)
{
    for (size_t i = 0; i < keep; i++)
        answer[i] = i < total ? expanded[i] : (uint8_t)(i * 7u);
    if (flip < keep && flip < total)
        answer[flip] ^= 0x5a;
    size_t common = keep < total ? keep : total;
    return flip < common ? flip : common;
}

static sc_addr_t memnet_loopback(sc_sock_t s)
{
    sc_addr_t a;
    CHECK(sc_addr_of_socket(&a, s) == 0);
    return a;
}

/* A TCP peer that writes its whole answer at once, then does nothing
 * (action 0), sends FIN (1), resets (2) or closes (3). */
static void scripted_tcp(size_t total, size_t flip, size_t keep, int action, int v6, const uint8_t *sched,
                         size_t sched_len)
{
    const sc_sys_t *mn = sc_memnet_sys(net);
    sc_addr_t where;
    const char *text = v6 ? "[::1]:0" : "127.0.0.1:0";
    CHECK(sc_addr_parse(&where, text, strlen(text), 0, 0) == 0);
    sc_sock_t l = mn->socket(mn->ctx, sc_addr_family(&where), SOCK_STREAM, 0, 0);
    CHECK(l >= 0 && mn->bind(mn->ctx, l, (const struct sockaddr *)&where.ss, where.len) == 0);
    CHECK(mn->listen(mn->ctx, l, 1) == 0);
    sc_addr_t to = memnet_loopback(l);
    sc_sock_t c = SC_INVALID_SOCK;
    CHECK(sc_client_connect_addr(&to, SOCK_STREAM, 0, 1000, &c) == 0); /* a blocking socket */
    sc_sock_t p = mn->accept(mn->ctx, l, NULL, NULL, 0);
    CHECK(p >= 0);
    size_t d = script_answer(total, flip, keep);
    CHECK(keep == 0 || mn->send(mn->ctx, p, answer, keep, 0) == (ptrdiff_t)keep);
    struct linger rst = {1, 0};
    if (action == 1)
        CHECK(mn->shutdown(mn->ctx, p, SHUT_WR) == 0);
    if (action == 2)
        CHECK(mn->setsockopt(mn->ctx, p, SOL_SOCKET, SO_LINGER, &rst, sizeof(rst)) == 0);
    if (action >= 2) {
        CHECK(mn->close(mn->ctx, p) == 0);
        p = SC_INVALID_SOCK;
    }

    sc_echo_result_t res;
    sc_memnet_chaos(net, sched, sched_len); /* the schedule is about the client's calls */
    int rc = sc_echo_tcp(c, expanded, total, 1000, &res);
    sc_memnet_stats_t ns;
    sc_memnet_stats(net, &ns);
    int exact = keep >= total && d == total;
    size_t common = keep < total ? keep : total;
    CHECK(rc != 0 || exact);          /* never success for a wrong or missing byte */
    CHECK(rc != SC_EMISMATCH || (d < common && res.mismatch_at == d));
    CHECK(res.sent <= total && res.received <= common);
    CHECK(rc == 0 || sc_strerror(rc)[0] != '\0');
    if (!ns.resets && action <= 1) {
        /* Undisturbed: the outcome is exact. A closed peer (2, 3) makes
         * the client's send fail, which may end it first: any error. */
        if (d < common)
            CHECK(rc == SC_EMISMATCH);
        else if (exact)
            CHECK(rc == 0 && res.received == total);
        else
            CHECK(rc == (action == 1 ? SC_EEOF : -ETIMEDOUT));
    }
    CHECK(sc_close(c) == 0);
    if (p != SC_INVALID_SOCK)
        CHECK(mn->close(mn->ctx, p) == 0);
    CHECK(mn->close(mn->ctx, l) == 0);
}

/* A UDP peer whose one answer datagram (or none) is queued before the
 * client asks: sc_echo_udp must tell an exact echo from any other. */
static void scripted_udp(size_t total, size_t flip, size_t keep, int silent, const uint8_t *sched,
                         size_t sched_len)
{
    const sc_sys_t *mn = sc_memnet_sys(net);
    sc_addr_t where;
    CHECK(sc_addr_parse(&where, "127.0.0.1:0", 11, 0, 0) == 0);
    sc_sock_t p = mn->socket(mn->ctx, AF_INET, SOCK_DGRAM, 0, 0);
    CHECK(p >= 0 && mn->bind(mn->ctx, p, (const struct sockaddr *)&where.ss, where.len) == 0);
    sc_addr_t to = memnet_loopback(p);
    sc_sock_t c = SC_INVALID_SOCK;
    CHECK(sc_client_connect_addr(&to, SOCK_DGRAM, SC_NONBLOCK, 1000, &c) == 0);
    sc_addr_t back = memnet_loopback(c);
    size_t d = script_answer(total, flip, keep);
    if (!silent)
        CHECK(mn->sendto(mn->ctx, p, answer, keep, 0, (const struct sockaddr *)&back.ss, back.len) ==
              (ptrdiff_t)keep);
    sc_echo_result_t res;
    sc_memnet_chaos(net, sched, sched_len);
    int rc = sc_echo_udp(c, expanded, total, 1000, &res);
    if (silent)
        CHECK(rc == -ETIMEDOUT); /* a lost datagram, in virtual time at once */
    else if (keep == total && d == total)
        CHECK(rc == 0 && res.received == total);
    else
        CHECK(rc == SC_EMISMATCH && res.mismatch_at == d && res.received == keep);
    CHECK(sc_close(c) == 0);
    CHECK(mn->close(mn->ctx, p) == 0);
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
    if (pay_len > MAX_PAYLOAD)
        pay_len = MAX_PAYLOAD;

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

    if (more & SCRIPTED) {
        /* The fault bytes say how the peer answers; no fault is injected. */
        size_t total = pay_len * (1 + repeat % MAX_REPEAT);
        for (size_t off = 0; off < total; off += pay_len)
            memcpy(expanded + off, data, pay_len);
        size_t flip = (size_t)fault_op * (total + 1) / 256;
        size_t keep = (size_t)(fault_how >> 2) * (total + EXTRA_ANSWER) / 63;
        fault.nrules = 0;
        sc_memnet_set_limits(net, SC_MEMNET_RING_MAX, 0); /* the whole answer fits at once */
        const uint8_t *sched = data + size - sched_len;
        if (more & SCRIPTED_UDP)
            scripted_udp(total, flip, keep, (fault_how & 3) == 3, sched, sched_len);
        else
            scripted_tcp(total, flip, keep, fault_how & 3, opts & 1, sched, sched_len);
        sc_memnet_chaos(net, NULL, 0);
        CHECK(sc_memnet_open_count(net) == 0);
        sc_sys_install(old);
        return 0;
    }

    sc_server_opts_t o;
    sc_server_opts_init(&o);
    o.listen[0] = (opts & 1) ? "[::1]:0" : "127.0.0.1:0";
    o.nlisten = 1;
    int udp = (more & (SCRIPTED | SCRIPTED_UDP)) == SCRIPTED_UDP;
    o.tcp = !udp;
    o.udp = udp;
    o.buffer = server_buffers[(opts >> 1) & 3];
    o.max_conns = (more & 0x20) ? 1 : 0;
    /* Timers run on memnet's clock, one millisecond a turn (below). */
    o.drain_timeout_ms = DRAIN_MS;
    o.idle_timeout_ms = (fault_how & IDLE_BIT) ? IDLE_MS : 0;
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

    if (udp) {
        sc_memnet_chaos(net, data + size - sched_len, sched_len);
        udp_exchange(srv, sys, data, pay_len, 1 + repeat % MAX_REPEAT, opts >> 6, sched_len + 4);
        sc_memnet_chaos(net, NULL, 0);
        finish(srv, SC_INVALID_SOCK, SC_INVALID_SOCK, old);
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
    sc_memnet_chaos(net, data + size - sched_len, sched_len);
    int stop = more & 3, stop_step = 2 + 4 * ((more >> 2) & 7);
    size_t max_steps = 64 + 4 * (x.total + sched_len);
    for (size_t steps = 1; !finished(&x); steps++) {
        /* A drain ends by its deadline: at most DRAIN_MS turns after the
         * stop, well inside the bound. */
        CHECK(steps <= max_steps);
        sc_memnet_advance(net, 1);
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
    int disturbed = ns.resets || faults_injected() || stop == 1 || stop == 2 || ss.closed_idle;
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
