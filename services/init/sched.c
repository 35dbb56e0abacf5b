/*
 * sched: what to start and what to stop, from the dependency graph. A
 * wanted service starts once every dependency is ready; at shutdown a
 * service is stopped once nothing that depends on it still runs, which is
 * reverse dependency order, within the shutdown deadline (past it, every
 * process group left is killed). Kicks are re-entrant by deferral: a kick
 * requested while one runs makes the running one go round again, so the
 * state machines never recurse through here. It also announces init's own
 * readiness once every boot service has settled.
 */
#include <errno.h>
#include <signal.h>
#include <string.h>

#include "common/cbor/cbor.h"
#include "common/core/log.h"
#include "common/core/ready.h"
#include "services/init/control.h"
#include "services/init/run.h"

#define INIT_KILL_WAIT_MS 5000 /* after the deadline's SIGKILL, at most */

static bool
deps_ready(const struct init_run *r)
{
	for (size_t i = 0; i < r->conf->ndeps; i++)
		if (r->ctx->runs[r->conf->deps[i]].svc.state != INIT_READY)
			return false;
	return true;
}

bool
init_run_blocked(const struct init_run *r)
{
	for (size_t i = 0; i < r->conf->ndeps; i++) {
		const struct init_run *d = &r->ctx->runs[r->conf->deps[i]];

		if (d->svc.state == INIT_FAILED)
			return true;
		if (d->svc.state == INIT_STOPPED &&
		    (!d->want || init_run_blocked(d)))
			return true;
	}
	return false;
}

static bool
active(enum init_state st)
{
	return st != INIT_STOPPED && st != INIT_FAILED;
}

static bool
has_active_dependent(const struct init_run *r)
{
	for (size_t i = 0; i < r->ctx->n; i++) {
		const struct init_run *o = &r->ctx->runs[i];

		for (size_t j = 0; j < o->conf->ndeps; j++)
			if (o->conf->deps[j] == r->idx && active(o->svc.state))
				return true;
	}
	return false;
}

/* The measured log says why a service was stopped, not only that it exited. */
static void
record_stop(struct init_run *r, const char *reason)
{
	cbor_item_t *m = cbor_new_indefinite_map();

	if (m != NULL && cella_cbor_put_text(m, "service", r->conf->name) == 0 &&
	    cella_cbor_put_text(m, "reason", reason) == 0) {
		init_ctx_record(r->ctx, "stop", m);
		return;
	}
	if (m != NULL)
		cbor_decref(&m);
	cella_log_error("evlog_refused", "type=stop err=ENOMEM");
}

static void
kick_start(struct init_ctx *ctx)
{
	for (size_t i = 0; i < ctx->n; i++) {
		struct init_run *r = &ctx->runs[i];

		if (r->want && r->svc.state == INIT_STOPPED && deps_ready(r))
			init_run_event(r, INIT_EV_START, 0);
	}
}

static void
kick_stop(struct init_ctx *ctx)
{
	bool left = false;

	for (size_t i = ctx->n; i-- > 0;) {
		struct init_run *r = &ctx->runs[i];
		enum init_state st = r->svc.state;

		if (!active(st))
			continue;
		left = true;
		if (st != INIT_STOPPING && (ctx->forced || !has_active_dependent(r)) &&
		    init_run_event(r, INIT_EV_STOP, 0) == 0)
			record_stop(r, "shutdown");
	}
	if (!left && !ctx->done) {
		ctx->done = true;
		cella_log_info("shutdown_services_done", "events=%zu",
			       ctx->evlog.n);
		uv_stop(ctx->loop);
	}
}

static void
announce(struct init_ctx *ctx)
{
	for (size_t i = 0; i < ctx->n; i++) {
		const struct init_run *r = &ctx->runs[i];
		enum init_state st = r->svc.state;

		if (st == INIT_READY || st == INIT_FAILED)
			continue;
		if (st == INIT_STOPPED && (!r->want || init_run_blocked(r)))
			continue;
		return;
	}
	ctx->announced = true;
	cella_log_info("ready", "services=%zu", ctx->n);
	(void)cella_ready_notify(ctx->ready_fd);
	ctx->ready_fd = -1;
}

