/*
 * cbor_test: the gate accepts exactly well-formed definite CBOR within its
 * limits (each limit at and one past its bound), rejects every truncation
 * of a valid encoding, fails fast on huge declared lengths, agrees with
 * libcbor on everything it accepts, and the encoder keeps its contract.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/cbor/cbor.h"

static const struct cella_cbor_limits wide = {
	.max_bytes = 1u << 20,
	.max_depth = 16,
	.max_items = 100000,
	.max_str = 1u << 20,
};

static size_t
unhex(const char *hex, uint8_t *out, size_t cap)
{
	int n = cella_hex_decode(hex, strlen(hex), out, cap);

	assert_true(n >= 0);
	return (size_t)n;
}

static int
check_hex(const char *hex, const struct cella_cbor_limits *lim,
	  struct cella_diag *d)
{
	uint8_t b[256];
	size_t n = unhex(hex, b, sizeof(b));

	return cella_cbor_check(b, n, lim, d);
}

static const char *const valid[] = {
	"00", "17", "1818", "19ffff", "1a00010000", "1bffffffffffffffff",
	"20", "3bffffffffffffffff", "40", "4401020304", "60", "6449455446",
	"80", "83010203", "8301820203820405", "a0", "a26161016162820203",
	"a1a0a0", "c074323031332d30332d32315432303a30343a30305a", "d81840",
	"c1c2c3c400", "c5d5d6d7d80600", "f4", "f5", "f6", "f7",
	"f93c00", "f97c00", "fa47c35000", "fb3ff199999999999a",
	"818181818100", "8180", "a1626b31a0", "62c3a9", "63e282ac",
	"64f0908d88", "64f48fbfbf", "63ed9fbf", "6100", "4180",
};

static void
test_valid(void **state)
{
	struct cella_diag d;

	(void)state;
	for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
		uint8_t b[256];
		size_t n = unhex(valid[i], b, sizeof(b));
		cbor_item_t *item = NULL;
		int rv = cella_cbor_load(b, n, &wide, &item, &d);

		if (rv != 0)
			fail_msg("%s: %d %s", valid[i], rv, d.msg);
		cbor_decref(&item);
	}
}

static const struct {
	const char *hex;
	int err;
	const char *msg; /* a substring of the diagnosis */
} invalid[] = {
	{"", -EBADMSG, "empty"},
	{"18", -EBADMSG, "truncated head"},
	{"1900", -EBADMSG, "truncated head"},
	{"1b00000000000000", -EBADMSG, "truncated head"},
	{"41", -EBADMSG, "string of 1 bytes"},
	{"6261", -EBADMSG, "string of 2 bytes"},
	{"5f4100ff", -EBADMSG, "indefinite"},
	{"7f6100ff", -EBADMSG, "indefinite"},
	{"9f01ff", -EBADMSG, "indefinite"},
	{"bf0102ff", -EBADMSG, "indefinite"},
	{"ff", -EBADMSG, "additional info 31"},
	{"1c", -EBADMSG, "reserved"},
	{"1d", -EBADMSG, "reserved"},
	{"5e", -EBADMSG, "reserved"},
	{"fc", -EBADMSG, "reserved"},
	{"3f", -EBADMSG, "additional info 31"},
	{"df00", -EBADMSG, "additional info 31"},
	{"f800", -EBADMSG, "simple value 0 at offset 0 is not"},
	{"f81f", -EBADMSG, "simple value 31"},
	{"f820", -EBADMSG, "simple value 32"},
	{"f8ff", -EBADMSG, "simple value 255"},
	{"e0", -EBADMSG, "simple value 0"},
	{"f3", -EBADMSG, "simple value 19"},
	{"c600", -EBADMSG, "one-byte tag 6"},
	{"6180", -EBADMSG, "invalid UTF-8 at offset 1"},
	{"63616280", -EBADMSG, "invalid UTF-8 at offset 3"},
	{"62c0af", -EBADMSG, "invalid UTF-8"},	   /* overlong */
	{"63e08080", -EBADMSG, "invalid UTF-8"},   /* overlong */
	{"63eda080", -EBADMSG, "invalid UTF-8"},   /* surrogate */
	{"64f4908080", -EBADMSG, "invalid UTF-8"}, /* over U+10FFFF */
	{"63f09080", -EBADMSG, "invalid UTF-8"},   /* cut sequence */
	{"61ff", -EBADMSG, "invalid UTF-8"},
	{"d400", -EBADMSG, "one-byte tag 20"},
	{"8201", -EBADMSG, "1 bytes remain"},
	{"83010203" "04", -EBADMSG, "1 trailing bytes at offset 4"},
	{"0000", -EBADMSG, "trailing"},
	{"a101", -EBADMSG, "2 items declared"},
	{"c1", -EBADMSG, "1 items declared"},
	{"9b1000000000000000", -EMSGSIZE, "total over"},
	{"bbffffffffffffffff", -EMSGSIZE, "pairs"},
	{"5bffffffffffffffff00", -EMSGSIZE, "is over"},
	{"7a00100001", -EMSGSIZE, "is over 1048576"},
};

