/*
 * cmd_ps: `cella ps`, the services cella-init supervises: a table
 * (service, state, pid, restarts, uptime, last exit) or, with --json, the
 * same as a JSON array of objects. It reads; it changes nothing.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include <cjson/cJSON.h>

#include "common/cbor/cbor.h"
#include "services/cella/cmd.h"
#include "services/cella/ctl.h"

int cella_cmd_ps(int argc, char **argv); /* listed in cmd_table.c */

#define PS_TIMEOUT_MS 10000

static void
usage(FILE *f)
{
	fprintf(f, "usage: cella ps [--json] [--control URL]\n\n"
		   "The services cella-init supervises and their states.\n"
		   "  --json          one JSON array of objects\n"
		   "  --control URL   cella-init's control API (default "
		   "$CELLA_CONTROL or " CELLA_CTL_DEFAULT_URL ")\n");
}

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

int
cella_cmd_ps(int argc, char **argv)
{
	static const struct option longs[] = {
		{"json", no_argument, NULL, 'j'},
		{"control", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct cella_rpc_client *cli = NULL;
	struct cella_env reply = {0};
	const char *url = NULL;
	bool json = false;
	int ch, rv;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
		switch (ch) {
		case 'j': json = true; break;
		case 'c': url = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return EX_USAGE;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return EX_USAGE;
	}
	rv = cella_ctl_open("ps", cella_ctl_url(url), PS_TIMEOUT_MS, &cli);
	if (rv == 0)
		rv = cella_ctl_call("ps", cli, CELLA_MSG_INIT_LIST, NULL,
				    CELLA_MSG_INIT_LIST_REPLY, &reply);
	if (rv == 0) {
		print_list(cella_cbor_map_get(reply.body, "services"), json);
		cella_env_fini(&reply);
	}
	cella_rpc_client_free(cli);
	return rv;
}
