/*
 * cose: COSE_Sign1 parse, verify and sign for ECDSA. The outer array is read
 * with a small head reader over the caller's bytes (after cella_cbor_check
 * has bounded and validated the whole message), because verification must
 * use the protected bytes exactly as they travelled and libcbor would hand
 * back copies. The two header maps are small and go through libcbor. This
 * file does not decide what a payload means, and it does not look at keys
 * beyond "an EC key on the alg's curve": trust in the key is the caller's.
 */
#include "common/attest/cose.h"

#include <errno.h>
#include <inttypes.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <string.h>

enum { MT_UINT, MT_NEGINT, MT_BYTES, MT_TEXT, MT_ARRAY, MT_MAP, MT_TAG };

struct alg_info {
	int64_t alg;
	const char *name;
	const EVP_MD *(*md)(void);
	const char *group;
	size_t coord; /* bytes of r (and of s) */
};

static const struct alg_info algs[] = {
	{CELLA_COSE_ES256, "ES256", EVP_sha256, "prime256v1", 32},
	{CELLA_COSE_ES384, "ES384", EVP_sha384, "secp384r1", 48},
	{CELLA_COSE_ES512, "ES512", EVP_sha512, "secp521r1", 66},
};

/* A header map is tiny; anything bigger is not a header cella would use. */
static const struct cella_cbor_limits hdr_limits = {
	.max_bytes = 512, .max_depth = 4, .max_items = 64, .max_str = 256};

static const struct alg_info *
alg_find(int64_t alg)
{
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (algs[i].alg == alg)
			return &algs[i];
	return NULL;
}

const char *
cella_cose_alg_name(int64_t alg)
{
	const struct alg_info *a = alg_find(alg);

	return a != NULL ? a->name : NULL;
}

/* --- reading heads over bytes that cella_cbor_check already accepted --- */

struct rd {
	const uint8_t *p, *end;
};

static int
rd_head(struct rd *r, unsigned *major, uint64_t *arg)
{
	unsigned ai;
	size_t k;

	if (r->p >= r->end)
		return -EBADMSG;
	*major = *r->p >> 5;
	ai = *r->p++ & 0x1f;
	*arg = ai;
	if (ai < 24)
		return 0;
	if (ai > 27)
		return -EBADMSG;
	k = (size_t)1 << (ai - 24);
	if ((size_t)(r->end - r->p) < k)
		return -EBADMSG;
	*arg = 0;
	for (size_t i = 0; i < k; i++)
		*arg = (*arg << 8) | *r->p++;
	return 0;
}

/* One whole item, iteratively: the gate bounded counts and depth. */
static int
rd_skip(struct rd *r)
{
	uint64_t pending = 1, arg;
	unsigned major;

	while (pending > 0) {
		pending--;
		if (rd_head(r, &major, &arg) < 0)
			return -EBADMSG;
		if (major == MT_BYTES || major == MT_TEXT) {
			if (arg > (uint64_t)(r->end - r->p))
				return -EBADMSG;
			r->p += arg;
		} else if (major == MT_ARRAY) {
			pending += arg;
		} else if (major == MT_MAP) {
			pending += 2 * arg;
		} else if (major == MT_TAG) {
			pending += 1;
		}
	}
	return 0;
}

static int
rd_bstr(struct rd *r, struct cella_span *out)
{
	unsigned major;
	uint64_t arg;

	if (rd_head(r, &major, &arg) < 0 || major != MT_BYTES ||
	    arg > (uint64_t)(r->end - r->p))
		return -EBADMSG;
	*out = CELLA_SPAN(r->p, (size_t)arg);
	r->p += arg;
	return 0;
}

/* --- header maps --- */

static bool
label_of(const cbor_item_t *k, int64_t *label)
{
	uint64_t v;

	if (!cbor_isa_uint(k) && !cbor_isa_negint(k))
		return false;
	v = cbor_get_int(k);
	if (v > INT64_MAX)
		return false;
	*label = cbor_isa_uint(k) ? (int64_t)v : -1 - (int64_t)v;
	return true;
}

/*
 * Find alg (label 1) in an encoded header map. 1 found (*alg set), 0 absent,
 * <0 refused (d says why).
 */
static int
hdr_alg(struct cella_span hdr, const char *bucket, int64_t *alg,
	struct cella_diag *d)
{
	cbor_item_t *map = NULL;
	struct cbor_pair *pairs;
	int rv, found = 0;
	int64_t label;

