/*
 * conn: connection options and opening an rpc client to a service, locally
 * or through the enclave's attested bridge.
 */
#include "services/cella/conn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "common/net/addr.h"
#include "common/core/buf.h"
#include "common/core/exitcode.h"
#include "common/core/log.h"
#include "common/core/opts.h"
#include "common/bridge/tls.h"
#include "proto/ports.h"
#include "services/cella/up/state.h"

struct cella_conn_opts cella_conn = {.max_age_s = 60};

static const struct {
	enum cella_svc svc;
	const char *env;
	const char *url;
} locals[] = {
	{CELLA_SVC_INIT, "CELLA_CONTROL", "ipc:///run/cella/init.sock"},
	{CELLA_SVC_PIPELINE, "CELLA_PIPELINE", "ipc:///run/cella/pipeline.sock"},
	{CELLA_SVC_RA, "CELLA_RA", "ipc:///run/cella/ra.sock"},
};

const char *
cella_conn_local_url(enum cella_svc svc)
{
	for (size_t i = 0; i < sizeof(locals) / sizeof(locals[0]); i++) {
		const char *env;

		if (locals[i].svc != svc)
			continue;
		env = getenv(locals[i].env);
		return env != NULL && env[0] != '\0' ? env : locals[i].url;
	}
	return NULL;
}

/* --pcr N=HEX: one more pinned PCR. */
static int
conn_pcr(void *dst, const char *arg, struct cella_diag *d)
{
	const char *eq = strchr(arg, '=');
	char idx[4];
	uint64_t n;

	(void)dst;
	if (cella_conn.npcrs == CELLA_CONN_PCRS_MAX)
		return cella_diag_set(d, -E2BIG, "more than %d PCRs",
				      CELLA_CONN_PCRS_MAX);
	if (eq == NULL || eq == arg || (size_t)(eq - arg) >= sizeof(idx))
		return cella_diag_set(d, -EINVAL, "expected N=HEX");
	memcpy(idx, arg, (size_t)(eq - arg));
	idx[eq - arg] = '\0';
	if (cella_arg_u64(idx, 0, 31, &n) < 0)
		return cella_diag_set(d, -EINVAL, "PCR index must be 0..31");
	if (cella_hex_decode(eq + 1, strlen(eq + 1),
			     cella_conn.pcrs[cella_conn.npcrs].value, 48) != 48)
		return cella_diag_set(d, -EINVAL,
				      "value must be 96 hex digits");
	cella_conn.pcrs[cella_conn.npcrs++].index = (unsigned)n;
	return 0;
}

static const struct cella_opt conn_opts[] = {
	{"enclave", 0, CELLA_OPT_STR, &cella_conn.enclave,
	 .metavar = "URL|NAME",
	 .help = "vsock://CID[:PORT] or a `cella up` enclave name"},
	{"key", 0, CELLA_OPT_STR, &cella_conn.key, .metavar = "PATH",
	 .help = "operator key (~/.config/cella/operator.pem)"},
	{"root", 0, CELLA_OPT_STR, &cella_conn.root, .metavar = "PEM",
	 .help = "pinned attestation root"},
	{"pcr", 0, CELLA_OPT_FUNC, NULL, .fn = conn_pcr, .metavar = "N=HEX",
	 .help = "expected PCR value (repeatable)"},
	{"allow-debug", 0, CELLA_OPT_FLAG, &cella_conn.allow_debug,
	 .help = "accept a debug-mode enclave"},
	{"max-age", 0, CELLA_OPT_U64, &cella_conn.max_age_s, .max = 86400,
	 .metavar = "S", .expect = "seconds",
	 .help = "oldest acceptable document (default 60 s)"},
	{0},
};

void
cella_conn_print_usage(FILE *f)
{
	fprintf(f, "\nconnection (ps, logs, start/stop/restart, events, exec, "
		   "cp, attest;\nbefore the verb or among its arguments, "
		   "before --):\n");
	cella_opts_print(conn_opts, f);
}

/*
 * Apply option word (with its value) to cella_conn: 1 taken, 0 not ours,
 * else EX_USAGE after saying why. *used: how many words it took.
 */
