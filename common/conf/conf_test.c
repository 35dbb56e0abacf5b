/*
 * conf_test: validation against a schema shaped like cella.yaml: every
 * error kind with its exact file:line and key path, defaults, argv
 * splitting, atomicity (a failed validation changes nothing), sections,
 * schema defaults, getters. Loading is conf_yaml_test's, printing
 * conf_print_test's.
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

static void
test_load_and_defaults(void **state)
{
	struct cella_conf *c = tu_conf_load(tu_conf_good);
	struct cella_diag d = {""};
	cJSON *cmd;

	(void)state;
	assert_int_equal(cella_conf_validate(c, "", tu_conf_top, &d), 0);
	assert_string_equal(cella_conf_name(c), "cella.yaml");
	assert_string_equal(cella_conf_str(cella_conf_root(c), "name", NULL),
			    "payments");
	assert_int_equal(cella_conf_int(tu_conf_at(c, "enclave"), "cpus", 0), 4);
	assert_int_equal(cella_conf_line(c, tu_conf_at(c, "enclave.cpus")), 4);
	/* Defaults are filled and carry no line. */
	assert_int_equal(cella_conf_int(tu_conf_at(c, "enclave"), "cid", 0), 16);
	assert_int_equal(cella_conf_line(c, tu_conf_at(c, "enclave.cid")), 0);
	assert_string_equal(cella_conf_str(tu_conf_at(c, "services.db"), "restart", ""),
			    "no");
	assert_string_equal(cella_conf_str(tu_conf_at(c, "services.db"), "workdir", ""),
			    "/");
	assert_true(cJSON_IsObject(tu_conf_at(c, "services.db.env")));
	assert_null(tu_conf_at(c, "services.db.ready"));
	assert_int_equal(cella_conf_int(tu_conf_at(c, "services.web.ready"),
					"interval_ms", 0),
			 500);
	assert_string_equal(tu_conf_at(c, "operators.1.roles.0")->valuestring,
			    "services");
	assert_int_equal(cJSON_GetArraySize(tu_conf_at(c, "operators.1.roles")), 1);
	/* ARGV: a string is split on blanks and keeps its line. */
	cmd = tu_conf_at(c, "services.web.command");
	assert_true(cJSON_IsArray(cmd));
	assert_int_equal(cJSON_GetArraySize(cmd), 3);
	assert_string_equal(cJSON_GetArrayItem(cmd, 1)->valuestring, "--port");
	assert_int_equal(cella_conf_line(c, cmd), 9);
	assert_int_equal(cella_conf_line(c, cJSON_GetArrayItem(cmd, 2)), 9);
	assert_int_equal(cJSON_GetArraySize(tu_conf_at(c, "services.db.command")), 3);
	assert_int_equal(cella_conf_line(c, tu_conf_at(c, "services.db.command.2")),
			 21);
	assert_string_equal(tu_conf_at(c, "services.web.env.LEVEL")->valuestring, "3");
	assert_int_equal(cella_conf_line(c, tu_conf_at(c, "operators.1")), 26);
	assert_int_equal(cella_conf_line(c, tu_conf_at(c, "operators.1.public_key")),
			 27);
	/* Validating again changes nothing. */
	{
		char *before = cJSON_PrintUnformatted(cella_conf_root(c));
		char *after;

		assert_int_equal(cella_conf_validate(c, "", tu_conf_top, &d), 0);
		after = cJSON_PrintUnformatted(cella_conf_root(c));
		assert_string_equal(before, after);
		free(before);
		free(after);
	}
	cella_conf_free(c);
}

