/*
 * exec: running commands, on the loop. A command's stdout and stderr are
 * read into capped buffers; a full buffer stops reading that pipe, so a
 * client that does not read pauses the command instead of growing memory.
 * Output leaves through long-poll reads: a PIPE_READ is answered as soon
 * as there are bytes or the command is done, or empty when its timeout
 * passes. Stdin arrives in PIPE_WRITEs, each answered once the pipe took
 * all of it (one at a time per command: that is the backpressure). A
 * command is done when it was reaped and both pipes reached EOF, or
 * shortly after its exit when a background child still holds them. It
 * belongs to its connection: when that ends, its process group is killed.
 * When it is done, whatever it left running is killed: its cgroup, where
 * commands get one (cgroup.c), which catches children that called
 * setsid(); and its process group in any case. Its exited leader is left
 * unreaped (waitid WNOWAIT) until then, so that the group's id cannot be
 * anyone else's when it is killed. A detached command has no pipes and
 * no cgroup, belongs to no one, and is only reaped.
 */
#include "services/pipeline/exec_int.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cbor/cbor.h"
#include "common/core/log.h"

#define LINGER_MS 250 /* after exit, wait this long for EOF on idle pipes */
#define READ_BLOCK 65536

static void progress(struct pipe_exec *x);

/* --- lifetime --- */

static void
handle_closed(uv_handle_t *h)
{
	struct pipe_exec *x = h->data;

	if (--x->handles == 0) {
		cella_buf_fini(&x->out.buf);
		cella_buf_fini(&x->err.buf);
		pipe_stdin_fini(x);
		free(x);
	}
}

void
pipe_exec_close_handle(uv_handle_t *h)
{
	if (!uv_is_closing(h))
		uv_close(h, handle_closed);
}

static void
stream_close(struct pipe_stream *s)
{
	if (s->open) {
		s->open = false;
		pipe_exec_close_handle((uv_handle_t *)&s->h);
	}
	s->eof = true;
	s->reading = false;
}

/*
 * Done: kill what it left running (not for a detached command), then reap
 * its leader and let its cgroup go.
 */
static void
end(struct pipe_exec *x)
{
	int st;

	if (x->ended)
		return;
	x->ended = true;
	if (!x->detached && !x->reaped)
		(void)kill(-x->pid, SIGKILL);
	if (x->cg)
		pipe_cg_remove(x->svc->cg, x->id);
	if (x->exited && !x->reaped) {
		while (waitpid(x->pid, &st, 0) < 0 && errno == EINTR)
			;
		x->reaped = true;
	}
}

/* Take x out of the table; its memory goes when its handles are closed. */
static void
release(struct pipe_exec *x)
{
	if (x->released)
		return;
	x->released = true;
	end(x);
	LIST_REMOVE(x, link);
	x->svc->nexecs--;
	stream_close(&x->out);
	stream_close(&x->err);
	pipe_stdin_close(x, false);
	pipe_exec_close_handle((uv_handle_t *)&x->kill_timer);
	pipe_exec_close_handle((uv_handle_t *)&x->poll_timer);
	pipe_exec_close_handle((uv_handle_t *)&x->linger_timer);
}

static void
kill_group(struct pipe_exec *x, int sig)
{
	if (!x->reaped)
		(void)kill(-x->pid, sig);
	if (x->cg)
		pipe_cg_signal(x->svc->cg, x->id, sig);
}

/* --- output --- */

static void
on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	struct pipe_exec *x = h->data;
	struct pipe_stream *s = (uv_pipe_t *)h == &x->out.h ? &x->out : &x->err;
	size_t room;

	(void)suggested;
	room = s->buf.max - s->buf.len;
	if (room > READ_BLOCK)
		room = READ_BLOCK;
	if (room == 0 || cella_buf_reserve(&s->buf, room) < 0) {
		*b = uv_buf_init(NULL, 0); /* libuv reports UV_ENOBUFS */
		return;
	}
	*b = uv_buf_init((char *)s->buf.p + s->buf.len, (unsigned)room);
}

static void
on_read(uv_stream_t *h, ssize_t n, const uv_buf_t *b)
{
	struct pipe_exec *x = h->data;
	struct pipe_stream *s = (uv_pipe_t *)h == &x->out.h ? &x->out : &x->err;

	(void)b;
	if (n > 0) {
		s->buf.len += (size_t)n;
		if (s->buf.len == s->buf.max) {
			uv_read_stop(h);
			s->reading = false;
		}
	} else if (n == UV_ENOBUFS) {
		uv_read_stop(h);
		s->reading = false;
	} else if (n < 0) {
		stream_close(s);
	}
	if (n != 0)
		progress(x);
}

