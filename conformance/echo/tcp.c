/* RFC 862 over TCP, black box: any echo server must send back every byte
 * it receives, in order, for as long as the client sends, to any number
 * of clients, and close after the client does. Runs against the embedded
 * reference server, or SOCKCHECK_TARGET=host:port (loopback only). */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "sockcheck/client.h"
#include "sockcheck/io.h"
#include "sockcheck/net.h"
#include "support.h"

static sc_server_t *srv;

static void setup(void)
{
    const char *t = getenv("SOCKCHECK_TARGET");
    srv = t && *t ? NULL : sct_server_start(NULL);
}

static void teardown(void)
{
    sct_server_stop(srv);
    srv = NULL;
}

TestSuite(echo_tcp, .init = setup, .fini = teardown, .timeout = 60);

static int connect_to(int family)
{
    sc_addr_t a = sct_echo_target(srv, SOCK_STREAM, family);
    sc_sock_t s;
    int rc = sc_client_connect_addr(&a, SOCK_STREAM, 0, SCT_TIMEOUT_MS, &s);
    cr_assert_eq(rc, 0, "connect: %s", sc_strerror(rc));
    return (int)s;
}

static unsigned char *pattern(size_t len, unsigned seed)
{
    unsigned char *p = malloc(len ? len : 1);
    cr_assert_not_null(p);
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        p[i] = (unsigned char)x;
    }
    return p;
}

struct size_case {
    int family;
    size_t len;
};

