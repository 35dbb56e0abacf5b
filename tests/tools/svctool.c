/*
 * svctool: a configurable service for cella-init's integration tests and
 * benchmark. Each flag is one behaviour a supervisor must cope with:
 * readiness after a delay, exiting with a given code, leaving orphans or
 * grandchildren behind, logging SIGTERM (to check shutdown order), ignoring
 * it (to force SIGKILL), listening on TCP (for tcp readiness). Not
 * installed; not a model of a real service.
 *
 *   --ready-fd N       write "ready\n" to N (after --ready-ms) and close it
 *   --ready-ms MS      delay before readiness (and before --listen)
 *   --exit CODE        exit with CODE after --exit-ms (default 0 ms)
 *   --exit-ms MS
 *   --orphans N        double-fork N processes that exit after --orphan-ms
 *   --orphan-ms MS
 *   --grandchild FILE  fork a child that sleeps forever; its pid into FILE
 *   --escapee FILE     like --grandchild, but the child calls setsid()
 *   --term-log FILE    on SIGTERM append "NAME term" to FILE, print the
 *                      same as a last line on stdout, exit 0
 *   --ignore-term      ignore SIGTERM
 *   --listen PORT      listen on 127.0.0.1:PORT (after --ready-ms)
 *   --name NAME        for --term-log
 *   --print TEXT       write TEXT and a newline to stdout at start
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "tests/lib/argnum.h"

static const char *term_log, *name = "svc";
static volatile sig_atomic_t termed;

static void
sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR && !termed)
		;
}

static void
on_term(int sig)
{
	(void)sig;
	termed = 1;
}

static void
write_pid(const char *file, pid_t pid)
{
	FILE *f = fopen(file, "w");

	if (f == NULL)
		exit(71);
	fprintf(f, "%d\n", (int)pid);
	fclose(f);
}

static void
grandchild(const char *file, bool escape)
{
	pid_t pid = fork();

	if (pid < 0)
		exit(71);
	if (pid == 0) {
		signal(SIGTERM, SIG_DFL);
		if (escape)
			setsid();
		for (;;)
			pause();
	}
	write_pid(file, pid);
}

static void
orphans(int n, long ms)
{
	for (int i = 0; i < n; i++) {
		pid_t pid = fork();

		if (pid < 0)
			exit(71);
		if (pid == 0) {
			if (fork() == 0) {
				sleep_ms(ms);
				_exit(0);
			}
			_exit(0); /* the grandchild is now an orphan */
		}
		waitpid(pid, NULL, 0);
	}
}

static void
listen_on(int port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port)};
	int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, 16) < 0) {
		perror("svctool: listen");
		exit(71);
	}
}

int
main(int argc, char **argv)
{
	static const struct option longs[] = {
		{"ready-fd", 1, NULL, 'r'}, {"ready-ms", 1, NULL, 'R'},
		{"exit", 1, NULL, 'e'}, {"exit-ms", 1, NULL, 'E'},
		{"orphans", 1, NULL, 'o'}, {"orphan-ms", 1, NULL, 'O'},
		{"grandchild", 1, NULL, 'g'}, {"escapee", 1, NULL, 'G'},
		{"term-log", 1, NULL, 't'}, {"ignore-term", 0, NULL, 'i'},
		{"listen", 1, NULL, 'l'}, {"name", 1, NULL, 'n'},
		{"print", 1, NULL, 'p'}, {0},
	};
	int ready_fd = -1, exit_code = -1, norphans = 0, port = 0, ch;
	long ready_ms = 0, exit_ms = 0, orphan_ms = 100;
	const char *gc = NULL, *esc = NULL;
	bool ignore = false;

	while ((ch = getopt_long(argc, argv, "", longs, NULL)) != -1) {
		switch (ch) {
		case 'r': ready_fd = (int)arg_long(optarg, 10, 0, INT_MAX); break;
		case 'R': ready_ms = arg_long(optarg, 10, 0, LONG_MAX); break;
		case 'e': exit_code = (int)arg_long(optarg, 10, 0, 255); break;
		case 'E': exit_ms = arg_long(optarg, 10, 0, LONG_MAX); break;
		case 'o': norphans = (int)arg_long(optarg, 10, 0, 1000); break;
		case 'O': orphan_ms = arg_long(optarg, 10, 0, LONG_MAX); break;
		case 'g': gc = optarg; break;
		case 'G': esc = optarg; break;
		case 't': term_log = optarg; break;
		case 'i': ignore = true; break;
		case 'l': port = (int)arg_long(optarg, 10, 1, 65535); break;
		case 'n': name = optarg; break;
		case 'p': printf("%s\n", optarg); fflush(stdout); break;
		default: return 64;
		}
	}
	signal(SIGTERM, ignore ? SIG_IGN : on_term);
	if (gc != NULL)
		grandchild(gc, false);
	if (esc != NULL)
		grandchild(esc, true);
	orphans(norphans, orphan_ms);
	sleep_ms(ready_ms);
	if (port > 0)
		listen_on(port);
	if (ready_fd >= 0) {
		if (write(ready_fd, "ready\n", 6) != 6)
			return 71;
		close(ready_fd);
	}
	if (exit_code >= 0) {
		sleep_ms(exit_ms);
		return exit_code;
	}
	while (!termed)
		pause();
	if (term_log != NULL) {
		int fd = open(term_log, O_WRONLY | O_APPEND | O_CREAT, 0644);
		char line[128];
		int n = snprintf(line, sizeof(line), "%s term\n", name);

		if (fd >= 0 && write(fd, line, (size_t)n) != n)
			return 71;
		close(fd);
		/* A last line written as the service ends: init must not lose
		 * it at shutdown. */
		if (write(1, line, (size_t)n) != n)
			return 71;
	}
	return 0;
}
