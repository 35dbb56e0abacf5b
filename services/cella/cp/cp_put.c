/*
 * cp_put: files and trees into the enclave. A file no larger than the
 * enclave's chunk goes in one PUT_BEGIN with its data and hash; a larger
 * one as PUT_BEGIN, chunks (cp_xfer.c) and PUT_COMMIT with the hash of
 * what was read. A tree is walked here (never following symlinks, which
 * are sent as symlinks): directories are made by the walking thread before
 * anything inside them is queued, files go to the pool, and directory
 * mtimes are set last, deepest first. The enclave checks every path again.
 */
#include "services/cella/cp/cp.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "common/cbor/cbor.h"
#include "common/files/fileio.h"
#include "common/files/ohash.h"
#include "common/files/pathsafe.h"

#define PUT_DEPTH_MAX 128

static cbor_item_t *
meta_body(const char *dst, const struct stat *st, bool size)
{
	cbor_item_t *b = cbor_new_indefinite_map();

	if (b != NULL &&
	    (cella_cbor_put_text(b, "path", dst) < 0 ||
	     (size && cella_cbor_put_uint(b, "size", (uint64_t)st->st_size) < 0) ||
	     cella_cbor_put_uint(b, "mode", st->st_mode & 07777) < 0 ||
	     cella_cbor_put_uint(b, "mtime", st->st_mtim.tv_sec < 0
						     ? 0
						     : (uint64_t)st->st_mtim.tv_sec) < 0 ||
	     cella_cbor_put_uint(b, "mtime_ns", (uint64_t)st->st_mtim.tv_nsec) < 0))
		cbor_decref(&b);
	return b;
}

/*
 * A small file, whole: st_size bytes, or for a file whose size says
 * nothing (/proc, /sys) all it holds, one chunk at most.
 */
static int
put_inline(struct cp_ctx *x, int fd, const struct stat *st, const char *dst,
	   uint8_t h[32])
{
	struct stat real = *st;
	size_t n = (size_t)st->st_size;
	uint8_t *p = NULL;
	struct cella_env r = {0};
	cbor_item_t *b;
	int rv;

	if (pipe_size_unknown(fd, st))
		rv = pipe_read_all(fd, x->chunk, &p, &n);
	else if ((p = malloc(n ? n : 1)) == NULL)
		rv = -ENOMEM;
	else
		rv = pipe_pread_all(fd, p, n, 0);
	if (rv == -EFBIG)
		return cp_fail(x, rv, "not sent to %s: the file has no size of "
				      "its own (a file of /proc or /sys) and "
				      "holds more than %u bytes (the enclave's "
				      "chunk)",
			       dst, x->chunk);
	if (rv < 0) {
		free(p);
		return cp_fail_code(x, EX_NOINPUT, rv, "reading: %s",
				    cella_strerror(rv));
	}
	real.st_size = (off_t)n;
	st = &real;
	EVP_Digest(p, n, h, NULL, EVP_sha256(), NULL);
	if ((b = meta_body(dst, st, true)) != NULL &&
	    (cella_cbor_put_bytes(b, "data", p, n) < 0 ||
	     cella_cbor_put_bytes(b, "sha256", h, 32) < 0))
		cbor_decref(&b);
	free(p);
	rv = cp_call(x, CELLA_MSG_PIPE_PUT_BEGIN, b, CELLA_MSG_PIPE_PUT_DONE, &r);
	if (rv == 0) {
		atomic_fetch_add(&x->bytes, n);
		cella_env_fini(&r);
	}
	return rv;
}

static void
abort_xfer(struct cp_ctx *x, uint64_t id)
{
	struct cella_diag d;
	struct cella_env r = {0};
	cbor_item_t *b = cp_id_body(id);

	if (b == NULL)
		return;
	if (cella_rpc_call(x->c, CELLA_MSG_PIPE_ABORT, b, &r, &d) == 0)
		cella_env_fini(&r);
	cbor_decref(&b);
}

