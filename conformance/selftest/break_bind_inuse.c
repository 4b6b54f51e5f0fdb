/* Breaks bind(): an address already in use is reported as bound (0)
 * instead of -1 EADDRINUSE (BD-02), so two sockets believe they own it. */
#include "shim.h"

SHIM_REAL(bind_fn, bind)

int bind(int fd, __CONST_SOCKADDR_ARG sa, socklen_t len)
{
    int rc = real_bind()(fd, sa, len);
    if (rc == -1 && errno == EADDRINUSE && shim_inet_family(fd)) {
        errno = 0;
        return 0;
    }
    return rc;
}
