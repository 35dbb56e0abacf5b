/*
 * verify_test: the verifier agrees with every real document (at its time,
 * and not a day before or after), refuses each of our own signed negative
 * documents at the check that should catch it, refuses every single-byte
 * change of a valid document, and gives the same answers with a cache as
 * without one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <errno.h>

#include "common/testing/verify.h"

struct vexpect {
	const char *file;
	const char *nodebug; /* NULL: valid; else the exact reason */
	const char *debug;   /* the same with allow_debug */
};

static const char debug_msg[] =
	"debug: PCR0, PCR1 and PCR2 are zero (debug-mode enclave)";

static const struct vexpect vexpects[] = {
	{"blocky-nitrite_valid_2024-09-07.b64", NULL, NULL},
	{"blocky-nitrite_debug_2024-09-07.b64", debug_msg, NULL},
	{"blocky-nitrite_selfsigned_NOT-AWS.b64",
	 "cose: unprotected header is not a map",
	 "cose: unprotected header is not a map"},
	{"evervault_beta-valid_2022-10-13.cbor", NULL, NULL},
	{"evervault_beta-debug_2022-10-12.cbor", debug_msg, NULL},
	{"evervault_debug_2023-01-18.cbor", debug_msg, NULL},
	{"eternis_valid_2024-07-31.b64", NULL, NULL},
	{"eternis_INVALID-signature_2024-07-23.b64",
	 "signature: ES384 signature does not verify",
	 "signature: ES384 signature does not verify"},
};

static void
expect_fail_at(const uint8_t *p, size_t n, const struct cella_verify_policy *pol,
	     struct cella_verify_cache *cache, enum cella_verify_check c)
{
	struct cella_diag d = {{0}};
	enum cella_verify_check got;

	assert_int_equal(tu_verify(p, n, pol, cache, &d, &got), -EBADMSG);
	if (got != c)
		fail_msg("expected check %s, got %s", cella_verify_check_name(c),
			 d.msg);
	assert_memory_equal(d.msg, cella_verify_check_name(c),
			    strlen(cella_verify_check_name(c)));
}

static cJSON *
vector_index(void)
{
	size_t n;
	uint8_t *text = tu_read(tu_path("tests/vectors/nitro/vectors.json"), &n);
	cJSON *j = cJSON_Parse((const char *)text);

	free(text);
	assert_non_null(j);
	return j;
}

static const cJSON *
vector_entry(const cJSON *idx, const char *file)
{
	const cJSON *e;

	cJSON_ArrayForEach(e, cJSON_GetObjectItem(idx, "documents"))
		if (strcmp(cJSON_GetObjectItem(e, "file")->valuestring, file) == 0)
			return e;
	fail_msg("%s not in vectors.json", file);
	return NULL;
}

static void
check_opt(const cJSON *e, const char *name, bool has, struct cella_span s)
{
	char key[32], hk[32];
	const cJSON *len, *hex;
	uint8_t want[1024];

	snprintf(key, sizeof(key), "%s_len", name);
	snprintf(hk, sizeof(hk), "%s_hex", name);
	len = cJSON_GetObjectItem(e, key);
	assert_int_equal(has, !cJSON_IsNull(len));
	if (has)
		assert_int_equal(s.n, (size_t)len->valuedouble);
	hex = cJSON_GetObjectItem(e, hk);
	if (has && hex != NULL) {
		assert_int_equal(tu_unhex(hex->valuestring, want, sizeof(want)),
				 s.n);
		assert_memory_equal(s.p, want, s.n);
	}
}

