/* The reference server's own behaviour: limits, backpressure, idle
 * timeout, half-close, drain, errors at start-up and during accept. The
 * server is stepped on the test's thread (sc_server_step), so that every
 * test is deterministic and reads the server's counters without races. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "sockcheck/fault.h"
#include "sockcheck/io.h"
#include "sockcheck/net.h"
#include "sockcheck/server.h"
#include "support.h"

#define STEP_BUDGET 2000 /* server turns a test may spend waiting for a state */

static sc_fault_t fault;

/* The seam: the platform's, or the same through the fault table with
 * epoll refused, so that the poll backend serves the test. */
enum backend { EPOLL, POLL };

static sc_server_t *start(enum backend be, sc_server_opts_t *o)
{
    sc_fault_init(&fault, NULL);
    if (be == POLL)
        sc_fault_add(&fault, SC_OP_EV_CREATE, 0, 0, -ENOSYS, 0);
    o->sys = &fault.sys;
    if (o->nlisten == 0)
        o->listen[o->nlisten++] = "127.0.0.1:0";
    char err[256] = "";
    sc_server_t *srv = NULL;
    cr_assert_eq(sc_server_create(&srv, o, err, sizeof(err)), 0, "%s", err);
    if (be == POLL)
        cr_assert_eq(fault.calls[SC_OP_EV_WAIT], 0);
    return srv;
}

/* The waits of the server's loop: epoll's, or WSAPoll's on Windows,
 * where the EPOLL backend falls back to poll. */
static unsigned long loop_waits(void)
{
#if defined(_WIN32)
    return fault.calls[SC_OP_POLL];
#else
    return fault.calls[SC_OP_EV_WAIT];
#endif
}

static sc_server_t *start_default(enum backend be)
{
    sc_server_opts_t o;
    sc_server_opts_init(&o);
    return start(be, &o);
}

/* The test's own calls survive what a legal stack may do (the selftest's
 * adversarial shims): EINTR before a blocking call, and stream transfers
 * of any length down to one byte. */
#define EINTR_BUDGET 100 /* EINTRs a call may see in a row */

/* connect(2) that survives EINTR. POSIX: an interrupted connect goes on
 * asynchronously, so a second call says EALREADY (still going), EISCONN
 * (done) or the connection's own error; after EALREADY the outcome is
 * SO_ERROR once the socket is writable. Returns 0, or -1 with errno. */
static int connect_retry(int fd, const sc_addr_t *a)
{
    int rc = connect(fd, (const struct sockaddr *)&a->ss, a->len);
    for (int i = 0; rc < 0 && errno == EINTR && i < EINTR_BUDGET; i++)
        rc = connect(fd, (const struct sockaddr *)&a->ss, a->len);
    if (rc < 0 && errno == EISCONN)
        return 0;
    if (rc < 0 && (errno == EALREADY || errno == EINPROGRESS)) {
        int ev = sc_wait(fd, SC_EV_OUT, sc_deadline(SCT_TIMEOUT_MS));
        if (ev < 0) {
            errno = -ev;
            return -1;
        }
        int err = 0;
        socklen_t len = sizeof(err);
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
            return -1;
        if (err != 0) {
            errno = err;
            return -1;
        }
        return 0;
    }
    return rc;
}

/* recv(2) restarted on EINTR: one call's worth of data (or 0 at EOF). */
static ssize_t recv_retry(int fd, void *buf, size_t len, int flags)
{
    ssize_t n = recv(fd, buf, len, flags);
    for (int i = 0; n < 0 && errno == EINTR && i < EINTR_BUDGET; i++)
        n = recv(fd, buf, len, flags);
    return n;
}

/* Sends all len bytes (whatever each call moves) before the deadline. */
static void send_whole(int fd, const void *buf, size_t len)
{
    size_t done = 0;
    int rc = sc_send_all(fd, buf, len, sc_deadline(SCT_TIMEOUT_MS), &done);
    cr_assert_eq(rc, 0, "send: %s after %zu of %zu bytes", sc_strerror(rc), done, len);
    cr_assert_eq(done, len);
}

/* A client connected to the server's TCP port (the connect completes in
 * the kernel's backlog; the server accepts on its next step). */
static int client(sc_server_t *srv, int family)
{
    sc_addr_t a = sct_loopback(family, sc_server_port(srv, SOCK_STREAM, family));
    int s = socket(family, SOCK_STREAM, 0);
    cr_assert_geq(s, 0);
    cr_assert_eq(connect_retry(s, &a), 0, "connect: %s", strerror(errno));
    return s;
}

/* Steps the server until fd is readable (or the budget ends). */
static int step_until_readable(sc_server_t *srv, int fd)
{
    for (int i = 0; i < STEP_BUDGET; i++) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 0) > 0)
            return p.revents;
        cr_assert_geq(sc_server_step(srv, 5), 0);
    }
    cr_assert_fail("fd %d never became readable", fd);
    return 0;
}

