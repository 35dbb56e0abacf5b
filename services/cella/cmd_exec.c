/*
 * cmd_exec: `cella exec [-e K=V]... [-w DIR] [-i] [-t SECS] [--shell]
 * [--detach] -- CMD [ARG...]`, a command run by cella-pipeline, with its
 * stdout and stderr streamed back as they come (long-poll reads), stdin
 * streamed in with -i (a thread of its own), and the command's exit status
 * as ours (128+N for a signal, 124 after --timeout). SIGINT, SIGTERM,
 * SIGHUP and SIGQUIT are passed on to the command's process group; if we
 * die, the connection closes and the pipeline kills the group. Errors of
 * cella itself: 64 usage, 69 unreachable, 77 refused by policy or role,
 * 126 the command cannot run, 127 not found, 70 anything else.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "common/cbor/cbor.h"
#include "common/core/exitcode.h"
#include "services/cella/cmd.h"
#include "services/cella/conn.h"
#include "services/cella/exec_io.h"

#define EXEC_CALL_MS 30000 /* every call; long-polls are shorter */
#define EXEC_POLL_MS 10000
#define EXEC_ENV_MAX 1024

struct xopts {
	const char *env[EXEC_ENV_MAX];
	size_t nenv;
	const char *workdir;
	bool in, shell, detach;
	uint64_t timeout_ms;
	char **cmd;
	int ncmd;
};

static struct xopts args;

static int
add_env(void *dst, const char *word, struct cella_diag *d)
{
	(void)dst;
	if (word[0] == '=' || word[0] == '\0')
		return cella_diag_set(d, -EINVAL, "expected K=V or K");
	if (args.nenv == EXEC_ENV_MAX)
		return cella_diag_set(d, -E2BIG, "more than %d variables",
				      EXEC_ENV_MAX);
	args.env[args.nenv++] = word;
	return 0;
}

static const struct cella_opt opts[] = {
	{"env", 'e', CELLA_OPT_FUNC, NULL, .fn = add_env, .metavar = "K=V",
	 .help = "set a variable (K alone: take ours)"},
	{"workdir", 'w', CELLA_OPT_STR, &args.workdir, .metavar = "DIR",
	 .help = "working directory (default /)"},
	{"interactive", 'i', CELLA_OPT_FLAG, &args.in,
	 .help = "stream our stdin to the command"},
	{"timeout", 't', CELLA_OPT_SECONDS, &args.timeout_ms, .min = 1,
	 .max = INT64_MAX, .metavar = "S",
	 .help = "kill the command after S seconds (exit 124)"},
	{"shell", 0, CELLA_OPT_FLAG, &args.shell,
	 .help = "CMD is one string for /bin/sh -c"},
	{"detach", 'd', CELLA_OPT_FLAG, &args.detach,
	 .help = "start it and print its pid; no output"},
	{0},
};

/* The command line after the flags: 0, or 64 after saying why. */
static int
check_cmd(int argc, char **argv, struct xopts *o)
{
	o->cmd = argv + 1;
	o->ncmd = argc - 1;
	if (o->ncmd == 0 || (o->shell && o->ncmd != 1) || (o->detach && o->in)) {
		fprintf(stderr, "cella exec: %s\n",
			o->ncmd == 0 ? "no command (cella exec -- CMD [ARG...])"
			: o->shell   ? "--shell takes the command as one string"
				     : "--detach and -i do not go together");
		return EX_USAGE;
	}
	return 0;
}

static int
put_env(cbor_item_t *b, const struct xopts *o)
{
	cbor_item_t *env = cbor_new_indefinite_map();
	int rv = -ENOMEM;

	if (env == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < o->nenv; i++) {
		const char *eq = strchr(o->env[i], '='), *v;
		char name[256];

		snprintf(name, sizeof(name), "%.*s",
			 eq ? (int)(eq - o->env[i]) : (int)strlen(o->env[i]),
			 o->env[i]);
		v = eq ? eq + 1 : getenv(name);
		if (v != NULL && cella_cbor_put_text(env, name, v) < 0)
			goto out;
	}
	rv = cella_cbor_put_item(b, "env", env);
out:
	cbor_decref(&env);
	return rv;
}

