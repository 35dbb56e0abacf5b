/*
 * config: flags become tree nodes, the tree is validated by the shared
 * table, and the validated tree is copied into struct ra_conf. Flags are
 * validated twice on purpose: once alone (so that a bad flag is blamed on
 * the command line, not on the file) and once inside the file's tree.
 */
#include "services/ra-web/config.h"

#include <errno.h>
#include <openssl/ssl.h>
#include <string.h>

#include "common/conf/cella/cellacfg.h"
#include "common/conf/conf.h"

#define SECTION "attestation"

/* Where each flag lands: attestation.<sub>.<key> (sub NULL: the section). */
static const struct {
	const char *flag, *sub, *key;
} flag_keys[RA_FLAG_COUNT] = {
	[RA_FLAG_LISTEN] = {"listen", "https", "listen"},
	[RA_FLAG_RA_SOCKET] = {"ra-socket", "internal", "listen"},
	[RA_FLAG_PROVIDER] = {"provider", NULL, "provider"},
	[RA_FLAG_SIM_CA] = {"sim-ca", "sim", "ca"},
	[RA_FLAG_MEASUREMENTS] = {"measurements", "sim", "measurements"},
	[RA_FLAG_CLIENT_CA] = {"client-ca", "https", "client_ca"},
	[RA_FLAG_TLS_MIN] = {"tls-min", "https", "tls_min"},
};

const char *
ra_flag_name(enum ra_flag f)
{
	return f < RA_FLAG_COUNT ? flag_keys[f].flag : "?";
}

/* obj[key] as a mapping, created when absent or null; NULL otherwise. */
static cJSON *
object_at(cJSON *obj, const char *key)
{
	cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (v != NULL && cJSON_IsObject(v))
		return v;
	if (v != NULL && !cJSON_IsNull(v))
		return NULL; /* the file's own type error, reported by validate */
	cJSON_DeleteItemFromObjectCaseSensitive(obj, key);
	return cJSON_AddObjectToObject(obj, key);
}

/*
 * Write the given flags into c's tree. A node in the way of the wrong type
 * is left for validation to report; only memory can fail here.
 */
static int
put_flags(struct cella_conf *c, const char *const flags[RA_FLAG_COUNT])
{
	cJSON *sec = NULL, *obj, *v;

	for (int f = 0; f < RA_FLAG_COUNT; f++) {
		if (flags[f] == NULL)
			continue;
		if (sec == NULL &&
		    (sec = object_at(cella_conf_root(c), SECTION)) == NULL)
			return 0;
		obj = flag_keys[f].sub ? object_at(sec, flag_keys[f].sub) : sec;
		if (obj == NULL)
			continue;
		v = cJSON_CreateString(flags[f]);
		if (v == NULL)
			return -ENOMEM;
		cJSON_DeleteItemFromObjectCaseSensitive(obj, flag_keys[f].key);
		if (!cJSON_AddItemToObject(obj, flag_keys[f].key, v)) {
			cJSON_Delete(v);
			return -ENOMEM;
		}
	}
	return 0;
}

static int
check_flags(const char *const flags[RA_FLAG_COUNT], struct cella_diag *d)
{
	struct cella_conf *c = NULL;
	int rv;

	rv = cella_conf_load_mem("command line", "", 0, &c, d);
	if (rv == 0)
		rv = put_flags(c, flags);
	if (rv == 0)
		rv = cella_conf_validate(c, SECTION, cella_cfg_attestation_keys,
					 d);
	cella_conf_free(c);
	return rv;
}

/* Fixed-size copies: the table's bounds make a too-long value unreachable. */
static int
copy_str(char *dst, size_t cap, const char *s)
{
	size_t n = strlen(s);

	if (n >= cap)
		return -ENAMETOOLONG;
	memcpy(dst, s, n + 1);
	return 0;
}

static int
read_https(const cJSON *h, struct ra_conf *o)
{
	const char *log = cella_conf_str(h, "access_log", "all");
	const cJSON *names = cJSON_GetObjectItemCaseSensitive(h, "hostnames");
	const cJSON *it;
	int failed = 0;

	failed += copy_str(o->listen, sizeof(o->listen),
			   cella_conf_str(h, "listen", "")) < 0;
	failed += copy_str(o->client_ca, sizeof(o->client_ca),
			   cella_conf_str(h, "client_ca", "")) < 0;
	failed += copy_str(o->name, sizeof(o->name),
			   cella_conf_str(h, "name", "")) < 0;
	o->tls_min = strcmp(cella_conf_str(h, "tls_min", "1.3"), "1.2") == 0
			     ? TLS1_2_VERSION
			     : TLS1_3_VERSION;
	o->http2 = cella_conf_bool(h, "http2", true);
	o->max_connections = (unsigned)cella_conf_int(h, "max_connections", 0);
	o->max_per_peer =
		(unsigned)cella_conf_int(h, "max_connections_per_peer", 0);
	o->header_timeout_ms =
		(unsigned)cella_conf_int(h, "header_timeout_ms", 0);
	o->max_url_bytes = (unsigned)cella_conf_int(h, "max_url_bytes", 0);
	o->max_header_bytes = (unsigned)cella_conf_int(h, "max_header_bytes", 0);
	o->idle_timeout_ms = (unsigned)cella_conf_int(h, "idle_timeout_ms", 0);
	o->access_log = strcmp(log, "none") == 0     ? RA_LOG_NONE
			: strcmp(log, "errors") == 0 ? RA_LOG_ERRORS
						     : RA_LOG_ALL;
	o->nhostnames = 0;
	cJSON_ArrayForEach(it, names) {
		if (o->nhostnames == RA_HOSTNAMES_MAX || !cJSON_IsString(it))
			return -ENAMETOOLONG;
		failed += copy_str(o->hostnames[o->nhostnames++],
				   sizeof(o->hostnames[0]), it->valuestring) < 0;
	}
	return failed ? -ENAMETOOLONG : 0;
}

