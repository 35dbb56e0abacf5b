/*
 * cella-launch: the local emulator's stand-in for nitro-cli run-enclave.
 * It answers the enclave's heartbeat (the parent's side of vsock://3:9000),
 * starts cella-init as the enclave's PID 1 (sandbox.h), and is ready once
 * the heartbeat came and cella-init's own ready line followed: every
 * service of the enclave has settled. SIGTERM (and INT, HUP, QUIT) goes on
 * to the enclave's PID 1, which stops its services in reverse order; we
 * exit with its status. If we die, the enclave dies with us.
 *
 * It is one process with one poll loop, run by the host-side cella-init
 * that `cella up` starts; it does not restart the enclave or read its
 * output (the enclave's console is our stderr).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include "common/net/addr.h"
#include "common/core/log.h"
#include "common/core/opts.h"
#include "common/core/ready.h"
#include "proto/ports.h"
#include "services/launch/sandbox.h"

#define HB_CONNS_MAX 4

struct launch {
	struct sbx_opts sbx;
	const char *hb_url;
	int ready_fd;
	int sigfd, hb_lfd, enc_ready_rd;
	int hb[HB_CONNS_MAX];
	pid_t pid;
	bool hb_seen, enc_ready, announced, stopping;
	int status;
};

static struct launch launch = {
	.sbx = {.cid = 16, .hostname = "cella", .isolate = true},
	.hb_url = "vsock://3:9000", .ready_fd = -1,
	.enc_ready_rd = -1, .hb = {-1, -1, -1, -1},
};
static uint64_t cid_flag = 16;
static bool no_namespaces;

static int
add_dir(const char **list, size_t *n, const char *dir, struct cella_diag *d)
{
	if (dir[0] != '/')
		return cella_diag_set(d, -EINVAL, "not an absolute path");
	if (*n == SBX_DIRS_MAX)
		return cella_diag_set(d, -E2BIG, "more than %d directories",
				      SBX_DIRS_MAX);
	list[(*n)++] = dir;
	return 0;
}

static int
add_rw(void *dst, const char *word, struct cella_diag *d)
{
	struct sbx_opts *o = dst;

	return add_dir(o->rw, &o->nrw, word, d);
}

static int
add_ro(void *dst, const char *word, struct cella_diag *d)
{
	struct sbx_opts *o = dst;

	return add_dir(o->ro, &o->nro, word, d);
}

static int
add_hide(void *dst, const char *word, struct cella_diag *d)
{
	struct sbx_opts *o = dst;

	return add_dir(o->hide, &o->nhide, word, d);
}

static int
set_heartbeat(void *dst, const char *word, struct cella_diag *d)
{
	(void)d;
	*(const char **)dst = strcmp(word, "none") == 0 ? NULL : word;
	return 0;
}

static const struct cella_opt flags[] = {
	{"config", 0, CELLA_OPT_STR, &launch.sbx.config, .metavar = "FILE",
	 .help = "cella-init's configuration (required)"},
	{"mountpoint", 0, CELLA_OPT_STR, &launch.sbx.mountpoint,
	 .metavar = "DIR", .help = "an empty directory to assemble the root on"},
	{"init", 0, CELLA_OPT_STR, &launch.sbx.init, .metavar = "PATH",
	 .help = "cella-init (default: found in PATH)"},
	{"cid", 0, CELLA_OPT_U64, &cid_flag, .min = 3, .max = 0xfffffffe,
	 .metavar = "N", .help = "the enclave's CELLA_VSOCK_CID (default 16)"},
	{"hostname", 0, CELLA_OPT_STR, &launch.sbx.hostname, .metavar = "NAME",
	 .help = "the enclave's host name (default cella)"},
	{"bind", 0, CELLA_OPT_FUNC, &launch.sbx, .fn = add_rw, .metavar = "DIR",
	 .help = "make DIR writable inside, at the same path"},
	{"bind-ro", 0, CELLA_OPT_FUNC, &launch.sbx, .fn = add_ro,
	 .metavar = "DIR",
	 .help = "make DIR visible read-only, at the same path"},
	{"hide", 0, CELLA_OPT_FUNC, &launch.sbx, .fn = add_hide,
	 .metavar = "PATH",
	 .help = "an empty directory (or a file nobody can\n"
		 "open) instead of PATH; /home, /root and the\n"
		 "shadow files are always hidden"},
	{"heartbeat", 0, CELLA_OPT_FUNC, &launch.hb_url, .fn = set_heartbeat,
	 .metavar = "URL",
	 .help = "answer the enclave's heartbeat there (default\n"
		 "vsock://3:9000; 'none': no heartbeat needed)"},
	{"no-namespaces", 0, CELLA_OPT_FLAG, &no_namespaces,
	 .help = "no isolation at all (the process backend)"},
	{"ready-fd", 0, CELLA_OPT_FD, &launch.ready_fd, .metavar = "N",
	 .help = "write one line to N once the enclave is ready"},
	{0},
};

static const struct cella_optset optset = {
	.prog = "cella-launch",
	.args = "--config FILE --mountpoint DIR [OPTIONS]",
	.about = "Runs cella-init as PID 1 of an emulated enclave: new PID, "
		 "mount,\n"
		 "network, UTS and IPC namespaces (and a user namespace when "
		 "not\n"
		 "root), the host's root read-only with fresh /proc /sys /dev "
		 "and\n"
		 "private /run and /tmp, only loopback. `cella up` runs it; "
		 "you\n"
		 "rarely need to.\n",
	.opts = flags,
	.more = "Exit: the enclave's PID 1's status (128+N for signal N); 64 "
		"usage,\n"
		"77 namespaces not permitted, 76 no heartbeat, 71 system "
		"error.\n",
};

static int
usage_error(const char *msg)
{
	fprintf(stderr, "cella-launch: %s (try 'cella-launch --help')\n", msg);
	return EX_USAGE;
}

/* -1 to go on, else what main returns: 0 after --help, 64 usage. */
static int
parse_flags(struct launch *l, int argc, char **argv)
{
	int first, rv = cella_opts_parse(&optset, argc, argv, &first);

	if (rv != CELLA_OPTS_RUN)
		return cella_opts_exit(rv);
	l->sbx.cid = (uint32_t)cid_flag;
	l->sbx.isolate = !no_namespaces;
	if (l->sbx.config == NULL)
		return usage_error("--config is required");
	if (l->sbx.isolate && (l->sbx.mountpoint == NULL ||
			       l->sbx.mountpoint[0] != '/'))
		return usage_error("--mountpoint must be an absolute path");
	return -1;
}

