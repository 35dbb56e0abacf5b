/*
 * verify_testlib: helpers for the cose, attdoc and verify unit tests and
 * the verify benchmark, header-only because each test is one .c file: read
 * vectors, make EC keys, build a test certificate chain with OpenSSL, and
 * build and sign documents in the Nitro shape. Test code: it aborts on any
 * setup failure instead of returning errors. Not for production use.
 */
#ifndef CELLA_VERIFY_TESTLIB_H
#define CELLA_VERIFY_TESTLIB_H

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/attest/attdoc.h"
#include "common/attest/cose.h"
#include "common/attest/verify.h"

#define TU_CHECK(cond)                                                      \
	do {                                                                \
		if (!(cond)) {                                              \
			fprintf(stderr, "%s:%d: setup failed: %s\n",        \
				__FILE__, __LINE__, #cond);                 \
			abort();                                            \
		}                                                           \
	} while (0)

/* The public P-384 test key of tests/vectors/README.md. */
#define TU_P384_X                                                          \
	"5a829f62f2f4f095c0e922719285b4b981c677912870a413137a5d7319916fa8" \
	"584a6036951d06ffeae99ca73ab1a2dc"
#define TU_P384_Y                                                          \
	"e1b76e08cb20d6afcea7423f8b49ec841dde6f210a6174750bf8136a315494224" \
	"df153184557a6c29a1d7994804f604c"
#define TU_P384_D                                                          \
	"55c6aa815a31741bc37f0ffddea73af2397bad640816ef22bfb689efc1b6cc68" \
	"2a73f7e5a657248e3abad500e46d5afc"

static inline const char *
tu_path(const char *rel)
{
	static char buf[4096];
	const char *root = getenv("CELLA_SOURCE_ROOT");

	snprintf(buf, sizeof(buf), "%s/%s", root != NULL ? root : ".", rel);
	return buf;
}

static inline uint8_t *
tu_read(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	uint8_t *p;
	long len;

	TU_CHECK(f != NULL);
	TU_CHECK(fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0);
	rewind(f);
	p = malloc((size_t)len + 1);
	TU_CHECK(p != NULL && fread(p, 1, (size_t)len, f) == (size_t)len);
	fclose(f);
	p[len] = '\0';
	*n = (size_t)len;
	return p;
}

/* A document from tests/vectors/nitro, decoded to binary. */
static inline uint8_t *
tu_vector(const char *file, size_t *n)
{
	char rel[256];
	struct cella_buf b;
	struct cella_diag d;
	uint8_t *text;
	size_t tn;

	snprintf(rel, sizeof(rel), "tests/vectors/nitro/%s", file);
	text = tu_read(tu_path(rel), &tn);
	cella_buf_init(&b, CELLA_ATTDOC_MAX);
	TU_CHECK(cella_attdoc_unwrap(text, tn, &b, &d) == 0);
	free(text);
	return cella_buf_steal(&b, n);
}

static inline size_t
tu_unhex(const char *hex, uint8_t *out, size_t cap)
{
	int n = cella_hex_decode(hex, strlen(hex), out, cap);

	TU_CHECK(n >= 0);
	return (size_t)n;
}

/* An EC key from raw coordinates (and the private scalar, or NULL). */
static inline EVP_PKEY *
tu_ec_key(const char *group, const uint8_t *x, const uint8_t *y, size_t clen,
	  const uint8_t *priv)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	uint8_t pub[1 + 2 * 66];
	BIGNUM *bn = NULL;
	OSSL_PARAM *params;
	EVP_PKEY *k = NULL;

	pub[0] = 0x04;
	memcpy(pub + 1, x, clen);
	memcpy(pub + 1 + clen, y, clen);
	TU_CHECK(bld != NULL && ctx != NULL);
	TU_CHECK(OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
						 group, 0));
	TU_CHECK(OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY,
						  pub, 1 + 2 * clen));
	if (priv != NULL) {
		bn = BN_bin2bn(priv, (int)clen, NULL);
		TU_CHECK(bn != NULL && OSSL_PARAM_BLD_push_BN(
					       bld, OSSL_PKEY_PARAM_PRIV_KEY, bn));
	}
	TU_CHECK((params = OSSL_PARAM_BLD_to_param(bld)) != NULL);
	TU_CHECK(EVP_PKEY_fromdata_init(ctx) == 1);
	TU_CHECK(EVP_PKEY_fromdata(ctx, &k,
				   priv != NULL ? EVP_PKEY_KEYPAIR
						: EVP_PKEY_PUBLIC_KEY,
				   params) == 1);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	EVP_PKEY_CTX_free(ctx);
	BN_free(bn);
	return k;
}

