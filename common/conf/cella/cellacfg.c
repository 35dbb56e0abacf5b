/*
 * cellacfg: cella.yaml's tables and the cross-entry checks. Dependencies
 * are checked with a depth-first walk that keeps the current path, so a
 * cycle is reported as the chain of names that forms it.
 */
#include "common/conf/cella/cellacfg.h"
#include "common/rpc/operators.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/net/addr.h"

static const char *const restart_choices[] = {"no", "on-failure", "always",
					      NULL};

int
cella_cfg_check_tcp_literal(const cJSON *v, struct cella_diag *d)
{
	struct cella_addr a;
	struct sockaddr_storage ss;
	socklen_t len;
	int rv;

	rv = cella_addr_parse(v->valuestring, &a, d);
	if (rv < 0)
		return rv;
	if (a.kind != CELLA_ADDR_TCP)
		return cella_diag_set(d, -EINVAL, "expected a tcp:// URL");
	rv = cella_addr_sockaddr(&a, &ss, &len, d);
	if (rv == -EAGAIN)
		return cella_diag_set(d, -EINVAL,
				      "expected a literal address, not a name");
	return rv;
}

int
cella_cfg_check_url(const cJSON *v, struct cella_diag *d)
{
	struct cella_addr a;

	return cella_addr_parse(v->valuestring, &a, d);
}

static int
check_ready(const cJSON *v, struct cella_diag *d)
{
	int n = cJSON_HasObjectItem(v, "fd") + cJSON_HasObjectItem(v, "tcp") +
		cJSON_HasObjectItem(v, "command");

	if (n != 1)
		return cella_diag_set(d, -EINVAL,
				      "give exactly one of fd, tcp, command");
	return 0;
}

static const struct cella_conf_key ready_keys[] = {
	{.key = "fd", .type = CELLA_CONF_INT, .min = 3, .max = 1023,
	 .desc = "ready when the service writes a line to this fd"},
	{.key = "tcp", .type = CELLA_CONF_STRING, .min = 1, .max = 300,
	 .check = cella_cfg_check_tcp_literal,
	 .desc = "ready when this tcp://ADDR:PORT accepts connections"},
	{.key = "command", .type = CELLA_CONF_ARGV, .min = 1, .max = 64,
	 .desc = "ready when this command exits 0"},
	{.key = "timeout_ms", .type = CELLA_CONF_INT, .def = "60000", .min = 0,
	 .max = 3600000, .desc = "not ready by then: a failed start (0: none)"},
	{.key = "interval_ms", .type = CELLA_CONF_INT, .def = "100", .min = 1,
	 .max = 60000, .desc = "time between tcp or command probes"},
	{0},
};

int
cella_cfg_check_env_name(const char *name, struct cella_diag *d)
{
	size_t n = strlen(name);
	bool ok = n > 0 && n <= CELLA_CFG_ENV_NAME_MAX &&
		  !(name[0] >= '0' && name[0] <= '9');

	for (size_t i = 0; ok && i < n; i++) {
		char ch = name[i];

		ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		     (ch >= '0' && ch <= '9') || ch == '_';
	}
	if (ok)
		return 0;
	return cella_diag_set(d, -EINVAL,
			      "not an environment variable name: 1..%d of "
			      "[A-Za-z0-9_], not starting with a digit",
			      CELLA_CFG_ENV_NAME_MAX);
}

static const struct cella_conf_key env_item[] = {
	{.key = "<var>", .type = CELLA_CONF_STRING, .max = 65536,
	 .desc = "a variable's value"},
	{0},
};