/* What a valid real document says must be what vectors.json says. */
static void
check_fields(const cJSON *e, const struct cella_verify_result *res)
{
	const struct cella_attdoc *doc = &res->doc;
	const char *mid = cJSON_GetObjectItem(e, "module_id")->valuestring;
	const cJSON *pcr;
	uint8_t want[48], md[48], buf[48 + 64];
	size_t idlen;

	assert_int_equal(doc->module_id.n, strlen(mid));
	assert_memory_equal(doc->module_id.p, mid, doc->module_id.n);
	assert_true(doc->timestamp_ms ==
		    (uint64_t)cJSON_GetObjectItem(e, "timestamp_ms")->valuedouble);
	assert_int_equal(res->nchain,
			 cJSON_GetObjectItem(e, "chain_len")->valueint);
	cJSON_ArrayForEach(pcr, cJSON_GetObjectItem(e, "pcrs")) {
		unsigned i = (unsigned)strtoul(pcr->string, NULL, 10);

		tu_unhex(pcr->valuestring, want, sizeof(want));
		assert_int_equal(doc->pcrs[i].n, 48);
		assert_memory_equal(doc->pcrs[i].p, want, 48);
	}
	check_opt(e, "public_key", doc->has_public_key, doc->public_key);
	check_opt(e, "user_data", doc->has_user_data, doc->user_data);
	check_opt(e, "nonce", doc->has_nonce, doc->nonce);
	/* PCR4 = SHA-384(48 zero bytes || instance id), offline. */
	idlen = (size_t)((const uint8_t *)memchr(doc->module_id.p, '-',
						 doc->module_id.n) -
			 doc->module_id.p);
	idlen += (size_t)((const uint8_t *)memchr(doc->module_id.p + idlen + 1,
						  '-', doc->module_id.n - idlen - 1) -
			  (doc->module_id.p + idlen));
	memset(buf, 0, 48);
	memcpy(buf + 48, doc->module_id.p, idlen);
	assert_int_equal(EVP_Digest(buf, 48 + idlen, md, NULL, EVP_sha384(),
				    NULL),
			 1);
	assert_memory_equal(md, doc->pcrs[4].p, 48);
	assert_string_equal(res->chain[0],
			    "CN=aws.nitro-enclaves,OU=AWS,O=Amazon,C=US");
}

static void
run_vectors(struct cella_verify_cache *cache)
{
	cJSON *idx = vector_index();

	for (size_t i = 0; i < sizeof(vexpects) / sizeof(vexpects[0]); i++) {
		const struct vexpect *v = &vexpects[i];
		const cJSON *e = vector_entry(idx, v->file);
		struct cella_verify_policy pol;
		struct cella_verify_result res;
		struct cella_diag d = {{0}};
		size_t n;
		uint8_t *p = tu_vector(v->file, &n);
		int64_t at = (int64_t)cJSON_GetObjectItem(e, "verify_at")->valuedouble;

		assert_int_equal(n, cJSON_GetObjectItem(e, "decoded_size")->valueint);
		cella_verify_policy_init(&pol);
		pol.at = at;
		tu_expect(p, n, &pol, cache, v->nodebug);
		pol.allow_debug = true;
		tu_expect(p, n, &pol, cache, v->debug);
		if (v->debug == NULL) {
			assert_int_equal(cella_verify(p, n, &pol, cache, &res, &d), 0);
			check_fields(e, &res);
			cella_verify_result_fini(&res);
		}
		/* A day before and a day after, the chain is not valid. */
		pol.at = at - TU_DAY;
		expect_fail_at(p, n, &pol, cache,
			     v->debug != NULL && v->debug[0] == 'c'
				     ? CELLA_VERIFY_COSE
				     : CELLA_VERIFY_CHAIN);
		pol.at = at + TU_DAY;
		expect_fail_at(p, n, &pol, cache,
			     v->debug != NULL && v->debug[0] == 'c'
				     ? CELLA_VERIFY_COSE
				     : CELLA_VERIFY_CHAIN);
		free(p);
	}
	cJSON_Delete(idx);
}

static void
test_vectors(void **state)
{
	struct cella_verify_cache *cache;

	(void)state;
	run_vectors(NULL);
	assert_int_equal(cella_verify_cache_new(64, &cache), 0);
	run_vectors(cache);
	run_vectors(cache); /* warm: the same answers */
	cella_verify_cache_free(cache);
}

