/*
 * cp_tree: a directory out of the enclave, from its WALK stream. Each
 * entry is judged before anything is written for it: its path by the
 * same rules the enclave applies (pathsafe.h), a symlink's target by
 * whether it stays inside the tree; one refusal fails the copy. Then
 * directories are made by this thread and files go to the pool, all in
 * a staging directory (cp_stage.c) that appears at the destination only
 * once the whole tree arrived, and modes and mtimes of directories are
 * set at the end, deepest first.
 */
#include "services/cella/cp/cp.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cbor/cbor.h"
#include "common/files/fileio.h"
#include "common/files/pathsafe.h"

/* mkdir rel below rootfd (an existing directory is fine). */
static int
make_dir(struct cp_ctx *x, int rootfd, const char *rel)
{
	const char *name;
	int dirfd, fd, rv = 0;

	if (rel[0] == '\0')
		return 0;
	if ((rv = pipe_open_parent(rootfd, rel, &dirfd, &name)) < 0)
		return cp_fail(x, rv, "%s: %s", rel,
			       rv == -EXDEV ? "leads outside the destination"
					    : cella_strerror(rv));
	if (mkdirat(dirfd, name, 0700) < 0 && errno != EEXIST)
		rv = cp_fail(x, -errno, "%s: %s", rel, cella_strerror(-errno));
	else if ((fd = pipe_openat2(dirfd, name, O_RDONLY | O_DIRECTORY, 0)) < 0)
		rv = cp_fail(x, fd, "%s: %s", rel,
			     fd == -EXDEV ? "leads outside the destination"
					  : cella_strerror(fd));
	else
		close(fd);
	close(dirfd);
	return rv;
}

static int
make_link(struct cp_ctx *x, int rootfd, const char *rel, const char *target)
{
	struct cella_diag d = {{0}};
	const char *name;
	char tmp[48];
	int dirfd, rv;

	if ((rv = pipe_symlink_check(rel, target, &d)) < 0)
		return cp_fail(x, rv, "refused: %s", d.msg);
	if ((rv = pipe_open_parent(rootfd, rel, &dirfd, &name)) < 0)
		return cp_fail(x, rv, "%s: %s", rel,
			       rv == -EXDEV ? "leads outside the destination"
					    : cella_strerror(rv));
	snprintf(tmp, sizeof(tmp), ".cella-%lx-%d.lnk", (unsigned long)getpid(),
		 dirfd);
	if (symlinkat(target, dirfd, tmp) < 0 ||
	    renameat(dirfd, tmp, dirfd, name) < 0) {
		rv = cp_fail(x, -errno, "%s: %s", rel, cella_strerror(-errno));
		(void)unlinkat(dirfd, tmp, 0);
	} else {
		atomic_fetch_add(&x->links, 1);
	}
	close(dirfd);
	return rv;
}

static int
queue_file(struct cp_ctx *x, struct cp_pool *p, const char *src,
	   const char *rel, int rootfd)
{
	struct cp_task *t = calloc(1, sizeof(*t));
	size_t n = strlen(src) + 1 + strlen(rel) + 1;

	if (t == NULL || (t->remote = malloc(n)) == NULL ||
	    (t->rel = strdup(rel)) == NULL) {
		if (t != NULL)
			free(t->remote);
		free(t);
		return cp_fail(x, -ENOMEM, "out of memory");
	}
	snprintf(t->remote, n, "%s/%s", strcmp(src, "/") == 0 ? "" : src, rel);
	t->fd = -1;
	t->rootfd = rootfd;
	cp_pool_push(p, t);
	return 0;
}

