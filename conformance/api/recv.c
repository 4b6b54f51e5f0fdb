/* Conformance of recv()/read()/recvmsg() data semantics on TCP and UDP:
 * EOF, EAGAIN, MSG_PEEK/WAITALL/TRUNC/OOB/ERRQUEUE, resets, timeouts,
 * threads and signals, datagram truncation, shutdown(SHUT_RD)
 * (matrix rows RV-01..RV-19 and the EINTR gap). */
#include "support.h"
#include "common.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#if defined(_WIN32)
/* No /proc to see a thread blocked in a call (api_wait_blocked_in says
 * so): the number is not looked at; the thread id is Windows'. */
#define SYS_recvfrom 0
#define gettid() ((pid_t)GetCurrentThreadId())
#else
#include <sys/syscall.h>
#include <sys/uio.h>
#endif

/* Interval and count of the signals the helper thread sends (EINTR cases). */
#define KICK_MS 10
#define KICK_MAX 500

#if defined(_WIN32)
/* Winsock's SO_RCVTIMEO and SO_SNDTIMEO are a DWORD of milliseconds, 0 for
 * no timeout (SOL_SOCKET socket options). */
static void set_timeo(int fd, int name, long sec, long usec)
{
    cr_assert_geq(sec, 0, "no negative timeout on Windows");
    DWORD ms = (DWORD)(sec * 1000 + usec / 1000);
    cr_assert_eq(setsockopt(fd, SOL_SOCKET, name, &ms, sizeof(ms)), 0, "setsockopt timeo: %s",
                 strerror(errno));
}
#else
static void set_timeo(int fd, int name, long sec, long usec)
{
    struct timeval tv = {.tv_sec = sec, .tv_usec = usec};
    cr_assert_eq(setsockopt(fd, SOL_SOCKET, name, &tv, sizeof(tv)), 0, "setsockopt timeo: %s",
                 strerror(errno));
}
#endif

static void make_pair(int family, int type, int *a, int *b)
{
    if (type == SOCK_STREAM)
        sct_tcp_pair(family, a, b);
    else
        api_udp_pair(family, a, b, NULL);
}

/* Same as api_poll_once(POLLIN) but fails the test on timeout. */
static void wait_readable(int fd)
{
    cr_assert(api_poll_once(fd, POLLIN, SCT_TIMEOUT_MS) & POLLIN, "nothing to read after %d ms",
              SCT_TIMEOUT_MS);
}

/* A recv() run on a helper thread, for the tests where something happens to
 * the socket while it is blocked. */
struct blocked_recv {
    int fd;
    int flags;
    size_t len;
    char buf[64];
    pid_t tid;
    atomic_int started;
    atomic_int done;
    ssize_t rc;
    int err;
    double took;
};

static void *blocked_recv_thread(void *arg)
{
    struct blocked_recv *br = arg;
    br->tid = gettid();
    atomic_store(&br->started, 1);
    double t0 = api_now_ms();
    br->rc = recv(br->fd, br->buf, br->len, br->flags);
    br->err = errno;
    br->took = api_now_ms() - t0;
    atomic_store(&br->done, 1);
    return NULL;
}

/* Starts the thread and waits until it is blocked in recv on fd; returns 0
 * when that cannot be observed. */
static int start_blocked_recv(pthread_t *t, struct blocked_recv *br)
{
    cr_assert_eq(pthread_create(t, NULL, blocked_recv_thread, br), 0);
    for (int i = 0; i < 5000 && !atomic_load(&br->started); i++)
        poll(NULL, 0, 1);
    return api_wait_blocked_in(br->tid, SYS_recvfrom, br->fd);
}

ParameterizedTestParameters(recv, zero_at_eof_repeatedly)
{
    return cr_make_param_array(struct api_fam_mode, api_fam2_params, 4);
}
/* mode 0: the peer closes; 1: the peer shuts down writing. */
ParameterizedTest(struct api_fam_mode *p, recv, zero_at_eof_repeatedly, .description = "RV-01", .timeout = 10)
{
    int c, s;
    sct_tcp_pair(p->family, &c, &s);
    cr_assert_eq(send(s, "data", 4, 0), 4);
    cr_assert_eq(p->mode == 0 ? close(s) : shutdown(s, SHUT_WR), 0);
    char buf[8];
    size_t got = 0;
    while (got < 4) {
        wait_readable(c);
        ssize_t n = recv(c, buf + got, sizeof(buf) - got, 0);
        cr_assert_gt(n, 0, "recv: %zd (%s)", n, strerror(errno));
        got += (size_t)n;
    }
    cr_assert_arr_eq(buf, "data", 4);
    cr_assert_eq(recv(c, buf, sizeof(buf), 0), 0, "recv: %s", strerror(errno));
    cr_assert_eq(recv(c, buf, sizeof(buf), 0), 0, "second recv: %s", strerror(errno));
    cr_assert_eq(read(c, buf, sizeof(buf)), 0, "read: %s", strerror(errno));
    cr_assert_eq(recv(c, buf, sizeof(buf), MSG_DONTWAIT), 0, "recv DONTWAIT: %s", strerror(errno));
    close(c);
    if (p->mode == 1)
        close(s);
}

static struct api_fam_mode rv02_params[] = {
    {AF_INET, 0},  {AF_INET, 1},  {AF_INET, 2},  {AF_INET, 3},  {AF_INET, 4},  {AF_INET, 5},
    {AF_INET6, 0}, {AF_INET6, 1}, {AF_INET6, 2}, {AF_INET6, 3}, {AF_INET6, 4}, {AF_INET6, 5},
};
ParameterizedTestParameters(recv, eagain_when_nothing_queued)
{
    return cr_make_param_array(struct api_fam_mode, rv02_params, 12);
}
/* mode / 2: 0 connected TCP, 1 bound UDP, 2 unbound UDP (Linux: EAGAIN;
 * Winsock: WSAEINVAL); mode % 2: 0 O_NONBLOCK, 1 MSG_DONTWAIT. */
ParameterizedTest(struct api_fam_mode *p, recv, eagain_when_nothing_queued, .description = "RV-02",
                  .timeout = 10)
{
    int fd, other = -1;
    int kind = p->mode / 2;
    if (kind == 0)
        sct_tcp_pair(p->family, &fd, &other);
    else if (kind == 1)
        fd = sct_bound(p->family, SOCK_DGRAM, NULL);
    else {
        sct_require_family(p->family);
        fd = socket(p->family, SOCK_DGRAM, 0);
        cr_assert_geq(fd, 0);
    }
    char buf[8];
    errno = 0;
    ssize_t n;
    if (p->mode % 2 == 0) {
        api_set_nonblock(fd, 1);
        n = recv(fd, buf, sizeof(buf), 0);
    } else {
        n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
    }
#if defined(_WIN32)
    /* Winsock: WSAEINVAL, "The socket has not been bound with bind" (recv
     * function, Return value). */
    if (kind == 2)
        api_assert_fails((int)n, EINVAL, "recv on an unbound UDP socket");
    else
        api_assert_eagain(n, "recv");
#else
    api_assert_eagain(n, "recv");
#endif
    close(fd);
    if (other >= 0)
        close(other);
}