static void
test_builtin_root(void **state)
{
	X509 *x = NULL, *pem = NULL;
	uint8_t *der = NULL, md[32], want[32];
	struct cella_diag d;
	int n;

	(void)state;
	assert_int_equal(cella_verify_aws_root(&x), 0);
	n = i2d_X509(x, &der);
	assert_int_equal(n, 533);
	assert_int_equal(EVP_Digest(der, (size_t)n, md, NULL, EVP_sha256(), NULL),
			 1);
	tu_unhex("641a0321a3e244efe456463195d606317ed7cdcc3c1756e09893f3c68f79"
		 "bb5b",
		 want, 32);
	assert_memory_equal(md, want, 32);
	assert_int_equal(cella_verify_root_load(
				 tu_path("tests/vectors/nitro/"
					 "aws-nitro-enclaves-root-g1.pem"),
				 &pem, &d),
			 0);
	assert_int_equal(X509_cmp(x, pem), 0);
	assert_int_equal(cella_verify_root_load("/nonexistent", &pem, &d),
			 -ENOENT);
	assert_int_equal(cella_verify_root_load(
				 tu_path("tests/vectors/nitro/vectors.json"),
				 &pem, &d),
			 -EINVAL);
	X509_free(x);
	X509_free(pem);
	OPENSSL_free(der);
}

static void
test_policy_on_real_doc(void **state)
{
	struct cella_verify_policy pol;
	struct cella_verify_pcr pcrs[2];
	uint8_t nonce[20] = {0};
	size_t n;
	uint8_t *p = tu_vector("eternis_valid_2024-07-31.b64", &n);
	struct cella_diag d;

	(void)state;
	cella_verify_policy_init(&pol);
	pol.at = 1722455771;
	nonce[19] = 1;
	pol.has_nonce = true;
	pol.nonce = CELLA_SPAN(nonce, 20);
	tu_expect(p, n, &pol, NULL, NULL);
	nonce[19] = 2;
	tu_expect(p, n, &pol, NULL, "nonce: does not match");
	pol.nonce = CELLA_SPAN(nonce, 19);
	tu_expect(p, n, &pol, NULL, "nonce: does not match");
	pol.has_nonce = false;
	pcrs[0].index = 0;
	tu_unhex("a873085089ae5e3c3c491c8e1e0ab46a713f4314b3c6401abb599ca3606092"
		 "2a3d6fc2a3e84d198a2131e80c60959bb3",
		 pcrs[0].value, 48);
	pcrs[1].index = 8;
	memset(pcrs[1].value, 0, 48);
	pol.pcrs = pcrs;
	pol.npcrs = 2;
	tu_expect(p, n, &pol, NULL, NULL);
	pcrs[1].value[47] = 1;
	tu_expect(p, n, &pol, NULL, "pcr: PCR8 does not match");
	pcrs[1].index = 20;
	tu_expect(p, n, &pol, NULL, "pcr: PCR20 absent");
	pcrs[1].index = 32;
	assert_int_equal(tu_verify(p, n, &pol, NULL, &d, NULL), -EINVAL);
	pol.npcrs = 0;
	/* The document was made 99.314 s before at + 100 s. */
	pol.at = 1722455771 + 100;
	pol.max_age_s = 99;
	tu_expect(p, n, &pol, NULL, "age: 99314 ms old, at most 99 s");
	pol.max_age_s = 100;
	tu_expect(p, n, &pol, NULL, NULL);
	/* A pinned root that is not AWS's: the cabundle's root is refused. */
	{
		struct tu_chain c;

		tu_chain_make(&c, 1722455771 - TU_DAY, 1722455771 + TU_DAY, NULL, NULL);
		pol.root = c.root;
		tu_expect(p, n, &pol, NULL, "root: cabundle[0] is not the pinned root");
		tu_chain_free(&c);
	}
	free(p);
}

