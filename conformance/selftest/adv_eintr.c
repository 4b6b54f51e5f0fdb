/* Legal but adversarial: the first blocking recv, send, accept and connect
 * on each inet socket fails -1 EINTR before anything happens, as when a
 * signal arrives just as the call starts (POSIX: EINTR "interrupted by a
 * signal ... before any data was transferred"). Correct callers retry.
 *
 * connect is interrupted only before the real call is made: POSIX says an
 * interrupted connect continues in the background, so after a real
 * connect has started an EINTR would promise something that is not
 * happening. Non-blocking calls (O_NONBLOCK, MSG_DONTWAIT) are never
 * interrupted: they do not wait. */
#include "shim.h"

SHIM_REAL(recv_fn, recv)
SHIM_REAL(read_fn, read)
SHIM_REAL(recvfrom_fn, recvfrom)
SHIM_REAL(recvmsg_fn, recvmsg)
SHIM_REAL(send_fn, send)
SHIM_REAL(write_fn, write)
SHIM_REAL(sendto_fn, sendto)
SHIM_REAL(sendmsg_fn, sendmsg)
SHIM_REAL(socket_fn, socket)
SHIM_REAL(accept_fn, accept)
SHIM_REAL(accept4_fn, accept4)
SHIM_REAL(connect_fn, connect)

enum { OP_RECV = 1, OP_SEND = 2, OP_ACCEPT = 4, OP_CONNECT = 8 };
/* The operations already interrupted once on each descriptor; cleared when
 * the number is handed out again by socket() or accept(). */
static unsigned char done[SHIM_MAX_FD];

/* True (errno EINTR) when this call is the first blocking op on fd. Only
 * calls that can sleep are interrupted: any receive on an empty socket,
 * accept, and the send and connect of TCP (a UDP send or connect does not
 * wait for the network, so Linux never interrupts it). */
static int interrupt(int fd, int op, int flags)
{
    if (fd < 0 || fd >= SHIM_MAX_FD || (__atomic_load_n(&done[fd], __ATOMIC_RELAXED) & op))
        return 0;
    int type = shim_inet_type(fd);
    if (!type || !shim_may_block(fd, flags))
        return 0;
    if ((op == OP_SEND || op == OP_CONNECT || op == OP_ACCEPT) && type != SOCK_STREAM)
        return 0;
    if (__atomic_fetch_or(&done[fd], (unsigned char)op, __ATOMIC_RELAXED) & op)
        return 0;
    errno = EINTR;
    return 1;
}

static int fresh(int fd)
{
    if (fd >= 0 && fd < SHIM_MAX_FD)
        __atomic_store_n(&done[fd], 0, __ATOMIC_RELAXED);
    return fd;
}

ssize_t recv(int fd, void *buf, size_t len, int flags)
{
    return interrupt(fd, OP_RECV, flags) ? -1 : real_recv()(fd, buf, len, flags);
}

ssize_t read(int fd, void *buf, size_t len)
{
    return interrupt(fd, OP_RECV, 0) ? -1 : real_read()(fd, buf, len);
}

ssize_t recvfrom(int fd, void *buf, size_t len, int flags, __SOCKADDR_ARG sa, socklen_t *salen)
{
    return interrupt(fd, OP_RECV, flags) ? -1 : real_recvfrom()(fd, buf, len, flags, sa, salen);
}

ssize_t recvmsg(int fd, struct msghdr *m, int flags)
{
    return interrupt(fd, OP_RECV, flags) ? -1 : real_recvmsg()(fd, m, flags);
}

ssize_t send(int fd, const void *buf, size_t len, int flags)
{
    return interrupt(fd, OP_SEND, flags) ? -1 : real_send()(fd, buf, len, flags);
}

ssize_t write(int fd, const void *buf, size_t len)
{
    return interrupt(fd, OP_SEND, 0) ? -1 : real_write()(fd, buf, len);
}

ssize_t sendto(int fd, const void *buf, size_t len, int flags, __CONST_SOCKADDR_ARG sa, socklen_t salen)
{
    return interrupt(fd, OP_SEND, flags) ? -1 : real_sendto()(fd, buf, len, flags, sa, salen);
}

ssize_t sendmsg(int fd, const struct msghdr *m, int flags)
{
    return interrupt(fd, OP_SEND, flags) ? -1 : real_sendmsg()(fd, m, flags);
}

int socket(int domain, int type, int protocol)
{
    return fresh(real_socket()(domain, type, protocol));
}

int accept(int fd, __SOCKADDR_ARG sa, socklen_t *len)
{
    return interrupt(fd, OP_ACCEPT, 0) ? -1 : fresh(real_accept()(fd, sa, len));
}

int accept4(int fd, __SOCKADDR_ARG sa, socklen_t *len, int flags)
{
    return interrupt(fd, OP_ACCEPT, 0) ? -1 : fresh(real_accept4()(fd, sa, len, flags));
}

int connect(int fd, __CONST_SOCKADDR_ARG sa, socklen_t len)
{
    return interrupt(fd, OP_CONNECT, 0) ? -1 : real_connect()(fd, sa, len);
}
