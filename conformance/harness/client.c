/* The reference client (connect, verified TCP and UDP echo) and the load
 * generator, against the embedded server and against in-test peers that
 * flip, drop, duplicate or withhold bytes, with faults injected through
 * the seam. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>

#include "sockcheck/client.h"
#include "sockcheck/fault.h"
#include "sockcheck/io.h"
#include "sockcheck/load.h"
#include "sockcheck/net.h"
#include "support.h"

/* ---- in-test peers ---- */

enum peer_mode {
    P_ECHO,      /* echo everything */
    P_FLIP,      /* TCP: flip the byte at stream offset `at`; UDP: at datagram offset `at` */
    P_HALFCLOSE, /* TCP: echo the first `at` bytes, then shutdown(SHUT_WR) and discard */
    P_SILENT,    /* read everything, echo nothing (UDP: drop every datagram) */
    P_EVERY,     /* TCP: flip every `at`-th byte of the stream */
    P_LONGER,    /* UDP: echo each datagram with one byte more */
    P_DUP,       /* UDP: echo each datagram twice */
};

#define PEER_CONNS 16
#define PEER_BUF 65536
#define PEER_LIFE_MS 20000

struct pconn {
    int fd;
    size_t off, len, sent;
    int wr_shut;
    unsigned char buf[PEER_BUF];
};

struct peer {
    int mode, udp;
    size_t at, cap;
    int fd;
    sc_addr_t addr;
    int stop[2];
    pthread_t th;
    struct pconn *conns;
};

static void peer_transform(struct peer *p, struct pconn *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t o = c->off + i;
        if ((p->mode == P_FLIP && o == p->at) || (p->mode == P_EVERY && o % p->at == p->at - 1))
            c->buf[i] ^= 0x5a;
    }
    if (p->mode == P_SILENT)
        n = 0;
    else if (p->mode == P_HALFCLOSE)
        n = c->off >= p->at ? 0 : n < p->at - c->off ? n : p->at - c->off;
    c->len = n;
    c->sent = 0;
}

static void pconn_close(struct pconn *c)
{
    close(c->fd);
    c->fd = -1;
}

/* One readiness turn of one TCP connection of the peer. */
static void peer_conn_io(struct peer *p, struct pconn *c, short rev)
{
    if (rev & POLLOUT) {
        ssize_t n = send(c->fd, c->buf + c->sent, c->len - c->sent, MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN) {
            pconn_close(c);
            return;
        }
        if (n > 0 && (c->sent += (size_t)n) == c->len)
            c->len = c->sent = 0;
    } else if (rev & (POLLIN | POLLHUP | POLLERR)) {
        ssize_t n = recv(c->fd, c->buf, p->cap, 0);
        if (n == 0 || (n < 0 && errno != EAGAIN)) {
            pconn_close(c);
            return;
        }
        if (n > 0) {
            peer_transform(p, c, (size_t)n);
            c->off += (size_t)n;
        }
    }
    if (p->mode == P_HALFCLOSE && c->off >= p->at && c->len == 0 && !c->wr_shut) {
        shutdown(c->fd, SHUT_WR);
        c->wr_shut = 1;
    }
}

static void peer_accept(struct peer *p)
{
    int fd = accept4(p->fd, NULL, NULL, SOCK_NONBLOCK);
    if (fd < 0)
        return;
    for (int i = 0; i < PEER_CONNS; i++)
        if (p->conns[i].fd < 0) {
            memset(&p->conns[i], 0, offsetof(struct pconn, buf));
            p->conns[i].fd = fd;
            return;
        }
    close(fd);
}

static void *tcp_peer_main(void *arg)
{
    struct peer *p = arg;
    int64_t deadline = sc_deadline(PEER_LIFE_MS);
    while (sc_remaining_ms(deadline) > 0) {
        struct pollfd fds[2 + PEER_CONNS];
        int idx[2 + PEER_CONNS];
        int n = 0;
        fds[n++] = (struct pollfd){.fd = p->stop[0], .events = POLLIN};
        fds[n++] = (struct pollfd){.fd = p->fd, .events = POLLIN};
        for (int i = 0; i < PEER_CONNS; i++) {
            struct pconn *c = &p->conns[i];
            if (c->fd < 0)
                continue;
            idx[n] = i;
            fds[n++] = (struct pollfd){.fd = c->fd, .events = c->len > c->sent ? POLLOUT : POLLIN};
        }
        if (poll(fds, (nfds_t)n, 100) < 0 && errno != EINTR)
            break;
        if (fds[0].revents)
            break;
        if (fds[1].revents)
            peer_accept(p);
        for (int k = 2; k < n; k++)
            if (fds[k].revents)
                peer_conn_io(p, &p->conns[idx[k]], fds[k].revents);
    }
    for (int i = 0; i < PEER_CONNS; i++)
        if (p->conns[i].fd >= 0)
            pconn_close(&p->conns[i]);
    return NULL;
}

static void *udp_peer_main(void *arg)
{
    struct peer *p = arg;
    static unsigned char buf[65536 + 1];
    int64_t deadline = sc_deadline(PEER_LIFE_MS);
    while (sc_remaining_ms(deadline) > 0) {
        struct pollfd fds[2] = {{.fd = p->stop[0], .events = POLLIN}, {.fd = p->fd, .events = POLLIN}};
        if (poll(fds, 2, 100) < 0 && errno != EINTR)
            break;
        if (fds[0].revents)
            break;
        if (!fds[1].revents)
            continue;
        struct sockaddr_storage from;
        socklen_t fl = sizeof(from);
        ssize_t n = recvfrom(p->fd, buf, sizeof(buf) - 1, 0, (struct sockaddr *)&from, &fl);
        if (n < 0 || p->mode == P_SILENT)
            continue;
        if (p->mode == P_FLIP && (size_t)n > p->at)
            buf[p->at] ^= 0x5a;
        if (p->mode == P_LONGER)
            buf[n++] = 'x';
        sendto(p->fd, buf, (size_t)n, 0, (struct sockaddr *)&from, fl);
        if (p->mode == P_DUP)
            sendto(p->fd, buf, (size_t)n, 0, (struct sockaddr *)&from, fl);
    }
    return NULL;
}

/* A peer on 127.0.0.1:0 running on its own thread (plain libc, never the
 * seam, so faults injected for the client do not reach it). cap bounds
 * what a TCP connection may hold unechoed (0: PEER_BUF). */
static struct peer *peer_start(int udp, int mode, size_t at, size_t cap)
{
    struct peer *p = calloc(1, sizeof(*p));
    cr_assert_not_null(p);
    p->udp = udp;
    p->mode = mode;
    p->at = at;
    p->cap = cap ? cap : PEER_BUF;
    p->fd = sct_bound(AF_INET, udp ? SOCK_DGRAM : SOCK_STREAM, &p->addr);
    if (!udp) {
        cr_assert_eq(fcntl(p->fd, F_SETFL, O_NONBLOCK), 0);
        p->conns = calloc(PEER_CONNS, sizeof(*p->conns));
        cr_assert_not_null(p->conns);
        for (int i = 0; i < PEER_CONNS; i++)
            p->conns[i].fd = -1;
    }
    cr_assert_eq(pipe(p->stop), 0);
    cr_assert_eq(pthread_create(&p->th, NULL, udp ? udp_peer_main : tcp_peer_main, p), 0);
    return p;
}

