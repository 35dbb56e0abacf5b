/*
 * ctlreq: the control API's requests, one handler each, reading bodies
 * with the bounded accessors of common/cbor/cbor.h (a missing or mistyped key is
 * EBADMSG naming the key) and answering through control.c.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/core/clock.h"
#include "common/cbor/cbor.h"
#include "common/core/log.h"
#include "common/rpc/operators.h"
#include "services/init/control_int.h"
#include "services/init/ctlbody.h"

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
	how = ctl_settled(kind, r);
	if (wait && how == 0)
		return ctl_park(c, req, kind, r, 0, timeout, d);
	if (wait && how < 0)
		return cella_diag_set(d, -EIO, "%s is %s: %s", r->conf->name,
				      init_state_name(r->svc.state), r->svc.why);
	ctl_reply(c, req, CELLA_MSG_INIT_STATUS_REPLY, init_body_status(r));
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
		return ctl_park(c, req, PARK_FOLLOW, r, after, timeout, d);
	ctl_reply(c, req, CELLA_MSG_INIT_LOGS_REPLY,
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
	rv = init_evlog_append(&c->ctx->evlog, type, source, cella_wall_ms(),
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
	ctl_reply(c, req, CELLA_MSG_INIT_EVENT_APPEND_REPLY, m);
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
	ctl_reply(c, req, CELLA_MSG_INIT_EVENTS_REPLY,
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
	ctl_reply(c, req, CELLA_MSG_PONG, m);
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
		ctl_reply(c, req, CELLA_MSG_INIT_LIST_REPLY, init_body_list(c->ctx));
		return 0;
	case CELLA_MSG_INIT_STATUS: {
		struct init_run *r;
		int rv = get_service(c, body, &r, d);

		if (rv == 0)
			ctl_reply(c, req, CELLA_MSG_INIT_STATUS_REPLY,
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
		ctl_reply(c, req, CELLA_MSG_INIT_SHUTDOWN_REPLY,
		      cbor_new_indefinite_map());
		init_ctx_shutdown(c->ctx, "api");
		return 0;
	default:
		return cella_diag_set(d, -ENOMSG, "not an init request: 0x%04x",
				      env->type);
	}
}

/*
 * The role each request needs from an operator (through the bridge):
 * changing services needs `services`, reading logs and the event log needs
 * `logs`, either lets one look at states. Appending to the measured log is
 * for the enclave's own processes only.
 */
static int
check_role(struct init_control *c, void *req, uint32_t type,
	   struct cella_diag *d)
{
	const struct cella_rpc_peer *p = c->t.peer != NULL
						 ? c->t.peer(req, c->t.arg)
						 : NULL;
	uint32_t need;
	char names[64];

	if (p == NULL || !p->remote)
		return 0;
	switch (type) {
	case CELLA_MSG_INIT_START:
	case CELLA_MSG_INIT_STOP:
	case CELLA_MSG_INIT_RESTART:
	case CELLA_MSG_INIT_SHUTDOWN:
		need = CELLA_ROLE_SERVICES;
		break;
	case CELLA_MSG_INIT_LOGS:
	case CELLA_MSG_INIT_LOGS_FOLLOW:
	case CELLA_MSG_INIT_EVENTS:
		need = CELLA_ROLE_LOGS;
		break;
	case CELLA_MSG_INIT_EVENT_APPEND:
		return cella_diag_set(d, -EACCES,
				      "only the enclave's own services append "
				      "to the event log");
	default:
		return 0; /* ping, list, status: any role */
	}
	if (p->roles & need)
		return 0;
	cella_roles_format(need, names, sizeof(names));
	return cella_diag_set(d, -EACCES, "operator '%s' lacks the role %s",
			      p->operator, names);
}

void
init_control_dispatch(struct init_control *c, void *req,
		      const struct cella_env *env)
{
	struct cella_diag d = {{0}};
	int rv;

	if ((rv = check_role(c, req, env->type, &d)) < 0) {
		cella_log_warn("ctl_denied", "type=0x%04x msg=%s", env->type,
			       cella_q(d.msg));
		ctl_fail(c, req, rv, &d);
		return;
	}
	if (env->body == NULL || !cbor_isa_map(env->body)) {
		c->t.error(req, -EBADMSG, "body: expected a map", c->t.arg);
		return;
	}
	rv = route(c, req, env, &d);
	if (rv < 0) {
		cella_log_info("ctl_refused", "type=0x%04x err=%s msg=%s",
			       env->type, cella_errname(rv), cella_q(d.msg));
		ctl_fail(c, req, rv, &d);
	}
}

