/* Helpers shared by the conformance/api suites (see common.h). */
#include "common.h"

#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#if !defined(_WIN32)
#include <grp.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/wait.h>
#endif

/* Bound of the waits that poll the accept queue: count x 10 ms. */
#define QUEUE_POLLS 500

int api_families[2] = {AF_INET, AF_INET6};
struct api_fam_mode api_fam2_params[4] = {{AF_INET, 0}, {AF_INET, 1}, {AF_INET6, 0}, {AF_INET6, 1}};
struct api_fam_mode api_fam_types[4] = {
    {AF_INET, SOCK_STREAM}, {AF_INET, SOCK_DGRAM}, {AF_INET6, SOCK_STREAM}, {AF_INET6, SOCK_DGRAM}};

const char *api_fam_name(int family)
{
    return family == AF_INET6 ? "AF_INET6" : "AF_INET";
}

const char *api_type_name(int type)
{
    return type == SOCK_STREAM ? "TCP" : "UDP";
}

int api_socket(int family, int type)
{
    sct_require_family(family);
    int s = socket(family, type, 0);
    cr_assert_geq(s, 0, "socket(%s): %s", api_fam_name(family), strerror(errno));
    return s;
}

void api_set_int(int s, int level, int name, int value)
{
    cr_assert_eq(setsockopt(s, level, name, &value, sizeof(value)), 0, "setsockopt(%d, %d, %d): %s", level,
                 name, value, strerror(errno));
}

int api_getsockopt_int(int s, int level, int name, socklen_t *len_out)
{
    int v = -12345;
    socklen_t len = sizeof(v);
    cr_assert_eq(getsockopt(s, level, name, &v, &len), 0, "getsockopt(%d, %d): %s", level, name,
                 strerror(errno));
    if (len_out)
        *len_out = len;
    return v;
}

int api_get_int(int s, int level, int name)
{
    return api_getsockopt_int(s, level, name, NULL);
}

int api_so_error(int s)
{
    return api_get_int(s, SOL_SOCKET, SO_ERROR);
}

void api_set_nonblock(int s, int on)
{
    int fl = fcntl(s, F_GETFL);
    cr_assert_geq(fl, 0, "F_GETFL: %s", strerror(errno));
    fl = on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK);
    cr_assert_eq(fcntl(s, F_SETFL, fl), 0, "F_SETFL: %s", strerror(errno));
}

/* getpeername (peer) or getsockname of s into an sc_addr_t. */
static sc_addr_t name_via(int peer, int s)
{
    sc_addr_t a;
    memset(&a, 0, sizeof(a));
    a.len = sizeof(a.ss);
    struct sockaddr *sa = (struct sockaddr *)&a.ss;
    int rc = peer ? getpeername(s, sa, &a.len) : getsockname(s, sa, &a.len);
    cr_assert_eq(rc, 0, "%s: %s", peer ? "getpeername" : "getsockname", strerror(errno));
    return a;
}

sc_addr_t api_name_of(int s)
{
    return name_via(0, s);
}

sc_addr_t api_peer_of(int s)
{
    return name_via(1, s);
}

uint16_t api_port_of(const sc_addr_t *a)
{
    if (a->ss.ss_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)&a->ss)->sin6_port);
    return ntohs(((const struct sockaddr_in *)&a->ss)->sin_port);
}

int api_same_name(const sc_addr_t *a, const sc_addr_t *b)
{
    return a->len == b->len && memcmp(&a->ss, &b->ss, a->len) == 0;
}

