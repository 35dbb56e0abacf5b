/*
 * cmd_svc: `cella start|stop|restart SERVICE`. By default the command waits
 * until the service is ready (start, restart) or stopped (stop) and says
 * so; --no-wait returns once cella-init accepted the request. Exit 0 done,
 * 1 refused or failed (the reason on stderr), 75 timed out.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "common/cbor/cbor.h"
#include "common/core/exitcode.h"
#include "services/cella/cmd.h"
#include "services/cella/ctl.h"

#define SVC_TIMEOUT_S 120
#define STR_(x) #x
#define STR(x) STR_(x)

static struct {
	const char *url;
	uint64_t timeout_ms;
	bool no_wait;
} args = {.timeout_ms = SVC_TIMEOUT_S * 1000};

static const struct cella_opt opts[] = {
	{"no-wait", 0, CELLA_OPT_FLAG, &args.no_wait,
	 .help = "return once cella-init accepted it"},
	{"timeout", 0, CELLA_OPT_SECONDS, &args.timeout_ms, .min = 1,
	 .max = 3600, .metavar = "S",
	 .help = "how long to wait (default " STR(SVC_TIMEOUT_S) ")"},
	{"control", 0, CELLA_OPT_STR, &args.url, .metavar = "URL",
	 .help = "cella-init's control API (default $CELLA_CONTROL\nor "
		 CELLA_CTL_DEFAULT_URL ")"},
	{0},
};

static void
report(const char *verb, const struct cella_env *reply)
{
	struct cella_span name = {0}, state = {0};
	uint64_t pid = 0;

	(void)cella_cbor_get_text(reply->body, "service", 64, &name, NULL);
	(void)cella_cbor_get_text(reply->body, "state", 32, &state, NULL);
	(void)cella_cbor_get_uint(reply->body, "pid", UINT64_MAX, &pid, NULL);
	printf("%.*s: %.*s", (int)name.n, (const char *)name.p, (int)state.n,
	       (const char *)state.p);
	if (pid > 0)
		printf(" (pid %" PRIu64 ")", pid);
	printf("\n");
	(void)verb;
}

static int
run(const char *service, const char *verb, uint32_t type)
{
	struct cella_rpc_client *cli = NULL;
	struct cella_env reply = {0};
	cbor_item_t *body = cbor_new_indefinite_map();
	int rv;

	if (body == NULL || cella_cbor_put_text(body, "service", service) < 0 ||
	    cella_cbor_put_bool(body, "wait", !args.no_wait) < 0 ||
	    cella_cbor_put_uint(body, "timeout_ms", args.timeout_ms) < 0) {
		rv = -ENOMEM;
		goto out;
	}
	rv = cella_ctl_open(verb, cella_ctl_url(args.url),
			    (int)(args.timeout_ms + 5000), &cli);
	if (rv == 0)
		rv = cella_ctl_call(verb, cli, type, body,
				    CELLA_MSG_INIT_STATUS_REPLY, &reply);
	if (rv == 0) {
		report(verb, &reply);
		cella_env_fini(&reply);
	}
out:
	if (body != NULL)
		cbor_decref(&body);
	cella_rpc_client_free(cli);
	return cella_exit_from_err(rv);
}

static int
cmd_start(int argc, char **argv)
{
	(void)argc;
	return run(argv[1], "start", CELLA_MSG_INIT_START);
}

static int
cmd_stop(int argc, char **argv)
{
	(void)argc;
	return run(argv[1], "stop", CELLA_MSG_INIT_STOP);
}

static int
cmd_restart(int argc, char **argv)
{
	(void)argc;
	return run(argv[1], "restart", CELLA_MSG_INIT_RESTART);
}

#define SVC_VERB(verb, fn, what)                                           \
	{                                                                  \
		.name = verb, .run = fn, .summary = what, .connects = true, \
		.opts = opts, .args = "[OPTIONS] SERVICE", .min_args = 1,  \
		.max_args = 1,                                             \
	}

const struct cella_cmd cella_cmd_start =
	SVC_VERB("start", cmd_start, "start a service and wait until ready");
const struct cella_cmd cella_cmd_stop =
	SVC_VERB("stop", cmd_stop, "stop a service and its whole process group");
const struct cella_cmd cella_cmd_restart =
	SVC_VERB("restart", cmd_restart,
		 "restart a service and wait until ready");
