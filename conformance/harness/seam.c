/* The seam's own tables and the event loop under them: every operation of
 * the fault table with an error rule and with a short-transfer rule, the
 * platform table's error paths, and the poll and epoll backends' edges. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "loop.h"
#include "sockcheck/fault.h"
#include "sockcheck/net.h"
#include "sockcheck/sys.h"

/* ---- seam_fault: a recording inner table under the fault table ---- */

/* What the recording table saw: the operation called last and the length
 * it was handed; every call returns REC_RET (or the length for transfers),
 * so that a test tells a pass-through from an injected fault. */
#define REC_RET 7
static struct {
    int op;
    size_t len;
    unsigned long calls;
} rec;

#define REC(o) (rec.op = (o), rec.calls++)

static sc_sock_t r_socket(void *c, int d, int t, int p, int fl)
{
    (void)c, (void)d, (void)t, (void)p, (void)fl;
    REC(SC_OP_SOCKET);
    return REC_RET;
}
static int r_socketpair(void *c, int t, int fl, sc_sock_t sv[2])
{
    (void)c, (void)t, (void)fl, (void)sv;
    REC(SC_OP_SOCKETPAIR);
    return REC_RET;
}
static int r_bind(void *c, sc_sock_t s, const struct sockaddr *sa, sc_socklen_t l)
{
    (void)c, (void)s, (void)sa, (void)l;
    REC(SC_OP_BIND);
    return REC_RET;
}
static int r_listen(void *c, sc_sock_t s, int b)
{
    (void)c, (void)s, (void)b;
    REC(SC_OP_LISTEN);
    return REC_RET;
}
static sc_sock_t r_accept(void *c, sc_sock_t s, struct sockaddr *sa, sc_socklen_t *l, int fl)
{
    (void)c, (void)s, (void)sa, (void)l, (void)fl;
    REC(SC_OP_ACCEPT);
    return REC_RET;
}
static int r_connect(void *c, sc_sock_t s, const struct sockaddr *sa, sc_socklen_t l)
{
    (void)c, (void)s, (void)sa, (void)l;
    REC(SC_OP_CONNECT);
    return REC_RET;
}
static ptrdiff_t r_send(void *c, sc_sock_t s, const void *b, size_t len, int fl)
{
    (void)c, (void)s, (void)b, (void)fl;
    REC(SC_OP_SEND);
    rec.len = len;
    return (ptrdiff_t)len;
}
static ptrdiff_t r_recv(void *c, sc_sock_t s, void *b, size_t len, int fl)
{
    (void)c, (void)s, (void)b, (void)fl;
    REC(SC_OP_RECV);
    rec.len = len;
    return (ptrdiff_t)len;
}
static ptrdiff_t r_sendto(void *c, sc_sock_t s, const void *b, size_t len, int fl, const struct sockaddr *sa,
                          sc_socklen_t sl)
{
    (void)c, (void)s, (void)b, (void)fl, (void)sa, (void)sl;
    REC(SC_OP_SENDTO);
    rec.len = len;
    return (ptrdiff_t)len;
}
static ptrdiff_t r_recvfrom(void *c, sc_sock_t s, void *b, size_t len, int fl, struct sockaddr *sa, sc_socklen_t *sl)
{
    (void)c, (void)s, (void)b, (void)fl, (void)sa, (void)sl;
    REC(SC_OP_RECVFROM);
    rec.len = len;
    return (ptrdiff_t)len;
}
static int r_shutdown(void *c, sc_sock_t s, int how)
{
    (void)c, (void)s, (void)how;
    REC(SC_OP_SHUTDOWN);
    return REC_RET;
}
static int r_close(void *c, sc_sock_t s)
{
    (void)c, (void)s;
    REC(SC_OP_CLOSE);
    return REC_RET;
}
static int r_poll(void *c, sc_pollfd_t *f, size_t n, int t)
{
    (void)c, (void)f, (void)n, (void)t;
    REC(SC_OP_POLL);
    return REC_RET;
}
static int r_setsockopt(void *c, sc_sock_t s, int lv, int nm, const void *v, sc_socklen_t l)
{
    (void)c, (void)s, (void)lv, (void)nm, (void)v, (void)l;
    REC(SC_OP_SETSOCKOPT);
    return REC_RET;
}
static int r_getsockopt(void *c, sc_sock_t s, int lv, int nm, void *v, sc_socklen_t *l)
{
    (void)c, (void)s, (void)lv, (void)nm, (void)v, (void)l;
    REC(SC_OP_GETSOCKOPT);
    return REC_RET;
}
static int r_getsockname(void *c, sc_sock_t s, struct sockaddr *sa, sc_socklen_t *l)
{
    (void)c, (void)s, (void)sa, (void)l;
    REC(SC_OP_GETSOCKNAME);
    return REC_RET;
}
static int r_getpeername(void *c, sc_sock_t s, struct sockaddr *sa, sc_socklen_t *l)
{
    (void)c, (void)s, (void)sa, (void)l;
    REC(SC_OP_GETPEERNAME);
    return REC_RET;
}
static int r_set_nonblock(void *c, sc_sock_t s, int on)
{
    (void)c, (void)s, (void)on;
    REC(SC_OP_SET_NONBLOCK);
    return REC_RET;
}
static int r_ev_create(void *c)
{
    (void)c;
    REC(SC_OP_EV_CREATE);
    return REC_RET;
}
static int r_ev_ctl(void *c, int ep, int op, sc_sock_t s, uint32_t ev, uint64_t d)
{
    (void)c, (void)ep, (void)op, (void)s, (void)ev, (void)d;
    REC(SC_OP_EV_CTL);
    return REC_RET;
}
static int r_ev_wait(void *c, int ep, sc_event_t *evs, int max, int t)
{
    (void)c, (void)ep, (void)evs, (void)max, (void)t;
    REC(SC_OP_EV_WAIT);
    return REC_RET;
}

