/* Breaks getsockopt(SO_TYPE): an inet socket reports the other type
 * (SOCK_STREAM as SOCK_DGRAM and back), SK-09. */
#include "shim.h"

SHIM_REAL(getsockopt_fn, getsockopt)

int getsockopt(int fd, int level, int name, void *val, socklen_t *len)
{
    int rc = real_getsockopt()(fd, level, name, val, len);
    if (rc == 0 && level == SOL_SOCKET && name == SO_TYPE && val && len && *len >= sizeof(int) &&
        shim_inet_family(fd)) {
        int type;
        memcpy(&type, val, sizeof(type));
        type = type == SOCK_STREAM ? SOCK_DGRAM : type == SOCK_DGRAM ? SOCK_STREAM : type;
        memcpy(val, &type, sizeof(type));
    }
    return rc;
}
