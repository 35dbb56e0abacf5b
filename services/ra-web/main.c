/*
 * cella-ra-web: the attestation authority of a cella enclave, the only
 * process that talks to the NSM. main() reads: parse flags, load and
 * validate the configuration (--check-config and --print-config stop
 * there), then run (srv.c) until SIGTERM has drained it.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <sysexits.h>

#include "common/conf/cella/cellacfg.h"
#include "common/core/log.h"
#include "common/core/ready.h"
#include "services/ra-web/config.h"
#include "services/ra-web/srv.h"

struct opts {
	const char *config;
	const char *flags[RA_FLAG_COUNT];
	int ready_fd;
	bool check, print;
};

static void
usage(FILE *f)
{
	fputs("usage: cella-ra-web [--config FILE] [--listen URL] "
	      "[--ra-socket URL]\n"
	      "                    [--provider auto|nsm|sim] [--sim-ca DIR] "
	      "[--measurements FILE]\n"
	      "                    [--client-ca PEM] [--tls-min 1.2|1.3] "
	      "[--ready-fd N]\n"
	      "                    [--check-config] [--print-config] [-v]\n"
	      "\n"
	      "The attestation authority: the only process that talks to the "
	      "NSM.\n"
	      "HTTPS for remote verifiers:\n"
	      "  GET /v1/attestation?nonce=HEX  a fresh document (CBOR, or "
	      "JSON by Accept)\n"
	      "  GET /v1/certificate            the TLS certificate and a "
	      "document binding\n"
	      "                                 its SPKI SHA-256 in "
	      "user_data\n"
	      "  GET /v1/pcrs  /healthz  /metrics\n"
	      "and an nng API for cella's services (proto/ra.cddl).\n"
	      "\n"
	      "  --config FILE       cella.yaml; its attestation: section "
	      "applies\n"
	      "  --listen URL        attestation.https.listen (tcp://ADDR:PORT)\n"
	      "  --ra-socket URL     attestation.internal.listen\n"
	      "  --provider P        attestation.provider\n"
	      "  --sim-ca DIR        attestation.sim.ca\n"
	      "  --measurements F    attestation.sim.measurements\n"
	      "  --client-ca PEM     attestation.https.client_ca (mTLS)\n"
	      "  --tls-min V         attestation.https.tls_min\n"
	      "  --ready-fd N        write one line to fd N once serving\n"
	      "  --check-config      validate and exit\n"
	      "  --print-config      print the effective section and exit\n"
	      "  -v                  more logging (repeatable)\n"
	      "  -h, --help          this text\n"
	      "Flags override the file. SIGTERM drains: no new connections, "
	      "requests in\n"
	      "flight finish (attestation.drain_timeout_ms), exit 0.\n"
	      "\n"
	      "Keys of the attestation: section:\n",
	      f);
	cella_conf_print_docs(f, cella_cfg_attestation_keys);
}

static int
parse_flags(int argc, char **argv, struct opts *o)
{
	static const struct option longs[] = {
		{"listen", required_argument, NULL, RA_FLAG_LISTEN},
		{"ra-socket", required_argument, NULL, RA_FLAG_RA_SOCKET},
		{"provider", required_argument, NULL, RA_FLAG_PROVIDER},
		{"sim-ca", required_argument, NULL, RA_FLAG_SIM_CA},
		{"measurements", required_argument, NULL, RA_FLAG_MEASUREMENTS},
		{"client-ca", required_argument, NULL, RA_FLAG_CLIENT_CA},
		{"tls-min", required_argument, NULL, RA_FLAG_TLS_MIN},
		{"config", required_argument, NULL, 'c'},
		{"ready-fd", required_argument, NULL, 'r'},
		{"check-config", no_argument, NULL, 'n'},
		{"print-config", no_argument, NULL, 'p'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	int ch;

	o->ready_fd = -1;
	while ((ch = getopt_long(argc, argv, "c:vh", longs, NULL)) != -1) {
		if (ch >= 0 && ch < RA_FLAG_COUNT) {
			o->flags[ch] = optarg;
			continue;
		}
		switch (ch) {
		case 'c': o->config = optarg; break;
		case 'n': o->check = true; break;
		case 'p': o->print = true; break;
		case 'v': cella_log_verbose(); break;
		case 'h': usage(stdout); exit(0);
		case 'r':
			o->ready_fd = cella_ready_parse(optarg);
			if (o->ready_fd < 0) {
				fprintf(stderr, "cella-ra-web: --ready-fd %s: %s\n",
					optarg, cella_strerror(o->ready_fd));
				return EX_USAGE;
			}
			break;
		default:
			fprintf(stderr, "cella-ra-web: try --help\n");
			return EX_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "cella-ra-web: unexpected argument '%s' (try "
				"--help)\n",
			argv[optind]);
		return EX_USAGE;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct opts o = {0};
	struct cella_diag d = {{0}};
	struct ra_conf *conf;
	int rv;

	cella_log_init("ra-web", CELLA_LOG_INFO);
	if ((rv = parse_flags(argc, argv, &o)) != 0)
		return rv;
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
		return rv == -EINVAL ? EX_CONFIG : EX_NOINPUT;
	}
	if (o.check || o.print) {
		free(conf);
		return 0;
	}
	rv = ra_srv_run(conf, o.ready_fd);
	free(conf);
	return rv;
}
