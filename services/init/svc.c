/*
 * svc: the per-service state machine. Every legal (state, event) pair is one
 * row of the table below; actions return the next state and do their side
 * effects through ops. Nothing here blocks or allocates.
 */
#include "services/init/svc.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <sysexits.h>

#include "common/core/err.h"

typedef int (*init_act)(struct init_svc *s, uint64_t now, int arg);

static const char *const state_names[INIT_STATE_COUNT] = {
	"stopped", "starting", "ready", "stopping", "backoff", "failed",
};

static const char *const ev_names[INIT_EV_COUNT] = {
	"start", "stop", "restart", "ready", "not-ready", "exit", "timer",
	"drained",
};

const char *
init_state_name(enum init_state st)
{
	return (unsigned)st < INIT_STATE_COUNT ? state_names[st] : "?";
}

const char *
init_ev_name(enum init_ev ev)
{
	return (unsigned)ev < INIT_EV_COUNT ? ev_names[ev] : "?";
}

void
init_svc_init(struct init_svc *s, const char *name,
	      const struct init_policy *pol, const struct init_svc_ops *ops,
	      void *owner)
{
	memset(s, 0, sizeof(*s));
	s->name = name;
	s->pol = *pol;
	if (s->pol.crash_max > INIT_CRASH_MAX_LIMIT)
		s->pol.crash_max = INIT_CRASH_MAX_LIMIT;
	s->ops = ops;
	s->owner = owner;
	s->state = INIT_STOPPED;
}

static bool
exec_err_permanent(int err)
{
	return err == -ENOENT || err == -EACCES || err == -ENOEXEC ||
	       err == -ENOTDIR || err == -ELOOP || err == -EPERM ||
	       err == -EISDIR;
}

static unsigned
recent_failures(struct init_svc *s, uint64_t now)
{
	unsigned n = 0;

	for (unsigned i = 0; i < s->nfails; i++)
		if (now - s->fails[i] <= s->pol.crash_window_ms)
			n++;
	return n;
}

static void
record_failure(struct init_svc *s, uint64_t now)
{
	unsigned cap = s->pol.crash_max ? s->pol.crash_max : 1;

	s->fails[s->fail_head] = now;
	s->fail_head = (s->fail_head + 1) % cap;
	if (s->nfails < cap)
		s->nfails++;
}

enum init_state
init_svc_policy(struct init_svc *s, uint64_t now, int wstatus,
		bool failed_start, uint64_t *delay_ms)
{
	bool clean = !failed_start && WIFEXITED(wstatus) &&
		     WEXITSTATUS(wstatus) == 0;
	unsigned n;

	*delay_ms = 0;
	/* Permanent even when it exited before it was ready. */
	if (WIFEXITED(wstatus) &&
	    (WEXITSTATUS(wstatus) == EX_USAGE ||
	     WEXITSTATUS(wstatus) == EX_CONFIG)) {
		snprintf(s->why, sizeof(s->why),
			 "exit %d is a permanent failure",
			 WEXITSTATUS(wstatus));
		return INIT_FAILED;
	}
	if (clean && s->pol.restart != INIT_RESTART_ALWAYS) {
		snprintf(s->why, sizeof(s->why), "exited cleanly");
		return INIT_STOPPED;
	}
	if (s->pol.restart == INIT_RESTART_NO) {
		snprintf(s->why, sizeof(s->why), "%s; restart is 'no'",
			 failed_start ? "not ready" : "failed");
		return INIT_FAILED;
	}
	record_failure(s, now);
	n = recent_failures(s, now);
	if (s->pol.crash_max > 0 && n >= s->pol.crash_max) {
		snprintf(s->why, sizeof(s->why),
			 "crash loop: %u exits within %llu ms", n,
			 (unsigned long long)s->pol.crash_window_ms);
		return INIT_FAILED;
	}
	*delay_ms = s->pol.backoff_min_ms;
	for (unsigned i = 1; i < n && *delay_ms < s->pol.backoff_max_ms; i++)
		*delay_ms *= 2;
	if (*delay_ms > s->pol.backoff_max_ms)
		*delay_ms = s->pol.backoff_max_ms;
	snprintf(s->why, sizeof(s->why), "%s; restart in %llu ms",
		 failed_start ? "not ready" : "exited",
		 (unsigned long long)*delay_ms);
	return INIT_BACKOFF;
}

