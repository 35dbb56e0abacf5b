/*
 * upcfg: the user's file validated, and turned into the effective
 * configuration the emulated enclave runs (upcfg.h lists what changes).
 * Every change is made on the validated cJSON tree, which is then
 * validated again, so that the file written is one cella-init, the
 * bridge and ra-web accept as it stands, and the printer (conf.h) writes
 * it in schema order whatever order the changes were made in.
 */
#include "services/cella/up/upcfg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/net/addr.h"
#include "common/rpc/operators.h"
#include "proto/ports.h"

static const char *const all_roles[] = {"services", "logs", "exec", "files"};

int
cella_upcfg_load(const char *file, struct cella_conf **out,
		 struct cella_diag *d)
{
	struct cella_conf *c = NULL;
	int rv;

	if ((rv = cella_conf_load_file(file, &c, d)) == 0 &&
	    (rv = cella_conf_validate(c, "", cella_cfg_schema, d)) == 0)
		rv = cella_cfg_validate_init(c, d); /* names, deps, cycles */
	if (rv < 0) {
		cella_conf_free(c);
		return rv;
	}
	*out = c;
	return 0;
}

static const cJSON *
get(const cJSON *o, const char *key)
{
	return cJSON_GetObjectItemCaseSensitive(o, key);
}

/* An ingress must not take a vsock port the bridge listens on. */
static int
check_port_free(const struct cella_conf *c, const cJSON *item, int i,
		uint16_t port, struct cella_diag *d)
{
	const cJSON *rules = get(get(cella_conf_root(c), "bridge"), "rules");
	const cJSON *r;
	struct cella_addr a;
	int j = 0;

	cJSON_ArrayForEach(r, rules) {
		if (cella_addr_parse(cella_conf_str(r, "listen", ""), &a,
				     NULL) == 0 &&
		    a.kind == CELLA_ADDR_VSOCK && a.vport == port)
			return cella_diag_set(
				d, -EINVAL,
				"%s:%d: ports[%d]: enclave port %u is the "
				"attested bridge's vsock port "
				"(bridge.rules[%d].listen)",
				cella_conf_name(c), cella_conf_line(c, item), i,
				port, j);
		j++;
	}
	return 0;
}

static int
plan_ports(const struct cella_conf *c, struct cella_up_plan *p,
	   struct cella_diag *d)
{
	const cJSON *root = cella_conf_root(c), *it, *svc;
	int i = 0, rv;

	p->st.nports = 0;
	cJSON_ArrayForEach(it, get(root, "ports")) {
		uint16_t h, e;

		if ((rv = cella_cfg_port_parse(it->valuestring, &h, &e, d)) < 0 ||
		    (rv = check_port_free(c, it, i, e, d)) < 0)
			return rv;
		p->st.ports[p->st.nports].host = h;
		p->st.ports[p->st.nports++].enclave = e;
		i++;
	}
	svc = get(get(root, "services"), "ports");
	if (p->st.nports > 0 && svc != NULL)
		return cella_diag_set(d, -EINVAL,
				      "%s:%d: services.ports: this name is "
				      "the ingress service's (ports:); "
				      "rename the service",
				      cella_conf_name(c), cella_conf_line(c, svc));
	return 0;
}

int
cella_upcfg_plan(const struct cella_conf *c, struct cella_up_plan *p,
		 struct cella_diag *d)
{
	const cJSON *root = cella_conf_root(c);
	const cJSON *enc = get(root, "enclave");
	int rv;

	if ((rv = cella_state_name_of(p->st.file, c, p->st.name,
				      sizeof(p->st.name), d)) < 0)
		return rv;
	p->st.cid = (uint32_t)cella_conf_int(enc, "cid", 16);
	p->st.debug = cella_conf_bool(enc, "debug", false);
	p->console_bytes = (uint64_t)cella_conf_int(enc, "console_bytes",
						    4 << 20);
	p->project_rw = cella_conf_bool(enc, "project_writable", false);
	p->shutdown_ms = cella_conf_int(get(root, "init"),
					"shutdown_deadline_ms", 30000);
	p->st.shutdown_ms = p->shutdown_ms;
	return plan_ports(c, p, d);
}

