/*
 * cmd_svc: `cella start|stop|restart SERVICE`. By default the command waits
 * until the service is ready (start, restart) or stopped (stop) and says
 * so; --no-wait returns once cella-init accepted the request. Exit 0 done,
 * 1 refused or failed (the reason on stderr), 75 timed out.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "common/cbor/cbor.h"
#include "services/cella/cmd.h"
#include "services/cella/ctl.h"

/* listed in cmd_table.c */
int cella_cmd_start(int argc, char **argv);
int cella_cmd_stop(int argc, char **argv);
int cella_cmd_restart(int argc, char **argv);

#define SVC_TIMEOUT_S 120

static void
usage(FILE *f, const char *verb)
{
	fprintf(f,
		"usage: cella %s [--no-wait] [--timeout SECONDS] [--control URL] "
		"SERVICE\n\n"
		"  --no-wait       return once cella-init accepted it\n"
		"  --timeout S     how long to wait (default %d)\n"
		"  --control URL   cella-init's control API (default "
		"$CELLA_CONTROL or " CELLA_CTL_DEFAULT_URL ")\n",
		verb, SVC_TIMEOUT_S);
}

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
run(int argc, char **argv, const char *verb, uint32_t type)
{
	static const struct option longs[] = {
		{"no-wait", no_argument, NULL, 'n'},
		{"timeout", required_argument, NULL, 't'},
		{"control", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct cella_rpc_client *cli = NULL;
	struct cella_env reply = {0};
	cbor_item_t *body = NULL;
	const char *url = NULL;
	long timeout = SVC_TIMEOUT_S;
	bool wait = true;
	char *end;
	int ch, rv;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
		switch (ch) {
		case 'n': wait = false; break;
		case 'c': url = optarg; break;
		case 't':
			timeout = strtol(optarg, &end, 10);
			if (*end != '\0' || timeout < 1 || timeout > 3600) {
				fprintf(stderr, "cella %s: --timeout: 1..3600 seconds\n", verb);
				return EX_USAGE;
			}
			break;
		case 'h': usage(stdout, verb); return 0;
		default: usage(stderr, verb); return EX_USAGE;
		}
	}
	if (optind != argc - 1) {
		usage(stderr, verb);
		return EX_USAGE;
	}
	body = cbor_new_indefinite_map();
	if (body == NULL || cella_cbor_put_text(body, "service", argv[optind]) < 0 ||
	    cella_cbor_put_bool(body, "wait", wait) < 0 ||
	    cella_cbor_put_uint(body, "timeout_ms", (uint64_t)timeout * 1000) < 0) {
		rv = EX_OSERR;
		goto out;
	}
	rv = cella_ctl_open(verb, cella_ctl_url(url), (int)(timeout * 1000 + 5000),
			    &cli);
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
	return rv;
}

int
cella_cmd_start(int argc, char **argv)
{
	return run(argc, argv, "start", CELLA_MSG_INIT_START);
}

int
cella_cmd_stop(int argc, char **argv)
{
	return run(argc, argv, "stop", CELLA_MSG_INIT_STOP);
}

int
cella_cmd_restart(int argc, char **argv)
{
	return run(argc, argv, "restart", CELLA_MSG_INIT_RESTART);
}
