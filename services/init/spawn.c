/*
 * spawn: fork + exec with only async-signal-safe calls in between. Ids are
 * changed with raw system calls: glibc's setuid()/setgid() broadcast the
 * change to every thread of the process through signals, machinery that
 * must not run in the child of a threaded parent.
 */
#include "services/init/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/close_range.h>

enum spawn_step {
	STEP_SIGNALS,
	STEP_SETSID,
	STEP_CGROUP,
	STEP_FDS,
	STEP_CHDIR,
	STEP_IDS,
	STEP_EXEC,
};

static const char *const step_names[] = {
	"signals", "setsid", "cgroup", "fds", "chdir", "setuid", "exec",
};

struct spawn_report {
	int err;
	int step;
};

static void __attribute__((noreturn))
child_fail(int errfd, int step)
{
	struct spawn_report r = {errno, step};
	ssize_t n;

	do
		n = write(errfd, &r, sizeof(r));
	while (n < 0 && errno == EINTR);
	_exit(127);
}

/* Move fd at or above base so that dup2 onto low numbers cannot clobber it. */
static int
lift(int *fd, int base)
{
	int nfd;

	if (*fd < 0 || *fd >= base)
		return 0;
	nfd = fcntl(*fd, F_DUPFD_CLOEXEC, base);
	if (nfd < 0)
		return -1;
	*fd = nfd;
	return 0;
}

static int
child_fds(const struct init_spawn *sp, int *errfd, int *exefd)
{
	int in = sp->stdin_fd, out = sp->stdout_fd, err = sp->stderr_fd;
	int ready = sp->ready_fd, base = 3;

	if (sp->ready_fd >= 0 && sp->ready_fd_num >= base)
		base = sp->ready_fd_num + 1;
	if (lift(&in, base) < 0 || lift(&out, base) < 0 ||
	    lift(&err, base) < 0 || lift(&ready, base) < 0 ||
	    lift(errfd, base) < 0 || lift(exefd, base) < 0)
		return -1;
	if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
		return -1;
	if (ready >= 0 && dup2(ready, sp->ready_fd_num) < 0)
		return -1;
	/*
	 * Whatever else is open (nng's and libuv's descriptors are already
	 * close-on-exec) must not leak into a service. Best effort: kernels
	 * before 5.11 lack the flag, and the descriptors we open are CLOEXEC.
	 */
	(void)syscall(SYS_close_range, 3u, ~0u, CLOSE_RANGE_CLOEXEC);
	if (sp->ready_fd >= 0 && fcntl(sp->ready_fd_num, F_SETFD, 0) < 0)
		return -1;
	return 0;
}

static void __attribute__((noreturn))
child(const struct init_spawn *sp, int errfd)
{
	struct sigaction sa;
	sigset_t none;
	int exefd = sp->exe_fd;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (int sig = 1; sig < NSIG; sig++)
		(void)sigaction(sig, &sa, NULL); /* fails for KILL, STOP */
	if (setsid() < 0)
		child_fail(errfd, STEP_SETSID);
	if (sp->cgroup_fd >= 0 && write(sp->cgroup_fd, "0", 1) != 1)
		child_fail(errfd, STEP_CGROUP);
	if (child_fds(sp, &errfd, &exefd) < 0)
		child_fail(errfd, STEP_FDS);
	if (chdir(sp->workdir ? sp->workdir : "/") < 0)
		child_fail(errfd, STEP_CHDIR);
	if (sp->set_ids &&
	    (syscall(SYS_setgroups, sp->ngroups, sp->groups) < 0 ||
	     syscall(SYS_setresgid, sp->gid, sp->gid, sp->gid) < 0 ||
	     syscall(SYS_setresuid, sp->uid, sp->uid, sp->uid) < 0))
		child_fail(errfd, STEP_IDS);
	sigemptyset(&none);
	if (sigprocmask(SIG_SETMASK, &none, NULL) < 0)
		child_fail(errfd, STEP_SIGNALS);
	if (exefd >= 0)
		(void)syscall(SYS_execveat, exefd, "", sp->argv, sp->envp,
			      AT_EMPTY_PATH);
	else
		(void)execve(sp->path, sp->argv, sp->envp);
	child_fail(errfd, STEP_EXEC);
}

static int
await_exec(int rfd, pid_t pid, const char **step)
{
	struct spawn_report r;
	ssize_t n;
	int st;

	do
		n = read(rfd, &r, sizeof(r));
	while (n < 0 && errno == EINTR);
	if (n == 0)
		return 0; /* the pipe closed on exec */
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (n != (ssize_t)sizeof(r) || r.err <= 0)
		return -EIO;
	if (step != NULL && r.step >= 0 && r.step <= STEP_EXEC)
		*step = step_names[r.step];
	return -r.err;
}

int
init_spawn_run(const struct init_spawn *sp, pid_t *pid, const char **step)
{
	int p[2] = {-1, -1}, rv;
	pid_t child_pid;

	if (step != NULL)
		*step = NULL;
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	child_pid = fork();
	if (child_pid < 0) {
		rv = -errno;
		goto out;
	}
	if (child_pid == 0) {
		close(p[0]);
		child(sp, p[1]);
	}
	close(p[1]);
	p[1] = -1;
	rv = await_exec(p[0], child_pid, step);
	if (rv == 0)
		*pid = child_pid;
out:
	if (p[0] >= 0)
		close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
	return rv;
}