static void step_until_conns(sc_server_t *srv, size_t want)
{
    sc_server_stats_t st;
    for (int i = 0; i < STEP_BUDGET; i++) {
        sc_server_stats(srv, &st);
        if (st.conns == want)
            return;
        cr_assert_geq(sc_server_step(srv, 5), 0);
    }
    cr_assert_fail("server holds %zu connections, want %zu", st.conns, want);
}

/* Reads fd, stepping the server, until len bytes came back: exactly the
 * bytes of want, and no more. */
static void expect_echo(sc_server_t *srv, int fd, const char *want, size_t len)
{
    char buf[4096];
    size_t got = 0;
    cr_assert_lt(len, sizeof(buf));
    while (got < len) {
        step_until_readable(srv, fd);
        ssize_t n = recv(fd, buf + got, sizeof(buf) - got, MSG_DONTWAIT);
        cr_assert_gt(n, 0, "recv: %zd %s", n, strerror(errno));
        got += (size_t)n;
    }
    cr_assert_eq(got, len);
    cr_assert_arr_eq(buf, want, len);
}

/* Sends msg and reads the same bytes back, stepping the server. */
static void echo_once(sc_server_t *srv, int fd, const char *msg)
{
    size_t len = strlen(msg);
    send_whole(fd, msg, len);
    expect_echo(srv, fd, msg, len);
}

ParameterizedTestParameters(server, echoes_on_each_backend)
{
    static enum backend be[] = {EPOLL, POLL};
    return cr_make_param_array(enum backend, be, 2);
}

ParameterizedTest(enum backend *be, server, echoes_on_each_backend, .timeout = 20)
{
#if defined(_WIN32)
    if (*be == EPOLL)
        cr_skip_test("no epoll on Windows: the Winsock table has no ev_* and the server polls (WSAPoll)");
#endif
    sc_server_t *srv = start_default(*be);
    int a = client(srv, AF_INET), b = client(srv, AF_INET);
    echo_once(srv, a, "first");
    echo_once(srv, b, "second");
    echo_once(srv, a, "third");
    step_until_conns(srv, 2);
    close(a);
    step_until_conns(srv, 1);
    close(b);
    step_until_conns(srv, 0);
    if (*be == POLL)
        cr_assert_gt(fault.calls[SC_OP_POLL], 0, "the poll backend served the test");
    else
        cr_assert_gt(fault.calls[SC_OP_EV_WAIT], 0, "epoll served the test");
    sc_server_destroy(srv);
}

Test(server, tcp_and_udp_share_the_ephemeral_port, .timeout = 20)
{
    sc_server_opts_t o;
    sc_server_opts_init(&o);
    o.listen[o.nlisten++] = "127.0.0.1:0";
    if (sct_have_ipv6())
        o.listen[o.nlisten++] = "[::1]:0";
    sc_server_t *srv = start(EPOLL, &o);
    uint16_t tcp = sc_server_port(srv, SOCK_STREAM, AF_INET), udp = sc_server_port(srv, SOCK_DGRAM, AF_INET);
    cr_assert_neq(tcp, 0);
    cr_assert_eq(tcp, udp);
    cr_assert_eq(sc_server_nlisteners(srv), sct_have_ipv6() ? 4u : 2u);
    sc_addr_t a;
    int type = 0;
    cr_assert_eq(sc_server_listener(srv, 1, &a, &type), 0);
    cr_assert_eq(type, SOCK_DGRAM);
    cr_assert_eq(sc_server_listener(srv, 99, &a, &type), -EINVAL);
    cr_assert_eq(sc_server_port(srv, SOCK_STREAM, AF_UNIX), 0);
    sc_server_destroy(srv);
}

/* A seam whose recvfrom (or recv_batch) reports every datagram as longer
 * than the buffer, as Linux does with MSG_TRUNC for a datagram that did
 * not fit. */
static sc_sys_t oversize_sys;

static ptrdiff_t oversize_recvfrom(void *ctx, sc_sock_t s, void *buf, size_t len, int flags, struct sockaddr *sa,
                                   sc_socklen_t *salen)
{
    ptrdiff_t n = (sc_sys_platform()->recvfrom)(ctx, s, buf, len, flags, sa, salen);
    return n >= 0 ? (ptrdiff_t)len + 1 : n;
}

static int oversize_recv_batch(void *ctx, sc_sock_t s, sc_dgram_t *v, int n, int flags)
{
    int got = (sc_sys_platform()->recv_batch)(ctx, s, v, n, flags);
    for (int i = 0; i < got; i++)
        v[i].len = v[i].cap + 1;
    return got;
}

/* A datagram the server cannot hold whole is dropped and counted, never
 * echoed cut short: through recvfrom (batch 0) or recv_batch (batch 1). */