static int
conn_option(char **v, int n, int *used)
{
	const struct cella_opt *o;
	struct cella_diag d = {{0}};
	const char *a = v[0], *eq = strchr(a, '='), *val = NULL;
	char name[32];

	if (strncmp(a, "--", 2) != 0)
		return 0;
	snprintf(name, sizeof(name), "%.*s",
		 eq != NULL ? (int)(eq - a - 2) : (int)strlen(a + 2), a + 2);
	if ((o = cella_opts_find(conn_opts, name)) == NULL)
		return 0;
	*used = 1;
	if (o->kind != CELLA_OPT_FLAG && eq == NULL) {
		if (n < 2) {
			fprintf(stderr, "cella: option '--%s' needs a value\n",
				name);
			return EX_USAGE;
		}
		*used = 2;
	}
	val = eq != NULL ? eq + 1 : *used == 2 ? v[1] : NULL;
	if (o->kind == CELLA_OPT_FLAG && val != NULL) {
		fprintf(stderr, "cella: option '--%s' takes no value\n", name);
		return EX_USAGE;
	}
	if (cella_opt_apply(o, val, &d) < 0) {
		fprintf(stderr, "cella: %s\n", d.msg);
		return EX_USAGE;
	}
	return 1;
}

/*
 * --enclave NAME: an enclave `cella up` started on this host. Its state
 * gives the emulated vsock directory, the CID, the simulation root, the
 * operator key and the PCRs it was measured with; a flag given explicitly
 * wins over each.
 */
/* The enclave's name, when --enclave named one (for messages). */
static char enclave_name[CELLA_STATE_NAME_MAX + 1];

int
cella_conn_resolve(struct cella_diag *d)
{
	static char url[32], root[PATH_MAX], key[PATH_MAX];
	static bool done;
	struct cella_state st;
	char vs[PATH_MAX + 8];
	int rv;

	if (done || cella_conn.enclave == NULL ||
	    strstr(cella_conn.enclave, "://") != NULL)
		return 0;
	if ((rv = cella_state_load(cella_conn.enclave, &st, d)) < 0)
		return rv == -EINVAL ? -ENOENT : rv;
	if (!cella_state_alive(&st))
		return cella_diag_set(d, -ECONNREFUSED,
				      "enclave '%s' is not running (cella ls)",
				      st.name);
	snprintf(vs, sizeof(vs), "%s/vsock", st.dir);
	if (setenv("CELLA_VSOCK_DIR", vs, 1) < 0 ||
	    setenv("CELLA_VSOCK_CID", "3", 1) < 0)
		return -ENOMEM;
	snprintf(url, sizeof(url), "vsock://%u", st.cid);
	snprintf(enclave_name, sizeof(enclave_name), "%s", st.name);
	cella_conn.enclave = url;
	snprintf(root, sizeof(root), "%s", st.root);
	snprintf(key, sizeof(key), "%s", st.key);
	if (cella_conn.root == NULL)
		cella_conn.root = root;
	if (cella_conn.key == NULL)
		cella_conn.key = key;
	for (int i = 0; cella_conn.npcrs == 0 && i < 3; i++) {
		cella_conn.pcrs[i].index = (unsigned)i;
		memcpy(cella_conn.pcrs[i].value, st.pcrs[i], 48);
		if (i == 2)
			cella_conn.npcrs = 3;
	}
	cella_conn.allow_debug = cella_conn.allow_debug || st.debug;
	done = true;
	return 0;
}

/* Neither --enclave nor a local URL asked for: the enclave of
 * ./cella.yaml, when `cella up` runs it on this host. */
static void
conn_default(int argc, char **argv)
{
	static char name[CELLA_STATE_NAME_MAX + 1];
	struct cella_state st;

	if (cella_conn.enclave != NULL || getenv("CELLA_CONTROL") != NULL ||
	    getenv("CELLA_PIPELINE") != NULL)
		return;
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strncmp(argv[i], "--control", 9) == 0)
			return;
	if (access("cella.yaml", R_OK) < 0 ||
	    cella_state_name_of("cella.yaml", NULL, name, sizeof(name),
				NULL) < 0 ||
	    cella_state_load(name, &st, NULL) < 0 || !cella_state_alive(&st))
		return;
	cella_conn.enclave = name;
}