static void
test_invalid(void **state)
{
	struct cella_diag d;

	(void)state;
	for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		int rv;

		memset(&d, 0, sizeof(d));
		rv = check_hex(invalid[i].hex, &wide, &d);
		if (rv != invalid[i].err || strstr(d.msg, invalid[i].msg) == NULL)
			fail_msg("%s: got %d \"%s\", want %d \"%s\"",
				 invalid[i].hex, rv, d.msg, invalid[i].err,
				 invalid[i].msg);
	}
}

/* A declared size far past the input fails at once, whatever the caps. */
static void
test_huge_declared(void **state)
{
	struct cella_cbor_limits open = {SIZE_MAX, 64, SIZE_MAX, SIZE_MAX};
	struct cella_diag d;

	(void)state;
	assert_int_equal(check_hex("9b1000000000000000", &open, &d), -EBADMSG);
	assert_non_null(strstr(d.msg, "1152921504606846976 items declared"));
	assert_int_equal(check_hex("9b1000000000000000", &wide, &d),
			 -EMSGSIZE);
	assert_int_equal(check_hex("5bffffffffffffffff00", &open, &d),
			 -EBADMSG);
	assert_int_equal(check_hex("bb7fffffffffffffff0000", &open, &d),
			 -EBADMSG);
	assert_int_equal(check_hex("bbffffffffffffffff", &open, &d),
			 -EMSGSIZE);
	/* Nested: the inner count is held against the outer's pending. */
	assert_int_equal(check_hex("82820000", &open, &d), -EBADMSG);
	assert_int_equal(check_hex("8282000000", &open, &d), 0);
	assert_int_equal(check_hex("83019a000fffff00", &open, &d), -EBADMSG);
	assert_int_equal(check_hex("c0c0c0c0", &open, &d), -EBADMSG);
}

static void
test_limit_bytes(void **state)
{
	struct cella_cbor_limits lim = wide;
	struct cella_diag d;

	(void)state;
	lim.max_bytes = 4;
	assert_int_equal(check_hex("83010203", &lim, &d), 0);
	lim.max_bytes = 3;
	assert_int_equal(check_hex("83010203", &lim, &d), -EMSGSIZE);
	assert_string_equal(d.msg, "cbor: 4 bytes, over 3");
}

static void
test_limit_str(void **state)
{
	struct cella_cbor_limits lim = wide;
	struct cella_diag d;

	(void)state;
	lim.max_str = 3;
	assert_int_equal(check_hex("43010203", &lim, &d), 0);
	assert_int_equal(check_hex("63616263", &lim, &d), 0);
	assert_int_equal(check_hex("8163616263", &lim, &d), 0);
	lim.max_str = 2;
	assert_int_equal(check_hex("43010203", &lim, &d), -EMSGSIZE);
	assert_int_equal(check_hex("63616263", &lim, &d), -EMSGSIZE);
	assert_int_equal(check_hex("8163616263", &lim, &d), -EMSGSIZE);
	assert_string_equal(d.msg,
			    "cbor: string of 3 bytes at offset 1 is over 2");
}