ParameterizedTestParameters(recv, peek_repeats_then_recv_consumes_tcp)
{
    return cr_make_param_array(int, api_families, 2);
}
ParameterizedTest(int *fam, recv, peek_repeats_then_recv_consumes_tcp, .description = "RV-03", .timeout = 10)
{
    int c, s;
    sct_tcp_pair(*fam, &c, &s);
    cr_assert_eq(send(c, "peekaboo", 8, 0), 8);
    api_wait_inq(s, 8);
    char buf[16];
    for (int i = 0; i < 3; i++) {
        memset(buf, 0, sizeof(buf));
        cr_assert_eq(recv(s, buf, sizeof(buf), MSG_PEEK), 8, "peek %d", i);
        cr_assert_str_eq(buf, "peekaboo");
    }
    memset(buf, 0, sizeof(buf));
    cr_assert_eq(recv(s, buf, 4, MSG_PEEK), 4);
    cr_assert_str_eq(buf, "peek");
    cr_assert_eq(recv(s, buf, sizeof(buf), 0), 8);
    cr_assert_arr_eq(buf, "peekaboo", 8);
    api_assert_eagain(recv(s, buf, sizeof(buf), MSG_DONTWAIT), "recv after consuming");
    close(c);
    close(s);
}

ParameterizedTestParameters(recv, peek_returns_one_datagram_udp)
{
    return cr_make_param_array(int, api_families, 2);
}
ParameterizedTest(int *fam, recv, peek_returns_one_datagram_udp, .description = "RV-03", .timeout = 10)
{
    int a, b;
    api_udp_pair(*fam, &a, &b, NULL);
    cr_assert_eq(send(a, "first", 5, 0), 5);
    cr_assert_eq(send(a, "second", 6, 0), 6);
    wait_readable(b);
    char buf[32];
    for (int i = 0; i < 2; i++) {
        memset(buf, 0, sizeof(buf));
        cr_assert_eq(recv(b, buf, sizeof(buf), MSG_PEEK), 5, "peek %d", i);
        cr_assert_str_eq(buf, "first");
    }
    cr_assert_eq(recv(b, buf, sizeof(buf), 0), 5);
    cr_assert_arr_eq(buf, "first", 5);
    wait_readable(b);
    cr_assert_eq(recv(b, buf, sizeof(buf), MSG_PEEK), 6);
    cr_assert_eq(recv(b, buf, sizeof(buf), 0), 6);
    cr_assert_arr_eq(buf, "second", 6);
    api_assert_eagain(recv(b, buf, sizeof(buf), MSG_DONTWAIT), "recv");
    close(a);
    close(b);
}

ParameterizedTestParameters(recv, waitall_blocks_until_len)
{
    return cr_make_param_array(int, api_families, 2);
}
ParameterizedTest(int *fam, recv, waitall_blocks_until_len, .description = "RV-04", .timeout = 15)
{
    int c, s;
    sct_tcp_pair(*fam, &c, &s);
    set_timeo(s, SO_RCVTIMEO, SCT_TIMEOUT_MS / 1000, 0); /* backstop */
    cr_assert_eq(send(c, "01234", 5, 0), 5);
    api_wait_inq(s, 5);
    struct blocked_recv br = {.fd = s, .flags = MSG_WAITALL, .len = 10};
    pthread_t t;
    /* Half the bytes are there; the call must still be waiting for the
     * rest. Without /proc (Windows) the call must at least not have
     * returned within 300 ms of the thread's start. */
    if (!start_blocked_recv(&t, &br)) {
        for (int i = 0; i < 300 && !atomic_load(&br.done); i++)
            poll(NULL, 0, 1);
        cr_assert(!atomic_load(&br.done), "recv(MSG_WAITALL) returned %zd before the rest was sent", br.rc);
    }
    cr_assert_eq(send(c, "56789", 5, 0), 5);
    pthread_join(t, NULL);
    cr_assert_eq(br.rc, 10, "recv(MSG_WAITALL) returned %zd (%s)", br.rc, strerror(br.err));
    cr_assert_arr_eq(br.buf, "0123456789", 10);
    close(c);
    close(s);
}

ParameterizedTestParameters(recv, waitall_with_dontwait_eagain)
{
    return cr_make_param_array(int, api_families, 2);
}
ParameterizedTest(int *fam, recv, waitall_with_dontwait_eagain, .description = "RV-04", .timeout = 10)
{
    int c, s;
    sct_tcp_pair(*fam, &c, &s);
    char buf[10];
#if defined(_WIN32)
    /* Winsock: "if the socket is in a non-blocking mode, then this call
     * will fail with WSAEOPNOTSUPP" (recv function, MSG_WAITALL). */
    errno = 0;
    api_assert_fails((int)recv(s, buf, sizeof(buf), MSG_WAITALL | MSG_DONTWAIT), EOPNOTSUPP,
                     "recv(WAITALL|DONTWAIT)");
#else
    api_assert_eagain(recv(s, buf, sizeof(buf), MSG_WAITALL | MSG_DONTWAIT), "recv(WAITALL|DONTWAIT)");
#endif
    close(c);
    close(s);
}

ParameterizedTestParameters(recv, waitall_returns_partial_at_rcvtimeo)
{
    return cr_make_param_array(int, api_families, 2);
}
ParameterizedTest(int *fam, recv, waitall_returns_partial_at_rcvtimeo, .description = "RV-04", .timeout = 10)
{
#if defined(_WIN32)
    cr_skip_test(
        "Winsock documents no partial result for MSG_WAITALL at SO_RCVTIMEO: a timed-out receive leaves the "
        "connection \"in an indeterminate state\" (SOL_SOCKET socket options, SO_RCVTIMEO)");
#endif
    int c, s;
    sct_tcp_pair(*fam, &c, &s);
    cr_assert_eq(send(c, "01234", 5, 0), 5);
    api_wait_inq(s, 5);
    set_timeo(s, SO_RCVTIMEO, 0, 200000);
    char buf[10];
    double t0 = api_now_ms();
    cr_assert_eq(recv(s, buf, sizeof(buf), MSG_WAITALL), 5, "recv: %s", strerror(errno));
    cr_assert_geq(api_now_ms() - t0, 190.0, "returned before SO_RCVTIMEO");
    cr_assert_arr_eq(buf, "01234", 5);
    close(c);
    close(s);
}

ParameterizedTestParameters(recv, waitall_allowed_on_udp)
{
    return cr_make_param_array(int, api_families, 2);
}
/* Linux accepts MSG_WAITALL on datagram sockets and returns one datagram
 * (Winsock: WSAEOPNOTSUPP). */
ParameterizedTest(int *fam, recv, waitall_allowed_on_udp, .description = "RV-04 datagram", .timeout = 10)
{
    int a, b;
    api_udp_pair(*fam, &a, &b, NULL);
    set_timeo(b, SO_RCVTIMEO, SCT_TIMEOUT_MS / 1000, 0);
    cr_assert_eq(send(a, "abc", 3, 0), 3);
    char buf[100];
#if defined(_WIN32)
    /* Winsock: "if the underlying transport does not support MSG_WAITALL
     * ... this call will fail with WSAEOPNOTSUPP" (recv function). */
    wait_readable(b);
    errno = 0;
    api_assert_fails((int)recv(b, buf, sizeof(buf), MSG_WAITALL), EOPNOTSUPP, "recv(MSG_WAITALL) on UDP");
    cr_assert_eq(recv(b, buf, sizeof(buf), 0), 3, "the datagram was consumed: %s", strerror(errno));
#else
    cr_assert_eq(recv(b, buf, sizeof(buf), MSG_WAITALL), 3, "recv: %s", strerror(errno));
#endif
    cr_assert_arr_eq(buf, "abc", 3);
    close(a);
    close(b);
}

