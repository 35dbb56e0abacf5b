/*
 * upcfg: the configurations `cella up` writes. The user's cella.yaml is
 * validated whole first (errors name file:line and the key; nothing starts
 * on a bad file). The enclave then runs an effective configuration: the
 * user's file with every default filled in and what the local emulator
 * adds or must decide itself:
 *
 *   name         the enclave's name, when the file has none
 *   init         boot duties of an emulated enclave: mounts off (the
 *                launcher made them), loopback on (off for the process
 *                backend), heartbeat on to vsock://3:9000, entropy,
 *                poweroff and cgroups off
 *   attestation  provider sim, with this enclave's CA and measurements
 *   operators    the local user's key with every role: this is a local
 *                emulator, and its user may exec and cp into it (the
 *                `policy:` section still applies to a non-debug enclave)
 *   pipeline     present (defaults) so that exec and cp work
 *   services     a `ports` service (cella-pf-proxy, vsock -> 127.0.0.1)
 *                when `ports:` lists any; a service without a workdir
 *                runs in the directory of cella.yaml, a relative workdir
 *                is taken from there
 *   process backend only: the ipc:// sockets under /run/cella/ move into
 *                the state directory, and the attestation HTTPS API
 *                listens on the loopback address only (127.0.0.1, or
 *                ::1 for an IPv6 address), on the port cella.yaml gives
 *                or else an ephemeral one
 *
 * The host side gets a configuration of its own for a host cella-init: the
 * launcher (cella-launch: the project directory bound read-only unless
 * enclave.project_writable, the state, the simulation root and the
 * operator key hidden besides what the launcher always hides) and one
 * cella-pf-proxy per `ports` entry.
 */
#ifndef CELLA_CLI_UPCFG_H
#define CELLA_CLI_UPCFG_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/conf/cella/cellacfg.h"
#include "common/conf/conf.h"
#include "services/cella/up/state.h"

#define CELLA_UP_BIND_MAX 16

/* What `cella up` decided before anything starts. */
struct cella_up_plan {
	struct cella_state st; /* name, backend, cid, debug, dir, file, ports */
	char appdir[PATH_MAX];
	char state_root[PATH_MAX];
	char sim_dir[PATH_MAX];
	char op_name[64];
	char op_key[64]; /* the operator's public key, as cella.yaml has it */
	char init[PATH_MAX], launch[PATH_MAX], pf_proxy[PATH_MAX];
	/* Directories the enclave must see that the sandbox would hide. */
	char binds[CELLA_UP_BIND_MAX][PATH_MAX];
	size_t nbinds;
	int ready_timeout_ms;
	int64_t shutdown_ms; /* the enclave's init.shutdown_deadline_ms */
	uint64_t console_bytes; /* enclave.console_bytes: console.log's cap */
	bool project_rw;	/* enclave.project_writable */
	bool process;
};

/*
 * Load and validate the user's file (the whole schema, service names,
 * dependencies, ports). *out is the caller's. -EINVAL etc. with d as
 * "cella.yaml:12: services.web.restart: ...".
 */
int cella_upcfg_load(const char *file, struct cella_conf **out,
		     struct cella_diag *d);

/*
 * Fill p->st (name, cid, debug, ports) from a validated c. Checks what
 * the file alone cannot: an ingress port that a bridge port or the
 * heartbeat already holds in the enclave, a service named `ports`.
 */
int cella_upcfg_plan(const struct cella_conf *c, struct cella_up_plan *p,
		     struct cella_diag *d);

/* Turn the validated user tree into the effective one (see above). */
int cella_upcfg_effective(struct cella_conf *c, const struct cella_up_plan *p,
			  struct cella_diag *d);

/*
 * The effective configuration as written (block YAML after a comment
 * header): *text is the caller's, its SHA-384 is PCR2.
 */
int cella_upcfg_text(const struct cella_conf *c, const struct cella_up_plan *p,
		     char **text, size_t *len);

/*
 * PCR0 and PCR1 (measure.h) for the effective configuration at path, as
 * cella-init will load it, with their manifests (caller's, free). The
 * directories of measured executables the sandbox would hide are added to
 * p->binds.
 */
int cella_upcfg_measure(const char *path, struct cella_up_plan *p,
			uint8_t pcr0[48], char **m0, uint8_t pcr1[48],
			char **m1, struct cella_diag *d);

/* The host-side cella-init's configuration (JSON, which YAML reads). */
int cella_upcfg_host(const struct cella_up_plan *p, char **text);

#endif