socklen_t api_family_len(int family)
{
    return family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

int api_bind_addr(int s, const sc_addr_t *a)
{
    return bind(s, (const struct sockaddr *)&a->ss, a->len);
}

int api_connect_addr(int s, const sc_addr_t *a)
{
    return connect(s, (const struct sockaddr *)&a->ss, a->len);
}

double api_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

int api_wait_events(int fd, short events, int ms)
{
    struct pollfd p = {.fd = fd, .events = events};
    int rc;
    do
        rc = poll(&p, 1, ms);
    while (rc < 0 && errno == EINTR);
    cr_assert_geq(rc, 0, "poll: %s", strerror(errno));
    return rc ? p.revents : 0;
}

short api_poll_once(int fd, short events, int timeout_ms)
{
    struct pollfd p = {.fd = fd, .events = events};
    int rc = poll(&p, 1, timeout_ms);
    cr_assert_geq(rc, 0, "poll: %s", strerror(errno));
    return rc == 1 ? p.revents : 0;
}

void api_wait_inq(int fd, int n)
{
    int inq = -1;
    double end = api_now_ms() + SCT_TIMEOUT_MS;
    while (api_now_ms() < end) {
        cr_assert_eq(ioctl(fd, FIONREAD, &inq), 0, "FIONREAD: %s", strerror(errno));
        if (inq >= n)
            return;
        poll(NULL, 0, 1);
    }
    cr_assert_fail("only %d of %d bytes arrived", inq, n);
}

int api_wait_blocked_in(pid_t tid, long nr, int fd)
{
#if defined(_WIN32)
    /* No /proc on Windows (and Wine's is the Unix side of the process). */
    (void)tid;
    (void)nr;
    (void)fd;
    return 0;
#else
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", (int)tid);
    double end = api_now_ms() + SCT_TIMEOUT_MS;
    while (api_now_ms() < end) {
        FILE *f = fopen(path, "r");
        if (!f)
            return 0;
        char *ok = fgets(line, sizeof(line), f);
        fclose(f);
        if (!ok)
            return 0;
        long got_nr = -1;
        unsigned long arg0 = 0;
        if (sscanf(line, "%ld %lx", &got_nr, &arg0) == 2 && got_nr == nr && (int)arg0 == fd)
            return 1;
        poll(NULL, 0, 2);
    }
    return 0;
#endif
}

int api_tcp_connect(const sc_addr_t *a)
{
    int c = socket(a->ss.ss_family, SOCK_STREAM, 0);
    cr_assert_geq(c, 0, "socket: %s", strerror(errno));
    cr_assert_eq(connect(c, (const struct sockaddr *)&a->ss, a->len), 0, "connect: %s", strerror(errno));
    return c;
}

int api_tcp_connect_nb(const sc_addr_t *a)
{
    int c = socket(a->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
    cr_assert_geq(c, 0, "socket: %s", strerror(errno));
    errno = 0;
    int rc = connect(c, (const struct sockaddr *)&a->ss, a->len);
    cr_assert_eq(rc, -1, "non-blocking connect returned %d", rc);
    cr_assert_eq(errno, API_CONNECT_PENDING, "connect: errno %d (%s)", errno, strerror(errno));
    return c;
}

int api_accept_one(int l)
{
    cr_assert(api_wait_events(l, POLLIN, SCT_TIMEOUT_MS) & POLLIN, "no connection to accept");
    int s = accept(l, NULL, NULL);
    cr_assert_geq(s, 0, "accept: %s", strerror(errno));
    return s;
}

void api_assert_accepts(int l, const sc_addr_t *a)
{
    int c = api_tcp_connect(a);
    cr_assert(api_wait_events(l, POLLIN, SCT_TIMEOUT_MS) & POLLIN, "listener never readable");
    int s = accept(l, NULL, NULL);
    cr_assert_geq(s, 0, "accept: %s", strerror(errno));
    close(s);
    close(c);
}

void api_tcp_pair_small(int family, int all_bufs, int *client, int *server)
{
    sct_require_family(family);
    int l = socket(family, SOCK_STREAM, 0);
    cr_assert_geq(l, 0, "socket: %s", strerror(errno));
    api_set_int(l, SOL_SOCKET, SO_RCVBUF, API_SMALL_BUF);
    if (all_bufs)
        api_set_int(l, SOL_SOCKET, SO_SNDBUF, API_SMALL_BUF);
    sc_addr_t a = sct_loopback(family, 0);
    cr_assert_eq(bind(l, (struct sockaddr *)&a.ss, a.len), 0, "bind: %s", strerror(errno));
    cr_assert_eq(listen(l, 4), 0, "listen: %s", strerror(errno));
    a.len = sizeof(a.ss);
    cr_assert_eq(getsockname(l, (struct sockaddr *)&a.ss, &a.len), 0, "getsockname: %s", strerror(errno));
    int c = socket(family, SOCK_STREAM, 0);
    cr_assert_geq(c, 0, "socket: %s", strerror(errno));
    if (all_bufs)
        api_set_int(c, SOL_SOCKET, SO_RCVBUF, API_SMALL_BUF);
    api_set_int(c, SOL_SOCKET, SO_SNDBUF, API_SMALL_BUF);
    cr_assert_eq(connect(c, (struct sockaddr *)&a.ss, a.len), 0, "connect: %s", strerror(errno));
    int s = accept(l, NULL, NULL);
    cr_assert_geq(s, 0, "accept: %s", strerror(errno));
    close(l);
    *client = c;
    *server = s;
}

void api_udp_pair(int family, int *a, int *b, sc_addr_t *b_addr)
{
    sc_addr_t aa, ba;
    *a = sct_bound(family, SOCK_DGRAM, &aa);
    *b = sct_bound(family, SOCK_DGRAM, &ba);
    cr_assert_eq(connect(*a, (struct sockaddr *)&ba.ss, ba.len), 0, "connect: %s", strerror(errno));
    cr_assert_eq(connect(*b, (struct sockaddr *)&aa.ss, aa.len), 0, "connect: %s", strerror(errno));
    if (b_addr)
        *b_addr = ba;
}

int api_bound_explicit(int family, int type, int reuse, sc_addr_t *out)
{
    for (int i = 0; i < 10; i++) {
        int probe = api_socket(family, type);
        sc_addr_t a = sct_loopback(family, 0);
        cr_assert_eq(api_bind_addr(probe, &a), 0, "bind: %s", strerror(errno));
        a = api_name_of(probe);
        close(probe);
        int s = api_socket(family, type);
        if (reuse)
            api_set_int(s, SOL_SOCKET, SO_REUSEADDR, 1);
        if (api_bind_addr(s, &a) == 0) {
            *out = a;
            return s;
        }
        cr_assert_eq(errno, EADDRINUSE, "bind %u: %s", api_port_of(&a), strerror(errno));
        close(s);
    }
    cr_assert_fail("no free port found for an explicit bind");
    return -1;
}

void api_listen_queue(int l, unsigned *queued, unsigned *limit)
{
#if defined(_WIN32)
    (void)l;
    (void)queued;
    (void)limit;
    cr_skip_test("Windows does not report a listener's accept queue (Linux's TCP_INFO for listeners)");
#else
    struct tcp_info ti;
    socklen_t len = sizeof(ti);
    memset(&ti, 0, sizeof(ti));
    cr_assert_eq(getsockopt(l, IPPROTO_TCP, TCP_INFO, &ti, &len), 0, "TCP_INFO: %s", strerror(errno));
    if (queued)
        *queued = ti.tcpi_unacked;
    if (limit)
        *limit = ti.tcpi_sacked;
#endif
}

void api_wait_queued(int l, unsigned n)
{
    unsigned q = 0;
    for (int i = 0; i < QUEUE_POLLS; i++) {
        api_listen_queue(l, &q, NULL);
        if (q == n)
            return;
        poll(NULL, 0, 10);
    }
    cr_assert_fail("accept queue holds %u connections, expected %u", q, n);
}

int api_full_listener(int family, sc_addr_t *a, int *filler)
{
    int l = api_socket(family, SOCK_STREAM);
    sc_addr_t lo = sct_loopback(family, 0);
    cr_assert_eq(bind(l, (struct sockaddr *)&lo.ss, lo.len), 0, "bind: %s", strerror(errno));
    cr_assert_eq(listen(l, 0), 0, "listen: %s", strerror(errno));
    *a = api_name_of(l);
    *filler = api_tcp_connect_nb(a);
    cr_assert(api_wait_events(*filler, POLLOUT, SCT_TIMEOUT_MS) & POLLOUT,
              "first connection never completed");
    api_wait_queued(l, 1);
    return l;
}

void api_assert_fails(int rc, int err, const char *what)
{
    cr_assert_eq(rc, -1, "%s succeeded", what);
    cr_assert_eq(errno, err, "%s: errno %d (%s), expected %d (%s)", what, errno, strerror(errno), err,
                 strerror(err));
}

void api_assert_eagain(ssize_t n, const char *what)
{
    cr_assert_eq(n, -1, "%s returned %zd", what, n);
    cr_assert(errno == EAGAIN || errno == EWOULDBLOCK, "%s: errno %d (%s)", what, errno, strerror(errno));
}

void api_assert_nothing_queued(int fd)
{
    char c;
    ssize_t n = recv(fd, &c, 1, MSG_DONTWAIT);
    cr_assert_eq(n, -1, "recv returned %zd: something arrived", n);
    cr_assert(errno == EAGAIN || errno == EWOULDBLOCK, "errno %d (%s)", errno, strerror(errno));
}

int api_all_zero(const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return 0;
    return 1;
}

unsigned char api_pattern(size_t i)
{
    return (unsigned char)(i * 31u + i / 251u);
}

#if defined(_WIN32)
void api_enter_private_netns(void)
{
    cr_skip_test("no private network namespace on Windows: a wildcard bind would open a port on the machine's interfaces");
}

int api_run_unprivileged(int (*fn)(int), int arg)
{
    (void)fn;
    (void)arg;
    cr_skip_test("runs a child without root (fork, setuid): POSIX only");
    return -1;
}

long api_read_proc(const char *path, long dflt)
{
    /* No /proc on Windows; under Wine fopen would read the Linux host's. */
    (void)path;
    return dflt;
}

int api_max_open_fd(void)
{
    return -1; /* sockets are handles: no descriptor table to scan */
}
#else
static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return;
    fputs(text, f);
    fclose(f);
}

void api_enter_private_netns(void)
{
    if (unshare(CLONE_NEWNET) != 0) {
        int err = errno;
        unsigned uid = (unsigned)geteuid(), gid = (unsigned)getegid();
        if (unshare(CLONE_NEWUSER | CLONE_NEWNET) != 0)
            cr_skip_test("needs a private network namespace to bind a wildcard address (unshare: %s)",
                         strerror(err));
        char map[64];
        write_file("/proc/self/setgroups", "deny");
        snprintf(map, sizeof(map), "0 %u 1", uid);
        write_file("/proc/self/uid_map", map);
        snprintf(map, sizeof(map), "0 %u 1", gid);
        write_file("/proc/self/gid_map", map);
    }
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    cr_assert_geq(s, 0, "socket: %s", strerror(errno));
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    strcpy(ifr.ifr_name, "lo");
    cr_assert_eq(ioctl(s, SIOCGIFFLAGS, &ifr), 0, "SIOCGIFFLAGS lo: %s", strerror(errno));
    ifr.ifr_flags |= IFF_UP;
    cr_assert_eq(ioctl(s, SIOCSIFFLAGS, &ifr), 0, "SIOCSIFFLAGS lo: %s", strerror(errno));
    close(s);
}

int api_run_unprivileged(int (*fn)(int), int arg)
{
    pid_t pid = fork();
    cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        if (geteuid() == 0 && (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0))
            _exit(250);
        _exit(fn(arg));
    }
    int status = 0;
    cr_assert_eq(waitpid(pid, &status, 0), pid, "waitpid: %s", strerror(errno));
    cr_assert(WIFEXITED(status), "child did not exit normally (status 0x%x)", status);
    if (WEXITSTATUS(status) == 250)
        cr_skip_test("needs to drop root privileges (setuid 65534 failed)");
    return WEXITSTATUS(status);
}

