/*
 * conf_test: loading (scalar typing, refused YAML features, caps, libyaml
 * errors), validation against a schema shaped like cella.yaml (every error
 * kind with its exact file:line and key path, defaults, atomicity), printing
 * (exact text and the round trip), key docs, getters, the digest, and every
 * truncation of a valid file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/conf.h"

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

static const struct cella_conf_key enclave_keys[] = {
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

static const struct cella_conf_key top_keys[] = {
	{.key = "name", .type = CELLA_CONF_STRING, .required = true, .min = 1,
	 .max = 63, .desc = "project name"},
	{.key = "enclave", .type = CELLA_CONF_OBJECT, .def = "{}",
	 .sub = enclave_keys, .desc = "the enclave's resources"},
	{.key = "services", .type = CELLA_CONF_MAP, .def = "{}",
	 .sub = service_item, .max = 64, .desc = "what runs inside"},
	{.key = "operators", .type = CELLA_CONF_LIST, .def = "[]",
	 .sub = operator_item, .max = 16, .desc = "who may operate it"},
	{0},
};

/* Line numbers matter: the tests below name them. */
static const char good[] =
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

static struct cella_conf *
load(const char *yaml)
{
	struct cella_conf *c = NULL;
	struct cella_diag d = {""};
	int rv = cella_conf_load_mem("cella.yaml", yaml, strlen(yaml), &c, &d);

	if (rv != 0)
		fail_msg("load failed: %d %s", rv, d.msg);
	return c;
}

static cJSON *
at(const struct cella_conf *c, const char *path)
{
	cJSON *n = cella_conf_root(c);
	char seg[64];

	while (n != NULL && *path != '\0') {
		size_t len = strcspn(path, ".");

		snprintf(seg, sizeof(seg), "%.*s", (int)len, path);
		n = cJSON_IsArray(n) ? cJSON_GetArrayItem(n, atoi(seg))
				     : cJSON_GetObjectItemCaseSensitive(n, seg);
		path += len + (path[len] == '.');
	}
	return n;
}

static char *
print_to_string(const struct cella_conf *c, const struct cella_conf_key *s)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	cella_conf_print(f, c, s);
	fclose(f);
	return text;
}

