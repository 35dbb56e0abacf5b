/*
 * uphost: the two things `cella up` derives from the effective
 * configuration once it is written: the PCRs of what the enclave will run
 * (measure.h), found exactly as cella-init will find them, and the host
 * side's own cella-init configuration. The host configuration is JSON,
 * which every YAML reader reads, so that no path needs YAML quoting.
 */
#include "services/cella/up/upcfg.h"

#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/bridge/tls.h"
#include "services/cella/up/measure.h"

static bool
under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return n > 0 && strncmp(path, dir, n) == 0 &&
	       (path[n] == '/' || path[n] == '\0');
}

/* The sandbox shows /tmp, /run and the hidden directories (the state,
 * the simulation root, and always /home and /root) empty: an executable
 * there needs its directory bound in, read-only. */
static int
keep_visible(struct cella_up_plan *p, const char *exe, struct cella_diag *d)
{
	char copy[PATH_MAX], dir[PATH_MAX];

	if (p->process || under(exe, p->appdir) ||
	    !(under(exe, "/tmp") || under(exe, "/run") || under(exe, "/home") ||
	      under(exe, "/root") || under(exe, p->state_root) ||
	      under(exe, p->sim_dir)))
		return 0;
	/* dirname may write into its argument: never hand it dir itself. */
	snprintf(copy, sizeof(copy), "%s", exe);
	snprintf(dir, sizeof(dir), "%s", dirname(copy));
	for (size_t i = 0; i < p->nbinds; i++)
		if (strcmp(p->binds[i], dir) == 0)
			return 0;
	if (p->nbinds == CELLA_UP_BIND_MAX)
		return cella_diag_set(d, -E2BIG,
				      "executables in more than %d directories "
				      "under /tmp or /run",
				      CELLA_UP_BIND_MAX);
	snprintf(p->binds[p->nbinds++], PATH_MAX, "%s", dir);
	return 0;
}

static bool
is_builtin(const cJSON *root, const char *name, const char *cmd0,
	   const struct cella_up_plan *p)
{
	if (strcmp(name, "ports") == 0 && p->st.nports > 0)
		return true;
	for (const struct cella_cfg_builtin *b = cella_cfg_builtins;
	     b->name != NULL; b++)
		if (strcmp(b->name, name) == 0 &&
		    (b->section == NULL ||
		     cJSON_HasObjectItem(root, b->section)) &&
		    strcmp(b->argv[0], cmd0) == 0)
			return true;
	return false;
}

static int
measure_service(const struct cella_conf *c, const cJSON *e,
		struct cella_up_plan *p, struct cella_manifest *m0,
		struct cella_manifest *m1, struct cella_diag *d)
{
	const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(e, "command");
	const cJSON *env = cJSON_GetObjectItemCaseSensitive(e, "env");
	const char *cmd0 = cJSON_GetArrayItem(cmd, 0)->valuestring;
	const char *path = cella_conf_str(env, "PATH", getenv("PATH"));
	char exe[PATH_MAX];
	int rv;

	rv = cella_measure_find_exe(cmd0, cella_conf_str(e, "workdir", "/"),
				    path, exe, sizeof(exe));
	if (rv < 0)
		return cella_diag_set(d, rv,
				      "%s: services.%s.command: '%s' %s", p->st.file,
				      e->string, cmd0,
				      rv == -ENOENT ? (strchr(cmd0, '/')
							       ? "does not exist"
							       : "is not in PATH")
						    : cella_strerror(rv));
	(void)c;
	if ((rv = keep_visible(p, exe, d)) < 0)
		return rv;
	return cella_manifest_add(is_builtin(cella_conf_root(c), e->string,
					     cmd0, p)
					  ? m0
					  : m1,
				  exe, d);
}

int
cella_upcfg_measure(const char *path, struct cella_up_plan *p,
		    uint8_t pcr0[48], char **m0, uint8_t pcr1[48], char **m1,
		    struct cella_diag *d)
{
	struct cella_manifest a = {0}, b = {0};
	struct cella_conf *c = NULL;
	const cJSON *e;
	int rv;

	*m0 = *m1 = NULL;
	/* As cella-init loads it: with the built-in services added. */
	if ((rv = cella_conf_load_file(path, &c, d)) < 0 ||
	    (rv = cella_cfg_add_builtins(c, cella_cfg_builtins, d)) < 0 ||
	    (rv = cella_cfg_validate_init(c, d)) < 0)
		goto out;
	if ((rv = keep_visible(p, p->init, d)) < 0 ||
	    (rv = cella_manifest_add(&a, p->init, d)) < 0)
		goto out;
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(
				      cella_conf_root(c), "services"))
		if ((rv = measure_service(c, e, p, &a, &b, d)) < 0)
			goto out;
	if ((rv = cella_manifest_finish(&a, m0, pcr0)) < 0 ||
	    (rv = cella_manifest_finish(&b, m1, pcr1)) < 0)
		goto out;
out:
	if (rv < 0) {
		free(*m0);
		*m0 = NULL;
	}
	cella_manifest_fini(&a);
	cella_manifest_fini(&b);
	cella_conf_free(c);
	return rv;
}

/* --- the host side ----------------------------------------------------- */

static bool
add_args(cJSON *argv, const char *const *v)
{
	for (; *v != NULL; v++)
		if (!cJSON_AddItemToArray(argv, cJSON_CreateString(*v)))
			return false;
	return true;
}

