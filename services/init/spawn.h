/*
 * spawn: fork and exec one process for init. Everything that can allocate
 * or lock (path lookup, user lookup, hashing, environment building, opening
 * files) is done by the caller before the fork, because init runs nng
 * threads and a forked child of a threaded process may only make
 * async-signal-safe calls until it execs. Between fork and exec the child
 * resets signal dispositions, starts its own session and process group,
 * joins its cgroup through an fd opened before the fork, moves its pipes
 * into place, marks every other descriptor close-on-exec, changes directory
 * and ids, unblocks signals and execs. Failure of any step reaches the
 * parent through a close-on-exec pipe, so the caller learns at once whether
 * the program runs, and which step failed when it does not.
 *
 * It does not reap (except a child whose exec failed), wait for readiness,
 * or read the pipes.
 */
#ifndef INIT_SPAWN_H
#define INIT_SPAWN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct init_spawn {
	int exe_fd;	  /* the executable, opened; -1 to exec by path */
	const char *path; /* used when exe_fd < 0 */
	char *const *argv;
	char *const *envp;
	const char *workdir; /* NULL: "/" */
	bool set_ids;
	uid_t uid;
	gid_t gid;
	const gid_t *groups;
	size_t ngroups;
	int stdin_fd, stdout_fd, stderr_fd; /* all required */
	int ready_fd;			     /* -1: none */
	int ready_fd_num;		     /* its number in the child */
	int cgroup_fd;			     /* cgroup.procs, -1: none */
};

/*
 * Start sp. On success *pid is the child, which leads its own session and
 * process group (pgid == pid) and has exec'd. On failure nothing is left
 * running; returns -errno and, when the child reported it, sets *step to
 * the step that failed ("chdir", "exec", ...; static storage).
 */
int init_spawn_run(const struct init_spawn *sp, pid_t *pid,
		   const char **step);

#endif