/* --- the effective tree ----------------------------------------------- */

static int
put(cJSON *obj, const char *key, cJSON *v)
{
	if (v == NULL)
		return -ENOMEM;
	if (cJSON_HasObjectItem(obj, key))
		return cJSON_ReplaceItemInObjectCaseSensitive(obj, key, v)
			       ? 0
			       : (cJSON_Delete(v), -ENOMEM);
	return cJSON_AddItemToObject(obj, key, v) ? 0 : (cJSON_Delete(v), -ENOMEM);
}

/* The object at key, created empty when absent. */
static cJSON *
section(cJSON *obj, const char *key)
{
	cJSON *s = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (cJSON_IsObject(s))
		return s;
	return put(obj, key, cJSON_CreateObject()) == 0
		       ? cJSON_GetObjectItemCaseSensitive(obj, key)
		       : NULL;
}

/* Process backend: ipc:///run/cella/X -> ipc://STATE/run/X. */
static int
move_ipc(cJSON *obj, const char *key, const struct cella_up_plan *p)
{
	static const char prefix[] = "ipc://" CELLA_RUN_DIR "/";
	const char *v = cella_conf_str(obj, key, "");
	char url[CELLA_ADDR_URL_MAX + 1];

	if (!p->process || strncmp(v, prefix, sizeof(prefix) - 1) != 0)
		return 0;
	if (snprintf(url, sizeof(url), "ipc://%s/run/%s", p->st.dir,
		     v + sizeof(prefix) - 1) >= (int)sizeof(url))
		return -ENAMETOOLONG;
	return put(obj, key, cJSON_CreateString(url));
}

static int
inject_init(cJSON *root, const struct cella_up_plan *p)
{
	cJSON *in = section(root, "init");
	int rv = in == NULL ? -ENOMEM : 0;

	if (rv == 0)
		rv = put(in, "mounts", cJSON_CreateFalse());
	if (rv == 0)
		rv = put(in, "loopback", cJSON_CreateBool(!p->process));
	if (rv == 0)
		rv = put(in, "entropy", cJSON_CreateFalse());
	if (rv == 0)
		rv = put(in, "heartbeat", cJSON_CreateTrue());
	if (rv == 0)
		rv = put(in, "heartbeat_url",
			 cJSON_CreateString("vsock://3:9000"));
	if (rv == 0)
		rv = put(in, "poweroff", cJSON_CreateFalse());
	if (rv == 0)
		rv = put(in, "cgroup", cJSON_CreateString(""));
	return rv == 0 ? move_ipc(in, "control", p) : rv;
}

/*
 * Process backend: the enclave shares the host's network, where the
 * address a cella.yaml gives for the enclave's own network (0.0.0.0:8443
 * is the default, and the usual value on Nitro) would publish the
 * attestation server on every interface of the host. It listens on the
 * loopback address instead: the file's port if it names one, else one the
 * kernel picks.
 */
static int
loopback_https(const struct cella_conf *c, cJSON *https)
{
	const cJSON *v = get(https, "listen");
	char url[CELLA_ADDR_URL_MAX + 1] = "tcp://127.0.0.1:0";
	struct cella_addr a;

	if (cella_conf_line(c, v) > 0 && cJSON_IsString(v) &&
	    cella_addr_parse(v->valuestring, &a, NULL) == 0 &&
	    a.kind == CELLA_ADDR_TCP)
		snprintf(url, sizeof(url),
			 strchr(a.host, ':') != NULL ? "tcp://[::1]:%u"
						     : "tcp://127.0.0.1:%u",
			 a.port);
	return put(https, "listen", cJSON_CreateString(url));
}

