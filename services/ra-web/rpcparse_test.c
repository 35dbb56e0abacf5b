/*
 * rpcparse_test: the internal API's body reader against the golden
 * vectors in proto/vectors/ra.vectors (each envelope parses; the body
 * gives exactly the result and message the vector names), and the fields
 * it hands to the NSM call for the valid shapes.
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

#include "common/rpc/envelope.h"
#include "services/ra-web/srv.h"

#define LINE_MAX_ 16384

/* Parse HEX as an envelope and run the body reader on it. */
static int
parse_hex(const char *hex, struct cella_env *env, struct ra_rpc_args *a,
	  struct cella_diag *d)
{
	static uint8_t buf[LINE_MAX_ / 2];
	int n = cella_hex_decode(hex, strlen(hex), buf, sizeof(buf));

	assert_true(n > 0);
	assert_int_equal(cella_env_parse(buf, (size_t)n, env, d), 0);
	return ra_rpc_parse(env->type, env->body, a, d);
}

static void
check_line(char *line)
{
	char *kind, *name, *hex, *result, *why, *save = NULL;
	struct cella_env env;
	struct ra_rpc_args a;
	struct cella_diag d = {{0}};
	int rv;

	kind = strtok_r(line, " \t", &save);
	if (kind == NULL || kind[0] == '#')
		return;
	name = strtok_r(NULL, " \t", &save);
	hex = strtok_r(NULL, " \t", &save);
	assert_string_equal(strtok_r(NULL, " \t", &save), "#");
	result = strtok_r(NULL, " \t", &save);
	why = strtok_r(NULL, "\n", &save);
	assert_non_null(result);
	assert_non_null(why);
	rv = parse_hex(hex, &env, &a, &d);
	print_message("%s: %s (%s)\n", name, rv ? cella_errname(rv) : "ok",
		      rv ? d.msg : "");
	if (strcmp(result, "ok") == 0) {
		assert_int_equal(rv, 0);
	} else {
		assert_string_equal(cella_errname(rv), result);
		assert_string_equal(d.msg, why);
	}
	cella_env_fini(&env);
}

static void
test_vectors(void **state)
{
	const char *root = getenv("CELLA_SOURCE_ROOT");
	char path[4096], *line = malloc(LINE_MAX_);
	FILE *f;
	int n = 0;

	(void)state;
	assert_non_null(root);
	snprintf(path, sizeof(path), "%s/proto/vectors/ra.vectors", root);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, LINE_MAX_, f) != NULL) {
		assert_non_null(strchr(line, '\n')); /* no line is cut */
		check_line(line);
		n += line[0] != '#' && line[0] != '\n';
	}
	fclose(f);
	free(line);
	assert_true(n >= 20);
}

/* Which fields a valid body hands over. */
static void
test_fields(void **state)
{
	struct cella_env env;
	struct ra_rpc_args a;
	struct cella_diag d;

	(void)state;
	/* {"nonce": h'01', "user_data": h'0203', "public_key": h'04'} */
	assert_int_equal(parse_hex("840119020003a3656e6f6e6365410169757365725f"
				   "646174614202036a7075626c69635f6b65794104",
				   &env, &a, &d),
			 0);
	assert_true(a.nonce.set && a.user_data.set && a.public_key.set);
	assert_int_equal(a.user_data.v.n, 2);
	assert_memory_equal(a.user_data.v.p, "\x02\x03", 2);
	cella_env_fini(&env);
	/* {"nonce": null}: absent; {"nonce": h''}: present and empty */
	assert_int_equal(parse_hex("840119020004a1656e6f6e6365f6", &env, &a, &d),
			 0);
	assert_false(a.nonce.set);
	assert_false(a.user_data.set);
	cella_env_fini(&env);
	assert_int_equal(parse_hex("840119020005a1656e6f6e636540", &env, &a, &d),
			 0);
	assert_true(a.nonce.set);
	assert_int_equal(a.nonce.v.n, 0);
	cella_env_fini(&env);
	/* ExtendPCR {"index": 16, "data": h'ab'} */
	assert_int_equal(parse_hex("840119020302a265696e646578106464617461"
				   "41ab",
				   &env, &a, &d),
			 0);
	assert_int_equal(a.type, CELLA_MSG_RA_EXTEND_PCR);
	assert_int_equal(a.arg, 16);
	assert_int_equal(a.data.n, 1);
	cella_env_fini(&env);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_fields),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