ParameterizedTestParameters(recv, enotconn_on_never_connected_tcp)
{
    return cr_make_param_array(int, api_families, 2);
}
ParameterizedTest(int *fam, recv, enotconn_on_never_connected_tcp, .description = "RV-05", .timeout = 10)
{
    sct_require_family(*fam);
    int fd = socket(*fam, SOCK_STREAM, 0);
    cr_assert_geq(fd, 0);
    int l = sct_bound(*fam, SOCK_STREAM, NULL);
#if defined(_WIN32)
    /* A backstop: a stack that waits on the listener instead of failing
     * ends with WSAETIMEDOUT, not the test's timeout. */
    set_timeo(l, SO_RCVTIMEO, 1, 0);
#endif
    char buf[10];
    int fds[] = {fd, l};
    for (int i = 0; i < 2; i++) {
        errno = 0;
        cr_assert_eq(recv(fds[i], buf, sizeof(buf), 0), -1);
        cr_assert_eq(errno, ENOTCONN, "%s: recv errno %d (%s)", i ? "listener" : "fresh", errno,
                     strerror(errno));
        errno = 0;
        cr_assert_eq(recv(fds[i], buf, 0, 0), -1);
        cr_assert_eq(errno, ENOTCONN, "len 0: errno %d (%s)", errno, strerror(errno));
        errno = 0;
        cr_assert_eq(read(fds[i], buf, sizeof(buf)), -1);
        cr_assert_eq(errno, ENOTCONN, "read: errno %d (%s)", errno, strerror(errno));
    }
    close(fd);
    close(l);
}

ParameterizedTestParameters(recv, einval_for_msg_oob_without_urgent_data)
{
    return cr_make_param_array(int, api_families, 2);
}
ParameterizedTest(int *fam, recv, einval_for_msg_oob_without_urgent_data, .description = "RV-06",
                  .timeout = 10)
{
#if defined(_WIN32)
    cr_skip_test(
        "Winsock documents no error for MSG_OOB without urgent data (WSAEINVAL only with SO_OOBINLINE: recv "
        "function, Return value)");
#endif
    int c, s;
    sct_tcp_pair(*fam, &c, &s);
    char buf[8];
    errno = 0;
    cr_assert_eq(recv(s, buf, sizeof(buf), MSG_OOB), -1);
    cr_assert_eq(errno, EINVAL, "nothing queued: errno %d (%s)", errno, strerror(errno));
    cr_assert_eq(send(c, "data", 4, 0), 4);
    api_wait_inq(s, 4);
    errno = 0;
    cr_assert_eq(recv(s, buf, sizeof(buf), MSG_OOB), -1);
    cr_assert_eq(errno, EINVAL, "normal data queued: errno %d (%s)", errno, strerror(errno));
    /* The normal data is untouched. */
    cr_assert_eq(recv(s, buf, sizeof(buf), 0), 4);
    cr_assert_arr_eq(buf, "data", 4);
    close(c);
    close(s);
}

ParameterizedTestParameters(recv, errqueue_empty_eagain_without_blocking)
{
    return cr_make_param_array(struct api_fam_mode, api_fam_types, 4);
}
ParameterizedTest(struct api_fam_mode *p, recv, errqueue_empty_eagain_without_blocking,
                  .description = "RV-07", .timeout = 10)
{
#if defined(_WIN32)
    (void)p;
    cr_skip_test("MSG_ERRQUEUE and recvmsg are Linux's (Winsock has neither)");
#else
    int a, b;
    make_pair(p->family, p->mode, &a, &b);
    /* A backstop: if MSG_ERRQUEUE blocked, the call would end here. */
    set_timeo(b, SO_RCVTIMEO, 3, 0);
    char buf[64], ctl[256];
    struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
    struct msghdr m;
    memset(&m, 0, sizeof(m));
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    m.msg_control = ctl;
    m.msg_controllen = sizeof(ctl);
    double t0 = api_now_ms();
    errno = 0;
    api_assert_eagain(recvmsg(b, &m, MSG_ERRQUEUE), "recvmsg(MSG_ERRQUEUE)");
    errno = 0;
    api_assert_eagain(recv(b, buf, sizeof(buf), MSG_ERRQUEUE), "recv(MSG_ERRQUEUE)");
    cr_assert_lt(api_now_ms() - t0, 1000.0, "MSG_ERRQUEUE blocked");
    close(a);
    close(b);
#endif
}

ParameterizedTestParameters(recv, efault_only_when_data_to_copy)
{
    return cr_make_param_array(struct api_fam_mode, api_fam_types, 4);
}
/* A user-space address that is not mapped (NULL, a PROT_NONE page) fails
 * only when there is something to copy. TCP then leaves the bytes queued;
 * UDP drops the datagram (udp_recvmsg frees the skb when the copy fails). */
ParameterizedTest(struct api_fam_mode *p, recv, efault_only_when_data_to_copy, .description = "RV-08",
                  .timeout = 10)
{
    int a, b;
    make_pair(p->family, p->mode, &a, &b);
#if defined(_WIN32)
    /* Winsock: WSAEFAULT, "The buf parameter is not completely contained
     * in a valid part of the user address space" (recv function, Return
     * value). Whether the queue is looked at first, and what is left of
     * the data, is not documented: only the call with data queued is
     * checked. */
    void *none = api_noaccess_page();
    void *bad[] = {NULL, none};
    for (int i = 0; i < 2; i++) {
        cr_assert_eq(send(a, "data", 4, 0), 4);
        wait_readable(b);
        errno = 0;
        cr_assert_eq(recv(b, bad[i], 10, 0), -1);
        cr_assert_eq(errno, EFAULT, "case %d: errno %d (%s)", i, errno, strerror(errno));
        char buf[8];
        while (recv(b, buf, sizeof(buf), MSG_DONTWAIT) > 0)
            continue;
    }
    api_noaccess_free(none);
    close(a);
    close(b);
    return;
#else
    void *none = api_noaccess_page();
    void *bad[] = {NULL, none};
    for (int i = 0; i < 2; i++) {
        /* Nothing to copy: the bad pointer is never touched. */
        api_assert_eagain(recv(b, bad[i], 10, MSG_DONTWAIT),
                          i ? "PROT_NONE, nothing queued" : "NULL, nothing queued");
        cr_assert_eq(send(a, "data", 4, 0), 4);
        wait_readable(b);
        errno = 0;
        cr_assert_eq(recv(b, bad[i], 10, 0), -1);
        cr_assert_eq(errno, EFAULT, "case %d: errno %d (%s)", i, errno, strerror(errno));
        char buf[8];
        if (p->mode == SOCK_STREAM) {
            cr_assert_eq(recv(b, buf, sizeof(buf), MSG_DONTWAIT), 4, "data lost after EFAULT");
            cr_assert_arr_eq(buf, "data", 4);
        } else {
            api_assert_eagain(recv(b, buf, sizeof(buf), MSG_DONTWAIT), "the datagram was kept");
        }
    }
    api_noaccess_free(none);
    close(a);
    close(b);
#endif
}