static void
test_load_and_defaults(void **state)
{
	struct cella_conf *c = load(good);
	struct cella_diag d = {""};
	cJSON *cmd;

	(void)state;
	assert_int_equal(cella_conf_validate(c, "", top_keys, &d), 0);
	assert_string_equal(cella_conf_name(c), "cella.yaml");
	assert_string_equal(cella_conf_str(cella_conf_root(c), "name", NULL),
			    "payments");
	assert_int_equal(cella_conf_int(at(c, "enclave"), "cpus", 0), 4);
	assert_int_equal(cella_conf_line(c, at(c, "enclave.cpus")), 4);
	/* Defaults are filled and carry no line. */
	assert_int_equal(cella_conf_int(at(c, "enclave"), "cid", 0), 16);
	assert_int_equal(cella_conf_line(c, at(c, "enclave.cid")), 0);
	assert_string_equal(cella_conf_str(at(c, "services.db"), "restart", ""),
			    "no");
	assert_string_equal(cella_conf_str(at(c, "services.db"), "workdir", ""),
			    "/");
	assert_true(cJSON_IsObject(at(c, "services.db.env")));
	assert_null(at(c, "services.db.ready"));
	assert_int_equal(cella_conf_int(at(c, "services.web.ready"),
					"interval_ms", 0),
			 500);
	assert_string_equal(at(c, "operators.1.roles.0")->valuestring,
			    "services");
	assert_int_equal(cJSON_GetArraySize(at(c, "operators.1.roles")), 1);
	/* ARGV: a string is split on blanks and keeps its line. */
	cmd = at(c, "services.web.command");
	assert_true(cJSON_IsArray(cmd));
	assert_int_equal(cJSON_GetArraySize(cmd), 3);
	assert_string_equal(cJSON_GetArrayItem(cmd, 1)->valuestring, "--port");
	assert_int_equal(cella_conf_line(c, cmd), 9);
	assert_int_equal(cella_conf_line(c, cJSON_GetArrayItem(cmd, 2)), 9);
	assert_int_equal(cJSON_GetArraySize(at(c, "services.db.command")), 3);
	assert_int_equal(cella_conf_line(c, at(c, "services.db.command.2")),
			 21);
	assert_string_equal(at(c, "services.web.env.LEVEL")->valuestring, "3");
	assert_int_equal(cella_conf_line(c, at(c, "operators.1")), 26);
	assert_int_equal(cella_conf_line(c, at(c, "operators.1.public_key")),
			 27);
	/* Validating again changes nothing. */
	{
		char *before = cJSON_PrintUnformatted(cella_conf_root(c));
		char *after;

		assert_int_equal(cella_conf_validate(c, "", top_keys, &d), 0);
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
		struct cella_conf *c = load(invalid[i].yaml);
		struct cella_diag d = {""};
		char *before = cJSON_PrintUnformatted(cella_conf_root(c));
		char *after;
		int rv = cella_conf_validate(c, "", top_keys, &d);

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
	struct cella_conf *c = load("name: x\nservices:\n"
				    "  a:\n    command: sh -c 'echo hi'\n"
				    "  b:\n    command: \" a\\tb \\n c\\r\\nd \"\n"
				    "  c:\n    command: |\n      /bin/x\n"
				    "      --flag \\n\n");
	struct cella_diag d = {""};

	(void)state;
	assert_int_equal(cella_conf_validate(c, "", top_keys, &d), 0);
	argv_is(at(c, "services.a.command"), sh, 4);
	argv_is(at(c, "services.b.command"), blanks, 4);
	argv_is(at(c, "services.c.command"), block, 3);
	assert_int_equal(cella_conf_line(c, at(c, "services.c.command.2")), 8);
	cella_conf_free(c);
}

/* Failing late, after defaults and splits were done on the copy. */
static void
test_failure_leaves_tree(void **state)
{
	char yaml[sizeof(good) + 64];
	struct cella_conf *c;
	struct cella_diag d = {""};
	cJSON *cmd;

	(void)state;
	snprintf(yaml, sizeof(yaml), "%s    roles: [nobody]\n", good);
	c = load(yaml);
	assert_int_equal(cella_conf_validate(c, "", top_keys, &d), -EINVAL);
	assert_string_equal(d.msg, "cella.yaml:28: operators[1].roles: "
				   "unknown role 'nobody'");
	cmd = at(c, "services.web.command");
	assert_true(cJSON_IsString(cmd));
	assert_int_equal(cella_conf_line(c, cmd), 9);
	assert_null(at(c, "enclave.cid"));
	assert_null(at(c, "services.db.restart"));
	assert_int_equal(cella_conf_line(c, at(c, "operators.1.roles")), 28);
	cella_conf_free(c);
}

static const struct {
	const char *yaml;
	int rv;
	const char *msg;
} refused[] = {
	{"a: &x 1\n", -EINVAL,
	 "cella.yaml:1: a: anchors (&x) are not supported: write the value "
	 "out"},
	{"a: 1\nb: *x\n", -EINVAL,
	 "cella.yaml:2: b: aliases (*x) are not supported"},
	{"s:\n  web: &w\n    command: x\n", -EINVAL,
	 "cella.yaml:2: s.web: anchors (&w) are not supported: write the value "
	 "out"},
	{"a: !!str 1\n", -EINVAL,
	 "cella.yaml:1: a: tags (tag:yaml.org,2002:str) are not supported"},
	{"a: !custom [1]\n", -EINVAL,
	 "cella.yaml:1: a: tags (!custom) are not supported"},
	{"a: 1\n---\nb: 2\n", -EINVAL,
	 "cella.yaml:2: a second document: a config file holds exactly one"},
	{"name: x\nenclave:\n  cpus: 2\n  debug: true\n  cpus: 3\n", -EINVAL,
	 "cella.yaml:5: enclave: duplicate key 'cpus' (first at line 3)"},
	{"a: 1\nb: 2\nb: 3\na: 4\n", -EINVAL,
	 "cella.yaml:3: duplicate key 'b' (first at line 2)"},
	{"l:\n  - {k: 1, k: 2}\n", -EINVAL,
	 "cella.yaml:2: l[0]: duplicate key 'k' (first at line 2)"},
	{"? [a, b]\n: 1\n", -EINVAL,
	 "cella.yaml:1: a key must be a scalar, not a list"},
	{"x:\n  ? {a: 1}\n  : 2\n", -EINVAL,
	 "cella.yaml:2: x: a key must be a scalar, not a mapping"},
	{"- a\n- b\n", -EINVAL,
	 "cella.yaml:1: the top level must be a mapping"},
	{"\n\nhello\n", -EINVAL,
	 "cella.yaml:3: the top level must be a mapping"},
	{"a: [1, 2\n", -EINVAL,
	 "cella.yaml:2: did not find expected ',' or ']' (while parsing a flow "
	 "sequence at line 1)"},
	{"a: 1\n b: 2\n", -EINVAL,
	 "cella.yaml:2: mapping values are not allowed in this context"},
	{"a: \"open\n", -EINVAL,
	 "cella.yaml:2: found unexpected end of stream (while scanning a "
	 "quoted scalar at line 1)"},
	{"a: 1\nb: \xff\n", -EINVAL,
	 "cella.yaml:2: invalid leading UTF-8 octet: #FF"},
	{"a: \x01\n", -EINVAL,
	 "cella.yaml:1: control characters are not allowed: #1"},
	{"a: \"x\\0y\"\n", -EINVAL,
	 "cella.yaml:1: a: a string holds a NUL character"},
	{"a: 9007199254740993\n", -EINVAL,
	 "cella.yaml:1: a: integer 9007199254740993 is out of range (at most "
	 "2^53 either side of 0); quote it if it is a string"},
};

static void
test_refused(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		struct cella_conf *c = NULL;
		struct cella_diag d = {""};
		int rv = cella_conf_load_mem("cella.yaml", refused[i].yaml,
					     strlen(refused[i].yaml), &c, &d);

		if (rv != refused[i].rv || strcmp(d.msg, refused[i].msg) != 0)
			fail_msg("case %zu: rv %d\n got: %s\nwant: %s", i, rv,
				 d.msg, refused[i].msg);
		assert_null(c);
	}
}

