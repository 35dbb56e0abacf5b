/*
 * readychk: readiness checks on the loop. A check owns up to four libuv
 * handles (timeout, tick, the readiness pipe, a TCP probe) and is freed
 * when the last one has closed; once cancelled (chk->r == NULL) callbacks
 * that still arrive only close what they hold. Probe commands run with the
 * service's environment, directory and ids, in their own process group,
 * with output discarded.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/core/log.h"
#include "services/init/readychk.h"
#include "services/init/run.h"
#include "services/init/spawn.h"

#define READY_LINE_MAX 256 /* bytes read from a readiness fd */

struct init_readychk {
	struct init_run *r; /* NULL once cancelled */
	int handles;	    /* open handles; freed at 0 once cancelled */
	uv_timer_t timeout, tick;
	uv_pipe_t pipe;
	int rfd; /* the pipe's read end until started */
	bool pipe_on;
	uv_tcp_t *probe; /* a TCP probe in flight */
	uv_connect_t conn;
	pid_t cmd_pid;
	size_t got;
	char line[READY_LINE_MAX];
};

static void
on_closed(uv_handle_t *h)
{
	struct init_readychk *c = h->data;

	if (h != (uv_handle_t *)&c->timeout && h != (uv_handle_t *)&c->tick &&
	    h != (uv_handle_t *)&c->pipe)
		free(h); /* a TCP probe */
	if (--c->handles == 0 && c->r == NULL)
		free(c);
}

static void
hclose(struct init_readychk *c, uv_handle_t *h)
{
	if (!uv_is_closing(h))
		uv_close(h, on_closed);
	(void)c;
}

static void
verdict(struct init_readychk *c, bool ready, const char *why)
{
	struct init_run *r = c->r;

	cella_log_info(ready ? "svc_ready" : "svc_not_ready", "service=%s check=%s",
		       r->conf->name, why);
	/* The state change cancels c: touch nothing after this. */
	init_run_event(r, ready ? INIT_EV_READY : INIT_EV_NOT_READY, 0);
}

static void
on_timeout(uv_timer_t *t)
{
	struct init_readychk *c = t->data;

	if (c->r != NULL)
		verdict(c, false, "timeout");
}

static void
on_ready_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	struct init_readychk *c = h->data;

	(void)hint;
	*buf = uv_buf_init(c->line + c->got, (unsigned)(sizeof(c->line) - c->got));
}

static void
on_ready_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct init_readychk *c = s->data;

	if (c->r == NULL || n == 0)
		return;
	if (n > 0) {
		if (memchr(buf->base, '\n', (size_t)n) != NULL) {
			verdict(c, true, "fd");
			return;
		}
		c->got += (size_t)n;
		if (c->got < sizeof(c->line))
			return;
	}
	/* EOF (or garbage) before a line: the service says it failed. */
	verdict(c, false, n == UV_EOF ? "fd_eof" : "fd_error");
}

static void on_tick(uv_timer_t *t);

static void
retry(struct init_readychk *c)
{
	uv_timer_start(&c->tick, on_tick, c->r->conf->ready_interval_ms, 0);
}

static void
on_connect(uv_connect_t *req, int status)
{
	struct init_readychk *c = req->data;
	uv_tcp_t *probe = (uv_tcp_t *)req->handle;

	if (c->probe == probe)
		c->probe = NULL;
	hclose(c, (uv_handle_t *)probe);
	if (c->r == NULL || status == UV_ECANCELED)
		return;
	if (status == 0)
		verdict(c, true, "tcp");
	else
		retry(c);
}

static void
probe_tcp(struct init_readychk *c)
{
	const struct init_svc_conf *sc = c->r->conf;
	uv_tcp_t *t = malloc(sizeof(*t));

	if (t == NULL || uv_tcp_init(c->r->ctx->loop, t) < 0) {
		free(t);
		retry(c);
		return;
	}
	t->data = c;
	c->handles++;
	c->probe = t;
	c->conn.data = c;
	if (uv_tcp_connect(&c->conn, t, (const struct sockaddr *)&sc->ready_ss,
			   on_connect) < 0) {
		c->probe = NULL;
		hclose(c, (uv_handle_t *)t);
		retry(c);
	}
}

