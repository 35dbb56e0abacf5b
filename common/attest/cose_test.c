/*
 * cose_test: every COSE vector in tests/vectors/cose gives its expected
 * outcome, for the reason expected, and our Sig_structure equals the
 * published ToBeSign byte for byte; signing produces the exact Nitro shape.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <errno.h>

#include "common/testing/verify.h"

/* Which step refuses a negative vector, and with what message. */
struct expect {
	const char *file;
	int parse_rv; /* 0 or -EBADMSG */
	const char *msg;
};

static const struct expect expects[] = {
	{"cose-wg_ecdsa-sig-01_ES256_tagged_ACCEPT.json", 0, NULL},
	{"cose-wg_ecdsa-sig-02_ES384_tagged_ACCEPT.json", 0, NULL},
	{"cose-wg_sign-pass-02_ES256_external-aad_ACCEPT.json", 0, NULL},
	{"cose-wg_sign-pass-03_ES256_untagged_ACCEPT.json", 0, NULL},
	{"cose-wg_sign-fail-01_wrong-tag_REJECT.json", -EBADMSG,
	 "cose: tag 998 is not COSE_Sign1 (18)"},
	{"cose-wg_sign-fail-02_changed-signature_REJECT.json", 0,
	 "cose: ES256 signature does not verify"},
	{"cose-wg_sign-fail-03_alg-minus999_REJECT.json", -EBADMSG,
	 "cose: unsupported alg -999"},
	{"cose-wg_sign-fail-04_alg-text-unknown_REJECT.json", -EBADMSG,
	 "cose: alg is not an integer"},
	{"cose-wg_sign-fail-06_added-protected-attr_REJECT.json", 0,
	 "cose: ES256 signature does not verify"},
	{"cose-wg_sign-fail-07_removed-protected-attr_REJECT.json", 0,
	 "cose: ES256 signature does not verify"},
	/* Valid COSE, but alg is unprotected: refused by design (cose.h). */
	{"cose-wg_sign-pass-01_ES256_empty-protected-edge.json", -EBADMSG,
	 "cose: alg only in the unprotected header"},
};

static size_t
b64url(const char *s, uint8_t *out, size_t cap)
{
	struct cella_buf b;
	struct cella_diag d;
	size_t n;
	uint8_t *p;

	cella_buf_init(&b, cap);
	/* attdoc's base64 reader takes the URL alphabet and no padding. */
	assert_int_equal(cella_attdoc_unwrap((const uint8_t *)s, strlen(s), &b,
					     &d),
			 0);
	p = cella_buf_steal(&b, &n);
	memcpy(out, p, n);
	free(p);
	return n;
}

static EVP_PKEY *
jwk_key(const cJSON *jwk)
{
	const char *crv = cJSON_GetObjectItem(jwk, "crv")->valuestring;
	uint8_t x[66], y[66], dd[66];
	size_t n;

	n = b64url(cJSON_GetObjectItem(jwk, "x")->valuestring, x, sizeof(x));
	assert_int_equal(b64url(cJSON_GetObjectItem(jwk, "y")->valuestring, y,
				sizeof(y)),
			 n);
	assert_int_equal(b64url(cJSON_GetObjectItem(jwk, "d")->valuestring, dd,
				sizeof(dd)),
			 n);
	return tu_ec_key(strcmp(crv, "P-256") == 0 ? "prime256v1" : "secp384r1",
			 x, y, n, NULL);
}

