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
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "common/core/clock.h"
#include "services/cella/up/up.h"

int cella_cmd_down(int argc, char **argv); /* listed in cmd_table.c */

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: cella down [NAME] [-f FILE] [--keep] [--timeout S]\n\n"
		"Stops an enclave `cella up` started and removes its state.\n"
		"NAME defaults to the enclave of ./cella.yaml (or -f FILE).\n\n"
		"  -f, --file FILE  the enclave of this cella.yaml\n"
		"      --keep       keep the state directory (configs, PCRs,\n"
		"                   console.log); only sockets are removed\n"
		"      --timeout S  wait this long, then kill (default: the\n"
		"                   enclave's shutdown deadline + 20 s)\n\n"
		"Exit: 0 stopped (or was not running), 1 had to be killed,\n"
		"64 usage, 66 FILE missing or unreadable, 69 no such enclave,\n"
		"78 FILE names no valid enclave.\n");
}

int
cella_up_name_arg(const char *verb, int argc, char **argv, const char *file,
		  char *name, size_t len)
{
	struct cella_diag d = {{0}};
	int rv;

	if (argc > optind + 1) {
		fprintf(stderr, "cella %s: one enclave name at most\n", verb);
		return EX_USAGE;
	}
	if (argc == optind + 1) {
		snprintf(name, len, "%s", argv[optind]);
		return 0;
	}
	if ((rv = cella_state_name_of(file, NULL, name, len, &d)) < 0) {
		fprintf(stderr, "cella %s: no enclave named and %s\n", verb,
			d.msg);
		/* The file named (or ./cella.yaml): a path or its content. */
		return rv == -EINVAL ? EX_CONFIG : EX_NOINPUT;
	}
	return 0;
}

int
cella_cmd_down(int argc, char **argv)
{
	static const struct option longs[] = {
		{"file", required_argument, NULL, 'f'},
		{"keep", no_argument, NULL, 'k'},
		{"timeout", required_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	char name[CELLA_STATE_NAME_MAX + 64];
	const char *file = "cella.yaml";
	struct cella_diag d = {{0}};
	struct cella_state st;
	bool keep = false, was_up;
	long timeout_s = -1;
	double t0, t1;
	int ch, rv;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "f:h", longs, NULL)) != -1) {
		switch (ch) {
		case 'f': file = optarg; break;
		case 'k': keep = true; break;
		case 't':
			timeout_s = strtol(optarg, NULL, 10);
			if (timeout_s < 1 || timeout_s > 3600) {
				fprintf(stderr, "cella down: bad --timeout "
						"'%s' (1..3600 seconds)\n",
					optarg);
				return EX_USAGE;
			}
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return EX_USAGE;
		}
	}
	if ((rv = cella_up_name_arg("down", argc, argv, file, name,
				    sizeof(name))) != 0)
		return rv;
	if (cella_state_load(name, &st, &d) < 0) {
		fprintf(stderr, "cella down: %s\n", d.msg);
		return EX_UNAVAILABLE;
	}
	t0 = cella_mono_s();
	was_up = cella_state_alive(&st);
	rv = cella_up_stop(&st, NULL, stdout,
			   timeout_s > 0 ? (int)timeout_s * 1000
					 : (int)st.shutdown_ms + 20000);
	if (cella_up_cleanup(&st, keep) < 0)
		fprintf(stderr, "cella down: could not remove all of %s\n",
			st.dir);
	t1 = cella_mono_s();
	if (!was_up)
		printf("cella down: enclave %s was not running; its state is "
		       "%s\n", name, keep ? "kept" : "removed");
	else
		printf("cella down: enclave %s %s in %.2f s%s\n", name,
		       rv < 0 ? "killed (it did not stop)" : "stopped",
		       t1 - t0,
		       keep ? "; state kept" : "");
	return rv < 0 ? 1 : 0;
}
