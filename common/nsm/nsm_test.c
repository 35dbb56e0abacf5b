/*
 * nsm_test: the NSM codec. Every request and response round-trips; a few
 * encodings are compared byte for byte with hex worked out by hand from
 * serde's externally tagged CBOR (a one-entry map from the variant name to
 * a map of its fields in declaration order, shortest heads, null for None);
 * every truncation and every over-limit or mistyped input is refused with
 * the exact error; unknown keys are ignored as serde ignores them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/nsm/nsm.h"
#include "common/nsm/nsm_wire.h"

static size_t
unhex(const char *hex, uint8_t *out, size_t cap)
{
	int n = cella_hex_decode(hex, strlen(hex), out, cap);

	assert_true(n >= 0);
	return (size_t)n;
}

static void
encode_req(const struct cella_nsm_request *q, struct cella_buf *b)
{
	cella_buf_init(b, CELLA_NSM_RESPONSE_MAX);
	assert_int_equal(cella_nsm_request_encode(q, b), 0);
}

static void
assert_hex(const struct cella_buf *b, const char *want)
{
	char got[1024];

	assert_true(b->len * 2 < sizeof(got));
	cella_hex_encode(b->p, b->len, got, sizeof(got));
	assert_string_equal(got, want);
}

/* ---- byte-exact encodings ---- */

static const struct {
	struct cella_nsm_request q;
	const char *hex;
} exact_requests[] = {
	/* "DescribeNSM": a unit variant is its name as text */
	{{.kind = CELLA_NSM_DESCRIBE_NSM}, "6b44657363726962654e534d"},
	{{.kind = CELLA_NSM_GET_RANDOM}, "6947657452616e646f6d"},
	/* {"DescribePCR": {"index": 5}} */
	{{.kind = CELLA_NSM_DESCRIBE_PCR, .index = 5},
	 "a16b4465736372696265504352a165696e64657805"},
	/* {"LockPCR": {"index": 300}}: u16 in its shortest form 0x19 */
	{{.kind = CELLA_NSM_LOCK_PCR, .index = 300},
	 "a1674c6f636b504352a165696e64657819012c"},
	/* {"LockPCRs": {"range": 32}} */
	{{.kind = CELLA_NSM_LOCK_PCRS, .range = 32},
	 "a1684c6f636b50435273a16572616e67651820"},
	/* {"ExtendPCR": {"index": 16, "data": h'010203'}} */
	{{.kind = CELLA_NSM_EXTEND_PCR,
	  .index = 16,
	  .data = {(const uint8_t *)"\x01\x02\x03", 3}},
	 "a169457874656e64504352a265696e64657810646461746143010203"},
	/* {"Attestation": {"user_data": null, "nonce": h'aa',
	 *  "public_key": h''}} */
	{{.kind = CELLA_NSM_ATTESTATION,
	  .nonce = {true, {(const uint8_t *)"\xaa", 1}},
	  .public_key = {true, {NULL, 0}}},
	 "a16b4174746573746174696f6ea369757365725f64617461f6"
	 "656e6f6e636541aa6a7075626c69635f6b657940"},
};

static void
test_exact_requests(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(exact_requests) /
				   sizeof(exact_requests[0]);
	     i++) {
		struct cella_buf b;

		encode_req(&exact_requests[i].q, &b);
		assert_hex(&b, exact_requests[i].hex);
		cella_buf_fini(&b);
	}
}

static const uint8_t zero48[48];
static const uint8_t seven48[48] = {
	7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
	7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
};

static struct cella_nsm_response exact_responses[] = {
	{.kind = CELLA_NSM_ERROR, .error = CELLA_NSM_INVALID_INDEX},
	{.kind = CELLA_NSM_LOCK_PCRS},
	{.kind = CELLA_NSM_GET_RANDOM,
	 .random = {(const uint8_t *)"\x01\x02", 2}},
	{.kind = CELLA_NSM_DESCRIBE_NSM,
	 .nsm = {.version_major = 1,
		 .module_id = {(const uint8_t *)"m", 1},
		 .max_pcrs = 32,
		 .locked_pcrs = {0, 1},
		 .n_locked = 2,
		 .digest = CELLA_NSM_SHA384}},
	{.kind = CELLA_NSM_DESCRIBE_PCR, .lock = true, .data = {zero48, 48}},
	{.kind = CELLA_NSM_EXTEND_PCR, .data = {seven48, 48}},
	{.kind = CELLA_NSM_ATTESTATION,
	 .document = {(const uint8_t *)"\x84\x40\xa0\x40\x40", 5}},
};

