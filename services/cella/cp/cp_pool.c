/*
 * cp_pool: the workers that move a tree's files, each file whole, so a
 * tree of many small files keeps several calls in flight. After the first
 * error, queued tasks are dropped (their descriptors closed) and nothing
 * new starts.
 */
#include "services/cella/cp/cp.h"

#include <stdlib.h>
#include <unistd.h>

#define CP_QUEUE_MAX 64

static void
task_free(struct cp_task *t)
{
	if (t->fd >= 0)
		close(t->fd);
	free(t->remote);
	free(t->rel);
	free(t);
}

static void
run(struct cp_ctx *x, struct cp_task *t)
{
	if (cp_failed(x))
		return;
	if (t->put)
		(void)cp_put_file(x, t->fd, &t->st, t->remote, t->rel);
	else
		(void)cp_get_file(x, t->remote, t->rootfd, t->rel, t->rel);
}

static void *
worker(void *arg)
{
	struct cp_pool *p = arg;
	struct cp_task *t;

	for (;;) {
		pthread_mutex_lock(&p->mu);
		while (p->head == NULL && !p->closing)
			pthread_cond_wait(&p->cv, &p->mu);
		if ((t = p->head) == NULL) {
			pthread_mutex_unlock(&p->mu);
			return NULL;
		}
		if ((p->head = t->next) == NULL)
			p->tail = &p->head;
		p->queued--;
		pthread_cond_broadcast(&p->cv);
		pthread_mutex_unlock(&p->mu);
		run(p->x, t);
		task_free(t);
	}
}

void
cp_pool_start(struct cp_pool *p, struct cp_ctx *x)
{
	p->x = x;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	p->head = NULL;
	p->tail = &p->head;
	p->queued = 0;
	p->closing = false;
	p->nthreads = 0;
	for (unsigned i = 0; i < x->threads && i < CP_THREADS_MAX; i++)
		if (pthread_create(&p->t[p->nthreads], NULL, worker, p) == 0)
			p->nthreads++;
}

void
cp_pool_push(struct cp_pool *p, struct cp_task *t)
{
	t->next = NULL;
	if (p->nthreads == 0) { /* no threads: do it here */
		run(p->x, t);
		task_free(t);
		return;
	}
	pthread_mutex_lock(&p->mu);
	while (p->queued >= CP_QUEUE_MAX)
		pthread_cond_wait(&p->cv, &p->mu);
	*p->tail = t;
	p->tail = &t->next;
	p->queued++;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
}

void
cp_pool_finish(struct cp_pool *p)
{
	pthread_mutex_lock(&p->mu);
	p->closing = true;
	pthread_cond_broadcast(&p->cv);
	pthread_mutex_unlock(&p->mu);
	for (unsigned i = 0; i < p->nthreads; i++)
		pthread_join(p->t[i], NULL);
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
}