/* One entry of the stream, judged then made. */
static int
entry(struct cp_ctx *x, struct cp_pool *p, const char *src, int rootfd,
      const cbor_item_t *e)
{
	struct cella_diag d = {{0}};
	struct cella_span path, type, target;
	uint64_t mode = 0755, mt = 0, ns = 0;
	char rel[PIPE_PATH_MAX + 1], tgt[PIPE_PATH_MAX + 1];
	struct timespec ts;
	int rv;

	if (cella_cbor_get_text(e, "path", PIPE_PATH_MAX + 1, &path, NULL) < 0 ||
	    cella_cbor_get_text(e, "type", 16, &type, NULL) < 0)
		return cp_fail(x, -EPROTO, "a malformed entry from the enclave");
	if ((rv = pipe_path_check_rel((const char *)path.p, path.n, 0, &d)) < 0)
		return cp_fail(x, -EXDEV, "refused entry '%.*s' from the enclave: "
					  "%s; nothing written for it",
			       (int)(path.n > 200 ? 200 : path.n),
			       (const char *)path.p, d.msg);
	memcpy(rel, path.p, path.n);
	rel[path.n] = '\0';
	(void)cella_cbor_get_uint(e, "mode", 07777, &mode, NULL);
	(void)cella_cbor_get_uint(e, "mtime", INT64_MAX / 2, &mt, NULL);
	(void)cella_cbor_get_uint(e, "mtime_ns", 999999999, &ns, NULL);
	ts.tv_sec = (time_t)mt;
	ts.tv_nsec = (long)ns;
	if (type.n == 3 && memcmp(type.p, "dir", 3) == 0) {
		if ((rv = make_dir(x, rootfd, rel)) == 0) {
			atomic_fetch_add(&x->dirs, 1);
			cp_dir_time_add(x, rel, (uint32_t)mode, &ts);
		}
		return rv;
	}
	if (type.n == 4 && memcmp(type.p, "file", 4) == 0)
		return queue_file(x, p, src, rel, rootfd);
	if (type.n == 7 && memcmp(type.p, "symlink", 7) == 0) {
		if (cella_cbor_get_text(e, "target", PIPE_PATH_MAX, &target,
					NULL) < 0 ||
		    memchr(target.p, '\0', target.n) != NULL)
			return cp_fail(x, -EPROTO, "%s: bad symlink target", rel);
		memcpy(tgt, target.p, target.n);
		tgt[target.n] = '\0';
		return make_link(x, rootfd, rel, tgt);
	}
	fprintf(stderr, "cella cp: %s: not a file, directory or symlink; "
			"skipped\n", rel);
	atomic_fetch_add(&x->skipped, 1);
	return 0;
}

/* One WALK / WALK_NEXT round: its entries, and whether more follow. */
static int
batch(struct cp_ctx *x, struct cp_pool *p, const char *src, int rootfd,
      uint32_t type, cbor_item_t *body, uint64_t *id, bool *done)
{
	struct cella_env r = {0};
	const cbor_item_t *list;
	int rv;

	if ((rv = cp_call(x, type, body, CELLA_MSG_PIPE_WALK_REPLY, &r)) < 0)
		return rv;
	list = cella_cbor_map_get(r.body, "entries");
	if (list == NULL || !cbor_isa_array(list) ||
	    cella_cbor_get_bool(r.body, "done", done, NULL) < 0 ||
	    cella_cbor_get_uint(r.body, "id", UINT64_MAX, id, NULL) < 0)
		rv = cp_fail(x, -EPROTO, "bad WALK reply");
	for (size_t i = 0; rv == 0 && i < cbor_array_size(list); i++)
		rv = entry(x, p, src, rootfd, cbor_array_handle(list)[i]);
	cella_env_fini(&r);
	return rv;
}

/* The rest of a WALK the enclave still holds for us, dropped. */
static void
walk_abort(struct cp_ctx *x, uint64_t id)
{
	struct cella_env r = {0};
	struct cella_diag d;
	cbor_item_t *a = cp_id_body(id);

	if (a != NULL && cella_rpc_call(x->c, CELLA_MSG_PIPE_ABORT, a, &r,
					&d) == 0)
		cella_env_fini(&r);
	if (a != NULL)
		cbor_decref(&a);
}