static int
inject_attestation(const struct cella_conf *c, cJSON *root,
		   const struct cella_up_plan *p)
{
	cJSON *att = section(root, "attestation"), *sim, *https, *internal;
	char path[PATH_MAX + 32];
	int rv;

	if (att == NULL || (sim = section(att, "sim")) == NULL)
		return -ENOMEM;
	if ((rv = put(att, "provider", cJSON_CreateString("sim"))) < 0)
		return rv;
	snprintf(path, sizeof(path), "%s/enclave/ca", p->st.dir);
	if ((rv = put(sim, "ca", cJSON_CreateString(path))) < 0)
		return rv;
	snprintf(path, sizeof(path), "%s/enclave/measurements.json", p->st.dir);
	if ((rv = put(sim, "measurements", cJSON_CreateString(path))) < 0)
		return rv;
	if (!p->process)
		return 0;
	https = section(att, "https");
	internal = section(att, "internal");
	if (https == NULL || internal == NULL)
		return -ENOMEM;
	if ((rv = loopback_https(c, https)) < 0)
		return rv;
	return move_ipc(internal, "listen", p);
}

static cJSON *
string_list(const char *const *v, size_t n)
{
	cJSON *a = cJSON_CreateArray();

	for (size_t i = 0; a != NULL && i < n; i++)
		if (!cJSON_AddItemToArray(a, cJSON_CreateString(v[i]))) {
			cJSON_Delete(a);
			return NULL;
		}
	return a;
}

static bool
operator_named(const cJSON *ops, const char *name)
{
	const cJSON *o;

	cJSON_ArrayForEach(o, ops)
		if (strcmp(cella_conf_str(o, "name", ""), name) == 0)
			return true;
	return false;
}

static int
inject_operator(cJSON *root, const struct cella_up_plan *p)
{
	cJSON *ops = cJSON_GetObjectItemCaseSensitive(root, "operators"), *o;
	char name[CELLA_OPERATOR_NAME_MAX + 1];
	const cJSON *it;

	if (!cJSON_IsArray(ops)) {
		if (put(root, "operators", cJSON_CreateArray()) < 0)
			return -ENOMEM;
		ops = cJSON_GetObjectItemCaseSensitive(root, "operators");
	}
	cJSON_ArrayForEach(it, ops)
		if (strcmp(cella_conf_str(it, "public_key", ""), p->op_key) == 0)
			return 0; /* the file lists our key: its roles stand */
	snprintf(name, sizeof(name), "%s", p->op_name);
	for (int i = 2; operator_named(ops, name) && i < 100; i++)
		snprintf(name, sizeof(name), "%.50s-local%d", p->op_name, i);
	if ((o = cJSON_CreateObject()) == NULL ||
	    !cJSON_AddItemToArray(ops, o))
		return (cJSON_Delete(o), -ENOMEM);
	if (put(o, "name", cJSON_CreateString(name)) < 0 ||
	    put(o, "public_key", cJSON_CreateString(p->op_key)) < 0 ||
	    put(o, "roles", string_list(all_roles, 4)) < 0)
		return -ENOMEM;
	return 0;
}

static int
inject_pipeline_bridge(cJSON *root, const struct cella_up_plan *p)
{
	cJSON *pipe = section(root, "pipeline"), *rule;
	int rv;

	if (pipe == NULL)
		return -ENOMEM;
	if ((rv = move_ipc(pipe, "listen", p)) < 0)
		return rv;
	cJSON_ArrayForEach(rule, get(get(root, "bridge"), "rules"))
		if ((rv = move_ipc(rule, "target", p)) < 0)
			return rv;
	return 0;
}

/* Compose's habit: services run where their cella.yaml is. */
static int
inject_workdirs(const struct cella_conf *c, cJSON *root,
		const struct cella_up_plan *p)
{
	cJSON *e, *svcs = cJSON_GetObjectItemCaseSensitive(root, "services");
	char dir[PATH_MAX * 2 + 2];
	int rv;

	cJSON_ArrayForEach(e, svcs) {
		const cJSON *w = get(e, "workdir");
		const char *v = cJSON_IsString(w) ? w->valuestring : "/";

		if (cella_conf_line(c, w) == 0)
			snprintf(dir, sizeof(dir), "%s", p->appdir);
		else if (v[0] != '/')
			snprintf(dir, sizeof(dir), "%s/%s", p->appdir, v);
		else
			continue;
		if ((rv = put(e, "workdir", cJSON_CreateString(dir))) < 0)
			return rv;
	}
	return 0;
}

