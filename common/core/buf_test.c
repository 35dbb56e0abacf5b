/* buf_test: caps are enforced before allocation; hex round trips. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/core/buf.h"

static void
test_cap(void **state)
{
	struct cella_buf b;
	uint8_t chunk[100];

	(void)state;
	memset(chunk, 7, sizeof(chunk));
	cella_buf_init(&b, 1000);
	for (int i = 0; i < 10; i++)
		assert_int_equal(cella_buf_append(&b, chunk, sizeof(chunk)), 0);
	assert_int_equal(b.len, 1000);
	assert_true(b.cap <= 1000);
	assert_int_equal(cella_buf_append(&b, chunk, 1), -EMSGSIZE);
	assert_int_equal(cella_buf_reserve(&b, SIZE_MAX), -EMSGSIZE);
	cella_buf_consume(&b, 999);
	assert_int_equal(b.len, 1);
	assert_int_equal(cella_buf_append(&b, chunk, 99), 0);
	cella_buf_fini(&b);
	assert_null(b.p);
}

/* Counting allocates nothing; a borrowed buf fills exactly, never grows. */
static void
test_count_borrow(void **state)
{
	struct cella_buf b;
	uint8_t mem[8], chunk[5] = {1, 2, 3, 4, 5};

	(void)state;
	cella_buf_init_count(&b, 12);
	assert_int_equal(cella_buf_append(&b, chunk, 5), 0);
	assert_int_equal(cella_buf_append(&b, chunk, 5), 0);
	assert_int_equal(b.len, 10);
	assert_null(b.p);
	assert_int_equal(cella_buf_append(&b, chunk, 5), -EMSGSIZE);
	cella_buf_fini(&b);

	memset(mem, 0xee, sizeof(mem));
	cella_buf_borrow(&b, mem, 7);
	assert_int_equal(cella_buf_append(&b, chunk, 5), 0);
	assert_int_equal(cella_buf_append(&b, chunk, 3), -EMSGSIZE);
	assert_int_equal(b.len, 5);
	assert_int_equal(cella_buf_append(&b, chunk, 2), 0);
	assert_memory_equal(mem, "\1\2\3\4\5\1\2", 7);
	assert_int_equal(mem[7], 0xee); /* nothing past the borrowed cap */
	cella_buf_fini(&b);		 /* the caller's memory stays */
	assert_int_equal(mem[0], 1);
}

static void
test_steal(void **state)
{
	struct cella_buf b;
	uint8_t *p;
	size_t n;

	(void)state;
	cella_buf_init(&b, 64);
	assert_int_equal(cella_buf_append(&b, "abc", 3), 0);
	p = cella_buf_steal(&b, &n);
	assert_int_equal(n, 3);
	assert_memory_equal(p, "abc", 3);
	assert_null(b.p);
	free(p);
	cella_buf_fini(&b);
}

static void
test_hex(void **state)
{
	uint8_t in[] = {0x00, 0x01, 0xab, 0xff}, out[4];
	char s[9];

	(void)state;
	assert_int_equal(cella_hex_encode(in, 4, s, sizeof(s)), 8);
	assert_string_equal(s, "0001abff");
	assert_int_equal(cella_hex_encode(in, 4, s, 8), -EMSGSIZE);
	assert_int_equal(cella_hex_decode("0001ABff", 8, out, 4), 4);
	assert_memory_equal(in, out, 4);
	assert_int_equal(cella_hex_decode("abc", 3, out, 4), -EINVAL);
	assert_int_equal(cella_hex_decode("zz", 2, out, 4), -EINVAL);
	assert_int_equal(cella_hex_decode("0001abff00", 10, out, 4), -EMSGSIZE);
	assert_int_equal(cella_hex_decode("", 0, out, 4), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cap),
		cmocka_unit_test(test_count_borrow),
		cmocka_unit_test(test_steal),
		cmocka_unit_test(test_hex),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