static cJSON *
launcher(const struct cella_up_plan *p)
{
	char cfg[PATH_MAX + 32], mp[PATH_MAX + 8], vs[PATH_MAX + 8],
		enc[PATH_MAX + 16], cid[16];
	cJSON *argv = cJSON_CreateArray();
	bool ok;

	snprintf(cfg, sizeof(cfg), "%s/enclave/cella.yaml", p->st.dir);
	snprintf(mp, sizeof(mp), "%s/root", p->st.dir);
	snprintf(vs, sizeof(vs), "%s/vsock", p->st.dir);
	snprintf(enc, sizeof(enc), "%s/enclave", p->st.dir);
	snprintf(cid, sizeof(cid), "%u", p->st.cid);
	ok = argv != NULL &&
	     add_args(argv, (const char *[]){p->launch, "--config", cfg,
					     "--init", p->init, "--cid", cid,
					     "--hostname", p->st.name, NULL});
	if (ok && p->process)
		ok = add_args(argv, (const char *[]){"--no-namespaces", NULL});
	else if (ok)
		ok = add_args(argv, (const char *[]){
			     "--mountpoint", mp,
			     p->project_rw ? "--bind" : "--bind-ro", p->appdir,
			     "--bind", vs, "--bind-ro", enc, "--hide",
			     p->state_root, "--hide", p->sim_dir, "--hide",
			     p->st.key, NULL});
	for (size_t i = 0; ok && !p->process && i < p->nbinds; i++)
		ok = add_args(argv, (const char *[]){"--bind-ro", p->binds[i],
						     NULL});
	if (ok && add_args(argv, (const char *[]){"--ready-fd", "3", NULL}))
		return argv;
	cJSON_Delete(argv);
	return NULL;
}

static cJSON *
service(cJSON *argv, int ready_ms, const char *restart, int64_t grace_ms)
{
	cJSON *e = cJSON_CreateObject(), *r;

	if (e == NULL || !cJSON_AddItemToObject(e, "command", argv)) {
		cJSON_Delete(e);
		cJSON_Delete(argv);
		return NULL;
	}
	if ((r = cJSON_AddObjectToObject(e, "ready")) == NULL ||
	    !cJSON_AddNumberToObject(r, "fd", 3) ||
	    !cJSON_AddNumberToObject(r, "timeout_ms", ready_ms) ||
	    !cJSON_AddStringToObject(e, "restart", restart) ||
	    !cJSON_AddNumberToObject(e, "stop_grace_ms", (double)grace_ms) ||
	    !cJSON_AddNumberToObject(e, "log_bytes", 8 << 20)) {
		cJSON_Delete(e);
		return NULL;
	}
	return e;
}

static bool
add_ingress(cJSON *svcs, const struct cella_up_plan *p)
{
	char name[32], rule[128];
	cJSON *argv;

	for (size_t i = 0; i < p->st.nports; i++) {
		snprintf(name, sizeof(name), "port-%u", p->st.ports[i].host);
		snprintf(rule, sizeof(rule), "tcp://127.0.0.1:%u=vsock://%u:%u",
			 p->st.ports[i].host, p->st.cid, p->st.ports[i].enclave);
		argv = cJSON_CreateArray();
		if (argv == NULL ||
		    !add_args(argv, (const char *[]){p->pf_proxy, "--forward",
						     rule, "--ready-fd", "3",
						     NULL}) ||
		    !cJSON_AddItemToObject(svcs, name,
					   service(argv, 10000, "on-failure",
						   10000)))
			return false;
	}
	return true;
}

int
cella_upcfg_host(const struct cella_up_plan *p, char **text)
{
	cJSON *o = cJSON_CreateObject(), *in, *svcs, *enc;
	char ctl[PATH_MAX + 16], name[64];
	bool ok;

	snprintf(ctl, sizeof(ctl), "ipc://%s/host.sock", p->st.dir);
	snprintf(name, sizeof(name), "%s-host", p->st.name);
	ok = o != NULL && cJSON_AddStringToObject(o, "name", name) &&
	     (in = cJSON_AddObjectToObject(o, "init")) != NULL &&
	     cJSON_AddFalseToObject(in, "mounts") &&
	     cJSON_AddFalseToObject(in, "loopback") &&
	     cJSON_AddFalseToObject(in, "entropy") &&
	     cJSON_AddFalseToObject(in, "heartbeat") &&
	     cJSON_AddFalseToObject(in, "poweroff") &&
	     cJSON_AddStringToObject(in, "cgroup", "") &&
	     cJSON_AddStringToObject(in, "control", ctl) &&
	     cJSON_AddNumberToObject(in, "shutdown_deadline_ms",
				     (double)(p->shutdown_ms + 10000)) &&
	     (svcs = cJSON_AddObjectToObject(o, "services")) != NULL;
	enc = ok ? service(launcher(p), p->ready_timeout_ms, "no",
			   p->shutdown_ms + 5000)
		 : NULL;
	if (ok && (enc == NULL || !cJSON_AddItemToObject(svcs, "enclave", enc))) {
		cJSON_Delete(enc);
		ok = false;
	}
	ok = ok && add_ingress(svcs, p);
	*text = ok ? cJSON_Print(o) : NULL;
	cJSON_Delete(o);
	return *text != NULL ? 0 : -ENOMEM;
}
