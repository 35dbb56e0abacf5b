/*
 * state: what `cella up` leaves on the host for one running enclave, and
 * how every other verb finds it by name. One directory per enclave under
 * the state root:
 *
 *   $CELLA_STATE_DIR, else /run/cella-up when root, else
 *   $XDG_RUNTIME_DIR/cella, else ~/.local/state/cella
 *
 *   NAME/state.json     this struct, written whole (temporary + rename)
 *   NAME/host.yaml      the host-side cella-init's config
 *   NAME/host.sock      its control socket
 *   NAME/console.log    its log: the enclave's console, the proxies
 *                       (console.log.1 the older half; each at most
 *                       enclave.console_bytes)
 *   NAME/enclave/       read-only inside: cella.yaml (the effective
 *                       config), measurements.json, pcr0.manifest,
 *                       pcr1.manifest, ca/ (the enclave's sim CA)
 *   NAME/vsock/         the emulated vsock sockets (CELLA_VSOCK_DIR)
 *   NAME/run/           the process backend's ipc sockets
 *   NAME/root/          an empty mount point for the enclave's root
 *
 * Per user, once: the simulation root (~/.local/share/cella/sim-ca, or
 * $XDG_DATA_HOME/cella/sim-ca) and the operator key (cella keygen's path).
 * This module reads and writes those files; it starts nothing.
 */
#ifndef CELLA_CLI_STATE_H
#define CELLA_CLI_STATE_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/conf/cella/cellacfg.h"
#include "common/conf/conf.h"
#include "common/core/err.h"

#define CELLA_STATE_NAME_MAX 32 /* [A-Za-z0-9_-], the sim's instance name */

struct cella_state {
	char name[CELLA_STATE_NAME_MAX + 1];
	char backend[16];  /* "local" or "process" */
	uint32_t cid;
	pid_t pid;	   /* the host-side cella-init */
	uint64_t pid_start; /* its start time in ticks since boot */
	int64_t started;   /* unix seconds */
	int64_t shutdown_ms; /* the enclave's init.shutdown_deadline_ms */
	bool debug;
	char dir[PATH_MAX];  /* this enclave's state directory */
	char file[PATH_MAX]; /* the user's cella.yaml */
	char root[PATH_MAX]; /* the simulation root to pin (root.pem) */
	char key[PATH_MAX];  /* the operator key */
	uint8_t pcrs[3][48];
	size_t nports;
	struct {
		uint16_t host, enclave;
	} ports[CELLA_CFG_PORTS_MAX];
};

/* The state root (not created). 0 or -errno (-ENOENT: no HOME). */
int cella_state_root(char *buf, size_t len);
/* The per-user simulation root directory (not created). */
int cella_state_sim_dir(char *buf, size_t len);

/* 0 when name can name an enclave: 1..32 of [A-Za-z0-9_-], no '-' first. */
int cella_state_name_ok(const char *name);

/*
 * The enclave name a cella.yaml gives: its `name`, or else its directory's
 * name made valid (lower case, other characters '-', at most 32). c may be
 * NULL (the file is then read for `name` only). -EINVAL with d when
 * `name` is there but not a valid enclave name.
 */
int cella_state_name_of(const char *file, const struct cella_conf *c,
			char *out, size_t len, struct cella_diag *d);

/* NAME's state directory, and a file in it. */
int cella_state_dir(const char *name, char *buf, size_t len);
int cella_state_path(const struct cella_state *s, const char *leaf,
		     char *buf, size_t len);

/* Write s to its directory's state.json. */
int cella_state_save(const struct cella_state *s, struct cella_diag *d);
/*
 * Read NAME's state. -ENOENT (d: "no enclave named ...") when there is
 * none; -EINVAL when the file is damaged.
 */
int cella_state_load(const char *name, struct cella_state *s,
		     struct cella_diag *d);

/* Start time of pid (field 22 of /proc/PID/stat), 0 when gone or a
 * zombie. */
uint64_t cella_state_proc_start(pid_t pid);
/* Whether the host-side cella-init recorded in s still runs. */
bool cella_state_alive(const struct cella_state *s);

/*
 * Names of the enclaves that have a state directory, sorted; *out is the
 * caller's (free each, then the array). Returns the count or -errno.
 */
int cella_state_list(char ***out);

/*
 * Remove a state directory and everything in it, never following a link
 * or crossing into another file system. 0 or -errno of the first failure.
 */
int cella_state_remove(const char *dir);

#endif