const struct cella_conf_key cella_cfg_service_keys[] = {
	{.key = "command", .type = CELLA_CONF_ARGV, .required = true, .min = 1,
	 .max = 256, .desc = "program and arguments (PATH is searched)"},
	{.key = "env", .type = CELLA_CONF_MAP, .def = "{}", .sub = env_item,
	 .max = 256, .check_key = cella_cfg_check_env_name,
	 .desc = "variables added to init's environment (names: "
		 "[A-Za-z_][A-Za-z0-9_]*)"},
	{.key = "workdir", .type = CELLA_CONF_STRING, .def = "/", .min = 1,
	 .max = 4096, .desc = "working directory"},
	{.key = "user", .type = CELLA_CONF_STRING, .min = 1, .max = 64,
	 .desc = "run as NAME, UID, NAME:GROUP or UID:GID (default: init's)"},
	{.key = "restart", .type = CELLA_CONF_ENUM, .def = "on-failure",
	 .choices = restart_choices,
	 .desc = "restart policy (exit 64 and 78 are never restarted)"},
	{.key = "depends_on", .type = CELLA_CONF_STRLIST, .def = "[]",
	 .max = 32, .desc = "services that must be ready before this starts"},
	{.key = "ready", .type = CELLA_CONF_OBJECT, .sub = ready_keys,
	 .check = check_ready,
	 .desc = "readiness check (default: ready once it runs)"},
	{.key = "enabled", .type = CELLA_CONF_BOOL, .def = "true",
	 .desc = "start at boot (otherwise only by 'cella start')"},
	{.key = "stop_grace_ms", .type = CELLA_CONF_INT, .def = "10000",
	 .min = 0, .max = 600000, .desc = "SIGTERM to SIGKILL on stop"},
	{.key = "backoff_min_ms", .type = CELLA_CONF_INT, .def = "100",
	 .min = 0, .max = 600000, .desc = "first restart delay (doubles)"},
	{.key = "backoff_max_ms", .type = CELLA_CONF_INT, .def = "30000",
	 .min = 0, .max = 3600000, .desc = "longest restart delay"},
	{.key = "crash_max", .type = CELLA_CONF_INT, .def = "5", .min = 1,
	 .max = 64, .desc = "this many failures within crash_window_ms..."},
	{.key = "crash_window_ms", .type = CELLA_CONF_INT, .def = "60000",
	 .min = 1, .max = 86400000, .desc = "...make the service failed"},
	{.key = "log_bytes", .type = CELLA_CONF_INT, .def = "1048576",
	 .min = 4096, .max = 268435456,
	 .desc = "captured output kept (oldest lines dropped first)"},
	{0},
};

static const struct cella_conf_key service_item[] = {
	{.key = "<name>", .type = CELLA_CONF_OBJECT,
	 .sub = cella_cfg_service_keys, .desc = "one service"},
	{0},
};

const struct cella_conf_key cella_cfg_init_keys[] = {
	{.key = "mounts", .type = CELLA_CONF_BOOL, .def = "true",
	 .desc = "mount /proc /sys /dev /dev/pts /dev/shm /run /tmp cgroup2"},
	{.key = "loopback", .type = CELLA_CONF_BOOL, .def = "true",
	 .desc = "bring up lo"},
	{.key = "entropy", .type = CELLA_CONF_BOOL, .def = "true",
	 .desc = "seed the kernel pool from the NSM (when /dev/nsm exists)"},
	{.key = "heartbeat", .type = CELLA_CONF_BOOL, .def = "true",
	 .desc = "tell the parent we booted (byte 0xB7 and back)"},
	{.key = "heartbeat_url", .type = CELLA_CONF_STRING,
	 .def = "vsock://3:9000", .min = 1, .max = 300, .check = cella_cfg_check_url,
	 .desc = "where the heartbeat goes"},
	{.key = "heartbeat_timeout_ms", .type = CELLA_CONF_INT, .def = "5000",
	 .min = 1, .max = 600000, .desc = "bound on the heartbeat exchange"},
	{.key = "control", .type = CELLA_CONF_STRING,
	 .def = "ipc:///run/cella/init.sock", .min = 1, .max = 300,
	 .check = cella_cfg_check_url, .desc = "the control API (nng REP)"},
	{.key = "cgroup", .type = CELLA_CONF_STRING,
	 .def = "/sys/fs/cgroup/cella", .max = 4096,
	 .desc = "cgroup2 directory for per-service leaves ('': none)"},
	{.key = "shutdown_deadline_ms", .type = CELLA_CONF_INT, .def = "30000",
	 .min = 0, .max = 3600000,
	 .desc = "all services stopped by then, or killed"},
	{.key = "poweroff", .type = CELLA_CONF_BOOL, .def = "true",
	 .desc = "power off after shutdown when PID 1 (else exit 0)"},
	{.key = "events_max", .type = CELLA_CONF_INT, .def = "65536",
	 .min = 16, .max = 1048576, .desc = "events the measured log holds"},
	{.key = "events_bytes", .type = CELLA_CONF_INT, .def = "16777216",
	 .min = 65536, .max = 268435456, .desc = "bytes the measured log holds"},
	{0},
};