static const char *const exact_response_hex[] = {
	/* {"Error": "InvalidIndex"} */
	"a1654572726f726c496e76616c6964496e646578",
	"684c6f636b50435273",
	/* {"GetRandom": {"random": h'0102'}} */
	"a16947657452616e646f6da16672616e646f6d420102",
	/* DescribeNSM fields in the Rust struct's declaration order */
	"a16b44657363726962654e534da76d76657273696f6e5f6d616a6f72016d76"
	"657273696f6e5f6d696e6f72006d76657273696f6e5f706174636800696d6f"
	"64756c655f6964616d686d61785f7063727318206b6c6f636b65645f706372"
	"738200016664696765737466534841333834",
	"a16b4465736372696265504352a2646c6f636bf564646174615830"
	"000000000000000000000000000000000000000000000000"
	"000000000000000000000000000000000000000000000000",
	"a169457874656e64504352a164646174615830"
	"070707070707070707070707070707070707070707070707"
	"070707070707070707070707070707070707070707070707",
	"a16b4174746573746174696f6ea168646f63756d656e74458440a04040",
};

static void
test_exact_responses(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(exact_responses) /
				   sizeof(exact_responses[0]);
	     i++) {
		struct cella_buf b;

		cella_buf_init(&b, CELLA_NSM_RESPONSE_MAX);
		assert_int_equal(cella_nsm_response_encode(&exact_responses[i],
							   &b),
				 0);
		assert_hex(&b, exact_response_hex[i]);
		cella_buf_fini(&b);
	}
}

/* ---- round trips ---- */

static bool
span_eq(struct cella_span a, struct cella_span b)
{
	return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}

static bool
opt_eq(struct cella_nsm_opt a, struct cella_nsm_opt b)
{
	return a.set == b.set && (!a.set || span_eq(a.v, b.v));
}

static void
assert_req_eq(const struct cella_nsm_request *a,
	      const struct cella_nsm_request *b)
{
	assert_int_equal(a->kind, b->kind);
	assert_int_equal(a->index, b->index);
	assert_int_equal(a->range, b->range);
	assert_true(span_eq(a->data, b->data));
	assert_true(opt_eq(a->user_data, b->user_data));
	assert_true(opt_eq(a->nonce, b->nonce));
	assert_true(opt_eq(a->public_key, b->public_key));
}

static void
test_request_round_trip(void **state)
{
	static uint8_t big[CELLA_NSM_DATA_MAX];
	struct cella_nsm_request extra[] = {
		{.kind = CELLA_NSM_ATTESTATION},
		{.kind = CELLA_NSM_ATTESTATION,
		 .user_data = {true, {big, sizeof(big)}},
		 .nonce = {true, {big, sizeof(big)}},
		 .public_key = {true, {big, sizeof(big)}}},
		{.kind = CELLA_NSM_DESCRIBE_PCR, .index = 65535},
		{.kind = CELLA_NSM_EXTEND_PCR, .index = 31, .data = {big, 0}},
	};

	(void)state;
	memset(big, 0x5a, sizeof(big));
	for (size_t i = 0; i < sizeof(exact_requests) / sizeof(exact_requests[0]) +
				   sizeof(extra) / sizeof(extra[0]);
	     i++) {
		const struct cella_nsm_request *q =
			i < sizeof(exact_requests) / sizeof(exact_requests[0]) ?
				&exact_requests[i].q :
				&extra[i - sizeof(exact_requests) /
						   sizeof(exact_requests[0])];
		struct cella_nsm_request back;
		struct cella_buf b;
		struct cella_diag d;

		encode_req(q, &b);
		assert_int_equal(cella_nsm_request_parse(b.p, b.len, &back, &d),
				 0);
		assert_req_eq(q, &back);
		cella_buf_fini(&b);
	}
}

