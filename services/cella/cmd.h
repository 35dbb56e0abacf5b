/*
 * cmd: the `cella` CLI's verbs. Each verb is one file (cmd_NAME.c) that
 * exports its row: its flags as an option table (common/core/opts.h) whose
 * values land in the file's own static storage, the help text, and a run
 * function. main.c parses the flags and prints --help from the row, then
 * runs the verb with the operands that are left. A verb's helpers return
 * -errno; the verb maps once, where it returns, with cella_exit_from_err
 * (common/core/exitcode.h) or, for a path the user named,
 * cella_exit_from_path_err: 0 ok, 1 a negative answer, 64 usage, 66/73
 * path, 69/75 unreachable/temporary, 70 internal, 77 refused, 78 config.
 */
#ifndef CELLA_CLI_CMD_H
#define CELLA_CLI_CMD_H

#include <stdbool.h>

#include "common/core/opts.h"

struct cella_cmd {
	const char *name;
	/* argv[0] is the verb, argv[1..argc) its operands (the flags are
	 * parsed already); returns the exit code. */
	int (*run)(int argc, char **argv);
	const char *summary;
	/* The verb reaches a service: the connection options (conn.h) are
	 * taken out of its argv, wherever they stand, before it runs. */
	bool connects;
	const struct cella_opt *opts; /* its flags; NULL: none */
	const char *args;  /* the usage line after "cella VERB" */
	const char *help;  /* what it does, before the flags in --help */
	const char *more;  /* after the flags in --help, or NULL */
	bool in_order;     /* the first operand ends the flags (exec) */
	int min_args, max_args; /* operands; max_args -1: any number */
};

/* Every verb, in the order --help lists them, ending with NULL
 * (cmd_table.c). */
extern const struct cella_cmd *const cella_cmds[];

/*
 * Run verb c: parse its flags from argv (argv[0] is the verb) with its
 * option table, answer --help, then call c->run with the operands left.
 * Returns the exit code. The connection options are the caller's to take
 * out first (cella_conn_parse_args), as main() does.
 */
int cella_cmd_run(const struct cella_cmd *c, int argc, char **argv);

struct cJSON;
/*
 * A verb's --json answer: o printed on stdout as one document and a
 * newline (indented, or on one line when !pretty), then deleted.
 */
void cella_cmd_print_json(struct cJSON *o, bool pretty);

#endif
