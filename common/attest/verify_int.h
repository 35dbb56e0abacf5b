/*
 * verify_int: what verify.c, verify_chain.c and verify_roots.c share and
 * nobody else may use. Not a contract outside common/verify*.
 */
#ifndef CELLA_VERIFY_INT_H
#define CELLA_VERIFY_INT_H

#include <openssl/evp.h>
#include <stdint.h>

#include "common/attest/verify.h"

extern const uint8_t cella_verify_aws_root_der[];
extern const size_t cella_verify_aws_root_der_len;
extern const uint8_t cella_verify_aws_root_sha256[32];

/*
 * One certificate path: x[0] the pinned root, x[n - 1] the leaf. x[i] is
 * NULL until parsed or taken from the cache (each a reference the path
 * owns); h[i] is the SHA-256 of der[i]; [nb, na] the validity window.
 */
struct cella_verify_path {
	struct cella_span der[CELLA_VERIFY_CHAIN_MAX];
	X509 *x[CELLA_VERIFY_CHAIN_MAX];
	uint8_t h[CELLA_VERIFY_CHAIN_MAX][32];
	int64_t nb[CELLA_VERIFY_CHAIN_MAX], na[CELLA_VERIFY_CHAIN_MAX];
	size_t n;
};

/*
 * How many certificates of pa, from the root down, the cache remembers
 * under this root, issuer and depth, each valid at t. For those, x, nb and
 * na are filled in (x a new reference). 0 when c is NULL.
 */
size_t cella_verify_cache_prefix_(struct cella_verify_cache *c,
				  struct cella_verify_path *pa, int64_t t);

/* Remember every certificate of a fully verified path (takes references). */
void cella_verify_cache_put_(struct cella_verify_cache *c,
			     const struct cella_verify_path *pa);

/* Record a failed check: res->failed = c, d = "<name>: <detail>". */
int cella_verify_fail_(struct cella_verify_result *res, struct cella_diag *d,
		       enum cella_verify_check c, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/*
 * The checks root, chain, constraints, key usage and leaf key for doc at
 * time at, under the pinned root whose DER is root_der. On success
 * *leaf_key is a new reference to the leaf's key and res->chain is filled.
 * -EBADMSG through cella_verify_fail_; -ENOMEM.
 */
int cella_verify_chain_(struct cella_verify_cache *cache,
			struct cella_span root_der,
			const struct cella_attdoc *doc, int64_t at,
			struct cella_verify_result *res, EVP_PKEY **leaf_key,
			struct cella_diag *d);

#endif
