/* cmd_table: every verb of the `cella` CLI, in the order --help lists them. */
#include "services/cella/cmd.h"

#include <stddef.h>

const struct cella_cmd cella_cmds[] = {
	{NULL, NULL, NULL},
};