static void
run_vector(const struct expect *e)
{
	char rel[256];
	size_t tn, mn, tbsn, aadn = 0;
	uint8_t *text, msg[512], tbs[512], aad[64];
	cJSON *j, *in, *ext;
	struct cella_cose_sign1 m;
	struct cella_diag d = {{0}};
	struct cella_buf sig;
	EVP_PKEY *key;
	int rv;

	snprintf(rel, sizeof(rel), "tests/vectors/cose/%s", e->file);
	text = tu_read(tu_path(rel), &tn);
	j = cJSON_Parse((const char *)text);
	assert_non_null(j);
	in = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "input"), "sign0");
	key = jwk_key(cJSON_GetObjectItem(in, "key"));
	ext = cJSON_GetObjectItem(in, "external");
	if (ext != NULL)
		aadn = tu_unhex(ext->valuestring, aad, sizeof(aad));
	mn = tu_unhex(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "output"),
					  "cbor")
			      ->valuestring,
		      msg, sizeof(msg));
	tbsn = tu_unhex(cJSON_GetObjectItem(cJSON_GetObjectItem(j,
								"intermediates"),
					    "ToBeSign_hex")
				->valuestring,
			tbs, sizeof(tbs));

	rv = cella_cose_sign1_parse(msg, mn, NULL, &m, &d);
	assert_int_equal(rv, e->parse_rv);
	if (rv < 0) {
		assert_string_equal(d.msg, e->msg);
		goto out;
	}
	rv = cella_cose_sign1_verify(&m, key, CELLA_SPAN(aad, aadn), &d);
	if (e->msg != NULL) {
		assert_int_equal(rv, -EBADMSG);
		assert_string_equal(d.msg, e->msg);
		assert_non_null(cJSON_GetObjectItem(j, "fail"));
		goto out;
	}
	assert_int_equal(rv, 0);
	cella_buf_init(&sig, 1024);
	assert_int_equal(cella_cose_sig_structure(m.protected_hdr,
						  CELLA_SPAN(aad, aadn),
						  m.payload, &sig),
			 0);
	assert_int_equal(sig.len, tbsn);
	assert_memory_equal(sig.p, tbs, tbsn);
	cella_buf_fini(&sig);
	assert_int_equal(m.tagged, msg[0] == 0xd2);
	if (aadn > 0) /* without the external AAD it must fail */
		assert_int_equal(cella_cose_sign1_verify(&m, key,
							 CELLA_SPAN(NULL, 0),
							 &d),
				 -EBADMSG);
out:
	EVP_PKEY_free(key);
	cJSON_Delete(j);
	free(text);
}

static void
test_cose_wg(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(expects) / sizeof(expects[0]); i++) {
		fprintf(stderr, "# %s\n", expects[i].file);
		run_vector(&expects[i]);
	}
}

static uint8_t *
aws_vector(size_t *n)
{
	size_t tn;
	uint8_t *text = tu_read(tu_path("tests/vectors/cose/"
					"aws-nitro-enclaves-cose_sign1_ES384_"
					"untagged_ACCEPT.hex"),
				&tn);
	uint8_t *msg = malloc(tn / 2);

	while (tn > 0 && (text[tn - 1] == '\n' || text[tn - 1] == '\r'))
		text[--tn] = '\0';
	*n = tu_unhex((const char *)text, msg, tn / 2);
	free(text);
	return msg;
}

static void
test_aws_nitro_shape(void **state)
{
	struct cella_cose_sign1 m;
	struct cella_diag d;
	EVP_PKEY *key = tu_p384_test_key();
	size_t n;
	uint8_t *msg = aws_vector(&n);

	(void)state;
	assert_int_equal(cella_cose_sign1_parse(msg, n, NULL, &m, &d), 0);
	assert_false(m.tagged);
	assert_int_equal(m.alg, CELLA_COSE_ES384);
	assert_int_equal(m.signature.n, 96);
	assert_int_equal(m.protected_hdr.n, 4);
	assert_memory_equal(m.protected_hdr.p, "\xa1\x01\x38\x22", 4);
	assert_int_equal(cella_cose_sign1_verify(&m, key, CELLA_SPAN(NULL, 0),
						 &d),
			 0);
	/* One changed payload byte, and every signature byte, must fail. */
	msg[20] ^= 1;
	assert_int_equal(cella_cose_sign1_parse(msg, n, NULL, &m, &d), 0);
	assert_int_equal(cella_cose_sign1_verify(&m, key, CELLA_SPAN(NULL, 0),
						 &d),
			 -EBADMSG);
	msg[20] ^= 1;
	for (size_t i = n - 96; i < n; i++) {
		msg[i] ^= 0x80;
		assert_int_equal(cella_cose_sign1_parse(msg, n, NULL, &m, &d), 0);
		assert_int_equal(cella_cose_sign1_verify(&m, key,
							 CELLA_SPAN(NULL, 0),
							 &d),
				 -EBADMSG);
		msg[i] ^= 0x80;
	}
	EVP_PKEY_free(key);
	free(msg);
}

