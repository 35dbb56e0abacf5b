/*
 * files: receiving and sending files, and the small operations a directory
 * copy needs (stat, mkdir, symlink). Every path is resolved below an
 * allowed root (pipe_resolve, then openat2 RESOLVE_BENEATH). A transfer
 * lives in the loop's table between its BEGIN and its COMMIT/END; its
 * chunks are written or read on the pool, several at once, and hashed in
 * order (ohash.c). A received file is checked against the sender's
 * SHA-256, logged to init's event log and only then renamed into place
 * (fileio.c); a transfer that ends any other way leaves nothing. This
 * module does not walk directories (walk.c) and knows no policy.
 */
#include "services/pipeline/pipe.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "common/cbor/cbor.h"
#include "common/core/log.h"
#include "services/pipeline/files.h"
#include "common/files/pathsafe.h"

/* --- resolving --- */

/* The longest root that is a whole-component prefix of p[0..n). */
static const char *
match_root(const struct pipe_conf *c, const char *p, size_t n, size_t *rlen)
{
	const char *best = NULL;
	size_t bestn = 0;

	for (size_t i = 0; i < c->nroots; i++) {
		const char *r = c->roots[i];
		size_t k = strcmp(r, "/") == 0 ? 0 : strlen(r);

		if (k > n || memcmp(p, r, k) != 0 || (k < n && p[k] != '/'))
			continue;
		if (best == NULL || k > bestn) {
			best = r;
			bestn = k;
		}
	}
	*rlen = bestn;
	return best;
}

