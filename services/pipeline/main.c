/*
 * cella-pipeline: the enclave's secure local channel for cella exec and
 * cella cp. main() reads: parse flags, load the config (--check-config
 * stops here), size the thread pool, raise the descriptor limit, start
 * serving, say ready, run the loop until SIGTERM/SIGINT, exit 0. Who may
 * use it is decided per request (svc.c); what a request does, in exec.c
 * and the file modules.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sysexits.h>
#include <uv.h>

#include "common/conf/cella/cellacfg.h"
#include "common/core/log.h"
#include "common/core/opts.h"
#include "common/net/nngio.h"
#include "common/core/ready.h"
#include "services/pipeline/pipe.h"

struct opts {
	const char *config, *listen;
	int ready_fd;
	bool check;
};

static struct opts args = {.ready_fd = -1};

static const struct cella_opt flags[] = {
	{"config", 'c', CELLA_OPT_STR, &args.config, .metavar = "FILE",
	 .help = "cella.yaml (required); its pipeline: section applies"},
	{"listen", 0, CELLA_OPT_STR, &args.listen, .metavar = "URL",
	 .help = "pipeline.listen"},
	{"ready-fd", 0, CELLA_OPT_FD, &args.ready_fd, .metavar = "N",
	 .help = "write one line to fd N once serving"},
	{"check-config", 'n', CELLA_OPT_FLAG, &args.check,
	 .help = "validate the configuration and exit"},
	{"verbose", 'v', CELLA_OPT_ACTION, .fn = cella_opt_verbose,
	 .help = "more logging (repeatable)"},
	{0},
};

static void
more_help(FILE *f)
{
	cella_conf_print_docs(f, cella_cfg_pipeline_keys);
}

static const struct cella_optset optset = {
	.prog = "cella-pipeline",
	.args = "--config FILE [OPTIONS]",
	.about = "Runs commands (cella exec) and moves files (cella cp) for\n"
		 "local peers and for operators the attested bridge admits,\n"
		 "as the config's policy allows. Every command and received\n"
		 "file is appended to cella-init's event log (init.control).\n",
	.opts = flags,
	.more = "config keys (pipeline:):\n",
	.more_fn = more_help,
};

/* -1 to go on, else what main returns: 0 after --help, 64 usage. */
static int
parse(int argc, char **argv)
{
	int first, rv = cella_opts_parse(&optset, argc, argv, &first);

	if (rv != CELLA_OPTS_RUN)
		return cella_opts_exit(rv);
	if (args.config == NULL) {
		fprintf(stderr, "cella-pipeline: --config is required (try "
				"'cella-pipeline --help')\n");
		return EX_USAGE;
	}
	return -1;
}

static int
load(const struct opts *o, struct pipe_conf *pc)
{
	struct cella_diag d = {{0}};
	struct cella_conf *c = NULL;
	int rv;

	if ((rv = cella_conf_load_file(o->config, &c, &d)) == 0)
		rv = pipe_conf_load(c, pc, &d);
	cella_conf_free(c);
	if (rv < 0) {
		if (o->check)
			fprintf(stderr, "cella-pipeline: %s\n", d.msg);
		else
			cella_log_error("config_failed", "msg=%s", cella_q(d.msg));
		return EX_CONFIG;
	}
	if (o->listen != NULL)
		snprintf(pc->listen, sizeof(pc->listen), "%s", o->listen);
	return 0;
}

/* libuv sizes its pool once, from the environment, at first use. */
static void
prepare(const struct pipe_conf *pc)
{
	struct rlimit rl;
	char n[16];

	snprintf(n, sizeof(n), "%u", pc->threads + 1);
	setenv("UV_THREADPOOL_SIZE", n, 1);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGPIPE, SIG_IGN);
}

int
main(int argc, char **argv)
{
	struct pipe_conf pc = {0};
	struct cella_diag d = {{0}};
	struct pipe_svc *s = NULL;
	uv_loop_t loop;
	int rv;

	cella_log_init("pipeline", CELLA_LOG_INFO);
	if ((rv = parse(argc, argv)) >= 0 || (rv = load(&args, &pc)) != 0)
		return rv;
	if (args.check)
		goto out;
	prepare(&pc);
	if ((s = calloc(1, sizeof(*s))) == NULL || uv_loop_init(&loop) < 0) {
		rv = EX_OSERR;
		goto out;
	}
	if (pipe_svc_start(s, &loop, &pc, &d) < 0) {
		cella_log_error("start_failed", "msg=%s", cella_q(d.msg));
		rv = EX_UNAVAILABLE;
	} else {
		cella_log_info("listening", "url=%s roots=%zu exec=%s files=%s",
			       cella_q(pc.listen), pc.nroots,
			       pc.allowed & CELLA_ROLE_EXEC ? "allowed" : "denied",
			       pc.allowed & CELLA_ROLE_FILES ? "allowed"
							     : "denied");
		cella_ready_notify(args.ready_fd);
	}
	uv_run(&loop, UV_RUN_DEFAULT);
	pipe_svc_fini(s);
	if (uv_loop_close(&loop) != 0)
		cella_log_warn("loop_busy", "handles left open at exit");
	cella_nng_shutdown();
out:
	free(s);
	pipe_conf_fini(&pc);
	return rv;
}