	if (hdr.n == 0 || (hdr.n == 1 && hdr.p[0] == 0xa0))
		return 0;
	rv = cella_cbor_load(hdr.p, hdr.n, &hdr_limits, &map, NULL);
	if (rv < 0) {
		rv = cella_diag_set(d, -EBADMSG, "cose: %s header: %s", bucket,
				    rv == -EMSGSIZE ? "too large" : "malformed");
		goto out;
	}
	if (!cbor_isa_map(map)) {
		rv = cella_diag_set(d, -EBADMSG, "cose: %s header is not a map",
				    bucket);
		goto out;
	}
	pairs = cbor_map_handle(map);
	for (size_t i = 0; i < cbor_map_size(map); i++) {
		if (!label_of(pairs[i].key, &label))
			continue;
		if (label == 2) {
			rv = cella_diag_set(d, -EBADMSG,
					    "cose: crit header not supported");
			goto out;
		}
		if (label != 1)
			continue;
		if (found) {
			rv = cella_diag_set(d, -EBADMSG,
					    "cose: alg appears twice");
			goto out;
		}
		if (!label_of(pairs[i].value, alg)) {
			rv = cella_diag_set(d, -EBADMSG,
					    "cose: alg is not an integer");
			goto out;
		}
		found = 1;
	}
	rv = found;
out:
	if (map != NULL)
		cbor_decref(&map);
	return rv;
}

static int
parse_headers(struct cella_cose_sign1 *m, struct cella_diag *d)
{
	int64_t alg = 0, ualg = 0;
	int inprot, inunprot;

	inprot = hdr_alg(m->protected_hdr, "protected", &alg, d);
	if (inprot < 0)
		return inprot;
	inunprot = hdr_alg(m->unprotected_hdr, "unprotected", &ualg, d);
	if (inunprot < 0)
		return inunprot;
	if (inprot == 0 && inunprot == 1)
		return cella_diag_set(d, -EBADMSG,
				      "cose: alg only in the unprotected header");
	if (inprot == 0)
		return cella_diag_set(d, -EBADMSG,
				      "cose: no alg in the protected header");
	if (inunprot == 1)
		return cella_diag_set(d, -EBADMSG,
				      "cose: alg in both header buckets");
	if (alg_find(alg) == NULL)
		return cella_diag_set(d, -EBADMSG,
				      "cose: unsupported alg %" PRId64, alg);
	m->alg = alg;
	return 0;
}

static int
parse_outer(const uint8_t *p, size_t n, struct cella_cose_sign1 *m,
	    struct cella_diag *d)
{
	struct rd r = {p, p + n};
	unsigned major;
	uint64_t arg;
	const uint8_t *u;

	if (rd_head(&r, &major, &arg) < 0)
		return cella_diag_set(d, -EBADMSG, "cose: malformed");
	if (major == MT_TAG) {
		if (arg != CELLA_COSE_SIGN1_TAG)
			return cella_diag_set(d, -EBADMSG,
					      "cose: tag %" PRIu64
					      " is not COSE_Sign1 (18)",
					      arg);
		m->tagged = true;
		if (rd_head(&r, &major, &arg) < 0)
			return cella_diag_set(d, -EBADMSG, "cose: malformed");
	}
	if (major != MT_ARRAY || arg != 4)
		return cella_diag_set(d, -EBADMSG,
				      "cose: not an array of 4 items");
	if (rd_bstr(&r, &m->protected_hdr) < 0)
		return cella_diag_set(d, -EBADMSG,
				      "cose: protected header is not a bstr");
	u = r.p;
	if (rd_head(&r, &major, &arg) < 0 || major != MT_MAP)
		return cella_diag_set(d, -EBADMSG,
				      "cose: unprotected header is not a map");
	r.p = u;
	if (rd_skip(&r) < 0)
		return cella_diag_set(d, -EBADMSG, "cose: malformed");
	m->unprotected_hdr = CELLA_SPAN(u, (size_t)(r.p - u));
	if (rd_bstr(&r, &m->payload) < 0)
		return cella_diag_set(d, -EBADMSG,
				      "cose: payload is not a bstr");
	if (rd_bstr(&r, &m->signature) < 0)
		return cella_diag_set(d, -EBADMSG,
				      "cose: signature is not a bstr");
	return 0;
}