/* cella-init by absolute path: the new root shows the host's at the
 * same paths, so the path found here is the one run there. */
static int
find_init(struct launch *l, char *buf, size_t len)
{
	const char *path = getenv("PATH"), *p, *colon;

	if (l->sbx.init == NULL)
		l->sbx.init = "cella-init";
	if (strchr(l->sbx.init, '/') != NULL)
		return realpath(l->sbx.init, buf) != NULL ? (l->sbx.init = buf, 0)
							  : -errno;
	for (p = path ? path : "/usr/local/bin:/usr/bin:/bin";; p = colon + 1) {
		colon = strchrnul(p, ':');
		snprintf(buf, len, "%.*s/%s", (int)(colon - p), p, l->sbx.init);
		if (p != colon && access(buf, X_OK) == 0) {
			l->sbx.init = buf;
			return 0;
		}
		if (*colon == '\0')
			return -ENOENT;
	}
}

static int
open_heartbeat(struct launch *l)
{
	struct cella_diag d = {{0}};
	struct cella_addr a;

	l->hb_lfd = -1;
	if (l->hb_url == NULL)
		return 0;
	if (cella_addr_parse(l->hb_url, &a, &d) < 0 ||
	    (l->hb_lfd = cella_addr_listen(&a, 4, &d)) < 0) {
		cella_log_error("heartbeat_listen_failed", "url=%s msg=%s",
				cella_q(l->hb_url), cella_q(d.msg));
		return EX_OSERR;
	}
	return 0;
}

static void
close_heartbeat(struct launch *l)
{
	struct cella_addr a;

	if (l->hb_lfd < 0)
		return;
	close(l->hb_lfd);
	l->hb_lfd = -1;
	if (cella_addr_parse(l->hb_url, &a, NULL) == 0)
		cella_addr_unlink(&a);
}

static void
stop_enclave(struct launch *l, int sig, const char *why)
{
	if (l->pid <= 0 || l->stopping)
		return;
	l->stopping = true;
	cella_log_info("stopping", "pid=%d why=%s", (int)l->pid, why);
	(void)kill(l->pid, sig);
}

static void
on_heartbeat_conn(struct launch *l, int i)
{
	uint8_t b = 0;
	ssize_t n = read(l->hb[i], &b, 1);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n == 1 && b == CELLA_HEARTBEAT_BYTE &&
	    write(l->hb[i], &b, 1) == 1) {
		l->hb_seen = true;
		cella_log_info("heartbeat", "url=%s", cella_q(l->hb_url));
	} else {
		cella_log_warn("heartbeat_bad", "bytes=%zd byte=0x%02x", n, b);
	}
	close(l->hb[i]);
	l->hb[i] = -1;
}

static void
on_heartbeat_accept(struct launch *l)
{
	int fd = cella_addr_accept(l->hb_lfd);

	if (fd < 0)
		return;
	for (int i = 0; i < HB_CONNS_MAX; i++)
		if (l->hb[i] < 0) {
			l->hb[i] = fd;
			return;
		}
	close(fd); /* only the enclave's init connects here */
}

static void
on_enclave_ready(struct launch *l)
{
	char line[64];
	ssize_t n = read(l->enc_ready_rd, line, sizeof(line));

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	close(l->enc_ready_rd);
	l->enc_ready_rd = -1;
	if (n <= 0)
		return; /* failed before ready: its exit tells the rest */
	l->enc_ready = true;
	if (l->hb_url != NULL && !l->hb_seen) {
		cella_log_error("no_heartbeat", "url=%s msg=%s",
				cella_q(l->hb_url),
				cella_q("the enclave booted without reaching "
					"its parent"));
		l->status = EX_PROTOCOL;
		stop_enclave(l, SIGTERM, "no_heartbeat");
		return;
	}
	l->announced = true;
	cella_log_info("ready", "pid=%d", (int)l->pid);
	(void)cella_ready_notify(l->ready_fd);
	l->ready_fd = -1;
}