int
pipe_resolve(const struct pipe_conf *c, const struct cella_span *path,
	     int *rootfd, char **rel, struct cella_diag *d)
{
	const char *p = (const char *)path->p, *r, *root;
	size_t n, rlen;
	int fd, rv;

	if ((rv = pipe_path_check_abs(p, path->n, &r, &n, d)) < 0)
		return rv;
	n += 1; /* with the leading '/' */
	if ((root = match_root(c, p, n, &rlen)) == NULL)
		return cella_diag_set(d, -EACCES,
				      "'%.*s' is outside the allowed roots "
				      "(pipeline.roots)", (int)n, p);
	if ((fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
		return cella_diag_set(d, -errno, "root %s: %s", root,
				      cella_strerror(-errno));
	rlen += rlen < n; /* the '/' after the root */
	if ((*rel = strndup(p + rlen, n - rlen)) == NULL) {
		close(fd);
		return cella_diag_set(d, -ENOMEM, "out of memory");
	}
	*rootfd = fd;
	return 0;
}

int
pipe_path_err(struct cella_diag *d, int err, const struct cella_span *path)
{
	const char *why = cella_strerror(err);

	if (err == -EXDEV || err == -ELOOP)
		why = "it leads outside the allowed root (a symlink or '..')";
	return cella_diag_set(d, err == -ELOOP ? -EXDEV : err, "'%.*s': %s",
			      (int)path->n, (const char *)path->p, why);
}

/* --- transfers --- */

void
pipe_xfer_destroy(struct pipe_xfer *x)
{
	if (x == NULL)
		return;
	if (x->kind == PIPE_XFER_PUT)
		pipe_tmp_abort(&x->tmp);
	if (x->fd >= 0)
		close(x->fd);
	if (x->dirfd >= 0)
		close(x->dirfd);
	if (x->oh_init)
		pipe_ohash_fini(&x->oh);
	pipe_walk_free(x->walk);
	free(x->name);
	free(x->path);
	free(x);
}

struct pipe_xfer *
pipe_xfer_new(enum pipe_xfer_kind kind, const struct cella_span *path)
{
	struct pipe_xfer *x = calloc(1, sizeof(*x));

	if (x == NULL)
		return NULL;
	x->kind = kind;
	x->fd = x->dirfd = -1;
	x->tmp.fd = -1;
	if ((x->path = strndup((const char *)path->p, path->n)) == NULL) {
		free(x);
		return NULL;
	}
	return x;
}

void
pipe_sha256(const void *p, size_t n, uint8_t out[32])
{
	unsigned len = 0;

	EVP_Digest(p, n, out, &len, EVP_sha256(), NULL);
}

static int
log_file(struct pipe_job *j, const char *path, const uint8_t h[32],
	 uint64_t size)
{
	cbor_item_t *data = cbor_new_indefinite_map();
	int rv = -ENOMEM;

	if (data != NULL && cella_cbor_put_text(data, "path", path) == 0 &&
	    cella_cbor_put_bytes(data, "sha256", h, 32) == 0 &&
	    cella_cbor_put_uint(data, "size", size) == 0 &&
	    cella_cbor_put_text(data, "operator", j->operator) == 0)
		rv = pipe_evlog_append(j->svc->evlog, "file", data, &j->d);
	else
		cella_diag_set(&j->d, rv, "out of memory");
	if (data != NULL)
		cbor_decref(&data);
	return rv;
}

int
pipe_files_put_done(struct pipe_job *j, const char *path, const uint8_t h[32],
		    uint64_t size)
{
	cbor_item_t *b = cbor_new_indefinite_map();

	j->rtype = CELLA_MSG_PIPE_PUT_DONE;
	j->rbody = b;
	if (b == NULL || cella_cbor_put_text(b, "path", path) < 0 ||
	    cella_cbor_put_uint(b, "size", size) < 0 ||
	    cella_cbor_put_bytes(b, "sha256", h, 32) < 0)
		return cella_diag_set(&j->d, -ENOMEM, "out of memory");
	return 0;
}

/*
 * Check, log, place: the end of every received file. On failure the
 * temporary file is gone.
 */
int
pipe_files_place(struct pipe_job *j, struct pipe_xfer *x,
		 const uint8_t got[32], const uint8_t want[32])
{
	char a[65], b[65];
	int rv;

	if (memcmp(got, want, 32) != 0) {
		cella_hex_encode(got, 32, a, sizeof(a));
		cella_hex_encode(want, 32, b, sizeof(b));
		pipe_tmp_abort(&x->tmp);
		return cella_diag_set(&j->d, -EBADE,
				      "'%s': SHA-256 mismatch: received %s, "
				      "sender says %s; nothing written",
				      x->path, a, b);
	}
	if ((rv = log_file(j, x->path, got, x->size)) < 0) {
		pipe_tmp_abort(&x->tmp);
		return rv;
	}
	if ((rv = pipe_tmp_commit(&x->tmp, x->name, x->mode, &x->mtime,
				  &j->d)) < 0)
		return rv;
	cella_log_info("file_received", "path=%s size=%llu operator=%s",
		       cella_q(x->path), (unsigned long long)x->size,
		       cella_q(j->operator));
	return pipe_files_put_done(j, x->path, got, x->size);
}

/* PUT_BEGIN on the pool: where it goes, the temporary file, and for a
 * file sent inline, the whole of it. */
void
pipe_files_put_begin(struct pipe_job *j)
{
	const struct pipe_conf *c = j->svc->conf;
	struct pipe_xfer *x = NULL;
	char *rel = NULL;
	const char *name;
	int rootfd = -1, rv;
	struct stat st;
	uint8_t h[32];

	if ((rv = pipe_resolve(c, &j->m.path, &rootfd, &rel, &j->d)) < 0)
		goto out;
	if (rel[0] == '\0') {
		rv = cella_diag_set(&j->d, -EISDIR, "cannot replace an allowed "
						     "root");
		goto out;
	}
	if (j->m.size > c->max_file_bytes) {
		rv = cella_diag_set(&j->d, -EFBIG,
				    "%llu bytes, over pipeline.max_file_bytes "
				    "(%llu)", (unsigned long long)j->m.size,
				    (unsigned long long)c->max_file_bytes);
		goto out;
	}
	if ((x = pipe_xfer_new(PIPE_XFER_PUT, &j->m.path)) == NULL) {
		rv = cella_diag_set(&j->d, -ENOMEM, "out of memory");
		goto out;
	}
	if ((rv = pipe_open_parent(rootfd, rel, &x->dirfd, &name)) < 0) {
		rv = rv == -ENOENT
			     ? cella_diag_set(&j->d, rv,
					      "'%s': no such directory to put "
					      "it in", x->path)
			     : pipe_path_err(&j->d, rv, &j->m.path);
		goto out;
	}
	if (fstatat(x->dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISDIR(st.st_mode)) {
		rv = cella_diag_set(&j->d, -EISDIR, "'%s' is a directory",
				    x->path);
		goto out;
	}
	if ((x->name = strdup(name)) == NULL) {
		rv = cella_diag_set(&j->d, -ENOMEM, "out of memory");
		goto out;
	}
	x->size = j->m.size;
	x->mode = (mode_t)j->m.mode;
	x->mtime = j->m.mtime;
	snprintf(x->operator, sizeof(x->operator), "%s", j->operator);
	if ((rv = pipe_tmp_open(x->dirfd, x->size, &x->tmp, &j->d)) < 0)
		goto out;
	if (j->m.has_data) {
		pipe_sha256(j->m.data.p, j->m.data.n, h);
		if ((rv = pipe_pwrite_all(x->tmp.fd, j->m.data.p, j->m.data.n,
					  0)) < 0)
			cella_diag_set(&j->d, rv, "cannot write: %s",
				       cella_strerror(rv));
		else
			rv = pipe_files_place(j, x, h, j->m.sha256);
		goto out;
	}
	if ((rv = pipe_ohash_init(&x->oh, x->size, c->chunk, c->window,
				  x->tmp.fd)) < 0)
		goto out;
	x->oh_init = true;
	j->obj = x;
	x = NULL;
out:
	pipe_xfer_destroy(x);
	if (rootfd >= 0)
		close(rootfd);
	free(rel);
	j->err = rv < 0 ? rv : 0;
}

/* PUT_CHUNK on the pool: write, then hash what became contiguous. */
void
pipe_files_put_chunk(struct pipe_job *j, struct pipe_xfer *x)
{
	int rv;

	if (j->m.offset % x->oh.chunk != 0 || j->m.offset >= x->size ||
	    j->m.data.n != (x->size - j->m.offset < x->oh.chunk
				    ? x->size - j->m.offset
				    : x->oh.chunk)) {
		j->err = cella_diag_set(&j->d, -EINVAL,
					"chunk at %llu of %zu bytes does not "
					"fit chunks of %u in %llu bytes",
					(unsigned long long)j->m.offset,
					j->m.data.n, x->oh.chunk,
					(unsigned long long)x->size);
		return;
	}
	if ((rv = pipe_pwrite_all(x->tmp.fd, j->m.data.p, j->m.data.n,
				  j->m.offset)) < 0) {
		j->err = cella_diag_set(&j->d, rv, "cannot write: %s",
					cella_strerror(rv));
		return;
	}
	if ((rv = pipe_ohash_add(&x->oh, j->m.offset, j->m.data.p,
				 j->m.data.n)) < 0) {
		j->err = cella_diag_set(&j->d, rv,
					rv == -ERANGE
						? "chunk at %llu is beyond the "
						  "window"
						: "chunk at %llu: %s",
					(unsigned long long)j->m.offset,
					cella_strerror(rv));
		return;
	}
	j->rtype = CELLA_MSG_PIPE_OK;
}

void
pipe_files_put_commit(struct pipe_job *j, struct pipe_xfer *x)
{
	uint8_t h[32];
	int rv = pipe_ohash_final(&x->oh, h);

	if (rv == -EAGAIN)
		j->err = cella_diag_set(&j->d, -EPROTO,
					"'%s': only %llu of %llu bytes arrived",
					x->path,
					(unsigned long long)pipe_ohash_done(&x->oh),
					(unsigned long long)x->size);
	else if (rv < 0)
		j->err = cella_diag_set(&j->d, rv, "'%s': %s", x->path,
					cella_strerror(rv));
	else
		j->err = pipe_files_place(j, x, h, j->m.sha256);
}
