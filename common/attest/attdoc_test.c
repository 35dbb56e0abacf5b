/*
 * attdoc_test: real payloads parse and re-encode to the same bytes; every
 * bound and every shape rule refuses with its own message; user input is
 * taken as raw CBOR or base64 and nothing else.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>

#include "common/testing/verify.h"

static const char *const files[] = {
	"blocky-nitrite_valid_2024-09-07.b64",
	"blocky-nitrite_debug_2024-09-07.b64",
	"evervault_beta-valid_2022-10-13.cbor",
	"evervault_beta-debug_2022-10-12.cbor",
	"evervault_debug_2023-01-18.cbor",
	"eternis_valid_2024-07-31.b64",
	"eternis_INVALID-signature_2024-07-23.b64",
};

static void
test_real_payloads(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		struct cella_cose_sign1 m;
		struct cella_attdoc doc;
		struct cella_diag d;
		struct cella_buf re;
		size_t n;
		uint8_t *p = tu_vector(files[i], &n);

		assert_int_equal(cella_cose_sign1_parse(p, n, NULL, &m, &d), 0);
		assert_int_equal(cella_attdoc_parse(m.payload, &doc, &d), 0);
		assert_int_equal(doc.ncabundle, 4);
		assert_int_equal(__builtin_popcount(doc.pcr_mask), 16);
		assert_int_equal(doc.digest.n, 6);
		/* The encoder writes AWS's exact bytes back. */
		cella_buf_init(&re, CELLA_ATTDOC_MAX);
		assert_int_equal(cella_attdoc_encode(&doc, &re), 0);
		assert_int_equal(re.len, m.payload.n);
		assert_memory_equal(re.p, m.payload.p, re.len);
		cella_buf_fini(&re);
		cella_attdoc_fini(&doc);
		cella_attdoc_fini(&doc); /* twice is harmless */
		free(p);
	}
}

static void
test_selfsigned_payload(void **state)
{
	struct cella_attdoc doc;
	struct cella_diag d;
	size_t n;
	uint8_t *p = tu_vector("blocky-nitrite_selfsigned_NOT-AWS.b64", &n);
	/* Its unprotected header is null, so find the payload by hand. */
	struct cella_span pl;

	(void)state;
	assert_int_equal(p[0], 0x84);
	assert_int_equal(p[1], 0x44);
	assert_int_equal(p[6], 0xf6);
	assert_int_equal(p[7], 0x59);
	pl = CELLA_SPAN(p + 10, (size_t)p[8] << 8 | p[9]);
	assert_int_equal(cella_attdoc_parse(pl, &doc, &d), -EBADMSG);
	/* cabundle is null there: nothing chains to any root. */
	assert_string_equal(d.msg, "cabundle is not an array");
	free(p);
}

/* A well-formed payload to break in small ways. */
struct fixture {
	struct tu_doc t;
	uint8_t cert[700], ca[500], big[CELLA_ATTDOC_OPT_MAX + 1];
	struct cella_buf out;
};

static struct fixture *
fixture(void)
{
	static struct fixture f;

	memset(&f, 0, sizeof(f));
	memset(f.cert, 0x30, sizeof(f.cert));
	memset(f.ca, 0x31, sizeof(f.ca));
	memset(f.big, 0xab, sizeof(f.big));
	memset(&f.t.doc, 0, sizeof(f.t.doc));
	for (unsigned i = 0; i < 16; i++) {
		f.t.doc.pcrs[i] = CELLA_SPAN(f.t.pcr[i], 48);
		f.t.doc.pcr_mask |= 1u << i;
	}
	f.t.doc.module_id = CELLA_SPAN("i-0-enc1", 8);
	f.t.doc.digest = CELLA_SPAN("SHA384", 6);
	f.t.doc.timestamp_ms = 1700000000000;
	f.t.doc.certificate = CELLA_SPAN(f.cert, sizeof(f.cert));
	f.t.doc.cabundle[0] = CELLA_SPAN(f.ca, sizeof(f.ca));
	f.t.doc.ncabundle = 1;
	cella_buf_init(&f.out, CELLA_ATTDOC_MAX * 2);
	return &f;
}

