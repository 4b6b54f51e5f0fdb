/* A seam that wraps another table and injects faults on a schedule: a
 * given call of an operation (or every call) fails with a chosen error, or
 * transfers fewer bytes than asked. Deterministic: the schedule counts
 * calls, never time. Used by the tests and the fuzz targets. */
#ifndef SOCKCHECK_FAULT_H
#define SOCKCHECK_FAULT_H

#include "sockcheck/sys.h"

typedef enum sc_op {
    SC_OP_SOCKET, SC_OP_SOCKETPAIR, SC_OP_BIND, SC_OP_LISTEN, SC_OP_ACCEPT,
    SC_OP_CONNECT, SC_OP_SEND, SC_OP_RECV, SC_OP_SENDTO, SC_OP_RECVFROM,
    SC_OP_SHUTDOWN, SC_OP_CLOSE, SC_OP_POLL, SC_OP_SETSOCKOPT, SC_OP_GETSOCKOPT,
    SC_OP_GETSOCKNAME, SC_OP_GETPEERNAME, SC_OP_SET_NONBLOCK, SC_OP_EV_CREATE,
    SC_OP_EV_CTL, SC_OP_EV_WAIT, SC_OP_COUNT
} sc_op_t;

#define SC_FAULT_MAX_RULES 64

/* One rule: calls nth .. nth+count-1 of op (1-based; nth 0 means from the
 * first call; count 0 means for ever) fail with error (a negative value),
 * or, when error is 0, pass through with the length capped at max_len
 * (a short transfer; for send/recv/sendto/recvfrom only). */
typedef struct sc_fault_rule {
    sc_op_t op;
    unsigned nth;
    unsigned count;
    int error;
    size_t max_len;
} sc_fault_rule_t;

typedef struct sc_fault {
    sc_sys_t sys; /* install this: sc_sys_install(&f->sys) */
    const sc_sys_t *inner;
    sc_fault_rule_t rules[SC_FAULT_MAX_RULES];
    size_t nrules;
    unsigned long calls[SC_OP_COUNT];    /* calls seen, per operation */
    unsigned long injected[SC_OP_COUNT]; /* faults injected, per operation */
} sc_fault_t;

/* inner NULL: the platform table. */
void sc_fault_init(sc_fault_t *f, const sc_sys_t *inner);

/* Adds a rule; -ENOSPC when the table is full, -EINVAL for a bad op. */
int sc_fault_add(sc_fault_t *f, sc_op_t op, unsigned nth, unsigned count, int error, size_t max_len);

/* Forgets the rules and counts. */
void sc_fault_reset(sc_fault_t *f);

const char *sc_op_name(sc_op_t op);

#endif
