/*
 * svc: the lifecycle of one supervised service as one explicit state
 * machine. A table maps (state, event) to an action, and the action returns
 * the next state; a pair with no row is a bad transition, answered with an
 * error and no change. The restart policy (exit 64/78 permanent, restart
 * no/on-failure/always, exponential backoff, crash-loop detection) is a pure
 * function of the service's history and the exit status.
 *
 *   stopped  --start-->  starting --ready--> ready
 *   starting/ready --exit--> backoff | stopped | failed   (policy)
 *   starting/ready --stop/restart--> stopping --drained--> stopped | starting
 *   backoff --timer--> starting        failed --start--> starting
 *
 * Side effects (spawning, signalling the process group, timers, telling the
 * scheduler) go through an ops table, so the table is tested without
 * processes and the supervisor (run.c) stays free of state logic. This
 * module does not know about dependencies, readiness checks or logs.
 */
#ifndef INIT_SVC_H
#define INIT_SVC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define INIT_CRASH_MAX_LIMIT 64 /* upper bound of policy.crash_max */

enum init_state {
	INIT_STOPPED,
	INIT_STARTING,
	INIT_READY,
	INIT_STOPPING,
	INIT_BACKOFF,
	INIT_FAILED,
	INIT_STATE_COUNT,
};

enum init_ev {
	INIT_EV_START,	   /* run it (dependencies are the caller's concern) */
	INIT_EV_STOP,	   /* stop it and keep it stopped */
	INIT_EV_RESTART,   /* stop it if running, then start it */
	INIT_EV_READY,	   /* its readiness check passed */
	INIT_EV_NOT_READY, /* its readiness check failed or timed out */
	INIT_EV_EXIT,	   /* its main process was reaped (arg: wait status) */
	INIT_EV_TIMER,	   /* the timer armed through ops->timer fired */
	INIT_EV_DRAINED,   /* no process of it is left */
	INIT_EV_COUNT,
};

enum init_restart {
	INIT_RESTART_NO,
	INIT_RESTART_ON_FAILURE,
	INIT_RESTART_ALWAYS,
};

struct init_policy {
	enum init_restart restart;
	uint64_t backoff_min_ms; /* first delay; doubles per recent failure */
	uint64_t backoff_max_ms;
	unsigned crash_max;	  /* this many failures within the window... */
	uint64_t crash_window_ms; /* ...make the service failed */
	uint64_t grace_ms;	  /* SIGTERM to SIGKILL */
};

struct init_svc;

struct init_svc_ops {
	/*
	 * Start an instance; sets s->pid and s->pgid. -errno when nothing
	 * was started.
	 */
	int (*spawn)(struct init_svc *s);
	/* Signal every process of the service (group and cgroup). */
	void (*signal)(struct init_svc *s, int sig);
	/* True when no process of the service is left. */
	bool (*drained)(struct init_svc *s);
	/* Arm the service's one timer (replacing it); 0 ms = now. */
	void (*timer_arm)(struct init_svc *s, uint64_t ms);
	void (*timer_stop)(struct init_svc *s);
	/* Called after every change of state. */
	void (*changed)(struct init_svc *s, enum init_state from);
};

struct init_svc {
	const char *name;
	struct init_policy pol;
	const struct init_svc_ops *ops;
	void *owner; /* the supervisor's data for this service */

	enum init_state state;
	uint64_t since_ms; /* monotonic ms of the last change */
	pid_t pid;	   /* main process, 0 when none */
	pid_t pgid;	   /* its process group, kept after it exits */
	bool restart_pending;
	bool fail_pending; /* stopping because the start failed */
	bool killed;	   /* SIGKILL sent during this stop */

	unsigned starts;
	bool has_exit;
	int wstatus;	/* last exit of the main process */
	int spawn_err;	/* last spawn error (-errno), 0 when it exec'd */
	uint64_t backoff_ms;
	uint64_t fails[INIT_CRASH_MAX_LIMIT]; /* ring of failure times */
	unsigned nfails, fail_head;
	char why[96]; /* what put it in its state ("crash loop: ...") */
};

void init_svc_init(struct init_svc *s, const char *name,
		   const struct init_policy *pol, const struct init_svc_ops *ops,
		   void *owner);

/*
 * Feed one event at monotonic time now_ms. Returns 0, or for a pair with no
 * row -EALREADY (start when running, stop when stopped) or -EINVAL (an
 * event that cannot happen in this state), with the state unchanged.
 */
int init_svc_event(struct init_svc *s, enum init_ev ev, uint64_t now_ms,
		   int arg);

/*
 * The policy after a failed instance: FAILED, STOPPED or BACKOFF (with the
 * delay in *delay_ms). Records the failure in s's history. failed_start is
 * true when the readiness check failed rather than the process exiting.
 */
enum init_state init_svc_policy(struct init_svc *s, uint64_t now_ms,
				int wstatus, bool failed_start,
				uint64_t *delay_ms);

const char *init_state_name(enum init_state st);
const char *init_ev_name(enum init_ev ev);

/* "exit 1", "signal 9 (KILL)", "exec: No such file..." or "-". */
void init_svc_last_exit(const struct init_svc *s, char *buf, size_t len);

#endif
