/*
 * rpc: request/reply over nng REQ/REP with the CBOR envelope. A server runs
 * a fixed number of nng contexts, so that a slow request never blocks the
 * others, parses every request (envelope.h) and hands it to one handler; a
 * malformed or unknown request is answered with an error reply by rpc
 * itself, never by a crash or silence. A client sends one request and waits
 * for its reply with a timeout.
 *
 * Threads: handlers run on nng's threads. A handler may reply at once or keep
 * the request and reply later from any thread (a service with its own event
 * loop hands the request over and replies from its loop). A handler must not
 * block: it holds one of nng's few callback threads. Every request a worker
 * holds occupies that worker; with all workers held, further requests wait
 * in nng. A request that may stay open for long (a long-poll, a wait) is
 * detached first (cella_rpc_req_detach), so that it holds no worker.
 */
#ifndef CELLA_RPC_H
#define CELLA_RPC_H

#include <cbor.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/rpc/envelope.h"
#include "common/core/err.h"
#include "common/rpc/operators.h"

struct cella_rpc_server;
struct cella_rpc_req;
struct cella_rpc_client;

/*
 * Called once per well-formed request with a registered type. It must end
 * the request exactly once, now or later, with cella_rpc_reply or
 * cella_rpc_error; returning a negative errno instead makes rpc answer an
 * error reply with cella_strerror(err). The envelope belongs to rpc and is
 * valid until the request ends.
 */
typedef int (*cella_rpc_handler)(struct cella_rpc_req *req,
				 const struct cella_env *env, void *arg);

/*
 * Listen on url (nngio.h rules) with nworkers concurrent contexts. On
 * success *out is the caller's (cella_rpc_server_free).
 */
int cella_rpc_server_new(const char *url, unsigned nworkers,
			 cella_rpc_handler handler, void *arg,
			 struct cella_rpc_server **out, struct cella_diag *d);
/*
 * Closes the socket; waits for workers; outstanding requests are dropped
 * (their clients time out). No cella_rpc_reply/_error may run during or
 * after it: stop whatever holds requests first.
 */
void cella_rpc_server_free(struct cella_rpc_server *s);

/*
 * End req with a reply of type (body NULL = {}); body stays the caller's.
 * On failure the request stays open, to be ended with cella_rpc_error:
 * -EINVAL (type not a registered reply, or req already ended), -EMSGSIZE
 * (over the type's cap), -EILSEQ (text not UTF-8), -ENOMEM.
 */
int cella_rpc_reply(struct cella_rpc_req *req, uint32_t type,
		    const cbor_item_t *body);
/*
 * End req with an error reply (err: a negative or positive errno; others
 * become EIO; the message is cut at 1023 bytes). It always ends the
 * request: if not even the error reply can be built, the request is
 * dropped and the client times out.
 */
int cella_rpc_error(struct cella_rpc_req *req, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The request's envelope (valid until it ends). */
const struct cella_env *cella_rpc_req_env(const struct cella_rpc_req *req);

/*
 * Let req stop occupying its worker: a fresh worker takes its place and
 * receives the next request, while req stays open until it is ended as
 * usual (and then frees itself). For requests that will be answered
 * later; call it from whoever holds req, before it is ended. 0 (also when
 * already detached); -EBUSY when CELLA_RPC_DETACHED_MAX requests of the server
 * are detached already, -ENOMEM: req then keeps its worker and stays open.
 */
#define CELLA_RPC_DETACHED_MAX 1024
int cella_rpc_req_detach(struct cella_rpc_req *req);

/*
 * Who sent a request. A process inside the enclave connects to the
 * service's own socket and is trusted as local (every role). An operator
 * reaches a service only through the attested bridge (cella-pf-proxy
 * --bridge), which first asks the service, over its own socket, to open a
 * session: a one-connection socket of its own whose every request carries
 * the operator's name and roles. Only a local peer may open sessions, so an
 * operator can never claim another identity or more roles.
 */
struct cella_rpc_peer {
	uint32_t pipe;	    /* nng pipe id: one connection, stable */
	bool remote;	    /* an operator through a bridge session */
	char operator[64];  /* remote: the operator's name from the config */
	uint32_t roles;	    /* CELLA_ROLE_* bits; local peers have all */
};

/* The request's sender (valid until it ends). */
const struct cella_rpc_peer *cella_rpc_req_peer(const struct cella_rpc_req *req);

/*
 * 0 when the request's peer holds role; otherwise answers the request with
 * an EACCES error reply naming the missing role and returns -EACCES (the
 * handler must then not answer again).
 */
int cella_rpc_require(struct cella_rpc_req *req, uint32_t role);

/*
 * cb(pipe, arg) runs on an nng thread when a connection ends, so that a
 * service can drop what the connection owned (a running command, say).
 * Set it before clients connect.
 */
void cella_rpc_server_on_close(struct cella_rpc_server *s,
			       void (*cb)(uint32_t pipe, void *arg), void *arg);

/*
 * For the bridge: ask the service behind c (a local connection) for a
 * session for operator with roles; its URL (ipc://) is written to url. The
 * session socket accepts one connection within CELLA_RPC_SESSION_WAIT_MS and
 * ends with it.
 */
#define CELLA_RPC_SESSION_WAIT_MS 10000
int cella_rpc_session_open(struct cella_rpc_client *c, const char *operator,
			   uint32_t roles, char *url, size_t len,
			   struct cella_diag *d);

struct cella_rpc_client;

/*
 * Dial url (blocking first connect); timeout_ms (> 0) bounds each call.
 * A client may be shared by threads: each call runs on its own nng context.
 */
int cella_rpc_client_new(const char *url, int timeout_ms,
			 struct cella_rpc_client **out, struct cella_diag *d);
void cella_rpc_client_free(struct cella_rpc_client *c);

/*
 * A client over an established stream (an attested TLS session to the
 * bridge, say: atls.h). Takes ownership of fd and ssl, also on failure.
 * name labels the stream in errors. The stream is the client's only
 * connection: once it ends, every call fails at once with -ECONNRESET.
 */
struct ssl_st;
int cella_rpc_client_new_stream(int fd, struct ssl_st *ssl, const char *name,
				int timeout_ms, struct cella_rpc_client **out,
				struct cella_diag *d);

/*
 * Send a request and wait for its reply. On success *reply owns the reply
 * (cella_env_fini). An error reply gives its negative errno with its message
 * in d; -ETIMEDOUT when no reply came in time; -ECONNRESET ("NAME: the
 * connection was lost") at once when the connection carrying the request
 * ends before its reply (every call in flight on it fails); -EINVAL when
 * type is not a registered request; -EPROTO when the reply does not answer
 * the request. A request is sent once, never resent.
 */
int cella_rpc_call(struct cella_rpc_client *c, uint32_t type,
		   const cbor_item_t *body, struct cella_env *reply,
		   struct cella_diag *d);

#endif
