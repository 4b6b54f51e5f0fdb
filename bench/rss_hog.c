/* Memory benchmark: starts an echo server, connects many clients that each
 * send a lot and never read, and prints the server's resident memory once
 * every client is blocked by backpressure. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHUNK 65536
#define MAX_CONNECTING 128  /* connects in flight at once, well under any backlog */
#define START_TIMEOUT_MS 10000
#define STOP_TIMEOUT_MS 5000
#define MAX_ARGS 64

extern char **environ;

enum { C_NEW, C_CONNECTING, C_SENDING, C_DONE, C_CLOSED };

typedef struct client {
    int fd, state;
    size_t sent;
} client_t;

typedef struct opts {
    long clients, limit_kib, idle_ms, max_ms, sockbuf;
    size_t bytes;
    char **cmd;
} opts_t;

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int usage(FILE *out, const char *argv0)
{
    fprintf(out,
            "usage: %s [--clients N] [--bytes B] [--limit-kib K] [--idle-ms MS] [--max-seconds S]\n"
            "          [--sockbuf BYTES]\n"
            "          -- SERVER-COMMAND ARGS...\n"
            "Starts the server (an argument {} is replaced by a port file that the server\n"
            "must write), connects N clients to 127.0.0.1:PORT that each send B bytes and\n"
            "never read, waits until no client has made progress for MS milliseconds, and\n"
            "prints the server's VmRSS and VmHWM. PASS when VmHWM < K KiB.\n"
            "On loopback the kernel's socket buffers may absorb all of B: --sockbuf sets\n"
            "the clients' SO_SNDBUF and SO_RCVBUF so that the server must hold the rest.\n"
            "Defaults: --clients 1000 --bytes 1048576 --limit-kib 65536 --idle-ms 1000\n"
            "          --max-seconds 60\n",
            argv0);
    return out == stdout ? 0 : 2;
}

/* Returns 0, 1 for --help, or -1 on a usage error. */
static int parse_opts(int argc, char **argv, opts_t *o)
{
    *o = (opts_t){ .clients = 1000, .bytes = 1048576, .limit_kib = 65536, .idle_ms = 1000, .max_ms = 60000 };
    int i = 1;
    while (i < argc) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) return 1;
        if (!strcmp(argv[i], "--")) {
            o->cmd = argv + i + 1;
            return argv[i + 1] ? 0 : -1;
        }
        char *end = NULL;
        long v = i + 1 < argc ? strtol(argv[i + 1], &end, 10) : -1;
        if (!end || *end != '\0' || v <= 0) return -1;
        if (!strcmp(argv[i], "--clients")) o->clients = v;
        else if (!strcmp(argv[i], "--bytes")) o->bytes = (size_t)v;
        else if (!strcmp(argv[i], "--limit-kib")) o->limit_kib = v;
        else if (!strcmp(argv[i], "--idle-ms")) o->idle_ms = v;
        else if (!strcmp(argv[i], "--max-seconds")) o->max_ms = v * 1000;
        else if (!strcmp(argv[i], "--sockbuf")) o->sockbuf = v;
        else return -1;
        i += 2;
    }
    return -1;
}

/* Every client and the server need a descriptor each; the server inherits
 * the raised limit. Root may raise the hard limit too. */
static int raise_nofile(long need)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0) return -1;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur >= (rlim_t)need) return 0;
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < (rlim_t)need) rl.rlim_max = (rlim_t)need;
    rl.rlim_cur = (rlim_t)need;
    return setrlimit(RLIMIT_NOFILE, &rl);
}

static pid_t spawn_server(char **cmd, const char *port_file)
{
    static char *args[MAX_ARGS + 1], storage[MAX_ARGS][512];
    int n = 0, found = 0;
    for (; cmd[n] && n < MAX_ARGS; n++) {
        char *at = strstr(cmd[n], "{}");
        if (!at) { args[n] = cmd[n]; continue; }
        snprintf(storage[n], sizeof storage[n], "%.*s%s%s", (int)(at - cmd[n]), cmd[n], port_file, at + 2);
        args[n] = storage[n];
        found = 1;
    }
    args[n] = NULL;
    if (!found || cmd[n]) { fprintf(stderr, "rss_hog: the server command needs a {} port-file argument\n"); return -1; }
    /* The server's own output goes to stderr: stdout carries only the result line. */
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, 2, 1);
    pid_t pid;
    int rc = posix_spawnp(&pid, args[0], &fa, NULL, args, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) { fprintf(stderr, "rss_hog: %s: %s\n", args[0], strerror(rc)); return -1; }
    return pid;
}

