/* Breaks send()/write() on TCP: one bit of each call's data is flipped on
 * the way out (the middle byte), as by a stack with a bad copy. */
#include "shim.h"

SHIM_REAL(send_fn, send)
SHIM_REAL(write_fn, write)

/* At most this much is sent per call (a short send is legal), so the
 * corrupted copy fits a stack buffer. */
#define CHUNK 16384

static ssize_t corrupt_send(int fd, const void *buf, size_t len, int flags, int is_write)
{
    unsigned char copy[CHUNK];
    size_t n = len < CHUNK ? len : CHUNK;
    memcpy(copy, buf, n);
    copy[n / 2] ^= 0x20;
    return is_write ? real_write()(fd, copy, n) : real_send()(fd, copy, n, flags);
}

ssize_t send(int fd, const void *buf, size_t len, int flags)
{
    if (len == 0 || !buf || !shim_is_inet_stream(fd))
        return real_send()(fd, buf, len, flags);
    return corrupt_send(fd, buf, len, flags, 0);
}

ssize_t write(int fd, const void *buf, size_t len)
{
    if (len == 0 || !buf || !shim_is_inet_stream(fd))
        return real_write()(fd, buf, len);
    return corrupt_send(fd, buf, len, 0, 1);
}
