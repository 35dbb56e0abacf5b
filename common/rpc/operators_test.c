/* operators_test: roles, key text, loading operators and policy, lookups. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "common/rpc/operators.h"

static const uint8_t key_a[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13,
				  14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24,
				  25, 26, 27, 28, 29, 30, 31, 32};

static void
test_roles(void **state)
{
	char buf[64];
	uint32_t r;
	struct cella_diag d;

	(void)state;
	assert_int_equal(cella_role_parse("exec"), CELLA_ROLE_EXEC);
	assert_int_equal(cella_role_parse("root"), 0);
	assert_int_equal(cella_roles_parse_list("services,logs", &r, &d), 0);
	assert_int_equal(r, CELLA_ROLE_SERVICES | CELLA_ROLE_LOGS);
	assert_int_equal(cella_roles_format(r, buf, sizeof(buf)), 13);
	assert_string_equal(buf, "services,logs");
	cella_roles_format(0, buf, sizeof(buf));
	assert_string_equal(buf, "-");
	assert_int_equal(cella_roles_parse_list("logs,admin", &r, &d), -EINVAL);
	assert_non_null(strstr(d.msg, "unknown role 'admin'"));
	assert_int_equal(cella_roles_parse_list("logs,,exec", &r, &d), -EINVAL);
	assert_int_equal(cella_roles_parse_list("", &r, &d), -EINVAL);
	assert_int_equal(cella_roles_format(CELLA_ROLE_ALL, buf, 8), -ENOSPC);
}

static void
test_keys(void **state)
{
	char text[64];
	uint8_t back[32];
	struct cella_diag d;

	(void)state;
	assert_int_equal(cella_operator_key_format(key_a, text, sizeof(text)), 52);
	assert_int_equal(strncmp(text, "ed25519:", 8), 0);
	assert_int_equal(cella_operator_key_parse(text, back, &d), 0);
	assert_memory_equal(back, key_a, 32);
	assert_int_equal(cella_operator_key_parse("rsa:AAAA", back, &d), -EINVAL);
	assert_non_null(strstr(d.msg, "cella keygen"));
	text[20] = '!';
	assert_int_equal(cella_operator_key_parse(text, back, &d), -EINVAL);
	assert_int_equal(cella_operator_key_parse("ed25519:AAAA", back, &d),
			 -EINVAL);
	/* 33 bytes of base64 (no padding) is not a 32-byte key. */
	assert_int_equal(cella_operator_key_parse(
				 "ed25519:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
				 back, &d),
			 -EINVAL);
	assert_int_equal(cella_operator_key_format(key_a, text, 52), -ENOSPC);
}

static const struct cella_conf_key schema[] = {
	{.key = "operators", .type = CELLA_CONF_LIST, .max = 64},
	{0},
};

static struct cella_conf *
load(const char *yaml, const struct cella_conf_key *policy_rows)
{
	static struct cella_conf_key rows[4];
	static const struct cella_conf_key enclave[] = {
		{.key = "debug", .type = CELLA_CONF_BOOL, .def = "false"},
		{0},
	};
	struct cella_conf *c;
	struct cella_diag d;

	(void)schema;
	rows[0] = cella_operators_keys[0];
	rows[1] = (struct cella_conf_key){.key = "policy",
					  .type = CELLA_CONF_OBJECT,
					  .sub = policy_rows};
	rows[2] = (struct cella_conf_key){.key = "enclave",
					  .type = CELLA_CONF_OBJECT,
					  .sub = enclave};
	rows[3] = (struct cella_conf_key){0};
	assert_int_equal(cella_conf_load_mem("t.yaml", yaml, strlen(yaml), &c,
					     &d), 0);
	if (cella_conf_validate(c, "", rows, &d) != 0) {
		cella_conf_free(c);
		print_error("%s\n", d.msg);
		return NULL;
	}
	return c;
}

static void
test_load(void **state)
{
	char k[64], yaml[512];
	struct cella_operators ops;
	struct cella_conf *c;
	struct cella_diag d;
	uint8_t other[32] = {0};

	(void)state;
	cella_operator_key_format(key_a, k, sizeof(k));
	snprintf(yaml, sizeof(yaml),
		 "operators:\n"
		 "  - name: alice\n    public_key: \"%s\"\n"
		 "    roles: [services, logs]\n"
		 "policy:\n  exec: true\n",
		 k);
	c = load(yaml, cella_policy_keys);
	assert_non_null(c);
	assert_int_equal(cella_operators_load(c, &ops, &d), 0);
	assert_int_equal(ops.n, 1);
	assert_string_equal(ops.op[0].name, "alice");
	assert_int_equal(ops.op[0].roles, CELLA_ROLE_SERVICES | CELLA_ROLE_LOGS);
	assert_ptr_equal(cella_operators_find(&ops, key_a), &ops.op[0]);
	assert_null(cella_operators_find(&ops, other));
	/* policy.exec allows exec; files stays forbidden outside debug. */
	assert_int_equal(cella_operators_allowed(&ops),
			 CELLA_ROLE_SERVICES | CELLA_ROLE_LOGS |
				 CELLA_ROLE_EXEC);
	ops.exec = false;
	assert_int_equal(cella_operators_allowed(&ops) & CELLA_ROLE_EXEC, 0);
	ops.debug = true;
	assert_int_equal(cella_operators_allowed(&ops), CELLA_ROLE_ALL);
	cella_conf_free(c);

	/* The same key twice is refused with both names and a line. */
	snprintf(yaml, sizeof(yaml),
		 "operators:\n"
		 "  - {name: a, public_key: \"%s\", roles: [logs]}\n"
		 "  - {name: b, public_key: \"%s\", roles: [exec]}\n",
		 k, k);
	c = load(yaml, cella_policy_keys);
	assert_non_null(c);
	assert_int_equal(cella_operators_load(c, &ops, &d), -EINVAL);
	assert_string_equal(d.msg, "t.yaml:3: operators: 'b' repeats the name "
				   "or key of 'a'");
	cella_conf_free(c);
}

static void
test_schema_refusals(void **state)
{
	struct cella_conf *c;
	struct cella_diag d;
	static const char bad_role[] =
		"operators:\n  - {name: a, public_key: \"ed25519:AAAA\", "
		"roles: [root]}\n";
	static struct cella_conf_key rows[2];

	(void)state;
	rows[0] = cella_operators_keys[0];
	assert_int_equal(cella_conf_load_mem("t.yaml", bad_role,
					     strlen(bad_role), &c, &d), 0);
	assert_int_equal(cella_conf_validate(c, "", rows, &d), -EINVAL);
	/* The first bad field in table order is the key. */
	assert_non_null(strstr(d.msg, "t.yaml:2: operators[0].public_key"));
	cella_conf_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roles),
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_schema_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