static void expect_oversize_dropped(int batch)
{
    sc_server_opts_t o;
    sc_server_opts_init(&o);
    oversize_sys = *sc_sys_platform();
    oversize_sys.recvfrom = oversize_recvfrom;
    oversize_sys.recv_batch = batch ? oversize_recv_batch : NULL;
    if (!batch)
        oversize_sys.send_batch = NULL;
    o.sys = &oversize_sys;
    o.listen[o.nlisten++] = "127.0.0.1:0";
    o.udp = 1;
    char err[256] = "", buf[1000];
    sc_server_t *srv = NULL;
    cr_assert_eq(sc_server_create(&srv, &o, err, sizeof(err)), 0, "%s", err);
    sc_addr_t a = sct_loopback(AF_INET, sc_server_port(srv, SOCK_DGRAM, AF_INET));
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    cr_assert_eq(connect_retry(u, &a), 0);
    memset(buf, 'x', sizeof(buf));
    cr_assert_eq(send(u, buf, sizeof(buf), 0), (ssize_t)sizeof(buf));
    sc_server_stats_t st;
    for (int i = 0; i < STEP_BUDGET; i++) {
        sc_server_stats(srv, &st);
        if (st.datagrams_in == 1)
            break;
        sc_server_step(srv, 5);
    }
    cr_assert_eq(st.datagrams_in, 1, "batch %d", batch);
    cr_assert_eq(st.datagrams_dropped, 1, "batch %d", batch);
    cr_assert_eq(st.datagrams_out, 0);
    cr_assert_eq(recv(u, buf, sizeof(buf), MSG_DONTWAIT), -1, "nothing was echoed");
    cr_assert_eq(errno, EAGAIN);
    close(u);
    sc_server_destroy(srv);
}

Test(server, udp_echoes_and_drops_truncated_datagrams, .timeout = 20)
{
    sc_server_t *srv = start_default(EPOLL);
    sc_addr_t a = sct_loopback(AF_INET, sc_server_port(srv, SOCK_DGRAM, AF_INET));
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    cr_assert_eq(connect_retry(u, &a), 0);
    char buf[2000];
    cr_assert_eq(send(u, "ping", 4, 0), 4);
    step_until_readable(srv, u);
    cr_assert_eq(recv_retry(u, buf, sizeof(buf), 0), 4);
    cr_assert_arr_eq(buf, "ping", 4);
    close(u);
    sc_server_destroy(srv);
    expect_oversize_dropped(0);
    if (sc_sys_platform()->recv_batch)
        expect_oversize_dropped(1);
}

/* Sends `count` datagrams "d0", "d1", ... to the server's UDP port before
 * its first turn; steps it until `want` are counted out; returns the
 * client socket with the echoes queued. */
static int udp_burst(sc_server_t *srv, int count, unsigned long long want)
{
    sc_addr_t a = sct_loopback(AF_INET, sc_server_port(srv, SOCK_DGRAM, AF_INET));
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    cr_assert_eq(connect_retry(u, &a), 0);
    for (int i = 0; i < count; i++) {
        char d[3] = {'d', (char)('0' + i), 0};
        send_whole(u, d, 2);
    }
    sc_server_stats_t st = {0};
    for (int i = 0; i < STEP_BUDGET && st.datagrams_out + st.datagrams_dropped < (unsigned long long)count; i++) {
        sc_server_step(srv, 5);
        sc_server_stats(srv, &st);
    }
    cr_assert_eq(st.datagrams_in, (unsigned long long)count);
    cr_assert_eq(st.datagrams_out, want);
    return u;
}

/* Reads the echoes: `first` .. count-1, in order, then nothing more. */
static void expect_echoes(int u, int first, int count)
{
    for (int i = first; i < count; i++) {
        char d[8];
        struct pollfd p = {.fd = u, .events = POLLIN};
        cr_assert_eq(poll(&p, 1, SCT_TIMEOUT_MS), 1, "echo %d", i);
        cr_assert_eq(recv_retry(u, d, sizeof(d), 0), 2);
        cr_assert(d[0] == 'd' && d[1] == '0' + i, "echo %d: %.2s", i, d);
    }
    char d[8];
    cr_assert_eq(recv(u, d, sizeof(d), MSG_DONTWAIT), -1, "no more echoes");
}

/* A UDP-only server on the platform's seam (through the fault table),
 * which takes and sends datagrams in batches; skips where it has none. */
static sc_server_t *start_udp_batch(void)
{
    if (!sc_sys_platform()->recv_batch)
        cr_skip_test("the platform's seam has no datagram batches (recvmmsg is Linux's)");
    sc_server_opts_t o;
    sc_server_opts_init(&o);
    o.udp = 1;
    return start(EPOLL, &o);
}

Test(server, udp_batch_takes_queued_datagrams_in_one_call, .timeout = 20)
{
    sc_server_t *srv = start_udp_batch();
    int u = udp_burst(srv, 5, 5);
    /* One recv_batch and one send_batch; the kernel may hand over a
     * datagram late (its backlog runs in softirq), which takes a second
     * call. The one-by-one path makes 6 recvfrom calls (the last EAGAIN). */
    cr_assert_leq(fault.calls[SC_OP_RECVFROM], 2, "%lu calls", fault.calls[SC_OP_RECVFROM]);
    cr_assert_leq(fault.calls[SC_OP_SENDTO], 2, "%lu calls", fault.calls[SC_OP_SENDTO]);
    expect_echoes(u, 0, 5);
    close(u);
    sc_server_destroy(srv);
}

