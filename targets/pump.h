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

/* The table to install (or to put under a fault table) once the server
 * exists. */
static const sc_sys_t *pump_sys(sc_server_t *srv)
{
    pump_server = srv;
    pump_inner = sc_sys_platform();
    pump_table = *pump_inner;
    pump_table.poll = pump_poll;
    return &pump_table;
}

#endif