ParameterizedTestParameters(recv, efault_at_once_for_kernel_address)
{
    return cr_make_param_array(struct api_fam_mode, api_fam_types, 4);
}
/* The matrix says "only when data is available"; that holds for unmapped
 * user addresses only. (void *)-1 is outside the user address range and
 * Linux refuses it before looking at the queue (access_ok() when the
 * buffer is imported), with data queued or not; nothing is consumed. */
ParameterizedTest(struct api_fam_mode *p, recv, efault_at_once_for_kernel_address,
                  .description = "RV-08 (void *)-1", .timeout = 10)
{
#if defined(_WIN32)
    (void)p;
    cr_skip_test("Winsock documents WSAEFAULT for a buffer outside the user address space (recv function), "
                 "not whether it is checked before the queue; the documented case, data queued, is "
                 "recv/efault_only_when_data_to_copy");
#else
    int a, b;
    make_pair(p->family, p->mode, &a, &b);
    errno = 0;
    cr_assert_eq(recv(b, (void *)-1, 10, MSG_DONTWAIT), -1);
    cr_assert_eq(errno, EFAULT, "nothing queued: errno %d (%s)", errno, strerror(errno));
    cr_assert_eq(send(a, "data", 4, 0), 4);
    wait_readable(b);
    errno = 0;
    cr_assert_eq(recv(b, (void *)-1, 10, 0), -1);
    cr_assert_eq(errno, EFAULT, "data queued: errno %d (%s)", errno, strerror(errno));
    char buf[8];
    cr_assert_eq(recv(b, buf, sizeof(buf), MSG_DONTWAIT), 4, "data consumed by the failed call");
    cr_assert_arr_eq(buf, "data", 4);
    close(a);
    close(b);
#endif
}

Test(recv, ebadf_and_enotsock_on_non_sockets, .description = "RV-09", .timeout = 10)
{
    char buf[4];
    cr_assert_eq(fcntl(400, F_GETFD), -1, "fd 400 is open in this process");
    errno = 0;
    cr_assert_eq(recv(400, buf, sizeof(buf), 0), -1);
    cr_assert_eq(errno, API_EBADF_SOCK, "errno %d (%s)", errno, strerror(errno));
    int fd = open(API_NULL_DEVICE, O_RDONLY);
    cr_assert_geq(fd, 0);
    errno = 0;
    cr_assert_eq(recv(fd, buf, sizeof(buf), 0), -1);
    cr_assert_eq(errno, ENOTSOCK, "errno %d (%s)", errno, strerror(errno));
    close(fd);
}

ParameterizedTestParameters(recv, buffered_data_then_econnreset_after_rst)
{
    return cr_make_param_array(struct api_fam_mode, api_fam2_params, 4);
}
/* mode 0: the peer closes with unread data (RFC 2525 2.17: RST, not FIN);
 * 1: the peer closes with SO_LINGER {1, 0}. */
ParameterizedTest(struct api_fam_mode *p, recv, buffered_data_then_econnreset_after_rst,
                  .description = "RV-10", .timeout = 10)
{
#if defined(_WIN32)
    (void)p;
    cr_skip_test(
        "Winsock documents WSAECONNRESET after a hard close (recv function) but not whether data received "
        "before the reset is still delivered, nor a 0 after it (see close/rst_with_linger_zero)");
#else
    int c, s;
    sct_tcp_pair(p->family, &c, &s);
    cr_assert_eq(send(s, "hello", 5, 0), 5);
    api_wait_inq(c, 5);
    if (p->mode == 0) {
        cr_assert_eq(send(c, "unread", 6, 0), 6);
        api_wait_inq(s, 6);
    } else {
        struct linger lg = {.l_onoff = 1, .l_linger = 0};
        cr_assert_eq(setsockopt(s, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)), 0);
    }
    cr_assert_eq(close(s), 0);
    short ev = api_poll_once(c, POLLHUP, SCT_TIMEOUT_MS);
    cr_assert(ev & POLLHUP, "no POLLHUP after RST (revents %#x)", ev);
    char buf[16];
    cr_assert_eq(recv(c, buf, sizeof(buf), 0), 5, "buffered data not returned first: %s", strerror(errno));
    cr_assert_arr_eq(buf, "hello", 5);
    errno = 0;
    cr_assert_eq(recv(c, buf, sizeof(buf), 0), -1);
    cr_assert_eq(errno, ECONNRESET, "errno %d (%s)", errno, strerror(errno));
    /* The error is reported once; afterwards the socket reads as closed. */
    cr_assert_eq(recv(c, buf, sizeof(buf), 0), 0);
    close(c);
#endif
}

ParameterizedTestParameters(recv, eagain_when_rcvtimeo_expires)
{
    return cr_make_param_array(struct api_fam_mode, api_fam_types, 4);
}
ParameterizedTest(struct api_fam_mode *p, recv, eagain_when_rcvtimeo_expires, .description = "RV-11",
                  .timeout = 10)
{
    int a, b;
    make_pair(p->family, p->mode, &a, &b);
    set_timeo(b, SO_RCVTIMEO, 0, 200000);
    char buf[8];
    double t0 = api_now_ms();
    errno = 0;
#if defined(_WIN32)
    /* Winsock: a blocking receive that times out fails with WSAETIMEDOUT
     * (SOL_SOCKET socket options, SO_RCVTIMEO; recv function). */
    api_assert_fails((int)recv(b, buf, sizeof(buf), 0), ETIMEDOUT, "recv");
#else
    api_assert_eagain(recv(b, buf, sizeof(buf), 0), "recv");
#endif
    double took = api_now_ms() - t0;
    /* Only a lower bound: a loaded machine may overrun the timeout. */
    cr_assert_geq(took, 190.0, "returned after %.0f ms, before SO_RCVTIMEO (200 ms)", took);
    close(a);
    close(b);
}

ParameterizedTestParameters(recv, negative_rcvtimeo_means_eagain_at_once)
{
    return cr_make_param_array(int, api_families, 2);
}
/* Linux (sock_set_timeout): a negative tv_sec is taken as a zero timeout,
 * so a blocking read returns EAGAIN at once (and the kernel logs a warning
 * once); socket(7) does not document it. */
ParameterizedTest(int *fam, recv, negative_rcvtimeo_means_eagain_at_once, .description = "RV-11",
                  .timeout = 10)
{
#if defined(_WIN32)
    (void)fam;
    cr_skip_test("SO_RCVTIMEO is an unsigned DWORD on Windows: no negative timeout");
#else
    int c, s;
    sct_tcp_pair(*fam, &c, &s);
    set_timeo(s, SO_RCVTIMEO, -1, 0);
    char buf[8];
    struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
    struct msghdr m;
    memset(&m, 0, sizeof(m));
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    double t0 = api_now_ms();
    errno = 0;
    api_assert_eagain(recv(s, buf, sizeof(buf), 0), "recv");
    errno = 0;
    api_assert_eagain(read(s, buf, sizeof(buf)), "read");
    errno = 0;
    api_assert_eagain(recvmsg(s, &m, 0), "recvmsg");
    cr_assert_lt(api_now_ms() - t0, 1000.0, "a negative timeout blocked");
    close(c);
    close(s);
#endif
}

