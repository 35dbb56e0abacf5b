/*
 * pipe: cella-pipeline's internals, shared by its modules (not a contract
 * for anyone else). One libuv loop thread owns every table (commands,
 * transfers, walks) and answers every request; nng's threads only decode a
 * request and queue it for the loop (svc.c); blocking work (files, hashing,
 * fork and the event log) runs on libuv's thread pool and comes back to
 * the loop to be answered. A transfer or command belongs to the connection
 * (nng pipe) that opened it: other connections cannot see it, and it dies
 * with its connection.
 */
#ifndef CELLA_PIPELINE_PIPE_H
#define CELLA_PIPELINE_PIPE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/types.h>
#include <uv.h>

#include "common/core/buf.h"
#include "common/conf/conf.h"
#include "common/rpc/rpc.h"
#include "common/files/fileio.h"
#include "services/pipeline/msg.h"
#include "common/files/ohash.h"

#define PIPE_ROOTS_MAX 16
#define PIPE_GONE_MAX 4096 /* closed connections remembered */

struct pipe_conf {
	char listen[301];
	char control[301]; /* init's control API, for the event log */
	unsigned workers, threads;
	char *roots[PIPE_ROOTS_MAX];
	size_t nroots;
	uint64_t max_file_bytes;
	uint32_t chunk, window;
	unsigned max_execs, max_transfers;
	size_t output_bytes;
	uint64_t kill_grace_ms, event_timeout_ms;
	uint32_t allowed; /* CELLA_ROLE_* the policy lets anyone hold */
	bool debug, policy_exec, policy_files;
};

/* Validate the pipeline, init and policy sections of c and read them. */
int pipe_conf_load(struct cella_conf *c, struct pipe_conf *out,
		   struct cella_diag *d);
void pipe_conf_fini(struct pipe_conf *pc);

/* --- the event log (evlog.c): blocking, thread-safe --- */

struct pipe_evlog;
int pipe_evlog_new(const char *url, int timeout_ms, struct pipe_evlog **out);
void pipe_evlog_free(struct pipe_evlog *e);
/* Append {type, source: pipeline, data}; -errno with d on failure. */
int pipe_evlog_append(struct pipe_evlog *e, const char *type,
		      const cbor_item_t *data, struct cella_diag *d);

/* --- the service --- */

struct pipe_exec;
struct pipe_xfer;
struct pipe_cgroups;

struct pipe_svc {
	uv_loop_t *loop;
	const struct pipe_conf *conf;
	struct cella_rpc_server *rpc;
	struct pipe_evlog *evlog;
	struct pipe_cgroups *cg; /* NULL: commands get no cgroup */
	bool stopping;
	uint64_t next_id;
	/* hand-off from nng's threads, under mu */
	pthread_mutex_t mu;
	STAILQ_HEAD(, pipe_job) jobs;
	uint32_t *closed; /* pipes that ended, not yet handled */
	size_t nclosed, closed_cap;
	uv_async_t async;
	uv_signal_t sigchld, sigterm, sigint;
	/* owned by the loop */
	uint32_t gone[PIPE_GONE_MAX]; /* the last connections that ended */
	size_t ngone;
	LIST_HEAD(, pipe_exec) execs;
	LIST_HEAD(, pipe_xfer) xfers;
	unsigned nexecs, nxfers;
};

/*
 * A request on its way: decoded on an nng thread, handled on the loop,
 * possibly through the pool (work), answered on the loop. The reply is
 * built into rtype/rbody (or err/msg) by whoever finishes it.
 */
struct pipe_job {
	STAILQ_ENTRY(pipe_job) link;
	struct pipe_svc *svc;
	struct cella_rpc_req *req;
	struct pipe_msg m;
	uint32_t pipe;
	char operator[64];
	uv_work_t work;
	/* results */
	uint32_t rtype;
	cbor_item_t *rbody;
	int err;
	struct cella_diag d;
	const void *op;	 /* files: its row in xfer.c's table */
	void *xfer;	 /* files: the transfer it works on */
	uint64_t xid;	 /* exec: the command's id, given before it runs */
	/* what a work function hands back to the loop */
	void *obj;
	uint8_t *data;
	size_t datalen;
};

/*
 * Start serving conf on loop: signals (SIGCHLD, SIGTERM, SIGINT), the
 * hand-off from nng, the rpc server. On error everything is stopped and d
 * says why; run the loop to let the handles close.
 */