static const sc_sys_t recorder = {
    .socket = r_socket, .socketpair = r_socketpair, .bind = r_bind, .listen = r_listen,
    .accept = r_accept, .connect = r_connect, .send = r_send, .recv = r_recv,
    .sendto = r_sendto, .recvfrom = r_recvfrom, .shutdown = r_shutdown, .close = r_close,
    .poll = r_poll, .setsockopt = r_setsockopt, .getsockopt = r_getsockopt,
    .getsockname = r_getsockname, .getpeername = r_getpeername, .set_nonblock = r_set_nonblock,
    .ev_create = r_ev_create, .ev_ctl = r_ev_ctl, .ev_wait = r_ev_wait,
};

#define XFER_LEN 100 /* length every transfer asks for */

/* Calls operation op of sys once, with harmless arguments. */
static ptrdiff_t call_op(const sc_sys_t *sys, sc_op_t op)
{
    char buf[XFER_LEN];
    struct sockaddr_storage ss;
    sc_socklen_t sl = sizeof(ss);
    sc_sock_t sv[2];
    sc_pollfd_t p;
    sc_event_t ev;
    int v = 0;
    sc_socklen_t vl = sizeof(v);
    memset(&ss, 0, sizeof(ss));
    memset(buf, 0, sizeof(buf));
    switch (op) {
    case SC_OP_SOCKET: return SC__CALL(sys, socket, AF_INET, SOCK_STREAM, 0, 0);
    case SC_OP_SOCKETPAIR: return SC__CALL(sys, socketpair, SOCK_STREAM, 0, sv);
    case SC_OP_BIND: return SC__CALL(sys, bind, 3, (struct sockaddr *)&ss, sl);
    case SC_OP_LISTEN: return SC__CALL(sys, listen, 3, 1);
    case SC_OP_ACCEPT: return SC__CALL(sys, accept, 3, (struct sockaddr *)&ss, &sl, 0);
    case SC_OP_CONNECT: return SC__CALL(sys, connect, 3, (struct sockaddr *)&ss, sl);
    case SC_OP_SEND: return SC__CALL(sys, send, 3, buf, XFER_LEN, 0);
    case SC_OP_RECV: return SC__CALL(sys, recv, 3, buf, XFER_LEN, 0);
    case SC_OP_SENDTO: return SC__CALL(sys, sendto, 3, buf, XFER_LEN, 0, (struct sockaddr *)&ss, sl);
    case SC_OP_RECVFROM: return SC__CALL(sys, recvfrom, 3, buf, XFER_LEN, 0, (struct sockaddr *)&ss, &sl);
    case SC_OP_SHUTDOWN: return SC__CALL(sys, shutdown, 3, 1);
    case SC_OP_CLOSE: return SC__CALL(sys, close, 3);
    case SC_OP_POLL: return SC__CALL(sys, poll, &p, 0, 0);
    case SC_OP_SETSOCKOPT: return SC__CALL(sys, setsockopt, 3, SOL_SOCKET, SO_REUSEADDR, &v, vl);
    case SC_OP_GETSOCKOPT: return SC__CALL(sys, getsockopt, 3, SOL_SOCKET, SO_TYPE, &v, &vl);
    case SC_OP_GETSOCKNAME: return SC__CALL(sys, getsockname, 3, (struct sockaddr *)&ss, &sl);
    case SC_OP_GETPEERNAME: return SC__CALL(sys, getpeername, 3, (struct sockaddr *)&ss, &sl);
    case SC_OP_SET_NONBLOCK: return SC__CALL(sys, set_nonblock, 3, 1);
    case SC_OP_EV_CREATE: return sys->ev_create(sys->ctx);
    case SC_OP_EV_CTL: return SC__CALL(sys, ev_ctl, 3, SC_EV_ADD, 4, SC_EV_IN, 0);
    case SC_OP_EV_WAIT: return SC__CALL(sys, ev_wait, 3, &ev, 1, 0);
    case SC_OP_COUNT: break;
    }
    return -ENOTSUP;
}