struct late_sender {
    int fd;
    pid_t reader;
    int reader_fd;
    int seen_blocked;
};

static void *late_sender_thread(void *arg)
{
    struct late_sender *ls = arg;
    ls->seen_blocked = api_wait_blocked_in(ls->reader, SYS_recvfrom, ls->reader_fd);
    /* The reader has been blocked longer than the timeout set before. */
    poll(NULL, 0, 400);
    if (ls->seen_blocked)
        ls->seen_blocked = api_wait_blocked_in(ls->reader, SYS_recvfrom, ls->reader_fd);
    send(ls->fd, "late", 4, 0);
    return NULL;
}

ParameterizedTestParameters(recv, zero_rcvtimeo_means_no_timeout)
{
    return cr_make_param_array(int, api_families, 2);
}
ParameterizedTest(int *fam, recv, zero_rcvtimeo_means_no_timeout, .description = "RV-11", .timeout = 15)
{
    int c, s;
    sct_tcp_pair(*fam, &c, &s);
#if defined(_WIN32)
    /* Winsock: a DWORD of milliseconds, 0 (the default) for no timeout
     * (SOL_SOCKET socket options, SO_RCVTIMEO). */
    DWORD ms = 7;
    socklen_t len = sizeof(ms);
    cr_assert_eq(getsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &ms, &len), 0);
    cr_assert_eq(len, sizeof(ms));
    cr_assert_eq(ms, 0, "default SO_RCVTIMEO is %lu ms", (unsigned long)ms);
#else
    struct timeval tv = {.tv_sec = 7, .tv_usec = 7};
    socklen_t len = sizeof(tv);
    cr_assert_eq(getsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, &len), 0);
    cr_assert_eq(len, sizeof(tv));
    cr_assert(tv.tv_sec == 0 && tv.tv_usec == 0, "default SO_RCVTIMEO is {%ld, %ld}", (long)tv.tv_sec,
              (long)tv.tv_usec);
#endif
    /* Set a short timeout, then {0, 0} again: the call must not time out. */
    set_timeo(s, SO_RCVTIMEO, 0, 100000);
    set_timeo(s, SO_RCVTIMEO, 0, 0);
    struct late_sender ls = {.fd = c, .reader = gettid(), .reader_fd = s};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, late_sender_thread, &ls), 0);
    char buf[8];
    double t0 = api_now_ms();
    ssize_t n = recv(s, buf, sizeof(buf), 0);
    double took = api_now_ms() - t0;
    pthread_join(t, NULL);
    cr_assert_eq(n, 4, "recv returned %zd (%s) after %.0f ms", n, strerror(errno), took);
    cr_assert_arr_eq(buf, "late", 4);
    if (!ls.seen_blocked)
        cr_skip_test("cannot see the reader blocked (/proc/self/task/*/syscall); data arrived");
    cr_assert_geq(took, 390.0, "recv returned after %.0f ms", took);
    close(c);
    close(s);
}

ParameterizedTestParameters(recv, blocked_recv_not_woken_by_close)
{
    return cr_make_param_array(struct api_fam_mode, api_fam_types, 4);
}
/* Linux: close() from another thread drops the descriptor but not the
 * socket the blocked call holds; the call ends at SO_RCVTIMEO. */
ParameterizedTest(struct api_fam_mode *p, recv, blocked_recv_not_woken_by_close, .description = "RV-12",
                  .timeout = 15)
{
    int a, b;
    make_pair(p->family, p->mode, &a, &b);
    set_timeo(b, SO_RCVTIMEO, 1, 0);
    struct blocked_recv br = {.fd = b, .len = 8};
    pthread_t t;
    if (!start_blocked_recv(&t, &br)) {
        pthread_join(t, NULL);
        cr_skip_test("cannot see the reader blocked (/proc/self/task/*/syscall)");
    }
    cr_assert_eq(close(b), 0);
    pthread_join(t, NULL);
    cr_assert_eq(br.rc, -1, "recv returned %zd", br.rc);
    cr_assert(br.err == EAGAIN || br.err == EWOULDBLOCK, "errno %d (%s)", br.err, strerror(br.err));
    cr_assert_geq(br.took, 990.0, "recv returned after %.0f ms, before SO_RCVTIMEO", br.took);
    close(a);
}

ParameterizedTestParameters(recv, blocked_recv_woken_by_shutdown_rd)
{
    return cr_make_param_array(struct api_fam_mode, api_fam_types, 4);
}
ParameterizedTest(struct api_fam_mode *p, recv, blocked_recv_woken_by_shutdown_rd,
                  .description = "RV-12 RV-19", .timeout = 15)
{
#if defined(_WIN32)
    (void)p;
    cr_skip_test("Winsock does not document that shutdown(SD_RECEIVE) wakes a blocked recv; recv after it "
                 "fails with WSAESHUTDOWN (recv/tcp_shut_rd_keeps_received_data)");
#else
    int a, b;
    make_pair(p->family, p->mode, &a, &b);
    set_timeo(b, SO_RCVTIMEO, SCT_TIMEOUT_MS / 1000, 0); /* backstop */
    struct blocked_recv br = {.fd = b, .len = 8};
    pthread_t t;
    int seen = start_blocked_recv(&t, &br);
    cr_assert_eq(shutdown(b, SHUT_RD), 0, "shutdown: %s", strerror(errno));
    pthread_join(t, NULL);
    cr_assert_eq(br.rc, 0, "recv returned %zd (%s)", br.rc, strerror(br.err));
    cr_assert_lt(br.took, SCT_TIMEOUT_MS - 500.0, "woken only by the backstop timeout");
    if (!seen)
        cr_skip_test("cannot see the reader blocked; recv returned 0 after shutdown");
    close(a);
    close(b);
#endif
}

ParameterizedTestParameters(recv, udp_excess_discarded)
{
    return cr_make_param_array(int, api_families, 2);
}
ParameterizedTest(int *fam, recv, udp_excess_discarded, .description = "RV-13", .timeout = 10)
{
    int a, b;
    api_udp_pair(*fam, &a, &b, NULL);
    char big[100];
    for (int i = 0; i < 100; i++)
        big[i] = (char)('a' + i % 26);
    cr_assert_eq(send(a, big, sizeof(big), 0), 100);
    cr_assert_eq(send(a, "next", 4, 0), 4);
    wait_readable(b);
    char buf[10];
#if defined(_WIN32)
    /* Winsock: "the buffer is filled with the first part of the datagram,
     * and recv generates the error WSAEMSGSIZE. For unreliable protocols
     * (for example, UDP) the excess data is lost" (recv function). */
    errno = 0;
    api_assert_fails((int)recv(b, buf, sizeof(buf), 0), EMSGSIZE, "recv of 100 bytes into 10");
#else
    cr_assert_eq(recv(b, buf, sizeof(buf), 0), 10);
#endif
    cr_assert_arr_eq(buf, big, 10);
    wait_readable(b);
    cr_assert_eq(recv(b, buf, sizeof(buf), 0), 4, "the rest of the first datagram was not discarded");
    cr_assert_arr_eq(buf, "next", 4);
    api_assert_eagain(recv(b, buf, sizeof(buf), MSG_DONTWAIT), "recv");
    close(a);
    close(b);
}

