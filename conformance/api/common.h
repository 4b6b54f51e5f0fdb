/* Helpers shared by the conformance/api suites: checked socket calls,
 * addresses, bounded waits, a private network namespace, the accept queue,
 * signals from a helper thread. Like support.h, they fail the current test
 * (cr_assert) rather than return errors, unless said otherwise. */
#ifndef SOCKCHECK_CONFORMANCE_API_COMMON_H
#define SOCKCHECK_CONFORMANCE_API_COMMON_H

#include "support.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>

/* Buffer size asked for with SO_SNDBUF/SO_RCVBUF where a test needs the
 * buffers small and fixed (autotuning off) so that they fill quickly. */
#define API_SMALL_BUF 16384

/* ---- Where Winsock documents another result (Windows build) ---- */

#if defined(_WIN32)
/* A descriptor that is no open socket: Winsock has no WSAEBADF for
 * sockets and says WSAENOTSOCK, "The descriptor is not a socket" (bind,
 * listen, getsockname... function, Return value). */
#define API_EBADF_SOCK ENOTSOCK
/* A non-blocking connect that has started: WSAEWOULDBLOCK (connect
 * function, Return value), which the suites see as EAGAIN. */
#define API_CONNECT_PENDING EAGAIN
/* A file that is no socket. */
#define API_NULL_DEVICE "NUL"
/* What poll shows for a peer's FIN: WSAPoll reports "a stream-oriented
 * connection was either disconnected or aborted" as POLLHUP, POLLRDNORM
 * or not (WSAPOLLFD structure). */
#define API_POLL_EOF (POLLIN | POLLHUP)
#else
#define API_EBADF_SOCK EBADF
#define API_CONNECT_PENDING EINPROGRESS
#define API_NULL_DEVICE "/dev/null"
#define API_POLL_EOF POLLIN
#endif

/* ---- Parameter tables ---- */

/* AF_INET, AF_INET6: the parameters of the tests run once per family. */
extern int api_families[2];

/* A family and a test-specific mode (or a socket type). */
struct api_fam_mode {
    int family;
    int mode;
};

/* Each family with mode 0 and 1. */
extern struct api_fam_mode api_fam2_params[4];
/* Each family with SOCK_STREAM and SOCK_DGRAM. */
extern struct api_fam_mode api_fam_types[4];

/* "AF_INET6" or "AF_INET". */
const char *api_fam_name(int family);
/* "TCP" for SOCK_STREAM, "UDP" otherwise. */
const char *api_type_name(int type);

/* ---- Sockets, options, names ---- */

/* socket(family, type, 0), skipping the test when the family is missing. */
int api_socket(int family, int type);

void api_set_int(int s, int level, int name, int value);
/* getsockopt of an int; *len_out (when not NULL) gets the returned optlen. */
int api_getsockopt_int(int s, int level, int name, socklen_t *len_out);
int api_get_int(int s, int level, int name);
int api_so_error(int s);

/* Sets or clears O_NONBLOCK. */
void api_set_nonblock(int s, int on);

/* getsockname / getpeername into an sc_addr_t. */
sc_addr_t api_name_of(int s);
sc_addr_t api_peer_of(int s);
uint16_t api_port_of(const sc_addr_t *a);
/* Same length and same bytes. */
int api_same_name(const sc_addr_t *a, const sc_addr_t *b);
/* sizeof(struct sockaddr_in6) or sizeof(struct sockaddr_in). */
socklen_t api_family_len(int family);

/* bind() and connect() to an sc_addr_t, returning what the call returned. */
int api_bind_addr(int s, const sc_addr_t *a);
int api_connect_addr(int s, const sc_addr_t *a);

/* ---- Bounded waits ---- */

/* Milliseconds of CLOCK_MONOTONIC. */
double api_now_ms(void);

/* poll() on fd for events; returns revents, 0 on timeout. Retried while
 * poll fails with EINTR. */
int api_wait_events(int fd, short events, int ms);
/* One poll() on fd for events; returns revents, 0 on timeout. Fails the
 * test on any poll error, EINTR included. */
short api_poll_once(int fd, short events, int timeout_ms);

/* Waits (bounded) until n bytes are queued for reading on fd (FIONREAD). */
void api_wait_inq(int fd, int n);

/* Waits until thread tid sits in system call nr with first argument fd
 * (/proc/self/task/TID/syscall). Returns 1 when seen, 0 when /proc cannot
 * tell. */
int api_wait_blocked_in(pid_t tid, long nr, int fd);

/* ---- Connections ---- */

/* A blocking TCP connect to a; returns the connected socket. */
int api_tcp_connect(const sc_addr_t *a);
/* Starts a non-blocking TCP connect to a (EINPROGRESS, Winsock's
 * WSAEWOULDBLOCK); returns the socket. */
