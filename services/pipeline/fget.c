/*
 * fget: sending files out of the enclave, and what a directory copy needs
 * besides files: stat (with the limits a client plans its transfer by),
 * mkdir and symlink. A file no larger than one chunk goes out inline in
 * the GET_BEGIN reply with its hash; a larger one in chunks that the
 * client asks for by offset, hashed in order as they leave, with the hash
 * in the GET_END reply, which also refuses when the file changed size or
 * mtime meanwhile. Files are opened non-blocking so that a FIFO cannot
 * hold a thread; only regular files are sent. A file whose size means
 * nothing (procfs, sysfs) is read to its end and sent inline, or refused
 * when it holds more than one chunk.
 */
#include "services/pipeline/files.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cbor/cbor.h"
#include "common/core/log.h"
#include "common/files/pathsafe.h"

int
pipe_files_put_limits(cbor_item_t *b, const struct pipe_conf *c)
{
	if (cella_cbor_put_uint(b, "chunk", c->chunk) < 0 ||
	    cella_cbor_put_uint(b, "window", c->window) < 0 ||
	    cella_cbor_put_uint(b, "max_file_bytes", c->max_file_bytes) < 0)
		return -ENOMEM;
	return 0;
}

static const char *
type_name(mode_t m)
{
	return S_ISREG(m) ? "file" : S_ISDIR(m) ? "dir" : S_ISLNK(m) ? "symlink"
								     : "other";
}

static int
put_meta(cbor_item_t *b, const struct stat *st)
{
	if (cella_cbor_put_text(b, "type", type_name(st->st_mode)) < 0 ||
	    cella_cbor_put_uint(b, "size", (uint64_t)st->st_size) < 0 ||
	    cella_cbor_put_uint(b, "mode", st->st_mode & 07777) < 0 ||
	    cella_cbor_put_uint(b, "mtime", st->st_mtim.tv_sec < 0
						    ? 0
						    : (uint64_t)st->st_mtim.tv_sec) < 0 ||
	    cella_cbor_put_uint(b, "mtime_ns", (uint64_t)st->st_mtim.tv_nsec) < 0)
		return -ENOMEM;
	return 0;
}

/* Resolve the job's path; *fd is rel opened with flags below its root. */
static int
open_path(struct pipe_job *j, int flags, int *fd, char **relout)
{
	char *rel = NULL;
	int rootfd = -1, rv;

	if ((rv = pipe_resolve(j->svc->conf, &j->m.path, &rootfd, &rel,
			       &j->d)) < 0)
		return rv;
	rv = pipe_openat2(rootfd, rel, flags, 0);
	close(rootfd);
	if (rv < 0) {
		free(rel);
		return rv == -ENOENT ? cella_diag_set(&j->d, rv,
						      "'%.*s': no such file "
						      "or directory",
						      (int)j->m.path.n,
						      (const char *)j->m.path.p)
				     : pipe_path_err(&j->d, rv, &j->m.path);
	}
	*fd = rv;
	if (relout != NULL)
		*relout = rel;
	else
		free(rel);
	return 0;
}

void
pipe_files_stat(struct pipe_job *j)
{
	cbor_item_t *b = cbor_new_indefinite_map();
	struct stat st;
	int fd = -1, rv;

	if (b == NULL) {
		j->err = cella_diag_set(&j->d, -ENOMEM, "out of memory");
		return;
	}
	rv = open_path(j, O_PATH, &fd, NULL);
	if (rv == -ENOENT)
		rv = cella_cbor_put_bool(b, "exists", false);
	else if (rv == 0 && fstat(fd, &st) < 0)
		rv = cella_diag_set(&j->d, -errno, "stat: %s",
				    cella_strerror(-errno));
	else if (rv == 0 && ((rv = cella_cbor_put_bool(b, "exists", true)) < 0 ||
			     (rv = put_meta(b, &st)) < 0))
		cella_diag_set(&j->d, rv, "out of memory");
	if (rv == 0 && (rv = pipe_files_put_limits(b, j->svc->conf)) < 0)
		cella_diag_set(&j->d, rv, "out of memory");
	if (fd >= 0)
		close(fd);
	j->err = rv;
	j->rtype = CELLA_MSG_PIPE_STAT_REPLY;
	j->rbody = b;
}

