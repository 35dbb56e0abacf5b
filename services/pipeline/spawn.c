/*
 * spawn: fork and exec one command for cella exec. Everything the child
 * needs (the program's path, argv, envp, descriptors) is prepared before
 * fork, because nng and libuv run threads and the child may only make
 * async-signal-safe calls. The child starts a new session (its own process
 * group, so the whole group can be killed), takes its pipes as 0, 1 and 2,
 * resets signal dispositions and mask, changes directory, and then waits
 * on a pipe for the parent's word before it execs: the parent first moves
 * it into the command's cgroup (cgroup.c) when there is one, appends the
 * exec event (with the pid) to init's measured log, and kills the child
 * instead when that fails, so nothing runs unlogged or uncontained. A failed
 * chdir or exec comes back over a close-on-exec pipe as (stage, errno).
 */
#include "services/pipeline/pipe.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "common/cbor/cbor.h"
#include "common/core/log.h"

extern char **environ;

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

enum { STAGE_CHDIR = 1, STAGE_EXEC = 2 };

struct spawn_fds {
	int in[2], out[2], err[2], go[2], rep[2];
};

static const char *
env_get(char *const *env, const char *name)
{
	size_t n = strlen(name);

	for (; env != NULL && *env != NULL; env++)
		if (strncmp(*env, name, n) == 0 && (*env)[n] == '=')
			return *env + n + 1;
	return NULL;
}

/* argv[0] as execve will take it: searched in PATH when it has no '/'. */
static int
find_program(const char *name, const char *path, char *out, size_t len,
	     struct cella_diag *d)
{
	struct stat st;
	int seen_eacces = 0;

	if (strchr(name, '/') != NULL) {
		snprintf(out, len, "%s", name);
		return 0;
	}
	for (const char *p = path; *p != '\0';) {
		size_t n = strcspn(p, ":");

		if ((size_t)snprintf(out, len, "%.*s%s%s", (int)n, p,
				     n ? "/" : "", name) < len &&
		    stat(out, &st) == 0 && S_ISREG(st.st_mode)) {
			if (access(out, X_OK) == 0)
				return 0;
			seen_eacces = 1;
		}
		p += n + (p[n] == ':');
	}
	/* ENOEXEC, not EACCES: that one means a refusal by policy. */
	if (seen_eacces)
		return cella_diag_set(d, -ENOEXEC, "%s: permission denied", name);
	return cella_diag_set(d, -ENOENT, "%s: command not found", name);
}

/* The service's environment with the request's variables on top. */
static char **
merge_env(char **req, size_t nreq)
{
	size_t n = 0, k = 0;
	char **out;

	while (environ[n] != NULL)
		n++;
	if ((out = calloc(n + nreq + 1, sizeof(char *))) == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		const char *eq = strchr(environ[i], '=');
		bool over = false;

		for (size_t j = 0; eq != NULL && j < nreq; j++)
			over |= strncmp(req[j], environ[i],
					(size_t)(eq - environ[i]) + 1) == 0;
		if (!over)
			out[k++] = environ[i];
	}
	for (size_t j = 0; j < nreq; j++)
		out[k++] = req[j];
	return out;
}

static void
close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void
close_all(struct spawn_fds *f)
{
	int *all = (int *)f;

	for (size_t i = 0; i < sizeof(*f) / sizeof(int); i++)
		close_fd(&all[i]);
}

