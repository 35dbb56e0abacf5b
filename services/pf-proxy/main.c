/*
 * cella-pf-proxy: vsock/TCP/unix port forwarding. main() reads the flags
 * (one option table), builds the plain relay rules (--forward) and the
 * attested TLS bridge's rules (--bridge, or bridge.rules in cella.yaml),
 * stops there for --check-config, and runs pfp.c until SIGTERM drained it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "common/net/addr.h"
#include "common/core/log.h"
#include "common/core/opts.h"
#include "common/core/ready.h"
#include "proto/ports.h"
#include "services/pf-proxy/pfp.h"

#define STR_(x) #x
#define STR(x) STR_(x)

/* What the flags say, before the bridge's config is read. */
static struct {
	struct pfp_opts o;
	struct pfp_bridge_rule bridges[PFP_BRIDGES_MAX];
	size_t nbridges;
	const char *config, *ra, *control;
	uint64_t max_conns;
	bool check;
} args = {
	.o = {.ready_fd = -1, .drain_timeout_ms = 10000},
	.max_conns = CELLA_RELAY_MAX_CONNS,
};

static int
add_forward(void *dst, const char *word, struct cella_diag *d)
{
	struct pfp_opts *o = dst;
	struct cella_addr a;
	struct pfp_rule *r;
	char *arg = (char *)word; /* pfp_rule_parse cuts argv's word */

	if (o->nrules == PFP_RULES_MAX)
		return cella_diag_set(d, -E2BIG, "more than %d rules",
				      PFP_RULES_MAX);
	r = &o->rules[o->nrules];
	if (pfp_rule_parse(arg, r, d) < 0)
		return -EINVAL;
	if (cella_addr_parse(r->listen, &a, d) < 0 ||
	    cella_addr_parse(r->target, &a, d) < 0) {
		arg[r->target - 1 - arg] = '='; /* whole again, for the error */
		return -EINVAL;
	}
	o->nrules++;
	return 0;
}

static int
add_bridge(void *dst, const char *word, struct cella_diag *d)
{
	(void)dst;
	if (args.nbridges == PFP_BRIDGES_MAX)
		return cella_diag_set(d, -E2BIG, "more than %d bridges",
				      PFP_BRIDGES_MAX);
	if (pfp_bridge_rule_parse(word, &args.bridges[args.nbridges], d) < 0)
		return -EINVAL;
	args.nbridges++;
	return 0;
}

static const struct cella_opt flags[] = {
	{"forward", 0, CELLA_OPT_FUNC, &args.o, .fn = add_forward,
	 .metavar = "LISTEN=TARGET",
	 .help = "a rule (repeatable, at most " STR(PFP_RULES_MAX) ")"},
	{"bridge", 0, CELLA_OPT_FUNC, NULL, .fn = add_bridge,
	 .metavar = "LISTEN=TARGET,roles=R[,R]",
	 .help = "an attested TLS bridge to a service's ipc socket for\n"
		 "operators holding one of the roles (services, logs,\n"
		 "exec, files); repeatable, at most " STR(PFP_BRIDGES_MAX)},
	{"config", 0, CELLA_OPT_STR, &args.config, .metavar = "FILE",
	 .help = "cella.yaml: operators, policy and, unless --bridge\n"
		 "is given, bridge.rules"},
	{"ra", 0, CELLA_OPT_STR, &args.ra, .metavar = "URL",
	 .help = "cella-ra-web's internal API\n(default " CELLA_IPC_RA_URL ")"},
	{"control", 0, CELLA_OPT_STR, &args.control, .metavar = "URL",
	 .help = "cella-init's control API, for the event log head\n"
		 "(default " CELLA_IPC_INIT_URL ")"},
	{"max-conns", 0, CELLA_OPT_U64, &args.max_conns, .min = 1,
	 .max = 1000000, .metavar = "N",
	 .help = "open connections at most (default 4096); more are\n"
		 "accepted and closed at once"},
	{"idle-timeout", 0, CELLA_OPT_SECONDS, &args.o.relay.idle_timeout_ms,
	 .max = 86400 * 365, .metavar = "S",
	 .help = "close a connection idle S seconds (0: never)"},
	{"drain-timeout", 0, CELLA_OPT_SECONDS, &args.o.drain_timeout_ms,
	 .max = 3600, .metavar = "S",
	 .help = "on SIGTERM, let open connections finish for S\n"
		 "seconds (default 10), then close them"},
	{"check-config", 'n', CELLA_OPT_FLAG, &args.check,
	 .help = "validate the rules and the config, and exit"},
	{"ready-fd", 0, CELLA_OPT_FD, &args.o.ready_fd, .metavar = "N",
	 .help = "write one line to fd N once listening"},
	{"verbose", 'v', CELLA_OPT_ACTION, .fn = cella_opt_verbose,
	 .help = "more logging (repeatable)"},
	{0},
};

