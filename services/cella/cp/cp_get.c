/*
 * cp_get: files and trees out of the enclave. What the enclave sends is
 * not trusted to stay where it should: every entry path of a tree passes
 * the same text rules as on the enclave side (no "..", no absolute path,
 * no empty or "." component) and is created with openat2 RESOLVE_BENEATH
 * below the destination, so neither a crafted path nor a symlink (sent by
 * the enclave or already there) can make us write outside it; symlinks
 * whose target climbs out are refused. Files arrive as unnamed temporary
 * files and are renamed into place only when their SHA-256 matches.
 */
#include "services/cella/cp/cp.h"

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

struct meta {
	uint64_t size, mode, mtime, mtime_ns;
};

static int
read_meta(const cbor_item_t *b, struct meta *m)
{
	m->mtime_ns = 0;
	if (cella_cbor_get_uint(b, "size", INT64_MAX, &m->size, NULL) < 0 ||
	    cella_cbor_get_uint(b, "mode", 07777, &m->mode, NULL) < 0 ||
	    cella_cbor_get_uint(b, "mtime", INT64_MAX / 2, &m->mtime, NULL) < 0)
		return -EPROTO;
	(void)cella_cbor_get_uint(b, "mtime_ns", 999999999, &m->mtime_ns, NULL);
	return 0;
}

static void
end_xfer(struct cp_ctx *x, uint32_t type, uint64_t id)
{
	struct cella_diag d;
	struct cella_env r = {0};
	cbor_item_t *b = cp_id_body(id);

	if (b == NULL)
		return;
	if (cella_rpc_call(x->c, type, b, &r, &d) == 0)
		cella_env_fini(&r);
	cbor_decref(&b);
}

/* The chunks of transfer id into t, then the enclave's hash of them. */
static int
get_chunked(struct cp_ctx *x, const cbor_item_t *begin, const struct meta *m,
	    int fd, uint8_t h[32], uint8_t want[32])
{
	uint64_t id, chunk, window;
	struct cella_env r = {0};
	struct cella_span s;
	int rv;

	if (cella_cbor_get_uint(begin, "id", UINT64_MAX, &id, NULL) < 0 ||
	    cella_cbor_get_uint(begin, "chunk", CP_CHUNK_MAX, &chunk, NULL) < 0 ||
	    cella_cbor_get_uint(begin, "window", PIPE_WINDOW_MAX, &window,
				NULL) < 0)
		return cp_fail(x, -EPROTO, "bad GET_BEGIN reply");
	rv = cp_xfer_chunks(x, false, id, fd, m->size, (uint32_t)chunk,
			    (uint32_t)window, h);
	if (rv < 0) {
		end_xfer(x, CELLA_MSG_PIPE_ABORT, id);
		return rv;
	}
	if ((rv = cp_call(x, CELLA_MSG_PIPE_GET_END, cp_id_body(id),
			  CELLA_MSG_PIPE_GET_END_REPLY, &r)) < 0)
		return rv;
	if (cella_cbor_get_bytes(r.body, "sha256", 32, &s, NULL) < 0 || s.n != 32)
		rv = cp_fail(x, -EPROTO, "bad GET_END reply");
	else
		memcpy(want, s.p, 32);
	cella_env_fini(&r);
	return rv;
}

static int
check_hash(struct cp_ctx *x, const char *src, const uint8_t got[32],
	   const uint8_t want[32])
{
	char a[65], b[65];

	if (memcmp(got, want, 32) == 0)
		return 0;
	cella_hex_encode(got, 32, a, sizeof(a));
	cella_hex_encode(want, 32, b, sizeof(b));
	return cp_fail(x, -EBADE, "%s: SHA-256 mismatch: received %s, the "
				  "enclave says %s; nothing written",
		       src, a, b);
}

/* Fill t from the GET_BEGIN reply (inline or in chunks) and check it. */
static int
receive(struct cp_ctx *x, const char *src, const cbor_item_t *body,
	const struct meta *m, struct pipe_tmp *t, uint8_t h[32])
{
	struct cella_span data, s;
	uint8_t want[32];
	int rv;

	if (cella_cbor_get_bytes(body, "data", CP_CHUNK_MAX, &data, NULL) == 0) {
		if (data.n != m->size ||
		    cella_cbor_get_bytes(body, "sha256", 32, &s, NULL) < 0 ||
		    s.n != 32)
			return cp_fail(x, -EPROTO, "%s: bad inline reply", src);
		memcpy(want, s.p, 32);
		EVP_Digest(data.p, data.n, h, NULL, EVP_sha256(), NULL);
		if ((rv = pipe_pwrite_all(t->fd, data.p, data.n, 0)) < 0)
			return cp_fail(x, rv, "%s: %s", src, cella_strerror(rv));
		atomic_fetch_add(&x->bytes, data.n);
	} else if ((rv = get_chunked(x, body, m, t->fd, h, want)) < 0) {
		return rv;
	}
	return check_hash(x, src, h, want);
}

int
cp_get_file(struct cp_ctx *x, const char *src, int rootfd, const char *dst,
	    const char *rel)
{
	struct pipe_tmp t = {.fd = -1};
	struct cella_diag d = {{0}};
	struct cella_env r = {0};
	const char *name;
	cbor_item_t *b = cbor_new_indefinite_map();
	struct meta m;
	struct stat st;
	struct timespec mt;
	uint8_t h[32];
	int dirfd = -1, rv;

	if (b != NULL && cella_cbor_put_text(b, "path", src) < 0)
		cbor_decref(&b);
	if ((rv = cp_call(x, CELLA_MSG_PIPE_GET_BEGIN, b,
			  CELLA_MSG_PIPE_GET_BEGIN_REPLY, &r)) < 0)
		return rv;
	if (read_meta(r.body, &m) < 0) {
		rv = cp_fail(x, -EPROTO, "%s: bad GET_BEGIN reply", src);
		goto out;
	}
	if ((rv = pipe_open_parent(rootfd, dst, &dirfd, &name)) == -ENOENT &&
	    rel != NULL) {
		/* A tree's directories are made as their entries come. */
		rv = cp_fail(x, -EPROTO, "refused entry '%s' from the enclave: "
					 "its directory was not sent before it",
			     rel);
		goto out;
	} else if (rv < 0) {
		rv = cp_fail_code(x, EX_CANTCREAT, rv, "%s: %s", dst,
				  rv == -EXDEV ? "leads outside the destination"
					       : cella_strerror(rv));
		goto out;
	}
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISDIR(st.st_mode)) {
		rv = cp_fail_code(x, EX_CANTCREAT, -EISDIR,
				  "%s is a directory", dst);
		goto out;
	}
	if ((rv = pipe_tmp_open(dirfd, m.size, &t, &d)) < 0) {
		cp_fail_code(x, EX_CANTCREAT, rv, "%s: %s", dst, d.msg);
		goto out;
	}
	if ((rv = receive(x, src, r.body, &m, &t, h)) < 0)
		goto out;
	mt.tv_sec = (time_t)m.mtime;
	mt.tv_nsec = (long)m.mtime_ns;
	if ((rv = pipe_tmp_commit(&t, name, (mode_t)m.mode, &mt, &d)) < 0) {
		cp_fail_code(x, EX_CANTCREAT, rv, "%s", d.msg);
		goto out;
	}
	atomic_fetch_add(&x->files, 1);
	if (rel != NULL)
		cp_manifest_add(x, rel, h);
	else
		memcpy(x->sha256, h, 32);
out:
	pipe_tmp_abort(&t);
	if (dirfd >= 0)
		close(dirfd);
	cella_env_fini(&r);
	return rv;
}
