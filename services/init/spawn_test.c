/*
 * spawn_test: fork + exec as init does it: the child leads its own session
 * and process group, gets its pipes on 0/1/2 and the readiness fd on the
 * number asked for (even when the source descriptors sit on those numbers),
 * inherits nothing else, and a failing step is reported with its errno and
 * name instead of a silent exit 127.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "services/init/spawn.h"

extern char **environ;

static int devnull;

static struct init_spawn
base(char *const *argv, int out)
{
	struct init_spawn sp = {
		.exe_fd = -1, .path = argv[0], .argv = argv, .envp = environ,
		.stdin_fd = devnull, .stdout_fd = out, .stderr_fd = out,
		.ready_fd = -1, .cgroup_fd = -1,
	};

	return sp;
}

static size_t
run_capture(struct init_spawn *sp, int rfd, char *buf, size_t cap, int *st)
{
	pid_t pid;
	ssize_t n;
	size_t got = 0;

	assert_int_equal(init_spawn_run(sp, &pid, NULL), 0);
	close(sp->stdout_fd);
	while ((n = read(rfd, buf + got, cap - 1 - got)) > 0)
		got += (size_t)n;
	buf[got] = '\0';
	assert_int_equal(waitpid(pid, st, 0), pid);
	return got;
}

static void
test_session_fds_and_ready(void **state)
{
	/* The script prints: pid==pgid==sid?, and which fds are open. */
	char *argv[] = {"/bin/sh", "-c",
			"set -- $(cat /proc/$$/stat); [ $1 = $5 ] && [ $5 = $6 ] "
			"&& echo leader; echo ok >&7; "
			"ls /proc/self/fd | sort -n | tr '\\n' ' '",
			NULL};
	int out[2], ready[2], st;
	char buf[512], line[16] = {0};
	struct init_spawn sp;

	(void)state;
	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
	/* A stray descriptor without CLOEXEC must not reach the child. */
	assert_true(dup2(devnull, 20) == 20);
	sp = base(argv, out[1]);
	sp.ready_fd = ready[1];
	sp.ready_fd_num = 7;
	run_capture(&sp, out[0], buf, sizeof(buf), &st);
	close(ready[1]);
	assert_true(read(ready[0], line, sizeof(line) - 1) > 0);
	assert_string_equal(line, "ok\n");
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_non_null(strstr(buf, "leader\n"));
	/* 0 1 2 7 and the one ls itself opens: nothing else, not 20. */
	assert_non_null(strstr(buf, "0 1 2 3 7 "));
	assert_null(strstr(buf, " 20 "));
	close(20);
	close(out[0]);
	close(ready[0]);
}

static void
test_failed_steps(void **state)
{
	char *argv[] = {"/nonexistent/program", NULL};
	char *sh[] = {"/bin/sh", "-c", "true", NULL};
	const char *step = NULL;
	struct init_spawn sp;
	pid_t pid = 0;

	(void)state;
	sp = base(argv, devnull);
	assert_int_equal(init_spawn_run(&sp, &pid, &step), -ENOENT);
	assert_string_equal(step, "exec");
	assert_int_equal(pid, 0);
	sp = base(sh, devnull);
	sp.workdir = "/nonexistent/dir";
	assert_int_equal(init_spawn_run(&sp, &pid, &step), -ENOENT);
	assert_string_equal(step, "chdir");
	/* /etc/passwd exists but is not executable. */
	sp = base((char *[]){"/etc/passwd", NULL}, devnull);
	assert_int_equal(init_spawn_run(&sp, &pid, &step), -EACCES);
	assert_string_equal(step, "exec");
	/* Nothing is left to reap: the failed children were collected. */
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
}

static void
test_exec_through_fd(void **state)
{
	char *argv[] = {"true-by-fd", NULL};
	int st;
	struct init_spawn sp;
	pid_t pid;

	(void)state;
	sp = base(argv, devnull);
	sp.exe_fd = open("/bin/true", O_RDONLY | O_CLOEXEC);
	sp.path = "/unused";
	assert_true(sp.exe_fd >= 0);
	assert_int_equal(init_spawn_run(&sp, &pid, NULL), 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(sp.exe_fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_session_fds_and_ready),
		cmocka_unit_test(test_failed_steps),
		cmocka_unit_test(test_exec_through_fd),
	};

	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