/* The port file is complete once it ends with a newline. */
static int wait_port(const char *path, pid_t pid)
{
    long long deadline = now_ms() + START_TIMEOUT_MS;
    while (now_ms() < deadline) {
        char buf[32] = { 0 };
        FILE *f = fopen(path, "r");
        size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
        if (f) fclose(f);
        if (n > 0 && buf[n - 1] == '\n') {
            long port = strtol(buf, NULL, 10);
            return port > 0 && port < 65536 ? (int)port : -1;
        }
        if (waitpid(pid, NULL, WNOHANG) == pid) { fprintf(stderr, "rss_hog: the server exited\n"); return -1; }
        poll(NULL, 0, 10);
    }
    fprintf(stderr, "rss_hog: no port in %s after %d ms\n", path, START_TIMEOUT_MS);
    return -1;
}

static long status_kib(pid_t pid, const char *field)
{
    char path[64], line[256];
    long v = -1;
    size_t fl = strlen(field);
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, field, fl) && line[fl] == ':') v = strtol(line + fl + 1, NULL, 10);
    fclose(f);
    return v;
}

static int start_connect(client_t *c, const struct sockaddr_in *sa, int sockbuf)
{
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) { perror("rss_hog: socket"); return -1; }
    /* Before connect, so that the window scale offered in the SYN fits. */
    if (sockbuf > 0 && (setsockopt(c->fd, SOL_SOCKET, SO_RCVBUF, &sockbuf, sizeof sockbuf) < 0 ||
                        setsockopt(c->fd, SOL_SOCKET, SO_SNDBUF, &sockbuf, sizeof sockbuf) < 0)) {
        perror("rss_hog: setsockopt");
        return -1;
    }
    if (connect(c->fd, (const struct sockaddr *)sa, sizeof *sa) == 0) c->state = C_SENDING;
    else if (errno == EINPROGRESS) c->state = C_CONNECTING;
    else { perror("rss_hog: connect"); return -1; }
    return 0;
}

/* Sends until the kernel refuses; returns the bytes it took. */
static size_t push(client_t *c, size_t total)
{
    static char chunk[CHUNK];
    size_t before = c->sent;
    for (int i = 0; i < 64 && c->sent < total; i++) {
        size_t want = total - c->sent < CHUNK ? total - c->sent : CHUNK;
        ssize_t n = send(c->fd, chunk, want, MSG_NOSIGNAL);
        if (n > 0) { c->sent += (size_t)n; continue; }
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
        c->state = C_CLOSED; /* the server closed or reset the connection */
        break;
    }
    if (c->state == C_SENDING && c->sent == total) c->state = C_DONE;
    return c->sent - before;
}

typedef struct run {
    size_t accepted, connected, closed;
} run_t;

/* The clients' loop: ends when every client is done or closed and no more
 * progress came for idle_ms, or at the overall deadline. */
