/*
 * srv: the life of the process. Start-up runs in a fixed order (signals
 * blocked before any thread exists, the NSM, the TLS identity, the pool,
 * the first certificate document, the HTTPS listener, the internal API,
 * readiness) and any failure is an exit code chosen by what failed:
 * EX_CONFIG for what only a new configuration can fix, EX_UNAVAILABLE for
 * what may come back (a device, a port), EX_SOFTWARE otherwise.
 *
 * The drain is a small state machine driven from the loop. RUNNING ->
 * DRAINING on SIGTERM/SIGINT: stop accepting, end keep-alive; once no
 * NSM job started from the loop is outstanding, idle connections are shut;
 * when the last connection is gone, CLOSING: every handle is closed and
 * the loop stops. The drain timeout (or a second signal) shuts every
 * connection's both sides instead of waiting; if some still stand 10 s
 * later, the process exits EX_SOFTWARE rather than hang. After the loop:
 * the pool runs out (internal API replies included), nng closes, h2o's
 * context is disposed of, and the loop must close empty.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/time.h>
#include <sysexits.h>
#include <unistd.h>

#include "common/core/log.h"
#include "common/nsm/sim/nsm_sim.h"
#include "common/core/ready.h"
#include "services/ra-web/srv.h"

/* After a forced drain: time for the sweeper and NSM calls to finish. */
#define STUCK_MS 10000

/* ---- mailbox: workers -> loop ---- */

int
ra_srv_submit(struct ra_srv *s, struct ra_loopjob *lj)
{
	int rv = ra_pool_submit(s->pool, &lj->job);

	if (rv == 0)
		s->loop_jobs++;
	return rv;
}

void
ra_srv_post(struct ra_loopjob *lj)
{
	struct ra_srv *s = lj->srv;

	/* The send happens under the lock, so that closing the handle
	 * (which takes the lock) can never overtake it. */
	pthread_mutex_lock(&s->mbox_mu);
	lj->next_done = s->mbox_head;
	s->mbox_head = lj;
	uv_async_send(&s->mbox);
	pthread_mutex_unlock(&s->mbox_mu);
}

static void
on_mbox(uv_async_t *a)
{
	struct ra_srv *s = a->data;
	struct ra_loopjob *lj, *fifo = NULL, *next;

	pthread_mutex_lock(&s->mbox_mu);
	lj = s->mbox_head;
	s->mbox_head = NULL;
	pthread_mutex_unlock(&s->mbox_mu);
	for (; lj != NULL; lj = next) { /* the list is newest first */
		next = lj->next_done;
		lj->next_done = fifo;
		fifo = lj;
	}
	for (lj = fifo; lj != NULL; lj = next) {
		next = lj->next_done;
		s->loop_jobs--;
		lj->finish(lj);
	}
	ra_srv_check_drained(s);
}

void
ra_srv_gauges(struct ra_srv *s, struct ra_gauges *g)
{
	struct ra_pool_stats ps;

	ra_pool_stats(s->pool, &ps);
	memset(g, 0, sizeof(*g));
	g->connections = ra_http_conns(s->http);
	g->nsm_running = ps.running;
	g->nsm_queued = ps.queued;
	g->nsm_threads = ps.threads;
	g->cert_not_after = (double)s->cert.not_after;
	g->start_time = s->start_time;
}

/* ---- drain ---- */

static void
close_handles(struct ra_srv *s)
{
	if (s->sig_init)
		uv_close((uv_handle_t *)&s->sigpoll, NULL);
	if (s->drain_init)
		uv_close((uv_handle_t *)&s->drain_timer, NULL);
	if (s->mbox_init) {
		pthread_mutex_lock(&s->mbox_mu);
		uv_close((uv_handle_t *)&s->mbox, NULL);
		pthread_mutex_unlock(&s->mbox_mu);
	}
	s->sig_init = s->drain_init = s->mbox_init = false;
	ra_cert_stop(s);
	if (s->http != NULL)
		ra_http_close(s->http);
}

/*
 * The last resort: connections that outlive being shut on both sides can
 * only be held by a library that lost track of them. The loop cannot close
 * clean around them, so the process ends here, saying so.
 */
static void
on_drain_stuck(uv_timer_t *t)
{
	struct ra_srv *s = t->data;

	cella_log_error("drain_stuck", "open=%u jobs=%u code=%d",
			ra_http_conns(s->http), s->loop_jobs, EX_SOFTWARE);
	_exit(EX_SOFTWARE);
}

static void
force(struct ra_srv *s, const char *why)
{
	if (s->forced)
		return;
	s->forced = true;
	cella_log_warn("drain_forced", "why=%s open=%u jobs=%u", why,
		       ra_http_conns(s->http), s->loop_jobs);
	ra_http_quiesce(s->http, true);
	uv_timer_start(&s->drain_timer, on_drain_stuck, STUCK_MS, 0);
}