static int
after_failure(struct init_svc *s, uint64_t now, bool failed_start)
{
	enum init_state next;

	next = init_svc_policy(s, now, s->wstatus, failed_start,
			       &s->backoff_ms);
	if (next == INIT_BACKOFF)
		s->ops->timer_arm(s, s->backoff_ms);
	return next;
}

static int
act_spawn(struct init_svc *s, uint64_t now, int arg)
{
	int rv;

	(void)arg;
	s->ops->timer_stop(s);
	s->restart_pending = s->fail_pending = s->killed = false;
	s->starts++;
	rv = s->ops->spawn(s);
	s->spawn_err = rv;
	if (rv == 0) {
		snprintf(s->why, sizeof(s->why), "spawned");
		return INIT_STARTING;
	}
	s->has_exit = false;
	if (exec_err_permanent(rv)) {
		snprintf(s->why, sizeof(s->why), "cannot execute: %s",
			 cella_strerror(rv));
		return INIT_FAILED;
	}
	s->wstatus = 127 << 8;
	return after_failure(s, now, false);
}

static int
act_start_fresh(struct init_svc *s, uint64_t now, int arg)
{
	/* A start by hand forgives the failures that stopped it. */
	s->nfails = s->fail_head = 0;
	return act_spawn(s, now, arg);
}

static int
act_term(struct init_svc *s, uint64_t now, int arg)
{
	(void)now;
	(void)arg;
	s->ops->signal(s, SIGTERM);
	s->ops->timer_arm(s, s->pol.grace_ms);
	return INIT_STOPPING;
}

static int
act_restart(struct init_svc *s, uint64_t now, int arg)
{
	int next = act_term(s, now, arg);

	s->restart_pending = true;
	snprintf(s->why, sizeof(s->why), "restart requested");
	return next;
}

static int
act_stop(struct init_svc *s, uint64_t now, int arg)
{
	snprintf(s->why, sizeof(s->why), "stop requested");
	return act_term(s, now, arg);
}

static int
act_not_ready(struct init_svc *s, uint64_t now, int arg)
{
	int next = act_term(s, now, arg);

	s->fail_pending = true;
	return next;
}

static int
act_ready(struct init_svc *s, uint64_t now, int arg)
{
	(void)now;
	(void)arg;
	snprintf(s->why, sizeof(s->why), "ready");
	return INIT_READY;
}

static int
act_exited(struct init_svc *s, uint64_t now, int arg)
{
	s->pid = 0;
	s->has_exit = true;
	s->wstatus = arg;
	/* The instance is gone: what it left behind goes with it. */
	s->ops->signal(s, SIGKILL);
	return after_failure(s, now, false);
}

static int
finish_stop(struct init_svc *s, uint64_t now)
{
	s->ops->timer_stop(s);
	if (s->fail_pending) {
		s->fail_pending = false;
		return after_failure(s, now, true);
	}
	if (s->restart_pending)
		return act_spawn(s, now, 0);
	snprintf(s->why, sizeof(s->why), "stopped");
	return INIT_STOPPED;
}

static int
act_stopping_exit(struct init_svc *s, uint64_t now, int arg)
{
	s->pid = 0;
	s->has_exit = true;
	s->wstatus = arg;
	if (!s->ops->drained(s))
		return INIT_STOPPING; /* wait for the rest of the group */
	return finish_stop(s, now);
}

static int
act_drained(struct init_svc *s, uint64_t now, int arg)
{
	(void)arg;
	if (s->pid != 0)
		return -EINVAL; /* the main process has not been reaped */
	return finish_stop(s, now);
}

static int
act_grace_over(struct init_svc *s, uint64_t now, int arg)
{
	(void)now;
	(void)arg;
	s->ops->signal(s, SIGKILL);
	s->killed = true;
	snprintf(s->why, sizeof(s->why), "killed after %llu ms grace",
		 (unsigned long long)s->pol.grace_ms);
	return INIT_STOPPING;
}

static int
act_stopping_start(struct init_svc *s, uint64_t now, int arg)
{
	(void)now;
	(void)arg;
	s->restart_pending = true;
	s->fail_pending = false;
	return INIT_STOPPING;
}

