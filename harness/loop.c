/* The event loop: epoll through the seam, or poll as the portable
 * fallback. Level-triggered in both, so that a handler may leave data
 * unread (backpressure) and be told again later. */
#include "loop.h"
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define WAIT_BATCH 256

int sc__loop_init(struct sc__loop *l, const sc_sys_t *sys)
{
    memset(l, 0, sizeof(*l));
    l->sys = sys;
    l->ep = -1;
    if (sys->ev_create && sys->ev_ctl && sys->ev_wait) {
        int ep = sys->ev_create(sys->ctx);
        if (ep >= 0) {
            l->evs = malloc(WAIT_BATCH * sizeof(*l->evs));
            if (!l->evs) {
                SC__CALL(sys, close, ep);
                return -ENOMEM;
            }
            l->ep = ep;
            return 0;
        }
        if (ep != -ENOSYS)
            return ep;
    }
    return 0; /* poll backend: arrays grow on the first add */
}

void sc__loop_free(struct sc__loop *l)
{
    if (l->ep >= 0)
        SC__CALL(l->sys, close, l->ep);
    free(l->evs);
    free(l->pfds);
    free(l->hs);
    memset(l, 0, sizeof(*l));
    l->ep = -1;
}

static int grow(struct sc__loop *l)
{
    size_t cap = l->cap ? l->cap * 2 : 64;
    sc_pollfd_t *p = realloc(l->pfds, cap * sizeof(*p));
    if (!p)
        return -ENOMEM;
    l->pfds = p;
    struct sc__handle **h = realloc(l->hs, cap * sizeof(*h));
    if (!h)
        return -ENOMEM;
    l->hs = h;
    l->cap = cap;
    return 0;
}

int sc__loop_add(struct sc__loop *l, struct sc__handle *h, uint32_t events)
{
    h->events = events;
    if (l->ep >= 0)
        return SC__CALL(l->sys, ev_ctl, l->ep, SC_EV_ADD, h->s, events, (uint64_t)(uintptr_t)h);
    if (l->n == l->cap) {
        int rc = grow(l);
        if (rc < 0)
            return rc;
    }
    h->slot = l->n++;
    l->hs[h->slot] = h;
    l->pfds[h->slot] = (sc_pollfd_t){.fd = h->s, .events = (short)events, .revents = 0};
    return 0;
}

int sc__loop_mod(struct sc__loop *l, struct sc__handle *h, uint32_t events)
{
    if (events == h->events)
        return 0;
    h->events = events;
    if (l->ep >= 0)
        return SC__CALL(l->sys, ev_ctl, l->ep, SC_EV_MOD, h->s, events, (uint64_t)(uintptr_t)h);
    l->pfds[h->slot].events = (short)events;
    return 0;
}

void sc__loop_del(struct sc__loop *l, struct sc__handle *h)
{
    if (l->ep >= 0) {
        SC__CALL(l->sys, ev_ctl, l->ep, SC_EV_DEL, h->s, 0, 0);
        return;
    }
    /* Swap the last entry into the hole. */
    size_t i = h->slot;
    if (i >= l->n || l->hs[i] != h)
        return;
    l->n--;
    if (i != l->n) {
        l->pfds[i] = l->pfds[l->n];
        l->hs[i] = l->hs[l->n];
        l->hs[i]->slot = i;
    }
}

int sc__loop_wait(struct sc__loop *l, struct sc__ready *out, int max, int timeout_ms)
{
    if (l->ep >= 0) {
        if (max > WAIT_BATCH)
            max = WAIT_BATCH;
        int n = SC__CALL(l->sys, ev_wait, l->ep, l->evs, max, timeout_ms);
        for (int i = 0; i < n; i++) {
            out[i].h = (struct sc__handle *)(uintptr_t)l->evs[i].data;
            out[i].events = l->evs[i].events;
        }
        return n;
    }
    int rc = SC__CALL(l->sys, poll, l->pfds, l->n, timeout_ms);
    if (rc <= 0)
        return rc;
    int k = 0;
    for (size_t i = 0; i < l->n && k < max; i++) {
        if (l->pfds[i].revents) {
            out[k].h = l->hs[i];
            out[k].events = (uint32_t)l->pfds[i].revents;
            k++;
        }
    }
    return k;
}
