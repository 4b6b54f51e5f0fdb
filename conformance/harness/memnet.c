/* The in-memory network behind the seam: sockets, ports, streams with
 * backpressure, FIN and RST, datagrams with MSG_TRUNC, virtual-time poll,
 * the chaos schedule, reset, and the reference server running on it. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "sockcheck/client.h"
#include "sockcheck/fault.h"
#include "sockcheck/memnet.h"
#include "sockcheck/server.h"

static sc_memnet_t *net;
static const sc_sys_t *sys;

static void setup(void)
{
    cr_assert_eq(sc_memnet_create(&net), 0);
    sys = sc_memnet_sys(net);
}

static void teardown(void)
{
    sc_sys_install(NULL);
    sc_memnet_destroy(net);
}

TestSuite(memnet, .init = setup, .fini = teardown, .timeout = 10);

#define CALL(op, ...) ((sys->op)(sys->ctx, __VA_ARGS__))

static struct sockaddr_in v4(const char *ip, uint16_t port)
{
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    cr_assert_eq(inet_pton(AF_INET, ip, &a.sin_addr), 1);
    return a;
}

static struct sockaddr_in6 v6(const char *ip, uint16_t port)
{
    struct sockaddr_in6 a;
    memset(&a, 0, sizeof(a));
    a.sin6_family = AF_INET6;
    a.sin6_port = htons(port);
    cr_assert_eq(inet_pton(AF_INET6, ip, &a.sin6_addr), 1);
    return a;
}

#define SA(x) ((const struct sockaddr *)&(x))

/* The seam's poll speaks SC_EV_* bits. A handle it does not know is
 * POLLNVAL on POSIX and SC_EV_ERR on Windows, where the Winsock table
 * reports WSAPoll's POLLNVAL so (harness/sys_win.c) and memnet does alike. */
#if defined(_WIN32)
#define EV_NVAL SC_EV_ERR
#else
#define EV_NVAL POLLNVAL
#endif

static uint16_t local_port(sc_sock_t s)
{
    struct sockaddr_in6 a;
    socklen_t len = sizeof(a);
    cr_assert_eq(CALL(getsockname, s, (struct sockaddr *)&a, &len), 0);
    return ntohs(a.sin6_port); /* sin_port and sin6_port share their offset */
}

/* A listener on 127.0.0.1 (ephemeral port) and a client connected to it;
 * *srv is the accepted end. */
static void tcp_pair(sc_sock_t *lst, sc_sock_t *cli, sc_sock_t *srv)
{
    struct sockaddr_in any = v4("127.0.0.1", 0);
    *lst = CALL(socket, AF_INET, SOCK_STREAM, 0, SC_NONBLOCK);
    cr_assert_geq(*lst, SC_MEMNET_HANDLE_BASE);
    cr_assert_eq(CALL(bind, *lst, SA(any), sizeof(any)), 0);
    cr_assert_eq(CALL(listen, *lst, 8), 0);
    struct sockaddr_in to = v4("127.0.0.1", local_port(*lst));
    *cli = CALL(socket, AF_INET, SOCK_STREAM, 0, SC_NONBLOCK);
    cr_assert_eq(CALL(connect, *cli, SA(to), sizeof(to)), 0);
    *srv = CALL(accept, *lst, NULL, NULL, SC_NONBLOCK);
    cr_assert_geq(*srv, SC_MEMNET_HANDLE_BASE);
}

Test(memnet, socket_rejects_bad_arguments)
{
    cr_assert_eq(CALL(socket, AF_UNIX, SOCK_STREAM, 0, 0), -EAFNOSUPPORT);
    cr_assert_eq(CALL(socket, AF_INET, 75, 0, 0), -EINVAL);
    cr_assert_eq(CALL(socket, AF_INET, SOCK_STREAM, IPPROTO_UDP, 0), -EPROTONOSUPPORT);
    cr_assert_eq(CALL(socket, AF_INET6, SOCK_DGRAM, IPPROTO_TCP, 0), -EPROTONOSUPPORT);
    cr_assert_eq(sc_memnet_open_count(net), 0);
}

Test(memnet, socket_emfile_when_table_full)
{
    for (int i = 0; i < SC_MEMNET_MAX_SOCKETS; i++)
        cr_assert_geq(CALL(socket, AF_INET, SOCK_DGRAM, 0, 0), SC_MEMNET_HANDLE_BASE);
    cr_assert_eq(CALL(socket, AF_INET, SOCK_DGRAM, 0, 0), -EMFILE);
    cr_assert_eq(sc_memnet_open_count(net), SC_MEMNET_MAX_SOCKETS);
}

Test(memnet, handle_is_ebadf_after_close_even_when_slot_reused)
{
    sc_sock_t a = CALL(socket, AF_INET, SOCK_STREAM, 0, 0);
    cr_assert_eq(CALL(close, a), 0);
    sc_sock_t b = CALL(socket, AF_INET, SOCK_STREAM, 0, 0);
    cr_assert_neq(a, b);
    cr_assert_eq(CALL(close, a), -EBADF);
    cr_assert_eq(CALL(listen, a, 1), -EBADF);
    cr_assert_eq(CALL(close, 3), -EBADF, "a real descriptor number is not a memnet handle");
    cr_assert_eq(CALL(close, b), 0);
}