static void peer_stop(struct peer *p)
{
    cr_assert_eq(write(p->stop[1], "x", 1), 1);
    pthread_join(p->th, NULL);
    close(p->stop[0]);
    close(p->stop[1]);
    close(p->fd);
    free(p->conns);
    free(p);
}

/* ---- helpers ---- */

static sc_fault_t fault;

static void install_fault(void)
{
    sc_fault_init(&fault, NULL);
    sc_sys_install(&fault.sys);
}

static void fill(unsigned char *buf, size_t len, unsigned seed)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (unsigned char)(seed + i * 131u + (i >> 9));
}

static sc_sock_t connect_to(const sc_addr_t *a, int socktype)
{
    sc_sock_t s = SC_INVALID_SOCK;
    int rc = sc_client_connect_addr(a, socktype, 0, SCT_TIMEOUT_MS, &s);
    cr_assert_eq(rc, 0, "connect: %s", sc_strerror(rc));
    return s;
}

static uint16_t port_of(const sc_addr_t *a)
{
    return sc_addr_port(a);
}

/* A loopback TCP port that refuses: bound, never listening. */
static int refusing_port(sc_addr_t *a)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    *a = sct_loopback(AF_INET, 0);
    cr_assert_eq(bind(fd, (struct sockaddr *)&a->ss, a->len), 0);
    a->len = sizeof(a->ss);
    cr_assert_eq(getsockname(fd, (struct sockaddr *)&a->ss, &a->len), 0);
    return fd;
}

/* ---- connect ---- */

Test(client_connect, returns_blocking_connected_socket, .timeout = 10)
{
    sc_addr_t a, peer;
    int l = sct_bound(AF_INET, SOCK_STREAM, &a);
    sc_sock_t s = SC_INVALID_SOCK;
    cr_assert_eq(sc_client_connect_addr(&a, SOCK_STREAM, 0, SCT_TIMEOUT_MS, &s), 0);
    cr_assert_geq(s, 0);
    cr_assert_eq(fcntl((int)s, F_GETFL) & O_NONBLOCK, 0, "the socket must come back blocking");
    peer.len = sizeof(peer.ss);
    cr_assert_eq(getpeername((int)s, (struct sockaddr *)&peer.ss, &peer.len), 0);
    cr_assert(sc_addr_equal(&peer, &a));
    sc_close(s);
    close(l);
}

Test(client_connect, sc_nonblock_returns_nonblocking_socket, .timeout = 10)
{
    sc_addr_t a;
    int l = sct_bound(AF_INET, SOCK_STREAM, &a);
    sc_sock_t s = SC_INVALID_SOCK;
    cr_assert_eq(sc_client_connect_addr(&a, SOCK_STREAM, SC_NONBLOCK, SCT_TIMEOUT_MS, &s), 0);
#if defined(_WIN32)
    /* Winsock cannot read the blocking mode back (ioctlsocket FIONBIO only
     * sets it); a recv with nothing to read tells: WSAEWOULDBLOCK on a
     * non-blocking socket (recv function, Return value). */
    char b;
    cr_assert_eq(recv((int)s, &b, 1, 0), -1);
    cr_assert_eq(errno, EAGAIN, "recv: %s", strerror(errno));
#else
    cr_assert_neq(fcntl((int)s, F_GETFL) & O_NONBLOCK, 0);
#endif
    sc_close(s);
    close(l);
}

Test(client_connect, ipv6_loopback_connects, .timeout = 10)
{
    sc_addr_t a;
    int l = sct_bound(AF_INET6, SOCK_STREAM, &a); /* skips without ::1 */
    sc_sock_t s = SC_INVALID_SOCK;
    cr_assert_eq(sc_client_connect_addr(&a, SOCK_STREAM, 0, SCT_TIMEOUT_MS, &s), 0);
    sc_close(s);
    close(l);
}

Test(client_connect, econnrefused_without_listener_and_no_fd_leak, .timeout = 10)
{
    sc_addr_t a;
    int fd = refusing_port(&a);
    int before = sct_count_fds();
    sc_sock_t s = SC_INVALID_SOCK;
    cr_assert_eq(sc_client_connect_addr(&a, SOCK_STREAM, 0, SCT_TIMEOUT_MS, &s), -ECONNREFUSED);
    cr_assert_eq(s, SC_INVALID_SOCK, "*out is left alone on failure");
    if (before >= 0) /* no descriptor count on Windows */
        cr_assert_eq(sct_count_fds(), before, "the failed socket must be closed");
    close(fd);
}

Test(client_connect, error_text_names_call_and_address, .timeout = 10)
{
    sc_addr_t a;
    int fd = refusing_port(&a);
    char port[8], err[128], want[128];
    snprintf(port, sizeof(port), "%u", port_of(&a));
    sc_sock_t s;
    cr_assert_eq(sc_client_connect("127.0.0.1", port, SOCK_STREAM, 0, SCT_TIMEOUT_MS, &s, NULL, err, sizeof(err)),
                 -ECONNREFUSED);
    snprintf(want, sizeof(want), "connect 127.0.0.1:%s: %s", port, sc_strerror(-ECONNREFUSED));
    cr_assert_str_eq(err, want);
    close(fd);
}

Test(client_connect, resolve_failure_is_eresolve, .timeout = 10)
{
    char err[128];
    sc_sock_t s;
    cr_assert_eq(sc_client_connect("no such host.invalid", "7", SOCK_STREAM, 0, 1000, &s, NULL, err, sizeof(err)),
                 SC_ERESOLVE);
    cr_assert(strncmp(err, "resolve no such host.invalid:7: ", 32) == 0, "got '%s'", err);
}

Test(client_connect, tries_every_resolved_address, .timeout = 10)
{
    sc_addr_t addrs[16];
    int n = sc_addr_resolve("localhost", "7", SOCK_STREAM, addrs, 16);
    if (n < 1)
        cr_skip_test("localhost does not resolve here");
    install_fault();
    sc_fault_add(&fault, SC_OP_CONNECT, 0, 0, -ECONNREFUSED, 0);
    char err[128], last[SC_ADDR_STRLEN], want[160];
    sc_sock_t s;
    cr_assert_eq(sc_client_connect("localhost", "7", SOCK_STREAM, 0, 1000, &s, NULL, err, sizeof(err)),
                 -ECONNREFUSED);
    cr_assert_eq(fault.calls[SC_OP_CONNECT], (unsigned long)n, "one connect per resolved address");
    cr_assert_eq(fault.calls[SC_OP_SOCKET], (unsigned long)n);
    cr_assert_eq(fault.calls[SC_OP_CLOSE], (unsigned long)n, "every failed socket is closed");
    sc_addr_format((struct sockaddr *)&addrs[n - 1].ss, addrs[n - 1].len, last, sizeof(last));
    snprintf(want, sizeof(want), "connect %s: %s", last, sc_strerror(-ECONNREFUSED));
    cr_assert_str_eq(err, want, "the message names the last address tried");
    sc_sys_install(NULL);
}

/* Listens on every address "localhost" resolves to, all on one port;
 * returns how many (0 when that port is taken on one of them). */
