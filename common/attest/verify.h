/*
 * verify: is this AWS Nitro attestation document true, and does it satisfy
 * the caller's policy? The root is pinned by the caller (AWS Nitro Enclaves
 * Root G1 by default, built in); a root carried inside a document is never
 * trusted: cabundle[0] must be byte-for-byte the pinned root, cabundle[1..]
 * are untrusted intermediates, and the chain is built by OpenSSL at the
 * policy's time, never the wall clock unless the caller asks for it. The
 * checks run in a fixed order and the first failure is the answer:
 *
 *   cose, alg, payload, digest, root, chain, constraints, key usage,
 *   leaf key, signature, pcr length, debug, nonce, pcr, timestamp, age
 *
 * This module does not fetch anything, does not look at user_data's meaning
 * (binding a TLS session or an event log head is the caller's), and does not
 * check revocation: Nitro certificates carry no CRL or OCSP pointers and the
 * leaf lives three hours.
 */
#ifndef CELLA_VERIFY_H
#define CELLA_VERIFY_H

#include <openssl/x509.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/attest/attdoc.h"
#include "common/core/buf.h"
#include "common/core/err.h"

/* A document's timestamp may be this far ahead of the verification time. */
#define CELLA_VERIFY_SKEW_S 60
/* Certificates in a chain: cabundle plus the leaf. */
#define CELLA_VERIFY_CHAIN_MAX (CELLA_ATTDOC_CABUNDLE_MAX + 1)
#define CELLA_VERIFY_SUBJECT_MAX 256
#define CELLA_VERIFY_PCR_LEN 48 /* SHA-384 */
/* The last second of year 9999, the end of X.509's GeneralizedTime. */
#define CELLA_VERIFY_AT_MAX INT64_C(253402300799)

enum cella_verify_check {
	CELLA_VERIFY_OK = 0,
	CELLA_VERIFY_COSE,	  /* COSE_Sign1 structure */
	CELLA_VERIFY_ALG,	  /* ES384 in the protected header */
	CELLA_VERIFY_PAYLOAD,	  /* payload fields, types, sizes */
	CELLA_VERIFY_DIGEST,	  /* digest is "SHA384" */
	CELLA_VERIFY_ROOT,	  /* cabundle[0] is the pinned root */
	CELLA_VERIFY_CHAIN,	  /* X.509 path to the leaf at the time */
	CELLA_VERIFY_CONSTRAINTS, /* basic constraints, path lengths */
	CELLA_VERIFY_KEY_USAGE,	  /* leaf digitalSignature, CAs keyCertSign */
	CELLA_VERIFY_LEAF_KEY,	  /* leaf key is EC P-384 */
	CELLA_VERIFY_SIGNATURE,	  /* COSE ES384 signature by the leaf */
	CELLA_VERIFY_PCR_LENGTH,  /* every PCR is 48 bytes */
	CELLA_VERIFY_DEBUG,	  /* PCR0..2 zero: debug enclave */
	CELLA_VERIFY_NONCE,	  /* nonce equals the expected one */
	CELLA_VERIFY_PCR,	  /* each expected PCR matches */
	CELLA_VERIFY_TIMESTAMP,	  /* not in the future beyond the skew */
	CELLA_VERIFY_AGE,	  /* not older than max_age_s */
};

/* "signature" for CELLA_VERIFY_SIGNATURE and so on; "ok" for OK. */
const char *cella_verify_check_name(enum cella_verify_check c);

struct cella_verify_pcr {
	unsigned index; /* 0..31 */
	uint8_t value[CELLA_VERIFY_PCR_LEN];
};

struct cella_verify_policy {
	X509 *root;	    /* borrowed; NULL: AWS Nitro Enclaves Root G1 */
	int64_t at;	    /* UNIX seconds to verify at; 0: now */
	uint64_t max_age_s; /* 0: no limit */
	bool has_nonce;	    /* nonce must then equal this, byte for byte */
	struct cella_span nonce;
	const struct cella_verify_pcr *pcrs; /* each must be present, equal */
	size_t npcrs;
	bool allow_debug;
};

/* Defaults: built-in root, now, no age limit, no nonce, no PCRs, no debug. */
void cella_verify_policy_init(struct cella_verify_policy *pol);

/*
 * What a document says, valid or not (fields are set as far as parsing got;
 * trust them only when cella_verify returned 0). Spans borrow the result.
 */
struct cella_verify_result {
	enum cella_verify_check failed; /* CELLA_VERIFY_OK when valid */
	struct cella_attdoc doc;
	int64_t at; /* the time the document was verified at */
	size_t nchain;
	/* Subjects (RFC 2253) root first, leaf last. */
	char chain[CELLA_VERIFY_CHAIN_MAX][CELLA_VERIFY_SUBJECT_MAX];
};

void cella_verify_result_fini(struct cella_verify_result *res);

/*
 * Remembers certificates already verified under a root: SHA-256 of the DER,
 * of its issuer's DER and of the root's, its depth and validity window. A
 * chain whose certificates are all remembered, each valid at the time, costs
 * no certificate signature check; a fresh leaf under a remembered issuer
 * costs one. Thread-safe; holds at most max entries (least recently used is
 * replaced). A cache never widens what is accepted: the same document is
 * valid with or without it.
 */
struct cella_verify_cache;

int cella_verify_cache_new(size_t max, struct cella_verify_cache **out);
void cella_verify_cache_free(struct cella_verify_cache *c);
/* Certificates found valid in the cache, and certificates checked afresh. */
void cella_verify_cache_stats(struct cella_verify_cache *c, uint64_t *hits,
			      uint64_t *misses);

/*
 * Verify the COSE_Sign1 document p[0..n) (at most CELLA_ATTDOC_MAX bytes)
 * under pol. cache may be NULL. res is always initialised: call
 * cella_verify_result_fini whatever the outcome.
 *   0          valid; res holds the fields and the chain's subjects.
 *   -EBADMSG   invalid; res->failed names the first failed check, and
 *              d->msg reads "<check>: <detail>" ("signature: cose: ES384
 *              signature does not verify"), one line, for `invalid: ...`.
 *   -EINVAL    the policy itself is wrong (a PCR index over 31).
 *   -ENOMEM, -EFAULT (the built-in root is damaged): not an answer about
 *              the document.
 */
int cella_verify(const uint8_t *p, size_t n,
		 const struct cella_verify_policy *pol,
		 struct cella_verify_cache *cache,
		 struct cella_verify_result *res, struct cella_diag *d);

/* The built-in AWS root, its SHA-256 checked; a new reference. */
int cella_verify_aws_root(X509 **out);

/* Load one PEM certificate (the first in the file) as a root. */
int cella_verify_root_load(const char *path, X509 **out,
			   struct cella_diag *d);

#endif
