/* The library's send/recv loops, datagram calls and error text, with
 * partial transfers, EINTR and EAGAIN injected through the fault seam. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>

#include "sockcheck/fault.h"
#include "sockcheck/io.h"
#include "sockcheck/net.h"
#include "support.h"

static sc_fault_t fault;

static void install_fault(void)
{
    sc_fault_init(&fault, NULL);
    sc_sys_install(&fault.sys);
}

static void uninstall_fault(void)
{
    sc_sys_install(NULL);
}

TestSuite(io, .init = install_fault, .fini = uninstall_fault, .timeout = 20);

static void stream_pair(int sv[2], int nonblock)
{
    cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | (nonblock ? SOCK_NONBLOCK : 0), 0, sv), 0);
}

static void fill(unsigned char *buf, size_t len, unsigned seed)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (unsigned char)(seed + i * 131u + (i >> 8));
}

Test(io, send_all_survives_one_byte_writes)
{
    int sv[2];
    unsigned char out[100], in[100]; /* few: each 1-byte skb costs ~1 KiB of socket buffer */
    size_t done = 0;
    stream_pair(sv, 0);
    fill(out, sizeof(out), 1);
    sc_fault_add(&fault, SC_OP_SEND, 0, 0, 0, 1);
    cr_assert_eq(sc_send_all(sv[0], out, sizeof(out), sc_deadline(5000), &done), 0);
    cr_assert_eq(done, sizeof(out));
    cr_assert_eq(fault.calls[SC_OP_SEND], sizeof(out), "one call per byte, got %lu", fault.calls[SC_OP_SEND]);
    /* Read back with the library's loop, not MSG_WAITALL: whether the 100
     * bytes have all arrived when the read starts is timing, and Wine's
     * MSG_WAITALL returns what has (api suite recv is where that is
     * judged). */
    size_t got = 0;
    cr_assert_eq(sc_recv_exact(sv[1], in, sizeof(in), sc_deadline(5000), &got), 0);
    cr_assert_eq(got, sizeof(in));
    cr_assert_arr_eq(in, out, sizeof(out));
}

Test(io, send_all_retries_after_eintr)
{
    int sv[2];
    unsigned char in[64];
    stream_pair(sv, 0);
    sc_fault_add(&fault, SC_OP_SEND, 1, 3, -EINTR, 0);
    cr_assert_eq(sc_send_all(sv[0], "0123456789", 10, sc_deadline(5000), NULL), 0);
    cr_assert_eq(fault.injected[SC_OP_SEND], 3);
    cr_assert_eq(recv(sv[1], in, sizeof(in), 0), 10);
    cr_assert_arr_eq(in, "0123456789", 10);
}

Test(io, send_all_waits_on_eagain)
{
    int sv[2];
    unsigned char in[64];
    stream_pair(sv, 1);
    sc_fault_add(&fault, SC_OP_SEND, 1, 2, -EAGAIN, 0);
    cr_assert_eq(sc_send_all(sv[0], "abc", 3, sc_deadline(5000), NULL), 0);
    cr_assert_geq(fault.calls[SC_OP_POLL], 2, "EAGAIN must wait with poll, not spin");
    cr_assert_eq(recv(sv[1], in, sizeof(in), 0), 3);
}

Test(io, send_all_times_out_when_peer_does_not_read)
{
    int sv[2];
    static unsigned char big[8 << 20];
    size_t done = 0;
    stream_pair(sv, 1);
    int64_t t0 = sc_now_ms();
    cr_assert_eq(sc_send_all(sv[0], big, sizeof(big), sc_deadline(200), &done), -ETIMEDOUT);
    cr_assert_lt(done, sizeof(big));
    cr_assert_lt(sc_now_ms() - t0, 5000, "the deadline bounds the loop");
}

