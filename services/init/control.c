/*
 * control: the control API's transport hand-off, parking and dispatch.
 * nng threads touch only the mutex-protected queue; everything else runs
 * on the loop. A parked request holds a timer, so none waits forever, and
 * is answered exactly once: by its event, its timer, or the shutdown of
 * the API.
 */
#include "services/init/control.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <uv.h>

#include "common/addr.h"
#include "common/cbor.h"
#include "common/log.h"
#include "common/rpc.h"
#include "services/init/ctlbody.h"
#include "services/init/run.h"

#define INIT_CTL_WAIT_DEFAULT_MS 120000u
#define INIT_CTL_NAME_MAX 64

enum park_kind { PARK_START, PARK_STOP, PARK_FOLLOW };

struct park {
	struct park *next, **prevp;
	struct init_control *c;
	void *req;
	enum park_kind kind;
	struct init_run *r;
	uint64_t after;
	uv_timer_t timer;
};

struct qitem {
	struct qitem *next;
	struct cella_rpc_req *req;
};

struct init_control {
	struct init_ctx *ctx;
	struct init_control_transport t;
	struct cella_rpc_server *srv;
	uv_async_t async;
	bool async_on;
	pthread_mutex_t mu;
	bool closing;	    /* under mu */
	struct qitem *q;    /* under mu, newest first */
	struct park *parks; /* loop thread */
};

/* --- answering --- */

static void
reply(struct init_control *c, void *req, uint32_t type, cbor_item_t *body)
{
	if (body == NULL) {
		c->t.error(req, -ENOMEM, "out of memory", c->t.arg);
		return;
	}
	c->t.reply(req, type, body, c->t.arg);
	cbor_decref(&body);
}

static void
fail(struct init_control *c, void *req, int err, const struct cella_diag *d)
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
		reply(c, p->req, CELLA_MSG_INIT_LOGS_REPLY,
		      init_body_logs(p->r, p->after, 0));
	else
		c->t.error(p->req, -ETIMEDOUT, "timed out waiting; see 'cella ps'",
			   c->t.arg);
	unpark(p);
}

