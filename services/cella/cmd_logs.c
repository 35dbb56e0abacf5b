/*
 * cmd_logs: `cella logs [-f] [-n N] SERVICE`, a service's captured output
 * as cella-init keeps it: the bytes exactly as the service wrote them (a
 * newline after each complete line, none after a partial one), stdout and
 * stderr interleaved in the order they were read. -f follows with
 * long-polls until interrupted, or until nobody reads our stdout any more
 * (exit 141, as a SIGPIPE would have it). Lines the ring dropped before
 * they could be read are reported on stderr.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "common/cbor/cbor.h"
#include "common/core/exitcode.h"
#include "services/cella/cmd.h"
#include "services/cella/ctl.h"

#define LOGS_TIMEOUT_MS 10000
#define LOGS_FOLLOW_MS 30000

struct lopts {
	const char *url, *service;
	bool follow;
	uint64_t tail;
};

static struct lopts args;

static const struct cella_opt opts[] = {
	{"follow", 'f', CELLA_OPT_FLAG, &args.follow,
	 .help = "keep printing new lines"},
	{"tail", 'n', CELLA_OPT_U64, &args.tail, .metavar = "N",
	 .expect = "a count of lines",
	 .help = "only the last N lines (default: all kept)"},
	{"control", 0, CELLA_OPT_STR, &args.url, .metavar = "URL",
	 .help = "cella-init's control API (default $CELLA_CONTROL\nor "
		 CELLA_CTL_DEFAULT_URL ")"},
	{0},
};

/* Print a reply's lines; *next and *more for paging. 0, or 141 when our
 * stdout is gone (SIGPIPE is ignored: see main.c), or 74. */
static int
print_lines(const cbor_item_t *body, uint64_t *next, bool *more)
{
	const cbor_item_t *lines = cella_cbor_map_get(body, "lines");
	size_t n = lines && cbor_isa_array(lines) ? cbor_array_size(lines) : 0;
	bool dropped = false, partial;
	struct cella_span data;

	(void)cella_cbor_get_uint(body, "next", UINT64_MAX, next, NULL);
	*more = false;
	(void)cella_cbor_get_bool(body, "more", more, NULL);
	(void)cella_cbor_get_bool(body, "dropped", &dropped, NULL);
	if (dropped)
		fprintf(stderr, "cella logs: older lines were dropped (ring full)\n");
	for (size_t i = 0; i < n; i++) {
		const cbor_item_t *l = cbor_array_handle(lines)[i];

		partial = false;
		(void)cella_cbor_get_bool(l, "partial", &partial, NULL);
		if (cella_cbor_get_bytes(l, "data", 1u << 20, &data, NULL) < 0)
			continue;
		fwrite(data.p, 1, data.n, stdout);
		if (!partial)
			fputc('\n', stdout);
	}
	if (fflush(stdout) == 0 && !ferror(stdout))
		return 0;
	if (errno == EPIPE)
		return 128 + SIGPIPE;
	fprintf(stderr, "cella logs: writing stdout: %s\n", strerror(errno));
	return EX_IOERR;
}

static int
request(struct cella_rpc_client *cli, const struct lopts *o, uint32_t type,
	bool first, uint64_t after, uint64_t *next, bool *more)
{
	cbor_item_t *b = cbor_new_indefinite_map();
	struct cella_env reply = {0};
	int rv = -ENOMEM;

	if (b == NULL || cella_cbor_put_text(b, "service", o->service) < 0)
		goto out;
	if (first ? cella_cbor_put_uint(b, "tail", o->tail) < 0
		  : cella_cbor_put_uint(b, "after", after) < 0)
		goto out;
	if (type == CELLA_MSG_INIT_LOGS_FOLLOW &&
	    cella_cbor_put_uint(b, "timeout_ms", LOGS_FOLLOW_MS) < 0)
		goto out;
	rv = cella_ctl_call("logs", cli, type, b, CELLA_MSG_INIT_LOGS_REPLY, &reply);
	if (rv == 0) {
		rv = print_lines(reply.body, next, more);
		cella_env_fini(&reply);
	}
out:
	if (b != NULL)
		cbor_decref(&b);
	return rv;
}

/* 0, -errno from the calls, or an exit code of print_lines (141, 74). */
static int
cmd_logs(int argc, char **argv)
{
	struct cella_rpc_client *cli = NULL;
	struct lopts *o = &args;
	uint64_t next = 0;
	bool more = true;
	int rv;

	(void)argc;
	o->service = argv[1];
	rv = cella_ctl_open("logs", cella_ctl_url(o->url),
			    o->follow ? LOGS_FOLLOW_MS + 5000 : LOGS_TIMEOUT_MS,
			    &cli);
	if (rv == 0)
		rv = request(cli, o, CELLA_MSG_INIT_LOGS, true, 0, &next, &more);
	while (rv == 0 && more)
		rv = request(cli, o, CELLA_MSG_INIT_LOGS, false, next, &next,
			     &more);
	while (rv == 0 && o->follow)
		rv = request(cli, o, CELLA_MSG_INIT_LOGS_FOLLOW, false, next,
			     &next, &more);
	cella_rpc_client_free(cli);
	return rv < 0 ? cella_exit_from_err(rv) : rv;
}

const struct cella_cmd cella_cmd_logs = {
	.name = "logs",
	.run = cmd_logs,
	.summary = "a service's captured output (-f follows)",
	.connects = true,
	.opts = opts,
	.args = "[-f] [-n N] [--control URL] SERVICE",
	.min_args = 1,
	.max_args = 1,
};