static int is_transfer(sc_op_t op)
{
    return op == SC_OP_SEND || op == SC_OP_RECV || op == SC_OP_SENDTO || op == SC_OP_RECVFROM;
}

Test(seam_fault, every_op_fails_with_its_error_rule_without_reaching_inner, .timeout = 10)
{
    static sc_fault_t f;
    for (int op = 0; op < SC_OP_COUNT; op++) {
        sc_fault_init(&f, &recorder);
        cr_assert_eq(sc_fault_add(&f, (sc_op_t)op, 0, 0, -ENETDOWN, 0), 0);
        memset(&rec, 0, sizeof(rec));
        cr_assert_eq(call_op(&f.sys, (sc_op_t)op), -ENETDOWN, "%s", sc_op_name((sc_op_t)op));
        cr_assert_eq(f.calls[op], 1, "%s", sc_op_name((sc_op_t)op));
        cr_assert_eq(f.injected[op], 1, "%s", sc_op_name((sc_op_t)op));
        /* An injected close still closes (no leak); nothing else is passed on. */
        cr_assert_eq(rec.calls, op == SC_OP_CLOSE ? 1u : 0u, "%s", sc_op_name((sc_op_t)op));
    }
}

Test(seam_fault, every_op_passes_a_short_transfer_rule_through_capped, .timeout = 10)
{
    static sc_fault_t f;
    for (int op = 0; op < SC_OP_COUNT; op++) {
        sc_fault_init(&f, &recorder);
        cr_assert_eq(sc_fault_add(&f, (sc_op_t)op, 0, 0, 0, 3), 0);
        memset(&rec, 0, sizeof(rec));
        ptrdiff_t rc = call_op(&f.sys, (sc_op_t)op);
        cr_assert_eq(rec.calls, 1, "%s reached the inner table", sc_op_name((sc_op_t)op));
        cr_assert_eq(rec.op, op);
        cr_assert_eq(rc, is_transfer((sc_op_t)op) ? 3 : REC_RET, "%s: %td", sc_op_name((sc_op_t)op), rc);
        cr_assert_eq(f.injected[op], 1);
    }
}

