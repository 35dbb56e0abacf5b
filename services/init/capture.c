/*
 * capture: a service's stdout or stderr pipe, read by the loop into the
 * service's ring line by line, and echoed to init's own stderr in logfmt so
 * that the console shows it. A pipe belongs to one instance but outlives
 * it when a descendant still holds the write end; it is closed at EOF.
 * When a service writes faster than this reads, the pipe fills and the
 * service blocks in write(): that is the backpressure, and nothing here
 * grows past the ring's cap.
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/core/clock.h"
#include "common/core/log.h"
#include "services/init/control.h"
#include "services/init/run.h"

#define INIT_ECHO_MAX 512 /* bytes of a line shown on the console */
#define INIT_DRAIN_MAX (1u << 20) /* read at exit per pipe, at most */

struct init_capture {
	uv_pipe_t h;
	struct init_run *r;
	struct init_capture *next, **prevp; /* ctx->caps, to close at exit */
	struct init_linesplit ls;
};

static void
on_line(void *arg, uint8_t stream, bool partial, const uint8_t *p, size_t n)
{
	struct init_run *r = arg;
	char esc[INIT_ECHO_MAX * 4 + 16];

	(void)init_logring_push(&r->ring, stream, partial, p, n,
				cella_wall_ns());
	if (!cella_log_enabled(CELLA_LOG_INFO))
		return;
	init_line_escape(p, n, INIT_ECHO_MAX, esc, sizeof(esc));
	cella_log_info("output", "service=%s stream=%s%s line=%s", r->conf->name,
		       stream == INIT_STREAM_STDOUT ? "stdout" : "stderr",
		       partial ? " partial=1" : "", esc);
}

static void
on_close(uv_handle_t *h)
{
	struct init_capture *c = h->data;

	if (c->next != NULL)
		c->next->prevp = c->prevp;
	*c->prevp = c->next;
	free(c);
}

static void
on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	struct init_capture *c = h->data;

	(void)hint;
	*buf = uv_buf_init((char *)c->r->ctx->rbuf, sizeof(c->r->ctx->rbuf));
}

static void
on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct init_capture *c = s->data;

	if (n > 0) {
		init_linesplit_feed(&c->ls, (const uint8_t *)buf->base,
				    (size_t)n, on_line, c->r);
		init_control_output(c->r->ctx->ctl, c->r);
		return;
	}
	if (n == 0)
		return;
	if (n != UV_EOF)
		cella_log_warn("capture_error", "service=%s err=%s",
			       c->r->conf->name, uv_err_name((int)n));
	init_linesplit_flush(&c->ls, on_line, c->r);
	init_control_output(c->r->ctx->ctl, c->r);
	uv_close((uv_handle_t *)&c->h, on_close);
}

int
init_capture_start(struct init_run *r, int fd, uint8_t stream)
{
	struct init_ctx *ctx = r->ctx;
	struct init_capture *c = malloc(sizeof(*c));

	if (c == NULL || uv_pipe_init(ctx->loop, &c->h, 0) < 0) {
		free(c);
		close(fd);
		return -ENOMEM;
	}
	c->r = r;
	c->h.data = c;
	init_linesplit_init(&c->ls, stream);
	c->next = ctx->caps;
	c->prevp = &ctx->caps;
	if (ctx->caps != NULL)
		ctx->caps->prevp = &c->next;
	ctx->caps = c;
	if (uv_pipe_open(&c->h, fd) < 0) {
		close(fd); /* not the handle's yet */
		uv_close((uv_handle_t *)&c->h, on_close);
		return -EIO;
	}
	if (uv_read_start((uv_stream_t *)&c->h, on_alloc, on_read) < 0) {
		uv_close((uv_handle_t *)&c->h, on_close);
		return -EIO;
	}
	return 0;
}

/*
 * At exit the loop has stopped, but a service that just ended may have left
 * its last lines in the pipe: read what is there (the fd is non-blocking,
 * so this stops at the end of what was written) before closing.
 */
static void
capture_drain(struct init_capture *c)
{
	uint8_t *buf = c->r->ctx->rbuf;
	size_t cap = sizeof(c->r->ctx->rbuf), total = 0;
	uv_os_fd_t fd;
	ssize_t n;

	if (uv_fileno((const uv_handle_t *)&c->h, &fd) < 0)
		return;
	while (total < INIT_DRAIN_MAX && (n = read(fd, buf, cap)) > 0) {
		init_linesplit_feed(&c->ls, buf, (size_t)n, on_line, c->r);
		total += (size_t)n;
	}
}

void
init_capture_close_all(struct init_ctx *ctx)
{
	for (struct init_capture *c = ctx->caps; c != NULL; c = c->next) {
		if (uv_is_closing((uv_handle_t *)&c->h))
			continue;
		capture_drain(c);
		init_linesplit_flush(&c->ls, on_line, c->r);
		uv_close((uv_handle_t *)&c->h, on_close);
	}
}