Test(memnet, bind_port_zero_gives_ephemeral_ports_in_order)
{
    struct sockaddr_in a = v4("127.0.0.1", 0);
    sc_sock_t s1 = CALL(socket, AF_INET, SOCK_STREAM, 0, 0);
    sc_sock_t s2 = CALL(socket, AF_INET, SOCK_STREAM, 0, 0);
    cr_assert_eq(CALL(bind, s1, SA(a), sizeof(a)), 0);
    cr_assert_eq(CALL(bind, s2, SA(a), sizeof(a)), 0);
    cr_assert_eq(local_port(s1), SC_MEMNET_EPHEMERAL_FIRST);
    cr_assert_eq(local_port(s2), SC_MEMNET_EPHEMERAL_FIRST + 1);
}

Test(memnet, bind_errors_follow_linux)
{
    struct sockaddr_in a = v4("127.0.0.1", 7000), far = v4("10.1.2.3", 7000);
    struct sockaddr_in6 six = v6("::1", 7000);
    sc_sock_t s = CALL(socket, AF_INET, SOCK_STREAM, 0, 0);
    sc_sock_t s6 = CALL(socket, AF_INET6, SOCK_STREAM, 0, 0);
    cr_assert_eq(CALL(bind, s, SA(a), 3), -EINVAL, "BD-08");
    cr_assert_eq(CALL(bind, s, SA(six), sizeof(six)), -EAFNOSUPPORT, "BD-09");
    cr_assert_eq(CALL(bind, s6, SA(a), sizeof(a)), -EINVAL, "BD-10");
    cr_assert_eq(CALL(bind, s, SA(far), sizeof(far)), -EADDRNOTAVAIL, "BD-06");
    cr_assert_eq(CALL(bind, s, NULL, sizeof(a)), -EFAULT);
    cr_assert_eq(CALL(bind, s, SA(a), sizeof(a)), 0);
    cr_assert_eq(CALL(bind, s, SA(a), sizeof(a)), -EINVAL, "BD-03");
}

Test(memnet, bind_same_port_clashes_by_address)
{
    struct sockaddr_in lo = v4("127.0.0.1", 7000), lo2 = v4("127.0.0.2", 7000), any = v4("0.0.0.0", 7000);
    struct sockaddr_in6 any6 = v6("::", 7000);
    sc_sock_t a = CALL(socket, AF_INET, SOCK_STREAM, 0, 0);
    sc_sock_t b = CALL(socket, AF_INET, SOCK_STREAM, 0, 0);
    sc_sock_t c = CALL(socket, AF_INET, SOCK_STREAM, 0, 0);
    sc_sock_t u = CALL(socket, AF_INET, SOCK_DGRAM, 0, 0);
    sc_sock_t d6 = CALL(socket, AF_INET6, SOCK_STREAM, 0, 0);
    cr_assert_eq(CALL(bind, a, SA(lo), sizeof(lo)), 0);
    cr_assert_eq(CALL(bind, b, SA(lo), sizeof(lo)), -EADDRINUSE, "BD-02");
    cr_assert_eq(CALL(bind, b, SA(any), sizeof(any)), -EADDRINUSE, "a wildcard covers 127.0.0.1");
    cr_assert_eq(CALL(bind, b, SA(lo2), sizeof(lo2)), 0, "another 127/8 address is free (BD-07)");
    cr_assert_eq(CALL(bind, u, SA(lo), sizeof(lo)), 0, "UDP ports are their own space");
    cr_assert_eq(CALL(bind, d6, SA(any6), sizeof(any6)), -EADDRINUSE, "[::] without V6ONLY covers IPv4 (DS-01)");
    int one = 1;
    cr_assert_eq(CALL(setsockopt, d6, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)), 0);
    cr_assert_eq(CALL(bind, d6, SA(any6), sizeof(any6)), 0, "DS-02");
    cr_assert_eq(CALL(bind, c, SA(any), sizeof(any)), -EADDRINUSE);
}

Test(memnet, listen_autobinds_and_refuses_udp)
{
    sc_sock_t t = CALL(socket, AF_INET, SOCK_STREAM, 0, 0);
    sc_sock_t u = CALL(socket, AF_INET, SOCK_DGRAM, 0, 0);
    cr_assert_eq(CALL(listen, u, 1), -EOPNOTSUPP, "LS-01");
    cr_assert_eq(CALL(listen, t, 1), 0);
    cr_assert_eq(local_port(t), SC_MEMNET_EPHEMERAL_FIRST, "LS-03");
    int v = -1;
    socklen_t len = sizeof(v);
    cr_assert_eq(CALL(getsockopt, t, SOL_SOCKET, SO_ACCEPTCONN, &v, &len), 0);
    cr_assert_eq(v, 1);
}

Test(memnet, connect_refused_without_listener)
{
    struct sockaddr_in to = v4("127.0.0.1", 9), far = v4("192.0.2.1", 9);
    sc_sock_t s = CALL(socket, AF_INET, SOCK_STREAM, 0, 0);
    cr_assert_eq(CALL(connect, s, SA(to), sizeof(to)), -ECONNREFUSED, "CT-01");
    cr_assert_eq(CALL(connect, s, SA(far), sizeof(far)), -ENETUNREACH);
    cr_assert_eq(CALL(connect, s, SA(to), 3), -EINVAL, "CT-11");
}

