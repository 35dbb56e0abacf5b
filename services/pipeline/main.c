/*
 * cella-pipeline: the enclave's secure local channel for cella exec and
 * cella cp. main() reads: parse flags, load the config (--check-config
 * stops here), size the thread pool, raise the descriptor limit, start
 * serving, say ready, run the loop until SIGTERM/SIGINT, exit 0. Who may
 * use it is decided per request (svc.c); what a request does, in exec.c
 * and the file modules.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sysexits.h>
#include <uv.h>

#include "common/conf/cella/cellacfg.h"
#include "common/core/log.h"
#include "common/net/nngio.h"
#include "common/core/ready.h"
#include "services/pipeline/pipe.h"

struct opts {
	const char *config, *listen;
	int ready_fd;
	bool check;
};

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: cella-pipeline --config FILE [--listen URL] "
		"[--ready-fd N]\n"
		"                      [--check-config] [-v]\n\n"
		"Runs commands (cella exec) and moves files (cella cp) for\n"
		"local peers and for operators the attested bridge admits,\n"
		"as the config's policy allows. Every command and received\n"
		"file is appended to cella-init's event log (init.control).\n\n"
		"config keys (pipeline:):\n");
	cella_conf_print_docs(f, cella_cfg_pipeline_keys);
}

static int
parse(int argc, char **argv, struct opts *o)
{
	static const struct option longs[] = {
		{"config", required_argument, NULL, 'c'},
		{"listen", required_argument, NULL, 'l'},
		{"ready-fd", required_argument, NULL, 'r'},
		{"check-config", no_argument, NULL, 'n'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	int ch;

	o->ready_fd = -1;
	while ((ch = getopt_long(argc, argv, "c:nvh", longs, NULL)) != -1) {
		switch (ch) {
		case 'c': o->config = optarg; break;
		case 'l': o->listen = optarg; break;
		case 'n': o->check = true; break;
		case 'v': cella_log_verbose(); break;
		case 'h': usage(stdout); exit(0);
		case 'r':
			if ((o->ready_fd = cella_ready_parse(optarg)) < 0) {
				fprintf(stderr, "cella-pipeline: --ready-fd %s: "
						"%s\n", optarg,
					cella_strerror(o->ready_fd));
				return EX_USAGE;
			}
			break;
		default: return EX_USAGE;
		}
	}
	if (o->config == NULL || optind != argc) {
		fprintf(stderr, "cella-pipeline: %s (try --help)\n",
			o->config ? "unexpected argument" : "--config is required");
		return EX_USAGE;
	}
	return 0;
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
	struct opts o = {0};
	uv_loop_t loop;
	int rv;

	cella_log_init("pipeline", CELLA_LOG_INFO);
	if ((rv = parse(argc, argv, &o)) != 0 || (rv = load(&o, &pc)) != 0)
		return rv;
	if (o.check)
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
		cella_ready_notify(o.ready_fd);
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