const struct cella_conf_key cella_cfg_schema[] = {
	{.key = "name", .type = CELLA_CONF_STRING, .min = 1, .max = 63,
	 .desc = "project name"},
	{.key = "enclave", .type = CELLA_CONF_OBJECT, .def = "{}",
	 .sub = cella_cfg_enclave_keys, .desc = "the enclave itself"},
	{.key = "operators", .type = CELLA_CONF_LIST, .max = CELLA_OPERATORS_MAX,
	 .sub = cella_operator_item,
	 .desc = "who may reach the enclave through the attested bridge"},
	{.key = "policy", .type = CELLA_CONF_OBJECT, .def = "{}",
	 .sub = cella_policy_keys,
	 .desc = "what operators may do in a non-debug enclave"},
	{.key = "bridge", .type = CELLA_CONF_OBJECT, .def = "{}",
	 .sub = cella_cfg_bridge_keys,
	 .desc = "the attested bridge's vsock ports (cella-pf-proxy)"},
	{.key = "init", .type = CELLA_CONF_OBJECT, .def = "{}",
	 .sub = cella_cfg_init_keys, .desc = "cella-init, PID 1"},
	{.key = "services", .type = CELLA_CONF_MAP, .def = "{}",
	 .sub = service_item, .max = CELLA_CFG_SERVICES_MAX,
	 .desc = "what init runs and supervises"},
	{.key = "attestation", .type = CELLA_CONF_OBJECT,
	 .sub = cella_cfg_attestation_keys,
	 .desc = "cella-ra-web, the attestation authority"},
	{.key = "pipeline", .type = CELLA_CONF_OBJECT,
	 .sub = cella_cfg_pipeline_keys,
	 .desc = "cella-pipeline: exec and file transfers"},
	{.key = "ports", .type = CELLA_CONF_LIST, .def = "[]",
	 .max = CELLA_CFG_PORTS_MAX, .sub = cella_cfg_port_item,
	 .check = cella_cfg_ports_check,
	 .desc = "ingress from the host: \"HOST:ENCLAVE\" TCP port pairs"},
	{0},
};

/* One row per cella component that runs under init. */
const struct cella_cfg_builtin cella_cfg_builtins[] = {
	{"ra-web", "attestation", cella_cfg_ra_argv, NULL, 3},
	{"pipeline", "pipeline", cella_cfg_pipeline_argv, NULL, 3},
	{"bridge", "operators", cella_cfg_bridge_argv, NULL, 3},
	{0},
};

int
cella_cfg_check_name(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > CELLA_CFG_NAME_MAX)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		char ch = name[i];
		bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');

		if (!alnum && (i == 0 || (ch != '-' && ch != '_')))
			return -EINVAL;
	}
	return 0;
}