/* A small file, whole, with its hash. */
static int
get_inline(struct pipe_job *j, int fd, const struct stat *st, cbor_item_t *b)
{
	size_t n = (size_t)st->st_size;
	uint8_t *p = malloc(n ? n : 1), h[32];
	int rv;

	if (p == NULL)
		return cella_diag_set(&j->d, -ENOMEM, "out of memory");
	if ((rv = pipe_pread_all(fd, p, n, 0)) < 0)
		rv = cella_diag_set(&j->d, rv, "'%.*s': cannot read: %s",
				    (int)j->m.path.n, (const char *)j->m.path.p,
				    cella_strerror(rv));
	pipe_sha256(p, n, h);
	if (rv == 0 && (cella_cbor_put_bytes(b, "data", p, n) < 0 ||
			cella_cbor_put_bytes(b, "sha256", h, 32) < 0))
		rv = cella_diag_set(&j->d, -ENOMEM, "out of memory");
	free(p);
	return rv;
}

/*
 * A file whose size says nothing (/proc, /sys): whole, inline, with the
 * size it turned out to have. One chunk at most: a pseudo file larger than
 * that is refused, since it cannot be sent in chunks by a size it lacks.
 */
static int
get_unsized(struct pipe_job *j, int fd, const struct stat *st, cbor_item_t *b)
{
	struct stat real = *st;
	uint8_t *p = NULL, h[32];
	size_t n = 0;
	int rv = pipe_read_all(fd, j->svc->conf->chunk, &p, &n);

	if (rv == -EFBIG)
		return cella_diag_set(&j->d, rv,
				      "'%.*s' has no size of its own (a file of "
				      "/proc or /sys) and holds more than %u "
				      "bytes (pipeline.chunk_bytes); not sent",
				      (int)j->m.path.n, (const char *)j->m.path.p,
				      j->svc->conf->chunk);
	if (rv < 0)
		return cella_diag_set(&j->d, rv, "'%.*s': cannot read: %s",
				      (int)j->m.path.n, (const char *)j->m.path.p,
				      cella_strerror(rv));
	real.st_size = (off_t)n;
	pipe_sha256(p, n, h);
	if (put_meta(b, &real) < 0 ||
	    pipe_files_put_limits(b, j->svc->conf) < 0 ||
	    cella_cbor_put_bytes(b, "data", p, n) < 0 ||
	    cella_cbor_put_bytes(b, "sha256", h, 32) < 0)
		rv = cella_diag_set(&j->d, -ENOMEM, "out of memory");
	free(p);
	return rv;
}

static int
get_open(struct pipe_job *j, struct pipe_xfer **out, const struct stat *st,
	 int *fd)
{
	const struct pipe_conf *c = j->svc->conf;
	struct pipe_xfer *x = pipe_xfer_new(PIPE_XFER_GET, &j->m.path);
	int rv;

	if (x == NULL)
		return cella_diag_set(&j->d, -ENOMEM, "out of memory");
	x->fd = *fd;
	*fd = -1;
	x->size = (uint64_t)st->st_size;
	x->mtime = st->st_mtim;
	if ((rv = pipe_ohash_init(&x->oh, x->size, c->chunk, c->window,
				  x->fd)) < 0) {
		pipe_xfer_destroy(x);
		return cella_diag_set(&j->d, rv, "out of memory");
	}
	x->oh_init = true;
	*out = x;
	return 0;
}

void
pipe_files_get_begin(struct pipe_job *j)
{
	cbor_item_t *b = cbor_new_indefinite_map();
	struct pipe_xfer *x = NULL;
	struct stat st;
	int fd = -1, rv;

	if (b == NULL) {
		j->err = cella_diag_set(&j->d, -ENOMEM, "out of memory");
		return;
	}
	if ((rv = open_path(j, O_RDONLY | O_NONBLOCK | O_NOCTTY, &fd, NULL)) < 0)
		goto out;
	if (fstat(fd, &st) < 0)
		st.st_mode = 0;
	if (!S_ISREG(st.st_mode)) {
		rv = cella_diag_set(&j->d, S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL,
				    "'%.*s' is not a regular file",
				    (int)j->m.path.n, (const char *)j->m.path.p);
		goto out;
	}
	if (pipe_size_unknown(fd, &st)) {
		rv = get_unsized(j, fd, &st, b);
		goto out;
	}
	if ((rv = put_meta(b, &st)) < 0 ||
	    (rv = pipe_files_put_limits(b, j->svc->conf)) < 0) {
		cella_diag_set(&j->d, rv, "out of memory");
		goto out;
	}
	if ((uint64_t)st.st_size <= j->svc->conf->chunk)
		rv = get_inline(j, fd, &st, b);
	else if ((rv = get_open(j, &x, &st, &fd)) == 0)
		j->obj = x; /* the loop gives it an id and puts it in the reply */
out:
	if (fd >= 0)
		close(fd);
	j->err = rv < 0 ? rv : 0;
	j->rtype = CELLA_MSG_PIPE_GET_BEGIN_REPLY;
	j->rbody = b;
}

