/* Breaks close(): an inet socket's close reports success but the socket
 * stays open (a descriptor and connection leak): the peer never sees EOF
 * and the number still works (CL-04). */
#include "shim.h"

SHIM_REAL(close_fn, close)

int close(int fd)
{
    if (shim_inet_family(fd)) {
        errno = 0;
        return 0;
    }
    return real_close()(fd);
}
