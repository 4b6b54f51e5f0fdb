/* Keeps the UDP echo from becoming a reflection or loop tool: it never
 * answers a service port that answers back (echo 7, daytime 13, qotd 17,
 * chargen 19, time 37: RFC 862/867/865/864/868, the classic UDP loops of
 * CERT CA-1996-01), its own port, or port 0, and caps the replies a source
 * address gets each second. */
#include "guard.h"
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const uint16_t answering_ports[] = {7, 13, 17, 19, 37};

/* The source as a 16-byte key and its port; 0 when the family is unknown. */
static int key_of(const struct sockaddr *sa, sc_socklen_t len, uint8_t key[16], uint16_t *port)
{
    if (sa->sa_family == AF_INET && (size_t)len >= sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
        memset(key, 0, 10);
        key[10] = key[11] = 0xff;
        memcpy(key + 12, &s4->sin_addr, 4);
        *port = ntohs(s4->sin_port);
        return 1;
    }
    if (sa->sa_family == AF_INET6 && (size_t)len >= sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        memcpy(key, &s6->sin6_addr, 16);
        *port = ntohs(s6->sin6_port);
        return 1;
    }
    return 0;
}

static int is_loopback_key(const uint8_t key[16])
{
    static const uint8_t v6_loopback[16] = {[15] = 1};
    static const uint8_t mapped[12] = {[10] = 0xff, [11] = 0xff};
    return memcmp(key, v6_loopback, 16) == 0 || (memcmp(key, mapped, 12) == 0 && key[12] == 127);
}

static uint32_t hash_key(const uint8_t key[16])
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (int i = 0; i < 16; i++)
        h = (h ^ key[i]) * 16777619u;
    return h;
}

/* Counts one reply to key in the current second; 0 when over the rate. A
 * slot taken by another address is reused: an attacker cycling addresses
 * only spreads its traffic over the victims it names. */
static int within_rate(struct sc__guard *g, const uint8_t key[16], unsigned rate, int64_t now_ms)
{
    if (!g->slots && !(g->slots = calloc(SC__GUARD_SLOTS, sizeof(*g->slots))))
        return 0; /* no memory to count with: refuse, a reflection guard fails closed */
    struct sc__guard_slot *s = &g->slots[hash_key(key) % SC__GUARD_SLOTS];
    int64_t window = now_ms / 1000;
    if (!s->used || s->window != window || memcmp(s->key, key, 16) != 0) {
        memcpy(s->key, key, 16);
        s->window = window;
        s->count = 0;
        s->used = 1;
    }
    if (s->count >= rate)
        return 0;
    s->count++;
    return 1;
}

void sc__guard_free(struct sc__guard *g)
{
    if (g) {
        free(g->slots);
        g->slots = NULL;
    }
}

int sc__guard_add_own_port(struct sc__guard *g, uint16_t port)
{
    for (size_t i = 0; i < g->nown; i++)
        if (g->own[i] == port)
            return 0;
    if (g->nown == SC__GUARD_OWN_MAX)
        return -ENOSPC;
    g->own[g->nown++] = port;
    return 0;
}

int sc__guard_check(struct sc__guard *g, const struct sockaddr *from, sc_socklen_t fromlen)
{
    uint8_t key[16];
    uint16_t port;
    if (!key_of(from, fromlen, key, &port) || port == 0)
        return SC__GUARD_PORT;
    /* Any of our own ports, from any address: a twin of this server on
     * another address, or this server's other listener (loops for ever). */
    for (size_t i = 0; i < g->nown; i++)
        if (port == g->own[i])
            return SC__GUARD_SELF;
    for (size_t i = 0; i < sizeof(answering_ports) / sizeof(answering_ports[0]); i++)
        if (port == answering_ports[i])
            return SC__GUARD_PORT;
    unsigned rate = g->rate;
    if (rate == 0) {
        if (is_loopback_key(key))
            return SC__GUARD_OK; /* the default trusts this machine's own clients */
        rate = SC__GUARD_DEFAULT_RATE;
    }
    return within_rate(g, key, rate, sc__now_ms(g->clock)) ? SC__GUARD_OK : SC__GUARD_RATE;
}
