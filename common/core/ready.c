/* ready: write one line to the readiness fd and close it. */
#include "common/core/ready.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

int
cella_ready_parse(const char *arg)
{
	char *end;
	long fd;

	errno = 0;
	fd = strtol(arg, &end, 10);
	if (errno != 0 || end == arg || *end != '\0' || fd < 0 || fd > INT_MAX)
		return -EINVAL;
	if (fcntl((int)fd, F_GETFD) < 0)
		return -EBADF;
	/* Children must not inherit it and hold the supervisor's pipe open. */
	(void)fcntl((int)fd, F_SETFD, FD_CLOEXEC);
	return (int)fd;
}

int
cella_ready_notify(int fd)
{
	static const char line[] = "ready\n";
	ssize_t n;
	int rv = 0;

	if (fd < 0)
		return 0;
	do
		n = write(fd, line, sizeof(line) - 1);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		rv = -errno;
	close(fd);
	return rv;
}
