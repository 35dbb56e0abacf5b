/*
 * ctlbody: the bodies of the control API's replies (proto/init.cddl): a
 * service's status, a page of captured lines, a page of the event log.
 * Pages are bounded by count and bytes so a reply stays far below its
 * registered cap and the envelope's item limit; the client pages on with
 * the cursor it is given. Builders return NULL when memory ran out.
 */
#include <string.h>

#include "common/core/clock.h"
#include "common/cbor/cbor.h"
#include "services/init/ctlbody.h"
#include "services/init/run.h"

#define LINE_COST 48 /* encoding bytes of a line besides its data */

cbor_item_t *
init_body_status(const struct init_run *r)
{
	const struct init_svc *s = &r->svc;
	uint64_t now = cella_mono_ms();
	cbor_item_t *m = cbor_new_indefinite_map();
	char last[96];
	bool ok;

	init_svc_last_exit(s, last, sizeof(last));
	ok = m != NULL && cella_cbor_put_text(m, "service", r->conf->name) == 0 &&
	     cella_cbor_put_text(m, "state", init_state_name(s->state)) == 0 &&
	     cella_cbor_put_uint(m, "pid", s->pid > 0 ? (uint64_t)s->pid : 0) == 0 &&
	     cella_cbor_put_uint(m, "restarts", s->starts > 0 ? s->starts - 1 : 0) == 0 &&
	     cella_cbor_put_uint(m, "uptime_ms",
				 s->pid > 0 ? now - r->started_ms : 0) == 0 &&
	     cella_cbor_put_uint(m, "since_ms", now - s->since_ms) == 0 &&
	     cella_cbor_put_text(m, "last_exit", last) == 0 &&
	     cella_cbor_put_text(m, "why", s->why) == 0 &&
	     cella_cbor_put_bool(m, "want", r->want) == 0 &&
	     cella_cbor_put_bool(m, "blocked", s->state == INIT_STOPPED &&
							 r->want &&
							 init_run_blocked(r)) == 0;
	if (!ok && m != NULL)
		cbor_decref(&m);
	return ok ? m : NULL;
}

cbor_item_t *
init_body_list(struct init_ctx *ctx)
{
	cbor_item_t *m = cbor_new_indefinite_map();
	cbor_item_t *a = cbor_new_definite_array(ctx->n);
	bool ok = m != NULL && a != NULL;

	for (size_t i = 0; ok && i < ctx->n; i++) {
		cbor_item_t *s = init_body_status(&ctx->runs[i]);

		ok = s != NULL && cbor_array_push(a, s);
		if (s != NULL)
			cbor_decref(&s);
	}
	ok = ok && cella_cbor_put_item(m, "services", a) == 0 &&
	     cella_cbor_put_bool(m, "shutting_down", ctx->shutting_down) == 0 &&
	     cella_cbor_put_uint(m, "events", ctx->evlog.n) == 0;
	if (a != NULL)
		cbor_decref(&a);
	if (!ok && m != NULL)
		cbor_decref(&m);
	return ok ? m : NULL;
}

static cbor_item_t *
line_item(const struct init_line *l)
{
	cbor_item_t *m = cbor_new_indefinite_map();

	if (m == NULL || cella_cbor_put_uint(m, "seq", l->seq) < 0 ||
	    cella_cbor_put_uint(m, "ts", l->ts_ns) < 0 ||
	    cella_cbor_put_uint(m, "stream", l->stream) < 0 ||
	    cella_cbor_put_bool(m, "partial", l->partial) < 0 ||
	    cella_cbor_put_bytes(m, "data", l->data, l->len) < 0) {
		if (m != NULL)
			cbor_decref(&m);
		return NULL;
	}
	return m;
}

