/* sockcheck-client: the reference RFC 862 echo client (argument parsing
 * and printing only; the client is harness/client.c, the load generator
 * harness/load.c). */
#include "sockcheck/client.h"
#include "sockcheck/io.h"
#include "sockcheck/load.h"
#include "sockcheck/net.h"
#include "sockcheck/sys.h"
#include "signals.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if !defined(_WIN32)
#include <sys/resource.h>
#endif
#include <time.h>
#include <unistd.h>

/* Exit codes: documented in --help. */
enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

#define PROG "sockcheck-client"
#define HOST_MAX 256
#define PORT_MAX 16
#define MAX_SIZES 64
#define PIPE_CHUNK 65536
#define UDP_PAYLOAD_MAX 65507
#define MAX_PAYLOAD (1ULL << 30) /* verify: 1 GiB at most, held in memory */
#define SPREAD_BASE 0x7f010001u  /* 127.1.0.1: the first --spread source address */
#define SPREAD_MAX 65536

static void usage(FILE *f)
{
    fprintf(f,
            "usage: " PROG " pipe [--udp] [--timeout MS] HOST:PORT\n"
            "       " PROG " verify [--udp] [--count N] [--size S[,S2,...]] [--seed X] [--timeout MS] HOST:PORT\n"
            "       " PROG " load --target HOST:PORT [--proto tcp|udp] [--conns N] [--mode pingpong|stream]\n"
            "              [--size BYTES] [--duration SEC] [--count N] [--timeout MS]\n"
            "              [--interval MS] [--spread N] [--connect-timeout MS] [--eof-ok] [--json]\n"
            "       " PROG " --help | --version\n\n"
            "The reference RFC 862 echo client. HOST:PORT is 127.0.0.1:7007, [::1]:7007 or\n"
            "localhost:7007; every resolved address is tried in turn. Nothing is sent\n"
            "anywhere but to the address given.\n\n"
            "  pipe    copy stdin to the server and its echo to stdout, like nc. TCP\n"
            "          half-closes at the end of stdin and runs until the server closes;\n"
            "          UDP sends each read of stdin as one datagram and waits --timeout\n"
            "          (default 1000 ms) for the last echoes.\n"
            "  verify  send --count random payloads (default: one of each size), each on\n"
            "          a fresh connection, and compare every echoed byte. Sizes default\n"
            "          to 0,1,100,1500,65536,1048576 (TCP) or 0,1,100,1472 (UDP) and take\n"
            "          K and M suffixes (KiB, MiB). --seed picks the payloads (default 1);\n"
            "          --timeout bounds each payload (default 5000 ms).\n"
            "  load    open --conns connections (default 1) and run ping-pong (default)\n"
            "          or stream rounds of --size bytes (default 64; UDP at least 8) for\n"
            "          --duration seconds (default 5 unless --count is given) or --count\n"
            "          round trips in all. Prints progress to stderr each second and one\n"
            "          key=value result line to stdout. --timeout is how long an echo may\n"
            "          take before its bytes count as lost (default 1000 UDP, 10000 TCP).\n"
            "          --interval MS: each ping-pong connection pauses MS between round\n"
            "          trips (a paced load; default none). --spread N: connection i binds\n"
            "          source address 127.1.0.1 + (i mod N) first (IPv4 loopback targets),\n"
            "          so that the ephemeral port range is no limit. --connect-timeout MS\n"
            "          (default 5000). --eof-ok: the server's EOF ends a TCP connection\n"
            "          cleanly (a draining server); what it had not echoed is reported as\n"
            "          unechoed, not lost. --json: the result as one JSON object instead,\n"
            "          with conns_peak, conns_eof and unechoed too.\n\n"
            "Exit codes: 0 ok, 1 verification failed (mismatch, loss, corruption),\n"
            "2 usage error or no connection (the failing call and address are printed).\n");
}

static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, PROG ": ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (" PROG " --help for usage)\n");
    va_end(ap);
    return EXIT_USAGE;
}

/* ---- values ---- */

