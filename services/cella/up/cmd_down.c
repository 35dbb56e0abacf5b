/*
 * cmd_down: `cella down [NAME] [-f FILE] [--keep] [--timeout S]`, the end
 * of a `cella up` enclave: SIGTERM to its host-side cella-init (which stops
 * the enclave, whose init stops its services in reverse order, then the
 * ingress proxies), wait until it is gone, then remove the state
 * directory: no process, mount, socket or file is left. --keep keeps the
 * state (configurations, measurements, console.log) and removes only the
 * sockets. A state whose processes are already gone is just removed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "common/core/clock.h"
#include "common/core/exitcode.h"
#include "services/cella/cmd.h"
#include "services/cella/up/up.h"

static struct {
	const char *file;
	uint64_t timeout_s;
	bool keep;
} args = {.file = "cella.yaml"};

static const struct cella_opt opts[] = {
	{"file", 'f', CELLA_OPT_STR, &args.file, .metavar = "FILE",
	 .help = "the enclave of this cella.yaml"},
	{"keep", 0, CELLA_OPT_FLAG, &args.keep,
	 .help = "keep the state directory (configs, PCRs,\n"
		 "console.log); only sockets are removed"},
	{"timeout", 0, CELLA_OPT_U64, &args.timeout_s, .min = 1, .max = 3600,
	 .metavar = "S", .expect = "seconds",
	 .help = "wait this long, then kill (default: the\n"
		 "enclave's shutdown deadline + 20 s)"},
	{0},
};

int
cella_up_name_arg(const char *verb, const char *arg, const char *file,
		  char *name, size_t len)
{
	struct cella_diag d = {{0}};
	int rv;

	if (arg != NULL) {
		snprintf(name, len, "%s", arg);
		return 0;
	}
	if ((rv = cella_state_name_of(file, NULL, name, len, &d)) < 0)
		fprintf(stderr, "cella %s: no enclave named and %s\n", verb,
			d.msg);
	return rv;
}

/* Stop the enclave of st and remove its state; the exit code. */
static int
down(const char *name, struct cella_state *st)
{
	double t0 = cella_mono_s();
	bool was_up = cella_state_alive(st);
	int rv;

	rv = cella_up_stop(st, NULL, stdout,
			   args.timeout_s > 0 ? (int)args.timeout_s * 1000
					      : (int)st->shutdown_ms + 20000);
	if (cella_up_cleanup(st, args.keep) < 0)
		fprintf(stderr, "cella down: could not remove all of %s\n",
			st->dir);
	if (!was_up)
		printf("cella down: enclave %s was not running; its state is "
		       "%s\n", name, args.keep ? "kept" : "removed");
	else
		printf("cella down: enclave %s %s in %.2f s%s\n", name,
		       rv < 0 ? "killed (it did not stop)" : "stopped",
		       cella_mono_s() - t0, args.keep ? "; state kept" : "");
	return rv < 0 ? 1 : 0;
}

static int
cmd_down(int argc, char **argv)
{
	char name[CELLA_STATE_NAME_MAX + 64];
	struct cella_diag d = {{0}};
	struct cella_state st;
	int rv;

	rv = cella_up_name_arg("down", argc > 1 ? argv[1] : NULL, args.file,
			       name, sizeof(name));
	if (rv < 0) /* the file named (or ./cella.yaml): its content, or it */
		return rv == -EINVAL ? EX_CONFIG
				     : cella_exit_from_path_err(rv, false);
	if (cella_state_load(name, &st, &d) < 0) {
		fprintf(stderr, "cella down: %s\n", d.msg);
		return EX_UNAVAILABLE;
	}
	return down(name, &st);
}

const struct cella_cmd cella_cmd_down = {
	.name = "down",
	.run = cmd_down,
	.summary = "stop a `cella up` enclave, leaving nothing behind",
	.opts = opts,
	.args = "[NAME] [-f FILE] [--keep] [--timeout S]",
	.help = "Stops an enclave `cella up` started and removes its state.\n"
		"NAME defaults to the enclave of ./cella.yaml (or -f FILE).\n",
	.more = "Exit: 0 stopped (or was not running), 1 had to be killed,\n"
		"64 usage, 66 FILE missing or unreadable, 69 no such enclave,\n"
		"78 FILE names no valid enclave.\n",
	.max_args = 1,
};