static int
read_section(const cJSON *sec, struct ra_conf *o)
{
	const char *prov = cella_conf_str(sec, "provider", "auto");
	const cJSON *sim = cJSON_GetObjectItemCaseSensitive(sec, "sim");
	const cJSON *in = cJSON_GetObjectItemCaseSensitive(sec, "internal");
	int failed = 0;

	memset(o, 0, sizeof(*o));
	o->provider = strcmp(prov, "nsm") == 0	 ? RA_PROVIDER_NSM
		      : strcmp(prov, "sim") == 0 ? RA_PROVIDER_SIM
						 : RA_PROVIDER_AUTO;
	failed += copy_str(o->device, sizeof(o->device),
			   cella_conf_str(sec, "device", "")) < 0;
	failed += copy_str(o->sim_ca, sizeof(o->sim_ca),
			   cella_conf_str(sim, "ca", "")) < 0;
	failed += copy_str(o->measurements, sizeof(o->measurements),
			   cella_conf_str(sim, "measurements", "")) < 0;
	failed += copy_str(o->internal, sizeof(o->internal),
			   cella_conf_str(in, "listen", "")) < 0;
	o->internal_workers = (unsigned)cella_conf_int(in, "workers", 0);
	o->max_concurrency = (unsigned)cella_conf_int(sec, "max_concurrency", 0);
	o->queue_max = (unsigned)cella_conf_int(sec, "queue_max", 0);
	o->cert_refresh_ms = (uint64_t)cella_conf_int(sec, "cert_refresh_ms", 0);
	o->drain_timeout_ms =
		(uint64_t)cella_conf_int(sec, "drain_timeout_ms", 0);
	if (failed)
		return -ENAMETOOLONG;
	return read_https(cJSON_GetObjectItemCaseSensitive(sec, "https"), o);
}

/*
 * Where the event log head comes from: attestation.event_log, else the
 * same file's init.control, else init's default socket; "none" disables.
 */
static void
event_log_url(const struct cella_conf *c, struct ra_conf *o)
{
	const cJSON *root = cella_conf_root(c);
	const char *v = cella_conf_str(
		cJSON_GetObjectItemCaseSensitive(root, SECTION), "event_log",
		NULL);

	if (v == NULL)
		v = cella_conf_str(cJSON_GetObjectItemCaseSensitive(root, "init"),
				   "control", "ipc:///run/cella/init.sock");
	if (strcmp(v, "none") == 0)
		v = "";
	snprintf(o->event_log, sizeof(o->event_log), "%s", v);
}

int
ra_conf_load(const char *path, const char *const flags[RA_FLAG_COUNT],
	     FILE *print, struct ra_conf *out, struct cella_diag *d)
{
	static const struct cella_conf_key one[] = {
		{.key = SECTION, .type = CELLA_CONF_OBJECT,
		 .sub = cella_cfg_attestation_keys},
		{0},
	};
	struct cella_conf *c = NULL;
	int rv;

	rv = check_flags(flags, d);
	if (rv < 0)
		return rv;
	rv = path ? cella_conf_load_file(path, &c, d)
		  : cella_conf_load_mem("(no config file)", "", 0, &c, d);
	if (rv == 0)
		rv = put_flags(c, flags);
	if (rv == 0)
		rv = cella_conf_validate(c, SECTION, cella_cfg_attestation_keys,
					 d);
	if (rv == 0)
		rv = read_section(cJSON_GetObjectItemCaseSensitive(
					  cella_conf_root(c), SECTION),
				  out);
	if (rv == 0)
		event_log_url(c, out);
	if (rv == -ENAMETOOLONG)
		rv = cella_diag_set(d, -EINVAL, "%s: %s: a value is too long",
				    cella_conf_name(c), SECTION);
	if (rv == 0 && print != NULL)
		cella_conf_print(print, c, one);
	cella_conf_free(c);
	return rv;
}