int
cella_cose_sign1_parse(const uint8_t *p, size_t n,
		       const struct cella_cbor_limits *lim,
		       struct cella_cose_sign1 *out, struct cella_diag *d)
{
	static const struct cella_cbor_limits dflt = {
		.max_bytes = CELLA_COSE_DEFAULT_MAX,
		.max_depth = 8,
		.max_items = 256,
		.max_str = CELLA_COSE_DEFAULT_MAX,
	};
	struct cella_cose_sign1 m = {0};
	size_t skip;
	int rv;

	/*
	 * The gate refuses one-byte tags 6..20 because libcbor 0.8 cannot load
	 * them; tag 18 is one of them, and the outer array never reaches
	 * libcbor, so the gate sees what follows the tag.
	 */
	skip = n > 0 && p[0] == 0xc0 + CELLA_COSE_SIGN1_TAG;
	rv = cella_cbor_check(p + skip, n - skip, lim != NULL ? lim : &dflt, d);
	if (rv < 0)
		return rv;
	if ((rv = parse_outer(p, n, &m, d)) < 0)
		return rv;
	if ((rv = parse_headers(&m, d)) < 0)
		return rv;
	*out = m;
	return 0;
}

/* --- Sig_structure, signing and verifying --- */

static int
put_head(struct cella_buf *b, unsigned major, uint64_t arg)
{
	uint8_t h[9];
	size_t n = 1, k = 0;

	if (arg < 24) {
		h[0] = (uint8_t)(major << 5 | arg);
	} else {
		k = arg <= 0xff ? 1 : arg <= 0xffff ? 2 : arg <= 0xffffffff ? 4 : 8;
		h[0] = (uint8_t)(major << 5 | (k == 1 ? 24 : k == 2 ? 25 : k == 4 ? 26 : 27));
		for (size_t i = 0; i < k; i++)
			h[1 + i] = (uint8_t)(arg >> (8 * (k - 1 - i)));
		n += k;
	}
	return cella_buf_append(b, h, n);
}

static int
put_bstr(struct cella_buf *b, struct cella_span s)
{
	int rv = put_head(b, MT_BYTES, s.n);

	return rv < 0 ? rv : cella_buf_append(b, s.p, s.n);
}

int
cella_cose_sig_structure(struct cella_span protected_hdr,
			 struct cella_span external_aad,
			 struct cella_span payload, struct cella_buf *out)
{
	static const char ctx[] = "Signature1";
	int rv;

	if ((rv = put_head(out, MT_ARRAY, 4)) < 0 ||
	    (rv = put_head(out, MT_TEXT, sizeof(ctx) - 1)) < 0 ||
	    (rv = cella_buf_append(out, ctx, sizeof(ctx) - 1)) < 0 ||
	    (rv = put_bstr(out, protected_hdr)) < 0 ||
	    (rv = put_bstr(out, external_aad)) < 0)
		return rv;
	return put_bstr(out, payload);
}

static bool
key_fits(EVP_PKEY *key, const struct alg_info *a)
{
	char group[64];

	if (key == NULL || !EVP_PKEY_is_a(key, "EC"))
		return false;
	if (!EVP_PKEY_get_group_name(key, group, sizeof(group), NULL))
		return false;
	return strcmp(group, a->group) == 0;
}

/* Raw r||s (COSE) to the DER ECDSA-Sig-Value OpenSSL verifies. */
static int
rs_to_der(struct cella_span sig, size_t coord, uint8_t **der, int *derlen)
{
	ECDSA_SIG *es = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(sig.p, (int)coord, NULL);
	BIGNUM *s = BN_bin2bn(sig.p + coord, (int)coord, NULL);
	int rv = -ENOMEM;

	if (es == NULL || r == NULL || s == NULL || !ECDSA_SIG_set0(es, r, s))
		goto out;
	r = s = NULL; /* owned by es now */
	*der = NULL;
	*derlen = i2d_ECDSA_SIG(es, der);
	rv = *derlen > 0 ? 0 : -ENOMEM;
out:
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(es);
	return rv;
}

int
cella_cose_sign1_verify(const struct cella_cose_sign1 *m, EVP_PKEY *key,
			struct cella_span external_aad, struct cella_diag *d)
{
	const struct alg_info *a = alg_find(m->alg);
	struct cella_buf tbs;
	EVP_MD_CTX *ctx = NULL;
	uint8_t *der = NULL;
	int derlen = 0, rv;

