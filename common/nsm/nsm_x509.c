/*
 * nsm_x509: certificate building on OpenSSL's X509 API. Extensions are
 * given in OpenSSL's configuration syntax ("critical,CA:TRUE,pathlen:1")
 * because that is the form a reader can check against `openssl x509
 * -text`; parsing it costs microseconds next to the signature.
 */
#include "common/nsm/nsm_x509.h"

#include <errno.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
cella_nsm_x509_keygen(EVP_PKEY **out)
{
	EVP_PKEY *k = EVP_EC_gen("P-384");

	if (k == NULL)
		return cella_err_ssl(-ENOMEM, NULL, 0);
	*out = k;
	return 0;
}

static int
set_name(X509_NAME *name, const struct cella_nsm_certspec *s)
{
	for (size_t i = 0; i < s->n_subject; i++) {
		if (!X509_NAME_add_entry_by_txt(
			    name, s->subject[i].field, MBSTRING_UTF8,
			    (const unsigned char *)s->subject[i].value, -1, -1,
			    0))
			return -EINVAL;
	}
	return 0;
}

static int
set_serial(X509 *x, const struct cella_nsm_certspec *s)
{
	BIGNUM *bn;
	int ok;

	if (s->serial_len == 0 || s->serial_len > 20)
		return -EINVAL;
	bn = BN_bin2bn(s->serial, (int)s->serial_len, NULL);
	if (bn == NULL)
		return -ENOMEM;
	ok = BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL;
	BN_free(bn);
	return ok ? 0 : -ENOMEM;
}

static int
add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	X509_EXTENSION *ext = X509V3_EXT_nconf_nid(NULL, ctx, nid, value);
	int ok;

	if (ext == NULL)
		return -EINVAL;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -ENOMEM;
}

static void
key_usage_text(unsigned ku, bool critical, char *buf, size_t len)
{
	static const struct {
		unsigned bit;
		const char *name;
	} names[] = {
		{CELLA_NSM_KU_DIGITAL_SIGNATURE, "digitalSignature"},
		{CELLA_NSM_KU_NON_REPUDIATION, "nonRepudiation"},
		{CELLA_NSM_KU_KEY_CERT_SIGN, "keyCertSign"},
		{CELLA_NSM_KU_CRL_SIGN, "cRLSign"},
	};
	size_t off = (size_t)snprintf(buf, len, "%s", critical ? "critical" : "");

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!(ku & names[i].bit) || off >= len)
			continue;
		off += (size_t)snprintf(buf + off, len - off, "%s%s",
					off > 0 ? "," : "", names[i].name);
	}
}

static int
add_extensions(X509 *x, const struct cella_nsm_certspec *s)
{
	X509V3_CTX ctx;
	char bc[64], ku[128];
	int rc;

	X509V3_set_ctx(&ctx, s->issuer ? s->issuer : x, x, NULL, NULL, 0);
	if (s->ca && s->pathlen >= 0)
		snprintf(bc, sizeof(bc), "critical,CA:TRUE,pathlen:%d",
			 s->pathlen);
	else
		snprintf(bc, sizeof(bc), "critical,CA:%s",
			 s->ca ? "TRUE" : "FALSE");
	key_usage_text(s->key_usage, s->key_usage_critical, ku, sizeof(ku));
	rc = add_ext(x, &ctx, NID_basic_constraints, bc);
	if (rc == 0 && s->key_usage != 0)
		rc = add_ext(x, &ctx, NID_key_usage, ku);
	if (rc == 0 && s->key_ids)
		rc = add_ext(x, &ctx, NID_subject_key_identifier, "hash");
	if (rc == 0 && s->key_ids && s->issuer != NULL)
		rc = add_ext(x, &ctx, NID_authority_key_identifier,
			     "keyid:always");
	return rc;
}

static int
fill(X509 *x, const struct cella_nsm_certspec *s, struct cella_diag *d)
{
	X509_NAME *subject = X509_get_subject_name(x);
	int rc;

	if (!X509_set_version(x, 2) || !X509_set_pubkey(x, s->key))
		return -ENOMEM;
	if ((rc = set_serial(x, s)) < 0)
		return cella_diag_set(d, rc, "certificate serial refused");
	if ((rc = set_name(subject, s)) < 0)
		return cella_diag_set(d, rc, "certificate subject refused "
				      "(a name too long?)");
	if (!X509_set_issuer_name(x, s->issuer ? X509_get_subject_name(s->issuer)
					       : subject))
		return -ENOMEM;
	if (!ASN1_TIME_set(X509_getm_notBefore(x), (time_t)s->not_before) ||
	    !ASN1_TIME_set(X509_getm_notAfter(x), (time_t)s->not_after))
		return cella_diag_set(d, -EINVAL, "certificate validity "
				      "refused");
	if ((rc = add_extensions(x, s)) < 0)
		return cella_diag_set(d, rc, "certificate extensions refused");
	return 0;
}

int
cella_nsm_x509_issue(const struct cella_nsm_certspec *s, X509 **out,
		     struct cella_diag *d)
{
	EVP_PKEY *signer = s->issuer ? s->issuer_key : s->key;
	X509 *x = X509_new();
	int rc;

	if (x == NULL)
		return -ENOMEM;
	rc = fill(x, s, d);
	if (rc == 0 && X509_sign(x, signer, EVP_sha384()) <= 0)
		rc = cella_diag_set(d, cella_err_ssl(-EPROTO, NULL, 0),
				    "certificate signature failed");
	if (rc < 0) {
		ERR_clear_error();
		X509_free(x);
		return rc;
	}
	*out = x;
	return 0;
}

int
cella_nsm_x509_der(X509 *x, uint8_t **der, size_t *len)
{
	unsigned char *p = NULL;
	int n = i2d_X509(x, &p);

	if (n <= 0)
		return -ENOMEM;
	*der = p;
	*len = (size_t)n;
	return 0;
}

int
cella_nsm_x509_cn(X509 *x, char *buf, size_t len)
{
	int n = X509_NAME_get_text_by_NID(X509_get_subject_name(x),
					  NID_commonName, NULL, 0);

	if (n < 0)
		return -ENOENT;
	if ((size_t)n >= len)
		return -EMSGSIZE;
	X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName,
				  buf, (int)len);
	return 0;
}
