/*
 * rpc: REQ/REP with the CBOR envelope on nng contexts; this file is the
 * server (the client is rpc_client.c). The server owns a
 * fixed array of workers; each is one nng REP context with one aio and a
 * small state machine (RECV -> HANDLER -> SEND -> RECV) whose transitions
 * happen in the aio callback or in cella_rpc_reply/_error. Exactly one
 * party owns a worker at any time: nng while an operation is pending, the
 * callback while it runs, the handler (or whoever it handed the request
 * to) in HANDLER. Ownership passes through nng's own locks or the caller's
 * hand-off, which is why a worker needs no mutex of its own; it also means
 * the callback must not touch the worker once the handler has it. A
 * request that does not parse, or is not a request type, is answered here
 * with an error reply, so a bad peer costs one round trip and nothing
 * else. This module does not retry, queue or authenticate: nng's REQ resend
 * is switched off (a request is never executed twice) and who may connect
 * is the business of the socket's location and the bridge.
 */
#include "common/rpc/rpc.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/supplemental/util/platform.h>

#include "common/net/addr.h"
#include "common/core/log.h"
#include "common/net/nngio.h"
#include "common/rpc/rpc_int.h"

/* The largest message any registered type allows: nng's receive cap. */
size_t
registry_max_bytes(void)
{
	static const uint32_t caps[] = {
#define RPC__CAP(id, nm, ow, dr, max, ds) max,
		CELLA_MSG_TABLE(RPC__CAP)
#undef RPC__CAP
	};
	size_t m = 0;

	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
		m = caps[i] > m ? caps[i] : m;
	return m;
}

/* --- server --- */

void
rpc_arm_recv(struct cella_rpc_req *w)
{
	w->state = W_RECV;
	nng_ctx_recv(w->ctx, w->aio);
}

/*
 * An envelope straight into a message of exactly its size: sized by a
 * counting pass, then encoded into the message's own bytes, so that a
 * megabyte chunk is copied once (into the message) and no intermediate
 * buffer is grown, wiped and freed per message.
 */
int
rpc_encode_msg(uint32_t type, uint64_t id, const cbor_item_t *body, int err,
	   const char *errmsg, nng_msg **out)
{
	struct cella_buf b;
	nng_msg *m;
	size_t n;
	int rv;

	cella_buf_init_count(&b, CELLA_ENV_MAX_BYTES);
	rv = errmsg != NULL ? cella_env_encode_error(id, err, errmsg, &b)
			    : cella_env_encode(type, id, body, &b);
	if (rv < 0)
		return rv;
	n = b.len;
	if ((rv = cella_err_nng(nng_msg_alloc(&m, n))) < 0)
		return rv;
	cella_buf_borrow(&b, nng_msg_body(m), n);
	rv = errmsg != NULL ? cella_env_encode_error(id, err, errmsg, &b)
			    : cella_env_encode(type, id, body, &b);
	if (rv == 0 && b.len != n)
		rv = -EIO; /* the two passes disagree: a bug, never sent */
	if (rv < 0) {
		nng_msg_free(m);
		return rv;
	}
	*out = m;
	return 0;
}

/* Hand the encoded reply to nng; the request ends here. */
static void
send_msg(struct cella_rpc_req *w, nng_msg *m)
{
	cella_env_fini(&w->env);
	w->state = W_SEND;
	nng_aio_set_msg(w->aio, m);
	nng_ctx_send(w->ctx, w->aio);
}

/*
 * Answer with an error reply. When not even that can be built (no memory)
 * the request is dropped: the context receives again, and the client's
 * call times out.
 */
int
end_with_error(struct cella_rpc_req *w, uint64_t id, int err, const char *msg)
{
	nng_msg *m;
	int rv;

	if (err == 0 || err > 4095 || err < -4095)
		err = -EIO; /* an error reply always carries a real errno */
	if ((rv = rpc_encode_msg(CELLA_MSG_ERROR, id, NULL, err, msg, &m)) == 0)
		send_msg(w, m);
	else {
		cella_log_warn("rpc_reply_dropped", "err=%s", cella_errname(rv));
		cella_env_fini(&w->env);
		rpc_arm_recv(w);
	}
	return rv;
}

static void
recv_done(struct cella_rpc_req *w, int nrv)
{
	struct cella_rpc_server *s = w->srv;
	const struct cella_msg_info *info;
	struct cella_diag d = {""};
	nng_msg *m;
	int rv;

	if (nrv != 0) {
		if (nrv == NNG_ECLOSED || nrv == NNG_ECANCELED ||
		    atomic_load(&s->closing)) {
			w->state = W_IDLE;
			return;
		}
		cella_log_warn("rpc_recv_failed", "err=%s",
			       cella_errname(cella_err_nng(nrv)));
		rpc_arm_recv(w);
		return;
	}
	m = nng_aio_get_msg(w->aio);
	nng_aio_set_msg(w->aio, NULL);
	rpc_session_peer(s, nng_msg_get_pipe(m), &w->peer);
	rv = cella_env_parse(nng_msg_body(m), nng_msg_len(m), &w->env, &d);
	nng_msg_free(m);
	if (rv == 0 && (info = cella_msg_lookup(w->env.type))->dir !=
			       CELLA_DIR_REQUEST) {
		rv = cella_diag_set(&d, -ENOMSG, "%s is not a request",
				    info->name);
		cella_env_fini(&w->env);
	}
	if (rv < 0) {
		cella_log_warn("bad_request", "err=%s msg=%s",
			       cella_errname(rv), cella_q(d.msg));
		end_with_error(w, 0, rv, d.msg);
		return;
	}
	w->state = W_HANDLER;
	if (w->env.type == CELLA_MSG_SESSION_OPEN) {
		rpc_session_open_req(w);
		return;
	}
	/* From here on the handler owns w: touch it only if it refused. */
	if ((rv = s->handler(w, &w->env, s->arg)) < 0)
		end_with_error(w, w->env.id, rv, cella_strerror(rv));
}