ParameterizedTestParameters(recv, udp_returns_one_datagram)
{
    return cr_make_param_array(int, api_families, 2);
}
ParameterizedTest(int *fam, recv, udp_returns_one_datagram, .description = "RV-14", .timeout = 10)
{
    int a, b;
    api_udp_pair(*fam, &a, &b, NULL);
    cr_assert_eq(send(a, "one", 3, 0), 3);
    cr_assert_eq(send(a, "two", 3, 0), 3);
    api_wait_inq(b, 3);
    /* FIONREAD on UDP reports the first datagram only; wait for both with
     * poll after reading the first. */
    char buf[100];
    cr_assert_eq(recv(b, buf, sizeof(buf), 0), 3);
    cr_assert_arr_eq(buf, "one", 3);
    wait_readable(b);
    cr_assert_eq(recv(b, buf, sizeof(buf), 0), 3);
    cr_assert_arr_eq(buf, "two", 3);
    close(a);
    close(b);
}

#if !defined(_WIN32)
static void send_100(int a, char *big)
{
    for (int i = 0; i < 100; i++)
        big[i] = (char)('A' + i % 26);
    cr_assert_eq(send(a, big, 100, 0), 100);
}
#endif

ParameterizedTestParameters(recv, udp_msg_trunc_returns_real_length)
{
    return cr_make_param_array(int, api_families, 2);
}
ParameterizedTest(int *fam, recv, udp_msg_trunc_returns_real_length, .description = "RV-15", .timeout = 10)
{
#if defined(_WIN32)
    (void)fam;
    cr_skip_test("MSG_TRUNC is no Winsock recv flag: a datagram longer than the buffer fails WSAEMSGSIZE "
                 "(recv/udp_excess_discarded)");
#else
    int a, b;
    api_udp_pair(*fam, &a, &b, NULL);
    char big[100], buf[10];
    send_100(a, big);
    wait_readable(b);
    cr_assert_eq(recv(b, buf, sizeof(buf), MSG_TRUNC), 100);
    cr_assert_arr_eq(buf, big, 10);
    api_assert_eagain(recv(b, buf, sizeof(buf), MSG_DONTWAIT), "recv");
    close(a);
    close(b);
#endif
}

ParameterizedTestParameters(recv, udp_recvmsg_flags_msg_trunc)
{
    return cr_make_param_array(struct api_fam_mode, api_fam2_params, 4);
}
/* mode 0: a 10-byte iovec; 1: a 0-byte iovec. */
ParameterizedTest(struct api_fam_mode *p, recv, udp_recvmsg_flags_msg_trunc, .description = "RV-15",
                  .timeout = 10)
{
#if defined(_WIN32)
    (void)p;
    cr_skip_test("recvmsg and msg_flags are POSIX (Winsock has WSARecvMsg, with other flags)");
#else
    int a, b;
    api_udp_pair(p->family, &a, &b, NULL);
    char big[100], buf[10];
    send_100(a, big);
    wait_readable(b);
    size_t want = p->mode == 0 ? sizeof(buf) : 0;
    struct iovec iov = {.iov_base = buf, .iov_len = want};
    struct msghdr m;
    memset(&m, 0, sizeof(m));
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    cr_assert_eq(recvmsg(b, &m, 0), (ssize_t)want, "recvmsg: %s", strerror(errno));
    cr_assert(m.msg_flags & MSG_TRUNC, "MSG_TRUNC not set (msg_flags %#x)", m.msg_flags);
    if (want)
        cr_assert_arr_eq(buf, big, want);
    /* The datagram was consumed. */
    api_assert_eagain(recv(b, buf, sizeof(buf), MSG_DONTWAIT), "recv");
    /* A datagram that fits does not set it. */
    cr_assert_eq(send(a, "fits", 4, 0), 4);
    wait_readable(b);
    iov.iov_len = sizeof(buf);
    m.msg_flags = 0;
    cr_assert_eq(recvmsg(b, &m, 0), 4);
    cr_assert_eq(m.msg_flags & MSG_TRUNC, 0);
    close(a);
    close(b);
#endif
}

ParameterizedTestParameters(recv, udp_peek_trunc_leaves_datagram)
{
    return cr_make_param_array(int, api_families, 2);
}
ParameterizedTest(int *fam, recv, udp_peek_trunc_leaves_datagram, .description = "RV-15", .timeout = 10)
{
#if defined(_WIN32)
    (void)fam;
    cr_skip_test("recvmsg and msg_flags are POSIX (Winsock has WSARecvMsg, with other flags)");
#else
    int a, b;
    api_udp_pair(*fam, &a, &b, NULL);
    char big[100], buf[100];
    send_100(a, big);
    wait_readable(b);
    struct iovec iov = {.iov_base = buf, .iov_len = 0};
    struct msghdr m;
    memset(&m, 0, sizeof(m));
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    /* With MSG_TRUNC the real length comes back even into 0 bytes. */
    cr_assert_eq(recvmsg(b, &m, MSG_PEEK | MSG_TRUNC), 100);
    cr_assert(m.msg_flags & MSG_TRUNC);
    cr_assert_eq(recv(b, buf, sizeof(buf), 0), 100, "the peeked datagram was consumed");
    cr_assert_arr_eq(buf, big, 100);
    close(a);
    close(b);
#endif
}

#if !defined(_WIN32)
static void send_512(int c, int s, unsigned char *sent)
{
    for (int i = 0; i < 512; i++)
        sent[i] = (unsigned char)(i * 7 + 1);
    cr_assert_eq(send(c, sent, 512, 0), 512);
    api_wait_inq(s, 512);
}
#endif

ParameterizedTestParameters(recv, tcp_msg_trunc_discards)
{
    return cr_make_param_array(int, api_families, 2);
}
/* tcp(7): MSG_TRUNC on a stream socket discards the bytes instead of
 * copying them (Linux-specific). */
ParameterizedTest(int *fam, recv, tcp_msg_trunc_discards, .description = "RV-16", .timeout = 10)
{
#if defined(_WIN32)
    (void)fam;
    cr_skip_test(
        "MSG_TRUNC and MSG_CTRUNC on a stream socket are Linux's (tcp(7)); Winsock has no such recv flags");
#else
    int c, s;
    sct_tcp_pair(*fam, &c, &s);
    unsigned char sent[512], buf[1024];
    send_512(c, s, sent);
    memset(buf, 0, sizeof(buf));
    cr_assert_eq(recv(s, buf, 256, MSG_TRUNC), 256);
    cr_assert(api_all_zero(buf, sizeof(buf)), "MSG_TRUNC wrote into the buffer");
    /* More than queued: the count queued. */
    cr_assert_eq(recv(s, buf, sizeof(buf), MSG_TRUNC), 256);
    cr_assert(api_all_zero(buf, sizeof(buf)));
    api_assert_eagain(recv(s, buf, sizeof(buf), MSG_DONTWAIT), "recv after discarding all");
    close(c);
    close(s);
#endif
}

