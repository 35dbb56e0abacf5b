/*
 * svc_test: the state machine, table-driven. Each case starts a service in
 * a state, feeds one event and checks the resulting state, the error code
 * and the side effects (spawns, signals, timers) recorded by fake ops. The
 * policy (permanent exits, backoff doubling, crash loop) gets its own cases.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "services/init/svc.h"

struct fake {
	int spawn_rv;
	bool drained;
	int spawns, terms, kills, changes;
	int64_t timer_ms; /* -1: stopped */
};

static struct fake F;

static int
f_spawn(struct init_svc *s)
{
	F.spawns++;
	if (F.spawn_rv == 0)
		s->pid = s->pgid = 100 + F.spawns;
	return F.spawn_rv;
}

static void
f_signal(struct init_svc *s, int sig)
{
	(void)s;
	if (sig == SIGTERM)
		F.terms++;
	else if (sig == SIGKILL)
		F.kills++;
}

static bool
f_drained(struct init_svc *s)
{
	(void)s;
	return F.drained;
}

static void
f_timer_arm(struct init_svc *s, uint64_t ms)
{
	(void)s;
	F.timer_ms = (int64_t)ms;
}

static void
f_timer_stop(struct init_svc *s)
{
	(void)s;
	F.timer_ms = -1;
}

static void
f_changed(struct init_svc *s, enum init_state from)
{
	(void)s;
	(void)from;
	F.changes++;
}

static const struct init_svc_ops fake_ops = {
	f_spawn, f_signal, f_drained, f_timer_arm, f_timer_stop, f_changed,
};

static const struct init_policy pol = {
	.restart = INIT_RESTART_ON_FAILURE,
	.backoff_min_ms = 100,
	.backoff_max_ms = 1000,
	.crash_max = 5,
	.crash_window_ms = 60000,
	.grace_ms = 2000,
};

#define EXIT(code) ((code) << 8)
#define KILLED(sig) (sig)

struct tcase {
	enum init_state from;
	enum init_ev ev;
	int arg;
	bool drained;
	int want_rv;
	enum init_state want;
	int spawns, terms, kills;
	int64_t timer_ms;
};

static const struct tcase cases[] = {
	/* from, ev, arg, drained, rv, to, spawns, terms, kills, timer */
	{INIT_STOPPED, INIT_EV_START, 0, 1, 0, INIT_STARTING, 1, 0, 0, -1},
	{INIT_STOPPED, INIT_EV_RESTART, 0, 1, 0, INIT_STARTING, 1, 0, 0, -1},
	{INIT_STOPPED, INIT_EV_STOP, 0, 1, -EALREADY, INIT_STOPPED, 0, 0, 0, -1},
	{INIT_STOPPED, INIT_EV_EXIT, 0, 1, -EINVAL, INIT_STOPPED, 0, 0, 0, -1},
	{INIT_STOPPED, INIT_EV_READY, 0, 1, -EINVAL, INIT_STOPPED, 0, 0, 0, -1},
	{INIT_STARTING, INIT_EV_READY, 0, 1, 0, INIT_READY, 0, 0, 0, -1},
	{INIT_STARTING, INIT_EV_START, 0, 1, -EALREADY, INIT_STARTING, 0, 0, 0, -1},
	{INIT_STARTING, INIT_EV_NOT_READY, 0, 1, 0, INIT_STOPPING, 0, 1, 0, 2000},
	{INIT_STARTING, INIT_EV_STOP, 0, 1, 0, INIT_STOPPING, 0, 1, 0, 2000},
	{INIT_STARTING, INIT_EV_EXIT, EXIT(1), 1, 0, INIT_BACKOFF, 0, 0, 1, 100},
	{INIT_READY, INIT_EV_START, 0, 1, -EALREADY, INIT_READY, 0, 0, 0, -1},
	{INIT_READY, INIT_EV_STOP, 0, 1, 0, INIT_STOPPING, 0, 1, 0, 2000},
	{INIT_READY, INIT_EV_RESTART, 0, 1, 0, INIT_STOPPING, 0, 1, 0, 2000},
	{INIT_READY, INIT_EV_EXIT, EXIT(0), 1, 0, INIT_STOPPED, 0, 0, 1, -1},
	{INIT_READY, INIT_EV_EXIT, EXIT(2), 1, 0, INIT_BACKOFF, 0, 0, 1, 100},
	{INIT_READY, INIT_EV_EXIT, KILLED(9), 1, 0, INIT_BACKOFF, 0, 0, 1, 100},
	{INIT_READY, INIT_EV_EXIT, EXIT(78), 1, 0, INIT_FAILED, 0, 0, 1, -1},
	{INIT_READY, INIT_EV_EXIT, EXIT(64), 1, 0, INIT_FAILED, 0, 0, 1, -1},
	{INIT_READY, INIT_EV_TIMER, 0, 1, -EINVAL, INIT_READY, 0, 0, 0, -1},
	{INIT_STOPPING, INIT_EV_EXIT, KILLED(15), 1, 0, INIT_STOPPED, 0, 0, 0, -1},
	{INIT_STOPPING, INIT_EV_EXIT, KILLED(15), 0, 0, INIT_STOPPING, 0, 0, 0, -1},
	{INIT_STOPPING, INIT_EV_TIMER, 0, 0, 0, INIT_STOPPING, 0, 0, 1, -1},
	{INIT_STOPPING, INIT_EV_DRAINED, 0, 1, -EINVAL, INIT_STOPPING, 0, 0, 0, -1},
	{INIT_STOPPING, INIT_EV_STOP, 0, 1, 0, INIT_STOPPING, 0, 0, 0, -1},
	{INIT_STOPPING, INIT_EV_START, 0, 1, 0, INIT_STOPPING, 0, 0, 0, -1},
	{INIT_BACKOFF, INIT_EV_TIMER, 0, 1, 0, INIT_STARTING, 1, 0, 0, -1},
	{INIT_BACKOFF, INIT_EV_START, 0, 1, 0, INIT_STARTING, 1, 0, 0, -1},
	{INIT_BACKOFF, INIT_EV_STOP, 0, 1, 0, INIT_STOPPED, 0, 0, 0, -1},
	{INIT_BACKOFF, INIT_EV_EXIT, 0, 1, -EINVAL, INIT_BACKOFF, 0, 0, 0, -1},
	{INIT_FAILED, INIT_EV_START, 0, 1, 0, INIT_STARTING, 1, 0, 0, -1},
	{INIT_FAILED, INIT_EV_STOP, 0, 1, 0, INIT_STOPPED, 0, 0, 0, -1},
	{INIT_FAILED, INIT_EV_READY, 0, 1, -EINVAL, INIT_FAILED, 0, 0, 0, -1},
};

