/*
 * bridge_conf_test: the bridge's rules from the command line
 * (pfp_bridge_rule_parse: "LISTEN=TARGET,roles=R[,R]", addresses and roles
 * checked) and from cella.yaml (pfp_bridge_from_config: the whole file
 * validated first, then rules, deadlines, operators and the service URLs,
 * with cella.yaml's defaults). Tables of good and bad inputs; every bad
 * one is -EINVAL (or the file's errno) with the message an operator sees.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/rpc/operators.h"
#include "services/pf-proxy/bridge.h"

#define ROLES_HINT "expected LISTEN=TARGET,roles=ROLE[,ROLE]"
#define RULE_HINT "expected LISTEN=TARGET, e.g. " \
		  "tcp://127.0.0.1:8443=vsock://16:8443"

struct rule_case {
	const char *arg;
	int rv;
	const char *listen, *target; /* rv 0 */
	uint32_t roles;
	const char *msg; /* rv < 0 */
};

/* Nothing of a refused rule reaches the names the bridge listens on. */

static const struct rule_case rule_cases[] = {
	{"vsock://any:9001=ipc:///run/cella/init.sock,roles=services,logs", 0,
	 "vsock://any:9001", "ipc:///run/cella/init.sock",
	 CELLA_ROLE_SERVICES | CELLA_ROLE_LOGS, NULL},
	{"vsock://any:53000=ipc:///run/cella/pipeline.sock,roles=exec", 0,
	 "vsock://any:53000", "ipc:///run/cella/pipeline.sock",
	 CELLA_ROLE_EXEC, NULL},
	{"tcp://127.0.0.1:9=ipc:///s,roles=files,exec,files", 0,
	 "tcp://127.0.0.1:9", "ipc:///s", CELLA_ROLE_FILES | CELLA_ROLE_EXEC,
	 NULL},
	{"vsock://any:9001=ipc:///x", -EINVAL, NULL, NULL, 0,
	 "bad bridge 'vsock://any:9001=ipc:///x': " ROLES_HINT},
	{"", -EINVAL, NULL, NULL, 0, "bad bridge '': " ROLES_HINT},
	{"vsock://any:9001=ipc:///x,roles=", -EINVAL, NULL, NULL, 0,
	 "no role given"},
	{"vsock://any:9001=ipc:///x,roles=admin", -EINVAL, NULL, NULL, 0,
	 "unknown role 'admin' (services, logs, exec, files)"},
	{"vsock://any:9001=ipc:///x,roles=exec,,files", -EINVAL, NULL, NULL, 0,
	 "bad role list 'exec,,files'"},
	{"vsock://any:9001,roles=exec", -EINVAL, NULL, NULL, 0,
	 "bad rule 'vsock://any:9001': " RULE_HINT},
	/* both halves are addresses */
	{"=ipc:///x,roles=exec", -EINVAL, NULL, NULL, 0, "empty address"},
	{"vsock://any:99999999999=ipc:///x,roles=exec", -EINVAL, NULL, NULL, 0,
	 "bad address 'vsock://any:99999999999': bad port '99999999999'"},
	{"vsock://any:9001=tcp://127.0.0.1:0x1,roles=exec", -EINVAL, NULL, NULL,
	 0, "bad address 'tcp://127.0.0.1:0x1': bad port '0x1' (0-65535)"},
};

static void
test_rule_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rule_cases) / sizeof(rule_cases[0]);
	     i++) {
		const struct rule_case *c = &rule_cases[i];
		struct pfp_bridge_rule r;
		struct cella_diag d = {""};
		int rv;

		memset(&r, 0, sizeof(r));
		rv = pfp_bridge_rule_parse(c->arg, &r, &d);
		if (rv != c->rv)
			fail_msg("'%s': got %d (%s), expected %d", c->arg, rv,
				 d.msg, c->rv);
		if (rv == 0) {
			assert_string_equal(r.listen, c->listen);
			assert_string_equal(r.target, c->target);
			assert_int_equal(r.roles, c->roles);
			continue;
		}
		assert_string_equal(d.msg, c->msg);
		assert_string_equal(r.listen, "");
		assert_string_equal(r.target, "");
	}
}