Test(seam_fault, short_transfer_cap_above_the_length_changes_nothing, .timeout = 10)
{
    static sc_fault_t f;
    static const sc_op_t xfer[] = {SC_OP_SEND, SC_OP_RECV, SC_OP_SENDTO, SC_OP_RECVFROM};
    for (size_t i = 0; i < sizeof(xfer) / sizeof(xfer[0]); i++) {
        sc_fault_init(&f, &recorder);
        cr_assert_eq(sc_fault_add(&f, xfer[i], 0, 0, 0, XFER_LEN + 1), 0);
        memset(&rec, 0, sizeof(rec));
        cr_assert_eq(call_op(&f.sys, xfer[i]), XFER_LEN);
        cr_assert_eq(rec.len, XFER_LEN);
        /* No rule for this op at all: the whole length too. */
        sc_fault_reset(&f);
        cr_assert_eq(call_op(&f.sys, xfer[i]), XFER_LEN);
        cr_assert_eq(f.injected[xfer[i]], 0);
    }
}

Test(seam_fault, rule_window_counts_calls_nth_to_nth_plus_count, .timeout = 10)
{
    static sc_fault_t f;
    sc_fault_init(&f, &recorder);
    /* Calls 2 and 3 of listen fail; 1 and 4 pass; another op is not hit. */
    cr_assert_eq(sc_fault_add(&f, SC_OP_LISTEN, 2, 2, -EIO, 0), 0);
    int want[] = {REC_RET, -EIO, -EIO, REC_RET, REC_RET};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        cr_assert_eq(call_op(&f.sys, SC_OP_LISTEN), want[i], "call %zu", i + 1);
    cr_assert_eq(call_op(&f.sys, SC_OP_BIND), REC_RET);
    cr_assert_eq(f.calls[SC_OP_LISTEN], 5);
    cr_assert_eq(f.injected[SC_OP_LISTEN], 2);
    cr_assert_eq(f.calls[SC_OP_BIND], 1);
    cr_assert_eq(f.injected[SC_OP_BIND], 0);
}

Test(seam_fault, add_rejects_bad_op_positive_error_and_a_full_table, .timeout = 10)
{
    static sc_fault_t f;
    sc_fault_init(&f, &recorder);
    cr_assert_eq(sc_fault_add(&f, SC_OP_COUNT, 0, 0, -EIO, 0), -EINVAL);
    cr_assert_eq(sc_fault_add(&f, SC_OP_SEND, 0, 0, EIO, 0), -EINVAL);
    cr_assert_eq(f.nrules, 0);
    for (int i = 0; i < SC_FAULT_MAX_RULES; i++)
        cr_assert_eq(sc_fault_add(&f, SC_OP_SEND, (unsigned)i + 100, 1, -EIO, 0), 0);
    cr_assert_eq(sc_fault_add(&f, SC_OP_SEND, 0, 0, -EIO, 0), -ENOSPC);
    cr_assert_eq(f.nrules, SC_FAULT_MAX_RULES);
    cr_assert_str_eq(sc_op_name(SC_OP_EV_WAIT), "ev_wait");
    cr_assert_str_eq(sc_op_name(SC_OP_COUNT), "?");
}

