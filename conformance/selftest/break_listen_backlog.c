/* Breaks listen(): the backlog argument is ignored and the maximum used,
 * so connections beyond the backlog complete instead of waiting (LS-05). */
#include "shim.h"

SHIM_REAL(listen_fn, listen)

int listen(int fd, int backlog)
{
    if (shim_inet_family(fd))
        backlog = SOMAXCONN;
    return real_listen()(fd, backlog);
}