static int
open_fds(const struct pipe_msg_exec *m, struct spawn_fds *f)
{
	int *all = (int *)f;
	int devnull = -1;

	for (size_t i = 0; i < sizeof(*f) / sizeof(int); i++)
		all[i] = -1;
	if (pipe2(f->go, O_CLOEXEC) < 0 || pipe2(f->rep, O_CLOEXEC) < 0)
		return -errno;
	if (m->detach || !m->stdin_open) {
		if ((devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0)
			return -errno;
		f->in[0] = devnull;
	} else if (pipe2(f->in, O_CLOEXEC) < 0) {
		return -errno;
	}
	if (m->detach) {
		if ((f->out[1] = dup(devnull)) < 0 || (f->err[1] = dup(devnull)) < 0)
			return -errno;
		return 0;
	}
	if (pipe2(f->out, O_CLOEXEC) < 0 || pipe2(f->err, O_CLOEXEC) < 0)
		return -errno;
	return 0;
}

/* The child, between fork and exec: async-signal-safe calls only. */
static void __attribute__((noreturn))
child(const char *path, char *const argv[], char *const envp[],
      const char *workdir, struct spawn_fds *f)
{
	struct sigaction dfl = {.sa_handler = SIG_DFL};
	sigset_t none;
	int rep[2] = {0, 0};
	char go;

	(void)setsid();
	if (dup2(f->in[0], 0) < 0 || dup2(f->out[1], 1) < 0 ||
	    dup2(f->err[1], 2) < 0)
		_exit(127);
	for (int sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			(void)sigaction(sig, &dfl, NULL);
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	(void)syscall(SYS_close_range, 3u, ~0u, 4u /* CLOSE_RANGE_CLOEXEC */);
	if (read(f->go[0], &go, 1) != 1)
		_exit(127); /* the parent refused: nothing runs */
	rep[0] = STAGE_CHDIR;
	if (chdir(workdir) == 0) {
		rep[0] = STAGE_EXEC;
		execve(path, argv, envp);
	}
	rep[1] = errno;
	(void)!write(f->rep[1], rep, sizeof(rep));
	_exit(127);
}

static void
argv_hash(char *const argv[], uint8_t out[32])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	unsigned len = 0;

	memset(out, 0, 32);
	if (md == NULL)
		return;
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	for (; *argv != NULL; argv++)
		EVP_DigestUpdate(md, *argv, strlen(*argv) + 1);
	EVP_DigestFinal_ex(md, out, &len);
	EVP_MD_CTX_free(md);
}

static int
log_exec(struct pipe_svc *s, const struct pipe_msg_exec *m,
	 const char *operator, pid_t pid, struct cella_diag *d)
{
	cbor_item_t *data = cbor_new_indefinite_map();
	uint8_t h[32];
	int rv = -ENOMEM;

	argv_hash(m->argv, h);
	if (data != NULL && cella_cbor_put_bytes(data, "argv_sha256", h, 32) == 0 &&
	    cella_cbor_put_text(data, "operator", operator) == 0 &&
	    cella_cbor_put_uint(data, "pid", (uint64_t)pid) == 0 &&
	    cella_cbor_put_bool(data, "detach", m->detach) == 0)
		rv = pipe_evlog_append(s->evlog, "exec", data, d);
	else
		cella_diag_set(d, rv, "out of memory");
	if (data != NULL)
		cbor_decref(&data);
	return rv;
}

/* Let the child go and learn whether its chdir and exec worked. */
static int
release(struct spawn_fds *f, const char *path, const char *workdir,
	struct cella_diag *d)
{
	int rep[2];
	ssize_t r;

	if (write(f->go[1], "g", 1) != 1)
		return cella_diag_set(d, -errno, "cannot start the command");
	close_fd(&f->go[1]);
	do
		r = read(f->rep[0], rep, sizeof(rep));
	while (r < 0 && errno == EINTR);
	if (r <= 0)
		return 0; /* closed by a successful exec */
	if (r != sizeof(rep))
		return cella_diag_set(d, -EIO, "the command's start went wrong");
	/* Codes the CLI tells apart: ENOENT 127, ENOEXEC and ENOTDIR 126. */
	if (rep[0] == STAGE_CHDIR)
		return cella_diag_set(d, -ENOTDIR, "cannot enter workdir %s: %s",
				      workdir, cella_strerror(-rep[1]));
	return cella_diag_set(d, rep[1] == ENOENT ? -ENOENT : -ENOEXEC,
			      "cannot execute %s: %s", path,
			      cella_strerror(-rep[1]));
}

/* A cgroup for command xid (not for a detached one): its cgroup.procs,
 * or -1 when it gets none. */
static int
make_cgroup(struct pipe_svc *s, const struct pipe_msg_exec *m, uint64_t xid)
{
	int procs = -1, rv;

	if (s->cg == NULL || m->detach)
		return -1;
	if ((rv = pipe_cg_create(s->cg, xid, &procs)) < 0)
		cella_log_warn("exec_cgroup_failed", "id=%llu err=%s",
			       (unsigned long long)xid, cella_errname(rv));
	return procs;
}

/* Move the child (waiting for its word, so nothing forked yet) into its
 * cgroup; without it the command still runs, in its process group only. */
static bool
join_cgroup(int procs, pid_t pid)
{
	char buf[24];
	int n = snprintf(buf, sizeof(buf), "%d", (int)pid);

	if (procs < 0)
		return false;
	if (write(procs, buf, (size_t)n) == n)
		return true;
	cella_log_warn("exec_cgroup_failed", "pid=%d err=%s", (int)pid,
		       cella_errname(-errno));
	return false;
}

int
pipe_spawn(struct pipe_svc *s, const struct pipe_msg_exec *m,
	   const char *operator, uint64_t xid, struct pipe_spawned *out,
	   struct cella_diag *d)
{
	const char *workdir = m->workdir ? m->workdir : "/";
	const char *path = env_get(m->env, "PATH");
	struct spawn_fds f;
	char prog[PATH_MAX];
	char **envp = NULL;
	pid_t pid = -1;
	int rv, st, cg_procs = -1;
	bool cg = false;

	if (path == NULL && (path = getenv("PATH")) == NULL)
		path = DEFAULT_PATH;
	if ((rv = find_program(m->argv[0], path, prog, sizeof(prog), d)) < 0)
		return rv;
	if ((envp = merge_env(m->env, m->nenv)) == NULL)
		return cella_diag_set(d, -ENOMEM, "out of memory");
	if ((rv = open_fds(m, &f)) < 0) {
		cella_diag_set(d, rv, "cannot make pipes: %s", cella_strerror(rv));
		goto out;
	}
	cg_procs = make_cgroup(s, m, xid);
	if ((pid = fork()) < 0) {
		rv = cella_diag_set(d, -errno, "cannot fork: %s",
				    cella_strerror(-errno));
		goto out;
	}
	if (pid == 0)
		child(prog, m->argv, envp, workdir, &f);
	close_fd(&f.in[0]);
	close_fd(&f.out[1]);
	close_fd(&f.err[1]);
	close_fd(&f.go[0]);
	close_fd(&f.rep[1]);
	cg = join_cgroup(cg_procs, pid);
	if ((rv = log_exec(s, m, operator, pid, d)) < 0 ||
	    (rv = release(&f, prog, workdir, d)) < 0) {
		kill(pid, SIGKILL);
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
		goto out;
	}
	*out = (struct pipe_spawned){pid, f.in[1], f.out[0], f.err[0], cg};
	f.in[1] = f.out[0] = f.err[0] = -1;
out:
	if (cg_procs >= 0) {
		close(cg_procs);
		if (rv < 0 || !cg) /* nothing runs in it */
			pipe_cg_discard(s->cg, xid);
	}
	close_all(&f);
	free(envp);
	return rv;
}