Test(io, send_all_reports_epipe_when_peer_closed)
{
    int sv[2];
    size_t done = 99;
    stream_pair(sv, 0);
#if defined(_WIN32)
    /* The pair is TCP over loopback on Windows, where a send to a peer that
     * closed gracefully still succeeds and no call fails with EPIPE. The
     * peer resets instead (SO_LINGER zero: a hard close, closesocket
     * function, Remarks); once the reset has arrived, send fails with
     * WSAECONNRESET (send function, Return value). */
    struct linger hard = {1, 0};
    cr_assert_eq(setsockopt(sv[1], SOL_SOCKET, SO_LINGER, (const char *)&hard, sizeof(hard)), 0);
    close(sv[1]);
    struct pollfd p = {.fd = sv[0], .events = POLLIN};
    cr_assert_eq(poll(&p, 1, 1000), 1, "the reset arrives");
    cr_assert_eq(sc_send_all(sv[0], "x", 1, sc_deadline(1000), &done), -ECONNRESET);
#else
    close(sv[1]);
    cr_assert_eq(sc_send_all(sv[0], "x", 1, sc_deadline(1000), &done), -EPIPE);
#endif
    cr_assert_eq(done, 0);
}

Test(io, send_all_returns_injected_reset)
{
    int sv[2];
    size_t done = 0;
    stream_pair(sv, 0);
    sc_fault_add(&fault, SC_OP_SEND, 2, 1, -ECONNRESET, 0);
    sc_fault_add(&fault, SC_OP_SEND, 1, 1, 0, 4);
    cr_assert_eq(sc_send_all(sv[0], "0123456789", 10, sc_deadline(1000), &done), -ECONNRESET);
    cr_assert_eq(done, 4, "bytes sent before the failure are reported");
}

Test(io, recv_exact_survives_one_byte_reads_and_eintr)
{
    int sv[2];
    unsigned char out[300], in[300];
    size_t done = 0;
    stream_pair(sv, 0);
    fill(out, sizeof(out), 7);
    cr_assert_eq(send(sv[1], out, sizeof(out), 0), (ssize_t)sizeof(out));
    sc_fault_add(&fault, SC_OP_RECV, 1, 5, -EINTR, 0);
    sc_fault_add(&fault, SC_OP_RECV, 0, 0, 0, 1);
    cr_assert_eq(sc_recv_exact(sv[0], in, sizeof(in), sc_deadline(5000), &done), 0);
    cr_assert_eq(done, sizeof(in));
    cr_assert_arr_eq(in, out, sizeof(out));
}

Test(io, recv_exact_reports_eof_with_count)
{
    int sv[2];
    unsigned char in[10];
    size_t done = 0;
    stream_pair(sv, 0);
    cr_assert_eq(send(sv[1], "abcd", 4, 0), 4);
    close(sv[1]);
    cr_assert_eq(sc_recv_exact(sv[0], in, sizeof(in), sc_deadline(1000), &done), SC_EEOF);
    cr_assert_eq(done, 4);
}

Test(io, recv_exact_times_out)
{
    int sv[2];
    unsigned char in[10];
    size_t done = 9;
    stream_pair(sv, 1);
    cr_assert_eq(sc_recv_exact(sv[0], in, sizeof(in), sc_deadline(100), &done), -ETIMEDOUT);
    cr_assert_eq(done, 0);
}

Test(io, recv_some_returns_zero_at_eof)
{
    int sv[2];
    char in[4];
    stream_pair(sv, 1);
    shutdown(sv[1], SHUT_WR);
    cr_assert_eq(sc_recv_some(sv[0], in, sizeof(in), sc_deadline(1000)), 0);
}

Test(io, recv_some_waits_for_data)
{
    int sv[2];
    char in[4];
    stream_pair(sv, 1);
    sc_fault_add(&fault, SC_OP_RECV, 1, 1, -EAGAIN, 0);
    cr_assert_eq(send(sv[1], "zz", 2, 0), 2);
    cr_assert_eq(sc_recv_some(sv[0], in, sizeof(in), sc_deadline(1000)), 2);
    cr_assert_eq(fault.calls[SC_OP_RECV], 2);
}

Test(io, wait_times_out_and_survives_eintr)
{
    int sv[2];
    stream_pair(sv, 1);
    sc_fault_add(&fault, SC_OP_POLL, 1, 2, -EINTR, 0);
    cr_assert_eq(sc_wait(sv[0], SC_EV_IN, sc_deadline(50)), -ETIMEDOUT);
    cr_assert_eq(fault.injected[SC_OP_POLL], 2);
    cr_assert(sc_wait(sv[0], SC_EV_OUT, sc_deadline(50)) & SC_EV_OUT);
}

Test(io, wait_reports_poll_failure)
{
    int sv[2];
    stream_pair(sv, 1);
    sc_fault_add(&fault, SC_OP_POLL, 1, 1, -ENOMEM, 0);
    cr_assert_eq(sc_wait(sv[0], SC_EV_IN, sc_deadline(50)), -ENOMEM);
}