Test(memnet, accept_gives_reciprocal_addresses)
{
    sc_sock_t l, c, a;
    tcp_pair(&l, &c, &a);
    struct sockaddr_in cl, cp, al, ap;
    socklen_t n = sizeof(cl);
    cr_assert_eq(CALL(getsockname, c, (struct sockaddr *)&cl, &n), 0);
    cr_assert_eq(n, sizeof(cl));
    n = sizeof(cp);
    cr_assert_eq(CALL(getpeername, c, (struct sockaddr *)&cp, &n), 0);
    n = sizeof(al);
    cr_assert_eq(CALL(getsockname, a, (struct sockaddr *)&al, &n), 0);
    n = sizeof(ap);
    cr_assert_eq(CALL(getpeername, a, (struct sockaddr *)&ap, &n), 0);
    cr_assert_eq(memcmp(&cl, &ap, sizeof(cl)), 0, "AC-03");
    cr_assert_eq(memcmp(&cp, &al, sizeof(cp)), 0, "AC-03");
    cr_assert_eq(cl.sin_addr.s_addr, htonl(INADDR_LOOPBACK));
    cr_assert_eq(CALL(accept, l, NULL, NULL, 0), -EAGAIN, "AC-07: the queue is empty again");
    cr_assert_eq(CALL(connect, c, (struct sockaddr *)&cp, sizeof(cp)), -EISCONN, "CT-02");
    cr_assert_eq(CALL(accept, c, NULL, NULL, 0), -EINVAL, "AC-04");
}

Test(memnet, accept_fills_address_cut_to_length)
{
    sc_sock_t l = CALL(socket, AF_INET6, SOCK_STREAM, 0, 0);
    cr_assert_eq(CALL(listen, l, 1), 0);
    struct sockaddr_in6 to = v6("::1", local_port(l));
    sc_sock_t c = CALL(socket, AF_INET6, SOCK_STREAM, 0, 0);
    cr_assert_eq(CALL(connect, c, SA(to), sizeof(to)), 0);
    struct sockaddr_in6 peer;
    memset(&peer, 0x55, sizeof(peer));
    socklen_t len = 4;
    cr_assert_geq(CALL(accept, l, (struct sockaddr *)&peer, &len, 0), SC_MEMNET_HANDLE_BASE);
    cr_assert_eq(len, sizeof(struct sockaddr_in6), "AC-09: the full length is reported");
    cr_assert_eq(peer.sin6_family, AF_INET6);
    cr_assert_eq(((unsigned char *)&peer)[4], 0x55, "nothing written past the given length");
}

Test(memnet, stream_moves_bytes_and_applies_backpressure)
{
    sc_sock_t l, c, a;
    unsigned char out[100], in[100];
    for (size_t i = 0; i < sizeof(out); i++)
        out[i] = (unsigned char)(i * 7);
    sc_memnet_set_limits(net, 16, 0);
    tcp_pair(&l, &c, &a);
    sc_pollfd_t p = {.fd = (int)c, .events = SC_EV_OUT | SC_EV_IN};
    cr_assert_eq(CALL(poll, &p, 1, -1), 1);
    cr_assert_eq(p.revents, SC_EV_OUT);
    cr_assert_eq(CALL(send, c, out, sizeof(out), 0), 16, "a short write at the queue limit");
    cr_assert_eq(CALL(send, c, out + 16, sizeof(out) - 16, 0), -EAGAIN, "SD-03");
    cr_assert_eq(CALL(poll, &p, 1, -1), 0, "full: neither readable nor writable, and no waiting");
    cr_assert_eq(CALL(recv, a, in, 10, MSG_PEEK), 10, "RV-03");
    cr_assert_eq(CALL(recv, a, in, sizeof(in), 0), 16);
    cr_assert_arr_eq(in, out, 16);
    cr_assert_eq(CALL(recv, a, in, sizeof(in), 0), -EAGAIN, "RV-02");
    cr_assert_eq(CALL(poll, &p, 1, 0), 1);
    cr_assert_eq(p.revents, SC_EV_OUT);
}

Test(memnet, shutdown_wr_sends_fin)
{
    sc_sock_t l, c, a;
    char in[8];
    tcp_pair(&l, &c, &a);
    cr_assert_eq(CALL(send, c, "abc", 3, 0), 3);
    cr_assert_eq(CALL(shutdown, c, SHUT_WR), 0);
    cr_assert_eq(CALL(send, c, "d", 1, 0), -EPIPE, "SD-05");
    cr_assert_eq(CALL(recv, a, in, sizeof(in), 0), 3, "data before the FIN");
    cr_assert_eq(CALL(recv, a, in, sizeof(in), 0), 0, "RV-01");
    cr_assert_eq(CALL(recv, a, in, sizeof(in), 0), 0, "and again");
    cr_assert_eq(CALL(send, a, "xy", 2, 0), 2, "SH-04: the other direction still works");
    cr_assert_eq(CALL(recv, c, in, sizeof(in), 0), 2);
    cr_assert_eq(CALL(shutdown, c, 7), -EINVAL, "SH-01");
}

Test(memnet, close_after_fin_lets_first_send_pass_then_epipe)
{
    sc_sock_t l, c, a;
    char in[8];
    tcp_pair(&l, &c, &a);
    cr_assert_eq(CALL(close, a), 0);
    cr_assert_eq(CALL(recv, c, in, sizeof(in), 0), 0);
    cr_assert_eq(CALL(send, c, "x", 1, 0), 1, "SD-07: the first send is accepted");
    cr_assert_eq(CALL(send, c, "x", 1, 0), -EPIPE, "SD-07");
}

Test(memnet, close_with_unread_data_resets_the_peer)
{
    sc_sock_t l, c, a;
    char in[8];
    tcp_pair(&l, &c, &a);
    cr_assert_eq(CALL(send, a, "queued", 6, 0), 6);
    cr_assert_eq(CALL(send, c, "unread", 6, 0), 6);
    cr_assert_eq(CALL(close, a), 0, "closing with unread data sends RST (CL-01)");
    sc_pollfd_t p = {.fd = (int)c, .events = SC_EV_IN};
    cr_assert_eq(CALL(poll, &p, 1, 0), 1);
    cr_assert_eq(p.revents, SC_EV_IN | SC_EV_HUP | SC_EV_ERR);
    cr_assert_eq(CALL(recv, c, in, sizeof(in), 0), 6, "RV-10: queued data first");
    cr_assert_eq(CALL(recv, c, in, sizeof(in), 0), -ECONNRESET, "RV-10");
    cr_assert_eq(CALL(recv, c, in, sizeof(in), 0), 0, "reported once");
    cr_assert_eq(CALL(send, c, "x", 1, 0), -EPIPE);
    cr_assert_eq(CALL(getpeername, c, (struct sockaddr *)in, &(socklen_t){sizeof(in)}), -ENOTCONN, "GP-04");
}

