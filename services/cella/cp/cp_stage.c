/*
 * cp_stage: a directory copied out of the enclave is visible whole or not
 * at all. The tree is built in a staging directory (".cella-cp-<hex>",
 * 0700) next to where it goes, and only once every entry was accepted and
 * every file's hash matched is it renamed into place; into a directory
 * that exists already, the staged entries are moved after a dry pass has
 * found nothing in the way. Any failure removes the staging tree, and so
 * does SIGINT, SIGTERM or SIGHUP: a thread waits for them, removes what
 * was staged, and lets the signal end the process as it would have. Only
 * SIGKILL can leave a ".cella-cp-*" directory behind. Removal never
 * follows a symlink and holds one descriptor at a time, however deep the
 * tree.
 */
#include "services/cella/cp/cp.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sysexits.h>
#include <unistd.h>

#include "common/core/file.h"
#include "common/files/pathsafe.h"

#define RM_AGAIN_MAX 1000 /* rescans while workers may still add entries */

/*
 * The staging directory a stop signal must remove: the process's one
 * `cella cp`, kept here rather than in its context (on main's stack),
 * which a late signal must not touch.
 */
static pthread_mutex_t stage_mu = PTHREAD_MUTEX_INITIALIZER;
static struct cp_stage *stage_live;

/* Whatever goes wrong here is about the destination: exit 73. */
#define dest_fail(x, err, ...) cp_fail_code(x, EX_CANTCREAT, err, __VA_ARGS__)

/*
 * One pass over the directory path (below basefd): unlink what is not a
 * directory; at the first subdirectory, stop with path extended to it.
 */
static int
rm_scan(int basefd, char *path, size_t cap, bool *sub)
{
	size_t len = strlen(path);
	int fd = pipe_openat2(basefd, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW,
			      0);
	struct dirent *e;
	DIR *d;
	int rv = 0;

	if (fd < 0)
		return fd;
	(void)fchmod(fd, 0700); /* ours: a 0500 directory empties too */
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return -errno;
	}
	while (!*sub && rv == 0 && (e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0 ||
		    unlinkat(fd, e->d_name, 0) == 0 || errno == ENOENT)
			continue;
		if (errno != EISDIR && errno != EPERM)
			rv = -errno;
		else if (len + 1 + strlen(e->d_name) >= cap)
			rv = -ENAMETOOLONG;
		else
			*sub = snprintf(path + len, cap - len, "/%s",
					e->d_name) > 0;
	}
	closedir(d);
	return rv;
}

/*
 * Remove path (below basefd) and all under it; path is a buffer of cap
 * bytes, extended and restored on the way down. A directory that filled
 * up again meanwhile (a worker still writing) is scanned again.
 */
