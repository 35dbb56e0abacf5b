/*
 * exec_io: the streaming half of `cella exec`: the long-poll read loop
 * that copies the command's output to ours, the stdin thread, the thread
 * that passes our signals on, and the exit code.
 */
#ifndef CELLA_CLI_EXEC_IO_H
#define CELLA_CLI_EXEC_IO_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/rpc/rpc.h"

struct exec_run {
	struct cella_rpc_client *c;
	uint64_t id;
	int poll_ms;
	uint64_t timeout_s; /* for the message after a timeout */
};

/*
 * Block SIGINT, SIGTERM, SIGHUP and SIGQUIT in every thread (call before
 * any thread exists) and start the thread that takes them: before a
 * command runs, a signal ends us with 128+N; after, it goes to the
 * command (exec_signals_target).
 */
void exec_signals_block(void);
void exec_signals_target(struct cella_rpc_client *c, uint64_t id);

/* Stream until the command is done; its exit code, or ours on error. */
int exec_run(struct exec_run *r, bool in);

#endif
