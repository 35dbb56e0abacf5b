/*
 * svc: cella-pipeline's request path. The rpc handler runs on nng's
 * threads: it checks the request's role against the operator's roles and
 * the policy, decodes the body (msg.c) and queues the request for the
 * loop, touching nothing else. The loop hands each request to exec.c or
 * files.c, which answer it through pipe_job_finish/_fail, always on the
 * loop. A connection's end arrives the same way and kills what it owned.
 */
#include "services/pipeline/pipe.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cbor/cbor.h"
#include "common/core/log.h"
#include "common/rpc/operators.h"

/* --- jobs --- */

void
pipe_job_drop(struct pipe_job *j)
{
	if (j->rbody != NULL)
		cbor_decref(&j->rbody);
	pipe_msg_fini(&j->m);
	free(j->data);
	free(j);
}

void
pipe_job_finish(struct pipe_job *j)
{
	int rv;

	if (j->err < 0) {
		(void)cella_rpc_error(j->req, j->err, "%s",
				      j->d.msg[0] ? j->d.msg
						  : cella_strerror(j->err));
	} else if ((rv = cella_rpc_reply(j->req, j->rtype, j->rbody)) < 0) {
		cella_log_warn("reply_failed", "type=0x%04x err=%s", j->rtype,
			       cella_errname(rv));
		(void)cella_rpc_error(j->req, rv, "cannot send the reply: %s",
				      cella_strerror(rv));
	}
	pipe_job_drop(j);
}

int
pipe_job_park(struct pipe_job *j)
{
	int rv = cella_rpc_req_detach(j->req);

	if (rv == -EBUSY)
		pipe_job_fail(j, rv, "%d requests wait in the pipeline already; "
				     "try again later", CELLA_RPC_DETACHED_MAX);
	else if (rv < 0)
		pipe_job_fail(j, rv, "cannot wait: %s", cella_strerror(rv));
	return rv;
}

void
pipe_job_fail(struct pipe_job *j, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(j->d.msg, sizeof(j->d.msg), fmt, ap);
	va_end(ap);
	j->err = err < 0 ? err : -EIO;
	pipe_job_finish(j);
}

bool
pipe_svc_gone(const struct pipe_svc *s, uint32_t pipe)
{
	size_t n = s->ngone < PIPE_GONE_MAX ? s->ngone : PIPE_GONE_MAX;

	for (size_t i = 0; i < n; i++)
		if (s->gone[i] == pipe)
			return true;
	return false;
}

uint64_t
pipe_svc_id(struct pipe_svc *s)
{
	return ++s->next_id;
}

/* --- nng's side --- */

static const char *
role_refusal(const struct pipe_conf *c, uint32_t role)
{
	if (role == CELLA_ROLE_EXEC)
		return "exec is disabled by policy (policy.exec is false and "
		       "enclave.debug is false)";
	(void)c;
	return "file transfers are disabled by policy (policy.files is "
	       "false and enclave.debug is false)";
}

static void
enqueue(struct pipe_svc *s, struct pipe_job *j)
{
	pthread_mutex_lock(&s->mu);
	STAILQ_INSERT_TAIL(&s->jobs, j, link);
	pthread_mutex_unlock(&s->mu);
	uv_async_send(&s->async);
}

/* PING goes through the loop: its PONG says the loop runs. */
static int
ping(struct pipe_svc *s, struct cella_rpc_req *req, const struct cella_env *env)
{
	struct pipe_job *j = calloc(1, sizeof(*j));
	int rv;

	if (j == NULL)
		return -ENOMEM;
	j->svc = s;
	j->req = req;
	j->m.type = CELLA_MSG_PING;
	rv = cella_cbor_get_bytes(env->body, "data", 64, &j->m.data, &j->d);
	if (rv < 0 && rv != -ENOENT) {
		free(j);
		return rv;
	}
	j->m.has_data = rv == 0;
	enqueue(s, j);
	return 0;
}

static int
handler(struct cella_rpc_req *req, const struct cella_env *env, void *arg)
{
	struct pipe_svc *s = arg;
	const struct cella_rpc_peer *peer = cella_rpc_req_peer(req);
	uint32_t role = pipe_msg_role(env->type);
	struct pipe_job *j;
	int rv;

	if (env->type == CELLA_MSG_PING)
		return ping(s, req, env);
	if (role == 0)
		return -ENOMSG;
	if ((s->conf->allowed & role) == 0) {
		(void)cella_rpc_error(req, -EACCES, "%s",
				      role_refusal(s->conf, role));
		return 0;
	}
	if (cella_rpc_require(req, role) < 0)
		return 0; /* answered */
	if ((j = calloc(1, sizeof(*j))) == NULL)
		return -ENOMEM;
	j->svc = s;
	j->req = req;
	j->pipe = peer->pipe;
	snprintf(j->operator, sizeof(j->operator), "%s",
		 peer->remote ? peer->operator : "local");
	if ((rv = pipe_msg_decode(env->type, env->body, &j->m, &j->d)) < 0) {
		(void)cella_rpc_error(req, rv, "%s", j->d.msg);
		free(j);
		return 0;
	}
	enqueue(s, j);
	return 0;
}

