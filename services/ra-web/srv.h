/*
 * srv: the state of one cella-ra-web process and the contracts between its
 * modules: http (the h2o server and its connections), routes (what each
 * path answers), cert (the cached document for GET /v1/certificate),
 * rpcapi (the internal nng API) and srv itself (start-up, the mailbox from
 * NSM workers to the loop, signals and the drain).
 *
 * Threads: the loop thread owns everything here except the pool, the
 * metrics (atomics) and the mailbox list (its mutex). NSM work runs on the
 * pool's threads; work that started on the loop comes back to it through
 * the mailbox (ra_srv_post), never by touching loop state from a worker.
 */
#ifndef RA_SRV_H
#define RA_SRV_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <h2o.h>
#include <uv.h>

#include "common/nsm/nsm.h"
#include "common/rpc/rpc.h"
#include "services/ra-web/config.h"
#include "services/ra-web/evlog.h"
#include "services/ra-web/metrics.h"
#include "services/ra-web/pool.h"
#include "services/ra-web/query.h"
#include "services/ra-web/tls.h"

struct ra_srv;

/* Pool work that finishes on the loop. */
struct ra_loopjob {
	struct ra_job job; /* its run() ends with ra_srv_post() */
	struct ra_loopjob *next_done;
	struct ra_srv *srv;
	void (*finish)(struct ra_loopjob *lj); /* on the loop; frees lj */
};

/* The cached certificate document (cert.c). */
struct ra_cert {
	void *json, *cbor; /* h2o shared chunks: a response links them */
	size_t json_len, cbor_len;
	int64_t not_after; /* the document's leaf, UNIX seconds; 0: none */
	uv_timer_t timer;
	bool timer_init, refreshing;
	unsigned failures;
};

struct ra_http; /* http.c */

enum ra_state { RA_RUNNING, RA_DRAINING, RA_CLOSING };

struct ra_srv {
	const struct ra_conf *conf;
	uv_loop_t *loop;
	struct cella_nsm *nsm;
	char module_id[CELLA_NSM_MODULE_ID_MAX + 1];
	struct ra_pool *pool;
	struct ra_tls *tls;
	struct ra_metrics metrics;
	double start_time;

	uv_async_t mbox;
	bool mbox_init;
	pthread_mutex_t mbox_mu;
	struct ra_loopjob *mbox_head;
	unsigned loop_jobs; /* submitted, finish not yet run */

	struct ra_http *http;
	struct ra_cert cert;
	struct cella_rpc_server *rpc;
	struct ra_evlog evlog;

	int sigfd;
	uv_poll_t sigpoll;
	uv_timer_t drain_timer;
	bool sig_init, drain_init, forced;
	enum ra_state state;
	char listen_url[CELLA_ADDR_URL_MAX + 1]; /* with the bound port */
};

/* ---- srv.c ---- */
/* Run cella-ra-web until drained; returns the exit code. */
int ra_srv_run(const struct ra_conf *conf, int ready_fd);
/* From the loop: hand lj to the pool. -EBUSY, -ESHUTDOWN. */
int ra_srv_submit(struct ra_srv *s, struct ra_loopjob *lj);
/* From a worker, at the end of run(): queue lj's finish on the loop. */
void ra_srv_post(struct ra_loopjob *lj);
/* The loop lost a connection or finished a job: maybe the drain is over. */
void ra_srv_check_drained(struct ra_srv *s);
void ra_srv_gauges(struct ra_srv *s, struct ra_gauges *g);

/* ---- http.c ---- */
int ra_http_new(struct ra_srv *s, struct ra_http **out, struct cella_diag *d);
/* The bound address as a URL (the port the kernel chose for :0). */
int ra_http_url(struct ra_http *h, char *buf, size_t len);
/* Stop accepting, ask h2 peers to go away, end keep-alive. */
void ra_http_drain(struct ra_http *h);
/* Close idle connections (shut their read side); busy ones close after
 * their response. force: shut both sides of every connection. */
void ra_http_quiesce(struct ra_http *h, bool force);
unsigned ra_http_conns(struct ra_http *h);
/* Close the listener and the sweeper; the loop must then run out. */
void ra_http_close(struct ra_http *h);
/* After the loop has stopped: dispose of h2o's context and config. */
void ra_http_free(struct ra_http *h);

/* Answer req (body must live as long as req: static, in req->pool, or a
 * shared chunk linked to req->pool); logs and counts it. */
void ra_http_send(struct ra_srv *s, h2o_req_t *req, enum ra_route r,
		  int status, const char *ctype, h2o_iovec_t body);
/* A JSON error {"error": kind, "status": N, "message": ...}. */
void ra_http_error(struct ra_srv *s, h2o_req_t *req, enum ra_route r,
		   int status, enum ra_err kind, const char *fmt, ...)
	__attribute__((format(printf, 6, 7)));

/* ---- routes.c ---- */
/* h2o's on_req for every path: 0 (answered now or later). */
int ra_routes_handle(struct ra_srv *s, h2o_req_t *req);

/* ---- cert.c ---- */
/* The first document, on the calling thread, before the loop runs. */
int ra_cert_init(struct ra_srv *s, struct cella_diag *d);
void ra_cert_serve(struct ra_srv *s, h2o_req_t *req, enum ra_media m);
void ra_cert_stop(struct ra_srv *s); /* closes the timer */
void ra_cert_fini(struct ra_srv *s); /* releases the bodies */

/* ---- rpcapi.c ---- */
#define RA_RPC_RANDOM_MAX 4096

/* One internal API request, its fields borrowed from the body. */
struct ra_rpc_args {
	uint32_t type;
	uint64_t arg; /* index, range or length */
	struct cella_nsm_opt nonce, user_data, public_key;
	struct cella_span data;
};

/* Read and bound a request body (proto/ra.cddl): -EBADMSG naming the
 * key, -ENOMSG for a type this service does not serve. */
int ra_rpc_parse(uint32_t type, const cbor_item_t *body,
		 struct ra_rpc_args *out, struct cella_diag *d);
/* The internal API: every request becomes a pool job. */
int ra_rpc_handler(struct cella_rpc_req *req, const struct cella_env *env,
		   void *arg);

#endif
