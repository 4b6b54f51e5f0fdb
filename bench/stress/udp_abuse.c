/* UDP abuse for ci/stress: datagrams from the ports of services that
 * answer back, from forged sources (raw socket), and bursts that test a
 * per-source rate cap; counts the replies an echo server sends. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/udp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "parse.h"

#define EXIT_SKIP 77 /* not permitted here (no privilege): the caller skips */
#define PAYLOAD 32
#define MAX_DGRAM 65536

enum mode { M_FROM, M_SPOOF, M_BURST };

struct opts {
    enum mode mode;
    struct sockaddr_in bind_to, from, to;
    int have_bind, have_from, have_to;
    long count, wait_ms;
};

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int usage(FILE *f)
{
    fprintf(f, "usage: stress-udp from  --bind IPV4:PORT --to IPV4:PORT [--count N] [--wait MS]\n"
               "       stress-udp spoof --from IPV4:PORT --to IPV4:PORT [--count N]\n"
               "       stress-udp burst --to IPV4:PORT [--count N] [--wait MS]\n"
               "UDP abuse of an echo server (ci/stress).\n"
               "  from   sends --count datagrams (default 10) from a socket bound to --bind\n"
               "         and counts the replies until --wait ms (default 300) pass without one\n"
               "  spoof  sends --count datagrams whose source is --from, through a raw socket\n"
               "         (IP_HDRINCL); nothing comes back to this program\n"
               "  burst  sends --count datagrams (default 1000) as fast as the socket takes\n"
               "         them, then counts replies until --wait ms pass without one\n"
               "Prints one line: udp mode=... sent=N replies=M elapsed_ms=T. Exit: 0 done,\n"
               "77 when the bind or the raw socket is not permitted here, 2 usage, 1 error.\n");
    return 2;
}

static int parse_opts(struct opts *o, int argc, char **argv)
{
    enum { O_BIND = 256, O_FROM, O_TO, O_COUNT, O_WAIT };
    static const struct option lo[] = {
        {"bind", required_argument, NULL, O_BIND},
        {"from", required_argument, NULL, O_FROM},
        {"to", required_argument, NULL, O_TO},
        {"count", required_argument, NULL, O_COUNT},
        {"wait", required_argument, NULL, O_WAIT},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof(*o));
    o->wait_ms = 300;
    if (argc < 2)
        return -1;
    if (strcmp(argv[1], "from") == 0)
        o->mode = M_FROM;
    else if (strcmp(argv[1], "spoof") == 0)
        o->mode = M_SPOOF;
    else if (strcmp(argv[1], "burst") == 0)
        o->mode = M_BURST;
    else
        return strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ? 1 : -1;
    o->count = o->mode == M_BURST ? 1000 : 10;
    optind = 2;
    int c;
    while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (c) {
        case O_BIND:
            o->have_bind = parse_ipv4_port(optarg, &o->bind_to, 0) == 0;
            if (!o->have_bind)
                return -1;
            break;
        case O_FROM:
            o->have_from = parse_ipv4_port(optarg, &o->from, 0) == 0;
            if (!o->have_from)
                return -1;
            break;
        case O_TO:
            o->have_to = parse_ipv4_port(optarg, &o->to, 0) == 0;
            if (!o->have_to)
                return -1;
            break;
        case O_COUNT:
            o->count = strtol(optarg, NULL, 10);
            break;
        case O_WAIT:
            o->wait_ms = strtol(optarg, NULL, 10);
            break;
        case 'h':
            return 1;
        default:
            return -1;
        }
    }
    if (optind < argc || !o->have_to || o->count < 1 || o->count > 100000000 || o->wait_ms < 0)
        return -1;
    if ((o->mode == M_FROM && !o->have_bind) || (o->mode == M_SPOOF && !o->have_from))
        return -1;
    return 0;
}

