/* sockcheck-server: the reference RFC 862 echo server (argument parsing
 * and printing only; the server is harness/server.c). */
#include "sockcheck/net.h"
#include "sockcheck/server.h"
#include "signals.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Exit codes: documented in --help and the README. */
enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_USAGE = 2, EXIT_SETUP = 3 };

static sc_server_t *the_server;
static volatile sig_atomic_t signals_seen;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: sockcheck-server [options]\n"
            "RFC 862 echo server: TCP and UDP, IPv4 and IPv6, one event loop.\n\n"
            "  -l, --listen ADDR       listen on ADDR (repeatable): 127.0.0.1:7007, [::1]:7007,\n"
            "                          [fe80::1%%eth0]:7, 0.0.0.0:7, or a bare port (127.0.0.1).\n"
            "                          Port 0 picks an ephemeral port. Default: 127.0.0.1:7007\n"
            "                          and [::1]:7007 (loopback only unless an address is given)\n"
            "      --tcp               serve TCP (default: TCP and UDP)\n"
            "      --udp               serve UDP (default: TCP and UDP)\n"
            "      --max-conns N       TCP connections at most (default 10000); more are\n"
            "                          accepted and closed at once\n"
            "      --idle-timeout MS   close TCP clients silent for MS milliseconds (default: never)\n"
            "      --buffer BYTES      bytes a client may have unechoed before the server stops\n"
            "                          reading from it, and the size of one read (default 65536)\n"
            "      --max-buffered BYTES  bytes all clients together may have unechoed; a client\n"
            "                          is not read while one more read could pass it\n"
            "                          (default 33554432; at least --buffer)\n"
            "      --spin-us US        after handling events, poll without blocking for up to US\n"
            "                          microseconds before sleeping again (default 50; 0: always\n"
            "                          sleep). Busy polling trades CPU time for latency: the next\n"
            "                          message needs no wakeup of the server\n"
            "      --drain-timeout MS  on SIGINT/SIGTERM, finish echoing for at most MS (default 5000)\n"
            "      --udp-rate N        UDP replies per source address a second (default: no cap\n"
            "                          for loopback sources, 1000 for others). Datagrams from\n"
            "                          ports 0, 7, 13, 17, 19, 37 or the server's own are never\n"
            "                          answered (no reflection, no echo loops)\n"
            "      --dual-stack        IPv6 listeners also take IPv4-mapped clients (IPV6_V6ONLY off)\n"
            "      --port-file FILE    write the first listener's port to FILE once all are up\n"
            "  -q, --quiet             print nothing but errors\n"
            "  -h, --help              this text\n"
            "  -V, --version           the version\n\n"
            "Prints 'listening tcp|udp ADDR' per listener. SIGINT/SIGTERM: stop accepting,\n"
            "echo what was received, exit 0; a second signal exits at once.\n"
            "Exit codes: 0 stopped by a signal, 1 event loop failure, 2 usage error,\n"
            "3 cannot listen (the failing call and address are printed).\n");
}

static void on_signal(int sig)
{
    (void)sig;
    /* The first signal drains; a second one stops at once. */
    signals_seen++;
    if (the_server)
        sc_server_stop(the_server, signals_seen > 1 ? SC_STOP_NOW : SC_STOP_DRAIN);
}

static int parse_count(const char *opt, const char *arg, long long max, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(arg, &end, 10);
    if (errno || end == arg || *end || v < 0 || v > max) {
        fprintf(stderr, "sockcheck-server: %s '%s': expected a whole number from 0 to %lld\n", opt, arg, max);
        return -1;
    }
    *out = v;
    return 0;
}

static int write_port_file(const char *path, uint16_t port)
{
    /* Written to a temporary name and renamed, so that a reader never
     * sees a half-written file. */
    char tmp[4096];
    if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
        return -ENAMETOOLONG;
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -errno;
    int ok = fprintf(f, "%u\n", port) > 0;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        int e = errno ? -errno : -EIO;
        remove(tmp);
        return e;
    }
    return 0;
}