static int listen_on_localhost(sc_addr_t *addrs, int *fds, char *port, size_t cap)
{
    int n = sc_addr_resolve("localhost", "0", SOCK_STREAM, addrs, 8);
    if (n < 2)
        return n < 0 ? 0 : n;
    uint16_t p = 0;
    for (int i = 0; i < n; i++) {
        sc_addr_set_port(&addrs[i], p);
        fds[i] = socket(sc_addr_family(&addrs[i]), SOCK_STREAM, 0);
        cr_assert_geq(fds[i], 0);
        if (bind(fds[i], (struct sockaddr *)&addrs[i].ss, addrs[i].len) != 0)
            return 0;
        cr_assert_eq(listen(fds[i], 4), 0);
        if (i == 0) {
            sc_addr_t b;
            b.len = sizeof(b.ss);
            cr_assert_eq(getsockname(fds[0], (struct sockaddr *)&b.ss, &b.len), 0);
            p = sc_addr_port(&b);
            sc_addr_set_port(&addrs[0], p);
        }
    }
    snprintf(port, cap, "%u", p);
    return n;
}

Test(client_connect, second_address_used_when_first_fails, .timeout = 10)
{
    sc_addr_t addrs[8];
    int fds[8];
    char port[8];
    int n = listen_on_localhost(addrs, fds, port, sizeof(port));
    if (n < 2)
        cr_skip_test("localhost resolves to one address here (or its port was taken)");
    install_fault();
    sc_fault_add(&fault, SC_OP_CONNECT, 1, 1, -ENETUNREACH, 0);
    sc_sock_t s = SC_INVALID_SOCK;
    sc_addr_t peer;
    char err[128];
    cr_assert_eq(sc_client_connect("localhost", port, SOCK_STREAM, 0, SCT_TIMEOUT_MS, &s, &peer, err, sizeof(err)),
                 0, "%s", err);
    cr_assert(sc_addr_equal(&peer, &addrs[1]), "the second address is the one connected");
    sc_sys_install(NULL);
    sc_close(s);
    for (int i = 0; i < n; i++)
        close(fds[i]);
}

Test(client_connect, socket_failure_names_socket_call, .timeout = 10)
{
    install_fault();
    sc_fault_add(&fault, SC_OP_SOCKET, 0, 0, -EMFILE, 0);
    char err[128], want[128];
    sc_sock_t s;
    cr_assert_eq(sc_client_connect("127.0.0.1", "7", SOCK_STREAM, 0, 1000, &s, NULL, err, sizeof(err)), -EMFILE);
    snprintf(want, sizeof(want), "socket 127.0.0.1:7: %s", sc_strerror(-EMFILE));
    cr_assert_str_eq(err, want);
    cr_assert_eq(fault.calls[SC_OP_CONNECT], 0);
    sc_sys_install(NULL);
}

/* A table whose poll always reports a timeout, on top of the fault
 * table: with connect stuck in EINPROGRESS, the deadline is all that
 * ends the attempt. */
static sc_sys_t zero_poll_sys;
static int zero_poll(void *ctx, sc_pollfd_t *fds, size_t n, int timeout_ms)
{
    (void)ctx;
    (void)fds;
    (void)n;
    (void)timeout_ms;
    return 0;
}

Test(client_connect, etimedout_when_connect_never_completes, .timeout = 10)
{
    sc_addr_t a;
    int l = sct_bound(AF_INET, SOCK_STREAM, &a);
    sc_fault_init(&fault, NULL);
    sc_fault_add(&fault, SC_OP_CONNECT, 0, 0, -EINPROGRESS, 0);
    zero_poll_sys = fault.sys;
    zero_poll_sys.poll = zero_poll;
    sc_sys_install(&zero_poll_sys);
    int before = sct_count_fds();
    sc_sock_t s = SC_INVALID_SOCK;
    cr_assert_eq(sc_client_connect_addr(&a, SOCK_STREAM, 0, 100, &s), -ETIMEDOUT);
    if (before >= 0) /* no descriptor count on Windows */
        cr_assert_eq(sct_count_fds(), before);
    cr_assert_eq(fault.calls[SC_OP_CONNECT], 1);
    sc_sys_install(NULL);
    close(l);
}

Test(client_connect, eintr_storm_in_poll_ends_at_deadline, .timeout = 10)
{
    sc_addr_t a;
    int l = sct_bound(AF_INET, SOCK_STREAM, &a);
    install_fault();
    sc_fault_add(&fault, SC_OP_CONNECT, 0, 0, -EINPROGRESS, 0);
    sc_fault_add(&fault, SC_OP_POLL, 0, 0, -EINTR, 0);
    sc_sock_t s = SC_INVALID_SOCK;
    int64_t t0 = sc_now_ms();
    cr_assert_eq(sc_client_connect_addr(&a, SOCK_STREAM, 0, 100, &s), -ETIMEDOUT);
    int64_t took = sc_now_ms() - t0;
    cr_assert(took >= 100 && took < 3000, "took %lld ms", (long long)took);
    sc_sys_install(NULL);
    close(l);
}

#if defined(_WIN32)
/* The platform table, except that its first connect is made and then
 * reported as interrupted. */
static sc_sys_t eintr_after_connect_sys;
static int eintr_after_connect_calls;
static int eintr_after_connect(void *ctx, sc_sock_t s, const struct sockaddr *sa, sc_socklen_t len)
{
    int rc = (sc_sys_platform()->connect)(ctx, s, sa, len);
    return ++eintr_after_connect_calls == 1 && (rc == 0 || rc == -EINPROGRESS) ? -EINTR : rc;
}
#endif

Test(client_connect, eintr_from_connect_is_confirmed_and_completes, .timeout = 10)
{
    sc_addr_t a;
    int l = sct_bound(AF_INET, SOCK_STREAM, &a);
#if defined(_WIN32)
    /* Nothing interrupts a Winsock 2 call (WSAEINTR comes only from
     * WSACancelBlockingCall, which Winsock 2 removed: Windows Sockets Error
     * Codes), and a socket that never connected does not poll writable
     * there. So the connect is made and only its result is replaced: the
     * library must wait for it and confirm it with a further connect,
     * which fails with WSAEISCONN once it completed (connect function,
     * Remarks). */
    eintr_after_connect_sys = *sc_sys_platform();
    eintr_after_connect_sys.connect = eintr_after_connect;
    eintr_after_connect_calls = 0;
    sc_fault_init(&fault, &eintr_after_connect_sys);
    sc_sys_install(&fault.sys);
#else
    install_fault();
    /* The seam fails the first connect without making it: a socket that
     * never connected polls writable too, so only a further connect
     * (EISCONN) may tell the caller it is connected. */
    sc_fault_add(&fault, SC_OP_CONNECT, 1, 1, -EINTR, 0);
#endif
    sc_sock_t s = SC_INVALID_SOCK;
    cr_assert_eq(sc_client_connect_addr(&a, SOCK_STREAM, 0, SCT_TIMEOUT_MS, &s), 0);
    cr_assert_geq(fault.calls[SC_OP_CONNECT], 2);
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    cr_assert_eq(getpeername((int)s, (struct sockaddr *)&ss, &len), 0, "connected for real");
    sc_sys_install(NULL);
    sc_close(s);
    close(l);
}