static int parse_ull(const char *s, unsigned long long max, unsigned long long *out)
{
    char *end;
    if (!s || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v > max)
        return -1;
    *out = v;
    return 0;
}

/* A byte count with an optional K or M suffix (KiB, MiB). */
static int parse_size(const char *s, size_t len, unsigned long long *out)
{
    char buf[32];
    if (len == 0 || len >= sizeof(buf))
        return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    unsigned long long mult = 1;
    char last = buf[len - 1];
    if (last == 'k' || last == 'K' || last == 'm' || last == 'M') {
        mult = (last == 'k' || last == 'K') ? 1024 : 1024 * 1024;
        buf[len - 1] = '\0';
    }
    unsigned long long v;
    if (parse_ull(buf, MAX_PAYLOAD / mult, &v) < 0)
        return -1;
    *out = v * mult;
    return 0;
}

static int parse_size_list(const char *s, size_t *sizes, size_t *n)
{
    *n = 0;
    for (const char *p = s;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        unsigned long long v;
        if (*n == MAX_SIZES || parse_size(p, len, &v) < 0)
            return -1;
        sizes[(*n)++] = (size_t)v;
        if (!comma)
            return 0;
        p = comma + 1;
    }
}

/* Seconds with an optional fraction ("5", "0.5") into milliseconds. */
static int parse_seconds(const char *s, int *ms)
{
    char *end;
    if (!s || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end || v > 86400.0 * 24)
        return -1;
    *ms = (int)(v * 1000.0 + 0.5);
    return 0;
}

/* HOST:PORT or [V6]:PORT. A bare IPv6 address is refused: its last colon
 * cannot be told from the port's. */
static int split_host_port(const char *arg, char *host, char *port)
{
    const char *h = arg, *p;
    size_t hl;
    if (arg[0] == '[') {
        const char *close = strchr(arg, ']');
        if (!close || close[1] != ':')
            return -1;
        h = arg + 1;
        hl = (size_t)(close - h);
        p = close + 2;
    } else {
        const char *colon = strrchr(arg, ':');
        if (!colon || strchr(arg, ':') != colon)
            return -1;
        hl = (size_t)(colon - arg);
        p = colon + 1;
    }
    if (hl == 0 || hl >= HOST_MAX || *p == '\0' || strlen(p) >= PORT_MAX)
        return -1;
    memcpy(host, h, hl);
    host[hl] = '\0';
    strcpy(port, p);
    return 0;
}

/* ---- options shared by the modes ---- */

struct cmd {
    int udp;
    int timeout_ms; /* -1: the mode's default */
    const char *target;
    char host[HOST_MAX], port[PORT_MAX];
    /* verify */
    size_t sizes[MAX_SIZES], nsizes;
    unsigned long long count, seed;
    /* load */
    int stream, duration_ms;
    size_t conns, size;
    int interval_ms, connect_timeout_ms, eof_ok, json;
    size_t spread;
};

enum {
    O_UDP = 256, O_TIMEOUT, O_COUNT, O_SIZE, O_SEED, O_TARGET, O_PROTO, O_CONNS, O_MODE, O_DURATION,
    O_INTERVAL, O_SPREAD, O_CONNECT_TIMEOUT, O_EOF_OK, O_JSON
};

static const struct option long_opts[] = {
    {"udp", no_argument, NULL, O_UDP},
    {"timeout", required_argument, NULL, O_TIMEOUT},
    {"count", required_argument, NULL, O_COUNT},
    {"size", required_argument, NULL, O_SIZE},
    {"seed", required_argument, NULL, O_SEED},
    {"target", required_argument, NULL, O_TARGET},
    {"proto", required_argument, NULL, O_PROTO},
    {"conns", required_argument, NULL, O_CONNS},
    {"mode", required_argument, NULL, O_MODE},
    {"duration", required_argument, NULL, O_DURATION},
    {"interval", required_argument, NULL, O_INTERVAL},
    {"spread", required_argument, NULL, O_SPREAD},
    {"connect-timeout", required_argument, NULL, O_CONNECT_TIMEOUT},
    {"eof-ok", no_argument, NULL, O_EOF_OK},
    {"json", no_argument, NULL, O_JSON},
    {NULL, 0, NULL, 0},
};