static const struct {
	const char *text; /* the value in "v: TEXT" */
	int type;	  /* cJSON_* */
	const char *str;  /* strings: the value */
	double num;	  /* numbers and booleans */
} scalars[] = {
	{"", cJSON_NULL, NULL, 0},
	{"~", cJSON_NULL, NULL, 0},
	{"null", cJSON_NULL, NULL, 0},
	{"Null", cJSON_NULL, NULL, 0},
	{"NULL", cJSON_NULL, NULL, 0},
	{"true", cJSON_True, NULL, 1},
	{"True", cJSON_True, NULL, 1},
	{"TRUE", cJSON_True, NULL, 1},
	{"false", cJSON_False, NULL, 0},
	{"FALSE", cJSON_False, NULL, 0},
	{"0", cJSON_Number, NULL, 0},
	{"-5", cJSON_Number, NULL, -5},
	{"+7", cJSON_Number, NULL, 7},
	{"007", cJSON_Number, NULL, 7},
	{"9007199254740992", cJSON_Number, NULL, 9007199254740992.0},
	{"-9007199254740992", cJSON_Number, NULL, -9007199254740992.0},
	{"1.5", cJSON_Number, NULL, 1.5},
	{"-.5", cJSON_Number, NULL, -0.5},
	{"1e3", cJSON_Number, NULL, 1000},
	{"1.", cJSON_Number, NULL, 1},
	{"+1E-2", cJSON_Number, NULL, 0.01},
	{".inf", cJSON_Number, NULL, INFINITY},
	{"-.Inf", cJSON_Number, NULL, -INFINITY},
	{"yes", cJSON_String, "yes", 0},
	{"no", cJSON_String, "no", 0},
	{"on", cJSON_String, "on", 0},
	{"0x1F", cJSON_String, "0x1F", 0},
	{"0o7", cJSON_String, "0o7", 0},
	{"1_000", cJSON_String, "1_000", 0},
	{"1.2.3", cJSON_String, "1.2.3", 0},
	{"nulls", cJSON_String, "nulls", 0},
	{"e5", cJSON_String, "e5", 0},
	{".", cJSON_String, ".", 0},
	{"-x", cJSON_String, "-x", 0},
	{"+", cJSON_String, "+", 0},
	{"1e", cJSON_String, "1e", 0},
	{".infinity", cJSON_String, ".infinity", 0},
	{"'1'", cJSON_String, "1", 0},
	{"\"true\"", cJSON_String, "true", 0},
	{"'null'", cJSON_String, "null", 0},
	{"''", cJSON_String, "", 0},
	{"\"\"", cJSON_String, "", 0},
	{"|\n  12\n", cJSON_String, "12\n", 0},
	{">-\n  a\n  b\n", cJSON_String, "a b", 0},
	{"a b  c", cJSON_String, "a b  c", 0},
	{"\"\\u00e9\\t\"", cJSON_String, "\xc3\xa9\t", 0},
};