static int
put_chunked(struct cp_ctx *x, int fd, const struct stat *st, const char *dst,
	    uint8_t h[32])
{
	struct cella_env r = {0};
	uint64_t id = 0, chunk = 0, window = 0;
	cbor_item_t *b = meta_body(dst, st, true);
	int rv;

	if ((rv = cp_call(x, CELLA_MSG_PIPE_PUT_BEGIN, b,
			  CELLA_MSG_PIPE_PUT_BEGIN_REPLY, &r)) < 0)
		return rv;
	if (cella_cbor_get_uint(r.body, "id", UINT64_MAX, &id, NULL) < 0 ||
	    cella_cbor_get_uint(r.body, "chunk", CP_CHUNK_MAX, &chunk,
				NULL) < 0 ||
	    cella_cbor_get_uint(r.body, "window", PIPE_WINDOW_MAX, &window,
				NULL) < 0)
		rv = cp_fail(x, -EPROTO, "bad PUT_BEGIN reply");
	cella_env_fini(&r);
	if (rv == 0)
		rv = cp_xfer_chunks(x, true, id, fd, (uint64_t)st->st_size,
				    (uint32_t)chunk, (uint32_t)window, h);
	if (rv < 0) {
		abort_xfer(x, id);
		return rv;
	}
	if ((b = cp_id_body(id)) != NULL &&
	    cella_cbor_put_bytes(b, "sha256", h, 32) < 0)
		cbor_decref(&b);
	rv = cp_call(x, CELLA_MSG_PIPE_PUT_COMMIT, b, CELLA_MSG_PIPE_PUT_DONE, &r);
	if (rv == 0)
		cella_env_fini(&r);
	return rv;
}

int
cp_put_file(struct cp_ctx *x, int fd, const struct stat *st, const char *dst,
	    const char *rel)
{
	uint8_t h[32];
	int rv;

	if ((uint64_t)st->st_size <= x->chunk || pipe_size_unknown(fd, st))
		rv = put_inline(x, fd, st, dst, h);
	else
		rv = put_chunked(x, fd, st, dst, h);
	if (rv < 0) {
		cp_fail(x, rv, "%s: %s", dst, cella_strerror(rv));
		return rv;
	}
	atomic_fetch_add(&x->files, 1);
	if (rel != NULL)
		cp_manifest_add(x, rel, h);
	else
		memcpy(x->sha256, h, 32);
	return 0;
}

/* --- trees --- */

static int
simple(struct cp_ctx *x, uint32_t type, cbor_item_t *b)
{
	struct cella_env r = {0};
	int rv = cp_call(x, type, b, CELLA_MSG_PIPE_OK, &r);

	if (rv == 0)
		cella_env_fini(&r);
	return rv;
}

static int
put_dir(struct cp_ctx *x, const char *dst, const struct stat *st)
{
	cbor_item_t *b = cbor_new_indefinite_map();

	/* No mtime yet: it is set at the end, once the contents are in. */
	if (b != NULL && (cella_cbor_put_text(b, "path", dst) < 0 ||
			  cella_cbor_put_uint(b, "mode", st->st_mode & 07777) < 0))
		cbor_decref(&b);
	if (simple(x, CELLA_MSG_PIPE_MKDIR, b) < 0)
		return -1;
	atomic_fetch_add(&x->dirs, 1);
	cp_dir_time_add(x, dst, st->st_mode & 07777, &st->st_mtim);
	return 0;
}

static int
put_link(struct cp_ctx *x, int dfd, const char *name, const char *dst)
{
	char target[PIPE_PATH_MAX + 1];
	ssize_t n = readlinkat(dfd, name, target, sizeof(target) - 1);
	cbor_item_t *b;

	if (n < 0)
		return cp_fail_code(x, EX_NOINPUT, -errno, "%s: %s", dst,
				    cella_strerror(-errno));
	target[n] = '\0';
	b = cbor_new_indefinite_map();
	if (b != NULL && (cella_cbor_put_text(b, "path", dst) < 0 ||
			  cella_cbor_put_text(b, "target", target) < 0))
		cbor_decref(&b);
	if (simple(x, CELLA_MSG_PIPE_SYMLINK, b) < 0)
		return -1;
	atomic_fetch_add(&x->links, 1);
	return 0;
}

struct walk {
	struct cp_ctx *x;
	struct cp_pool pool;
	char remote[PIPE_PATH_MAX + 2];
	size_t base; /* remote[0..base) is the tree's destination */
	int depth;
};

