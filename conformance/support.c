/* Fixtures shared by the suites: loopback sockets on ephemeral ports. */
#include "support.h"

#include <criterion/criterion.h>
#include <stdlib.h>
#include "sockcheck/net.h"
#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <arpa/inet.h>

sc_addr_t sct_loopback(int family, uint16_t port)
{
    sc_addr_t a;
    memset(&a, 0, sizeof(a));
    if (family == AF_INET6) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&a.ss;
        s6->sin6_family = AF_INET6;
        s6->sin6_addr = in6addr_loopback;
        s6->sin6_port = htons(port);
        a.len = sizeof(*s6);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&a.ss;
        s4->sin_family = AF_INET;
        s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        s4->sin_port = htons(port);
        a.len = sizeof(*s4);
    }
    return a;
}

int sct_have_ipv6(void)
{
    static int known = -1;
    if (known < 0) {
        int s = socket(AF_INET6, SOCK_DGRAM, 0);
        sc_addr_t a = sct_loopback(AF_INET6, 0);
        known = s >= 0 && bind(s, (struct sockaddr *)&a.ss, a.len) == 0;
        if (s >= 0)
            close(s);
    }
    return known;
}

void sct_require_family(int family)
{
    if (family == AF_INET6 && !sct_have_ipv6())
        cr_skip_test("no IPv6 loopback (::1) on this machine");
}

int sct_bound(int family, int socktype, sc_addr_t *bound)
{
    sct_require_family(family);
    int s = socket(family, socktype, 0);
    cr_assert_geq(s, 0, "socket: %s", strerror(errno));
    sc_addr_t a = sct_loopback(family, 0);
    cr_assert_eq(bind(s, (struct sockaddr *)&a.ss, a.len), 0, "bind: %s", strerror(errno));
    if (socktype == SOCK_STREAM)
        cr_assert_eq(listen(s, 16), 0, "listen: %s", strerror(errno));
    if (bound) {
        memset(bound, 0, sizeof(*bound));
        bound->len = sizeof(bound->ss);
        cr_assert_eq(getsockname(s, (struct sockaddr *)&bound->ss, &bound->len), 0, "getsockname: %s",
                     strerror(errno));
    }
    return s;
}

void sct_tcp_pair(int family, int *client, int *server)
{
    sc_addr_t a;
    int l = sct_bound(family, SOCK_STREAM, &a);
    int c = socket(family, SOCK_STREAM, 0);
    cr_assert_geq(c, 0, "socket: %s", strerror(errno));
    cr_assert_eq(connect(c, (struct sockaddr *)&a.ss, a.len), 0, "connect: %s", strerror(errno));
    int s = accept(l, NULL, NULL);
    cr_assert_geq(s, 0, "accept: %s", strerror(errno));
    close(l);
    *client = c;
    *server = s;
}

int sct_count_fds(void)
{
#if defined(_WIN32)
    /* Windows has no descriptor table to list (sockets are handles), and
     * under Wine /proc/self/fd shows the Unix side of the Wine process, not
     * the program's sockets: no count, and the callers skip their check. */
    return -1;
#else
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return -1;
    for (struct dirent *e; (e = readdir(d)) != NULL && n < 1000000;)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1; /* the directory's own descriptor */
#endif
}

/* ---- the embedded reference server and the echo target ---- */

sc_server_t *sct_server_start(const sc_server_opts_t *opts)
{
    sc_server_opts_t o;
    if (opts)
        o = *opts;
    else
        sc_server_opts_init(&o);
    if (o.nlisten == 0) {
        o.listen[o.nlisten++] = "127.0.0.1:0";
        if (sct_have_ipv6())
            o.listen[o.nlisten++] = "[::1]:0";
    }
    char err[256] = "";
    sc_server_t *srv = NULL;
    int rc = sc_server_create(&srv, &o, err, sizeof(err));
    cr_assert_eq(rc, 0, "sc_server_create: %s", err);
    rc = sc_server_start_thread(srv);
    cr_assert_eq(rc, 0, "sc_server_start_thread: %d", rc);
    return srv;
}

void sct_server_stop(sc_server_t *srv)
{
    if (!srv)
        return;
    sc_server_stop(srv, SC_STOP_DRAIN);
    int rc = sc_server_join(srv);
    sc_server_destroy(srv);
    cr_assert_eq(rc, 0, "server loop ended with %d (%s)", rc, sc_strerror(rc));
}

sc_addr_t sct_echo_target(sc_server_t *srv, int socktype, int family)
{
    sc_addr_t a;
    const char *env = getenv("SOCKCHECK_TARGET");
    if (env && *env) {
        int rc = sc_addr_parse(&a, env, strlen(env), 7, SC_ADDR_PORT_REQUIRED);
        cr_assert_eq(rc, 0, "SOCKCHECK_TARGET '%s': %s", env, sc_strerror(rc));
        /* The suites never send off this machine. */
        cr_assert(sc_addr_is_loopback(&a), "SOCKCHECK_TARGET '%s' is not a loopback address", env);
        if (sc_addr_family(&a) != family)
            cr_skip_test("SOCKCHECK_TARGET is %s, not this family", env);
        return a;
    }
    sct_require_family(family);
    cr_assert_not_null(srv, "no embedded server and no SOCKCHECK_TARGET");
    uint16_t port = sc_server_port(srv, socktype, family);
    cr_assert_neq(port, 0, "the embedded server has no %s listener for this family",
                  socktype == SOCK_STREAM ? "TCP" : "UDP");
    return sct_loopback(family, port);
}
