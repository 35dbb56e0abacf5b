/*
 * cella-ra-web: the attestation authority of a cella enclave, the only
 * process that talks to the NSM. main() reads: parse flags, load and
 * validate the configuration (--check-config and --print-config stop
 * there), then run (srv.c) until SIGTERM has drained it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sysexits.h>

#include "common/conf/cella/cellacfg.h"
#include "common/core/log.h"
#include "common/core/opts.h"
#include "common/core/ready.h"
#include "services/ra-web/config.h"
#include "services/ra-web/srv.h"

struct opts {
	const char *config;
	const char *flags[RA_FLAG_COUNT];
	int ready_fd;
	bool check, print;
};

static struct opts o = {.ready_fd = -1};

static const struct cella_opt flags[] = {
	{"config", 'c', CELLA_OPT_STR, &o.config, .metavar = "FILE",
	 .help = "cella.yaml; its attestation: section applies"},
	{"listen", 0, CELLA_OPT_STR, &o.flags[RA_FLAG_LISTEN],
	 .metavar = "URL", .help = "attestation.https.listen (tcp://ADDR:PORT)"},
	{"ra-socket", 0, CELLA_OPT_STR, &o.flags[RA_FLAG_RA_SOCKET],
	 .metavar = "URL", .help = "attestation.internal.listen"},
	{"provider", 0, CELLA_OPT_STR, &o.flags[RA_FLAG_PROVIDER],
	 .metavar = "P", .help = "attestation.provider (auto, nsm, sim)"},
	{"sim-ca", 0, CELLA_OPT_STR, &o.flags[RA_FLAG_SIM_CA],
	 .metavar = "DIR", .help = "attestation.sim.ca"},
	{"measurements", 0, CELLA_OPT_STR, &o.flags[RA_FLAG_MEASUREMENTS],
	 .metavar = "F", .help = "attestation.sim.measurements"},
	{"client-ca", 0, CELLA_OPT_STR, &o.flags[RA_FLAG_CLIENT_CA],
	 .metavar = "PEM", .help = "attestation.https.client_ca (mTLS)"},
	{"tls-min", 0, CELLA_OPT_STR, &o.flags[RA_FLAG_TLS_MIN],
	 .metavar = "V", .help = "attestation.https.tls_min (1.2, 1.3)"},
	{"ready-fd", 0, CELLA_OPT_FD, &o.ready_fd, .metavar = "N",
	 .help = "write one line to fd N once serving"},
	{"check-config", 0, CELLA_OPT_FLAG, &o.check,
	 .help = "validate the configuration and exit"},
	{"print-config", 0, CELLA_OPT_FLAG, &o.print,
	 .help = "print the effective section and exit"},
	{"verbose", 'v', CELLA_OPT_ACTION, .fn = cella_opt_verbose,
	 .help = "more logging (repeatable)"},
	{0},
};

static void
more_help(FILE *f)
{
	cella_conf_print_docs(f, cella_cfg_attestation_keys);
}

static const struct cella_optset optset = {
	.prog = "cella-ra-web",
	.args = "[OPTIONS]",
	.about = "The attestation authority: the only process that talks to "
		 "the NSM.\n"
		 "HTTPS for remote verifiers:\n"
		 "  GET /v1/attestation?nonce=HEX  a fresh document (CBOR, or "
		 "JSON by Accept)\n"
		 "  GET /v1/certificate            the TLS certificate and a "
		 "document binding\n"
		 "                                 its SPKI SHA-256 in "
		 "user_data\n"
		 "  GET /v1/pcrs  /healthz  /metrics\n"
		 "and an nng API for cella's services (proto/ra.cddl).\n",
	.opts = flags,
	.more = "Flags override the file. SIGTERM drains: no new connections, "
		"requests in\n"
		"flight finish (attestation.drain_timeout_ms), exit 0.\n"
		"\n"
		"Keys of the attestation: section:\n",
	.more_fn = more_help,
};

int
main(int argc, char **argv)
{
	struct cella_diag d = {{0}};
	struct ra_conf *conf;
	int rv, first;

	cella_log_init("ra-web", CELLA_LOG_INFO);
	rv = cella_opts_parse(&optset, argc, argv, &first);
	if (rv != CELLA_OPTS_RUN)
		return cella_opts_exit(rv);
	conf = calloc(1, sizeof(*conf));
	if (conf == NULL)
		return EX_OSERR;
	rv = ra_conf_load(o.config, o.flags, o.print ? stdout : NULL, conf, &d);
	if (rv < 0) {
		if (o.check || o.print)
			fprintf(stderr, "cella-ra-web: %s\n", d.msg);
		else
			cella_log_error("config_failed", "msg=%s", cella_q(d.msg));
		free(conf);
		return EX_CONFIG; /* a missing file too: permanent, not 66 */
	}
	if (o.check || o.print) {
		free(conf);
		return 0;
	}
	rv = ra_srv_run(conf, o.ready_fd);
	free(conf);
	return rv;
}
