/*
 * config: cella.yaml's `init` and `services` sections, validated by the
 * shared schema (common/conf/cella/cellacfg.h) and turned into the plain structures
 * the supervisor runs from. Everything that can be refused is refused here,
 * at load time, with file:line: unknown users and groups, and (through
 * cellacfg) unknown dependencies and cycles. Executables are looked up at
 * each start instead, because they may arrive after boot.
 */
#ifndef INIT_CONFIG_H
#define INIT_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "common/net/addr.h"
#include "common/conf/cella/cellacfg.h"
#include "common/core/err.h"
#include "services/init/svc.h"

enum init_ready_kind {
	INIT_READY_NONE, /* ready once it exec'd */
	INIT_READY_FD,
	INIT_READY_TCP,
	INIT_READY_CMD,
};

struct init_svc_conf {
	char name[CELLA_CFG_NAME_MAX + 1];
	char **argv; /* NULL-terminated */
	char **envp; /* init's environment with the service's env applied */
	char *workdir;
	bool set_ids;
	uid_t uid;
	gid_t gid;
	gid_t *groups;
	size_t ngroups;
	struct init_policy pol;
	size_t *deps;
	size_t ndeps;
	enum init_ready_kind ready;
	int ready_fd;
	struct sockaddr_storage ready_ss;
	socklen_t ready_sslen;
	char **ready_argv;
	uint64_t ready_timeout_ms, ready_interval_ms;
	size_t log_bytes;
	bool enabled;
};

struct init_conf {
	char *path;
	uint8_t digest[48];
	struct init_svc_conf *svcs;
	size_t nsvc;
	bool mounts, loopback, entropy, heartbeat, poweroff;
	char heartbeat_url[CELLA_ADDR_URL_MAX + 1];
	uint64_t heartbeat_timeout_ms;
	char control_url[CELLA_ADDR_URL_MAX + 1];
	char cgroup[PATH_MAX];
	uint64_t shutdown_deadline_ms;
	size_t events_max, events_bytes;
};

/*
 * Load and validate path. print (when not NULL) receives the effective
 * configuration of both sections. On success *out is the caller's.
 */
int init_conf_load(const char *path, FILE *print, struct init_conf **out,
		   struct cella_diag *d);
void init_conf_free(struct init_conf *c);

/* Index of the service called name, or -1. */
int init_conf_find(const struct init_conf *c, const char *name, size_t len);

#endif
