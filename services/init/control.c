/*
 * control: the control API's transport hand-off, parking and lifecycle
 * (the requests themselves are ctlreq.c).
 * nng threads touch only the mutex-protected queue; everything else runs
 * on the loop. A parked request holds a timer, so none waits forever, and
 * is answered exactly once: by its event, its timer, or the shutdown of
 * the API.
 */
#include "services/init/control_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <uv.h>

#include "common/net/addr.h"
#include "common/cbor/cbor.h"
#include "common/core/log.h"
#include "common/rpc/rpc.h"
#include "services/init/ctlbody.h"
#include "services/init/run.h"

/* --- answering --- */

void
ctl_reply(struct init_control *c, void *req, uint32_t type, cbor_item_t *body)
{
	if (body == NULL) {
		c->t.error(req, -ENOMEM, "out of memory", c->t.arg);
		return;
	}
	c->t.reply(req, type, body, c->t.arg);
	cbor_decref(&body);
}

void
ctl_fail(struct init_control *c, void *req, int err, const struct cella_diag *d)
{
	c->t.error(req, err, d->msg[0] ? d->msg : cella_strerror(err), c->t.arg);
}

static void
rpc_reply(void *req, uint32_t type, const cbor_item_t *body, void *arg)
{
	(void)arg;
	if (cella_rpc_reply(req, type, body) < 0)
		cella_log_warn("ctl_reply_failed", "type=0x%04x", type);
}

static void
rpc_error(void *req, int err, const char *msg, void *arg)
{
	(void)arg;
	(void)cella_rpc_error(req, err, "%s", msg);
}

/* --- parking --- */

static void
park_closed(uv_handle_t *h)
{
	free(h->data);
}

static void
unpark(struct park *p)
{
	if (p->next != NULL)
		p->next->prevp = p->prevp;
	*p->prevp = p->next;
	uv_close((uv_handle_t *)&p->timer, park_closed);
}

static void
on_park_timeout(uv_timer_t *t)
{
	struct park *p = t->data;
	struct init_control *c = p->c;

	if (p->kind == PARK_FOLLOW)
		ctl_reply(c, p->req, CELLA_MSG_INIT_LOGS_REPLY,
		      init_body_logs(p->r, p->after, 0));
	else
		c->t.error(p->req, -ETIMEDOUT, "timed out waiting; see 'cella ps'",
			   c->t.arg);
	unpark(p);
}

/* Who sent req: its connection, and the operator when through the bridge. */
static void
park_peer(struct init_control *c, void *req, struct park *p)
{
	const struct cella_rpc_peer *peer =
		c->t.peer != NULL ? c->t.peer(req, c->t.arg) : NULL;

	if (peer == NULL)
		return;
	p->pipe = peer->pipe;
	if (peer->remote)
		snprintf(p->operator, sizeof(p->operator), "%s", peer->operator);
}

/*
 * A follow holds a timer and a slot until lines come: one connection, and
 * one operator over all its sessions, may hold only so many.
 */
static int
follow_cap(const struct init_control *c, const struct park *np,
	   struct cella_diag *d)
{
	unsigned conn = 0, op = 0;

	for (const struct park *p = c->parks; p != NULL; p = p->next) {
		if (p->kind != PARK_FOLLOW)
			continue;
		conn += np->pipe != 0 && p->pipe == np->pipe;
		op += np->operator[0] != '\0' &&
		      strcmp(p->operator, np->operator) == 0;
	}
	if (conn >= INIT_CTL_FOLLOWS_PER_CONN)
		return cella_diag_set(d, -EBUSY,
				      "this connection follows %u logs already "
				      "(the limit)", conn);
	if (op >= INIT_CTL_FOLLOWS_PER_OPERATOR)
		return cella_diag_set(d, -EBUSY,
				      "operator '%s' follows %u logs already "
				      "(the limit); end one first",
				      np->operator, op);
	return 0;
}

/* Let req stop holding an rpc worker while it waits. */
static int
park_detach(struct init_control *c, void *req, struct cella_diag *d)
{
	int rv = c->t.detach != NULL ? c->t.detach(req, c->t.arg) : 0;

	if (rv == -EBUSY)
		return cella_diag_set(d, rv, "%d requests wait in init "
					     "already; try again later",
				      CELLA_RPC_DETACHED_MAX);
	if (rv < 0)
		return cella_diag_set(d, rv, "cannot wait: %s",
				      cella_strerror(rv));
	return 0;
}