static void
test_limit_items(void **state)
{
	static const struct {
		const char *hex;
		size_t items;
	} t[] = {
		{"00", 1},	   {"83010203", 4}, {"a10102", 3},
		{"c000", 2},	   {"80", 1},	    {"a0", 1},
		{"82a1008000", 5},
	};
	struct cella_cbor_limits lim = wide;
	struct cella_diag d;

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		lim.max_items = t[i].items;
		assert_int_equal(check_hex(t[i].hex, &lim, &d), 0);
		lim.max_items = t[i].items - 1;
		assert_int_equal(check_hex(t[i].hex, &lim, &d), -EMSGSIZE);
	}
}

/* prefix^k then tail: k nested containers. */
static int
check_nested(uint8_t prefix, unsigned k, uint8_t tail, unsigned max_depth)
{
	struct cella_cbor_limits lim = wide;
	uint8_t b[200];

	assert_true(k < sizeof(b));
	memset(b, prefix, k);
	b[k] = tail;
	lim.max_depth = max_depth;
	return cella_cbor_check(b, k + 1, &lim, NULL);
}

static void
test_limit_depth(void **state)
{
	(void)state;
	for (unsigned k = 1; k <= 20; k++) {
		/* arrays, tags and maps ({0: {0: ...}}) */
		assert_int_equal(check_nested(0x81, k, 0x00, k), 0);
		assert_int_equal(check_nested(0x81, k, 0x00, k - 1), -EMSGSIZE);
		assert_int_equal(check_nested(0xc0, k, 0x00, k), 0);
		assert_int_equal(check_nested(0xc0, k, 0x00, k - 1), -EMSGSIZE);
		/* an empty container at the bottom nests too */
		assert_int_equal(check_nested(0x81, k - 1, 0x80, k), 0);
		assert_int_equal(check_nested(0x81, k - 1, 0xa0, k - 1),
				 -EMSGSIZE);
	}
	assert_int_equal(check_nested(0x81, 0, 0x00, 0), 0);
	assert_int_equal(check_nested(0x81, 0, 0x80, 0), -EMSGSIZE);
	/* max_depth is clamped at CELLA_CBOR_DEPTH_MAX */
	assert_int_equal(check_nested(0x81, CELLA_CBOR_DEPTH_MAX, 0, ~0u), 0);
	assert_int_equal(check_nested(0x81, CELLA_CBOR_DEPTH_MAX + 1, 0, ~0u),
			 -EMSGSIZE);
}

static void
test_depth_maps(void **state)
{
	struct cella_cbor_limits lim = wide;
	uint8_t b[64];
	size_t n = 0;

	(void)state;
	for (int i = 0; i < 5; i++) {
		b[n++] = 0xa1;
		b[n++] = 0x00;
	}
	b[n++] = 0x00;
	lim.max_depth = 5;
	assert_int_equal(cella_cbor_check(b, n, &lim, NULL), 0);
	lim.max_depth = 4;
	assert_int_equal(cella_cbor_check(b, n, &lim, NULL), -EMSGSIZE);
}

/* --- random well-formed items, built with libcbor --- */

static uint64_t rng_state;

static uint64_t
rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static cbor_item_t *gen(int depth);

static cbor_item_t *
gen_container(int depth)
{
	cbor_item_t *c, *k, *v;
	unsigned n = (unsigned)(rng() % 5);

	switch (rng() % 3) {
	case 0:
		c = cbor_new_definite_array(n);
		for (unsigned i = 0; i < n; i++) {
			v = gen(depth + 1);
			assert_true(cbor_array_push(c, v));
			cbor_decref(&v);
		}
		return c;
	case 1:
		c = cbor_new_indefinite_map();
		for (unsigned i = 0; i < n; i++) {
			k = gen(depth + 1);
			v = gen(depth + 1);
			assert_true(cbor_map_add(c, (struct cbor_pair){k, v}));
			cbor_decref(&k);
			cbor_decref(&v);
		}
		return c;
	default:
		v = gen(depth + 1);
		c = cbor_build_tag(rng() >> (rng() % 64), v);
		cbor_decref(&v);
		return c;
	}
}

