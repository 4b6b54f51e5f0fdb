/* The address argument of the stress helpers: "a.b.c.d:port", IPv4 only
 * (the helpers are independent of the library they attack, so they do not
 * use its parser). */
#ifndef SOCKCHECK_STRESS_PARSE_H
#define SOCKCHECK_STRESS_PARSE_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Fills *a from s; port 0 only when min_port is 0. Returns 0, or -1 for a
 * malformed address or a port out of range. */
static int parse_ipv4_port(const char *s, struct sockaddr_in *a, long min_port)
{
    char host[64];
    const char *colon = strrchr(s, ':');
    if (!colon || (size_t)(colon - s) >= sizeof(host))
        return -1;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    char *end;
    long port = strtol(colon + 1, &end, 10);
    memset(a, 0, sizeof(*a));
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    return *end || port < min_port || port > 65535 || inet_pton(AF_INET, host, &a->sin_addr) != 1 ? -1 : 0;
}

#endif