void
init_ctx_kick(struct init_ctx *ctx)
{
	if (ctx->kicking) {
		ctx->kick_again = true;
		return;
	}
	ctx->kicking = true;
	do {
		ctx->kick_again = false;
		if (ctx->shutting_down)
			kick_stop(ctx);
		else
			kick_start(ctx);
	} while (ctx->kick_again);
	ctx->kicking = false;
	if (!ctx->announced && !ctx->shutting_down)
		announce(ctx);
}

static void
on_deadline(uv_timer_t *t)
{
	struct init_ctx *ctx = t->data;

	if (ctx->forced) {
		cella_log_error("shutdown_stuck", "reason=processes_survived_sigkill");
		ctx->done = true;
		uv_stop(ctx->loop);
		return;
	}
	cella_log_warn("shutdown_deadline", "ms=%llu",
		       (unsigned long long)ctx->conf->shutdown_deadline_ms);
	ctx->forced = true;
	for (size_t i = 0; i < ctx->n; i++)
		if (active(ctx->runs[i].svc.state))
			init_run_ops.signal(&ctx->runs[i].svc, SIGKILL);
	uv_timer_start(&ctx->deadline, on_deadline, INIT_KILL_WAIT_MS, 0);
	init_ctx_kick(ctx);
}

void
init_ctx_shutdown(struct init_ctx *ctx, const char *reason)
{
	cbor_item_t *m;

	if (ctx->shutting_down)
		return;
	ctx->shutting_down = true;
	cella_log_info("shutdown", "reason=%s", cella_q(reason));
	m = cbor_new_indefinite_map();
	if (m != NULL && cella_cbor_put_text(m, "reason", reason) == 0)
		init_ctx_record(ctx, "shutdown", m);
	else if (m != NULL)
		cbor_decref(&m);
	for (size_t i = 0; i < ctx->n; i++)
		ctx->runs[i].want = false;
	init_control_shutdown(ctx->ctl);
	uv_timer_start(&ctx->deadline, on_deadline,
		       ctx->conf->shutdown_deadline_ms, 0);
	init_ctx_kick(ctx);
}

int
init_ctx_start(struct init_ctx *ctx, struct init_run *r, struct cella_diag *d)
{
	enum init_state st = r->svc.state;

	if (ctx->shutting_down)
		return cella_diag_set(d, -ESHUTDOWN, "init is shutting down");
	if (st == INIT_READY || st == INIT_STARTING)
		return cella_diag_set(d, -EALREADY, "%s is already %s",
				      r->conf->name, init_state_name(st));
	for (size_t i = 0; i < r->conf->ndeps; i++) {
		const struct init_run *dep = &ctx->runs[r->conf->deps[i]];
		enum init_state ds = dep->svc.state;

		/* A dependency that will not come up by itself. */
		if (ds == INIT_FAILED ||
		    (ds == INIT_STOPPED && (!dep->want || init_run_blocked(dep))))
			return cella_diag_set(
				d, -ENOTCONN, "%s depends on %s, which is %s: start it first",
				r->conf->name, dep->conf->name, init_state_name(ds));
	}
	r->want = true;
	/* A failed service waits for its dependencies like a stopped one. */
	if (st == INIT_FAILED && !deps_ready(r))
		init_run_event(r, INIT_EV_STOP, 0);
	if (r->svc.state != INIT_STOPPED)
		init_run_event(r, INIT_EV_START, 0);
	init_ctx_kick(ctx);
	return 0;
}

int
init_ctx_stop(struct init_ctx *ctx, struct init_run *r, struct cella_diag *d)
{
	bool wanted = r->want;
	int rv;

	(void)ctx;
	r->want = false;
	rv = init_run_event(r, INIT_EV_STOP, 0);
	if (rv == -EALREADY && wanted)
		return 0; /* it was waiting for a dependency: now it is not */
	if (rv < 0)
		return cella_diag_set(d, rv, "%s is already %s", r->conf->name,
				      init_state_name(r->svc.state));
	record_stop(r, "api");
	return 0;
}

int
init_ctx_restart(struct init_ctx *ctx, struct init_run *r,
		 struct cella_diag *d)
{
	enum init_state st = r->svc.state;

	if (ctx->shutting_down)
		return cella_diag_set(d, -ESHUTDOWN, "init is shutting down");
	if (st != INIT_READY && st != INIT_STARTING && st != INIT_STOPPING)
		return init_ctx_start(ctx, r, d);
	r->want = true;
	record_stop(r, "restart");
	return init_run_event(r, INIT_EV_RESTART, 0);
}
