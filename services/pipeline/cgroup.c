/*
 * cgroup: one cgroup v2 directory per command, below the pipeline's own
 * cgroup, so that everything a command starts (a child that called
 * setsid() included) can be found and killed when the command ends. In an
 * enclave, cella-init puts the pipeline in a leaf of its own
 * (init.cgroup), and the commands' directories go below it. Used only when
 * the pipeline's cgroup (as /proc/self/cgroup names it) is a writable
 * cgroup2 directory that is not a hierarchy's root: elsewhere commands
 * keep only their process group, and a child that leaves it with setsid()
 * outlives its command (README, cella exec). No controllers are enabled;
 * limits are not this module's business. A directory is removed once the
 * killed processes are gone, retried from a timer on the loop.
 */
#include "services/pipeline/pipe.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/core/log.h"

#define CG_PENDING_MAX 1024 /* directories waiting for their last process */
#define CG_RETRY_MS 20
#define CG_TRIES 250 /* 5 s, then it is left for init's leaf to sweep */

struct pipe_cgroups {
	int dirfd; /* the pipeline's own cgroup */
	char dir[PATH_MAX];
	pid_t pid;
	uv_timer_t timer;
	bool stopping, closed;
	struct {
		uint64_t id;
		unsigned tries;
	} pending[CG_PENDING_MAX];
	size_t npending;
};

/* /proc/self/cgroup's cgroup2 line ("0::/a/b") into rel. */
static int
own_cgroup(char *rel, size_t len)
{
	FILE *f = fopen("/proc/self/cgroup", "re");
	char line[PATH_MAX + 8];
	int rv = -ENOENT;

	if (f == NULL)
		return -errno;
	while (rv == -ENOENT && fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "0::", 3) == 0) {
			line[strcspn(line, "\n")] = '\0';
			rv = snprintf(rel, len, "%.4095s", line + 3) < (int)len
				     ? 0
				     : -ENAMETOOLONG;
		}
	fclose(f);
	return rv;
}

/* Where rel is: a cgroup2 mount whose root holds it (mountinfo). */
static int
cgroup2_dir(const char *rel, char *dir, size_t len)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[2 * PATH_MAX + 256], root[PATH_MAX], mnt[PATH_MAX];
	const char *sep;
	size_t rl;
	int rv = -ENOENT;

	if (f == NULL)
		return -errno;
	while (rv < 0 && fgets(line, sizeof(line), f) != NULL) {
		if ((sep = strstr(line, " - ")) == NULL ||
		    strncmp(sep + 3, "cgroup2 ", 8) != 0 ||
		    sscanf(line, "%*d %*d %*s %4095s %4095s", root, mnt) != 2 ||
		    strchr(mnt, '\\') != NULL) /* escaped: not worth it */
			continue;
		rl = strcmp(root, "/") == 0 ? 0 : strlen(root);
		if (strncmp(rel, root, rl) == 0 &&
		    (rel[rl] == '/' || rel[rl] == '\0') &&
		    snprintf(dir, len, "%s%s", strcmp(mnt, "/") ? mnt : "",
			     rel + rl) < (int)len)
			rv = 0;
	}
	fclose(f);
	return rv;
}

static const char *
find_dir(char *dir, size_t len)
{
	char rel[PATH_MAX];

	if (own_cgroup(rel, sizeof(rel)) < 0)
		return "no cgroup v2";
	if (strcmp(rel, "/") == 0)
		return "the pipeline is in a root cgroup";
	if (cgroup2_dir(rel, dir, len) < 0)
		return "its cgroup2 hierarchy is not mounted here";
	if (access(dir, W_OK) < 0)
		return "its cgroup is not writable";
	return NULL;
}

int
pipe_cg_start(struct pipe_svc *s)
{
	struct pipe_cgroups *g = calloc(1, sizeof(*g));
	const char *why;

	if (g == NULL)
		return -ENOMEM;
	g->dirfd = -1;
	why = find_dir(g->dir, sizeof(g->dir));
	if (why == NULL &&
	    (g->dirfd = open(g->dir, O_DIRECTORY | O_RDONLY | O_CLOEXEC)) < 0)
		why = "its cgroup cannot be opened";
	if (why != NULL) {
		cella_log_info("exec_cgroups_off", "reason=%s", cella_q(why));
		free(g);
		return 0;
	}
	g->pid = getpid();
	uv_timer_init(s->loop, &g->timer);
	g->timer.data = g;
	s->cg = g;
	cella_log_info("exec_cgroups", "dir=%s", cella_q(g->dir));
	return 0;
}

static void
cg_name(const struct pipe_cgroups *g, uint64_t id, char *buf, size_t len)
{
	snprintf(buf, len, "cella-exec-%d-%llu", (int)g->pid,
		 (unsigned long long)id);
}

