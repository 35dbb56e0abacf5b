/*
 * testing/conf: the tests' schema, file and helpers of conf.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/testing/conf.h"

static const char *const restart_choices[] = {"no", "on-failure", "always",
					      NULL};

static int
check_roles(const cJSON *v, struct cella_diag *d)
{
	static const char *const known[] = {"services", "logs", "exec",
					    "files"};
	const cJSON *r;

	cJSON_ArrayForEach(r, v) {
		size_t i = 0;

		while (i < 4 && strcmp(r->valuestring, known[i]) != 0)
			i++;
		if (i == 4)
			return cella_diag_set(d, -EINVAL, "unknown role '%s'",
					      r->valuestring);
	}
	return 0;
}

const struct cella_conf_key tu_conf_enclave[] = {
	{.key = "cpus", .type = CELLA_CONF_INT, .def = "2", .min = 1,
	 .max = 64, .desc = "vCPUs given to the enclave"},
	{.key = "memory_mib", .type = CELLA_CONF_INT, .def = "512", .min = 64,
	 .max = 1048576, .desc = "enclave memory in MiB"},
	{.key = "debug", .type = CELLA_CONF_BOOL, .def = "false",
	 .desc = "debug mode (PCRs read as zero)"},
	{.key = "cid", .type = CELLA_CONF_INT, .def = "16", .min = 4,
	 .max = 4294967294, .desc = "the enclave's vsock CID"},
	{0},
};

static const struct cella_conf_key ready_keys[] = {
	{.key = "command", .type = CELLA_CONF_ARGV, .required = true,
	 .min = 1, .max = 64, .desc = "probe: ready once it exits 0"},
	{.key = "interval_ms", .type = CELLA_CONF_INT, .def = "500",
	 .min = 10, .max = 60000, .desc = "time between probes"},
	{0},
};

static const struct cella_conf_key env_item[] = {
	{.key = "var", .type = CELLA_CONF_STRING, .desc = "a variable's value"},
	{0},
};

static const struct cella_conf_key service_keys[] = {
	{.key = "command", .type = CELLA_CONF_ARGV, .required = true,
	 .min = 1, .max = 256, .desc = "program and arguments"},
	{.key = "env", .type = CELLA_CONF_MAP, .def = "{}", .sub = env_item,
	 .desc = "environment"},
	{.key = "workdir", .type = CELLA_CONF_STRING, .def = "/", .min = 1,
	 .max = 4096, .desc = "working directory"},
	{.key = "restart", .type = CELLA_CONF_ENUM, .def = "no",
	 .choices = restart_choices, .desc = "restart policy"},
	{.key = "depends_on", .type = CELLA_CONF_STRLIST, .def = "[]",
	 .max = 32, .desc = "services started first"},
	{.key = "ready", .type = CELLA_CONF_OBJECT, .sub = ready_keys,
	 .desc = "readiness check"},
	{0},
};

static const struct cella_conf_key service_item[] = {
	{.key = "name", .type = CELLA_CONF_OBJECT, .sub = service_keys,
	 .desc = "one service"},
	{0},
};

static const struct cella_conf_key operator_keys[] = {
	{.key = "name", .type = CELLA_CONF_STRING, .required = true, .min = 1,
	 .max = 64, .desc = "who"},
	{.key = "public_key", .type = CELLA_CONF_STRING, .required = true,
	 .min = 1, .max = 4096, .desc = "their key (PEM body)"},
	{.key = "roles", .type = CELLA_CONF_STRLIST, .def = "[services]",
	 .min = 1, .max = 4, .check = check_roles, .desc = "what they may do"},
	{0},
};

static const struct cella_conf_key operator_item[] = {
	{.key = "operator", .type = CELLA_CONF_OBJECT, .sub = operator_keys,
	 .desc = "one operator"},
	{0},
};

const struct cella_conf_key tu_conf_top[] = {
	{.key = "name", .type = CELLA_CONF_STRING, .required = true, .min = 1,
	 .max = 63, .desc = "project name"},
	{.key = "enclave", .type = CELLA_CONF_OBJECT, .def = "{}",
	 .sub = tu_conf_enclave, .desc = "the enclave's resources"},
	{.key = "services", .type = CELLA_CONF_MAP, .def = "{}",
	 .sub = service_item, .max = 64, .desc = "what runs inside"},
	{.key = "operators", .type = CELLA_CONF_LIST, .def = "[]",
	 .sub = operator_item, .max = 16, .desc = "who may operate it"},
	{0},
};

const struct cella_conf_key tu_conf_strings[] = {
	{.key = "s", .type = CELLA_CONF_MAP, .sub = env_item},
	{.key = "l", .type = CELLA_CONF_STRLIST},
	{0},
};

/* Line numbers matter: the tests name them. */
const char tu_conf_good[] =
	"# cella.yaml for the tests\n"			/* 1 */
	"name: payments\n"				/* 2 */
	"enclave:\n"					/* 3 */
	"  cpus: 4\n"					/* 4 */
	"  memory_mib: 2048\n"				/* 5 */
	"  debug: false\n"				/* 6 */
	"services:\n"					/* 7 */
	"  web:\n"					/* 8 */
	"    command: /usr/bin/web  --port 8080\n"	/* 9 */
	"    env:\n"					/* 10 */
	"      MODE: production\n"			/* 11 */
	"      LEVEL: \"3\"\n"				/* 12 */
	"    restart: on-failure\n"			/* 13 */
	"    depends_on: [db]\n"			/* 14 */
	"    ready:\n"					/* 15 */
	"      command: [/usr/bin/probe, \"http://127.0.0.1:8080/\"]\n" /* 16 */
	"  db:\n"					/* 17 */
	"    command:\n"				/* 18 */
	"      - /usr/bin/db\n"				/* 19 */
	"      - --data\n"				/* 20 */
	"      - /var/lib/db\n"				/* 21 */
	"operators:\n"					/* 22 */
	"  - name: alice\n"				/* 23 */
	"    public_key: MCowBQYDK2VwAyEA\n"		/* 24 */
	"    roles: [services, logs]\n"			/* 25 */
	"  - name: bob\n"				/* 26 */
	"    public_key: 'MCowBQYDK2VwAyEB'\n";		/* 27 */

struct cella_conf *
tu_conf_load(const char *yaml)
{
	struct cella_conf *c = NULL;
	struct cella_diag d = {""};
	int rv = cella_conf_load_mem("cella.yaml", yaml, strlen(yaml), &c, &d);

	if (rv != 0)
		fail_msg("load failed: %d %s", rv, d.msg);
	return c;
}

cJSON *
tu_conf_at(const struct cella_conf *c, const char *path)
{
	cJSON *n = cella_conf_root(c);
	char seg[64];

	while (n != NULL && *path != '\0') {
		size_t len = strcspn(path, ".");

		snprintf(seg, sizeof(seg), "%.*s", (int)len, path);
		n = cJSON_IsArray(n)
			    ? cJSON_GetArrayItem(n, (int)strtol(seg, NULL, 10))
			    : cJSON_GetObjectItemCaseSensitive(n, seg);
		path += len + (path[len] == '.');
	}
	return n;
}

char *
tu_conf_print(const struct cella_conf *c, const struct cella_conf_key *schema)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	cella_conf_print(f, c, schema);
	fclose(f);
	return text;
}