ParameterizedTestParameters(echo_tcp, echoes_payload_byte_for_byte)
{
    static struct size_case cases[] = {
        {AF_INET, 0},      {AF_INET, 1},      {AF_INET, 100},    {AF_INET, 1460},    {AF_INET, 65536},
        {AF_INET, 1 << 20}, {AF_INET, 8 << 20}, {AF_INET6, 0},   {AF_INET6, 1},      {AF_INET6, 1500},
        {AF_INET6, 65537}, {AF_INET6, 1 << 20}, {AF_INET6, 8 << 20},
    };
    return cr_make_param_array(struct size_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct size_case *c, echo_tcp, echoes_payload_byte_for_byte)
{
    int fd = connect_to(c->family);
    unsigned char *p = pattern(c->len, (unsigned)c->len);
    sc_echo_result_t r;
    int rc = sc_echo_tcp(fd, p, c->len, 30000, &r);
    cr_assert_eq(rc, 0, "%zu bytes: %s (sent %zu, received %zu, mismatch at %zu)", c->len, sc_strerror(rc), r.sent,
                 r.received, r.mismatch_at);
    cr_assert_eq(r.received, c->len);
    /* The connection stays usable. */
    rc = sc_echo_tcp(fd, "again", 5, SCT_TIMEOUT_MS, &r);
    cr_assert_eq(rc, 0, "%s", sc_strerror(rc));
    free(p);
    close(fd);
}

Test(echo_tcp, many_concurrent_clients_each_get_their_own_bytes)
{
    enum { N = 64, LEN = 32768 };
    int fds[N];
    unsigned char *out[N], in[LEN];
    for (int i = 0; i < N; i++) {
        fds[i] = connect_to(i % 2 && sct_have_ipv6() && !getenv("SOCKCHECK_TARGET") ? AF_INET6 : AF_INET);
        out[i] = pattern(LEN, 1000 + (unsigned)i);
        cr_assert_eq(sc_send_all(fds[i], out[i], LEN, sc_deadline(SCT_TIMEOUT_MS), NULL), 0);
    }
    /* Every client sent before any reads: the server holds them all. */
    for (int i = N - 1; i >= 0; i--) {
        size_t done = 0;
        int rc = sc_recv_exact(fds[i], in, LEN, sc_deadline(SCT_TIMEOUT_MS), &done);
        cr_assert_eq(rc, 0, "client %d: %s after %zu bytes", i, sc_strerror(rc), done);
        cr_assert_arr_eq(in, out[i], LEN, "client %d got another client's bytes", i);
        close(fds[i]);
        free(out[i]);
    }
}

Test(echo_tcp, half_close_gets_the_rest_then_eof)
{
    int fd = connect_to(AF_INET);
    enum { LEN = 300000 };
    unsigned char *out = pattern(LEN, 9), *in = malloc(LEN + 1);
    /* Send everything, then FIN, then read: the server must echo all of
     * it after our FIN and then close (RFC 862: until the client stops). */
    fcntl(fd, F_SETFL, O_NONBLOCK);
    size_t sent = 0, got = 0;
    int64_t deadline = sc_deadline(20000);
    while (got < LEN && sc_remaining_ms(deadline) > 0) {
        if (sent < LEN) {
            ssize_t n = send(fd, out + sent, LEN - sent, MSG_NOSIGNAL);
            if (n > 0 && (sent += (size_t)n) == LEN)
                cr_assert_eq(shutdown(fd, SHUT_WR), 0);
        }
        ssize_t n = sc_recv_some(fd, in + got, LEN + 1 - got, sc_deadline(sent < LEN ? 5 : 1000));
        if (n > 0)
            got += (size_t)n;
        else
            cr_assert(n == -ETIMEDOUT, "recv: %s", sc_strerror((int)n));
    }
    cr_assert_eq(got, LEN);
    cr_assert_arr_eq(in, out, LEN);
    cr_assert_eq(sc_recv_some(fd, in, 1, sc_deadline(SCT_TIMEOUT_MS)), 0, "EOF after the echo");
    free(out);
    free(in);
    close(fd);
}

Test(echo_tcp, slow_reader_loses_nothing)
{
    int fd = connect_to(AF_INET);
    enum { LEN = 4 << 20, SLICE = 997 };
    unsigned char *out = pattern(LEN, 77), *in = malloc(LEN);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    size_t sent = 0, got = 0;
    int64_t deadline = sc_deadline(40000);
    /* Reads small slices only when the socket is not writable: the server
     * meets a client that reads far slower than it writes. */
    while (got < LEN && sc_remaining_ms(deadline) > 0) {
        if (sent < LEN) {
            ssize_t n = send(fd, out + sent, LEN - sent, MSG_NOSIGNAL);
            if (n > 0) {
                sent += (size_t)n;
                continue;
            }
        }
        int ev = sc_wait(fd, SC_EV_IN, sc_deadline(SCT_TIMEOUT_MS));
        cr_assert_gt(ev, 0, "no echo for %d ms after %zu bytes", SCT_TIMEOUT_MS, got);
        ssize_t n = recv(fd, in + got, got + SLICE <= LEN ? SLICE : LEN - got, 0);
        cr_assert_gt(n, 0, "recv: %zd (%s)", n, strerror(errno));
        got += (size_t)n;
    }
    cr_assert_eq(got, LEN);
    cr_assert_arr_eq(in, out, LEN);
    free(out);
    free(in);
    close(fd);
}

Test(echo_tcp, abrupt_reset_does_not_disturb_other_clients)
{
    int keep = connect_to(AF_INET);
    for (int i = 0; i < 20; i++) {
        int fd = connect_to(AF_INET);
        unsigned char *p = pattern(100000, (unsigned)i);
        send(fd, p, 100000, MSG_DONTWAIT | MSG_NOSIGNAL);
        struct linger lg = {.l_onoff = 1, .l_linger = 0};
        cr_assert_eq(setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
        close(fd); /* RST with data in flight both ways */
        free(p);
    }
    sc_echo_result_t r;
    int rc = sc_echo_tcp(keep, "still here", 10, SCT_TIMEOUT_MS, &r);
    cr_assert_eq(rc, 0, "%s", sc_strerror(rc));
    int fresh = connect_to(AF_INET);
    rc = sc_echo_tcp(fresh, "new client", 10, SCT_TIMEOUT_MS, &r);
    cr_assert_eq(rc, 0, "%s", sc_strerror(rc));
    close(keep);
    close(fresh);
}

Test(echo_tcp, idle_clients_do_not_block_an_active_one)
{
    enum { IDLE = 200 };
    int idle[IDLE];
    for (int i = 0; i < IDLE; i++)
        idle[i] = connect_to(AF_INET);
    int fd = connect_to(AF_INET);
    unsigned char *p = pattern(1 << 20, 5);
    sc_echo_result_t r;
    int rc = sc_echo_tcp(fd, p, 1 << 20, 20000, &r);
    cr_assert_eq(rc, 0, "%s", sc_strerror(rc));
    /* The idle ones are still open and still echo. */
    rc = sc_echo_tcp(idle[IDLE / 2], "wake", 4, SCT_TIMEOUT_MS, &r);
    cr_assert_eq(rc, 0, "%s", sc_strerror(rc));
    for (int i = 0; i < IDLE; i++)
        close(idle[i]);
    free(p);
    close(fd);
}

Test(echo_tcp, server_closes_after_client_closes)
{
    int fd = connect_to(AF_INET);
    sc_echo_result_t r;
    cr_assert_eq(sc_echo_tcp(fd, "x", 1, SCT_TIMEOUT_MS, &r), 0);
    cr_assert_eq(shutdown(fd, SHUT_WR), 0);
    char b;
    cr_assert_eq(sc_recv_some(fd, &b, 1, sc_deadline(SCT_TIMEOUT_MS)), 0, "server's FIN follows ours");
    close(fd);
}