/* Which options each mode takes. */
static int allowed(const char *mode, int opt)
{
    switch (opt) {
    case O_UDP:
        return strcmp(mode, "load") != 0;
    case O_TIMEOUT:
        return 1;
    case O_COUNT:
        return strcmp(mode, "pipe") != 0;
    case O_SIZE:
        return strcmp(mode, "pipe") != 0;
    case O_SEED:
        return strcmp(mode, "verify") == 0;
    default:
        return strcmp(mode, "load") == 0;
    }
}

static int parse_option(struct cmd *c, const char *mode, int opt, const char *arg)
{
    unsigned long long v;
    const char *name = long_opts[opt - O_UDP].name;
    if (!allowed(mode, opt))
        return usage_error("%s takes no --%s", mode, name);
    switch (opt) {
    case O_UDP:
        c->udp = 1;
        return 0;
    case O_TIMEOUT:
        if (parse_ull(arg, 86400000, &v) < 0)
            return usage_error("--timeout '%s': expected milliseconds", arg);
        c->timeout_ms = (int)v;
        return 0;
    case O_COUNT:
        if (parse_ull(arg, 1ULL << 62, &v) < 0)
            return usage_error("--count '%s': expected a whole number", arg);
        c->count = v;
        return 0;
    case O_SIZE:
        if (parse_size_list(arg, c->sizes, &c->nsizes) < 0 || (strcmp(mode, "load") == 0 && c->nsizes != 1))
            return usage_error("--size '%s': expected bytes (K, M suffixes)%s", arg,
                               strcmp(mode, "load") == 0 ? "" : ", comma-separated");
        c->size = c->sizes[0];
        return 0;
    case O_SEED:
        if (parse_ull(arg, ~0ULL, &v) < 0)
            return usage_error("--seed '%s': expected a whole number", arg);
        c->seed = v;
        return 0;
    case O_TARGET:
        c->target = arg;
        return 0;
    case O_PROTO:
        if (strcmp(arg, "tcp") != 0 && strcmp(arg, "udp") != 0)
            return usage_error("--proto '%s': expected tcp or udp", arg);
        c->udp = strcmp(arg, "udp") == 0;
        return 0;
    case O_CONNS:
        if (parse_ull(arg, 1000000, &v) < 0 || v == 0)
            return usage_error("--conns '%s': expected 1 to 1000000", arg);
        c->conns = (size_t)v;
        return 0;
    case O_MODE:
        if (strcmp(arg, "pingpong") != 0 && strcmp(arg, "stream") != 0)
            return usage_error("--mode '%s': expected pingpong or stream", arg);
        c->stream = strcmp(arg, "stream") == 0;
        return 0;
    case O_DURATION:
        if (parse_seconds(arg, &c->duration_ms) < 0)
            return usage_error("--duration '%s': expected seconds", arg);
        return 0;
    case O_INTERVAL:
        if (parse_ull(arg, 3600000, &v) < 0)
            return usage_error("--interval '%s': expected milliseconds", arg);
        c->interval_ms = (int)v;
        return 0;
    case O_SPREAD:
        if (parse_ull(arg, SPREAD_MAX, &v) < 0 || v == 0)
            return usage_error("--spread '%s': expected 1 to %d addresses", arg, SPREAD_MAX);
        c->spread = (size_t)v;
        return 0;
    case O_CONNECT_TIMEOUT:
        if (parse_ull(arg, 86400000, &v) < 0 || v == 0)
            return usage_error("--connect-timeout '%s': expected milliseconds", arg);
        c->connect_timeout_ms = (int)v;
        return 0;
    case O_EOF_OK:
        c->eof_ok = 1;
        return 0;
    default: /* O_JSON */
        c->json = 1;
        return 0;
    }
}

/* Parses argv[2..] of a mode; the one positional argument is HOST:PORT
 * (load takes it as --target instead). */