Test(server, udp_batch_drops_an_echo_that_fails_and_sends_the_rest, .timeout = 20)
{
    sc_server_t *srv = start_udp_batch();
    /* The first receive is interrupted (tried again), the first send
     * fails as if the socket buffer were full. */
    sc_fault_add(&fault, SC_OP_RECVFROM, 1, 1, -EINTR, 0);
    sc_fault_add(&fault, SC_OP_SENDTO, 1, 1, -EAGAIN, 0);
    int u = udp_burst(srv, 5, 4);
    sc_server_stats_t st;
    sc_server_stats(srv, &st);
    cr_assert_eq(st.datagrams_dropped, 1, "the one whose send failed");
    cr_assert_eq(st.bytes_out, 8);
    cr_assert_eq(fault.injected[SC_OP_RECVFROM], 1);
    expect_echoes(u, 1, 5);
    close(u);
    sc_server_destroy(srv);
}

Test(server, udp_batch_send_cut_short_goes_on_where_it_stopped, .timeout = 20)
{
    sc_server_t *srv = start_udp_batch();
    /* Every send_batch sends at most 2 datagrams, as sendmmsg does when an
     * error stops it part way. */
    sc_fault_add(&fault, SC_OP_SENDTO, 1, 0, 0, 2);
    int u = udp_burst(srv, 5, 5);
    cr_assert_geq(fault.calls[SC_OP_SENDTO], 3);
    expect_echoes(u, 0, 5);
    close(u);
    sc_server_destroy(srv);
}

Test(server, max_conns_closes_the_extra_client, .timeout = 20)
{
    sc_server_opts_t o;
    sc_server_opts_init(&o);
    o.max_conns = 2;
    sc_server_t *srv = start(EPOLL, &o);
    int a = client(srv, AF_INET), b = client(srv, AF_INET);
    step_until_conns(srv, 2);
    int c = client(srv, AF_INET);
    /* The third is accepted and closed at once: it reads EOF. */
    step_until_readable(srv, c);
    char buf[8];
    cr_assert_eq(recv_retry(c, buf, sizeof(buf), 0), 0);
    sc_server_stats_t st;
    sc_server_stats(srv, &st);
    cr_assert_eq(st.refused_max_conns, 1);
    cr_assert_eq(st.conns, 2);
    echo_once(srv, a, "still served");
    echo_once(srv, b, "me too");
    close(a);
    step_until_conns(srv, 1);
    int d = client(srv, AF_INET);
    echo_once(srv, d, "room again");
    sc_server_destroy(srv);
}

Test(server, idle_timeout_closes_silent_clients_only, .timeout = 20)
{
    sc_server_opts_t o;
    sc_server_opts_init(&o);
    o.idle_timeout_ms = 150;
    sc_server_t *srv = start(EPOLL, &o);
    int idle = client(srv, AF_INET);
    step_until_conns(srv, 1);
    int64_t t0 = sc_now_ms();
    step_until_readable(srv, idle);
    char buf[8];
    cr_assert_eq(recv_retry(idle, buf, sizeof(buf), 0), 0, "the idle client reads EOF");
    int64_t waited = sc_now_ms() - t0;
    cr_assert_geq(waited, 100, "closed after %lld ms, before its timeout", (long long)waited);
    sc_server_stats_t st;
    sc_server_stats(srv, &st);
    cr_assert_eq(st.closed_idle, 1);
    cr_assert_eq(st.conns, 0);
    sc_server_destroy(srv);
}

Test(server, half_close_echoes_the_rest_then_eof, .timeout = 20)
{
    sc_server_t *srv = start_default(EPOLL);
    int fd = client(srv, AF_INET);
    static unsigned char out[200000], in[200000];
    for (size_t i = 0; i < sizeof(out); i++)
        out[i] = (unsigned char)(i * 7 + 3);
    size_t sent = 0, got = 0;
    fcntl(fd, F_SETFL, O_NONBLOCK);
    int shut = 0;
    for (int i = 0; i < 20 * STEP_BUDGET && !(shut && got == sizeof(in)); i++) {
        if (sent < sizeof(out)) {
            ssize_t n = send(fd, out + sent, sizeof(out) - sent, 0);
            if (n > 0)
                sent += (size_t)n;
        } else if (!shut) {
            cr_assert_eq(shutdown(fd, SHUT_WR), 0);
            shut = 1;
        }
        ssize_t n = recv(fd, in + got, sizeof(in) - got, 0);
        if (n > 0)
            got += (size_t)n;
        sc_server_step(srv, 1);
    }
    cr_assert_eq(got, sizeof(out));
    cr_assert_arr_eq(in, out, sizeof(out));
    step_until_readable(srv, fd);
    char b;
    cr_assert_eq(recv_retry(fd, &b, 1, 0), 0, "EOF after the echo");
    step_until_conns(srv, 0);
    sc_server_destroy(srv);
}

