/* Hostile clients for ci/stress: slowloris, never-read, half-open, RST
 * storms, SIGKILLed streams, connect floods and connection churn against
 * one TCP echo server, on one epoll loop; prints one key=value line. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* accept4 flags, IP_BIND_ADDRESS_NO_PORT */
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "parse.h"

#define CHUNK 65536
#define BATCH 256
#define MAX_CONNECTING 128   /* connects in flight at once */
#define TICK_MS 10           /* the longest wait of the loop, so SIGTERM is seen at once */
#define FINAL_WAIT_MS 2000   /* after the run: how long outstanding echoes may take */
#define RST_SMALL 100        /* an RST connection sends this much and waits for the echo... */
#define RST_BIG (256 * 1024) /* ...or sends this much, never reads, and resets at once */
#define CHURN_BYTES 100
#define HALFOPEN_BYTES 16
#define KILL_READY_BYTES (16 * 1024) /* echoed per connection before the child may be killed */
#define KILL_WAIT_MS 5000
#define STREAM_WINDOW (64 * 1024)

enum mode { M_SLOWLORIS, M_NOREAD, M_HALFOPEN, M_RST, M_KILLED, M_FLOOD, M_CHURN };
static const char *const mode_names[] = {"slowloris", "noread", "halfopen", "rst",
                                         "killed",    "flood",  "churn"};

enum { C_FREE, C_CONNECTING, C_OPEN };

struct hconn {
    int fd, state;
    uint32_t id;          /* picks the byte pattern */
    uint64_t sent, recvd; /* stream offsets */
    uint64_t want;        /* rst and churn: bytes to send in all */
    int blocked;          /* noread: its send buffer was full once */
    int big;              /* rst: the variant that never reads */
};

struct opts {
    enum mode mode;
    struct sockaddr_in target;
    long conns, times, spread;
    double rate;
    long byte_ms;
    long duration_ms;
    uint32_t source; /* host order; 0: no bind */
    long sockbuf;    /* SO_SNDBUF and SO_RCVBUF of every connection; 0: the system's */
    const char *ready_file;
};

struct stats {
    unsigned long long opened, connected, sent, echoed, corrupted, errors, resets, kills, closed_by_server;
};

struct run {
    struct opts o;
    int ep;
    struct hconn *c; /* o.conns slots */
    long nslots, connecting, open, hint;
    uint32_t next_id;
    struct stats st;
    int ready;
    long long t_end, t_next;
    unsigned char buf[CHUNK];
};

static volatile sig_atomic_t stop_flag;

