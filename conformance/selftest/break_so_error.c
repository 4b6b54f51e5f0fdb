/* Breaks getsockopt(SO_ERROR): the pending error is cleared but reported
 * as 0, so a failed non-blocking connect looks like a success (CT-04,
 * CT-07, SO-10). */
#include "shim.h"

SHIM_REAL(getsockopt_fn, getsockopt)

int getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
    int rc = real_getsockopt()(fd, level, name, val, len);
    if (rc == 0 && level == SOL_SOCKET && name == SO_ERROR && val && len && *len >= sizeof(int) &&
        shim_inet_family(fd)) {
        int zero = 0;
        memcpy(val, &zero, sizeof(zero));
    }
    return rc;
}
