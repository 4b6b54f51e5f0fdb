/* The reference server of a loopback fuzz target, run on the fuzzer's own
 * thread: a seam table that is the platform's, except that every wait
 * (poll) first gives the server its turns. The client library waits
 * through poll whenever a call would block, so the server runs exactly
 * when the client needs it, over real loopback sockets, and a round trip
 * costs system calls only: no server thread, no cross-thread wakeup (a
 * wakeup costs 20-90 us on the VMs here, more than the whole round trip).
 * The server itself is created on the platform table, never this one. */
#ifndef SOCKCHECK_TARGETS_PUMP_H
#define SOCKCHECK_TARGETS_PUMP_H

#include "sockcheck/io.h"
#include "sockcheck/net.h"
#include "sockcheck/server.h"
#include "sockcheck/sys.h"

#define PUMP_TURNS 4   /* server turns before each look at the client's sockets */
#define PUMP_SLICE_MS 1 /* a server turn may wait this long when nothing is ready */

static sc_server_t *pump_server;
static const sc_sys_t *pump_inner;
static sc_sys_t pump_table;

/* Turns of the server, then the client's sockets without waiting; while
 * neither has anything, the server waits a slice for its own sockets (the
 * kernel may still be delivering). Bounded by the caller's timeout. */
static int pump_poll(void *ctx, sc_pollfd_t *fds, size_t n, int timeout_ms)
{
    const sc_sys_t *in = pump_inner;
    int64_t deadline = sc_deadline(timeout_ms);
    for (;;) {
        for (int i = 0; i < PUMP_TURNS; i++)
            if (sc_server_step(pump_server, 0) <= 0)
                break;
        int rc = in->poll(ctx, fds, n, 0);
        if (rc != 0 || timeout_ms == 0 || (deadline >= 0 && sc_now_ms() >= deadline))
            return rc;
        if (sc_server_step(pump_server, PUMP_SLICE_MS) < 0)
            return in->poll(ctx, fds, n, PUMP_SLICE_MS);
    }
}

/* Creates the reference server for one socket type on 127.0.0.1 (an
 * ephemeral port) on the platform table, writes its address to *addr and
 * installs the pump table (a fault table may go on top of pump_table).
 * Returns the server, or NULL when any step failed. */
static sc_server_t *pump_start(int socktype, sc_addr_t *addr)
{
    sc_server_opts_t o;
    sc_server_opts_init(&o);
    o.listen[0] = "127.0.0.1:0";
    o.nlisten = 1;
    o.tcp = socktype == SOCK_STREAM;
    o.udp = socktype == SOCK_DGRAM;
    o.sys = sc_sys_platform();
    sc_server_t *srv = NULL;
    if (sc_net_init() < 0 || sc_server_create(&srv, &o, NULL, 0) < 0)
        return NULL;
    if (sc_server_listener(srv, 0, addr, NULL) < 0) {
        sc_server_destroy(srv);
        return NULL;
    }
    pump_server = srv;
    pump_inner = o.sys;
    pump_table = *pump_inner;
    pump_table.poll = pump_poll;
    sc_sys_install(&pump_table);
    return srv;
}

#endif
