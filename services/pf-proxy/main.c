/*
 * cella-pf-proxy: vsock/TCP/unix port forwarding. This first cut relays
 * plain byte streams by rule (--forward LISTEN=TARGET); the attested TLS
 * bridge and the transparent modes build on the same relay later.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "common/net/addr.h"
#include "common/core/log.h"
#include "common/core/ready.h"
#include "services/pf-proxy/pfp.h"

static const char usage_text[] =
	"usage: cella-pf-proxy [--forward LISTEN=TARGET]... \n"
	"                      [--bridge LISTEN=TARGET,roles=R[,R]]...\n"
	"                      [--config cella.yaml] [--ra URL] [--control URL]\n"
	"                      [--max-conns N] [--idle-timeout S]\n"
	"                      [--drain-timeout S] [--ready-fd N] [-v]\n"
	"\n"
	"Relays every connection accepted on LISTEN to a new connection to\n"
	"TARGET, both ways, until both directions end. Addresses:\n"
	"  ipc:///path  unix:///path  abstract://name\n"
	"  tcp://HOST:PORT  tcp://[IPv6]:PORT  vsock://CID:PORT  vsock://any:PORT\n"
	"With CELLA_VSOCK_DIR set, vsock://CID:PORT is the unix socket\n"
	"$CELLA_VSOCK_DIR/CID_PORT and vsock://any uses CELLA_VSOCK_CID.\n"
	"\n"
	"  --forward LISTEN=TARGET  a rule (repeatable, at most 64)\n"
	"  --bridge LISTEN=TARGET,roles=R[,R]\n"
	"                           an attested TLS bridge to a service's ipc\n"
	"                           socket for operators holding one of the\n"
	"                           roles (services, logs, exec, files)\n"
	"  --config FILE            cella.yaml: operators, policy and, unless\n"
	"                           --bridge is given, bridge.rules\n"
	"  --ra URL                 cella-ra-web's internal API\n"
	"                           (default ipc:///run/cella/ra.sock)\n"
	"  --control URL            cella-init's control API, for the event\n"
	"                           log head (default ipc:///run/cella/init.sock)\n"
	"  --max-conns N            open connections at most (default 4096);\n"
	"                           more are accepted and closed at once\n"
	"  --idle-timeout S         close a connection idle S seconds (0: never)\n"
	"  --drain-timeout S        on SIGTERM, let open connections finish for\n"
	"                           S seconds (default 10), then close them\n"
	"  --check                  validate the rules and exit\n"
	"  --ready-fd N             write one line to fd N once listening\n"
	"  -v                       more logging (repeatable)\n"
	"  -h, --help               this text\n"
	"\n"
	"Example: cella-pf-proxy --forward tcp://127.0.0.1:8443=vsock://16:8443\n";

static int
usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "cella-pf-proxy: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n(try --help)\n");
	return EX_USAGE;
}

/* Whole seconds, 0..max. */
static int
parse_seconds(const char *arg, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (arg[0] < '0' || arg[0] > '9')
		return -1;
	v = strtoull(arg, &end, 10);
	if (*end != '\0' || v > max)
		return -1;
	*out = v;
	return 0;
}

static int
check_rule(char *arg, struct pfp_opts *o)
{
	struct cella_addr a;
	struct cella_diag d;
	struct pfp_rule *r;

	if (o->nrules == PFP_RULES_MAX)
		return usage_error("more than %s rules", "64");
	r = &o->rules[o->nrules];
	if (pfp_rule_parse(arg, r, &d) < 0 ||
	    cella_addr_parse(r->listen, &a, &d) < 0 ||
	    cella_addr_parse(r->target, &a, &d) < 0)
		return usage_error("%s", d.msg);
	o->nrules++;
	return 0;
}

