/*
 * verify_int: what verify.c, verify_chain.c and verify_roots.c share and
 * nobody else may use. Not a contract outside common/verify*.
 */
#ifndef CELLA_VERIFY_INT_H
#define CELLA_VERIFY_INT_H

#include <openssl/evp.h>
#include <stdint.h>

#include "common/verify.h"

extern const uint8_t cella_verify_aws_root_der[];
extern const size_t cella_verify_aws_root_der_len;
extern const uint8_t cella_verify_aws_root_sha256[32];

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
