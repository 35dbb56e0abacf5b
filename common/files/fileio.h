/*
 * fileio: a file that becomes visible only once it is complete. It is
 * written as an unnamed O_TMPFILE in its target directory (or, where the
 * file system has no O_TMPFILE, under a random dot-name that an abort
 * removes), and committed by fsync, mode and mtime, a link under a random
 * name, renameat over the target, and fsync of the directory. A transfer
 * that dies before its commit, client or service, leaves nothing behind
 * with O_TMPFILE and nothing under the target's name either way. The
 * directory descriptor is borrowed; this module checks no hashes.
 */
#ifndef CELLA_PIPELINE_FILEIO_H
#define CELLA_PIPELINE_FILEIO_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include "common/core/err.h"

struct pipe_tmp {
	int dirfd; /* borrowed */
	int fd;
	bool named;	/* fallback: a dot-name exists until commit/abort */
	char name[40];	/* the dot-name (named, or at commit) */
};

/* Permission bits a copy keeps (no setuid, setgid or sticky). */
#define PIPE_MODE_MASK 0777

/* Create the temporary file in dirfd, size bytes reserved when possible. */
int pipe_tmp_open(int dirfd, uint64_t size, struct pipe_tmp *t,
		  struct cella_diag *d);

/*
 * Make it name in dirfd with mode and mtime: fsync, fchmod, futimens,
 * link, renameat, fsync(dirfd). On failure the temporary file is gone and
 * name is as it was. t is finished either way.
 */
int pipe_tmp_commit(struct pipe_tmp *t, const char *name, mode_t mode,
		    const struct timespec *mtime, struct cella_diag *d);

/* Drop it (no-op after commit or on a zeroed/finished t). */
void pipe_tmp_abort(struct pipe_tmp *t);

/*
 * A regular file whose size says nothing about its contents: st_size 0
 * (every procfs file, and any empty file), or any file on procfs, sysfs,
 * debugfs, tracefs, securityfs, cgroupfs or efivarfs, where sizes are
 * made up (sysfs says 4096). Such a file is read to its end, within a cap,
 * rather than for st_size bytes.
 */
bool pipe_size_unknown(int fd, const struct stat *st);

/*
 * Read fd from offset 0 to its end into *out (n bytes, malloc'd, the
 * caller's): -EFBIG, with nothing allocated, when it holds more than cap
 * bytes.
 */
int pipe_read_all(int fd, size_t cap, uint8_t **out, size_t *n);

/* Write all of p at off (pwrite until done). */
int pipe_pwrite_all(int fd, const void *p, size_t n, uint64_t off);
/* Read exactly n bytes at off; -EIO at an early end of file. */
int pipe_pread_all(int fd, void *p, size_t n, uint64_t off);

#endif
