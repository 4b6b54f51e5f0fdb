/* Breaks recv()/read() on TCP: now and then one byte in the middle of what
 * was received is silently dropped, as by a stack that loses a byte when a
 * segment straddles its buffers. Later bytes shift, so a byte-exact check
 * notices at once. */
#include "shim.h"

SHIM_REAL(recv_fn, recv)
SHIM_REAL(read_fn, read)

/* One call in DROP_EVERY that returned at least 2 bytes loses one. */
#define DROP_EVERY 3
static unsigned long calls;

static ssize_t drop_one(int fd, void *buf, ssize_t n, int flags)
{
    if (n < 2 || (flags & (MSG_PEEK | MSG_TRUNC)) || !shim_is_inet_stream(fd))
        return n;
    if (__atomic_add_fetch(&calls, 1, __ATOMIC_RELAXED) % DROP_EVERY != 0)
        return n;
    unsigned char *p = buf;
    size_t mid = (size_t)n / 2;
    memmove(p + mid, p + mid + 1, (size_t)n - mid - 1);
    return n - 1;
}

ssize_t recv(int fd, void *buf, size_t len, int flags)
{
    return drop_one(fd, buf, real_recv()(fd, buf, len, flags), flags);
}

ssize_t read(int fd, void *buf, size_t len)
{
    return drop_one(fd, buf, real_read()(fd, buf, len), 0);
}
