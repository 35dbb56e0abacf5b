/*
 * query_test: the nonce parameter and Accept negotiation, on exact
 * results and exact refusals, including the byte-boundary cases the HTTPS
 * tests hit (1024 and 1025 bytes, odd digits, duplicates).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "services/ra-web/query.h"

static int
nonce(const char *q, uint8_t *out, struct cella_diag *d)
{
	return ra_query_nonce(q, strlen(q), out, 1024, d);
}

static void
expect_refused(const char *q, int err, const char *msg)
{
	uint8_t out[1024];
	struct cella_diag d = {{0}};

	assert_int_equal(nonce(q, out, &d), err);
	assert_string_equal(d.msg, msg);
}

static void
test_nonce_ok(void **state)
{
	uint8_t out[1024];
	struct cella_diag d;

	(void)state;
	assert_int_equal(nonce("nonce=00c0FFee", out, &d), 4);
	assert_memory_equal(out, "\x00\xc0\xff\xee", 4);
	/* empty parameters are skipped */
	assert_int_equal(nonce("&nonce=01&", out, &d), 1);
	assert_int_equal(out[0], 1);
}

static void
test_nonce_sizes(void **state)
{
	char q[6 + 2 * 1025 + 1] = "nonce=";
	uint8_t out[1024];
	struct cella_diag d;

	(void)state;
	memset(q + 6, 'a', 2 * 1024);
	q[6 + 2 * 1024] = '\0';
	assert_int_equal(nonce(q, out, &d), 1024);
	assert_int_equal(out[1023], 0xaa);
	memset(q + 6, 'a', 2 * 1025);
	q[6 + 2 * 1025] = '\0';
	expect_refused(q, -EMSGSIZE, "nonce: 1025 bytes, over 1024");
	q[6 + 2 * 1024 + 1] = '\0'; /* 2049 digits: over, not merely odd */
	expect_refused(q, -EMSGSIZE, "nonce: 1025 bytes, over 1024");
}

static void
test_nonce_refusals(void **state)
{
	(void)state;
	expect_refused("", -ENOENT, "nonce: missing (?nonce=HEX, 1..1024 bytes)");
	expect_refused("&&", -ENOENT,
		       "nonce: missing (?nonce=HEX, 1..1024 bytes)");
	expect_refused("nonce=", -EINVAL, "nonce: empty");
	expect_refused("nonce", -EINVAL, "nonce: empty");
	expect_refused("nonce=abc", -EINVAL,
		       "nonce: odd number of hex digits (3)");
	expect_refused("nonce=zz", -EINVAL, "nonce: not hexadecimal");
	expect_refused("nonce=%41%41", -EINVAL, "nonce: not hexadecimal");
	expect_refused("nonce=00&nonce=11", -EINVAL,
		       "nonce: given more than once");
	expect_refused("nonce=00&x=1", -EINVAL,
		       "unknown parameter 'x' (only nonce=HEX)");
	expect_refused("Nonce=00", -EINVAL,
		       "unknown parameter 'Nonce' (only nonce=HEX)");
	expect_refused("\"\x01verylongparameternamethatgoesonandon=1", -EINVAL,
		       "unknown parameter '\"?verylongparameternamethatgoeso...'"
		       " (only nonce=HEX)");
}

/* The parser never reads past n: no terminator after the span. */
static void
test_nonce_unterminated(void **state)
{
	char *q = malloc(8);
	uint8_t out[4];
	struct cella_diag d;

	(void)state;
	memcpy(q, "nonce=ab", 8);
	assert_int_equal(ra_query_nonce(q, 8, out, sizeof(out), &d), 1);
	assert_int_equal(out[0], 0xab);
	free(q);
}

static enum ra_media
acc(const char *v)
{
	return ra_accept(v, v ? strlen(v) : 0, RA_MEDIA_CBOR, RA_MEDIA_JSON);
}

static void
test_accept(void **state)
{
	(void)state;
	assert_int_equal(acc(NULL), RA_MEDIA_CBOR);
	assert_int_equal(acc(""), RA_MEDIA_CBOR);
	assert_int_equal(acc("  "), RA_MEDIA_CBOR);
	assert_int_equal(acc("application/json"), RA_MEDIA_JSON);
	assert_int_equal(acc("Application/JSON"), RA_MEDIA_JSON);
	assert_int_equal(acc("application/cbor"), RA_MEDIA_CBOR);
	assert_int_equal(acc("*/*"), RA_MEDIA_CBOR);
	assert_int_equal(acc("application/*"), RA_MEDIA_CBOR);
	assert_int_equal(acc("text/html"), RA_MEDIA_NONE);
	assert_int_equal(acc("application/json, application/cbor"),
			 RA_MEDIA_CBOR); /* equal q: the server's preference */
	assert_int_equal(acc("application/cbor;q=0.5, application/json"),
			 RA_MEDIA_JSON);
	assert_int_equal(acc("application/cbor ; q=0.9 , application/json;q=0.95"),
			 RA_MEDIA_JSON);
	assert_int_equal(acc("*/*;q=0.1, application/cbor;q=0"), RA_MEDIA_JSON);
	assert_int_equal(acc("application/*;q=0, */*"), RA_MEDIA_NONE);
	assert_int_equal(acc("application/json;q=0"), RA_MEDIA_NONE);
	/* a malformed q drops that range only */
	assert_int_equal(acc("application/cbor;q=2, application/json"),
			 RA_MEDIA_JSON);
	assert_int_equal(acc("application/cbor;q=0.1234"), RA_MEDIA_NONE);
	assert_int_equal(acc("application/json;charset=utf-8;q=1.000"),
			 RA_MEDIA_JSON);
	assert_int_equal(acc(",,,;;;=,"), RA_MEDIA_NONE);
	assert_int_equal(ra_accept("application/json", 16, RA_MEDIA_JSON,
				   RA_MEDIA_JSON),
			 RA_MEDIA_JSON);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nonce_ok),
		cmocka_unit_test(test_nonce_sizes),
		cmocka_unit_test(test_nonce_refusals),
		cmocka_unit_test(test_nonce_unterminated),
		cmocka_unit_test(test_accept),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
