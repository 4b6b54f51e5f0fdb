/* Breaks connect(): a blocking connect to a port nobody listens on reports
 * success instead of -1 ECONNREFUSED (CT-01). */
#include "shim.h"

SHIM_REAL(connect_fn, connect)

int connect(int fd, __CONST_SOCKADDR_ARG sa, socklen_t len)
{
    int rc = real_connect()(fd, sa, len);
    if (rc == -1 && errno == ECONNREFUSED && shim_inet_family(fd)) {
        errno = 0;
        return 0;
    }
    return rc;
}
