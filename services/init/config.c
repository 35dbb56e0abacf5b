/*
 * config: from the validated cJSON tree to struct init_conf. The tree is
 * dropped once converted; only the file's digest is kept, for the event
 * log. User and group names are resolved here, once, so that a typo is a
 * config error and not a service that fails at every start.
 */
#include "services/init/config.h"

#include <errno.h>
#include <limits.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>

#include "common/conf/conf.h"

extern char **environ;

#define INIT_GROUPS_MAX 64

static void
strv_free(char **v)
{
	for (size_t i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

static char **
strv_from_json(const cJSON *list)
{
	size_t n = (size_t)cJSON_GetArraySize(list), i = 0;
	char **v = calloc(n + 1, sizeof(*v));
	const cJSON *e;

	if (v == NULL)
		return NULL;
	cJSON_ArrayForEach(e, list) {
		v[i] = strdup(cJSON_IsString(e) ? e->valuestring : "");
		if (v[i++] == NULL) {
			strv_free(v);
			return NULL;
		}
	}
	return v;
}

/* init's environment, each env entry replacing or adding its variable. */
static char **
make_env(const cJSON *env)
{
	size_t n = 0, k = 0;
	char **v;
	const cJSON *e;

	while (environ != NULL && environ[n] != NULL)
		n++;
	v = calloc(n + (size_t)cJSON_GetArraySize(env) + 1, sizeof(*v));
	if (v == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		const char *eq = strchr(environ[i], '=');
		size_t kl = eq ? (size_t)(eq - environ[i]) : strlen(environ[i]);
		const cJSON *over = NULL;

		cJSON_ArrayForEach(e, env)
			if (strlen(e->string) == kl &&
			    strncmp(e->string, environ[i], kl) == 0)
				over = e;
		if (over == NULL && (v[k++] = strdup(environ[i])) == NULL)
			goto fail;
	}
	cJSON_ArrayForEach(e, env) {
		const char *val = cJSON_IsString(e) ? e->valuestring : "";

		if (asprintf(&v[k], "%s=%s", e->string, val) < 0) {
			v[k] = NULL;
			goto fail;
		}
		k++;
	}
	return v;
fail:
	strv_free(v);
	return NULL;
}

static bool
parse_id(const char *s, unsigned long *out)
{
	char *end;

	if (s[0] < '0' || s[0] > '9')
		return false;
	errno = 0;
	*out = strtoul(s, &end, 10);
	return errno == 0 && *end == '\0' && *out < (unsigned long)UINT32_MAX;
}

static int
resolve_group(const char *g, gid_t *gid)
{
	unsigned long id;
	struct group *gr;

	if (parse_id(g, &id)) {
		*gid = (gid_t)id;
		return 0;
	}
	gr = getgrnam(g);
	if (gr == NULL)
		return -ENOENT;
	*gid = gr->gr_gid;
	return 0;
}

static int
resolve_user(struct init_svc_conf *s, const char *spec, const char **what)
{
	char user[65], *colon;
	unsigned long id;
	struct passwd *pw = NULL;
	int ng = INIT_GROUPS_MAX;

	snprintf(user, sizeof(user), "%s", spec);
	colon = strchr(user, ':');
	if (colon != NULL)
		*colon++ = '\0';
	*what = "user";
	if (parse_id(user, &id)) {
		s->uid = (uid_t)id;
		s->gid = (gid_t)id;
	} else {
		pw = getpwnam(user);
		if (pw == NULL)
			return -ENOENT;
		s->uid = pw->pw_uid;
		s->gid = pw->pw_gid;
	}
	*what = "group";
	if (colon != NULL && resolve_group(colon, &s->gid) < 0)
		return -ENOENT;
	s->set_ids = true;
	if (pw == NULL)
		return 0; /* a bare uid: no supplementary groups */
	s->groups = calloc(INIT_GROUPS_MAX, sizeof(gid_t));
	if (s->groups == NULL)
		return -ENOMEM;
	if (getgrouplist(user, s->gid, s->groups, &ng) < 0)
		ng = INIT_GROUPS_MAX; /* more than we keep: the first ones */
	s->ngroups = (size_t)ng;
	return 0;
}

static int
load_ready(struct init_svc_conf *s, const cJSON *r)
{
	const char *tcp = cella_conf_str(r, "tcp", NULL);
	struct cella_addr a;

	s->ready_timeout_ms = (uint64_t)cella_conf_int(r, "timeout_ms", 60000);
	s->ready_interval_ms = (uint64_t)cella_conf_int(r, "interval_ms", 100);
	if (cJSON_HasObjectItem(r, "fd")) {
		s->ready = INIT_READY_FD;
		s->ready_fd = (int)cella_conf_int(r, "fd", 3);
	} else if (tcp != NULL) {
		s->ready = INIT_READY_TCP;
		if (cella_addr_parse(tcp, &a, NULL) < 0 ||
		    cella_addr_sockaddr(&a, &s->ready_ss, &s->ready_sslen,
					NULL) < 0)
			return -EINVAL; /* the schema's check passed it */
	} else {
		s->ready = INIT_READY_CMD;
		s->ready_argv = strv_from_json(
			cJSON_GetObjectItemCaseSensitive(r, "command"));
		if (s->ready_argv == NULL)
			return -ENOMEM;
	}
	return 0;
}

static void
load_policy(struct init_svc_conf *s, const cJSON *e)
{
	const char *restart = cella_conf_str(e, "restart", "on-failure");

	s->pol.restart = strcmp(restart, "no") == 0 ? INIT_RESTART_NO
			 : strcmp(restart, "always") == 0
				 ? INIT_RESTART_ALWAYS
				 : INIT_RESTART_ON_FAILURE;
	s->pol.backoff_min_ms = (uint64_t)cella_conf_int(e, "backoff_min_ms", 100);
	s->pol.backoff_max_ms =
		(uint64_t)cella_conf_int(e, "backoff_max_ms", 30000);
	s->pol.crash_max = (unsigned)cella_conf_int(e, "crash_max", 5);
	s->pol.crash_window_ms =
		(uint64_t)cella_conf_int(e, "crash_window_ms", 60000);
	s->pol.grace_ms = (uint64_t)cella_conf_int(e, "stop_grace_ms", 10000);
	s->log_bytes = (size_t)cella_conf_int(e, "log_bytes", 1 << 20);
	s->enabled = cella_conf_bool(e, "enabled", true);
}

static int
load_service(struct init_conf *ic, const struct cella_conf *c,
	     const cJSON *svcs, size_t i, struct cella_diag *d)
{
	const cJSON *e = cJSON_GetArrayItem(svcs, (int)i), *dep, *user;
	struct init_svc_conf *s = &ic->svcs[i];
	const char *what;
	int rv;

	snprintf(s->name, sizeof(s->name), "%s", e->string);
	s->argv = strv_from_json(cJSON_GetObjectItemCaseSensitive(e, "command"));
	s->envp = make_env(cJSON_GetObjectItemCaseSensitive(e, "env"));
	s->workdir = strdup(cella_conf_str(e, "workdir", "/"));
	s->deps = calloc((size_t)cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(
				 e, "depends_on")) + 1,
			 sizeof(size_t));
	if (s->argv == NULL || s->envp == NULL || s->workdir == NULL ||
	    s->deps == NULL)
		return -ENOMEM;
	cJSON_ArrayForEach(dep, cJSON_GetObjectItemCaseSensitive(e, "depends_on"))
		s->deps[s->ndeps++] =
			(size_t)init_conf_find(ic, dep->valuestring,
					       strlen(dep->valuestring));
	load_policy(s, e);
	user = cJSON_GetObjectItemCaseSensitive(e, "user");
	if (user != NULL && (rv = resolve_user(s, user->valuestring, &what)) < 0)
		return cella_diag_set(d, rv, "%s:%d: services.%s.user: unknown %s in '%s'",
				      cella_conf_name(c), cella_conf_line(c, user),
				      s->name, what, user->valuestring);
	if (cJSON_HasObjectItem(e, "ready"))
		return load_ready(s, cJSON_GetObjectItemCaseSensitive(e, "ready"));
	return 0;
}

static void
load_init(struct init_conf *ic, const cJSON *in)
{
	ic->mounts = cella_conf_bool(in, "mounts", true);
	ic->loopback = cella_conf_bool(in, "loopback", true);
	ic->entropy = cella_conf_bool(in, "entropy", true);
	ic->heartbeat = cella_conf_bool(in, "heartbeat", true);
	ic->poweroff = cella_conf_bool(in, "poweroff", true);
	snprintf(ic->heartbeat_url, sizeof(ic->heartbeat_url), "%s",
		 cella_conf_str(in, "heartbeat_url", "vsock://3:9000"));
	ic->heartbeat_timeout_ms =
		(uint64_t)cella_conf_int(in, "heartbeat_timeout_ms", 5000);
	snprintf(ic->control_url, sizeof(ic->control_url), "%s",
		 cella_conf_str(in, "control", "ipc:///run/cella/init.sock"));
	snprintf(ic->cgroup, sizeof(ic->cgroup), "%s",
		 cella_conf_str(in, "cgroup", "/sys/fs/cgroup/cella"));
	ic->shutdown_deadline_ms =
		(uint64_t)cella_conf_int(in, "shutdown_deadline_ms", 30000);
	ic->events_max = (size_t)cella_conf_int(in, "events_max", 65536);
	ic->events_bytes = (size_t)cella_conf_int(in, "events_bytes", 16 << 20);
}

static void
print_sections(FILE *f, const struct cella_conf *c)
{
	const struct cella_conf_key *row = cella_cfg_schema, *tab;

	for (; row->key != NULL; row++) {
		if (strcmp(row->key, "init") != 0 &&
		    strcmp(row->key, "services") != 0)
			continue;
		tab = (const struct cella_conf_key[]){*row, {0}};
		cella_conf_print(f, c, tab);
	}
}

static int
convert(struct init_conf *ic, const struct cella_conf *c, struct cella_diag *d)
{
	const cJSON *root = cella_conf_root(c);
	const cJSON *svcs = cJSON_GetObjectItemCaseSensitive(root, "services");
	int rv;

	load_init(ic, cJSON_GetObjectItemCaseSensitive(root, "init"));
	cella_conf_digest(c, ic->digest);
	ic->nsvc = cJSON_IsObject(svcs) ? (size_t)cJSON_GetArraySize(svcs) : 0;
	ic->svcs = calloc(ic->nsvc + 1, sizeof(*ic->svcs));
	if (ic->svcs == NULL)
		return -ENOMEM;
	/* Names first: depends_on is resolved to indices. */
	for (size_t i = 0; i < ic->nsvc; i++)
		snprintf(ic->svcs[i].name, sizeof(ic->svcs[i].name), "%s",
			 cJSON_GetArrayItem(svcs, (int)i)->string);
	for (size_t i = 0; i < ic->nsvc; i++) {
		rv = load_service(ic, c, svcs, i, d);
		if (rv < 0)
			return rv;
	}
	return 0;
}

int
init_conf_load(const char *path, FILE *print, struct init_conf **out,
	       struct cella_diag *d)
{
	struct cella_conf *c = NULL;
	struct init_conf *ic;
	char abs[PATH_MAX];
	int rv;

	/* Built-in services get the config's path: it must not depend on
	 * their working directory. */
	if (realpath(path, abs) != NULL)
		path = abs;
	ic = calloc(1, sizeof(*ic));
	if (ic == NULL || (ic->path = strdup(path)) == NULL) {
		rv = -ENOMEM;
		goto out;
	}
	rv = cella_conf_load_file(path, &c, d);
	if (rv == 0)
		rv = cella_cfg_add_builtins(c, cella_cfg_builtins, d);
	if (rv == 0)
		rv = cella_cfg_validate_init(c, d);
	if (rv == 0)
		rv = convert(ic, c, d);
	if (rv == 0 && print != NULL)
		print_sections(print, c);
out:
	cella_conf_free(c);
	if (rv < 0) {
		if (rv == -ENOMEM && d != NULL && d->msg[0] == '\0')
			cella_diag_set(d, rv, "%s: out of memory", path);
		init_conf_free(ic);
		return rv;
	}
	*out = ic;
	return 0;
}

void
init_conf_free(struct init_conf *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; c->svcs != NULL && i < c->nsvc; i++) {
		struct init_svc_conf *s = &c->svcs[i];

		strv_free(s->argv);
		strv_free(s->envp);
		strv_free(s->ready_argv);
		free(s->workdir);
		free(s->groups);
		free(s->deps);
	}
	free(c->svcs);
	free(c->path);
	free(c);
}

int
init_conf_find(const struct init_conf *c, const char *name, size_t len)
{
	for (size_t i = 0; i < c->nsvc; i++)
		if (strlen(c->svcs[i].name) == len &&
		    memcmp(c->svcs[i].name, name, len) == 0)
			return (int)i;
	return -1;
}