static int
inject_ports(cJSON *root, const struct cella_up_plan *p)
{
	const struct cella_state *s = &p->st;
	cJSON *svcs = section(root, "services"), *e, *cmd, *ready;
	char rule[96];

	if (s->nports == 0)
		return 0;
	if (svcs == NULL || (e = cJSON_CreateObject()) == NULL)
		return -ENOMEM;
	if (put(svcs, "ports", e) < 0 ||
	    (cmd = cJSON_AddArrayToObject(e, "command")) == NULL ||
	    !cJSON_AddItemToArray(cmd, cJSON_CreateString("cella-pf-proxy")))
		return -ENOMEM;
	for (size_t i = 0; i < s->nports; i++) {
		bool dup = false;

		for (size_t j = 0; j < i; j++)
			dup = dup || s->ports[j].enclave == s->ports[i].enclave;
		if (dup)
			continue;
		snprintf(rule, sizeof(rule), "vsock://any:%u=tcp://127.0.0.1:%u",
			 s->ports[i].enclave, s->ports[i].enclave);
		if (!cJSON_AddItemToArray(cmd, cJSON_CreateString("--forward")) ||
		    !cJSON_AddItemToArray(cmd, cJSON_CreateString(rule)))
			return -ENOMEM;
	}
	if (!cJSON_AddItemToArray(cmd, cJSON_CreateString("--ready-fd")) ||
	    !cJSON_AddItemToArray(cmd, cJSON_CreateString("3")) ||
	    (ready = cJSON_AddObjectToObject(e, "ready")) == NULL ||
	    cJSON_AddNumberToObject(ready, "fd", 3) == NULL)
		return -ENOMEM;
	return 0;
}

int
cella_upcfg_effective(struct cella_conf *c, const struct cella_up_plan *p,
		      struct cella_diag *d)
{
	cJSON *root = cella_conf_root(c);
	int rv = 0;

	if (!cJSON_IsString(get(root, "name")))
		rv = put(root, "name", cJSON_CreateString(p->st.name));
	/* Sections we add get their defaults first, so that what is moved
	 * below (the process backend's sockets) is there to move. */
	if (rv == 0 && (section(root, "pipeline") == NULL ||
			section(root, "attestation") == NULL))
		rv = -ENOMEM;
	if (rv == 0 && (rv = cella_conf_validate(c, "", cella_cfg_schema, d)) < 0)
		return rv;
	root = cella_conf_root(c); /* validation may have replaced it */
	if (rv == 0)
		rv = inject_workdirs(c, root, p);
	if (rv == 0)
		rv = inject_init(root, p);
	if (rv == 0)
		rv = inject_attestation(c, root, p);
	if (rv == 0)
		rv = inject_operator(root, p);
	if (rv == 0)
		rv = inject_pipeline_bridge(root, p);
	if (rv == 0)
		rv = inject_ports(root, p);
	if (rv < 0)
		return cella_diag_set(d, rv, "effective configuration: %s",
				      cella_strerror(rv));
	/* What we added gets its defaults, and must pass like the rest. */
	if ((rv = cella_conf_validate(c, "", cella_cfg_schema, d)) < 0 ||
	    (rv = cella_cfg_validate_init(c, d)) < 0)
		return rv;
	return 0;
}

int
cella_upcfg_text(const struct cella_conf *c, const struct cella_up_plan *p,
		 char **text, size_t *len)
{
	FILE *f = open_memstream(text, len);

	if (f == NULL)
		return -ENOMEM;
	fprintf(f,
		"# The effective configuration of enclave %s, written by\n"
		"# `cella up` (backend %s) from %s.\n"
		"# PCR2 is %s.\n",
		p->st.name, p->st.backend, p->st.file,
		p->st.debug ? "zero: a debug enclave measures nothing"
			    : "the SHA-384 of this file's bytes");
	cella_conf_print(f, c, cella_cfg_schema);
	return fclose(f) == 0 ? 0 : -ENOMEM;
}