ParameterizedTestParameters(recv, tcp_msg_trunc_peek_consumes_nothing)
{
    return cr_make_param_array(int, api_families, 2);
}
ParameterizedTest(int *fam, recv, tcp_msg_trunc_peek_consumes_nothing, .description = "RV-16", .timeout = 10)
{
#if defined(_WIN32)
    (void)fam;
    cr_skip_test(
        "MSG_TRUNC and MSG_CTRUNC on a stream socket are Linux's (tcp(7)); Winsock has no such recv flags");
#else
    int c, s;
    sct_tcp_pair(*fam, &c, &s);
    unsigned char sent[512], buf[512];
    send_512(c, s, sent);
    memset(buf, 0, sizeof(buf));
    cr_assert_eq(recv(s, buf, 256, MSG_TRUNC | MSG_PEEK), 256);
    cr_assert(api_all_zero(buf, sizeof(buf)));
    cr_assert_eq(recv(s, buf, sizeof(buf), 0), 512);
    cr_assert_arr_eq(buf, sent, 512);
    close(c);
    close(s);
#endif
}

ParameterizedTestParameters(recv, tcp_msg_ctrunc_on_input_ignored)
{
    return cr_make_param_array(int, api_families, 2);
}
ParameterizedTest(int *fam, recv, tcp_msg_ctrunc_on_input_ignored, .description = "RV-16", .timeout = 10)
{
#if defined(_WIN32)
    (void)fam;
    cr_skip_test(
        "MSG_TRUNC and MSG_CTRUNC on a stream socket are Linux's (tcp(7)); Winsock has no such recv flags");
#else
    int c, s;
    sct_tcp_pair(*fam, &c, &s);
    unsigned char sent[512], buf[512];
    send_512(c, s, sent);
    cr_assert_eq(recv(s, buf, 256, MSG_CTRUNC), 256);
    cr_assert_arr_eq(buf, sent, 256);
    close(c);
    close(s);
#endif
}

ParameterizedTestParameters(recv, recvmsg_flags_kept_on_failure_cleared_on_success)
{
    return cr_make_param_array(struct api_fam_mode, api_fam_types, 4);
}
ParameterizedTest(struct api_fam_mode *p, recv, recvmsg_flags_kept_on_failure_cleared_on_success,
                  .description = "RV-17", .timeout = 10)
{
#if defined(_WIN32)
    (void)p;
    cr_skip_test("recvmsg and msg_flags are POSIX (Winsock has WSARecvMsg, with other flags)");
#else
    int a, b;
    make_pair(p->family, p->mode, &a, &b);
    char buf[16];
    struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
    struct msghdr m;
    memset(&m, 0, sizeof(m));
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    const int junk = MSG_TRUNC | MSG_CTRUNC | MSG_OOB | MSG_EOR;
    m.msg_flags = junk;
    errno = 0;
    api_assert_eagain(recvmsg(b, &m, MSG_DONTWAIT), "recvmsg");
    cr_assert_eq(m.msg_flags, junk, "msg_flags changed on failure: %#x", m.msg_flags);
    cr_assert_eq(send(a, "data", 4, 0), 4);
    wait_readable(b);
    cr_assert_eq(recvmsg(b, &m, 0), 4);
    cr_assert_eq(m.msg_flags, 0, "msg_flags not cleared on success: %#x", m.msg_flags);
    close(a);
    close(b);
#endif
}

ParameterizedTestParameters(recv, recvmsg_rejects_bad_msghdr)
{
    return cr_make_param_array(int, api_families, 2);
}
ParameterizedTest(int *fam, recv, recvmsg_rejects_bad_msghdr, .description = "RV-18", .timeout = 10)
{
#if defined(_WIN32)
    (void)fam;
    cr_skip_test("recvmsg and msg_flags are POSIX (Winsock has WSARecvMsg, with other flags)");
#else
    int a, b;
    api_udp_pair(*fam, &a, &b, NULL);
    cr_assert_eq(send(a, "data", 4, 0), 4);
    wait_readable(b);
    char buf[16];
    struct sockaddr_storage from;
    struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
    struct msghdr m;
    memset(&m, 0, sizeof(m));
    m.msg_iov = &iov;
    m.msg_iovlen = (size_t)-1;
    errno = 0;
    cr_assert_eq(recvmsg(b, &m, MSG_DONTWAIT), -1);
    cr_assert_eq(errno, EMSGSIZE, "msg_iovlen -1: errno %d (%s)", errno, strerror(errno));
    m.msg_iovlen = 1;
    m.msg_name = &from;
    m.msg_namelen = (socklen_t)-1;
    errno = 0;
    cr_assert_eq(recvmsg(b, &m, MSG_DONTWAIT), -1);
    cr_assert_eq(errno, EINVAL, "msg_namelen -1: errno %d (%s)", errno, strerror(errno));
    m.msg_namelen = sizeof(from);
    m.msg_iov = NULL;
    errno = 0;
    cr_assert_eq(recvmsg(b, &m, MSG_DONTWAIT), -1);
    cr_assert_eq(errno, EFAULT, "msg_iov NULL: errno %d (%s)", errno, strerror(errno));
    /* All three were refused before the datagram was touched. */
    cr_assert_eq(recv(b, buf, sizeof(buf), MSG_DONTWAIT), 4);
    cr_assert_arr_eq(buf, "data", 4);
    close(a);
    close(b);
#endif
}

ParameterizedTestParameters(recv, tcp_shut_rd_keeps_received_data)
{
    return cr_make_param_array(int, api_families, 2);
}
ParameterizedTest(int *fam, recv, tcp_shut_rd_keeps_received_data, .description = "RV-19", .timeout = 10)
{
    int c, s;
    sct_tcp_pair(*fam, &c, &s);
    cr_assert_eq(send(c, "queued", 6, 0), 6);
    api_wait_inq(s, 6);
    cr_assert_eq(shutdown(s, SHUT_RD), 0);
    char buf[16];
#if defined(_WIN32)
    /* Winsock: after SD_RECEIVE "subsequent calls to the recv function on
     * the socket will be disallowed" (shutdown function, Remarks):
     * WSAESHUTDOWN (recv function, Return value), data queued or not. */
    errno = 0;
    api_assert_fails((int)recv(s, buf, sizeof(buf), 0), WSAESHUTDOWN, "recv after SD_RECEIVE");
#else
    cr_assert_eq(recv(s, buf, sizeof(buf), 0), 6, "received data lost by SHUT_RD");
    cr_assert_arr_eq(buf, "queued", 6);
    cr_assert_eq(recv(s, buf, sizeof(buf), 0), 0);
#endif
    close(c);
    close(s);
}

ParameterizedTestParameters(recv, udp_shut_rd_returns_zero_at_once)
{
    return cr_make_param_array(int, api_families, 2);
}
/* Linux returns 0 (Winsock: WSAESHUTDOWN). */
ParameterizedTest(int *fam, recv, udp_shut_rd_returns_zero_at_once, .description = "RV-19", .timeout = 10)
{
    int a, b;
    api_udp_pair(*fam, &a, &b, NULL);
    set_timeo(b, SO_RCVTIMEO, 3, 0); /* backstop */
    cr_assert_eq(shutdown(b, SHUT_RD), 0, "shutdown: %s", strerror(errno));
    char buf[8];
    double t0 = api_now_ms();
#if defined(_WIN32)
    /* Winsock: WSAESHUTDOWN after SD_RECEIVE (recv function, Return value). */
    for (int i = 0; i < 2; i++) {
        errno = 0;
        api_assert_fails((int)recv(b, buf, sizeof(buf), 0), WSAESHUTDOWN, "recv after SD_RECEIVE");
    }
#else
    cr_assert_eq(recv(b, buf, sizeof(buf), 0), 0, "recv: %s", strerror(errno));
    cr_assert_eq(recv(b, buf, sizeof(buf), 0), 0, "second recv: %s", strerror(errno));
#endif
    cr_assert_lt(api_now_ms() - t0, 1000.0, "recv blocked after SHUT_RD");
    close(a);
    close(b);
}

