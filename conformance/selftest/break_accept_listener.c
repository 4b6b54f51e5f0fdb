/* Breaks accept(): the connection is taken off the queue (and dropped) but
 * the descriptor returned is the listener itself, not a new one (AC-01). */
#include "shim.h"

SHIM_REAL(accept_fn, accept)
SHIM_REAL(accept4_fn, accept4)
SHIM_REAL(close_fn, close)

static int listener_instead(int listener, int fd)
{
    if (fd < 0 || !shim_inet_family(fd))
        return fd;
    real_close()(fd);
    return listener;
}

int accept(int fd, __SOCKADDR_ARG sa, socklen_t *len)
{
    return listener_instead(fd, real_accept()(fd, sa, len));
}

int accept4(int fd, __SOCKADDR_ARG sa, socklen_t *len, int flags)
{
    return listener_instead(fd, real_accept4()(fd, sa, len, flags));
}