Test(memnet, closing_listener_resets_queued_connections)
{
    struct sockaddr_in any = v4("127.0.0.1", 0);
    sc_sock_t l = CALL(socket, AF_INET, SOCK_STREAM, 0, 0);
    cr_assert_eq(CALL(bind, l, SA(any), sizeof(any)), 0);
    cr_assert_eq(CALL(listen, l, 0), 0);
    struct sockaddr_in to = v4("127.0.0.1", local_port(l));
    sc_sock_t c1 = CALL(socket, AF_INET, SOCK_STREAM, 0, 0);
    sc_sock_t c2 = CALL(socket, AF_INET, SOCK_STREAM, 0, 0);
    cr_assert_eq(CALL(connect, c1, SA(to), sizeof(to)), 0, "LS-06: backlog 0 still queues one");
    cr_assert_eq(CALL(connect, c2, SA(to), sizeof(to)), -ECONNREFUSED, "queue full");
    cr_assert_eq(sc_memnet_open_count(net), 4, "the queued connection counts");
    cr_assert_eq(CALL(close, l), 0);
    char b;
    cr_assert_eq(CALL(recv, c1, &b, 1, 0), -ECONNRESET, "LS-11");
    cr_assert_eq(sc_memnet_open_count(net), 2);
}

Test(memnet, datagrams_keep_boundaries_and_report_truncation)
{
    struct sockaddr_in a = v4("127.0.0.1", 0);
    sc_sock_t r = CALL(socket, AF_INET, SOCK_DGRAM, 0, 0);
    sc_sock_t s = CALL(socket, AF_INET, SOCK_DGRAM, 0, 0);
    cr_assert_eq(CALL(bind, r, SA(a), sizeof(a)), 0);
    struct sockaddr_in to = v4("127.0.0.1", local_port(r));
    cr_assert_eq(CALL(sendto, s, "0123456789", 10, 0, SA(to), sizeof(to)), 10);
    cr_assert_eq(CALL(sendto, s, "ab", 2, 0, SA(to), sizeof(to)), 2);
    cr_assert_eq(CALL(sendto, s, "", 0, 0, SA(to), sizeof(to)), 0, "SD-17");
    char in[16];
    struct sockaddr_in from;
    socklen_t fl = sizeof(from);
    cr_assert_eq(CALL(recvfrom, r, in, 4, MSG_TRUNC, (struct sockaddr *)&from, &fl), 10, "RV-15");
    cr_assert_arr_eq(in, "0123", 4);
    cr_assert_eq(fl, sizeof(from), "RF-01");
    cr_assert_eq(ntohs(from.sin_port), local_port(s), "ST-03: the sender was bound on the way");
    cr_assert_eq(CALL(recv, r, in, 1, 0), 1, "without MSG_TRUNC: the length copied");
    cr_assert_eq(in[0], 'a');
    cr_assert_eq(CALL(recv, r, in, sizeof(in), 0), 0, "the empty datagram, not EOF");
    cr_assert_eq(CALL(recv, r, in, sizeof(in), 0), -EAGAIN, "RV-13: the rest of each was discarded");
}

Test(memnet, datagram_limits_and_errors)
{
    static char big[SC_MEMNET_DGRAM_MAX + 1];
    struct sockaddr_in a = v4("127.0.0.1", 0);
    sc_sock_t r = CALL(socket, AF_INET, SOCK_DGRAM, 0, 0);
    sc_sock_t s = CALL(socket, AF_INET, SOCK_DGRAM, 0, 0);
    cr_assert_eq(CALL(bind, r, SA(a), sizeof(a)), 0);
    struct sockaddr_in to = v4("127.0.0.1", local_port(r)), zero = v4("127.0.0.1", 0);
    cr_assert_eq(CALL(send, s, "x", 1, 0), -EDESTADDRREQ, "SD-12");
    cr_assert_eq(CALL(sendto, s, big, sizeof(big), 0, SA(to), sizeof(to)), -EMSGSIZE, "SD-10");
    cr_assert_eq(CALL(sendto, s, "x", 1, 0, SA(zero), sizeof(zero)), -EINVAL, "ST-04");
    cr_assert_eq(CALL(sendto, s, big, SC_MEMNET_DGRAM_MAX, 0, SA(to), sizeof(to)), SC_MEMNET_DGRAM_MAX);
    cr_assert_eq(CALL(recv, r, big, sizeof(big), MSG_TRUNC), SC_MEMNET_DGRAM_MAX);
    cr_assert_eq(CALL(accept, r, NULL, NULL, 0), -EOPNOTSUPP, "AC-05");
    cr_assert_eq(CALL(shutdown, r, SHUT_RD), -ENOTCONN, "SH-02");
}