static int
parse_fixture(struct fixture *f, struct cella_diag *d)
{
	struct cella_attdoc doc;
	int rv;

	f->out.len = 0;
	assert_int_equal(cella_attdoc_encode(&f->t.doc, &f->out), 0);
	rv = cella_attdoc_parse(CELLA_SPAN(f->out.p, f->out.len), &doc, d);
	if (rv == 0)
		cella_attdoc_fini(&doc);
	return rv;
}

#define EXPECT_BAD(f, want)                                                 \
	do {                                                                \
		struct cella_diag d_ = {{0}};                               \
		assert_int_equal(parse_fixture(f, &d_), -EBADMSG);          \
		assert_string_equal(d_.msg, want);                          \
	} while (0)

static void
test_bounds(void **state)
{
	struct fixture *f = fixture();
	struct cella_diag d;
	struct cella_attdoc *doc = &f->t.doc;

	(void)state;
	assert_int_equal(parse_fixture(f, &d), 0);
	/* 1024 bytes is the limit for each optional field, 1025 is over. */
	doc->has_nonce = doc->has_user_data = doc->has_public_key = true;
	doc->nonce = doc->user_data = doc->public_key =
		CELLA_SPAN(f->big, CELLA_ATTDOC_OPT_MAX);
	assert_int_equal(parse_fixture(f, &d), 0);
	doc->nonce = CELLA_SPAN(f->big, CELLA_ATTDOC_OPT_MAX + 1);
	EXPECT_BAD(f, "nonce is 1025 bytes, allowed 0..1024");
	doc->nonce = CELLA_SPAN(f->big, 0); /* empty, not null: fine */
	assert_int_equal(parse_fixture(f, &d), 0);
	doc->user_data = CELLA_SPAN(f->big, CELLA_ATTDOC_OPT_MAX + 1);
	EXPECT_BAD(f, "user_data is 1025 bytes, allowed 0..1024");
	doc->user_data = CELLA_SPAN(f->big, 1);
	doc->public_key = CELLA_SPAN(f->big, CELLA_ATTDOC_OPT_MAX + 1);
	EXPECT_BAD(f, "public_key is 1025 bytes, allowed 0..1024");
	doc->public_key = CELLA_SPAN(f->big, 1);
	/* PCRs: 65 bytes, none at all, index 31 fine. */
	doc->pcrs[3] = CELLA_SPAN(f->big, 65);
	EXPECT_BAD(f, "PCR3 is 65 bytes, allowed 0..64");
	doc->pcrs[3] = CELLA_SPAN(f->big, 47); /* the verifier's business */
	assert_int_equal(parse_fixture(f, &d), 0);
	doc->pcr_mask = 0;
	EXPECT_BAD(f, "pcrs has 0 entries, allowed 1..32");
	doc->pcr_mask = 1u << 31;
	doc->pcrs[31] = CELLA_SPAN(f->big, 48);
	assert_int_equal(parse_fixture(f, &d), 0);
	/* Certificates: empty, too large, too many, none. */
	doc->certificate = CELLA_SPAN(f->cert, 0);
	EXPECT_BAD(f, "certificate is 0 bytes, allowed 1..4096");
	doc->certificate = CELLA_SPAN(f->cert, sizeof(f->cert));
	doc->ncabundle = 9;
	for (int i = 0; i < 9; i++)
		doc->cabundle[i < 8 ? i : 7] = CELLA_SPAN(f->ca, sizeof(f->ca));
	assert_int_equal(cella_attdoc_encode(doc, &f->out), -EINVAL);
	doc->ncabundle = 8;
	assert_int_equal(parse_fixture(f, &d), 0);
	doc->ncabundle = 0;
	EXPECT_BAD(f, "cabundle is empty");
	doc->ncabundle = 1;
	/* Text fields. */
	doc->module_id = CELLA_SPAN("i-0 enc", 7);
	EXPECT_BAD(f, "module_id is not printable ASCII");
	doc->module_id = CELLA_SPAN("", 0);
	EXPECT_BAD(f, "module_id is 0 bytes, allowed 1..128");
	doc->module_id = CELLA_SPAN("i-0", 3);
	doc->timestamp_ms = 0;
	EXPECT_BAD(f, "timestamp is not a positive unsigned int");
	cella_buf_fini(&f->out);
}

