/* Breaks getaddrinfo(): every AF_INET6 result is dropped, as by a resolver
 * that only knows IPv4; "::1" then fails to resolve (GA rows, and the
 * library's sc_addr_resolve). */
#include "shim.h"

SHIM_REAL(getaddrinfo_fn, getaddrinfo)
SHIM_REAL(freeaddrinfo_fn, freeaddrinfo)

int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints, struct addrinfo **res)
{
    int rc = real_getaddrinfo()(node, service, hints, res);
    if (rc != 0 || !res)
        return rc;
    /* Unlinked entries are freed one by one (ai_next cleared first), so a
     * leak checker sees nothing left behind. */
    struct addrinfo **link = res;
    while (*link) {
        struct addrinfo *ai = *link;
        if (ai->ai_family == AF_INET6) {
            *link = ai->ai_next;
            ai->ai_next = NULL;
            real_freeaddrinfo()(ai);
        } else {
            link = &ai->ai_next;
        }
    }
    return *res ? 0 : EAI_NONAME;
}
