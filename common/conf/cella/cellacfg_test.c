/*
 * cellacfg_test: cella.yaml's init and services sections: defaults fill
 * in, and every refusal names file:line and the key path exactly; the
 * whole schema's printed form loads back to the same tree.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/conf/cella/cellacfg.h"

static int
load(const char *yaml, struct cella_conf **c, struct cella_diag *d)
{
	int rv = cella_conf_load_mem("cella.yaml", yaml, strlen(yaml), c, d);

	assert_int_equal(rv, 0);
	return cella_cfg_validate_init(*c, d);
}

static void
expect_error(const char *yaml, const char *msg)
{
	struct cella_conf *c = NULL;
	struct cella_diag d = {{0}};

	assert_int_equal(load(yaml, &c, &d), -EINVAL);
	print_message("%s\n", d.msg);
	assert_string_equal(d.msg, msg);
	cella_conf_free(c);
}

static void
test_defaults(void **state)
{
	struct cella_conf *c = NULL;
	struct cella_diag d = {{0}};
	const cJSON *root, *web, *init;

	(void)state;
	assert_int_equal(load("services:\n"
			      "  db:\n"
			      "    command: /bin/db --fast\n"
			      "  web:\n"
			      "    command: [/bin/web]\n"
			      "    depends_on: [db]\n"
			      "    ready: {tcp: 'tcp://127.0.0.1:8080'}\n",
			      &c, &d),
			 0);
	root = cella_conf_root(c);
	init = cJSON_GetObjectItem(root, "init");
	assert_string_equal(cella_conf_str(init, "control", ""),
			    "ipc:///run/cella/init.sock");
	assert_string_equal(cella_conf_str(init, "heartbeat_url", ""),
			    "vsock://3:9000");
	assert_true(cella_conf_bool(init, "mounts", false));
	web = cJSON_GetObjectItem(cJSON_GetObjectItem(root, "services"), "web");
	assert_string_equal(cella_conf_str(web, "restart", ""), "on-failure");
	assert_int_equal(cella_conf_int(web, "backoff_min_ms", 0), 100);
	assert_int_equal(cella_conf_int(web, "crash_max", 0), 5);
	assert_int_equal(cella_conf_int(cJSON_GetObjectItem(web, "ready"),
					"timeout_ms", 0),
			 60000);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(
				 cJSON_GetObjectItem(cJSON_GetObjectItem(root, "services"),
						     "db"),
				 "command")),
			 2);
	cella_conf_free(c);
}

static void
test_unknown_dependency(void **state)
{
	(void)state;
	expect_error("services:\n"
		     "  a:\n"
		     "    command: x\n"
		     "    depends_on:\n"
		     "      - b\n",
		     "cella.yaml:5: services.a.depends_on: unknown service 'b'");
}

static void
test_cycle(void **state)
{
	(void)state;
	expect_error("services:\n"
		     "  a:\n"
		     "    command: x\n"
		     "    depends_on: [b]\n"
		     "  b:\n"
		     "    command: x\n"
		     "    depends_on: [c]\n"
		     "  c:\n"
		     "    command: x\n"
		     "    depends_on: [a]\n",
		     "cella.yaml:10: services.c.depends_on: dependency cycle "
		     "a -> b -> c -> a");
	expect_error("services:\n"
		     "  a:\n"
		     "    command: x\n"
		     "    depends_on: [a]\n",
		     "cella.yaml:4: services.a.depends_on: dependency cycle a -> a");
}

static void
test_bad_entries(void **state)
{
	(void)state;
	expect_error("services:\n"
		     "  Web:\n"
		     "    command: x\n",
		     "cella.yaml:2: services.Web: a service name is 1..48 of "
		     "[a-z0-9_-], starting with a letter or digit");
	expect_error("services:\n"
		     "  a:\n"
		     "    command: x\n"
		     "    ready: {fd: 3, tcp: 'tcp://127.0.0.1:1'}\n",
		     "cella.yaml:4: services.a.ready: give exactly one of fd, "
		     "tcp, command");
	expect_error("services:\n"
		     "  a:\n"
		     "    command: x\n"
		     "    ready: {tcp: 'tcp://localhost:1'}\n",
		     "cella.yaml:4: services.a.ready.tcp: expected a literal "
		     "address, not a name");
}

static void
test_builtins(void **state)
{
	static const char *const argv[] = {"/usr/bin/cella-x", "--config",
					   "{config}", NULL};
	static const char *const deps[] = {"db", NULL};
	static const struct cella_cfg_builtin tab[] = {
		{"cella-x", "xsec", argv, deps, 3},
		{"cella-y", "absent", argv, NULL, 0},
		{0},
	};
	struct cella_conf *c = NULL;
	struct cella_diag d = {{0}};
	const char *yaml = "xsec: {}\nservices:\n  db:\n    command: /bin/db\n";
	const cJSON *x, *svcs;

	(void)state;
	assert_int_equal(cella_conf_load_mem("cella.yaml", yaml, strlen(yaml),
					     &c, &d), 0);
	assert_int_equal(cella_cfg_add_builtins(c, tab, &d), 0);
	assert_int_equal(cella_cfg_validate_init(c, &d), 0);
	svcs = cJSON_GetObjectItem(cella_conf_root(c), "services");
	assert_int_equal(cJSON_GetArraySize(svcs), 2);
	x = cJSON_GetObjectItem(svcs, "cella-x");
	assert_non_null(x);
	assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(x, "command"),
					       2)->valuestring,
			    "cella.yaml");
	assert_int_equal(cella_conf_int(cJSON_GetObjectItem(x, "ready"), "fd", 0),
			 3);
	assert_null(cJSON_GetObjectItem(svcs, "cella-y"));
	cella_conf_free(c);
}

/* env names: what an environment can hold, and nothing the printer
 * would have to write as a key too long to read back. */