/* The tree's own mode and mtime, from the enclave's STAT reply. */
static void
root_time(struct cp_ctx *x, const cbor_item_t *st)
{
	uint64_t mode = 0755, mt = 0, ns = 0;
	struct timespec ts;

	(void)cella_cbor_get_uint(st, "mode", 07777, &mode, NULL);
	(void)cella_cbor_get_uint(st, "mtime", INT64_MAX / 2, &mt, NULL);
	(void)cella_cbor_get_uint(st, "mtime_ns", 999999999, &ns, NULL);
	ts.tv_sec = (time_t)mt;
	ts.tv_nsec = (long)ns;
	cp_dir_time_add(x, "", (uint32_t)mode, &ts);
	atomic_fetch_add(&x->dirs, 1);
}

int
cp_get_tree(struct cp_ctx *x, const char *src, int rootfd, const char *dst,
	    const cbor_item_t *st)
{
	struct cp_stage stage;
	struct cp_pool pool;
	cbor_item_t *b = cbor_new_indefinite_map();
	uint64_t id = 0;
	bool done = false;
	int rv;

	if (b != NULL && cella_cbor_put_text(b, "path", src) < 0)
		cbor_decref(&b);
	/* Everything is written below the staging directory, then published. */
	if ((rv = cp_stage_open(x, rootfd, dst, &stage)) < 0) {
		if (b != NULL)
			cbor_decref(&b);
		cp_stage_close(&stage);
		return rv;
	}
	root_time(x, st);
	cp_pool_start(&pool, x);
	rv = batch(x, &pool, src, stage.fd, CELLA_MSG_PIPE_WALK, b, &id, &done);
	while (rv == 0 && !done && !cp_failed(x))
		rv = batch(x, &pool, src, stage.fd, CELLA_MSG_PIPE_WALK_NEXT,
			   cp_id_body(id), &id, &done);
	if (!done && id != 0)
		walk_abort(x, id);
	cp_pool_finish(&pool);
	if (!cp_failed(x))
		(void)cp_stage_publish(x, &stage);
	cp_stage_close(&stage);
	return cp_err(x, 0);
}

static void
apply_remote(struct cp_ctx *x, const struct cp_dir_time *t)
{
	struct cella_env r = {0};
	cbor_item_t *b = cbor_new_indefinite_map();

	if (b != NULL && (cella_cbor_put_text(b, "path", t->path) < 0 ||
			  cella_cbor_put_uint(b, "mode", t->mode) < 0 ||
			  cella_cbor_put_uint(b, "mtime", t->mtime.tv_sec < 0
								  ? 0
								  : (uint64_t)t->mtime.tv_sec) < 0 ||
			  cella_cbor_put_uint(b, "mtime_ns",
					      (uint64_t)t->mtime.tv_nsec) < 0))
		cbor_decref(&b);
	if (cp_call(x, CELLA_MSG_PIPE_MKDIR, b, CELLA_MSG_PIPE_OK, &r) == 0)
		cella_env_fini(&r);
}

static void
apply_local(struct cp_ctx *x, int rootfd, const struct cp_dir_time *t)
{
	struct timespec ts[2] = {{.tv_nsec = UTIME_OMIT}, t->mtime};
	int fd = pipe_openat2(rootfd, t->path, O_RDONLY | O_DIRECTORY, 0);

	if (fd < 0 || fchmod(fd, t->mode & PIPE_MODE_MASK) < 0 ||
	    futimens(fd, ts) < 0)
		cp_fail(x, fd < 0 ? fd : -errno, "%s: cannot set mode and mtime",
			t->path[0] ? t->path : ".");
	if (fd >= 0)
		close(fd);
}

void
cp_dir_times_apply(struct cp_ctx *x, int rootfd, bool remote)
{
	for (size_t i = x->ndirs; i-- > 0;) {
		if (remote)
			apply_remote(x, &x->dirs_t[i]);
		else
			apply_local(x, rootfd, &x->dirs_t[i]);
	}
}
