/* Breaks recvfrom()/recvmsg() on UDP: the datagram arrives but its source
 * address is not reported (*addrlen 0), so a server cannot reply (RF-01,
 * the UDP echo suite). */
#include "shim.h"

SHIM_REAL(recvfrom_fn, recvfrom)
SHIM_REAL(recvmsg_fn, recvmsg)

ssize_t recvfrom(int fd, void *buf, size_t len, int flags, __SOCKADDR_ARG sa, socklen_t *salen)
{
    ssize_t n = real_recvfrom()(fd, buf, len, flags, sa, salen);
    struct sockaddr *p = SHIM_SA(sa);
    if (n >= 0 && p && salen && shim_inet_type(fd) == SOCK_DGRAM) {
        memset(p, 0, *salen);
        *salen = 0;
    }
    return n;
}

ssize_t recvmsg(int fd, struct msghdr *m, int flags)
{
    ssize_t n = real_recvmsg()(fd, m, flags);
    if (n >= 0 && m && m->msg_name && !(flags & MSG_ERRQUEUE) && shim_inet_type(fd) == SOCK_DGRAM) {
        memset(m->msg_name, 0, m->msg_namelen);
        m->msg_namelen = 0;
    }
    return n;
}
