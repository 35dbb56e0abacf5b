/*
 * bridge: the enclave side of the attested TLS bridge. Each rule listens
 * (vsock://any:PORT) for operators and, per connection: on the loop,
 * without blocking and under short deadlines, the TLS 1.3 handshake with
 * the key generated at start, the hello and the operator's authorization
 * by key and roles; then, on a worker thread and for an admitted operator
 * only, the rest of the attestation exchange (atls.h: a document from
 * cella-ra-web bound to the session and to init's event log head) and a
 * session opened on the target service for that operator.
 * The verified stream and the session socket are then joined in the relay,
 * on the loop thread, so every byte after that is the service's nng
 * framing, inside TLS.
 *
 * It does not parse nng and does not decide what an operator may do inside
 * a service: the session carries the operator's name and roles, and the
 * service checks each request.
 */
#ifndef CELLA_PFP_BRIDGE_H
#define CELLA_PFP_BRIDGE_H

#include <stdint.h>
#include <uv.h>

#include "common/rpc/operators.h"
#include "common/net/relay.h"

#define PFP_BRIDGES_MAX 16
/* Defaults of bridge.first_byte_ms, .hello_ms and .pending_max. */
#define PFP_BRIDGE_FIRST_BYTE_MS 2000 /* from the accept to the first byte */
#define PFP_BRIDGE_HELLO_MS 5000      /* from the accept to the whole hello */
#define PFP_BRIDGE_PENDING_MAX 256    /* connections not yet relayed */

struct pfp_bridge_rule {
	char listen[320];
	char target[320]; /* the service's own ipc:// socket */
	uint32_t roles;	  /* an operator needs at least one of these */
};

struct pfp_bridge_opts {
	struct pfp_bridge_rule rules[PFP_BRIDGES_MAX];
	size_t nrules;
	struct cella_operators ops;
	char ra_url[320];   /* cella-ra-web's internal API */
	char init_url[320]; /* cella-init's control API (event log head) */
	char name[64];	    /* the server certificate's CN */
	unsigned first_byte_ms, hello_ms, pending_max; /* 0: the defaults */
};

/* Parse "LISTEN=TARGET,roles=R[,R]" into *out; -EINVAL with d. */
int pfp_bridge_rule_parse(const char *arg, struct pfp_bridge_rule *out,
			  struct cella_diag *d);

/* Fill o's rules, operators and service URLs from a cella.yaml. */
int pfp_bridge_from_config(const char *path, struct pfp_bridge_opts *o,
			   struct cella_diag *d);

struct pfp_bridge;

/* Listen on every rule; joined streams go to relay. */
int pfp_bridge_start(uv_loop_t *loop, struct cella_relay *relay,
		     const struct pfp_bridge_opts *o, struct pfp_bridge **out,
		     struct cella_diag *d);
/* Stop accepting; connections not yet relayed end without joining. */
void pfp_bridge_stop(struct pfp_bridge *b);
/* Connections not yet relayed or freed (the loop must run until 0). */
unsigned pfp_bridge_pending(const struct pfp_bridge *b);
/* Free after stop, once nothing is pending and handles are closed. */
void pfp_bridge_free(struct pfp_bridge *b);

#endif
