/*
 * run: the supervisor's core: context set-up, the state machine's side
 * effects, spawning an instance (executable lookup and measurement, pipes,
 * cgroup) and reaping. The executable is opened once, hashed from that
 * descriptor and exec'd through it, so the binary measured into the event
 * log is the binary that runs (scripts are exec'd by path, since the kernel
 * hands their interpreter a path, and that is said in the log).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "common/core/clock.h"
#include "common/cbor/cbor.h"
#include "common/core/log.h"
#include "services/init/control.h"
#include "services/init/readychk.h"
#include "services/init/run.h"
#include "services/init/spawn.h"

#define INIT_DRAIN_POLL_MS 10
#define INIT_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static struct init_run *
run_of(struct init_svc *s)
{
	return s->owner;
}

void
init_ctx_record(struct init_ctx *ctx, const char *type, cbor_item_t *data)
{
	uint64_t idx;
	int rv;

	rv = init_evlog_append(&ctx->evlog, type, "init", cella_wall_ms(), data,
			       &idx);
	if (rv < 0)
		cella_log_error("evlog_refused", "type=%s err=%s", type,
				cella_errname(rv));
	if (data != NULL)
		cbor_decref(&data);
}

/* --- executable lookup and measurement (parent side, before fork) --- */

static const char *
env_get(char *const *envp, const char *key)
{
	size_t kl = strlen(key);

	for (size_t i = 0; envp[i] != NULL; i++)
		if (strncmp(envp[i], key, kl) == 0 && envp[i][kl] == '=')
			return envp[i] + kl + 1;
	return NULL;
}

int
init_exe_find(const char *name, const char *workdir, char *const *envp,
	      char *out, size_t cap)
{
	const char *path, *p, *colon;
	int err = -ENOENT;

	if (strchr(name, '/') != NULL) {
		if (name[0] == '/')
			snprintf(out, cap, "%s", name);
		else
			snprintf(out, cap, "%s/%s", workdir, name);
		return 0;
	}
	path = env_get(envp, "PATH");
	for (p = path ? path : INIT_DEFAULT_PATH;; p = colon + 1) {
		colon = strchrnul(p, ':');
		snprintf(out, cap, "%.*s/%s", (int)(colon - p), p, name);
		if (access(out, X_OK) == 0)
			return 0;
		if (errno != ENOENT)
			err = -errno;
		if (*colon == '\0')
			return err;
	}
}