static void
setup_in(struct init_svc *s, enum init_state st)
{
	memset(&F, 0, sizeof(F));
	F.timer_ms = -1;
	init_svc_init(s, "t", &pol, &fake_ops, NULL);
	s->state = st;
	if (st == INIT_STARTING || st == INIT_READY || st == INIT_STOPPING)
		s->pid = s->pgid = 42;
}

static void
test_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct tcase *c = &cases[i];
		struct init_svc s;
		int rv;

		setup_in(&s, c->from);
		F.drained = c->drained;
		rv = init_svc_event(&s, c->ev, 1000, c->arg);
		print_message("case %zu: %s + %s -> %s (rv %d)\n", i,
			      init_state_name(c->from), init_ev_name(c->ev),
			      init_state_name(s.state), rv);
		assert_int_equal(rv, c->want_rv);
		assert_int_equal(s.state, c->want);
		assert_int_equal(F.spawns, c->spawns);
		assert_int_equal(F.terms, c->terms);
		assert_int_equal(F.kills, c->kills);
		assert_int_equal(F.timer_ms, c->timer_ms);
		/* A refused event changes nothing and notifies nobody. */
		if (rv < 0)
			assert_int_equal(F.changes, 0);
	}
}

static void
test_restart_cycle(void **state)
{
	struct init_svc s;

	(void)state;
	setup_in(&s, INIT_READY);
	assert_int_equal(init_svc_event(&s, INIT_EV_RESTART, 0, 0), 0);
	assert_true(s.restart_pending);
	F.drained = false;
	assert_int_equal(init_svc_event(&s, INIT_EV_EXIT, 5, KILLED(15)), 0);
	assert_int_equal(s.state, INIT_STOPPING); /* grandchildren left */
	assert_int_equal(s.pid, 0);
	F.drained = true;
	assert_int_equal(init_svc_event(&s, INIT_EV_DRAINED, 9, 0), 0);
	assert_int_equal(s.state, INIT_STARTING);
	assert_int_equal(F.spawns, 1);
	assert_false(s.restart_pending);
}