/* {data: p[0..n)} with p handed to the byte string, not copied. */
static int
own_bytes(struct pipe_job *j, uint8_t *p, size_t n)
{
	cbor_item_t *bs = cbor_new_definite_bytestring();

	if (bs == NULL || (j->rbody = cbor_new_indefinite_map()) == NULL) {
		free(p);
		if (bs != NULL)
			cbor_decref(&bs);
		return cella_diag_set(&j->d, -ENOMEM, "out of memory");
	}
	cbor_bytestring_set_handle(bs, p, n);
	if (cella_cbor_put_item(j->rbody, "data", bs) < 0) {
		cbor_decref(&bs);
		return cella_diag_set(&j->d, -ENOMEM, "out of memory");
	}
	cbor_decref(&bs);
	return 0;
}

void
pipe_files_get_chunk(struct pipe_job *j, struct pipe_xfer *x)
{
	uint64_t off = j->m.offset;
	size_t n;
	uint8_t *p = NULL;
	int rv;

	if (off % x->oh.chunk != 0 || off >= x->size) {
		j->err = cella_diag_set(&j->d, -EINVAL,
					"no chunk at %llu (chunks of %u in "
					"%llu bytes)", (unsigned long long)off,
					x->oh.chunk,
					(unsigned long long)x->size);
		return;
	}
	n = x->size - off < x->oh.chunk ? (size_t)(x->size - off) : x->oh.chunk;
	if ((p = malloc(n)) == NULL) {
		j->err = cella_diag_set(&j->d, -ENOMEM, "out of memory");
		return;
	}
	rv = pipe_pread_all(x->fd, p, n, off);
	if (rv == -EIO)
		rv = cella_diag_set(&j->d, -ESTALE, "'%s' shrank while it was "
						     "read", x->path);
	else if (rv < 0)
		cella_diag_set(&j->d, rv, "cannot read: %s", cella_strerror(rv));
	if (rv == 0 && (rv = pipe_ohash_add(&x->oh, off, p, n)) < 0)
		cella_diag_set(&j->d, rv, "chunk at %llu: %s",
			       (unsigned long long)off,
			       rv == -ERANGE ? "beyond the window"
					     : cella_strerror(rv));
	if (rv == 0)
		rv = own_bytes(j, p, n); /* p is the reply's now */
	else
		free(p);
	j->err = rv;
	j->rtype = CELLA_MSG_PIPE_GET_CHUNK_REPLY;
}

void
pipe_files_get_end(struct pipe_job *j, struct pipe_xfer *x)
{
	struct stat st;
	uint8_t h[32];
	int rv = pipe_ohash_final(&x->oh, h);

	if (rv == -EAGAIN)
		rv = cella_diag_set(&j->d, -EPROTO,
				    "'%s': only %llu of %llu bytes were sent",
				    x->path,
				    (unsigned long long)pipe_ohash_done(&x->oh),
				    (unsigned long long)x->size);
	else if (rv == 0 && (fstat(x->fd, &st) < 0 ||
			     (uint64_t)st.st_size != x->size ||
			     st.st_mtim.tv_sec != x->mtime.tv_sec ||
			     st.st_mtim.tv_nsec != x->mtime.tv_nsec))
		rv = cella_diag_set(&j->d, -ESTALE,
				    "'%s' changed while it was sent", x->path);
	else if (rv < 0)
		cella_diag_set(&j->d, rv, "'%s': %s", x->path,
			       cella_strerror(rv));
	if (rv == 0 && ((j->rbody = cbor_new_indefinite_map()) == NULL ||
			cella_cbor_put_uint(j->rbody, "size", x->size) < 0 ||
			cella_cbor_put_bytes(j->rbody, "sha256", h, 32) < 0))
		rv = cella_diag_set(&j->d, -ENOMEM, "out of memory");
	j->err = rv;
	j->rtype = CELLA_MSG_PIPE_GET_END_REPLY;
}

