/*
 * pool_test: the concurrency bound holds (never more jobs running than
 * workers), a full queue refuses with -EBUSY and counts it, stop runs
 * every job it accepted before returning, and a stopped pool refuses with
 * -ESHUTDOWN. Jobs block on a gate the test opens, so the counts are
 * exact, not timing-dependent.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "services/ra-web/pool.h"

struct gate {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool open;
	unsigned running, max_running, ran, entered;
	struct cella_nsm *seen;
};

struct tjob {
	struct ra_job job;
	struct gate *g;
};

static void
run(struct ra_job *j, struct cella_nsm *nsm)
{
	struct gate *g = ((struct tjob *)j)->g;

	pthread_mutex_lock(&g->mu);
	g->seen = nsm;
	g->entered++;
	if (++g->running > g->max_running)
		g->max_running = g->running;
	pthread_cond_broadcast(&g->cv);
	while (!g->open)
		pthread_cond_wait(&g->cv, &g->mu);
	g->running--;
	g->ran++;
	pthread_mutex_unlock(&g->mu);
}

static void
gate_init(struct gate *g)
{
	memset(g, 0, sizeof(*g));
	pthread_mutex_init(&g->mu, NULL);
	pthread_cond_init(&g->cv, NULL);
}

static void
wait_entered(struct gate *g, unsigned n)
{
	pthread_mutex_lock(&g->mu);
	while (g->entered < n)
		pthread_cond_wait(&g->cv, &g->mu);
	pthread_mutex_unlock(&g->mu);
}

static void
open_gate(struct gate *g)
{
	pthread_mutex_lock(&g->mu);
	g->open = true;
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mu);
}

static void
test_bound_and_busy(void **state)
{
	struct cella_nsm *fake = (struct cella_nsm *)&fake;
	struct ra_pool *p = NULL;
	struct ra_pool_stats st;
	struct tjob jobs[8];
	struct gate g;

	(void)state;
	gate_init(&g);
	assert_int_equal(ra_pool_new(fake, 2, 3, &p), 0);
	for (int i = 0; i < 8; i++)
		jobs[i] = (struct tjob){.job.run = run, .g = &g};
	/* two run, three wait: the sixth is refused */
	assert_int_equal(ra_pool_submit(p, &jobs[0].job), 0);
	assert_int_equal(ra_pool_submit(p, &jobs[1].job), 0);
	wait_entered(&g, 2);
	for (int i = 2; i < 5; i++)
		assert_int_equal(ra_pool_submit(p, &jobs[i].job), 0);
	assert_int_equal(ra_pool_submit(p, &jobs[5].job), -EBUSY);
	ra_pool_stats(p, &st);
	assert_int_equal(st.running, 2);
	assert_int_equal(st.queued, 3);
	assert_int_equal(st.refused, 1);
	assert_int_equal(st.threads, 2);
	open_gate(&g);
	ra_pool_stop(p); /* runs the queued three before returning */
	assert_int_equal(g.ran, 5);
	assert_int_equal(g.max_running, 2);
	assert_ptr_equal(g.seen, fake);
	assert_int_equal(ra_pool_submit(p, &jobs[6].job), -ESHUTDOWN);
	ra_pool_stats(p, &st);
	assert_int_equal(st.done, 5);
	assert_int_equal(st.refused, 2);
	ra_pool_stop(p); /* idempotent */
	ra_pool_free(p);
}

static void
test_args(void **state)
{
	struct ra_pool *p = (struct ra_pool *)&p;

	(void)state;
	assert_int_equal(ra_pool_new(NULL, 0, 1, &p), -EINVAL);
	assert_int_equal(ra_pool_new(NULL, 65, 1, &p), -EINVAL);
	assert_int_equal(ra_pool_new(NULL, 1, 0, &p), -EINVAL);
	assert_ptr_equal(p, (struct ra_pool *)&p); /* untouched on failure */
	ra_pool_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bound_and_busy),
		cmocka_unit_test(test_args),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
