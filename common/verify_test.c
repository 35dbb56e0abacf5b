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
#include <pthread.h>

#include "common/verify_testlib.h"

#define DAY 86400

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

static int
verify(const uint8_t *p, size_t n, const struct cella_verify_policy *pol,
       struct cella_verify_cache *cache, struct cella_diag *d,
       enum cella_verify_check *failed)
{
	struct cella_verify_result res;
	int rv = cella_verify(p, n, pol, cache, &res, d);

	if (failed != NULL)
		*failed = res.failed;
	cella_verify_result_fini(&res);
	return rv;
}

static void
expect_verdict(const uint8_t *p, size_t n, const struct cella_verify_policy *pol,
       struct cella_verify_cache *cache, const char *reason)
{
	struct cella_diag d = {{0}};
	int rv = verify(p, n, pol, cache, &d, NULL);

	if (reason == NULL) {
		if (rv != 0)
			fail_msg("expected valid, got %d: %s", rv, d.msg);
		return;
	}
	assert_int_equal(rv, -EBADMSG);
	assert_string_equal(d.msg, reason);
}

static void
expect_fail_at(const uint8_t *p, size_t n, const struct cella_verify_policy *pol,
	     struct cella_verify_cache *cache, enum cella_verify_check c)
{
	struct cella_diag d = {{0}};
	enum cella_verify_check got;

	assert_int_equal(verify(p, n, pol, cache, &d, &got), -EBADMSG);
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
		unsigned i = (unsigned)atoi(pcr->string);

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
		expect_verdict(p, n, &pol, cache, v->nodebug);
		pol.allow_debug = true;
		expect_verdict(p, n, &pol, cache, v->debug);
		if (v->debug == NULL) {
			assert_int_equal(cella_verify(p, n, &pol, cache, &res, &d), 0);
			check_fields(e, &res);
			cella_verify_result_fini(&res);
		}
		/* A day before and a day after, the chain is not valid. */
		pol.at = at - DAY;
		expect_fail_at(p, n, &pol, cache,
			     v->debug != NULL && v->debug[0] == 'c'
				     ? CELLA_VERIFY_COSE
				     : CELLA_VERIFY_CHAIN);
		pol.at = at + DAY;
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
	expect_verdict(p, n, &pol, NULL, NULL);
	nonce[19] = 2;
	expect_verdict(p, n, &pol, NULL, "nonce: does not match");
	pol.nonce = CELLA_SPAN(nonce, 19);
	expect_verdict(p, n, &pol, NULL, "nonce: does not match");
	pol.has_nonce = false;
	pcrs[0].index = 0;
	tu_unhex("a873085089ae5e3c3c491c8e1e0ab46a713f4314b3c6401abb599ca3606092"
		 "2a3d6fc2a3e84d198a2131e80c60959bb3",
		 pcrs[0].value, 48);
	pcrs[1].index = 8;
	memset(pcrs[1].value, 0, 48);
	pol.pcrs = pcrs;
	pol.npcrs = 2;
	expect_verdict(p, n, &pol, NULL, NULL);
	pcrs[1].value[47] = 1;
	expect_verdict(p, n, &pol, NULL, "pcr: PCR8 does not match");
	pcrs[1].index = 20;
	expect_verdict(p, n, &pol, NULL, "pcr: PCR20 absent");
	pcrs[1].index = 32;
	assert_int_equal(verify(p, n, &pol, NULL, &d, NULL), -EINVAL);
	pol.npcrs = 0;
	/* The document was made 99.314 s before at + 100 s. */
	pol.at = 1722455771 + 100;
	pol.max_age_s = 99;
	expect_verdict(p, n, &pol, NULL, "age: 99314 ms old, at most 99 s");
	pol.max_age_s = 100;
	expect_verdict(p, n, &pol, NULL, NULL);
	/* A pinned root that is not AWS's: the cabundle's root is refused. */
	{
		struct tu_chain c;

		tu_chain_make(&c, 1722455771 - DAY, 1722455771 + DAY, NULL, NULL);
		pol.root = c.root;
		expect_verdict(p, n, &pol, NULL, "root: cabundle[0] is not the pinned root");
		tu_chain_free(&c);
	}
	free(p);
}

