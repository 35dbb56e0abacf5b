/* cmd_table: every verb of the `cella` CLI, in the order --help lists them. */
#include "services/cella/cmd.h"

#include <stddef.h>

int cella_cmd_verify(int argc, char **argv);
int cella_cmd_sim_ca(int argc, char **argv);

const struct cella_cmd cella_cmds[] = {
	{"verify", cella_cmd_verify, "verify an attestation document"},
	{"sim-ca", cella_cmd_sim_ca, "simulation attestation CA (init, issue)"},
	{NULL, NULL, NULL},
};
