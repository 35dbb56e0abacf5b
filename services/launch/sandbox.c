/*
 * sandbox: the emulated enclave's PID 1 and its namespaces. The child of
 * clone() runs only system calls until it execs (the launcher has no
 * threads, so a copied address space is consistent); each step that fails
 * reports its name and errno through a close-on-exec pipe, whose EOF
 * without a report means cella-init is running. Mount changes happen in
 * the child's own mount namespace, so nothing is left on the host when the
 * namespace's last process ends.
 */
#include "services/launch/sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include "common/core/log.h"

#define SBX_STACK (256 * 1024)
#define SBX_NS_FLAGS \
	(CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWUTS | CLONE_NEWIPC)

struct child {
	const struct sbx_opts *o;
	int sync_rd; /* the parent writes one byte once the id maps are set */
	int err_wr;  /* close-on-exec: a failed step, or EOF at exec */
	bool userns;
};

struct child_err {
	int err;
	char step[120];
};

/* Device nodes bound in from the host's /dev; no mknod in the enclave. */
static const char *const dev_nodes[] = {"null",	   "zero", "full",
					"random", "urandom", "tty"};
static const char *const dev_links[][2] = {
	{"fd", "/proc/self/fd"},     {"stdin", "/proc/self/fd/0"},
	{"stdout", "/proc/self/fd/1"}, {"stderr", "/proc/self/fd/2"},
	{"ptmx", "pts/ptmx"},
};

/* What an enclave's root could use to undo the sandbox. */
static const int caps_dropped[] = {
	CAP_SYS_ADMIN,	    CAP_SYS_MODULE,	 CAP_SYS_RAWIO,
	CAP_SYS_PTRACE,	    CAP_SYS_BOOT,	 CAP_SYS_TIME,
	CAP_MKNOD,	    CAP_MAC_ADMIN,	 CAP_MAC_OVERRIDE,
	CAP_SYSLOG,	    CAP_DAC_READ_SEARCH, CAP_LINUX_IMMUTABLE,
	CAP_BPF,	    CAP_PERFMON,	 CAP_WAKE_ALARM,
	CAP_BLOCK_SUSPEND,  CAP_AUDIT_CONTROL,	 CAP_AUDIT_READ,
	CAP_SYS_PACCT,	    CAP_SYS_TTY_CONFIG,	 CAP_CHECKPOINT_RESTORE,
};

static _Noreturn void
child_fail(struct child *c, const char *step, const char *path)
{
	struct child_err m = {.err = errno};

	snprintf(m.step, sizeof(m.step), "%s%s%s", step, path ? " " : "",
		 path ? path : "");
	(void)!write(c->err_wr, &m, sizeof(m));
	_exit(EX_OSERR);
}

/* mountpoint + path, into buf (PATH_MAX). */
static const char *
in_root(const struct child *c, const char *path, char *buf)
{
	snprintf(buf, PATH_MAX, "%s%s", c->o->mountpoint,
		 strcmp(path, "/") == 0 ? "" : path);
	return buf;
}

static int
mkdir_p(char *path)
{
	for (char *p = path + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char saved = *p;

		*p = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST) {
			*p = saved;
			return -1;
		}
		*p = saved;
		if (saved == '\0')
			return 0;
	}
}

static void
set_attr(struct child *c, const char *path, uint64_t set, const char *step)
{
	struct mount_attr a = {.attr_set = set, .propagation = MS_PRIVATE};

	if (mount_setattr(AT_FDCWD, path, AT_RECURSIVE, &a, sizeof(a)) < 0)
		child_fail(c, step, path);
}

