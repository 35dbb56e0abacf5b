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

#include "common/addr.h"
#include "common/rpc.h"

#define RPC_WORKERS_MAX 1024
#define RPC_ERRMSG_MAX 1024

enum rpc_state {
	W_IDLE,	   /* no operation: not started, or stopped by close */
	W_RECV,	   /* nng holds it: waiting for a request */
	W_HANDLER, /* the handler holds it: a request is open */
	W_SEND,	   /* nng holds it: sending the reply */
};

/* A worker; the handler sees it as the request it currently holds. */
struct cella_rpc_req {
	struct cella_rpc_server *srv;
	nng_ctx ctx;
	nng_aio *aio;
	bool ctx_open;
	enum rpc_state state;
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
	struct cella_rpc_req *w;
	/* sessions (rpc_session.c), under mu */
	nng_mtx *mu;
	char session_base[CELLA_ADDR_URL_MAX + 1]; /* "" when impossible */
	LIST_HEAD(, rpc_session) sessions;
	unsigned nsessions;
	void (*on_close)(uint32_t pipe, void *arg);
	void *on_close_arg;
};

struct cella_rpc_client {
	nng_socket sock;
	bool sock_open;
	int timeout_ms;
	atomic_uint_fast64_t next_id;
	char url[CELLA_ADDR_URL_MAX + 1];
};

size_t registry_max_bytes(void);
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