static void
test_rule_too_long(void **state)
{
	char arg[800];
	struct pfp_bridge_rule r;
	struct cella_diag d = {""};

	(void)state;
	memset(arg, 'a', sizeof(arg) - 1);
	arg[sizeof(arg) - 1] = '\0';
	memcpy(arg, "ipc:///", 7);
	assert_int_equal(pfp_bridge_rule_parse(arg, &r, &d), -EINVAL);
	assert_string_equal(d.msg, "bridge rule too long");
}

/* --- from cella.yaml ---------------------------------------------------- */

#define ALICE "ed25519:SEuyD4jxeg0HkpR4kG4a6cicEv5PMrnoBXA1wc2PLUk="
#define OPERATORS                                                           \
	"operators:\n"                                                      \
	"  - name: alice\n"                                                 \
	"    public_key: \"" ALICE "\"\n"                                   \
	"    roles: [services, logs]\n"

static char dir[] = "/tmp/pfp-bridge-conf-XXXXXX";

static int
setup_dir(void **state)
{
	(void)state;
	return mkdtemp(dir) != NULL ? 0 : -1;
}

static int
teardown_dir(void **state)
{
	(void)state;
	return rmdir(dir);
}

/* yaml written to DIR/cella.yaml and loaded into *o; the return value. */
static int
from_yaml(const char *yaml, struct pfp_bridge_opts *o, struct cella_diag *d)
{
	char path[64];
	FILE *f;
	int rv;

	snprintf(path, sizeof(path), "%s/cella.yaml", dir);
	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(fputs(yaml, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	memset(o, 0, sizeof(*o));
	rv = pfp_bridge_from_config(path, o, d);
	assert_int_equal(unlink(path), 0);
	return rv;
}

/* The defaults: the two ports every enclave has, cella.yaml's deadlines. */
static void
test_config_defaults(void **state)
{
	struct pfp_bridge_opts o;
	struct cella_diag d = {""};

	(void)state;
	if (from_yaml("name: demo\n" OPERATORS, &o, &d) != 0)
		fail_msg("refused: %s", d.msg);
	assert_int_equal(o.nrules, 2);
	assert_string_equal(o.rules[0].listen, "vsock://any:9001");
	assert_string_equal(o.rules[0].target, "ipc:///run/cella/init.sock");
	assert_int_equal(o.rules[0].roles,
			 CELLA_ROLE_SERVICES | CELLA_ROLE_LOGS);
	assert_string_equal(o.rules[1].listen, "vsock://any:53000");
	assert_string_equal(o.rules[1].target,
			    "ipc:///run/cella/pipeline.sock");
	assert_int_equal(o.rules[1].roles, CELLA_ROLE_EXEC | CELLA_ROLE_FILES);
	assert_string_equal(o.init_url, "ipc:///run/cella/init.sock");
	assert_string_equal(o.ra_url, "ipc:///run/cella/ra.sock");
	assert_string_equal(o.name, "demo");
	assert_int_equal(o.first_byte_ms, PFP_BRIDGE_FIRST_BYTE_MS);
	assert_int_equal(o.hello_ms, PFP_BRIDGE_HELLO_MS);
	assert_int_equal(o.pending_max, PFP_BRIDGE_PENDING_MAX);
	assert_int_equal(o.ops.n, 1);
	assert_string_equal(o.ops.op[0].name, "alice");
	assert_int_equal(o.ops.op[0].roles,
			 CELLA_ROLE_SERVICES | CELLA_ROLE_LOGS);
	assert_false(o.ops.exec);
	assert_false(o.ops.debug);
}

/* Every setting given: each lands where the bridge reads it. */
static void
test_config_given(void **state)
{
	static const char yaml[] =
		"name: shop\n"
		"enclave: {debug: true}\n"
		OPERATORS
		"policy: {exec: true, files: true}\n"
		"init: {control: \"ipc:///tmp/i.sock\"}\n"
		"attestation: {internal: {listen: \"ipc:///tmp/ra.sock\"}}\n"
		"bridge:\n"
		"  first_byte_ms: 100\n"
		"  hello_ms: 60000\n"
		"  pending_max: 4096\n"
		"  rules:\n"
		"    - {listen: \"vsock://any:7000\", target: \"ipc:///tmp/s\","
		" roles: [files]}\n";
	struct pfp_bridge_opts o;
	struct cella_diag d = {""};

	(void)state;
	if (from_yaml(yaml, &o, &d) != 0)
		fail_msg("refused: %s", d.msg);
	assert_int_equal(o.nrules, 1);
	assert_string_equal(o.rules[0].listen, "vsock://any:7000");
	assert_string_equal(o.rules[0].target, "ipc:///tmp/s");
	assert_int_equal(o.rules[0].roles, CELLA_ROLE_FILES);
	assert_string_equal(o.init_url, "ipc:///tmp/i.sock");
	assert_string_equal(o.ra_url, "ipc:///tmp/ra.sock");
	assert_string_equal(o.name, "shop");
	assert_int_equal(o.first_byte_ms, 100);
	assert_int_equal(o.hello_ms, 60000);
	assert_int_equal(o.pending_max, 4096);
	assert_true(o.ops.exec);
	assert_true(o.ops.files);
	assert_true(o.ops.debug);
}

struct conf_case {
	const char *yaml;
	const char *msg; /* after "DIR/cella.yaml" */
};

#define RULE(listen, target, roles)                                         \
	"name: x\nbridge: {rules: [{listen: \"" listen "\", target: \""     \
	target "\", roles: " roles "}]}\n"
#define OP(name, key) "  - {name: " name ", public_key: \"" key "\", "    \
		      "roles: [logs]}\n"

static const struct conf_case conf_cases[] = {
	{"name: x\nbridge: {nope: 1}\n", ":2: bridge.nope: unknown key"},
	{"name: x\nbridge: {hello_ms: 99}\n",
	 ":2: bridge.hello_ms: 99 is below the minimum 100"},
	{"name: x\nbridge: {pending_max: 0}\n",
	 ":2: bridge.pending_max: 0 is below the minimum 1"},
	{"name: x\nbridge: {first_byte_ms: \"soon\"}\n",
	 ":2: bridge.first_byte_ms: expected an integer; got 'soon'"},
	{RULE("vsock://any:1", "ipc:///s", "[admin]"),
	 ":2: bridge.rules[0].roles: unknown role 'admin' (services, logs, "
	 "exec, files)"},
	{RULE("vsock://any:1", "ipc:///s", "[]"),
	 ":2: bridge.rules[0].roles: 0 items, below the minimum 1"},
	{RULE("smtp://h:1", "ipc:///s", "[exec]"),
	 ":2: bridge.rules[0].listen: bad address 'smtp://h:1': unknown "
	 "scheme (use ipc://, unix://, abstract://, tcp:// or vsock://)"},
	{"name: x\nbridge: {rules: [{target: \"ipc:///s\", roles: [exec]}]}\n",
	 ":2: bridge.rules[0].listen: required key missing"},
	{"name: x\noperators:\n" OP("a", "ed25519:AAAA"),
	 ":3: operators[0].public_key: an Ed25519 key is 32 bytes: 44 base64 "
	 "characters after 'ed25519:'"},
	{"name: x\noperators:\n" OP("a", ALICE) OP("b", ALICE),
	 ":4: operators: 'b' repeats the name or key of 'a'"},
	{"name: x\noperators:\n" OP("a", ALICE) OP("a", ALICE),
	 ":4: operators: 'a' repeats the name or key of 'a'"},
	{"name: [x\n", ":2: did not find expected ',' or ']' (while parsing a "
	 "flow sequence at line 1)"},
};

static void
test_config_refused(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(conf_cases) / sizeof(conf_cases[0]);
	     i++) {
		const struct conf_case *c = &conf_cases[i];
		struct pfp_bridge_opts o;
		struct cella_diag d = {""};
		char want[256];
		int rv = from_yaml(c->yaml, &o, &d);

		if (rv != -EINVAL)
			fail_msg("case %zu: got %d (%s), expected -EINVAL", i,
				 rv, d.msg);
		/* the message names the file and line, whoever found it */
		snprintf(want, sizeof(want), "%s/cella.yaml%s", dir, c->msg);
		assert_string_equal(d.msg, want);
	}
}

static void
test_config_missing(void **state)
{
	struct pfp_bridge_opts o;
	struct cella_diag d = {""};
	char path[64];

	(void)state;
	snprintf(path, sizeof(path), "%s/none.yaml", dir);
	assert_int_equal(pfp_bridge_from_config(path, &o, &d), -ENOENT);
	assert_non_null(strstr(d.msg, path));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rule_table),
		cmocka_unit_test(test_rule_too_long),
		cmocka_unit_test(test_config_defaults),
		cmocka_unit_test(test_config_given),
		cmocka_unit_test(test_config_refused),
		cmocka_unit_test(test_config_missing),
	};

	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