Test(io, deadline_and_remaining)
{
    cr_assert_eq(sc_deadline(-1), -1);
    cr_assert_eq(sc_remaining_ms(-1), -1);
    cr_assert_eq(sc_remaining_ms(sc_now_ms() - 10), 0);
    int left = sc_remaining_ms(sc_deadline(10000));
    cr_assert(left > 5000 && left <= 10000, "left %d", left);
}

static int udp_pair(int family, sc_addr_t *a, sc_addr_t *b, int *sb)
{
    int sa = sct_bound(family, SOCK_DGRAM, a);
    *sb = sct_bound(family, SOCK_DGRAM, b);
    return sa;
}

Test(io, udp_datagram_round_trip_reports_source)
{
    sc_addr_t a, b, from;
    int sb, sa = udp_pair(AF_INET, &a, &b, &sb);
    char in[16];
    cr_assert_eq(sc_udp_send(sa, "dgram", 5, &b, sc_deadline(1000)), 0);
    cr_assert_eq(sc_udp_recv(sb, in, sizeof(in), &from, NULL, sc_deadline(1000)), 5);
    cr_assert_arr_eq(in, "dgram", 5);
    cr_assert(sc_addr_equal(&from, &a), "source is the sender's address");
}

Test(io, udp_recv_reports_truncation)
{
    sc_addr_t a, b;
    int sb, sa = udp_pair(AF_INET, &a, &b, &sb);
    char out[100], in[10];
    size_t full = 0;
    memset(out, 'q', sizeof(out));
    cr_assert_eq(sc_udp_send(sa, out, sizeof(out), &b, sc_deadline(1000)), 0);
    cr_assert_eq(sc_udp_recv(sb, in, sizeof(in), NULL, &full, sc_deadline(1000)), SC_ETRUNCATED);
#if defined(_WIN32)
    /* Winsock does not say the real length: recvfrom fills the buffer and
     * fails with WSAEMSGSIZE (recvfrom function, Remarks). */
    cr_assert_eq(full, sizeof(in), "Windows reports the length received");
#else
    cr_assert_eq(full, sizeof(out), "Linux reports the real length with MSG_TRUNC");
#endif
}

Test(io, udp_send_reports_short_datagram)
{
    sc_addr_t a, b;
    int sb, sa = udp_pair(AF_INET, &a, &b, &sb);
    (void)sb;
    sc_fault_add(&fault, SC_OP_SENDTO, 1, 1, 0, 3);
    cr_assert_eq(sc_udp_send(sa, "abcdef", 6, &b, sc_deadline(1000)), -EMSGSIZE);
}

Test(io, udp_send_reports_oversized_datagram)
{
    sc_addr_t a, b;
    int sb, sa = udp_pair(AF_INET, &a, &b, &sb);
    static char big[70000];
    (void)sb;
    cr_assert_eq(sc_udp_send(sa, big, sizeof(big), &b, sc_deadline(1000)), -EMSGSIZE);
}

Test(io, udp_recv_times_out)
{
    sc_addr_t a, b;
    int sb, sa = udp_pair(AF_INET6, &a, &b, &sb);
    char in[4];
    (void)sa;
    fcntl(sb, F_SETFL, O_NONBLOCK);
    cr_assert_eq(sc_udp_recv(sb, in, sizeof(in), NULL, NULL, sc_deadline(50)), -ETIMEDOUT);
}

Test(io, strerror_names_every_own_error)
{
    const int own[] = {SC_EADDRFORMAT, SC_EPORTRANGE, SC_EMISMATCH, SC_EEOF, SC_ETRUNCATED, SC_ERESOLVE, SC_EUSAGE};
    for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++) {
        const char *t = sc_strerror(own[i]);
        cr_assert(t && *t && !strstr(t, "Unknown"), "code %d has text '%s'", own[i], t);
    }
    cr_assert_str_eq(sc_strerror(-ECONNREFUSED), strerror(ECONNREFUSED));
    cr_assert_str_eq(sc_strerror(0), "success");
}