	cella_buf_init(&tbs, m->protected_hdr.n + external_aad.n +
				     m->payload.n + 64);
	if (a == NULL) {
		rv = cella_diag_set(d, -EBADMSG, "cose: unsupported alg");
		goto out;
	}
	if (m->signature.n != 2 * a->coord) {
		rv = cella_diag_set(d, -EBADMSG,
				    "cose: signature is %zu bytes, %s needs %zu",
				    m->signature.n, a->name, 2 * a->coord);
		goto out;
	}
	if (!key_fits(key, a)) {
		rv = cella_diag_set(d, -EINVAL, "cose: key is not EC %s",
				    a->group);
		goto out;
	}
	if ((rv = cella_cose_sig_structure(m->protected_hdr, external_aad,
					   m->payload, &tbs)) < 0 ||
	    (rv = rs_to_der(m->signature, a->coord, &der, &derlen)) < 0)
		goto out;
	rv = -ENOMEM;
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		goto out;
	if (EVP_DigestVerifyInit(ctx, NULL, a->md(), NULL, key) != 1 ||
	    EVP_DigestVerify(ctx, der, (size_t)derlen, tbs.p, tbs.len) != 1) {
		ERR_clear_error();
		rv = cella_diag_set(d, -EBADMSG,
				    "cose: %s signature does not verify",
				    a->name);
		goto out;
	}
	rv = 0;
out:
	EVP_MD_CTX_free(ctx);
	OPENSSL_free(der);
	cella_buf_fini(&tbs);
	return rv;
}

/* DER ECDSA-Sig-Value from OpenSSL to COSE's fixed-width r||s. */
static int
der_to_rs(const uint8_t *der, size_t derlen, size_t coord,
	  struct cella_buf *out)
{
	const uint8_t *q = der;
	ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &q, (long)derlen);
	uint8_t rs[2 * 66];
	int rv = -EPROTO;

	if (es == NULL)
		goto out;
	if (BN_bn2binpad(ECDSA_SIG_get0_r(es), rs, (int)coord) < 0 ||
	    BN_bn2binpad(ECDSA_SIG_get0_s(es), rs + coord, (int)coord) < 0)
		goto out;
	rv = put_bstr(out, CELLA_SPAN(rs, 2 * coord));
out:
	ECDSA_SIG_free(es);
	return rv;
}

int
cella_cose_sign1_sign(EVP_PKEY *key, int64_t alg, struct cella_span payload,
		      struct cella_buf *out)
{
	const struct alg_info *a = alg_find(alg);
	uint8_t prot[4] = {0xa1, 0x01};
	struct cella_buf tbs, hdr, msg;
	EVP_MD_CTX *ctx = NULL;
	uint8_t der[160];
	size_t derlen = sizeof(der);
	int rv;

	cella_buf_init(&tbs, payload.n + 64);
	cella_buf_init(&hdr, 2);
	cella_buf_init(&msg, payload.n + 2 * 66 + 32);
	if (a == NULL || !key_fits(key, a)) {
		rv = -EINVAL;
		goto out;
	}
	if ((rv = put_head(&hdr, MT_NEGINT, (uint64_t)(-1 - alg))) < 0)
		goto out;
	memcpy(prot + 2, hdr.p, hdr.len);
	if ((rv = cella_cose_sig_structure(CELLA_SPAN(prot, 2 + hdr.len),
					   CELLA_SPAN(NULL, 0), payload,
					   &tbs)) < 0)
		goto out;
	rv = -ENOMEM;
	if ((ctx = EVP_MD_CTX_new()) == NULL)
		goto out;
	if (EVP_DigestSignInit(ctx, NULL, a->md(), NULL, key) != 1 ||
	    EVP_DigestSign(ctx, der, &derlen, tbs.p, tbs.len) != 1) {
		rv = cella_err_ssl(-EPROTO, NULL, 0);
		goto out;
	}
	/* Built aside and appended whole: no partial message on failure. */
	if ((rv = put_head(&msg, MT_ARRAY, 4)) < 0 ||
	    (rv = put_bstr(&msg, CELLA_SPAN(prot, 2 + hdr.len))) < 0 ||
	    (rv = put_head(&msg, MT_MAP, 0)) < 0 ||
	    (rv = put_bstr(&msg, payload)) < 0 ||
	    (rv = der_to_rs(der, derlen, a->coord, &msg)) < 0)
		goto out;
	rv = cella_buf_append(out, msg.p, msg.len);
out:
	EVP_MD_CTX_free(ctx);
	cella_buf_fini(&msg);
	cella_buf_fini(&tbs);
	cella_buf_fini(&hdr);
	return rv;
}
