/*
 * rpc_client: the REQ side of rpc.h. Every call runs on its own nng
 * context, so threads may share a client. nng's resend is off (a request
 * is never executed twice).
 */
#include "common/rpc.h"

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

#include "common/nngio.h"
#include "common/rpc_int.h"


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
		     c->sock, NNG_OPT_RECVMAXSZ, registry_max_bytes()))) < 0) {
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
	if ((rv = cella_nng_dial_stream(c->sock, fd, ssl, d)) < 0) {
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
	if (c->sock_open)
		nng_close(c->sock);
	free(c);
}

/* Milliseconds left until deadline, at least 1 so nng still waits. */
static nng_duration
left_ms(nng_time deadline)
{
	nng_time now = nng_clock();

	return now >= deadline ? 1 : (nng_duration)(deadline - now);
}

/* One exchange on its own context; *out is the reply message. */
static int
exchange(struct cella_rpc_client *c, nng_ctx ctx, nng_msg *m, nng_msg **out,
	 struct cella_diag *d)
{
	nng_time deadline = nng_clock() + (nng_time)c->timeout_ms;
	nng_aio *aio = NULL;
	int rv;

	if ((rv = cella_err_nng(nng_aio_alloc(&aio, NULL, NULL))) < 0) {
		nng_msg_free(m);
		return cella_diag_set(d, rv, "rpc: %s", cella_strerror(rv));
	}
	nng_aio_set_timeout(aio, left_ms(deadline));
	nng_aio_set_msg(aio, m);
	nng_ctx_send(ctx, aio);
	nng_aio_wait(aio);
	if ((rv = cella_err_nng(nng_aio_result(aio))) < 0) {
		nng_msg_free(nng_aio_get_msg(aio));
		goto out;
	}
	nng_aio_set_timeout(aio, left_ms(deadline));
	nng_ctx_recv(ctx, aio);
	nng_aio_wait(aio);
	if ((rv = cella_err_nng(nng_aio_result(aio))) == 0)
		*out = nng_aio_get_msg(aio);
out:
	if (rv == -ETIMEDOUT)
		cella_diag_set(d, rv, "%s: no reply within %d ms", c->url,
			       c->timeout_ms);
	else if (rv < 0)
		cella_diag_set(d, rv, "%s: %s", c->url, cella_strerror(rv));
	nng_aio_free(aio);
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