/* ---- echo ---- */

Test(client_echo, tcp_small_payload_round_trips, .timeout = 20)
{
    sc_server_t *srv = sct_server_start(NULL);
    sc_addr_t a = sct_echo_target(srv, SOCK_STREAM, AF_INET);
    unsigned char buf[100];
    fill(buf, sizeof(buf), 1);
    sc_sock_t s = connect_to(&a, SOCK_STREAM);
    sc_echo_result_t r;
    cr_assert_eq(sc_echo_tcp(s, buf, sizeof(buf), SCT_TIMEOUT_MS, &r), 0);
    cr_assert_eq(r.sent, sizeof(buf));
    cr_assert_eq(r.received, sizeof(buf));
    cr_assert_eq(fcntl((int)s, F_GETFL) & O_NONBLOCK, 0, "the socket stays blocking");
    sc_close(s);
    sct_server_stop(srv);
}

Test(client_echo, tcp_zero_length_is_ok, .timeout = 20)
{
    sc_server_t *srv = sct_server_start(NULL);
    sc_addr_t a = sct_echo_target(srv, SOCK_STREAM, AF_INET);
    sc_sock_t s = connect_to(&a, SOCK_STREAM);
    sc_echo_result_t r = {9, 9, 9};
    cr_assert_eq(sc_echo_tcp(s, NULL, 0, SCT_TIMEOUT_MS, &r), 0);
    cr_assert_eq(r.sent, 0);
    cr_assert_eq(r.received, 0);
    sc_close(s);
    sct_server_stop(srv);
}

Test(client_echo, tcp_16mib_through_embedded_server, .timeout = 30)
{
    sc_server_t *srv = sct_server_start(NULL);
    sc_addr_t a = sct_echo_target(srv, SOCK_STREAM, AF_INET);
    size_t len = 16u << 20;
    unsigned char *buf = malloc(len);
    cr_assert_not_null(buf);
    fill(buf, len, 7);
    sc_sock_t s = connect_to(&a, SOCK_STREAM);
    sc_echo_result_t r;
    cr_assert_eq(sc_echo_tcp(s, buf, len, 20000, &r), 0);
    cr_assert_eq(r.received, len);
    sc_close(s);
    free(buf);
    sct_server_stop(srv);
}

Test(client_echo, tcp_4mib_through_peer_holding_512_bytes, .timeout = 30)
{
    /* A peer that holds at most 512 bytes and stops reading until they
     * are echoed: a client that sent everything before reading would
     * deadlock once the socket buffers fill. */
    struct peer *p = peer_start(0, P_ECHO, 0, 512);
    size_t len = 4u << 20;
    unsigned char *buf = malloc(len);
    cr_assert_not_null(buf);
    fill(buf, len, 3);
    sc_sock_t s = connect_to(&p->addr, SOCK_STREAM);
    sc_echo_result_t r;
    cr_assert_eq(sc_echo_tcp(s, buf, len, 20000, &r), 0);
    cr_assert_eq(r.received, len);
    sc_close(s);
    free(buf);
    peer_stop(p);
}

Test(client_echo, tcp_flipped_byte_is_emismatch_at_its_offset, .timeout = 20)
{
    struct peer *p = peer_start(0, P_FLIP, 70000, 0);
    size_t len = 200000;
    unsigned char *buf = malloc(len);
    fill(buf, len, 5);
    sc_sock_t s = connect_to(&p->addr, SOCK_STREAM);
    sc_echo_result_t r;
    cr_assert_eq(sc_echo_tcp(s, buf, len, SCT_TIMEOUT_MS, &r), SC_EMISMATCH);
    cr_assert_eq(r.mismatch_at, 70000);
    cr_assert_eq(r.received, 70000, "bytes verified before the mismatch");
    sc_close(s);
    free(buf);
    peer_stop(p);
}

Test(client_echo, tcp_flipped_first_byte_is_offset_zero, .timeout = 20)
{
    struct peer *p = peer_start(0, P_FLIP, 0, 0);
    unsigned char buf[10];
    fill(buf, sizeof(buf), 5);
    sc_sock_t s = connect_to(&p->addr, SOCK_STREAM);
    sc_echo_result_t r;
    cr_assert_eq(sc_echo_tcp(s, buf, sizeof(buf), SCT_TIMEOUT_MS, &r), SC_EMISMATCH);
    cr_assert_eq(r.mismatch_at, 0);
    sc_close(s);
    peer_stop(p);
}

Test(client_echo, tcp_early_close_is_eeof, .timeout = 20)
{
    struct peer *p = peer_start(0, P_HALFCLOSE, 100, 0);
    unsigned char buf[1000];
    fill(buf, sizeof(buf), 9);
    sc_sock_t s = connect_to(&p->addr, SOCK_STREAM);
    sc_echo_result_t r;
    cr_assert_eq(sc_echo_tcp(s, buf, sizeof(buf), SCT_TIMEOUT_MS, &r), SC_EEOF);
    cr_assert_eq(r.received, 100);
    cr_assert_eq(r.sent, sizeof(buf));
    sc_close(s);
    peer_stop(p);
}

Test(client_echo, tcp_silent_peer_is_etimedout, .timeout = 20)
{
    struct peer *p = peer_start(0, P_SILENT, 0, 0);
    unsigned char buf[100];
    fill(buf, sizeof(buf), 1);
    sc_sock_t s = connect_to(&p->addr, SOCK_STREAM);
    sc_echo_result_t r;
    int64_t t0 = sc_now_ms();
    cr_assert_eq(sc_echo_tcp(s, buf, sizeof(buf), 150, &r), -ETIMEDOUT);
    int64_t took = sc_now_ms() - t0;
    cr_assert(took >= 150 && took < 3000, "took %lld ms", (long long)took);
    cr_assert_eq(r.sent, sizeof(buf));
    cr_assert_eq(r.received, 0);
    sc_close(s);
    peer_stop(p);
}

Test(client_echo, tcp_partial_transfers_still_verify, .timeout = 20)
{
    sc_server_t *srv = sct_server_start(NULL);
    sc_addr_t a = sct_echo_target(srv, SOCK_STREAM, AF_INET);
    sc_sock_t s = connect_to(&a, SOCK_STREAM);
    install_fault();
    sc_fault_add(&fault, SC_OP_SEND, 0, 0, 0, 97);
    sc_fault_add(&fault, SC_OP_RECV, 0, 0, 0, 13);
    unsigned char buf[20000];
    fill(buf, sizeof(buf), 2);
    sc_echo_result_t r;
    cr_assert_eq(sc_echo_tcp(s, buf, sizeof(buf), SCT_TIMEOUT_MS, &r), 0);
    cr_assert_eq(r.received, sizeof(buf));
    cr_assert_geq(fault.injected[SC_OP_SEND], sizeof(buf) / 97);
    cr_assert_geq(fault.injected[SC_OP_RECV], sizeof(buf) / 13);
    sc_sys_install(NULL);
    sc_close(s);
    sct_server_stop(srv);
}