static bool
put_lines(cbor_item_t *a, const struct init_logring *ring, uint64_t *cursor,
	  size_t max_bytes)
{
	const struct init_line *l;
	size_t bytes = 0, n = 0;

	while ((l = init_logring_next(ring, *cursor)) != NULL &&
	       n < INIT_CTL_LINES_MAX &&
	       (n == 0 || bytes + l->len + LINE_COST <= max_bytes)) {
		cbor_item_t *it = line_item(l);
		bool ok = it != NULL && cbor_array_push(a, it);

		if (it != NULL)
			cbor_decref(&it);
		if (!ok)
			return false;
		bytes += l->len + LINE_COST;
		n++;
		*cursor = l->seq;
	}
	return true;
}

cbor_item_t *
init_body_logs(const struct init_run *r, uint64_t after, size_t max_bytes)
{
	const struct init_logring *ring = &r->ring;
	cbor_item_t *m = cbor_new_indefinite_map();
	cbor_item_t *a = cbor_new_indefinite_array();
	uint64_t next = after, first = init_logring_first(ring);
	bool ok;

	if (max_bytes == 0 || max_bytes > INIT_CTL_REPLY_BYTES)
		max_bytes = INIT_CTL_REPLY_BYTES;
	ok = m != NULL && a != NULL && put_lines(a, ring, &next, max_bytes);
	ok = ok && cella_cbor_put_text(m, "service", r->conf->name) == 0 &&
	     cella_cbor_put_item(m, "lines", a) == 0 &&
	     cella_cbor_put_uint(m, "next", next) == 0 &&
	     cella_cbor_put_uint(m, "first", first) == 0 &&
	     cella_cbor_put_uint(m, "last", init_logring_last(ring)) == 0 &&
	     cella_cbor_put_bool(m, "dropped", first > 0 && after + 1 < first) == 0 &&
	     cella_cbor_put_bool(m, "more",
				 init_logring_next(ring, next) != NULL) == 0;
	if (a != NULL)
		cbor_decref(&a);
	if (!ok && m != NULL)
		cbor_decref(&m);
	return ok ? m : NULL;
}

static cbor_item_t *
event_item(const struct init_evlog_entry *e, uint64_t index)
{
	cbor_item_t *m = cbor_new_indefinite_map();

	if (m == NULL || cella_cbor_put_uint(m, "index", index) < 0 ||
	    cella_cbor_put_bytes(m, "event", e->cbor, e->len) < 0 ||
	    cella_cbor_put_bytes(m, "hash", e->hash, INIT_EVLOG_HASH) < 0 ||
	    cella_cbor_put_bytes(m, "head", e->head, INIT_EVLOG_HASH) < 0) {
		if (m != NULL)
			cbor_decref(&m);
		return NULL;
	}
	return m;
}

cbor_item_t *
init_body_events(const struct init_evlog *log, uint64_t from, uint64_t limit)
{
	cbor_item_t *m = cbor_new_indefinite_map();
	cbor_item_t *a = cbor_new_indefinite_array();
	size_t bytes = 0;
	uint64_t i = from;
	bool ok = m != NULL && a != NULL;

	for (; ok && i < log->n && i - from < limit &&
	       (i == from || bytes + log->v[i].len + 128 <= INIT_CTL_REPLY_BYTES);
	     i++) {
		cbor_item_t *it = event_item(&log->v[i], i);

		ok = it != NULL && cbor_array_push(a, it);
		if (it != NULL)
			cbor_decref(&it);
		bytes += log->v[i].len + 128;
	}
	ok = ok && cella_cbor_put_uint(m, "length", log->n) == 0 &&
	     cella_cbor_put_bytes(m, "head", log->head, INIT_EVLOG_HASH) == 0 &&
	     cella_cbor_put_uint(m, "from", from) == 0 &&
	     cella_cbor_put_item(m, "events", a) == 0 &&
	     cella_cbor_put_bool(m, "more", i < log->n) == 0;
	if (a != NULL)
		cbor_decref(&a);
	if (!ok && m != NULL)
		cbor_decref(&m);
	return ok ? m : NULL;
}