static int walk_dir(struct walk *w, int fd, size_t len);

/* One entry of a directory: remote[0..len) names it already. */
static int
visit(struct walk *w, int dfd, const char *name, size_t len)
{
	struct cp_ctx *x = w->x;
	struct cp_task *t;
	struct stat st;
	int fd;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : cp_fail_code(x, EX_NOINPUT, -errno,
							  "%s: %s", name,
							  cella_strerror(-errno));
	if (S_ISLNK(st.st_mode))
		return put_link(x, dfd, name, w->remote);
	if (S_ISDIR(st.st_mode)) {
		if (put_dir(x, w->remote, &st) < 0)
			return -1;
		fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
					       O_CLOEXEC);
		if (fd < 0)
			return cp_fail_code(x, EX_NOINPUT, -errno, "%s: %s",
					    w->remote, cella_strerror(-errno));
		return walk_dir(w, fd, len);
	}
	if (!S_ISREG(st.st_mode)) {
		fprintf(stderr, "cella cp: %s: not a file, directory or "
				"symlink; skipped\n", w->remote);
		atomic_fetch_add(&x->skipped, 1);
		return 0;
	}
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return cp_fail_code(x, EX_NOINPUT, -errno, "%s: %s", w->remote,
				    cella_strerror(-errno));
	if ((t = calloc(1, sizeof(*t))) == NULL ||
	    (t->remote = strdup(w->remote)) == NULL ||
	    (t->rel = strdup(w->remote + w->base + 1)) == NULL) {
		if (t != NULL) {
			free(t->remote);
			free(t);
		}
		close(fd);
		return cp_fail(x, -ENOMEM, "out of memory");
	}
	t->put = true;
	t->fd = fd;
	t->rootfd = -1;
	t->st = st;
	cp_pool_push(&w->pool, t);
	return 0;
}

static int
walk_dir(struct walk *w, int fd, size_t len)
{
	DIR *dir = fdopendir(fd);
	struct dirent *de;
	int rv = 0;

	if (dir == NULL) {
		close(fd);
		return cp_fail_code(w->x, EX_NOINPUT, -errno, "%s: %s",
				    w->remote, cella_strerror(-errno));
	}
	if (++w->depth > PUT_DEPTH_MAX)
		rv = cp_fail(w->x, -ELOOP, "%s: deeper than %d levels",
			     w->remote, PUT_DEPTH_MAX);
	while (rv == 0 && !cp_failed(w->x) && (de = readdir(dir)) != NULL) {
		size_t n = strlen(de->d_name);

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (len + 1 + n > PIPE_PATH_MAX) {
			rv = cp_fail(w->x, -ENAMETOOLONG, "%s/%s: path over %d "
						       "bytes", w->remote,
				     de->d_name, PIPE_PATH_MAX);
			break;
		}
		w->remote[len] = '/';
		memcpy(w->remote + len + 1, de->d_name, n + 1);
		rv = visit(w, dirfd(dir), de->d_name, len + 1 + n);
		w->remote[len] = '\0';
	}
	w->depth--;
	closedir(dir);
	return rv < 0 ? rv : 0;
}

int
cp_put_tree(struct cp_ctx *x, int dirfd, const struct stat *st,
	    const char *dst)
{
	struct walk w = {.x = x};
	size_t n = strlen(dst);

	while (n > 0 && dst[n - 1] == '/')
		n--; /* "/" becomes "": entries are "/NAME" */
	if (n > PIPE_PATH_MAX) {
		close(dirfd);
		return cp_fail(x, -ENAMETOOLONG, "%s: too long", dst);
	}
	memcpy(w.remote, dst, n);
	w.remote[n] = '\0';
	w.base = n;
	if (put_dir(x, n > 0 ? w.remote : "/", st) < 0) {
		close(dirfd);
		return cp_err(x, -EIO);
	}
	cp_pool_start(&w.pool, x);
	(void)walk_dir(&w, dirfd, n);
	cp_pool_finish(&w.pool);
	if (!cp_failed(x))
		cp_dir_times_apply(x, -1, true);
	return cp_err(x, 0);
}