static cJSON *
builtin_entry(const struct cella_cfg_builtin *b, const char *config)
{
	cJSON *e = cJSON_CreateObject(), *argv, *deps, *ready;

	argv = cJSON_AddArrayToObject(e, "command");
	for (size_t i = 0; argv != NULL && b->argv[i] != NULL; i++) {
		const char *w = strcmp(b->argv[i], "{config}") == 0
					? config
					: b->argv[i];

		if (!cJSON_AddItemToArray(argv, cJSON_CreateString(w)))
			argv = NULL;
	}
	deps = cJSON_AddArrayToObject(e, "depends_on");
	for (size_t i = 0; deps != NULL && b->depends_on != NULL &&
			   b->depends_on[i] != NULL;
	     i++)
		if (!cJSON_AddItemToArray(deps,
					  cJSON_CreateString(b->depends_on[i])))
			deps = NULL;
	ready = b->ready_fd > 0 ? cJSON_AddObjectToObject(e, "ready") : e;
	if (argv == NULL || deps == NULL || ready == NULL ||
	    (b->ready_fd > 0 &&
	     cJSON_AddNumberToObject(ready, "fd", b->ready_fd) == NULL)) {
		cJSON_Delete(e);
		return NULL;
	}
	return e;
}

int
cella_cfg_add_builtins(struct cella_conf *c,
		       const struct cella_cfg_builtin *tab,
		       struct cella_diag *d)
{
	cJSON *root = cella_conf_root(c), *svcs, *e;

	svcs = cJSON_GetObjectItemCaseSensitive(root, "services");
	if (svcs != NULL && !cJSON_IsObject(svcs) && !cJSON_IsNull(svcs))
		return cella_diag_set(d, -EINVAL, "%s:%d: services: expected a mapping",
				      cella_conf_name(c), cella_conf_line(c, svcs));
	for (; tab->name != NULL; tab++) {
		if (tab->section != NULL &&
		    !cJSON_HasObjectItem(root, tab->section))
			continue;
		if (svcs == NULL || cJSON_IsNull(svcs)) {
			cJSON_DeleteItemFromObjectCaseSensitive(root, "services");
			svcs = cJSON_AddObjectToObject(root, "services");
			if (svcs == NULL)
				return -ENOMEM;
		}
		if (cJSON_HasObjectItem(svcs, tab->name))
			continue; /* the file's own definition wins */
		e = builtin_entry(tab, cella_conf_name(c));
		if (e == NULL || !cJSON_AddItemToObject(svcs, tab->name, e)) {
			cJSON_Delete(e);
			return -ENOMEM;
		}
	}
	return 0;
}

static const cJSON *
services_of(const struct cella_conf *c)
{
	return cJSON_GetObjectItemCaseSensitive(cella_conf_root(c), "services");
}

static int
validate_entry(struct cella_conf *c, int i, struct cella_diag *d)
{
	char path[16 + CELLA_CFG_NAME_MAX];
	const cJSON *e = cJSON_GetArrayItem(services_of(c), i);

	if (i >= CELLA_CFG_SERVICES_MAX)
		return cella_diag_set(d, -EINVAL, "%s:%d: services: more than %d",
				      cella_conf_name(c), cella_conf_line(c, e),
				      CELLA_CFG_SERVICES_MAX);
	if (cella_cfg_check_name(e->string) < 0)
		return cella_diag_set(
			d, -EINVAL,
			"%s:%d: services.%s: a service name is 1..%d of "
			"[a-z0-9_-], starting with a letter or digit",
			cella_conf_name(c), cella_conf_line(c, e), e->string,
			CELLA_CFG_NAME_MAX);
	/* Validation replaces the entry's node: e is not used after this. */
	snprintf(path, sizeof(path), "services.%s", e->string);
	return cella_conf_validate(c, path, cella_cfg_service_keys, d);
}

