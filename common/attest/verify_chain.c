/*
 * verify_chain: from the pinned root to the document's leaf, with the cache
 * (verify_cache.c) that makes the next document from the same enclave
 * cheap. The path is the cabundle as it stands (root first) plus the leaf:
 * OpenSSL builds and checks it (X509_STRICT, at the policy's time), and cella then insists
 * that what OpenSSL built is exactly that path, so the cache can name each
 * certificate by (its hash, its issuer's hash, the root's hash, its depth).
 * A certificate remembered under that name was checked, with everything
 * above it, by a full verification; what is re-checked on a hit is its
 * validity window at the new time. With the ancestors remembered, OpenSSL
 * verifies only the new part, anchored (PARTIAL_CHAIN) at the deepest
 * remembered certificate.
 *
 * One deviation from X509_STRICT, and only one: missing key identifiers
 * are forgiven. Every real Nitro leaf has no Authority Key Identifier, and
 * instance CAs issued until about 2023 have neither Authority nor Subject
 * Key Identifier (RFC 5280 says MUST). Key identifiers only help to find an
 * issuer; here the path is fixed by the cabundle and every signature on it
 * is checked, so nothing is lost. Every other strict check stays. Revocation
 * is not checked: the regional and zonal CAs name CRLs, but fetching them
 * needs the network, and a verifier here runs offline at a given time.
 */
#include <errno.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/attest/verify_int.h"

/* --- the path --- */

static void
path_free(struct cella_verify_path *pa)
{
	for (size_t i = 0; i < pa->n; i++)
		X509_free(pa->x[i]);
	pa->n = 0;
}

static int
asn1_to_unix(const ASN1_TIME *t, int64_t *out)
{
	struct tm tm;

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return -EBADMSG;
	*out = (int64_t)timegm(&tm);
	return 0;
}

static const char *
cert_name(const struct cella_verify_path *pa, size_t i, char *buf, size_t cap)
{
	if (i + 1 == pa->n)
		return "certificate";
	snprintf(buf, cap, "cabundle[%zu]", i);
	return buf;
}

/* The bytes and their hashes; nothing is parsed yet. */
static int
path_build(struct cella_verify_path *pa, struct cella_span root_der,
	   const struct cella_attdoc *doc, struct cella_verify_result *res,
	   struct cella_diag *d)
{
	if (doc->cabundle[0].n != root_der.n ||
	    memcmp(doc->cabundle[0].p, root_der.p, root_der.n) != 0)
		return cella_verify_fail_(res, d, CELLA_VERIFY_ROOT,
					  "cabundle[0] is not the pinned root");
	for (size_t i = 0; i < doc->ncabundle; i++)
		pa->der[i] = doc->cabundle[i];
	pa->der[doc->ncabundle] = doc->certificate;
	pa->n = doc->ncabundle + 1;
	for (size_t i = 0; i < pa->n; i++)
		if (EVP_Digest(pa->der[i].p, pa->der[i].n, pa->h[i], NULL,
			       EVP_sha256(), NULL) != 1)
			return -ENOMEM;
	return 0;
}

/* Parse what the cache did not hand over. */
static int
path_parse(struct cella_verify_path *pa, struct cella_verify_result *res,
	   struct cella_diag *d)
{
	char nm[32];

	for (size_t i = 0; i < pa->n; i++) {
		const uint8_t *q = pa->der[i].p;

		if (pa->x[i] != NULL)
			continue;
		pa->x[i] = d2i_X509(NULL, &q, (long)pa->der[i].n);
		if (pa->x[i] == NULL || q != pa->der[i].p + pa->der[i].n) {
			ERR_clear_error();
			return cella_verify_fail_(res, d, CELLA_VERIFY_CHAIN,
						  "%s is not a DER certificate",
						  cert_name(pa, i, nm,
							    sizeof(nm)));
		}
		if (asn1_to_unix(X509_get0_notBefore(pa->x[i]), &pa->nb[i]) <
			    0 ||
		    asn1_to_unix(X509_get0_notAfter(pa->x[i]), &pa->na[i]) < 0)
			return cella_verify_fail_(res, d, CELLA_VERIFY_CHAIN,
						  "%s has a bad validity time",
						  cert_name(pa, i, nm,
							    sizeof(nm)));
	}
	return 0;
}

