/* The io loops' rarer turns, forced through an installed fault table:
 * EINTR and other errors from poll, a send that moves nothing, a deadline
 * that passes mid-transfer, a datagram sent short or reported cut. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "sockcheck/fault.h"
#include "sockcheck/io.h"
#include "sockcheck/net.h"
#include "sockcheck/sys.h"

static sc_fault_t fault;
static sc_sock_t sv[2] = {SC_INVALID_SOCK, SC_INVALID_SOCK};

/* A fresh fault table over the platform's, installed, and a connected
 * non-blocking pair of the given type made through it. */
static void setup_pair(int type)
{
#if defined(_WIN32)
    cr_skip_test("the seam's socketpair is POSIX's");
#endif
    sc_fault_init(&fault, NULL);
    sc_sys_install(&fault.sys);
    cr_assert_eq(fault.sys.socketpair(fault.sys.ctx, type, SC_NONBLOCK, sv), 0);
}

static void teardown(void)
{
    sc_sys_install(NULL);
    for (int i = 0; i < 2; i++)
        if (sv[i] != SC_INVALID_SOCK)
            sc_close(sv[i]);
    sv[0] = sv[1] = SC_INVALID_SOCK;
}

Test(coverage_io, remaining_ms_clamps_to_int_and_zero, .timeout = 10)
{
    cr_assert_eq(sc_remaining_ms(-1), -1);
    cr_assert_eq(sc_remaining_ms(sc_now_ms() - 5), 0);
    cr_assert_eq(sc_remaining_ms(sc_now_ms() + ((int64_t)1 << 40)), 0x7fffffff);
    cr_assert_eq(sc_deadline(-1), -1);
}

Test(coverage_io, wait_retries_eintr_and_returns_other_poll_errors, .fini = teardown, .timeout = 10)
{
    setup_pair(SOCK_STREAM);
    /* EINTR with time left: asked again, and the socket is writable. */
    cr_assert_eq(sc_fault_add(&fault, SC_OP_POLL, 1, 1, -EINTR, 0), 0);
    cr_assert_eq(sc_wait(sv[0], SC_EV_OUT, sc_deadline(1000)), SC_EV_OUT);
    cr_assert_eq(fault.calls[SC_OP_POLL], 2);
    /* EINTR at the deadline: a timeout, not another turn. */
    sc_fault_reset(&fault);
    cr_assert_eq(sc_fault_add(&fault, SC_OP_POLL, 0, 0, -EINTR, 0), 0);
    cr_assert_eq(sc_wait(sv[0], SC_EV_OUT, sc_now_ms() - 1), -ETIMEDOUT);
    cr_assert_eq(fault.calls[SC_OP_POLL], 1);
    sc_fault_reset(&fault);
    cr_assert_eq(sc_fault_add(&fault, SC_OP_POLL, 0, 0, -ENOMEM, 0), 0);
    cr_assert_eq(sc_wait(sv[0], SC_EV_OUT, sc_deadline(1000)), -ENOMEM);
}

Test(coverage_io, send_all_waits_when_a_send_moves_nothing, .fini = teardown, .timeout = 10)
{
    setup_pair(SOCK_STREAM);
    /* The first send is cut to 0 bytes: waited on like EAGAIN. */
    cr_assert_eq(sc_fault_add(&fault, SC_OP_SEND, 1, 1, 0, 0), 0);
    size_t done = 99;
    cr_assert_eq(sc_send_all(sv[0], "abcdef", 6, sc_deadline(1000), &done), 0);
    cr_assert_eq(done, 6);
    cr_assert_eq(fault.calls[SC_OP_SEND], 2);
    cr_assert_eq(fault.calls[SC_OP_POLL], 1);
    char buf[8];
    cr_assert_eq(sc_recv_exact(sv[1], buf, 6, -1, &done), 0, "no deadline: the calls as the socket is");
    cr_assert_arr_eq(buf, "abcdef", 6);
}

Test(coverage_io, transfer_stops_at_the_deadline_mid_way, .fini = teardown, .timeout = 10)
{
    setup_pair(SOCK_STREAM);
    cr_assert_eq(sc_send_all(sv[0], "abcdef", 6, sc_deadline(1000), NULL), 0);
    /* One byte per recv, and the deadline already past: one call is made
     * (non-blocking), then the loop gives up. */
    cr_assert_eq(sc_fault_add(&fault, SC_OP_RECV, 0, 0, 0, 1), 0);
    char buf[8];
    size_t done = 99;
    cr_assert_eq(sc_recv_exact(sv[1], buf, 6, sc_now_ms() - 1, &done), -ETIMEDOUT);
    cr_assert_eq(done, 1);
    cr_assert_eq(buf[0], 'a');
    cr_assert_eq(fault.calls[SC_OP_RECV], 1);
}

