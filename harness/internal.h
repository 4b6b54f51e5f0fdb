/* Privates shared by the library's files (sc__ prefix). */
#ifndef SOCKCHECK_INTERNAL_H
#define SOCKCHECK_INTERNAL_H

#include "sockcheck/addr.h"
#include "sockcheck/sys.h"

#define SC__CALL(sys, op, ...) ((sys)->op((sys)->ctx, __VA_ARGS__))
#define SC__ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Writes "call arg: message" into err (if not NULL); returns rc. */
int sc__errorf(char *err, size_t errlen, int rc, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* The clock of the table's timers (sc_sys_t.now_ms, else the real one). */
int64_t sc__now_ms(const sc_sys_t *sys);
/* The monotonic clock in microseconds (the server's spin window). */
int64_t sc__now_us(void);

/* sc_addr_of_socket through a given table: a server created with its own
 * table (opts.sys) asks that one, not the installed one. */
int sc__addr_of_socket(const sc_sys_t *sys, sc_addr_t *out, sc_sock_t s);

#endif