static int
forgive_key_ids(int ok, X509_STORE_CTX *ctx)
{
	int err = X509_STORE_CTX_get_error(ctx);

	if (!ok && (err == X509_V_ERR_MISSING_AUTHORITY_KEY_IDENTIFIER ||
		    err == X509_V_ERR_MISSING_SUBJECT_KEY_IDENTIFIER))
		return 1;
	return ok;
}

/* What OpenSSL built is exactly x[anchor .. n - 1], leaf first. */
static bool
built_is_path(X509_STORE_CTX *ctx, const struct cella_verify_path *pa,
	      size_t anchor)
{
	STACK_OF(X509) *built = X509_STORE_CTX_get0_chain(ctx);

	if (built == NULL || (size_t)sk_X509_num(built) != pa->n - anchor)
		return false;
	for (size_t k = 0; k < pa->n - anchor; k++)
		if (X509_cmp(sk_X509_value(built, (int)k),
			     pa->x[pa->n - 1 - k]) != 0)
			return false;
	return true;
}

static int
openssl_failure(X509_STORE_CTX *ctx, const struct cella_verify_path *pa,
		struct cella_verify_result *res, struct cella_diag *d)
{
	int depth = X509_STORE_CTX_get_error_depth(ctx);
	char nm[32];

	return cella_verify_fail_(
		res, d, CELLA_VERIFY_CHAIN, "%s: %s",
		depth >= 0 && (size_t)depth < pa->n
			? cert_name(pa, pa->n - 1 - (size_t)depth, nm,
				    sizeof(nm))
			: "path",
		X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx)));
}

/* OpenSSL verifies x[anchor + 1 .. n - 1] under x[anchor] at time t. */
static int
path_openssl(struct cella_verify_path *pa, size_t anchor, int64_t t,
	     struct cella_verify_result *res, struct cella_diag *d)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	STACK_OF(X509) *untrusted = sk_X509_new_null();
	X509_VERIFY_PARAM *param;
	unsigned long flags = X509_V_FLAG_X509_STRICT;
	int rv = -ENOMEM;

	if (store == NULL || ctx == NULL || untrusted == NULL ||
	    X509_STORE_add_cert(store, pa->x[anchor]) != 1)
		goto out;
	for (size_t i = anchor + 1; i + 1 < pa->n; i++)
		if (!sk_X509_push(untrusted, pa->x[i]))
			goto out;
	if (X509_STORE_CTX_init(ctx, store, pa->x[pa->n - 1], untrusted) != 1)
		goto out;
	param = X509_STORE_CTX_get0_param(ctx);
	if (anchor > 0)
		flags |= X509_V_FLAG_PARTIAL_CHAIN;
	X509_VERIFY_PARAM_set_flags(param, flags);
	X509_VERIFY_PARAM_set_time(param, (time_t)t);
	X509_VERIFY_PARAM_set_depth(param, CELLA_VERIFY_CHAIN_MAX);
	X509_STORE_CTX_set_verify_cb(ctx, forgive_key_ids);
	if (X509_verify_cert(ctx) != 1)
		rv = openssl_failure(ctx, pa, res, d);
	else if (!built_is_path(ctx, pa, anchor))
		rv = cella_verify_fail_(res, d, CELLA_VERIFY_CHAIN,
					"cabundle is not the path from the "
					"root to the certificate");
	else
		rv = 0;
out:
	ERR_clear_error();
	sk_X509_free(untrusted);
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	return rv;
}

/* Basic constraints and path lengths: the cache relies on these too. */
static int
path_constraints(const struct cella_verify_path *pa, struct cella_verify_result *res,
		 struct cella_diag *d)
{
	char nm[32];

