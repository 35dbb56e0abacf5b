/*
 * bridge: the attested bridge's listeners, the list of connections not yet
 * relayed, and its lifecycle. A connection is taken off the listener at
 * once, whatever its peer does next (bridge_conn.c runs it on the loop
 * until an operator is admitted), so the listen backlog never fills behind
 * idle peers. At most pending_max are pending at a time; when one more
 * arrives, the oldest that has not been admitted is dropped for it, a peer
 * that has not sent a byte before one that has, so a crowd of idle
 * connections can delay an operator by no more than a handshake. Only
 * when every pending connection is an admitted operator's is the newcomer
 * refused.
 */
#include "services/pf-proxy/bridge.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/core/log.h"
#include "common/bridge/tls.h"
#include "services/pf-proxy/bridge_int.h"

/* --- the pending list ----------------------------------------------------- */

/* The oldest connection in state st, or NULL. */
static struct pfp_bconn *
oldest_in(struct pfp_bridge *b, enum pfp_bconn_state st)
{
	struct pfp_bconn *c;

	TAILQ_FOREACH(c, &b->conns, link)
		if (c->state == st)
			return c;
	return NULL;
}

/*
 * Room for one more: count what is pending (closing ones are gone in all
 * but memory) and, when full, drop the oldest not yet admitted: one being
 * refused, then one that never sent a byte, then one in its handshake.
 */
static bool
make_room(struct pfp_bridge *b)
{
	static const enum pfp_bconn_state order[] = {BC_REFUSING, BC_IDLE,
						     BC_TLS, BC_HELLO};
	struct pfp_bconn *c;
	unsigned live = 0;

	TAILQ_FOREACH(c, &b->conns, link)
		live += c->state != BC_CLOSING;
	if (live < b->o.pending_max)
		return true;
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if ((c = oldest_in(b, order[i])) != NULL) {
			pfp_bconn_abort(c, "bridge_evicted",
					"the oldest pending connection, for a "
					"newer one");
			return true;
		}
	return false;
}

/* --- listeners ------------------------------------------------------------ */

static void
accept_cb(uv_poll_t *h, int status, int events)
{
	struct pfp_listener *l = h->data;
	struct pfp_bridge *b = l->b;
	int fd;

	(void)events;
	while (status == 0 && (fd = cella_addr_accept(l->fd)) >= 0) {
		if (!make_room(b)) {
			cella_log_warn("bridge_busy",
				       "listen=%s pending=%u reason=%s",
				       l->rule->listen, b->nconns,
				       cella_q("every pending connection is "
					       "an admitted operator's"));
			close(fd);
			continue;
		}
		pfp_bconn_start(l, fd);
	}
}

static int
listen_one(struct pfp_bridge *b, struct pfp_listener *l,
	   const struct pfp_bridge_rule *rule, struct cella_diag *d)
{
	int rv;

	l->b = b;
	l->rule = rule;
	if ((rv = cella_addr_parse(rule->listen, &l->addr, d)) < 0)
		return rv;
	if ((rv = cella_addr_listen(&l->addr, 128, d)) < 0)
		return rv;
	l->fd = rv;
	uv_poll_init(b->loop, &l->poll, l->fd);
	l->poll.data = l;
	l->open = true;
	uv_poll_start(&l->poll, UV_READABLE, accept_cb);
	cella_log_info("bridge_listen", "addr=%s target=%s", rule->listen,
		       rule->target);
	return 0;
}

int
pfp_bridge_start(uv_loop_t *loop, struct cella_relay *relay,
		 const struct pfp_bridge_opts *o, struct pfp_bridge **out,
		 struct cella_diag *d)
{
	struct pfp_bridge *b = calloc(1, sizeof(*b));
	int rv;

	if (b == NULL)
		return -ENOMEM;
	b->loop = loop;
	b->relay = relay;
	b->o = *o;
	if (b->o.first_byte_ms == 0)
		b->o.first_byte_ms = PFP_BRIDGE_FIRST_BYTE_MS;
	if (b->o.hello_ms == 0)
		b->o.hello_ms = PFP_BRIDGE_HELLO_MS;
	if (b->o.pending_max == 0)
		b->o.pending_max = PFP_BRIDGE_PENDING_MAX;
	TAILQ_INIT(&b->conns);
	pthread_mutex_init(&b->mu, NULL);
	if ((rv = cella_tls_server_ctx(o->name[0] ? o->name : "cella-bridge",
				       &b->ctx, d)) < 0)
		goto fail;
	for (size_t i = 0; i < o->nrules; i++)
		if ((rv = listen_one(b, &b->l[i], &b->o.rules[i], d)) < 0)
			goto fail;
	*out = b;
	return 0;
fail:
	pfp_bridge_stop(b);
	b->stopping = false;
	*out = b; /* the caller runs the loop to close what opened, then frees */
	return rv;
}

void
pfp_bridge_stop(struct pfp_bridge *b)
{
	struct pfp_bconn *c;

	b->stopping = true;
	TAILQ_FOREACH(c, &b->conns, link)
		pfp_bconn_abort(c, "bridge_closed", "shutting down");
	for (size_t i = 0; i < PFP_BRIDGES_MAX; i++) {
		struct pfp_listener *l = &b->l[i];

		if (!l->open)
			continue;
		l->open = false;
		cella_addr_unlink(&l->addr);
		uv_close((uv_handle_t *)&l->poll, NULL);
		close(l->fd);
	}
}

unsigned
pfp_bridge_pending(const struct pfp_bridge *b)
{
	return b->nconns;
}

void
pfp_bridge_free(struct pfp_bridge *b)
{
	if (b == NULL)
		return;
	pfp_bridge_clients_free(b);
	SSL_CTX_free(b->ctx);
	pthread_mutex_destroy(&b->mu);
	free(b);
}
