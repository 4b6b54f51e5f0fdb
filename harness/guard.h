/* The UDP echo's guard against reflection and loops (internal). */
#ifndef SOCKCHECK_GUARD_H
#define SOCKCHECK_GUARD_H

#include "sockcheck/platform.h"

#define SC__GUARD_SLOTS 4096
#define SC__GUARD_DEFAULT_RATE 1000 /* replies a second to a non-loopback source */

struct sc__guard_slot {
    uint8_t key[16]; /* the source address (IPv4 as v4-mapped) */
    int64_t window;  /* the second this count belongs to */
    uint32_t count;
    uint8_t used;
};

#define SC__GUARD_OWN_MAX 32

struct sc__guard {
    unsigned rate; /* replies per source address per second; 0: the default policy */
    const struct sc_sys *clock; /* whose now_ms counts the seconds; NULL: the real clock */
    uint16_t own[SC__GUARD_OWN_MAX]; /* the ports of every UDP listener of this server */
    size_t nown;
    /* SC__GUARD_SLOTS counters (128 KiB), allocated when the rate cap
     * first counts: a server that only ever answers trusted loopback
     * clients never needs them. */
    struct sc__guard_slot *slots;
};

/* Why a datagram was refused, or SC__GUARD_OK. */
enum { SC__GUARD_OK, SC__GUARD_PORT, SC__GUARD_SELF, SC__GUARD_RATE };

/* Frees what the guard allocated (not the guard itself). */
void sc__guard_free(struct sc__guard *g);

/* Adds the port of one of the server's UDP listeners: a datagram from any
 * of them is refused, whichever listener receives it, so that two sockets
 * of one server never echo to each other. Returns -ENOSPC when full. */
int sc__guard_add_own_port(struct sc__guard *g, uint16_t port);

/* Decides whether to answer a datagram from `from`. Reads the clock only
 * when a rate applies to the source. */
int sc__guard_check(struct sc__guard *g, const struct sockaddr *from, sc_socklen_t fromlen);

#endif
