/*
 * uprun: the host-side cella-init of a `cella up` enclave: starting it in
 * a session of its own (so that the terminal's Ctrl-C reaches `cella up`
 * alone, which then stops it in order), waiting for its ready line,
 * stopping it, and what is left to clean up afterwards. A process is only
 * ever signalled after its pid and start time both matched the state.
 */
#include "common/core/clock.h"
#include "services/cella/up/up.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "common/cbor/cbor.h"
#include "proto/messages.h"

#define UP_CHILDREN_MAX 64

/*
 * The host init logs to console.log itself, keeping it under
 * enclave.console_bytes (the old half in console.log.1); its stderr
 * points there from the start, so that even its first words land in it.
 * It writes nothing to stdout.
 */
static _Noreturn void
exec_host_init(const struct cella_up_plan *p, int logfd, int readyfd)
{
	char cfg[PATH_MAX + 16], vs[PATH_MAX + 8], log[PATH_MAX + 16],
		bytes[24];
	char *argv[] = {(char *)p->init, "--config", cfg, "--ready-fd", "3",
			"--log-file", log, "--log-bytes", bytes, NULL};
	sigset_t none;
	int null = open("/dev/null", O_RDWR);

	snprintf(cfg, sizeof(cfg), "%s/host.yaml", p->st.dir);
	snprintf(vs, sizeof(vs), "%s/vsock", p->st.dir);
	snprintf(log, sizeof(log), "%s/console.log", p->st.dir);
	snprintf(bytes, sizeof(bytes), "%llu",
		 (unsigned long long)p->console_bytes);
	sigemptyset(&none);
	if (setsid() < 0 || null < 0 || dup2(null, 0) < 0 ||
	    dup2(null, 1) < 0 || dup2(logfd, 2) < 0 || dup2(readyfd, 3) < 0 ||
	    sigprocmask(SIG_SETMASK, &none, NULL) < 0 ||
	    setenv("CELLA_VSOCK_DIR", vs, 1) < 0 ||
	    setenv("CELLA_VSOCK_CID", "3", 1) < 0)
		_exit(EX_OSERR);
	execv(p->init, argv);
	_exit(127);
}

int
cella_up_spawn(struct cella_up_plan *p, int *ready_rd, struct cella_diag *d)
{
	char log[PATH_MAX + 16];
	int rp[2], logfd;
	pid_t pid;

	snprintf(log, sizeof(log), "%s/console.log", p->st.dir);
	if (pipe2(rp, O_CLOEXEC) < 0)
		return cella_diag_set(d, -errno, "pipe: %s", cella_strerror(-errno));
	logfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (logfd < 0 || (pid = fork()) < 0) {
		int rv = -errno;

		close(rp[0]);
		close(rp[1]);
		if (logfd >= 0)
			close(logfd);
		return cella_diag_set(d, rv, "%s: %s", logfd < 0 ? log : "fork",
				      cella_strerror(rv));
	}
	if (pid == 0)
		exec_host_init(p, logfd, rp[1]);
	close(rp[1]);
	close(logfd);
	p->st.pid = pid;
	p->st.pid_start = cella_state_proc_start(pid);
	p->st.started = (int64_t)time(NULL);
	*ready_rd = rp[0];
	return cella_state_save(&p->st, d);
}

int
cella_up_wait(int ready_rd, int sigfd, struct cella_console *con, FILE *out,
	      int timeout_ms)
{
	int64_t deadline = (int64_t)cella_mono_ms() + timeout_ms;
	struct signalfd_siginfo si;
	char line[16];
	ssize_t n;

	for (;;) {
		struct pollfd p[2] = {{.fd = ready_rd, .events = POLLIN},
				      {.fd = sigfd, .events = POLLIN}};
		int64_t left = deadline - (int64_t)cella_mono_ms();

		if (left <= 0)
			return -ETIMEDOUT;
		if (poll(p, 2, left < 100 ? (int)left : 100) < 0 && errno != EINTR)
			return -errno;
		if (con != NULL)
			cella_console_pump(con, out);
		if (p[0].revents != 0) {
			n = read(ready_rd, line, sizeof(line));
			if (n > 0)
				return 0;
			if (n == 0 || (errno != EINTR && errno != EAGAIN))
				return -EPIPE;
		}
		if (p[1].revents != 0 &&
		    read(sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si) &&
		    si.ssi_signo != SIGCHLD)
			return -EINTR;
	}
}

/* The children of pid, from /proc (for the last resort). */
static size_t
children_of(pid_t pid, pid_t *v, size_t max)
{
	char path[64];
	FILE *f;
	size_t n = 0;
	int c;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid,
		 (int)pid);
	if ((f = fopen(path, "re")) == NULL)
		return 0;
	while (n < max && fscanf(f, "%d", &c) == 1)
		v[n++] = (pid_t)c;
	fclose(f);
	return n;
}

/* Whether pid's environment holds want (a NUL-terminated "K=V"). */
static bool
environ_has(pid_t pid, const char *want)
{
	static char buf[65536];
	size_t wl = strlen(want) + 1;
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/environ", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return false;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	for (ssize_t i = 0; n > 0 && i + (ssize_t)wl <= n;) {
		if (memcmp(buf + i, want, wl) == 0)
			return true;
		i += (ssize_t)strnlen(buf + i, (size_t)(n - i)) + 1;
	}
	return false;
}

