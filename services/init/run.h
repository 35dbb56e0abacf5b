/*
 * run: the supervisor. One init_ctx owns the event loop's view of every
 * service (one init_run each: its state machine, timers, log ring, cgroup
 * leaf, readiness check), the measured event log and the signal fd. It
 * implements the state machine's side effects (svc.h ops): spawning an
 * instance with its pipes, signalling its process group and cgroup,
 * noticing when nothing of it is left. The scheduler (sched.c) decides what
 * to start and stop (dependency order, shutdown in reverse); capture.c
 * reads output into the rings; readychk.c runs readiness checks; control.c
 * serves the API. Everything here runs on the loop thread.
 */
#ifndef INIT_RUN_H
#define INIT_RUN_H

#include <stdbool.h>
#include <signal.h>
#include <stdint.h>
#include <sys/types.h>
#include <uv.h>

#include "services/init/config.h"
#include "services/init/evlog.h"
#include "services/init/logring.h"
#include "services/init/svc.h"

struct init_ctx;
struct init_readychk;
struct init_control;
struct init_capture;

struct init_exe_cache {
	bool valid;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
	uint8_t hash[48];
};

struct init_run {
	struct init_svc svc;
	const struct init_svc_conf *conf;
	struct init_ctx *ctx;
	size_t idx;
	bool want; /* should be running (boot, start); cleared by stop */
	uv_timer_t timer; /* the state machine's timer */
	uv_timer_t drain; /* polls for an empty group while stopping */
	struct init_readychk *rd;
	struct init_logring ring;
	int cg_procs;	/* cgroup leaf's cgroup.procs (O_WRONLY), -1: none */
	int cg_dir;	/* the leaf directory, -1: none */
	uint64_t ready_ms;   /* monotonic, when it last became ready */
	uint64_t started_ms; /* monotonic, when the instance was spawned */
	struct init_exe_cache exe;
	char exe_path[PATH_MAX];
};

struct init_ctx {
	uv_loop_t *loop;
	struct init_conf *conf;
	struct init_run *runs;
	size_t n;
	struct init_evlog evlog;
	int sigfd;
	uv_poll_t sigpoll;
	uv_timer_t deadline;
	int devnull;
	bool pid1;
	bool shutting_down, forced, done;
	bool kicking, kick_again;
	bool announced;
	int ready_fd; /* init's own --ready-fd, -1 once written */
	struct init_control *ctl;
	struct init_capture *caps; /* open capture pipes */
	uint8_t rbuf[65536]; /* read buffer for every capture pipe */
};

/* The state machine's side effects (run.c). */
extern const struct init_svc_ops init_run_ops;

/*
 * Block the signals init reads from its signalfd (SIGCHLD, SIGTERM,
 * SIGINT, SIGPWR) in the calling thread and ignore SIGPIPE. main calls it
 * first thing, before any thread exists; set receives the blocked set.
 */
void init_signals_block(sigset_t *set);

/*
 * The executable argv0 names: itself when it holds a slash (relative to
 * workdir), else the first executable match in envp's PATH. 0 or -errno.
 */
int init_exe_find(const char *name, const char *workdir, char *const *envp,
		  char *out, size_t cap);

/*
 * Set up ctx for conf on loop: signals blocked and on a signalfd, one run
 * per service (cgroup leaves when conf->cgroup is a cgroup2 mount), the
 * event log with the config event. Nothing is started.
 */
int init_ctx_init(struct init_ctx *ctx, uv_loop_t *loop,
		  struct init_conf *conf, struct cella_diag *d);
/* Want every enabled service and start what can start. */
void init_ctx_boot(struct init_ctx *ctx);
/* Close every handle (run the loop afterwards to finish closing). */
void init_ctx_close(struct init_ctx *ctx);
/* Free what init_ctx_init allocated (after the loop closed the handles). */
void init_ctx_fini(struct init_ctx *ctx);

/* Feed an event to r's state machine (logs bad transitions). */
int init_run_event(struct init_run *r, enum init_ev ev, int arg);
/* The run called name (len bytes), or NULL. */
struct init_run *init_ctx_find(struct init_ctx *ctx, const char *name,
			       size_t len);

/* Reap every child that exited; dispatch services' and probes' exits. */
void init_ctx_reap(struct init_ctx *ctx);

/* Append an event to the measured log as init; logs when refused. */
void init_ctx_record(struct init_ctx *ctx, const char *type, cbor_item_t *data);

/* sched.c: start what may start (or, shutting down, stop what may stop). */
void init_ctx_kick(struct init_ctx *ctx);
/* sched.c: begin shutdown (idempotent). */
void init_ctx_shutdown(struct init_ctx *ctx, const char *reason);
/* sched.c: want r (and start it when its dependencies are ready). */
int init_ctx_start(struct init_ctx *ctx, struct init_run *r,
		   struct cella_diag *d);
/* sched.c: stop r and no longer want it. */
int init_ctx_stop(struct init_ctx *ctx, struct init_run *r,
		  struct cella_diag *d);
/* sched.c: stop r if it runs, then start it (start when it does not). */
int init_ctx_restart(struct init_ctx *ctx, struct init_run *r,
		     struct cella_diag *d);
/* sched.c: true when r waits for a dependency that cannot come up. */
bool init_run_blocked(const struct init_run *r);

/*
 * capture.c: read fd (a pipe's read end, which this takes over and closes
 * even on failure) into r's ring as stream.
 */
int init_capture_start(struct init_run *r, int fd, uint8_t stream);
/* capture.c: close every capture pipe still open (at exit). */
void init_capture_close_all(struct init_ctx *ctx);

/* cgroup.c */
int init_cgroup_setup(struct init_ctx *ctx, struct cella_diag *d);
int init_cgroup_leaf(struct init_run *r);
void init_cgroup_signal(struct init_run *r, int sig);
bool init_cgroup_empty(struct init_run *r);
/* Remove a leaf and the empty cgroups below it (a pipeline's commands'). */
void init_cgroup_remove(const char *path);

#endif
