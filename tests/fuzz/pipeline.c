/*
 * fuzz target pipeline: one message as it reaches cella-pipeline. What the
 * envelope parser accepts and is a pipeline request goes through the body
 * decoder (services/pipeline/msg.c) and, when that accepts it, through the
 * path rules the service applies next (absolute path, symlink target), so
 * every bound in front of the service's actions is exercised without
 * running a command or touching a file.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/rpc/envelope.h"
#include "services/pipeline/msg.h"
#include "common/files/pathsafe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
paths(const struct pipe_msg *m)
{
	struct cella_diag d;
	const char *rel;
	size_t n;
	char *r, *t;

	if (m->path.n == 0 ||
	    pipe_path_check_abs((const char *)m->path.p, m->path.n, &rel, &n,
				&d) < 0)
		return;
	if (strlen(d.msg) >= sizeof(d.msg))
		abort();
	if (m->target.n == 0 || (r = strndup(rel, n)) == NULL)
		return;
	if ((t = strndup((const char *)m->target.p, m->target.n)) != NULL) {
		if (n > 0)
			(void)pipe_symlink_check(r, t, &d);
		free(t);
	}
	free(r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cella_env e = {0};
	struct cella_diag d = {{0}};
	struct pipe_msg m;
	int rv;

	if (cella_env_parse(data, size, &e, &d) < 0)
		return 0;
	if (pipe_msg_role(e.type) != 0) {
		rv = pipe_msg_decode(e.type, e.body, &m, &d);
		if (rv == 0) {
			if (m.type != e.type ||
			    (m.type == CELLA_MSG_PIPE_EXEC &&
			     (m.exec.argv == NULL || m.exec.argv[m.exec.argc] != NULL)))
				abort();
			paths(&m);
			pipe_msg_fini(&m);
		} else if (rv >= 0 || d.msg[0] == '\0') {
			abort(); /* every refusal says why */
		}
	}
	cella_env_fini(&e);
	return 0;
}