long api_read_proc(const char *path, long dflt)
{
    FILE *f = fopen(path, "r");
    long v = dflt;
    if (f) {
        if (fscanf(f, "%ld", &v) != 1)
            v = dflt;
        fclose(f);
    }
    return v;
}

int api_max_open_fd(void)
{
    int max = -1;
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    int self = dirfd(d);
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        int fd = atoi(e->d_name);
        if (e->d_name[0] != '.' && fd != self && fd > max)
            max = fd;
    }
    closedir(d);
    return max;
}
#endif

volatile sig_atomic_t api_signal_count;

#if defined(_WIN32)
/* Windows has no POSIX signals (the CRT's signal() knows SIGABRT, SIGFPE,
 * SIGILL, SIGINT, SIGSEGV, SIGTERM only), and nothing interrupts a Winsock
 * 2 call with WSAEINTR: the tests of EINTR skip there. */
void api_catch_signal(int sig, int flags)
{
    (void)sig;
    (void)flags;
    cr_skip_test("no POSIX signals on Windows (sigaction, SIGUSR1, SIGPIPE)");
}

void api_kicker_start(struct api_kicker *k, int interval_ms, int max)
{
    (void)k;
    (void)interval_ms;
    (void)max;
    cr_skip_test("no POSIX signals on Windows (pthread_kill with SIGUSR1)");
}

