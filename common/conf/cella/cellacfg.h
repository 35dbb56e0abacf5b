/*
 * cellacfg: the schema of cella.yaml, shared by cella-init and the CLI. One
 * declarative table per section (conf.h drives parsing, defaults, docs and
 * printing from them), plus the checks a table cannot express: service
 * names, depends_on naming a known service, no dependency cycles (each
 * error names file:line and the key path), and cella's own built-in
 * services, which later components register as one row each so that init
 * supervises them exactly like a user's service.
 *
 * Sections so far: `name`, `init` (PID 1's boot duties, control socket,
 * shutdown) and `services`. Later components add their sections to
 * cella_cfg_schema. This module reads the tree only; turning it into
 * runtime structures is each program's business.
 */
#ifndef CELLA_CELLACFG_H
#define CELLA_CELLACFG_H

#include "common/conf/conf.h"
#include "common/core/err.h"

#define CELLA_CFG_SERVICES_MAX 64
#define CELLA_CFG_NAME_MAX 48 /* a service name: [a-z0-9][a-z0-9_-]* */

/* Keys of one services.<name> entry and of the init section. */
extern const struct cella_conf_key cella_cfg_service_keys[];
extern const struct cella_conf_key cella_cfg_init_keys[];
/* attestation: cella-ra-web (cellacfg_ra.c), and its built-in argv. */
extern const struct cella_conf_key cella_cfg_attestation_keys[];
extern const char *const cella_cfg_ra_argv[];
/* pipeline: cella-pipeline (cellacfg_pipeline.c), and its built-in argv. */
extern const struct cella_conf_key cella_cfg_pipeline_keys[];
/* The enclave, and the attested bridge (cellacfg_bridge.c). */
extern const struct cella_conf_key cella_cfg_enclave_keys[];
extern const struct cella_conf_key cella_cfg_bridge_keys[];
extern const char *const cella_cfg_bridge_argv[];
extern const char *const cella_cfg_pipeline_argv[];
/* ports: ingress "HOST:ENCLAVE" pairs (cellacfg_ports.c). */
#define CELLA_CFG_PORTS_MAX 64
extern const struct cella_conf_key cella_cfg_port_item[];
int cella_cfg_ports_check(const cJSON *ports, struct cella_diag *d);
/* One "HOST:ENCLAVE" item; -EINVAL with d saying what is wrong. */
int cella_cfg_port_parse(const char *s, uint16_t *host, uint16_t *enclave,
			 struct cella_diag *d);
/* The whole file (the CLI validates with it at ""). */
extern const struct cella_conf_key cella_cfg_schema[];

/*
 * A built-in service: added to `services` when the section it serves is
 * present in the file (section NULL: always), unless the file defines a
 * service of that name itself, which then wins. In argv, the word
 * "{config}" is replaced by the config file's path. ready_fd > 0 adds
 * `ready: {fd: N}`. The table ends with a row whose name is NULL.
 */
struct cella_cfg_builtin {
	const char *name;
	const char *section;
	const char *const *argv;       /* NULL-terminated */
	const char *const *depends_on; /* NULL-terminated, may be NULL */
	int ready_fd;
};

/* cella's own services (one row per component that runs under init). */
extern const struct cella_cfg_builtin cella_cfg_builtins[];

/* check() hooks shared by the section tables: any cella address; a tcp://
 * URL with a literal host (a listener never resolves names). */
int cella_cfg_check_url(const cJSON *v, struct cella_diag *d);
int cella_cfg_check_tcp_literal(const cJSON *v, struct cella_diag *d);

/* 0 when name is a valid service name. */
int cella_cfg_check_name(const char *name);

/*
 * An environment variable's name as POSIX's portable set has it (what a
 * shell, env(1) and every libc take): [A-Za-z_][A-Za-z0-9_]*, at most
 * CELLA_CFG_ENV_NAME_MAX bytes. 0, or -EINVAL with d saying the rule (the
 * check_key of services.<name>.env).
 */
#define CELLA_CFG_ENV_NAME_MAX 255
int cella_cfg_check_env_name(const char *name, struct cella_diag *d);

/*
 * Add the rows of tab that apply to c (before validation). -EINVAL with d
 * when `services` is there but not a mapping, -ENOMEM.
 */
int cella_cfg_add_builtins(struct cella_conf *c,
			   const struct cella_cfg_builtin *tab,
			   struct cella_diag *d);

/*
 * What init needs: validate the `init` section and every services.<name>
 * entry (filling defaults), then check names, dependencies and cycles.
 * Errors name file:line and the key path, e.g.
 *   cella.yaml:9: services.b.depends_on: unknown service 'x'
 *   cella.yaml:4: services.a.depends_on: dependency cycle a -> b -> a
 */
int cella_cfg_validate_init(struct cella_conf *c, struct cella_diag *d);

/* Names, dependencies and cycles only (after validation). */
int cella_cfg_check_services(const struct cella_conf *c,
			     struct cella_diag *d);

#endif