void
ra_srv_check_drained(struct ra_srv *s)
{
	if (s->state != RA_DRAINING || s->loop_jobs > 0)
		return;
	ra_http_quiesce(s->http, s->forced);
	if (ra_http_conns(s->http) > 0)
		return;
	s->state = RA_CLOSING;
	cella_log_info("drained", "forced=%s", s->forced ? "yes" : "no");
	close_handles(s);
	uv_stop(s->loop);
}

static void
on_drain_timeout(uv_timer_t *t)
{
	force(t->data, "timeout");
}

static void
on_signal(uv_poll_t *h, int status, int events)
{
	struct ra_srv *s = h->data;
	struct signalfd_siginfo si;

	(void)status;
	(void)events;
	if (read(s->sigfd, &si, sizeof(si)) != sizeof(si))
		return;
	if (s->state != RA_RUNNING) {
		force(s, "signal");
		return;
	}
	s->state = RA_DRAINING;
	cella_log_info("draining", "signal=%s open=%u jobs=%u",
		       sigabbrev_np((int)si.ssi_signo), ra_http_conns(s->http),
		       s->loop_jobs);
	ra_cert_stop(s);
	ra_http_drain(s->http);
	if (s->conf->drain_timeout_ms > 0)
		uv_timer_start(&s->drain_timer, on_drain_timeout,
			       s->conf->drain_timeout_ms, 0);
	else
		force(s, "timeout");
	ra_srv_check_drained(s);
}

/* ---- start-up ---- */

static int
block_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	signal(SIGPIPE, SIG_IGN);
	return sigprocmask(SIG_BLOCK, set, NULL) < 0 ? -errno : 0;
}

static int
open_sim(const struct ra_conf *c, struct cella_nsm **out,
	 struct cella_diag *d)
{
	struct cella_nsm_sim_conf sc;
	int rv;

	if (c->sim_ca[0] == '\0')
		return cella_diag_set(d, -EINVAL,
				      "provider sim needs attestation.sim.ca "
				      "(--sim-ca DIR)");
	cella_nsm_sim_conf_init(&sc);
	rv = cella_nsm_sim_conf_load_ca(&sc, c->sim_ca, d);
	if (rv == 0 && c->measurements[0] != '\0')
		rv = cella_nsm_sim_conf_load_measurements(&sc, c->measurements,
							  d);
	if (rv < 0)
		rv = -EINVAL; /* what the files hold: a configuration matter */
	else
		rv = cella_nsm_sim_open(&sc, out, d);
	cella_nsm_sim_conf_fini(&sc);
	return rv;
}

/* The provider; returns an exit code. */
static int
open_nsm(struct ra_srv *s, struct cella_diag *d)
{
	const struct ra_conf *c = s->conf;
	enum ra_provider p = c->provider;
	struct cella_nsm_info info;
	int rv;

	if (p == RA_PROVIDER_AUTO && access(c->device, F_OK) == 0)
		p = RA_PROVIDER_NSM;
	else if (p == RA_PROVIDER_AUTO && c->sim_ca[0] != '\0')
		p = RA_PROVIDER_SIM;
	else if (p == RA_PROVIDER_AUTO)
		return cella_diag_set(d, EX_CONFIG,
				      "provider auto: no NSM device at %s and "
				      "no attestation.sim.ca (--sim-ca DIR)",
				      c->device);
	if (p == RA_PROVIDER_SIM) {
		rv = open_sim(c, &s->nsm, d);
		if (rv < 0)
			return rv == -EINVAL ? EX_CONFIG : EX_SOFTWARE;
	} else if ((rv = cella_nsm_dev_open(c->device, &s->nsm, d)) < 0) {
		return EX_UNAVAILABLE;
	}
	rv = cella_nsm_describe(s->nsm, &info, d);
	if (rv < 0)
		return EX_UNAVAILABLE;
	memcpy(s->module_id, info.module_id, sizeof(s->module_id));
	return 0;
}