Test(io, close_of_invalid_socket_is_a_no_op)
{
    cr_assert_eq(sc_close(SC_INVALID_SOCK), 0);
    cr_assert_eq(fault.calls[SC_OP_CLOSE], 0);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_eq(sc_close(fd), 0);
#if defined(_WIN32)
    /* A closed SOCKET is no socket: closesocket fails with WSAENOTSOCK
     * (closesocket function, Return value). */
    cr_assert_eq(sc_close(fd), -ENOTSOCK);
#else
    cr_assert_eq(sc_close(fd), -EBADF);
#endif
}

Test(fault, rules_count_calls_and_limits)
{
    sc_fault_t f;
    sc_fault_init(&f, NULL);
    cr_assert_eq(sc_fault_add(&f, SC_OP_COUNT, 0, 0, -EINTR, 0), -EINVAL);
    cr_assert_eq(sc_fault_add(&f, SC_OP_SEND, 0, 0, EINTR, 0), -EINVAL, "errors are negative");
    for (int i = 0; i < SC_FAULT_MAX_RULES; i++)
        cr_assert_eq(sc_fault_add(&f, SC_OP_BIND, 100 + (unsigned)i, 1, -EACCES, 0), 0);
    cr_assert_eq(sc_fault_add(&f, SC_OP_BIND, 1, 1, -EACCES, 0), -ENOSPC);
    sc_fault_reset(&f);
    cr_assert_eq(f.nrules, 0);
    /* Calls 2 and 3 of socket fail; 1 and 4 go through. */
    sc_fault_add(&f, SC_OP_SOCKET, 2, 2, -EMFILE, 0);
    for (int i = 1; i <= 4; i++) {
        sc_sock_t s = (f.sys.socket)(f.sys.ctx, AF_INET, SOCK_DGRAM, 0, 0);
        if (i == 2 || i == 3)
            cr_assert_eq(s, -EMFILE, "call %d", i);
        else {
            cr_assert_geq(s, 0, "call %d", i);
            close((int)s);
        }
    }
    cr_assert_eq(f.calls[SC_OP_SOCKET], 4);
    cr_assert_eq(f.injected[SC_OP_SOCKET], 2);
    cr_assert_str_eq(sc_op_name(SC_OP_EV_WAIT), "ev_wait");
    cr_assert_str_eq(sc_op_name(SC_OP_COUNT), "?");
}

Test(fault, injected_close_error_still_closes)
{
    sc_fault_t f;
    sc_fault_init(&f, NULL);
    sc_fault_add(&f, SC_OP_CLOSE, 1, 1, -EINTR, 0);
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    cr_assert_eq((f.sys.close)(f.sys.ctx, fd), -EINTR);
    cr_assert_eq(fcntl(fd, F_GETFD), -1, "the descriptor was released");
    cr_assert_eq(errno, EBADF);
}

Test(sys, install_returns_previous_and_null_restores_platform)
{
    sc_fault_t f;
    sc_fault_init(&f, NULL);
    const sc_sys_t *old = sc_sys_install(&f.sys);
    cr_assert_eq(old, sc_sys_platform());
    cr_assert_eq(sc_sys_current(), &f.sys);
    cr_assert_eq(sc_sys_install(NULL), &f.sys);
    cr_assert_eq(sc_sys_current(), sc_sys_platform());
}

/* A deadline bounds the loops on blocking sockets too: no call may sit in
 * the kernel past it (a lost byte or a missing FIN must not hang). */
Test(io, deadline_bounds_blocking_sockets, .timeout = 10)
{
    int sv[2];
    char in[8];
    size_t done = 9;
    stream_pair(sv, 0);
    int64_t t0 = sc_now_ms();
    cr_assert_eq(sc_recv_exact(sv[0], in, sizeof(in), sc_deadline(100), &done), -ETIMEDOUT);
    cr_assert_eq(done, 0);
    cr_assert_eq(sc_recv_some(sv[0], in, sizeof(in), sc_deadline(100)), -ETIMEDOUT);
    static char big[8 << 20];
    cr_assert_eq(sc_send_all(sv[0], big, sizeof(big), sc_deadline(100), &done), -ETIMEDOUT);
    cr_assert_lt(done, sizeof(big));
    sc_addr_t a, b;
    int sb, sa = udp_pair(AF_INET, &a, &b, &sb);
    (void)sa;
    cr_assert_eq(sc_udp_recv(sb, in, sizeof(in), NULL, NULL, sc_deadline(100)), -ETIMEDOUT);
    cr_assert_lt(sc_now_ms() - t0, 5000);
}