static int parse_args(struct cmd *c, const char *mode, int argc, char **argv)
{
    memset(c, 0, sizeof(*c));
    c->timeout_ms = -1;
    c->seed = 1;
    optind = 1;
    opterr = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, ":", long_opts, NULL)) != -1) {
        if (opt == ':')
            return usage_error("%s: %s needs a value", mode, argv[optind - 1]);
        if (opt == '?')
            return usage_error("%s: bad option %s", mode, argv[optind - 1]);
        int rc = parse_option(c, mode, opt, optarg);
        if (rc)
            return rc;
    }
    int load = strcmp(mode, "load") == 0;
    if (optind < argc && !load && !c->target)
        c->target = argv[optind++];
    if (optind < argc)
        return usage_error("%s: unexpected argument %s", mode, argv[optind]);
    if (!c->target)
        return usage_error("%s: %s is required", mode, load ? "--target HOST:PORT" : "HOST:PORT");
    if (split_host_port(c->target, c->host, c->port) < 0)
        return usage_error("bad address '%s': expected HOST:PORT or [IPV6]:PORT", c->target);
    return 0;
}

static int connect_or_say(const struct cmd *c, int timeout_ms, sc_sock_t *s, sc_addr_t *peer)
{
    char err[256];
    int rc = sc_client_connect(c->host, c->port, c->udp ? SOCK_DGRAM : SOCK_STREAM, 0, timeout_ms, s, peer, err,
                               sizeof(err));
    if (rc < 0)
        fprintf(stderr, PROG ": %s\n", err);
    return rc;
}

/* ---- pipe ---- */

#if !defined(_WIN32)

struct pipe_state {
    const sc_sys_t *sys;
    sc_sock_t s;
    int udp, in_open;
    unsigned char in[PIPE_CHUNK], out[PIPE_CHUNK];
    size_t in_len, in_off;
    unsigned long long sent, got;
    int refused; /* UDP: the port is closed (ICMP port unreachable) */
    char peer[SC_ADDR_STRLEN];
};