Test(seam_fault, ev_create_is_enosys_when_the_inner_table_has_none, .timeout = 10)
{
    static sc_fault_t f;
    static sc_sys_t bare;
    bare = recorder;
    bare.ev_create = NULL;
    sc_fault_init(&f, &bare);
    cr_assert_eq(f.sys.ev_create(f.sys.ctx), -ENOSYS);
    cr_assert_eq(f.calls[SC_OP_EV_CREATE], 1);
    sc_fault_init(&f, NULL);
    cr_assert_eq(f.inner, sc_sys_platform(), "NULL inner: the platform's table");
}

/* ---- seam_platform: the platform table's error paths ---- */

#if !defined(_WIN32)
#include <fcntl.h>
#include <unistd.h>

/* A descriptor number that is closed now (the test is single-threaded). */
static int closed_fd(void)
{
    int fd = dup(0);
    cr_assert_geq(fd, 0);
    cr_assert_eq(close(fd), 0);
    return fd;
}
#endif

Test(seam_platform, every_descriptor_op_on_a_closed_descriptor_is_ebadf, .timeout = 10)
{
#if defined(_WIN32)
    cr_skip_test("POSIX descriptors only: Winsock says WSAENOTSOCK (api suites)");
#else
    const sc_sys_t *sys = sc_sys_platform();
    int fd = closed_fd();
    struct sockaddr_in sin = {.sin_family = AF_INET};
    sc_socklen_t sl = sizeof(sin);
    char buf[8] = "x";
    int v = 1;
    sc_socklen_t vl = sizeof(v);
    cr_assert_eq(SC__CALL(sys, bind, fd, (struct sockaddr *)&sin, sl), -EBADF);
    cr_assert_eq(SC__CALL(sys, listen, fd, 1), -EBADF);
    cr_assert_eq(SC__CALL(sys, accept, fd, NULL, NULL, SC_NONBLOCK), -EBADF);
    cr_assert_eq(SC__CALL(sys, connect, fd, (struct sockaddr *)&sin, sl), -EBADF);
    cr_assert_eq(SC__CALL(sys, send, fd, buf, 1, 0), -EBADF);
    cr_assert_eq(SC__CALL(sys, recv, fd, buf, 1, 0), -EBADF);
    cr_assert_eq(SC__CALL(sys, sendto, fd, buf, 1, 0, (struct sockaddr *)&sin, sl), -EBADF);
    cr_assert_eq(SC__CALL(sys, recvfrom, fd, buf, 1, 0, NULL, NULL), -EBADF);
    cr_assert_eq(SC__CALL(sys, shutdown, fd, SHUT_RDWR), -EBADF);
    cr_assert_eq(SC__CALL(sys, setsockopt, fd, SOL_SOCKET, SO_REUSEADDR, &v, vl), -EBADF);
    cr_assert_eq(SC__CALL(sys, getsockopt, fd, SOL_SOCKET, SO_TYPE, &v, &vl), -EBADF);
    cr_assert_eq(SC__CALL(sys, getsockname, fd, (struct sockaddr *)&sin, &sl), -EBADF);
    cr_assert_eq(SC__CALL(sys, getpeername, fd, (struct sockaddr *)&sin, &sl), -EBADF);
    cr_assert_eq(SC__CALL(sys, set_nonblock, fd, 1), -EBADF);
    cr_assert_eq(SC__CALL(sys, close, fd), -EBADF);
    cr_assert_eq(sc_close(fd), -EBADF, "sc_close goes through the same table");
    cr_assert_eq(sc_close(SC_INVALID_SOCK), 0, "closing no socket is a no-op");
#if defined(__linux__)
    sc_event_t ev;
    cr_assert_eq(SC__CALL(sys, ev_ctl, fd, SC_EV_ADD, 0, SC_EV_IN, 0), -EBADF);
    cr_assert_eq(SC__CALL(sys, ev_wait, fd, &ev, 1, 0), -EBADF);
#endif
#endif
}