static int
open_exe(struct init_run *r)
{
	int fd, rv;

	rv = init_exe_find(r->conf->argv[0], r->conf->workdir, r->conf->envp,
			   r->exe_path, sizeof(r->exe_path));
	if (rv < 0)
		return rv;
	fd = open(r->exe_path, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static int
hash_fd(int fd, uint8_t out[48])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t buf[65536];
	off_t off = 0;
	ssize_t n;
	int rv = -EIO;

	if (md == NULL || EVP_DigestInit_ex(md, EVP_sha384(), NULL) != 1)
		goto out;
	while ((n = pread(fd, buf, sizeof(buf), off)) > 0) {
		if (EVP_DigestUpdate(md, buf, (size_t)n) != 1)
			goto out;
		off += n;
	}
	if (n < 0) {
		rv = -errno;
		goto out;
	}
	rv = EVP_DigestFinal_ex(md, out, NULL) == 1 ? 0 : -EIO;
out:
	EVP_MD_CTX_free(md);
	return rv;
}

/* Hash unless the cached hash is of this very file, unchanged. */
static int
measure(struct init_run *r, int fd, bool *script)
{
	struct init_exe_cache *c = &r->exe;
	struct stat st;
	char magic[2];
	int rv;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EACCES;
	*script = pread(fd, magic, 2, 0) == 2 && magic[0] == '#' &&
		  magic[1] == '!';
	if (c->valid && c->dev == st.st_dev && c->ino == st.st_ino &&
	    c->size == st.st_size && c->mtime.tv_sec == st.st_mtim.tv_sec &&
	    c->mtime.tv_nsec == st.st_mtim.tv_nsec &&
	    c->ctime.tv_sec == st.st_ctim.tv_sec &&
	    c->ctime.tv_nsec == st.st_ctim.tv_nsec)
		return 0;
	c->valid = false;
	rv = hash_fd(fd, c->hash);
	if (rv < 0)
		return rv;
	c->dev = st.st_dev;
	c->ino = st.st_ino;
	c->size = st.st_size;
	c->mtime = st.st_mtim;
	c->ctime = st.st_ctim;
	c->valid = true;
	return 0;
}

static void
record_start(struct init_run *r, pid_t pid, bool script)
{
	cbor_item_t *m = cbor_new_indefinite_map(), *argv;

	argv = cbor_new_indefinite_array();
	for (size_t i = 0; argv != NULL && r->conf->argv[i] != NULL; i++)
		(void)cbor_array_push(argv, cbor_move(cbor_build_string(
						    r->conf->argv[i])));
	if (m == NULL || argv == NULL ||
	    cella_cbor_put_text(m, "service", r->conf->name) < 0 ||
	    cella_cbor_put_text(m, "path", r->exe_path) < 0 ||
	    cella_cbor_put_bytes(m, "sha384", r->exe.hash, 48) < 0 ||
	    cella_cbor_put_item(m, "argv", argv) < 0 ||
	    cella_cbor_put_uint(m, "pid", (uint64_t)pid) < 0 ||
	    cella_cbor_put_bool(m, "script", script) < 0) {
		cella_log_error("evlog_refused", "type=start err=ENOMEM");
		if (m != NULL)
			cbor_decref(&m);
		m = NULL;
	}
	if (argv != NULL)
		cbor_decref(&argv);
	if (m != NULL)
		init_ctx_record(r->ctx, "start", m);
}

/* --- the state machine's side effects --- */

static void
close_pair(int p[2])
{
	for (int i = 0; i < 2; i++)
		if (p[i] >= 0)
			close(p[i]);
	p[0] = p[1] = -1;
}

static int
spawn_instance(struct init_run *r, int exe, bool script, pid_t *pid)
{
	int out[2] = {-1, -1}, err[2] = {-1, -1}, rfd = -1, rv;
	const char *step = NULL;
	struct init_spawn sp = {
		.exe_fd = script ? -1 : exe, .path = r->exe_path,
		.argv = r->conf->argv, .envp = r->conf->envp,
		.workdir = r->conf->workdir, .set_ids = r->conf->set_ids,
		.uid = r->conf->uid, .gid = r->conf->gid,
		.groups = r->conf->groups, .ngroups = r->conf->ngroups,
		.stdin_fd = r->ctx->devnull, .ready_fd = -1,
		.ready_fd_num = r->conf->ready_fd, .cgroup_fd = r->cg_procs,
	};

	if (pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
		rv = -errno;
		goto out;
	}
	rv = init_readychk_prepare(r, &rfd);
	if (rv < 0)
		goto out;
	sp.stdout_fd = out[1];
	sp.stderr_fd = err[1];
	sp.ready_fd = rfd;
	rv = init_spawn_run(&sp, pid, &step);
	if (rv < 0) {
		cella_log_error("spawn_failed", "service=%s step=%s err=%s",
				r->conf->name, step ? step : "fork",
				cella_errname(rv));
		init_readychk_cancel(r);
		goto out;
	}
	/* A capture failure loses output, not the service: keep going. */
	if (init_capture_start(r, out[0], INIT_STREAM_STDOUT) < 0)
		cella_log_error("capture_failed", "service=%s stream=stdout",
				r->conf->name);
	if (init_capture_start(r, err[0], INIT_STREAM_STDERR) < 0)
		cella_log_error("capture_failed", "service=%s stream=stderr",
				r->conf->name);
	out[0] = err[0] = -1;
out:
	if (rfd >= 0)
		close(rfd);
	close_pair(out);
	close_pair(err);
	return rv;
}

static int
op_spawn(struct init_svc *s)
{
	struct init_run *r = run_of(s);
	bool script = false;
	pid_t pid = 0;
	int exe, rv;

	exe = open_exe(r);
	if (exe < 0) {
		cella_log_error("spawn_failed", "service=%s step=lookup path=%s err=%s",
				r->conf->name, cella_q(r->conf->argv[0]),
				cella_errname(exe));
		return exe;
	}
	rv = measure(r, exe, &script);
	if (rv == 0)
		rv = spawn_instance(r, exe, script, &pid);
	close(exe);
	if (rv < 0)
		return rv;
	s->pid = s->pgid = pid;
	r->started_ms = cella_mono_ms();
	cella_log_info("svc_start", "service=%s pid=%d path=%s start=%u",
		       r->conf->name, (int)pid, cella_q(r->exe_path), s->starts);
	record_start(r, pid, script);
	return 0;
}

static void
op_signal(struct init_svc *s, int sig)
{
	struct init_run *r = run_of(s);

	if (sig == SIGKILL && s->pgid > 0 && kill(-s->pgid, 0) == 0)
		cella_log_info("svc_kill", "service=%s pgid=%d state=%s",
			       r->conf->name, (int)s->pgid,
			       init_state_name(s->state));
	if (s->pgid > 0 && kill(-s->pgid, sig) < 0 && errno != ESRCH)
		cella_log_warn("kill_failed", "service=%s pgid=%d sig=%d err=%s",
			       r->conf->name, (int)s->pgid, sig,
			       cella_errname(-errno));
	init_cgroup_signal(r, sig);
}

static bool
op_drained(struct init_svc *s)
{
	struct init_run *r = run_of(s);
	bool group_gone = s->pgid <= 0 ||
			  (kill(-s->pgid, 0) < 0 && errno == ESRCH);

	if (!group_gone || !init_cgroup_empty(r))
		return false;
	s->pgid = 0; /* the id may be reused from now on: forget it */
	return true;
}

static void
on_timer(uv_timer_t *t)
{
	init_run_event(t->data, INIT_EV_TIMER, 0);
}

static void
op_timer_arm(struct init_svc *s, uint64_t ms)
{
	struct init_run *r = run_of(s);

	uv_timer_start(&r->timer, on_timer, ms, 0);
}

static void
op_timer_stop(struct init_svc *s)
{
	uv_timer_stop(&run_of(s)->timer);
}

static void
on_drain_poll(uv_timer_t *t)
{
	struct init_run *r = t->data;

	if (r->svc.state == INIT_STOPPING && r->svc.pid == 0 &&
	    op_drained(&r->svc))
		init_run_event(r, INIT_EV_DRAINED, 0);
}

static void
op_changed(struct init_svc *s, enum init_state from)
{
	struct init_run *r = run_of(s);

	cella_log_info("svc_state", "service=%s from=%s to=%s why=%s",
		       r->conf->name, init_state_name(from),
		       init_state_name(s->state), cella_q(s->why));
	if (from == INIT_STARTING || s->state != INIT_STARTING)
		init_readychk_cancel(r);
	if (s->state == INIT_STARTING)
		init_readychk_start(r);
	if (s->state == INIT_READY)
		r->ready_ms = cella_mono_ms();
	/* It ended for good by itself (or was stopped): do not start it again. */
	if (s->state == INIT_STOPPED || s->state == INIT_FAILED)
		r->want = false;
	if (s->state == INIT_STOPPING)
		uv_timer_start(&r->drain, on_drain_poll, INIT_DRAIN_POLL_MS,
			       INIT_DRAIN_POLL_MS);
	else
		uv_timer_stop(&r->drain);
	init_control_changed(r->ctx->ctl, r);
	init_ctx_kick(r->ctx);
}

const struct init_svc_ops init_run_ops = {
	.spawn = op_spawn,
	.signal = op_signal,
	.drained = op_drained,
	.timer_arm = op_timer_arm,
	.timer_stop = op_timer_stop,
	.changed = op_changed,
};

int
init_run_event(struct init_run *r, enum init_ev ev, int arg)
{
	int rv = init_svc_event(&r->svc, ev, cella_mono_ms(), arg);

	if (rv < 0)
		cella_log_debug("svc_event_refused", "service=%s state=%s ev=%s err=%s",
				r->conf->name, init_state_name(r->svc.state),
				init_ev_name(ev), cella_errname(rv));
	return rv;
}

struct init_run *
init_ctx_find(struct init_ctx *ctx, const char *name, size_t len)
{
	int i = init_conf_find(ctx->conf, name, len);

	return i < 0 ? NULL : &ctx->runs[i];
}

/* --- reaping --- */

static void
record_exit(struct init_run *r, pid_t pid, int st)
{
	cbor_item_t *m = cbor_new_indefinite_map();
	bool ok = m != NULL &&
		  cella_cbor_put_text(m, "service", r->conf->name) == 0 &&
		  cella_cbor_put_uint(m, "pid", (uint64_t)pid) == 0;

	if (ok && WIFEXITED(st))
		ok = cella_cbor_put_uint(m, "code", (uint64_t)WEXITSTATUS(st)) == 0;
	else if (ok && WIFSIGNALED(st))
		ok = cella_cbor_put_uint(m, "signal", (uint64_t)WTERMSIG(st)) == 0;
	if (!ok) {
		if (m != NULL)
			cbor_decref(&m);
		cella_log_error("evlog_refused", "type=exit err=ENOMEM");
		return;
	}
	init_ctx_record(r->ctx, "exit", m);
}

static void
service_exited(struct init_run *r, pid_t pid, int st)
{
	char how[64];

	r->svc.wstatus = st;
	r->svc.has_exit = true;
	r->svc.spawn_err = 0;
	init_svc_last_exit(&r->svc, how, sizeof(how));
	cella_log_info("svc_exit", "service=%s pid=%d status=%s", r->conf->name,
		       (int)pid, cella_q(how));
	record_exit(r, pid, st);
	init_run_event(r, INIT_EV_EXIT, st);
}

void
init_ctx_reap(struct init_ctx *ctx)
{
	pid_t pid;
	int st;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		struct init_run *r = NULL;

		for (size_t i = 0; i < ctx->n && r == NULL; i++)
			if (ctx->runs[i].svc.pid == pid)
				r = &ctx->runs[i];
		if (r != NULL)
			service_exited(r, pid, st);
		else if (!init_readychk_reaped(ctx, pid, st))
			cella_log_info("reaped", "pid=%d status=%d", (int)pid, st);
	}
	for (size_t i = 0; i < ctx->n; i++)
		on_drain_poll(&ctx->runs[i].drain);
}
