/* Conformance of dual-stack AF_INET6 sockets: what [::] reserves with and
 * without IPV6_V6ONLY, who accepts whom, names of v4-mapped UDP sockets,
 * family mismatches, rebinding and the V6ONLY default (matrix rows
 * DS-01..DS-08). Wildcard binds run in a private network namespace. */
#include "support.h"
#include "common.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* An AF_INET6 or AF_INET address from text and port. */
static sc_addr_t addr_of(const char *text, uint16_t port)
{
    sc_addr_t a;
    memset(&a, 0, sizeof(a));
    if (strchr(text, ':')) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&a.ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(port);
        cr_assert_eq(inet_pton(AF_INET6, text, &s6->sin6_addr), 1, "bad address %s", text);
        a.len = sizeof(*s6);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&a.ss;
        s4->sin_family = AF_INET;
        s4->sin_port = htons(port);
        cr_assert_eq(inet_pton(AF_INET, text, &s4->sin_addr), 1, "bad address %s", text);
        a.len = sizeof(*s4);
    }
    return a;
}

/* An AF_INET6 socket of type bound to [::]:0 with IPV6_V6ONLY v6only. */
static int v6_any(int type, int v6only, sc_addr_t *out)
{
    int s = api_socket(AF_INET6, type);
    api_set_int(s, IPPROTO_IPV6, IPV6_V6ONLY, v6only);
    sc_addr_t any = addr_of("::", 0);
    cr_assert_eq(api_bind_addr(s, &any), 0, "bind [::]: %s", strerror(errno));
    *out = api_name_of(s);
    return s;
}

struct reserve_case {
    int type;
    int listening;
};

ParameterizedTestParameters(dualstack, v6_any_reserves_every_address_of_its_port)
{
    static struct reserve_case cases[] = {{SOCK_STREAM, 0}, {SOCK_STREAM, 1}, {SOCK_DGRAM, 0}};
    return cr_make_param_array(struct reserve_case, cases, 3);
}

ParameterizedTest(struct reserve_case *c, dualstack, v6_any_reserves_every_address_of_its_port,
                  .description = "DS-01", .timeout = 10)
{
    api_enter_private_netns();
    sc_addr_t a;
    int s = v6_any(c->type, 0, &a);
    if (c->listening)
        cr_assert_eq(listen(s, 4), 0, "listen: %s", strerror(errno));
    static const char *const others[] = {"0.0.0.0", "127.0.0.1", "::1", "::ffff:127.0.0.1"};
    for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
        sc_addr_t o = addr_of(others[i], api_port_of(&a));
        int t = api_socket(o.ss.ss_family, c->type);
        errno = 0;
        int rc = api_bind_addr(t, &o);
        int err = errno;
        close(t);
        cr_assert_eq(rc, -1, "%s %s bind to %s succeeded", api_type_name(c->type),
                     c->listening ? "listening" : "bound", others[i]);
        cr_assert_eq(err, EADDRINUSE, "%s: errno %d (%s)", others[i], err, strerror(err));
    }
    close(s);
}

ParameterizedTestParameters(dualstack, v6only_any_leaves_ipv4_free)
{
    static int types[] = {SOCK_STREAM, SOCK_DGRAM};
    return cr_make_param_array(int, types, 2);
}

/* man ipv6(7) IPV6_V6ONLY: the socket then holds only IPv6 addresses. */
ParameterizedTest(int *type, dualstack, v6only_any_leaves_ipv4_free, .description = "DS-02", .timeout = 10)
{
    api_enter_private_netns();
    sc_addr_t a;
    int s = v6_any(*type, 1, &a);
    static const char *const v4[] = {"0.0.0.0", "127.0.0.1", "::ffff:127.0.0.1"};
    for (size_t i = 0; i < sizeof(v4) / sizeof(v4[0]); i++) {
        sc_addr_t o = addr_of(v4[i], api_port_of(&a));
        int t = api_socket(o.ss.ss_family, *type);
        int rc = api_bind_addr(t, &o);
        int err = errno;
        close(t);
        cr_assert_eq(rc, 0, "%s bind to %s: %s", api_type_name(*type), v4[i], strerror(err));
    }
    sc_addr_t o = addr_of("::1", api_port_of(&a));
    int t = api_socket(AF_INET6, *type);
    errno = 0;
    cr_assert_eq(api_bind_addr(t, &o), -1, "bind to [::1] succeeded");
    cr_assert_eq(errno, EADDRINUSE, "errno %d (%s)", errno, strerror(errno));
    close(t);
    close(s);
}

