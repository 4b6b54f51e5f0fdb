/* Breaks listen(): a connected TCP socket "starts listening" (returns 0)
 * instead of failing EINVAL, as POSIX requires (LS-12, a gap row). */
#include "shim.h"

SHIM_REAL(listen_fn, listen)
SHIM_REAL(getpeername_fn, getpeername)

int listen(int fd, int backlog)
{
    int rc = real_listen()(fd, backlog);
    if (rc == -1 && errno == EINVAL && shim_inet_family(fd)) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        if (real_getpeername()(fd, (struct sockaddr *)&ss, &len) == 0) {
            errno = 0;
            return 0;
        }
        errno = EINVAL;
    }
    return rc;
}
