/*
 * conn: how every verb of the CLI reaches a service. Inside the enclave (or
 * in tests) a service is a local nng URL; from the host it is a port of the
 * enclave's attested bridge, reached over vsock through attested TLS with
 * the operator's key, after the enclave's attestation document has been
 * verified against the pinned root and PCRs.
 *
 * The connection options are the same for every verb that connects and may
 * stand before the verb or anywhere among its arguments before a "--"
 * (main.c takes them out before the verb sees argv):
 *   --enclave URL|NAME  the enclave: vsock://CID (default ports per
 *                       service), vsock://CID:PORT (that port), or the
 *                       name of an enclave started by `cella up`
 *   --key PATH          operator key (default ~/.config/cella/operator.pem)
 *   --root PEM          pinned attestation root (default: AWS Nitro G1, or
 *                       the enclave's simulation root for a named enclave)
 *   --pcr N=HEX         expected PCR (repeatable)
 *   --allow-debug       accept a debug-mode enclave
 *   --max-age S         refuse documents older than S seconds (default 60)
 * Without --enclave, the local URL: $CELLA_CONTROL / $CELLA_PIPELINE /
 * $CELLA_RA or the default ipc:///run/cella/{init,pipeline,ra}.sock;
 * except that when none of --enclave, --control, $CELLA_CONTROL and
 * $CELLA_PIPELINE is given and ./cella.yaml names an enclave that `cella
 * up` runs on this host, that enclave is meant (as docker compose's verbs
 * mean the project in the current directory).
 */
#ifndef CELLA_CLI_CONN_H
#define CELLA_CLI_CONN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/bridge/atls.h"
#include "common/rpc/rpc.h"
#include "common/attest/verify.h"

enum cella_svc {
	CELLA_SVC_INIT,
	CELLA_SVC_PIPELINE,
	CELLA_SVC_RA,
};

#define CELLA_CONN_PCRS_MAX 32

struct cella_conn_opts {
	const char *enclave;
	const char *key;
	const char *root;
	bool allow_debug;
	uint64_t max_age_s;
	size_t npcrs;
	struct {
		unsigned index;
		uint8_t value[48];
	} pcrs[CELLA_CONN_PCRS_MAX];
};

/* The options main.c parsed for this run. */
extern struct cella_conn_opts cella_conn;

/*
 * Take the connection options out of argv[1..] (before any "--"), into
 * cella_conn. Returns 0, or 64 after printing what was wrong. main.c does
 * this for the verbs that connect (struct cella_cmd.connects).
 */
int cella_conn_parse_args(int *argc, char **argv);

/*
 * The same for options standing before the verb (`cella --enclave X ps`):
 * consumes them from the front of argv, leaving argv[0] the program.
 */
int cella_conn_parse_leading(int *argc, char ***argv);

/* The connection options' --help lines (a heading, then the flags). */
void cella_conn_print_usage(FILE *f);

/*
 * An rpc client for svc (local, or through the bridge when --enclave was
 * given). Errors are printed once as "cella VERB: ..."; returns 0 or
 * -errno for cella_exit_from_err: -EACCES refused by policy or
 * attestation, -EPERM or -ENOKEY the key or root files
 * (cella_conn_check_files), -EINVAL a bad --enclave, -ETIMEDOUT, else an
 * error of the unreachable kind (cella_conn_unreachable).
 */
int cella_conn_open(const char *verb, enum cella_svc svc, int timeout_ms,
		    struct cella_rpc_client **out);

/*
 * For verbs that need the attested stream itself (cella attest): dial svc's
 * bridge port with the connection options. Needs --enclave.
 */
int cella_conn_dial(enum cella_svc svc, int timeout_ms, int *fd, SSL **ssl,
		    struct cella_atls_peer *peer, struct cella_diag *d);

/* The verification policy the connection options describe (*root is the
 * caller's to X509_free). */
int cella_conn_policy(struct cella_verify_policy *pol, X509 **root,
		      struct cella_diag *d);

/*
 * Resolve --enclave NAME (an enclave `cella up` runs) into its vsock URL,
 * CELLA_VSOCK_DIR, simulation root, operator key and pinned PCRs (flags
 * win); a URL is left alone. Dialling does it; verbs that need the pins
 * before call it. -ENOENT: no such enclave; -ECONNREFUSED: not running.
 */
int cella_conn_resolve(struct cella_diag *d);

/*
 * Report a failed dial (dialing) or call: "cella VERB: MSG" (MSG names the
 * connection; NULL or "": err's text) and, on the same line, what the
 * operator can do about a connection that was lost, or (dialing) refused
 * or silent. A call's other errors are the service's own answers and
 * carry their own advice.
 */
void cella_conn_report(const char *verb, int err, const char *msg,
		       bool dialing);

/* The local URL of svc (environment override or default). */
const char *cella_conn_local_url(enum cella_svc svc);

/*
 * For a verb that reaches an enclave through the bridge: the operator key
 * and the pinned root the options name, read before any dial so that a
 * path error ends like one. 0 when both are fine (or no enclave is
 * meant); else, after saying why, -ENOKEY (66: missing, unreadable or not
 * a key or certificate) or -EPERM (77: a key others can read).
 */
int cella_conn_check_files(const char *verb);

/*
 * A failed dial as the verb should map it: err itself when its exit code
 * says something of its own (64 usage, 69 unreachable, 75 timeout, 77
 * refused), else -EHOSTUNREACH (69): the service was not reached.
 */
int cella_conn_unreachable(int err);

#endif
