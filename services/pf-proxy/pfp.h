/*
 * pfp: cella-pf-proxy's daemon core: a relay with the forwarding rules, a
 * signalfd for SIGTERM/SIGINT, and the drain on shutdown. main.c parses the
 * command line into struct pfp_opts and calls pfp_run.
 */
#ifndef CELLA_PFP_H
#define CELLA_PFP_H

#include <stddef.h>
#include <stdint.h>

#include "common/net/relay.h"
#include "services/pf-proxy/bridge.h"

#define PFP_RULES_MAX 64

struct pfp_rule {
	const char *listen;
	const char *target;
};

struct pfp_opts {
	struct pfp_rule rules[PFP_RULES_MAX];
	size_t nrules;
	struct pfp_bridge_opts bridge; /* bridge.nrules > 0: bridging */
	struct cella_relay_opts relay;
	uint64_t drain_timeout_ms;
	int ready_fd;
};

/*
 * Split "LISTEN=TARGET" at the '=' that starts the target URL (URLs may
 * themselves hold '='). Points into arg, which is modified.
 */
int pfp_rule_parse(char *arg, struct pfp_rule *out, struct cella_diag *d);

/* Run until SIGTERM/SIGINT and the drain; returns an exit code. */
int pfp_run(const struct pfp_opts *o);

#endif
