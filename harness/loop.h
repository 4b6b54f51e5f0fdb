/* The event loop under the server and the load generator: epoll through
 * the seam where the table has it, poll otherwise (Windows, in-memory
 * seams). Internal to the library. */
#ifndef SOCKCHECK_LOOP_H
#define SOCKCHECK_LOOP_H

#include "sockcheck/sys.h"

/* What the loop watches; owners embed it first in their own struct. */
struct sc__handle {
    int kind;        /* the owner's own tag */
    sc_sock_t s;
    uint32_t events; /* interest now registered */
    size_t slot;     /* position in the poll backend's arrays */
};

struct sc__ready {
    struct sc__handle *h;
    uint32_t events;
};

struct sc__loop {
    const sc_sys_t *sys;
    int ep;                    /* epoll descriptor, or -1 for the poll backend */
    sc_pollfd_t *pfds;         /* poll backend: one entry a handle */
    struct sc__handle **hs;
    size_t n, cap;
    sc_event_t *evs;           /* epoll backend: wait buffer */
};

int sc__loop_init(struct sc__loop *l, const sc_sys_t *sys);
void sc__loop_free(struct sc__loop *l);
int sc__loop_add(struct sc__loop *l, struct sc__handle *h, uint32_t events);
int sc__loop_mod(struct sc__loop *l, struct sc__handle *h, uint32_t events);
void sc__loop_del(struct sc__loop *l, struct sc__handle *h);

/* Waits at most timeout_ms (-1: no limit) and fills at most max entries.
 * Returns how many, or a negative error (-EINTR included). */
int sc__loop_wait(struct sc__loop *l, struct sc__ready *out, int max, int timeout_ms);

#endif
