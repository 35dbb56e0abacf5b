/*
 * rpc_int: what rpc.c (workers, client) and rpc_session.c (operator
 * sessions) share. Not part of the contract.
 */
#ifndef CELLA_RPC_INT_H
#define CELLA_RPC_INT_H

#include <nng/nng.h>
#include <nng/supplemental/util/platform.h>
#include <stdatomic.h>
#include <sys/queue.h>

#include "common/net/addr.h"
#include "common/rpc/rpc.h"

#define RPC_WORKERS_MAX 1024
#define RPC_ERRMSG_MAX 1024

enum rpc_state {
	W_IDLE,	   /* no operation: not started, or stopped by close */
	W_RECV,	   /* nng holds it: waiting for a request */
	W_HANDLER, /* the handler holds it: a request is open */
	W_SEND,	   /* nng holds it: sending the reply */
};

/*
 * A worker; the handler sees it as the request it currently holds. A
 * detached one is no longer a worker (a fresh one took its slot): it lives
 * on srv->detached until its reply is sent, then frees itself.
 */
struct cella_rpc_req {
	struct cella_rpc_server *srv;
	nng_ctx ctx;
	nng_aio *aio;
	bool ctx_open;
	enum rpc_state state;
	bool detached;			 /* set once, by its holder */
	LIST_ENTRY(cella_rpc_req) dlink; /* on srv->detached, under mu */
	struct cella_env env;	     /* valid in W_HANDLER */
	struct cella_rpc_peer peer; /* valid in W_HANDLER */
};

struct rpc_session;

struct cella_rpc_server {
	nng_socket sock;
	bool sock_open;
	atomic_bool closing;
	cella_rpc_handler handler;
	void *arg;
	unsigned nworkers;
	struct cella_rpc_req **w; /* slots; a detach swaps in a fresh one */
	/* sessions (rpc_session.c) and detached requests, under mu */
	nng_mtx *mu;
	LIST_HEAD(, cella_rpc_req) detached;
	unsigned ndetached;
	char session_base[CELLA_ADDR_URL_MAX + 1]; /* "" when impossible */
	LIST_HEAD(, rpc_session) sessions;
	unsigned nsessions;
	void (*on_close)(uint32_t pipe, void *arg);
	void *on_close_arg;
};

/* A call in progress, listed on its client (rpc_client.c). */
struct rpc_call {
	nng_aio *aio;
	bool lost; /* its connection went away: it ends now */
	LIST_ENTRY(rpc_call) link;
};

struct cella_rpc_client {
	nng_socket sock;
	bool sock_open;
	int timeout_ms;
	atomic_uint_fast64_t next_id;
	char url[CELLA_ADDR_URL_MAX + 1];
	/* under mu */
	nng_mtx *mu;
	bool stream; /* one connection, never redialed */
	bool gone;   /* a stream client's connection has ended */
	LIST_HEAD(, rpc_call) calls;
};

size_t registry_max_bytes(void);
/* rpc.c: a worker's aio callback; (re)start receiving on w. */
void rpc_worker_cb(void *arg);
void rpc_arm_recv(struct cella_rpc_req *w);
/* rpc_worker.c: a new worker of s, not yet receiving. */
int rpc_worker_new(struct cella_rpc_server *s, struct cella_rpc_req **out);
/* rpc_worker.c: a detached request's reply has gone (its aio callback). */
void rpc_detached_end(struct cella_rpc_req *w);
/* An envelope (an error reply when errmsg is not NULL) into a message of
 * exactly its size. */
int rpc_encode_msg(uint32_t type, uint64_t id, const cbor_item_t *body,
		   int err, const char *errmsg, nng_msg **out);
int end_with_error(struct cella_rpc_req *w, uint64_t id, int err,
		   const char *msg);

/* Set up session support for a server listening on url (before listen). */
int rpc_sessions_init(struct cella_rpc_server *s, const char *url,
		      struct cella_diag *d);
/* Close every session listener (the socket is closed already). */
void rpc_sessions_fini(struct cella_rpc_server *s);
/* Who is behind pipe: a session's operator, or a local peer. */
void rpc_session_peer(struct cella_rpc_server *s, nng_pipe p,
		      struct cella_rpc_peer *out);
/* Answer a SESSION_OPEN request (w in W_HANDLER). */
void rpc_session_open_req(struct cella_rpc_req *w);

#endif
