/*
 * init_bench: cella-init's two figures against their anchors, measured in
 * one run on this machine.
 *
 *   restart: kill -9 of a service -> its new instance ready (cella-init
 *     reaps, applies the policy with a 0 ms backoff, spawns, reads the
 *     ready line), against a plain fork + exec of the same binary until
 *     its ready line.
 *   boot: cella-init started -> its own ready line once 10 services are
 *     ready, against 10 plain fork + exec + ready line in a row.
 *
 * cella-init runs here as an ordinary process (a child subreaper, not PID
 * 1), so pids are comparable; the control API is polled for readiness.
 *
 *   init_bench BUILD_DIR [ROUNDS]
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cbor/cbor.h"
#include "common/net/nngio.h"
#include "common/rpc/rpc.h"
#include "tests/lib/argnum.h"
#include "common/core/clock.h"

static char svctool[4096], initbin[4096], dir[] = "/tmp/cella-bench-XXXXXX";

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* fork + exec argv with a ready pipe on fd 3; returns pid once ready. */
static pid_t
spawn_ready(char *const *argv)
{
	int p[2];
	char line[16];
	pid_t pid;

	if (pipe(p) < 0)
		exit(71);
	pid = fork();
	if (pid == 0) {
		dup2(p[1], 3);
		if (p[0] != 3)
			close(p[0]);
		if (p[1] != 3)
			close(p[1]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	if (read(p[0], line, sizeof(line)) <= 0) {
		fprintf(stderr, "init_bench: %s did not get ready\n", argv[0]);
		exit(70);
	}
	close(p[0]);
	return pid;
}

static void
stop(pid_t pid)
{
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}

static double
plain_spawn_ms(void)
{
	char *argv[] = {svctool, "--ready-fd", "3", NULL};
	double t0 = (cella_mono_s() * 1e3), t;
	pid_t pid = spawn_ready(argv);

	t = (cella_mono_s() * 1e3) - t0;
	stop(pid);
	return t;
}

static void
write_config(const char *path, int nsvc)
{
	FILE *f = fopen(path, "w");

	if (f == NULL)
		exit(73);
	fprintf(f, "init: {mounts: false, loopback: false, entropy: false, "
		   "heartbeat: false, poweroff: false, cgroup: '', "
		   "control: 'ipc://%s/init.sock'}\nservices:\n", dir);
	for (int i = 0; i < nsvc; i++)
		fprintf(f, "  s%d:\n    command: [%s, --ready-fd, '3']\n"
			   "    ready: {fd: 3}\n    restart: always\n"
			   "    backoff_min_ms: 0\n    crash_max: 64\n"
			   "    crash_window_ms: 1\n", i, svctool);
	fclose(f);
}

static pid_t
start_init(const char *conf)
{
	char *argv[] = {initbin, "--config", (char *)conf, "--ready-fd", "3",
			NULL};
	int null = open("/dev/null", O_WRONLY);

	/* init's log would dominate the figure on a slow terminal. */
	int saved = dup(2);
	pid_t pid;

	dup2(null, 2);
	pid = spawn_ready(argv);
	dup2(saved, 2);
	close(saved);
	close(null);
	return pid;
}

/* pid and state of service s0. */
static int
status(struct cella_rpc_client *c, uint64_t *pid, bool *ready)
{
	cbor_item_t *b = cbor_new_indefinite_map();
	struct cella_env r;
	struct cella_span st;
	int rv;

	cella_cbor_put_text(b, "service", "s0");
	rv = cella_rpc_call(c, CELLA_MSG_INIT_STATUS, b, &r, NULL);
	cbor_decref(&b);
	if (rv < 0)
		return rv;
	cella_cbor_get_uint(r.body, "pid", UINT64_MAX, pid, NULL);
	*ready = cella_cbor_get_text(r.body, "state", 16, &st, NULL) == 0 &&
		 st.n == 5 && memcmp(st.p, "ready", 5) == 0;
	cella_env_fini(&r);
	return 0;
}

static double
restart_ms(struct cella_rpc_client *c)
{
	uint64_t pid = 0, npid = 0;
	bool ready = false;
	double t0;

	if (status(c, &pid, &ready) < 0 || !ready)
		exit(70);
	t0 = (cella_mono_s() * 1e3);
	kill((pid_t)pid, SIGKILL);
	do {
		if (status(c, &npid, &ready) < 0)
			exit(70);
	} while (npid == pid || !ready);
	return (cella_mono_s() * 1e3) - t0;
}

int
main(int argc, char **argv)
{
	int rounds = argc > 2 ? (int)arg_long(argv[2], 10, 1, 100000) : 30;
	double *a = calloc((size_t)rounds, sizeof(double));
	double *b = calloc((size_t)rounds, sizeof(double));
	char conf[4200], url[4200];
	struct cella_rpc_client *c = NULL;
	double plain, restart, boot, plain10;
	pid_t init;

	if (argc < 2 || a == NULL || b == NULL || mkdtemp(dir) == NULL)
		return 64;
	snprintf(svctool, sizeof(svctool), "%s/tests/tools/svctool", argv[1]);
	snprintf(initbin, sizeof(initbin), "%s/services/init/cella-init", argv[1]);
	snprintf(conf, sizeof(conf), "%s/bench.yaml", dir);
	snprintf(url, sizeof(url), "ipc://%s/init.sock", dir);

	for (int i = 0; i < rounds; i++)
		a[i] = plain_spawn_ms();
	plain = median(a, rounds);

	write_config(conf, 1);
	init = start_init(conf);
	if (cella_rpc_client_new(url, 5000, &c, NULL) < 0)
		return 69;
	for (int i = 0; i < rounds; i++)
		b[i] = restart_ms(c);
	restart = median(b, rounds);
	cella_rpc_client_free(c);
	stop(init);

	write_config(conf, 10);
	for (int i = 0; i < rounds; i++) {
		double t0 = (cella_mono_s() * 1e3);

		init = start_init(conf);
		a[i] = (cella_mono_s() * 1e3) - t0;
		stop(init);
		t0 = (cella_mono_s() * 1e3);
		for (int k = 0; k < 10; k++)
			plain_spawn_ms();
		b[i] = (cella_mono_s() * 1e3) - t0;
	}
	boot = median(a, rounds);
	plain10 = median(b, rounds);
	cella_nng_shutdown();

	printf("init restart (kill -9 -> ready, backoff 0): %.2f ms median; "
	       "plain fork+exec+ready %.2f ms; ratio %.1fx (target <= 20 ms)\n",
	       restart, plain, restart / plain);
	printf("init boot, 10 services to all ready: %.2f ms median; 10 plain "
	       "fork+exec+ready in a row %.2f ms; ratio %.1fx (target <= 100 ms)\n",
	       boot, plain10, boot / plain10);
	unlink(conf);
	rmdir(dir);
	free(a);
	free(b);
	return 0;
}