int
pipe_cg_create(struct pipe_cgroups *g, uint64_t id, int *procs)
{
	char name[64], path[96];

	*procs = -1;
	cg_name(g, id, name, sizeof(name));
	snprintf(path, sizeof(path), "%s/cgroup.procs", name);
	if (mkdirat(g->dirfd, name, 0755) < 0)
		return -errno;
	if ((*procs = openat(g->dirfd, path, O_WRONLY | O_CLOEXEC)) < 0) {
		int rv = -errno;

		(void)unlinkat(g->dirfd, name, AT_REMOVEDIR);
		return rv;
	}
	return 0;
}

/* Read a small file of id's cgroup into buf; bytes or -errno. */
static ssize_t
cg_read(const struct pipe_cgroups *g, uint64_t id, const char *file,
	char *buf, size_t len)
{
	char name[64], path[128];
	ssize_t n;
	int fd;

	cg_name(g, id, name, sizeof(name));
	snprintf(path, sizeof(path), "%s/%s", name, file);
	if ((fd = openat(g->dirfd, path, O_RDONLY | O_CLOEXEC)) < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return n;
}

void
pipe_cg_signal(struct pipe_cgroups *g, uint64_t id, int sig)
{
	char name[64], path[96], buf[8192], *p, *end;
	int fd;

	cg_name(g, id, name, sizeof(name));
	if (sig == SIGKILL) {
		snprintf(path, sizeof(path), "%s/cgroup.kill", name);
		if ((fd = openat(g->dirfd, path, O_WRONLY | O_CLOEXEC)) >= 0) {
			ssize_t n = write(fd, "1", 1);

			close(fd);
			if (n == 1)
				return;
		}
	}
	/* No cgroup.kill (before Linux 5.14) or another signal: each one. */
	if (cg_read(g, id, "cgroup.procs", buf, sizeof(buf)) <= 0)
		return;
	for (p = buf; *p != '\0'; p = end) {
		long pid = strtol(p, &end, 10);

		if (end == p)
			break;
		if (pid > 1)
			(void)kill((pid_t)pid, sig);
	}
}

/* Whether id's directory is gone now (or never was). */
static bool
cg_rmdir(struct pipe_cgroups *g, uint64_t id)
{
	char name[64];

	cg_name(g, id, name, sizeof(name));
	return unlinkat(g->dirfd, name, AT_REMOVEDIR) == 0 || errno == ENOENT;
}

void
pipe_cg_discard(struct pipe_cgroups *g, uint64_t id)
{
	(void)cg_rmdir(g, id);
}

static void
on_retry(uv_timer_t *t)
{
	struct pipe_cgroups *g = t->data;
	size_t k = 0;

	for (size_t i = 0; i < g->npending; i++) {
		if (cg_rmdir(g, g->pending[i].id))
			continue;
		if (++g->pending[i].tries >= CG_TRIES) {
			cella_log_warn("exec_cgroup_left", "id=%llu",
				       (unsigned long long)g->pending[i].id);
			continue;
		}
		pipe_cg_signal(g, g->pending[i].id, SIGKILL); /* a late fork */
		g->pending[k++] = g->pending[i];
	}
	g->npending = k;
	if (k > 0)
		uv_timer_start(&g->timer, on_retry, CG_RETRY_MS, 0);
	else if (g->stopping && !g->closed) {
		g->closed = true;
		uv_close((uv_handle_t *)&g->timer, NULL);
	}
}

void
pipe_cg_remove(struct pipe_cgroups *g, uint64_t id)
{
	pipe_cg_signal(g, id, SIGKILL);
	if (cg_rmdir(g, id))
		return;
	if (g->npending == CG_PENDING_MAX || g->closed) {
		cella_log_warn("exec_cgroup_left", "id=%llu",
			       (unsigned long long)id);
		return;
	}
	g->pending[g->npending].id = id;
	g->pending[g->npending++].tries = 0;
	if (!uv_is_active((uv_handle_t *)&g->timer))
		uv_timer_start(&g->timer, on_retry, CG_RETRY_MS, 0);
}

void
pipe_cg_stop(struct pipe_svc *s)
{
	struct pipe_cgroups *g = s->cg;

	if (g == NULL || g->stopping)
		return;
	g->stopping = true; /* the timer closes once nothing is pending */
	if (g->npending == 0) {
		g->closed = true;
		uv_close((uv_handle_t *)&g->timer, NULL);
	}
}

void
pipe_cg_fini(struct pipe_svc *s)
{
	if (s->cg == NULL)
		return;
	if (s->cg->dirfd >= 0)
		close(s->cg->dirfd);
	free(s->cg);
	s->cg = NULL;
}
