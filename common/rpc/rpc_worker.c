/*
 * rpc_worker: the server's workers as objects. Each is created with its own
 * aio and REP context; a request whose answer will take a while (a
 * long-poll, a wait for a service to settle) is detached from its worker,
 * which is replaced in its slot by a fresh one, so that held requests never
 * starve the ones that would be answered at once. A detached request frees
 * itself once its reply has been sent. Freeing the server waits for replies
 * on their way, closes the socket and frees every worker and every
 * detached request that is left.
 */
#include <errno.h>
#include <stdlib.h>

#include "common/core/log.h"
#include "common/rpc/rpc_int.h"

/* A worker with its own aio and context, not yet receiving. */
int
rpc_worker_new(struct cella_rpc_server *s, struct cella_rpc_req **out)
{
	struct cella_rpc_req *w = calloc(1, sizeof(*w));
	int rv;

	if (w == NULL)
		return -ENOMEM;
	w->srv = s;
	rv = cella_err_nng(nng_aio_alloc(&w->aio, rpc_worker_cb, w));
	if (rv == 0 && (rv = cella_err_nng(nng_ctx_open(&w->ctx, s->sock))) == 0)
		w->ctx_open = true;
	if (rv < 0) {
		if (w->aio != NULL)
			nng_aio_free(w->aio);
		free(w);
		return rv;
	}
	*out = w;
	return 0;
}

/*
 * A detached request's reply has left (or failed): it frees itself, unless
 * the server is closing, in which case cella_rpc_server_free does.
 */
void
rpc_detached_end(struct cella_rpc_req *w)
{
	struct cella_rpc_server *s = w->srv;

	nng_mtx_lock(s->mu);
	if (atomic_load(&s->closing)) {
		w->state = W_IDLE;
		nng_mtx_unlock(s->mu);
		return;
	}
	LIST_REMOVE(w, dlink);
	s->ndetached--;
	nng_mtx_unlock(s->mu);
	nng_ctx_close(w->ctx);
	nng_aio_reap(w->aio); /* we run in its callback: freed later */
	free(w);
}

/* Whether any reply, of a worker or a detached request, is on its way. */
static bool
sending(struct cella_rpc_server *s)
{
	struct cella_rpc_req *w;
	bool any = false;

	for (unsigned i = 0; i < s->nworkers; i++)
		any |= s->w[i] != NULL &&
		       __atomic_load_n(&s->w[i]->state, __ATOMIC_ACQUIRE) == W_SEND;
	if (s->mu == NULL)
		return any;
	nng_mtx_lock(s->mu);
	LIST_FOREACH(w, &s->detached, dlink)
		any |= __atomic_load_n(&w->state, __ATOMIC_ACQUIRE) == W_SEND;
	nng_mtx_unlock(s->mu);
	return any;
}

/* Stop (the socket is closed) and free one worker or detached request. */
static void
req_free(struct cella_rpc_req *w)
{
	if (w == NULL)
		return;
	if (w->aio != NULL)
		nng_aio_stop(w->aio);
	if (w->ctx_open)
		nng_ctx_close(w->ctx); /* ECLOSED once the socket is */
	if (w->state == W_HANDLER)
		cella_env_fini(&w->env); /* dropped, never answered */
	if (w->aio != NULL)
		nng_aio_free(w->aio);
	free(w);
}

void
cella_rpc_server_free(struct cella_rpc_server *s)
{
	struct cella_rpc_req *w;

	if (s == NULL)
		return;
	atomic_store(&s->closing, true);
	/* A reply on its way (a shutdown request's, say) should leave before
	 * the socket closes under it: give sends a moment to complete. */
	for (int waited = 0; waited < 1000 && sending(s); waited += 5)
		nng_msleep(5);
	/* Closing fails every pending operation; stop waits out callbacks.
	 * A detached request seen closing no longer unlinks itself. */
	if (s->sock_open)
		nng_close(s->sock);
	for (unsigned i = 0; i < s->nworkers; i++)
		if (s->w[i] != NULL && s->w[i]->aio != NULL)
			nng_aio_stop(s->w[i]->aio);
	for (unsigned i = 0; i < s->nworkers; i++)
		req_free(s->w[i]);
	while (s->mu != NULL && (w = LIST_FIRST(&s->detached)) != NULL) {
		LIST_REMOVE(w, dlink);
		req_free(w);
	}
	rpc_sessions_fini(s);
	free(s->w);
	free(s);
}

int
cella_rpc_req_detach(struct cella_rpc_req *req)
{
	struct cella_rpc_server *s = req->srv;
	struct cella_rpc_req *fresh = NULL;
	bool swapped = false;
	int rv;

	if (req->state != W_HANDLER)
		return -EINVAL;
	if (req->detached)
		return 0;
	if ((rv = rpc_worker_new(s, &fresh)) < 0)
		return rv;
	nng_mtx_lock(s->mu);
	rv = s->ndetached >= CELLA_RPC_DETACHED_MAX ? -EBUSY : -EINVAL;
	for (unsigned i = 0; rv == -EINVAL && i < s->nworkers; i++)
		if (s->w[i] == req) {
			s->w[i] = fresh;
			req->detached = swapped = true;
			LIST_INSERT_HEAD(&s->detached, req, dlink);
			s->ndetached++;
			rv = 0;
		}
	nng_mtx_unlock(s->mu);
	if (!swapped) {
		req_free(fresh);
		return rv;
	}
	rpc_arm_recv(fresh); /* the slot serves again; req waits for its answer */
	return 0;
}