static void
stream_start(struct pipe_stream *s)
{
	if (s->open && !s->reading && s->buf.len < s->buf.max &&
	    uv_read_start((uv_stream_t *)&s->h, on_alloc, on_read) == 0)
		s->reading = true;
}

static bool
is_done(const struct pipe_exec *x)
{
	return x->exited && x->out.eof && x->err.eof;
}

static int
put_status(cbor_item_t *b, const struct pipe_exec *x)
{
	if (WIFSIGNALED(x->status))
		return cella_cbor_put_uint(b, "signal",
					   (uint64_t)WTERMSIG(x->status));
	return cella_cbor_put_uint(b, "code", (uint64_t)WEXITSTATUS(x->status));
}

/* Move up to max bytes of s into b under key. */
static int
take(cbor_item_t *b, const char *key, struct pipe_stream *s, size_t max)
{
	size_t n = s->buf.len < max ? s->buf.len : max;
	int rv = cella_cbor_put_bytes(b, key, s->buf.p, n);

	if (rv == 0) {
		cella_buf_consume(&s->buf, n);
		stream_start(s);
	}
	return rv;
}

static void
answer_read(struct pipe_exec *x)
{
	struct pipe_job *j = x->read_job;
	cbor_item_t *b = cbor_new_indefinite_map();
	bool done = false;
	int rv = -ENOMEM;

	x->read_job = NULL;
	uv_timer_stop(&x->poll_timer);
	if (b != NULL && (rv = take(b, "out", &x->out, j->m.max)) == 0 &&
	    (rv = take(b, "err", &x->err, j->m.max)) == 0) {
		done = is_done(x) && x->out.buf.len == 0 && x->err.buf.len == 0;
		rv = cella_cbor_put_bool(b, "done", done);
		if (rv == 0 && done)
			rv = put_status(b, x);
		if (rv == 0)
			rv = cella_cbor_put_bool(b, "timed_out", x->timed_out);
	}
	if (rv < 0) {
		if (b != NULL)
			cbor_decref(&b);
		pipe_job_fail(j, rv, "cannot build the reply");
		return;
	}
	j->rtype = CELLA_MSG_PIPE_READ_REPLY;
	j->rbody = b;
	if (done)
		end(x); /* before the client hears it is done */
	pipe_job_finish(j);
	if (done)
		release(x);
}

static void
progress(struct pipe_exec *x)
{
	if (x->read_job != NULL &&
	    (x->out.buf.len > 0 || x->err.buf.len > 0 || is_done(x)))
		answer_read(x);
}

static void
on_poll_timeout(uv_timer_t *t)
{
	struct pipe_exec *x = t->data;

	if (x->read_job != NULL)
		answer_read(x);
}

/* After exit: a pipe still open is held by a background child, unless
 * we are the ones not reading it. */
static void
on_linger(uv_timer_t *t)
{
	struct pipe_exec *x = t->data;
	bool paused = (x->out.open && !x->out.reading) ||
		      (x->err.open && !x->err.reading);

	if (paused) {
		uv_timer_start(&x->linger_timer, on_linger, LINGER_MS, 0);
		return;
	}
	stream_close(&x->out);
	stream_close(&x->err);
	progress(x);
}

/* --- exit, timeout, kill --- */

static void
exited(struct pipe_exec *x, int status)
{
	x->exited = true;
	x->status = status;
	uv_timer_stop(&x->kill_timer);
	pipe_stdin_close(x, true);
	if (WIFSIGNALED(status))
		cella_log_info("exec_exit", "id=%llu pid=%d signal=%d timed_out=%d",
			       (unsigned long long)x->id, (int)x->pid,
			       WTERMSIG(status), x->timed_out);
	else
		cella_log_info("exec_exit", "id=%llu pid=%d code=%d timed_out=%d",
			       (unsigned long long)x->id, (int)x->pid,
			       WEXITSTATUS(status), x->timed_out);
	if (x->detached || x->orphan) {
		release(x);
		return;
	}
	if (!is_done(x))
		uv_timer_start(&x->linger_timer, on_linger, LINGER_MS, 0);
	progress(x);
}

/* The wait status of an exit that waitid reported. */
static int
wait_status(const siginfo_t *si)
{
	if (si->si_code == CLD_EXITED)
		return (si->si_status & 0xff) << 8;
	return (si->si_status & 0x7f) | (si->si_code == CLD_DUMPED ? 0x80 : 0);
}

