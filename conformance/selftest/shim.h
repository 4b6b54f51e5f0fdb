/* Shared by the selftest shims: the real libc calls (dlsym RTLD_NEXT) and
 * the tests that confine a shim to AF_INET/AF_INET6 sockets, so that
 * Criterion's own AF_UNIX sockets, pipes and epoll sets are never touched. */
#ifndef SOCKCHECK_SELFTEST_SHIM_H
#define SOCKCHECK_SELFTEST_SHIM_H

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

/* glibc declares the sockaddr arguments of bind, connect, accept,
 * getsockname, sendto, recvfrom... as transparent unions under _GNU_SOURCE
 * (__SOCKADDR_ARG), and ISO C wants a replacement declared the same way.
 * SHIM_SA gives the plain struct sockaddr pointer of such an argument. */
#if defined(__USE_GNU) && defined(__GNUC__) && !defined(__cplusplus)
#define SHIM_SA(a) ((a).__sockaddr__)
#else
#define SHIM_SA(a) (a)
#endif

/* Descriptors above this are left alone by shims that keep per-fd state. */
#define SHIM_MAX_FD 65536

/* Resolves the next definition of name (libc, or the ASan interceptor in a
 * sanitizer build) once; the slot is shared by all threads. A symbol that
 * cannot be found is fatal: a shim that silently did nothing would make
 * the selftest meaningless. */
static inline void *shim_sym(void **slot, const char *name)
{
    void *p = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
    if (!p) {
        p = dlsym(RTLD_NEXT, name);
        if (!p)
            abort();
        __atomic_store_n(slot, p, __ATOMIC_RELEASE);
    }
    return p;
}

/* Declares real_NAME(), which returns the next definition of NAME as a
 * pointer of type TYPE (memcpy because ISO C has no object-to-function
 * pointer conversion). */
#define SHIM_REAL(type, name)                                                                                          \
    static type real_##name(void)                                                                                      \
    {                                                                                                                  \
        static void *slot;                                                                                             \
        void *p = shim_sym(&slot, #name);                                                                              \
        type f;                                                                                                        \
        memcpy(&f, &p, sizeof(f));                                                                                     \
        return f;                                                                                                      \
    }

/* The types of the calls the shims replace, for SHIM_REAL. */
typedef int (*accept_fn)(int, __SOCKADDR_ARG, socklen_t *);
typedef int (*accept4_fn)(int, __SOCKADDR_ARG, socklen_t *, int);
typedef int (*bind_fn)(int, __CONST_SOCKADDR_ARG, socklen_t);
typedef int (*close_fn)(int);
typedef int (*connect_fn)(int, __CONST_SOCKADDR_ARG, socklen_t);
typedef void (*freeaddrinfo_fn)(struct addrinfo *);
typedef int (*getaddrinfo_fn)(const char *, const char *, const struct addrinfo *, struct addrinfo **);
/* getpeername: called through a plain pointer (the transparent union has the same ABI). */
typedef int (*getpeername_fn)(int, struct sockaddr *, socklen_t *);
typedef int (*getsockname_fn)(int, __SOCKADDR_ARG, socklen_t *);
typedef int (*getsockopt_fn)(int, int, int, void *, socklen_t *);
typedef int (*listen_fn)(int, int);
typedef ssize_t (*read_fn)(int, void *, size_t);
typedef ssize_t (*recv_fn)(int, void *, size_t, int);
typedef ssize_t (*recvfrom_fn)(int, void *, size_t, int, __SOCKADDR_ARG, socklen_t *);
typedef ssize_t (*recvmsg_fn)(int, struct msghdr *, int);
typedef ssize_t (*send_fn)(int, const void *, size_t, int);
typedef ssize_t (*sendmsg_fn)(int, const struct msghdr *, int);
typedef ssize_t (*sendto_fn)(int, const void *, size_t, int, __CONST_SOCKADDR_ARG, socklen_t);
typedef int (*shutdown_fn)(int, int);
typedef int (*socket_fn)(int, int, int);
typedef ssize_t (*write_fn)(int, const void *, size_t);

/* Called through a plain pointer: the transparent union has the same ABI. */
typedef int (*shim_getsockname_fn)(int, struct sockaddr *, socklen_t *);
typedef int (*shim_getsockopt_fn)(int, int, int, void *, socklen_t *);

/* The address family of fd when it is an AF_INET or AF_INET6 socket, else
 * 0. errno is preserved: the caller's errno must look untouched. */
static inline int shim_inet_family(int fd)
{
    static void *slot;
    void *p = shim_sym(&slot, "getsockname");
    shim_getsockname_fn f;
    memcpy(&f, &p, sizeof(f));
    int saved = errno;
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    int fam = 0;
    if (fd >= 0 && f(fd, (struct sockaddr *)&ss, &len) == 0 && (ss.ss_family == AF_INET || ss.ss_family == AF_INET6))
        fam = ss.ss_family;
    errno = saved;
    return fam;
}

/* SO_TYPE of an inet socket (SOCK_STREAM, SOCK_DGRAM...), else 0. */
static inline int shim_inet_type(int fd)
{
    if (!shim_inet_family(fd))
        return 0;
    static void *slot;
    void *p = shim_sym(&slot, "getsockopt");
    shim_getsockopt_fn f;
    memcpy(&f, &p, sizeof(f));
    int saved = errno, type = 0;
    socklen_t len = sizeof(type);
    if (f(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0)
        type = 0;
    errno = saved;
    return type;
}

static inline int shim_is_inet_stream(int fd)
{
    return shim_inet_type(fd) == SOCK_STREAM;
}

/* True when a call on fd with these MSG_* flags may block. */
static inline int shim_may_block(int fd, int flags)
{
    int saved = errno;
    int fl = fcntl(fd, F_GETFL);
    errno = saved;
    return fl >= 0 && !(fl & O_NONBLOCK) && !(flags & MSG_DONTWAIT);
}

#endif
