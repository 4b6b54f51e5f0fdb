/* The UDP echo's reflection and loop guard: answering service ports, its
 * own port, the rate cap, and two servers pointed at each other. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include "guard.h"
#include "sockcheck/server.h"
#include "support.h"

static struct sockaddr_in v4(const char *ip, uint16_t port)
{
    struct sockaddr_in s = {.sin_family = AF_INET, .sin_port = htons(port)};
    inet_pton(AF_INET, ip, &s.sin_addr);
    return s;
}

static int check(struct sc__guard *g, struct sockaddr_in from)
{
    return sc__guard_check(g, (struct sockaddr *)&from, sizeof(from));
}

static struct sc__guard guard;

Test(udp_guard, refuses_ports_that_answer_back)
{
    cr_assert_eq(sc__guard_add_own_port(&guard, 7007), 0);
    cr_assert_eq(sc__guard_add_own_port(&guard, 7008), 0);
    const uint16_t refused[] = {0, 7, 13, 17, 19, 37};
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
        cr_assert_eq(check(&guard, v4("127.0.0.9", refused[i])), SC__GUARD_PORT, "port %u", refused[i]);
    cr_assert_eq(check(&guard, v4("127.0.0.1", 7007)), SC__GUARD_SELF, "its own address and port");
    cr_assert_eq(check(&guard, v4("127.0.0.9", 7008)), SC__GUARD_SELF, "its other listener's port, any address");
    const uint16_t fine[] = {1, 8, 53, 1024, 40000, 65535};
    for (size_t i = 0; i < sizeof(fine) / sizeof(fine[0]); i++)
        cr_assert_eq(check(&guard, v4("127.0.0.9", fine[i])), SC__GUARD_OK, "port %u", fine[i]);
}

Test(udp_guard, own_port_table_is_bounded)
{
    for (unsigned i = 0; i < SC__GUARD_OWN_MAX; i++)
        cr_assert_eq(sc__guard_add_own_port(&guard, (uint16_t)(1000 + i)), 0);
    cr_assert_eq(sc__guard_add_own_port(&guard, 1000), 0, "a port already listed");
    cr_assert_eq(sc__guard_add_own_port(&guard, 5), -ENOSPC);
}

Test(udp_guard, refuses_unknown_family_and_short_address)
{
    struct sockaddr_in from = v4("127.0.0.1", 5000);
    cr_assert_eq(sc__guard_check(&guard, (struct sockaddr *)&from, 8), SC__GUARD_PORT);
    from.sin_family = AF_UNIX;
    cr_assert_eq(sc__guard_check(&guard, (struct sockaddr *)&from, sizeof(from)), SC__GUARD_PORT);
}

Test(udp_guard, caps_non_loopback_sources_by_default)
{
    int ok = 0, capped = 0;
    /* One second's worth at most: the cap is per calendar second, so the
     * count can straddle two windows; it can never exceed twice the rate. */
    for (int i = 0; i < 3 * SC__GUARD_DEFAULT_RATE; i++) {
        int v = check(&guard, v4("192.0.2.1", 5000)); /* TEST-NET-1: never sent to */
        ok += v == SC__GUARD_OK;
        capped += v == SC__GUARD_RATE;
    }
    cr_assert_geq(ok, SC__GUARD_DEFAULT_RATE);
    cr_assert_leq(ok, 2 * SC__GUARD_DEFAULT_RATE);
    cr_assert_eq(ok + capped, 3 * SC__GUARD_DEFAULT_RATE);
    /* Loopback sources are not capped by default. */
    for (int i = 0; i < 3 * SC__GUARD_DEFAULT_RATE; i++)
        cr_assert_eq(check(&guard, v4("127.0.0.1", 5000)), SC__GUARD_OK);
}

Test(udp_guard, explicit_rate_applies_to_every_source)
{
    guard.rate = 5;
    int ok = 0;
    for (int i = 0; i < 100; i++)
        ok += check(&guard, v4("127.0.0.1", 5000)) == SC__GUARD_OK;
    cr_assert(ok >= 5 && ok <= 10, "%d replies", ok);
}

/* Steps both servers until neither has anything to do. */
static void settle(sc_server_t *a, sc_server_t *b)
{
    for (int i = 0; i < 50; i++) {
        sc_server_step(a, 1);
        sc_server_step(b, 1);
    }
}