void
pipe_exec_reap(struct pipe_svc *s)
{
	struct pipe_exec *x, *next;
	siginfo_t si;

	for (x = LIST_FIRST(&s->execs); x != NULL; x = next) {
		next = LIST_NEXT(x, link);
		memset(&si, 0, sizeof(si));
		/* Seen, not reaped: end() reaps it. */
		if (!x->exited &&
		    waitid(P_PID, (id_t)x->pid, &si,
			   WEXITED | WNOHANG | WNOWAIT) == 0 &&
		    si.si_pid == x->pid)
			exited(x, wait_status(&si));
	}
}

static void
on_kill_timer(uv_timer_t *t)
{
	struct pipe_exec *x = t->data;

	if (x->exited)
		return;
	if (!x->timed_out) {
		x->timed_out = true;
		cella_log_info("exec_timeout", "id=%llu pid=%d",
			       (unsigned long long)x->id, (int)x->pid);
		kill_group(x, SIGTERM);
		uv_timer_start(&x->kill_timer, on_kill_timer,
			       x->svc->conf->kill_grace_ms, 0);
	} else {
		kill_group(x, SIGKILL);
	}
}

/* --- starting --- */

static int
stream_init(struct pipe_exec *x, struct pipe_stream *s, int fd)
{
	s->x = x;
	cella_buf_init(&s->buf, x->svc->conf->output_bytes);
	if (fd < 0) {
		s->eof = true;
		return 0;
	}
	if (uv_pipe_init(x->svc->loop, &s->h, 0) < 0) {
		close(fd);
		s->eof = true;
		return -ENOMEM;
	}
	s->h.data = x;
	x->handles++;
	s->open = true;
	if (uv_pipe_open(&s->h, fd) < 0) {
		close(fd);
		stream_close(s);
		return -EIO;
	}
	stream_start(s);
	return 0;
}

static struct pipe_exec *
exec_new(struct pipe_svc *s, const struct pipe_job *j,
	 const struct pipe_spawned *sp)
{
	struct pipe_exec *x = calloc(1, sizeof(*x));
	uv_timer_t *timers[3];

	if (x == NULL)
		return NULL;
	x->svc = s;
	x->id = j->xid;
	x->owner = j->pipe;
	x->pid = sp->pid;
	x->detached = j->m.exec.detach;
	x->cg = sp->cg;
	timers[0] = &x->kill_timer;
	timers[1] = &x->poll_timer;
	timers[2] = &x->linger_timer;
	for (int i = 0; i < 3; i++) {
		uv_timer_init(s->loop, timers[i]);
		timers[i]->data = x;
		x->handles++;
	}
	LIST_INSERT_HEAD(&s->execs, x, link);
	(void)stream_init(x, &x->out, sp->out);
	(void)stream_init(x, &x->err, sp->err);
	pipe_stdin_init(x, sp->in);
	if (j->m.exec.timeout_ms > 0)
		uv_timer_start(&x->kill_timer, on_kill_timer,
			       j->m.exec.timeout_ms, 0);
	return x;
}

static void
spawn_work(uv_work_t *w)
{
	struct pipe_job *j = w->data;
	struct pipe_spawned *sp = calloc(1, sizeof(*sp));

	if (sp == NULL) {
		j->err = cella_diag_set(&j->d, -ENOMEM, "out of memory");
		return;
	}
	j->err = pipe_spawn(j->svc, &j->m.exec, j->operator, j->xid, sp,
			    &j->d);
	if (j->err < 0)
		free(sp);
	else
		j->obj = sp;
}

static void
spawn_done(uv_work_t *w, int status)
{
	struct pipe_job *j = w->data;
	struct pipe_svc *s = j->svc;
	struct pipe_spawned *sp = j->obj;
	struct pipe_exec *x;
	int st;

	(void)status;
	s->nexecs--; /* the reservation; exec_new counts the command */
	if (sp == NULL || s->stopping) {
		if (sp != NULL) {
			kill(-sp->pid, SIGKILL);
			waitpid(sp->pid, &st, 0);
			close(sp->in), close(sp->out), close(sp->err);
		}
		free(sp);
		if (s->stopping)
			pipe_job_drop(j);
		else
			pipe_job_finish(j); /* with its err and d */
		return;
	}
	s->nexecs++;
	if ((x = exec_new(s, j, sp)) == NULL) {
		s->nexecs--;
		kill(-sp->pid, SIGKILL);
		waitpid(sp->pid, &st, 0);
		close(sp->in), close(sp->out), close(sp->err);
		free(sp);
		pipe_job_fail(j, -ENOMEM, "out of memory");
		return;
	}
	free(sp);
	cella_log_info("exec", "id=%llu pid=%d operator=%s argc=%zu detach=%d",
		       (unsigned long long)x->id, (int)x->pid,
		       cella_q(j->operator), j->m.exec.argc, x->detached);
	j->rtype = CELLA_MSG_PIPE_EXEC_REPLY;
	if ((j->rbody = cbor_new_indefinite_map()) == NULL ||
	    cella_cbor_put_uint(j->rbody, "id", x->id) < 0 ||
	    cella_cbor_put_uint(j->rbody, "pid", (uint64_t)x->pid) < 0)
		j->err = -ENOMEM;
	pipe_job_finish(j);
	if (!x->detached && pipe_svc_gone(s, x->owner))
		pipe_exec_closed(s, x->owner); /* it closed while we forked */
	pipe_exec_reap(s); /* it may have ended before it was in the table */
}