static void on_stop(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The byte at offset k of connection id's stream. */
static unsigned char pattern(uint32_t id, uint64_t k)
{
    return (unsigned char)(k ^ (k >> 8) ^ (k >> 16) ^ (id * 37u));
}

static void fill(unsigned char *b, size_t n, uint32_t id, uint64_t off)
{
    for (size_t i = 0; i < n; i++)
        b[i] = pattern(id, off + i);
}

static unsigned long long count_bad(const unsigned char *b, size_t n, uint32_t id, uint64_t off)
{
    unsigned long long bad = 0;
    for (size_t i = 0; i < n; i++)
        bad += b[i] != pattern(id, off + i);
    return bad;
}

/* ---- connections ---- */

static void conn_close(struct run *r, struct hconn *c, int reset)
{
    if (reset) {
        /* SO_LINGER with a zero timeout: close sends RST, not FIN (socket(7)). */
        struct linger lg = {1, 0};
        setsockopt(c->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
        r->st.resets++;
    }
    if (c->state == C_CONNECTING)
        r->connecting--;
    else if (c->state == C_OPEN)
        r->open--;
    close(c->fd); /* also leaves the epoll set */
    c->fd = -1;
    c->state = C_FREE;
}

static int watch(struct run *r, struct hconn *c, uint32_t ev, int op)
{
    struct epoll_event e = {.events = ev, .data.ptr = c};
    return epoll_ctl(r->ep, op, c->fd, &e);
}

/* A free slot, searched from where the last one was found. */
static struct hconn *free_slot(struct run *r)
{
    for (long k = 0; k < r->nslots; k++) {
        long i = (r->hint + k) % r->nslots;
        if (r->c[i].state == C_FREE) {
            r->hint = i + 1;
            return &r->c[i];
        }
    }
    return NULL;
}

/* Starts one non-blocking connect. */
static int conn_open(struct run *r, struct hconn *c)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        r->st.errors++;
        return -errno;
    }
    memset(c, 0, sizeof(*c));
    c->fd = fd;
    c->id = r->next_id++;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (r->o.sockbuf > 0) {
        /* Small buffers keep a thousand never-reading clients from taking
         * gigabytes of the machine's TCP memory (tcp_mem is shared by
         * every namespace); set before connect, they also bound the
         * window the server may fill (tcp(7)). */
        int b = (int)r->o.sockbuf;
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &b, sizeof(b));
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &b, sizeof(b));
    }
    if (r->o.source) {
        struct sockaddr_in src = {.sin_family = AF_INET};
        src.sin_addr.s_addr = htonl(r->o.source + (uint32_t)(c->id % (uint32_t)r->o.spread));
        setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
        if (bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0) {
            int e = errno;
            close(fd);
            c->fd = -1;
            r->st.errors++;
            return -e;
        }
    }
    r->st.opened++;
    c->state = C_CONNECTING;
    r->connecting++;
    if (connect(fd, (struct sockaddr *)&r->o.target, sizeof(r->o.target)) < 0 && errno != EINPROGRESS) {
        r->st.errors++;
        conn_close(r, c, 0);
        return -1;
    }
    watch(r, c, EPOLLOUT, EPOLL_CTL_ADD);
    return 0;
}

/* Sends up to n bytes of the pattern; returns what the socket took. */
static size_t send_pattern(struct run *r, struct hconn *c, size_t n)
{
    size_t done = 0;
    while (done < n) {
        size_t k = n - done < CHUNK ? n - done : CHUNK;
        fill(r->buf, k, c->id, c->sent);
        ssize_t w = send(c->fd, r->buf, k, MSG_NOSIGNAL);
        if (w <= 0)
            break;
        c->sent += (uint64_t)w;
        r->st.sent += (unsigned long long)w;
        done += (size_t)w;
        if ((size_t)w < k)
            break;
    }
    return done;
}

/* Reads what came back and verifies it. Returns 1 while open, 0 when the
 * server closed or failed the connection (counted). */
static int recv_verify(struct run *r, struct hconn *c)
{
    for (;;) {
        ssize_t n = recv(c->fd, r->buf, sizeof(r->buf), 0);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return 1;
        if (n <= 0) {
            r->st.closed_by_server++;
            if (c->recvd < c->sent)
                r->st.errors++;
            conn_close(r, c, 0);
            return 0;
        }
        unsigned long long bad = count_bad(r->buf, (size_t)n, c->id, c->recvd);
        r->st.corrupted += bad;
        r->st.echoed += (unsigned long long)n - bad;
        c->recvd += (uint64_t)n;
        if ((size_t)n < sizeof(r->buf))
            return 1;
    }
}

/* ---- what each mode does with an open connection ---- */

static void on_connected(struct run *r, struct hconn *c)
{
    int err = 0;
    socklen_t len = sizeof(err);
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err) {
        r->st.errors++;
        conn_close(r, c, 0);
        return;
    }
    r->connecting--;
    r->open++;
    c->state = C_OPEN;
    r->st.connected++;
    switch (r->o.mode) {
    case M_NOREAD:
        send_pattern(r, c, SIZE_MAX);
        c->blocked = 1;
        watch(r, c, EPOLLOUT, EPOLL_CTL_MOD);
        break;
    case M_HALFOPEN:
        send_pattern(r, c, HALFOPEN_BYTES);
        watch(r, c, EPOLLIN, EPOLL_CTL_MOD);
        break;
    case M_RST:
        c->big = (c->id & 1) != 0;
        if (c->big) {
            send_pattern(r, c, RST_BIG);
            conn_close(r, c, 1);
            return;
        }
        send_pattern(r, c, RST_SMALL);
        watch(r, c, EPOLLIN, EPOLL_CTL_MOD);
        break;
    case M_CHURN:
        send_pattern(r, c, CHURN_BYTES);
        watch(r, c, EPOLLIN, EPOLL_CTL_MOD);
        break;
    default: /* slowloris, flood: the tick sends; read what comes */
        watch(r, c, EPOLLIN, EPOLL_CTL_MOD);
        break;
    }
}