Test(client_echo, tcp_eintr_and_eagain_are_retried, .timeout = 20)
{
    sc_server_t *srv = sct_server_start(NULL);
    sc_addr_t a = sct_echo_target(srv, SOCK_STREAM, AF_INET);
    sc_sock_t s = connect_to(&a, SOCK_STREAM);
    install_fault();
    sc_fault_add(&fault, SC_OP_SEND, 1, 2, -EINTR, 0);
    sc_fault_add(&fault, SC_OP_SEND, 3, 2, -EAGAIN, 0);
    sc_fault_add(&fault, SC_OP_RECV, 1, 3, -EINTR, 0);
    sc_fault_add(&fault, SC_OP_RECV, 4, 3, -EAGAIN, 0);
    sc_fault_add(&fault, SC_OP_POLL, 1, 2, -EINTR, 0);
    unsigned char buf[5000];
    fill(buf, sizeof(buf), 4);
    sc_echo_result_t r;
    cr_assert_eq(sc_echo_tcp(s, buf, sizeof(buf), SCT_TIMEOUT_MS, &r), 0);
    cr_assert_eq(r.received, sizeof(buf));
    cr_assert_eq(fault.injected[SC_OP_SEND], 4);
    cr_assert_eq(fault.injected[SC_OP_RECV], 6);
    sc_sys_install(NULL);
    sc_close(s);
    sct_server_stop(srv);
}

Test(client_echo, tcp_send_error_is_returned, .timeout = 20)
{
    sc_server_t *srv = sct_server_start(NULL);
    sc_addr_t a = sct_echo_target(srv, SOCK_STREAM, AF_INET);
    sc_sock_t s = connect_to(&a, SOCK_STREAM);
    install_fault();
    sc_fault_add(&fault, SC_OP_SEND, 0, 0, -ECONNRESET, 0);
    unsigned char buf[100];
    fill(buf, sizeof(buf), 4);
    sc_echo_result_t r;
    cr_assert_eq(sc_echo_tcp(s, buf, sizeof(buf), SCT_TIMEOUT_MS, &r), -ECONNRESET);
    cr_assert_eq(r.sent, 0);
    sc_sys_install(NULL);
    sc_close(s);
    sct_server_stop(srv);
}

Test(client_echo, udp_datagram_round_trips, .timeout = 20)
{
    sc_server_t *srv = sct_server_start(NULL);
    sc_addr_t a = sct_echo_target(srv, SOCK_DGRAM, AF_INET);
    sc_sock_t s = connect_to(&a, SOCK_DGRAM);
    unsigned char buf[1472];
    fill(buf, sizeof(buf), 8);
    sc_echo_result_t r;
    cr_assert_eq(sc_echo_udp(s, buf, sizeof(buf), SCT_TIMEOUT_MS, &r), 0);
    cr_assert_eq(r.sent, sizeof(buf));
    cr_assert_eq(r.received, sizeof(buf));
    cr_assert_eq(sc_echo_udp(s, buf, 0, SCT_TIMEOUT_MS, &r), 0, "an empty datagram is echoed too");
    cr_assert_eq(r.received, 0);
    sc_close(s);
    sct_server_stop(srv);
}

Test(client_echo, udp_dropped_datagram_is_etimedout, .timeout = 20)
{
    struct peer *p = peer_start(1, P_SILENT, 0, 0);
    sc_sock_t s = connect_to(&p->addr, SOCK_DGRAM);
    unsigned char buf[64];
    fill(buf, sizeof(buf), 1);
    sc_echo_result_t r;
    int64_t t0 = sc_now_ms();
    cr_assert_eq(sc_echo_udp(s, buf, sizeof(buf), 150, &r), -ETIMEDOUT);
    int64_t took = sc_now_ms() - t0;
    cr_assert(took >= 150 && took < 3000, "took %lld ms", (long long)took);
    cr_assert_eq(r.sent, sizeof(buf));
    cr_assert_eq(r.received, 0);
    sc_close(s);
    peer_stop(p);
}

Test(client_echo, udp_changed_byte_is_emismatch_at_its_offset, .timeout = 20)
{
    struct peer *p = peer_start(1, P_FLIP, 33, 0);
    sc_sock_t s = connect_to(&p->addr, SOCK_DGRAM);
    unsigned char buf[100];
    fill(buf, sizeof(buf), 1);
    sc_echo_result_t r;
    cr_assert_eq(sc_echo_udp(s, buf, sizeof(buf), SCT_TIMEOUT_MS, &r), SC_EMISMATCH);
    cr_assert_eq(r.mismatch_at, 33);
    sc_close(s);
    peer_stop(p);
}

Test(client_echo, udp_longer_echo_is_emismatch_at_end, .timeout = 20)
{
    struct peer *p = peer_start(1, P_LONGER, 0, 0);
    sc_sock_t s = connect_to(&p->addr, SOCK_DGRAM);
    unsigned char buf[100];
    fill(buf, sizeof(buf), 1);
    sc_echo_result_t r;
    cr_assert_eq(sc_echo_udp(s, buf, sizeof(buf), SCT_TIMEOUT_MS, &r), SC_EMISMATCH);
    cr_assert_eq(r.mismatch_at, sizeof(buf));
    cr_assert_eq(r.received, sizeof(buf) + 1);
    sc_close(s);
    peer_stop(p);
}

Test(client_echo, udp_eagain_and_eintr_are_retried, .timeout = 20)
{
    sc_server_t *srv = sct_server_start(NULL);
    sc_addr_t a = sct_echo_target(srv, SOCK_DGRAM, AF_INET);
    sc_sock_t s = connect_to(&a, SOCK_DGRAM);
    install_fault();
    sc_fault_add(&fault, SC_OP_SEND, 1, 1, -EAGAIN, 0);
    sc_fault_add(&fault, SC_OP_RECV, 1, 2, -EINTR, 0);
    sc_fault_add(&fault, SC_OP_POLL, 1, 1, -EINTR, 0);
    unsigned char buf[200];
    fill(buf, sizeof(buf), 1);
    sc_echo_result_t r;
    cr_assert_eq(sc_echo_udp(s, buf, sizeof(buf), SCT_TIMEOUT_MS, &r), 0);
    cr_assert_eq(fault.injected[SC_OP_SEND], 1);
    cr_assert_eq(fault.injected[SC_OP_RECV], 2);
    sc_sys_install(NULL);
    sc_close(s);
    sct_server_stop(srv);
}

/* ---- load ---- */

static sc_load_opts_t load_opts(const sc_addr_t *target, int socktype, int mode, size_t conns, size_t size,
                                unsigned long long count)
{
    sc_load_opts_t o;
    sc_load_opts_init(&o);
    o.target = *target;
    o.socktype = socktype;
    o.mode = mode;
    o.conns = conns;
    o.size = size;
    o.count = count;
    return o;
}

static void run_load(const sc_load_opts_t *o, sc_load_stats_t *st)
{
    sc_load_t *l = NULL;
    int rc = sc_load_create(&l, o);
    cr_assert_eq(rc, 0, "sc_load_create: %s", sc_strerror(rc));
    rc = sc_load_run(l);
    cr_assert_eq(rc, 0, "sc_load_run: %s", sc_strerror(rc));
    sc_load_stats(l, st);
    sc_load_destroy(l);
}