Test(udp_guard, two_echo_servers_pointed_at_each_other_do_not_loop, .timeout = 20)
{
    /* A on 127.0.0.1:P and B on 127.0.0.2:P. A datagram that reaches A
     * from B's address and port would bounce between them for ever. */
    sc_server_opts_t oa, ob;
    sc_server_opts_init(&oa);
    oa.listen[oa.nlisten++] = "127.0.0.1:0";
    oa.udp = 1;
    char err[256] = "", addr_b[64];
    sc_server_t *a = NULL, *b = NULL;
    cr_assert_eq(sc_server_create(&a, &oa, err, sizeof(err)), 0, "%s", err);
    uint16_t port = sc_server_port(a, SOCK_DGRAM, AF_INET);
    /* The first datagram, sent from what becomes B's address. */
    int t = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in tb = v4("127.0.0.2", port), ta = v4("127.0.0.1", port);
    cr_assert_eq(bind(t, (struct sockaddr *)&tb, sizeof(tb)), 0, "bind 127.0.0.2: %s", strerror(errno));
    cr_assert_eq(sendto(t, "loop?", 5, 0, (struct sockaddr *)&ta, sizeof(ta)), 5);
    close(t);
    snprintf(addr_b, sizeof(addr_b), "127.0.0.2:%u", port);
    sc_server_opts_init(&ob);
    ob.listen[ob.nlisten++] = addr_b;
    ob.udp = 1;
    cr_assert_eq(sc_server_create(&b, &ob, err, sizeof(err)), 0, "%s", err);
    settle(a, b);
    sc_server_stats_t sa, sb;
    sc_server_stats(a, &sa);
    sc_server_stats(b, &sb);
    cr_assert_eq(sa.datagrams_in, 1);
    cr_assert_eq(sa.datagrams_refused, 1, "A refuses a datagram from its own port");
    cr_assert_eq(sa.datagrams_out, 0);
    cr_assert_eq(sb.datagrams_in, 0, "nothing bounced to B");
    sc_server_destroy(a);
    sc_server_destroy(b);
}

Test(udp_guard, one_server_never_echoes_between_its_own_listeners, .timeout = 20)
{
    /* Two UDP listeners of one server: a datagram to the first from the
     * second's port would bounce between them for ever. The test sends it
     * from another address with that port. */
    sc_server_opts_t o;
    sc_server_opts_init(&o);
    o.listen[o.nlisten++] = "127.0.0.1:0";
    o.listen[o.nlisten++] = "127.0.0.2:0";
    o.udp = 1;
    char err[256] = "";
    sc_server_t *s = NULL;
    cr_assert_eq(sc_server_create(&s, &o, err, sizeof(err)), 0, "%s", err);
    sc_addr_t second;
    cr_assert_eq(sc_server_listener(s, 1, &second, NULL), 0);
    uint16_t p1 = sc_server_port(s, SOCK_DGRAM, AF_INET), p2 = sc_addr_port(&second);
    cr_assert_neq(p1, p2);
    int t = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in src = v4("127.0.0.3", p2), dst = v4("127.0.0.1", p1);
    cr_assert_eq(bind(t, (struct sockaddr *)&src, sizeof(src)), 0, "bind 127.0.0.3:%u: %s", p2, strerror(errno));
    cr_assert_eq(sendto(t, "loop?", 5, 0, (struct sockaddr *)&dst, sizeof(dst)), 5);
    sc_server_stats_t st;
    for (int i = 0; i < 200; i++) {
        sc_server_stats(s, &st);
        if (st.datagrams_in >= 1)
            break;
        sc_server_step(s, 5);
    }
    for (int i = 0; i < 20; i++)
        sc_server_step(s, 1);
    sc_server_stats(s, &st);
    cr_assert_eq(st.datagrams_in, 1);
    cr_assert_eq(st.datagrams_refused, 1);
    cr_assert_eq(st.datagrams_out, 0);
    close(t);
    sc_server_destroy(s);
}

Test(udp_guard, server_caps_replies_at_its_rate, .timeout = 20)
{
    sc_server_opts_t o;
    sc_server_opts_init(&o);
    o.listen[o.nlisten++] = "127.0.0.1:0";
    o.udp = 1;
    o.udp_rate = 3;
    char err[256] = "";
    sc_server_t *s = NULL;
    cr_assert_eq(sc_server_create(&s, &o, err, sizeof(err)), 0, "%s", err);
    sc_addr_t to = sct_loopback(AF_INET, sc_server_port(s, SOCK_DGRAM, AF_INET));
    int c = socket(AF_INET, SOCK_DGRAM, 0);
    cr_assert_eq(connect(c, (struct sockaddr *)&to.ss, to.len), 0);
    for (int i = 0; i < 20; i++)
        cr_assert_eq(send(c, "x", 1, 0), 1);
    sc_server_stats_t st;
    for (int i = 0; i < 200; i++) {
        sc_server_stats(s, &st);
        if (st.datagrams_in == 20)
            break;
        sc_server_step(s, 5);
    }
    cr_assert_eq(st.datagrams_in, 20);
    cr_assert(st.datagrams_out >= 3 && st.datagrams_out <= 6, "%llu replies", st.datagrams_out);
    cr_assert_eq(st.datagrams_out + st.datagrams_refused, 20);
    close(c);
    sc_server_destroy(s);
}