int
cella_cfg_validate_init(struct cella_conf *c, struct cella_diag *d)
{
	const cJSON *svcs;
	int rv, n;

	rv = cella_conf_validate(c, "init", cella_cfg_init_keys, d);
	if (rv < 0)
		return rv;
	svcs = services_of(c);
	if (svcs == NULL || cJSON_IsNull(svcs))
		return 0;
	if (!cJSON_IsObject(svcs))
		return cella_diag_set(d, -EINVAL,
				      "%s:%d: services: expected a mapping",
				      cella_conf_name(c), cella_conf_line(c, svcs));
	n = cJSON_GetArraySize(svcs);
	for (int i = 0; i < n; i++) {
		rv = validate_entry(c, i, d);
		if (rv < 0)
			return rv;
	}
	return cella_cfg_check_services(c, d);
}

struct dfs {
	const struct cella_conf *c;
	const cJSON *svcs;
	const cJSON *stack[CELLA_CFG_SERVICES_MAX + 1];
	int depth;
	unsigned char mark[CELLA_CFG_SERVICES_MAX]; /* 0 new, 1 open, 2 done */
	struct cella_diag *d;
};

static int
index_of(const cJSON *svcs, const char *name)
{
	int i = 0;
	const cJSON *e;

	cJSON_ArrayForEach(e, svcs) {
		if (strcmp(e->string, name) == 0)
			return i;
		i++;
	}
	return -1;
}

static int
cycle_err(struct dfs *w, const cJSON *from, const char *to)
{
	char chain[1024] = "";
	size_t o = 0;
	int start = 0;

	while (start < w->depth && strcmp(w->stack[start]->string, to) != 0)
		start++;
	for (int i = start; i < w->depth && o < sizeof(chain); i++)
		o += (size_t)snprintf(chain + o, sizeof(chain) - o, "%s -> ",
				      w->stack[i]->string);
	if (o < sizeof(chain))
		snprintf(chain + o, sizeof(chain) - o, "%s", to);
	return cella_diag_set(
		w->d, -EINVAL, "%s:%d: services.%s.depends_on: dependency cycle %s",
		cella_conf_name(w->c),
		cella_conf_line(w->c,
				cJSON_GetObjectItemCaseSensitive(from, "depends_on")),
		from->string, chain);
}

static int
visit(struct dfs *w, const cJSON *e, int idx)
{
	const cJSON *deps = cJSON_GetObjectItemCaseSensitive(e, "depends_on");
	const cJSON *dep;
	int rv;

	w->mark[idx] = 1;
	w->stack[w->depth++] = e;
	cJSON_ArrayForEach(dep, deps) {
		int j = cJSON_IsString(dep) ? index_of(w->svcs, dep->valuestring)
					    : -1;

		if (j < 0)
			return cella_diag_set(
				w->d, -EINVAL,
				"%s:%d: services.%s.depends_on: unknown service '%s'",
				cella_conf_name(w->c), cella_conf_line(w->c, dep),
				e->string,
				cJSON_IsString(dep) ? dep->valuestring : "?");
		if (w->mark[j] == 1)
			return cycle_err(w, e, dep->valuestring);
		if (w->mark[j] == 0) {
			rv = visit(w, cJSON_GetArrayItem(w->svcs, j), j);
			if (rv < 0)
				return rv;
		}
	}
	w->depth--;
	w->mark[idx] = 2;
	return 0;
}

int
cella_cfg_check_services(const struct cella_conf *c, struct cella_diag *d)
{
	struct dfs w = {.c = c, .d = d};
	const cJSON *e;
	int i = 0, rv;

	w.svcs = cJSON_GetObjectItemCaseSensitive(cella_conf_root(c), "services");
	if (w.svcs == NULL || !cJSON_IsObject(w.svcs))
		return 0;
	if (cJSON_GetArraySize(w.svcs) > CELLA_CFG_SERVICES_MAX)
		return cella_diag_set(d, -EINVAL, "%s: more than %d services",
				      cella_conf_name(c), CELLA_CFG_SERVICES_MAX);
	cJSON_ArrayForEach(e, w.svcs) {
		if (w.mark[i] == 0) {
			rv = visit(&w, e, i);
			if (rv < 0)
				return rv;
		}
		i++;
	}
	return 0;
}
