/*
 * sandbox: start the emulated enclave's PID 1. With isolation, cella-init
 * runs as PID 1 of new PID, mount, network, UTS and IPC namespaces (and a
 * user namespace when we are not root, or when root may not create the
 * others without one), on a root assembled from the host's: everything
 * read-only, nosuid and nodev, fresh /proc, /sys, /run, /tmp and /dev,
 * hidden paths (always /home, /root and the shadow files; and the given
 * ones: the host-side state, the simulation root's keys) as empty
 * read-only tmpfs for a directory and an inode nobody can open for a
 * file, and the given directories bound back in at their own paths. Capabilities that could undo any of that (mount, module loading,
 * raw I/O, ...) leave the bounding set before the exec. Without isolation
 * (the process backend) it is a plain fork and exec. Either way cella-init
 * gets only PATH, LANG, LC_ALL, TZ, CELLA_VSOCK_DIR, the sanitizers'
 * options and CELLA_VSOCK_CID of the host's environment.
 *
 * It does not supervise: the caller waits for the pid and forwards signals.
 */
#ifndef LAUNCH_SANDBOX_H
#define LAUNCH_SANDBOX_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/core/err.h"

#define SBX_DIRS_MAX 32

struct sbx_opts {
	const char *init;	/* absolute path of cella-init */
	const char *config;	/* its --config */
	const char *mountpoint; /* an empty directory for the new root */
	const char *hostname;
	uint32_t cid;		/* CELLA_VSOCK_CID inside */
	bool isolate;
	const char *rw[SBX_DIRS_MAX], *ro[SBX_DIRS_MAX], *hide[SBX_DIRS_MAX];
	size_t nrw, nro, nhide;
	int ready_fd; /* becomes init's --ready-fd 3; -1: none */
};

/*
 * Start PID 1. On success *pid is its pid here and it has exec'd
 * cella-init; *userns says whether a user namespace was needed. On
 * failure nothing is left running; -EPERM when namespaces are not
 * permitted, other -errno otherwise, with d naming the step.
 */
int sbx_start(const struct sbx_opts *o, pid_t *pid, bool *userns,
	      struct cella_diag *d);

#endif