Test(server, backpressure_bounds_memory_for_a_client_that_does_not_read, .timeout = 30)
{
    sc_server_opts_t o;
    sc_server_opts_init(&o);
    o.buffer = 4096;
    sc_server_t *srv = start(EPOLL, &o);
    /* Small client buffers, set before connect so that the window is
     * small from the start (tcp(7)): the kernel then absorbs little. */
    sc_addr_t a = sct_loopback(AF_INET, sc_server_port(srv, SOCK_STREAM, AF_INET));
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int small = 4096;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
    cr_assert_eq(connect_retry(fd, &a), 0, "connect: %s", strerror(errno));
    fcntl(fd, F_SETFL, O_NONBLOCK);
    static unsigned char out[32 << 20];
    for (size_t i = 0; i < sizeof(out); i++)
        out[i] = (unsigned char)(i ^ (i >> 9));
    size_t sent = 0;
    sc_server_stats_t st;
    /* Push until the client cannot send any more: the server stopped
     * reading. Its buffered bytes never exceed the per-client bound. */
    int stalled = 0;
    for (int i = 0; i < 20 * STEP_BUDGET && stalled < 50; i++) {
        ssize_t n = send(fd, out + sent, sizeof(out) - sent, 0);
        if (n > 0)
            sent += (size_t)n, stalled = 0;
        else
            stalled++;
        sc_server_step(srv, 0);
        sc_server_stats(srv, &st);
        cr_assert_leq(st.buffered, o.buffer, "server holds %zu bytes", st.buffered);
    }
    cr_assert_lt(sent, sizeof(out), "the server must stop reading from a client that does not read");
    /* Now read: everything sent comes back, byte for byte. */
    static unsigned char in[32 << 20];
    size_t got = 0;
    for (int i = 0; i < 50 * STEP_BUDGET && got < sent; i++) {
        ssize_t n = recv(fd, in + got, sizeof(in) - got, 0);
        if (n > 0)
            got += (size_t)n;
        if (sent < sizeof(out)) {
            n = send(fd, out + sent, sizeof(out) - sent, 0);
            if (n > 0)
                sent += (size_t)n;
        }
        sc_server_step(srv, 0);
    }
    cr_assert_eq(got, sent);
    cr_assert_arr_eq(in, out, got);
    sc_server_destroy(srv);
}

ParameterizedTestParameters(server, max_buffered_bounds_what_all_clients_hold)
{
    static enum backend be[] = {EPOLL, POLL};
    return cr_make_param_array(enum backend, be, 2);
}

/* Three clients that do not read (every send of the server fails with
 * EAGAIN), room for one buffer server-wide: once one client's bytes are
 * held (however few: a stack may deliver them a byte at a time), the two
 * others wait unread, out of the loop, and are read and echoed once the
 * held bytes have gone. */
ParameterizedTest(enum backend *be, server, max_buffered_bounds_what_all_clients_hold, .timeout = 20)
{
#if defined(_WIN32)
    if (*be == EPOLL)
        cr_skip_test("no epoll on Windows: the Winsock table has no ev_* and the server polls (WSAPoll)");
#endif
    sc_server_opts_t o;
    sc_server_opts_init(&o);
    o.buffer = 1000;
    o.max_buffered = 1000;
    sc_server_t *srv = start(*be, &o);
    int fd[3];
    static char msg[3][1000];
    for (int k = 0; k < 3; k++) {
        fd[k] = client(srv, AF_INET);
        memset(msg[k], 'a' + k, sizeof(msg[k]));
    }
    step_until_conns(srv, 3);
    cr_assert_eq(sc_fault_add(&fault, SC_OP_SEND, (unsigned)fault.calls[SC_OP_SEND] + 1, 0, -EAGAIN, 0), 0);
    for (int k = 0; k < 3; k++)
        send_whole(fd[k], msg[k], sizeof(msg[k]));
    sc_server_stats_t st;
    for (int i = 0; i < STEP_BUDGET; i++) {
        sc_server_stats(srv, &st);
        if (st.buffered > 0 && st.reads_deferred >= 2)
            break;
        cr_assert_geq(sc_server_step(srv, 5), 0);
    }
    cr_assert_gt(st.buffered, 0, "one client's bytes held");
    cr_assert_geq(st.reads_deferred, 2, "the two others left unread");
    cr_assert_eq(st.bytes_in, st.buffered, "nothing read but the held bytes");
    size_t held = st.buffered;
    for (int i = 0; i < 20; i++)
        cr_assert_geq(sc_server_step(srv, 0), 0);
    sc_server_stats(srv, &st);
    cr_assert_eq(st.bytes_in, held, "still unread: no spinning read of the others");
    sc_fault_reset(&fault); /* the server's sends work again */
    for (int k = 0; k < 3; k++)
        expect_echo(srv, fd[k], msg[k], sizeof(msg[k]));
    sc_server_stats(srv, &st);
    cr_assert_leq(st.buffered_peak, 1000, "never more than max_buffered held");
    cr_assert_eq(st.bytes_in, 3000);
    cr_assert_eq(st.bytes_out, 3000);
    cr_assert_eq(st.buffered, 0);
    for (int k = 0; k < 3; k++)
        close(fd[k]);
    step_until_conns(srv, 0);
    sc_server_destroy(srv);
}

