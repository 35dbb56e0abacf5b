/*
 * cgroup: one cgroup v2 leaf per service under init.cgroup, when that
 * directory lies in a cgroup2 file system (otherwise services still get
 * their own process group, and nothing here is used). A leaf catches what
 * a process group cannot: descendants that called setsid(). A service may
 * make cgroups below its leaf (cella-pipeline: one per command); killing
 * the leaf kills them too, and they are removed with it. No controllers
 * are enabled; limits are not this module's business.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <linux/magic.h>

#include "common/core/log.h"
#include "services/init/run.h"

static int
dir_is_cgroup2(const char *path)
{
	struct statfs sf;

	return statfs(path, &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC;
}

int
init_cgroup_setup(struct init_ctx *ctx, struct cella_diag *d)
{
	const char *base = ctx->conf->cgroup;
	char parent[PATH_MAX], *slash;

	(void)d;
	if (base[0] == '\0')
		return 0;
	snprintf(parent, sizeof(parent), "%s", base);
	slash = strrchr(parent, '/');
	if (slash != NULL && slash != parent)
		*slash = '\0';
	if (!dir_is_cgroup2(base) && !dir_is_cgroup2(parent)) {
		cella_log_info("cgroup_off", "path=%s reason=not_cgroup2",
			       cella_q(base));
		return 0;
	}
	if (mkdir(base, 0755) < 0 && errno != EEXIST) {
		cella_log_warn("cgroup_off", "path=%s err=%s", cella_q(base),
			       cella_errname(-errno));
		return 0;
	}
	for (size_t i = 0; i < ctx->n; i++)
		if (init_cgroup_leaf(&ctx->runs[i]) < 0)
			cella_log_warn("cgroup_leaf_failed", "service=%s err=%s",
				       ctx->runs[i].conf->name,
				       cella_errname(-errno));
	return 0;
}

int
init_cgroup_leaf(struct init_run *r)
{
	char path[PATH_MAX];
	int dir, procs;

	if (snprintf(path, sizeof(path), "%s/%s", r->ctx->conf->cgroup,
		     r->conf->name) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return -errno;
	dir = open(path, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	if (dir < 0)
		return -errno;
	procs = openat(dir, "cgroup.procs", O_WRONLY | O_CLOEXEC);
	if (procs < 0) {
		close(dir);
		return -errno;
	}
	r->cg_dir = dir;
	r->cg_procs = procs;
	return 0;
}

/* Read a small cgroup file into buf (NUL-terminated); bytes or -errno. */
static ssize_t
read_small(int dir, const char *name, char *buf, size_t len)
{
	int fd = openat(dir, name, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return n;
}

void
init_cgroup_signal(struct init_run *r, int sig)
{
	char buf[8192], *p, *end;
	int fd;

	if (r->cg_dir < 0)
		return;
	if (sig == SIGKILL) {
		fd = openat(r->cg_dir, "cgroup.kill", O_WRONLY | O_CLOEXEC);
		if (fd >= 0) {
			ssize_t n = write(fd, "1", 1);

			close(fd);
			if (n == 1)
				return;
		}
	}
	/* No cgroup.kill (before 5.14) or another signal: one by one. */
	if (read_small(r->cg_dir, "cgroup.procs", buf, sizeof(buf)) <= 0)
		return;
	for (p = buf; *p != '\0'; p = end) {
		long pid = strtol(p, &end, 10);

		if (end == p)
			break;
		if (pid > 1)
			(void)kill((pid_t)pid, sig);
	}
}

bool
init_cgroup_empty(struct init_run *r)
{
	char buf[512];
	const char *pop;

	if (r->cg_dir < 0)
		return true;
	if (read_small(r->cg_dir, "cgroup.events", buf, sizeof(buf)) <= 0)
		return true;
	pop = strstr(buf, "populated ");
	return pop == NULL || pop[10] == '0';
}

/* rmdir path after the cgroups below it, depth first (a few levels). */
static void
remove_tree(const char *path, int depth)
{
	char sub[PATH_MAX];
	struct dirent *e;
	DIR *dir;

	if (depth > 0 && (dir = opendir(path)) != NULL) {
		while ((e = readdir(dir)) != NULL)
			if (e->d_type == DT_DIR && e->d_name[0] != '.' &&
			    snprintf(sub, sizeof(sub), "%s/%s", path,
				     e->d_name) < (int)sizeof(sub))
				remove_tree(sub, depth - 1);
		closedir(dir);
	}
	(void)rmdir(path); /* fails while anything is left */
}

void
init_cgroup_remove(const char *path)
{
	remove_tree(path, 4);
}