static void
test_scalars(void **state)
{
	char yaml[128];

	(void)state;
	for (size_t i = 0; i < sizeof(scalars) / sizeof(scalars[0]); i++) {
		struct cella_conf *c;
		cJSON *v;

		snprintf(yaml, sizeof(yaml), "v: %s\n", scalars[i].text);
		c = load(yaml);
		v = at(c, "v");
		if (v == NULL || (v->type & 0xff) != scalars[i].type)
			fail_msg("case %zu '%s': type %d", i, scalars[i].text,
				 v ? v->type : -1);
		if (scalars[i].type == cJSON_String)
			assert_string_equal(v->valuestring, scalars[i].str);
		if (scalars[i].type == cJSON_Number)
			assert_true(v->valuedouble == scalars[i].num);
		cella_conf_free(c);
	}
	/* NaN is not equal to itself: checked on its own. */
	{
		struct cella_conf *c = load("v: .nan\n");

		assert_true(isnan(at(c, "v")->valuedouble));
		cella_conf_free(c);
	}
}

static void
test_empty(void **state)
{
	static const char *const empties[] = {"", "# nothing\n", "---\n", "~\n",
					      "---\n...\n", "\n\n"};
	struct cella_diag d = {""};

	(void)state;
	for (size_t i = 0; i < sizeof(empties) / sizeof(empties[0]); i++) {
		struct cella_conf *c = load(empties[i]);

		assert_true(cJSON_IsObject(cella_conf_root(c)));
		assert_null(cella_conf_root(c)->child);
		assert_int_equal(cella_conf_validate(c, "", top_keys, &d),
				 -EINVAL);
		assert_string_equal(d.msg,
				    "cella.yaml:1: name: required key missing");
		cella_conf_free(c);
	}
}

static char *
nested(int levels)
{
	char *s = malloc((size_t)levels * 2 + 16);
	size_t o = 0;

	o += (size_t)sprintf(s, "a: ");
	for (int i = 0; i < levels - 1; i++)
		s[o++] = '[';
	for (int i = 0; i < levels - 1; i++)
		s[o++] = ']';
	strcpy(s + o, "\n");
	return s;
}

static void
test_caps(void **state)
{
	struct cella_conf *c = NULL;
	struct cella_diag d = {""};
	char want[256];
	char *s;
	size_t o;

	(void)state;
	/* The root mapping is level 1: a at 2, and 30 more lists. */
	s = nested(CELLA_CONF_DEPTH_MAX);
	assert_int_equal(cella_conf_load_mem("n.yaml", s, strlen(s), &c, &d),
			 0);
	cella_conf_free(c);
	free(s);
	s = nested(CELLA_CONF_DEPTH_MAX + 1);
	assert_int_equal(cella_conf_load_mem("n.yaml", s, strlen(s), &c, &d),
			 -EINVAL);
	o = (size_t)sprintf(want, "n.yaml:1: a");
	for (int i = 0; i < CELLA_CONF_DEPTH_MAX - 2; i++)
		o += (size_t)sprintf(want + o, "[0]");
	sprintf(want + o, ": nested deeper than %d levels",
		CELLA_CONF_DEPTH_MAX);
	assert_string_equal(d.msg, want);
	free(s);

	/* Nodes: the root, the list, then items up to the cap. */
	s = malloc(4 * (size_t)CELLA_CONF_NODES_MAX);
	o = (size_t)sprintf(s, "a: [");
	for (int i = 0; i < CELLA_CONF_NODES_MAX - 2; i++)
		o += (size_t)sprintf(s + o, "0,");
	strcpy(s + o, "]\n");
	assert_int_equal(cella_conf_load_mem("n.yaml", s, strlen(s), &c, &d),
			 0);
	assert_int_equal(cJSON_GetArraySize(at(c, "a")),
			 CELLA_CONF_NODES_MAX - 2);
	cella_conf_free(c);
	strcpy(s + o, "0]\n");
	assert_int_equal(cella_conf_load_mem("n.yaml", s, strlen(s), &c, &d),
			 -EINVAL);
	assert_string_equal(d.msg, "n.yaml:1: a: more than 100000 nodes");
	free(s);

	/* Bytes: exactly the cap loads, one more does not. */
	s = malloc(CELLA_CONF_FILE_MAX + 1);
	memset(s, 'x', CELLA_CONF_FILE_MAX);
	memcpy(s, "a: ", 3);
	s[CELLA_CONF_FILE_MAX - 1] = '\n';
	assert_int_equal(cella_conf_load_mem("big.yaml", s, CELLA_CONF_FILE_MAX,
					     &c, &d),
			 0);
	assert_int_equal(strlen(at(c, "a")->valuestring),
			 CELLA_CONF_FILE_MAX - 4);
	cella_conf_free(c);
	assert_int_equal(cella_conf_load_mem("big.yaml", s,
					     CELLA_CONF_FILE_MAX + 1, &c, &d),
			 -EFBIG);
	assert_string_equal(d.msg, "big.yaml: larger than 1048576 bytes");
	free(s);
}

