/*
 * config: cella-pipeline reads three parts of cella.yaml: its own
 * `pipeline:` section, `init.control` (where the event log is appended)
 * and the policy (`policy:` and `enclave.debug`, through operators.h),
 * which decides whether exec and files may be used at all.
 */
#include "services/pipeline/pipe.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/conf/cella/cellacfg.h"
#include "common/rpc/operators.h"

static void
read_pipeline(const cJSON *p, struct pipe_conf *pc)
{
	snprintf(pc->listen, sizeof(pc->listen), "%s",
		 cella_conf_str(p, "listen", "ipc:///run/cella/pipeline.sock"));
	pc->workers = (unsigned)cella_conf_int(p, "workers", 64);
	pc->threads = (unsigned)cella_conf_int(p, "threads", 4);
	pc->max_file_bytes = (uint64_t)cella_conf_int(p, "max_file_bytes", 0);
	pc->chunk = (uint32_t)cella_conf_int(p, "chunk_bytes", 1 << 20);
	pc->window = (uint32_t)cella_conf_int(p, "window", 16);
	pc->max_execs = (unsigned)cella_conf_int(p, "max_execs", 64);
	pc->max_transfers = (unsigned)cella_conf_int(p, "max_transfers", 256);
	pc->output_bytes = (size_t)cella_conf_int(p, "output_bytes", 1 << 20);
	pc->kill_grace_ms = (uint64_t)cella_conf_int(p, "kill_grace_ms", 2000);
	pc->event_timeout_ms =
		(uint64_t)cella_conf_int(p, "event_timeout_ms", 5000);
}

int
pipe_conf_load(struct cella_conf *c, struct pipe_conf *out,
	       struct cella_diag *d)
{
	struct pipe_conf pc = {0};
	struct cella_operators ops;
	const cJSON *root, *it;
	int rv;

	if ((rv = cella_conf_validate(c, "pipeline", cella_cfg_pipeline_keys,
				      d)) < 0 ||
	    (rv = cella_conf_validate(c, "init", cella_cfg_init_keys, d)) < 0 ||
	    (rv = cella_conf_validate(c, "policy", cella_policy_keys, d)) < 0 ||
	    (rv = cella_operators_load(c, &ops, d)) < 0)
		return rv;
	root = cella_conf_root(c);
	read_pipeline(cJSON_GetObjectItemCaseSensitive(root, "pipeline"), &pc);
	snprintf(pc.control, sizeof(pc.control), "%s",
		 cella_conf_str(cJSON_GetObjectItemCaseSensitive(root, "init"),
				"control", "ipc:///run/cella/init.sock"));
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(
				       cJSON_GetObjectItemCaseSensitive(
					       root, "pipeline"),
				       "roots"))
	{
		if (pc.nroots == PIPE_ROOTS_MAX ||
		    (pc.roots[pc.nroots] = strdup(it->valuestring)) == NULL) {
			pipe_conf_fini(&pc);
			return cella_diag_set(d, -ENOMEM, "out of memory");
		}
		pc.nroots++;
	}
	pc.allowed = cella_operators_allowed(&ops);
	pc.debug = ops.debug;
	pc.policy_exec = ops.exec;
	pc.policy_files = ops.files;
	*out = pc;
	return 0;
}

void
pipe_conf_fini(struct pipe_conf *pc)
{
	for (size_t i = 0; i < pc->nroots; i++)
		free(pc->roots[i]);
	pc->nroots = 0;
}