static const struct cella_optset optset = {
	.prog = "cella-pf-proxy",
	.args = "[--forward LISTEN=TARGET]... [--bridge RULE]... [OPTIONS]",
	.about = "Relays every connection accepted on LISTEN to a new "
		 "connection to\n"
		 "TARGET, both ways, until both directions end. Addresses:\n"
		 "  ipc:///path  unix:///path  abstract://name\n"
		 "  tcp://HOST:PORT  tcp://[IPv6]:PORT  vsock://CID:PORT  "
		 "vsock://any:PORT\n"
		 "With CELLA_VSOCK_DIR set, vsock://CID:PORT is the unix "
		 "socket\n"
		 "$CELLA_VSOCK_DIR/CID_PORT and vsock://any uses "
		 "CELLA_VSOCK_CID.\n",
	.opts = flags,
	.more = "Example: cella-pf-proxy --forward "
		"tcp://127.0.0.1:8443=vsock://16:8443\n",
};

static int
usage_error(const char *msg)
{
	fprintf(stderr, "cella-pf-proxy: %s (try 'cella-pf-proxy --help')\n",
		msg);
	return EX_USAGE;
}

/* The bridge's options: the config first, then the flags over it. */
static int
bridge_setup(struct pfp_bridge_opts *b, const char *config,
	     const struct pfp_bridge_rule *rules, size_t n, const char *ra,
	     const char *control)
{
	struct cella_diag d;

	snprintf(b->ra_url, sizeof(b->ra_url), "%s", CELLA_IPC_RA_URL);
	snprintf(b->init_url, sizeof(b->init_url), "%s", CELLA_IPC_INIT_URL);
	if (config != NULL && pfp_bridge_from_config(config, b, &d) < 0) {
		fprintf(stderr, "cella-pf-proxy: %s\n", d.msg);
		return EX_CONFIG;
	}
	if (n > 0) {
		memcpy(b->rules, rules, n * sizeof(*rules));
		b->nrules = n;
	}
	if (b->nrules > 0 && config == NULL)
		return usage_error("--bridge needs --config (the operators "
				   "allowed in)");
	if (ra != NULL)
		snprintf(b->ra_url, sizeof(b->ra_url), "%s", ra);
	if (control != NULL)
		snprintf(b->init_url, sizeof(b->init_url), "%s", control);
	return 0;
}

int
main(int argc, char **argv)
{
	int first, rv;

	cella_log_init("pf-proxy", CELLA_LOG_INFO);
	rv = cella_opts_parse(&optset, argc, argv, &first);
	if (rv != CELLA_OPTS_RUN)
		return cella_opts_exit(rv);
	args.o.relay.max_conns = (unsigned)args.max_conns;
	if ((rv = bridge_setup(&args.o.bridge, args.config, args.bridges,
			       args.nbridges, args.ra, args.control)) != 0)
		return rv;
	if (args.o.nrules == 0 && args.o.bridge.nrules == 0)
		return usage_error("no --forward or --bridge rule given");
	if (args.check)
		return 0;
	/* Bridge handshakes run on libuv's workers: room for them. */
	setenv("UV_THREADPOOL_SIZE", "16", 0);
	return pfp_run(&args.o);
}
