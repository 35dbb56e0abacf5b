/*
 * pathsafe: where a file may be read or written, on both sides of cella's
 * pipeline. Paths from the other side are first checked as text (no
 * "..", no empty or "." components, no NUL, shorter than PATH_MAX), then
 * resolved with openat2(RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS) below a
 * directory descriptor, so that neither a ".." nor a symlink (absolute, or
 * climbing out) can lead outside it: the kernel refuses with EXDEV. The
 * enclave resolves below its allowed roots, the host below the directory
 * it copies into. This module decides nothing about policy or roles.
 */
#ifndef CELLA_PIPELINE_PATHSAFE_H
#define CELLA_PIPELINE_PATHSAFE_H

#include <stddef.h>
#include <sys/types.h>

#include "common/core/err.h"

#define PIPE_PATH_MAX 4095 /* bytes, PATH_MAX less the NUL */

/*
 * A relative path inside a tree: components separated by single '/', none
 * empty, "." or "..", no NUL, at most PIPE_PATH_MAX bytes, not starting
 * with '/'. "" is the tree itself and is allowed when allow_empty.
 * -ENAMETOOLONG, -EINVAL; d says which rule.
 */
int pipe_path_check_rel(const char *p, size_t n, int allow_empty,
			struct cella_diag *d);

/*
 * An absolute path: '/' then pipe_path_check_rel (empty allowed: "/"). A
 * single trailing '/' is tolerated and not part of *reln. On success
 * *rel points after the leading '/'.
 */
int pipe_path_check_abs(const char *p, size_t n, const char **rel,
			size_t *reln, struct cella_diag *d);

/*
 * openat2(dirfd, rel, flags | O_CLOEXEC, mode) with RESOLVE_BENEATH and
 * RESOLVE_NO_MAGICLINKS; "" opens dirfd's own directory. Returns the fd or
 * -errno (-EXDEV: the path leads out; -ENOSYS: no openat2).
 */
int pipe_openat2(int dirfd, const char *rel, int flags, mode_t mode);

/*
 * Open the directory that holds rel (resolved as above) for writing into
 * it, and point *name at rel's last component. rel must not be "".
 */
int pipe_open_parent(int rootfd, const char *rel, int *dirfd,
		     const char **name);

/*
 * A symlink at rel (a checked relative path) whose content is target stays
 * inside the tree: target is relative and, read from rel's directory,
 * never climbs above the tree's top (lexically: "a/.." is "."). -EXDEV when
 * it would lead out, -EINVAL when empty or absolute, -ENAMETOOLONG.
 */
int pipe_symlink_check(const char *rel, const char *target,
		       struct cella_diag *d);

#endif
