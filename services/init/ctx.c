/*
 * ctx: setting the supervisor up and taking it down, and turning signals
 * into loop events. SIGCHLD, SIGTERM, SIGINT and SIGPWR are blocked (by
 * main, before any thread exists, so that no thread can take them) and read
 * from a signalfd polled by the loop: no work ever happens in a handler.
 * When init is not PID 1 it makes itself a child subreaper, so that orphans
 * of its services are still its to reap.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "common/cbor/cbor.h"
#include "common/core/log.h"
#include "services/init/readychk.h"
#include "services/init/run.h"

void
init_signals_block(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGCHLD);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGPWR);
	(void)sigprocmask(SIG_BLOCK, set, NULL);
	/* A dead reader of a pipe or socket is an error return, not death. */
	(void)signal(SIGPIPE, SIG_IGN);
}

static void
on_signal(uv_poll_t *h, int status, int events)
{
	struct init_ctx *ctx = h->data;
	struct signalfd_siginfo si;
	bool chld = false;

	(void)events;
	if (status < 0)
		return;
	while (read(ctx->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGCHLD) {
			chld = true;
			continue;
		}
		cella_log_info("signal", "sig=%s from_pid=%u",
			       sigabbrev_np((int)si.ssi_signo), si.ssi_pid);
		init_ctx_shutdown(ctx, sigabbrev_np((int)si.ssi_signo));
	}
	/* Reap even without SIGCHLD: a shutdown may be waiting on exits. */
	if (chld || ctx->shutting_down)
		init_ctx_reap(ctx);
}

static int
signals_start(struct init_ctx *ctx)
{
	sigset_t set;

	init_signals_block(&set);
	ctx->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (ctx->sigfd < 0)
		return -errno;
	if (uv_poll_init(ctx->loop, &ctx->sigpoll, ctx->sigfd) < 0)
		return -EIO;
	ctx->sigpoll.data = ctx;
	return uv_poll_start(&ctx->sigpoll, UV_READABLE, on_signal) < 0 ? -EIO
									: 0;
}

static void
record_config(struct init_ctx *ctx)
{
	cbor_item_t *m = cbor_new_indefinite_map();

	if (m == NULL || cella_cbor_put_text(m, "path", ctx->conf->path) < 0 ||
	    cella_cbor_put_bytes(m, "sha384", ctx->conf->digest, 48) < 0) {
		if (m != NULL)
			cbor_decref(&m);
		cella_log_error("evlog_refused", "type=config err=ENOMEM");
		return;
	}
	init_ctx_record(ctx, "config", m);
}

static void
run_init(struct init_ctx *ctx, size_t i)
{
	struct init_run *r = &ctx->runs[i];

	r->ctx = ctx;
	r->idx = i;
	r->conf = &ctx->conf->svcs[i];
	r->cg_dir = r->cg_procs = -1;
	init_svc_init(&r->svc, r->conf->name, &r->conf->pol, &init_run_ops, r);
	init_logring_init(&r->ring, r->conf->log_bytes);
	uv_timer_init(ctx->loop, &r->timer);
	uv_timer_init(ctx->loop, &r->drain);
	r->timer.data = r->drain.data = r;
}

int
init_ctx_init(struct init_ctx *ctx, uv_loop_t *loop, struct init_conf *conf,
	      struct cella_diag *d)
{
	int rv;

	memset(ctx, 0, sizeof(*ctx));
	ctx->loop = loop;
	ctx->conf = conf;
	ctx->sigfd = ctx->devnull = ctx->ready_fd = -1;
	ctx->pid1 = getpid() == 1;
	if (!ctx->pid1 && prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		cella_log_warn("subreaper_failed", "err=%s", cella_errname(-errno));
	ctx->devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (ctx->devnull < 0)
		return cella_diag_set(d, -errno, "/dev/null: %s",
				      cella_strerror(-errno));
	init_evlog_init(&ctx->evlog, conf->events_max, conf->events_bytes);
	record_config(ctx);
	ctx->runs = calloc(conf->nsvc + 1, sizeof(*ctx->runs));
	if (ctx->runs == NULL)
		return cella_diag_set(d, -ENOMEM, "out of memory");
	ctx->n = conf->nsvc;
	for (size_t i = 0; i < ctx->n; i++)
		run_init(ctx, i);
	uv_timer_init(loop, &ctx->deadline);
	ctx->deadline.data = ctx;
	init_cgroup_setup(ctx, d);
	rv = signals_start(ctx);
	if (rv < 0)
		return cella_diag_set(d, rv, "signalfd: %s", cella_strerror(rv));
	return 0;
}

void
init_ctx_boot(struct init_ctx *ctx)
{
	for (size_t i = 0; i < ctx->n; i++)
		ctx->runs[i].want = ctx->runs[i].conf->enabled;
	init_ctx_kick(ctx);
}

static void
close_handle(uv_handle_t *h)
{
	if (h->loop != NULL && !uv_is_closing(h))
		uv_close(h, NULL);
}

void
init_ctx_close(struct init_ctx *ctx)
{
	for (size_t i = 0; i < ctx->n; i++) {
		init_readychk_cancel(&ctx->runs[i]);
		close_handle((uv_handle_t *)&ctx->runs[i].timer);
		close_handle((uv_handle_t *)&ctx->runs[i].drain);
	}
	close_handle((uv_handle_t *)&ctx->deadline);
	if (ctx->sigfd >= 0)
		close_handle((uv_handle_t *)&ctx->sigpoll);
}

void
init_ctx_fini(struct init_ctx *ctx)
{
	char path[PATH_MAX];

	for (size_t i = 0; ctx->runs != NULL && i < ctx->n; i++) {
		struct init_run *r = &ctx->runs[i];

		init_logring_fini(&r->ring);
		if (r->cg_procs >= 0)
			close(r->cg_procs);
		if (r->cg_dir >= 0) {
			close(r->cg_dir);
			if (snprintf(path, sizeof(path), "%s/%s", ctx->conf->cgroup,
				     r->conf->name) < (int)sizeof(path))
				init_cgroup_remove(path);
		}
	}
	free(ctx->runs);
	ctx->runs = NULL;
	init_evlog_fini(&ctx->evlog);
	if (ctx->sigfd >= 0)
		close(ctx->sigfd);
	if (ctx->devnull >= 0)
		close(ctx->devnull);
	ctx->sigfd = ctx->devnull = -1;
}
