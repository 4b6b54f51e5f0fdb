/* Winsock setup and cleanup, and Winsock error codes as the library's
 * negative errno values with their text (net.c holds the POSIX side). */
#include "sockcheck/net.h"
#include "internal.h"

#if defined(_WIN32)
#include <errno.h>
#include <stddef.h>

int sc__wsa_error(int wsa);
const char *sc__win_strerror(int err);

/* Winsock codes and the errno value each means (winerror.h "Windows
 * Sockets Error Codes"). A code with no errno equivalent stays itself,
 * negated: those values (10004 and up, 11001 and up) lie outside both
 * the errno range and the library's own SC_E* values (10001 to 10007,
 * which Winsock does not use). */
static const struct {
    int wsa;
    int err;
} wsa_map[] = {
    {WSAEINTR, EINTR},
    {WSAEBADF, EBADF},
    {WSAEACCES, EACCES},
    {WSAEFAULT, EFAULT},
    {WSAEINVAL, EINVAL},
    {WSAEMFILE, EMFILE},
    {WSAEWOULDBLOCK, EAGAIN},
    {WSAEINPROGRESS, EINPROGRESS},
    {WSAEALREADY, EALREADY},
    {WSAENOTSOCK, ENOTSOCK},
    {WSAEDESTADDRREQ, EDESTADDRREQ},
    {WSAEMSGSIZE, EMSGSIZE},
    {WSAEPROTOTYPE, EPROTOTYPE},
    {WSAENOPROTOOPT, ENOPROTOOPT},
    {WSAEPROTONOSUPPORT, EPROTONOSUPPORT},
    {WSAEOPNOTSUPP, EOPNOTSUPP},
    {WSAEAFNOSUPPORT, EAFNOSUPPORT},
    {WSAEADDRINUSE, EADDRINUSE},
    {WSAEADDRNOTAVAIL, EADDRNOTAVAIL},
    {WSAENETDOWN, ENETDOWN},
    {WSAENETUNREACH, ENETUNREACH},
    {WSAENETRESET, ENETRESET},
    {WSAECONNABORTED, ECONNABORTED},
    {WSAECONNRESET, ECONNRESET},
    {WSAENOBUFS, ENOBUFS},
    {WSAEISCONN, EISCONN},
    {WSAENOTCONN, ENOTCONN},
    {WSAETIMEDOUT, ETIMEDOUT},
    {WSAECONNREFUSED, ECONNREFUSED},
    {WSAELOOP, ELOOP},
    {WSAENAMETOOLONG, ENAMETOOLONG},
    {WSAEHOSTUNREACH, EHOSTUNREACH},
    {WSAENOTEMPTY, ENOTEMPTY},
    {WSA_INVALID_HANDLE, EBADF},
    {WSA_INVALID_PARAMETER, EINVAL},
    {WSA_NOT_ENOUGH_MEMORY, ENOMEM},
    {WSA_OPERATION_ABORTED, ECANCELED},
    {WSAECANCELLED, ECANCELED},
    {WSAEREFUSED, ECONNREFUSED},
};

int sc__wsa_error(int wsa)
{
    if (wsa == 0)
        return -EIO; /* a failure that left no code: still a failure */
    for (size_t i = 0; i < SC__ARRAY_LEN(wsa_map); i++)
        if (wsa_map[i].wsa == wsa)
            return -wsa_map[i].err;
    return wsa > 0 ? -wsa : wsa;
}

/* Text for the errno values that the C runtime (msvcrt) does not know,
 * worded as glibc words them, so that messages read the same on every
 * platform; and for the Winsock codes that have no errno value. */
