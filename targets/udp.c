/* Fuzz target udp: datagrams of every size from 0 to 65507 bytes (and a
 * little beyond) through the UDP echo path over real loopback sockets. A
 * reference server lives for the whole process, run on this thread from
 * the client's waits (pump.h), and one connected client socket is reused
 * across inputs. Real sockets, not
 * memnet: truncation is the kernel's MSG_TRUNC behaviour, and that is
 * what sc_udp_recv must read correctly.
 * Target functions: sc_udp_send, sc_udp_recv (io.c), sc_echo_udp
 * (client.c), udp_readable in server.c.
 * Input: records of 5 bytes (size: 2 bytes, receive buffer: 2 bytes,
 * mode), at most MAX_RECORDS, then the content pattern (repeated; a
 * counter when there is none).
 * Oracles (abort on failure):
 *  - a datagram over 65507 bytes is refused whole with -EMSGSIZE;
 *  - any other comes back whole: with a buffer at least as large,
 *    sc_udp_recv returns its length and the same bytes; with a smaller
 *    one, SC_ETRUNCATED, the full length, and the bytes that fit — never
 *    a silently shorter datagram; sc_echo_udp verifies the same way;
 *  - nothing is lost on loopback within the deadline. */
#include "sockcheck/client.h"
#include "sockcheck/io.h"
#include "sockcheck/net.h"
#include "sockcheck/server.h"
#include "pump.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define CHECK(cond) ((cond) ? (void)0 : fail(__LINE__, #cond))
#define UDP_MAX 65507 /* 65535 - 20 (IPv4) - 8 (UDP) */
#define SIZE_LIMIT 65535
#define RECORD 5
#define MAX_RECORDS 4
#define TIMEOUT_MS 10000
#define CLIENT_RCVBUF (1 << 20)

static sc_server_t *srv;
static sc_sock_t conn = SC_INVALID_SOCK;
static uint8_t out[SIZE_LIMIT + 1], in[SIZE_LIMIT + 1];

/* Names the broken oracle: a crash report then says what went wrong. */
static void fail(int line, const char *cond)
{
    fprintf(stderr, "udp: check at line %d failed: %s\n", line, cond);
    abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (srv)
        return 0;
    sc_addr_t a;
    CHECK((srv = pump_start(SOCK_DGRAM, &a)) != NULL);
    char port[8];
    snprintf(port, sizeof(port), "%u", (unsigned)sc_addr_port(&a));
    CHECK(sc_client_connect("127.0.0.1", port, SOCK_DGRAM, SC_NONBLOCK, TIMEOUT_MS, &conn, NULL, NULL, 0) == 0);
    /* Room for an echo of the largest datagram with its overhead. */
    int rcvbuf = CLIENT_RCVBUF;
    const sc_sys_t *sys = sc_sys_current();
    sys->setsockopt(sys->ctx, conn, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    return 0;
}

/* The datagram: the pattern repeated (by doubling copies: a byte loop
 * over 64 KiB would cost the fuzzer a comparison callback per byte), or
 * a counter from the seed when there is no pattern. */
static void fill(size_t len, const uint8_t *pat, size_t plen, uint8_t seed)
{
    uint8_t counter[256];
    if (!plen) {
        for (size_t i = 0; i < sizeof(counter); i++)
            counter[i] = (uint8_t)(seed + i * 131u);
        pat = counter;
        plen = sizeof(counter);
    }
    size_t have = len < plen ? len : plen;
    memcpy(out, pat, have);
    while (have < len) {
        size_t k = have < len - have ? have : len - have;
        memcpy(out + have, out, k);
        have += k;
    }
}

/* sc_udp_send + sc_udp_recv with a receive buffer of cap bytes. */
static void exchange(size_t len, size_t cap)
{
    int64_t deadline = sc_deadline(TIMEOUT_MS);
    int rc = sc_udp_send(conn, out, len, NULL, deadline);
    if (len > UDP_MAX) {
        CHECK(rc == -EMSGSIZE);
        return;
    }
    CHECK(rc == 0);
    size_t full = 0;
    sc_addr_t from;
    ptrdiff_t n = sc_udp_recv(conn, in, cap, &from, &full, deadline);
    if (cap >= len) {
        CHECK(n == (ptrdiff_t)len && full == len);
        CHECK(memcmp(in, out, len) == 0);
    } else {
        CHECK(n == SC_ETRUNCATED && full == len);
        CHECK(memcmp(in, out, cap) == 0);
    }
    CHECK(sc_addr_family(&from) == AF_INET && sc_addr_is_loopback(&from));
}

/* The client library's own verified echo. */
static void echo(size_t len)
{
    sc_echo_result_t res;
    int rc = sc_echo_udp(conn, out, len, TIMEOUT_MS, &res);
    if (len > UDP_MAX) {
        CHECK(rc == -EMSGSIZE);
        return;
    }
    CHECK(rc == 0 && res.sent == len && res.received == len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t nrec = size / RECORD < MAX_RECORDS ? size / RECORD : MAX_RECORDS;
    const uint8_t *pat = data + nrec * RECORD;
    size_t plen = size - nrec * RECORD;
    if (!srv)
        LLVMFuzzerInitialize(NULL, NULL);
    for (size_t r = 0; r < nrec; r++) {
        const uint8_t *rec = data + r * RECORD;
        size_t len = ((size_t)rec[0] << 8 | rec[1]) % (SIZE_LIMIT + 1);
        size_t cap = ((size_t)rec[2] << 8 | rec[3]) % (SIZE_LIMIT + 2);
        uint8_t mode = rec[4];
        /* Mode bit 7 (or a cap above the buffer): a buffer of exactly len. */
        if ((mode & 0x80) || cap > SIZE_LIMIT)
            cap = len;
        fill(len, pat, plen, mode);
        if (mode & 1)
            echo(len);
        else
            exchange(len, cap);
    }
    return 0;
}
