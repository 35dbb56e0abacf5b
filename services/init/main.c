/*
 * cella-init: PID 1 of a cella enclave (and the supervisor of the local
 * emulator and the tests). main() reads: block signals, parse flags, load
 * the config (--check-config / --print-config stop here), boot duties, open
 * the control API, start the services, run the loop until shutdown, close,
 * final sweep, power off or exit 0. As PID 1 it never exits on an error:
 * it logs and takes the shutdown path.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "common/core/log.h"
#include "common/core/opts.h"
#include "common/net/nngio.h"
#include "common/core/ready.h"
#include "services/init/boot.h"
#include "services/init/config.h"
#include "services/init/control.h"
#include "services/init/run.h"
#include "proto/ports.h"

#define LOG_BYTES_DEFAULT 4194304 /* 4 MiB */
#define LOG_BYTES_MIN 4096
#define LOG_BYTES_MAX 1073741824 /* 1 GiB */
#define STR_(x) #x
#define STR(x) STR_(x)

struct init_opts {
	const char *config, *control, *log_file;
	uint64_t log_bytes;
	int ready_fd;
	bool check, print;
};

static struct init_opts args = {.ready_fd = -1, .log_bytes = LOG_BYTES_DEFAULT};

static const struct cella_opt flags[] = {
	{"config", 'c', CELLA_OPT_STR, &args.config, .metavar = "FILE",
	 .help = "the configuration (required)"},
	{"control", 0, CELLA_OPT_STR, &args.control, .metavar = "URL",
	 .help = "the control API (default init.control, else\n"
		 CELLA_IPC_INIT_URL ")"},
	{"ready-fd", 0, CELLA_OPT_FD, &args.ready_fd, .metavar = "N",
	 .help = "write one line to fd N once every service settled"},
	{"log-file", 0, CELLA_OPT_STR, &args.log_file, .metavar = "PATH",
	 .help = "log there instead of stderr (the services' echoed\n"
		 "lines too); at --log-bytes it becomes PATH.1 and a\n"
		 "fresh PATH starts: the newest lines are kept"},
	{"log-bytes", 0, CELLA_OPT_U64, &args.log_bytes, .min = LOG_BYTES_MIN,
	 .max = LOG_BYTES_MAX, .metavar = "N", .expect = "a size in bytes",
	 .help = "--log-file's size (default " STR(LOG_BYTES_DEFAULT) ")"},
	{"check-config", 'n', CELLA_OPT_FLAG, &args.check,
	 .help = "validate the configuration and exit"},
	{"print-config", 0, CELLA_OPT_FLAG, &args.print,
	 .help = "print the effective configuration and exit"},
	{"verbose", 'v', CELLA_OPT_ACTION, .fn = cella_opt_verbose,
	 .help = "more logging (repeatable)"},
	{0},
};

static void
more_help(FILE *f)
{
	cella_conf_print_docs(f, cella_cfg_schema);
}

static const struct cella_optset optset = {
	.prog = "cella-init",
	.args = "--config FILE [OPTIONS]",
	.about = "PID 1 for a cella enclave: boot duties, supervision of the\n"
		 "config's services, captured logs, the measured event log and\n"
		 "a control API.\n",
	.opts = flags,
	.more = "config keys (init: and services.<name>:):\n",
	.more_fn = more_help,
};

/* -1 to go on, else what main returns: 0 after --help, 64 usage. */
static int
parse_flags(int argc, char **argv)
{
	int first, rv = cella_opts_parse(&optset, argc, argv, &first);

	if (rv != CELLA_OPTS_RUN)
		return cella_opts_exit(rv);
	if (args.config == NULL) {
		fprintf(stderr, "cella-init: --config is required (try "
				"'cella-init --help')\n");
		return EX_USAGE;
	}
	return -1;
}

/*
 * A kernel may start PID 1 with 0, 1 or 2 closed; a pipe or socket opened
 * later would take the number and receive stray output. Fill the gaps.
 */
