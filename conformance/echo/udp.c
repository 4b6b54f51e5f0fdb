/* RFC 862 over UDP, black box: each datagram comes back whole, unchanged,
 * to the address it came from. Embedded server or SOCKCHECK_TARGET. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <stdio.h>
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

TestSuite(echo_udp, .init = setup, .fini = teardown, .timeout = 30);

static int connect_udp(int family)
{
    sc_addr_t a = sct_echo_target(srv, SOCK_DGRAM, family);
    sc_sock_t s;
    int rc = sc_client_connect_addr(&a, SOCK_DGRAM, 0, SCT_TIMEOUT_MS, &s);
    cr_assert_eq(rc, 0, "connect: %s", sc_strerror(rc));
    return (int)s;
}

struct dgram_case {
    int family;
    size_t len;
};

ParameterizedTestParameters(echo_udp, echoes_datagram_whole)
{
    static struct dgram_case cases[] = {
        {AF_INET, 0},     {AF_INET, 1},     {AF_INET, 512},  {AF_INET, 1472}, {AF_INET, 8192},
        {AF_INET, 65507}, {AF_INET6, 0},    {AF_INET6, 1},   {AF_INET6, 1452}, {AF_INET6, 9000},
        {AF_INET6, 65507},
    };
    return cr_make_param_array(struct dgram_case, cases, sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct dgram_case *c, echo_udp, echoes_datagram_whole)
{
    int fd = connect_udp(c->family);
    int big = 1 << 20;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
    unsigned char *p = malloc(c->len + 1);
    for (size_t i = 0; i < c->len; i++)
        p[i] = (unsigned char)(i * 31 + c->len);
    sc_echo_result_t r;
    int rc = sc_echo_udp(fd, p, c->len, SCT_TIMEOUT_MS, &r);
    cr_assert_eq(rc, 0, "%zu-byte datagram: %s", c->len, sc_strerror(rc));
    cr_assert_eq(r.received, c->len);
    free(p);
    close(fd);
}

Test(echo_udp, replies_go_to_each_sender)
{
    enum { N = 16, ROUNDS = 8 };
    int fds[N];
    for (int i = 0; i < N; i++)
        fds[i] = connect_udp(AF_INET);
    for (int round = 0; round < ROUNDS; round++) {
        for (int i = 0; i < N; i++) {
            char msg[32];
            int len = snprintf(msg, sizeof(msg), "client %d round %d", i, round);
            cr_assert_eq(send(fds[i], msg, (size_t)len, 0), len);
        }
        for (int i = 0; i < N; i++) {
            char want[32], got[64];
            int len = snprintf(want, sizeof(want), "client %d round %d", i, round);
            ptrdiff_t n = sc_udp_recv(fds[i], got, sizeof(got), NULL, NULL, sc_deadline(SCT_TIMEOUT_MS));
            cr_assert_eq(n, len, "client %d round %d: %s", i, round, n < 0 ? sc_strerror((int)n) : "short");
            cr_assert_arr_eq(got, want, (size_t)len);
        }
    }
    for (int i = 0; i < N; i++)
        close(fds[i]);
}

Test(echo_udp, unconnected_sender_gets_reply_from_the_server_address)
{
    sc_addr_t target = sct_echo_target(srv, SOCK_DGRAM, AF_INET), from;
    sc_addr_t local;
    int fd = sct_bound(AF_INET, SOCK_DGRAM, &local);
    cr_assert_eq(sc_udp_send(fd, "who", 3, &target, sc_deadline(SCT_TIMEOUT_MS)), 0);
    char buf[8];
    cr_assert_eq(sc_udp_recv(fd, buf, sizeof(buf), &from, NULL, sc_deadline(SCT_TIMEOUT_MS)), 3);
    cr_assert(sc_addr_equal(&from, &target), "the reply comes from the address we sent to");
    close(fd);
}