/* Patch the encoded fixture: the last field is nonce (null here). */
static void
test_shape(void **state)
{
	struct fixture *f = fixture();
	struct cella_attdoc doc;
	struct cella_diag d = {{0}};
	uint8_t *p;
	size_t n;

	(void)state;
	assert_int_equal(cella_attdoc_encode(&f->t.doc, &f->out), 0);
	p = f->out.p;
	n = f->out.len;
	assert_int_equal(p[0], 0xa9);
	assert_memory_equal(p + n - 7, "\x65nonce\xf6", 7);
	/* Missing: drop the last pair. */
	p[0] = 0xa8;
	assert_int_equal(cella_attdoc_parse(CELLA_SPAN(p, n - 7), &doc, &d),
			 -EBADMSG);
	assert_string_equal(d.msg, "missing field 'nonce'");
	/* Extra: one more pair. */
	p[0] = 0xaa;
	assert_int_equal(cella_buf_append(&f->out, "\x63" "foo\xf6", 5), 0);
	p = f->out.p;
	assert_int_equal(cella_attdoc_parse(CELLA_SPAN(p, n + 5), &doc, &d),
			 -EBADMSG);
	assert_string_equal(d.msg, "unknown field 'foo'");
	/* Repeated: nonce twice. */
	memcpy(p + n, "\x65nonce\xf6", 7);
	assert_int_equal(cella_attdoc_parse(CELLA_SPAN(p, n + 7), &doc, &d),
			 -EBADMSG);
	assert_string_equal(d.msg, "field 'nonce' repeated");
	/* A key that is not text; a value of the wrong type. */
	memcpy(p + n, "\x01\xf6", 2);
	assert_int_equal(cella_attdoc_parse(CELLA_SPAN(p, n + 2), &doc, &d),
			 -EBADMSG);
	assert_string_equal(d.msg, "unknown field '(not text)'");
	p[0] = 0xa9;
	p[n - 1] = 0x01;
	assert_int_equal(cella_attdoc_parse(CELLA_SPAN(p, n), &doc, &d),
			 -EBADMSG);
	assert_string_equal(d.msg, "nonce is not a byte string");
	/* A float where null may stand: libcbor's cbor_is_null would abort. */
	p[n - 1] = 0xf9;
	f->out.len = n;
	assert_int_equal(cella_buf_append(&f->out, "\x3c\x00", 2), 0);
	p = f->out.p;
	assert_int_equal(cella_attdoc_parse(CELLA_SPAN(p, n + 2), &doc, &d),
			 -EBADMSG);
	assert_string_equal(d.msg, "nonce is not a byte string");
	p[n - 1] = 0x01;
	/* Not a map at all; every truncation. */
	assert_int_equal(cella_attdoc_parse(CELLA_SPAN("\x80", 1), &doc, &d),
			 -EBADMSG);
	assert_string_equal(d.msg, "payload is not a map");
	for (size_t k = 0; k < n; k++)
		assert_true(cella_attdoc_parse(CELLA_SPAN(p, k), &doc, &d) < 0);
	cella_buf_fini(&f->out);
}

static void
test_pcr_map_rules(void **state)
{
	/* {1: h'00'} with 1 repeated, a text key, index 32 */
	static const struct {
		const char *pcrs;
		size_t n;
		const char *msg;
	} cases[] = {
		{"\xa2\x01\x41\x00\x01\x41\x00", 7, "pcrs index 1 repeated"},
		{"\xa1\x61\x31\x41\x00", 5, "pcrs key is not an unsigned int"},
		{"\xa1\x18\x20\x41\x00", 5, "pcrs index 32 out of range 0..31"},
		{"\x81\x41\x00", 3, "pcrs is not a map"},
	};
	struct fixture *f = fixture();

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cella_buf b;
		struct cella_attdoc doc;
		struct cella_diag d;
		uint8_t *p;
		size_t at;

		f->t.doc.pcr_mask = 1;
		f->out.len = 0;
		assert_int_equal(cella_attdoc_encode(&f->t.doc, &f->out), 0);
		/* pcrs is {0: 48 bytes}: a1 00 58 30 + 48 bytes = 52 bytes */
		p = memmem(f->out.p, f->out.len, "\x64pcrs\xa1\x00\x58\x30", 9);
		assert_non_null(p);
		at = (size_t)(p - f->out.p) + 5;
		cella_buf_init(&b, CELLA_ATTDOC_MAX);
		assert_int_equal(cella_buf_append(&b, f->out.p, at), 0);
		assert_int_equal(cella_buf_append(&b, cases[i].pcrs, cases[i].n), 0);
		assert_int_equal(cella_buf_append(&b, f->out.p + at + 52,
						  f->out.len - at - 52),
				 0);
		assert_int_equal(cella_attdoc_parse(CELLA_SPAN(b.p, b.len), &doc,
						    &d),
				 -EBADMSG);
		assert_string_equal(d.msg, cases[i].msg);
		cella_buf_fini(&b);
	}
	cella_buf_fini(&f->out);
}