static const struct {
	const char *yaml;
	const char *msg;
} invalid[] = {
	{"name: x\nenclave:\n  cpu: 2\n",
	 "cella.yaml:3: enclave.cpu: unknown key (did you mean 'cpus'?)"},
	{"name: x\nfoo: 1\n", "cella.yaml:2: foo: unknown key"},
	{"name: x\nenclave:\n  cpus: 0\n",
	 "cella.yaml:3: enclave.cpus: 0 is below the minimum 1"},
	{"name: x\nenclave:\n  cpus: 65\n",
	 "cella.yaml:3: enclave.cpus: 65 is above the maximum 64"},
	{"name: x\nenclave:\n  cpus: \"3\"\n",
	 "cella.yaml:3: enclave.cpus: expected an integer; got '3'"},
	{"name: x\nenclave:\n  cpus: 3.5\n",
	 "cella.yaml:3: enclave.cpus: expected an integer; got 3.5"},
	{"name: x\nenclave:\n  cpus: 3.0\n",
	 "cella.yaml:3: enclave.cpus: expected an integer; got 3.0"},
	{"name: x\nenclave:\n  cid: 4294967295\n",
	 "cella.yaml:3: enclave.cid: 4294967295 is above the maximum "
	 "4294967294"},
	{"name: x\nenclave:\n  debug: yes\n",
	 "cella.yaml:3: enclave.debug: expected true or false; got 'yes'"},
	{"name: x\nenclave: 3\n",
	 "cella.yaml:2: enclave: expected a mapping; got 3"},
	{"name: x\nservices:\n  web:\n    command: w\n    restart: sometimes\n",
	 "cella.yaml:5: services.web.restart: expected one of no, on-failure, "
	 "always; got 'sometimes'"},
	{"name: x\nservices:\n  web:\n    command: w\n    restart: true\n",
	 "cella.yaml:5: services.web.restart: expected one of no, on-failure, "
	 "always; got true"},
	{"enclave:\n  cpus: 2\n", "cella.yaml:1: name: required key missing"},
	{"name: x\nservices:\n  web:\n    restart: always\n",
	 "cella.yaml:3: services.web.command: required key missing"},
	{"name: x\nservices:\n  web:\n    command: w\n    ready:\n"
	 "      interval_ms: 100\n",
	 "cella.yaml:5: services.web.ready.command: required key missing"},
	{"name: x\noperators:\n  - name: a\n    public_key: k\n"
	 "  - public_key: k2\n",
	 "cella.yaml:5: operators[1].name: required key missing"},
	{"name: x\noperators:\n  - name: a\n    public_key: k\n"
	 "    roles: [services, root]\n",
	 "cella.yaml:5: operators[0].roles: unknown role 'root'"},
	{"name: x\noperators:\n  - name: a\n    public_key: k\n"
	 "    roles: [services, logs, exec, files, logs]\n",
	 "cella.yaml:5: operators[0].roles: 5 items, above the maximum 4"},
	{"name: x\noperators:\n  - name: a\n    public_key: k\n    roles: []\n",
	 "cella.yaml:5: operators[0].roles: 0 items, below the minimum 1"},
	{"name: x\noperators:\n  a: 1\n",
	 "cella.yaml:2: operators: expected a list; got a mapping"},
	{"name: x\nservices:\n  web:\n    command: w\n"
	 "    depends_on: [db, 3]\n",
	 "cella.yaml:5: services.web.depends_on[1]: expected a string; got 3"},
	{"name: x\nservices:\n  web:\n    command: w\n    depends_on: db\n",
	 "cella.yaml:5: services.web.depends_on: expected a list of strings; "
	 "got 'db'"},
	{"name: x\nservices:\n  web:\n    command: [sleep, 10]\n",
	 "cella.yaml:4: services.web.command[1]: expected a string; got 10"},
	{"name: x\nservices:\n  web:\n    command: \"  \"\n",
	 "cella.yaml:4: services.web.command: 0 items, below the minimum 1"},
	{"name: x\nservices:\n  web:\n    command: 5\n",
	 "cella.yaml:4: services.web.command: expected a string or a list of "
	 "strings; got 5"},
	{"name: x\nservices:\n  web:\n    command: w\n    env:\n      A: 1\n",
	 "cella.yaml:6: services.web.env.A: expected a string; got 1"},
	{"name: x\nservices: [web]\n",
	 "cella.yaml:2: services: expected a mapping; got a list"},
	{"name: x\nservices:\n  web:\n", /* null is not an empty service */
	 "cella.yaml:3: services.web.command: required key missing"},
	{"name: \"\"\n",
	 "cella.yaml:1: name: '' is 0 bytes long, below the minimum 1"},
	{"name: "
	 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
	 /* The value is cut at 60 bytes in the message. */
	 "cella.yaml:1: name: 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	 "aaaaaaaaaaaaaaaaaaaaaa...' is 64 bytes long, above the maximum 63"},
	{"name:\n", "cella.yaml:1: name: expected a string; got null"},
	{"name: ~\nenclave:\n  cpus: 2\n",
	 "cella.yaml:1: name: expected a string; got null"},
	{"name: \"a\\tb\\x01\"\nx: 1\n", "cella.yaml:2: x: unknown key"},
	{"name: x\n\"we\\u0001rd\": 1\n",
	 "cella.yaml:2: we\\x01rd: unknown key"},
};

static void
test_invalid(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		struct cella_conf *c = tu_conf_load(invalid[i].yaml);
		struct cella_diag d = {""};
		char *before = cJSON_PrintUnformatted(cella_conf_root(c));
		char *after;
		int rv = cella_conf_validate(c, "", tu_conf_top, &d);

		if (rv != -EINVAL || strcmp(d.msg, invalid[i].msg) != 0)
			fail_msg("case %zu: rv %d\n got: %s\nwant: %s", i, rv,
				 d.msg, invalid[i].msg);
		/* A failed validation leaves the tree exactly as it was. */
		after = cJSON_PrintUnformatted(cella_conf_root(c));
		assert_string_equal(before, after);
		free(before);
		free(after);
		cella_conf_free(c);
	}
}

