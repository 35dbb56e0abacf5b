/*
 * conf_print_test: the effective configuration as YAML (exact text, strings
 * that need quoting, keys too long to be simple keys, and the round trip
 * back to the same tree) and the key docs.
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

static const struct cella_conf_key numbers_keys[] = {
	{.key = "n", .type = CELLA_CONF_MAP,
	 .sub = (const struct cella_conf_key[]){
		 {.key = "x", .type = CELLA_CONF_INT}, {0}}},
	{0},
};

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
	struct cella_conf *c = tu_conf_load(tu_conf_good);
	struct cella_diag d = {""};
	char *text;

	(void)state;
	assert_int_equal(cella_conf_validate(c, "", tu_conf_top, &d), 0);
	text = tu_conf_print(c, tu_conf_top);
	assert_string_equal(text, good_printed);
	roundtrip(c, tu_conf_top, text);
	free(text);
	cella_conf_free(c);
}

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
	struct cella_conf *c = tu_conf_load(yaml);
	struct cella_diag d = {""};
	char *text;

	(void)state;
	assert_int_equal(cella_conf_validate(c, "", tu_conf_strings, &d), 0);
	text = tu_conf_print(c, tu_conf_strings);
	roundtrip(c, tu_conf_strings, text);
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

static void
test_print_generic(void **state)
{
	/* Keys the schema does not name are not printed; types it does not
	 * expect are printed as they are (print before validate). */
	struct cella_conf *c = tu_conf_load("n:\n  a: 1\n  b: [1.5, 1.0, -0.0, .inf, "
				    ".nan, true, ~, [x, [y]], {k: v}]\n"
				    "other: 1\n");
	char *text;

	(void)state;
	text = tu_conf_print(c, numbers_keys);
	/* "n" and "y" are booleans to YAML 1.1 readers: quoted. */
	assert_string_equal(text, "\"n\":\n  a: 1\n  b:\n    - 1.5\n"
				  "    - 1.0\n    - -0.0\n    - .inf\n"
				  "    - .nan\n    - true\n    - null\n"
				  "    - - x\n      - - \"y\"\n    - k: v\n");
	free(text);
	text = tu_conf_print(c, NULL);
	assert_string_equal(text, "{}\n");
	free(text);
	cella_conf_free(c);
}

/*
 * Keys YAML cannot read as simple keys (over 1024 characters as printed:
 * 600 '"' escape to 1202) are printed as explicit keys, at every depth
 * and before every kind of value, and read back the same.
 */
static const struct cella_conf_key long_any[] = {
	{.key = "v", .type = CELLA_CONF_STRLIST},
	{0},
};

static const struct cella_conf_key long_map[] = {
	{.key = "x", .type = CELLA_CONF_MAP, .sub = long_any},
	{0},
};

static const struct cella_conf_key deep[] = {
	{.key = "m", .type = CELLA_CONF_MAP, .sub = long_map},
	{0},
};

static void
test_print_long_keys(void **state)
{
	char *yaml = malloc(8192), *text, q[601], a[1100];
	struct cella_conf *c;
	struct cella_diag d = {""};

	(void)state;
	memset(q, '"', 600);
	q[600] = '\0';
	memset(a, 'a', 1099);
	a[1099] = '\0';
	snprintf(yaml, 8192,
		 "m:\n  '%s':\n    '%s': [x, y]\n    short: []\n"
		 "  ? %s\n  :\n    k: [z]\n", q, q, a);
	c = tu_conf_load(yaml);
	assert_int_equal(cella_conf_validate(c, "", deep, &d), 0);
	text = tu_conf_print(c, deep);
	roundtrip(c, deep, text);
	assert_non_null(strstr(text, "\n  ? \"\\\"\\\""));
	assert_non_null(strstr(text, "\n    ? \"\\\"\\\""));
	assert_non_null(strstr(text, "\n  ? aaaa"));
	assert_non_null(strstr(text, "\n    short: []\n"));
	free(text);
	cella_conf_free(c);
	free(yaml);
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
	cella_conf_print_docs(f, tu_conf_top);
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_print),
		cmocka_unit_test(test_print_strings),
		cmocka_unit_test(test_print_generic),
		cmocka_unit_test(test_print_long_keys),
		cmocka_unit_test(test_docs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