static void print_listeners(const sc_server_t *srv)
{
    for (size_t i = 0; i < sc_server_nlisteners(srv); i++) {
        sc_addr_t a;
        int type;
        char text[SC_ADDR_STRLEN];
        sc_server_listener(srv, i, &a, &type);
        sc_addr_format((const struct sockaddr *)&a.ss, a.len, text, sizeof(text));
        printf("listening %s %s\n", type == SOCK_STREAM ? "tcp" : "udp", text);
    }
    fflush(stdout);
}

int main(int argc, char **argv)
{
    enum { O_TCP = 256, O_UDP, O_MAX, O_IDLE, O_BUF, O_DRAIN, O_DUAL, O_PORTFILE, O_RATE, O_HELD, O_SPIN };
    enum { DEFAULT_SPIN_US = 50 };
    static const struct option longopts[] = {
        {"listen", required_argument, NULL, 'l'}, {"tcp", no_argument, NULL, O_TCP},
        {"udp", no_argument, NULL, O_UDP},        {"max-conns", required_argument, NULL, O_MAX},
        {"idle-timeout", required_argument, NULL, O_IDLE}, {"buffer", required_argument, NULL, O_BUF},
        {"drain-timeout", required_argument, NULL, O_DRAIN}, {"dual-stack", no_argument, NULL, O_DUAL},
        {"udp-rate", required_argument, NULL, O_RATE}, {"max-buffered", required_argument, NULL, O_HELD},
        {"spin-us", required_argument, NULL, O_SPIN},
        {"port-file", required_argument, NULL, O_PORTFILE}, {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'}, {"version", no_argument, NULL, 'V'}, {NULL, 0, NULL, 0},
    };
    sc_server_opts_t o;
    sc_server_opts_init(&o);
    o.spin_us = DEFAULT_SPIN_US;
    const char *port_file = NULL;
    int quiet = 0, c;
    long long v;
    while ((c = getopt_long(argc, argv, "l:qhV", longopts, NULL)) != -1) {
        switch (c) {
        case 'l':
            if (o.nlisten == SC_SERVER_MAX_LISTEN) {
                fprintf(stderr, "sockcheck-server: --listen: at most %d addresses\n", SC_SERVER_MAX_LISTEN);
                return EXIT_USAGE;
            }
            o.listen[o.nlisten++] = optarg;
            break;
        case O_TCP: o.tcp = 1; break;
        case O_UDP: o.udp = 1; break;
        case O_MAX:
            /* Two checks: v holds nothing of this option's when it did
             * not parse, and its range message must not follow. */
            if (parse_count("--max-conns", optarg, 10000000, &v))
                return EXIT_USAGE;
            if (v == 0) {
                fprintf(stderr, "sockcheck-server: --max-conns must be at least 1\n");
                return EXIT_USAGE;
            }
            o.max_conns = (size_t)v;
            break;
        case O_IDLE:
            if (parse_count("--idle-timeout", optarg, 86400000, &v))
                return EXIT_USAGE;
            o.idle_timeout_ms = (int)v;
            break;
        case O_BUF:
            if (parse_count("--buffer", optarg, 64 << 20, &v))
                return EXIT_USAGE;
            if (v < 512) {
                fprintf(stderr, "sockcheck-server: --buffer must be at least 512\n");
                return EXIT_USAGE;
            }
            o.buffer = (size_t)v;
            break;
        case O_HELD:
            if (parse_count("--max-buffered", optarg, 1LL << 40, &v))
                return EXIT_USAGE;
            if (v < 512) {
                fprintf(stderr, "sockcheck-server: --max-buffered must be at least 512\n");
                return EXIT_USAGE;
            }
            o.max_buffered = (size_t)v;
            break;
        case O_SPIN:
            if (parse_count("--spin-us", optarg, 1000000, &v))
                return EXIT_USAGE;
            o.spin_us = (int)v;
            break;
        case O_DRAIN:
            if (parse_count("--drain-timeout", optarg, 86400000, &v))
                return EXIT_USAGE;
            o.drain_timeout_ms = v ? (int)v : 1;
            break;
        case O_DUAL: o.v6only = 0; break;
        case O_RATE:
            if (parse_count("--udp-rate", optarg, 100000000, &v))
                return EXIT_USAGE;
            o.udp_rate = (unsigned)v;
            break;
        case O_PORTFILE: port_file = optarg; break;
        case 'q': quiet = 1; break;
        case 'h': usage(stdout); return EXIT_OK;
        case 'V': printf("sockcheck-server %s\n", SOCKCHECK_VERSION); return EXIT_OK;
        default: usage(stderr); return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "sockcheck-server: unexpected argument '%s' (see --help)\n", argv[optind]);
        return EXIT_USAGE;
    }

    char err[256];
    int rc = sc_net_init();
    if (rc < 0) {
        fprintf(stderr, "sockcheck-server: network init: %s\n", sc_strerror(rc));
        return EXIT_SETUP;
    }
    if ((rc = sc_server_create(&the_server, &o, err, sizeof(err))) < 0) {
        fprintf(stderr, "sockcheck-server: %s\n", err);
        return rc == SC_EADDRFORMAT || rc == SC_EPORTRANGE ? EXIT_USAGE : EXIT_SETUP;
    }
    /* The handlers come before any sign of readiness (the listeners
     * printed, the port file): a supervisor that sends SIGTERM as soon as
     * it sees the port must get a drain, not the default action. */
    catch_stop_signals(on_signal);
#if !defined(_WIN32) /* Windows has no SIGPIPE */
    signal(SIGPIPE, SIG_IGN); /* belt and braces: the seam already sends with MSG_NOSIGNAL */
#endif
    if (!quiet)
        print_listeners(the_server);
    if (port_file) {
        sc_addr_t a;
        sc_server_listener(the_server, 0, &a, NULL);
        if ((rc = write_port_file(port_file, sc_addr_port(&a))) < 0) {
            fprintf(stderr, "sockcheck-server: write --port-file %s: %s\n", port_file, sc_strerror(rc));
            sc_server_t *srv = the_server;
            the_server = NULL; /* the handlers are installed: they must not see it freed */
            sc_server_destroy(srv);
            return EXIT_SETUP;
        }
    }

    rc = sc_server_run(the_server);
    sc_server_stats_t st;
    sc_server_stats(the_server, &st);
    if (!quiet)
        fprintf(stderr,
                "sockcheck-server: stopped: %llu connections (peak %zu), %llu refused at the limit, "
                "%llu idle closed, %llu accept errors; %llu bytes in, %llu out; %llu datagrams in, "
                "%llu out, %llu dropped, %llu refused; at most %zu bytes held, %llu reads deferred; "
                "%llu waits spun, %llu slept\n",
                st.accepted, st.conns_peak, st.refused_max_conns, st.closed_idle, st.accept_errors,
                st.bytes_in, st.bytes_out, st.datagrams_in, st.datagrams_out, st.datagrams_dropped,
                st.datagrams_refused, st.buffered_peak, st.reads_deferred, st.spins, st.sleeps);
    /* The handler must not touch the server while it is freed. */
#if defined(_WIN32)
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
#else
    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigprocmask(SIG_BLOCK, &block, NULL);
#endif
    sc_server_t *srv = the_server;
    the_server = NULL;
    sc_server_destroy(srv);
    sc_net_cleanup();
    if (rc < 0) {
        fprintf(stderr, "sockcheck-server: event loop: %s\n", sc_strerror(rc));
        return EXIT_RUNTIME;
    }
    return EXIT_OK;
}