static int write_all(int fd, const unsigned char *p, size_t n)
{
    while (n > 0) {
        ptrdiff_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Sends what stdin gave, as far as the socket takes it now. */
static int pipe_send(struct pipe_state *p)
{
    while (p->in_off < p->in_len) {
        ptrdiff_t n = p->sys->send(p->sys->ctx, p->s, p->in + p->in_off, p->in_len - p->in_off, MSG_DONTWAIT);
        if (n == -EAGAIN || n == -EWOULDBLOCK || n == -EINTR)
            return 0;
        if (n < 0 || (p->udp && (size_t)n != p->in_len)) {
            fprintf(stderr, PROG ": send %s: %s\n", p->peer, sc_strerror(n < 0 ? (int)n : -EMSGSIZE));
            p->refused = n == -ECONNREFUSED;
            return -1;
        }
        p->in_off += (size_t)n;
        p->sent += (size_t)n;
    }
    return 0;
}

static int pipe_stdin(struct pipe_state *p)
{
    ptrdiff_t n = read(0, p->in, p->udp ? UDP_PAYLOAD_MAX : PIPE_CHUNK);
    if (n < 0 && errno == EINTR)
        return 0;
    if (n < 0) {
        fprintf(stderr, PROG ": read stdin: %s\n", strerror(errno));
        return -1;
    }
    if (n == 0) {
        p->in_open = 0;
        int rc = p->udp ? 0 : p->sys->shutdown(p->sys->ctx, p->s, SHUT_WR);
        if (rc < 0)
            fprintf(stderr, PROG ": shutdown %s: %s\n", p->peer, sc_strerror(rc));
        return rc < 0 ? -1 : 0;
    }
    p->in_len = (size_t)n;
    p->in_off = 0;
    return pipe_send(p);
}

/* Returns 1 while the server side is open, 0 at its EOF, -1 on error. */
static int pipe_recv(struct pipe_state *p)
{
    ptrdiff_t n = p->sys->recv(p->sys->ctx, p->s, p->out, sizeof(p->out), MSG_DONTWAIT);
    if (n == -EAGAIN || n == -EWOULDBLOCK || n == -EINTR)
        return 1;
    if (n < 0) {
        fprintf(stderr, PROG ": recv %s: %s\n", p->peer, sc_strerror((int)n));
        p->refused = n == -ECONNREFUSED;
        return -1;
    }
    if (n == 0 && !p->udp)
        return 0;
    p->got += (size_t)n;
    if (write_all(1, p->out, (size_t)n) < 0) {
        fprintf(stderr, PROG ": write stdout: %s\n", strerror(errno));
        return -1;
    }
    return 1;
}

/* One loop over stdin and the socket: stdin is read only when what it
 * gave before has been sent, so nothing piles up in memory, and the echo
 * is read all the while, so a server with bounded buffers never stalls. */
static int pipe_loop(struct pipe_state *p, int timeout_ms)
{
    int64_t quiet_deadline = -1; /* UDP after stdin's end: the last echoes */
    for (;;) {
        sc_pollfd_t fds[2] = {{.fd = (int)p->s, .events = POLLIN}, {.fd = 0, .events = POLLIN}};
        if (p->in_off < p->in_len)
            fds[0].events |= POLLOUT;
        int nfds = p->in_open && p->in_off == p->in_len ? 2 : 1;
        int wait = -1;
        if (p->udp && !p->in_open) {
            if (p->got >= p->sent)
                return 0;
            if (quiet_deadline < 0)
                quiet_deadline = sc_deadline(timeout_ms);
            wait = sc_remaining_ms(quiet_deadline);
        }
        int rc = p->sys->poll(p->sys->ctx, fds, (size_t)nfds, wait);
        if (rc == -EINTR)
            continue;
        if (rc < 0) {
            fprintf(stderr, PROG ": poll: %s\n", sc_strerror(rc));
            return -1;
        }
        if (rc == 0)
            return 0;
        if (fds[0].revents & (POLLIN | POLLERR | POLLHUP)) {
            int r = pipe_recv(p);
            if (r <= 0)
                return r;
            quiet_deadline = -1;
        }
        if ((fds[0].revents & POLLOUT) && pipe_send(p) < 0)
            return -1;
        if (nfds == 2 && fds[1].revents && pipe_stdin(p) < 0)
            return -1;
    }
}

static int run_pipe(const struct cmd *c)
{
    static struct pipe_state p;
    int timeout = c->timeout_ms >= 0 ? c->timeout_ms : c->udp ? 1000 : 5000;
    sc_addr_t peer;
    if (connect_or_say(c, c->udp ? -1 : timeout, &p.s, &peer) < 0)
        return EXIT_USAGE;
    sc_addr_format((const struct sockaddr *)&peer.ss, peer.len, p.peer, sizeof(p.peer));
    p.sys = sc_sys_current();
    p.udp = c->udp;
    p.in_open = 1;
    int rc = pipe_loop(&p, timeout);
    sc_close(p.s);
    if (rc < 0)
        return p.refused ? EXIT_USAGE : EXIT_FAIL;
    if (p.got != p.sent) {
        fprintf(stderr, PROG ": pipe: sent %llu bytes, %llu came back\n", p.sent, p.got);
        return EXIT_FAIL;
    }
    return EXIT_OK;
}
#else
/* Winsock cannot poll stdin beside a socket: pipe mode would need a
 * reader thread, which the Windows port does not have yet. */
static int run_pipe(const struct cmd *c)
{
    (void)c;
    fprintf(stderr, PROG ": pipe: not available on Windows yet (use verify or load)\n");
    return EXIT_USAGE;
}
#endif

/* ---- verify ---- */

static uint64_t next_random(uint64_t *x)
{
    *x ^= *x >> 12;
    *x ^= *x << 25;
    *x ^= *x >> 27;
    return *x * UINT64_C(2685821657736338717);
}

static void fill_random(unsigned char *buf, size_t len, uint64_t *x)
{
    for (size_t i = 0; i < len; i += 8) {
        uint64_t r = next_random(x);
        size_t k = len - i < 8 ? len - i : 8;
        memcpy(buf + i, &r, k);
    }
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* One payload on a fresh connection. Returns 0 ok, 1 failed, 2 when no
 * connection could be made (reported). */
static int verify_one(const struct cmd *c, const unsigned char *buf, size_t size, int timeout, size_t i,
                      size_t n, sc_addr_t *peer)
{
    sc_sock_t s;
    if (connect_or_say(c, timeout, &s, peer) < 0)
        return EXIT_USAGE;
    sc_echo_result_t res;
    double t0 = now_ms();
    int rc = c->udp ? sc_echo_udp(s, buf, size, timeout, &res) : sc_echo_tcp(s, buf, size, timeout, &res);
    double ms = now_ms() - t0;
    sc_close(s);
    if (rc == -ECONNREFUSED) {
        /* UDP has no handshake: a closed port shows only now. */
        char text[SC_ADDR_STRLEN] = "?";
        sc_addr_format((const struct sockaddr *)&peer->ss, peer->len, text, sizeof(text));
        fprintf(stderr, PROG ": %s %s: %s\n", c->udp ? "recv" : "send", text, sc_strerror(rc));
        return EXIT_USAGE;
    }
    printf("verify %zu/%zu %s size=%zu ", i + 1, n, c->udp ? "udp" : "tcp", size);
    if (rc == 0)
        printf("ok %.3f ms\n", ms);
    else if (rc == SC_EMISMATCH)
        printf("FAIL: %s at offset %zu (sent %zu, received %zu)\n", sc_strerror(rc), res.mismatch_at, res.sent,
               res.received);
    else
        printf("FAIL: %s (sent %zu, received %zu)\n", sc_strerror(rc), res.sent, res.received);
    fflush(stdout);
    return rc == 0 ? 0 : EXIT_FAIL;
}

static int run_verify(struct cmd *c)
{
    static const size_t tcp_sizes[] = {0, 1, 100, 1500, 65536, 1048576};
    static const size_t udp_sizes[] = {0, 1, 100, 1472};
    if (c->nsizes == 0) {
        const size_t *d = c->udp ? udp_sizes : tcp_sizes;
        c->nsizes = c->udp ? sizeof(udp_sizes) / sizeof(*d) : sizeof(tcp_sizes) / sizeof(*d);
        memcpy(c->sizes, d, c->nsizes * sizeof(*d));
    }
    size_t n = c->count ? (size_t)c->count : c->nsizes, max = 1;
    for (size_t i = 0; i < c->nsizes; i++) {
        if (c->udp && c->sizes[i] > UDP_PAYLOAD_MAX)
            return usage_error("--size %zu: a UDP payload is at most %d bytes", c->sizes[i], UDP_PAYLOAD_MAX);
        max = c->sizes[i] > max ? c->sizes[i] : max;
    }
    unsigned char *buf = malloc(max);
    if (!buf) {
        fprintf(stderr, PROG ": out of memory for %zu bytes\n", max);
        return EXIT_USAGE;
    }
    int timeout = c->timeout_ms >= 0 ? c->timeout_ms : 5000;
    uint64_t x = c->seed ? c->seed : 1;
    size_t failed = 0, i = 0;
    sc_addr_t peer;
    char text[SC_ADDR_STRLEN] = "?";
    for (; i < n; i++) {
        size_t size = c->sizes[i % c->nsizes];
        fill_random(buf, size, &x);
        int rc = verify_one(c, buf, size, timeout, i, n, &peer);
        if (rc == EXIT_USAGE)
            break;
        failed += rc != 0;
    }
    free(buf);
    if (i < n)
        return EXIT_USAGE;
    sc_addr_format((const struct sockaddr *)&peer.ss, peer.len, text, sizeof(text));
    printf("verify: %zu of %zu payloads echoed intact (%s %s, seed %llu): %s\n", n - failed, n,
           c->udp ? "udp" : "tcp", text, c->seed, failed ? "FAIL" : "PASS");
    return failed ? EXIT_FAIL : EXIT_OK;
}

/* ---- load ---- */

static sc_load_t *the_load;

static void on_signal(int sig)
{
    (void)sig;
    if (the_load)
        sc_load_stop(the_load);
}

struct progress {
    double last_s;
    unsigned long long last_rt;
};

static void print_progress(const sc_load_stats_t *st, void *arg)
{
    struct progress *p = arg;
    double dt = st->elapsed_s - p->last_s;
    fprintf(stderr,
            "load: %.1fs round_trips=%llu rt_per_s=%.0f p99_us=%llu conns=%zu lost=%llu corrupted=%llu "
            "errors=%llu\n",
            st->elapsed_s, st->round_trips, dt > 0 ? (double)(st->round_trips - p->last_rt) / dt : 0.0,
            (st->p99_ns + 500) / 1000, st->conns_open, st->lost, st->corrupted, st->errors);
    p->last_s = st->elapsed_s;
    p->last_rt = st->round_trips;
}

/* Lets the process hold one descriptor a connection (and some more). */
static void raise_fd_limit(size_t conns)
{
#if defined(_WIN32)
    (void)conns; /* Winsock has no per-process descriptor limit to raise. */
#else
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < conns + 64) {
        rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > conns + 64 ? conns + 64 : rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
#endif
}

/* The address to load: for TCP the first one that accepts a connection
 * (so that "cannot connect" is told apart before the run), for UDP the
 * first one resolved. */
static int pick_target(const struct cmd *c, sc_addr_t *a)
{
    if (!c->udp) {
        sc_sock_t s;
        if (connect_or_say(c, 5000, &s, a) < 0)
            return -1;
        sc_close(s);
        return 0;
    }
    int rc = sc_addr_resolve(c->host, c->port, SOCK_DGRAM, a, 1);
    if (rc < 0)
        fprintf(stderr, PROG ": resolve %s: %s\n", c->target, sc_strerror(rc));
    return rc < 0 ? -1 : 0;
}

/* The --spread sources: n consecutive addresses of 127.0.0.0/8 from
 * 127.1.0.1, every one local on loopback (RFC 1122 3.2.1.3). */
static sc_addr_t *spread_sources(const sc_addr_t *target, size_t n)
{
    const struct sockaddr_in *t = (const struct sockaddr_in *)&target->ss;
    if (target->ss.ss_family != AF_INET || (ntohl(t->sin_addr.s_addr) >> 24) != 127) {
        usage_error("--spread needs an IPv4 loopback target (127.0.0.0/8)");
        return NULL;
    }
    sc_addr_t *a = calloc(n, sizeof(*a));
    if (!a) {
        fprintf(stderr, PROG ": out of memory for %zu source addresses\n", n);
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        struct sockaddr_in *s = (struct sockaddr_in *)&a[i].ss;
        s->sin_family = AF_INET;
        s->sin_addr.s_addr = htonl(SPREAD_BASE + (uint32_t)i);
        a[i].len = sizeof(*s);
    }
    return a;
}

static int run_load(const struct cmd *c)
{
    sc_load_opts_t o;
    sc_load_opts_init(&o);
    o.socktype = c->udp ? SOCK_DGRAM : SOCK_STREAM;
    o.mode = c->stream ? SC_LOAD_STREAM : SC_LOAD_PINGPONG;
    o.conns = c->conns ? c->conns : 1;
    o.size = c->nsizes ? c->size : 64;
    o.count = c->count;
    o.duration_ms = c->duration_ms ? c->duration_ms : c->count ? 0 : 5000;
    o.timeout_ms = c->timeout_ms > 0 ? c->timeout_ms : 0;
    struct progress prog = {0, 0};
    o.progress = print_progress;
    o.progress_arg = &prog;
    o.progress_ms = 1000;
    if (c->udp && (o.size < SC_LOAD_UDP_MIN_SIZE || o.size > UDP_PAYLOAD_MAX))
        return usage_error("--size %zu: UDP load needs %d to %d bytes", o.size, SC_LOAD_UDP_MIN_SIZE,
                           UDP_PAYLOAD_MAX);
    if (o.size == 0)
        return usage_error("--size 0: a load round trip needs at least one byte");
    if (c->interval_ms && c->stream)
        return usage_error("--interval applies to ping-pong only");
    if (c->eof_ok && c->udp)
        return usage_error("--eof-ok applies to TCP only");
    o.interval_ms = c->interval_ms;
    o.connect_timeout_ms = c->connect_timeout_ms;
    o.eof_ok = c->eof_ok;
    if (pick_target(c, &o.target) < 0)
        return EXIT_USAGE;
    sc_addr_t *sources = NULL;
    if (c->spread && !(sources = spread_sources(&o.target, c->spread)))
        return EXIT_USAGE;
    o.sources = sources;
    o.nsources = c->spread;
    raise_fd_limit(o.conns);
    int rc = sc_load_create(&the_load, &o);
    free(sources); /* the load keeps a copy */
    if (rc < 0) {
        fprintf(stderr, PROG ": load: %s\n", sc_strerror(rc));
        return EXIT_USAGE;
    }
    catch_stop_signals(on_signal);
    rc = sc_load_run(the_load);
    sc_load_stats_t st;
    sc_load_stats(the_load, &st);
    char line[1024];
    if (c->json)
        sc_load_format_json(the_load, &st, line, sizeof(line));
    else
        sc_load_format(the_load, &st, line, sizeof(line));
    printf("%s\n", line);
    fflush(stdout);
    if (st.first_error)
        fprintf(stderr, PROG ": %s%s\n", st.round_trips ? "first error: " : "", st.first_error_text);
    if (rc < 0)
        fprintf(stderr, PROG ": event loop: %s\n", sc_strerror(rc));
    sc_load_destroy(the_load);
    the_load = NULL;
    /* Nothing ever came back and no connection finished, because the
     * server could not be reached: no connection at all, or a refusal (a
     * UDP port that refuses shows only now). A server that was reached and
     * stayed silent lost every byte: that is a failure (1), as in verify. */
    int unreachable = st.conns_peak == 0 || st.first_error == -ECONNREFUSED ||
                      st.first_error == -EHOSTUNREACH || st.first_error == -ENETUNREACH;
    if (st.round_trips == 0 && st.conns_done == 0 && st.first_error && unreachable)
        return EXIT_USAGE;
    return rc < 0 || !sc_load_passed(&st) ? EXIT_FAIL : EXIT_OK;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage_error("a mode is required: pipe, verify or load");
    const char *mode = argv[1];
    if (strcmp(mode, "--help") == 0 || strcmp(mode, "-h") == 0) {
        usage(stdout);
        return EXIT_OK;
    }
    if (strcmp(mode, "--version") == 0 || strcmp(mode, "-V") == 0) {
        printf(PROG " " SOCKCHECK_VERSION "\n");
        return EXIT_OK;
    }
    if (strcmp(mode, "pipe") != 0 && strcmp(mode, "verify") != 0 && strcmp(mode, "load") != 0)
        return usage_error("unknown mode '%s': expected pipe, verify or load", mode);
    for (int i = 2; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            usage(stdout);
            return EXIT_OK;
        }
    struct cmd c;
    int rc = parse_args(&c, mode, argc - 1, argv + 1);
    if (rc)
        return rc;
#if !defined(_WIN32)
    signal(SIGPIPE, SIG_IGN); /* a closed stdout is reported by write, not a signal */
#endif
    int ni = sc_net_init();
    if (ni < 0) {
        fprintf(stderr, PROG ": network init: %s\n", sc_strerror(ni));
        return EXIT_USAGE;
    }
    if (strcmp(mode, "pipe") == 0)
        rc = run_pipe(&c);
    else if (strcmp(mode, "verify") == 0)
        rc = run_verify(&c);
    else
        rc = run_load(&c);
    sc_net_cleanup();
    return rc;
}