static cbor_item_t *
gen(int depth)
{
	uint8_t bytes[40];
	size_t n = rng() % sizeof(bytes);

	for (size_t i = 0; i < n; i++)
		bytes[i] = (uint8_t)('a' + rng() % 26);
	switch (rng() % (depth < 5 ? 10 : 7)) {
	case 0:
		return cbor_build_uint64(rng() >> (rng() % 64));
	case 1:
		return cbor_build_negint64(rng() >> (rng() % 64));
	case 2:
		return cbor_build_bytestring(bytes, n);
	case 3:
		if (n > 10 && rng() % 3 == 0) /* some multi-byte UTF-8 */
			memcpy(bytes, "h\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 10);
		return cbor_build_stringn((const char *)bytes, n);
	case 4:
		return cbor_build_bool(rng() & 1);
	case 5:
		switch (rng() % 4) {
		case 0:
			return cbor_build_float2((float)(int)(rng() % 200) - 100);
		case 1:
			return cbor_build_float4((float)(rng() % 100000) / 8);
		case 2:
			return cbor_build_float8((double)rng() / 3);
		default:
			return cbor_new_null();
		}
	case 6:
		return cbor_new_undef();
	default:
		return gen_container(depth);
	}
}

static uint8_t *
encode_new(const cbor_item_t *item, size_t *n)
{
	struct cella_buf b;
	uint8_t *p;

	cella_buf_init(&b, 1u << 20);
	assert_int_equal(cella_cbor_encode(item, &b), 0);
	p = cella_buf_steal(&b, n);
	cella_buf_fini(&b);
	return p;
}

/* Every prefix is rejected as malformed, in an exact-size heap copy. */
static void
assert_prefixes_rejected(const uint8_t *p, size_t n)
{
	for (size_t k = 0; k < n; k++) {
		uint8_t *cut = malloc(k ? k : 1);
		struct cella_diag d;

		memcpy(cut, p, k);
		if (cella_cbor_check(cut, k, &wide, &d) != -EBADMSG)
			fail_msg("prefix %zu of %zu accepted (%s)", k, n, d.msg);
		free(cut);
	}
}

static void
test_random_roundtrip(void **state)
{
	(void)state;
	rng_state = 0x9e3779b97f4a7c15ull;
	for (int round = 0; round < 400; round++) {
		cbor_item_t *item = gen(0), *loaded = NULL;
		size_t n, n2, split;
		uint8_t *p, *p2, *a, *b, *joined;
		struct cella_diag d;

		p = encode_new(item, &n);
		if (cella_cbor_load(p, n, &wide, &loaded, &d) != 0)
			fail_msg("round %d: %s", round, d.msg);
		p2 = encode_new(loaded, &n2);
		assert_int_equal(n, n2);
		assert_memory_equal(p, p2, n);
		assert_prefixes_rejected(p, n);

		/* Split in two separately allocated halves, then rejoin. */
		split = 1 + rng() % n;
		a = malloc(split);
		b = malloc(n - split + 1);
		memcpy(a, p, split);
		memcpy(b, p + split, n - split);
		if (split < n)
			assert_int_equal(cella_cbor_check(a, split, &wide, NULL),
					 -EBADMSG);
		joined = malloc(n);
		memcpy(joined, a, split);
		memcpy(joined + split, b, n - split);
		assert_int_equal(cella_cbor_check(joined, n, &wide, NULL), 0);

		free(a), free(b), free(joined), free(p), free(p2);
		cbor_decref(&item);
		cbor_decref(&loaded);
	}
}

/* Whatever the gate lets through, libcbor reads whole and exactly. */
static void
test_random_mutations(void **state)
{
	size_t accepted = 0;

	(void)state;
	rng_state = 0x2545f4914f6cdd1dull;
	for (int round = 0; round < 3000; round++) {
		cbor_item_t *item = gen(0), *loaded;
		size_t n;
		uint8_t *p = encode_new(item, &n);
		struct cbor_load_result res;

		for (int k = 0; k < 1 + (int)(rng() % 3); k++)
			p[rng() % n] ^= (uint8_t)(1u << (rng() % 8));
		if (round % 4 == 0) /* or plain noise */
			for (size_t i = 0; i < n; i++)
				p[i] = (uint8_t)rng();
		if (cella_cbor_check(p, n, &wide, NULL) == 0) {
			accepted++;
			loaded = cbor_load(p, n, &res);
			if (loaded == NULL)
				fail_msg("round %d: libcbor refused it: %d at "
					 "%zu",
					 round, res.error.code,
					 res.error.position);
			assert_int_equal(res.read, n);
			cbor_decref(&loaded);
		}
		free(p);
		cbor_decref(&item);
	}
	assert_true(accepted > 0);
}

static void
test_load(void **state)
{
	cbor_item_t *item = (cbor_item_t *)&item, *sentinel = item;
	uint8_t b[] = {0x82, 0x01, 0x02}, bad[] = {0x82, 0x01};
	struct cella_diag d;

	(void)state;
	assert_int_equal(cella_cbor_load(bad, sizeof(bad), &wide, &item, &d),
			 -EBADMSG);
	assert_ptr_equal(item, sentinel);
	assert_int_equal(cella_cbor_load(b, sizeof(b), &wide, &item, &d), 0);
	assert_true(cbor_isa_array(item));
	assert_int_equal(cbor_array_size(item), 2);
	cbor_decref(&item);
}

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
test_encode(void **state)
{
	cbor_item_t *m = cbor_new_indefinite_map(), *a, *s, *c, *x;
	struct cella_buf b;

	(void)state;
	assert_int_equal(cella_cbor_put_uint(m, "a", 1), 0);
	assert_int_equal(cella_cbor_put_uint(m, "b", 500), 0);
	assert_encodes(m, "a261610161621901f4");

	a = cbor_new_indefinite_array();
	x = cbor_build_uint8(200);
	assert_true(cbor_array_push(a, x));
	cbor_decref(&x);
	assert_encodes(a, "8118c8");

	s = cbor_new_indefinite_string();
	for (int i = 0; i < 2; i++) {
		x = cbor_build_string("ab");
		assert_true(cbor_string_add_chunk(s, x));
		cbor_decref(&x);
	}
	assert_encodes(s, "6461626162");

	x = cbor_build_uint64(16);
	c = cbor_build_tag(16, x);
	assert_encodes(c, "d81010"); /* libcbor reads tag 16 only so */
	cbor_decref(&c);
	cbor_decref(&x);
	x = cbor_build_uint64(1);
	assert_encodes(x, "01"); /* shortest head whatever the width */
	cbor_decref(&x);
	x = cbor_build_negint64(0);
	assert_encodes(x, "20");
	cbor_decref(&x);
	x = cbor_build_stringn("\xc3", 1);
	cella_buf_init(&b, 16);
	assert_int_equal(cella_cbor_encode(x, &b), -EILSEQ);
	assert_int_equal(b.len, 0);
	cella_buf_fini(&b);
	cbor_decref(&x);
	x = cbor_build_ctrl(32);
	c = cbor_new_tag(5);
	cella_buf_init(&b, 4);
	assert_int_equal(cella_cbor_encode(x, &b), -EINVAL);
	assert_int_equal(cella_cbor_encode(c, &b), -EINVAL);
	/* Over the cap: nothing of the item stays in the buffer. */
	assert_int_equal(cella_buf_append(&b, "z", 1), 0);
	assert_int_equal(cella_cbor_encode(s, &b), -EMSGSIZE);
	assert_int_equal(b.len, 1);
	cella_buf_fini(&b);
	cbor_decref(&x);
	cbor_decref(&c);
	cbor_decref(&s);
	cbor_decref(&a);
	cbor_decref(&m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_huge_declared),
		cmocka_unit_test(test_limit_bytes),
		cmocka_unit_test(test_limit_str),
		cmocka_unit_test(test_limit_items),
		cmocka_unit_test(test_limit_depth),
		cmocka_unit_test(test_depth_maps),
		cmocka_unit_test(test_random_roundtrip),
		cmocka_unit_test(test_random_mutations),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_encode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