/* Resolve to the parent directory of a path that must not be a root. */
static int
open_parent(struct pipe_job *j, int *dirfd, char **rel, const char **name)
{
	int rootfd = -1, rv;

	if ((rv = pipe_resolve(j->svc->conf, &j->m.path, &rootfd, rel,
			       &j->d)) < 0)
		return rv;
	if ((*rel)[0] == '\0')
		rv = 1; /* an allowed root itself */
	else if ((rv = pipe_open_parent(rootfd, *rel, dirfd, name)) < 0)
		rv = rv == -ENOENT ? cella_diag_set(&j->d, rv,
						    "'%.*s': no such parent "
						    "directory",
						    (int)j->m.path.n,
						    (const char *)j->m.path.p)
				   : pipe_path_err(&j->d, rv, &j->m.path);
	close(rootfd);
	return rv;
}

void
pipe_files_mkdir(struct pipe_job *j)
{
	struct timespec ts[2] = {{.tv_nsec = UTIME_OMIT}, j->m.mtime};
	const char *name = NULL;
	char *rel = NULL;
	int dirfd = -1, fd = -1, rv;

	j->rtype = CELLA_MSG_PIPE_OK;
	if ((rv = open_parent(j, &dirfd, &rel, &name)) != 0)
		goto out; /* error, or a root: it exists and is left alone */
	if (mkdirat(dirfd, name, 0700) < 0 && errno != EEXIST) {
		rv = cella_diag_set(&j->d, -errno, "'%s': %s", rel,
				    cella_strerror(-errno));
		goto out;
	}
	if ((fd = pipe_openat2(dirfd, name, O_RDONLY | O_DIRECTORY, 0)) < 0) {
		rv = fd == -ENOTDIR ? cella_diag_set(&j->d, -EEXIST,
						     "'%.*s' exists and is "
						     "not a directory",
						     (int)j->m.path.n,
						     (const char *)j->m.path.p)
				    : pipe_path_err(&j->d, fd, &j->m.path);
		goto out;
	}
	if (fchmod(fd, j->m.mode & PIPE_MODE_MASK) < 0 ||
	    (j->m.has_mtime && futimens(fd, ts) < 0) || fsync(dirfd) < 0)
		rv = cella_diag_set(&j->d, -errno, "'%.*s': %s",
				    (int)j->m.path.n, (const char *)j->m.path.p,
				    cella_strerror(-errno));
out:
	if (fd >= 0)
		close(fd);
	if (dirfd >= 0)
		close(dirfd);
	free(rel);
	j->err = rv < 0 ? rv : 0;
}

void
pipe_files_symlink(struct pipe_job *j)
{
	const char *name = NULL;
	char *rel = NULL, *target = NULL, tmp[40];
	int dirfd = -1, rv;

	j->rtype = CELLA_MSG_PIPE_OK;
	if ((target = strndup((const char *)j->m.target.p, j->m.target.n)) ==
	    NULL) {
		rv = cella_diag_set(&j->d, -ENOMEM, "out of memory");
		goto out;
	}
	if ((rv = open_parent(j, &dirfd, &rel, &name)) != 0) {
		if (rv > 0)
			rv = cella_diag_set(&j->d, -EEXIST,
					    "cannot replace an allowed root");
		goto out;
	}
	if (strlen(target) != j->m.target.n ||
	    (rv = pipe_symlink_check(rel, target, &j->d)) < 0) {
		rv = rv < 0 ? rv : cella_diag_set(&j->d, -EINVAL, "NUL in target");
		goto out;
	}
	snprintf(tmp, sizeof(tmp), ".cella-%llx.lnk",
		 (unsigned long long)j->m.path.n ^ (unsigned long long)(uintptr_t)j);
	if (symlinkat(target, dirfd, tmp) < 0 ||
	    renameat(dirfd, tmp, dirfd, name) < 0 || fsync(dirfd) < 0) {
		rv = cella_diag_set(&j->d, -errno, "'%s': %s", rel,
				    cella_strerror(-errno));
		(void)unlinkat(dirfd, tmp, 0);
	}
out:
	if (dirfd >= 0)
		close(dirfd);
	free(rel);
	free(target);
	j->err = rv < 0 ? rv : 0;
}