static void assert_clean(const sc_load_stats_t *st, unsigned long long rt, unsigned long long bytes)
{
    cr_assert_eq(st->round_trips, rt);
    cr_assert_eq(st->sent, bytes);
    cr_assert_eq(st->echoed, bytes);
    cr_assert_eq(st->lost, 0);
    cr_assert_eq(st->duplicated, 0);
    cr_assert_eq(st->corrupted, 0);
    cr_assert_eq(st->errors, 0, "first error: %s", st->first_error_text);
    cr_assert(sc_load_passed(st));
    cr_assert(st->p50_ns > 0 && st->p50_ns <= st->p99_ns && st->p99_ns <= st->p999_ns &&
              st->p999_ns <= st->max_ns);
}

Test(load, tcp_pingpong_count_passes, .timeout = 30)
{
    sc_server_t *srv = sct_server_start(NULL);
    sc_addr_t a = sct_echo_target(srv, SOCK_STREAM, AF_INET);
    sc_fault_init(&fault, NULL); /* no rules: it only counts the calls */
    sc_load_opts_t o = load_opts(&a, SOCK_STREAM, SC_LOAD_PINGPONG, 4, 64, 400);
    o.sys = &fault.sys;
    sc_load_stats_t st;
    run_load(&o, &st);
    assert_clean(&st, 400, 400 * 64);
    cr_assert_eq(st.conns_done, 4);
    cr_assert_eq(fault.calls[SC_OP_SOCKET], 4);
#if defined(_WIN32)
    /* No epoll on Windows: ev_create fails (-ENOSYS) and there is no set
     * to close. */
    cr_assert_eq(fault.calls[SC_OP_CLOSE], 4, "every socket closed");
#else
    cr_assert_eq(fault.calls[SC_OP_CLOSE], 4 + fault.calls[SC_OP_EV_CREATE], "every socket closed, and the epoll set");
#endif
    /* One send and one recv a round trip: nothing wasted. */
    cr_assert_eq(fault.calls[SC_OP_SEND], 400);
    cr_assert_leq(fault.calls[SC_OP_RECV], 400 + 4);
    sct_server_stop(srv);
}

Test(load, tcp_pingpong_large_requests_pass, .timeout = 30)
{
    sc_server_t *srv = sct_server_start(NULL);
    sc_addr_t a = sct_echo_target(srv, SOCK_STREAM, AF_INET);
    sc_load_opts_t o = load_opts(&a, SOCK_STREAM, SC_LOAD_PINGPONG, 2, 300000, 20);
    sc_load_stats_t st;
    run_load(&o, &st);
    assert_clean(&st, 20, 20 * 300000ULL);
    sct_server_stop(srv);
}

Test(load, tcp_stream_count_passes, .timeout = 30)
{
    sc_server_t *srv = sct_server_start(NULL);
    sc_addr_t a = sct_echo_target(srv, SOCK_STREAM, AF_INET);
    sc_load_opts_t o = load_opts(&a, SOCK_STREAM, SC_LOAD_STREAM, 3, 1000, 3000);
    sc_load_stats_t st;
    run_load(&o, &st);
    assert_clean(&st, 3000, 3000 * 1000ULL);
    sct_server_stop(srv);
}

Test(load, udp_pingpong_count_passes, .timeout = 30)
{
    sc_server_t *srv = sct_server_start(NULL);
    sc_addr_t a = sct_echo_target(srv, SOCK_DGRAM, AF_INET);
    sc_load_opts_t o = load_opts(&a, SOCK_DGRAM, SC_LOAD_PINGPONG, 4, 100, 400);
    sc_load_stats_t st;
    run_load(&o, &st);
    assert_clean(&st, 400, 400 * 100);
    sct_server_stop(srv);
}

Test(load, udp_stream_count_passes, .timeout = 30)
{
    sc_server_t *srv = sct_server_start(NULL);
    sc_addr_t a = sct_echo_target(srv, SOCK_DGRAM, AF_INET);
    sc_load_opts_t o = load_opts(&a, SOCK_DGRAM, SC_LOAD_STREAM, 2, 8, 1000);
    o.window = 8; /* stays far below the socket buffers: no loss on loopback */
    sc_load_stats_t st;
    run_load(&o, &st);
    assert_clean(&st, 1000, 1000 * 8);
    sct_server_stop(srv);
}

Test(load, ipv6_tcp_pingpong_passes, .timeout = 30)
{
    sct_require_family(AF_INET6);
    sc_server_t *srv = sct_server_start(NULL);
    sc_addr_t a = sct_echo_target(srv, SOCK_STREAM, AF_INET6);
    sc_load_opts_t o = load_opts(&a, SOCK_STREAM, SC_LOAD_PINGPONG, 2, 64, 100);
    sc_load_stats_t st;
    run_load(&o, &st);
    assert_clean(&st, 100, 100 * 64);
    sct_server_stop(srv);
}

/* The poll backend: a table without the ev_* operations. */
static sc_sys_t no_epoll_sys;

Test(load, poll_backend_passes, .timeout = 30)
{
    sc_server_t *srv = sct_server_start(NULL);
    sc_addr_t a = sct_echo_target(srv, SOCK_STREAM, AF_INET);
    no_epoll_sys = *sc_sys_platform();
    no_epoll_sys.ev_create = NULL;
    no_epoll_sys.ev_ctl = NULL;
    no_epoll_sys.ev_wait = NULL;
    sc_load_opts_t o = load_opts(&a, SOCK_STREAM, SC_LOAD_STREAM, 3, 500, 600);
    o.sys = &no_epoll_sys;
    sc_load_stats_t st;
    run_load(&o, &st);
    assert_clean(&st, 600, 600 * 500);
    sct_server_stop(srv);
}

Test(load, tcp_corrupting_peer_fails_with_corrupted_bytes, .timeout = 30)
{
    struct peer *p = peer_start(0, P_EVERY, 1000, 0);
    sc_load_opts_t o = load_opts(&p->addr, SOCK_STREAM, SC_LOAD_PINGPONG, 1, 100, 100);
    sc_load_stats_t st;
    run_load(&o, &st);
    /* 100 requests of 100 bytes: 10000 bytes, every 1000th flipped. */
    cr_assert_eq(st.corrupted, 10);
    cr_assert_eq(st.sent, 10000);
    cr_assert_eq(st.echoed, 10000 - 10);
    cr_assert_eq(st.lost, 0);
    cr_assert(!sc_load_passed(&st));
    peer_stop(p);
}

Test(load, tcp_stream_corruption_is_counted, .timeout = 30)
{
    struct peer *p = peer_start(0, P_FLIP, 12345, 0);
    sc_load_opts_t o = load_opts(&p->addr, SOCK_STREAM, SC_LOAD_STREAM, 1, 1000, 100);
    sc_load_stats_t st;
    run_load(&o, &st);
    cr_assert_eq(st.corrupted, 1);
    cr_assert_eq(st.round_trips, 100);
    cr_assert(!sc_load_passed(&st));
    peer_stop(p);
}

Test(load, tcp_early_close_counts_lost_bytes, .timeout = 30)
{
    struct peer *p = peer_start(0, P_HALFCLOSE, 150, 0);
    sc_load_opts_t o = load_opts(&p->addr, SOCK_STREAM, SC_LOAD_PINGPONG, 1, 100, 10);
    sc_load_stats_t st;
    run_load(&o, &st);
    /* Request 1 comes back; request 2 gets 50 bytes, then EOF. */
    cr_assert_eq(st.round_trips, 1);
    cr_assert_eq(st.lost, 50);
    cr_assert_eq(st.errors, 1);
    cr_assert_eq(st.first_error, SC_EEOF);
    cr_assert(!sc_load_passed(&st));
    peer_stop(p);
}