int
cella_conn_parse_args(int *argc, char **argv)
{
	int in = 1, out = 1;

	while (in < *argc && strcmp(argv[in], "--") != 0) {
		int used = 1, rv = conn_option(argv + in, *argc - in, &used);

		if (rv > 1)
			return rv;
		if (rv == 0)
			argv[out++] = argv[in];
		in += used;
	}
	while (in < *argc)
		argv[out++] = argv[in++];
	argv[out] = NULL;
	*argc = out;
	conn_default(*argc, argv);
	return 0;
}

/* The bridge port of svc on the enclave named by --enclave. */
static int
bridge_url(enum cella_svc svc, char *url, size_t len, struct cella_diag *d)
{
	static const unsigned ports[] = {
		[CELLA_SVC_INIT] = CELLA_PORT_INIT,
		[CELLA_SVC_PIPELINE] = CELLA_PORT_PIPELINE,
		[CELLA_SVC_RA] = CELLA_PORT_INIT,
	};
	const char *e = cella_conn.enclave;
	struct cella_addr a;

	if (strncmp(e, "vsock://", 8) == 0 && strchr(e + 8, ':') == NULL)
		snprintf(url, len, "%s:%u", e, ports[svc]);
	else
		snprintf(url, len, "%s", e);
	if (cella_addr_parse(url, &a, d) < 0)
		return cella_diag_set(d, -EINVAL,
				      "--enclave '%s': a vsock://CID[:PORT] "
				      "address or an enclave name",
				      e);
	return 0;
}

int
cella_conn_policy(struct cella_verify_policy *pol, X509 **root,
		  struct cella_diag *d)
{
	static struct cella_verify_pcr pcrs[CELLA_CONN_PCRS_MAX];
	int rv;

	cella_verify_policy_init(pol);
	*root = NULL;
	if (cella_conn.root != NULL &&
	    (rv = cella_verify_root_load(cella_conn.root, root, d)) < 0)
		return rv;
	pol->root = *root;
	pol->allow_debug = cella_conn.allow_debug;
	pol->max_age_s = cella_conn.max_age_s;
	for (size_t i = 0; i < cella_conn.npcrs; i++) {
		pcrs[i].index = cella_conn.pcrs[i].index;
		memcpy(pcrs[i].value, cella_conn.pcrs[i].value, 48);
	}
	pol->pcrs = pcrs;
	pol->npcrs = cella_conn.npcrs;
	return 0;
}

int
cella_conn_dial(enum cella_svc svc, int timeout_ms, int *fd, SSL **ssl,
		struct cella_atls_peer *peer, struct cella_diag *d)
{
	struct cella_verify_policy pol;
	struct cella_atls_dial_opts o = {.timeout_ms = timeout_ms};
	char url[CELLA_ADDR_URL_MAX + 16], key[4096];
	X509 *root = NULL;
	int rv;

	if ((rv = cella_conn_resolve(d)) < 0 ||
	    (rv = bridge_url(svc, url, sizeof(url), d)) < 0 ||
	    (rv = cella_conn_policy(&pol, &root, d)) < 0)
		return rv;
	o.key_path = cella_conn.key != NULL
			     ? cella_conn.key
			     : cella_opkey_default_path(key, sizeof(key));
	o.pol = &pol;
	rv = cella_atls_dial(url, &o, fd, ssl, peer, d);
	X509_free(root);
	return rv;
}

/* What an operator can do about a connection that failed with err. */
static const char *
advice(int err, bool dialing)
{
	if (err == -ECONNRESET || err == -ECONNABORTED ||
	    (dialing && err == -EPIPE))
		return "the enclave, its bridge or the service went away: "
		       "check with `cella ls` and `cella ps`, then try again";
	if (dialing && (err == -ECONNREFUSED || err == -ENOENT))
		return "nothing answers there: is the enclave running "
		       "(`cella ls`)?";
	if (dialing && err == -ETIMEDOUT)
		return "no answer in time: check the enclave with `cella ps`, "
		       "then try again";
	return NULL;
}

void
cella_conn_report(const char *verb, int err, const char *msg, bool dialing)
{
	const char *a = advice(err, dialing);

	fprintf(stderr, "cella %s: %s%s%s%s\n", verb,
		msg != NULL && msg[0] != '\0' ? msg : cella_strerror(err),
		a != NULL ? " (" : "", a != NULL ? a : "", a != NULL ? ")" : "");
}

