/*
 * readychk: is a starting service ready yet? One check per starting
 * instance, of the kind its config names: a line on a readiness fd (EOF
 * before a newline is a failed start, as common/core/ready.h says), a TCP
 * address that accepts a connection, or a command that exits 0 (run again
 * every interval). No check means ready as soon as it exec'd. A timeout
 * bounds every kind. The verdict is fed to the service's state machine as
 * INIT_EV_READY or INIT_EV_NOT_READY; leaving `starting` cancels the check.
 */
#ifndef INIT_READYCHK_H
#define INIT_READYCHK_H

#include <stdbool.h>
#include <sys/types.h>

struct init_run;
struct init_ctx;

/*
 * Before the fork: create r's check. For an fd check *child_fd is the
 * write end the child gets (the caller closes its copy after the fork),
 * otherwise -1.
 */
int init_readychk_prepare(struct init_run *r, int *child_fd);
/* The instance runs (state starting): begin checking. */
void init_readychk_start(struct init_run *r);
/* Stop and free r's check, if any (idempotent). */
void init_readychk_cancel(struct init_run *r);
/* A reaped pid: true when it was a probe command (its verdict applied). */
bool init_readychk_reaped(struct init_ctx *ctx, pid_t pid, int wstatus);

#endif