Test(seam_platform, creation_errors_and_flags, .timeout = 10)
{
#if defined(_WIN32)
    cr_skip_test("POSIX socketpair and fcntl flags only");
#else
    const sc_sys_t *sys = sc_sys_platform();
    cr_assert_eq(SC__CALL(sys, socket, -1, SOCK_STREAM, 0, 0), -EAFNOSUPPORT);
    sc_sock_t sv[2];
    cr_assert_eq(SC__CALL(sys, socketpair, -1, 0, sv), -EINVAL, "a socket type that does not exist");
    /* Both flags on a pair: non-blocking and close-on-exec, each end. */
    cr_assert_eq(SC__CALL(sys, socketpair, SOCK_STREAM, SC_NONBLOCK | SC_CLOEXEC, sv), 0);
    for (int i = 0; i < 2; i++) {
        cr_assert_neq(fcntl((int)sv[i], F_GETFL) & O_NONBLOCK, 0);
        cr_assert_neq(fcntl((int)sv[i], F_GETFD) & FD_CLOEXEC, 0);
    }
    /* set_nonblock off clears the flag again: a read then waits (here:
     * it is reported as a blocking socket by F_GETFL). */
    cr_assert_eq(SC__CALL(sys, set_nonblock, sv[0], 0), 0);
    cr_assert_eq(fcntl((int)sv[0], F_GETFL) & O_NONBLOCK, 0);
    char b;
    cr_assert_eq(SC__CALL(sys, recv, sv[1], &b, 1, 0), -EAGAIN, "the other end is still non-blocking");
    cr_assert_eq(SC__CALL(sys, close, sv[0]), 0);
    cr_assert_eq(SC__CALL(sys, close, sv[1]), 0);
    /* Installing NULL restores the platform's table. */
    static sc_fault_t f;
    sc_fault_init(&f, NULL);
    cr_assert_eq(sc_sys_install(&f.sys), sys);
    cr_assert_eq(sc_sys_current(), &f.sys);
    cr_assert_eq(sc_sys_install(NULL), &f.sys);
    cr_assert_eq(sc_sys_current(), sys);
#endif
}

Test(seam_platform, ev_wait_caps_max_at_its_batch, .timeout = 10)
{
#if !defined(__linux__)
    cr_skip_test("epoll is Linux's");
#else
    const sc_sys_t *sys = sc_sys_platform();
    int ep = sys->ev_create(sys->ctx);
    cr_assert_geq(ep, 0);
    sc_sock_t sv[2];
    cr_assert_eq(SC__CALL(sys, socketpair, SOCK_STREAM, SC_NONBLOCK, sv), 0);
    cr_assert_eq(SC__CALL(sys, ev_ctl, ep, SC_EV_ADD, sv[0], SC_EV_OUT, 42), 0);
    cr_assert_eq(SC__CALL(sys, ev_ctl, ep, SC_EV_MOD, sv[0], SC_EV_OUT | SC_EV_IN, 43), 0);
    static sc_event_t evs[1000];
    cr_assert_eq(SC__CALL(sys, ev_wait, ep, evs, 1000, 0), 1);
    cr_assert_eq(evs[0].data, 43);
    cr_assert_eq(evs[0].events, SC_EV_OUT);
    cr_assert_eq(SC__CALL(sys, ev_ctl, ep, SC_EV_DEL, sv[0], 0, 0), 0);
    cr_assert_eq(SC__CALL(sys, ev_wait, ep, evs, 1000, 0), 0);
    SC__CALL(sys, close, sv[0]);
    SC__CALL(sys, close, sv[1]);
    SC__CALL(sys, close, ep);
#endif
}

/* ---- seam_net: error text and its formatting ---- */