/* Connects a client of the address's family; returns 0 or the errno. */
static int try_connect(const char *text, uint16_t port)
{
    sc_addr_t a = addr_of(text, port);
    int c = api_socket(a.ss.ss_family, SOCK_STREAM);
    int rc = api_connect_addr(c, &a);
    int err = rc == 0 ? 0 : errno;
    close(c);
    return err;
}

Test(dualstack, v6_any_listener_accepts_v4_and_v6_clients, .description = "DS-03", .timeout = 10)
{
    api_enter_private_netns();
    sc_addr_t a;
    int l = v6_any(SOCK_STREAM, 0, &a);
    cr_assert_eq(listen(l, 8), 0, "listen: %s", strerror(errno));
    static const char *const clients[] = {"127.0.0.1", "::1", "::ffff:127.0.0.1"};
    for (size_t i = 0; i < sizeof(clients) / sizeof(clients[0]); i++) {
        int err = try_connect(clients[i], api_port_of(&a));
        cr_assert_eq(err, 0, "client %s: %s", clients[i], strerror(err));
        close(api_accept_one(l));
    }
    close(l);
}

Test(dualstack, v6_loopback_listener_refuses_v4_clients, .description = "DS-03", .timeout = 10)
{
    api_enter_private_netns();
    int l = api_socket(AF_INET6, SOCK_STREAM);
    sc_addr_t lo = addr_of("::1", 0);
    cr_assert_eq(api_bind_addr(l, &lo), 0, "bind: %s", strerror(errno));
    cr_assert_eq(listen(l, 8), 0, "listen: %s", strerror(errno));
    sc_addr_t a = api_name_of(l);
    cr_assert_eq(try_connect("::1", api_port_of(&a)), 0);
    close(api_accept_one(l));
    cr_assert_eq(try_connect("127.0.0.1", api_port_of(&a)), ECONNREFUSED, "v4 client");
    cr_assert_eq(try_connect("::ffff:127.0.0.1", api_port_of(&a)), ECONNREFUSED, "v4-mapped client");
    close(l);
}

Test(dualstack, v4_listener_refuses_v6_clients_accepts_mapped, .description = "DS-03", .timeout = 10)
{
    api_enter_private_netns();
    sct_require_family(AF_INET6);
    sc_addr_t a;
    int l = sct_bound(AF_INET, SOCK_STREAM, &a);
    cr_assert_eq(try_connect("::1", api_port_of(&a)), ECONNREFUSED, "v6 client");
    cr_assert_eq(try_connect("::ffff:127.0.0.1", api_port_of(&a)), 0, "v4-mapped client");
    close(api_accept_one(l));
    close(l);
}

enum { ORDER_BIND_CONNECT, ORDER_CONNECT, ORDER_SENDTO };

struct names_case {
    int order;
    int mapped; /* peer is IPv4, addressed as ::ffff:127.0.0.1; else ::1 */
};

ParameterizedTestParameters(dualstack, udp_names_are_in6_and_mapped_for_v4)
{
    static struct names_case cases[] = {
        {ORDER_BIND_CONNECT, 1}, {ORDER_CONNECT, 1}, {ORDER_SENDTO, 1},
        {ORDER_BIND_CONNECT, 0}, {ORDER_CONNECT, 0}, {ORDER_SENDTO, 0},
    };
    return cr_make_param_array(struct names_case, cases, 6);
}

/* After bind or connect the local name is the address used, in
 * sockaddr_in6 form; a first sendto binds the unspecified address with a
 * port. The peer name is sockaddr_in6 too, v4-mapped for an IPv4 peer. */
