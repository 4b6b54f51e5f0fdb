/* Process-wide network setup, closing, and error values and their text. */
#ifndef SOCKCHECK_NET_H
#define SOCKCHECK_NET_H

#include "sockcheck/platform.h"

#define SOCKCHECK_VERSION "0.1.0"

/* Errors of the library's own, beyond the errno range. Every function
 * returns a negative errno value or one of these. */
#define SC_EADDRFORMAT (-10001) /* text is not an address sockcheck reads */
#define SC_EPORTRANGE (-10002)  /* port missing, not a number, or > 65535 */
#define SC_EMISMATCH (-10003)   /* echoed bytes differ from those sent */
#define SC_EEOF (-10004)        /* peer closed before all bytes arrived */
#define SC_ETRUNCATED (-10005)  /* a datagram did not fit the buffer */
#define SC_ERESOLVE (-10006)    /* getaddrinfo found no usable address */
#define SC_EUSAGE (-10007)      /* an option or argument is invalid */

/* WSAStartup on Windows; nothing on POSIX. Safe to call more than once
 * (each call wants its sc_net_cleanup). */
int sc_net_init(void);
void sc_net_cleanup(void);

/* Closes a socket through the seam; SC_INVALID_SOCK is a no-op. */
int sc_close(sc_sock_t s);

/* The negative error value of the calling thread's last failed platform
 * call (errno, or WSAGetLastError mapped to errno values). */
int sc_last_error(void);

/* Text for any value the library returns (negative errno or SC_E*). */
const char *sc_strerror(int err);

#endif
