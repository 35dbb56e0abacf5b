/*
 * pool: the one way to the NSM. A fixed set of threads (the concurrency
 * bound) takes jobs from a bounded queue and runs each with the provider
 * handle; both the HTTPS side and the internal API submit here, so the
 * bound holds for the process as a whole. A job's run() does its NSM calls
 * and hands its result on itself (a reply from the worker thread, or a post
 * to the event loop): the pool knows nothing about either.
 *
 * The pool neither retries nor times out a call: the NSM answers or the
 * driver fails, and a provider that hangs holds one worker, never the loop.
 */
#ifndef RA_POOL_H
#define RA_POOL_H

#include <stdint.h>

#include "common/nsm/nsm.h"

struct ra_job {
	struct ra_job *next; /* the pool's, while queued */
	/* On a worker thread, exactly once per accepted job. */
	void (*run)(struct ra_job *j, struct cella_nsm *nsm);
};

struct ra_pool_stats {
	unsigned running, queued, threads, queue_max;
	uint64_t done, refused;
};

struct ra_pool;

/*
 * Start nthreads (1..64) workers over nsm (the caller's; it must outlive
 * the pool) with room for queue_max waiting jobs.
 */
int ra_pool_new(struct cella_nsm *nsm, unsigned nthreads, unsigned queue_max,
		struct ra_pool **out);
/*
 * Queue j; on success the pool runs it exactly once, on failure never:
 * -EBUSY when queue_max jobs already wait, -ESHUTDOWN once stopped.
 */
int ra_pool_submit(struct ra_pool *p, struct ra_job *j);
/* Refuse new jobs, run every queued one, join the workers. Idempotent. */
void ra_pool_stop(struct ra_pool *p);
/* Stop and free; NULL is a no-op. */
void ra_pool_free(struct ra_pool *p);
void ra_pool_stats(struct ra_pool *p, struct ra_pool_stats *out);

#endif