static void
assert_resp_eq(const struct cella_nsm_response *a,
	       const struct cella_nsm_response *b)
{
	assert_int_equal(a->kind, b->kind);
	assert_int_equal(a->error, b->error);
	assert_int_equal(a->lock, b->lock);
	assert_true(span_eq(a->document, b->document));
	assert_true(span_eq(a->data, b->data));
	assert_true(span_eq(a->random, b->random));
	assert_int_equal(a->nsm.version_major, b->nsm.version_major);
	assert_int_equal(a->nsm.version_minor, b->nsm.version_minor);
	assert_int_equal(a->nsm.version_patch, b->nsm.version_patch);
	assert_true(span_eq(a->nsm.module_id, b->nsm.module_id));
	assert_int_equal(a->nsm.max_pcrs, b->nsm.max_pcrs);
	assert_int_equal(a->nsm.n_locked, b->nsm.n_locked);
	assert_memory_equal(a->nsm.locked_pcrs, b->nsm.locked_pcrs,
			    a->nsm.n_locked * sizeof(uint16_t));
	assert_int_equal(a->nsm.digest, b->nsm.digest);
}

static void
test_response_round_trip(void **state)
{
	static uint8_t doc[CELLA_NSM_RESPONSE_MAX - 32];
	struct cella_nsm_response extra[] = {
		{.kind = CELLA_NSM_LOCK_PCR},
		{.kind = CELLA_NSM_ATTESTATION, .document = {doc, sizeof(doc)}},
		{.kind = CELLA_NSM_DESCRIBE_NSM,
		 .nsm = {.module_id = {(const uint8_t *)"", 0},
			 .n_locked = CELLA_NSM_LOCKED_MAX,
			 .digest = CELLA_NSM_SHA512}},
	};

	(void)state;
	for (uint16_t i = 0; i < CELLA_NSM_LOCKED_MAX; i++)
		extra[2].nsm.locked_pcrs[i] = (uint16_t)(i * 257);
	for (unsigned s = 0; s <= CELLA_NSM_INTERNAL_ERROR; s++) {
		struct cella_nsm_response e = {.kind = CELLA_NSM_ERROR,
					       .error = s}, back;
		struct cella_buf b;

		cella_buf_init(&b, 64);
		assert_int_equal(cella_nsm_response_encode(&e, &b), 0);
		assert_int_equal(cella_nsm_response_parse(b.p, b.len, &back,
							  NULL),
				 0);
		assert_resp_eq(&e, &back);
		cella_buf_fini(&b);
	}
	for (size_t i = 0; i < 10; i++) {
		const struct cella_nsm_response *r =
			i < 7 ? &exact_responses[i] : &extra[i - 7];
		struct cella_nsm_response back;
		struct cella_buf b;

		cella_buf_init(&b, CELLA_NSM_RESPONSE_MAX);
		assert_int_equal(cella_nsm_response_encode(r, &b), 0);
		assert_int_equal(cella_nsm_response_parse(b.p, b.len, &back,
							  NULL),
				 0);
		assert_resp_eq(r, &back);
		cella_buf_fini(&b);
	}
}

/* ---- what is refused ---- */

static void
test_truncations(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(exact_requests) /
				   sizeof(exact_requests[0]);
	     i++) {
		struct cella_nsm_request q;
		struct cella_buf b;

		encode_req(&exact_requests[i].q, &b);
		for (size_t k = 0; k < b.len; k++)
			assert_int_equal(cella_nsm_request_parse(b.p, k, &q,
								 NULL),
					 -EBADMSG);
		/* one byte more is trailing garbage */
		assert_int_equal(cella_buf_append(&b, "", 1), 0);
		assert_int_equal(cella_nsm_request_parse(b.p, b.len, &q, NULL),
				 -EBADMSG);
		cella_buf_fini(&b);
	}
	for (size_t i = 0; i < 7; i++) {
		struct cella_nsm_response r;
		struct cella_buf b;

		cella_buf_init(&b, CELLA_NSM_RESPONSE_MAX);
		assert_int_equal(cella_nsm_response_encode(&exact_responses[i],
							   &b),
				 0);
		for (size_t k = 0; k < b.len; k++)
			assert_int_equal(cella_nsm_response_parse(b.p, k, &r,
								  NULL),
					 -EBADMSG);
		cella_buf_fini(&b);
	}
}

