/*
 * pfp: the proxy daemon. One libuv loop; signals arrive on a signalfd
 * watched by the loop, never in a handler. SIGTERM or SIGINT stops
 * accepting and lets open connections finish for the drain timeout; a
 * second signal, or the timeout, closes the rest. The loop must then close
 * with nothing left on it.
 */
#include "services/pf-proxy/pfp.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sysexits.h>
#include <unistd.h>

#include "common/net/addr.h"
#include "common/core/log.h"
#include "common/core/ready.h"

struct pfp {
	uv_loop_t loop;
	struct cella_relay *relay;
	struct pfp_bridge *bridge;
	int sigfd;
	uv_poll_t sigpoll;
	uv_timer_t drain;
	bool sig_init, handles_closed;
	bool draining, closing;
	uint64_t drain_timeout_ms;
};

static const char *const schemes[] = {"ipc://", "unix://", "abstract://",
				      "tcp://", "vsock://"};

int
pfp_rule_parse(char *arg, struct pfp_rule *out, struct cella_diag *d)
{
	for (char *eq = strchr(arg, '='); eq != NULL; eq = strchr(eq + 1, '=')) {
		for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
			if (strncmp(eq + 1, schemes[i], strlen(schemes[i])) != 0)
				continue;
			*eq = '\0';
			out->listen = arg;
			out->target = eq + 1;
			return 0;
		}
	}
	return cella_diag_set(d, -EINVAL,
			      "bad rule '%s': expected LISTEN=TARGET, e.g. "
			      "tcp://127.0.0.1:8443=vsock://16:8443",
			      arg);
}

static void
pfp_close_handles(struct pfp *p)
{
	if (p->handles_closed)
		return;
	p->handles_closed = true;
	if (p->sig_init)
		uv_close((uv_handle_t *)&p->sigpoll, NULL);
	uv_close((uv_handle_t *)&p->drain, NULL);
}

static void
pfp_closed(void *arg)
{
	struct pfp *p = arg;

	p->relay = NULL;
	pfp_close_handles(p);
}

static void
pfp_close(struct pfp *p)
{
	struct cella_relay_stats st;

	if (p->closing)
		return;
	p->closing = true;
	cella_relay_get_stats(p->relay, &st);
	if (st.open > 0)
		cella_log_warn("drain_abort", "open=%u", st.open);
	cella_relay_close(p->relay, pfp_closed, p);
}

static void
pfp_drained(void *arg)
{
	struct pfp *p = arg;

	cella_log_event(CELLA_LOG_INFO, "drained");
	pfp_close(p);
}

static void
pfp_drain_timeout(uv_timer_t *t)
{
	pfp_close(t->data);
}

static void
pfp_signal(uv_poll_t *h, int status, int events)
{
	struct pfp *p = h->data;
	struct signalfd_siginfo si;
	struct cella_relay_stats st;

	(void)status;
	(void)events;
	if (read(p->sigfd, &si, sizeof(si)) != sizeof(si))
		return;
	if (p->draining) {
		pfp_close(p);
		return;
	}
	p->draining = true;
	if (p->bridge != NULL)
		pfp_bridge_stop(p->bridge);
	cella_relay_get_stats(p->relay, &st);
	cella_log_info("draining", "signal=%s open=%u",
		       sigabbrev_np((int)si.ssi_signo), st.open);
	uv_timer_start(&p->drain, pfp_drain_timeout, p->drain_timeout_ms, 0);
	cella_relay_stop(p->relay, pfp_drained, p);
}

static int
pfp_signals(struct pfp *p)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	p->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (p->sigfd < 0)
		return -errno;
	uv_poll_init(&p->loop, &p->sigpoll, p->sigfd);
	p->sig_init = true;
	p->sigpoll.data = p;
	return uv_poll_start(&p->sigpoll, UV_READABLE, pfp_signal);
}

static int
pfp_open_rules(struct pfp *p, const struct pfp_opts *o)
{
	struct cella_diag d;
	int rv;

	for (size_t i = 0; i < o->nrules; i++) {
		rv = cella_relay_add(p->relay, o->rules[i].listen,
				     o->rules[i].target, &d);
		if (rv < 0) {
			cella_log_error("rule_failed", "msg=%s", cella_q(d.msg));
			return rv == -EINVAL ? EX_USAGE : EX_UNAVAILABLE;
		}
	}
	return 0;
}

static int
pfp_open_bridge(struct pfp *p, const struct pfp_bridge_opts *bo)
{
	struct cella_diag d = {{0}};
	int rv;

	if (bo->ops.n == 0)
		cella_log_warn("bridge_no_operators",
			       "msg=\"no operators configured: every connection "
			       "will be refused\"");
	rv = pfp_bridge_start(&p->loop, p->relay, bo, &p->bridge, &d);
	if (rv < 0) {
		cella_log_error("bridge_failed", "msg=%s", cella_q(d.msg));
		return rv == -EINVAL ? EX_USAGE : EX_UNAVAILABLE;
	}
	return 0;
}

int
pfp_run(const struct pfp_opts *o)
{
	struct pfp p = {.sigfd = -1, .drain_timeout_ms = o->drain_timeout_ms};
	long nofile;
	int rv, code = EX_SOFTWARE;

	signal(SIGPIPE, SIG_IGN);
	nofile = cella_relay_raise_nofile();
	uv_loop_init(&p.loop);
	uv_timer_init(&p.loop, &p.drain);
	p.drain.data = &p;
	if (cella_relay_new(&p.loop, &o->relay, &p.relay) < 0)
		goto out;
	if ((rv = pfp_signals(&p)) < 0) {
		cella_log_error("signals_failed", "err=%s", cella_errname(rv));
		goto out;
	}
	if ((code = pfp_open_rules(&p, o)) != 0)
		goto out;
	if (o->bridge.nrules > 0 &&
	    (code = pfp_open_bridge(&p, &o->bridge)) != 0)
		goto out;
	cella_log_info("ready", "rules=%zu bridges=%zu max_conns=%u "
				"idle_timeout_ms=%llu nofile=%ld",
		       o->nrules, o->bridge.nrules, o->relay.max_conns,
		       (unsigned long long)o->relay.idle_timeout_ms, nofile);
	cella_ready_notify(o->ready_fd);
	uv_run(&p.loop, UV_RUN_DEFAULT);
	code = 0;
out:
	/* After a failed start-up: close what was opened and run it out. */
	if (p.bridge != NULL)
		pfp_bridge_stop(p.bridge);
	if (p.relay != NULL)
		pfp_close(&p);
	else
		pfp_close_handles(&p);
	/* Handshakes still on workers keep the loop until they end. */
	uv_run(&p.loop, UV_RUN_DEFAULT);
	pfp_bridge_free(p.bridge);
	if (uv_loop_close(&p.loop) != 0) {
		cella_log_event(CELLA_LOG_ERROR, "loop_not_empty");
		code = EX_SOFTWARE;
	}
	if (p.sigfd >= 0)
		close(p.sigfd);
	cella_log_info("exit", "code=%d", code);
	return code;
}
