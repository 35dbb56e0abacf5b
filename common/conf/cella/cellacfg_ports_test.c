/*
 * cellacfg_ports_test: the `ports:` section: "HOST:ENCLAVE" pairs parse,
 * and every refusal (shape, range, a host port twice, a non-string, keys
 * that later issues add) names file:line and the key path exactly.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/conf/cella/cellacfg.h"

static int
load(const char *yaml, struct cella_conf **c, struct cella_diag *d)
{
	int rv = cella_conf_load_mem("cella.yaml", yaml, strlen(yaml), c, d);

	assert_int_equal(rv, 0);
	return cella_conf_validate(*c, "", cella_cfg_schema, d);
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
test_parse(void **state)
{
	struct cella_diag d = {{0}};
	uint16_t h = 0, e = 0;

	(void)state;
	assert_int_equal(cella_cfg_port_parse("8080:80", &h, &e, &d), 0);
	assert_int_equal(h, 8080);
	assert_int_equal(e, 80);
	assert_int_equal(cella_cfg_port_parse("65535:1", &h, &e, &d), 0);
	assert_int_equal(h, 65535);
	assert_int_equal(e, 1);
	assert_int_equal(cella_cfg_port_parse("65536:1", &h, &e, &d), -EINVAL);
	assert_string_equal(d.msg, "'65536:1': a port is 1..65535");
	assert_int_equal(cella_cfg_port_parse("0:1", &h, &e, &d), -EINVAL);
	assert_int_equal(cella_cfg_port_parse("80", &h, &e, &d), -EINVAL);
	assert_int_equal(cella_cfg_port_parse("1:2:3", &h, &e, &d), -EINVAL);
	assert_int_equal(cella_cfg_port_parse(":80", &h, &e, &d), -EINVAL);
	assert_int_equal(cella_cfg_port_parse("80:", &h, &e, &d), -EINVAL);
	assert_int_equal(cella_cfg_port_parse("+80:80", &h, &e, &d), -EINVAL);
	assert_int_equal(cella_cfg_port_parse("800000:80", &h, &e, &d),
			 -EINVAL);
	assert_string_equal(d.msg, "expected \"HOST:ENCLAVE\" (two TCP ports, "
				   "e.g. \"8080:80\"); got '800000:80'");
	/* Nothing written on failure. */
	assert_int_equal(h, 65535);
}

static void
test_valid(void **state)
{
	struct cella_conf *c = NULL;
	struct cella_diag d = {{0}};
	const cJSON *ports;

	(void)state;
	assert_int_equal(load("name: x\nports:\n  - \"8080:80\"\n"
			      "  - 8443:8443\n  - '9000:80'\n",
			      &c, &d),
			 0);
	ports = cJSON_GetObjectItem(cella_conf_root(c), "ports");
	assert_int_equal(cJSON_GetArraySize(ports), 3);
	assert_string_equal(cJSON_GetArrayItem(ports, 1)->valuestring,
			    "8443:8443");
	cella_conf_free(c);
	/* Absent: an empty list. */
	assert_int_equal(load("name: x\n", &c, &d), 0);
	ports = cJSON_GetObjectItem(cella_conf_root(c), "ports");
	assert_true(cJSON_IsArray(ports));
	assert_int_equal(cJSON_GetArraySize(ports), 0);
	cella_conf_free(c);
}

static void
test_errors(void **state)
{
	(void)state;
	expect_error("name: x\nports:\n  - \"8080\"\n",
		     "cella.yaml:3: ports[0]: expected \"HOST:ENCLAVE\" (two "
		     "TCP ports, e.g. \"8080:80\"); got '8080'");
	expect_error("ports:\n  - \"1:1\"\n  - \"0:80\"\n",
		     "cella.yaml:3: ports[1]: '0:80': a port is 1..65535");
	expect_error("ports:\n  - \"8080:80\"\n  - \"8081:80\"\n"
		     "  - \"8080:81\"\n",
		     "cella.yaml:1: ports: host port 8080 appears twice "
		     "(ports[0] and ports[2])");
	expect_error("ports:\n  - 8080\n",
		     "cella.yaml:2: ports[0]: expected a string; got 8080");
	expect_error("ports: \"8080:80\"\n",
		     "cella.yaml:1: ports: expected a list; got '8080:80'");
	/* Sections later issues add are not accepted before they work. */
	expect_error("egress:\n  allow: []\n",
		     "cella.yaml:1: egress: unknown key");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