static char *
write_temp(const char *body, size_t len)
{
	char *path = strdup("/tmp/conf_test_XXXXXX");
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, body, len), (ssize_t)len);
	close(fd);
	return path;
}

static void
test_files(void **state)
{
	struct cella_conf *c = NULL;
	struct cella_diag d = {""};
	uint8_t dg[48];
	char hex[97], want[300];
	size_t big = 2u << 20;
	char *body, *path;

	(void)state;
	assert_int_equal(
	    cella_conf_load_file("/nonexistent/cella.yaml", &c, &d), -ENOENT);
	assert_string_equal(d.msg, "/nonexistent/cella.yaml: cannot open: No "
				   "such file or directory");
	assert_null(c);

	body = malloc(big);
	memset(body, '#', big);
	body[big - 1] = '\n';
	path = write_temp(body, big);
	assert_int_equal(cella_conf_load_file(path, &c, &d), -EFBIG);
	snprintf(want, sizeof(want), "%s: larger than 1048576 bytes", path);
	assert_string_equal(d.msg, want);
	unlink(path);
	free(path);
	/* The cap exactly, through the file path (read in chunks). */
	path = write_temp(body, CELLA_CONF_FILE_MAX);
	assert_int_equal(cella_conf_load_file(path, &c, &d), 0);
	cella_conf_free(c);
	unlink(path);
	free(path);
	free(body);

	path = write_temp("name: x\n", 8);
	assert_int_equal(cella_conf_load_file(path, &c, &d), 0);
	assert_string_equal(cella_conf_name(c), path);
	/* printf 'name: x\n' | sha384sum */
	cella_conf_digest(c, dg);
	cella_hex_encode(dg, sizeof(dg), hex, sizeof(hex));
	assert_string_equal(hex, "acf813d7498600ee1d1e00f4add62c94c826ee924ffb"
				 "1cbf70a2ca496a6e9831112cbeecabef080dc8f4a93a"
				 "73233801");
	cella_conf_free(c);
	unlink(path);
	free(path);

	/* A syntax error in a file names the file. */
	path = write_temp("a: [\n", 5);
	assert_int_equal(cella_conf_load_file(path, &c, &d), -EINVAL);
	assert_true(strncmp(d.msg, path, strlen(path)) == 0);
	assert_string_equal(d.msg + strlen(path),
			    ":2: did not find expected node content (while "
			    "parsing a flow node at line 2)");
	unlink(path);
	free(path);
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
	struct cella_conf *c = load(good);
	struct cella_diag d = {""};

	(void)state;
	/* Only the section is touched. */
	assert_int_equal(cella_conf_validate(c, "enclave", enclave_keys, &d),
			 0);
	assert_int_equal(cella_conf_int(at(c, "enclave"), "cid", 0), 16);
	assert_int_equal(cella_conf_line(c, at(c, "enclave")), 3);
	assert_int_equal(cella_conf_line(c, at(c, "enclave.cpus")), 4);
	assert_true(cJSON_IsString(at(c, "services.web.command")));
	/* An absent section is made, with its defaults. */
	assert_int_equal(cella_conf_validate(c, "kms", kms_keys, &d), 0);
	assert_string_equal(cella_conf_str(at(c, "kms"), "region", ""),
			    "eu-west-1");
	assert_int_equal(cella_conf_int(at(c, "kms"), "port", 0), 8000);
	assert_int_equal(cella_conf_validate(c, "x.y.kms", kms_keys, &d), 0);
	assert_int_equal(cella_conf_int(at(c, "x.y.kms"), "port", 0), 8000);
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
	c = load("name: x\nkms:\n");
	assert_int_equal(cella_conf_validate(c, "kms", kms_keys, &d), 0);
	assert_int_equal(cella_conf_int(at(c, "kms"), "port", 0), 8000);
	assert_int_equal(cella_conf_line(c, at(c, "kms")), 2);
	cella_conf_free(c);
	c = load("name: x\nkms:\n  port: 0\n");
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
	struct cella_conf *c = load("name: x\n");
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
	assert_null(at(c, "e"));
	cella_conf_free(c);
}