static void
test_env_names(void **state)
{
	static const char *const good[] = {"A", "_", "_x1", "PATH", "a_B_9"};
	static const char *const bad[] = {"1A", "A-B", "A B", "A=B", "A.B",
					  "\u00e9", "."};
	char yaml[2048], want[512], quotes[601];
	struct cella_conf *c = NULL;
	struct cella_diag d = {{0}};

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(yaml, sizeof(yaml),
			 "services:\n  a:\n    command: x\n"
			 "    env:\n      %s: v\n", good[i]);
		assert_int_equal(load(yaml, &c, &d), 0);
		cella_conf_free(c);
		c = NULL;
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(yaml, sizeof(yaml),
			 "services:\n  a:\n    command: x\n"
			 "    env:\n      OK: v\n      \"%s\": v\n", bad[i]);
		assert_int_equal(load(yaml, &c, &d), -EINVAL);
		assert_non_null(strstr(d.msg, "cella.yaml:6: services.a.env."));
		assert_non_null(strstr(d.msg, ": not an environment variable "
					      "name: 1..255 of [A-Za-z0-9_], "
					      "not starting with a digit"));
		cella_conf_free(c);
		c = NULL;
	}
	/* The fuzzer's find: 600 '"' validated, printed as a 1202-byte key. */
	memset(quotes, '"', 600);
	quotes[600] = '\0';
	snprintf(yaml, sizeof(yaml),
		 "services:\n  a:\n    command: x\n    env:\n      '%s': v\n",
		 quotes);
	assert_int_equal(load(yaml, &c, &d), -EINVAL);
	assert_non_null(strstr(d.msg, "cella.yaml:5: services.a.env.\"\"\""));
	cella_conf_free(c);
	c = NULL;
	/* 255 bytes is the most. */
	memset(want, 'V', 256);
	want[255] = '\0';
	snprintf(yaml, sizeof(yaml),
		 "services:\n  a:\n    command: x\n    env: {%s: v}\n", want);
	assert_int_equal(load(yaml, &c, &d), 0);
	cella_conf_free(c);
	c = NULL;
	want[255] = 'V';
	want[256] = '\0';
	snprintf(yaml, sizeof(yaml),
		 "services:\n  a:\n    command: x\n    env: {%s: v}\n", want);
	assert_int_equal(load(yaml, &c, &d), -EINVAL);
	cella_conf_free(c);
}

/* Load, validate with the whole schema (as `cella config` does). */
static struct cella_conf *
load_all(const char *name, const char *yaml, size_t len)
{
	struct cella_conf *c = NULL;
	struct cella_diag d = {{0}};

	if (cella_conf_load_mem(name, yaml, len, &c, &d) != 0 ||
	    cella_conf_validate(c, "", cella_cfg_schema, &d) != 0 ||
	    cella_cfg_validate_init(c, &d) != 0)
		fail_msg("%s does not validate: %s\n%.*s", name, d.msg,
			 (int)len, yaml);
	return c;
}

/*
 * print -> load -> validate gives the same tree, for a file that uses
 * every section and the strings that need quoting; printing that again
 * gives the same text.
 */
static void
test_print_roundtrip(void **state)
{
	static const char yaml[] =
		"name: rt\n"
		"enclave: {cid: 17, debug: true}\n"
		"operators:\n"
		"  - name: alice\n"
		"    public_key: "
		"\"ed25519:SEuyD4jxeg0HkpR4kG4a6cicEv5PMrnoBXA1wc2PLUk=\"\n"
		"    roles: [services, logs, exec, files]\n"
		"policy: {exec: true, files: true}\n"
		"attestation: {provider: auto}\n"
		"pipeline: {}\n"
		"services:\n"
		"  web:\n"
		"    command: [/bin/web, \"--x=1\", \"yes\", \"a: b\", \"#c\"]\n"
		"    env: {MODE: \"on\", _EMPTY: \"\", LF: \"a\\nb\", Q: \"\\\"'\"}\n"
		"    user: \"1000:1000\"\n"
		"    ready: {tcp: \"tcp://127.0.0.1:8080\"}\n"
		"  db:\n"
		"    command: /bin/db --fast\n"
		"    depends_on: [web]\n"
		"ports: [\"8080:8000\"]\n";
	struct cella_conf *c, *c2;
	char *text = NULL, *text2 = NULL;
	size_t len = 0, len2 = 0;
	FILE *f;

	(void)state;
	c = load_all("cella.yaml", yaml, sizeof(yaml) - 1);
	assert_non_null(f = open_memstream(&text, &len));
	cella_conf_print(f, c, cella_cfg_schema);
	fclose(f);
	c2 = load_all("printed", text, len);
	if (!cJSON_Compare(cella_conf_root(c), cella_conf_root(c2), 1))
		fail_msg("the printed file reads back differently:\n%s", text);
	assert_non_null(f = open_memstream(&text2, &len2));
	cella_conf_print(f, c2, cella_cfg_schema);
	fclose(f);
	assert_string_equal(text, text2);
	free(text);
	free(text2);
	cella_conf_free(c);
	cella_conf_free(c2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_unknown_dependency),
		cmocka_unit_test(test_cycle),
		cmocka_unit_test(test_bad_entries),
		cmocka_unit_test(test_builtins),
		cmocka_unit_test(test_env_names),
		cmocka_unit_test(test_print_roundtrip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