/* The bridge's options: the config first, then the flags over it. */
static int
bridge_setup(struct pfp_bridge_opts *b, const char *config,
	     const struct pfp_bridge_rule *rules, size_t n, const char *ra,
	     const char *control)
{
	struct cella_diag d;

	snprintf(b->ra_url, sizeof(b->ra_url), "ipc:///run/cella/ra.sock");
	snprintf(b->init_url, sizeof(b->init_url), "ipc:///run/cella/init.sock");
	if (config != NULL && pfp_bridge_from_config(config, b, &d) < 0) {
		fprintf(stderr, "cella-pf-proxy: %s\n", d.msg);
		return EX_CONFIG;
	}
	if (n > 0) {
		memcpy(b->rules, rules, n * sizeof(*rules));
		b->nrules = n;
	}
	if (b->nrules > 0 && config == NULL)
		return usage_error("%s", "--bridge needs --config (the "
					 "operators allowed in)");
	if (ra != NULL)
		snprintf(b->ra_url, sizeof(b->ra_url), "%s", ra);
	if (control != NULL)
		snprintf(b->init_url, sizeof(b->init_url), "%s", control);
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"forward", required_argument, NULL, 'f'},
		{"max-conns", required_argument, NULL, 'm'},
		{"idle-timeout", required_argument, NULL, 'i'},
		{"drain-timeout", required_argument, NULL, 'D'},
		{"ready-fd", required_argument, NULL, 'r'},
		{"check", no_argument, NULL, 'n'},
		{"bridge", required_argument, NULL, 'b'},
		{"config", required_argument, NULL, 'c'},
		{"ra", required_argument, NULL, 'R'},
		{"control", required_argument, NULL, 'C'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	static struct pfp_opts o = {.ready_fd = -1,
			     .drain_timeout_ms = 10000,
			     .relay = {.max_conns = CELLA_RELAY_MAX_CONNS}};
	struct pfp_bridge_rule flags_rules[PFP_BRIDGES_MAX];
	size_t nflags = 0;
	const char *config = NULL, *ra = NULL, *control = NULL;
	struct cella_diag d;
	uint64_t v;
	int ch, rv, check = 0;

	cella_log_init("pf-proxy", CELLA_LOG_INFO);
	while ((ch = getopt_long(argc, argv, "vhn", longopts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			if ((rv = check_rule(optarg, &o)) != 0)
				return rv;
			break;
		case 'm':
			if (parse_seconds(optarg, 1000000, &v) < 0 || v == 0)
				return usage_error("bad --max-conns '%s' "
						   "(1-1000000)", optarg);
			o.relay.max_conns = (unsigned)v;
			break;
		case 'i':
			if (parse_seconds(optarg, 86400 * 365, &v) < 0)
				return usage_error("bad --idle-timeout '%s' "
						   "(seconds)", optarg);
			o.relay.idle_timeout_ms = v * 1000;
			break;
		case 'D':
			if (parse_seconds(optarg, 3600, &v) < 0)
				return usage_error("bad --drain-timeout '%s' "
						   "(0-3600 seconds)", optarg);
			o.drain_timeout_ms = v * 1000;
			break;
		case 'r':
			if ((o.ready_fd = cella_ready_parse(optarg)) < 0)
				return usage_error("bad --ready-fd '%s' (an "
						   "open descriptor)", optarg);
			break;
		case 'n':
			check = 1;
			break;
		case 'b':
			if (nflags == PFP_BRIDGES_MAX)
				return usage_error("more than %s bridges", "16");
			if (pfp_bridge_rule_parse(optarg, &flags_rules[nflags++],
						  &d) < 0)
				return usage_error("%s", d.msg);
			break;
		case 'c':
			config = optarg;
			break;
		case 'R':
			ra = optarg;
			break;
		case 'C':
			control = optarg;
			break;
		case 'v':
			cella_log_verbose();
			break;
		case 'h':
			fputs(usage_text, stdout);
			return 0;
		default:
			return usage_error("%s", "bad option");
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if ((rv = bridge_setup(&o.bridge, config, flags_rules, nflags, ra,
			       control)) != 0)
		return rv;
	if (o.nrules == 0 && o.bridge.nrules == 0)
		return usage_error("%s", "no --forward or --bridge rule given");
	if (check)
		return 0;
	/* Bridge handshakes run on libuv's workers: room for them. */
	setenv("UV_THREADPOOL_SIZE", "16", 0);
	return pfp_run(&o);
}
