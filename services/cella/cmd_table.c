/*
 * cmd_table: every verb of the `cella` CLI, in the order --help lists them,
 * and running one from its row (flags from its option table, then run).
 */
#include "services/cella/cmd.h"

#include <stddef.h>
#include <stdio.h>

#include "services/cella/conn.h"

extern const struct cella_cmd cella_cmd_up, cella_cmd_down, cella_cmd_ls,
	cella_cmd_config, cella_cmd_attest, cella_cmd_verify, cella_cmd_sim_ca,
	cella_cmd_ps, cella_cmd_logs, cella_cmd_start, cella_cmd_stop,
	cella_cmd_restart, cella_cmd_events, cella_cmd_exec, cella_cmd_cp,
	cella_cmd_keygen;

const struct cella_cmd *const cella_cmds[] = {
	&cella_cmd_up, &cella_cmd_down, &cella_cmd_ls, &cella_cmd_config,
	&cella_cmd_attest, &cella_cmd_verify, &cella_cmd_sim_ca, &cella_cmd_ps,
	&cella_cmd_logs, &cella_cmd_start, &cella_cmd_stop, &cella_cmd_restart,
	&cella_cmd_events, &cella_cmd_exec, &cella_cmd_cp, &cella_cmd_keygen,
	NULL,
};

static const struct cella_opt no_opts[] = {{0}};

int
cella_cmd_run(const struct cella_cmd *c, int argc, char **argv)
{
	char prog[64];
	struct cella_optset s = {
		.prog = prog,
		.args = c->args,
		.about = c->help,
		.opts = c->opts != NULL ? c->opts : no_opts,
		.more = c->more,
		.more_fn = c->connects ? cella_conn_print_usage : NULL,
		.in_order = c->in_order,
		.min_args = c->min_args,
		.max_args = c->max_args,
	};
	int first, rv;

	snprintf(prog, sizeof(prog), "cella %s", c->name);
	rv = cella_opts_parse(&s, argc, argv, &first);
	if (rv != CELLA_OPTS_RUN)
		return cella_opts_exit(rv);
	argv[first - 1] = argv[0]; /* the verb, then the operands */
	return c->run(argc - first + 1, argv + first - 1);
}