Test(memnet, connected_udp_learns_closed_port_once)
{
    struct sockaddr_in to = v4("127.0.0.1", 9);
    sc_sock_t s = CALL(socket, AF_INET, SOCK_DGRAM, 0, 0);
    cr_assert_eq(CALL(connect, s, SA(to), sizeof(to)), 0);
    cr_assert_eq(CALL(send, s, "x", 1, 0), 1, "CU-07: the first send succeeds");
    sc_pollfd_t p = {.fd = (int)s, .events = SC_EV_IN};
    cr_assert_eq(CALL(poll, &p, 1, 0), 1);
    cr_assert_eq(p.revents, SC_EV_ERR);
    cr_assert_eq(CALL(send, s, "x", 1, 0), -ECONNREFUSED, "CU-07");
    cr_assert_eq(CALL(send, s, "x", 1, 0), 1, "one-shot");
}

Test(memnet, connected_udp_drops_other_senders)
{
    struct sockaddr_in any = v4("127.0.0.1", 0);
    sc_sock_t r = CALL(socket, AF_INET, SOCK_DGRAM, 0, 0);
    sc_sock_t peer = CALL(socket, AF_INET, SOCK_DGRAM, 0, 0);
    sc_sock_t other = CALL(socket, AF_INET, SOCK_DGRAM, 0, 0);
    cr_assert_eq(CALL(bind, r, SA(any), sizeof(any)), 0);
    cr_assert_eq(CALL(bind, peer, SA(any), sizeof(any)), 0);
    struct sockaddr_in to_r = v4("127.0.0.1", local_port(r)), to_p = v4("127.0.0.1", local_port(peer));
    cr_assert_eq(CALL(connect, r, SA(to_p), sizeof(to_p)), 0);
    cr_assert_eq(CALL(sendto, other, "o", 1, 0, SA(to_r), sizeof(to_r)), 1);
    cr_assert_eq(CALL(sendto, peer, "p", 1, 0, SA(to_r), sizeof(to_r)), 1);
    char b = 0;
    cr_assert_eq(CALL(recv, r, &b, 1, 0), 1);
    cr_assert_eq(b, 'p', "CU-01");
    cr_assert_eq(CALL(recv, r, &b, 1, 0), -EAGAIN);
}

Test(memnet, poll_reports_listener_and_invalid_handles_without_waiting)
{
    sc_sock_t l = CALL(socket, AF_INET, SOCK_STREAM, 0, 0);
    cr_assert_eq(CALL(listen, l, 4), 0);
    sc_pollfd_t p[3] = {{.fd = (int)l, .events = SC_EV_IN}, {.fd = 12345, .events = SC_EV_IN}, {.fd = -1, .events = SC_EV_IN}};
    cr_assert_eq(CALL(poll, p, 3, -1), 1, "returns at once although the timeout is infinite");
    cr_assert_eq(p[0].revents, 0);
    cr_assert_eq(p[1].revents, EV_NVAL);
    cr_assert_eq(p[2].revents, 0);
    struct sockaddr_in to = v4("127.0.0.1", local_port(l));
    sc_sock_t c = CALL(socket, AF_INET, SOCK_STREAM, 0, 0);
    cr_assert_eq(CALL(connect, c, SA(to), sizeof(to)), 0);
    cr_assert_eq(CALL(poll, p, 1, 0), 1);
    cr_assert_eq(p[0].revents, SC_EV_IN, "AC-02");
    sc_sock_t fresh = CALL(socket, AF_INET, SOCK_STREAM, 0, 0);
    sc_pollfd_t q = {.fd = (int)fresh, .events = SC_EV_OUT};
    cr_assert_eq(CALL(poll, &q, 1, 0), 1);
    cr_assert_eq(q.revents, SC_EV_OUT | SC_EV_HUP, "an unconnected TCP socket, as on Linux");
}

Test(memnet, socketpair_is_a_connected_stream)
{
    sc_sock_t sv[2];
    char b = 0;
    cr_assert_eq(CALL(socketpair, SOCK_DGRAM, 0, sv), -EOPNOTSUPP);
    cr_assert_eq(CALL(socketpair, SOCK_STREAM, SC_NONBLOCK, sv), 0);
    cr_assert_eq(CALL(send, sv[1], "w", 1, 0), 1);
    cr_assert_eq(CALL(recv, sv[0], &b, 1, 0), 1);
    cr_assert_eq(b, 'w');
    cr_assert_eq(CALL(close, sv[1]), 0);
    cr_assert_eq(CALL(recv, sv[0], &b, 1, 0), 0);
}

Test(memnet, options_accepted_and_checked)
{
    sc_sock_t s4 = CALL(socket, AF_INET, SOCK_STREAM, 0, 0);
    sc_sock_t s6 = CALL(socket, AF_INET6, SOCK_STREAM, 0, 0);
    int one = 1, v = -1;
    socklen_t len = sizeof(v);
    cr_assert_eq(CALL(setsockopt, s4, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)), 0);
    cr_assert_eq(CALL(getsockopt, s4, SOL_SOCKET, SO_REUSEADDR, &v, &len), 0);
    cr_assert_eq(v, 1);
    cr_assert_eq(CALL(setsockopt, s4, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)), 0);
    cr_assert_eq(CALL(setsockopt, s4, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)), -ENOPROTOOPT, "SO-08");
    cr_assert_eq(CALL(setsockopt, s4, SOL_SOCKET, SO_REUSEADDR, &one, 0), -EINVAL, "SO-03");
    cr_assert_eq(CALL(setsockopt, s4, SOL_SOCKET, SO_REUSEADDR, NULL, sizeof(one)), -EFAULT, "SO-02");
    cr_assert_eq(CALL(setsockopt, s4, 500, 1, &one, sizeof(one)), -ENOPROTOOPT, "SO-05");
    cr_assert_eq(CALL(setsockopt, s6, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)), 0);
    cr_assert_eq(CALL(listen, s6, 1), 0);
    cr_assert_eq(CALL(setsockopt, s6, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)), -EINVAL, "fixed after bind");
    len = 1;
    v = 0;
    cr_assert_eq(CALL(getsockopt, s4, SOL_SOCKET, SO_TYPE, &v, &len), 0);
    cr_assert_eq(len, 1, "SO-09: cut silently");
    cr_assert_eq(v, SOCK_STREAM);
    cr_assert_eq(sys->ev_create(sys->ctx), -ENOSYS, "the library falls back to poll");
}