static void
std_fds(void)
{
	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0 &&
		    open(fd == 0 ? "/dev/null" : "/dev/console", O_RDWR) < 0)
			(void)open("/dev/null", O_RDWR);
}

static void
boot_duties(const struct init_conf *c)
{
	if (c->mounts)
		(void)init_boot_mounts();
	if (c->loopback)
		(void)init_boot_loopback();
	if (c->entropy)
		(void)init_boot_entropy();
	if (c->heartbeat)
		(void)init_boot_heartbeat(c->heartbeat_url, c->heartbeat_timeout_ms);
}

static void
walk_close(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

/* Serve until shutdown; returns 0 or an exit code for a non-PID-1 init. */
static int
supervise(struct init_conf *conf, const struct init_opts *o, bool pid1)
{
	struct init_ctx *ctx = calloc(1, sizeof(*ctx));
	struct cella_diag d = {{0}};
	uv_loop_t loop;
	int rv = 0;

	if (ctx == NULL || uv_loop_init(&loop) < 0)
		return EX_OSERR;
	if (init_ctx_init(ctx, &loop, conf, &d) < 0) {
		cella_log_error("init_failed", "msg=%s", cella_q(d.msg));
		rv = EX_OSERR;
		goto out;
	}
	if (init_control_new(ctx, o->control ? o->control : conf->control_url,
			     &ctx->ctl, &d) < 0) {
		cella_log_error("control_failed", "msg=%s", cella_q(d.msg));
		if (!pid1) {
			rv = EX_UNAVAILABLE;
			goto out;
		}
	}
	ctx->ready_fd = o->ready_fd;
	init_ctx_boot(ctx);
	uv_run(&loop, UV_RUN_DEFAULT);
out:
	init_control_free(ctx->ctl);
	ctx->ctl = NULL;
	init_capture_close_all(ctx);
	init_ctx_close(ctx);
	uv_walk(&loop, walk_close, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	if (uv_loop_close(&loop) != 0)
		cella_log_error("loop_not_closed", "handles=left");
	init_ctx_fini(ctx);
	free(ctx);
	cella_nng_shutdown();
	return rv;
}

int
main(int argc, char **argv)
{
	struct init_conf *conf = NULL;
	struct cella_diag d = {{0}};
	bool pid1 = getpid() == 1;
	sigset_t set;
	int rv;

	init_signals_block(&set);
	std_fds();
	cella_log_init("init", CELLA_LOG_INFO);
	if ((rv = parse_flags(argc, argv)) == 0)
		return 0; /* --help */
	if (rv < 0)
		rv = 0;
	if (rv == 0 && args.log_file != NULL &&
	    (rv = cella_log_open_file(args.log_file, args.log_bytes)) < 0) {
		fprintf(stderr, "cella-init: --log-file %s: %s\n", args.log_file,
			cella_strerror(rv));
		rv = EX_CANTCREAT;
	}
	if (rv == 0 && init_conf_load(args.config, args.print ? stdout : NULL, &conf,
				      &d) < 0) {
		if (args.check || args.print)
			fprintf(stderr, "cella-init: %s\n", d.msg);
		else
			cella_log_error("config_failed", "msg=%s", cella_q(d.msg));
		rv = EX_CONFIG;
	}
	if (rv != 0 || args.check || args.print) {
		init_conf_free(conf);
		if (rv != 0 && pid1)
			(void)init_boot_final(pid1, true);
		return rv;
	}
	cella_log_info("start", "pid=%d config=%s services=%zu", (int)getpid(),
		       cella_q(conf->path), conf->nsvc);
	boot_duties(conf);
	rv = supervise(conf, &args, pid1);
	(void)init_boot_final(pid1, conf->poweroff);
	init_conf_free(conf);
	cella_log_info("exit", "code=%d", rv);
	return rv;
}
