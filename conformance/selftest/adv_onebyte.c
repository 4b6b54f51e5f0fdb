/* Legal but adversarial: send and recv on TCP move one byte per call, as
 * a stream socket may (POSIX send/recv return the count transferred; a
 * short count is not an error). Datagram sockets and MSG_WAITALL are left
 * whole, since those promise whole messages. Correct callers loop and
 * keep passing.
 *
 * One byte per call over an 8 MiB echo would take minutes, so each
 * socket moves its first ONEBYTE_BUDGET bytes per direction strictly one
 * at a time and afterwards every ONEBYTE_EVERY-th call is cut to one
 * byte; SOCKCHECK_SHIM_ONEBYTE_ALL=1 cuts every call. */
#include "shim.h"
#include <sys/uio.h>

#define ONEBYTE_BUDGET 4096
#define ONEBYTE_EVERY 4

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

enum { DIR_IN, DIR_OUT };
/* Bytes moved and calls made per descriptor and direction; reset when the
 * number is handed out again by socket() or accept(). */
static unsigned long moved[2][SHIM_MAX_FD];
static unsigned long calls[2][SHIM_MAX_FD];

static int all_calls(void)
{
    static int cached = -1;
    int v = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (v < 0) {
        const char *e = getenv("SOCKCHECK_SHIM_ONEBYTE_ALL");
        v = e && *e == '1';
        __atomic_store_n(&cached, v, __ATOMIC_RELAXED);
    }
    return v;
}

/* The length to pass down: 1 when this call is cut, else len. */
static size_t cut(int fd, int dir, size_t len, int flags)
{
    if (len <= 1 || fd < 0 || fd >= SHIM_MAX_FD || (flags & MSG_WAITALL) || !shim_is_inet_stream(fd))
        return len;
    unsigned long c = __atomic_fetch_add(&calls[dir][fd], 1, __ATOMIC_RELAXED);
    if (all_calls() || __atomic_load_n(&moved[dir][fd], __ATOMIC_RELAXED) < ONEBYTE_BUDGET || c % ONEBYTE_EVERY == 0)
        return 1;
    return len;
}

static ssize_t count(int fd, int dir, ssize_t n)
{
    if (n > 0 && fd >= 0 && fd < SHIM_MAX_FD)
        __atomic_add_fetch(&moved[dir][fd], (unsigned long)n, __ATOMIC_RELAXED);
    return n;
}

static int fresh(int fd)
{
    if (fd >= 0 && fd < SHIM_MAX_FD)
        for (int d = 0; d < 2; d++) {
            __atomic_store_n(&moved[d][fd], 0, __ATOMIC_RELAXED);
            __atomic_store_n(&calls[d][fd], 0, __ATOMIC_RELAXED);
        }
    return fd;
}

/* A copy of m whose data is at most the first byte of its first non-empty
 * iovec; *one receives that iovec. */
static struct msghdr one_byte_msg(const struct msghdr *m, struct iovec *one)
{
    struct msghdr c = *m;
    for (size_t i = 0; i < m->msg_iovlen; i++)
        if (m->msg_iov[i].iov_len > 0) {
            one->iov_base = m->msg_iov[i].iov_base;
            one->iov_len = 1;
            c.msg_iov = one;
            c.msg_iovlen = 1;
            break;
        }
    return c;
}

static size_t msg_len(const struct msghdr *m)
{
    size_t n = 0;
    for (size_t i = 0; m->msg_iov && i < m->msg_iovlen; i++)
        n += m->msg_iov[i].iov_len;
    return n;
}

ssize_t recv(int fd, void *buf, size_t len, int flags)
{
    return count(fd, DIR_IN, real_recv()(fd, buf, cut(fd, DIR_IN, len, flags), flags));
}

ssize_t read(int fd, void *buf, size_t len)
{
    return count(fd, DIR_IN, real_read()(fd, buf, cut(fd, DIR_IN, len, 0)));
}

ssize_t recvfrom(int fd, void *buf, size_t len, int flags, __SOCKADDR_ARG sa, socklen_t *salen)
{
    return count(fd, DIR_IN, real_recvfrom()(fd, buf, cut(fd, DIR_IN, len, flags), flags, sa, salen));
}

ssize_t recvmsg(int fd, struct msghdr *m, int flags)
{
    /* The msghdr is only looked at on TCP sockets, after the cheap tests,
     * so that invalid pointers reach the real call (EFAULT) untouched. */
    if (!m || (flags & MSG_WAITALL) || !shim_is_inet_stream(fd) || !m->msg_iov ||
        cut(fd, DIR_IN, msg_len(m), flags) != 1)
        return count(fd, DIR_IN, real_recvmsg()(fd, m, flags));
    struct iovec one;
    struct msghdr c = one_byte_msg(m, &one);
    ssize_t n = real_recvmsg()(fd, &c, flags);
    if (n >= 0) {
        /* Hand back what the kernel wrote into the copy's fields. */
        m->msg_namelen = c.msg_namelen;
        m->msg_controllen = c.msg_controllen;
        m->msg_flags = c.msg_flags;
    }
    return count(fd, DIR_IN, n);
}

ssize_t send(int fd, const void *buf, size_t len, int flags)
{
    return count(fd, DIR_OUT, real_send()(fd, buf, cut(fd, DIR_OUT, len, flags), flags));
}

ssize_t write(int fd, const void *buf, size_t len)
{
    return count(fd, DIR_OUT, real_write()(fd, buf, cut(fd, DIR_OUT, len, 0)));
}

ssize_t sendto(int fd, const void *buf, size_t len, int flags, __CONST_SOCKADDR_ARG sa, socklen_t salen)
{
    return count(fd, DIR_OUT, real_sendto()(fd, buf, cut(fd, DIR_OUT, len, flags), flags, sa, salen));
}

ssize_t sendmsg(int fd, const struct msghdr *m, int flags)
{
    if (!m || !shim_is_inet_stream(fd) || !m->msg_iov || cut(fd, DIR_OUT, msg_len(m), flags) != 1)
        return count(fd, DIR_OUT, real_sendmsg()(fd, m, flags));
    struct iovec one;
    struct msghdr c = one_byte_msg(m, &one);
    return count(fd, DIR_OUT, real_sendmsg()(fd, &c, flags));
}

int socket(int domain, int type, int protocol)
{
    return fresh(real_socket()(domain, type, protocol));
}

int accept(int fd, __SOCKADDR_ARG sa, socklen_t *len)
{
    return fresh(real_accept()(fd, sa, len));
}

int accept4(int fd, __SOCKADDR_ARG sa, socklen_t *len, int flags)
{
    return fresh(real_accept4()(fd, sa, len, flags));
}