ParameterizedTestParameters(recv, udp_shut_rd_nonblocking_pending_then_eagain)
{
    return cr_make_param_array(int, api_families, 2);
}
/* The matrix's "0 at once" holds for a blocking read only: after SHUT_RD a
 * non-blocking UDP read still returns the datagrams already queued, then
 * fails EAGAIN (Linux returns 0 where it would otherwise wait). gVisor
 * udp_socket.cc ReadShutdownNonblockPendingData expects the same. */
ParameterizedTest(int *fam, recv, udp_shut_rd_nonblocking_pending_then_eagain, .description = "RV-19",
                  .timeout = 10)
{
    int a, b;
    api_udp_pair(*fam, &a, &b, NULL);
    cr_assert_eq(send(a, "abc", 3, 0), 3);
    wait_readable(b);
    api_set_nonblock(b, 1);
    cr_assert_eq(shutdown(b, SHUT_RD), 0, "shutdown: %s", strerror(errno));
    char buf[8];
#if defined(_WIN32)
    /* Winsock: WSAESHUTDOWN after SD_RECEIVE, queued data or not (shutdown
     * function, Remarks; recv function, Return value). */
    errno = 0;
    api_assert_fails((int)recv(b, buf, sizeof(buf), 0), WSAESHUTDOWN, "recv after SD_RECEIVE");
#else
    cr_assert_eq(recv(b, buf, sizeof(buf), 0), 3, "queued datagram lost: %s", strerror(errno));
    cr_assert_arr_eq(buf, "abc", 3);
    api_assert_eagain(recv(b, buf, sizeof(buf), 0), "recv after the queue drained");
#endif
    close(a);
    close(b);
}

struct signaller {
    pthread_t target;
    pid_t target_tid;
    int fd;
    int peer;
    int kills;
    int restarted;
};

/* Signals the target three times while it is blocked, checks it went back
 * into recv each time, then sends data (SA_RESTART case). */
static void *signal_thrice_then_send(void *arg)
{
    struct signaller *sg = arg;
    sg->restarted = 1;
    for (int i = 0; i < 3; i++) {
        if (!api_wait_blocked_in(sg->target_tid, SYS_recvfrom, sg->fd)) {
            sg->restarted = 0;
            break;
        }
        int before = api_signal_count;
        pthread_kill(sg->target, SIGUSR1);
        sg->kills++;
        for (int k = 0; k < 5000 && api_signal_count == before; k++)
            poll(NULL, 0, 1);
    }
    if (sg->restarted && !api_wait_blocked_in(sg->target_tid, SYS_recvfrom, sg->fd))
        sg->restarted = 0;
    send(sg->peer, "after", 5, 0);
    return NULL;
}

ParameterizedTestParameters(recv, eintr_when_signal_interrupts_blocked_recv)
{
    return cr_make_param_array(int, api_families, 2);
}
/* Gap: a handler installed without SA_RESTART makes a blocked recv fail
 * EINTR (POSIX recv: EINTR "interrupted by delivery of a signal before any
 * data was available"). The signal comes from a helper thread. Nothing is
 * lost: data sent afterwards is read whole. */
ParameterizedTest(int *fam, recv, eintr_when_signal_interrupts_blocked_recv,
                  .description = "GAP-EINTR recv: -1 EINTR without SA_RESTART", .timeout = 15)
{
    int c, s;
    sct_tcp_pair(*fam, &c, &s);
    api_catch_signal(SIGUSR1, 0);
    struct api_kicker kick;
    api_kicker_start(&kick, KICK_MS, KICK_MAX);
    char buf[8];
    errno = 0;
    ssize_t n = recv(s, buf, sizeof(buf), 0);
    int err = errno;
    api_kicker_stop(&kick);
    cr_assert_eq(n, -1, "recv returned %zd", n);
    cr_assert_eq(err, EINTR, "errno %d (%s)", err, strerror(err));
    cr_assert_geq(api_signal_count, 1);
    cr_assert_eq(send(c, "intact", 6, 0), 6);
    api_wait_inq(s, 6);
    cr_assert_eq(recv(s, buf, sizeof(buf), 0), 6);
    cr_assert_arr_eq(buf, "intact", 6);
    close(c);
    close(s);
}

ParameterizedTestParameters(recv, restarted_after_signal_with_sa_restart)
{
    return cr_make_param_array(int, api_families, 2);
}
/* The counterpart: with SA_RESTART and no socket timeout the call is
 * restarted and returns the data that comes later (signal(7)). */
ParameterizedTest(int *fam, recv, restarted_after_signal_with_sa_restart,
                  .description = "GAP-EINTR recv: SA_RESTART restarts", .timeout = 15)
{
    int c, s;
    sct_tcp_pair(*fam, &c, &s);
    api_catch_signal(SIGUSR1, SA_RESTART);
    struct signaller sg = {.target = pthread_self(), .target_tid = gettid(), .fd = s, .peer = c};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, signal_thrice_then_send, &sg), 0);
    char buf[8];
    ssize_t n = recv(s, buf, sizeof(buf), 0);
    int err = errno;
    pthread_join(t, NULL);
    if (!sg.restarted)
        cr_skip_test("cannot see the reader blocked (/proc/self/task/*/syscall)");
    cr_assert_eq(n, 5, "recv returned %zd (%s)", n, strerror(err));
    cr_assert_arr_eq(buf, "after", 5);
    cr_assert_eq(api_signal_count, 3, "handler ran %d times", (int)api_signal_count);
    close(c);
    close(s);
}

ParameterizedTestParameters(recv, eintr_with_sa_restart_when_rcvtimeo_set)
{
    return cr_make_param_array(int, api_families, 2);
}
/* signal(7): a socket call with a timeout (SO_RCVTIMEO) is not restarted
 * even with SA_RESTART; it fails EINTR. */
ParameterizedTest(int *fam, recv, eintr_with_sa_restart_when_rcvtimeo_set,
                  .description = "GAP-EINTR recv: SO_RCVTIMEO defeats SA_RESTART", .timeout = 15)
{
    int c, s;
    sct_tcp_pair(*fam, &c, &s);
    set_timeo(s, SO_RCVTIMEO, SCT_TIMEOUT_MS / 1000, 0);
    api_catch_signal(SIGUSR1, SA_RESTART);
    struct api_kicker kick;
    api_kicker_start(&kick, KICK_MS, KICK_MAX);
    char buf[8];
    errno = 0;
    ssize_t n = recv(s, buf, sizeof(buf), 0);
    int err = errno;
    api_kicker_stop(&kick);
    cr_assert_eq(n, -1, "recv returned %zd", n);
    cr_assert_eq(err, EINTR, "errno %d (%s)", err, strerror(err));
    close(c);
    close(s);
}