static int
park(struct init_control *c, void *req, enum park_kind kind,
     struct init_run *r, uint64_t after, uint64_t timeout_ms)
{
	struct park *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return -ENOMEM;
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
static int
settled(enum park_kind kind, const struct init_run *r)
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
		how = settled(p->kind, r);
		if (how == 0)
			continue;
		if (how > 0) {
			reply(c, p->req, CELLA_MSG_INIT_STATUS_REPLY,
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
		reply(c, p->req, CELLA_MSG_INIT_LOGS_REPLY,
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

/* --- requests --- */

static int
get_service(struct init_control *c, const cbor_item_t *body,
	    struct init_run **out, struct cella_diag *d)
{
	struct cella_span name;
	int rv;

	rv = cella_cbor_get_text(body, "service", INIT_CTL_NAME_MAX, &name, d);
	if (rv < 0)
		return rv == -ENOENT ? -EBADMSG : rv;
	*out = init_ctx_find(c->ctx, (const char *)name.p, name.n);
	if (*out == NULL)
		return cella_diag_set(d, -ENOENT, "no such service: %.*s",
				      (int)name.n, (const char *)name.p);
	return 0;
}

/* An optional uint: dflt when absent, -EBADMSG when mistyped or over max. */
static int
opt_uint(const cbor_item_t *body, const char *key, uint64_t dflt,
	 uint64_t max, uint64_t *out, struct cella_diag *d)
{
	int rv = cella_cbor_get_uint(body, key, max, out, d);

	if (rv == -ENOENT) {
		*out = dflt;
		d->msg[0] = '\0';
		return 0;
	}
	return rv;
}

static int
opt_bool(const cbor_item_t *body, const char *key, bool dflt, bool *out,
	 struct cella_diag *d)
{
	int rv = cella_cbor_get_bool(body, key, out, d);

	if (rv == -ENOENT) {
		*out = dflt;
		d->msg[0] = '\0';
		return 0;
	}
	return rv;
}

static int
do_control(struct init_control *c, void *req, uint32_t type,
	   const cbor_item_t *body, struct cella_diag *d)
{
	struct init_run *r;
	enum park_kind kind = type == CELLA_MSG_INIT_STOP ? PARK_STOP : PARK_START;
	uint64_t timeout;
	bool wait;
	int rv, how;

	if ((rv = get_service(c, body, &r, d)) < 0 ||
	    (rv = opt_bool(body, "wait", false, &wait, d)) < 0 ||
	    (rv = opt_uint(body, "timeout_ms", INIT_CTL_WAIT_DEFAULT_MS,
			   INIT_CTL_WAIT_MAX_MS, &timeout, d)) < 0)
		return rv;
	if (type == CELLA_MSG_INIT_START)
		rv = init_ctx_start(c->ctx, r, d);
	else if (type == CELLA_MSG_INIT_STOP)
		rv = init_ctx_stop(c->ctx, r, d);
	else
		rv = init_ctx_restart(c->ctx, r, d);
	if (rv < 0)
		return rv;
	cella_log_info("ctl_action", "service=%s action=%s",
		       r->conf->name, type == CELLA_MSG_INIT_START  ? "start"
				      : type == CELLA_MSG_INIT_STOP ? "stop"
								    : "restart");
	how = settled(kind, r);
	if (wait && how == 0)
		return park(c, req, kind, r, 0, timeout);
	if (wait && how < 0)
		return cella_diag_set(d, -EIO, "%s is %s: %s", r->conf->name,
				      init_state_name(r->svc.state), r->svc.why);
	reply(c, req, CELLA_MSG_INIT_STATUS_REPLY, init_body_status(r));
	return 0;
}

static int
do_logs(struct init_control *c, void *req, uint32_t type,
	const cbor_item_t *body, struct cella_diag *d)
{
	struct init_run *r;
	uint64_t tail, after, max_bytes, timeout;
	bool has_after;
	int rv;

	if ((rv = get_service(c, body, &r, d)) < 0)
		return rv;
	has_after = cella_cbor_map_get(body, "after") != NULL;
	if ((rv = opt_uint(body, "after", 0, UINT64_MAX, &after, d)) < 0 ||
	    (rv = opt_uint(body, "tail", 100, UINT32_MAX, &tail, d)) < 0 ||
	    (rv = opt_uint(body, "max_bytes", 0, INIT_CTL_REPLY_BYTES,
			   &max_bytes, d)) < 0 ||
	    (rv = opt_uint(body, "timeout_ms", 30000, INIT_CTL_FOLLOW_MAX_MS,
			   &timeout, d)) < 0)
		return rv;
	if (!has_after)
		after = type == CELLA_MSG_INIT_LOGS_FOLLOW
				? init_logring_last(&r->ring)
				: init_logring_tail_cursor(&r->ring, (size_t)tail);
	if (type == CELLA_MSG_INIT_LOGS_FOLLOW &&
	    init_logring_next(&r->ring, after) == NULL &&
	    !c->ctx->done)
		return park(c, req, PARK_FOLLOW, r, after, timeout);
	reply(c, req, CELLA_MSG_INIT_LOGS_REPLY,
	      init_body_logs(r, after, (size_t)max_bytes));
	return 0;
}

static int
do_append(struct init_control *c, void *req, const cbor_item_t *body,
	  struct cella_diag *d)
{
	char type[INIT_EVLOG_TYPE_MAX + 1], source[INIT_EVLOG_SOURCE_MAX + 1];
	struct cella_span ts, ss;
	cbor_item_t *data = cella_cbor_map_get(body, "data"), *m;
	uint64_t index;
	int rv;

	if ((rv = cella_cbor_get_text(body, "type", INIT_EVLOG_TYPE_MAX, &ts, d)) < 0 ||
	    (rv = cella_cbor_get_text(body, "source", INIT_EVLOG_SOURCE_MAX, &ss, d)) < 0)
		return rv == -ENOENT ? -EBADMSG : rv;
	if (data != NULL && !cbor_isa_map(data))
		return cella_diag_set(d, -EBADMSG, "data: expected a map");
	snprintf(type, sizeof(type), "%.*s", (int)ts.n, (const char *)ts.p);
	snprintf(source, sizeof(source), "%.*s", (int)ss.n, (const char *)ss.p);
	if (strlen(type) != ts.n || strlen(source) != ss.n)
		return cella_diag_set(d, -EINVAL, "type and source hold no NUL");
	rv = init_evlog_append(&c->ctx->evlog, type, source, init_wall_ms(),
			       data, &index);
	if (rv < 0)
		return cella_diag_set(d, rv, "event refused: %s%s",
				      cella_strerror(rv),
				      rv == -EINVAL ? " (type/source printable ASCII, "
						      "data of ints, strings, bools, "
						      "null, arrays, text-keyed maps)"
						    : "");
	cella_log_info("event_appended", "index=%llu type=%s source=%s",
		       (unsigned long long)index, cella_q(type), cella_q(source));
	m = cbor_new_indefinite_map();
	if (m != NULL &&
	    (cella_cbor_put_uint(m, "index", index) < 0 ||
	     cella_cbor_put_uint(m, "length", c->ctx->evlog.n) < 0 ||
	     cella_cbor_put_bytes(m, "head", c->ctx->evlog.head, INIT_EVLOG_HASH) < 0))
		cbor_decref(&m);
	reply(c, req, CELLA_MSG_INIT_EVENT_APPEND_REPLY, m);
	return 0;
}

static int
do_events(struct init_control *c, void *req, const cbor_item_t *body,
	  struct cella_diag *d)
{
	uint64_t from, limit;
	int rv;

	if ((rv = opt_uint(body, "from", 0, UINT64_MAX, &from, d)) < 0 ||
	    (rv = opt_uint(body, "limit", 1024, INIT_CTL_LINES_MAX, &limit, d)) < 0)
		return rv;
	reply(c, req, CELLA_MSG_INIT_EVENTS_REPLY,
	      init_body_events(&c->ctx->evlog, from, limit));
	return 0;
}

static int
do_ping(struct init_control *c, void *req, const cbor_item_t *body,
	struct cella_diag *d)
{
	struct cella_span data;
	cbor_item_t *m = cbor_new_indefinite_map();
	int rv = cella_cbor_get_bytes(body, "data", 64, &data, d);

	if (rv < 0 && rv != -ENOENT) {
		if (m != NULL)
			cbor_decref(&m);
		return rv;
	}
	if (m != NULL && rv == 0 &&
	    cella_cbor_put_bytes(m, "data", data.p, data.n) < 0)
		cbor_decref(&m);
	reply(c, req, CELLA_MSG_PONG, m);
	return 0;
}

static int
route(struct init_control *c, void *req, const struct cella_env *env,
      struct cella_diag *d)
{
	const cbor_item_t *body = env->body;

	switch (env->type) {
	case CELLA_MSG_PING:
		return do_ping(c, req, body, d);
	case CELLA_MSG_INIT_LIST:
		reply(c, req, CELLA_MSG_INIT_LIST_REPLY, init_body_list(c->ctx));
		return 0;
	case CELLA_MSG_INIT_STATUS: {
		struct init_run *r;
		int rv = get_service(c, body, &r, d);

		if (rv == 0)
			reply(c, req, CELLA_MSG_INIT_STATUS_REPLY,
			      init_body_status(r));
		return rv;
	}
	case CELLA_MSG_INIT_START:
	case CELLA_MSG_INIT_STOP:
	case CELLA_MSG_INIT_RESTART:
		return do_control(c, req, env->type, body, d);
	case CELLA_MSG_INIT_LOGS:
	case CELLA_MSG_INIT_LOGS_FOLLOW:
		return do_logs(c, req, env->type, body, d);
	case CELLA_MSG_INIT_EVENTS:
		return do_events(c, req, body, d);
	case CELLA_MSG_INIT_EVENT_APPEND:
		return do_append(c, req, body, d);
	case CELLA_MSG_INIT_SHUTDOWN:
		reply(c, req, CELLA_MSG_INIT_SHUTDOWN_REPLY,
		      cbor_new_indefinite_map());
		init_ctx_shutdown(c->ctx, "api");
		return 0;
	default:
		return cella_diag_set(d, -ENOMSG, "not an init request: 0x%04x",
				      env->type);
	}
}

void
init_control_dispatch(struct init_control *c, void *req,
		      const struct cella_env *env)
{
	struct cella_diag d = {{0}};
	int rv;

	if (env->body == NULL || !cbor_isa_map(env->body)) {
		c->t.error(req, -EBADMSG, "body: expected a map", c->t.arg);
		return;
	}
	rv = route(c, req, env, &d);
	if (rv < 0) {
		cella_log_info("ctl_refused", "type=0x%04x err=%s msg=%s",
			       env->type, cella_errname(rv), cella_q(d.msg));
		fail(c, req, rv, &d);
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

int
init_control_new(struct init_ctx *ctx, const char *url,
		 struct init_control **out, struct cella_diag *d)
{
	static const struct init_control_transport rpc = {rpc_reply, rpc_error,
							   NULL};
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