static const char good_printed[] =
	"name: payments\n"
	"enclave:\n"
	"  cpus: 4\n"
	"  memory_mib: 2048\n"
	"  debug: false\n"
	"  cid: 16\n"
	"services:\n"
	"  web:\n"
	"    command:\n"
	"      - /usr/bin/web\n"
	"      - \"--port\"\n"
	"      - \"8080\"\n"
	"    env:\n"
	"      MODE: production\n"
	"      LEVEL: \"3\"\n"
	"    workdir: /\n"
	"    restart: on-failure\n"
	"    depends_on:\n"
	"      - db\n"
	"    ready:\n"
	"      command:\n"
	"        - /usr/bin/probe\n"
	"        - http://127.0.0.1:8080/\n"
	"      interval_ms: 500\n"
	"  db:\n"
	"    command:\n"
	"      - /usr/bin/db\n"
	"      - \"--data\"\n"
	"      - /var/lib/db\n"
	"    env: {}\n"
	"    workdir: /\n"
	"    restart: \"no\"\n"
	"    depends_on: []\n"
	"operators:\n"
	"  - name: alice\n"
	"    public_key: MCowBQYDK2VwAyEA\n"
	"    roles:\n"
	"      - services\n"
	"      - logs\n"
	"  - name: bob\n"
	"    public_key: MCowBQYDK2VwAyEB\n"
	"    roles:\n"
	"      - services\n";

static void
roundtrip(const struct cella_conf *c, const struct cella_conf_key *schema,
	  const char *text)
{
	struct cella_conf *c2 = NULL;
	struct cella_diag d = {""};

	if (cella_conf_load_mem("printed", text, strlen(text), &c2, &d) != 0)
		fail_msg("printed text does not load: %s\n%s", d.msg, text);
	assert_int_equal(cella_conf_validate(c2, "", schema, &d), 0);
	if (!cJSON_Compare(cella_conf_root(c), cella_conf_root(c2), 1))
		fail_msg("round trip differs:\n%s", text);
	cella_conf_free(c2);
}

static void
test_print(void **state)
{
	struct cella_conf *c = load(good);
	struct cella_diag d = {""};
	char *text;

	(void)state;
	assert_int_equal(cella_conf_validate(c, "", top_keys, &d), 0);
	text = print_to_string(c, top_keys);
	assert_string_equal(text, good_printed);
	roundtrip(c, top_keys, text);
	free(text);
	cella_conf_free(c);
}

static const struct cella_conf_key strings_keys[] = {
	{.key = "s", .type = CELLA_CONF_MAP, .sub = env_item},
	{.key = "l", .type = CELLA_CONF_STRLIST},
	{0},
};