static void
test_own_documents(void **state)
{
	struct tu_own o;
	struct cella_attdoc *doc = &o.t.doc;

	(void)state;
	tu_own_init(&o, "critical,CA:FALSE", "critical,digitalSignature");
	tu_own_expect(&o, NULL);
	doc->pcrs[3] = CELLA_SPAN(o.t.pcr[3], 47);
	tu_own_expect(&o, "pcr length: PCR3 is 47 bytes, SHA384 needs 48");
	doc->pcrs[3] = CELLA_SPAN(o.t.pcr[3], 48);
	doc->has_nonce = true;
	doc->nonce = CELLA_SPAN(o.big, 1025);
	tu_own_expect(&o, "payload: nonce is 1025 bytes, allowed 0..1024");
	doc->nonce = CELLA_SPAN(o.big, 1024);
	tu_own_expect(&o, NULL);
	doc->digest = CELLA_SPAN("SHA256", 6);
	tu_own_expect(&o, "digest: 'SHA256', expected SHA384");
	doc->digest = CELLA_SPAN("SHA384", 6);
	doc->ncabundle = 0;
	tu_own_expect(&o, "payload: cabundle is empty");
	doc->ncabundle = 1; /* the leaf's issuer is missing */
	tu_own_expect(&o, "chain: certificate: unable to get local issuer "
		       "certificate");
	doc->ncabundle = 2;
	/* The AWS root first, our CA after it: not a path. */
	{
		X509 *aws = NULL;
		uint8_t *der = NULL;

		assert_int_equal(cella_verify_aws_root(&aws), 0);
		doc->cabundle[0] = tu_der(aws, &der);
		o.pol.root = NULL;
		tu_own_expect(&o, "chain: cabundle[1]: unable to get local issuer "
			       "certificate");
		o.pol.root = o.c.root;
		tu_own_expect(&o, "root: cabundle[0] is not the pinned root");
		doc->cabundle[0] = o.c.root_der;
		X509_free(aws);
		OPENSSL_free(der);
	}
	/* Debug PCRs, and a timestamp from the future. */
	memset(o.t.pcr[0], 0, 48);
	memset(o.t.pcr[1], 0, 48);
	memset(o.t.pcr[2], 0, 48);
	tu_own_expect(&o, debug_msg);
	o.pol.allow_debug = true;
	tu_own_expect(&o, NULL);
	doc->timestamp_ms = (uint64_t)(TU_T0 + 61) * 1000;
	tu_own_expect(&o, "timestamp: 61 s in the future");
	doc->timestamp_ms = (uint64_t)(TU_T0 + 60) * 1000;
	tu_own_expect(&o, NULL);
	/* A wrong leaf key: the test root's key signs instead. */
	{
		size_t n;
		uint8_t *p = tu_sign_doc(doc, o.c.int_key, &n);

		tu_expect(p, n, &o.pol, NULL,
		       "signature: ES384 signature does not verify");
		free(p);
	}
	tu_chain_free(&o.c);
}