/* --- our own documents, signed with the README's test key --- */

#define T0 1700000000 /* the test chain's leaf is valid [T0 - 60, T0 + 3 h] */

struct own {
	struct tu_chain c;
	struct tu_doc t;
	struct cella_verify_policy pol;
	uint8_t big[1025];
};

static void
own_init(struct own *o, const char *leaf_bc, const char *leaf_ku)
{
	tu_chain_make(&o->c, T0 - 60, T0 + 3 * 3600, leaf_bc, leaf_ku);
	tu_doc_init(&o->t, &o->c, (uint64_t)T0 * 1000 + 123);
	cella_verify_policy_init(&o->pol);
	o->pol.root = o->c.root;
	o->pol.at = T0;
	memset(o->big, 0x5a, sizeof(o->big));
}

static void
own_expect(struct own *o, const char *reason)
{
	size_t n;
	uint8_t *p = tu_sign_doc(&o->t.doc, o->c.leaf_key, &n);

	expect_verdict(p, n, &o->pol, NULL, reason);
	free(p);
}

static void
test_own_documents(void **state)
{
	struct own o;
	struct cella_attdoc *doc = &o.t.doc;

	(void)state;
	own_init(&o, "critical,CA:FALSE", "critical,digitalSignature");
	own_expect(&o, NULL);
	doc->pcrs[3] = CELLA_SPAN(o.t.pcr[3], 47);
	own_expect(&o, "pcr length: PCR3 is 47 bytes, SHA384 needs 48");
	doc->pcrs[3] = CELLA_SPAN(o.t.pcr[3], 48);
	doc->has_nonce = true;
	doc->nonce = CELLA_SPAN(o.big, 1025);
	own_expect(&o, "payload: nonce is 1025 bytes, allowed 0..1024");
	doc->nonce = CELLA_SPAN(o.big, 1024);
	own_expect(&o, NULL);
	doc->digest = CELLA_SPAN("SHA256", 6);
	own_expect(&o, "digest: 'SHA256', expected SHA384");
	doc->digest = CELLA_SPAN("SHA384", 6);
	doc->ncabundle = 0;
	own_expect(&o, "payload: cabundle is empty");
	doc->ncabundle = 1; /* the leaf's issuer is missing */
	own_expect(&o, "chain: certificate: unable to get local issuer "
		       "certificate");
	doc->ncabundle = 2;
	/* The AWS root first, our CA after it: not a path. */
	{
		X509 *aws = NULL;
		uint8_t *der = NULL;

		assert_int_equal(cella_verify_aws_root(&aws), 0);
		doc->cabundle[0] = tu_der(aws, &der);
		o.pol.root = NULL;
		own_expect(&o, "chain: cabundle[1]: unable to get local issuer "
			       "certificate");
		o.pol.root = o.c.root;
		own_expect(&o, "root: cabundle[0] is not the pinned root");
		doc->cabundle[0] = o.c.root_der;
		X509_free(aws);
		OPENSSL_free(der);
	}
	/* Debug PCRs, and a timestamp from the future. */
	memset(o.t.pcr[0], 0, 48);
	memset(o.t.pcr[1], 0, 48);
	memset(o.t.pcr[2], 0, 48);
	own_expect(&o, debug_msg);
	o.pol.allow_debug = true;
	own_expect(&o, NULL);
	doc->timestamp_ms = (uint64_t)(T0 + 61) * 1000;
	own_expect(&o, "timestamp: 61 s in the future");
	doc->timestamp_ms = (uint64_t)(T0 + 60) * 1000;
	own_expect(&o, NULL);
	/* A wrong leaf key: the test root's key signs instead. */
	{
		size_t n;
		uint8_t *p = tu_sign_doc(doc, o.c.int_key, &n);

		expect_verdict(p, n, &o.pol, NULL,
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
	struct own o;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		own_init(&o, cases[i].bc, cases[i].ku);
		own_expect(&o, cases[i].reason);
		tu_chain_free(&o.c);
	}
	/* A P-256 leaf; an ES256 document. */
	own_init(&o, "critical,CA:FALSE", "critical,digitalSignature");
	{
		EVP_PKEY *k256 = tu_keygen("prime256v1");
		X509 *leaf = tu_cert(o.c.inter, o.c.int_key, k256, "p256 leaf", 9,
				     T0 - 60, T0 + 60, "critical,CA:FALSE",
				     "critical,digitalSignature");
		uint8_t *der = NULL, *p;
		struct cella_buf pl;
		size_t n;

		o.t.doc.certificate = tu_der(leaf, &der);
		cella_buf_init(&pl, CELLA_ATTDOC_MAX);
		assert_int_equal(cella_attdoc_encode(&o.t.doc, &pl), 0);
		p = tu_sign_payload(CELLA_SPAN(pl.p, pl.len), k256,
				    CELLA_COSE_ES256, &n);
		expect_verdict(p, n, &o.pol, NULL, "alg: ES256, expected ES384");
		free(p);
		p = tu_sign_payload(CELLA_SPAN(pl.p, pl.len), o.c.leaf_key,
				    CELLA_COSE_ES384, &n);
		expect_verdict(p, n, &o.pol, NULL, "leaf key: not EC P-384");
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
				      "not a ca", 10, T0 - DAY, T0 + DAY,
				      "critical,CA:FALSE", "critical,keyCertSign");
		uint8_t *der = NULL;

		o.t.doc.cabundle[1] = tu_der(inter, &der);
		own_expect(&o, "chain: certificate: unable to get local issuer "
			       "certificate");
		OPENSSL_free(der);
		X509_free(inter);
	}
	/* A CA under the pathlen:0 intermediate, issuing the leaf. */
	{
		EVP_PKEY *k = tu_keygen("secp384r1");
		X509 *sub = tu_cert(o.c.inter, o.c.int_key, k, "sub ca", 11,
				    T0 - DAY, T0 + DAY, "critical,CA:TRUE",
				    "critical,keyCertSign");
		X509 *leaf = tu_cert(sub, k, o.c.leaf_key, "deep leaf", 12,
				     T0 - 60, T0 + 60, "critical,CA:FALSE",
				     "critical,digitalSignature");
		uint8_t *d1 = NULL, *d2 = NULL;

		o.t.doc.cabundle[1] = o.c.int_der;
		o.t.doc.cabundle[2] = tu_der(sub, &d1);
		o.t.doc.ncabundle = 3;
		o.t.doc.certificate = tu_der(leaf, &d2);
		own_expect(&o, "chain: cabundle[1]: path length constraint "
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

/* --- every byte of a real document matters --- */

static void
test_every_byte(void **state)
{
	struct cella_verify_cache *cache;
	struct cella_verify_policy pol;
	size_t n;
	uint8_t *p = tu_vector("eternis_valid_2024-07-31.b64", &n);
	long per_check[CELLA_VERIFY_AGE + 1] = {0};

	(void)state;
	assert_int_equal(cella_verify_cache_new(64, &cache), 0);
	cella_verify_policy_init(&pol);
	pol.at = 1722455771;
	expect_verdict(p, n, &pol, cache, NULL);
	for (size_t i = 0; i < n; i++) {
		struct cella_diag d;
		enum cella_verify_check c;
		uint8_t keep = p[i];

		p[i] ^= i % 3 == 0 ? 0xff : (uint8_t)(1u << (i % 8));
		if (verify(p, n, &pol, cache, &d, &c) != -EBADMSG)
			fail_msg("byte %zu changed and still valid", i);
		per_check[c]++;
		p[i] = keep;
	}
	expect_verdict(p, n, &pol, cache, NULL);
	for (int c = 1; c <= CELLA_VERIFY_AGE; c++)
		if (per_check[c] > 0)
			fprintf(stderr, "# %s: %ld\n", cella_verify_check_name(c),
				per_check[c]);
	cella_verify_cache_free(cache);
	free(p);
}

/* --- the cache never widens what is accepted --- */

static void
test_cache_window(void **state)
{
	struct cella_verify_cache *cache;
	struct cella_verify_policy pol;
	size_t n;
	uint8_t *p = tu_vector("blocky-nitrite_valid_2024-09-07.b64", &n);
	uint64_t hits, misses;
	/* The leaf is valid 2024-09-07T14:37:36Z .. 17:37:39Z. */
	const int64_t nb = 1725719856, na = 1725730659;

	(void)state;
	assert_int_equal(cella_verify_cache_new(16, &cache), 0);
	cella_verify_policy_init(&pol);
	for (int round = 0; round < 2; round++) {
		pol.at = 1725719859;
		expect_verdict(p, n, &pol, cache, NULL);
		pol.at = na;
		expect_verdict(p, n, &pol, cache, NULL);
		pol.at = na + 1;
		expect_verdict(p, n, &pol, cache,
		       "chain: certificate: certificate has expired");
		pol.at = nb;
		expect_verdict(p, n, &pol, cache, NULL);
		pol.at = nb - 1;
		expect_verdict(p, n, &pol, cache,
		       "chain: certificate: certificate is not yet valid");
	}
	cella_verify_cache_stats(cache, &hits, &misses);
	assert_true(hits >= 5 * 5); /* the valid runs were served from it */
	/* Without a cache, the same answers at the edges. */
	pol.at = na + 1;
	expect_verdict(p, n, &pol, NULL, "chain: certificate: certificate has expired");
	cella_verify_cache_free(cache);
	free(p);
}

static void
test_cache_root(void **state)
{
	struct cella_verify_cache *cache;
	struct own o;
	uint64_t h0, m0, h1, m1;
	X509 *twin, *stranger;
	EVP_PKEY *other;
	uint8_t *der1 = NULL, *der2 = NULL;

	(void)state;
	assert_int_equal(cella_verify_cache_new(8, &cache), 0);
	own_init(&o, "critical,CA:FALSE", "critical,digitalSignature");
	{
		size_t n;
		uint8_t *p = tu_sign_doc(&o.t.doc, o.c.leaf_key, &n);

		expect_verdict(p, n, &o.pol, cache, NULL);
		expect_verdict(p, n, &o.pol, cache, NULL);
		free(p);
	}
	cella_verify_cache_stats(cache, &h0, &m0);
	assert_int_equal(h0, 3);
	assert_int_equal(m0, 3);
	/* Another root with the same name and key: valid, nothing reused. */
	twin = tu_cert(NULL, o.c.root_key, o.c.root_key, "cella test root", 77,
		       T0 - DAY, T0 + DAY, "critical,CA:TRUE",
		       "critical,keyCertSign");
	o.t.doc.cabundle[0] = tu_der(twin, &der1);
	o.pol.root = twin;
	own_expect(&o, NULL);
	{
		size_t n;
		uint8_t *p = tu_sign_doc(&o.t.doc, o.c.leaf_key, &n);

		expect_verdict(p, n, &o.pol, cache, NULL);
		cella_verify_cache_stats(cache, &h1, &m1);
		assert_int_equal(h1, h0);
		assert_int_equal(m1, m0 + 3);
		free(p);
	}
	/* Same name, another key: the cached path must not rescue it. */
	other = tu_keygen("secp384r1");
	stranger = tu_cert(NULL, other, other, "cella test root", 78, T0 - DAY,
			   T0 + DAY, "critical,CA:TRUE", "critical,keyCertSign");
	o.t.doc.cabundle[0] = tu_der(stranger, &der2);
	o.pol.root = stranger;
	{
		size_t n;
		uint8_t *p = tu_sign_doc(&o.t.doc, o.c.leaf_key, &n);

		expect_verdict(p, n, &o.pol, cache,
			       "chain: cabundle[1]: unable to get local issuer "
			       "certificate");
		expect_verdict(p, n, &o.pol, NULL,
			       "chain: cabundle[1]: unable to get local issuer "
			       "certificate");
		free(p);
	}
	/* A cache of 1 entry still gives the right answers. */
	{
		struct cella_verify_cache *tiny;
		size_t n;
		uint8_t *p;

		o.t.doc.cabundle[0] = o.c.root_der;
		o.pol.root = o.c.root;
		p = tu_sign_doc(&o.t.doc, o.c.leaf_key, &n);
		assert_int_equal(cella_verify_cache_new(1, &tiny), 0);
		for (int i = 0; i < 3; i++)
			expect_verdict(p, n, &o.pol, tiny, NULL);
		cella_verify_cache_free(tiny);
		free(p);
	}
	assert_int_equal(cella_verify_cache_new(0, &cache), -EINVAL);
	X509_free(twin);
	X509_free(stranger);
	EVP_PKEY_free(other);
	OPENSSL_free(der1);
	OPENSSL_free(der2);
	tu_chain_free(&o.c);
	cella_verify_cache_free(cache);
}

/* Fresh leaves under one remembered CA cost one certificate check each. */
static void
test_cache_fresh_leaves(void **state)
{
	struct cella_verify_cache *cache;
	struct own o;
	uint64_t hits, misses;

	(void)state;
	assert_int_equal(cella_verify_cache_new(64, &cache), 0);
	own_init(&o, "critical,CA:FALSE", "critical,digitalSignature");
	for (long i = 0; i < 5; i++) {
		X509 *leaf = tu_cert(o.c.inter, o.c.int_key, o.c.leaf_key,
				     "fresh leaf", 100 + i, T0 - 60, T0 + 60,
				     "critical,CA:FALSE",
				     "critical,digitalSignature");
		uint8_t *der = NULL, *p;
		size_t n;

		o.t.doc.certificate = tu_der(leaf, &der);
		p = tu_sign_doc(&o.t.doc, o.c.leaf_key, &n);
		expect_verdict(p, n, &o.pol, cache, NULL);
		free(p);
		OPENSSL_free(der);
		X509_free(leaf);
	}
	cella_verify_cache_stats(cache, &hits, &misses);
	assert_int_equal(misses, 3 + 4); /* whole path once, then leaves */
	assert_int_equal(hits, 4 * 2);
	tu_chain_free(&o.c);
	cella_verify_cache_free(cache);
}

struct thread_arg {
	struct cella_verify_cache *cache;
	const uint8_t *p;
	size_t n;
	int failures;
};

static void *
thread_main(void *a)
{
	struct thread_arg *t = a;
	struct cella_verify_policy pol;
	struct cella_diag d;

	cella_verify_policy_init(&pol);
	for (int i = 0; i < 30; i++) {
		pol.at = 1722455771 + (i % 2 == 0 ? 0 : DAY);
		if (verify(t->p, t->n, &pol, t->cache, &d, NULL) !=
		    (i % 2 == 0 ? 0 : -EBADMSG))
			t->failures++;
	}
	return NULL;
}

static void
test_cache_threads(void **state)
{
	struct thread_arg args[4];
	pthread_t th[4];
	struct cella_verify_cache *cache;
	size_t n;
	uint8_t *p = tu_vector("eternis_valid_2024-07-31.b64", &n);

	(void)state;
	assert_int_equal(cella_verify_cache_new(4, &cache), 0);
	for (int i = 0; i < 4; i++) {
		args[i] = (struct thread_arg){cache, p, n, 0};
		assert_int_equal(pthread_create(&th[i], NULL, thread_main,
						&args[i]),
				 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(args[i].failures, 0);
	}
	cella_verify_cache_free(cache);
	free(p);
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
		cmocka_unit_test(test_every_byte),
		cmocka_unit_test(test_cache_window),
		cmocka_unit_test(test_cache_root),
		cmocka_unit_test(test_cache_fresh_leaves),
		cmocka_unit_test(test_cache_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