/* Strings that must come back exactly: each is quoted or plain as needed. */
static void
test_print_strings(void **state)
{
	static const char yaml[] =
		"s:\n"
		"  a: \"yes\"\n  b: \"1\"\n  c: \"1.5\"\n  d: \"null\"\n"
		"  e: \"~\"\n  f: \"\"\n  g: \" lead\"\n  h: \"trail \"\n"
		"  i: \"a: b\"\n  j: \"a #b\"\n  k: \"#x\"\n  l: \"- x\"\n"
		"  m: \"line\\nbreak\"\n  n: \"tab\\there\"\n  o: \"\\x01\"\n"
		"  p: \"\\u0085 \\u2028 \\u2029 \\uFEFF \\x80\"\n"
		"  q: \"caf\\u00e9 \\U0001F600\"\n  r: \"q\\\"uo'te\\\\\"\n"
		"  t: \"true\"\n  u: \".inf\"\n  v: \"a:\"\n  w: \"a:b\"\n"
		"  x: \"[x]\"\n  y: \"{x}\"\n  z: \"*x\"\n  A: \"&x\"\n"
		"  B: \"!x\"\n  C: \"|x\"\n  D: \">x\"\n  E: \"%x\"\n"
		"  F: \"@x\"\n  G: \"`x\"\n  H: \"---\"\n  I: \"...\"\n"
		"  J: \"?\"\n  K: \"-1\"\n  L: \"0x10\"\n  M: \"a  b\"\n"
		"  ts: \"2001-12-14t21:59:43.10-05:00\"\n  O: \"10 apples\"\n"
		"  \"key: odd\": v\n  \"true\": v\n  \"\": v\n  \"1\": v\n"
		"l: [\"\\r\", \"\\x7f\", \"\\t\", \" \", \"'\", \"\\\"\"]\n";
	struct cella_conf *c = load(yaml);
	struct cella_diag d = {""};
	char *text;

	(void)state;
	assert_int_equal(cella_conf_validate(c, "", strings_keys, &d), 0);
	text = print_to_string(c, strings_keys);
	roundtrip(c, strings_keys, text);
	assert_non_null(strstr(text, "  a: \"yes\"\n"));
	assert_non_null(strstr(text, "  w: a:b\n"));
	assert_non_null(strstr(text, "  o: \"\\x01\"\n"));
	assert_non_null(strstr(text, "  p: \"\\N \\L \\P \\uFEFF \\x80\"\n"));
	assert_non_null(
	    strstr(text, "  q: \"caf\xc3\xa9 \xf0\x9f\x98\x80\"\n"));
	assert_non_null(strstr(text, "  M: \"a  b\"\n"));
	/* A YAML 1.1 reader would take this for a timestamp. */
	assert_non_null(
	    strstr(text, "  ts: \"2001-12-14t21:59:43.10-05:00\"\n"));
	free(text);
	cella_conf_free(c);
}

static const struct cella_conf_key numbers_keys[] = {
	{.key = "n", .type = CELLA_CONF_MAP,
	 .sub = (const struct cella_conf_key[]){
		 {.key = "x", .type = CELLA_CONF_INT}, {0}}},
	{0},
};

static void
test_print_generic(void **state)
{
	/* Keys the schema does not name are not printed; types it does not
	 * expect are printed as they are (print before validate). */
	struct cella_conf *c = load("n:\n  a: 1\n  b: [1.5, 1.0, -0.0, .inf, "
				    ".nan, true, ~, [x, [y]], {k: v}]\n"
				    "other: 1\n");
	char *text;

	(void)state;
	text = print_to_string(c, numbers_keys);
	/* "n" and "y" are booleans to YAML 1.1 readers: quoted. */
	assert_string_equal(text, "\"n\":\n  a: 1\n  b:\n    - 1.5\n"
				  "    - 1.0\n    - -0.0\n    - .inf\n"
				  "    - .nan\n    - true\n    - null\n"
				  "    - - x\n      - - \"y\"\n    - k: v\n");
	free(text);
	text = print_to_string(c, NULL);
	assert_string_equal(text, "{}\n");
	free(text);
	cella_conf_free(c);
}

/* Column widths aside: runs of blanks read as one. */
static char *
squeeze(const char *s)
{
	char *out = malloc(strlen(s) + 1), *o = out;

	for (; *s != '\0'; s++)
		if (*s != ' ' || o == out || o[-1] != ' ')
			*o++ = *s;
	*o = '\0';
	return out;
}

