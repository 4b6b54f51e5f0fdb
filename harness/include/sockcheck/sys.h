/* The syscall seam: every socket call the library makes goes through a
 * table of function pointers, so that tests and fuzz targets can inject
 * faults or replace the network with an in-memory one. */
#ifndef SOCKCHECK_SYS_H
#define SOCKCHECK_SYS_H

#include "sockcheck/platform.h"

/* Flags for socket(), socketpair() and accept() in the seam: the platform
 * table applies them atomically where it can (SOCK_NONBLOCK, accept4). */
#define SC_NONBLOCK 0x1
#define SC_CLOEXEC 0x2

/* Readiness bits of the event interface; the same values as poll(2). */
#define SC_EV_IN 0x001
#define SC_EV_OUT 0x004
#define SC_EV_ERR 0x008
#define SC_EV_HUP 0x010

/* Operations of sc_sys_t.ev_ctl. */
#define SC_EV_ADD 1
#define SC_EV_DEL 2
#define SC_EV_MOD 3

typedef struct sc_event {
    uint32_t events;
    uint64_t data;
} sc_event_t;

/* One datagram of a batch (sc_sys_t.recv_batch and send_batch). */
typedef struct sc_dgram {
    void *buf;
    size_t cap;                   /* recv: room at buf */
    size_t len;                   /* recv: the datagram's length, more than cap when it
                                     was cut; send: the bytes to send */
    struct sockaddr_storage addr; /* recv: the source; send: the destination */
    sc_socklen_t addrlen;
} sc_dgram_t;

/* Each operation returns a value >= 0 on success and a negative errno value
 * on failure (-EINTR, -EAGAIN, ...); errno itself is never the channel.
 * ctx is the table's own pointer, handed back on every call.
 *
 * ev_create, ev_ctl and ev_wait are the optional scalable readiness
 * interface (epoll on Linux). A table may leave them NULL, or make
 * ev_create fail with -ENOSYS: the library then falls back to poll. */
typedef struct sc_sys {
    void *ctx;
    sc_sock_t (*socket)(void *ctx, int domain, int type, int protocol, int flags);
    int (*socketpair)(void *ctx, int type, int flags, sc_sock_t sv[2]);
    int (*bind)(void *ctx, sc_sock_t s, const struct sockaddr *sa, sc_socklen_t len);
    int (*listen)(void *ctx, sc_sock_t s, int backlog);
    sc_sock_t (*accept)(void *ctx, sc_sock_t s, struct sockaddr *sa, sc_socklen_t *len, int flags);
    int (*connect)(void *ctx, sc_sock_t s, const struct sockaddr *sa, sc_socklen_t len);
    ptrdiff_t (*send)(void *ctx, sc_sock_t s, const void *buf, size_t len, int flags);
    ptrdiff_t (*recv)(void *ctx, sc_sock_t s, void *buf, size_t len, int flags);
    ptrdiff_t (*sendto)(void *ctx, sc_sock_t s, const void *buf, size_t len, int flags,
                        const struct sockaddr *sa, sc_socklen_t salen);
    ptrdiff_t (*recvfrom)(void *ctx, sc_sock_t s, void *buf, size_t len, int flags,
                          struct sockaddr *sa, sc_socklen_t *salen);
    int (*shutdown)(void *ctx, sc_sock_t s, int how);
    int (*close)(void *ctx, sc_sock_t s);
    int (*poll)(void *ctx, sc_pollfd_t *fds, size_t n, int timeout_ms);
    int (*setsockopt)(void *ctx, sc_sock_t s, int level, int name, const void *val, sc_socklen_t len);
    int (*getsockopt)(void *ctx, sc_sock_t s, int level, int name, void *val, sc_socklen_t *len);
    int (*getsockname)(void *ctx, sc_sock_t s, struct sockaddr *sa, sc_socklen_t *len);
    int (*getpeername)(void *ctx, sc_sock_t s, struct sockaddr *sa, sc_socklen_t *len);
    int (*set_nonblock)(void *ctx, sc_sock_t s, int on); /* fcntl / ioctlsocket */
    int (*ev_create)(void *ctx);
    int (*ev_ctl)(void *ctx, int ep, int op, sc_sock_t s, uint32_t events, uint64_t data);
    int (*ev_wait)(void *ctx, int ep, sc_event_t *evs, int max, int timeout_ms);
    /* Optional: the clock of the server's timers (idle timeout, drain
     * deadline, accept backoff, UDP rate), monotonic milliseconds. NULL:
     * the real clock, sc_now_ms(). An in-memory network gives its virtual
     * time here, so that a timer fires after its turns, not after seconds. */
    int64_t (*now_ms)(void *ctx);
    /* Optional, both or neither: datagram batches (recvmmsg and sendmmsg on
     * Linux). recv_batch fills up to n entries with what is queued and
     * returns how many (on a non-blocking socket -EAGAIN when none is);
     * send_batch sends the entries in order and returns how many went out,
     * or the error of the first one. NULL: one recvfrom / sendto each. */
    int (*recv_batch)(void *ctx, sc_sock_t s, sc_dgram_t *v, int n, int flags);
    int (*send_batch)(void *ctx, sc_sock_t s, const sc_dgram_t *v, int n, int flags);
} sc_sys_t;

/* The platform's own table (libc on POSIX, Winsock on Windows). Its send
 * never raises SIGPIPE (MSG_NOSIGNAL); a broken pipe is -EPIPE. */
const sc_sys_t *sc_sys_platform(void);

/* The table the library uses from now on; NULL restores the platform's.
 * Returns the table that was in use. Objects created earlier (servers,
 * clients) keep the table they were created with. */
const sc_sys_t *sc_sys_install(const sc_sys_t *sys);

/* The table in use. */
const sc_sys_t *sc_sys_current(void);

#endif