/* --- requests --- */

static void
do_read(struct pipe_exec *x, struct pipe_job *j)
{
	if (x->read_job != NULL) {
		pipe_job_fail(j, -EBUSY, "a read is in progress");
		return;
	}
	if (x->out.buf.len > 0 || x->err.buf.len > 0 || is_done(x) ||
	    j->m.timeout_ms == 0) {
		x->read_job = j;
		answer_read(x);
	} else if (pipe_job_park(j) == 0) {
		x->read_job = j;
		uv_timer_start(&x->poll_timer, on_poll_timeout, j->m.timeout_ms,
			       0);
	}
}

static struct pipe_exec *
find(struct pipe_svc *s, uint64_t id, uint32_t pipe)
{
	struct pipe_exec *x;

	LIST_FOREACH(x, &s->execs, link)
		if (x->id == id && !x->detached && x->owner == pipe)
			return x;
	return NULL;
}

static void
start(struct pipe_job *j)
{
	struct pipe_svc *s = j->svc;

	if (s->nexecs >= s->conf->max_execs) {
		pipe_job_fail(j, -EAGAIN, "%u commands already (pipeline."
					  "max_execs)", s->nexecs);
		return;
	}
	s->nexecs++; /* reserved until spawn_done */
	j->xid = pipe_svc_id(s);
	j->work.data = j;
	if (uv_queue_work(s->loop, &j->work, spawn_work, spawn_done) < 0) {
		s->nexecs--;
		pipe_job_fail(j, -ENOMEM, "cannot queue the command");
	}
}

void
pipe_exec_request(struct pipe_job *j)
{
	struct pipe_exec *x;

	if (j->m.type == CELLA_MSG_PIPE_EXEC)
		start(j);
	else if ((x = find(j->svc, j->m.id, j->pipe)) == NULL)
		pipe_job_fail(j, -ENOENT, "no command %llu",
			      (unsigned long long)j->m.id);
	else if (j->m.type == CELLA_MSG_PIPE_READ)
		do_read(x, j);
	else if (j->m.type == CELLA_MSG_PIPE_WRITE)
		pipe_stdin_write(x, j);
	else if (x->exited)
		pipe_job_fail(j, -ESRCH, "the command has exited");
	else {
		(void)kill(-x->pid, j->m.signal);
		j->rtype = CELLA_MSG_PIPE_OK;
		pipe_job_finish(j);
	}
}

/* --- connections and shutdown --- */

static void
orphan(struct pipe_exec *x, bool answer)
{
	struct pipe_job *r = x->read_job;

	x->orphan = true;
	x->read_job = NULL;
	uv_timer_stop(&x->poll_timer);
	if (r != NULL && answer)
		pipe_job_fail(r, -ECONNRESET, "connection closed");
	else if (r != NULL)
		pipe_job_drop(r);
	pipe_stdin_close(x, answer);
	kill_group(x, SIGKILL);
	if (x->exited) {
		release(x);
	} else {
		stream_close(&x->out);
		stream_close(&x->err);
	}
}

void
pipe_exec_closed(struct pipe_svc *s, uint32_t pipe)
{
	struct pipe_exec *x, *next;

	for (x = LIST_FIRST(&s->execs); x != NULL; x = next) {
		next = LIST_NEXT(x, link);
		if (!x->detached && x->owner == pipe) {
			cella_log_info("exec_disconnected", "id=%llu pid=%d",
				       (unsigned long long)x->id, (int)x->pid);
			orphan(x, true);
		}
	}
}

void
pipe_exec_stop(struct pipe_svc *s)
{
	struct pipe_exec *x, *next;

	for (x = LIST_FIRST(&s->execs); x != NULL; x = next) {
		next = LIST_NEXT(x, link);
		if (!x->detached)
			orphan(x, false);
		release(x);
	}
}