static void
test_sign_roundtrip(void **state)
{
	static const struct {
		int64_t alg;
		const char *group;
		size_t siglen;
	} cases[] = {
		{CELLA_COSE_ES256, "prime256v1", 64},
		{CELLA_COSE_ES384, "secp384r1", 96},
		{CELLA_COSE_ES512, "secp521r1", 132},
	};
	const uint8_t payload[] = "attested";
	struct cella_cose_sign1 m;
	struct cella_diag d;
	struct cella_buf out;

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		EVP_PKEY *k = tu_keygen(cases[i].group);
		EVP_PKEY *other = tu_keygen(cases[(i + 1) % 3].group);

		cella_buf_init(&out, 1024);
		assert_int_equal(cella_cose_sign1_sign(k, cases[i].alg,
						       CELLA_SPAN(payload, 8),
						       &out),
				 0);
		assert_int_equal(out.p[0], 0x84); /* untagged array of 4 */
		assert_int_equal(cella_cose_sign1_parse(out.p, out.len, NULL,
							&m, &d),
				 0);
		assert_int_equal(m.alg, cases[i].alg);
		assert_int_equal(m.signature.n, cases[i].siglen);
		assert_int_equal(m.unprotected_hdr.n, 1);
		assert_int_equal(m.unprotected_hdr.p[0], 0xa0);
		assert_int_equal(cella_cose_sign1_verify(&m, k,
							 CELLA_SPAN(NULL, 0),
							 &d),
				 0);
		/* A key on another curve is refused, not tried. */
		assert_int_equal(cella_cose_sign1_verify(&m, other,
							 CELLA_SPAN(NULL, 0),
							 &d),
				 -EINVAL);
		assert_int_equal(cella_cose_sign1_sign(other, cases[i].alg,
						       CELLA_SPAN(payload, 8),
						       &out),
				 -EINVAL);
		cella_buf_fini(&out);
		EVP_PKEY_free(k);
		EVP_PKEY_free(other);
	}
	/* The exact Nitro prefix: 84 44 a1 01 38 22 a0 48 ... */
	{
		EVP_PKEY *k = tu_p384_test_key();

		cella_buf_init(&out, 1024);
		assert_int_equal(cella_cose_sign1_sign(k, CELLA_COSE_ES384,
						       CELLA_SPAN(payload, 8),
						       &out),
				 0);
		assert_memory_equal(out.p, "\x84\x44\xa1\x01\x38\x22\xa0\x48", 8);
		assert_int_equal(out.len, 8 + 8 + 2 + 96);
		/* An unknown alg and a full buffer leave out untouched. */
		assert_int_equal(cella_cose_sign1_sign(k, -999,
						       CELLA_SPAN(payload, 8),
						       &out),
				 -EINVAL);
		out.max = out.len + 10;
		assert_int_equal(cella_cose_sign1_sign(k, CELLA_COSE_ES384,
						       CELLA_SPAN(payload, 8),
						       &out),
				 -EMSGSIZE);
		assert_int_equal(out.len, 8 + 8 + 2 + 96);
		cella_buf_fini(&out);
		EVP_PKEY_free(k);
	}
}

