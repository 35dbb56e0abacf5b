/*
 * pathsafe: the text rules are checked before any system call so that a
 * refusal names the rule; the kernel's RESOLVE_BENEATH then covers what
 * text cannot see (symlinks already on disk). openat2 has no glibc
 * wrapper in Debian 12, hence syscall(2).
 */
#include "common/files/pathsafe.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Length of the component at p (up to '/' or end). */
static size_t
comp_len(const char *p, size_t n)
{
	const char *s = memchr(p, '/', n);

	return s == NULL ? n : (size_t)(s - p);
}

int
pipe_path_check_rel(const char *p, size_t n, int allow_empty,
		    struct cella_diag *d)
{
	size_t i = 0;

	if (n > PIPE_PATH_MAX)
		return cella_diag_set(d, -ENAMETOOLONG,
				      "path of %zu bytes, over %d", n,
				      PIPE_PATH_MAX);
	if (n == 0)
		return allow_empty ? 0
				   : cella_diag_set(d, -EINVAL, "empty path");
	if (memchr(p, '\0', n) != NULL)
		return cella_diag_set(d, -EINVAL, "path holds a NUL byte");
	if (p[0] == '/')
		return cella_diag_set(d, -EINVAL, "path is absolute");
	while (i <= n) {
		size_t c = comp_len(p + i, n - i);

		if (c == 0)
			return cella_diag_set(d, -EINVAL,
					      "empty path component");
		if (c > 255)
			return cella_diag_set(d, -ENAMETOOLONG,
					      "a path component over 255 bytes");
		if ((c == 1 && p[i] == '.') ||
		    (c == 2 && p[i] == '.' && p[i + 1] == '.'))
			return cella_diag_set(d, -EINVAL,
					      "'.' or '..' in path");
		i += c + 1;
	}
	return 0;
}

int
pipe_path_check_abs(const char *p, size_t n, const char **rel, size_t *reln,
		    struct cella_diag *d)
{
	int rv;

	if (n > PIPE_PATH_MAX)
		return cella_diag_set(d, -ENAMETOOLONG,
				      "path of %zu bytes, over %d", n,
				      PIPE_PATH_MAX);
	if (n == 0 || p[0] != '/')
		return cella_diag_set(d, -EINVAL,
				      "expected an absolute path");
	p++;
	n--;
	if (n > 0 && p[n - 1] == '/')
		n--;
	if ((rv = pipe_path_check_rel(p, n, 1, d)) < 0)
		return rv;
	*rel = p;
	*reln = n;
	return 0;
}

int
pipe_openat2(int dirfd, const char *rel, int flags, mode_t mode)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS,
	};
	long fd;
	int tries = 0;

	/* EAGAIN: a rename raced the lookup of "..": the kernel asks to retry. */
	do
		fd = syscall(SYS_openat2, dirfd, rel[0] ? rel : ".", &how,
			     sizeof(how));
	while (fd < 0 && (errno == EINTR || errno == EAGAIN) && ++tries < 16);
	return fd < 0 ? -errno : (int)fd;
}

int
pipe_open_parent(int rootfd, const char *rel, int *dirfd, const char **name)
{
	const char *slash = strrchr(rel, '/');
	char *dir;
	int fd;

	if (rel[0] == '\0')
		return -EINVAL;
	if (slash == NULL) {
		fd = pipe_openat2(rootfd, "", O_RDONLY | O_DIRECTORY, 0);
		*name = rel;
	} else {
		if ((dir = strndup(rel, (size_t)(slash - rel))) == NULL)
			return -ENOMEM;
		fd = pipe_openat2(rootfd, dir, O_RDONLY | O_DIRECTORY, 0);
		free(dir);
		*name = slash + 1;
	}
	if (fd < 0)
		return fd;
	*dirfd = fd;
	return 0;
}

int
pipe_symlink_check(const char *rel, const char *target, struct cella_diag *d)
{
	size_t n = strlen(target), i = 0;
	long depth = 0;

	if (n == 0)
		return cella_diag_set(d, -EINVAL, "empty symlink target");
	if (n > PIPE_PATH_MAX)
		return cella_diag_set(d, -ENAMETOOLONG,
				      "symlink target over %d bytes",
				      PIPE_PATH_MAX);
	if (target[0] == '/')
		return cella_diag_set(d, -EXDEV,
				      "symlink '%s' -> '%s' is absolute", rel,
				      target);
	for (const char *s = rel; (s = strchr(s, '/')) != NULL; s++)
		depth++; /* the components of rel's directory */
	while (i < n) {
		size_t c = comp_len(target + i, n - i);

		if (c == 2 && target[i] == '.' && target[i + 1] == '.')
			depth--;
		else if (c > 0 && !(c == 1 && target[i] == '.'))
			depth++;
		if (depth < 0)
			return cella_diag_set(d, -EXDEV,
					      "symlink '%s' -> '%s' leads out "
					      "of the tree", rel, target);
		i += c + 1;
	}
	return 0;
}
