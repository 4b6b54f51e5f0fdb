/* Conformance of the address side of recvfrom()/recvmsg(): the source
 * address of UDP datagrams, its length and truncation, and what happens to
 * the address arguments on TCP (matrix rows RF-01..RF-04). */
#include "support.h"
#include "common.h"

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#if !defined(_WIN32)
#include <sys/uio.h>
#endif

/* Winsock has no recvmsg (WSARecvMsg is an extension function reached
 * through WSAIoctl, with WSAMSG): the recvmsg halves are POSIX only. A
 * negative or too short fromlen is "too small to accommodate the source
 * address", WSAEFAULT (recvfrom function, Return value). */
#if defined(_WIN32)
#define SHORT_FROMLEN_ERROR EFAULT
#else
#define SHORT_FROMLEN_ERROR EINVAL
#endif

static void wait_readable(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    cr_assert_eq(poll(&p, 1, SCT_TIMEOUT_MS), 1, "nothing to read after %d ms", SCT_TIMEOUT_MS);
}

/* A datagram from a to b, both bound to loopback; *from gets a's name. */
static void udp_sent(int family, int *a, int *b, sc_addr_t *from)
{
    sc_addr_t ba;
    *a = sct_bound(family, SOCK_DGRAM, from);
    *b = sct_bound(family, SOCK_DGRAM, &ba);
    cr_assert_eq(sendto(*a, "dgram", 5, 0, (struct sockaddr *)&ba.ss, ba.len), 5, "sendto: %s",
                 strerror(errno));
    wait_readable(*b);
}

/* A TCP pair with "abc" queued at *s. */
static void tcp_sent(int family, int *c, int *s)
{
    sct_tcp_pair(family, c, s);
    cr_assert_eq(send(*c, "abc", 3, 0), 3);
    wait_readable(*s);
}

ParameterizedTestParameters(recvfrom, udp_source_address_filled)
{
    return cr_make_param_array(int, api_families, 2);
}
ParameterizedTest(int *fam, recvfrom, udp_source_address_filled, .description = "RF-01", .timeout = 10)
{
    int a, b;
    sc_addr_t sender;
    udp_sent(*fam, &a, &b, &sender);
    struct sockaddr_storage from;
    memset(&from, 0xAA, sizeof(from));
    socklen_t len = sizeof(from);
    char buf[8];
    cr_assert_eq(recvfrom(b, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len), 5, "recvfrom: %s",
                 strerror(errno));
    cr_assert_eq(len, api_family_len(*fam), "*addrlen %u", (unsigned)len);
    cr_assert_eq(len, sender.len);
    cr_assert_arr_eq(&from, &sender.ss, len, "source address is not the sender's name");
#if !defined(_WIN32)
    /* The same through recvmsg. */
    sc_addr_t ba;
    ba.len = sizeof(ba.ss);
    cr_assert_eq(getsockname(b, (struct sockaddr *)&ba.ss, &ba.len), 0);
    cr_assert_eq(sendto(a, "again", 5, 0, (struct sockaddr *)&ba.ss, ba.len), 5);
    wait_readable(b);
    memset(&from, 0xAA, sizeof(from));
    struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
    struct msghdr m;
    memset(&m, 0, sizeof(m));
    m.msg_name = &from;
    m.msg_namelen = sizeof(from);
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    cr_assert_eq(recvmsg(b, &m, 0), 5, "recvmsg: %s", strerror(errno));
    cr_assert_eq(m.msg_namelen, api_family_len(*fam));
    cr_assert_arr_eq(&from, &sender.ss, m.msg_namelen);
#endif
    close(a);
    close(b);
}

/* POSIX recvfrom: "If address is a null pointer, the source address is
 * ignored"; addrlen may then be a null pointer too. */
Test(recvfrom, udp_null_address_arguments_allowed, .description = "RF-01", .timeout = 10)
{
    int a, b;
    sc_addr_t sender;
    udp_sent(AF_INET, &a, &b, &sender);
    char buf[8];
    cr_assert_eq(recvfrom(b, buf, sizeof(buf), 0, NULL, NULL), 5, "recvfrom: %s", strerror(errno));
    cr_assert_arr_eq(buf, "dgram", 5);
    close(a);
    close(b);
}

ParameterizedTestParameters(recvfrom, udp_short_address_buffer_truncated)
{
    return cr_make_param_array(int, api_families, 2);
}
/* POSIX recvfrom: "If the actual length of the address is greater than the
 * length of the supplied sockaddr structure, the stored address shall be
 * truncated"; Linux stores the full length in *addrlen. */
ParameterizedTest(int *fam, recvfrom, udp_short_address_buffer_truncated, .description = "RF-01",
                  .timeout = 10)
{
    int a, b;
    sc_addr_t sender;
    udp_sent(*fam, &a, &b, &sender);
    unsigned char from[sizeof(struct sockaddr_storage)];
    memset(from, 0xAA, sizeof(from));
    socklen_t len = 4;
    char buf[8];
#if defined(_WIN32)
    /* Winsock does not truncate: WSAEFAULT, "the fromlen parameter is too
     * small to accommodate the source address" (recvfrom function). */
    errno = 0;
    api_assert_fails((int)recvfrom(b, buf, sizeof(buf), 0, (struct sockaddr *)from, &len), EFAULT,
                     "recvfrom with fromlen 4");
    close(a);
    close(b);
    return;
#endif
    cr_assert_eq(recvfrom(b, buf, sizeof(buf), 0, (struct sockaddr *)from, &len), 5);
    cr_assert_eq(len, api_family_len(*fam), "*addrlen %u: not the full length", (unsigned)len);
    cr_assert_arr_eq(from, &sender.ss, 4);
    for (size_t i = 4; i < sizeof(from); i++)
        cr_assert_eq(from[i], 0xAA, "byte %zu written past the given length", i);
    close(a);
    close(b);
}

