/* Process-wide setup, closing, and the text of every error value. */
#include "sockcheck/net.h"
#include "internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#if defined(_WIN32)
const char *sc__win_strerror(int err); /* net_win.c */
#else
int sc_net_init(void)
{
    return 0;
}

void sc_net_cleanup(void)
{
}

int sc_last_error(void)
{
    return errno ? -errno : -EIO;
}
#endif

int sc_close(sc_sock_t s)
{
    if (s == SC_INVALID_SOCK)
        return 0;
    const sc_sys_t *sys = sc_sys_current();
    return SC__CALL(sys, close, s);
}

static const struct {
    int code;
    const char *text;
} own_errors[] = {
    {SC_EADDRFORMAT, "malformed address"},
    {SC_EPORTRANGE, "port missing or out of range 0-65535"},
    {SC_EMISMATCH, "echoed bytes differ from those sent"},
    {SC_EEOF, "peer closed the connection early"},
    {SC_ETRUNCATED, "datagram truncated: larger than the buffer"},
    {SC_ERESOLVE, "no usable address found"},
    {SC_EUSAGE, "invalid option or argument"},
};

const char *sc_strerror(int err)
{
    for (size_t i = 0; i < SC__ARRAY_LEN(own_errors); i++)
        if (own_errors[i].code == err)
            return own_errors[i].text;
    if (err == 0)
        return "success";
#if defined(_WIN32)
    /* The C runtime has no text for most socket errors (net_win.c). */
    const char *w = sc__win_strerror(err);
    if (w)
        return w;
#endif
    /* strerror is not thread-safe in general, but glibc and musl return
     * static text for every errno value they know. */
    return strerror(err < 0 ? -err : err);
}

int sc__errorf(char *err, size_t errlen, int rc, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < errlen)
            snprintf(err + n, errlen - (size_t)n, ": %s", sc_strerror(rc));
    }
    return rc;
}