static void on_event(struct run *r, struct hconn *c, uint32_t ev)
{
    if (c->state == C_CONNECTING) {
        on_connected(r, c);
        return;
    }
    if (c->state != C_OPEN)
        return;
    if (r->o.mode == M_NOREAD) {
        if (ev & (EPOLLERR | EPOLLHUP)) {
            r->st.closed_by_server++;
            r->st.errors++;
            conn_close(r, c, 0);
        } else if (ev & EPOLLOUT) {
            send_pattern(r, c, SIZE_MAX);
        }
        return;
    }
    if (!recv_verify(r, c))
        return;
    if ((r->o.mode == M_RST || r->o.mode == M_CHURN) && c->recvd >= c->sent)
        conn_close(r, c, r->o.mode == M_RST);
}

/* ---- the modes' timers ---- */

static void open_up_to(struct run *r, long n)
{
    while (r->connecting + r->open < n && r->connecting < MAX_CONNECTING && (long)r->st.opened < r->o.conns) {
        struct hconn *c = free_slot(r);
        if (!c || conn_open(r, c) < 0)
            break;
    }
}

/* rst and churn: one new connection every 1/rate seconds. */
static void open_paced(struct run *r, long long now)
{
    double gap = 1000.0 / r->o.rate;
    int burst = 0;
    while (now >= r->t_next && burst++ < 64) {
        r->t_next += (long long)(gap > 1 ? gap : 1);
        struct hconn *c = free_slot(r);
        if (!c)
            break; /* every slot busy: the server is slow; skip this one */
        conn_open(r, c);
    }
    if (now - r->t_next > 1000)
        r->t_next = now; /* do not make up for a long stall */
}

static void slowloris_tick(struct run *r, long long now)
{
    if (now < r->t_next)
        return;
    r->t_next = now + r->o.byte_ms;
    for (long i = 0; i < r->nslots; i++)
        if (r->c[i].state == C_OPEN)
            send_pattern(r, &r->c[i], 1);
}

static void write_ready(struct run *r)
{
    if (r->ready)
        return;
    r->ready = 1;
    if (!r->o.ready_file)
        return;
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.tmp", r->o.ready_file);
    FILE *f = fopen(tmp, "w");
    if (f) {
        fprintf(f, "ready connected=%llu\n", r->st.connected);
        fclose(f);
        rename(tmp, r->o.ready_file);
    }
}

/* Whether the load is in place: every connection made (and, for noread,
 * blocked; for halfopen, echoed). */
static void check_ready(struct run *r)
{
    if (r->ready)
        return;
    switch (r->o.mode) {
    case M_RST:
    case M_CHURN:
    case M_KILLED:
        write_ready(r);
        return;
    default:
        break;
    }
    if ((long)r->st.opened < r->o.conns || r->connecting > 0)
        return;
    for (long i = 0; i < r->nslots; i++) {
        struct hconn *c = &r->c[i];
        if (c->state != C_OPEN)
            continue;
        if (r->o.mode == M_NOREAD && !c->blocked)
            return;
        if ((r->o.mode == M_HALFOPEN || r->o.mode == M_SLOWLORIS) && c->recvd < c->sent)
            return;
    }
    write_ready(r);
}

static void loop_once(struct run *r, int wait)
{
    struct epoll_event ev[BATCH];
    int n = epoll_wait(r->ep, ev, BATCH, wait);
    for (int i = 0; i < n; i++)
        on_event(r, ev[i].data.ptr, ev[i].events);
}

