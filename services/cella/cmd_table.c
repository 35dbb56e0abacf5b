/* cmd_table: every verb of the `cella` CLI, in the order --help lists them. */
#include "services/cella/cmd.h"

#include <stddef.h>

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
