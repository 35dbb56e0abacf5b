/*
 * fuzz/conf: the config loader on arbitrary bytes, then validation against a
 * small schema using every key type, and against cella.yaml's own schema
 * (what `cella config` and `cella up` validate with), then printing. When
 * validation passes, the printed YAML must load and validate back to the
 * same tree, or the target aborts: a printer that quotes wrongly, or a
 * schema that lets through what the printer cannot write, is caught here,
 * not by a user whose `cella up` cannot read its own generated file.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/conf/cella/cellacfg.h"
#include "common/conf/conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const modes[] = {"a", "b", "c d", NULL};

static const struct cella_conf_key item_keys[] = {
	{.key = "k", .type = CELLA_CONF_STRING, .required = true, .max = 64},
	{.key = "v", .type = CELLA_CONF_INT, .def = "0", .min = -5, .max = 5},
	{0},
};

static const struct cella_conf_key item[] = {
	{.key = "item", .type = CELLA_CONF_OBJECT, .sub = item_keys},
	{0},
};

static const struct cella_conf_key str[] = {
	{.key = "value", .type = CELLA_CONF_STRING},
	{0},
};

static const struct cella_conf_key strs[] = {
	{.key = "value", .type = CELLA_CONF_STRLIST},
	{0},
};

static const struct cella_conf_key obj_keys[] = {
	{.key = "n", .type = CELLA_CONF_INT, .def = "3"},
	{.key = "s", .type = CELLA_CONF_STRING, .def = "''"},
	{.key = "cmd", .type = CELLA_CONF_ARGV, .def = "run it"},
	{0},
};

static const struct cella_conf_key schema[] = {
	{.key = "name", .type = CELLA_CONF_STRING, .min = 1, .max = 32},
	{.key = "n", .type = CELLA_CONF_INT, .min = -100, .max = 100},
	{.key = "big", .type = CELLA_CONF_INT},
	{.key = "flag", .type = CELLA_CONF_BOOL, .def = "false"},
	{.key = "mode", .type = CELLA_CONF_ENUM, .choices = modes},
	{.key = "cmd", .type = CELLA_CONF_ARGV, .max = 16},
	{.key = "tags", .type = CELLA_CONF_STRLIST},
	{.key = "obj", .type = CELLA_CONF_OBJECT, .def = "{}", .sub = obj_keys},
	{.key = "items", .type = CELLA_CONF_LIST, .sub = item, .max = 8},
	{.key = "env", .type = CELLA_CONF_MAP, .sub = str},
	{.key = "groups", .type = CELLA_CONF_MAP, .sub = strs},
	{0},
};

static void
roundtrip(const struct cella_conf *c, const struct cella_conf_key *sch)
{
	struct cella_conf *c2 = NULL;
	struct cella_diag d = {""};
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (f == NULL)
		return;
	cella_conf_print(f, c, sch);
	fclose(f);
	if (len <= CELLA_CONF_FILE_MAX) {
		if (cella_conf_load_mem("printed", text, len, &c2, &d) != 0 ||
		    cella_conf_validate(c2, "", sch, &d) != 0 ||
		    !cJSON_Compare(cella_conf_root(c), cella_conf_root(c2),
				   1)) {
			fprintf(stderr, "round trip failed: %s\n%s\n", d.msg,
				text);
			abort();
		}
	}
	cella_conf_free(c2);
	free(text);
}

/* Load data, validate with sch: a round trip when it passes, else print. */
static void
check(const uint8_t *data, size_t size, const struct cella_conf_key *sch,
      FILE *devnull)
{
	struct cella_conf *c = NULL;
	struct cella_diag d;

	if (cella_conf_load_mem("fuzz.yaml", (const char *)data, size, &c,
				&d) != 0)
		return;
	if (cella_conf_validate(c, "", sch, &d) == 0)
		roundtrip(c, sch);
	else
		cella_conf_print(devnull, c, sch);
	cella_conf_free(c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static FILE *devnull;

	if (devnull == NULL && (devnull = fopen("/dev/null", "w")) == NULL)
		abort();
	check(data, size, schema, devnull);
	check(data, size, cella_cfg_schema, devnull);
	return 0;
}
