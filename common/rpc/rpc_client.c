/*
 * rpc_client: the REQ side of rpc.h. Every call runs on its own nng
 * context, so threads may share a client. nng's resend is off (a request
 * is never executed twice).
 *
 * A lost connection ends every call in flight at once. nng's REQ would
 * keep such a request to send again on the next connection (which, for a
 * stream, never comes; for a redialed one, would run the request twice)
 * and its caller would wait out its whole timeout (minutes for a file
 * transfer). So every call is listed on its client, and when a connection
 * goes (nng's pipe event) each listed call is aborted and fails with
 * -ECONNRESET; a stream client fails every later call at once as well.
 * A call starts each nng operation under the client's lock after checking
 * that it was not lost, so an abort can never fall between two operations.
 */
#include "common/rpc/rpc.h"

#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <openssl/ssl.h>

#include "common/net/nngio.h"
#include "common/rpc/rpc_int.h"

/* A connection of c's went away: end the calls in flight (nng thread). */
static void
client_pipe_gone(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	struct cella_rpc_client *c = arg;
	struct rpc_call *call;

	(void)p;
	(void)ev;
	nng_mtx_lock(c->mu);
	if (c->stream)
		c->gone = true;
	LIST_FOREACH(call, &c->calls, link) {
		call->lost = true;
		nng_aio_abort(call->aio, NNG_ECONNRESET);
	}
	nng_mtx_unlock(c->mu);
}

/* A REQ socket with cella's options, not yet connected. */
static int
client_alloc(const char *name, int timeout_ms, struct cella_rpc_client **out,
	     struct cella_diag *d)
{
	struct cella_rpc_client *c;
	int rv;

	if (timeout_ms <= 0)
		return cella_diag_set(d, -EINVAL, "rpc: timeout must be > 0");
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return cella_diag_set(d, -ENOMEM, "rpc: out of memory");
	c->timeout_ms = timeout_ms;
	atomic_init(&c->next_id, 1);
	snprintf(c->url, sizeof(c->url), "%s", name);
	LIST_INIT(&c->calls);
	if ((rv = cella_err_nng(nng_mtx_alloc(&c->mu))) < 0) {
		rv = cella_diag_set(d, rv, "rpc: %s", cella_strerror(rv));
		goto fail;
	}
	if ((rv = cella_err_nng(nng_req0_open(&c->sock))) < 0) {
		rv = cella_diag_set(d, rv, "rpc: cannot open a REQ socket: %s",
				    cella_strerror(rv));
		goto fail;
	}
	c->sock_open = true;
	/* Never send a request twice: the handler may not be idempotent. */
	if ((rv = cella_err_nng(nng_socket_set_ms(c->sock,
						  NNG_OPT_REQ_RESENDTIME,
						  NNG_DURATION_INFINITE))) < 0 ||
	    (rv = cella_err_nng(nng_socket_set_size(
		     c->sock, NNG_OPT_RECVMAXSZ, registry_max_bytes()))) < 0 ||
	    (rv = cella_err_nng(nng_pipe_notify(c->sock, NNG_PIPE_EV_REM_POST,
						client_pipe_gone, c))) < 0) {
		rv = cella_diag_set(d, rv, "rpc: socket options: %s",
				    cella_strerror(rv));
		goto fail;
	}
	*out = c;
	return 0;
fail:
	cella_rpc_client_free(c);
	return rv;
}

int
cella_rpc_client_new(const char *url, int timeout_ms,
		     struct cella_rpc_client **out, struct cella_diag *d)
{
	struct cella_rpc_client *c;
	int rv;

	if ((rv = client_alloc(url, timeout_ms, &c, d)) < 0)
		return rv;
	if ((rv = cella_nng_dial(c->sock, url, true, d)) < 0) {
		cella_rpc_client_free(c);
		return rv;
	}
	*out = c;
	return 0;
}

int
cella_rpc_client_new_stream(int fd, SSL *ssl, const char *name, int timeout_ms,
			    struct cella_rpc_client **out, struct cella_diag *d)
{
	struct cella_rpc_client *c;
	int rv;

	if ((rv = client_alloc(name, timeout_ms, &c, d)) < 0) {
		SSL_free(ssl);
		close(fd);
		return rv;
	}
	c->stream = true;
	if ((rv = cella_nng_dial_stream(c->sock, fd, ssl, d)) < 0) {
		/* nng's handshake over a stream whose far end is gone */
		if (rv == -EPIPE || rv == -ECONNRESET || rv == -ECONNABORTED)
			rv = cella_diag_set(d, -ECONNRESET,
					    "%s: the connection was lost", name);
		else
			cella_diag_set(d, rv, "%s: %s", name, d->msg);
		cella_rpc_client_free(c);
		return rv;
	}
	*out = c;
	return 0;
}

void
cella_rpc_client_free(struct cella_rpc_client *c)
{
	if (c == NULL)
		return;
	/* nng_close returns once every pipe event has run. */
	if (c->sock_open)
		nng_close(c->sock);
	if (c->mu != NULL)
		nng_mtx_free(c->mu);
	free(c);
}

/* Milliseconds left until deadline, at least 1 so nng still waits. */
static nng_duration
left_ms(nng_time deadline)
{
	nng_time now = nng_clock();

	return now >= deadline ? 1 : (nng_duration)(deadline - now);
}

/*
 * Start a send (m not NULL) or a receive on ctx, unless call's connection
 * is gone already; the lock makes the check and the start one step for
 * client_pipe_gone. false: not started (m stays the caller's).
 */