static void
test_own_certificates(void **state)
{
	static const struct {
		const char *bc, *ku, *reason;
	} cases[] = {
		{"critical,CA:FALSE", "critical,nonRepudiation",
		 "key usage: certificate lacks digitalSignature"},
		{"critical,CA:FALSE", NULL,
		 "key usage: certificate lacks digitalSignature"},
		{"critical,CA:TRUE", "critical,digitalSignature,keyCertSign",
		 "constraints: certificate is a CA"},
		{NULL, "critical,digitalSignature", NULL},
	};
	struct tu_own o;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		tu_own_init(&o, cases[i].bc, cases[i].ku);
		tu_own_expect(&o, cases[i].reason);
		tu_chain_free(&o.c);
	}
	/* A P-256 leaf; an ES256 document. */
	tu_own_init(&o, "critical,CA:FALSE", "critical,digitalSignature");
	{
		EVP_PKEY *k256 = tu_keygen("prime256v1");
		X509 *leaf = tu_cert(o.c.inter, o.c.int_key, k256, "p256 leaf", 9,
				     TU_T0 - 60, TU_T0 + 60, "critical,CA:FALSE",
				     "critical,digitalSignature");
		uint8_t *der = NULL, *p;
		struct cella_buf pl;
		size_t n;

		o.t.doc.certificate = tu_der(leaf, &der);
		cella_buf_init(&pl, CELLA_ATTDOC_MAX);
		assert_int_equal(cella_attdoc_encode(&o.t.doc, &pl), 0);
		p = tu_sign_payload(CELLA_SPAN(pl.p, pl.len), k256,
				    CELLA_COSE_ES256, &n);
		tu_expect(p, n, &o.pol, NULL, "alg: ES256, expected ES384");
		free(p);
		p = tu_sign_payload(CELLA_SPAN(pl.p, pl.len), o.c.leaf_key,
				    CELLA_COSE_ES384, &n);
		tu_expect(p, n, &o.pol, NULL, "leaf key: not EC P-384");
		free(p);
		cella_buf_fini(&pl);
		o.t.doc.certificate = o.c.leaf_der;
		OPENSSL_free(der);
		X509_free(leaf);
		EVP_PKEY_free(k256);
	}
	/* An intermediate that is no CA. */
	{
		X509 *inter = tu_cert(o.c.root, o.c.root_key, o.c.int_key,
				      "not a ca", 10, TU_T0 - TU_DAY, TU_T0 + TU_DAY,
				      "critical,CA:FALSE", "critical,keyCertSign");
		uint8_t *der = NULL;

		o.t.doc.cabundle[1] = tu_der(inter, &der);
		tu_own_expect(&o, "chain: certificate: unable to get local issuer "
			       "certificate");
		OPENSSL_free(der);
		X509_free(inter);
	}
	/* An extra CA in the cabundle that the leaf does not chain through. */
	{
		EVP_PKEY *k = tu_keygen("secp384r1");
		X509 *side = tu_cert(o.c.root, o.c.root_key, k, "side ca", 13,
				     TU_T0 - TU_DAY, TU_T0 + TU_DAY,
				     "critical,CA:TRUE", "critical,keyCertSign");
		uint8_t *d1 = NULL;

		o.t.doc.cabundle[1] = o.c.int_der;
		o.t.doc.cabundle[2] = tu_der(side, &d1);
		o.t.doc.ncabundle = 3;
		tu_own_expect(&o, "chain: cabundle is not the path from the root "
				  "to the certificate");
		o.t.doc.ncabundle = 2;
		OPENSSL_free(d1);
		X509_free(side);
		EVP_PKEY_free(k);
	}
	/* A CA under the pathlen:0 intermediate, issuing the leaf. */
	{
		EVP_PKEY *k = tu_keygen("secp384r1");
		X509 *sub = tu_cert(o.c.inter, o.c.int_key, k, "sub ca", 11,
				    TU_T0 - TU_DAY, TU_T0 + TU_DAY, "critical,CA:TRUE",
				    "critical,keyCertSign");
		X509 *leaf = tu_cert(sub, k, o.c.leaf_key, "deep leaf", 12,
				     TU_T0 - 60, TU_T0 + 60, "critical,CA:FALSE",
				     "critical,digitalSignature");
		uint8_t *d1 = NULL, *d2 = NULL;

		o.t.doc.cabundle[1] = o.c.int_der;
		o.t.doc.cabundle[2] = tu_der(sub, &d1);
		o.t.doc.ncabundle = 3;
		o.t.doc.certificate = tu_der(leaf, &d2);
		tu_own_expect(&o, "chain: cabundle[1]: path length constraint "
			       "exceeded");
		o.t.doc.ncabundle = 2;
		o.t.doc.certificate = o.c.leaf_der;
		OPENSSL_free(d1);
		OPENSSL_free(d2);
		X509_free(sub);
		X509_free(leaf);
		EVP_PKEY_free(k);
	}
	tu_chain_free(&o.c);
}

/*
 * The self-signed NOT-AWS document with the two things that stop it before
 * the chain mended: unprotected {} (not signed, so its signature still
 * holds) and a cabundle. Only the pinned root stands in the way then.
 */
