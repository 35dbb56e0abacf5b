/*
 * cmd_ps: `cella ps`, the services cella-init supervises: a table
 * (service, state, pid, restarts, uptime, last exit) or, with --json, the
 * same as a JSON array of objects. It reads; it changes nothing.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include <cjson/cJSON.h>

#include "common/cbor/cbor.h"
#include "common/core/exitcode.h"
#include "services/cella/cmd.h"
#include "services/cella/ctl.h"

#define PS_TIMEOUT_MS 10000

static struct {
	const char *url;
	bool json;
} args;

static const struct cella_opt opts[] = {
	{"json", 0, CELLA_OPT_FLAG, &args.json,
	 .help = "one JSON array of objects"},
	{"control", 0, CELLA_OPT_STR, &args.url, .metavar = "URL",
	 .help = "cella-init's control API (default $CELLA_CONTROL\nor "
		 CELLA_CTL_DEFAULT_URL ")"},
	{0},
};

static const char *
text(const cbor_item_t *m, const char *key, char *buf, size_t len)
{
	struct cella_span s;

	if (cella_cbor_get_text(m, key, len - 1, &s, NULL) < 0)
		return "?";
	memcpy(buf, s.p, s.n);
	buf[s.n] = '\0';
	return buf;
}

static uint64_t
num(const cbor_item_t *m, const char *key)
{
	uint64_t v = 0;

	(void)cella_cbor_get_uint(m, key, UINT64_MAX, &v, NULL);
	return v;
}

static void
print_row(const cbor_item_t *s)
{
	char name[65], state[32], last[100], up[32], pid[24];
	bool blocked = false;

	(void)cella_cbor_get_bool(s, "blocked", &blocked, NULL);
	cella_ctl_duration(num(s, "uptime_ms"), up, sizeof(up));
	if (num(s, "pid") > 0)
		snprintf(pid, sizeof(pid), "%" PRIu64, num(s, "pid"));
	else
		snprintf(pid, sizeof(pid), "-");
	printf("%-20s %-9s %-8s %-8" PRIu64 " %-9s %s%s\n",
	       text(s, "service", name, sizeof(name)),
	       text(s, "state", state, sizeof(state)), pid, num(s, "restarts"),
	       up, text(s, "last_exit", last, sizeof(last)),
	       blocked ? " (waiting for a dependency that is down)" : "");
}

static cJSON *
status_json(const cbor_item_t *s)
{
	static const char *const texts[] = {"service", "state", "last_exit",
					    "why"};
	static const char *const nums[] = {"pid", "restarts", "uptime_ms",
					   "since_ms"};
	cJSON *o = cJSON_CreateObject();
	char buf[256];
	bool b = false;

	for (size_t i = 0; i < 4; i++)
		cJSON_AddStringToObject(o, texts[i], text(s, texts[i], buf, sizeof(buf)));
	for (size_t i = 0; i < 4; i++)
		cJSON_AddNumberToObject(o, nums[i], (double)num(s, nums[i]));
	(void)cella_cbor_get_bool(s, "want", &b, NULL);
	cJSON_AddBoolToObject(o, "want", b);
	b = false;
	(void)cella_cbor_get_bool(s, "blocked", &b, NULL);
	cJSON_AddBoolToObject(o, "blocked", b);
	return o;
}

static void
print_list(const cbor_item_t *list, bool json)
{
	size_t n = list && cbor_isa_array(list) ? cbor_array_size(list) : 0;
	cbor_item_t **v = n ? cbor_array_handle(list) : NULL;
	cJSON *arr;

	if (!json) {
		printf("%-20s %-9s %-8s %-8s %-9s %s\n", "SERVICE", "STATE", "PID",
		       "RESTARTS", "UPTIME", "LAST EXIT");
		for (size_t i = 0; i < n; i++)
			print_row(v[i]);
		return;
	}
	arr = cJSON_CreateArray();
	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(arr, status_json(v[i]));
	cella_cmd_print_json(arr, true);
}

static int
cmd_ps(int argc, char **argv)
{
	struct cella_rpc_client *cli = NULL;
	struct cella_env reply = {0};
	int rv;

	(void)argc;
	(void)argv;
	rv = cella_ctl_open("ps", cella_ctl_url(args.url), PS_TIMEOUT_MS, &cli);
	if (rv == 0)
		rv = cella_ctl_call("ps", cli, CELLA_MSG_INIT_LIST, NULL,
				    CELLA_MSG_INIT_LIST_REPLY, &reply);
	if (rv == 0) {
		print_list(cella_cbor_map_get(reply.body, "services"),
			   args.json);
		cella_env_fini(&reply);
	}
	cella_rpc_client_free(cli);
	return cella_exit_from_err(rv);
}

const struct cella_cmd cella_cmd_ps = {
	.name = "ps",
	.run = cmd_ps,
	.summary = "services under cella-init and their states",
	.connects = true,
	.opts = opts,
	.args = "[--json] [--control URL]",
	.help = "The services cella-init supervises and their states.\n",
};
