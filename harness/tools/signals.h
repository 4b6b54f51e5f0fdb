/* The two programs' stop signals: SIGINT and SIGTERM call the given
 * handler (which only asks the loop to stop) instead of killing the
 * process. A header, not a program: CMake makes one program of each .c. */
#ifndef SOCKCHECK_TOOLS_SIGNALS_H
#define SOCKCHECK_TOOLS_SIGNALS_H

#include <signal.h>
#include <string.h>

static void catch_stop_signals(void (*handler)(int))
{
#if defined(_WIN32)
    /* Windows has no sigaction; signal() catches Ctrl-C. */
    signal(SIGINT, handler);
    signal(SIGTERM, handler);
#else
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = handler;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
#endif
}

#endif
