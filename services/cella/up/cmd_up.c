/*
 * cmd_up: `cella up [-f FILE] [-d] [--backend local|process]`, one
 * cella.yaml brought up as an emulated enclave (up.h does the work): it
 * prepares, starts the host-side cella-init, waits until the enclave's
 * heartbeat came and every service settled, then checks through the
 * attested bridge itself (the same path every later verb takes, with the
 * PCRs just pinned) that every service is ready. It prints a summary and,
 * in the foreground, follows the console like `docker compose up` until
 * Ctrl-C stops the enclave in order. A failure names the service, shows
 * its last lines and leaves nothing running.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "common/core/clock.h"
#include "common/core/buf.h"
#include "common/core/exitcode.h"
#include "services/cella/cmd.h"
#include "services/cella/conn.h"
#include "services/cella/up/up.h"

#define UP_CALL_MS 10000

struct up_opts {
	const char *file, *backend;
	bool detach, json;
	uint64_t timeout_s;
};

static struct up_opts args = {.file = "cella.yaml", .backend = "local",
			      .timeout_s = 60};

static const struct cella_opt opts[] = {
	{"file", 'f', CELLA_OPT_STR, &args.file, .metavar = "FILE",
	 .help = "the configuration (default ./cella.yaml)"},
	{"detach", 'd', CELLA_OPT_FLAG, &args.detach,
	 .help = "return once ready (stop with cella down)"},
	{"backend", 0, CELLA_OPT_STR, &args.backend, .metavar = "B",
	 .help = "local (default): namespaces; process: the\n"
		 "same processes without any isolation, for\n"
		 "hosts that refuse namespaces"},
	{"timeout", 0, CELLA_OPT_U64, &args.timeout_s, .min = 1, .max = 3600,
	 .metavar = "S", .expect = "seconds",
	 .help = "wait this long for ready (default 60)"},
	{"json", 0, CELLA_OPT_FLAG, &args.json,
	 .help = "the summary as JSON (with -d)"},
	{0},
};

struct up_run {
	struct cella_up_plan *p;
	struct cella_console con;
	const struct up_opts *o;
	int sigfd;
	int64_t t0;
	struct cella_up_svc svcs[CELLA_UP_SVCS_MAX];
	size_t nsvcs;
};

static void
console_path(const struct cella_up_plan *p, char *buf, size_t len)
{
	snprintf(buf, len, "%s/console.log", p->st.dir);
}

/* Stop everything and remove the state: nothing is left behind. */
static void
teardown(struct up_run *r, bool show)
{
	(void)cella_up_stop(&r->p->st, show ? &r->con : NULL, stdout,
			    (int)r->p->shutdown_ms + 20000);
	(void)cella_up_cleanup(&r->p->st, false);
}

static bool
settled_ok(const struct cella_up_svc *s)
{
	return strcmp(s->state, "ready") == 0 ||
	       (strcmp(s->state, "stopped") == 0 && !s->want);
}

/* The service to blame: a failed one before one that waits for it. */
static const struct cella_up_svc *
culprit(const struct cella_up_svc *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].state, "failed") == 0)
			return &v[i];
	for (size_t i = 0; i < n; i++)
		if (!settled_ok(&v[i]))
			return &v[i];
	return NULL;
}

/* One line naming what failed, then its own last lines. */
static int
report(struct up_run *r, const char *what, const struct cella_up_svc *s)
{
	char log[PATH_MAX + 16];

	console_path(r->p, log, sizeof(log));
	fprintf(stderr, "cella up: %s %s %s (%s%s%s); its last lines:\n", what,
		s->name, strcmp(s->state, "failed") == 0 ? "failed" : "is not ready",
		s->state, s->last_exit[0] ? ", last exit: " : "",
		s->last_exit[0] ? s->last_exit : "");
	if (cella_console_tail(log, s->name, 12, stderr) == 0)
		fprintf(stderr, "    (none)\n");
	if (strcmp(s->name, "enclave") == 0 && strcmp(s->last_exit, "exit 77") == 0)
		fprintf(stderr, "cella up: this host does not let us create the "
				"namespaces the local backend needs; `cella up "
				"--backend process` runs the same without "
				"isolation\n");
	return 1;
}