static void
on_pipe_close(uint32_t pipe, void *arg)
{
	struct pipe_svc *s = arg;
	uint32_t *n;

	pthread_mutex_lock(&s->mu);
	if (s->nclosed == s->closed_cap) {
		size_t cap = s->closed_cap ? s->closed_cap * 2 : 16;

		/* Bounded by the open connections, which nng bounds. */
		if ((n = realloc(s->closed, cap * sizeof(*n))) != NULL) {
			s->closed = n;
			s->closed_cap = cap;
		}
	}
	if (s->nclosed < s->closed_cap)
		s->closed[s->nclosed++] = pipe;
	else
		cella_log_error("close_lost", "pipe=%u", pipe);
	pthread_mutex_unlock(&s->mu);
	uv_async_send(&s->async);
}

/* --- the loop's side --- */

static void
pong(struct pipe_job *j)
{
	j->rtype = CELLA_MSG_PONG;
	if ((j->rbody = cbor_new_indefinite_map()) == NULL ||
	    (j->m.has_data && cella_cbor_put_bytes(j->rbody, "data", j->m.data.p,
						   j->m.data.n) < 0))
		j->err = -ENOMEM;
	pipe_job_finish(j);
}

static void
dispatch(struct pipe_job *j)
{
	if (j->m.type == CELLA_MSG_PING)
		pong(j);
	else if (pipe_msg_role(j->m.type) == CELLA_ROLE_EXEC)
		pipe_exec_request(j);
	else
		pipe_files_request(j);
}

static void
on_async(uv_async_t *a)
{
	struct pipe_svc *s = a->data;
	STAILQ_HEAD(, pipe_job) jobs = STAILQ_HEAD_INITIALIZER(jobs);
	uint32_t closed[64];
	size_t nclosed;
	struct pipe_job *j;

	do {
		pthread_mutex_lock(&s->mu);
		STAILQ_CONCAT(&jobs, &s->jobs);
		nclosed = s->nclosed < 64 ? s->nclosed : 64;
		if (nclosed > 0)
			memcpy(closed, s->closed + s->nclosed - nclosed,
			       nclosed * sizeof(*closed));
		s->nclosed -= nclosed;
		pthread_mutex_unlock(&s->mu);
		/* Requests first: one sent just before a close is answered. */
		while ((j = STAILQ_FIRST(&jobs)) != NULL) {
			STAILQ_REMOVE_HEAD(&jobs, link);
			s->stopping ? pipe_job_drop(j) : dispatch(j);
		}
		for (size_t i = 0; i < nclosed; i++) {
			s->gone[s->ngone++ % PIPE_GONE_MAX] = closed[i];
			pipe_exec_closed(s, closed[i]);
			pipe_files_closed(s, closed[i]);
		}
	} while (nclosed == 64);
}

static void
on_sigchld(uv_signal_t *h, int sig)
{
	(void)sig;
	pipe_exec_reap(h->data);
}

static void
on_stop_signal(uv_signal_t *h, int sig)
{
	struct pipe_svc *s = h->data;

	cella_log_info("stopping", "signal=%d", sig);
	pipe_svc_stop(s);
}

int
pipe_svc_start(struct pipe_svc *s, uv_loop_t *loop,
	       const struct pipe_conf *conf, struct cella_diag *d)
{
	int rv;

	memset(s, 0, sizeof(*s));
	s->loop = loop;
	s->conf = conf;
	pthread_mutex_init(&s->mu, NULL);
	STAILQ_INIT(&s->jobs);
	LIST_INIT(&s->execs);
	LIST_INIT(&s->xfers);
	if ((rv = pipe_evlog_new(conf->control, (int)conf->event_timeout_ms,
				 &s->evlog)) < 0)
		return cella_diag_set(d, rv, "out of memory");
	uv_async_init(loop, &s->async, on_async);
	uv_signal_init(loop, &s->sigchld);
	uv_signal_init(loop, &s->sigterm);
	uv_signal_init(loop, &s->sigint);
	s->async.data = s->sigchld.data = s->sigterm.data = s->sigint.data = s;
	uv_signal_start(&s->sigchld, on_sigchld, SIGCHLD);
	uv_signal_start(&s->sigterm, on_stop_signal, SIGTERM);
	uv_signal_start(&s->sigint, on_stop_signal, SIGINT);
	if ((rv = pipe_cg_start(s)) < 0) {
		pipe_svc_stop(s);
		return cella_diag_set(d, rv, "out of memory");
	}
	rv = cella_rpc_server_new(conf->listen, conf->workers, handler, s,
				  &s->rpc, d);
	if (rv < 0) {
		pipe_svc_stop(s);
		return rv;
	}
	cella_rpc_server_on_close(s->rpc, on_pipe_close, s);
	return 0;
}

void
pipe_svc_stop(struct pipe_svc *s)
{
	struct pipe_job *j;

	if (s->stopping)
		return;
	s->stopping = true;
	/* After this no handler runs and no request may be answered. */
	cella_rpc_server_free(s->rpc);
	s->rpc = NULL;
	while ((j = STAILQ_FIRST(&s->jobs)) != NULL) {
		STAILQ_REMOVE_HEAD(&s->jobs, link);
		pipe_job_drop(j);
	}
	pipe_exec_stop(s);
	pipe_files_stop(s);
	pipe_cg_stop(s);
	/* Commands' handles close themselves; these are ours. */
	uv_close((uv_handle_t *)&s->async, NULL);
	uv_close((uv_handle_t *)&s->sigchld, NULL);
	uv_close((uv_handle_t *)&s->sigterm, NULL);
	uv_close((uv_handle_t *)&s->sigint, NULL);
}

void
pipe_svc_fini(struct pipe_svc *s)
{
	pipe_evlog_free(s->evlog);
	pipe_cg_fini(s);
	free(s->closed);
	pthread_mutex_destroy(&s->mu);
}