static void
probe_cmd(struct init_readychk *c)
{
	const struct init_svc_conf *sc = c->r->conf;
	struct init_spawn sp = {
		.exe_fd = -1, .argv = sc->ready_argv,
		.envp = sc->envp, .workdir = sc->workdir,
		.set_ids = sc->set_ids, .uid = sc->uid, .gid = sc->gid,
		.groups = sc->groups, .ngroups = sc->ngroups,
		.stdin_fd = c->r->ctx->devnull, .stdout_fd = c->r->ctx->devnull,
		.stderr_fd = c->r->ctx->devnull, .ready_fd = -1, .cgroup_fd = -1,
	};
	char path[PATH_MAX];
	const char *step = "lookup";
	int rv;

	rv = init_exe_find(sc->ready_argv[0], sc->workdir, sc->envp, path,
			   sizeof(path));
	sp.path = path;
	if (rv == 0)
		rv = init_spawn_run(&sp, &c->cmd_pid, &step);
	if (rv < 0) {
		cella_log_warn("ready_probe_failed", "service=%s step=%s err=%s",
			       c->r->conf->name, step ? step : "fork",
			       cella_errname(rv));
		c->cmd_pid = 0;
		retry(c);
	}
}

static void
on_tick(uv_timer_t *t)
{
	struct init_readychk *c = t->data;

	if (c->r == NULL)
		return;
	switch (c->r->conf->ready) {
	case INIT_READY_NONE:
		verdict(c, true, "exec");
		return;
	case INIT_READY_TCP:
		probe_tcp(c);
		return;
	case INIT_READY_CMD:
		probe_cmd(c);
		return;
	case INIT_READY_FD:
		return;
	}
}

int
init_readychk_prepare(struct init_run *r, int *child_fd)
{
	struct init_readychk *c;
	int p[2];

	init_readychk_cancel(r);
	*child_fd = -1;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return -ENOMEM;
	c->rfd = -1;
	if (r->conf->ready == INIT_READY_FD) {
		if (pipe2(p, O_CLOEXEC) < 0) {
			free(c);
			return -errno;
		}
		c->rfd = p[0];
		*child_fd = p[1];
	}
	c->r = r;
	uv_timer_init(r->ctx->loop, &c->timeout);
	uv_timer_init(r->ctx->loop, &c->tick);
	c->timeout.data = c->tick.data = c;
	c->handles = 2;
	r->rd = c;
	return 0;
}

void
init_readychk_start(struct init_run *r)
{
	struct init_readychk *c = r->rd;

	if (c == NULL)
		return;
	if (r->conf->ready_timeout_ms > 0 && r->conf->ready != INIT_READY_NONE)
		uv_timer_start(&c->timeout, on_timeout, r->conf->ready_timeout_ms, 0);
	if (c->rfd >= 0) {
		uv_pipe_init(r->ctx->loop, &c->pipe, 0);
		c->pipe.data = c;
		c->handles++;
		c->pipe_on = true;
		if (uv_pipe_open(&c->pipe, c->rfd) < 0) {
			close(c->rfd);
			c->rfd = -1;
			/* Not from inside a state change: via the loop. */
			uv_timer_start(&c->timeout, on_timeout, 0, 0);
			return;
		}
		c->rfd = -1;
		uv_read_start((uv_stream_t *)&c->pipe, on_ready_alloc, on_ready_read);
		return;
	}
	/* The first probe (or the exec verdict) comes from the loop. */
	uv_timer_start(&c->tick, on_tick, 0, 0);
}

void
init_readychk_cancel(struct init_run *r)
{
	struct init_readychk *c = r->rd;

	if (c == NULL)
		return;
	r->rd = NULL;
	c->r = NULL;
	if (c->rfd >= 0)
		close(c->rfd);
	c->rfd = -1;
	if (c->cmd_pid > 0)
		(void)kill(-c->cmd_pid, SIGKILL);
	c->cmd_pid = 0;
	hclose(c, (uv_handle_t *)&c->timeout);
	hclose(c, (uv_handle_t *)&c->tick);
	if (c->pipe_on)
		hclose(c, (uv_handle_t *)&c->pipe);
	if (c->probe != NULL)
		hclose(c, (uv_handle_t *)c->probe);
	c->probe = NULL;
}

bool
init_readychk_reaped(struct init_ctx *ctx, pid_t pid, int wstatus)
{
	for (size_t i = 0; i < ctx->n; i++) {
		struct init_readychk *c = ctx->runs[i].rd;

		if (c == NULL || c->cmd_pid != pid)
			continue;
		c->cmd_pid = 0;
		if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0)
			verdict(c, true, "command");
		else
			retry(c);
		return true;
	}
	return false;
}