int
cella_up_kill_strays(const struct cella_state *s)
{
	char want[PATH_MAX + 32];
	struct dirent *e;
	DIR *proc;
	int n = 0;

	/* Every process of the enclave, on either side, inherited this. */
	snprintf(want, sizeof(want), "CELLA_VSOCK_DIR=%s/vsock", s->dir);
	if ((proc = opendir("/proc")) == NULL)
		return 0;
	while ((e = readdir(proc)) != NULL) {
		pid_t pid = (pid_t)strtol(e->d_name, NULL, 10);

		if (pid > 1 && pid != getpid() && environ_has(pid, want) &&
		    kill(pid, SIGKILL) == 0)
			n++;
	}
	closedir(proc);
	return n;
}

static bool
gone(const struct cella_state *s)
{
	/* Our own child stays a zombie until reaped: reap it. */
	(void)waitpid(s->pid, NULL, WNOHANG);
	return !cella_state_alive(s);
}

int
cella_up_stop(const struct cella_state *s, struct cella_console *con,
	      FILE *out, int timeout_ms)
{
	int64_t deadline = (int64_t)cella_mono_ms() + timeout_ms;
	pid_t kids[UP_CHILDREN_MAX];
	size_t n;

	if (gone(s)) {
		/* Its supervisor died: what it supervised may not have. */
		(void)cella_up_kill_strays(s);
		return 0;
	}
	(void)kill(s->pid, SIGTERM);
	while (!gone(s) && (int64_t)cella_mono_ms() < deadline) {
		if (con != NULL)
			cella_console_pump(con, out);
		usleep(20000);
	}
	if (con != NULL)
		cella_console_pump(con, out);
	if (gone(s))
		return 0;
	/* Stuck: the launcher takes the enclave with it; the proxies would
	 * be orphans, so they go too. */
	n = children_of(s->pid, kids, UP_CHILDREN_MAX);
	(void)kill(s->pid, SIGKILL);
	for (size_t i = 0; i < n; i++)
		(void)kill(kids[i], SIGKILL);
	for (int i = 0; i < 100 && !gone(s); i++)
		usleep(20000);
	(void)cella_up_kill_strays(s);
	return -ETIMEDOUT;
}

int
cella_up_cleanup(const struct cella_state *s, bool keep)
{
	char path[PATH_MAX + 16];
	int rv = 0, r;

	if (!keep)
		return cella_state_remove(s->dir);
	snprintf(path, sizeof(path), "%s/host.sock", s->dir);
	if (unlink(path) < 0 && errno != ENOENT)
		rv = -errno;
	snprintf(path, sizeof(path), "%s/vsock", s->dir);
	if ((r = cella_state_remove(path)) < 0)
		rv = r;
	snprintf(path, sizeof(path), "%s/run", s->dir);
	if ((r = cella_state_remove(path)) < 0)
		rv = r;
	return rv;
}

static void
text_of(const cbor_item_t *m, const char *key, char *buf, size_t len)
{
	struct cella_span s;

	buf[0] = '\0';
	if (cella_cbor_get_text(m, key, len - 1, &s, NULL) == 0) {
		memcpy(buf, s.p, s.n);
		buf[s.n] = '\0';
	}
}

static void
svc_of(const cbor_item_t *m, struct cella_up_svc *s)
{
	memset(s, 0, sizeof(*s));
	text_of(m, "service", s->name, sizeof(s->name));
	text_of(m, "state", s->state, sizeof(s->state));
	text_of(m, "why", s->why, sizeof(s->why));
	text_of(m, "last_exit", s->last_exit, sizeof(s->last_exit));
	(void)cella_cbor_get_uint(m, "pid", UINT32_MAX, &s->pid, NULL);
	(void)cella_cbor_get_uint(m, "restarts", UINT32_MAX, &s->restarts, NULL);
	(void)cella_cbor_get_uint(m, "uptime_ms", UINT64_MAX, &s->uptime_ms,
				  NULL);
	(void)cella_cbor_get_bool(m, "want", &s->want, NULL);
}

int
cella_up_list(struct cella_rpc_client *cli, struct cella_up_svc *v,
	      size_t max, size_t *n, struct cella_diag *d)
{
	struct cella_env reply = {0};
	const cbor_item_t *list;
	size_t count;
	int rv;

	*n = 0;
	if ((rv = cella_rpc_call(cli, CELLA_MSG_INIT_LIST, NULL, &reply, d)) < 0)
		return rv;
	list = cella_cbor_map_get(reply.body, "services");
	count = list != NULL && cbor_isa_array(list) ? cbor_array_size(list) : 0;
	for (size_t i = 0; i < count && *n < max; i++)
		svc_of(cbor_array_handle(list)[i], &v[(*n)++]);
	cella_env_fini(&reply);
	return 0;
}

int
cella_up_host_list(const struct cella_state *s, struct cella_up_svc *v,
		   size_t max, size_t *n, struct cella_diag *d)
{
	struct cella_rpc_client *cli = NULL;
	char url[PATH_MAX + 16];
	int rv;

	*n = 0;
	snprintf(url, sizeof(url), "ipc://%s/host.sock", s->dir);
	if ((rv = cella_rpc_client_new(url, 5000, &cli, d)) < 0)
		return rv;
	rv = cella_up_list(cli, v, max, n, d);
	cella_rpc_client_free(cli);
	return rv;
}
