/*
 * verify: the order of the checks and the policy. Each check is a small
 * function that either passes or records its failure; the first failure
 * ends the run, so the answer always names the earliest thing that is
 * wrong. The certificate path and its cache live in verify_chain.c. Nothing
 * here trusts a field before the signature over it has been checked,
 * except to decide which key to check it with.
 */
#include "common/attest/verify.h"

#include <errno.h>
#include <inttypes.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/attest/cose.h"
#include "common/attest/verify_int.h"

static const char *const check_names[] = {
	[CELLA_VERIFY_OK] = "ok",
	[CELLA_VERIFY_COSE] = "cose",
	[CELLA_VERIFY_ALG] = "alg",
	[CELLA_VERIFY_PAYLOAD] = "payload",
	[CELLA_VERIFY_DIGEST] = "digest",
	[CELLA_VERIFY_ROOT] = "root",
	[CELLA_VERIFY_CHAIN] = "chain",
	[CELLA_VERIFY_CONSTRAINTS] = "constraints",
	[CELLA_VERIFY_KEY_USAGE] = "key usage",
	[CELLA_VERIFY_LEAF_KEY] = "leaf key",
	[CELLA_VERIFY_SIGNATURE] = "signature",
	[CELLA_VERIFY_PCR_LENGTH] = "pcr length",
	[CELLA_VERIFY_DEBUG] = "debug",
	[CELLA_VERIFY_NONCE] = "nonce",
	[CELLA_VERIFY_PCR] = "pcr",
	[CELLA_VERIFY_TIMESTAMP] = "timestamp",
	[CELLA_VERIFY_AGE] = "age",
};

/* The envelope: one array, four items, a tiny unprotected map. */
static const struct cella_cbor_limits envelope_limits = {
	.max_bytes = CELLA_ATTDOC_MAX,
	.max_depth = 4,
	.max_items = 32,
	.max_str = CELLA_ATTDOC_MAX,
};

const char *
cella_verify_check_name(enum cella_verify_check c)
{
	if ((size_t)c >= sizeof(check_names) / sizeof(check_names[0]))
		return "unknown";
	return check_names[c];
}