/* Counts the datagrams that arrive on s until wait_ms pass without one. */
static long count_replies(int s, long wait_ms)
{
    static unsigned char buf[MAX_DGRAM];
    long n = 0;
    for (;;) {
        struct pollfd p = {.fd = s, .events = POLLIN};
        int rc = poll(&p, 1, (int)wait_ms);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0)
            return n;
        if (recv(s, buf, sizeof(buf), 0) >= 0)
            n++;
    }
}

/* from and burst: an ordinary UDP socket. */
static int run_plain(const struct opts *o)
{
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) {
        perror("stress-udp: socket");
        return 1;
    }
    if (o->mode == M_FROM && bind(s, (const struct sockaddr *)&o->bind_to, sizeof(o->bind_to)) < 0) {
        int e = errno;
        fprintf(stderr, "stress-udp: bind %s:%u: %s\n", inet_ntoa(o->bind_to.sin_addr),
                ntohs(o->bind_to.sin_port), strerror(e));
        close(s);
        return e == EACCES || e == EPERM ? EXIT_SKIP : 1;
    }
    unsigned char payload[PAYLOAD];
    long sent = 0;
    long long t0 = now_ms();
    for (long i = 0; i < o->count; i++) {
        memset(payload, 'a' + (int)(i % 26), sizeof(payload));
        ssize_t w = sendto(s, payload, sizeof(payload), 0, (const struct sockaddr *)&o->to, sizeof(o->to));
        if (w == (ssize_t)sizeof(payload))
            sent++;
    }
    long replies = count_replies(s, o->wait_ms);
    printf("udp mode=%s sent=%ld replies=%ld elapsed_ms=%lld\n", o->mode == M_FROM ? "from" : "burst", sent,
           replies, now_ms() - t0 - o->wait_ms);
    close(s);
    return 0;
}

/* spoof: the IPv4 and UDP headers written here (raw(7), IP_HDRINCL); the
 * kernel fills in the IP checksum and total length, and a UDP checksum
 * of 0 means none (RFC 768). */
static int run_spoof(const struct opts *o)
{
    int s = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);
    if (s < 0) {
        int e = errno;
        fprintf(stderr, "stress-udp: raw socket: %s\n", strerror(e));
        return e == EACCES || e == EPERM ? EXIT_SKIP : 1;
    }
    unsigned char pkt[sizeof(struct iphdr) + sizeof(struct udphdr) + PAYLOAD];
    memset(pkt, 0, sizeof(pkt));
    struct iphdr *ip = (struct iphdr *)pkt;
    struct udphdr *udp = (struct udphdr *)(pkt + sizeof(*ip));
    ip->version = 4;
    ip->ihl = sizeof(*ip) / 4;
    ip->ttl = 64;
    ip->protocol = IPPROTO_UDP;
    ip->saddr = o->from.sin_addr.s_addr;
    ip->daddr = o->to.sin_addr.s_addr;
    ip->tot_len = htons(sizeof(pkt));
    udp->source = o->from.sin_port;
    udp->dest = o->to.sin_port;
    udp->len = htons(sizeof(*udp) + PAYLOAD);
    memset(pkt + sizeof(*ip) + sizeof(*udp), 's', PAYLOAD);
    long sent = 0;
    long long t0 = now_ms();
    for (long i = 0; i < o->count; i++)
        if (sendto(s, pkt, sizeof(pkt), 0, (const struct sockaddr *)&o->to, sizeof(o->to)) ==
            (ssize_t)sizeof(pkt))
            sent++;
    printf("udp mode=spoof sent=%ld replies=0 elapsed_ms=%lld\n", sent, now_ms() - t0);
    close(s);
    return sent == o->count ? 0 : 1;
}

int main(int argc, char **argv)
{
    struct opts o;
    int rc = parse_opts(&o, argc, argv);
    if (rc != 0) {
        usage(rc > 0 ? stdout : stderr);
        return rc > 0 ? 0 : 2;
    }
    return o.mode == M_SPOOF ? run_spoof(&o) : run_plain(&o);
}
