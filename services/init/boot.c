/*
 * boot: PID 1's duties before the supervisor starts and after it stopped.
 * Everything here is blocking and bounded; it runs before the event loop
 * exists or after it ended, never during.
 */
#include "services/init/boot.h"
#include "common/core/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/random.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/net/addr.h"
#include "common/core/log.h"
#include "proto/ports.h"

#define INIT_ENTROPY_BYTES 64
#define INIT_SWEEP_MS 1000

struct boot_mount {
	const char *src, *target, *fstype, *data;
	unsigned long flags;
};

static const struct boot_mount mounts[] = {
	{"proc", "/proc", "proc", NULL, MS_NOSUID | MS_NODEV | MS_NOEXEC},
	{"sysfs", "/sys", "sysfs", NULL, MS_NOSUID | MS_NODEV | MS_NOEXEC},
	{"devtmpfs", "/dev", "devtmpfs", "mode=0755", MS_NOSUID},
	{"devpts", "/dev/pts", "devpts", "newinstance,ptmxmode=0666,mode=0620",
	 MS_NOSUID | MS_NOEXEC},
	{"tmpfs", "/dev/shm", "tmpfs", "mode=1777", MS_NOSUID | MS_NODEV},
	{"tmpfs", "/run", "tmpfs", "mode=0755", MS_NOSUID | MS_NODEV},
	{"tmpfs", "/tmp", "tmpfs", "mode=1777", MS_NOSUID | MS_NODEV},
	{"cgroup2", "/sys/fs/cgroup", "cgroup2", NULL,
	 MS_NOSUID | MS_NODEV | MS_NOEXEC},
};

/* A mount point is a directory on another device than its parent's. */
static bool
is_mounted(const char *target)
{
	char parent[64];
	struct stat a, b;

	snprintf(parent, sizeof(parent), "%s/..", target);
	return stat(target, &a) == 0 && stat(parent, &b) == 0 &&
	       (a.st_dev != b.st_dev || a.st_ino == b.st_ino);
}

int
init_boot_mounts(void)
{
	int failed = 0;

	for (size_t i = 0; i < sizeof(mounts) / sizeof(mounts[0]); i++) {
		const struct boot_mount *m = &mounts[i];

		if (mkdir(m->target, 0755) < 0 && errno != EEXIST) {
			cella_log_error("mount_failed", "target=%s err=%s",
					m->target, cella_errname(-errno));
			failed++;
			continue;
		}
		if (is_mounted(m->target))
			continue;
		if (mount(m->src, m->target, m->fstype, m->flags, m->data) < 0) {
			cella_log_error("mount_failed", "target=%s fs=%s err=%s",
					m->target, m->fstype, cella_errname(-errno));
			failed++;
			continue;
		}
		cella_log_info("mounted", "target=%s fs=%s", m->target, m->fstype);
	}
	return failed;
}

int
init_boot_loopback(void)
{
	struct ifreq ifr;
	int fd, rv = 0;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) {
		rv = -errno;
		goto out;
	}
	if ((ifr.ifr_flags & IFF_UP) == 0) {
		ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
		if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
			rv = -errno;
	}
out:
	close(fd);
	if (rv < 0)
		cella_log_error("loopback_failed", "err=%s", cella_errname(rv));
	else
		cella_log_info("loopback_up", "if=lo");
	return rv;
}

int
init_boot_seed(struct cella_nsm *nsm, int random_fd, size_t n)
{
	/* rand_pool_info ends in a flexible array: room for it by hand. */
	union {
		struct rand_pool_info info;
		uint8_t raw[sizeof(struct rand_pool_info) + INIT_ENTROPY_BYTES];
	} pool;
	struct cella_diag d = {{0}};
	int rv;

	if (n > INIT_ENTROPY_BYTES)
		return -EINVAL;
	rv = cella_nsm_get_random(nsm, pool.raw + sizeof(struct rand_pool_info),
				  n, &d);
	if (rv < 0) {
		cella_log_error("entropy_failed", "step=get_random err=%s msg=%s",
				cella_errname(rv), cella_q(d.msg));
		return rv;
	}
	pool.info.entropy_count = (int)(n * 8);
	pool.info.buf_size = (int)n;
	rv = ioctl(random_fd, RNDADDENTROPY, &pool.info) < 0 ? -errno : 0;
	explicit_bzero(&pool, sizeof(pool));
	if (rv < 0)
		cella_log_error("entropy_failed", "step=rndaddentropy err=%s",
				cella_errname(rv));
	return rv;
}

