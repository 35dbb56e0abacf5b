/*
 * walk: a directory tree as a stream of entries, for copying a directory
 * out of the enclave. Depth first, each directory before what it holds,
 * one batch per request (bounded in entries and bytes), so a tree of any
 * size costs a stack of open directories and nothing per entry. Symlinks
 * are listed with their target and never followed; sub-directories are
 * opened with O_NOFOLLOW below the one being read, so a walk cannot leave
 * its tree even if the tree changes under it. Entry paths are relative to
 * the walked directory.
 */
#include "services/pipeline/files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cbor/cbor.h"
#include "common/files/pathsafe.h"

#define WALK_DEPTH_MAX 128
#define WALK_BATCH 1000
#define WALK_BATCH_BYTES (1u << 20)

struct pipe_walk {
	struct {
		DIR *dir;
		size_t plen; /* bytes of path that name this directory */
	} stack[WALK_DEPTH_MAX];
	int depth;
	char path[PIPE_PATH_MAX + 1];
};

void
pipe_walk_free(struct pipe_walk *w)
{
	if (w == NULL)
		return;
	while (w->depth > 0)
		closedir(w->stack[--w->depth].dir);
	free(w);
}

static int
push(struct pipe_walk *w, int fd, size_t plen)
{
	DIR *dir;

	if (w->depth == WALK_DEPTH_MAX) {
		close(fd);
		return -ELOOP;
	}
	if ((dir = fdopendir(fd)) == NULL) {
		close(fd);
		return -errno;
	}
	w->stack[w->depth].dir = dir;
	w->stack[w->depth].plen = plen;
	w->depth++;
	return 0;
}

static const char *
kind(mode_t m)
{
	return S_ISREG(m) ? "file" : S_ISDIR(m) ? "dir" : S_ISLNK(m) ? "symlink"
								     : "other";
}

static cbor_item_t *
entry(const char *path, const struct stat *st, const char *target)
{
	cbor_item_t *e = cbor_new_indefinite_map();

	if (e == NULL || cella_cbor_put_text(e, "path", path) < 0 ||
	    cella_cbor_put_text(e, "type", kind(st->st_mode)) < 0 ||
	    cella_cbor_put_uint(e, "size", (uint64_t)st->st_size) < 0 ||
	    cella_cbor_put_uint(e, "mode", st->st_mode & 07777) < 0 ||
	    cella_cbor_put_uint(e, "mtime", st->st_mtim.tv_sec < 0
						    ? 0
						    : (uint64_t)st->st_mtim.tv_sec) < 0 ||
	    cella_cbor_put_uint(e, "mtime_ns", (uint64_t)st->st_mtim.tv_nsec) < 0 ||
	    (target != NULL && cella_cbor_put_text(e, "target", target) < 0)) {
		if (e != NULL)
			cbor_decref(&e);
		return NULL;
	}
	return e;
}

/* One directory entry: listed, and descended into when a directory. */
static int
visit(struct pipe_walk *w, int dfd, const char *name, cbor_item_t *list,
      size_t *bytes, struct cella_diag *d)
{
	size_t plen = w->stack[w->depth - 1].plen, n = strlen(name);
	char target[PIPE_PATH_MAX + 1];
	cbor_item_t *e;
	struct stat st;
	ssize_t tn = 0;
	bool ok;
	int fd;

	if (plen + (plen > 0) + n > PIPE_PATH_MAX)
		return cella_diag_set(d, -ENAMETOOLONG,
				      "'%s/%s': path over %d bytes", w->path,
				      name, PIPE_PATH_MAX);
	snprintf(w->path + plen, sizeof(w->path) - plen, "%s%s",
		 plen > 0 ? "/" : "", name);
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : cella_diag_set(d, -errno,
							    "'%s': %s", w->path,
							    cella_strerror(-errno));
	if (S_ISLNK(st.st_mode)) {
		if ((tn = readlinkat(dfd, name, target, sizeof(target) - 1)) < 0)
			return errno == ENOENT ? 0 : -errno;
		target[tn] = '\0';
	}
	if ((e = entry(w->path, &st, S_ISLNK(st.st_mode) ? target : NULL)) == NULL)
		return cella_diag_set(d, -ENOMEM, "out of memory");
	ok = cbor_array_push(list, e);
	cbor_decref(&e);
	if (!ok)
		return cella_diag_set(d, -ENOMEM, "out of memory");
	*bytes += plen + n + 64 + (S_ISLNK(st.st_mode) ? (size_t)tn : 0);
	if (!S_ISDIR(st.st_mode))
		return 0;
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return cella_diag_set(d, -errno, "'%s': %s", w->path,
				      cella_strerror(-errno));
	if ((fd = push(w, fd, plen + (plen > 0) + n)) < 0)
		return cella_diag_set(d, fd, "'%s': %s", w->path,
				      fd == -ELOOP ? "deeper than 128 levels"
						   : cella_strerror(fd));
	return 0;
}