ParameterizedTest(struct names_case *c, dualstack, udp_names_are_in6_and_mapped_for_v4,
                  .description = "DS-04", .timeout = 10)
{
    api_enter_private_netns();
    const char *local = c->mapped ? "::ffff:127.0.0.1" : "::1";
    sc_addr_t pa;
    int peer = sct_bound(c->mapped ? AF_INET : AF_INET6, SOCK_DGRAM, &pa);
    sc_addr_t to = addr_of(local, api_port_of(&pa));
    int s = api_socket(AF_INET6, SOCK_DGRAM);
    api_set_int(s, IPPROTO_IPV6, IPV6_V6ONLY, 0);
    if (c->order == ORDER_BIND_CONNECT) {
        sc_addr_t b = addr_of(local, 0);
        cr_assert_eq(api_bind_addr(s, &b), 0, "bind %s: %s", local, strerror(errno));
    }
    if (c->order == ORDER_SENDTO) {
        cr_assert_eq(sendto(s, "d", 1, 0, (struct sockaddr *)&to.ss, to.len), 1, "sendto: %s",
                     strerror(errno));
    } else {
        cr_assert_eq(api_connect_addr(s, &to), 0, "connect: %s", strerror(errno));
        cr_assert_eq(send(s, "d", 1, 0), 1, "send: %s", strerror(errno));
    }
    sc_addr_t n = api_name_of(s);
    cr_assert_eq(n.ss.ss_family, AF_INET6, "getsockname family %d", n.ss.ss_family);
    cr_assert_neq(api_port_of(&n), 0);
    sc_addr_t want = addr_of(c->order == ORDER_SENDTO ? "::" : local, api_port_of(&n));
    cr_assert(api_same_name(&n, &want), "order %d, %s: unexpected local name", c->order, local);
    struct sockaddr_storage p;
    socklen_t plen = sizeof(p);
    if (c->order == ORDER_SENDTO) {
        errno = 0;
        cr_assert_eq(getpeername(s, (struct sockaddr *)&p, &plen), -1);
        cr_assert_eq(errno, ENOTCONN);
    } else {
        cr_assert_eq(getpeername(s, (struct sockaddr *)&p, &plen), 0, "getpeername: %s", strerror(errno));
        cr_assert_eq(plen, to.len);
        cr_assert_eq(memcmp(&p, &to.ss, to.len), 0, "peer name is not %s in sockaddr_in6 form", local);
    }
    cr_assert(api_wait_events(peer, POLLIN, SCT_TIMEOUT_MS) & POLLIN, "peer got nothing");
    close(s);
    close(peer);
}

/* An AF_INET6 socket that takes IPv4-mapped addresses: what Linux gives
 * by default (net.ipv6.bindv6only 0). Windows makes IPv6 sockets
 * IPv6-only until IPV6_V6ONLY is cleared before bind (Dual-Stack Sockets
 * for IPv6 Winsock Applications). */
static int dual_socket(int type)
{
    int s = api_socket(AF_INET6, type);
#if defined(_WIN32)
    api_set_int(s, IPPROTO_IPV6, IPV6_V6ONLY, 0);
#endif
    return s;
}

enum { VIA_TCP_CONNECT, VIA_UDP_CONNECT, VIA_UDP_SENDTO };

/* Tries to reach to from a socket bound to local; returns 0 or errno. */
static int try_reach(int via, const char *local, const sc_addr_t *to)
{
    int s = dual_socket(via == VIA_TCP_CONNECT ? SOCK_STREAM : SOCK_DGRAM);
    sc_addr_t b = addr_of(local, 0);
    cr_assert_eq(api_bind_addr(s, &b), 0, "bind %s: %s", local, strerror(errno));
    int rc;
    if (via == VIA_UDP_SENDTO)
        rc = sendto(s, "x", 1, 0, (const struct sockaddr *)&to->ss, to->len) == 1 ? 0 : -1;
    else
        rc = api_connect_addr(s, to);
    int err = rc == 0 ? 0 : errno;
    close(s);
    return err;
}

static int vias[] = {VIA_TCP_CONNECT, VIA_UDP_CONNECT, VIA_UDP_SENDTO};

ParameterizedTestParameters(dualstack, v6_bound_socket_cannot_reach_v4_mapped)
{
    return cr_make_param_array(int, vias, 3);
}

/* Binding a non-mapped IPv6 address makes the socket IPv6-only
 * (net/ipv6/af_inet6.c __inet6_bind), so a v4-mapped destination is
 * unreachable. The destination is a live IPv4 listener or socket. */
