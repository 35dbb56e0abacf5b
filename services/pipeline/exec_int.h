/*
 * exec_int: a running command as exec.c (lifetime, output, exit) and
 * execin.c (stdin) share it. Everything here lives on the loop.
 */
#ifndef CELLA_PIPELINE_EXEC_INT_H
#define CELLA_PIPELINE_EXEC_INT_H

#include "services/pipeline/pipe.h"

struct pipe_stream {
	struct pipe_exec *x;
	uv_pipe_t h;
	bool open, eof, reading;
	struct cella_buf buf;
};

/*
 * Stdin: WRITEs are accepted into pending (answered at once) while it has
 * room; pending moves to flight and flight to the pipe, one uv_write at a
 * time. A WRITE that does not fit waits for room (one at a time), and is
 * refused with EAGAIN after its timeout so that a client never waits
 * longer than its call's deadline; it then sends again.
 */
struct pipe_stdin {
	uv_pipe_t h;
	bool open, writing, eof;
	struct cella_buf pending, flight;
	uv_write_t wr;
	struct pipe_job *parked;
	uv_timer_t timer;
};

struct pipe_exec {
	LIST_ENTRY(pipe_exec) link;
	struct pipe_svc *svc;
	uint64_t id;
	uint32_t owner;
	pid_t pid;
	bool detached, orphan, exited, timed_out, released;
	bool cg;     /* in a cgroup of its own (cgroup.c) */
	bool reaped; /* until then, its exited leader holds the group id */
	bool ended;  /* what it left behind was killed */
	int status;
	struct pipe_stream out, err;
	struct pipe_stdin in;
	struct pipe_job *read_job;
	uv_timer_t kill_timer, poll_timer, linger_timer;
	int handles; /* open libuv handles; the struct goes at 0 */
};

/* Close h as one of x's handles (x is freed after its last). */
void pipe_exec_close_handle(uv_handle_t *h);

/* execin.c */
void pipe_stdin_init(struct pipe_exec *x, int fd);
void pipe_stdin_write(struct pipe_exec *x, struct pipe_job *j);
/* Close stdin; a parked WRITE is answered (answer) or dropped. */
void pipe_stdin_close(struct pipe_exec *x, bool answer);
void pipe_stdin_fini(struct pipe_exec *x);

#endif