static int
rm_tree(int basefd, char *path, size_t cap)
{
	size_t len = strlen(path);
	int rv, again = 0;
	bool sub;

	if (unlinkat(basefd, path, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return -errno;
	for (;;) {
		sub = false;
		if ((rv = rm_scan(basefd, path, cap, &sub)) < 0)
			return rv == -ENOENT ? 0 : rv;
		if (sub) {
			rv = rm_tree(basefd, path, cap);
			path[len] = '\0';
			if (rv < 0)
				return rv;
			continue;
		}
		if (unlinkat(basefd, path, AT_REMOVEDIR) == 0 || errno == ENOENT)
			return 0;
		if (errno != ENOTEMPTY && errno != EEXIST)
			return -errno;
		if (++again > RM_AGAIN_MAX)
			return -ENOTEMPTY;
	}
}

/* Remove the staging tree, if any is left; the caller holds stage_mu. */
static int
stage_remove(struct cp_stage *s)
{
	char path[PIPE_PATH_MAX + NAME_MAX + 2];
	int rv;

	if (s->tmp[0] == '\0')
		return 0;
	snprintf(path, sizeof(path), "%s", s->tmp);
	rv = rm_tree(s->rootfd, path, sizeof(path));
	if (rv == 0)
		s->tmp[0] = '\0';
	return rv;
}

static int
stage_mkdir(int rootfd, char *name, size_t cap)
{
	uint8_t r[8];

	for (int tries = 0; tries < 8; tries++) {
		if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
			return -EIO;
		snprintf(name, cap,
			 ".cella-cp-%02x%02x%02x%02x%02x%02x%02x%02x", r[0],
			 r[1], r[2], r[3], r[4], r[5], r[6], r[7]);
		if (mkdirat(rootfd, name, 0700) == 0)
			return 0;
		if (errno != EEXIST)
			return -errno;
	}
	return -EEXIST;
}

/* The existing directory the tree goes into, or -ENOENT when there is none. */
static int
open_target(struct cp_ctx *x, const struct cp_stage *s)
{
	int fd = pipe_openat2(s->rootfd, s->name, O_RDONLY | O_DIRECTORY, 0);

	if (fd >= 0 || fd == -ENOENT)
		return fd;
	if (fd == -ENOTDIR)
		return dest_fail(x, -EEXIST, "%s exists and is not a "
					     "directory; nothing copied",
				 s->name);
	return dest_fail(x, fd, "%s: %s", s->name,
			 fd == -EXDEV ? "leads outside the destination"
				      : cella_strerror(fd));
}

int
cp_stage_open(struct cp_ctx *x, int rootfd, const char *name,
	      struct cp_stage *s)
{
	int fd, rv;

	*s = (struct cp_stage){.rootfd = rootfd, .fd = -1};
	snprintf(s->name, sizeof(s->name), "%s", name);
	/* Refuse before a byte moves: a file where the tree would go. */
	if ((fd = open_target(x, s)) >= 0)
		close(fd);
	else if (fd != -ENOENT)
		return fd;
	pthread_mutex_lock(&stage_mu);
	rv = stage_mkdir(rootfd, s->tmp, sizeof(s->tmp));
	if (rv == 0) {
		s->fd = pipe_openat2(rootfd, s->tmp,
				     O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0);
		stage_live = s;
	}
	pthread_mutex_unlock(&stage_mu);
	if (rv < 0)
		return dest_fail(x, rv, "cannot create a staging directory "
					"next to %s: %s",
				 name[0] ? name : ".", cella_strerror(rv));
	if (s->fd < 0)
		return dest_fail(x, s->fd, "%s: %s", s->tmp,
				 cella_strerror(s->fd));
	return 0;
}

static int merge_dir(struct cp_ctx *x, int from, int to, char *rel,
		     bool dry);

/* Both are directories: merge from/name into to/name. */
static int
merge_sub(struct cp_ctx *x, int from, int to, char *rel, const char *name,
	  bool dry)
{
	size_t len = strlen(rel);
	int f = openat(from, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
					   O_CLOEXEC);
	int t = openat(to, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
				       O_CLOEXEC);
	int rv;

	if (f < 0 || t < 0)
		rv = dest_fail(x, -errno, "%s/%s: %s", rel, name,
			       cella_strerror(-errno));
	else if (len + 1 + strlen(name) > PIPE_PATH_MAX)
		rv = dest_fail(x, -ENAMETOOLONG, "%s/%s: path too long", rel,
			       name);
	else {
		snprintf(rel + len, PIPE_PATH_MAX + 1 - len, "/%s", name);
		rv = merge_dir(x, f, t, rel, dry);
		rel[len] = '\0';
	}
	if (f >= 0)
		close(f);
	if (t >= 0)
		close(t);
	return rv;
}

/*
 * One entry of a merge: it moves to to (nothing there, or neither is a
 * directory: renameat replaces the file or symlink there) or, both being
 * directories, is merged in turn. dry only looks for what is in the way
 * (a directory against anything else), moving nothing.
 */
static int
merge_entry(struct cp_ctx *x, int from, int to, char *rel, const char *name,
	    bool dry)
{
	struct stat a, b;
	bool there;

	if (fstatat(from, name, &a, AT_SYMLINK_NOFOLLOW) < 0)
		return dest_fail(x, -errno, "%s/%s: %s", rel, name,
				 cella_strerror(-errno));
	there = fstatat(to, name, &b, AT_SYMLINK_NOFOLLOW) == 0;
	if (!there && errno != ENOENT)
		return dest_fail(x, -errno, "%s/%s: %s", rel, name,
				 cella_strerror(-errno));
	if (there && S_ISDIR(a.st_mode) && S_ISDIR(b.st_mode))
		return merge_sub(x, from, to, rel, name, dry);
	if (there && (S_ISDIR(a.st_mode) || S_ISDIR(b.st_mode)))
		return dest_fail(x, -EEXIST, "%s/%s: %s is in the way of %s; "
					     "nothing copied",
				 rel, name, cella_file_kind(b.st_mode),
				 cella_file_kind(a.st_mode));
	if (!dry && renameat(from, name, to, name) < 0)
		return dest_fail(x, -errno, "%s/%s: %s", rel, name,
				 cella_strerror(-errno));
	return 0;
}

static int
merge_dir(struct cp_ctx *x, int from, int to, char *rel, bool dry)
{
	struct dirent *e;
	int fd = dup(from), rv = 0;
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;

	if (d == NULL) {
		rv = dest_fail(x, -errno, "%s: %s", rel, cella_strerror(-errno));
		if (fd >= 0)
			close(fd);
		return rv;
	}
	rewinddir(d); /* the dup shares from's offset: the dry pass read it all */
	while (rv == 0 && (e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			rv = merge_entry(x, from, to, rel, e->d_name, dry);
	closedir(d);
	return rv;
}

/* Into an existing directory: a dry pass, then the moves. */
static int
merge(struct cp_ctx *x, struct cp_stage *s, int to)
{
	char rel[PIPE_PATH_MAX + 1];
	int rv;

	snprintf(rel, sizeof(rel), "%s", s->name[0] ? s->name : ".");
	if ((rv = merge_dir(x, s->fd, to, rel, true)) == 0)
		rv = merge_dir(x, s->fd, to, rel, false);
	return rv;
}

int
cp_stage_publish(struct cp_ctx *x, struct cp_stage *s)
{
	int to, rv = 0;

	pthread_mutex_lock(&stage_mu);
	if ((to = open_target(x, s)) == -ENOENT) {
		rv = renameat2(s->rootfd, s->tmp, s->rootfd, s->name,
			       RENAME_NOREPLACE) == 0 ? 0 : -errno;
		/* A file system without RENAME_NOREPLACE: nothing was there. */
		if (rv == -EINVAL)
			rv = renameat(s->rootfd, s->tmp, s->rootfd, s->name) == 0
				     ? 0 : -errno;
		if (rv == 0)
			s->tmp[0] = '\0';
		to = rv == 0 ? open_target(x, s)
			     : dest_fail(x, rv, "%s: %s; nothing copied",
					 s->name,
					 rv == -EEXIST ? "appeared meanwhile"
						       : cella_strerror(rv));
		rv = 0;
	} else if (to >= 0) {
		rv = merge(x, s, to);
	}
	pthread_mutex_unlock(&stage_mu);
	if (to < 0)
		return to;
	if (rv == 0)
		cp_dir_times_apply(x, to, false);
	close(to);
	return rv;
}

void
cp_stage_close(struct cp_stage *s)
{
	int rv;

	pthread_mutex_lock(&stage_mu);
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	if ((rv = stage_remove(s)) < 0)
		fprintf(stderr, "cella cp: cannot remove the staging directory "
				"%s: %s\n", s->tmp, cella_strerror(rv));
	if (stage_live == s)
		stage_live = NULL;
	pthread_mutex_unlock(&stage_mu);
}

static const int stop_signals[] = {SIGINT, SIGTERM, SIGHUP};

/* Wait for a stop signal; remove what is staged, then die of it. */
static void *
sig_main(void *arg)
{
	sigset_t set, one;
	int sig = 0;

	(void)arg;
	sigemptyset(&set);
	for (size_t i = 0; i < sizeof(stop_signals) / sizeof(int); i++)
		sigaddset(&set, stop_signals[i]);
	while (sigwait(&set, &sig) != 0)
		;
	/* Kept locked: no publish or close may start after this. */
	pthread_mutex_lock(&stage_mu);
	if (stage_live != NULL && stage_live->tmp[0] != '\0') {
		(void)stage_remove(stage_live);
		fprintf(stderr, "\ncella cp: %s; the partial copy was "
				"removed\n", strsignal(sig));
	}
	signal(sig, SIG_DFL);
	sigemptyset(&one);
	sigaddset(&one, sig);
	pthread_sigmask(SIG_UNBLOCK, &one, NULL);
	raise(sig);
	_exit(128 + sig); /* not reached */
}

int
cp_signals_start(void)
{
	pthread_attr_t attr;
	pthread_t t;
	sigset_t set;
	int rv;

	sigemptyset(&set);
	for (size_t i = 0; i < sizeof(stop_signals) / sizeof(int); i++)
		sigaddset(&set, stop_signals[i]);
	if ((rv = pthread_sigmask(SIG_BLOCK, &set, NULL)) != 0)
		return -rv;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	rv = pthread_create(&t, &attr, sig_main, NULL);
	pthread_attr_destroy(&attr);
	if (rv != 0) {
		pthread_sigmask(SIG_UNBLOCK, &set, NULL);
		return -rv;
	}
	return 0;
}
