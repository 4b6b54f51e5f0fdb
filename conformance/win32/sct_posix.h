/* The POSIX socket names the suites use, over Winsock, for the Windows
 * build of the tests only (force-included there; see conformance/CMakeLists.txt).
 * Each call keeps Winsock's behaviour and only renames it: int descriptors,
 * -1 with errno (the library's mapping of WSAGetLastError) on failure. What
 * Windows does differently stays visible to the tests. */
#ifndef SCT_POSIX_H
#define SCT_POSIX_H

#ifndef _WIN32_WINNT
#define _WIN32_WINNT 0x0600
#endif
#include <winsock2.h>
#include <ws2tcpip.h>
#include <iphlpapi.h>
#include <errno.h>
#include <fcntl.h>
#include <io.h>
#include <stddef.h>
#include <sys/types.h>
#include <unistd.h>

/* windef.h's empty IN, OUT, far and near collide with ordinary names. */
#undef IN
#undef OUT
#undef far
#undef near

typedef ADDRESS_FAMILY sa_family_t;
typedef unsigned long nfds_t;

#ifndef SHUT_RD
#define SHUT_RD SD_RECEIVE
#define SHUT_WR SD_SEND
#define SHUT_RDWR SD_BOTH
#endif

/* Windows has no SIGPIPE to suppress. MSG_DONTWAIT is emulated: the call
 * is made with the socket non-blocking (ioctlsocket FIONBIO); the bit is
 * outside Winsock's. */
#define MSG_NOSIGNAL 0
#define MSG_DONTWAIT 0x40000000
/* Linux's value, for the suites of the in-memory network (which follows
 * Linux); Winsock itself rejects the flag. */
#define MSG_TRUNC 0x20
/* Names of the POSIX signal calls the EINTR tests use. Those tests skip
 * on Windows before any signal is sent (api_catch_signal, api_kicker_start
 * in conformance/api/common.c); the names only let them compile. */
#define SIGUSR1 10
#define SA_RESTART 0x10000000

/* Type flags of socket(), socketpair() and accept4(), Linux's values. */
#define SOCK_NONBLOCK 04000
#define SOCK_CLOEXEC 02000000

/* fcntl: O_NONBLOCK through ioctlsocket FIONBIO, FD_CLOEXEC through the
 * handle's inherit flag. */
#define F_GETFD 1
#define F_SETFD 2
#define F_GETFL 3
#define F_SETFL 4
#define FD_CLOEXEC 1
#define O_NONBLOCK 04000

/* No descriptor limit on Windows: getrlimit says unlimited, setrlimit fails
 * with ENOSYS. */
typedef unsigned long long rlim_t;
struct rlimit {
    rlim_t rlim_cur, rlim_max;
};
#define RLIMIT_NOFILE 7
#define RLIM_INFINITY (~(rlim_t)0)

int sct_socket(int domain, int type, int protocol);
int sct_socketpair(int domain, int type, int protocol, int sv[2]);
int sct_bind(int s, const struct sockaddr *sa, socklen_t len);
int sct_listen(int s, int backlog);
int sct_accept(int s, struct sockaddr *sa, socklen_t *len);
int sct_accept4(int s, struct sockaddr *sa, socklen_t *len, int flags);
int sct_connect(int s, const struct sockaddr *sa, socklen_t len);
ssize_t sct_send(int s, const void *buf, size_t len, int flags);
ssize_t sct_recv(int s, void *buf, size_t len, int flags);
ssize_t sct_sendto(int s, const void *buf, size_t len, int flags, const struct sockaddr *sa, socklen_t salen);
ssize_t sct_recvfrom(int s, void *buf, size_t len, int flags, struct sockaddr *sa, socklen_t *salen);
int sct_shutdown(int s, int how);
int sct_setsockopt(int s, int level, int name, const void *val, socklen_t len);
int sct_getsockopt(int s, int level, int name, void *val, socklen_t *len);
int sct_getsockname(int s, struct sockaddr *sa, socklen_t *len);
int sct_getpeername(int s, struct sockaddr *sa, socklen_t *len);
int sct_poll(struct pollfd *fds, nfds_t n, int timeout_ms);
int sct_close(int fd);
ssize_t sct_read(int fd, void *buf, size_t len);
ssize_t sct_write(int fd, const void *buf, size_t len);
int sct_pipe(int fds[2]);
int sct_fcntl(int fd, int cmd, ...);
/* FIONREAD and FIONBIO (Winsock's values of the names) through ioctlsocket,
 * with an int argument as on POSIX. */
int sct_ioctl(int fd, unsigned long request, ...);
char *sct_strerror(int err);
int sct_inet_pton(int af, const char *src, void *dst);
const char *sct_inet_ntop(int af, const void *src, char *dst, socklen_t size);
int getrlimit(int resource, struct rlimit *rl);
int setrlimit(int resource, const struct rlimit *rl);

/* Object-like, so that struct members of the same names (sc_sys_t's, the
 * server options' listen) are renamed alike in their declaration and their
 * uses, and a function designator names the wrapper too. Criterion expands
 * a suite name before it makes a string of it, so Test(bind, ...) is the
 * suite sct_bind in this build: conformance/CMakeLists.txt filters on that
 * name, and ci/windows reads the reports back as bind. */
#define socket sct_socket
#define socketpair sct_socketpair
#define bind sct_bind
#define listen sct_listen
#define accept sct_accept
#define connect sct_connect
#define send sct_send
#define recv sct_recv
#define sendto sct_sendto
#define recvfrom sct_recvfrom
#define shutdown sct_shutdown
#define close sct_close
#define accept4 sct_accept4
#define setsockopt sct_setsockopt
#define getsockopt sct_getsockopt
#define getsockname sct_getsockname
#define getpeername sct_getpeername
#define poll sct_poll
#define read sct_read
#define write sct_write
#define pipe sct_pipe
#define fcntl sct_fcntl
#define ioctl sct_ioctl
#define inet_pton sct_inet_pton
#define inet_ntop sct_inet_ntop
/* The C runtime has no text for the socket errno values (EADDRINUSE...):
 * they read as glibc words them, the library's table (net_win.c). */
#define strerror sct_strerror

#endif