Test(load, tcp_silent_peer_times_out_as_lost, .timeout = 30)
{
    struct peer *p = peer_start(0, P_SILENT, 0, 0);
    sc_load_opts_t o = load_opts(&p->addr, SOCK_STREAM, SC_LOAD_PINGPONG, 1, 64, 5);
    o.timeout_ms = 100;
    sc_load_stats_t st;
    run_load(&o, &st);
    char want[128];
    snprintf(want, sizeof(want), "recv 127.0.0.1:%u: %s", port_of(&p->addr), sc_strerror(-ETIMEDOUT));
    cr_assert_eq(st.lost, 64);
    cr_assert_eq(st.errors, 1);
    cr_assert_str_eq(st.first_error_text, want);
    peer_stop(p);
}

Test(load, udp_corrupting_peer_fails_with_corrupted_bytes, .timeout = 30)
{
    struct peer *p = peer_start(1, P_FLIP, 20, 0);
    sc_load_opts_t o = load_opts(&p->addr, SOCK_DGRAM, SC_LOAD_PINGPONG, 2, 64, 50);
    sc_load_stats_t st;
    run_load(&o, &st);
    cr_assert_eq(st.corrupted, 50 * 64);
    cr_assert_eq(st.round_trips, 0);
    cr_assert_eq(st.lost, 0);
    cr_assert(!sc_load_passed(&st));
    peer_stop(p);
}

Test(load, udp_dropping_peer_counts_each_datagram_lost, .timeout = 30)
{
    struct peer *p = peer_start(1, P_SILENT, 0, 0);
    sc_load_opts_t o = load_opts(&p->addr, SOCK_DGRAM, SC_LOAD_PINGPONG, 1, 32, 4);
    o.timeout_ms = 50;
    sc_load_stats_t st;
    int64_t t0 = sc_now_ms();
    run_load(&o, &st);
    int64_t took = sc_now_ms() - t0;
    /* Ping-pong retransmits nothing: four timeouts, four losses. */
    cr_assert_eq(st.lost, 4 * 32);
    cr_assert_eq(st.sent, 4 * 32);
    cr_assert_eq(st.round_trips, 0);
    cr_assert(took >= 4 * 50 && took < 5000, "took %lld ms", (long long)took);
    cr_assert(!sc_load_passed(&st));
    peer_stop(p);
}

Test(load, udp_duplicating_peer_counts_duplicates, .timeout = 30)
{
    struct peer *p = peer_start(1, P_DUP, 0, 0);
    sc_load_opts_t o = load_opts(&p->addr, SOCK_DGRAM, SC_LOAD_STREAM, 1, 16, 50);
    o.window = 4;
    sc_load_stats_t st;
    run_load(&o, &st);
    /* Every copy that arrives before the connection finished is counted;
     * the copies of the last window may come after it closed. */
    cr_assert_eq(st.round_trips, 50);
    cr_assert_geq(st.duplicated, (50 - 4) * 16);
    cr_assert_leq(st.duplicated, 50 * 16);
    cr_assert_eq(st.duplicated % 16, 0);
    cr_assert(!sc_load_passed(&st));
    peer_stop(p);
}

Test(load, refused_connections_are_errors_with_text, .timeout = 30)
{
    sc_addr_t a;
    int fd = refusing_port(&a);
    sc_load_opts_t o = load_opts(&a, SOCK_STREAM, SC_LOAD_PINGPONG, 3, 64, 10);
    sc_load_stats_t st;
    run_load(&o, &st);
    char want[128];
    snprintf(want, sizeof(want), "connect 127.0.0.1:%u: %s", port_of(&a), sc_strerror(-ECONNREFUSED));
    cr_assert_eq(st.errors, 3);
    cr_assert_eq(st.first_error, -ECONNREFUSED);
    cr_assert_str_eq(st.first_error_text, want);
    cr_assert_eq(st.round_trips, 0);
    cr_assert(!sc_load_passed(&st));
    close(fd);
}

Test(load, stop_ends_a_long_run_early, .timeout = 30)
{
    sc_server_t *srv = sct_server_start(NULL);
    sc_addr_t a = sct_echo_target(srv, SOCK_STREAM, AF_INET);
    sc_load_opts_t o = load_opts(&a, SOCK_STREAM, SC_LOAD_PINGPONG, 2, 64, 0);
    o.duration_ms = 60000;
    sc_load_t *l = NULL;
    cr_assert_eq(sc_load_create(&l, &o), 0);
    sc_load_stats_t st;
    int rc = 1;
    for (int i = 0; i < 100000 && rc == 1; i++) {
        rc = sc_load_step(l, 100);
        sc_load_stats(l, &st);
        if (st.round_trips >= 50)
            break;
    }
    cr_assert_eq(rc, 1);
    sc_load_stop(l);
    int64_t t0 = sc_now_ms();
    cr_assert_eq(sc_load_run(l), 0);
    cr_assert_lt(sc_now_ms() - t0, 5000);
    sc_load_stats(l, &st);
    cr_assert(sc_load_passed(&st), "errors %llu lost %llu", st.errors, st.lost);
    cr_assert_eq(st.sent, st.echoed, "the requests in flight were waited for");
    sc_load_destroy(l);
    sct_server_stop(srv);
}

Test(load, result_line_has_every_key_in_order, .timeout = 30)
{
    sc_server_t *srv = sct_server_start(NULL);
    sc_addr_t a = sct_echo_target(srv, SOCK_STREAM, AF_INET);
    sc_load_opts_t o = load_opts(&a, SOCK_STREAM, SC_LOAD_PINGPONG, 2, 64, 100);
    sc_load_t *l = NULL;
    cr_assert_eq(sc_load_create(&l, &o), 0);
    cr_assert_eq(sc_load_run(l), 0);
    sc_load_stats_t st;
    sc_load_stats(l, &st);
    char line[512];
    int n = sc_load_format(l, &st, line, sizeof(line));
    cr_assert(n > 0 && (size_t)n < sizeof(line));
    const char *prefix = "load proto=tcp mode=pingpong conns=2 size=64 duration_s=";
    cr_assert(strncmp(line, prefix, strlen(prefix)) == 0, "%s", line);
    static const char *const keys[] = {" round_trips=100 ", " rt_per_s=", " mb_per_s=", " p50_us=", " p99_us=",
                                       " p999_us=", " max_us=", " sent=6400 ", " echoed=6400 ", " lost=0 ",
                                       " duplicated=0 ", " corrupted=0 ", " errors=0 ", " result=PASS"};
    const char *at = line;
    for (size_t i = 0; i < sizeof(keys) / sizeof(*keys); i++) {
        const char *k = strstr(at, keys[i]);
        cr_assert_not_null(k, "'%s' missing or out of order in: %s", keys[i], line);
        at = k + 1;
    }
    cr_assert_eq(strchr(line, '\n'), NULL);
    sc_load_destroy(l);
    sct_server_stop(srv);
}