Test(memnet, so_error_reports_a_reset_once)
{
    sc_sock_t l, c, a;
    tcp_pair(&l, &c, &a);
    cr_assert_eq(CALL(send, c, "unread", 6, 0), 6);
    cr_assert_eq(CALL(close, a), 0);
    int v = 0;
    socklen_t len = sizeof(v);
    cr_assert_eq(CALL(getsockopt, c, SOL_SOCKET, SO_ERROR, &v, &len), 0);
    cr_assert_eq(v, ECONNRESET, "SO-10");
    cr_assert_eq(CALL(getsockopt, c, SOL_SOCKET, SO_ERROR, &v, &len), 0);
    cr_assert_eq(v, 0, "SO-10: cleared by reading it");
}

Test(memnet, chaos_chunks_and_injects_errors_in_order)
{
    sc_sock_t l, c, a;
    char in[64];
    tcp_pair(&l, &c, &a);
    static const uint8_t sched[] = {0x02, 0xc0, 0xd0, 0x80, 0xff};
    sc_memnet_chaos(net, sched, sizeof(sched));
    cr_assert_eq(CALL(send, c, "0123456789", 10, 0), 3, "0x02: at most 3 bytes");
    cr_assert_eq(CALL(send, c, "3456789", 7, 0), -EINTR);
    cr_assert_eq(CALL(recv, a, in, sizeof(in), 0), -EAGAIN, "injected although data is queued");
    cr_assert_eq(CALL(recv, a, in, 2, 0), 2, "0x80: 64 bytes allowed, 2 asked");
    cr_assert_eq(CALL(recv, a, in, sizeof(in), 0), 1, "0xff: unchanged");
    cr_assert_eq(CALL(send, c, "3456789", 7, 0), 7, "schedule used up: no more chaos");
    sc_memnet_stats_t st;
    sc_memnet_stats(net, &st);
    cr_assert_eq(st.chaos_used, sizeof(sched));
    cr_assert_eq(st.eintr, 1);
    cr_assert_eq(st.eagain, 1);
    cr_assert_eq(st.capped, 1);
}

Test(memnet, chaos_reset_breaks_both_ends)
{
    sc_sock_t l, c, a;
    char in[8];
    tcp_pair(&l, &c, &a);
    static const uint8_t sched[] = {0xff, 0xe0};
    cr_assert_eq(CALL(send, c, "abc", 3, 0), 3);
    sc_memnet_chaos(net, sched, sizeof(sched));
    cr_assert_eq(CALL(recv, a, in, 1, 0), 1);
    cr_assert_eq(CALL(send, a, "z", 1, 0), -ECONNRESET, "the injected reset");
    cr_assert_eq(CALL(send, c, "d", 1, 0), -ECONNRESET, "the peer learns it on its next call");
    cr_assert_eq(CALL(send, c, "d", 1, 0), -EPIPE);
    cr_assert_eq(CALL(recv, a, in, sizeof(in), 0), 2, "queued data stays readable");
    cr_assert_eq(CALL(recv, a, in, sizeof(in), 0), 0);
    sc_memnet_stats_t st;
    sc_memnet_stats(net, &st);
    cr_assert_eq(st.resets, 1);
}

Test(memnet, chaos_never_cuts_a_datagram)
{
    struct sockaddr_in any = v4("127.0.0.1", 0);
    sc_sock_t r = CALL(socket, AF_INET, SOCK_DGRAM, 0, 0);
    cr_assert_eq(CALL(bind, r, SA(any), sizeof(any)), 0);
    struct sockaddr_in to = v4("127.0.0.1", local_port(r));
    static const uint8_t sched[] = {0x00, 0x00, 0xe0};
    sc_memnet_chaos(net, sched, sizeof(sched));
    cr_assert_eq(CALL(sendto, r, "whole", 5, 0, SA(to), sizeof(to)), 5);
    char in[8];
    cr_assert_eq(CALL(recv, r, in, sizeof(in), 0), 5);
    cr_assert_eq(CALL(recv, r, in, sizeof(in), 0), -EAGAIN, "a reset byte does nothing to UDP");
}

Test(memnet, reset_forgets_everything)
{
    sc_sock_t l, c, a;
    tcp_pair(&l, &c, &a);
    cr_assert_eq(sc_memnet_open_count(net), 3);
    sc_memnet_reset(net);
    cr_assert_eq(sc_memnet_open_count(net), 0);
    cr_assert_eq(CALL(close, c), -EBADF);
    sc_memnet_stats_t st;
    sc_memnet_stats(net, &st);
    cr_assert_eq(st.created, 0);
    sc_sock_t l2, c2, a2;
    tcp_pair(&l2, &c2, &a2);
    cr_assert_eq(l2, l, "handles repeat after a reset: runs are deterministic");
    cr_assert_eq(local_port(l2), SC_MEMNET_EPHEMERAL_FIRST);
}

/* A TCP server on 127.0.0.1 over the given table (memnet, or a fault
 * table over it) and a client connected to it. The client library uses
 * the installed table: memnet is installed too. */
