/*
 * execin: a command's stdin. Bytes a client sends are answered as soon as
 * they are in the pending buffer, so a client streams at the speed of the
 * command, not of round trips; the buffers (pending and the one being
 * written) are capped, and a WRITE that does not fit waits for room or is
 * refused with EAGAIN after its timeout. EOF closes the pipe once all
 * accepted bytes are written. When the command closes its end (EPIPE),
 * accepted bytes are dropped and later WRITEs are refused: the command did
 * not want them.
 */
#include "services/pipeline/exec_int.h"

#include <errno.h>
#include <unistd.h>

#include "common/core/log.h"

#define STDIN_WAIT_MS 5000 /* a WRITE waits this long for room */

void
pipe_stdin_init(struct pipe_exec *x, int fd)
{
	struct pipe_stdin *in = &x->in;

	cella_buf_init(&in->pending, PIPE_WRITE_MAX);
	cella_buf_init(&in->flight, PIPE_WRITE_MAX);
	if (fd < 0)
		return;
	uv_timer_init(x->svc->loop, &in->timer);
	in->timer.data = x;
	x->handles++;
	(void)uv_pipe_init(x->svc->loop, &in->h, 0); /* cannot fail on unix */
	in->h.data = x;
	x->handles++;
	in->open = true;
	if (uv_pipe_open(&in->h, fd) < 0) {
		close(fd);
		pipe_stdin_close(x, false);
	}
}

void
pipe_stdin_fini(struct pipe_exec *x)
{
	cella_buf_fini(&x->in.pending);
	cella_buf_fini(&x->in.flight);
}

static void
ok(struct pipe_job *j)
{
	j->rtype = CELLA_MSG_PIPE_OK;
	pipe_job_finish(j);
}

void
pipe_stdin_close(struct pipe_exec *x, bool answer)
{
	struct pipe_stdin *in = &x->in;
	struct pipe_job *j = in->parked;

	in->parked = NULL;
	if (j != NULL && answer)
		pipe_job_fail(j, -EPIPE, "the command's stdin is closed");
	else if (j != NULL)
		pipe_job_drop(j);
	if (in->open) {
		in->open = false;
		uv_timer_stop(&in->timer);
		pipe_exec_close_handle((uv_handle_t *)&in->timer);
		pipe_exec_close_handle((uv_handle_t *)&in->h);
	}
	in->pending.len = 0;
}

static void pump(struct pipe_exec *x);

static void
on_written(uv_write_t *wr, int status)
{
	struct pipe_exec *x = wr->data;
	struct pipe_stdin *in = &x->in;

	in->writing = false;
	in->flight.len = 0;
	if (status == UV_ECANCELED)
		return; /* closed meanwhile */
	if (status < 0) {
		cella_log_debug("stdin_closed", "id=%llu err=%s",
				(unsigned long long)x->id, uv_err_name(status));
		pipe_stdin_close(x, true);
		return;
	}
	pump(x);
}

/* Hand pending to the pipe; take a parked WRITE that now fits; close at
 * EOF once everything is written. */
static void
pump(struct pipe_exec *x)
{
	struct pipe_stdin *in = &x->in;
	struct cella_buf t;
	struct pipe_job *j = in->parked;
	uv_buf_t b;

	if (!in->open || in->writing)
		return;
	if (in->pending.len > 0) {
		t = in->flight;
		in->flight = in->pending;
		in->pending = t;
		b = uv_buf_init((char *)in->flight.p, (unsigned)in->flight.len);
		in->wr.data = x;
		in->writing = true;
		if (uv_write(&in->wr, (uv_stream_t *)&in->h, &b, 1,
			     on_written) < 0) {
			in->writing = false;
			pipe_stdin_close(x, true);
			return;
		}
	}
	if (j != NULL && in->pending.len + j->m.data.n <= in->pending.max) {
		in->parked = NULL;
		uv_timer_stop(&in->timer);
		pipe_stdin_write(x, j);
		return;
	}
	if (in->eof && !in->writing)
		pipe_stdin_close(x, true);
}

static void
on_wait_timeout(uv_timer_t *t)
{
	struct pipe_exec *x = t->data;
	struct pipe_job *j = x->in.parked;

	x->in.parked = NULL;
	if (j != NULL)
		pipe_job_fail(j, -EAGAIN, "stdin is full; send again");
}

void
pipe_stdin_write(struct pipe_exec *x, struct pipe_job *j)
{
	struct pipe_stdin *in = &x->in;
	size_t n = j->m.has_data ? j->m.data.n : 0;

	if (!in->open || in->eof) {
		pipe_job_fail(j, -EPIPE, "the command's stdin is closed");
	} else if (in->parked != NULL) {
		pipe_job_fail(j, -EBUSY, "a write is waiting already");
	} else if (in->pending.len + n > in->pending.max) {
		if (pipe_job_park(j) < 0)
			return;
		in->parked = j;
		uv_timer_start(&in->timer, on_wait_timeout, STDIN_WAIT_MS, 0);
	} else if (n > 0 && cella_buf_append(&in->pending, j->m.data.p, n) < 0) {
		pipe_job_fail(j, -ENOMEM, "out of memory");
	} else {
		in->eof = j->m.eof;
		ok(j);
		pump(x);
	}
}