Test(server, drain_echoes_what_was_received_then_stops, .timeout = 20)
{
    sc_server_t *srv = start_default(EPOLL);
    int fd = client(srv, AF_INET);
    step_until_conns(srv, 1);
    send_whole(fd, "last words", 10);
    sc_server_stats_t st;
    for (int i = 0; i < STEP_BUDGET; i++) {
        sc_server_stats(srv, &st);
        if (st.bytes_in == 10)
            break;
        sc_server_step(srv, 5);
    }
    cr_assert_eq(st.bytes_in, 10);
    sc_server_stop(srv, SC_STOP_DRAIN);
    char buf[32];
    size_t got = 0;
    int rc = 1;
    for (int i = 0; i < STEP_BUDGET && got < 10; i++) {
        rc = sc_server_step(srv, 5);
        ssize_t n = recv(fd, buf + got, sizeof(buf) - got, MSG_DONTWAIT);
        if (n > 0)
            got += (size_t)n;
    }
    cr_assert_eq(got, 10);
    cr_assert_arr_eq(buf, "last words", 10);
    /* No new clients during the drain. */
    sc_addr_t a = sct_loopback(AF_INET, sc_server_port(srv, SOCK_STREAM, AF_INET));
    int late = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_eq(connect_retry(late, &a), -1);
    cr_assert_eq(errno, ECONNREFUSED);
    /* The client sees our FIN; when it closes, the server stops. */
    step_until_readable(srv, fd);
    cr_assert_eq(recv_retry(fd, buf, sizeof(buf), 0), 0);
    close(fd);
    for (int i = 0; i < STEP_BUDGET && rc > 0; i++)
        rc = sc_server_step(srv, 5);
    cr_assert_eq(rc, 0, "stopped");
    sc_server_destroy(srv);
}

Test(server, drain_gives_up_at_its_timeout, .timeout = 20)
{
    sc_server_opts_t o;
    sc_server_opts_init(&o);
    o.drain_timeout_ms = 100;
    sc_server_t *srv = start(EPOLL, &o);
    int fd = client(srv, AF_INET);
    step_until_conns(srv, 1);
    (void)fd; /* never closes */
    sc_server_stop(srv, SC_STOP_DRAIN);
    int rc = 1;
    int64_t t0 = sc_now_ms();
    for (int i = 0; i < STEP_BUDGET && rc > 0; i++)
        rc = sc_server_step(srv, 50);
    cr_assert_eq(rc, 0);
    cr_assert_geq(sc_now_ms() - t0, 90);
    sc_server_destroy(srv);
}

Test(server, drain_closes_a_client_whose_fin_cannot_be_sent, .timeout = 20)
{
    /* Found by the echo_stream fuzzer (corpus/echo_stream/regress-drain-
     * with-failing-shutdown): the server ignored a failed shutdown(SHUT_WR)
     * and kept waiting, with the client never told that the echo ended. */
    sc_server_opts_t o;
    sc_server_opts_init(&o);
    o.drain_timeout_ms = 60000; /* the stop must not come from the timeout */
    sc_server_t *srv = start(EPOLL, &o);
    int fd = client(srv, AF_INET);
    step_until_conns(srv, 1);
    sc_fault_add(&fault, SC_OP_SHUTDOWN, fault.calls[SC_OP_SHUTDOWN] + 1, 1, -ENOBUFS, 0);
    sc_server_stop(srv, SC_STOP_DRAIN);
    int rc = 1;
    for (int i = 0; i < STEP_BUDGET && rc > 0; i++)
        rc = sc_server_step(srv, 5);
    cr_assert_eq(rc, 0, "stopped without waiting for the client");
    cr_assert_eq(fault.injected[SC_OP_SHUTDOWN], 1);
    sc_server_stats_t st;
    sc_server_stats(srv, &st);
    cr_assert_eq(st.conns, 0);
    char b;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    cr_assert_eq(poll(&p, 1, SCT_TIMEOUT_MS), 1);
    cr_assert_leq(recv_retry(fd, &b, 1, 0), 0, "the client sees the end");
    close(fd);
    sc_server_destroy(srv);
}

Test(server, stop_now_from_another_thread_ends_run, .timeout = 20)
{
    sc_server_t *srv = sct_server_start(NULL);
    sc_addr_t a = sct_echo_target(srv, SOCK_STREAM, AF_INET);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_eq(connect_retry(fd, &a), 0, "connect: %s", strerror(errno));
    sc_server_stop(srv, SC_STOP_NOW);
    cr_assert_eq(sc_server_join(srv), 0);
    char b;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    cr_assert_eq(poll(&p, 1, SCT_TIMEOUT_MS), 1);
    cr_assert_leq(recv_retry(fd, &b, 1, 0), 0, "the connection was closed");
    cr_assert_eq(sc_server_join(srv), -EINVAL, "no thread left to join");
    sc_server_destroy(srv);
}

/* One echo through a server running on its own thread (sc_server_run),
 * then 300 ms with nothing to do; returns the stats after SC_STOP_NOW. */