/*
 * A failed bridge dial, said once. Returns what the verb maps: the error
 * itself when it has a class of its own (refused, usage, a timeout,
 * unreachable), else -EHOSTUNREACH: whatever else stopped the dial (a
 * TLS failure, a socket that is not there), the enclave was not reached.
 */
static int
dial_failed(const char *verb, int rv, const struct cella_diag *d)
{
	if (rv == -EACCES) {
		fprintf(stderr, "cella %s: refused: %s\n", verb, d->msg);
		return rv;
	}
	if (enclave_name[0] != '\0') {
		struct cella_diag n;

		cella_diag_set(&n, rv, "enclave '%s': %s", enclave_name,
			       d->msg[0] ? d->msg : cella_strerror(rv));
		cella_conn_report(verb, rv, n.msg, true);
	} else {
		cella_conn_report(verb, rv, d->msg, true);
	}
	return cella_conn_unreachable(rv);
}

int
cella_conn_unreachable(int err)
{
	switch (cella_exit_from_err(err)) {
	case EX_USAGE:
	case EX_UNAVAILABLE:
	case EX_TEMPFAIL:
	case EX_NOPERM: return err;
	default: return -EHOSTUNREACH;
	}
}

int
cella_conn_parse_leading(int *argc, char ***argv)
{
	char **v = *argv;

	while (*argc >= 2) {
		int used = 1, rv = conn_option(v + 1, *argc - 1, &used);

		if (rv > 1)
			return rv;
		if (rv == 0)
			break; /* not ours: a global option of main's, or the verb */
		/* Shift argv[0] along so it stays the program name. */
		v[used] = v[0];
		v += used;
		*argc -= used;
	}
	*argv = v;
	return 0;
}

int
cella_conn_check_files(const char *verb)
{
	struct cella_diag d = {{0}};
	char path[4096];
	EVP_PKEY *key = NULL;
	X509 *cert = NULL, *root = NULL;
	int rv;

	if (cella_conn.enclave == NULL || cella_conn_resolve(&d) < 0)
		return 0; /* no key needed, or the dial says what is wrong */
	rv = cella_opkey_load(cella_conn.key != NULL
				      ? cella_conn.key
				      : cella_opkey_default_path(path,
								 sizeof(path)),
			      &key, &cert, &d);
	if (rv == 0 && cella_conn.root != NULL)
		rv = cella_verify_root_load(cella_conn.root, &root, &d);
	EVP_PKEY_free(key);
	X509_free(cert);
	X509_free(root);
	if (rv == 0)
		return 0;
	fprintf(stderr, "cella %s: %s%s\n", verb,
		rv == -EPERM ? "refused: " : "", d.msg);
	return rv == -EPERM ? -EPERM : -ENOKEY;
}

int
cella_conn_open(const char *verb, enum cella_svc svc, int timeout_ms,
		struct cella_rpc_client **out)
{
	struct cella_diag d = {{0}};
	const char *url = cella_conn_local_url(svc);
	static struct cella_atls_peer peer;
	char label[CELLA_STATE_NAME_MAX + 64];
	SSL *ssl = NULL;
	int fd = -1, rv;

	if (cella_conn.enclave != NULL) {
		if ((rv = cella_conn_check_files(verb)) < 0)
			return rv;
		rv = cella_conn_dial(svc, timeout_ms, &fd, &ssl, &peer, &d);
		if (rv < 0)
			return dial_failed(verb, rv, &d);
		cella_log_info("attested", "module_id=%s operator=%s",
			       cella_q(peer.module_id), cella_q(peer.operator));
		/* what the calls' errors call the connection */
		if (enclave_name[0] != '\0')
			snprintf(label, sizeof(label), "enclave '%s' (%s)",
				 enclave_name, cella_conn.enclave);
		else
			snprintf(label, sizeof(label), "%s", cella_conn.enclave);
		rv = cella_rpc_client_new_stream(fd, ssl, label, timeout_ms,
						 out, &d);
		if (rv < 0)
			return dial_failed(verb, rv, &d);
		return 0;
	}
	rv = cella_rpc_client_new(url, timeout_ms, out, &d);
	if (rv < 0) {
		cella_diag_set(&d, rv, "cannot reach %s", d.msg[0] ? d.msg : url);
		cella_conn_report(verb, rv, d.msg, true);
		return cella_conn_unreachable(rv);
	}
	return 0;
}