/* Host side first (launcher, proxies), then the enclave's services. */
static int
check(struct up_run *r)
{
	struct cella_up_svc host[8];
	struct cella_rpc_client *cli = NULL;
	struct cella_diag d = {{0}};
	const struct cella_up_svc *bad;
	size_t n = 0;
	int rv;

	if (cella_up_host_list(&r->p->st, host, 8, &n, &d) < 0) {
		fprintf(stderr, "cella up: the host side does not answer: %s\n",
			d.msg);
		return 1;
	}
	if ((bad = culprit(host, n)) != NULL)
		return report(r, strcmp(bad->name, "enclave") == 0
					 ? "the host's launcher"
					 : "the host's ingress",
			      bad);
	cella_conn.enclave = r->p->st.name;
	if ((rv = cella_conn_open("up", CELLA_SVC_INIT, UP_CALL_MS, &cli)) < 0)
		return cella_exit_from_err(rv);
	rv = cella_up_list(cli, r->svcs, CELLA_UP_SVCS_MAX, &r->nsvcs, &d);
	cella_rpc_client_free(cli);
	if (rv < 0) {
		fprintf(stderr, "cella up: the enclave's init does not answer "
				"through the bridge: %s\n", d.msg);
		return 1;
	}
	if ((bad = culprit(r->svcs, r->nsvcs)) != NULL)
		return report(r, "service", bad);
	return 0;
}

static void
summary_text(const struct up_run *r, int64_t ms)
{
	const struct cella_up_plan *p = r->p;
	char hex[97];

	printf("cella up: enclave %s is up in %" PRId64 ".%02" PRId64
	       " s (backend %s%s, CID %u)\n",
	       p->st.name, ms / 1000, ms % 1000 / 10, p->st.backend,
	       p->process ? ": NO ISOLATION" : "", p->st.cid);
	printf("  %-14s %-8s %s\n", "SERVICE", "STATE", "PID");
	for (size_t i = 0; i < r->nsvcs; i++)
		printf("  %-14s %-8s %" PRIu64 "\n", r->svcs[i].name,
		       r->svcs[i].state, r->svcs[i].pid);
	for (size_t i = 0; i < p->st.nports; i++)
		printf("  ingress        tcp://127.0.0.1:%u -> port %u in the "
		       "enclave\n",
		       p->st.ports[i].host, p->st.ports[i].enclave);
	cella_hex_encode(p->st.pcrs[0], 48, hex, sizeof(hex));
	printf("  PCR0           %s%s\n", hex, p->st.debug ? " (debug)" : "");
	printf("  state          %s\n", p->st.dir);
	printf("  stop           cella down %s%s\n", p->st.name,
	       r->o->detach ? "" : "   (or Ctrl-C here)");
	fflush(stdout);
}

static void
summary_json(const struct up_run *r, int64_t ms)
{
	cJSON *o = cJSON_CreateObject(), *a, *pcrs, *e;
	char hex[97], idx[4];

	cJSON_AddStringToObject(o, "name", r->p->st.name);
	cJSON_AddStringToObject(o, "backend", r->p->st.backend);
	cJSON_AddNumberToObject(o, "cid", r->p->st.cid);
	cJSON_AddNumberToObject(o, "ready_ms", (double)ms);
	cJSON_AddStringToObject(o, "state_dir", r->p->st.dir);
	a = cJSON_AddArrayToObject(o, "services");
	for (size_t i = 0; i < r->nsvcs; i++) {
		cJSON_AddItemToArray(a, e = cJSON_CreateObject());
		cJSON_AddStringToObject(e, "service", r->svcs[i].name);
		cJSON_AddStringToObject(e, "state", r->svcs[i].state);
		cJSON_AddNumberToObject(e, "pid", (double)r->svcs[i].pid);
	}
	a = cJSON_AddArrayToObject(o, "ports");
	for (size_t i = 0; i < r->p->st.nports; i++) {
		cJSON_AddItemToArray(a, e = cJSON_CreateObject());
		cJSON_AddNumberToObject(e, "host", r->p->st.ports[i].host);
		cJSON_AddNumberToObject(e, "enclave", r->p->st.ports[i].enclave);
	}
	pcrs = cJSON_AddObjectToObject(o, "pcrs");
	for (int i = 0; i < 3; i++) {
		snprintf(idx, sizeof(idx), "%d", i);
		cella_hex_encode(r->p->st.pcrs[i], 48, hex, sizeof(hex));
		cJSON_AddStringToObject(pcrs, idx, hex);
	}
	cella_cmd_print_json(o, true);
}