static sc_server_t *memnet_server(sc_server_opts_t *o, const sc_sys_t *table, sc_sock_t *c)
{
    o->listen[0] = "127.0.0.1:0";
    o->nlisten = 1;
    o->tcp = 1;
    o->sys = table;
    sc_sys_install(sys);
    sc_server_t *srv = NULL;
    char err[128] = "";
    cr_assert_eq(sc_server_create(&srv, o, err, sizeof(err)), 0, "%s", err);
    sc_addr_t to;
    cr_assert_eq(sc_addr_parse(&to, "127.0.0.1", 9, sc_server_port(srv, SOCK_STREAM, AF_INET), 0), 0);
    cr_assert_eq(sc_client_connect_addr(&to, SOCK_STREAM, SC_NONBLOCK, 0, c), 0);
    return srv;
}

/* The reference server on memnet, driven step by step on this thread. */
Test(memnet, server_echoes_and_closes_everything)
{
    sc_server_opts_t o;
    sc_server_opts_init(&o);
    sc_sock_t c;
    sc_server_t *srv = memnet_server(&o, sys, &c);
    cr_assert_eq(sc_server_port(srv, SOCK_STREAM, AF_INET), SC_MEMNET_EPHEMERAL_FIRST);
    cr_assert_eq(CALL(send, c, "ping", 4, 0), 4);
    cr_assert_eq(CALL(shutdown, c, SHUT_WR), 0);
    char in[8];
    size_t got = 0;
    int eof = 0;
    for (int step = 0; step < 16 && !eof; step++) {
        cr_assert_eq(sc_server_step(srv, 0), 1);
        ptrdiff_t n = CALL(recv, c, in + got, sizeof(in) - got, 0);
        if (n > 0)
            got += (size_t)n;
        eof = n == 0;
    }
    cr_assert(eof, "the server closes after echoing a half-closed client");
    cr_assert_eq(got, 4);
    cr_assert_arr_eq(in, "ping", 4);
    cr_assert_eq(CALL(close, c), 0);
    sc_server_destroy(srv);
    cr_assert_eq(sc_memnet_open_count(net), 0, "no socket leaked");
}

Test(memnet, linger_zero_close_resets_the_peer)
{
    sc_sock_t l, c, a;
    char in[4];
    tcp_pair(&l, &c, &a);
    struct linger lg = {1, 0};
    cr_assert_eq(CALL(setsockopt, a, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
    cr_assert_eq(CALL(setsockopt, a, SOL_SOCKET, SO_LINGER, &lg, 1), -EINVAL);
    cr_assert_eq(CALL(close, a), 0);
    cr_assert_eq(CALL(recv, c, in, sizeof(in), 0), -ECONNRESET, "CL-02");
}

Test(memnet, v6only_socket_refuses_a_mapped_address)
{
    struct sockaddr_in6 mapped = v6("::ffff:127.0.0.1", 0);
    sc_sock_t s = CALL(socket, AF_INET6, SOCK_STREAM, 0, 0);
    sc_sock_t t = CALL(socket, AF_INET6, SOCK_STREAM, 0, 0);
    int one = 1;
    cr_assert_eq(CALL(setsockopt, s, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)), 0);
    cr_assert_eq(CALL(bind, s, SA(mapped), sizeof(mapped)), -EINVAL);
    cr_assert_eq(CALL(bind, t, SA(mapped), sizeof(mapped)), 0, "allowed without IPV6_V6ONLY");
}

Test(memnet, shutdown_of_unconnected_socket_is_recorded)
{
    struct sockaddr_in any = v4("127.0.0.1", 0);
    sc_sock_t r = CALL(socket, AF_INET, SOCK_DGRAM, 0, 0);
    sc_sock_t s = CALL(socket, AF_INET, SOCK_DGRAM, 0, 0);
    cr_assert_eq(CALL(bind, r, SA(any), sizeof(any)), 0);
    cr_assert_eq(CALL(bind, s, SA(any), sizeof(any)), 0);
    cr_assert_eq(CALL(shutdown, s, SHUT_WR), -ENOTCONN, "SH-02");
    cr_assert_eq(CALL(send, s, "x", 1, 0), -EDESTADDRREQ, "no destination comes before the shutdown");
    struct sockaddr_in to = v4("127.0.0.1", local_port(r));
    cr_assert_eq(CALL(connect, s, SA(to), sizeof(to)), 0);
    cr_assert_eq(CALL(send, s, "x", 1, 0), -EPIPE, "SH-09: Linux kept the shutdown");
}

Test(memnet, udp_v6_connects_to_an_ipv4_address_as_mapped)
{
    struct sockaddr_in any = v4("127.0.0.1", 0);
    sc_sock_t r = CALL(socket, AF_INET, SOCK_DGRAM, 0, 0);
    cr_assert_eq(CALL(bind, r, SA(any), sizeof(any)), 0);
    struct sockaddr_in to = v4("127.0.0.1", local_port(r));
    sc_sock_t s6 = CALL(socket, AF_INET6, SOCK_DGRAM, 0, 0);
    cr_assert_eq(CALL(connect, s6, SA(to), sizeof(to)), 0, "CU-09");
    struct sockaddr_in6 peer;
    socklen_t len = sizeof(peer);
    cr_assert_eq(CALL(getpeername, s6, (struct sockaddr *)&peer, &len), 0);
    cr_assert(IN6_IS_ADDR_V4MAPPED(&peer.sin6_addr));
    cr_assert_eq(CALL(send, s6, "m", 1, 0), 1);
    char b = 0;
    cr_assert_eq(CALL(recv, r, &b, 1, 0), 1);
    int one = 1;
    sc_sock_t only = CALL(socket, AF_INET6, SOCK_DGRAM, 0, 0);
    cr_assert_eq(CALL(setsockopt, only, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)), 0);
    cr_assert_eq(CALL(connect, only, SA(to), sizeof(to)), -EAFNOSUPPORT);
}