int api_tcp_connect_nb(const sc_addr_t *a);
/* Waits for a connection on listener l and accepts it. */
int api_accept_one(int l);
/* Checks that the listener l (bound to a) still accepts a connection. */
void api_assert_accepts(int l, const sc_addr_t *a);

/* A connected TCP pair over loopback whose buffers are fixed small before
 * the connection exists (the receive window is chosen at SYN time), so that
 * a writer that nobody reads from fills both ends quickly. With all_bufs,
 * both SO_RCVBUF and SO_SNDBUF of both ends are set; otherwise only the
 * listener's SO_RCVBUF and the client's SO_SNDBUF. */
void api_tcp_pair_small(int family, int all_bufs, int *client, int *server);

/* Two UDP sockets on loopback, each connected to the other; *b_addr (when
 * not NULL) gets b's name. */
void api_udp_pair(int family, int *a, int *b, sc_addr_t *b_addr);

/* A socket of type bound to loopback with an explicit port number (taken
 * from a probe bound to port 0 and closed; retried if it is taken
 * meanwhile). With reuse, SO_REUSEADDR is set first. Unlike a port-0 bind,
 * a port bound by number stays bound when a listener on it is shut down. */
int api_bound_explicit(int family, int type, int reuse, sc_addr_t *out);

/* ---- Listen queue (Linux TCP_INFO) ---- */

/* The accept queue of a listener as Linux reports it in TCP_INFO:
 * tcpi_unacked is the number of queued connections, tcpi_sacked the
 * backlog limit (net/ipv4/tcp.c tcp_get_info for TCP_LISTEN). */
void api_listen_queue(int l, unsigned *queued, unsigned *limit);
/* Waits (bounded) until the listener has n queued connections. */
void api_wait_queued(int l, unsigned n);
/* A listener with backlog 0 whose queue is full: one connection (*filler,
 * the client side) has completed and waits to be accepted, so the SYN of
 * any further connect is dropped and that connect stays in SYN_SENT. */
int api_full_listener(int family, sc_addr_t *a, int *filler);

/* ---- Assertions ---- */

/* rc is -1 and errno is err. */
void api_assert_fails(int rc, int err, const char *what);
/* n is -1 and errno is EAGAIN or EWOULDBLOCK. */
void api_assert_eagain(ssize_t n, const char *what);
/* Nothing is queued for reading on fd (a non-blocking recv gets EAGAIN). */
void api_assert_nothing_queued(int fd);
/* All n bytes at p are zero. */
int api_all_zero(const void *p, size_t n);

/* ---- Data ---- */

/* The byte at offset i of every stream a test sends, so that the receiver
 * can check each byte's place, not only the count. */
unsigned char api_pattern(size_t i);

/* ---- Processes, namespaces, /proc ---- */

/* Moves this test process into a private network namespace with lo up, so
 * that a wildcard address (0.0.0.0, ::) can be bound without exposing a
 * port on the machine's interfaces. Skips when no namespace can be made. */
void api_enter_private_netns(void);

/* Runs fn(arg) in a forked child without root (uid/gid 65534) and returns
 * its exit status (an errno value or 0); skips when root cannot be
 * dropped. When the test does not run as root, fn runs in a child as is. */
int api_run_unprivileged(int (*fn)(int), int arg);

/* A number read from a /proc file, or dflt when it cannot be read. */
long api_read_proc(const char *path, long dflt);

/* The highest descriptor number open in this process, or -1. */
int api_max_open_fd(void);

/* ---- Signals ---- */

/* How many times the handler of api_catch_signal ran. */
extern volatile sig_atomic_t api_signal_count;

/* Installs a handler for sig that counts in api_signal_count (reset to 0),
 * with sa_flags flags (0: no SA_RESTART). */
void api_catch_signal(int sig, int flags);

/* A helper thread that sends SIGUSR1 to the thread that started it every
 * interval_ms, at most max times, until stopped, so that one signal lands
 * while that thread sleeps in a call whatever the scheduling. */
struct api_kicker {
    pthread_t target;
    pthread_t thread;
    int interval_ms;
    int max;
    atomic_int stop;
};

void api_kicker_start(struct api_kicker *k, int interval_ms, int max);
/* Stops the thread and joins it. */
void api_kicker_stop(struct api_kicker *k);

/* A page of this process that every access faults on, for the EFAULT rows:
 * mmap PROT_NONE, or on Windows VirtualAlloc PAGE_NOACCESS (a reserved,
 * inaccessible page stands for PROT_NONE). Fails the test when it cannot. */
void *api_noaccess_page(void);
void api_noaccess_free(void *page);

#endif