static int
start_loop_handles(struct ra_srv *s, const sigset_t *set)
{
	int rv;

	uv_async_init(s->loop, &s->mbox, on_mbox);
	s->mbox.data = s;
	s->mbox_init = true;
	uv_timer_init(s->loop, &s->drain_timer);
	s->drain_timer.data = s;
	s->drain_init = true;
	s->sigfd = signalfd(-1, set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (s->sigfd < 0)
		return -errno;
	uv_poll_init(s->loop, &s->sigpoll, s->sigfd);
	s->sigpoll.data = s;
	s->sig_init = true;
	rv = uv_poll_start(&s->sigpoll, UV_READABLE, on_signal);
	return rv;
}

/* Everything up to serving; returns 0 or an exit code. */
static int
start(struct ra_srv *s, struct cella_diag *d)
{
	const struct ra_conf *c = s->conf;
	const char *cn = c->name[0] != '\0' ? c->name : s->module_id;
	char cn64[65];
	sigset_t set;
	int rv;

	if ((rv = block_signals(&set)) < 0)
		return cella_diag_set(d, EX_OSERR, "signals: %s",
				      cella_strerror(rv));
	if ((rv = open_nsm(s, d)) != 0)
		return rv;
	snprintf(cn64, sizeof(cn64), "%.64s", cn[0] != '\0' ? cn : "cella-ra-web");
	if ((rv = ra_tls_new(c, cn64, &s->metrics, &s->tls, d)) < 0)
		return rv == -EINVAL ? EX_CONFIG : EX_SOFTWARE;
	if ((rv = ra_pool_new(s->nsm, c->max_concurrency, c->queue_max,
			      &s->pool)) < 0)
		return cella_diag_set(d, EX_OSERR, "NSM workers: %s",
				      cella_strerror(rv));
	if ((rv = start_loop_handles(s, &set)) < 0)
		return cella_diag_set(d, EX_OSERR, "loop: %s",
				      cella_strerror(rv));
	if (ra_cert_init(s, d) < 0)
		return EX_UNAVAILABLE;
	if (ra_http_new(s, &s->http, d) < 0)
		return EX_UNAVAILABLE;
	ra_http_url(s->http, s->listen_url, sizeof(s->listen_url));
	if (cella_rpc_server_new(c->internal, c->internal_workers,
				 ra_rpc_handler, s, &s->rpc, d) < 0)
		return EX_UNAVAILABLE;
	return 0;
}

static void
log_ready(struct ra_srv *s)
{
	const struct ra_conf *c = s->conf;
	char spki[65];

	cella_hex_encode(s->tls->spki_sha256, 32, spki, sizeof(spki));
	cella_log_info("ready",
		       "https=%s internal=%s provider=%s module_id=%s "
		       "spki_sha256=%s tls_min=%s mtls=%s http2=%s "
		       "max_concurrency=%u",
		       cella_q(s->listen_url), cella_q(c->internal),
		       cella_nsm_provider(s->nsm), cella_q(s->module_id), spki,
		       c->tls_min == TLS1_2_VERSION ? "1.2" : "1.3",
		       c->client_ca[0] ? "yes" : "no", c->http2 ? "yes" : "no",
		       c->max_concurrency);
}

/* Close whatever start() opened, in the order the header describes. */
static int
teardown(struct ra_srv *s, int code)
{
	close_handles(s);
	/* Their close callbacks, before the memory they live in goes. */
	uv_run(s->loop, UV_RUN_NOWAIT);
	if (s->pool != NULL)
		ra_pool_stop(s->pool);
	cella_rpc_server_free(s->rpc);
	ra_http_free(s->http);
	ra_cert_fini(s);
	uv_run(s->loop, UV_RUN_DEFAULT);
	if (uv_loop_close(s->loop) != 0) {
		cella_log_event(CELLA_LOG_ERROR, "loop_not_empty");
		code = EX_SOFTWARE;
	}
	ra_pool_free(s->pool);
	ra_tls_free(s->tls);
	cella_nsm_free(s->nsm);
	ra_evlog_fini(&s->evlog);
	if (s->sigfd >= 0)
		close(s->sigfd);
	pthread_mutex_destroy(&s->mbox_mu);
	return code;
}

int
ra_srv_run(const struct ra_conf *conf, int ready_fd)
{
	struct ra_srv *s = calloc(1, sizeof(*s));
	struct cella_diag d = {{0}};
	struct timeval tv;
	uv_loop_t loop;
	int code;

	if (s == NULL || uv_loop_init(&loop) < 0) {
		free(s);
		return EX_OSERR;
	}
	s->conf = conf;
	s->loop = &loop;
	s->sigfd = -1;
	ra_evlog_init(&s->evlog, conf->event_log);
	pthread_mutex_init(&s->mbox_mu, NULL);
	ra_metrics_init(&s->metrics);
	gettimeofday(&tv, NULL);
	s->start_time = (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
	code = start(s, &d);
	if (code != 0) {
		cella_log_error("start_failed", "code=%d msg=%s", code,
				cella_q(d.msg));
	} else {
		log_ready(s);
		cella_ready_notify(ready_fd);
		uv_run(&loop, UV_RUN_DEFAULT);
	}
	code = teardown(s, code);
	cella_log_info("exit", "code=%d", code);
	free(s);
	return code;
}
