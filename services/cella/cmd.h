/*
 * cmd: the `cella` CLI's verbs. Each verb is one function in its own file
 * (cmd_NAME.c) that parses its own flags and returns an exit code from
 * <sysexits.h> conventions: 0 ok, 1 a negative answer (invalid document,
 * failed check), 64 usage, 69/75 unavailable/temporary, 70 internal.
 * main.c only dispatches.
 */
#ifndef CELLA_CLI_CMD_H
#define CELLA_CLI_CMD_H

#include <stdbool.h>

struct cella_cmd {
	const char *name;
	int (*run)(int argc, char **argv); /* argv[0] is the verb */
	const char *summary;
	/* The verb reaches a service: the connection options (conn.h) are
	 * taken out of its argv, wherever they stand, before it runs. */
	bool connects;
};

/* The verb table, ending with a NULL name (cmd_table.c). */
extern const struct cella_cmd cella_cmds[];

struct cJSON;
/*
 * A verb's --json answer: o printed on stdout as one document and a
 * newline (indented, or on one line when !pretty), then deleted.
 */
void cella_cmd_print_json(struct cJSON *o, bool pretty);

#endif