int
ctl_park(struct init_control *c, void *req, enum park_kind kind,
	 struct init_run *r, uint64_t after, uint64_t timeout_ms,
	 struct cella_diag *d)
{
	struct park *p = calloc(1, sizeof(*p));
	int rv;

	if (p == NULL)
		return cella_diag_set(d, -ENOMEM, "out of memory");
	park_peer(c, req, p);
	if ((kind == PARK_FOLLOW && (rv = follow_cap(c, p, d)) < 0) ||
	    (rv = park_detach(c, req, d)) < 0) {
		free(p);
		return rv;
	}
	p->c = c;
	p->req = req;
	p->kind = kind;
	p->r = r;
	p->after = after;
	uv_timer_init(c->ctx->loop, &p->timer);
	p->timer.data = p;
	uv_timer_start(&p->timer, on_park_timeout, timeout_ms, 0);
	p->next = c->parks;
	p->prevp = &c->parks;
	if (c->parks != NULL)
		c->parks->prevp = &p->next;
	c->parks = p;
	return 0;
}

/* 1: done, -1: failed, 0: not yet (for a start or stop waiter). */
int
ctl_settled(enum park_kind kind, const struct init_run *r)
{
	enum init_state st = r->svc.state;

	if (kind == PARK_STOP)
		return st == INIT_STOPPED || st == INIT_FAILED;
	if (st == INIT_READY)
		return 1;
	if (st == INIT_FAILED || st == INIT_BACKOFF)
		return -1;
	if (st == INIT_STOPPED && (!r->want || init_run_blocked(r)))
		return -1;
	return 0;
}

void
init_control_changed(struct init_control *c, struct init_run *r)
{
	struct park *p, *next;
	int how;

	if (c == NULL)
		return;
	for (p = c->parks; p != NULL; p = next) {
		next = p->next;
		if (p->r != r || p->kind == PARK_FOLLOW)
			continue;
		how = ctl_settled(p->kind, r);
		if (how == 0)
			continue;
		if (how > 0) {
			ctl_reply(c, p->req, CELLA_MSG_INIT_STATUS_REPLY,
			      init_body_status(r));
		} else {
			char msg[256];

			snprintf(msg, sizeof(msg), "%s is %s: %s", r->conf->name,
				 init_state_name(r->svc.state), r->svc.why);
			c->t.error(p->req, -EIO, msg, c->t.arg);
		}
		unpark(p);
	}
}

void
init_control_output(struct init_control *c, struct init_run *r)
{
	struct park *p, *next;

	if (c == NULL)
		return;
	for (p = c->parks; p != NULL; p = next) {
		next = p->next;
		if (p->r != r || p->kind != PARK_FOLLOW ||
		    init_logring_next(&r->ring, p->after) == NULL)
			continue;
		ctl_reply(c, p->req, CELLA_MSG_INIT_LOGS_REPLY,
		      init_body_logs(r, p->after, 0));
		unpark(p);
	}
}

void
init_control_shutdown(struct init_control *c)
{
	struct park *p, *next;

	if (c == NULL)
		return;
	for (p = c->parks; p != NULL; p = next) {
		next = p->next;
		if (p->kind == PARK_START) {
			c->t.error(p->req, -ESHUTDOWN, "init is shutting down",
				   c->t.arg);
			unpark(p);
		}
	}
}

/* --- lifecycle and the hand-off from nng's threads --- */

static void
on_async(uv_async_t *a)
{
	struct init_control *c = a->data;
	struct qitem *q, *rev = NULL, *next;

	pthread_mutex_lock(&c->mu);
	q = c->q;
	c->q = NULL;
	pthread_mutex_unlock(&c->mu);
	for (; q != NULL; q = next) { /* oldest first */
		next = q->next;
		q->next = rev;
		rev = q;
	}
	for (q = rev; q != NULL; q = next) {
		next = q->next;
		init_control_dispatch(c, q->req, cella_rpc_req_env(q->req));
		free(q);
	}
}