/* 1 when the enclave's PID 1 is gone (l->status is set). */
static int
on_signal(struct launch *l)
{
	struct signalfd_siginfo si;
	int st;

	if (read(l->sigfd, &si, sizeof(si)) != (ssize_t)sizeof(si))
		return 0;
	if (si.ssi_signo != SIGCHLD) {
		stop_enclave(l, SIGTERM, "signal");
		return 0;
	}
	if (waitpid(l->pid, &st, WNOHANG) != l->pid)
		return 0;
	if (l->status == 0)
		l->status = WIFEXITED(st) ? WEXITSTATUS(st)
					  : 128 + WTERMSIG(st);
	cella_log_info("enclave_exit", "pid=%d status=%d ready=%d",
		       (int)l->pid, l->status, l->announced);
	l->pid = 0;
	return 1;
}

static void
loop(struct launch *l)
{
	struct pollfd p[3 + HB_CONNS_MAX];

	for (;;) {
		p[0] = (struct pollfd){.fd = l->sigfd, .events = POLLIN};
		p[1] = (struct pollfd){.fd = l->hb_lfd, .events = POLLIN};
		p[2] = (struct pollfd){.fd = l->enc_ready_rd, .events = POLLIN};
		for (int i = 0; i < HB_CONNS_MAX; i++)
			p[3 + i] = (struct pollfd){.fd = l->hb[i],
						   .events = POLLIN};
		if (poll(p, 3 + HB_CONNS_MAX, -1) < 0) {
			if (errno == EINTR)
				continue;
			cella_log_error("poll_failed", "err=%s",
					cella_errname(-errno));
			stop_enclave(l, SIGKILL, "poll_failed");
		}
		/* The heartbeat is always answered before init can be ready. */
		for (int i = 0; i < HB_CONNS_MAX; i++)
			if (p[3 + i].revents != 0)
				on_heartbeat_conn(l, i);
		if (p[1].revents != 0)
			on_heartbeat_accept(l);
		if (p[2].revents != 0)
			on_enclave_ready(l);
		if (p[0].revents != 0 && on_signal(l))
			return;
	}
}

static int
start(struct launch *l)
{
	struct cella_diag d = {{0}};
	int rp[2];
	bool userns;
	int rv;

	if (pipe2(rp, O_CLOEXEC | O_NONBLOCK) < 0)
		return EX_OSERR;
	/* The write end must block for init: only our end is non-blocking. */
	(void)fcntl(rp[1], F_SETFL, 0);
	l->sbx.ready_fd = rp[1];
	rv = sbx_start(&l->sbx, &l->pid, &userns, &d);
	close(rp[1]);
	if (rv < 0) {
		close(rp[0]);
		cella_log_error("start_failed", "err=%s msg=%s", cella_errname(rv),
				cella_q(d.msg));
		return rv == -EPERM ? EX_NOPERM : EX_OSERR;
	}
	l->enc_ready_rd = rp[0];
	if (l->sbx.isolate)
		cella_log_info("enclave_started", "pid=%d cid=%u userns=%d",
			       (int)l->pid, l->sbx.cid, userns);
	else
		cella_log_warn("enclave_started", "pid=%d cid=%u isolation=none "
			       "msg=%s", (int)l->pid, l->sbx.cid,
			       cella_q("process backend: no namespaces, no "
				       "isolation from the host"));
	return 0;
}

int
main(int argc, char **argv)
{
	struct launch *l = &launch;
	char init[4096];
	sigset_t set;
	int rv;

	cella_log_init("launch", CELLA_LOG_INFO);
	/* Our supervisor gone means nobody can stop the enclave: stop it. */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0 || getppid() == 1)
		return EX_OSERR;
	if ((rv = parse_flags(l, argc, argv)) >= 0)
		return rv;
	if (find_init(l, init, sizeof(init)) < 0) {
		fprintf(stderr, "cella-launch: %s not found\n", l->sbx.init);
		return EX_UNAVAILABLE;
	}
	sigemptyset(&set);
	for (int s = 0; s < 4; s++)
		sigaddset(&set, (int[]){SIGTERM, SIGINT, SIGHUP, SIGQUIT}[s]);
	sigaddset(&set, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0 ||
	    (l->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK)) < 0)
		return EX_OSERR;
	if ((rv = open_heartbeat(l)) != 0)
		return rv;
	if ((rv = start(l)) != 0) {
		close_heartbeat(l);
		return rv;
	}
	loop(l);
	close_heartbeat(l);
	for (int i = 0; i < HB_CONNS_MAX; i++)
		if (l->hb[i] >= 0)
			close(l->hb[i]);
	if (l->enc_ready_rd >= 0)
		close(l->enc_ready_rd);
	close(l->sigfd);
	cella_log_info("exit", "code=%d", l->status);
	return l->status;
}