Test(seam_net, errorf_appends_the_error_and_survives_small_or_no_buffers, .timeout = 10)
{
    char err[64];
    cr_assert_eq(sc__errorf(err, sizeof(err), -ECONNREFUSED, "connect %s", "here"), -ECONNREFUSED);
    char want[64];
    snprintf(want, sizeof(want), "connect here: %s", sc_strerror(-ECONNREFUSED));
    cr_assert_str_eq(err, want);
    /* A buffer that the prefix fills: cut, terminated, no error text. */
    char small[5];
    cr_assert_eq(sc__errorf(small, sizeof(small), SC_EEOF, "%s", "abcdefgh"), SC_EEOF);
    cr_assert_str_eq(small, "abcd");
    cr_assert_eq(sc__errorf(NULL, 10, -EIO, "x"), -EIO);
    memset(small, 'z', sizeof(small));
    cr_assert_eq(sc__errorf(small, 0, -EIO, "x"), -EIO);
    cr_assert_eq(small[0], 'z', "a zero-length buffer is not written");
    cr_assert_str_eq(sc_strerror(0), "success");
    cr_assert_str_eq(sc_strerror(SC_ETRUNCATED), "datagram truncated: larger than the buffer");
    cr_assert_str_eq(sc_strerror(EPIPE), sc_strerror(-EPIPE), "either sign");
#if !defined(_WIN32)
    errno = 0;
    cr_assert_eq(sc_last_error(), -EIO, "no errno: EIO");
    errno = ENOBUFS;
    cr_assert_eq(sc_last_error(), -ENOBUFS);
#endif
}

/* ---- seam_loop: the event loop's two backends ---- */

/* The platform's table without the ev_* interface: the poll backend. */
static sc_sys_t no_epoll;

static const sc_sys_t *poll_only(void)
{
    no_epoll = *sc_sys_platform();
    no_epoll.ev_create = NULL;
    no_epoll.ev_ctl = NULL;
    no_epoll.ev_wait = NULL;
    return &no_epoll;
}

#define NHANDLES 150 /* more than two growths of the poll arrays (64, 128) */

Test(seam_loop, poll_backend_grows_past_64_handles_and_deletes_by_swap, .timeout = 10)
{
#if defined(_WIN32)
    cr_skip_test("the seam's socketpair is POSIX's");
#endif
    struct sc__loop l;
    cr_assert_eq(sc__loop_init(&l, poll_only()), 0);
    cr_assert_eq(l.ep, -1);
    sc_sock_t sv[2];
    cr_assert_eq(SC__CALL(sc_sys_platform(), socketpair, SOCK_STREAM, SC_NONBLOCK, sv), 0);
    static struct sc__handle h[NHANDLES];
    /* Every handle watches the same writable end (poll takes repeats). */
    for (int i = 0; i < NHANDLES; i++) {
        h[i] = (struct sc__handle){.kind = i, .s = sv[0]};
        cr_assert_eq(sc__loop_add(&l, &h[i], SC_EV_OUT), 0);
    }
    cr_assert_eq(l.n, NHANDLES);
    cr_assert_eq(l.cap, 256);
    static struct sc__ready r[NHANDLES];
    cr_assert_eq(sc__loop_wait(&l, r, 10, 0), 10, "at most max entries");
    cr_assert_eq(sc__loop_wait(&l, r, NHANDLES, 0), NHANDLES);
    for (int i = 0; i < NHANDLES; i++) {
        cr_assert_eq(r[i].h, &h[i]);
        cr_assert_eq(r[i].events, SC_EV_OUT);
    }
    /* Deleting the first moves the last into its slot. */
    sc__loop_del(&l, &h[0]);
    cr_assert_eq(l.n, NHANDLES - 1);
    cr_assert_eq(h[NHANDLES - 1].slot, 0);
    cr_assert_eq(l.hs[0], &h[NHANDLES - 1]);
    /* Deleting it again, or a handle never added, changes nothing. */
    sc__loop_del(&l, &h[0]);
    struct sc__handle stranger = {.s = sv[1], .slot = 5};
    sc__loop_del(&l, &stranger);
    stranger.slot = NHANDLES + 10;
    sc__loop_del(&l, &stranger);
    cr_assert_eq(l.n, NHANDLES - 1);
    /* Deleting the last entry itself needs no swap. */
    sc__loop_del(&l, l.hs[l.n - 1]);
    cr_assert_eq(l.n, NHANDLES - 2);
    /* Interest changed to IN: nothing to read, nothing ready. */
    for (size_t i = 0; i < l.n; i++)
        cr_assert_eq(sc__loop_mod(&l, l.hs[i], SC_EV_IN), 0);
    cr_assert_eq(sc__loop_wait(&l, r, NHANDLES, 0), 0);
    cr_assert_eq(sc__loop_mod(&l, l.hs[0], SC_EV_IN), 0, "the same events again");
    sc__loop_free(&l);
    cr_assert_eq(l.ep, -1);
    cr_assert_null(l.pfds);
    SC__CALL(sc_sys_platform(), close, sv[0]);
    SC__CALL(sc_sys_platform(), close, sv[1]);
}