static inline EVP_PKEY *
tu_p384_test_key(void)
{
	uint8_t x[48], y[48], dd[48];

	tu_unhex(TU_P384_X, x, 48);
	tu_unhex(TU_P384_Y, y, 48);
	tu_unhex(TU_P384_D, dd, 48);
	return tu_ec_key("secp384r1", x, y, 48, dd);
}

static inline EVP_PKEY *
tu_keygen(const char *group)
{
	EVP_PKEY *k = EVP_EC_gen(group);

	TU_CHECK(k != NULL);
	return k;
}

static inline void
tu_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ex;

	if (value == NULL)
		return;
	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	ex = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	TU_CHECK(ex != NULL && X509_add_ext(x, ex, -1) == 1);
	X509_EXTENSION_free(ex);
}

/*
 * A certificate for key, signed by issuer_key (issuer NULL: self-signed),
 * valid [nb, na], with the given basicConstraints and keyUsage values
 * (NULL omits the extension). CAs get key identifiers, as AWS's have.
 */
static inline X509 *
tu_cert(X509 *issuer, EVP_PKEY *issuer_key, EVP_PKEY *key, const char *cn,
	long serial, int64_t nb, int64_t na, const char *bc, const char *ku)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();

	TU_CHECK(x != NULL && name != NULL);
	TU_CHECK(X509_set_version(x, X509_VERSION_3));
	TU_CHECK(ASN1_INTEGER_set(X509_get_serialNumber(x), serial));
	TU_CHECK(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
					    (const uint8_t *)"cella test", -1,
					    -1, 0));
	TU_CHECK(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
					    (const uint8_t *)cn, -1, -1, 0));
	TU_CHECK(X509_set_subject_name(x, name));
	TU_CHECK(X509_set_issuer_name(
		x, issuer != NULL ? X509_get_subject_name(issuer) : name));
	TU_CHECK(ASN1_TIME_set(X509_getm_notBefore(x), (time_t)nb) != NULL);
	TU_CHECK(ASN1_TIME_set(X509_getm_notAfter(x), (time_t)na) != NULL);
	TU_CHECK(X509_set_pubkey(x, key));
	tu_ext(x, issuer != NULL ? issuer : x, NID_basic_constraints, bc);
	tu_ext(x, issuer != NULL ? issuer : x, NID_key_usage, ku);
	if (bc != NULL && strstr(bc, "CA:TRUE") != NULL)
		tu_ext(x, x, NID_subject_key_identifier, "hash");
	if (issuer != NULL)
		tu_ext(x, issuer, NID_authority_key_identifier, "keyid:always");
	TU_CHECK(X509_sign(x, issuer_key, EVP_sha384()) > 0);
	X509_NAME_free(name);
	return x;
}

static inline struct cella_span
tu_der(X509 *x, uint8_t **owned)
{
	int n;

	*owned = NULL;
	n = i2d_X509(x, owned);
	TU_CHECK(n > 0);
	return CELLA_SPAN(*owned, (size_t)n);
}

/* root -> intermediate (pathlen 0) -> leaf, leaf key the README test key. */
struct tu_chain {
	EVP_PKEY *root_key, *int_key, *leaf_key;
	X509 *root, *inter, *leaf;
	uint8_t *der[3];
	struct cella_span root_der, int_der, leaf_der;
};

static inline void
tu_chain_make(struct tu_chain *c, int64_t nb, int64_t na, const char *leaf_bc,
	      const char *leaf_ku)
{
	memset(c, 0, sizeof(*c));
	c->root_key = tu_keygen("secp384r1");
	c->int_key = tu_keygen("secp384r1");
	c->leaf_key = tu_p384_test_key();
	c->root = tu_cert(NULL, c->root_key, c->root_key, "cella test root",
			  1, nb - 86400 * 365, na + 86400 * 365,
			  "critical,CA:TRUE",
			  "critical,keyCertSign,cRLSign,digitalSignature");
	c->inter = tu_cert(c->root, c->root_key, c->int_key, "cella test ca",
			   2, nb - 86400, na + 86400,
			   "critical,CA:TRUE,pathlen:0",
			   "critical,keyCertSign");
	c->leaf = tu_cert(c->inter, c->int_key, c->leaf_key,
			  "cella test enclave", 3, nb, na, leaf_bc, leaf_ku);
	c->root_der = tu_der(c->root, &c->der[0]);
	c->int_der = tu_der(c->inter, &c->der[1]);
	c->leaf_der = tu_der(c->leaf, &c->der[2]);
}

