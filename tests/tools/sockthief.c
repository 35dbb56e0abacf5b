/*
 * sockthief: a hostile local user's view of other processes' unix sockets,
 * for tests that run it as an unprivileged user. It reads what every user
 * may read (/proc/net/unix) and tries what every user may try (bind a name
 * first, connect to a listener); it never needs a privilege. It does not
 * speak any protocol: a test that wants to use a stolen connection points
 * the real cella CLI at the name.
 *
 *   sockthief find PATTERN                   print every listening unix
 *                                            socket whose name contains
 *                                            PATTERN (abstract ones as @NAME)
 *   sockthief hammer PATTERN [SQUAT...] [--ready-fd N]
 *                                            squat the SQUAT names first,
 *                                            then until SIGTERM keep
 *                                            connecting to every other
 *                                            listener whose name contains
 *                                            PATTERN, holding what it gets;
 *                                            then say on stderr
 *                                            "attempts=A connected=C" and
 *                                            every name it reached
 *
 * Exit 0; 64 usage; 71 when a name to squat could not be bound (taken).
 */
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "tests/lib/argnum.h"

#define NAMES_MAX 256
#define HELD_MAX 1024
#define NAME_LEN 108 /* sun_path */
#define ACCEPTCON 0x10000 /* /proc/net/unix Flags: a listening socket */

static volatile sig_atomic_t stopping;

static void
on_term(int sig)
{
	(void)sig;
	stopping = 1;
}

/* A sockaddr for NAME ("@x" abstract, else a path). */
static socklen_t
addr_of(const char *name, struct sockaddr_un *sa)
{
	bool abs = name[0] == '@';
	size_t n = strlen(name);

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (n >= sizeof(sa->sun_path))
		return 0;
	memcpy(sa->sun_path, name, n);
	if (abs)
		sa->sun_path[0] = '\0';
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n +
			   (abs ? 0 : 1));
}

/* Listening unix sockets whose name contains pat, into names. */
static size_t
scan(const char *pat, char names[][NAME_LEN],
     size_t max)
{
	FILE *f = fopen("/proc/net/unix", "r");
	char line[512], path[256];
	unsigned long flags;
	size_t n = 0;

	if (f == NULL)
		return 0;
	while (n < max && fgets(line, sizeof(line), f) != NULL) {
		path[0] = '\0';
		if (sscanf(line, "%*s %*s %*s %lx %*s %*s %*s %255s", &flags,
			   path) != 2 ||
		    !(flags & ACCEPTCON) || strstr(path, pat) == NULL)
			continue;
		snprintf(names[n++], NAME_LEN, "%.*s", NAME_LEN - 1, path);
	}
	fclose(f);
	return n;
}

static void
ready(int fd)
{
	if (fd >= 0 && (write(fd, "ready\n", 6) != 6 || close(fd) < 0))
		exit(71);
}

/* Bind and listen on @NAME for each name; 0 or 71. */
static int
squat_bind(int n, char **names)
{
	struct sockaddr_un sa;

	for (int i = 0; i < n; i++) {
		char at[sizeof(sa.sun_path)];
		socklen_t len;
		int fd;

		snprintf(at, sizeof(at), "@%s", names[i]);
		len = addr_of(at, &sa);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (len == 0 || fd < 0 ||
		    bind(fd, (struct sockaddr *)&sa, len) < 0 || listen(fd, 1) < 0) {
			fprintf(stderr, "sockthief: squat %s: %s\n", at,
				strerror(errno));
			return 71;
		}
		fprintf(stderr, "sockthief: squatting %s\n", at);
	}
	return 0;
}

/* One of our own squats (listed as @NAME)? */
static bool
ours(const char *name, int n, char **squats)
{
	for (int i = 0; i < n; i++)
		if (name[0] == '@' && strcmp(name + 1, squats[i]) == 0)
			return true;
	return false;
}

/* One connect; the fd or -errno. */
static int
try_connect(const char *name)
{
	struct sockaddr_un sa;
	socklen_t len = addr_of(name, &sa);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0), err;

	if (fd < 0 || len == 0)
		return fd < 0 ? -errno : -ENAMETOOLONG;
	if (connect(fd, (struct sockaddr *)&sa, len) == 0)
		return fd;
	err = -errno;
	close(fd);
	return err;
}

static int
hammer(const char *pat, int nsq, char **squats, int ready_fd)
{
	static char names[NAMES_MAX][NAME_LEN];
	static char got[HELD_MAX][NAME_LEN];
	struct timespec pause = {0, 1000000};
	unsigned long attempts = 0;
	size_t nheld = 0;
	char seen[NAME_LEN] = "";
	int rv = squat_bind(nsq, squats);

	if (rv != 0)
		return rv;
	ready(ready_fd);
	while (!stopping) {
		size_t n = scan(pat, names, NAMES_MAX);

		for (size_t i = 0; i < n && nheld < HELD_MAX; i++) {
			int fd;

			if (ours(names[i], nsq, squats))
				continue;
			fd = try_connect(names[i]);
			attempts++;
			if (fd >= 0) /* held: the peer's one connection is ours */
				snprintf(got[nheld++], NAME_LEN, "%.*s",
					 NAME_LEN - 1, names[i]);
			else if (strcmp(seen, names[i]) != 0) {
				fprintf(stderr, "sockthief: %s: %s\n", names[i],
					strerror(-fd));
				snprintf(seen, NAME_LEN, "%.*s", NAME_LEN - 1,
					 names[i]);
			}
		}
		nanosleep(&pause, NULL); /* poll, as an attacker would */
	}
	fprintf(stderr, "sockthief: attempts=%lu connected=%zu\n", attempts,
		nheld);
	for (size_t i = 0; i < nheld; i++)
		fprintf(stderr, "sockthief: reached %s\n", got[i]);
	return 0;
}

int
main(int argc, char **argv)
{
	static char names[NAMES_MAX][NAME_LEN];
	struct sigaction sa = {.sa_handler = on_term};
	int ready_fd = -1;

	if (argc >= 4 && strcmp(argv[argc - 2], "--ready-fd") == 0) {
		ready_fd = (int)arg_long(argv[argc - 1], 10, 0, INT_MAX);
		argc -= 2;
	}
	sigaction(SIGTERM, &sa, NULL);
	if (argc >= 3 && strcmp(argv[1], "hammer") == 0)
		return hammer(argv[2], argc - 3, argv + 3, ready_fd);
	if (argc == 3 && strcmp(argv[1], "find") == 0) {
		size_t n = scan(argv[2], names, NAMES_MAX);

		for (size_t i = 0; i < n; i++)
			printf("%s\n", names[i]);
		return 0;
	}
	fprintf(stderr, "usage: sockthief find PATTERN | "
			"hammer PATTERN [SQUAT...] [--ready-fd N]\n");
	return 64;
}
