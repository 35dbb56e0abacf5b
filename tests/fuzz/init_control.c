/*
 * fuzz target init_control: cella-init's control API dispatch, driven
 * without sockets. Each input is one message as it would arrive on the
 * control socket: what the envelope parser accepts is dispatched against a
 * fresh supervisor with two services (b depends on a) whose state machines
 * use fake side effects (no process is ever started). Every request must be
 * answered exactly once, by its reply, an error, or the shutdown of the API
 * at the end; anything else aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/core/log.h"
#include "services/init/control.h"
#include "services/init/run.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct init_conf *conf;
static int answers;
static pid_t next_pid = 4000000;

static void
t_reply(void *req, uint32_t type, const cbor_item_t *body, void *arg)
{
	(void)req;
	(void)type;
	(void)arg;
	if (body == NULL || !cbor_isa_map(body))
		abort();
	answers++;
}

static void
t_error(void *req, int err, const char *msg, void *arg)
{
	(void)req;
	(void)arg;
	if (err >= 0 || msg == NULL)
		abort();
	answers++;
}

static int
f_spawn(struct init_svc *s)
{
	s->pid = s->pgid = next_pid++;
	return 0;
}

static void
f_signal(struct init_svc *s, int sig)
{
	(void)s;
	(void)sig;
}

static bool
f_drained(struct init_svc *s)
{
	(void)s;
	return true;
}

static void
f_timer(struct init_svc *s, uint64_t ms)
{
	(void)s;
	(void)ms;
}

static void
f_timer_stop(struct init_svc *s)
{
	(void)s;
}

static void
f_changed(struct init_svc *s, enum init_state from)
{
	struct init_run *r = s->owner;

	(void)from;
	if (s->state == INIT_STOPPED || s->state == INIT_FAILED)
		r->want = false;
	init_control_changed(r->ctx->ctl, r);
	init_ctx_kick(r->ctx);
}

static const struct init_svc_ops fake_ops = {
	f_spawn, f_signal, f_drained, f_timer, f_timer_stop, f_changed,
};

static void
load_conf(void)
{
	static const char yaml[] =
		"init: {mounts: false, loopback: false, entropy: false,\n"
		"       heartbeat: false, poweroff: false, cgroup: '',\n"
		"       events_max: 64}\n"
		"services:\n"
		"  a: {command: [/bin/true], log_bytes: 4096}\n"
		"  b: {command: [/bin/true], depends_on: [a]}\n";
	char path[] = "/tmp/cella-fuzz-init-XXXXXX";
	struct cella_diag d = {{0}};
	int fd = mkstemp(path);

	if (fd < 0 || write(fd, yaml, sizeof(yaml) - 1) != sizeof(yaml) - 1)
		abort();
	close(fd);
	if (init_conf_load(path, NULL, &conf, &d) < 0) {
		fprintf(stderr, "%s\n", d.msg);
		abort();
	}
	unlink(path);
	cella_log_init("init", CELLA_LOG_ERROR);
}

static void
close_all(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

/* Some output in a's ring, so that logs requests have lines to page. */
static void
seed_lines(struct init_run *r)
{
	static const char *const lines[] = {"one", "two", "\x01\xff binary",
					    "three"};

	for (size_t i = 0; i < 4; i++)
		(void)init_logring_push(&r->ring, INIT_STREAM_STDOUT, i == 3,
					(const uint8_t *)lines[i],
					strlen(lines[i]), i);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct init_control_transport t = {t_reply, t_error, NULL,
							 NULL, NULL};
	struct init_ctx *ctx;
	struct cella_env env;
	uv_loop_t loop;

	if (conf == NULL)
		load_conf();
	if (cella_env_parse(data, size, &env, NULL) < 0)
		return 0; /* rpc answers these itself */
	ctx = calloc(1, sizeof(*ctx));
	if (ctx == NULL || uv_loop_init(&loop) != 0 ||
	    init_ctx_init(ctx, &loop, conf, NULL) < 0 ||
	    init_control_local(ctx, &t, &ctx->ctl) < 0)
		abort();
	for (size_t i = 0; i < ctx->n; i++)
		ctx->runs[i].svc.ops = &fake_ops;
	seed_lines(&ctx->runs[0]);
	init_ctx_boot(ctx);
	answers = 0;
	init_control_dispatch(ctx->ctl, &answers, &env);
	uv_run(&loop, UV_RUN_NOWAIT);
	init_control_free(ctx->ctl);
	ctx->ctl = NULL;
	if (answers != 1)
		abort();
	init_ctx_close(ctx);
	uv_walk(&loop, close_all, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	if (uv_loop_close(&loop) != 0)
		abort();
	init_ctx_fini(ctx);
	free(ctx);
	cella_env_fini(&env);
	return 0;
}