static const struct {
	const char *hex;
	int err;
	const char *msg; /* a substring of the diagnosis */
} bad_requests[] = {
	{"", -EBADMSG, "empty"},
	{"01", -EBADMSG, "not a variant name"},
	{"a0", -EBADMSG, "0 entries"},
	/* {"DescribePCR": {"index": 5}, "GetRandom": null} */
	{"a26b4465736372696265504352a165696e646578056947657452616e646f6d"
	 "f6",
	 -EBADMSG, "2 entries"},
	/* "Reboot" */
	{"665265626f6f74", -EOPNOTSUPP, "unknown variant 'Reboot'"},
	/* "Error" is a response, never a request */
	{"a1654572726f72a0", -EOPNOTSUPP, "unknown variant 'Error'"},
	/* {"DescribeNSM": null}: a unit variant takes no fields */
	{"a16b44657363726962654e534df6", -EBADMSG, "takes no fields"},
	/* "Attestation" bare */
	{"6b4174746573746174696f6e", -EBADMSG, "needs its fields"},
	/* {"DescribePCR": 5} */
	{"a16b446573637269626550435205", -EBADMSG, "not a map"},
	/* {"DescribePCR": {}} */
	{"a16b4465736372696265504352a0", -EBADMSG, "missing field 'index'"},
	/* {"DescribePCR": {"index": "5"}} */
	{"a16b4465736372696265504352a165696e6465786135", -EBADMSG,
	 "DescribePCR.index: wrong type"},
	/* {"DescribePCR": {"index": 65536}} */
	{"a16b4465736372696265504352a165696e6465781a00010000", -EBADMSG,
	 "DescribePCR.index"},
	/* {"DescribePCR": {"index": -1}} */
	{"a16b4465736372696265504352a165696e64657820", -EBADMSG,
	 "DescribePCR.index"},
	/* {"DescribePCR": {"index": 1, "index": 2}} */
	{"a16b4465736372696265504352a265696e6465780165696e64657802",
	 -EBADMSG, "given twice"},
	/* {"DescribePCR": {1: 2}}: field names are text */
	{"a16b4465736372696265504352a10102", -EBADMSG, "field name"},
	/* {"ExtendPCR": {"index": 1, "data": "ab"}} */
	{"a169457874656e64504352a265696e646578016464617461626162",
	 -EBADMSG, "ExtendPCR.data: wrong type"},
	/* {"Attestation": {"nonce": true}} */
	{"a16b4174746573746174696f6ea1656e6f6e6365f5", -EBADMSG,
	 "Attestation.nonce"},
	/* indefinite-length map: refused by the gate */
	{"bf6b4465736372696265504352a165696e64657805ff", -EBADMSG, ""},
	/* a tag around the request */
	{"c06b44657363726962654e534d", -EBADMSG, ""},
};

static void
test_bad_requests(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_requests) / sizeof(bad_requests[0]);
	     i++) {
		uint8_t b[256];
		size_t n = unhex(bad_requests[i].hex, b, sizeof(b));
		struct cella_nsm_request q;
		struct cella_diag d = {""};
		int rc = cella_nsm_request_parse(b, n, &q, &d);

		if (rc != bad_requests[i].err ||
		    strstr(d.msg, bad_requests[i].msg) == NULL)
			fail_msg("%s: %d '%s'", bad_requests[i].hex, rc, d.msg);
	}
}