static void
mount_dev(struct child *c)
{
	char path[PATH_MAX], dev[64];
	int fd;

	if (mount("tmpfs", in_root(c, "/dev", path), "tmpfs", MS_NOSUID,
		  "mode=0755,size=64k") < 0)
		child_fail(c, "mount tmpfs", path);
	for (size_t i = 0; i < sizeof(dev_nodes) / sizeof(dev_nodes[0]); i++) {
		snprintf(dev, sizeof(dev), "/dev/%s", dev_nodes[i]);
		fd = open(in_root(c, dev, path), O_CREAT | O_WRONLY | O_CLOEXEC,
			  0666);
		if (fd < 0)
			child_fail(c, "create", path);
		close(fd);
		if (mount(dev, path, NULL, MS_BIND, NULL) < 0)
			child_fail(c, "bind", dev);
	}
	for (size_t i = 0; i < sizeof(dev_links) / sizeof(dev_links[0]); i++) {
		snprintf(dev, sizeof(dev), "/dev/%s", dev_links[i][0]);
		if (symlink(dev_links[i][1], in_root(c, dev, path)) < 0)
			child_fail(c, "symlink", path);
	}
	if (mkdir(in_root(c, "/dev/pts", path), 0755) < 0 ||
	    mount("devpts", path, "devpts", MS_NOSUID | MS_NOEXEC,
		  "newinstance,ptmxmode=0666,mode=0620") < 0)
		child_fail(c, "mount devpts", path);
	if (mkdir(in_root(c, "/dev/shm", path), 01777) < 0 ||
	    mount("tmpfs", path, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777") < 0)
		child_fail(c, "mount tmpfs", path);
}

/* Fresh kernel filesystems and private scratch space over the copy. */
static void
mount_fresh(struct child *c)
{
	char path[PATH_MAX];

	if (mount("proc", in_root(c, "/proc", path), "proc",
		  MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		child_fail(c, "mount proc", path);
	/* A user namespace may be refused sysfs (a masked host /sys); the
	 * host's, read-only, then stays. */
	if (mount("sysfs", in_root(c, "/sys", path), "sysfs",
		  MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		cella_log_warn("sysfs_kept", "err=%s", cella_errname(-errno));
	if (mount("tmpfs", in_root(c, "/run", path), "tmpfs",
		  MS_NOSUID | MS_NODEV, "mode=0755") < 0)
		child_fail(c, "mount tmpfs", path);
	if (mount("tmpfs", in_root(c, "/tmp", path), "tmpfs",
		  MS_NOSUID | MS_NODEV, "mode=1777") < 0)
		child_fail(c, "mount tmpfs", path);
	mount_dev(c);
}

/* Never shown to an enclave: people's homes and the password hashes. */
static const char *const default_hides[] = {
	"/home", "/root", "/etc/shadow", "/etc/gshadow", "/etc/shadow-",
	"/etc/gshadow-",
};

#define NDEFAULT_HIDES (sizeof(default_hides) / sizeof(default_hides[0]))
#define HIDDEN_INODE ".cella-hidden" /* in the new root's /run, briefly */

static size_t
nhides(const struct child *c)
{
	return NDEFAULT_HIDES + c->o->nhide;
}

static const char *
hide_at(const struct child *c, size_t i)
{
	return i < NDEFAULT_HIDES ? default_hides[i]
				  : c->o->hide[i - NDEFAULT_HIDES];
}

/*
 * What a hidden file becomes: a socket inode nobody listens on, which no
 * one, root included, can open (ENXIO), where an empty file would read
 * as if it were there. Made in the new root's fresh /run (by a relative
 * name: sun_path is short) and unlinked once every hide holds it.
 */
static void
hidden_inode(struct child *c, char *path, size_t len)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char run[PATH_MAX];
	int fd;

	in_root(c, "/run", run);
	snprintf(path, len, "%s/" HIDDEN_INODE, run);
	memcpy(sa.sun_path, HIDDEN_INODE, sizeof(HIDDEN_INODE));
	if (chdir(run) < 0 ||
	    (fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		child_fail(c, "hidden inode", run);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(HIDDEN_INODE, 0) < 0)
		child_fail(c, "hidden inode", path);
	close(fd);
}

/*
 * Where hide i is in the new root: the host's path with its links
 * resolved (/home may lead to /var/home), which the new root has at the
 * same place. False when there is nothing to hide.
 */
static bool
hide_path(struct child *c, size_t i, char *path, struct stat *st)
{
	char real[PATH_MAX];

	if (realpath(hide_at(c, i), real) == NULL)
		return false;
	return lstat(in_root(c, real, path), st) == 0;
}

/* A directory becomes an empty tmpfs, a file the hidden inode. */
static void
hide_one(struct child *c, size_t i, const char *inode)
{
	char path[PATH_MAX];
	struct stat st;

	if (!hide_path(c, i, path, &st))
		return;
	if (S_ISDIR(st.st_mode)) {
		if (mount("tmpfs", path, "tmpfs",
			  MS_NOSUID | MS_NODEV | MS_NOEXEC,
			  "mode=0755,size=64k") < 0)
			child_fail(c, "hide", path);
	} else if (mount(inode, path, NULL, MS_BIND, NULL) < 0) {
		child_fail(c, "hide", path);
	} else {
		set_attr(c, path, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOEXEC, "hide");
	}
}

static void
mount_hides(struct child *c)
{
	char inode[PATH_MAX + 32];

	hidden_inode(c, inode, sizeof(inode));
	for (size_t i = 0; i < nhides(c); i++)
		hide_one(c, i, inode);
	if (unlink(inode) < 0)
		child_fail(c, "unlink", inode);
}

/* Once the binds below them are in place, hidden directories are
 * read-only too (each mount alone: the binds keep their own flags). */
static void
seal_hides(struct child *c)
{
	struct mount_attr a = {.attr_set = MOUNT_ATTR_RDONLY};
	char path[PATH_MAX];
	struct stat st;

	for (size_t i = 0; i < nhides(c); i++)
		if (hide_path(c, i, path, &st) && S_ISDIR(st.st_mode) &&
		    mount_setattr(AT_FDCWD, path, 0, &a, sizeof(a)) < 0)
			child_fail(c, "seal", path);
}

static void
mount_binds(struct child *c, const char *const *dirs, size_t n, bool ro)
{
	char path[PATH_MAX];

	for (size_t i = 0; i < n; i++) {
		if (mkdir_p((char *)in_root(c, dirs[i], path)) < 0)
			child_fail(c, "mkdir", path);
		if (mount(dirs[i], path, NULL, MS_BIND | MS_REC, NULL) < 0)
			child_fail(c, "bind", dirs[i]);
		set_attr(c, path,
			 MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
				 (ro ? MOUNT_ATTR_RDONLY : 0),
			 "setattr");
	}
}

static void
build_root(struct child *c)
{
	const struct sbx_opts *o = c->o;

	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		child_fail(c, "make / private", NULL);
	if (mount("/", o->mountpoint, NULL, MS_BIND | MS_REC, NULL) < 0)
		child_fail(c, "bind / on", o->mountpoint);
	set_attr(c, o->mountpoint,
		 MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
		 "read-only (mount_setattr needs Linux >= 5.12)");
	mount_fresh(c);
	/* Hidden first: the state directories bound next live below one. */
	mount_hides(c);
	mount_binds(c, o->ro, o->nro, true);
	mount_binds(c, o->rw, o->nrw, false);
	seal_hides(c);
}

static void
enter_root(struct child *c)
{
	if (chdir(c->o->mountpoint) < 0)
		child_fail(c, "chdir", c->o->mountpoint);
	/* The old root stacks under the new one; detach it from there. */
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		child_fail(c, "pivot_root", c->o->mountpoint);
	if (umount2(".", MNT_DETACH) < 0)
		child_fail(c, "detach the old root", NULL);
	if (chdir("/") < 0)
		child_fail(c, "chdir", "/");
	if (sethostname(c->o->hostname, strlen(c->o->hostname)) < 0)
		child_fail(c, "sethostname", c->o->hostname);
	for (size_t i = 0; i < sizeof(caps_dropped) / sizeof(caps_dropped[0]);
	     i++)
		if (prctl(PR_CAPBSET_DROP, caps_dropped[i], 0, 0, 0) < 0 &&
		    errno != EINVAL)
			child_fail(c, "drop capabilities", NULL);
}

/* What the enclave inherits of the host's environment: nothing that
 * could carry a host secret in. */
static const char *const env_kept[] = {
	"PATH", "LANG", "LC_ALL", "TZ", "CELLA_VSOCK_DIR",
	"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS", NULL,
};

static size_t
enclave_env(char **envp, size_t max, char *cid)
{
	extern char **environ;
	size_t n = 0;

	for (char **e = environ; e != NULL && *e != NULL && n + 2 < max; e++)
		for (const char *const *k = env_kept; *k != NULL; k++) {
			size_t kl = strlen(*k);

			if (strncmp(*e, *k, kl) == 0 && (*e)[kl] == '=') {
				envp[n++] = *e;
				break;
			}
		}
	envp[n++] = cid;
	envp[n] = NULL;
	return n;
}

static _Noreturn void
exec_init(struct child *c)
{
	const struct sbx_opts *o = c->o;
	char cid[32], *envp[16];
	char *argv[] = {(char *)o->init, "--config", (char *)o->config,
			"--ready-fd", "3", NULL};
	sigset_t none;

	snprintf(cid, sizeof(cid), "CELLA_VSOCK_CID=%u", o->cid);
	(void)enclave_env(envp, sizeof(envp) / sizeof(envp[0]), cid);
	sigemptyset(&none);
	if (sigprocmask(SIG_SETMASK, &none, NULL) < 0)
		child_fail(c, "sigprocmask", NULL);
	if (o->ready_fd < 0)
		argv[3] = NULL;
	else if (o->ready_fd == 3 ? fcntl(3, F_SETFD, 0) < 0
				  : dup2(o->ready_fd, 3) < 0)
		child_fail(c, "ready fd", NULL);
	execve(o->init, argv, envp);
	child_fail(c, "exec", o->init);
}

static int
child_main(void *arg)
{
	struct child *c = arg;
	char go;

	if (c->userns && read(c->sync_rd, &go, 1) != 1)
		_exit(EX_OSERR); /* the parent gave up */
	/* Isolated, our death ends the namespace; otherwise let init stop
	 * its services itself. */
	if (prctl(PR_SET_PDEATHSIG, c->o->isolate ? SIGKILL : SIGTERM) < 0)
		child_fail(c, "pdeathsig", NULL);
	if (c->o->isolate) {
		build_root(c);
		enter_root(c);
	}
	exec_init(c);
}

static int
write_file(pid_t pid, const char *name, const char *text)
{
	char path[64];
	int fd, rv = 0;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		rv = -errno;
	close(fd);
	return rv;
}

/* Root maps every id onto itself; anyone else becomes root inside. */
static int
id_maps(pid_t pid, struct cella_diag *d)
{
	char uid[64], gid[64];
	int rv;

	if (geteuid() == 0) {
		snprintf(uid, sizeof(uid), "0 0 4294967295\n");
		snprintf(gid, sizeof(gid), "0 0 4294967295\n");
	} else {
		snprintf(uid, sizeof(uid), "0 %u 1\n", (unsigned)geteuid());
		snprintf(gid, sizeof(gid), "0 %u 1\n", (unsigned)getegid());
		if ((rv = write_file(pid, "setgroups", "deny")) < 0)
			return cella_diag_set(d, rv, "setgroups: %s",
					      cella_strerror(rv));
	}
	if ((rv = write_file(pid, "uid_map", uid)) < 0 ||
	    (rv = write_file(pid, "gid_map", gid)) < 0)
		return cella_diag_set(d, rv, "user namespace id map: %s",
				      cella_strerror(rv));
	return 0;
}

static int
do_clone(struct child *c, int flags, pid_t *out, struct cella_diag *d)
{
	void *stack = mmap(NULL, SBX_STACK, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	pid_t pid;
	int rv;

	if (stack == MAP_FAILED)
		return cella_diag_set(d, -errno, "mmap: %s",
				      cella_strerror(-errno));
	pid = clone(child_main, (char *)stack + SBX_STACK, flags | SIGCHLD, c);
	rv = -errno;
	munmap(stack, SBX_STACK); /* the child has its own copy */
	if (pid < 0) {
		if (rv == -EINVAL || rv == -ENOSPC || rv == -EUSERS)
			rv = -EPERM; /* a namespace limit or a kernel without */
		return cella_diag_set(d, rv, "namespaces are not permitted "
					     "here (clone: %s)",
				      cella_strerror(rv));
	}
	*out = pid;
	return 0;
}

/* The child's report: 0 when it exec'd, else the failed step. */
static int
child_result(int err_rd, pid_t pid, struct cella_diag *d)
{
	struct child_err m;
	ssize_t n;

	do
		n = read(err_rd, &m, sizeof(m));
	while (n < 0 && errno == EINTR);
	if (n == 0)
		return 0;
	(void)waitpid(pid, NULL, 0);
	if (n != (ssize_t)sizeof(m))
		return cella_diag_set(d, -EPROTO, "the enclave's PID 1 ended "
						  "before it ran cella-init");
	m.step[sizeof(m.step) - 1] = '\0';
	return cella_diag_set(d, m.err == EPERM || m.err == EACCES ? -EPERM
								    : -m.err,
			      "%s: %s", m.step, cella_strerror(-m.err));
}

static int
try_start(const struct sbx_opts *o, int flags, pid_t *pid,
	  struct cella_diag *d)
{
	struct child c = {.o = o, .userns = (flags & CLONE_NEWUSER) != 0};
	int sync[2] = {-1, -1}, err[2] = {-1, -1}, rv;
	pid_t p = -1;

	if (pipe2(sync, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
		rv = cella_diag_set(d, -errno, "pipe: %s",
				    cella_strerror(-errno));
		goto out;
	}
	c.sync_rd = sync[0];
	c.err_wr = err[1];
	if ((rv = do_clone(&c, flags, &p, d)) < 0)
		goto out;
	close(err[1]);
	err[1] = -1;
	if (c.userns && (rv = id_maps(p, d)) < 0) {
		kill(p, SIGKILL);
		(void)waitpid(p, NULL, 0);
		goto out;
	}
	if (c.userns && write(sync[1], "g", 1) != 1) {
		rv = cella_diag_set(d, -errno, "sync: %s",
				    cella_strerror(-errno));
		goto out;
	}
	if ((rv = child_result(err[0], p, d)) == 0)
		*pid = p;
out:
	for (int i = 0; i < 2; i++) {
		if (sync[i] >= 0)
			close(sync[i]);
		if (err[i] >= 0)
			close(err[i]);
	}
	return rv;
}

int
sbx_start(const struct sbx_opts *o, pid_t *pid, bool *userns,
	  struct cella_diag *d)
{
	int rv;

	*userns = false;
	if (!o->isolate)
		return try_start(o, 0, pid, d);
	if (geteuid() == 0) {
		rv = try_start(o, SBX_NS_FLAGS, pid, d);
		if (rv != -EPERM)
			return rv;
		/* Root without CAP_SYS_ADMIN (a container) may still own a
		 * user namespace of its own. */
	}
	*userns = true;
	return try_start(o, SBX_NS_FLAGS | CLONE_NEWUSER, pid, d);
}
