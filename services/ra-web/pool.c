/*
 * pool: a mutex, a condition variable and a FIFO. Workers sleep on the
 * condition while the queue is empty; stop wakes them all, and each leaves
 * only once the queue is empty, so no accepted job is ever dropped.
 */
#include "services/ra-web/pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#define POOL_THREADS_MAX 64

struct ra_pool {
	struct cella_nsm *nsm;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct ra_job *head, *tail;
	unsigned queued, running, queue_max, nthreads;
	uint64_t done, refused;
	bool stopping, joined;
	pthread_t threads[POOL_THREADS_MAX];
};

static struct ra_job *
take(struct ra_pool *p)
{
	struct ra_job *j;

	while (p->head == NULL && !p->stopping)
		pthread_cond_wait(&p->cv, &p->mu);
	j = p->head;
	if (j == NULL)
		return NULL;
	p->head = j->next;
	if (p->head == NULL)
		p->tail = NULL;
	p->queued--;
	p->running++;
	return j;
}

static void *
worker(void *arg)
{
	struct ra_pool *p = arg;
	struct ra_job *j;

	pthread_mutex_lock(&p->mu);
	while ((j = take(p)) != NULL) {
		pthread_mutex_unlock(&p->mu);
		j->next = NULL;
		j->run(j, p->nsm); /* j may be gone after this */
		pthread_mutex_lock(&p->mu);
		p->running--;
		p->done++;
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

int
ra_pool_new(struct cella_nsm *nsm, unsigned nthreads, unsigned queue_max,
	    struct ra_pool **out)
{
	struct ra_pool *p;
	int rv;

	if (nthreads == 0 || nthreads > POOL_THREADS_MAX || queue_max == 0)
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (p == NULL)
		return -ENOMEM;
	p->nsm = nsm;
	p->queue_max = queue_max;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	for (; p->nthreads < nthreads; p->nthreads++) {
		rv = pthread_create(&p->threads[p->nthreads], NULL, worker, p);
		if (rv != 0) {
			ra_pool_free(p);
			return -rv;
		}
	}
	*out = p;
	return 0;
}

int
ra_pool_submit(struct ra_pool *p, struct ra_job *j)
{
	int rv = 0;

	pthread_mutex_lock(&p->mu);
	if (p->stopping) {
		rv = -ESHUTDOWN;
	} else if (p->queued >= p->queue_max) {
		rv = -EBUSY;
	} else {
		j->next = NULL;
		if (p->tail != NULL)
			p->tail->next = j;
		else
			p->head = j;
		p->tail = j;
		p->queued++;
		pthread_cond_signal(&p->cv);
	}
	if (rv < 0)
		p->refused++;
	pthread_mutex_unlock(&p->mu);
	return rv;
}

void
ra_pool_stop(struct ra_pool *p)
{
	bool join;

	pthread_mutex_lock(&p->mu);
	p->stopping = true;
	join = !p->joined;
	p->joined = true;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	if (!join)
		return;
	for (unsigned i = 0; i < p->nthreads; i++)
		pthread_join(p->threads[i], NULL);
}

void
ra_pool_free(struct ra_pool *p)
{
	if (p == NULL)
		return;
	ra_pool_stop(p);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	free(p);
}

void
ra_pool_stats(struct ra_pool *p, struct ra_pool_stats *out)
{
	pthread_mutex_lock(&p->mu);
	out->running = p->running;
	out->queued = p->queued;
	out->threads = p->nthreads;
	out->queue_max = p->queue_max;
	out->done = p->done;
	out->refused = p->refused;
	pthread_mutex_unlock(&p->mu);
}