/* Foreground: follow the console until a signal or the host init ends. */
static int
follow(struct up_run *r)
{
	struct signalfd_siginfo si;
	int st;

	for (;;) {
		struct pollfd pf = {.fd = r->sigfd, .events = POLLIN};

		(void)poll(&pf, 1, 200);
		cella_console_pump(&r->con, stdout);
		if (pf.revents != 0 &&
		    read(r->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si) &&
		    si.ssi_signo != SIGCHLD)
			break;
		if (waitpid(r->p->st.pid, &st, WNOHANG) == r->p->st.pid) {
			cella_console_pump(&r->con, stdout);
			fprintf(stderr, "cella up: the enclave's host side ended "
					"(status %d)\n",
				WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
			(void)cella_up_cleanup(&r->p->st, false);
			return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
		}
	}
	fprintf(stderr, "cella up: stopping enclave %s\n", r->p->st.name);
	teardown(r, true);
	fprintf(stderr, "cella up: enclave %s stopped\n", r->p->st.name);
	return 0;
}

static int
start(struct up_run *r)
{
	struct cella_diag d = {{0}};
	char log[PATH_MAX + 16];
	int ready = -1, rv;

	if ((rv = cella_up_spawn(r->p, &ready, &d)) < 0) {
		fprintf(stderr, "cella up: %s\n", d.msg);
		teardown(r, false);
		return EX_OSERR;
	}
	console_path(r->p, log, sizeof(log));
	if (!r->o->detach)
		(void)cella_console_open(&r->con, log, true);
	rv = cella_up_wait(ready, r->sigfd, r->o->detach ? NULL : &r->con,
			   stdout, r->p->ready_timeout_ms + 5000);
	close(ready);
	if (rv == 0)
		return 0;
	if (rv == -EINTR)
		fprintf(stderr, "cella up: interrupted; stopping\n");
	else
		fprintf(stderr, "cella up: the enclave %s; its last lines:\n",
			rv == -ETIMEDOUT ? "was not ready in time"
					 : "did not start");
	if (rv != -EINTR && cella_console_tail(log, "enclave", 15, stderr) == 0)
		fprintf(stderr, "    (none)\n");
	teardown(r, false);
	return rv == -EINTR ? 130 : 1;
}

static int
run(struct up_run *r)
{
	int64_t ms;
	int rv;

	if ((rv = start(r)) != 0)
		return rv;
	if ((rv = check(r)) != 0) {
		teardown(r, false);
		return rv;
	}
	ms = (int64_t)cella_mono_ms() - r->t0;
	if (r->o->json)
		summary_json(r, ms);
	else
		summary_text(r, ms);
	return r->o->detach ? 0 : follow(r);
}

static int
cmd_up(int argc, char **argv)
{
	struct up_run r = {.o = &args, .con = {.fd = -1}, .sigfd = -1};
	struct cella_diag d = {{0}};
	sigset_t set;
	int rv, code;

	(void)argc;
	(void)argv;
	if (strcmp(args.backend, "local") != 0 &&
	    strcmp(args.backend, "process") != 0) {
		fprintf(stderr, "cella up: --backend is local or process (try "
				"'cella up --help')\n");
		return EX_USAGE;
	}
	r.t0 = (int64_t)cella_mono_ms();
	if ((r.p = calloc(1, sizeof(*r.p))) == NULL)
		return EX_OSERR;
	if (cella_up_prepare(args.file, args.backend, (int)args.timeout_s * 1000, r.p, &code,
			     &d) < 0) {
		fprintf(stderr, "cella up: %s\n", d.msg);
		free(r.p);
		return code;
	}
	if (r.p->process)
		fprintf(stderr, "cella up: backend process: NO ISOLATION; the "
				"enclave's services run as ordinary processes "
				"of this host\n");
	/* A shell starts a background job with SIGINT ignored; Ctrl-C and
	 * kill -INT must still stop the enclave in order. */
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &set, NULL) == 0)
		r.sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	rv = run(&r);
	cella_console_close(&r.con);
	if (r.sigfd >= 0)
		close(r.sigfd);
	free(r.p);
	return rv;
}

const struct cella_cmd cella_cmd_up = {
	.name = "up",
	.run = cmd_up,
	.summary = "run cella.yaml as an enclave in the local emulator",
	.opts = opts,
	.args = "[-f FILE] [-d] [--backend local|process] [--timeout S] "
		"[--json]",
	.help = "Runs cella.yaml as an enclave in the local emulator: new "
		"PID,\n"
		"mount, network, UTS and IPC namespaces, the host's root\n"
		"read-only, only loopback, cella-init as PID 1, simulated\n"
		"attestation with PCRs measured from what runs. Waits until\n"
		"every service is ready, prints a summary and follows the "
		"logs\n"
		"until Ctrl-C, which stops the enclave.\n",
	.more = "State: $CELLA_STATE_DIR, /run/cella-up (root) or\n"
		"$XDG_RUNTIME_DIR/cella; the simulation root and the operator\n"
		"key are created once per user. PCRs: see `cella attest "
		"--help`.\n"
		"Exit: 0 up (or stopped cleanly), 1 a service failed, 64 "
		"usage,\n"
		"66 no file, 69 the host lacks something (a port, a binary,\n"
		"namespaces), 73 cannot create state, 78 a bad cella.yaml.\n",
};