/* After the run: outstanding echoes of the verifying modes may still come. */
static void final_wait(struct run *r)
{
    if (r->o.mode != M_SLOWLORIS && r->o.mode != M_CHURN && r->o.mode != M_RST)
        return;
    long long deadline = now_ms() + FINAL_WAIT_MS;
    while (now_ms() < deadline) {
        int owed = 0;
        for (long i = 0; i < r->nslots && !owed; i++)
            owed = r->c[i].state == C_OPEN && r->c[i].recvd < r->c[i].sent;
        if (!owed)
            return;
        loop_once(r, TICK_MS);
    }
}

/* ---- killed: a child streams, the parent kills it ---- */

/* The child: streams on n connections at full speed, verifying, and says
 * 'r' on the pipe once each has had KILL_READY_BYTES echoed (or 'c' on
 * corruption, 'e' when a connection failed). Runs until killed. */
static void killed_child(struct run *r, int wfd)
{
    long n = r->o.conns;
    memset(&r->st, 0, sizeof(r->st));
    for (long i = 0; i < n; i++)
        conn_open(r, &r->c[i]);
    int said = 0;
    long long give_up = now_ms() + KILL_WAIT_MS * 2;
    while (now_ms() < give_up) {
        struct epoll_event ev[BATCH];
        int k = epoll_wait(r->ep, ev, BATCH, TICK_MS);
        for (int i = 0; i < k; i++) {
            struct hconn *c = ev[i].data.ptr;
            if (c->state == C_CONNECTING) {
                on_connected(r, c);
                if (c->state == C_OPEN)
                    watch(r, c, EPOLLIN | EPOLLOUT, EPOLL_CTL_MOD);
                continue;
            }
            if (c->state != C_OPEN)
                continue;
            if ((ev[i].events & EPOLLIN) && !recv_verify(r, c))
                continue;
            if (c->sent - c->recvd < STREAM_WINDOW)
                send_pattern(r, c, STREAM_WINDOW - (size_t)(c->sent - c->recvd));
        }
        char what = r->st.corrupted ? 'c' : r->st.errors ? 'e' : 0;
        if (!what) {
            long okc = 0;
            for (long i = 0; i < n; i++)
                okc += r->c[i].state == C_OPEN && r->c[i].recvd >= KILL_READY_BYTES;
            what = okc == n ? 'r' : 0;
        }
        if (what && !said) {
            said = write(wfd, &what, 1) == 1;
        }
    }
    _exit(3); /* never killed: the parent gave up on it */
}

static void killed_run(struct run *r)
{
    long long start = now_ms();
    for (long k = 0; k < r->o.times && !stop_flag; k++) {
        /* The kills are spread over the duration. */
        long long at = start + r->o.duration_ms * k / r->o.times;
        while (now_ms() < at && !stop_flag) {
            struct timespec ts = {0, TICK_MS * 1000000L};
            nanosleep(&ts, NULL); /* pacing of the scenario, not synchronisation */
        }
        int p[2];
        if (pipe(p) < 0)
            break;
        pid_t pid = fork();
        if (pid < 0) {
            close(p[0]);
            close(p[1]);
            break;
        }
        if (pid == 0) {
            close(p[0]);
            r->ep = epoll_create1(EPOLL_CLOEXEC);
            killed_child(r, p[1]);
        }
        close(p[1]);
        char what = 0;
        struct pollfd pf = {.fd = p[0], .events = POLLIN};
        if (poll(&pf, 1, KILL_WAIT_MS) == 1 && read(p[0], &what, 1) != 1)
            what = 0;
        close(p[0]);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        r->st.kills++;
        r->st.opened += (unsigned long long)r->o.conns;
        if (what == 'r')
            r->st.connected += (unsigned long long)r->o.conns;
        else if (what == 'c')
            r->st.corrupted++;
        else
            r->st.errors++;
    }
}

/* ---- main ---- */