static int
on_request(struct cella_rpc_req *req, const struct cella_env *env, void *arg)
{
	struct init_control *c = arg;
	struct qitem *q;

	(void)env;
	pthread_mutex_lock(&c->mu);
	if (c->closing) {
		pthread_mutex_unlock(&c->mu);
		return -ESHUTDOWN;
	}
	q = malloc(sizeof(*q));
	if (q == NULL) {
		pthread_mutex_unlock(&c->mu);
		return -ENOMEM;
	}
	q->req = req;
	q->next = c->q;
	c->q = q;
	pthread_mutex_unlock(&c->mu);
	uv_async_send(&c->async);
	return 0;
}

static struct init_control *
control_alloc(struct init_ctx *ctx, const struct init_control_transport *t)
{
	struct init_control *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->ctx = ctx;
	c->t = *t;
	pthread_mutex_init(&c->mu, NULL);
	if (uv_async_init(ctx->loop, &c->async, on_async) < 0) {
		pthread_mutex_destroy(&c->mu);
		free(c);
		return NULL;
	}
	c->async.data = c;
	c->async_on = true;
	return c;
}

int
init_control_local(struct init_ctx *ctx, const struct init_control_transport *t,
		   struct init_control **out)
{
	struct init_control *c = control_alloc(ctx, t);

	if (c == NULL)
		return -ENOMEM;
	*out = c;
	return 0;
}

/* An ipc socket: its folder exists, and only root may connect. */
static int
ipc_prepare(const struct cella_addr *a, bool after, struct cella_diag *d)
{
	char dir[sizeof(a->path)], *slash;

	if (a->kind != CELLA_ADDR_IPC)
		return 0;
	if (after)
		return chmod(a->path, 0600) < 0
			       ? cella_diag_set(d, -errno, "chmod %s: %s", a->path,
						cella_strerror(-errno))
			       : 0;
	snprintf(dir, sizeof(dir), "%s", a->path);
	slash = strrchr(dir, '/');
	if (slash != NULL && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return cella_diag_set(d, -errno, "mkdir %s: %s", dir,
					      cella_strerror(-errno));
	}
	return 0;
}

static const struct cella_rpc_peer *
rpc_peer(void *req, void *arg)
{
	(void)arg;
	return cella_rpc_req_peer(req);
}

static int
rpc_detach(void *req, void *arg)
{
	(void)arg;
	return cella_rpc_req_detach(req);
}

int
init_control_new(struct init_ctx *ctx, const char *url,
		 struct init_control **out, struct cella_diag *d)
{
	static const struct init_control_transport rpc = {
		rpc_reply, rpc_error, NULL, rpc_peer, rpc_detach};
	struct init_control *c;
	struct cella_addr a;
	int rv;

	rv = cella_addr_parse(url, &a, d);
	if (rv == 0)
		rv = ipc_prepare(&a, false, d);
	if (rv < 0)
		return rv;
	c = control_alloc(ctx, &rpc);
	if (c == NULL)
		return cella_diag_set(d, -ENOMEM, "out of memory");
	rv = cella_rpc_server_new(url, INIT_CTL_WORKERS, on_request, c, &c->srv, d);
	if (rv == 0)
		rv = ipc_prepare(&a, true, d);
	if (rv < 0) {
		init_control_free(c);
		return rv;
	}
	*out = c;
	return 0;
}

static void
async_closed(uv_handle_t *h)
{
	struct init_control *c = h->data;

	pthread_mutex_destroy(&c->mu);
	free(c);
}

void
init_control_free(struct init_control *c)
{
	struct qitem *q, *next;

	if (c == NULL)
		return;
	pthread_mutex_lock(&c->mu);
	c->closing = true;
	q = c->q;
	c->q = NULL;
	pthread_mutex_unlock(&c->mu);
	for (; q != NULL; q = next) {
		next = q->next;
		c->t.error(q->req, -ESHUTDOWN, "init is shutting down", c->t.arg);
		free(q);
	}
	while (c->parks != NULL) {
		c->t.error(c->parks->req, -ESHUTDOWN, "init is shutting down",
			   c->t.arg);
		unpark(c->parks);
	}
	/* Waits for nng's workers: no handler runs after this. */
	cella_rpc_server_free(c->srv);
	c->srv = NULL;
	uv_close((uv_handle_t *)&c->async, async_closed);
}
