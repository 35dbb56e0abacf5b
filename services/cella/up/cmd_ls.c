/*
 * cmd_ls: `cella ls [--json]`, the enclaves `cella up` started on this
 * host (their state directories): name, backend, CID, status, uptime and
 * ingress ports. The status is asked of each one's host-side cella-init:
 * "running" when its enclave is ready, the launcher's state otherwise,
 * "stopped" for a state kept by `cella down --keep` or left by a crash.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "services/cella/cmd.h"
#include "services/cella/ctl.h"
#include "services/cella/up/up.h"

static bool as_json;

static const struct cella_opt opts[] = {
	{"json", 0, CELLA_OPT_FLAG, &as_json, .help = "one JSON array of objects"},
	{0},
};

static void
status_of(const struct cella_state *s, char *out, size_t len)
{
	struct cella_up_svc v[8];
	struct cella_diag d = {{0}};
	size_t n = 0;

	if (!cella_state_alive(s)) {
		snprintf(out, len, "stopped");
		return;
	}
	if (cella_up_host_list(s, v, 8, &n, &d) < 0) {
		snprintf(out, len, "unreachable");
		return;
	}
	snprintf(out, len, "starting");
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i].name, "enclave") == 0)
			snprintf(out, len, "%s",
				 strcmp(v[i].state, "ready") == 0 ? "running"
								  : v[i].state);
}

static void
ports_text(const struct cella_state *s, char *out, size_t len)
{
	size_t o = 0;

	out[0] = '\0';
	for (size_t i = 0; i < s->nports && o < len; i++)
		o += (size_t)snprintf(out + o, len - o, "%s127.0.0.1:%u->%u",
				      i ? "," : "", s->ports[i].host,
				      s->ports[i].enclave);
	if (s->nports == 0)
		snprintf(out, len, "-");
}

static cJSON *
row_json(const struct cella_state *s, const char *status, int64_t up_s)
{
	cJSON *o = cJSON_CreateObject(), *ports, *e;

	cJSON_AddStringToObject(o, "name", s->name);
	cJSON_AddStringToObject(o, "backend", s->backend);
	cJSON_AddNumberToObject(o, "cid", s->cid);
	cJSON_AddStringToObject(o, "status", status);
	cJSON_AddNumberToObject(o, "uptime_s", (double)up_s);
	cJSON_AddNumberToObject(o, "pid", s->pid);
	cJSON_AddStringToObject(o, "state_dir", s->dir);
	cJSON_AddStringToObject(o, "file", s->file);
	ports = cJSON_AddArrayToObject(o, "ports");
	for (size_t i = 0; i < s->nports; i++) {
		cJSON_AddItemToArray(ports, e = cJSON_CreateObject());
		cJSON_AddNumberToObject(e, "host", s->ports[i].host);
		cJSON_AddNumberToObject(e, "enclave", s->ports[i].enclave);
	}
	return o;
}

static void
one(const char *name, bool json, cJSON *arr)
{
	struct cella_state s;
	char status[32], up[32], ports[512];
	int64_t up_s;

	if (cella_state_load(name, &s, NULL) < 0)
		return;
	status_of(&s, status, sizeof(status));
	up_s = strcmp(status, "stopped") == 0 ? 0
					       : (int64_t)time(NULL) - s.started;
	if (json) {
		cJSON_AddItemToArray(arr, row_json(&s, status, up_s));
		return;
	}
	if (up_s > 0 || strcmp(status, "stopped") == 0)
		cella_ctl_duration((uint64_t)up_s * 1000, up, sizeof(up));
	else
		snprintf(up, sizeof(up), "<1s");
	ports_text(&s, ports, sizeof(ports));
	printf("%-20s %-8s %-6u %-12s %-9s %s\n", s.name, s.backend, s.cid,
	       status, up, ports);
}

static int
cmd_ls(int argc, char **argv)
{
	cJSON *arr = NULL;
	char **names = NULL;
	int n;

	(void)argc;
	(void)argv;
	if ((n = cella_state_list(&names)) < 0) {
		fprintf(stderr, "cella ls: %s\n", cella_strerror(n));
		return EX_OSERR;
	}
	if (as_json)
		arr = cJSON_CreateArray();
	else
		printf("%-20s %-8s %-6s %-12s %-9s %s\n", "NAME", "BACKEND",
		       "CID", "STATUS", "UPTIME", "PORTS");
	for (int i = 0; i < n; i++) {
		one(names[i], as_json, arr);
		free(names[i]);
	}
	free(names);
	if (as_json)
		cella_cmd_print_json(arr, true);
	else
		cJSON_Delete(arr);
	return 0;
}

const struct cella_cmd cella_cmd_ls = {
	.name = "ls",
	.run = cmd_ls,
	.summary = "enclaves `cella up` runs on this host",
	.opts = opts,
	.args = "[--json]",
	.help = "Enclaves started by `cella up` on this host: name, backend,\n"
		"CID, status (running, starting, failed, stopped...),\n"
		"uptime and ingress ports.\n",
};
