/*
 * file: the check that keeps a FIFO, socket or device given where a file
 * is expected from hanging or surprising a program. O_NONBLOCK makes the
 * open of a FIFO return at once; fstat on the descriptor (not stat on the
 * path) judges the very file that would be read.
 */
#include "common/core/file.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

const char *
cella_file_kind(unsigned mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG: return "a regular file";
	case S_IFDIR: return "a directory";
	case S_IFIFO: return "a FIFO";
	case S_IFSOCK: return "a socket";
	case S_IFCHR: return "a character device";
	case S_IFBLK: return "a block device";
	case S_IFLNK: return "a symbolic link";
	default: return "not a file";
	}
}

int
cella_file_open_regular(const char *path, struct cella_diag *d)
{
	struct stat st;
	int fd, rv;

	fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0) {
		rv = -errno;
		return cella_diag_set(d, rv, "%s: cannot open: %s", path,
				      cella_strerror(rv));
	}
	if (fstat(fd, &st) < 0) {
		rv = -errno;
		close(fd);
		return cella_diag_set(d, rv, "%s: cannot stat: %s", path,
				      cella_strerror(rv));
	}
	if (S_ISREG(st.st_mode))
		return fd;
	close(fd);
	return cella_diag_set(d, S_ISDIR(st.st_mode) ? -EISDIR : -ENODEV,
			      "%s: not a regular file (%s)", path,
			      cella_file_kind(st.st_mode));
}