	for (size_t i = 0; i < pa->n; i++) {
		uint32_t fl = X509_get_extension_flags(pa->x[i]);
		bool leaf = i + 1 == pa->n, ca = (fl & EXFLAG_BCONS) &&
						 (fl & EXFLAG_CA);
		long plen = X509_get_pathlen(pa->x[i]);
		size_t below = leaf ? 0 : pa->n - 2 - i;

		cert_name(pa, i, nm, sizeof(nm));
		if (fl & EXFLAG_INVALID)
			return cella_verify_fail_(res, d,
						  CELLA_VERIFY_CONSTRAINTS,
						  "%s has invalid extensions",
						  nm);
		if (leaf && (fl & EXFLAG_CA))
			return cella_verify_fail_(res, d,
						  CELLA_VERIFY_CONSTRAINTS,
						  "certificate is a CA");
		if (!leaf && !ca)
			return cella_verify_fail_(res, d,
						  CELLA_VERIFY_CONSTRAINTS,
						  "%s is not a CA", nm);
		if (!leaf && plen >= 0 && below > (size_t)plen)
			return cella_verify_fail_(
				res, d, CELLA_VERIFY_CONSTRAINTS,
				"%s path length %ld, %zu CAs below it", nm,
				plen, below);
	}
	return 0;
}

static int
path_key_usage(const struct cella_verify_path *pa, struct cella_verify_result *res,
	       struct cella_diag *d)
{
	char nm[32];

	for (size_t i = 0; i < pa->n; i++) {
		uint32_t fl = X509_get_extension_flags(pa->x[i]);
		uint32_t ku = X509_get_key_usage(pa->x[i]);
		bool leaf = i + 1 == pa->n;
		uint32_t need = leaf ? KU_DIGITAL_SIGNATURE : KU_KEY_CERT_SIGN;

		if (!(fl & EXFLAG_KUSAGE) || !(ku & need))
			return cella_verify_fail_(
				res, d, CELLA_VERIFY_KEY_USAGE, "%s lacks %s",
				cert_name(pa, i, nm, sizeof(nm)),
				leaf ? "digitalSignature" : "keyCertSign");
	}
	return 0;
}

static int
leaf_key(const struct cella_verify_path *pa, EVP_PKEY **out,
	 struct cella_verify_result *res, struct cella_diag *d)
{
	EVP_PKEY *k = X509_get0_pubkey(pa->x[pa->n - 1]);
	char group[32] = "";

	if (k == NULL || !EVP_PKEY_is_a(k, "EC") ||
	    !EVP_PKEY_get_group_name(k, group, sizeof(group), NULL) ||
	    strcmp(group, "secp384r1") != 0) {
		ERR_clear_error();
		return cella_verify_fail_(res, d, CELLA_VERIFY_LEAF_KEY,
					  "not EC P-384");
	}
	if (!EVP_PKEY_up_ref(k))
		return -ENOMEM;
	*out = k;
	return 0;
}

static void
subjects(const struct cella_verify_path *pa, struct cella_verify_result *res)
{
	for (size_t i = 0; i < pa->n; i++) {
		BIO *b = BIO_new(BIO_s_mem());
		int len = 0;

		res->chain[i][0] = '\0';
		if (b != NULL &&
		    X509_NAME_print_ex(b, X509_get_subject_name(pa->x[i]), 0,
				       XN_FLAG_RFC2253) >= 0)
			len = BIO_read(b, res->chain[i],
				       CELLA_VERIFY_SUBJECT_MAX - 1);
		res->chain[i][len > 0 ? len : 0] = '\0';
		BIO_free(b);
	}
	res->nchain = pa->n;
}

int
cella_verify_chain_(struct cella_verify_cache *cache,
		    struct cella_span root_der, const struct cella_attdoc *doc,
		    int64_t at, struct cella_verify_result *res,
		    EVP_PKEY **leaf, struct cella_diag *d)
{
	struct cella_verify_path pa;
	size_t known;
	int rv;

	memset(&pa, 0, sizeof(pa));
	if ((rv = path_build(&pa, root_der, doc, res, d)) < 0)
		goto out;
	known = cella_verify_cache_prefix_(cache, &pa, at);
	if (known < pa.n &&
	    ((rv = path_parse(&pa, res, d)) < 0 ||
	     (rv = path_openssl(&pa, known > 0 ? known - 1 : 0, at, res,
				d)) < 0))
		goto out;
	if ((rv = path_constraints(&pa, res, d)) < 0 ||
	    (rv = path_key_usage(&pa, res, d)) < 0 ||
	    (rv = leaf_key(&pa, leaf, res, d)) < 0)
		goto out;
	if (known < pa.n)
		cella_verify_cache_put_(cache, &pa);
	subjects(&pa, res);
out:
	ERR_clear_error();
	path_free(&pa);
	return rv;
}