static void
send_done(struct cella_rpc_req *w, int nrv)
{
	if (nrv != 0) {
		nng_msg_free(nng_aio_get_msg(w->aio));
		nng_aio_set_msg(w->aio, NULL);
		if (nrv != NNG_ECLOSED && nrv != NNG_ECANCELED)
			cella_log_warn("rpc_send_failed", "err=%s",
				       cella_errname(cella_err_nng(nrv)));
	}
	if (w->detached) {
		rpc_detached_end(w);
		return;
	}
	if (nrv == NNG_ECLOSED || nrv == NNG_ECANCELED ||
	    atomic_load(&w->srv->closing)) {
		w->state = W_IDLE;
		return;
	}
	rpc_arm_recv(w);
}

void
rpc_worker_cb(void *arg)
{
	struct cella_rpc_req *w = arg;
	int nrv = nng_aio_result(w->aio);

	if (w->state == W_RECV)
		recv_done(w, nrv);
	else if (w->state == W_SEND)
		send_done(w, nrv);
}

static int
server_open(struct cella_rpc_server *s, const char *url, struct cella_diag *d)
{
	int rv;

	if ((rv = cella_err_nng(nng_rep0_open(&s->sock))) < 0)
		return cella_diag_set(d, rv, "rpc: cannot open a REP socket: %s",
				      cella_strerror(rv));
	s->sock_open = true;
	rv = cella_err_nng(nng_socket_set_size(s->sock, NNG_OPT_RECVMAXSZ,
					       registry_max_bytes()));
	for (unsigned i = 0; i < s->nworkers && rv == 0; i++)
		rv = rpc_worker_new(s, &s->w[i]);
	if (rv < 0)
		return cella_diag_set(d, rv, "rpc: cannot set up workers: %s",
				      cella_strerror(rv));
	if ((rv = rpc_sessions_init(s, url, d)) < 0)
		return rv;
	return cella_nng_listen(s->sock, url, d);
}

int
cella_rpc_server_new(const char *url, unsigned nworkers,
		     cella_rpc_handler handler, void *arg,
		     struct cella_rpc_server **out, struct cella_diag *d)
{
	struct cella_rpc_server *s;
	int rv;

	if (nworkers == 0 || nworkers > RPC_WORKERS_MAX || handler == NULL)
		return cella_diag_set(d, -EINVAL,
				      "rpc: 1..%d workers and a handler",
				      RPC_WORKERS_MAX);
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (s->w = calloc(nworkers, sizeof(*s->w))) == NULL) {
		free(s);
		return cella_diag_set(d, -ENOMEM, "rpc: out of memory");
	}
	s->handler = handler;
	s->arg = arg;
	s->nworkers = nworkers;
	atomic_init(&s->closing, false);
	LIST_INIT(&s->detached);
	if ((rv = server_open(s, url, d)) < 0) {
		cella_rpc_server_free(s);
		return rv;
	}
	for (unsigned i = 0; i < nworkers; i++)
		rpc_arm_recv(s->w[i]);
	*out = s;
	return 0;
}

int
cella_rpc_reply(struct cella_rpc_req *req, uint32_t type,
		const cbor_item_t *body)
{
	const struct cella_msg_info *info = cella_msg_lookup(type);
	nng_msg *m;
	int rv;

	if (req->state != W_HANDLER || info == NULL ||
	    info->dir != CELLA_DIR_REPLY)
		return -EINVAL;
	if ((rv = rpc_encode_msg(type, req->env.id, body, 0, NULL, &m)) == 0)
		send_msg(req, m);
	return rv;
}

int
cella_rpc_error(struct cella_rpc_req *req, int err, const char *fmt, ...)
{
	char msg[RPC_ERRMSG_MAX];
	va_list ap;

	if (req->state != W_HANDLER)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return end_with_error(req, req->env.id, err, msg);
}

const struct cella_env *
cella_rpc_req_env(const struct cella_rpc_req *req)
{
	return &req->env;
}

const struct cella_rpc_peer *
cella_rpc_req_peer(const struct cella_rpc_req *req)
{
	return &req->peer;
}

int
cella_rpc_require(struct cella_rpc_req *req, uint32_t role)
{
	char need[64];

	if ((req->peer.roles & role) == role)
		return 0;
	cella_roles_format(role & ~req->peer.roles, need, sizeof(need));
	cella_log_warn("denied", "operator=%s need=%s msg=%s",
		       cella_q(req->peer.operator), need,
		       cella_msg_lookup(req->env.type)->name);
	cella_rpc_error(req, -EACCES, "operator '%s' lacks the role %s",
			req->peer.operator, need);
	return -EACCES;
}