Test(coverage_io, transfer_retries_eintr_and_returns_a_hard_error, .fini = teardown, .timeout = 10)
{
    setup_pair(SOCK_STREAM);
    cr_assert_eq(sc_fault_add(&fault, SC_OP_SEND, 1, 2, -EINTR, 0), 0);
    cr_assert_eq(sc_send_all(sv[0], "xyz", 3, sc_deadline(1000), NULL), 0);
    cr_assert_eq(fault.calls[SC_OP_SEND], 3);
    cr_assert_eq(sc_fault_add(&fault, SC_OP_RECV, 1, 1, -ECONNRESET, 0), 0);
    char buf[4];
    size_t done = 99;
    cr_assert_eq(sc_recv_exact(sv[1], buf, 3, sc_deadline(1000), &done), -ECONNRESET);
    cr_assert_eq(done, 0);
    cr_assert_eq(sc_recv_some(sv[1], buf, sizeof(buf), sc_deadline(1000)), 3);
    cr_assert_arr_eq(buf, "xyz", 3);
    /* Nothing left: recv_some waits to its deadline. */
    cr_assert_eq(sc_recv_some(sv[1], buf, sizeof(buf), sc_now_ms() + 20), -ETIMEDOUT);
    cr_assert_eq(sc_fault_add(&fault, SC_OP_RECV, 0, 0, -ENOTCONN, 0), 0);
    cr_assert_eq(sc_recv_some(sv[1], buf, sizeof(buf), sc_deadline(1000)), -ENOTCONN);
}

Test(coverage_io, udp_send_reports_a_short_datagram_as_emsgsize, .fini = teardown, .timeout = 10)
{
    setup_pair(SOCK_DGRAM);
    cr_assert_eq(sc_fault_add(&fault, SC_OP_SENDTO, 1, 1, 0, 2), 0);
    cr_assert_eq(sc_udp_send(sv[0], "hello", 5, NULL, sc_deadline(1000)), -EMSGSIZE);
    /* The 2 bytes that went out are one datagram of 2. */
    char buf[8];
    size_t full = 0;
    cr_assert_eq(sc_udp_recv(sv[1], buf, sizeof(buf), NULL, &full, sc_deadline(1000)), 2);
    cr_assert_eq(full, 2);
    cr_assert_arr_eq(buf, "he", 2);
    /* EINTR is asked again; another error is the result. */
    cr_assert_eq(sc_fault_add(&fault, SC_OP_SENDTO, 2, 1, -EINTR, 0), 0);
    cr_assert_eq(sc_udp_send(sv[0], "hello", 5, NULL, sc_deadline(1000)), 0);
    cr_assert_eq(fault.calls[SC_OP_SENDTO], 3);
    cr_assert_eq(sc_fault_add(&fault, SC_OP_SENDTO, 4, 1, -EPERM, 0), 0);
    cr_assert_eq(sc_udp_send(sv[0], "hello", 5, NULL, sc_deadline(1000)), -EPERM);
    cr_assert_eq(sc_udp_recv(sv[1], buf, sizeof(buf), NULL, NULL, sc_deadline(1000)), 5);
    cr_assert_arr_eq(buf, "hello", 5);
}

Test(coverage_io, udp_recv_winsock_emsgsize_is_truncation, .fini = teardown, .timeout = 10)
{
    setup_pair(SOCK_DGRAM);
    cr_assert_eq(sc_udp_send(sv[0], "hello", 5, NULL, sc_deadline(1000)), 0);
    /* As Winsock reports a datagram cut to the buffer. */
    cr_assert_eq(sc_fault_add(&fault, SC_OP_RECVFROM, 1, 1, -EMSGSIZE, 0), 0);
    char buf[8];
    size_t full = 0;
    cr_assert_eq(sc_udp_recv(sv[1], buf, 3, NULL, &full, sc_deadline(1000)), SC_ETRUNCATED);
    cr_assert_eq(full, 3, "no real length: the buffer's");
    /* The datagram is still queued (the fault stood in for the call). */
    cr_assert_eq(sc_udp_recv(sv[1], buf, sizeof(buf), NULL, NULL, sc_deadline(1000)), 5);
    cr_assert_eq(sc_fault_add(&fault, SC_OP_RECVFROM, 0, 0, -ECONNREFUSED, 0), 0);
    cr_assert_eq(sc_udp_recv(sv[1], buf, sizeof(buf), NULL, NULL, sc_deadline(1000)), -ECONNREFUSED);
}