static inline void
tu_chain_free(struct tu_chain *c)
{
	EVP_PKEY_free(c->root_key);
	EVP_PKEY_free(c->int_key);
	EVP_PKEY_free(c->leaf_key);
	X509_free(c->root);
	X509_free(c->inter);
	X509_free(c->leaf);
	for (int i = 0; i < 3; i++)
		OPENSSL_free(c->der[i]);
}

/* A production-looking payload under c, 16 PCRs (PCR i = i+1 repeated). */
struct tu_doc {
	struct cella_attdoc doc;
	uint8_t pcr[CELLA_ATTDOC_PCRS][CELLA_ATTDOC_PCR_MAX];
};

static inline void
tu_doc_init(struct tu_doc *t, const struct tu_chain *c, uint64_t ts_ms)
{
	memset(t, 0, sizeof(*t));
	t->doc.module_id = CELLA_SPAN("i-0123456789abcdef0-enc0123456789abcdef",
				      39);
	t->doc.digest = CELLA_SPAN("SHA384", 6);
	t->doc.timestamp_ms = ts_ms;
	for (unsigned i = 0; i < 16; i++) {
		memset(t->pcr[i], (int)i + 1, CELLA_VERIFY_PCR_LEN);
		t->doc.pcrs[i] = CELLA_SPAN(t->pcr[i], CELLA_VERIFY_PCR_LEN);
		t->doc.pcr_mask |= UINT32_C(1) << i;
	}
	t->doc.certificate = c->leaf_der;
	t->doc.cabundle[0] = c->root_der;
	t->doc.cabundle[1] = c->int_der;
	t->doc.ncabundle = 2;
}

/* Encode doc (or take payload as given) and sign it: caller frees. */
static inline uint8_t *
tu_sign_payload(struct cella_span payload, EVP_PKEY *key, int64_t alg,
		size_t *n)
{
	struct cella_buf out;

	cella_buf_init(&out, CELLA_ATTDOC_MAX * 2);
	TU_CHECK(cella_cose_sign1_sign(key, alg, payload, &out) == 0);
	return cella_buf_steal(&out, n);
}

static inline uint8_t *
tu_sign_doc(const struct cella_attdoc *doc, EVP_PKEY *key, size_t *n)
{
	struct cella_buf pl;
	uint8_t *out;

	cella_buf_init(&pl, CELLA_ATTDOC_MAX * 2);
	TU_CHECK(cella_attdoc_encode(doc, &pl) == 0);
	out = tu_sign_payload(CELLA_SPAN(pl.p, pl.len), key, CELLA_COSE_ES384,
			      n);
	cella_buf_fini(&pl);
	return out;
}

/* --- for cmocka tests only (included after <cmocka.h>) --- */
#ifdef cmocka_unit_test

#define TU_DAY 86400
#define TU_T0 1700000000 /* own documents: leaf valid [T0 - 60, T0 + 3 h] */

static inline int
tu_verify(const uint8_t *p, size_t n, const struct cella_verify_policy *pol,
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

static inline void
tu_expect(const uint8_t *p, size_t n, const struct cella_verify_policy *pol,
       struct cella_verify_cache *cache, const char *reason)
{
	struct cella_diag d = {{0}};
	int rv = tu_verify(p, n, pol, cache, &d, NULL);

	if (reason == NULL) {
		if (rv != 0)
			fail_msg("expected valid, got %d: %s", rv, d.msg);
		return;
	}
	assert_int_equal(rv, -EBADMSG);
	assert_string_equal(d.msg, reason);
}

/* A test chain, a production-looking document under it, a policy. */
struct tu_own {
	struct tu_chain c;
	struct tu_doc t;
	struct cella_verify_policy pol;
	uint8_t big[1025];
};

static inline void
tu_own_init(struct tu_own *o, const char *leaf_bc, const char *leaf_ku)
{
	tu_chain_make(&o->c, TU_T0 - 60, TU_T0 + 3 * 3600, leaf_bc, leaf_ku);
	tu_doc_init(&o->t, &o->c, (uint64_t)TU_T0 * 1000 + 123);
	cella_verify_policy_init(&o->pol);
	o->pol.root = o->c.root;
	o->pol.at = TU_T0;
	memset(o->big, 0x5a, sizeof(o->big));
}

static inline void
tu_own_expect(struct tu_own *o, const char *reason)
{
	size_t n;
	uint8_t *p = tu_sign_doc(&o->t.doc, o->c.leaf_key, &n);

	tu_expect(p, n, &o->pol, NULL, reason);
	free(p);
}

#endif /* cmocka_unit_test */

#endif