static void
test_selfsigned_needs_the_root(void **state)
{
	struct cella_verify_policy pol;
	struct cella_attdoc doc;
	struct cella_diag d;
	struct cella_buf pl, msg;
	size_t n;
	uint8_t *p = tu_vector("blocky-nitrite_selfsigned_NOT-AWS.b64", &n);
	struct cella_span payload = CELLA_SPAN(p + 10, (size_t)p[8] << 8 | p[9]);
	uint8_t *patched = malloc(n);

	(void)state;
	cella_verify_policy_init(&pol);
	pol.at = 1713379906;
	pol.allow_debug = true;
	memcpy(patched, p, n);
	patched[6] = 0xa0;
	tu_expect(patched, n, &pol, NULL,
		  "payload: cabundle is not an array");
	/* Its own certificate as the cabundle's root. */
	assert_int_equal(payload.p[0], 0xa9);
	{
		/* Rebuild: cabundle null -> [certificate]. */
		uint8_t *q = memmem(payload.p, payload.n, "\x68" "cabundle\xf6", 10);
		struct cella_span cert;

		assert_non_null(q);
		assert_int_equal(cella_attdoc_parse(payload, &doc, &d), -EBADMSG);
		cella_buf_init(&pl, CELLA_ATTDOC_MAX);
		assert_int_equal(cella_buf_append(&pl, payload.p,
						  (size_t)(q - payload.p) + 9),
				 0);
		/* certificate: "certificate" key, then 59 01 d7 + 471 bytes */
		cert.p = memmem(payload.p, payload.n, "\x6b" "certificate", 12);
		assert_non_null(cert.p);
		cert.p += 12;
		assert_int_equal(cert.p[0], 0x59);
		cert.n = 3 + ((size_t)cert.p[1] << 8 | cert.p[2]);
		assert_int_equal(cella_buf_append(&pl, "\x81", 1), 0);
		assert_int_equal(cella_buf_append(&pl, cert.p, cert.n), 0);
		assert_int_equal(cella_buf_append(&pl, q + 10,
						  payload.n - (size_t)(q + 10 -
								       payload.p)),
				 0);
		assert_int_equal(cella_attdoc_parse(CELLA_SPAN(pl.p, pl.len),
						    &doc, &d),
				 0);
		assert_int_equal(doc.ncabundle, 1);
		cella_attdoc_fini(&doc);
	}
	cella_buf_init(&msg, CELLA_ATTDOC_MAX);
	assert_int_equal(cella_buf_append(&msg, "\x84\x44\xa1\x01\x38\x22\xa0\x59",
					  8),
			 0);
	assert_int_equal(cella_buf_append(&msg, (uint8_t[]){(uint8_t)(pl.len >> 8),
							    (uint8_t)pl.len},
					  2),
			 0);
	assert_int_equal(cella_buf_append(&msg, pl.p, pl.len), 0);
	assert_int_equal(cella_buf_append(&msg, p + n - 98, 98), 0);
	tu_expect(msg.p, msg.len, &pol, NULL,
		  "root: cabundle[0] is not the pinned root");
	cella_buf_fini(&msg);
	cella_buf_fini(&pl);
	free(patched);
	free(p);
}

/* Shape errors inside a correctly signed payload. */
static void
test_own_payload_shape(void **state)
{
	struct tu_own o;
	struct cella_buf pl;
	uint8_t *p;
	size_t n;

	(void)state;
	tu_own_init(&o, "critical,CA:FALSE", "critical,digitalSignature");
	cella_buf_init(&pl, CELLA_ATTDOC_MAX);
	assert_int_equal(cella_attdoc_encode(&o.t.doc, &pl), 0);
	assert_memory_equal(pl.p + pl.len - 7, "\x65nonce\xf6", 7);
	pl.p[0] = 0xa8; /* nonce dropped */
	p = tu_sign_payload(CELLA_SPAN(pl.p, pl.len - 7), o.c.leaf_key,
			    CELLA_COSE_ES384, &n);
	tu_expect(p, n, &o.pol, NULL, "payload: missing field 'nonce'");
	free(p);
	pl.p[0] = 0xaa; /* one field more */
	assert_int_equal(cella_buf_append(&pl, "\x63" "foo\xf6", 5), 0);
	p = tu_sign_payload(CELLA_SPAN(pl.p, pl.len), o.c.leaf_key,
			    CELLA_COSE_ES384, &n);
	tu_expect(p, n, &o.pol, NULL, "payload: unknown field 'foo'");
	free(p);
	cella_buf_fini(&pl);
	tu_chain_free(&o.c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_builtin_root),
		cmocka_unit_test(test_policy_on_real_doc),
		cmocka_unit_test(test_own_documents),
		cmocka_unit_test(test_own_certificates),
		cmocka_unit_test(test_own_payload_shape),
		cmocka_unit_test(test_selfsigned_needs_the_root),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