static void
test_unknown_keys_and_defaults(void **state)
{
	uint8_t b[256];
	struct cella_nsm_request q;
	size_t n;

	(void)state;
	/* {"DescribePCR": {"extra": h'01', "index": 7}}: ignored */
	n = unhex("a16b4465736372696265504352a26565787472614101"
		  "65696e64657807",
		  b, sizeof(b));
	assert_int_equal(cella_nsm_request_parse(b, n, &q, NULL), 0);
	assert_int_equal(q.kind, CELLA_NSM_DESCRIBE_PCR);
	assert_int_equal(q.index, 7);
	/* ... but no request nests deeper than 2: [1, {}] is refused */
	n = unhex("a16b4465736372696265504352a2656578747261820" "1a0"
		  "65696e64657807",
		  b, sizeof(b));
	assert_int_equal(cella_nsm_request_parse(b, n, &q, NULL), -EMSGSIZE);
	/* {"Attestation": {}}: every Option absent, as serde reads it */
	n = unhex("a16b4174746573746174696f6ea0", b, sizeof(b));
	assert_int_equal(cella_nsm_request_parse(b, n, &q, NULL), 0);
	assert_int_equal(q.kind, CELLA_NSM_ATTESTATION);
	assert_false(q.user_data.set);
	assert_false(q.nonce.set);
	assert_false(q.public_key.set);
	/* a longer-than-shortest head for index is still a u16 */
	n = unhex("a16b4465736372696265504352a165696e646578190007", b,
		  sizeof(b));
	assert_int_equal(cella_nsm_request_parse(b, n, &q, NULL), 0);
	assert_int_equal(q.index, 7);
}

static void
test_limits(void **state)
{
	static uint8_t big[CELLA_NSM_RESPONSE_MAX + 1];
	struct cella_nsm_request q = {.kind = CELLA_NSM_ATTESTATION};
	struct cella_nsm_response r = {.kind = CELLA_NSM_ATTESTATION};
	struct cella_diag d = {""};
	struct cella_buf b;

	(void)state;
	cella_buf_init(&b, 2 * CELLA_NSM_RESPONSE_MAX);
	/* 1025 bytes of user_data: refused both ways */
	q.user_data = (struct cella_nsm_opt){true, {big, 1025}};
	assert_int_equal(cella_nsm_request_encode(&q, &b), -EMSGSIZE);
	assert_int_equal(b.len, 0);
	q.user_data.v.n = 1024;
	assert_int_equal(cella_nsm_request_encode(&q, &b), 0);
	/* patch the head from 0x590400 (1024) to 0x590401 and add a byte */
	for (size_t i = 0; i + 3 < b.len; i++) {
		if (b.p[i] == 0x59 && b.p[i + 1] == 0x04 && b.p[i + 2] == 0) {
			b.p[i + 2] = 1;
			memmove(b.p + i + 4, b.p + i + 3, b.len - i - 3);
			b.len++;
			break;
		}
	}
	assert_int_equal(cella_nsm_request_parse(b.p, b.len, &q, &d),
			 -EMSGSIZE);
	assert_non_null(strstr(d.msg, "Attestation.user_data: too large"));
	/* a request over 4096 bytes, whatever it holds */
	q = (struct cella_nsm_request){.kind = CELLA_NSM_EXTEND_PCR,
				       .data = {big, CELLA_NSM_REQUEST_MAX}};
	b.len = 0;
	assert_int_equal(cella_nsm_request_encode(&q, &b), -EMSGSIZE);
	memset(big, 0, sizeof(big));
	assert_int_equal(cella_nsm_request_parse(big, CELLA_NSM_REQUEST_MAX + 1,
						 &q, NULL),
			 -EMSGSIZE);
	/* a response over 12288 bytes */
	r.document = (struct cella_span){big, CELLA_NSM_RESPONSE_MAX};
	b.len = 0;
	assert_int_equal(cella_nsm_response_encode(&r, &b), -EMSGSIZE);
	assert_int_equal(cella_nsm_response_parse(big,
						  CELLA_NSM_RESPONSE_MAX + 1,
						  &r, NULL),
			 -EMSGSIZE);
	cella_buf_fini(&b);
}