static const struct {
    int err;
    const char *text;
} texts[] = {
    {EAGAIN, "Resource temporarily unavailable"},
    {EINTR, "Interrupted system call"},
    {EBADF, "Bad file descriptor"},
    {EPIPE, "Broken pipe"},
    {EADDRINUSE, "Address already in use"},
    {EADDRNOTAVAIL, "Cannot assign requested address"},
    {EAFNOSUPPORT, "Address family not supported by protocol"},
    {EALREADY, "Operation already in progress"},
    {ECANCELED, "Operation canceled"},
    {ECONNABORTED, "Software caused connection abort"},
    {ECONNREFUSED, "Connection refused"},
    {ECONNRESET, "Connection reset by peer"},
    {EDESTADDRREQ, "Destination address required"},
    {EHOSTUNREACH, "No route to host"},
    {EINPROGRESS, "Operation now in progress"},
    {EISCONN, "Transport endpoint is already connected"},
    {ELOOP, "Too many levels of symbolic links"},
    {EMSGSIZE, "Message too long"},
    {ENETDOWN, "Network is down"},
    {ENETRESET, "Network dropped connection on reset"},
    {ENETUNREACH, "Network is unreachable"},
    {ENOBUFS, "No buffer space available"},
    {ENOPROTOOPT, "Protocol not available"},
    {ENOTCONN, "Transport endpoint is not connected"},
    {ENOTSOCK, "Socket operation on non-socket"},
    {ENOTSUP, "Operation not supported"},
    {EOPNOTSUPP, "Operation not supported"},
    {EOVERFLOW, "Value too large for defined data type"},
    {EPROTO, "Protocol error"},
    {EPROTONOSUPPORT, "Protocol not supported"},
    {EPROTOTYPE, "Protocol wrong type for socket"},
    {ETIMEDOUT, "Connection timed out"},
    {EWOULDBLOCK, "Resource temporarily unavailable"},
    {WSAESHUTDOWN, "Cannot send after transport endpoint shutdown"},
    {WSAETOOMANYREFS, "Too many references"},
    {WSAEHOSTDOWN, "Host is down"},
    {WSAESOCKTNOSUPPORT, "Socket type not supported"},
    {WSAEPFNOSUPPORT, "Protocol family not supported"},
    {WSAEPROCLIM, "Too many processes use Winsock"},
    {WSAEUSERS, "Too many users"},
    {WSAEDQUOT, "Disk quota exceeded"},
    {WSAESTALE, "Stale socket handle"},
    {WSAEREMOTE, "Object is remote"},
    {WSASYSNOTREADY, "Network subsystem is unavailable (WSASYSNOTREADY)"},
    {WSAVERNOTSUPPORTED, "Winsock 2.2 is not supported by this system (WSAVERNOTSUPPORTED)"},
    {WSANOTINITIALISED, "Winsock is not initialised: call sc_net_init (WSAStartup) first"},
    {WSAEDISCON, "Peer is closing the connection gracefully (WSAEDISCON)"},
    {WSAHOST_NOT_FOUND, "Host not found"},
    {WSATRY_AGAIN, "Temporary failure in name resolution"},
    {WSANO_RECOVERY, "Non-recoverable failure in name resolution"},
    {WSANO_DATA, "No address associated with name"},
};

const char *sc__win_strerror(int err)
{
    int e = err < 0 ? -err : err;
    for (size_t i = 0; i < SC__ARRAY_LEN(texts); i++)
        if (texts[i].err == e)
            return texts[i].text;
    return NULL;
}

/* WSAStartup returns its error code instead of setting the last error
 * (WSAStartup function, Return value). Winsock counts the calls, so each
 * successful sc_net_init wants its sc_net_cleanup. */
int sc_net_init(void)
{
    WSADATA wd;
    int rc = WSAStartup(MAKEWORD(2, 2), &wd);
    if (rc != 0)
        return sc__wsa_error(rc);
    if (LOBYTE(wd.wVersion) != 2 || HIBYTE(wd.wVersion) != 2) {
        WSACleanup();
        return -WSAVERNOTSUPPORTED;
    }
    return 0;
}

void sc_net_cleanup(void)
{
    WSACleanup();
}

int sc_last_error(void)
{
    return sc__wsa_error(WSAGetLastError());
}
#else
/* ISO C wants at least one declaration in a translation unit. */
typedef int sc__net_win_unused;
#endif
