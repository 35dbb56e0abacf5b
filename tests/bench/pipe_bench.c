/*
 * pipe_bench: round trips of `true` for scripts/bench pipeline.
 *
 *   pipe_bench exec URL N   N commands on one established connection:
 *                           PIPE_EXEC, then PIPE_READ until done
 *   pipe_bench spawn N      N local fork+exec+wait of true (the anchor)
 *
 * Prints "p50_us=X p99_us=Y" (microseconds per round trip).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cbor/cbor.h"
#include "common/rpc/rpc.h"
#include "tests/lib/argnum.h"
#include "common/core/clock.h"

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
report(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp);
	printf("p50_us=%.0f p99_us=%.0f\n", v[n / 2], v[n * 99 / 100]);
}

static int
one_exec(struct cella_rpc_client *c)
{
	struct cella_diag d = {{0}};
	struct cella_env r = {0};
	cbor_item_t *b = cbor_new_indefinite_map(), *a = cbor_new_indefinite_array();
	cbor_item_t *s = cbor_build_string("true");
	uint64_t id = 0;
	bool done = false;
	int rv;

	cbor_array_push(a, s);
	cbor_decref(&s);
	cella_cbor_put_item(b, "argv", a);
	cbor_decref(&a);
	rv = cella_rpc_call(c, CELLA_MSG_PIPE_EXEC, b, &r, &d);
	cbor_decref(&b);
	if (rv < 0) {
		fprintf(stderr, "pipe_bench: exec: %s\n", d.msg);
		return -1;
	}
	cella_cbor_get_uint(r.body, "id", UINT64_MAX, &id, NULL);
	cella_env_fini(&r);
	while (!done) {
		b = cbor_new_indefinite_map();
		cella_cbor_put_uint(b, "id", id);
		rv = cella_rpc_call(c, CELLA_MSG_PIPE_READ, b, &r, &d);
		cbor_decref(&b);
		if (rv < 0) {
			fprintf(stderr, "pipe_bench: read: %s\n", d.msg);
			return -1;
		}
		cella_cbor_get_bool(r.body, "done", &done, NULL);
		cella_env_fini(&r);
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct cella_rpc_client *c = NULL;
	struct cella_diag d = {{0}};
	double *v;
	int n;

	if (argc < 3 || (strcmp(argv[1], "exec") == 0 && argc != 4)) {
		fprintf(stderr, "usage: pipe_bench exec URL N | spawn N\n");
		return 64;
	}
	n = (int)arg_long(argv[argc - 1], 10, 1, 1000000);
	if (n < 1 || (v = calloc((size_t)n, sizeof(*v))) == NULL)
		return 64;
	if (strcmp(argv[1], "exec") == 0 &&
	    cella_rpc_client_new(argv[2], 10000, &c, &d) < 0) {
		fprintf(stderr, "pipe_bench: %s\n", d.msg);
		return 69;
	}
	for (int i = 0; i < n; i++) {
		double t0 = (cella_mono_s() * 1e6);

		if (c != NULL) {
			if (one_exec(c) < 0)
				return 1;
		} else {
			char *args[] = {"true", NULL};
			pid_t pid = fork();
			int st;

			if (pid == 0) {
				execvp("true", args);
				_exit(127);
			}
			if (pid < 0)
				return 1;
			waitpid(pid, &st, 0);
		}
		v[i] = (cella_mono_s() * 1e6) - t0;
	}
	report(v, n);
	cella_rpc_client_free(c);
	free(v);
	return 0;
}