int pipe_svc_start(struct pipe_svc *s, uv_loop_t *loop,
		   const struct pipe_conf *conf, struct cella_diag *d);
/* Stop serving (on the loop): the loop then runs out by itself. */
void pipe_svc_stop(struct pipe_svc *s);
/* After the loop ran out. */
void pipe_svc_fini(struct pipe_svc *s);

/* Answer the job's request from its results and free the job. */
void pipe_job_finish(struct pipe_job *j);
/* Free the job without answering (the rpc server is gone). */
void pipe_job_drop(struct pipe_job *j);
/*
 * j will wait (a long-poll read, a write waiting for room): it stops
 * holding an rpc worker, so that waiting commands never starve other
 * requests. 0; or -errno after j was answered with an error (j is gone).
 */
int pipe_job_park(struct pipe_job *j);
/* Answer with an error now and free the job. */
void pipe_job_fail(struct pipe_job *j, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/*
 * Whether connection pipe has ended (among the last PIPE_GONE_MAX): what
 * the pool made for it while it closed must be dropped, not listed.
 */
bool pipe_svc_gone(const struct pipe_svc *s, uint32_t pipe);
/* The next id for a command, transfer or walk. */
uint64_t pipe_svc_id(struct pipe_svc *s);

/* --- commands (exec.c, spawn.c) --- */

/* Loop side: PIPE_EXEC, READ, WRITE, SIGNAL. */
void pipe_exec_request(struct pipe_job *j);
/* A connection ended: kill what it started (not detached commands). */
void pipe_exec_closed(struct pipe_svc *s, uint32_t pipe);
/* SIGCHLD: reap our children. */
void pipe_exec_reap(struct pipe_svc *s);
/* The service stops: forget held requests, kill attached commands. */
void pipe_exec_stop(struct pipe_svc *s);

struct pipe_spawned {
	pid_t pid;
	int in, out, err; /* parent ends, -1 when not piped */
	bool cg;	  /* it runs in a cgroup of its own (cgroup.c) */
};
/*
 * Fork and exec m's command in a new session with its own process group,
 * appending the exec event to the log between fork and exec (the child
 * waits for it; if the append fails, the child is killed before it runs
 * anything). Where commands get cgroups (s->cg) and m is not detached,
 * the child is moved into a new cgroup for command xid before it may run
 * (out->cg). Blocking: a pool thread.
 */
int pipe_spawn(struct pipe_svc *s, const struct pipe_msg_exec *m,
	       const char *operator, uint64_t xid, struct pipe_spawned *out,
	       struct cella_diag *d);

/* --- a cgroup per command (cgroup.c) --- */

/* Find the pipeline's own cgroup; s->cg stays NULL where none is usable. */
int pipe_cg_start(struct pipe_svc *s);
/* Create command id's cgroup; *procs its cgroup.procs. Any thread. */
int pipe_cg_create(struct pipe_cgroups *g, uint64_t id, int *procs);
/* Signal everything in id's cgroup (SIGKILL: all at once). Any thread. */
void pipe_cg_signal(struct pipe_cgroups *g, uint64_t id, int sig);
/* Remove id's cgroup right away (nothing ran in it). Any thread. */
void pipe_cg_discard(struct pipe_cgroups *g, uint64_t id);
/* Kill everything in it and remove it once empty. Loop thread. */
void pipe_cg_remove(struct pipe_cgroups *g, uint64_t id);
/* Stop (the timer closes when nothing waits); free after the loop. */
void pipe_cg_stop(struct pipe_svc *s);
void pipe_cg_fini(struct pipe_svc *s);

/* --- files (files.c, walk.c) --- */

/* Loop side: STAT, PUT_*, GET_*, MKDIR, SYMLINK, WALK*, ABORT. */
void pipe_files_request(struct pipe_job *j);
void pipe_files_closed(struct pipe_svc *s, uint32_t pipe);
void pipe_files_stop(struct pipe_svc *s);

/*
 * Resolve an absolute enclave path: the allowed root it falls under
 * (longest match) opened as *rootfd, and *rel the rest (malloc'd, "" for
 * the root itself). -EACCES when under no root.
 */
int pipe_resolve(const struct pipe_conf *c, const struct cella_span *path,
		 int *rootfd, char **rel, struct cella_diag *d);

#endif