int
cella_verify_fail_(struct cella_verify_result *res, struct cella_diag *d,
		   enum cella_verify_check c, const char *fmt, ...)
{
	char detail[sizeof(d->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	res->failed = c;
	return cella_diag_set(d, -EBADMSG, "%s: %s", cella_verify_check_name(c),
			      detail);
}

/* cose.c's messages say "cose: ..."; the check's name says it already. */
static const char *
unprefixed(const struct cella_diag *sub)
{
	return strncmp(sub->msg, "cose: ", 6) == 0 ? sub->msg + 6 : sub->msg;
}

void
cella_verify_policy_init(struct cella_verify_policy *pol)
{
	memset(pol, 0, sizeof(*pol));
}

void
cella_verify_result_fini(struct cella_verify_result *res)
{
	if (res == NULL)
		return;
	cella_attdoc_fini(&res->doc);
	res->nchain = 0;
}

/* --- the built-in root --- */

static pthread_once_t aws_once = PTHREAD_ONCE_INIT;
static X509 *aws_root;

static void
aws_root_load(void)
{
	const uint8_t *q = cella_verify_aws_root_der;
	uint8_t md[32];
	unsigned mdlen = 0;

	if (EVP_Digest(cella_verify_aws_root_der, cella_verify_aws_root_der_len,
		       md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen != sizeof(md) ||
	    memcmp(md, cella_verify_aws_root_sha256, sizeof(md)) != 0)
		return;
	aws_root = d2i_X509(NULL, &q, (long)cella_verify_aws_root_der_len);
}

int
cella_verify_aws_root(X509 **out)
{
	pthread_once(&aws_once, aws_root_load);
	if (aws_root == NULL || !X509_up_ref(aws_root))
		return -EFAULT;
	*out = aws_root;
	return 0;
}

int
cella_verify_root_load(const char *path, X509 **out, struct cella_diag *d)
{
	FILE *f = fopen(path, "r");
	X509 *x;

	if (f == NULL)
		return cella_diag_set(d, -errno, "%s: %s", path,
				      cella_strerror(errno));
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (x == NULL) {
		ERR_clear_error();
		return cella_diag_set(d, -EINVAL,
				      "%s: no PEM certificate in it", path);
	}
	*out = x;
	return 0;
}

/* --- the checks after the chain --- */

static int
check_pcr_lengths(const struct cella_attdoc *doc,
		  struct cella_verify_result *res, struct cella_diag *d)
{
	for (unsigned i = 0; i < CELLA_ATTDOC_PCRS; i++)
		if ((doc->pcr_mask & (UINT32_C(1) << i)) &&
		    doc->pcrs[i].n != CELLA_VERIFY_PCR_LEN)
			return cella_verify_fail_(
				res, d, CELLA_VERIFY_PCR_LENGTH,
				"PCR%u is %zu bytes, SHA384 needs %d", i,
				doc->pcrs[i].n, CELLA_VERIFY_PCR_LEN);
	return 0;
}

static bool
pcr_is_zero(const struct cella_attdoc *doc, unsigned i)
{
	if (!(doc->pcr_mask & (UINT32_C(1) << i)))
		return true; /* unmeasured counts as zero: fail closed */
	for (size_t k = 0; k < doc->pcrs[i].n; k++)
		if (doc->pcrs[i].p[k] != 0)
			return false;
	return true;
}

static int
check_policy(const struct cella_verify_policy *pol,
	     const struct cella_attdoc *doc, struct cella_verify_result *res,
	     struct cella_diag *d)
{
	if (!pol->allow_debug && pcr_is_zero(doc, 0) && pcr_is_zero(doc, 1) &&
	    pcr_is_zero(doc, 2))
		return cella_verify_fail_(res, d, CELLA_VERIFY_DEBUG,
					  "PCR0, PCR1 and PCR2 are zero "
					  "(debug-mode enclave)");
	if (pol->has_nonce) {
		if (!doc->has_nonce)
			return cella_verify_fail_(res, d, CELLA_VERIFY_NONCE,
						  "document has no nonce");
		if (doc->nonce.n != pol->nonce.n ||
		    (doc->nonce.n > 0 &&
		     memcmp(doc->nonce.p, pol->nonce.p, doc->nonce.n) != 0))
			return cella_verify_fail_(res, d, CELLA_VERIFY_NONCE,
						  "does not match");
	}
	for (size_t i = 0; i < pol->npcrs; i++) {
		unsigned k = pol->pcrs[i].index;

		if (!(doc->pcr_mask & (UINT32_C(1) << k)))
			return cella_verify_fail_(res, d, CELLA_VERIFY_PCR,
						  "PCR%u absent", k);
		if (memcmp(doc->pcrs[k].p, pol->pcrs[i].value,
			   CELLA_VERIFY_PCR_LEN) != 0)
			return cella_verify_fail_(res, d, CELLA_VERIFY_PCR,
						  "PCR%u does not match", k);
	}
	return 0;
}

static int
check_time(const struct cella_verify_policy *pol,
	   const struct cella_attdoc *doc, int64_t at,
	   struct cella_verify_result *res, struct cella_diag *d)
{
	/* In milliseconds, as the document counts; at is >= 0 here. */
	uint64_t now_ms = (uint64_t)at * 1000, ts = doc->timestamp_ms;

	if (ts > now_ms + (uint64_t)CELLA_VERIFY_SKEW_S * 1000)
		return cella_verify_fail_(res, d, CELLA_VERIFY_TIMESTAMP,
					  "%" PRIu64 " s in the future",
					  (ts - now_ms) / 1000);
	if (pol->max_age_s > 0 && pol->max_age_s < UINT64_MAX / 1000 &&
	    ts < now_ms && now_ms - ts > pol->max_age_s * 1000)
		return cella_verify_fail_(res, d, CELLA_VERIFY_AGE,
					  "%" PRIu64 " ms old, at most %" PRIu64
					  " s",
					  now_ms - ts, pol->max_age_s);
	return 0;
}

/* --- the run --- */

static int
check_envelope(const uint8_t *p, size_t n, struct cella_cose_sign1 *m,
	       struct cella_verify_result *res, struct cella_diag *d)
{
	struct cella_diag sub = {{0}};
	struct cella_span digest;

	if (cella_cose_sign1_parse(p, n, &envelope_limits, m, &sub) < 0)
		return cella_verify_fail_(res, d, CELLA_VERIFY_COSE, "%s",
					  unprefixed(&sub));
	if (m->alg != CELLA_COSE_ES384)
		return cella_verify_fail_(res, d, CELLA_VERIFY_ALG,
					  "%s, expected ES384",
					  cella_cose_alg_name(m->alg));
	if (cella_attdoc_parse(m->payload, &res->doc, &sub) < 0)
		return cella_verify_fail_(res, d, CELLA_VERIFY_PAYLOAD, "%s",
					  sub.msg);
	digest = res->doc.digest;
	if (digest.n != 6 || memcmp(digest.p, "SHA384", 6) != 0)
		return cella_verify_fail_(res, d, CELLA_VERIFY_DIGEST,
					  "'%.*s', expected SHA384",
					  (int)digest.n, (const char *)digest.p);
	return 0;
}

static int
policy_ok(const struct cella_verify_policy *pol, struct cella_diag *d)
{
	for (size_t i = 0; i < pol->npcrs; i++)
		if (pol->pcrs[i].index >= CELLA_ATTDOC_PCRS)
			return cella_diag_set(d, -EINVAL,
					      "policy: PCR index %u over 31",
					      pol->pcrs[i].index);
	if (pol->has_nonce && pol->nonce.n > CELLA_ATTDOC_OPT_MAX)
		return cella_diag_set(d, -EINVAL,
				      "policy: nonce over %d bytes",
				      CELLA_ATTDOC_OPT_MAX);
	if (pol->at < 0 || pol->at > CELLA_VERIFY_AT_MAX)
		return cella_diag_set(d, -EINVAL,
				      "policy: time out of range 0..%lld",
				      (long long)CELLA_VERIFY_AT_MAX);
	return 0;
}

/* The pinned root as DER: the built-in bytes, or the caller's, encoded. */
static int
root_der(const struct cella_verify_policy *pol, uint8_t **owned,
	 struct cella_span *out, struct cella_diag *d)
{
	X509 *x = NULL;
	int len;

	*owned = NULL;
	if (pol->root == NULL) {
		if (cella_verify_aws_root(&x) < 0)
			return cella_diag_set(d, -EFAULT,
					      "built-in root is damaged");
		X509_free(x);
		*out = CELLA_SPAN(cella_verify_aws_root_der,
				  cella_verify_aws_root_der_len);
		return 0;
	}
	len = i2d_X509(pol->root, owned);
	if (len <= 0)
		return cella_diag_set(d, -ENOMEM, "cannot encode the root");
	*out = CELLA_SPAN(*owned, (size_t)len);
	return 0;
}

int
cella_verify(const uint8_t *p, size_t n,
	     const struct cella_verify_policy *pol,
	     struct cella_verify_cache *cache,
	     struct cella_verify_result *res, struct cella_diag *d)
{
	struct cella_cose_sign1 m;
	struct cella_diag sub = {{0}};
	struct cella_span root;
	EVP_PKEY *leaf = NULL;
	uint8_t *owned = NULL;
	int rv;

	memset(res, 0, sizeof(*res));
	res->at = pol->at != 0 ? pol->at : (int64_t)time(NULL);
	if ((rv = policy_ok(pol, d)) < 0 ||
	    (rv = root_der(pol, &owned, &root, d)) < 0)
		goto out;
	if ((rv = check_envelope(p, n, &m, res, d)) < 0 ||
	    (rv = cella_verify_chain_(cache, root, &res->doc, res->at, res,
				      &leaf, d)) < 0)
		goto out;
	rv = cella_cose_sign1_verify(&m, leaf, CELLA_SPAN(NULL, 0), &sub);
	if (rv == -ENOMEM)
		goto out;
	if (rv < 0) {
		rv = cella_verify_fail_(res, d, CELLA_VERIFY_SIGNATURE, "%s",
					unprefixed(&sub));
		goto out;
	}
	if ((rv = check_pcr_lengths(&res->doc, res, d)) < 0 ||
	    (rv = check_policy(pol, &res->doc, res, d)) < 0 ||
	    (rv = check_time(pol, &res->doc, res->at, res, d)) < 0)
		goto out;
	res->failed = CELLA_VERIFY_OK;
out:
	EVP_PKEY_free(leaf);
	OPENSSL_free(owned);
	return rv;
}