static cbor_item_t *
exec_body(const struct xopts *o)
{
	cbor_item_t *b = cbor_new_indefinite_map(), *argv = NULL;
	bool ok = b != NULL;

	if (ok && o->shell)
		ok = cella_cbor_put_text(b, "shell", o->cmd[0]) == 0;
	else if (ok) {
		ok = (argv = cbor_new_indefinite_array()) != NULL;
		for (int i = 0; ok && i < o->ncmd; i++) {
			cbor_item_t *s = cbor_build_string(o->cmd[i]);

			ok = s != NULL && cbor_array_push(argv, s);
			if (s != NULL)
				cbor_decref(&s);
		}
		ok = ok && cella_cbor_put_item(b, "argv", argv) == 0;
	}
	ok = ok && (o->nenv == 0 || put_env(b, o) == 0) &&
	     (o->workdir == NULL ||
	      cella_cbor_put_text(b, "workdir", o->workdir) == 0) &&
	     cella_cbor_put_bool(b, "stdin", o->in) == 0 &&
	     cella_cbor_put_bool(b, "detach", o->detach) == 0 &&
	     (o->timeout_ms == 0 ||
	      cella_cbor_put_uint(b, "timeout_ms", o->timeout_ms) == 0);
	if (argv != NULL)
		cbor_decref(&argv);
	if (!ok && b != NULL)
		cbor_decref(&b);
	return ok ? b : NULL;
}

/* Exit code for an error the pipeline answered to PIPE_EXEC. */
static int
start_error(int err)
{
	switch (err) {
	case -ENOENT: return 127;
	case -ENOEXEC:
	case -ENOTDIR: return 126;
	default: return cella_exit_from_err(err);
	}
}

static int
start(struct cella_rpc_client *c, const struct xopts *o, uint64_t *id,
      uint64_t *pid)
{
	struct cella_diag d = {{0}};
	struct cella_env r = {0};
	cbor_item_t *b = exec_body(o);
	int rv;

	if (b == NULL) {
		fprintf(stderr, "cella exec: out of memory\n");
		return EX_OSERR;
	}
	rv = cella_rpc_call(c, CELLA_MSG_PIPE_EXEC, b, &r, &d);
	cbor_decref(&b);
	if (rv < 0) {
		cella_conn_report("exec", rv, d.msg, false);
		return start_error(rv);
	}
	rv = cella_cbor_get_uint(r.body, "id", UINT64_MAX, id, &d) < 0 ||
	     cella_cbor_get_uint(r.body, "pid", UINT32_MAX, pid, &d) < 0;
	cella_env_fini(&r);
	if (rv) {
		fprintf(stderr, "cella exec: bad reply: %s\n", d.msg);
		return EX_PROTOCOL;
	}
	return 0;
}

static int
cmd_exec(int argc, char **argv)
{
	struct cella_rpc_client *c = NULL;
	struct exec_run run = {0};
	struct xopts *o = &args;
	uint64_t pid = 0;
	int rv;

	if ((rv = check_cmd(argc, argv, o)) != 0)
		return rv;
	exec_signals_block();
	if ((rv = cella_conn_open("exec", CELLA_SVC_PIPELINE, EXEC_CALL_MS,
				  &c)) < 0)
		return cella_exit_from_err(rv);
	if ((rv = start(c, o, &run.id, &pid)) != 0)
		goto out;
	if (o->detach) {
		printf("%" PRIu64 "\n", pid);
		goto out;
	}
	run.c = c;
	run.poll_ms = EXEC_POLL_MS;
	run.timeout_s = o->timeout_ms / 1000;
	rv = exec_run(&run, o->in);
out:
	cella_rpc_client_free(c);
	return rv;
}

const struct cella_cmd cella_cmd_exec = {
	.name = "exec",
	.run = cmd_exec,
	.summary = "run a command in the enclave",
	.connects = true,
	.opts = opts,
	.args = "[OPTIONS] -- CMD [ARG...]",
	.help = "Run a command in the enclave (cella-pipeline), streaming "
		"its\n"
		"output; exits with the command's status (128+N for signal N).\n",
	.in_order = true,
	.max_args = -1,
};
