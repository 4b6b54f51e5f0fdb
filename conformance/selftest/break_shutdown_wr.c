/* Breaks shutdown(): SHUT_WR (and the write half of SHUT_RDWR) on a
 * connected inet socket does nothing but reports success, so the peer
 * never sees EOF and later sends still work (SH-04, SD-05, half-close in
 * the echo suite). */
#include "shim.h"

SHIM_REAL(shutdown_fn, shutdown)
SHIM_REAL(getpeername_fn, getpeername)

static int connected(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    int saved = errno;
    int ok = real_getpeername()(fd, (struct sockaddr *)&ss, &len) == 0;
    errno = saved;
    return ok;
}

int shutdown(int fd, int how)
{
    /* Sockets that are not connected keep the real errors (ENOTCONN). */
    if ((how != SHUT_WR && how != SHUT_RDWR) || !shim_inet_family(fd) || !connected(fd))
        return real_shutdown()(fd, how);
    if (how == SHUT_RDWR)
        return real_shutdown()(fd, SHUT_RD);
    return 0;
}
