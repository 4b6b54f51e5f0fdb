/* Fuzz target echo_loopback: the echo path over real TCP loopback sockets.
 * A reference server lives for the whole process (127.0.0.1, ephemeral
 * port), run on this thread from the client's waits (pump.h: no server
 * thread, no cross-thread wakeups), and one client connection is reused across
 * inputs (made again only if it broke), so that no input pays for a
 * connect, an accept or a TIME_WAIT.
 * Target functions: sc_echo_tcp (client.c), or sc_send_all then
 * sc_recv_exact (io.c), against the server's TCP path (conn_readable/
 * echo/flush in server.c) through the kernel, with the fault seam
 * (sc_fault_add) chunking the client's calls.
 * Input: payload | schedule | 2 trailer bytes (schedule length; payload
 * repeat count in bits 0-5, bit 7 for io.c instead of sc_echo_tcp); a
 * shorter input is all payload. Schedule bytes alternate
 * between the client's send and recv calls, one rule per call:
 *   0x00-0xbf  at most b % 64 + 1 bytes   0xc0-0xcf  -EINTR
 *   0xd0-0xdf  -EAGAIN                    0xe0-0xff  unchanged
 * Oracle (abort on failure): sc_echo_tcp returns 0 (every byte back,
 * byte for byte, within the deadline), or sc_send_all and sc_recv_exact
 * return 0 with the same bytes back (the payload, at most 32 KiB, fits
 * the loopback socket buffers, so sending it all first cannot deadlock);
 * the connection stays usable; the number of open descriptors never
 * changes across inputs (replay checks). */
#include "sockcheck/client.h"
#include "sockcheck/fault.h"
#include "sockcheck/io.h"
#include "sockcheck/net.h"
#include "sockcheck/server.h"
#include "pump.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK(cond) ((cond) ? (void)0 : fail(__LINE__, #cond))
#define TRAILER 2
#define MAX_REPEAT 64
#define MAX_PAYLOAD (512 * MAX_REPEAT)
#define IO_MODE 0x80
#define TIMEOUT_MS 10000

static sc_server_t *srv;
static sc_addr_t srv_addr;
static sc_sock_t conn = SC_INVALID_SOCK;
static sc_fault_t fault;
static uint8_t payload[MAX_PAYLOAD], echoed[MAX_PAYLOAD];

/* Names the broken oracle: a crash report then says what went wrong. */
static void fail(int line, const char *cond)
{
    fprintf(stderr, "echo_loopback: check at line %d failed: %s\n", line, cond);
    abort();
}

/* Connects, and echoes one byte: the server has then accepted the
 * connection, so its descriptor exists before any input is counted. */
static void reconnect(void)
{
    if (conn != SC_INVALID_SOCK)
        sc_close(conn);
    conn = SC_INVALID_SOCK;
    char port[8], err[128];
    snprintf(port, sizeof(port), "%u", (unsigned)sc_addr_port(&srv_addr));
    CHECK(sc_client_connect("127.0.0.1", port, SOCK_STREAM, 0, TIMEOUT_MS, &conn, NULL, err, sizeof(err)) == 0);
    CHECK(sc_echo_tcp(conn, "!", 1, TIMEOUT_MS, NULL) == 0);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (srv)
        return 0;
    CHECK((srv = pump_start(SOCK_STREAM, &srv_addr)) != NULL);
    reconnect();
    return 0;
}

/* One rule per schedule byte: even bytes for send calls, odd for recv. */
static void add_rules(const uint8_t *sched, size_t len)
{
    unsigned nth[2] = {1, 1};
    for (size_t i = 0; i < len && fault.nrules < SC_FAULT_MAX_RULES; i++) {
        uint8_t b = sched[i];
        sc_op_t op = i % 2 ? SC_OP_RECV : SC_OP_SEND;
        unsigned n = nth[i % 2]++;
        if (b < 0xc0)
            sc_fault_add(&fault, op, n, 1, 0, (size_t)(b % 64) + 1);
        else if (b < 0xd0)
            sc_fault_add(&fault, op, n, 1, -EINTR, 0);
        else if (b < 0xe0)
            sc_fault_add(&fault, op, n, 1, -EAGAIN, 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t sched_len = 0, repeat = 1;
    int io_mode = 0;
    if (size > TRAILER) {
        sched_len = data[size - 2];
        repeat = 1 + data[size - 1] % MAX_REPEAT;
        io_mode = (data[size - 1] & IO_MODE) != 0;
        size -= TRAILER;
        if (sched_len > size)
            sched_len = size;
    }
    size_t pay_len = size - sched_len;
    if (pay_len > MAX_PAYLOAD / MAX_REPEAT)
        pay_len = MAX_PAYLOAD / MAX_REPEAT;
    size_t total = pay_len * repeat;
    for (size_t off = 0; off < total; off += pay_len)
        memcpy(payload + off, data, pay_len);

    if (!srv)
        LLVMFuzzerInitialize(NULL, NULL);
    if (conn == SC_INVALID_SOCK)
        reconnect();
    sc_fault_init(&fault, &pump_table);
    add_rules(data + (size - sched_len), sched_len);
    const sc_sys_t *old = sc_sys_install(&fault.sys);
    if (io_mode) {
        int64_t deadline = sc_deadline(TIMEOUT_MS);
        size_t sent = 0, got = 0;
        CHECK(sc_send_all(conn, payload, total, deadline, &sent) == 0 && sent == total);
        CHECK(sc_recv_exact(conn, echoed, total, deadline, &got) == 0 && got == total);
        CHECK(memcmp(echoed, payload, total) == 0);
    } else {
        /* Nothing the schedule injects may break a loopback echo. */
        sc_echo_result_t res;
        int rc = sc_echo_tcp(conn, payload, total, TIMEOUT_MS, &res);
        CHECK(rc == 0 && res.sent == total && res.received == total);
    }
    sc_sys_install(old);
    return 0;
}
