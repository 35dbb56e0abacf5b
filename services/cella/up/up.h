/*
 * up: the pieces `cella up`, `down` and `ls` share. Preparing an enclave
 * (upprep.c: per-user key and simulation root, the state directory, the
 * configurations, the PCRs), running and stopping its host-side cella-init
 * (uprun.c), and asking an init for its services' states.
 */
#ifndef CELLA_CLI_UP_H
#define CELLA_CLI_UP_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/rpc/rpc.h"
#include "services/cella/up/console.h"
#include "services/cella/up/state.h"
#include "services/cella/up/upcfg.h"

#define CELLA_UP_SVCS_MAX 128

/* One service as an init's list reports it. */
struct cella_up_svc {
	char name[64];
	char state[16];
	char why[160];
	char last_exit[64];
	uint64_t pid, restarts, uptime_ms;
	bool want;
};

/*
 * Everything before anything runs: validate file, plan, check what the
 * host must offer (the name and CID free, ports free, binaries), create
 * the per-user key and simulation root when missing, the state directory,
 * the enclave's CA, the effective configuration, the PCRs and the host
 * configuration; p->st is saved. On error d says why and *exit_code is
 * what `cella up` exits with (78 config, 69 unavailable, 73 cannot create,
 * 70 internal); the state directory is removed if this call created it.
 */
int cella_up_prepare(const char *file, const char *backend, int timeout_ms,
		     struct cella_up_plan *p, int *exit_code,
		     struct cella_diag *d);

/*
 * Parts of it: the file validated and planned (*c is the caller's), and
 * the local operator's key (created when missing if create).
 */
int cella_up_load_plan(const char *file, const char *backend,
		       struct cella_conf **c, struct cella_up_plan *p,
		       struct cella_diag *d);
int cella_up_operator(struct cella_up_plan *p, bool create,
		      struct cella_diag *d);

/*
 * Start the host-side cella-init (its own session; stderr to
 * console.log) and record its pid in the state. *ready_rd reads its ready
 * line.
 */
int cella_up_spawn(struct cella_up_plan *p, int *ready_rd,
		   struct cella_diag *d);

/*
 * Wait for the ready line on ready_rd, pumping con (may be NULL) to out,
 * until timeout_ms. 0 ready; -EPIPE: init ended without one; -ETIMEDOUT;
 * -EINTR: a signal arrived on sigfd (-1: none watched).
 */
int cella_up_wait(int ready_rd, int sigfd, struct cella_console *con,
		  FILE *out, int timeout_ms);

/*
 * Stop the host-side cella-init of s: SIGTERM, then wait until it is gone
 * (timeout_ms, then SIGKILL for it and its children), pumping con. 0, or
 * -ETIMEDOUT when it had to be killed.
 */
int cella_up_stop(const struct cella_state *s, struct cella_console *con,
		  FILE *out, int timeout_ms);

/*
 * SIGKILL every process left of s (found by the CELLA_VSOCK_DIR each one
 * inherits), for when its host-side init is gone. Returns how many.
 */
int cella_up_kill_strays(const struct cella_state *s);

/* Remove s's state directory; with keep, only its sockets. */
int cella_up_cleanup(const struct cella_state *s, bool keep);

/* Services of the init behind cli. *n set; 0 or an -errno with d. */
int cella_up_list(struct cella_rpc_client *cli, struct cella_up_svc *v,
		  size_t max, size_t *n, struct cella_diag *d);
/* The same from the host-side init of s (its control socket). */
int cella_up_host_list(const struct cella_state *s, struct cella_up_svc *v,
		       size_t max, size_t *n, struct cella_diag *d);

/*
 * The enclave a verb means: arg (its operand) when given, else the name
 * the cella.yaml at file gives. 0, or -errno after saying why: -EINVAL the
 * file's content, else what reading the file met.
 */
int cella_up_name_arg(const char *verb, const char *arg, const char *file,
		      char *name, size_t len);

#endif
