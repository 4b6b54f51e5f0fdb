/* An idiomatic libuv echo server (TCP and UDP on one loopback port): the
 * benchmark's yardstick for a well-known event library. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#define BUF_SIZE 65536
/* A client that does not read makes writes queue up; past this many bytes
 * the connection stops reading until its queue drains. */
#define HIGH_WATER (4 * BUF_SIZE)

typedef struct req {
    union { uv_write_t w; uv_udp_send_t u; } r;
    uv_buf_t buf;
} req_t;

static uv_loop_t *loop;
static uv_tcp_t server;
static uv_udp_t udp;
static uv_signal_t sigterm, sigint;

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    (void)h, (void)suggested;
    buf->base = malloc(BUF_SIZE);
    buf->len = buf->base ? BUF_SIZE : 0;
}

static void on_close(uv_handle_t *h) { free(h); }

static void on_read(uv_stream_t *c, ssize_t n, const uv_buf_t *buf);

static void on_written(uv_write_t *w, int status)
{
    req_t *r = (req_t *)w;
    uv_stream_t *c = w->handle;
    free(r->buf.base);
    free(r);
    /* A failed write ends the connection; a paused one would never read
     * again to notice. UV_ECANCELED comes from a close already under way. */
    if (status < 0 && !uv_is_closing((uv_handle_t *)c)) {
        uv_close((uv_handle_t *)c, on_close);
        return;
    }
    /* c->data marks a connection whose reading is paused for backpressure. */
    if (status == 0 && c->data && !uv_is_closing((uv_handle_t *)c) && c->write_queue_size < HIGH_WATER) {
        c->data = NULL;
        uv_read_start(c, on_alloc, on_read);
    }
}

static void on_read(uv_stream_t *c, ssize_t n, const uv_buf_t *buf)
{
    if (n <= 0) {
        free(buf->base);
        if (n < 0 && !uv_is_closing((uv_handle_t *)c)) uv_close((uv_handle_t *)c, on_close);
        return;
    }
    req_t *r = malloc(sizeof *r);
    if (!r) { free(buf->base); uv_close((uv_handle_t *)c, on_close); return; }
    r->buf = uv_buf_init(buf->base, (unsigned)n);
    if (uv_write(&r->r.w, c, &r->buf, 1, on_written) < 0) {
        free(buf->base), free(r);
        uv_close((uv_handle_t *)c, on_close);
        return;
    }
    if (c->write_queue_size >= HIGH_WATER) {
        c->data = c;
        uv_read_stop(c);
    }
}

static void on_connection(uv_stream_t *s, int status)
{
    if (status < 0) return;
    uv_tcp_t *c = malloc(sizeof *c);
    if (!c) return;
    uv_tcp_init(loop, c);
    c->data = NULL;
    if (uv_accept(s, (uv_stream_t *)c) < 0) { uv_close((uv_handle_t *)c, on_close); return; }
    uv_tcp_nodelay(c, 1);
    uv_read_start((uv_stream_t *)c, on_alloc, on_read);
}

static void on_udp_sent(uv_udp_send_t *u, int status)
{
    req_t *r = (req_t *)u;
    (void)status;
    free(r->buf.base);
    free(r);
}

static void on_udp(uv_udp_t *h, ssize_t n, const uv_buf_t *buf, const struct sockaddr *from, unsigned flags)
{
    (void)flags;
    req_t *r;
    /* n == 0 with no sender only says the socket is drained; an empty
     * datagram (n == 0 with a sender) is echoed like any other. */
    if (n < 0 || !from || !(r = malloc(sizeof *r))) { free(buf->base); return; }
    r->buf = uv_buf_init(buf->base, (unsigned)n);
    if (uv_udp_send(&r->r.u, h, &r->buf, 1, from, on_udp_sent) < 0) free(buf->base), free(r);
}

static void on_walk_close(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (uv_is_closing(h)) return;
    int owned = h->type == UV_TCP && h != (uv_handle_t *)&server;
    uv_close(h, owned ? on_close : NULL);
}

static void on_signal(uv_signal_t *s, int sig)
{
    (void)s, (void)sig;
    uv_walk(loop, on_walk_close, NULL);
}

static int parse_addr(const char *text, struct sockaddr_storage *ss)
{
    char host[64];
    const char *colon = strrchr(text, ':');
    if (!colon || (size_t)(colon - text) >= sizeof host) return -1;
    memcpy(host, text, (size_t)(colon - text));
    host[colon - text] = '\0';
    int port = atoi(colon + 1);
    size_t hl = strlen(host);
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)ss) == 0)
        return (ntohl(((struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24 == 127) ? 0 : -1;
    if (hl > 2 && host[0] == '[' && host[hl - 1] == ']') {
        host[hl - 1] = '\0';
        if (uv_ip6_addr(host + 1, port, (struct sockaddr_in6 *)ss) == 0)
            return IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *)ss)->sin6_addr) ? 0 : -1;
    }
    return -1;
}

/* Port 0 picks the TCP port first; UDP then binds the same number. */
static int listen_both(struct sockaddr_storage *ss)
{
    int any = ((struct sockaddr_in *)ss)->sin_port == 0, rc = -1;
    for (int i = 0; i < 16; i++) {
        if (any) ((struct sockaddr_in *)ss)->sin_port = 0;
        uv_tcp_init(loop, &server);
        int len = sizeof *ss;
        if ((rc = uv_tcp_bind(&server, (struct sockaddr *)ss, 0)) < 0 ||
            (rc = uv_listen((uv_stream_t *)&server, SOMAXCONN, on_connection)) < 0 ||
            (rc = uv_tcp_getsockname(&server, (struct sockaddr *)ss, &len)) < 0)
            return rc;
        uv_udp_init(loop, &udp);
        if ((rc = uv_udp_bind(&udp, (struct sockaddr *)ss, UV_UDP_REUSEADDR)) == 0) return 0;
        uv_close((uv_handle_t *)&server, NULL);
        uv_close((uv_handle_t *)&udp, NULL);
        uv_run(loop, UV_RUN_NOWAIT);
        if (!any) break;
    }
    return rc;
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
    memset(&ss, 0, sizeof ss);
    if (parse_addr(addr, &ss) < 0) { fprintf(stderr, "%s: not a loopback address\n", addr); return 2; }
    loop = uv_default_loop();
    int rc = listen_both(&ss);
    if (rc < 0) { fprintf(stderr, "bind %s: %s\n", addr, uv_strerror(rc)); return 1; }
    if (uv_udp_recv_start(&udp, on_alloc, on_udp) < 0) return 1;
    unsigned port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    int hostlen = (int)(strrchr(addr, ':') - addr);
    printf("listening tcp %.*s:%u\nlistening udp %.*s:%u\n", hostlen, addr, port, hostlen, addr, port);
    fflush(stdout);
    if (port_file) {
        FILE *f = fopen(port_file, "w");
        if (!f || fprintf(f, "%u\n", port) < 0 || fclose(f) != 0) { perror(port_file); return 1; }
    }
    uv_signal_init(loop, &sigterm);
    uv_signal_start(&sigterm, on_signal, SIGTERM);
    uv_signal_init(loop, &sigint);
    uv_signal_start(&sigint, on_signal, SIGINT);
    uv_run(loop, UV_RUN_DEFAULT);
    uv_loop_close(loop);
    return 0;
}