static int usage(FILE *f)
{
    fprintf(f,
            "usage: stress-hostile MODE --target IPV4:PORT [--conns N] [--duration SEC]\n"
            "         [--rate R] [--byte-ms MS] [--times K] [--source IPV4 [--spread N]]\n"
            "         [--ready-file FILE] [--sockbuf BYTES]\n"
            "Hostile clients against one TCP echo server (ci/stress). Modes:\n"
            "  slowloris  --conns connections each send one byte every --byte-ms (1000)\n"
            "             and verify its echo\n"
            "  noread     --conns connections each send until the socket is full, never read\n"
            "  halfopen   --conns connections echo %d bytes, then stay silent (the caller cuts\n"
            "             the link under them before ending this program)\n"
            "  rst        --rate connections a second: half send %d bytes and reset after the\n"
            "             echo, half send %d KiB, never read, and reset at once (SO_LINGER 0)\n"
            "  killed     --times times a child streams on --conns connections and is\n"
            "             SIGKILLed once each had %d KiB echoed; spread over --duration\n"
            "  flood      --conns connects at once, held (an accept storm)\n"
            "  churn      --rate connections a second: %d bytes echoed, verified, closed\n"
            "Runs --duration seconds (default 10) or until SIGTERM/SIGINT, then prints one\n"
            "line: hostile mode=... opened= connected= sent= echoed= corrupted= errors=\n"
            "resets= kills= closed_by_server= result=PASS|FAIL. --ready-file is written\n"
            "once the load is in place. --source binds connection i to IPV4 + (i mod\n"
            "--spread). --sockbuf sets SO_SNDBUF and SO_RCVBUF (default 16384; 0: the\n"
            "system's). Exit: 0 PASS, 1 FAIL (corruption, or a verifying mode saw a\n"
            "connection fail), 2 usage.\n",
            HALFOPEN_BYTES, RST_SMALL, RST_BIG / 1024, KILL_READY_BYTES / 1024, CHURN_BYTES);
    return 2;
}

static int parse_opts(struct opts *o, int argc, char **argv)
{
    enum {
        O_TARGET = 256,
        O_CONNS,
        O_DURATION,
        O_RATE,
        O_BYTE_MS,
        O_TIMES,
        O_SOURCE,
        O_SPREAD,
        O_READY,
        O_SOCKBUF
    };
    static const struct option lo[] = {
        {"target", required_argument, NULL, O_TARGET},
        {"conns", required_argument, NULL, O_CONNS},
        {"duration", required_argument, NULL, O_DURATION},
        {"rate", required_argument, NULL, O_RATE},
        {"byte-ms", required_argument, NULL, O_BYTE_MS},
        {"times", required_argument, NULL, O_TIMES},
        {"source", required_argument, NULL, O_SOURCE},
        {"spread", required_argument, NULL, O_SPREAD},
        {"ready-file", required_argument, NULL, O_READY},
        {"sockbuf", required_argument, NULL, O_SOCKBUF},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof(*o));
    o->conns = 100;
    o->duration_ms = 10000;
    o->rate = 100;
    o->byte_ms = 1000;
    o->times = 10;
    o->spread = 1;
    o->sockbuf = 16384;
    if (argc < 2)
        return -1;
    int m = -1;
    for (int i = 0; i < (int)(sizeof(mode_names) / sizeof(*mode_names)); i++)
        if (strcmp(argv[1], mode_names[i]) == 0)
            m = i;
    if (m < 0)
        return strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ? 1 : -1;
    o->mode = (enum mode)m;
    int have_target = 0, c;
    optind = 2;
    struct in_addr in;
    while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (c) {
        case O_TARGET:
            if (parse_ipv4_port(optarg, &o->target, 1) < 0)
                return -1;
            have_target = 1;
            break;
        case O_CONNS:
            o->conns = strtol(optarg, NULL, 10);
            break;
        case O_DURATION:
            o->duration_ms = (long)(strtod(optarg, NULL) * 1000);
            break;
        case O_RATE:
            o->rate = strtod(optarg, NULL);
            break;
        case O_BYTE_MS:
            o->byte_ms = strtol(optarg, NULL, 10);
            break;
        case O_TIMES:
            o->times = strtol(optarg, NULL, 10);
            break;
        case O_SOURCE:
            if (inet_pton(AF_INET, optarg, &in) != 1)
                return -1;
            o->source = ntohl(in.s_addr);
            break;
        case O_SPREAD:
            o->spread = strtol(optarg, NULL, 10);
            break;
        case O_READY:
            o->ready_file = optarg;
            break;
        case O_SOCKBUF:
            o->sockbuf = strtol(optarg, NULL, 10);
            break;
        case 'h':
            return 1;
        default:
            return -1;
        }
    }
    if (optind < argc || !have_target || o->conns < 1 || o->conns > 1000000 || o->duration_ms <= 0 ||
        o->rate <= 0 || o->byte_ms < 1 || o->times < 1 || o->spread < 1 || o->sockbuf < 0)
        return -1;
    return 0;
}