static void
test_bad_responses(void **state)
{
	static const struct {
		const char *hex;
		int err;
	} bad[] = {
		/* {"Error": "Oops"} */
		{"a1654572726f72644f6f7073", -EBADMSG},
		/* {"Error": 2} */
		{"a1654572726f7202", -EBADMSG},
		/* "Error" bare */
		{"654572726f72", -EOPNOTSUPP},
		/* {"DescribePCR": {"lock": 1, "data": h''}} */
		{"a16b4465736372696265504352a2646c6f636b016464617461" "40",
		 -EBADMSG},
		/* {"DescribeNSM": {... "digest": "MD5"}} with nothing else */
		{"a16b44657363726962654e534da166646967657374634d4435",
		 -EBADMSG},
		/* {"ExtendPCR": {"data": 65 bytes}} */
		{"a169457874656e64504352a1646461746158" "41"
		 "000000000000000000000000000000000000000000000000000000000000"
		 "000000000000000000000000000000000000000000000000000000000000"
		 "0000000000",
		 -EMSGSIZE},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t b[512];
		size_t n = unhex(bad[i].hex, b, sizeof(b));
		struct cella_nsm_response r;
		int rc = cella_nsm_response_parse(b, n, &r, NULL);

		if (rc != bad[i].err)
			fail_msg("%s: %d", bad[i].hex, rc);
	}
}

static void
test_status_map(void **state)
{
	(void)state;
	assert_string_equal(cella_nsm_status_name(CELLA_NSM_READ_ONLY_INDEX),
			    "ReadOnlyIndex");
	assert_string_equal(cella_nsm_status_name(99), "?");
	assert_int_equal(cella_nsm_status_errno(CELLA_NSM_SUCCESS), 0);
	assert_int_equal(cella_nsm_status_errno(CELLA_NSM_INVALID_ARGUMENT),
			 -EINVAL);
	assert_int_equal(cella_nsm_status_errno(CELLA_NSM_INVALID_INDEX),
			 -ERANGE);
	assert_int_equal(cella_nsm_status_errno(CELLA_NSM_INVALID_RESPONSE),
			 -EPROTO);
	assert_int_equal(cella_nsm_status_errno(CELLA_NSM_READ_ONLY_INDEX),
			 -EROFS);
	assert_int_equal(cella_nsm_status_errno(CELLA_NSM_INVALID_OPERATION),
			 -EOPNOTSUPP);
	assert_int_equal(cella_nsm_status_errno(CELLA_NSM_BUFFER_TOO_SMALL),
			 -ENOBUFS);
	assert_int_equal(cella_nsm_status_errno(CELLA_NSM_INPUT_TOO_LARGE),
			 -EMSGSIZE);
	assert_int_equal(cella_nsm_status_errno(CELLA_NSM_INTERNAL_ERROR),
			 -EIO);
	assert_string_equal(cella_nsm_kind_name(CELLA_NSM_LOCK_PCRS),
			    "LockPCRs");
}

/* The writer's heads at every width boundary. */
static void
test_wire_heads(void **state)
{
	static const struct {
		uint64_t v;
		const char *hex;
	} heads[] = {
		{0, "00"},	     {23, "17"},	 {24, "1818"},
		{255, "18ff"},	     {256, "190100"},	 {65535, "19ffff"},
		{65536, "1a00010000"}, {4294967295u, "1affffffff"},
		{4294967296u, "1b0000000100000000"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
		struct cella_buf b;

		cella_buf_init(&b, 16);
		assert_int_equal(cella_nsmw_put_head(&b, 0, heads[i].v), 0);
		assert_hex(&b, heads[i].hex);
		assert_int_equal(b.len, cella_nsmw_head_len(heads[i].v));
		cella_buf_fini(&b);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact_requests),
		cmocka_unit_test(test_exact_responses),
		cmocka_unit_test(test_request_round_trip),
		cmocka_unit_test(test_response_round_trip),
		cmocka_unit_test(test_truncations),
		cmocka_unit_test(test_bad_requests),
		cmocka_unit_test(test_unknown_keys_and_defaults),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_bad_responses),
		cmocka_unit_test(test_status_map),
		cmocka_unit_test(test_wire_heads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
