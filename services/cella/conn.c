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
#include "common/core/log.h"
#include "common/bridge/tls.h"
#include "proto/ports.h"
#include "services/cella/up/state.h"

struct cella_conn_opts cella_conn = {.max_age_s = 60};

const char cella_conn_usage[] =
	"connection (ps, logs, start/stop/restart, events, exec, cp, attest;\n"
	"before the verb or among its arguments, before --):\n"
	"  --enclave URL|NAME  vsock://CID[:PORT] or a `cella up` enclave name\n"
	"  --key PATH          operator key (~/.config/cella/operator.pem)\n"
	"  --root PEM          pinned attestation root\n"
	"  --pcr N=HEX         expected PCR value (repeatable)\n"
	"  --allow-debug       accept a debug-mode enclave\n"
	"  --max-age S         oldest acceptable document (default 60 s)\n";

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

static int
conn_pcr(const char *arg)
{
	const char *eq = strchr(arg, '=');
	char *end;
	unsigned long idx;
	int n;

	if (cella_conn.npcrs == CELLA_CONN_PCRS_MAX)
		return -1;
	idx = strtoul(arg, &end, 10);
	if (eq == NULL || end != eq || end == arg || idx > 31)
		return -1;
	n = cella_hex_decode(eq + 1, strlen(eq + 1),
			     cella_conn.pcrs[cella_conn.npcrs].value, 48);
	if (n != 48)
		return -1;
	cella_conn.pcrs[cella_conn.npcrs++].index = (unsigned)idx;
	return 0;
}

/* Apply option name (with its value) to cella_conn: 1 taken, 0 not ours,
 * -1 bad value. */
static int
conn_option(const char *name, const char *val)
{
	char *end;

	if (strcmp(name, "--allow-debug") == 0) {
		cella_conn.allow_debug = true;
		return 1;
	}
	if (val == NULL)
		return 0;
	if (strcmp(name, "--enclave") == 0)
		cella_conn.enclave = val;
	else if (strcmp(name, "--key") == 0)
		cella_conn.key = val;
	else if (strcmp(name, "--root") == 0)
		cella_conn.root = val;
	else if (strcmp(name, "--pcr") == 0)
		return conn_pcr(val) == 0 ? 1 : -1;
	else if (strcmp(name, "--max-age") == 0) {
		unsigned long v = strtoul(val, &end, 10);

		if (*end != '\0' || end == val || v > 86400)
			return -1;
		cella_conn.max_age_s = (unsigned)v;
	} else
		return 0;
	return 1;
}

static bool
takes_value(const char *name)
{
	static const char *const names[] = {"--enclave", "--key", "--root",
					    "--pcr", "--max-age"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(name, names[i]) == 0)
			return true;
	return false;
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

	while (in < *argc) {
		char *a = argv[in], *eq, name[32];
		const char *val = NULL;
		int used = 1, rv;

		if (strcmp(a, "--") == 0)
			break;
		eq = strchr(a, '=');
		if (eq != NULL && (size_t)(eq - a) < sizeof(name) &&
		    strncmp(a, "--", 2) == 0) {
			memcpy(name, a, (size_t)(eq - a));
			name[eq - a] = '\0';
			val = eq + 1;
		} else {
			snprintf(name, sizeof(name), "%s", a);
			if (takes_value(name) && in + 1 < *argc) {
				val = argv[in + 1];
				used = 2;
			}
		}
		rv = conn_option(name, val);
		if (rv < 0 || (rv == 0 && takes_value(name))) {
			fprintf(stderr, "cella: bad %s '%s'\n", name,
				val ? val : "(missing)");
			return EX_USAGE;
		}
		if (rv == 0) {
			argv[out++] = argv[in++];
			continue;
		}
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

/* Exit code for a failed bridge dial, after saying why. */
static int
dial_failed(const char *verb, int rv, const struct cella_diag *d)
{
	if (rv == -EACCES) {
		fprintf(stderr, "cella %s: refused: %s\n", verb, d->msg);
		return EX_NOPERM;
	}
	if (enclave_name[0] != '\0') {
		struct cella_diag n;

		cella_diag_set(&n, rv, "enclave '%s': %s", enclave_name,
			       d->msg[0] ? d->msg : cella_strerror(rv));
		cella_conn_report(verb, rv, n.msg, true);
	} else {
		cella_conn_report(verb, rv, d->msg, true);
	}
	return rv == -EINVAL ? EX_USAGE : EX_UNAVAILABLE;
}

int
cella_conn_parse_leading(int *argc, char ***argv)
{
	char **v = *argv;

	while (*argc >= 2) {
		const char *a = v[1], *val = NULL;
		char name[32];
		int used = 1, rv;
		const char *eq = strchr(a, '=');

		if (strncmp(a, "--", 2) != 0 || strcmp(a, "--") == 0)
			break;
		if (eq != NULL && (size_t)(eq - a) < sizeof(name)) {
			memcpy(name, a, (size_t)(eq - a));
			name[eq - a] = '\0';
			val = eq + 1;
		} else {
			snprintf(name, sizeof(name), "%s", a);
			if (takes_value(name) && *argc >= 3) {
				val = v[2];
				used = 2;
			}
		}
		rv = conn_option(name, val);
		if (rv == 0 && !takes_value(name))
			break; /* not ours: a global option of main's */
		if (rv <= 0) {
			fprintf(stderr, "cella: bad %s '%s'\n", name,
				val ? val : "(missing)");
			return EX_USAGE;
		}
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
	return rv == -EPERM ? EX_NOPERM : EX_NOINPUT;
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
		if ((rv = cella_conn_check_files(verb)) != 0)
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
		return EX_UNAVAILABLE;
	}
	return 0;
}