Test(load, create_rejects_unusable_options, .timeout = 10)
{
    sc_addr_t a = sct_loopback(AF_INET, 7);
    sc_load_t *l = NULL;
    sc_load_opts_t o = load_opts(&a, SOCK_STREAM, SC_LOAD_PINGPONG, 1, 64, 0);
    cr_assert_eq(sc_load_create(&l, &o), SC_EUSAGE, "no duration and no count");
    o = load_opts(&a, SOCK_DGRAM, SC_LOAD_PINGPONG, 1, SC_LOAD_UDP_MIN_SIZE - 1, 1);
    cr_assert_eq(sc_load_create(&l, &o), SC_EUSAGE, "UDP datagram too small for its sequence number");
    o = load_opts(&a, SOCK_DGRAM, SC_LOAD_PINGPONG, 1, 65508, 1);
    cr_assert_eq(sc_load_create(&l, &o), SC_EUSAGE, "UDP datagram above 65507");
    o = load_opts(&a, SOCK_RAW, SC_LOAD_PINGPONG, 1, 64, 1);
    cr_assert_eq(sc_load_create(&l, &o), SC_EUSAGE);
    o = load_opts(&a, SOCK_STREAM, 7, 1, 64, 1);
    cr_assert_eq(sc_load_create(&l, &o), SC_EUSAGE);
    memset(&o.target, 0, sizeof(o.target));
    o.mode = SC_LOAD_PINGPONG;
    cr_assert_eq(sc_load_create(&l, &o), SC_EUSAGE, "no target");
    cr_assert_null(l);
}

/* ---- load: paced, spread, drain-tolerant, JSON ---- */

Test(load, interval_paces_each_connection, .timeout = 30)
{
    sc_server_t *srv = sct_server_start(NULL);
    sc_addr_t a = sct_echo_target(srv, SOCK_STREAM, AF_INET);
    sc_load_opts_t o = load_opts(&a, SOCK_STREAM, SC_LOAD_PINGPONG, 2, 64, 0);
    o.duration_ms = 500;
    o.interval_ms = 50;
    sc_load_stats_t st;
    run_load(&o, &st);
    /* 500 ms at one round trip per 50 ms and connection: about 10 each,
     * never the thousands an unpaced loop would do. */
    cr_assert(st.round_trips >= 8 && st.round_trips <= 24, "round trips %llu", st.round_trips);
    cr_assert(sc_load_passed(&st));
    cr_assert_eq(st.conns_peak, 2);
    sct_server_stop(srv);
}

Test(load, sources_are_bound_before_connect, .timeout = 30)
{
    sc_server_t *srv = sct_server_start(NULL);
    sc_addr_t a = sct_echo_target(srv, SOCK_STREAM, AF_INET);
    sc_addr_t src[2];
    cr_assert_eq(sc_addr_parse(&src[0], "127.0.0.2:0", 11, 0, 0), 0);
    cr_assert_eq(sc_addr_parse(&src[1], "127.0.0.3:0", 11, 0, 0), 0);
    sc_fault_init(&fault, NULL); /* no rules: it only counts the calls */
    sc_load_opts_t o = load_opts(&a, SOCK_STREAM, SC_LOAD_PINGPONG, 4, 64, 40);
    o.sources = src;
    o.nsources = 2;
    o.sys = &fault.sys;
    sc_load_stats_t st;
    run_load(&o, &st);
    assert_clean(&st, 40, 40 * 64);
    cr_assert_eq(fault.calls[SC_OP_BIND], 4);
    sct_server_stop(srv);
}

Test(load, source_of_another_family_is_a_usage_error)
{
    sc_addr_t a, src;
    cr_assert_eq(sc_addr_parse(&a, "127.0.0.1:9", 11, 0, 0), 0);
    cr_assert_eq(sc_addr_parse(&src, "[::1]:0", 7, 0, 0), 0);
    sc_load_opts_t o = load_opts(&a, SOCK_STREAM, SC_LOAD_PINGPONG, 1, 64, 1);
    o.sources = &src;
    o.nsources = 1;
    sc_load_t *l = NULL;
    cr_assert_eq(sc_load_create(&l, &o), SC_EUSAGE);
}

Test(load, interval_with_stream_or_eof_ok_with_udp_is_a_usage_error)
{
    sc_addr_t a;
    cr_assert_eq(sc_addr_parse(&a, "127.0.0.1:9", 11, 0, 0), 0);
    sc_load_t *l = NULL;
    sc_load_opts_t o = load_opts(&a, SOCK_STREAM, SC_LOAD_STREAM, 1, 64, 1);
    o.interval_ms = 10;
    cr_assert_eq(sc_load_create(&l, &o), SC_EUSAGE);
    o = load_opts(&a, SOCK_DGRAM, SC_LOAD_PINGPONG, 1, 64, 1);
    o.eof_ok = 1;
    cr_assert_eq(sc_load_create(&l, &o), SC_EUSAGE);
}

Test(load, eof_ok_counts_unechoed_bytes_not_lost, .timeout = 30)
{
    struct peer *p = peer_start(0, P_HALFCLOSE, 150, 0);
    sc_load_opts_t o = load_opts(&p->addr, SOCK_STREAM, SC_LOAD_PINGPONG, 1, 100, 10);
    o.eof_ok = 1;
    sc_load_stats_t st;
    run_load(&o, &st);
    /* Request 1 comes back; request 2 gets 50 bytes, then EOF: a clean
     * end, the other 50 bytes unechoed. */
    cr_assert_eq(st.round_trips, 1);
    cr_assert_eq(st.echoed, 150);
    cr_assert_eq(st.lost, 0);
    cr_assert_eq(st.unechoed, 50);
    cr_assert_eq(st.conns_eof, 1);
    cr_assert_eq(st.errors, 0);
    cr_assert(sc_load_passed(&st));
    peer_stop(p);
}

Test(load, json_result_carries_every_counter, .timeout = 30)
{
    sc_server_t *srv = sct_server_start(NULL);
    sc_addr_t a = sct_echo_target(srv, SOCK_STREAM, AF_INET);
    sc_load_opts_t o = load_opts(&a, SOCK_STREAM, SC_LOAD_PINGPONG, 2, 64, 20);
    sc_load_t *l = NULL;
    cr_assert_eq(sc_load_create(&l, &o), 0);
    cr_assert_eq(sc_load_run(l), 0);
    sc_load_stats_t st;
    sc_load_stats(l, &st);
    char buf[1024];
    int n = sc_load_format_json(l, &st, buf, sizeof(buf));
    cr_assert(n > 0 && (size_t)n < sizeof(buf));
    cr_assert_eq(buf[0], '{');
    cr_assert_eq(buf[n - 1], '}');
    cr_assert_neq(strstr(buf, "\"round_trips\":20,"), NULL, "%s", buf);
    cr_assert_neq(strstr(buf, "\"sent\":1280,\"echoed\":1280,\"lost\":0,"), NULL, "%s", buf);
    cr_assert_neq(strstr(buf, "\"conns_peak\":"), NULL, "%s", buf);
    cr_assert_neq(strstr(buf, "\"first_error\":\"\",\"result\":\"PASS\"}"), NULL, "%s", buf);
    sc_load_destroy(l);
    sct_server_stop(srv);
}
