/*
 * cella: the host (and enclave) CLI. main() only finds the verb and hands
 * over; each verb lives in cmd_NAME.c and parses its own flags.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "common/log.h"
#include "services/cella/cmd.h"
#include "services/cella/conn.h"

static void
usage(FILE *f)
{
	fprintf(f, "usage: cella [--control URL] COMMAND [ARGS...]\n\n"
		   "  --control URL  cella-init's control socket for the service\n"
		   "                 verbs (also $CELLA_CONTROL; default\n"
		   "                 ipc:///run/cella/init.sock)\n\ncommands:\n");
	for (const struct cella_cmd *c = cella_cmds; c->name != NULL; c++)
		fprintf(f, "  %-10s %s\n", c->name, c->summary);
	fprintf(f, "\n%s\n'cella COMMAND --help' describes each command.\n",
		cella_conn_usage);
}

int
main(int argc, char **argv)
{
	int rv;

	cella_log_init("cella", CELLA_LOG_WARN);
	/* Options before the verb apply to every verb. */
	while (argc >= 3 && strcmp(argv[1], "--control") == 0) {
		setenv("CELLA_CONTROL", argv[2], 1);
		argc -= 2;
		argv += 2;
	}
	/* Connection options before the verb apply to it as well. */
	if ((rv = cella_conn_parse_leading(&argc, &argv)) != 0)
		return rv;
	if (argc < 2) {
		usage(stderr);
		return EX_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	for (const struct cella_cmd *c = cella_cmds; c->name != NULL; c++) {
		if (strcmp(argv[1], c->name) != 0)
			continue;
		argc--;
		argv++;
		if (c->connects &&
		    (rv = cella_conn_parse_args(&argc, argv)) != 0)
			return rv;
		return c->run(argc, argv);
	}
	fprintf(stderr, "cella: unknown command '%s' (try 'cella --help')\n",
		argv[1]);
	return EX_USAGE;
}
