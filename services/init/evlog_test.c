/*
 * evlog_test: the serialization is pinned byte for byte (a verifier outside
 * depends on it), the chain recomputes from the events with nothing but
 * SHA-384, tampering is caught, and bad or oversized data is refused.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "common/core/buf.h"
#include "services/init/evlog.h"

static cbor_item_t *
map2(const char *k1, cbor_item_t *v1, const char *k2, cbor_item_t *v2)
{
	cbor_item_t *m = cbor_new_definite_map(2);

	assert_true(cbor_map_add(m, (struct cbor_pair){
					    cbor_move(cbor_build_string(k1)),
					    cbor_move(v1)}));
	assert_true(cbor_map_add(m, (struct cbor_pair){
					    cbor_move(cbor_build_string(k2)),
					    cbor_move(v2)}));
	return m;
}

static void
test_golden_event(void **state)
{
	/* {"data": {"a": "x", "b": 1}, "time": 1, "type": "t", "index": 0,
	 *  "source": "init"}, deterministic: keys by length, then bytes. */
	static const char want[] =
		"a5" "6464617461" "a2" "6161" "6178" "6162" "01"
		"6474696d65" "01" "6474797065" "6174" "65696e646578" "00"
		"66736f75726365" "64696e6974";
	struct init_evlog l;
	/* b first, and 1 in a 64-bit form: neither may show in the bytes. */
	cbor_item_t *data = map2("b", cbor_build_uint64(1), "a",
				 cbor_build_string("x"));
	char hex[256];

	(void)state;
	init_evlog_init(&l, 16, 1 << 16);
	assert_int_equal(init_evlog_append(&l, "t", "init", 1, data, NULL), 0);
	cella_hex_encode(l.v[0].cbor, l.v[0].len, hex, sizeof(hex));
	assert_string_equal(hex, want);
	cbor_decref(&data);
	init_evlog_fini(&l);
}

static void
test_chain_recomputes(void **state)
{
	struct init_evlog l;
	uint8_t head[48] = {0}, h[48], cat[96];
	uint64_t idx = 99;

	(void)state;
	init_evlog_init(&l, 16, 1 << 16);
	for (int i = 0; i < 5; i++) {
		cbor_item_t *d = map2("n", cbor_build_uint8((uint8_t)i), "s",
				      cbor_build_string("x"));

		assert_int_equal(init_evlog_append(&l, "start", "init",
						   1000 + (uint64_t)i, d, &idx), 0);
		assert_int_equal(idx, (uint64_t)i);
		cbor_decref(&d);
	}
	/* Recompute by the definition, from the serialized events only. */
	for (size_t i = 0; i < l.n; i++) {
		assert_int_equal(EVP_Digest(l.v[i].cbor, l.v[i].len, h, NULL,
					    EVP_sha384(), NULL), 1);
		assert_memory_equal(h, l.v[i].hash, 48);
		memcpy(cat, head, 48);
		memcpy(cat + 48, h, 48);
		assert_int_equal(EVP_Digest(cat, 96, head, NULL, EVP_sha384(),
					    NULL), 1);
		assert_memory_equal(head, l.v[i].head, 48);
	}
	assert_memory_equal(head, l.head, 48);
	assert_int_equal(init_evlog_verify(&l), 0);
	l.v[2].cbor[l.v[2].len - 1] ^= 1; /* one bit of one event */
	assert_int_equal(init_evlog_verify(&l), -EBADMSG);
	init_evlog_fini(&l);
}

static void
test_refusals(void **state)
{
	struct init_evlog l;
	cbor_item_t *bad, *big;
	uint8_t blob[9000] = {0};

	(void)state;
	init_evlog_init(&l, 2, 1 << 16);
	assert_int_equal(init_evlog_append(&l, "", "init", 0, NULL, NULL), -EINVAL);
	assert_int_equal(init_evlog_append(&l, "a b", "init", 0, NULL, NULL),
			 -EINVAL);
	assert_int_equal(init_evlog_append(&l, "t", "", 0, NULL, NULL), -EINVAL);
	bad = map2("f", cbor_build_float8(1.5), "g", cbor_build_uint8(1));
	assert_int_equal(init_evlog_append(&l, "t", "s", 0, bad, NULL), -EINVAL);
	cbor_decref(&bad);
	bad = map2("k", cbor_build_uint8(1), "k", cbor_build_uint8(2));
	assert_int_equal(init_evlog_append(&l, "t", "s", 0, bad, NULL), -EINVAL);
	cbor_decref(&bad);
	bad = map2("t", cbor_build_tag(1, cbor_move(cbor_build_uint8(1))), "u",
		   cbor_build_uint8(1));
	assert_int_equal(init_evlog_append(&l, "t", "s", 0, bad, NULL), -EINVAL);
	cbor_decref(&bad);
	big = map2("b", cbor_build_bytestring(blob, sizeof(blob)), "c",
		   cbor_build_bool(true));
	assert_int_equal(init_evlog_append(&l, "t", "s", 0, big, NULL), -EMSGSIZE);
	cbor_decref(&big);
	assert_int_equal(l.n, 0); /* nothing refused left a trace */
	assert_int_equal(init_evlog_append(&l, "t", "s", 0, NULL, NULL), 0);
	assert_int_equal(init_evlog_append(&l, "t", "s", 0, NULL, NULL), 0);
	assert_int_equal(init_evlog_append(&l, "t", "s", 0, NULL, NULL), -ENOSPC);
	assert_int_equal(init_evlog_verify(&l), 0);
	init_evlog_fini(&l);
}

static void
test_canon_nested(void **state)
{
	struct cella_buf b;
	char hex[128];
	cbor_item_t *arr = cbor_new_definite_array(3);
	cbor_item_t *m;

	(void)state;
	assert_true(cbor_array_push(arr, cbor_move(cbor_build_negint32(9))));
	assert_true(cbor_array_push(arr, cbor_move(cbor_new_null())));
	assert_true(cbor_array_push(arr, cbor_move(cbor_build_uint32(500))));
	m = map2("bb", arr, "c", cbor_build_bool(false));
	cella_buf_init(&b, 1024);
	assert_int_equal(init_evlog_canon(m, &b), 0);
	cella_hex_encode(b.p, b.len, hex, sizeof(hex));
	/* "c" (shorter) before "bb"; -10 as 29; 500 as 19 01f4. */
	assert_string_equal(hex, "a26163f46262628329f61901f4");
	cella_buf_fini(&b);
	cbor_decref(&m);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden_event),
		cmocka_unit_test(test_chain_recomputes),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_canon_nested),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