static int hog(const opts_t *o, const struct sockaddr_in *sa, client_t *cl, struct pollfd *pf, run_t *r)
{
    long long start = now_ms(), last = start;
    long opened = 0, connecting = 0;
    int *idx = calloc((size_t)o->clients, sizeof *idx);
    if (!idx) return -1;
    for (;;) {
        while (opened < o->clients && connecting < MAX_CONNECTING) {
            if (start_connect(&cl[opened], sa, (int)o->sockbuf) < 0) { free(idx); return -1; }
            connecting += cl[opened].state == C_CONNECTING;
            r->connected += cl[opened].state == C_SENDING;
            opened++;
        }
        nfds_t n = 0;
        for (long i = 0; i < opened; i++)
            if (cl[i].state == C_CONNECTING || cl[i].state == C_SENDING)
                pf[n] = (struct pollfd){ .fd = cl[i].fd, .events = POLLOUT }, idx[n++] = (int)i;
        long long t = now_ms();
        if (opened == o->clients && connecting == 0 && t - last >= o->idle_ms) break;
        if (t - start >= o->max_ms) { fprintf(stderr, "rss_hog: stopped at the %ld s limit\n", o->max_ms / 1000); break; }
        int timeout = (int)(last + o->idle_ms - t);
        if (timeout > 100) timeout = 100;
        int rc = poll(pf, n, timeout);
        if (rc < 0 && errno != EINTR) { perror("rss_hog: poll"); free(idx); return -1; }
        for (nfds_t k = 0; rc > 0 && k < n; k++) {
            client_t *c = &cl[idx[k]];
            if (!pf[k].revents) continue;
            if (c->state == C_CONNECTING) {
                int err = 0;
                socklen_t el = sizeof err;
                getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el);
                connecting--;
                c->state = err ? C_CLOSED : C_SENDING;
                if (err) { fprintf(stderr, "rss_hog: connect: %s\n", strerror(err)); continue; }
                r->connected++;
                last = now_ms();
            }
            if (push(c, o->bytes) > 0) last = now_ms();
        }
    }
    free(idx);
    for (long i = 0; i < opened; i++) {
        r->accepted += cl[i].sent;
        r->closed += cl[i].state == C_CLOSED;
    }
    return 0;
}

static void stop_server(pid_t pid)
{
    kill(pid, SIGTERM);
    long long deadline = now_ms() + STOP_TIMEOUT_MS;
    while (now_ms() < deadline) {
        if (waitpid(pid, NULL, WNOHANG) == pid) return;
        poll(NULL, 0, 10);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

int main(int argc, char **argv)
{
    opts_t o;
    int rc = parse_opts(argc, argv, &o);
    if (rc != 0) return usage(rc > 0 ? stdout : stderr, argv[0]);
    if (raise_nofile(o.clients + 64) < 0) { perror("rss_hog: setrlimit RLIMIT_NOFILE"); return 2; }
    signal(SIGPIPE, SIG_IGN);
    char port_file[] = "/tmp/rss_hog.XXXXXX";
    int pfd = mkstemp(port_file);
    if (pfd < 0) { perror("rss_hog: mkstemp"); return 2; }
    close(pfd);
    pid_t pid = spawn_server(o.cmd, port_file);
    int port = pid > 0 ? wait_port(port_file, pid) : -1;
    unlink(port_file);
    if (port < 0) { if (pid > 0) stop_server(pid); return 2; }

    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    client_t *cl = calloc((size_t)o.clients, sizeof *cl);
    struct pollfd *pf = calloc((size_t)o.clients, sizeof *pf);
    run_t r = { 0 };
    long long t0 = now_ms();
    if (!cl || !pf || hog(&o, &sa, cl, pf, &r) < 0) { stop_server(pid); return 2; }
    double elapsed = (double)(now_ms() - t0) / 1000.0;

    long rss = status_kib(pid, "VmRSS"), hwm = status_kib(pid, "VmHWM");
    int alive = waitpid(pid, NULL, WNOHANG) == 0 && rss >= 0;
    const char *reason = !alive ? "server_exited"
                         : hwm >= o.limit_kib ? "over_limit"
                         : r.connected < (size_t)o.clients ? "not_all_connected"
                         : r.closed ? "server_closed_clients" : NULL;
    printf("rss_hog clients=%ld bytes_each=%zu accepted_bytes=%zu server_rss_kib=%ld server_hwm_kib=%ld "
           "limit_kib=%ld sockbuf=%ld connected=%zu closed=%zu elapsed_s=%.2f result=%s%s%s\n",
           o.clients, o.bytes, r.accepted, rss, hwm, o.limit_kib, o.sockbuf, r.connected, r.closed, elapsed,
           reason ? "FAIL" : "PASS", reason ? " reason=" : "", reason ? reason : "");
    fflush(stdout);
    /* Closing the clients first lets a draining server finish at once. */
    for (long i = 0; i < o.clients; i++)
        if (cl[i].fd > 0) close(cl[i].fd);
    if (alive) stop_server(pid);
    free(cl), free(pf);
    return reason ? 1 : 0;
}