Test(seam_loop, epoll_backend_mod_to_same_events_makes_no_call, .timeout = 10)
{
#if !defined(__linux__)
    cr_skip_test("epoll is Linux's");
#else
    static sc_fault_t f;
    sc_fault_init(&f, NULL);
    struct sc__loop l;
    cr_assert_eq(sc__loop_init(&l, &f.sys), 0);
    cr_assert_geq(l.ep, 0);
    sc_sock_t sv[2];
    cr_assert_eq(SC__CALL(sc_sys_platform(), socketpair, SOCK_STREAM, SC_NONBLOCK, sv), 0);
    struct sc__handle h = {.s = sv[0]};
    cr_assert_eq(sc__loop_add(&l, &h, SC_EV_IN), 0);
    cr_assert_eq(f.calls[SC_OP_EV_CTL], 1);
    cr_assert_eq(sc__loop_mod(&l, &h, SC_EV_IN), 0);
    cr_assert_eq(f.calls[SC_OP_EV_CTL], 1, "no call for the same events");
    cr_assert_eq(sc__loop_mod(&l, &h, SC_EV_OUT), 0);
    cr_assert_eq(f.calls[SC_OP_EV_CTL], 2);
    static struct sc__ready r[300];
    cr_assert_eq(sc__loop_wait(&l, r, 300, 0), 1, "max above the batch is capped, not an error");
    cr_assert_eq(r[0].h, &h);
    cr_assert_eq(r[0].events, SC_EV_OUT);
    sc__loop_del(&l, &h);
    cr_assert_eq(f.calls[SC_OP_EV_CTL], 3);
    cr_assert_eq(sc__loop_wait(&l, r, 300, 0), 0);
    sc__loop_free(&l);
    SC__CALL(sc_sys_platform(), close, sv[0]);
    SC__CALL(sc_sys_platform(), close, sv[1]);
#endif
}

Test(seam_loop, init_reports_an_ev_create_error_other_than_enosys, .timeout = 10)
{
    static sc_fault_t f;
    sc_fault_init(&f, NULL);
    cr_assert_eq(sc_fault_add(&f, SC_OP_EV_CREATE, 1, 1, -EMFILE, 0), 0);
    struct sc__loop l;
    cr_assert_eq(sc__loop_init(&l, &f.sys), -EMFILE);
    /* ENOSYS: the poll backend instead. */
    sc_fault_reset(&f);
    cr_assert_eq(sc_fault_add(&f, SC_OP_EV_CREATE, 1, 1, -ENOSYS, 0), 0);
    cr_assert_eq(sc__loop_init(&l, &f.sys), 0);
    cr_assert_eq(l.ep, -1);
    /* A failing poll is the wait's result. */
    cr_assert_eq(sc_fault_add(&f, SC_OP_POLL, 0, 1, -EINTR, 0), 0);
    struct sc__ready r[1];
    cr_assert_eq(sc__loop_wait(&l, r, 1, 0), -EINTR);
    sc__loop_free(&l);
}
