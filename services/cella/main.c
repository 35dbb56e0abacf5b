/*
 * cella: the host (and enclave) CLI. main() finds the verb, parses its
 * flags from the verb's option table (and prints its --help), and hands
 * the operands over; each verb lives in cmd_NAME.c.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "common/core/log.h"
#include "common/net/nngio.h"
#include "services/cella/cmd.h"
#include "services/cella/conn.h"
#include "proto/ports.h"

/* One table for every verb; a verb's --help adds only its own meanings. */
static const char exit_codes[] =
	"exit codes (sysexits.h), the same for every command (exec exits\n"
	"with its command's status once the command runs):\n"
	"  0   done\n"
	"  1   the command's own failure (a service failed, a copy or a\n"
	"      document was refused for its content)\n"
	"  64  usage: a bad flag or argument, or an enclave path the rules\n"
	"      refuse ('.' or '..' in it, too long)\n"
	"  65  a file holds something other than it should (sim-ca)\n"
	"  66  a path to read is missing, unreadable, or not the kind of\n"
	"      file needed (cella.yaml a FIFO, a directory for a key), on\n"
	"      the host or in the enclave\n"
	"  69  the enclave or a service cannot be reached\n"
	"  70  internal error\n"
	"  73  a path to write cannot be made: its directory is missing,\n"
	"      something is in the way, or it exists (without --force)\n"
	"  75  temporary: no answer in time (try again)\n"
	"  77  refused: an operator role, the enclave's policy or allowed\n"
	"      roots (or a path that leads out of them), a directory another\n"
	"      user owns or others can write, a key others can read\n"
	"  78  cella.yaml is wrong (file:line and key are named)\n";

static void
usage(FILE *f)
{
	fprintf(f, "usage: cella [--control URL] COMMAND [ARGS...]\n\n"
		   "  --control URL  cella-init's control socket for the service\n"
		   "                 verbs (also $CELLA_CONTROL; default\n"
		   "                 " CELLA_IPC_INIT_URL ")\n\ncommands:\n");
	for (const struct cella_cmd *const *c = cella_cmds; *c != NULL; c++)
		fprintf(f, "  %-10s %s\n", (*c)->name, (*c)->summary);
	cella_conn_print_usage(f);
	fprintf(f, "\n%s\n'cella COMMAND --help' describes each command.\n",
		exit_codes);
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
	for (const struct cella_cmd *const *cp = cella_cmds; *cp != NULL; cp++) {
		const struct cella_cmd *c = *cp;

		if (strcmp(argv[1], c->name) != 0)
			continue;
		argc--;
		argv++;
		if (c->connects &&
		    (rv = cella_conn_parse_args(&argc, argv)) != 0)
			return rv;
		/* A peer that closes must be an error with a message, not a
		 * silent death by SIGPIPE (exit 141) in the middle of a TLS
		 * write: every socket write gets EPIPE instead. (Not for the
		 * verbs that start processes: they would inherit it.) */
		if (c->connects)
			signal(SIGPIPE, SIG_IGN);
		rv = cella_cmd_run(c, argc, argv);
		/* A vsock URL's private socket goes with its relay. */
		cella_nng_shutdown();
		return rv;
	}
	fprintf(stderr, "cella: unknown command '%s' (try 'cella --help')\n",
		argv[1]);
	return EX_USAGE;
}