/* Up to a batch of entries into list; *done once the tree is exhausted. */
static int
batch(struct pipe_walk *w, cbor_item_t *list, bool *done, struct cella_diag *d)
{
	size_t bytes = 0;
	struct dirent *de;
	int rv;

	while (w->depth > 0 && cbor_array_size(list) < WALK_BATCH &&
	       bytes < WALK_BATCH_BYTES) {
		DIR *dir = w->stack[w->depth - 1].dir;

		errno = 0;
		if ((de = readdir(dir)) == NULL) {
			if (errno != 0)
				return cella_diag_set(d, -errno, "readdir: %s",
						      cella_strerror(-errno));
			closedir(dir);
			w->depth--;
			continue;
		}
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if ((rv = visit(w, dirfd(dir), de->d_name, list, &bytes, d)) < 0)
			return rv;
	}
	*done = w->depth == 0;
	return 0;
}

static int
reply_batch(struct pipe_job *j, struct pipe_walk *w, bool *done)
{
	cbor_item_t *list = cbor_new_indefinite_array();
	int rv;

	j->rtype = CELLA_MSG_PIPE_WALK_REPLY;
	if (list == NULL || (j->rbody = cbor_new_indefinite_map()) == NULL) {
		if (list != NULL)
			cbor_decref(&list);
		return cella_diag_set(&j->d, -ENOMEM, "out of memory");
	}
	rv = batch(w, list, done, &j->d);
	if (rv == 0 && (cella_cbor_put_item(j->rbody, "entries", list) < 0 ||
			cella_cbor_put_bool(j->rbody, "done", *done) < 0))
		rv = cella_diag_set(&j->d, -ENOMEM, "out of memory");
	cbor_decref(&list);
	return rv;
}

void
pipe_files_walk(struct pipe_job *j)
{
	struct pipe_xfer *x = NULL;
	char *rel = NULL;
	int rootfd = -1, fd = -1, rv;
	bool done = false;

	if ((rv = pipe_resolve(j->svc->conf, &j->m.path, &rootfd, &rel,
			       &j->d)) < 0)
		goto out;
	if ((fd = pipe_openat2(rootfd, rel, O_RDONLY | O_DIRECTORY, 0)) < 0) {
		rv = pipe_path_err(&j->d, fd, &j->m.path);
		goto out;
	}
	if ((x = pipe_xfer_new(PIPE_XFER_WALK, &j->m.path)) == NULL ||
	    (x->walk = calloc(1, sizeof(*x->walk))) == NULL) {
		rv = cella_diag_set(&j->d, -ENOMEM, "out of memory");
		goto out;
	}
	rv = push(x->walk, fd, 0);
	fd = -1;
	if (rv < 0) {
		cella_diag_set(&j->d, rv, "%s", cella_strerror(rv));
		goto out;
	}
	if ((rv = reply_batch(j, x->walk, &done)) == 0 && !done) {
		j->obj = x; /* the loop lists it and adds its id */
		x = NULL;
	}
out:
	pipe_xfer_destroy(x);
	if (fd >= 0)
		close(fd);
	if (rootfd >= 0)
		close(rootfd);
	free(rel);
	j->err = rv;
}

void
pipe_files_walk_next(struct pipe_job *j, struct pipe_xfer *x)
{
	bool done = false;

	j->err = reply_batch(j, x->walk, &done);
}

bool
pipe_walk_done(const struct pipe_walk *w)
{
	return w->depth == 0;
}
