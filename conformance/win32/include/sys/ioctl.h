/* POSIX header name for the Windows build of the suites: everything is in
 * sct_posix.h (force-included). */
#include <sct_posix.h>