static void
expect_parse(const uint8_t *p, size_t n, int rv, const char *msg)
{
	struct cella_cose_sign1 m;
	struct cella_diag d = {{0}};

	assert_int_equal(cella_cose_sign1_parse(p, n, NULL, &m, &d), rv);
	if (msg != NULL)
		assert_string_equal(d.msg, msg);
}

static void
test_malformed(void **state)
{
	size_t n;
	uint8_t *msg = aws_vector(&n), buf[600];

	(void)state;
	/* Every truncation is refused without reading past the end. */
	for (size_t k = 0; k < n; k++)
		expect_parse(msg, k, -EBADMSG, NULL);
	/* Signature 95 bytes: parses, but verify refuses its length. */
	memcpy(buf, msg, n);
	buf[n - 97] = 0x5f;
	{
		struct cella_cose_sign1 m;
		struct cella_diag d;
		EVP_PKEY *k = tu_p384_test_key();

		assert_int_equal(cella_cose_sign1_parse(buf, n - 1, NULL, &m,
							&d),
				 0);
		assert_int_equal(cella_cose_sign1_verify(&m, k,
							 CELLA_SPAN(NULL, 0),
							 &d),
				 -EBADMSG);
		assert_string_equal(d.msg,
				    "cose: signature is 95 bytes, ES384 needs 96");
		EVP_PKEY_free(k);
	}
	/* Tag 18 is fine; a tag inside the tag is not. */
	buf[0] = 0xd2;
	memcpy(buf + 1, msg, n);
	expect_parse(buf, n + 1, 0, NULL);
	buf[0] = 0xd2;
	buf[1] = 0xd2;
	memcpy(buf + 2, msg, n);
	expect_parse(buf, n + 2, -EBADMSG, NULL);
	buf[1] = 0xc1; /* tag 1 (a date) inside tag 18 */
	expect_parse(buf, n + 2, -EBADMSG, "cose: not an array of 4 items");
	/* Array of 3, protected as text, unprotected as bstr, payload nil. */
	expect_parse((const uint8_t *)"\x83\x40\xa0\x40", 4, -EBADMSG,
		     "cose: not an array of 4 items");
	expect_parse((const uint8_t *)"\x84\x60\xa0\x40\x40", 5, -EBADMSG,
		     "cose: protected header is not a bstr");
	expect_parse((const uint8_t *)"\x84\x40\x40\x40\x40", 5, -EBADMSG,
		     "cose: unprotected header is not a map");
	expect_parse((const uint8_t *)"\x84\x44\xa1\x01\x38\x22\xa0\xf6\x40", 9,
		     -EBADMSG, "cose: payload is not a bstr");
	expect_parse((const uint8_t *)"\x84\x40\xa0\x40\x40", 5, -EBADMSG,
		     "cose: no alg in the protected header");
	/* alg in both buckets; crit; alg twice; protected not a map. */
	expect_parse((const uint8_t *)"\x84\x44\xa1\x01\x38\x22\xa1\x01\x38\x22"
				      "\x40\x40",
		     12, -EBADMSG, "cose: alg in both header buckets");
	expect_parse((const uint8_t *)"\x84\x47\xa2\x01\x38\x22\x02\x81\x01\xa0"
				      "\x40\x40",
		     12, -EBADMSG, "cose: crit header not supported");
	expect_parse((const uint8_t *)"\x84\x47\xa2\x01\x38\x22\x01\x38\x22\xa0"
				      "\x40\x40",
		     12, -EBADMSG, "cose: alg appears twice");
	expect_parse((const uint8_t *)"\x84\x41\x01\xa0\x40\x40", 6, -EBADMSG,
		     "cose: protected header is not a map");
	/* Trailing bytes after the message are refused by the gate. */
	memcpy(buf, msg, n);
	buf[n] = 0;
	expect_parse(buf, n + 1, -EBADMSG, NULL);
	free(msg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cose_wg),
		cmocka_unit_test(test_aws_nitro_shape),
		cmocka_unit_test(test_sign_roundtrip),
		cmocka_unit_test(test_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