static sc_server_stats_t run_one_echo_then_idle(int spin_us)
{
    sc_server_opts_t o;
    sc_server_opts_init(&o);
    o.listen[o.nlisten++] = "127.0.0.1:0";
    o.spin_us = spin_us;
    sc_server_t *srv = sct_server_start(&o);
    sc_addr_t a = sct_echo_target(srv, SOCK_STREAM, AF_INET);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_eq(connect_retry(fd, &a), 0, "connect: %s", strerror(errno));
    send_whole(fd, "ping", 4);
    char b[4];
    size_t got = 0;
    int rc = sc_recv_exact(fd, b, sizeof(b), sc_deadline(SCT_TIMEOUT_MS), &got);
    cr_assert_eq(rc, 0, "the echo came back: %s after %zu bytes", sc_strerror(rc), got);
    cr_assert_eq(memcmp(b, "ping", 4), 0);
    /* Idle: nothing may arrive, and the spin window (if any) runs out. */
    struct pollfd p = {.fd = fd, .events = POLLIN};
    cr_assert_eq(poll(&p, 1, 300), 0, "nothing but the echo");
    sc_server_stop(srv, SC_STOP_NOW);
    cr_assert_eq(sc_server_join(srv), 0);
    sc_server_stats_t st;
    sc_server_stats(srv, &st);
    close(fd);
    sc_server_destroy(srv);
    return st;
}

Test(server, spin_polls_after_events_then_sleeps_when_idle, .timeout = 20)
{
    sc_server_stats_t st = run_one_echo_then_idle(20000);
    cr_assert_gt(st.spins, 0, "after the accept and the echo the loop polled without blocking");
    /* The first wait, and at least one after the 20 ms window ran out in
     * the idle 300 ms (a loop that spun on would have made only the first). */
    cr_assert_geq(st.sleeps, 2, "%llu blocking waits, %llu spun", st.sleeps, st.spins);
    cr_assert_eq(st.bytes_out, 4);
}

Test(server, without_spin_every_wait_blocks, .timeout = 20)
{
    sc_server_stats_t st = run_one_echo_then_idle(0);
    cr_assert_eq(st.spins, 0);
    cr_assert_geq(st.sleeps, 3, "the first wait, the accept's, the data's: %llu", st.sleeps);
    cr_assert_eq(st.bytes_out, 4);
}

Test(server, create_reports_malformed_address, .timeout = 10)
{
    sc_server_opts_t o;
    sc_server_opts_init(&o);
    o.listen[o.nlisten++] = "127.0.0.1:notaport";
    char err[256] = "";
    sc_server_t *srv = NULL;
    cr_assert_eq(sc_server_create(&srv, &o, err, sizeof(err)), SC_EPORTRANGE);
    cr_assert_null(srv);
    cr_assert(strstr(err, "address '127.0.0.1:notaport'"), "message: %s", err);
    o.listen[0] = "not-an-address";
    cr_assert_eq(sc_server_create(&srv, &o, err, sizeof(err)), SC_EADDRFORMAT);
}

Test(server, create_reports_port_in_use_and_leaks_nothing, .timeout = 10)
{
    sc_addr_t taken;
    int l = sct_bound(AF_INET, SOCK_STREAM, &taken);
    char text[SC_ADDR_STRLEN], want[300], err[256] = "";
    sc_addr_format((struct sockaddr *)&taken.ss, taken.len, text, sizeof(text));
    sc_server_opts_t o;
    sc_server_opts_init(&o);
    o.listen[o.nlisten++] = "127.0.0.1:0";
    o.listen[o.nlisten++] = text;
    int before = sct_count_fds();
    sc_server_t *srv = NULL;
    cr_assert_eq(sc_server_create(&srv, &o, err, sizeof(err)), -EADDRINUSE);
    snprintf(want, sizeof(want), "bind tcp %s: %s", text, strerror(EADDRINUSE));
    cr_assert_str_eq(err, want);
    if (before >= 0) /* no descriptor count on Windows */
        cr_assert_eq(sct_count_fds(), before, "every socket opened was closed");
    close(l);
}

Test(server, create_reports_failing_call, .timeout = 10)
{
    sc_server_opts_t o;
    sc_server_opts_init(&o);
    sc_fault_init(&fault, NULL);
    sc_fault_add(&fault, SC_OP_SOCKET, 1, 1, -EMFILE, 0);
    o.sys = &fault.sys;
    o.listen[o.nlisten++] = "127.0.0.1:0";
    char err[256] = "";
    sc_server_t *srv = NULL;
    cr_assert_eq(sc_server_create(&srv, &o, err, sizeof(err)), -EMFILE);
    cr_assert(strstr(err, "socket tcp 127.0.0.1:0: "), "message: %s", err);
    sc_fault_reset(&fault);
    sc_fault_add(&fault, SC_OP_SOCKETPAIR, 1, 1, -ENFILE, 0);
    cr_assert_eq(sc_server_create(&srv, &o, err, sizeof(err)), -ENFILE);
    cr_assert(strstr(err, "socketpair"), "message: %s", err);
    sc_fault_reset(&fault);
    sc_fault_add(&fault, SC_OP_LISTEN, 1, 1, -EOPNOTSUPP, 0);
    cr_assert_eq(sc_server_create(&srv, &o, err, sizeof(err)), -EOPNOTSUPP);
    cr_assert(strstr(err, "listen 127.0.0.1:0"), "message: %s", err);
    /* The bound address is read through the server's own table too, not
     * the installed one. */
    sc_fault_reset(&fault);
    sc_fault_add(&fault, SC_OP_GETSOCKNAME, 1, 1, -ENOBUFS, 0);
    cr_assert_eq(sc_server_create(&srv, &o, err, sizeof(err)), -ENOBUFS);
    cr_assert(strstr(err, "getsockname 127.0.0.1:0"), "message: %s", err);
}

