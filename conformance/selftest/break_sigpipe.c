/* Breaks send() on TCP: SIGPIPE is never raised (MSG_NOSIGNAL is forced),
 * although POSIX requires it with EPIPE unless MSG_NOSIGNAL is given
 * (SD-08, a gap row). */
#include "shim.h"

SHIM_REAL(send_fn, send)
SHIM_REAL(sendto_fn, sendto)
SHIM_REAL(sendmsg_fn, sendmsg)
SHIM_REAL(write_fn, write)

ssize_t send(int fd, const void *buf, size_t len, int flags)
{
    return real_send()(fd, buf, len, shim_is_inet_stream(fd) ? flags | MSG_NOSIGNAL : flags);
}

ssize_t sendto(int fd, const void *buf, size_t len, int flags, __CONST_SOCKADDR_ARG sa, socklen_t salen)
{
    return real_sendto()(fd, buf, len, shim_is_inet_stream(fd) ? flags | MSG_NOSIGNAL : flags, sa, salen);
}

ssize_t sendmsg(int fd, const struct msghdr *m, int flags)
{
    return real_sendmsg()(fd, m, shim_is_inet_stream(fd) ? flags | MSG_NOSIGNAL : flags);
}

ssize_t write(int fd, const void *buf, size_t len)
{
    if (shim_is_inet_stream(fd))
        return real_send()(fd, buf, len, MSG_NOSIGNAL);
    return real_write()(fd, buf, len);
}
