/* The one place where sockcheck's public headers meet the platform: the
 * system socket headers and the socket handle type. Every other public
 * header includes this one and stays free of platform conditionals. */
#ifndef SOCKCHECK_PLATFORM_H
#define SOCKCHECK_PLATFORM_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#ifndef _WIN32_WINNT
#define _WIN32_WINNT 0x0600 /* WSAPoll and inet_pton need Vista. */
#endif
#include <winsock2.h>
#include <ws2tcpip.h>
#include <sys/types.h>
typedef int sc_socklen_t;
typedef WSAPOLLFD sc_pollfd_t;
/* POSIX names that Winsock spells differently (shutdown function; ws2def.h). */
typedef ADDRESS_FAMILY sa_family_t;
#ifndef SHUT_RD
#define SHUT_RD SD_RECEIVE
#define SHUT_WR SD_SEND
#define SHUT_RDWR SD_BOTH
#endif
#else
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <poll.h>
typedef socklen_t sc_socklen_t;
typedef struct pollfd sc_pollfd_t;
#endif

/* A socket handle. POSIX descriptors and Winsock SOCKET values both fit in
 * an intptr_t; SC_INVALID_SOCK is -1 on POSIX and INVALID_SOCKET (~0) on
 * Windows, which is -1 as an intptr_t too. */
typedef intptr_t sc_sock_t;
#define SC_INVALID_SOCK ((sc_sock_t)-1)

#endif