Test(server, accept_emfile_neither_kills_nor_spins, .timeout = 20)
{
    sc_server_t *srv = start_default(EPOLL);
    int a = client(srv, AF_INET);
    step_until_conns(srv, 1);
    /* The next 3 accepts fail as if the fd table were full. */
    sc_fault_add(&fault, SC_OP_ACCEPT, fault.calls[SC_OP_ACCEPT] + 1, 3, -EMFILE, 0);
    int b = client(srv, AF_INET);
    unsigned long waits0 = loop_waits();
    echo_once(srv, a, "existing client still served");
    echo_once(srv, b, "accepted once fds free up");
    sc_server_stats_t st;
    sc_server_stats(srv, &st);
    cr_assert_eq(st.accept_errors, 3);
    cr_assert_eq(st.conns, 2);
    /* Each failure pauses accepting (10, 20, 40 ms): a spinning server
     * would have made thousands of loop turns by now. */
    cr_assert_lt(loop_waits() - waits0, 200, "%lu turns", loop_waits() - waits0);
    sc_server_destroy(srv);
}

Test(server, accept_survives_a_real_full_fd_table, .timeout = 30)
{
#if defined(_WIN32)
    cr_skip_test("Windows has no descriptor limit to lower: no setrlimit, sockets are handles");
#endif
    sc_server_t *srv = start_default(EPOLL);
    int a = client(srv, AF_INET);
    step_until_conns(srv, 1);
    /* Fill the table: lower the limit to a few above what is open. */
    int open_now = sct_count_fds();
    struct rlimit rl = {.rlim_cur = (rlim_t)open_now + 8, .rlim_max = RLIM_INFINITY};
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = (rlim_t)open_now + 8;
    cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
    int spare[16], nspare = 0;
    for (; nspare < 16; nspare++)
        if ((spare[nspare] = open("/dev/null", O_RDONLY)) < 0)
            break;
    /* One slot left for the client; the server's accept gets EMFILE. */
    close(spare[--nspare]);
    int b = client(srv, AF_INET);
    sc_server_stats_t st;
    for (int i = 0; i < STEP_BUDGET; i++) {
        sc_server_stats(srv, &st);
        if (st.accept_errors > 0)
            break;
        sc_server_step(srv, 5);
    }
    cr_assert_gt(st.accept_errors, 0, "accept hit EMFILE");
    echo_once(srv, a, "served while the table is full");
    while (nspare > 0)
        close(spare[--nspare]);
    echo_once(srv, b, "accepted after fds came free");
    sc_server_destroy(srv);
}

Test(server, peer_reset_mid_stream_closes_only_that_client, .timeout = 20)
{
    sc_server_t *srv = start_default(EPOLL);
    int a = client(srv, AF_INET), b = client(srv, AF_INET);
    step_until_conns(srv, 2);
    static char junk[1 << 20];
    fcntl(b, F_SETFL, O_NONBLOCK);
    for (int i = 0; i < 50; i++) {
        send(b, junk, sizeof(junk), 0);
        sc_server_step(srv, 0);
    }
    struct linger lg = {.l_onoff = 1, .l_linger = 0};
    setsockopt(b, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
    close(b); /* RST */
    step_until_conns(srv, 1);
    echo_once(srv, a, "unaffected");
    sc_server_destroy(srv);
}

Test(server, v6_and_dual_stack_listeners, .timeout = 20)
{
    if (!sct_have_ipv6())
        cr_skip_test("no IPv6 loopback (::1) on this machine");
    sc_server_opts_t o;
    sc_server_opts_init(&o);
    o.listen[o.nlisten++] = "[::]:0";
    o.v6only = 0;
    o.tcp = 1;
    sc_server_t *srv = start(EPOLL, &o);
    /* IPV6_V6ONLY off: an IPv4 client reaches the IPv6 wildcard listener
     * as ::ffff:127.0.0.1 (ipv6(7)). */
    sc_addr_t a = sct_loopback(AF_INET, sc_server_port(srv, SOCK_STREAM, AF_INET6));
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_eq(connect_retry(fd, &a), 0, "connect: %s", strerror(errno));
    echo_once(srv, fd, "mapped");
    cr_assert_eq(sc_server_port(srv, SOCK_DGRAM, AF_UNSPEC), 0, "--tcp only: no UDP listener");
    sc_server_destroy(srv);
}
