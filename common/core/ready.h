/*
 * ready: the readiness protocol every cella process speaks (s6 style). A
 * supervisor passes --ready-fd N; once the process can serve, it writes one
 * line to N and closes it. Nothing is written when the process fails first,
 * so the reader sees EOF without a line and knows start-up failed.
 */
#ifndef CELLA_READY_H
#define CELLA_READY_H

/*
 * Parse a --ready-fd argument and check that the descriptor is open;
 * returns the fd or -EINVAL (not a number) / -EBADF (not open).
 */
int cella_ready_parse(const char *arg);

/* Write "ready\n" to fd and close it; fd < 0 is a no-op. */
int cella_ready_notify(int fd);

#endif