ParameterizedTest(int *via, dualstack, v6_bound_socket_cannot_reach_v4_mapped, .description = "DS-05",
                  .timeout = 10)
{
#if defined(_WIN32)
    cr_skip_test("the result is Linux's (net/ipv6/af_inet6.c); Windows documents none");
#endif
    sct_require_family(AF_INET6);
    sc_addr_t a;
    int t = sct_bound(AF_INET, *via == VIA_TCP_CONNECT ? SOCK_STREAM : SOCK_DGRAM, &a);
    sc_addr_t to = addr_of("::ffff:127.0.0.1", api_port_of(&a));
    int err = try_reach(*via, "::1", &to);
    cr_assert_eq(err, ENETUNREACH, "via %d: errno %d (%s)", *via, err, strerror(err));
    close(t);
}

ParameterizedTestParameters(dualstack, v4_mapped_bound_socket_cannot_reach_v6)
{
    return cr_make_param_array(int, vias, 3);
}

ParameterizedTest(int *via, dualstack, v4_mapped_bound_socket_cannot_reach_v6, .description = "DS-06",
                  .timeout = 10)
{
#if defined(_WIN32)
    cr_skip_test("the result is Linux's (net/ipv6/af_inet6.c); Windows documents none");
#endif
    sc_addr_t a;
    int t = sct_bound(AF_INET6, *via == VIA_TCP_CONNECT ? SOCK_STREAM : SOCK_DGRAM, &a);
    int err = try_reach(*via, "::ffff:127.0.0.1", &a);
    cr_assert_eq(err, EAFNOSUPPORT, "via %d: errno %d (%s)", *via, err, strerror(err));
    close(t);
}

struct rebind_case {
    int type;
    char first[20];
    char second[20];
};

ParameterizedTestParameters(dualstack, second_bind_einval)
{
    static struct rebind_case cases[] = {
        {SOCK_STREAM, "::ffff:127.0.0.1", "::1"},
        {SOCK_STREAM, "::1", "::ffff:127.0.0.1"},
        {SOCK_DGRAM, "::ffff:127.0.0.1", "::1"},
        {SOCK_DGRAM, "::1", "::ffff:127.0.0.1"},
    };
    return cr_make_param_array(struct rebind_case, cases, 4);
}

ParameterizedTest(struct rebind_case *c, dualstack, second_bind_einval, .description = "DS-07", .timeout = 10)
{
    int s = dual_socket(c->type);
    sc_addr_t b1 = addr_of(c->first, 0), b2 = addr_of(c->second, 0);
    cr_assert_eq(api_bind_addr(s, &b1), 0, "bind %s: %s", c->first, strerror(errno));
    sc_addr_t before = api_name_of(s);
    errno = 0;
    cr_assert_eq(api_bind_addr(s, &b2), -1, "second bind to %s succeeded", c->second);
    cr_assert_eq(errno, EINVAL, "errno %d (%s)", errno, strerror(errno));
    sc_addr_t after = api_name_of(s);
    cr_assert(api_same_name(&before, &after), "name changed");
    close(s);
}

/* man ipv6(7): the default comes from net.ipv6.bindv6only. Windows: on
 * (IPPROTO_IPV6 socket options, IPV6_V6ONLY; Dual-Stack Sockets for IPv6
 * Winsock Applications). */
Test(dualstack, v6only_default_follows_bindv6only, .description = "DS-08", .timeout = 10)
{
#if defined(_WIN32)
    int sysctl = 1;
#else
    int sysctl = api_read_proc("/proc/sys/net/ipv6/bindv6only", -1);
    cr_assert_geq(sysctl, 0, "cannot read net.ipv6.bindv6only");
#endif
    int s = api_socket(AF_INET6, SOCK_STREAM);
    cr_assert_eq(api_get_int(s, IPPROTO_IPV6, IPV6_V6ONLY), sysctl, "IPV6_V6ONLY default vs bindv6only %d",
                 sysctl);
    close(s);
}

Test(dualstack, v6only_default_is_0_in_a_fresh_namespace, .description = "DS-08", .timeout = 10)
{
    api_enter_private_netns();
    cr_assert_eq(api_read_proc("/proc/sys/net/ipv6/bindv6only", -1), 0);
    int s = api_socket(AF_INET6, SOCK_DGRAM);
    cr_assert_eq(api_get_int(s, IPPROTO_IPV6, IPV6_V6ONLY), 0);
    close(s);
}