Test(memnet, clock_is_virtual_and_moves_only_when_told)
{
    cr_assert_not_null(sys->now_ms);
    int64_t t0 = sys->now_ms(sys->ctx);
    cr_assert_eq(t0, SC_MEMNET_EPOCH_MS);
    sc_memnet_advance(net, 250);
    cr_assert_eq(sc_memnet_now(net), t0 + 250);
    sc_memnet_advance(net, -5);
    cr_assert_eq(sc_memnet_now(net), t0 + 250, "time never goes back");
    sc_sock_t l = CALL(socket, AF_INET, SOCK_STREAM, 0, 0);
    cr_assert_eq(CALL(listen, l, 4), 0);
    sc_pollfd_t p = {.fd = (int)l, .events = SC_EV_IN};
    cr_assert_eq(CALL(poll, &p, 1, 40), 0);
    cr_assert_eq(sys->now_ms(sys->ctx), t0 + 290, "a wait with nothing ready lets its timeout pass");
    cr_assert_eq(CALL(poll, &p, 1, -1), 0);
    cr_assert_eq(CALL(poll, &p, 1, 0), 0);
    cr_assert_eq(sc_memnet_now(net), t0 + 290, "no timeout, no time");
    struct sockaddr_in to = v4("127.0.0.1", local_port(l));
    sc_sock_t c = CALL(socket, AF_INET, SOCK_STREAM, 0, 0);
    cr_assert_eq(CALL(connect, c, SA(to), sizeof(to)), 0);
    cr_assert_eq(CALL(poll, &p, 1, 40), 1);
    cr_assert_eq(sc_memnet_now(net), t0 + 290, "a wait that finds something ready takes no time");
    sc_memnet_reset(net);
    cr_assert_eq(sc_memnet_now(net), SC_MEMNET_EPOCH_MS);
}

static size_t conns_after_step(sc_server_t *srv)
{
    sc_server_stats_t st;
    cr_assert_geq(sc_server_step(srv, 0), 0);
    sc_server_stats(srv, &st);
    return st.conns;
}

/* The server's timers read the table's clock: on memnet they fire after
 * virtual time, at once, and never on the real clock (an idle timeout of
 * a minute could not pass during this test otherwise). */
Test(memnet, server_idle_timeout_and_drain_deadline_on_virtual_time)
{
    sc_server_opts_t o;
    sc_server_opts_init(&o);
    o.idle_timeout_ms = 60000;
    o.drain_timeout_ms = 30000;
    sc_sock_t c, d;
    sc_server_t *srv = memnet_server(&o, sys, &c);
    cr_assert_eq(conns_after_step(srv), 1);
    sc_memnet_advance(net, 59000);
    cr_assert_eq(conns_after_step(srv), 1, "idle for less than the timeout");
    sc_memnet_advance(net, 16000); /* past the timeout and the next scan */
    cr_assert_eq(conns_after_step(srv), 0, "closed as idle");
    sc_server_stats_t st;
    sc_server_stats(srv, &st);
    cr_assert_eq(st.closed_idle, 1);
    char b;
    cr_assert_eq(CALL(recv, c, &b, 1, 0), 0, "the idle client sees EOF");

    sc_addr_t to;
    cr_assert_eq(sc_addr_parse(&to, "127.0.0.1", 9, sc_server_port(srv, SOCK_STREAM, AF_INET), 0), 0);
    cr_assert_eq(sc_client_connect_addr(&to, SOCK_STREAM, SC_NONBLOCK, 0, &d), 0);
    cr_assert_eq(conns_after_step(srv), 1);
    sc_server_stop(srv, SC_STOP_DRAIN);
    cr_assert_eq(sc_server_step(srv, 0), 1, "draining: the client has not closed");
    sc_memnet_advance(net, 29000);
    cr_assert_eq(sc_server_step(srv, 0), 1, "before the drain deadline");
    sc_memnet_advance(net, 1000);
    cr_assert_eq(sc_server_step(srv, 0), 0, "stopped at the drain deadline");
    cr_assert_eq(CALL(close, c), 0);
    cr_assert_eq(CALL(close, d), 0);
    sc_server_destroy(srv);
    cr_assert_eq(sc_memnet_open_count(net), 0);
}

Test(memnet, server_accept_backoff_on_virtual_time)
{
    static sc_fault_t f;
    sc_fault_init(&f, sys);
    cr_assert_eq(sc_fault_add(&f, SC_OP_ACCEPT, 1, 1, -EMFILE, 0), 0);
    sc_server_opts_t o;
    sc_server_opts_init(&o);
    sc_sock_t c;
    sc_server_t *srv = memnet_server(&o, &f.sys, &c);
    cr_assert_eq(conns_after_step(srv), 0, "accept failed with EMFILE");
    cr_assert_eq(f.injected[SC_OP_ACCEPT], 1);
    for (int i = 0; i < 8; i++)
        cr_assert_eq(conns_after_step(srv), 0, "accepting paused: no time has passed");
    cr_assert_eq(f.calls[SC_OP_ACCEPT], 1, "no accept while paused (no spinning)");
    sc_memnet_advance(net, 10); /* the first backoff */
    cr_assert_eq(conns_after_step(srv), 0, "resumed: the listener is watched again");
    cr_assert_eq(conns_after_step(srv), 1, "and the waiting client accepted");
    cr_assert_eq(CALL(close, c), 0);
    sc_server_destroy(srv);
    cr_assert_eq(sc_memnet_open_count(net), 0);
}