int
init_boot_entropy(void)
{
	struct cella_nsm *nsm = NULL;
	struct cella_diag d = {{0}};
	int rfd = -1, rv;

	if (access("/dev/nsm", F_OK) < 0) {
		cella_log_info("entropy_skipped", "reason=no_/dev/nsm");
		return 0;
	}
	rv = cella_nsm_dev_open(NULL, &nsm, &d);
	if (rv < 0) {
		cella_log_error("entropy_failed", "step=open err=%s msg=%s",
				cella_errname(rv), cella_q(d.msg));
		return rv;
	}
	rfd = open("/dev/random", O_WRONLY | O_CLOEXEC);
	rv = rfd < 0 ? -errno : init_boot_seed(nsm, rfd, INIT_ENTROPY_BYTES);
	if (rfd < 0)
		cella_log_error("entropy_failed", "step=open_random err=%s",
				cella_errname(rv));
	if (rv == 0)
		cella_log_info("entropy_seeded", "bytes=%d", INIT_ENTROPY_BYTES);
	if (rfd >= 0)
		close(rfd);
	cella_nsm_free(nsm);
	return rv;
}

static int
heartbeat_exchange(int fd, uint64_t deadline)
{
	uint8_t b = CELLA_HEARTBEAT_BYTE;
	struct pollfd p = {.fd = fd, .events = POLLIN};
	uint64_t now;
	ssize_t n;

	if (write(fd, &b, 1) != 1)
		return -errno;
	for (;;) {
		now = cella_mono_ms();
		if (now >= deadline)
			return -ETIMEDOUT;
		if (poll(&p, 1, (int)(deadline - now)) < 0 && errno != EINTR)
			return -errno;
		n = read(fd, &b, 1);
		if (n == 1)
			return b == CELLA_HEARTBEAT_BYTE ? 0 : -EPROTO;
		if (n == 0)
			return -ECONNRESET;
		if (errno != EAGAIN && errno != EINTR)
			return -errno;
	}
}

int
init_boot_heartbeat(const char *url, uint64_t timeout_ms)
{
	struct cella_diag d = {{0}};
	struct cella_addr a;
	uint64_t deadline = cella_mono_ms() + timeout_ms;
	int fd, rv;

	rv = cella_addr_parse(url, &a, &d);
	if (rv < 0)
		goto out;
	fd = cella_addr_connect_wait(&a, (int)timeout_ms, &d);
	if (fd < 0) {
		rv = fd;
		goto out;
	}
	rv = heartbeat_exchange(fd, deadline);
	close(fd);
out:
	if (rv < 0)
		cella_log_error("heartbeat_failed", "url=%s err=%s msg=%s",
				cella_q(url), cella_errname(rv), cella_q(d.msg));
	else
		cella_log_info("heartbeat_ok", "url=%s", cella_q(url));
	return rv;
}

/* Reap until no child is left or ms passed; returns how many were reaped. */
static int
reap_for(int ms)
{
	uint64_t deadline = cella_mono_ms() + (uint64_t)ms;
	int n = 0, st;
	pid_t pid;

	for (;;) {
		while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
			n++;
		if (pid < 0 && errno == ECHILD)
			return n;
		if (cella_mono_ms() >= deadline)
			return n;
		usleep(5000);
	}
}

int
init_boot_final(bool pid1, bool poweroff)
{
	int found = 0;

	if (pid1) {
		/* kill(-1) succeeds when it found at least one process. */
		if (kill(-1, SIGTERM) == 0)
			found = 1 + reap_for(INIT_SWEEP_MS);
		if (kill(-1, SIGKILL) == 0)
			found += 1 + reap_for(INIT_SWEEP_MS);
		cella_log_info("final_sweep", "left=%d", found);
	}
	sync();
	if (pid1 && poweroff) {
		cella_log_info("poweroff", "sync=done");
		(void)reboot(RB_POWER_OFF);
		cella_log_error("poweroff_failed", "err=%s", cella_errname(-errno));
	}
	return found;
}
