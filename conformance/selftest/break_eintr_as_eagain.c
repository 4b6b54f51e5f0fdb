/* Breaks the EINTR promise of blocking calls: an interrupted recv, send,
 * accept or connect on an inet socket fails EAGAIN instead of EINTR, as in
 * a port that maps WSAEINTR to EWOULDBLOCK (the EINTR gap rows, CT-24). */
#include "shim.h"

SHIM_REAL(recv_fn, recv)
SHIM_REAL(send_fn, send)
SHIM_REAL(accept_fn, accept)
SHIM_REAL(accept4_fn, accept4)
SHIM_REAL(connect_fn, connect)

static long remap(int fd, long rc)
{
    if (rc == -1 && errno == EINTR && shim_inet_family(fd))
        errno = EAGAIN;
    return rc;
}

ssize_t recv(int fd, void *buf, size_t len, int flags)
{
    return remap(fd, real_recv()(fd, buf, len, flags));
}

ssize_t send(int fd, const void *buf, size_t len, int flags)
{
    return remap(fd, real_send()(fd, buf, len, flags));
}

int accept(int fd, __SOCKADDR_ARG sa, socklen_t *len)
{
    return (int)remap(fd, real_accept()(fd, sa, len));
}

int accept4(int fd, __SOCKADDR_ARG sa, socklen_t *len, int flags)
{
    return (int)remap(fd, real_accept4()(fd, sa, len, flags));
}

int connect(int fd, __CONST_SOCKADDR_ARG sa, socklen_t len)
{
    return (int)remap(fd, real_connect()(fd, sa, len));
}