static void
test_docs(void **state)
{
	static const char *const lines[] = {
		"\nname string required; length 1..63 project name\n",
		"\nenclave object default {} the enclave's resources\n",
		"\nenclave.cpus int default 2; 1..64 vCPUs given to the "
		"enclave\n",
		"\nenclave.debug bool default false debug mode (PCRs read as "
		"zero)\n",
		"\nservices map default {}; entries 0..64 what runs inside\n",
		"\nservices.<name> object one service\n",
		"\nservices.<name>.command argv required; items 1..256 program "
		"and arguments\n",
		"\nservices.<name>.env.<var> string a variable's value\n",
		"\nservices.<name>.restart enum default no; one of no, "
		"on-failure, always restart policy\n",
		"\nservices.<name>.ready.command argv required; items 1..64 "
		"probe: ready once it exits 0\n",
		"\noperators[] object one operator\n",
		"\noperators[].roles strings default [services]; items 1..4 "
		"what they may do\n",
	};
	char *text = NULL, *sq;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int n = 0;

	(void)state;
	fputc('\n', f);
	cella_conf_print_docs(f, top_keys);
	fclose(f);
	sq = squeeze(text);
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		if (strstr(sq, lines[i]) == NULL)
			fail_msg("docs lack '%s':\n%s", lines[i], text);
	/* One line per key, none with trailing blanks. */
	assert_null(strstr(text, " \n"));
	for (const char *p = text + 1; *p; p++)
		n += *p == '\n';
	assert_int_equal(n, 22);
	free(sq);
	free(text);
}

static void
test_getters(void **state)
{
	struct cella_conf *c = load("s: str\ni: -42\nf: 1.5\nb: true\nn: ~\n");
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

/* Many nodes: the line table grows, and copies are added and dropped. */
static void
test_many_lines(void **state)
{
	enum { N = 5000 };
	char *yaml = malloc(N * 24 + 16);
	struct cella_conf *c;
	struct cella_diag d = {""};
	size_t o = (size_t)sprintf(yaml, "s:\n");

	(void)state;
	for (int i = 0; i < N; i++)
		o += (size_t)sprintf(yaml + o, "  k%d: v%d\n", i, i);
	c = load(yaml);
	for (int round = 0; round < 3; round++) {
		int i = 0;

		assert_int_equal(cella_conf_validate(c, "", strings_keys, &d),
				 0);
		for (cJSON *k = at(c, "s")->child; k != NULL; k = k->next, i++)
			assert_int_equal(cella_conf_line(c, k), i + 2);
		assert_int_equal(i, N);
		assert_int_equal(cella_conf_line(c, at(c, "s")), 1);
	}
	cella_conf_free(c);
	free(yaml);
}

/* Every prefix of a valid file either loads or fails cleanly. */
static void
test_truncations(void **state)
{
	FILE *null = fopen("/dev/null", "w");
	size_t loaded = 0, valid = 0;

	(void)state;
	assert_non_null(null);
	for (size_t n = 0; n <= strlen(good); n++) {
		struct cella_conf *c = NULL;
		struct cella_diag d = {""};
		int rv = cella_conf_load_mem("trunc.yaml", good, n, &c, &d);

		if (rv != 0) {
			assert_int_equal(rv, -EINVAL);
			assert_true(strncmp(d.msg, "trunc.yaml:", 11) == 0);
			assert_null(c);
			continue;
		}
		loaded++;
		rv = cella_conf_validate(c, "", top_keys, &d);
		if (rv == 0)
			valid++;
		else
			assert_true(rv == -EINVAL &&
				    strncmp(d.msg, "trunc.yaml", 10) == 0);
		cella_conf_print(null, c, top_keys);
		cella_conf_free(c);
	}
	fclose(null);
	/* Cuts at line ends mostly load; the whole file validates. */
	assert_true(loaded > 20);
	assert_true(valid >= 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_and_defaults),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_failure_leaves_tree),
		cmocka_unit_test(test_argv),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_scalars),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_sections),
		cmocka_unit_test(test_schema_defaults),
		cmocka_unit_test(test_print),
		cmocka_unit_test(test_print_strings),
		cmocka_unit_test(test_print_generic),
		cmocka_unit_test(test_docs),
		cmocka_unit_test(test_getters),
		cmocka_unit_test(test_many_lines),
		cmocka_unit_test(test_truncations),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
