/* Breaks getsockname(): an inet socket reports port 0 whatever it is bound
 * to, so an ephemeral port cannot be learnt (BD-01, GN rows). */
#include "shim.h"
#include <netinet/in.h>

SHIM_REAL(getsockname_fn, getsockname)

int getsockname(int fd, __SOCKADDR_ARG sa, socklen_t *len)
{
    socklen_t cap = len ? *len : 0;
    int rc = real_getsockname()(fd, sa, len);
    struct sockaddr *p = SHIM_SA(sa);
    if (rc != 0 || !p)
        return rc;
    if (p->sa_family == AF_INET && cap >= sizeof(struct sockaddr_in))
        ((struct sockaddr_in *)p)->sin_port = 0;
    else if (p->sa_family == AF_INET6 && cap >= sizeof(struct sockaddr_in6))
        ((struct sockaddr_in6 *)p)->sin6_port = 0;
    return rc;
}