static int
unwrap(const char *in, size_t n, struct cella_buf *b, struct cella_diag *d)
{
	b->len = 0;
	return cella_attdoc_unwrap((const uint8_t *)in, n, b, d);
}

static void
test_unwrap(void **state)
{
	struct cella_buf b;
	struct cella_diag d = {{0}};
	size_t n, tn;
	uint8_t *raw = tu_vector("eternis_valid_2024-07-31.b64", &n);
	char *text;

	(void)state;
	cella_buf_init(&b, CELLA_ATTDOC_MAX);
	/* base64 with line breaks, with and without padding, URL alphabet */
	assert_int_equal(unwrap("hEQ=\n", 5, &b, &d), 0);
	assert_int_equal(b.len, 2);
	assert_memory_equal(b.p, "\x84\x44", 2);
	assert_int_equal(unwrap(" h E Q \r\n", 9, &b, &d), 0);
	assert_int_equal(b.len, 2);
	assert_int_equal(unwrap("-_-_", 4, &b, &d), 0);
	assert_memory_equal(b.p, "\xfb\xff\xbf", 3);
	/* raw CBOR is taken as is */
	assert_int_equal(unwrap((const char *)raw, n, &b, &d), 0);
	assert_int_equal(b.len, n);
	assert_memory_equal(b.p, raw, n);
	/* the real base64 file decodes to the same bytes */
	text = (char *)tu_read(tu_path("tests/vectors/nitro/"
				       "eternis_valid_2024-07-31.b64"),
			       &tn);
	assert_int_equal(unwrap(text, tn, &b, &d), 0);
	assert_int_equal(b.len, n);
	assert_memory_equal(b.p, raw, n);
	/* refusals */
	assert_int_equal(unwrap("", 0, &b, &d), -EINVAL);
	assert_string_equal(d.msg, "empty input");
	assert_int_equal(unwrap("hEQ!", 4, &b, &d), -EINVAL);
	assert_string_equal(d.msg,
			    "neither CBOR nor base64 (byte 0x21 at offset 3)");
	assert_int_equal(unwrap("h=EQ", 4, &b, &d), -EINVAL);
	assert_int_equal(unwrap("hEQ=A", 5, &b, &d), -EINVAL);
	assert_int_equal(unwrap("hEQAh", 5, &b, &d), -EINVAL);
	assert_string_equal(d.msg, "truncated base64");
	assert_int_equal(unwrap("\n\n", 2, &b, &d), -EINVAL);
	/* too large, as raw and as text */
	{
		static uint8_t big[CELLA_ATTDOC_TEXT_MAX + 4];

		memset(big, 'A', sizeof(big));
		assert_int_equal(unwrap((const char *)big, sizeof(big), &b, &d),
				 -EMSGSIZE);
		assert_int_equal(unwrap((const char *)big,
					CELLA_ATTDOC_MAX * 4 / 3 + 8, &b, &d),
				 -EMSGSIZE);
		big[0] = 0x84;
		assert_int_equal(unwrap((const char *)big, CELLA_ATTDOC_MAX + 1,
					&b, &d),
				 -EMSGSIZE);
	}
	cella_buf_fini(&b);
	free(text);
	free(raw);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_payloads),
		cmocka_unit_test(test_selfsigned_payload),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_shape),
		cmocka_unit_test(test_pcr_map_rules),
		cmocka_unit_test(test_unwrap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
