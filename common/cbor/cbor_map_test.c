/*
 * cbor_map_test: typed map reads bound sizes, name the key and never abort
 * on an unexpected value; builders refuse what they cannot do.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "common/cbor/cbor.h"

static void
assert_encodes(const cbor_item_t *item, const char *hex)
{
	struct cella_buf b;
	char out[512];

	cella_buf_init(&b, 256);
	assert_int_equal(cella_cbor_encode(item, &b), 0);
	assert_true(b.len * 2 < sizeof(out));
	cella_hex_encode(b.p, b.len, out, sizeof(out));
	assert_string_equal(out, hex);
	cella_buf_fini(&b);
}

static void
test_accessors(void **state)
{
	cbor_item_t *m = cbor_new_indefinite_map(), *null = cbor_new_null();
	cbor_item_t *half;
	struct cella_diag d;
	struct cella_span sp;
	uint64_t u;
	bool f = false;

	(void)state;
	assert_int_equal(cella_cbor_put_uint(m, "u", 7), 0);
	assert_int_equal(cella_cbor_put_bytes(m, "b", "\x01\x02", 2), 0);
	assert_int_equal(cella_cbor_put_bytes(m, "e", NULL, 0), 0);
	assert_int_equal(cella_cbor_put_text(m, "t", "hi"), 0);
	assert_int_equal(cella_cbor_put_bool(m, "f", true), 0);
	assert_int_equal(cella_cbor_put_item(m, "n", null), 0);
	assert_int_equal(cbor_refcount(null), 2);
	half = cbor_build_float2(1.0f);
	assert_int_equal(cella_cbor_put_item(m, "h", half), 0);
	cbor_decref(&half);

	assert_int_equal(cella_cbor_get_uint(m, "u", 7, &u, &d), 0);
	assert_int_equal(u, 7);
	assert_int_equal(cella_cbor_get_uint(m, "u", 6, &u, &d), -EBADMSG);
	assert_string_equal(d.msg, "u: 7 is over 6");
	assert_int_equal(cella_cbor_get_uint(m, "t", 9, &u, &d), -EBADMSG);
	assert_string_equal(d.msg, "t: expected an unsigned integer");
	assert_int_equal(cella_cbor_get_uint(m, "x", 9, &u, &d), -ENOENT);
	assert_string_equal(d.msg, "x: missing");
	assert_int_equal(cella_cbor_get_uint(m, "n", 9, &u, &d), -ENOENT);

	assert_int_equal(cella_cbor_get_bytes(m, "b", 2, &sp, &d), 0);
	assert_int_equal(sp.n, 2);
	assert_memory_equal(sp.p, "\x01\x02", 2);
	assert_int_equal(cella_cbor_get_bytes(m, "b", 1, &sp, &d), -EBADMSG);
	assert_string_equal(d.msg, "b: 2 bytes, over 1");
	assert_int_equal(cella_cbor_get_bytes(m, "e", 0, &sp, &d), 0);
	assert_int_equal(sp.n, 0);
	assert_non_null(sp.p);
	assert_int_equal(cella_cbor_get_bytes(m, "t", 9, &sp, &d), -EBADMSG);
	assert_string_equal(d.msg, "t: expected a byte string");
	assert_int_equal(cella_cbor_get_text(m, "t", 2, &sp, &d), 0);
	assert_memory_equal(sp.p, "hi", 2);
	assert_int_equal(cella_cbor_get_text(m, "b", 9, &sp, &d), -EBADMSG);

	assert_int_equal(cella_cbor_get_bool(m, "f", &f, &d), 0);
	assert_true(f);
	assert_int_equal(cella_cbor_get_bool(m, "u", &f, &d), -EBADMSG);
	assert_string_equal(d.msg, "u: expected a boolean");
	/* A float where null or a bool may stand: libcbor's own checks abort. */
	assert_int_equal(cella_cbor_get_bool(m, "h", &f, &d), -EBADMSG);
	assert_int_equal(cella_cbor_get_uint(m, "h", 9, &u, &d), -EBADMSG);
	assert_false(cella_cbor_is_null(cella_cbor_map_get(m, "h")));
	assert_true(cella_cbor_is_null(null));
	assert_false(cella_cbor_is_null(NULL));
	assert_null(cella_cbor_map_get(null, "u"));
	assert_null(cella_cbor_map_get(NULL, "u"));
	cbor_decref(&null);
	cbor_decref(&m);
}

static void
test_map_keys(void **state)
{
	struct cella_cbor_limits lim = {64, 4, 64, 64};
	uint8_t b[16];
	/* {1: "a", "a": 2} */
	int n = cella_hex_decode("a2016161616102", 14, b, sizeof(b));
	cbor_item_t *m = NULL;
	uint64_t u = 0;

	(void)state;
	assert_int_equal(cella_cbor_load(b, (size_t)n, &lim, &m, NULL), 0);
	assert_int_equal(cella_cbor_get_uint(m, "a", 9, &u, NULL), 0);
	assert_int_equal(u, 2);
	assert_null(cella_cbor_map_get(m, "1"));
	assert_null(cella_cbor_map_get(m, ""));
	cbor_decref(&m);
}

static void
test_builders(void **state)
{
	cbor_item_t *m = cbor_new_definite_map(1), *a = cbor_new_definite_array(1);

	(void)state;
	assert_int_equal(cella_cbor_put_uint(m, "a", 1), 0);
	assert_int_equal(cella_cbor_put_uint(m, "b", 2), -ENOSPC);
	assert_int_equal(cbor_map_size(m), 1);
	assert_int_equal(cella_cbor_put_text(a, "a", "x"), -EINVAL);
	assert_int_equal(cella_cbor_put_item(m, "c", NULL), -EINVAL);
	assert_encodes(m, "a1616101");
	cbor_decref(&a);
	cbor_decref(&m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accessors),
		cmocka_unit_test(test_map_keys),
		cmocka_unit_test(test_builders),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