static void
test_not_ready_goes_to_backoff(void **state)
{
	struct init_svc s;

	(void)state;
	setup_in(&s, INIT_STARTING);
	assert_int_equal(init_svc_event(&s, INIT_EV_NOT_READY, 0, 0), 0);
	F.drained = true;
	assert_int_equal(init_svc_event(&s, INIT_EV_EXIT, 1, KILLED(15)), 0);
	assert_int_equal(s.state, INIT_BACKOFF);
	assert_int_equal(F.timer_ms, 100);
}

static void
test_backoff_doubles_then_crash_loop(void **state)
{
	static const int64_t delays[] = {100, 200, 400, 800};
	struct init_svc s;
	uint64_t now = 0;

	(void)state;
	setup_in(&s, INIT_READY);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(init_svc_event(&s, INIT_EV_EXIT, now, EXIT(1)), 0);
		assert_int_equal(s.state, INIT_BACKOFF);
		assert_int_equal(F.timer_ms, delays[i]);
		assert_int_equal(init_svc_event(&s, INIT_EV_TIMER, now, 0), 0);
		assert_int_equal(s.state, INIT_STARTING);
		now += 1000;
	}
	assert_int_equal(init_svc_event(&s, INIT_EV_EXIT, now, EXIT(1)), 0);
	assert_int_equal(s.state, INIT_FAILED);
	assert_non_null(strstr(s.why, "crash loop"));
	assert_int_equal(s.starts, 4);
	/* A start by hand forgives the history. */
	assert_int_equal(init_svc_event(&s, INIT_EV_START, now, 0), 0);
	assert_int_equal(init_svc_event(&s, INIT_EV_EXIT, now, EXIT(1)), 0);
	assert_int_equal(F.timer_ms, 100);
}

static void
test_old_failures_age_out(void **state)
{
	struct init_svc s;
	uint64_t now = 0;

	(void)state;
	setup_in(&s, INIT_READY);
	/* One failure a minute and a bit: never a crash loop, never slower. */
	for (int i = 0; i < 10; i++) {
		assert_int_equal(init_svc_event(&s, INIT_EV_EXIT, now, EXIT(3)), 0);
		assert_int_equal(s.state, INIT_BACKOFF);
		assert_int_equal(F.timer_ms, 100);
		assert_int_equal(init_svc_event(&s, INIT_EV_TIMER, now, 0), 0);
		now += 61000;
	}
}

static void
test_cap_and_policies(void **state)
{
	struct init_policy p = pol;
	struct init_svc s;
	uint64_t d;

	(void)state;
	p.backoff_max_ms = 250;
	p.crash_max = 64;
	init_svc_init(&s, "t", &p, &fake_ops, NULL);
	for (int i = 0; i < 10; i++)
		assert_int_equal(init_svc_policy(&s, 0, EXIT(1), false, &d),
				 INIT_BACKOFF);
	assert_int_equal(d, 250);
	p.restart = INIT_RESTART_NO;
	init_svc_init(&s, "t", &p, &fake_ops, NULL);
	assert_int_equal(init_svc_policy(&s, 0, EXIT(0), false, &d), INIT_STOPPED);
	assert_int_equal(init_svc_policy(&s, 0, EXIT(1), false, &d), INIT_FAILED);
	p.restart = INIT_RESTART_ALWAYS;
	init_svc_init(&s, "t", &p, &fake_ops, NULL);
	assert_int_equal(init_svc_policy(&s, 0, EXIT(0), false, &d), INIT_BACKOFF);
	assert_int_equal(init_svc_policy(&s, 0, EXIT(78), false, &d), INIT_FAILED);
}

static void
test_spawn_failure(void **state)
{
	struct init_svc s;

	(void)state;
	setup_in(&s, INIT_STOPPED);
	F.spawn_rv = -ENOENT; /* no such program: permanent */
	assert_int_equal(init_svc_event(&s, INIT_EV_START, 0, 0), 0);
	assert_int_equal(s.state, INIT_FAILED);
	setup_in(&s, INIT_STOPPED);
	F.spawn_rv = -EAGAIN; /* fork failed: try again later */
	assert_int_equal(init_svc_event(&s, INIT_EV_START, 0, 0), 0);
	assert_int_equal(s.state, INIT_BACKOFF);
	assert_int_equal(F.timer_ms, 100);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_restart_cycle),
		cmocka_unit_test(test_not_ready_goes_to_backoff),
		cmocka_unit_test(test_backoff_doubles_then_crash_loop),
		cmocka_unit_test(test_old_failures_age_out),
		cmocka_unit_test(test_cap_and_policies),
		cmocka_unit_test(test_spawn_failure),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
