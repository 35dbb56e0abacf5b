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
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "common/core/log.h"
#include "common/net/nngio.h"
#include "common/core/ready.h"
#include "services/init/boot.h"
#include "services/init/config.h"
#include "services/init/control.h"
#include "services/init/run.h"

#define LOG_BYTES_DEFAULT (4u << 20)
#define LOG_BYTES_MIN 4096u
#define LOG_BYTES_MAX (1u << 30)

struct init_opts {
	const char *config, *control, *log_file;
	unsigned long log_bytes;
	int ready_fd;
	bool check, print;
};

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: cella-init --config FILE [--control URL] [--ready-fd N]\n"
		"                  [--log-file PATH [--log-bytes N]]\n"
		"                  [--check-config] [--print-config] [-v]\n\n"
		"PID 1 for a cella enclave: boot duties, supervision of the\n"
		"config's services, captured logs, the measured event log and\n"
		"a control API (default %s).\n\n"
		"  --log-file PATH  log there instead of stderr (the services'\n"
		"                   echoed lines too); at --log-bytes (default\n"
		"                   %u, %u..%u) it becomes PATH.1 and a fresh\n"
		"                   PATH starts: the newest lines are kept\n\n"
		"config keys (init: and services.<name>:):\n",
		"ipc:///run/cella/init.sock", LOG_BYTES_DEFAULT, LOG_BYTES_MIN,
		LOG_BYTES_MAX);
	cella_conf_print_docs(f, cella_cfg_schema);
}

static int
parse_bytes(const char *arg, unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(arg, &end, 10);
	if (errno != 0 || end == arg || *end != '\0' || arg[0] == '-' ||
	    *out < LOG_BYTES_MIN || *out > LOG_BYTES_MAX) {
		fprintf(stderr, "cella-init: --log-bytes %s: a size in bytes, "
				"%u..%u\n", arg, LOG_BYTES_MIN, LOG_BYTES_MAX);
		return -EINVAL;
	}
	return 0;
}

static int
parse_flags(int argc, char **argv, struct init_opts *o)
{
	static const struct option longs[] = {
		{"config", required_argument, NULL, 'c'},
		{"control", required_argument, NULL, 'C'},
		{"ready-fd", required_argument, NULL, 'r'},
		{"check-config", no_argument, NULL, 'n'},
		{"print-config", no_argument, NULL, 'p'},
		{"log-file", required_argument, NULL, 'l'},
		{"log-bytes", required_argument, NULL, 'b'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	int ch;

	o->ready_fd = -1;
	o->log_bytes = LOG_BYTES_DEFAULT;
	while ((ch = getopt_long(argc, argv, "c:nvh", longs, NULL)) != -1) {
		switch (ch) {
		case 'c': o->config = optarg; break;
		case 'C': o->control = optarg; break;
		case 'l': o->log_file = optarg; break;
		case 'b':
			if (parse_bytes(optarg, &o->log_bytes) < 0)
				return EX_USAGE;
			break;
		case 'n': o->check = true; break;
		case 'p': o->print = true; break;
		case 'v': cella_log_verbose(); break;
		case 'h': usage(stdout); exit(0);
		case 'r':
			o->ready_fd = cella_ready_parse(optarg);
			if (o->ready_fd < 0) {
				fprintf(stderr, "cella-init: --ready-fd %s: %s\n",
					optarg, cella_strerror(o->ready_fd));
				return EX_USAGE;
			}
			break;
		default: return EX_USAGE;
		}
	}
	if (o->config == NULL || optind != argc) {
		fprintf(stderr, "cella-init: %s (try --help)\n",
			o->config ? "unexpected argument" : "--config is required");
		return EX_USAGE;
	}
	return 0;
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
	struct init_opts o = {0};
	struct init_conf *conf = NULL;
	struct cella_diag d = {{0}};
	bool pid1 = getpid() == 1;
	sigset_t set;
	int rv;

	init_signals_block(&set);
	std_fds();
	cella_log_init("init", CELLA_LOG_INFO);
	rv = parse_flags(argc, argv, &o);
	if (rv == 0 && o.log_file != NULL &&
	    (rv = cella_log_open_file(o.log_file, o.log_bytes)) < 0) {
		fprintf(stderr, "cella-init: --log-file %s: %s\n", o.log_file,
			cella_strerror(rv));
		rv = EX_CANTCREAT;
	}
	if (rv == 0 && init_conf_load(o.config, o.print ? stdout : NULL, &conf,
				      &d) < 0) {
		if (o.check || o.print)
			fprintf(stderr, "cella-init: %s\n", d.msg);
		else
			cella_log_error("config_failed", "msg=%s", cella_q(d.msg));
		rv = EX_CONFIG;
	}
	if (rv != 0 || o.check || o.print) {
		init_conf_free(conf);
		if (rv != 0 && pid1)
			(void)init_boot_final(pid1, true);
		return rv;
	}
	cella_log_info("start", "pid=%d config=%s services=%zu", (int)getpid(),
		       cella_q(conf->path), conf->nsvc);
	boot_duties(conf);
	rv = supervise(conf, &o, pid1);
	(void)init_boot_final(pid1, conf->poweroff);
	init_conf_free(conf);
	cella_log_info("exit", "code=%d", rv);
	return rv;
}
