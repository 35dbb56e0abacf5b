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
 * in nng.
 */
#ifndef CELLA_RPC_H
#define CELLA_RPC_H

#include <cbor.h>
#include <stdint.h>

#include "common/envelope.h"
#include "common/err.h"

struct cella_rpc_server;
struct cella_rpc_req;

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

struct cella_rpc_client;

/*
 * Dial url (blocking first connect); timeout_ms (> 0) bounds each call.
 * A client may be shared by threads: each call runs on its own nng context.
 */
int cella_rpc_client_new(const char *url, int timeout_ms,
			 struct cella_rpc_client **out, struct cella_diag *d);
void cella_rpc_client_free(struct cella_rpc_client *c);

/*
 * Send a request and wait for its reply. On success *reply owns the reply
 * (cella_env_fini). An error reply gives its negative errno with its message
 * in d; -ETIMEDOUT when no reply came in time; -EINVAL when type is not a
 * registered request; -EPROTO when the reply does not answer the request.
 * A request is sent once, never resent.
 */
int cella_rpc_call(struct cella_rpc_client *c, uint32_t type,
		   const cbor_item_t *body, struct cella_env *reply,
		   struct cella_diag *d);

#endif