void api_kicker_stop(struct api_kicker *k)
{
    (void)k;
}
#else
static void count_signal(int sig)
{
    (void)sig;
    api_signal_count++;
}

void api_catch_signal(int sig, int flags)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = count_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = flags;
    cr_assert_eq(sigaction(sig, &sa, NULL), 0, "sigaction: %s", strerror(errno));
    api_signal_count = 0;
}

static void *kicker_main(void *arg)
{
    struct api_kicker *k = arg;
    for (int i = 0; i < k->max && !atomic_load(&k->stop); i++) {
        /* A signal that lands before the call blocks is harmless: the next
         * one, interval_ms later, interrupts it. */
        pthread_kill(k->target, SIGUSR1);
        poll(NULL, 0, k->interval_ms);
    }
    return NULL;
}

void api_kicker_start(struct api_kicker *k, int interval_ms, int max)
{
    k->target = pthread_self();
    k->interval_ms = interval_ms;
    k->max = max;
    atomic_init(&k->stop, 0);
    cr_assert_eq(pthread_create(&k->thread, NULL, kicker_main, k), 0);
}

void api_kicker_stop(struct api_kicker *k)
{
    atomic_store(&k->stop, 1);
    pthread_join(k->thread, NULL);
}
#endif

void *api_noaccess_page(void)
{
#if defined(_WIN32)
    void *p = VirtualAlloc(NULL, 4096, MEM_RESERVE | MEM_COMMIT, PAGE_NOACCESS);
    cr_assert_not_null(p, "VirtualAlloc: %lu", (unsigned long)GetLastError());
#else
    void *p = mmap(NULL, (size_t)sysconf(_SC_PAGESIZE), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    cr_assert_neq(p, MAP_FAILED, "mmap: %s", strerror(errno));
#endif
    return p;
}

void api_noaccess_free(void *page)
{
#if defined(_WIN32)
    VirtualFree(page, 0, MEM_RELEASE);
#else
    munmap(page, (size_t)sysconf(_SC_PAGESIZE));
#endif
}
