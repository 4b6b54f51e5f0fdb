/* A minimal hand-written epoll echo server (TCP and UDP on one loopback
 * port, one thread): the benchmark's yardstick for what one thread can do. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUF_SIZE 65536
#define MAX_EVENTS 256
#define BIND_TRIES 16
#define UDP_BATCH 32

/* Bytes of one connection that the peer's receive window did not take yet.
 * While any are held the connection waits for EPOLLOUT and is not read, so
 * a client that never reads costs at most one buffer here. */
typedef struct conn {
    char *pend;
    size_t off, len;
} conn_t;

static volatile sig_atomic_t stopping;
static conn_t *conns;
static size_t nconns;
static char buf[BUF_SIZE];

static void on_term(int sig) { (void)sig; stopping = 1; }

static int parse_addr(const char *text, struct sockaddr_storage *ss, socklen_t *len)
{
    char host[64];
    const char *colon = strrchr(text, ':');
    if (!colon || (size_t)(colon - text) >= sizeof host) return -1;
    memcpy(host, text, (size_t)(colon - text));
    host[colon - text] = '\0';
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (*end || port < 0 || port > 65535) return -1;
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    size_t hl = strlen(host);
    /* Loopback only: this program is a benchmark peer, never a service. */
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1 && ntohl(a4->sin_addr.s_addr) >> 24 == 127) {
        a4->sin_family = AF_INET, a4->sin_port = htons((uint16_t)port), *len = sizeof *a4;
        return 0;
    }
    if (hl > 2 && host[0] == '[' && host[hl - 1] == ']') {
        host[hl - 1] = '\0';
        if (inet_pton(AF_INET6, host + 1, &a6->sin6_addr) == 1 && IN6_IS_ADDR_LOOPBACK(&a6->sin6_addr)) {
            a6->sin6_family = AF_INET6, a6->sin6_port = htons((uint16_t)port), *len = sizeof *a6;
            return 0;
        }
    }
    return -1;
}

static int open_sock(int type, struct sockaddr_storage *ss, socklen_t len)
{
    int one = 1, s = socket(ss->ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (s < 0) return -1;
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(s, (struct sockaddr *)ss, len) < 0 || (type == SOCK_STREAM && listen(s, SOMAXCONN) < 0)) {
        close(s);
        return -1;
    }
    return s;
}

/* Port 0 picks the TCP port first; UDP then binds the same number, which
 * another program may hold, so the pair is retried a few times. */
static int open_listeners(struct sockaddr_storage *ss, socklen_t len, int *ts, int *us)
{
    int any = ((struct sockaddr_in *)ss)->sin_port == 0; /* same offset for v6 */
    for (int i = 0; i < BIND_TRIES; i++) {
        if (any) ((struct sockaddr_in *)ss)->sin_port = 0;
        if ((*ts = open_sock(SOCK_STREAM, ss, len)) < 0) return -1;
        getsockname(*ts, (struct sockaddr *)ss, &len);
        if ((*us = open_sock(SOCK_DGRAM, ss, len)) >= 0) return 0;
        close(*ts);
        if (!any) return -1;
    }
    return -1;
}

static void set_events(int ep, int fd, uint32_t ev)
{
    struct epoll_event e = { .events = ev, .data.fd = fd };
    epoll_ctl(ep, EPOLL_CTL_MOD, fd, &e);
}

static void drop(int fd)
{
    free(conns[fd].pend);
    conns[fd] = (conn_t){ 0 };
    close(fd); /* close also removes it from the epoll set */
}

