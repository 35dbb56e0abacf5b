/*
 * testing/certs: the keys, certificates and signed documents of certs.h,
 * made with OpenSSL's EVP and X509 APIs. Test code: set-up failures abort.
 */
#include "common/testing/certs.h"

#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <stdio.h>
#include <stdlib.h>

uint8_t *
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

EVP_PKEY *
tu_ec_key(const char *group, const uint8_t *x, const uint8_t *y, size_t clen,
	  const uint8_t *priv)
{
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	uint8_t pub[1 + 2 * 66];
	BIGNUM *bn = NULL;
	OSSL_PARAM *params;
	EVP_PKEY *k = NULL;

	TU_CHECK(clen <= 66);
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

EVP_PKEY *
tu_p384_test_key(void)
{
	uint8_t x[48], y[48], dd[48];

	tu_unhex(TU_P384_X, x, 48);
	tu_unhex(TU_P384_Y, y, 48);
	tu_unhex(TU_P384_D, dd, 48);
	return tu_ec_key("secp384r1", x, y, 48, dd);
}

EVP_PKEY *
tu_keygen(const char *group)
{
	EVP_PKEY *k = EVP_EC_gen(group);

	TU_CHECK(k != NULL);
	return k;
}

static void
add_ext(X509 *x, X509 *issuer, int nid, const char *value)
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

static void
set_names(X509 *x, X509 *issuer, const char *cn)
{
	X509_NAME *name = X509_NAME_new();

	TU_CHECK(name != NULL);
	TU_CHECK(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
					    (const uint8_t *)"cella test", -1,
					    -1, 0));
	TU_CHECK(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
					    (const uint8_t *)cn, -1, -1, 0));
	TU_CHECK(X509_set_subject_name(x, name));
	TU_CHECK(X509_set_issuer_name(
		x, issuer != NULL ? X509_get_subject_name(issuer) : name));
	X509_NAME_free(name);
}

X509 *
tu_cert(X509 *issuer, EVP_PKEY *issuer_key, EVP_PKEY *key, const char *cn,
	long serial, int64_t nb, int64_t na, const char *bc, const char *ku)
{
	X509 *x = X509_new();

	TU_CHECK(x != NULL);
	TU_CHECK(X509_set_version(x, X509_VERSION_3));
	TU_CHECK(ASN1_INTEGER_set(X509_get_serialNumber(x), serial));
	set_names(x, issuer, cn);
	TU_CHECK(ASN1_TIME_set(X509_getm_notBefore(x), (time_t)nb) != NULL);
	TU_CHECK(ASN1_TIME_set(X509_getm_notAfter(x), (time_t)na) != NULL);
	TU_CHECK(X509_set_pubkey(x, key));
	add_ext(x, issuer != NULL ? issuer : x, NID_basic_constraints, bc);
	add_ext(x, issuer != NULL ? issuer : x, NID_key_usage, ku);
	if (bc != NULL && strstr(bc, "CA:TRUE") != NULL)
		add_ext(x, x, NID_subject_key_identifier, "hash");
	if (issuer != NULL)
		add_ext(x, issuer, NID_authority_key_identifier,
			"keyid:always");
	TU_CHECK(X509_sign(x, issuer_key, EVP_sha384()) > 0);
	return x;
}

struct cella_span
tu_der(X509 *x, uint8_t **owned)
{
	int n;

	*owned = NULL;
	n = i2d_X509(x, owned);
	TU_CHECK(n > 0);
	return CELLA_SPAN(*owned, (size_t)n);
}

void
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

void
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

void
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

uint8_t *
tu_sign_payload(struct cella_span payload, EVP_PKEY *key, int64_t alg,
		size_t *n)
{
	struct cella_buf out;

	cella_buf_init(&out, CELLA_ATTDOC_MAX * 2);
	TU_CHECK(cella_cose_sign1_sign(key, alg, payload, &out) == 0);
	return cella_buf_steal(&out, n);
}

uint8_t *
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
