/*
 * fileio: linking an O_TMPFILE needs either CAP_DAC_READ_SEARCH
 * (AT_EMPTY_PATH) or /proc (the fd's magic link); both are tried, and a
 * file system or sandbox with neither makes the transfer use a dot-name
 * from the start. renameat replaces a target atomically and never follows
 * a symlink at the target's name.
 */
#include "common/files/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

static int
random_name(char *buf, size_t len)
{
	uint8_t r[8];

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		return -EIO;
	snprintf(buf, len, ".cella-%02x%02x%02x%02x%02x%02x%02x%02x.tmp", r[0],
		 r[1], r[2], r[3], r[4], r[5], r[6], r[7]);
	return 0;
}

/*
 * An unnamed file is of use only if it can be linked at commit: through
 * /proc without privileges, or AT_EMPTY_PATH with CAP_DAC_READ_SEARCH.
 * Without /proc, take the dot-name at once rather than fail at the end.
 */
static int
open_unnamed(int dirfd)
{
	int fd;

	if (access("/proc/self/fd", X_OK) < 0)
		return -EOPNOTSUPP;
	fd = openat(dirfd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	return fd < 0 ? -errno : fd;
}

int
pipe_tmp_open(int dirfd, uint64_t size, struct pipe_tmp *t,
	      struct cella_diag *d)
{
	int fd, tries = 0;

	memset(t, 0, sizeof(*t));
	t->dirfd = dirfd;
	t->fd = -1;
	fd = open_unnamed(dirfd);
	if (fd == -EOPNOTSUPP || fd == -EISDIR || fd == -EINVAL ||
	    fd == -ENOENT) {
		do {
			if (random_name(t->name, sizeof(t->name)) < 0)
				return cella_diag_set(d, -EIO, "no randomness");
			fd = openat(dirfd, t->name,
				    O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC |
					    O_NOFOLLOW,
				    0600);
			fd = fd < 0 ? -errno : fd;
		} while (fd == -EEXIST && ++tries < 8);
		t->named = fd >= 0;
	}
	if (fd < 0)
		return cella_diag_set(d, fd, "cannot create a temporary file: %s",
				      cella_strerror(fd));
	t->fd = fd;
	/* Fail early on a full disk rather than after a gigabyte. */
	if (size > 0 && fallocate(fd, 0, 0, (off_t)size) < 0 &&
	    (errno == ENOSPC || errno == EFBIG)) {
		int err = -errno;

		pipe_tmp_abort(t);
		return cella_diag_set(d, err, "no room for %llu bytes: %s",
				      (unsigned long long)size,
				      cella_strerror(err));
	}
	return 0;
}

/* Give the unnamed file a dot-name in its directory. */
static int
link_unnamed(struct pipe_tmp *t)
{
	char proc[64];
	int rv = 0, tries = 0;

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", t->fd);
	do {
		if (random_name(t->name, sizeof(t->name)) < 0)
			return -EIO;
		if (linkat(AT_FDCWD, proc, t->dirfd, t->name,
			   AT_SYMLINK_FOLLOW) == 0 ||
		    linkat(t->fd, "", t->dirfd, t->name, AT_EMPTY_PATH) == 0)
			return 0;
		rv = -errno;
	} while (rv == -EEXIST && ++tries < 8);
	return rv;
}

static int
finish_file(struct pipe_tmp *t, mode_t mode, const struct timespec *mtime)
{
	struct timespec ts[2] = {{.tv_nsec = UTIME_OMIT}, *mtime};

	if (fchmod(t->fd, mode & PIPE_MODE_MASK) < 0 ||
	    futimens(t->fd, ts) < 0 || fsync(t->fd) < 0)
		return -errno;
	return 0;
}

int
pipe_tmp_commit(struct pipe_tmp *t, const char *name, mode_t mode,
		const struct timespec *mtime, struct cella_diag *d)
{
	const char *what = "finish";
	int rv;

	if ((rv = finish_file(t, mode, mtime)) < 0)
		goto fail;
	what = "name";
	if (!t->named && (rv = link_unnamed(t)) < 0)
		goto fail;
	t->named = true;
	what = "rename";
	if (renameat(t->dirfd, t->name, t->dirfd, name) < 0) {
		rv = -errno;
		goto fail;
	}
	t->named = false;
	what = "sync the directory of";
	if (fsync(t->dirfd) < 0) {
		rv = -errno;
		goto fail;
	}
	close(t->fd);
	t->fd = -1;
	return 0;
fail:
	pipe_tmp_abort(t);
	return cella_diag_set(d, rv, "cannot %s '%s': %s", what, name,
			      cella_strerror(rv));
}

void
pipe_tmp_abort(struct pipe_tmp *t)
{
	if (t->named)
		(void)unlinkat(t->dirfd, t->name, 0);
	t->named = false;
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
}

int
pipe_pwrite_all(int fd, const void *p, size_t n, uint64_t off)
{
	const uint8_t *b = p;

	while (n > 0) {
		ssize_t w = pwrite(fd, b, n, (off_t)off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		b += w;
		n -= (size_t)w;
		off += (uint64_t)w;
	}
	return 0;
}

int
pipe_pread_all(int fd, void *p, size_t n, uint64_t off)
{
	uint8_t *b = p;

	while (n > 0) {
		ssize_t r = pread(fd, b, n, (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -EIO;
		b += r;
		n -= (size_t)r;
		off += (uint64_t)r;
	}
	return 0;
}

bool
pipe_size_unknown(int fd, const struct stat *st)
{
	static const unsigned long pseudo[] = {
		PROC_SUPER_MAGIC, SYSFS_MAGIC,	      DEBUGFS_MAGIC,
		TRACEFS_MAGIC,	  SECURITYFS_MAGIC,   CGROUP_SUPER_MAGIC,
		CGROUP2_SUPER_MAGIC, EFIVARFS_MAGIC,
	};
	struct statfs fs;

	if (st->st_size == 0)
		return true;
	if (fstatfs(fd, &fs) < 0)
		return false;
	for (size_t i = 0; i < sizeof(pseudo) / sizeof(pseudo[0]); i++)
		if ((unsigned long)fs.f_type == pseudo[i])
			return true;
	return false;
}

int
pipe_read_all(int fd, size_t cap, uint8_t **out, size_t *n)
{
	/* One byte over the cap tells "exactly cap" from "more". */
	uint8_t *p = malloc(cap + 1);
	size_t len = 0;
	ssize_t r = 0;

	if (p == NULL)
		return -ENOMEM;
	while (len <= cap) {
		r = pread(fd, p + len, cap + 1 - len, (off_t)len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || r == 0)
			break;
		len += (size_t)r;
	}
	if (r < 0 || len > cap) {
		int err = r < 0 ? -errno : -EFBIG;

		free(p);
		return err;
	}
	*out = p;
	*n = len;
	return 0;
}
