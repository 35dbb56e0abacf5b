/*
 * bridge_int: what bridge.c (listeners, the pending list, lifecycle),
 * bridge_conn.c (one connection until the relay takes it) and bridge_rpc.c
 * (the calls to ra-web, init and the services, from workers) share. Not a
 * contract for anyone else.
 */
#ifndef CELLA_PFP_BRIDGE_INT_H
#define CELLA_PFP_BRIDGE_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <uv.h>

#include "common/net/addr.h"
#include "common/bridge/atls.h"
#include "services/pf-proxy/bridge.h"

#define PFP_BRIDGE_CLIENTS_MAX (PFP_BRIDGES_MAX + 2)

/* A cached rpc client; freed only once no worker holds it (refs). */
struct pfp_svc_client {
	char url[320];
	struct cella_rpc_client *c;
	unsigned refs;
	bool stale; /* failed: no new holders, freed at the last release */
};

struct pfp_listener {
	struct pfp_bridge *b;
	const struct pfp_bridge_rule *rule;
	struct cella_addr addr;
	int fd;
	uv_poll_t poll;
	bool open;
};

/*
 * A connection's phases. Everything before WORK runs on the loop without
 * blocking, under the pre-authentication deadlines; WORK runs on a worker
 * and only for an operator the measured list admits.
 */
enum pfp_bconn_state {
	BC_IDLE,     /* accepted, not a byte yet (first_byte_ms) */
	BC_TLS,	     /* the TLS handshake (hello_ms from the accept) */
	BC_HELLO,    /* reading the hello frame (hello_ms) */
	BC_REFUSING, /* writing a refusal, then waiting for the peer's EOF */
	BC_WORK,     /* an admitted operator, on a worker */
	BC_CLOSING,  /* handles closing; freed when the last one is */
};

struct pfp_bconn {
	struct pfp_bridge *b;
	const struct pfp_bridge_rule *rule;
	uint64_t id;
	enum pfp_bconn_state state;
	int fd, sfd;
	SSL *ssl;
	uv_poll_t poll;
	uv_timer_t timer;
	unsigned refs; /* open handles, plus one while on a worker */
	uint64_t accepted_ms;
	struct cella_atls_reader rd;
	struct cella_buf out; /* a refusal being written */
	size_t out_off;
	uint8_t nonce[CELLA_ATLS_NONCE_LEN];
	struct cella_operator op;
	char session[CELLA_ADDR_URL_MAX + 1]; /* the service's session URL */
	uv_work_t req;
	int rv;
	struct cella_diag d;
	TAILQ_ENTRY(pfp_bconn) link; /* b->conns, oldest first */
};

TAILQ_HEAD(pfp_bconn_list, pfp_bconn);

struct pfp_bridge {
	uv_loop_t *loop;
	struct cella_relay *relay;
	struct pfp_bridge_opts o;
	SSL_CTX *ctx;
	struct pfp_listener l[PFP_BRIDGES_MAX];
	struct pfp_bconn_list conns; /* every connection not yet relayed */
	unsigned nconns;	     /* on conns, closing ones included */
	bool stopping;
	uint64_t seq;
	pthread_mutex_t mu; /* clients */
	struct pfp_svc_client clients[PFP_BRIDGE_CLIENTS_MAX];
};

/* bridge_conn.c: take fd (accepted on l) into the handshake. */
void pfp_bconn_start(struct pfp_listener *l, int fd);
/* Close c now (eviction, shutdown); a no-op on a worker's connection. */
void pfp_bconn_abort(struct pfp_bconn *c, const char *evt, const char *why);

/* bridge_rpc.c: the operator key's roles on c's rule; -EACCES with d. */
int pfp_bridge_authorize(struct pfp_bconn *c, const uint8_t key[32],
			 struct cella_diag *d);
/* The exchange's service calls, for cella_atls_serve_admitted (arg: c). */
extern const struct cella_atls_server_ops pfp_bridge_ops;
/* Connect c's session socket (after the client's ok); 0 or -errno. */
int pfp_bridge_connect_session(struct pfp_bconn *c);
/* Close every cached client (at free). */
void pfp_bridge_clients_free(struct pfp_bridge *b);

#endif