static int
act_stopping_stop(struct init_svc *s, uint64_t now, int arg)
{
	(void)now;
	(void)arg;
	s->restart_pending = false;
	s->fail_pending = false;
	return INIT_STOPPING;
}

static int
act_cancel(struct init_svc *s, uint64_t now, int arg)
{
	(void)now;
	(void)arg;
	s->ops->timer_stop(s);
	snprintf(s->why, sizeof(s->why), "stop requested");
	return INIT_STOPPED;
}

struct init_row {
	enum init_state state;
	enum init_ev ev;
	init_act act;
};

static const struct init_row table[] = {
	{INIT_STOPPED, INIT_EV_START, act_start_fresh},
	{INIT_STOPPED, INIT_EV_RESTART, act_start_fresh},
	{INIT_FAILED, INIT_EV_START, act_start_fresh},
	{INIT_FAILED, INIT_EV_RESTART, act_start_fresh},
	{INIT_FAILED, INIT_EV_STOP, act_cancel},
	{INIT_BACKOFF, INIT_EV_TIMER, act_spawn},
	{INIT_BACKOFF, INIT_EV_START, act_spawn},
	{INIT_BACKOFF, INIT_EV_RESTART, act_spawn},
	{INIT_BACKOFF, INIT_EV_STOP, act_cancel},
	{INIT_STARTING, INIT_EV_READY, act_ready},
	{INIT_STARTING, INIT_EV_NOT_READY, act_not_ready},
	{INIT_STARTING, INIT_EV_EXIT, act_exited},
	{INIT_STARTING, INIT_EV_STOP, act_stop},
	{INIT_STARTING, INIT_EV_RESTART, act_restart},
	{INIT_READY, INIT_EV_EXIT, act_exited},
	{INIT_READY, INIT_EV_STOP, act_stop},
	{INIT_READY, INIT_EV_RESTART, act_restart},
	{INIT_STOPPING, INIT_EV_EXIT, act_stopping_exit},
	{INIT_STOPPING, INIT_EV_DRAINED, act_drained},
	{INIT_STOPPING, INIT_EV_TIMER, act_grace_over},
	{INIT_STOPPING, INIT_EV_START, act_stopping_start},
	{INIT_STOPPING, INIT_EV_RESTART, act_stopping_start},
	{INIT_STOPPING, INIT_EV_STOP, act_stopping_stop},
};

static int
no_row(const struct init_svc *s, enum init_ev ev)
{
	bool running = s->state == INIT_STARTING || s->state == INIT_READY;

	if (ev == INIT_EV_START && running)
		return -EALREADY;
	if (ev == INIT_EV_STOP && s->state == INIT_STOPPED)
		return -EALREADY;
	return -EINVAL;
}

int
init_svc_event(struct init_svc *s, enum init_ev ev, uint64_t now_ms, int arg)
{
	enum init_state from = s->state;
	unsigned starts = s->starts;
	int next;

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		if (table[i].state != from || table[i].ev != ev)
			continue;
		next = table[i].act(s, now_ms, arg);
		if (next < 0)
			return next;
		s->state = (enum init_state)next;
		/* A new instance is a change even when the state is not. */
		if (s->state != from || s->starts != starts) {
			s->since_ms = now_ms;
			s->ops->changed(s, from);
		}
		return 0;
	}
	return no_row(s, ev);
}

void
init_svc_last_exit(const struct init_svc *s, char *buf, size_t len)
{
	if (s->spawn_err < 0)
		snprintf(buf, len, "exec: %s", cella_errname(s->spawn_err));
	else if (!s->has_exit)
		snprintf(buf, len, "-");
	else if (WIFEXITED(s->wstatus))
		snprintf(buf, len, "exit %d", WEXITSTATUS(s->wstatus));
	else if (WIFSIGNALED(s->wstatus))
		snprintf(buf, len, "signal %d (%s)", WTERMSIG(s->wstatus),
			 sigabbrev_np(WTERMSIG(s->wstatus))
				 ? sigabbrev_np(WTERMSIG(s->wstatus))
				 : "?");
	else
		snprintf(buf, len, "status %d", s->wstatus);
}