static void on_accept(int ep, int ls)
{
    /* Level-triggered: a bounded batch, the rest on the next turn. */
    for (int i = 0; i < 64; i++) {
        int one = 1, c = accept4(ls, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (c < 0) return;
        if ((size_t)c >= nconns) {
            size_t n = (size_t)c * 2 + 64;
            conn_t *p = realloc(conns, n * sizeof *p);
            if (!p) { close(c); continue; }
            memset(p + nconns, 0, (n - nconns) * sizeof *p);
            conns = p, nconns = n;
        }
        /* Echoes are written as soon as they are read; Nagle would only delay them. */
        setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct epoll_event e = { .events = EPOLLIN, .data.fd = c };
        if (epoll_ctl(ep, EPOLL_CTL_ADD, c, &e) < 0) close(c);
    }
}

/* Errors and hang-ups need no case of their own: the next recv or send
 * reports them and the connection is dropped. */
static void on_conn(int ep, int fd)
{
    conn_t *c = &conns[fd];
    if (c->len) { /* writable again: flush the remainder, then read again */
        ssize_t n = send(fd, c->pend + c->off, c->len - c->off, MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN && errno != EINTR) { drop(fd); return; }
        if (n > 0 && (c->off += (size_t)n) == c->len) {
            c->off = c->len = 0;
            set_events(ep, fd, EPOLLIN);
        }
        return;
    }
    ssize_t r = recv(fd, buf, sizeof buf, 0);
    if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) { drop(fd); return; }
    if (r < 0) return;
    ssize_t n = send(fd, buf, (size_t)r, MSG_NOSIGNAL);
    if (n < 0 && errno != EAGAIN && errno != EINTR) { drop(fd); return; }
    if (n == r) return;
    if (n < 0) n = 0;
    if (!c->pend && !(c->pend = malloc(BUF_SIZE))) { drop(fd); return; }
    memcpy(c->pend, buf + n, (size_t)(r - n));
    c->off = 0, c->len = (size_t)(r - n);
    set_events(ep, fd, EPOLLOUT);
}

/* One socket serves every UDP client, so one readiness event may stand for
 * many queued datagrams: a bounded batch of them saves an epoll_wait each. */
static void on_udp(int us)
{
    for (int i = 0; i < UDP_BATCH; i++) {
        struct sockaddr_storage from;
        socklen_t fl = sizeof from;
        ssize_t r = recvfrom(us, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
        if (r < 0) return;
        /* A datagram the send buffer cannot take is dropped, as UDP allows. */
        sendto(us, buf, (size_t)r, 0, (struct sockaddr *)&from, fl);
    }
}

int main(int argc, char **argv)
{
    const char *addr = "127.0.0.1:0", *port_file = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--port-file") && i + 1 < argc) port_file = argv[++i];
        else if (!strcmp(argv[i], "--listen") && i + 1 < argc) addr = argv[++i];
        else if (argv[i][0] != '-') addr = argv[i];
        else {
            fprintf(stderr, "usage: %s [--port-file FILE] [[--listen] LOOPBACK_ADDR:PORT]\n", argv[0]);
            return 2;
        }
    }
    struct sockaddr_storage ss;
    socklen_t len;
    int ts, us;
    if (parse_addr(addr, &ss, &len) < 0) { fprintf(stderr, "%s: not a loopback address\n", addr); return 2; }
    if (open_listeners(&ss, len, &ts, &us) < 0) { fprintf(stderr, "bind %s: %s\n", addr, strerror(errno)); return 1; }
    unsigned port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    int hostlen = (int)(strrchr(addr, ':') - addr);
    printf("listening tcp %.*s:%u\nlistening udp %.*s:%u\n", hostlen, addr, port, hostlen, addr, port);
    fflush(stdout);
    if (port_file) {
        FILE *f = fopen(port_file, "w");
        if (!f || fprintf(f, "%u\n", port) < 0 || fclose(f) != 0) { perror(port_file); return 1; }
    }
    struct sigaction sa = { .sa_handler = on_term };
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event e = { .events = EPOLLIN, .data.fd = ts }, evs[MAX_EVENTS];
    epoll_ctl(ep, EPOLL_CTL_ADD, ts, &e);
    e.data.fd = us;
    epoll_ctl(ep, EPOLL_CTL_ADD, us, &e);
    while (!stopping) {
        int n = epoll_wait(ep, evs, MAX_EVENTS, -1);
        if (n < 0 && errno != EINTR) { perror("epoll_wait"); return 1; }
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == ts) on_accept(ep, ts);
            else if (fd == us) on_udp(us);
            else on_conn(ep, fd);
        }
    }
    return 0;
}