static bool
call_start(struct cella_rpc_client *c, struct rpc_call *call, nng_ctx ctx,
	   nng_msg *m, nng_time deadline)
{
	bool ok;

	nng_mtx_lock(c->mu);
	ok = !call->lost && !c->gone;
	if (ok) {
		nng_aio_set_timeout(call->aio, left_ms(deadline));
		if (m != NULL) {
			nng_aio_set_msg(call->aio, m);
			nng_ctx_send(ctx, call->aio);
		} else {
			nng_ctx_recv(ctx, call->aio);
		}
	}
	nng_mtx_unlock(c->mu);
	return ok;
}

/* One operation, waited for; 0 or -errno (-ECONNRESET: lost). */
static int
call_step(struct cella_rpc_client *c, struct rpc_call *call, nng_ctx ctx,
	  nng_msg *m, nng_time deadline)
{
	if (!call_start(c, call, ctx, m, deadline)) {
		nng_msg_free(m);
		return -ECONNRESET;
	}
	nng_aio_wait(call->aio);
	return cella_err_nng(nng_aio_result(call->aio));
}

/* The error of a failed exchange into d. */
static int
exchange_error(const struct cella_rpc_client *c, bool lost, int rv,
	       struct cella_diag *d)
{
	/* nng itself fails a call waiting for its reply with ECONNRESET
	 * when the pipe closes (resend is off): the same loss. */
	if (lost || rv == -ECONNRESET)
		return cella_diag_set(d, -ECONNRESET,
				      "%s: the connection was lost", c->url);
	if (rv == -ETIMEDOUT)
		return cella_diag_set(d, rv, "%s: no reply within %d ms",
				      c->url, c->timeout_ms);
	return cella_diag_set(d, rv, "%s: %s", c->url, cella_strerror(rv));
}

/* One exchange on its own context; *out is the reply message. */
static int
exchange(struct cella_rpc_client *c, nng_ctx ctx, nng_msg *m, nng_msg **out,
	 struct cella_diag *d)
{
	nng_time deadline = nng_clock() + (nng_time)c->timeout_ms;
	struct rpc_call call = {0};
	bool lost;
	int rv;

	if ((rv = cella_err_nng(nng_aio_alloc(&call.aio, NULL, NULL))) < 0) {
		nng_msg_free(m);
		return cella_diag_set(d, rv, "rpc: %s", cella_strerror(rv));
	}
	nng_mtx_lock(c->mu);
	LIST_INSERT_HEAD(&c->calls, &call, link);
	nng_mtx_unlock(c->mu);
	if ((rv = call_step(c, &call, ctx, m, deadline)) < 0)
		nng_msg_free(nng_aio_get_msg(call.aio)); /* not sent */
	else if ((rv = call_step(c, &call, ctx, NULL, deadline)) == 0)
		*out = nng_aio_get_msg(call.aio);
	nng_mtx_lock(c->mu);
	LIST_REMOVE(&call, link);
	lost = call.lost || c->gone;
	nng_mtx_unlock(c->mu);
	if (rv < 0)
		rv = exchange_error(c, lost, rv, d);
	nng_aio_free(call.aio);
	return rv;
}

/* The reply must answer our request: its id (0 only for errors), a reply type. */
static int
check_reply(const struct cella_env *e, uint64_t id, struct cella_diag *d)
{
	int rv;

	if (e->type == CELLA_MSG_ERROR) {
		if (e->id != id && e->id != 0)
			return cella_diag_set(d, -EPROTO,
					      "rpc: error reply for request %" PRIu64
					      ", sent %" PRIu64,
					      e->id, id);
		rv = cella_env_error(e, d);
		return rv < 0 ? rv : -EPROTO;
	}
	if (cella_msg_lookup(e->type)->dir != CELLA_DIR_REPLY || e->id != id)
		return cella_diag_set(d, -EPROTO,
				      "rpc: got %s for request %" PRIu64
				      ", sent %" PRIu64,
				      cella_msg_lookup(e->type)->name, e->id, id);
	return 0;
}

int
cella_rpc_call(struct cella_rpc_client *c, uint32_t type,
	       const cbor_item_t *body, struct cella_env *reply,
	       struct cella_diag *d)
{
	const struct cella_msg_info *info = cella_msg_lookup(type);
	uint64_t id = atomic_fetch_add(&c->next_id, 1);
	struct cella_env e = {0};
	nng_msg *m = NULL, *r = NULL;
	nng_ctx ctx;
	int rv;

	if (info == NULL || info->dir != CELLA_DIR_REQUEST)
		return cella_diag_set(d, -EINVAL,
				      "rpc: type 0x%04" PRIx32
				      " is not a registered request",
				      type);
	if ((rv = rpc_encode_msg(type, id, body, 0, NULL, &m)) < 0)
		return cella_diag_set(d, rv, "rpc: cannot encode %s: %s",
				      info->name, cella_strerror(rv));
	if ((rv = cella_err_nng(nng_ctx_open(&ctx, c->sock))) < 0) {
		nng_msg_free(m);
		return cella_diag_set(d, rv, "rpc: %s", cella_strerror(rv));
	}
	rv = exchange(c, ctx, m, &r, d);
	nng_ctx_close(ctx); /* a late reply to it is discarded by nng */
	if (rv < 0)
		return rv;
	rv = cella_env_parse(nng_msg_body(r), nng_msg_len(r), &e, d);
	nng_msg_free(r);
	if (rv < 0 || (rv = check_reply(&e, id, d)) < 0) {
		cella_env_fini(&e);
		return rv;
	}
	*reply = e;
	return 0;
}