struct fam_flags {
    int family;
    int flags;
};
static struct fam_flags peek_params[] = {
    {AF_INET, 0}, {AF_INET, MSG_PEEK}, {AF_INET6, 0}, {AF_INET6, MSG_PEEK}};

ParameterizedTestParameters(recvfrom, tcp_address_untouched)
{
    return cr_make_param_array(struct fam_flags, peek_params, 4);
}
/* A connected stream socket reports no source: the buffer stays as it was
 * and Linux sets *addrlen to 0 (the kernel copies msg_namelen, which TCP
 * leaves at 0). */
ParameterizedTest(struct fam_flags *p, recvfrom, tcp_address_untouched, .description = "RF-02", .timeout = 10)
{
    int c, s;
    tcp_sent(p->family, &c, &s);
    struct sockaddr_storage from;
    memset(&from, 0, sizeof(from));
    socklen_t len = sizeof(from);
    char buf[8];
    cr_assert_eq(recvfrom(s, buf, sizeof(buf), p->flags, (struct sockaddr *)&from, &len), 3);
    cr_assert(api_all_zero(&from, sizeof(from)), "the address buffer was written");
#if defined(_WIN32)
    /* Winsock: "If the socket is connection oriented, the from and fromlen
     * parameters are ignored" (recvfrom function, Remarks). */
    cr_assert_eq(len, sizeof(from), "*fromlen %u", (unsigned)len);
#else
    cr_assert_eq(len, 0, "*addrlen %u", (unsigned)len);
    if (p->flags == 0) {
        cr_assert_eq(send(c, "abc", 3, 0), 3);
        wait_readable(s);
    }
    struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
    struct msghdr m;
    memset(&m, 0, sizeof(m));
    m.msg_name = &from;
    m.msg_namelen = sizeof(from);
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    cr_assert_eq(recvmsg(s, &m, p->flags), 3, "recvmsg: %s", strerror(errno));
    cr_assert(api_all_zero(&from, sizeof(from)), "recvmsg wrote msg_name");
    cr_assert_eq(m.msg_namelen, 0, "msg_namelen %u", (unsigned)m.msg_namelen);
#endif
    close(c);
    close(s);
}

ParameterizedTestParameters(recvfrom, tcp_bad_address_pointer_never_written)
{
    return cr_make_param_array(int, api_families, 2);
}
ParameterizedTest(int *fam, recvfrom, tcp_bad_address_pointer_never_written, .description = "RF-03",
                  .timeout = 10)
{
    int c, s;
    tcp_sent(*fam, &c, &s);
    socklen_t len = sizeof(struct sockaddr_storage);
    char buf[8];
    cr_assert_eq(recvfrom(s, buf, sizeof(buf), 0, (struct sockaddr *)-1, &len), 3, "recvfrom: %s",
                 strerror(errno));
    cr_assert_arr_eq(buf, "abc", 3);
    close(c);
    close(s);
}

ParameterizedTestParameters(recvfrom, einval_for_negative_address_length)
{
    return cr_make_param_array(int, api_families, 2);
}
/* recvfrom checks *addrlen only when it copies the address out, after the
 * data was received: Linux fails EINVAL and the bytes are gone
 * (__sys_recvfrom -> move_addr_to_user). recvmsg checks msg_namelen before
 * receiving and consumes nothing. */
ParameterizedTest(int *fam, recvfrom, einval_for_negative_address_length, .description = "RF-04",
                  .timeout = 10)
{
    int a, b;
    sc_addr_t sender;
    udp_sent(*fam, &a, &b, &sender);
    struct sockaddr_storage from;
    char buf[8];
#if !defined(_WIN32)
    struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf)};
    struct msghdr m;
    memset(&m, 0, sizeof(m));
    m.msg_name = &from;
    m.msg_namelen = (socklen_t)-1;
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    errno = 0;
    cr_assert_eq(recvmsg(b, &m, 0), -1);
    cr_assert_eq(errno, EINVAL, "recvmsg: errno %d (%s)", errno, strerror(errno));
#endif
    socklen_t len = (socklen_t)-1;
    errno = 0;
    cr_assert_eq(recvfrom(b, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len), -1);
    cr_assert_eq(errno, SHORT_FROMLEN_ERROR, "recvfrom: errno %d (%s)", errno, strerror(errno));
#if !defined(_WIN32)
    /* Linux has consumed the datagram; Windows documents nothing. */
    errno = 0;
    cr_assert_eq(recv(b, buf, sizeof(buf), MSG_DONTWAIT), -1, "the datagram is still queued");
    cr_assert(errno == EAGAIN || errno == EWOULDBLOCK, "errno %d (%s)", errno, strerror(errno));
#endif
    close(a);
    close(b);
    /* TCP, as in LTP recvfrom01. */
    int c, s;
    tcp_sent(*fam, &c, &s);
    len = (socklen_t)-1;
    errno = 0;
#if defined(_WIN32)
    /* Ignored on a connection-oriented socket (recvfrom function, Remarks). */
    cr_assert_eq(recvfrom(s, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len), 3, "TCP recvfrom: %s",
                 strerror(errno));
#else
    cr_assert_eq(recvfrom(s, buf, sizeof(buf), 0, (struct sockaddr *)&from, &len), -1);
    cr_assert_eq(errno, EINVAL, "TCP recvfrom: errno %d (%s)", errno, strerror(errno));
#endif
    close(c);
    close(s);
}
