/*
 * conf_yaml_test: loading: scalar typing, refused YAML features, the caps
 * (depth, nodes, file size), files (missing, digest), libyaml's errors,
 * many lines, and every truncation of a valid file.
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

#include "common/core/buf.h"
#include "common/testing/conf.h"

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

static void
test_scalars(void **state)
{
	char yaml[128];

	(void)state;
	for (size_t i = 0; i < sizeof(scalars) / sizeof(scalars[0]); i++) {
		struct cella_conf *c;
		cJSON *v;

		snprintf(yaml, sizeof(yaml), "v: %s\n", scalars[i].text);
		c = tu_conf_load(yaml);
		v = tu_conf_at(c, "v");
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
		struct cella_conf *c = tu_conf_load("v: .nan\n");

		assert_true(isnan(tu_conf_at(c, "v")->valuedouble));
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
		struct cella_conf *c = tu_conf_load(empties[i]);

		assert_true(cJSON_IsObject(cella_conf_root(c)));
		assert_null(cella_conf_root(c)->child);
		assert_int_equal(cella_conf_validate(c, "", tu_conf_top, &d),
				 -EINVAL);
		assert_string_equal(d.msg,
				    "cella.yaml:1: name: required key missing");
		cella_conf_free(c);
	}
}

static char *
nested(int levels)
{
	size_t cap = (size_t)levels * 2 + 16;
	char *s = malloc(cap);
	size_t o = 0;

	o += (size_t)snprintf(s, cap, "a: ");
	for (int i = 0; i < levels - 1; i++)
		s[o++] = '[';
	for (int i = 0; i < levels - 1; i++)
		s[o++] = ']';
	snprintf(s + o, cap - o, "\n");
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
	o = (size_t)snprintf(want, sizeof(want), "n.yaml:1: a");
	for (int i = 0; i < CELLA_CONF_DEPTH_MAX - 2; i++)
		o += (size_t)snprintf(want + o, sizeof(want) - o, "[0]");
	snprintf(want + o, sizeof(want) - o, ": nested deeper than %d levels",
		 CELLA_CONF_DEPTH_MAX);
	assert_string_equal(d.msg, want);
	free(s);

	/* Nodes: the root, the list, then items up to the cap. */
	s = malloc(4 * (size_t)CELLA_CONF_NODES_MAX);
	o = (size_t)snprintf(s, 8, "a: [");
	for (int i = 0; i < CELLA_CONF_NODES_MAX - 2; i++)
		o += (size_t)snprintf(s + o, 4, "0,");
	snprintf(s + o, 4, "]\n");
	assert_int_equal(cella_conf_load_mem("n.yaml", s, strlen(s), &c, &d),
			 0);
	assert_int_equal(cJSON_GetArraySize(tu_conf_at(c, "a")),
			 CELLA_CONF_NODES_MAX - 2);
	cella_conf_free(c);
	snprintf(s + o, 4, "0]\n");
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
	assert_int_equal(strlen(tu_conf_at(c, "a")->valuestring),
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

/* Many nodes: the line table grows, and copies are added and dropped. */
static void
test_many_lines(void **state)
{
	enum { N = 5000 };
	size_t cap = N * 24 + 16;
	char *yaml = malloc(cap);
	struct cella_conf *c;
	struct cella_diag d = {""};
	size_t o = (size_t)snprintf(yaml, cap, "s:\n");

	(void)state;
	for (int i = 0; i < N; i++)
		o += (size_t)snprintf(yaml + o, cap - o, "  k%d: v%d\n", i, i);
	c = tu_conf_load(yaml);
	for (int round = 0; round < 3; round++) {
		int i = 0;

		assert_int_equal(cella_conf_validate(c, "", tu_conf_strings, &d),
				 0);
		for (cJSON *k = tu_conf_at(c, "s")->child; k != NULL; k = k->next, i++)
			assert_int_equal(cella_conf_line(c, k), i + 2);
		assert_int_equal(i, N);
		assert_int_equal(cella_conf_line(c, tu_conf_at(c, "s")), 1);
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
	for (size_t n = 0; n <= strlen(tu_conf_good); n++) {
		struct cella_conf *c = NULL;
		struct cella_diag d = {""};
		int rv = cella_conf_load_mem("trunc.yaml", tu_conf_good, n, &c, &d);

		if (rv != 0) {
			assert_int_equal(rv, -EINVAL);
			assert_true(strncmp(d.msg, "trunc.yaml:", 11) == 0);
			assert_null(c);
			continue;
		}
		loaded++;
		rv = cella_conf_validate(c, "", tu_conf_top, &d);
		if (rv == 0)
			valid++;
		else
			assert_true(rv == -EINVAL &&
				    strncmp(d.msg, "trunc.yaml", 10) == 0);
		cella_conf_print(null, c, tu_conf_top);
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
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_scalars),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_caps),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_many_lines),
		cmocka_unit_test(test_truncations),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