static void
argv_is(const cJSON *list, const char *const *want, size_t n)
{
	assert_true(cJSON_IsArray(list));
	assert_int_equal(cJSON_GetArraySize(list), n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(cJSON_GetArrayItem(list, (int)i)->valuestring,
				    want[i]);
}

/* Blanks split, and nothing else: no quotes, no escapes, no shell. */
static void
test_argv(void **state)
{
	static const char *const sh[] = {"sh", "-c", "'echo", "hi'"};
	static const char *const blanks[] = {"a", "b", "c", "d"};
	static const char *const block[] = {"/bin/x", "--flag", "\\n"};
	struct cella_conf *c = tu_conf_load("name: x\nservices:\n"
				    "  a:\n    command: sh -c 'echo hi'\n"
				    "  b:\n    command: \" a\\tb \\n c\\r\\nd \"\n"
				    "  c:\n    command: |\n      /bin/x\n"
				    "      --flag \\n\n");
	struct cella_diag d = {""};

	(void)state;
	assert_int_equal(cella_conf_validate(c, "", tu_conf_top, &d), 0);
	argv_is(tu_conf_at(c, "services.a.command"), sh, 4);
	argv_is(tu_conf_at(c, "services.b.command"), blanks, 4);
	argv_is(tu_conf_at(c, "services.c.command"), block, 3);
	assert_int_equal(cella_conf_line(c, tu_conf_at(c, "services.c.command.2")), 8);
	cella_conf_free(c);
}

/* Failing late, after defaults and splits were done on the copy. */
static void
test_failure_leaves_tree(void **state)
{
	char yaml[2048];
	struct cella_conf *c;
	struct cella_diag d = {""};
	cJSON *cmd;

	(void)state;
	assert_true((size_t)snprintf(yaml, sizeof(yaml),
				     "%s    roles: [nobody]\n",
				     tu_conf_good) < sizeof(yaml));
	c = tu_conf_load(yaml);
	assert_int_equal(cella_conf_validate(c, "", tu_conf_top, &d), -EINVAL);
	assert_string_equal(d.msg, "cella.yaml:28: operators[1].roles: "
				   "unknown role 'nobody'");
	cmd = tu_conf_at(c, "services.web.command");
	assert_true(cJSON_IsString(cmd));
	assert_int_equal(cella_conf_line(c, cmd), 9);
	assert_null(tu_conf_at(c, "enclave.cid"));
	assert_null(tu_conf_at(c, "services.db.restart"));
	assert_int_equal(cella_conf_line(c, tu_conf_at(c, "operators.1.roles")), 28);
	cella_conf_free(c);
}






static const struct cella_conf_key kms_keys[] = {
	{.key = "region", .type = CELLA_CONF_STRING, .def = "eu-west-1"},
	{.key = "port", .type = CELLA_CONF_INT, .def = "8000", .min = 1,
	 .max = 65535},
	{0},
};

static void
test_sections(void **state)
{
	struct cella_conf *c = tu_conf_load(tu_conf_good);
	struct cella_diag d = {""};

	(void)state;
	/* Only the section is touched. */
	assert_int_equal(cella_conf_validate(c, "enclave", tu_conf_enclave, &d),
			 0);
	assert_int_equal(cella_conf_int(tu_conf_at(c, "enclave"), "cid", 0), 16);
	assert_int_equal(cella_conf_line(c, tu_conf_at(c, "enclave")), 3);
	assert_int_equal(cella_conf_line(c, tu_conf_at(c, "enclave.cpus")), 4);
	assert_true(cJSON_IsString(tu_conf_at(c, "services.web.command")));
	/* An absent section is made, with its defaults. */
	assert_int_equal(cella_conf_validate(c, "kms", kms_keys, &d), 0);
	assert_string_equal(cella_conf_str(tu_conf_at(c, "kms"), "region", ""),
			    "eu-west-1");
	assert_int_equal(cella_conf_int(tu_conf_at(c, "kms"), "port", 0), 8000);
	assert_int_equal(cella_conf_validate(c, "x.y.kms", kms_keys, &d), 0);
	assert_int_equal(cella_conf_int(tu_conf_at(c, "x.y.kms"), "port", 0), 8000);
	/* Errors carry the section's path. */
	assert_int_equal(cella_conf_validate(c, "enclave", kms_keys, &d),
			 -EINVAL);
	assert_string_equal(d.msg, "cella.yaml:4: enclave.cpus: unknown key");
	assert_int_equal(cella_conf_validate(c, "name.z", kms_keys, &d),
			 -EINVAL);
	assert_string_equal(
	    d.msg, "cella.yaml:2: name: expected a mapping; got 'payments'");
	assert_int_equal(cella_conf_validate(c, "name", kms_keys, &d), -EINVAL);
	assert_string_equal(
	    d.msg, "cella.yaml:2: name: expected a mapping; got 'payments'");
	cella_conf_free(c);

	/* "kms:" with nothing under it is an empty section. */
	c = tu_conf_load("name: x\nkms:\n");
	assert_int_equal(cella_conf_validate(c, "kms", kms_keys, &d), 0);
	assert_int_equal(cella_conf_int(tu_conf_at(c, "kms"), "port", 0), 8000);
	assert_int_equal(cella_conf_line(c, tu_conf_at(c, "kms")), 2);
	cella_conf_free(c);
	c = tu_conf_load("name: x\nkms:\n  port: 0\n");
	assert_int_equal(cella_conf_validate(c, "kms", kms_keys, &d), -EINVAL);
	assert_string_equal(d.msg,
			    "cella.yaml:3: kms.port: 0 is below the minimum 1");
	cella_conf_free(c);
}

static const struct cella_conf_key bad_default[] = {
	{.key = "cpus", .type = CELLA_CONF_INT, .def = "0", .min = 1, .max = 4},
	{0},
};

static const struct cella_conf_key bad_default_yaml[] = {
	{.key = "list", .type = CELLA_CONF_STRLIST, .def = "[a, "},
	{0},
};

static void
test_schema_defaults(void **state)
{
	struct cella_conf *c = tu_conf_load("name: x\n");
	struct cella_diag d = {""};

	(void)state;
	assert_int_equal(cella_conf_validate(c, "e", bad_default, &d), -EINVAL);
	assert_string_equal(d.msg, "cella.yaml: e.cpus: bad default in the "
				   "schema: 0 is below the minimum 1");
	assert_int_equal(cella_conf_validate(c, "e", bad_default_yaml, &d),
			 -EINVAL);
	assert_string_equal(d.msg,
			    "cella.yaml: e.list: bad default in the schema: "
			    "default:2: did not find expected node content "
			    "(while parsing a flow node at line 2)");
	assert_null(tu_conf_at(c, "e"));
	cella_conf_free(c);
}




static void
test_getters(void **state)
{
	struct cella_conf *c = tu_conf_load("s: str\ni: -42\nf: 1.5\nb: true\nn: ~\n");
	cJSON *r = cella_conf_root(c);

	(void)state;
	assert_string_equal(cella_conf_str(r, "s", "fb"), "str");
	assert_string_equal(cella_conf_str(r, "i", "fb"), "fb");
	assert_string_equal(cella_conf_str(r, "none", "fb"), "fb");
	assert_null(cella_conf_str(r, "none", NULL));
	assert_int_equal(cella_conf_int(r, "i", 7), -42);
	assert_int_equal(cella_conf_int(r, "f", 7), 7);
	assert_int_equal(cella_conf_int(r, "s", 7), 7);
	assert_true(cella_conf_bool(r, "b", false));
	assert_false(cella_conf_bool(r, "n", false));
	assert_true(cella_conf_bool(r, "none", true));
	assert_string_equal(cella_conf_str(NULL, "s", "fb"), "fb");
	cella_conf_free(c);
	cella_conf_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_and_defaults),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_failure_leaves_tree),
		cmocka_unit_test(test_argv),
		cmocka_unit_test(test_sections),
		cmocka_unit_test(test_schema_defaults),
		cmocka_unit_test(test_getters),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