static void raise_nofile(long want)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)want) {
        rl.rlim_cur = rl.rlim_max < (rlim_t)want ? rl.rlim_max : (rlim_t)want;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

static void run_loop(struct run *r)
{
    long long start = now_ms();
    r->t_end = start + r->o.duration_ms;
    r->t_next = start;
    while (!stop_flag && now_ms() < r->t_end) {
        long long now = now_ms();
        switch (r->o.mode) {
        case M_RST:
        case M_CHURN:
            open_paced(r, now);
            break;
        case M_SLOWLORIS:
            open_up_to(r, r->o.conns);
            if (r->ready)
                slowloris_tick(r, now);
            break;
        default:
            open_up_to(r, r->o.conns);
            break;
        }
        check_ready(r);
        loop_once(r, TICK_MS);
    }
    final_wait(r);
}

int main(int argc, char **argv)
{
    static struct run r;
    int rc = parse_opts(&r.o, argc, argv);
    if (rc != 0) {
        usage(rc > 0 ? stdout : stderr);
        return rc > 0 ? 0 : 2;
    }
    signal(SIGPIPE, SIG_IGN);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    /* rst and churn need a slot per connection in flight only. */
    int paced = r.o.mode == M_RST || r.o.mode == M_CHURN;
    r.nslots = paced ? 4096 : r.o.conns;
    raise_nofile(r.nslots + 64);
    r.c = calloc((size_t)r.nslots, sizeof(*r.c));
    r.ep = epoll_create1(EPOLL_CLOEXEC);
    if (!r.c || r.ep < 0) {
        fprintf(stderr, "stress-hostile: setup: %s\n", strerror(errno));
        return 2;
    }
    for (long i = 0; i < r.nslots; i++)
        r.c[i].fd = -1;
    if (paced)
        r.o.conns = 1000000000L; /* no bound but the duration */
    if (r.o.mode == M_KILLED) {
        write_ready(&r);
        killed_run(&r);
    } else {
        run_loop(&r);
    }
    /* halfopen ends without a word to the server: the caller has cut the
     * link, and the FIN this close sends is dropped. */
    for (long i = 0; i < r.nslots; i++)
        if (r.c[i].state != C_FREE)
            conn_close(&r, &r.c[i], 0);
    int verifying = r.o.mode == M_SLOWLORIS || r.o.mode == M_HALFOPEN || r.o.mode == M_CHURN ||
                    r.o.mode == M_KILLED || r.o.mode == M_RST;
    int pass = r.st.corrupted == 0 && (!verifying || r.st.errors == 0);
    printf("hostile mode=%s opened=%llu connected=%llu sent=%llu echoed=%llu corrupted=%llu errors=%llu "
           "resets=%llu kills=%llu closed_by_server=%llu result=%s\n",
           mode_names[r.o.mode], r.st.opened, r.st.connected, r.st.sent, r.st.echoed, r.st.corrupted,
           r.st.errors, r.st.resets, r.st.kills, r.st.closed_by_server, pass ? "PASS" : "FAIL");
    close(r.ep);
    free(r.c);
    return pass ? 0 : 1;
}
