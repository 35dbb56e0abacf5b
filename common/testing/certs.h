/*
 * testing/certs: keys, X.509 chains and signed attestation documents for
 * the cose, attdoc and verify tests and the verify benchmark, built with
 * OpenSSL: EC keys from raw coordinates or fresh, a certificate with the
 * extensions a test names, a root -> intermediate -> leaf chain, a
 * production-looking Nitro payload under it, and its COSE_Sign1. Also the
 * recorded Nitro documents of tests/vectors/nitro. Test code (util.h):
 * set-up failures abort. It does not judge anything; verify.h does.
 */
#ifndef CELLA_TESTING_CERTS_H
#define CELLA_TESTING_CERTS_H

#include <openssl/evp.h>
#include <openssl/x509v3.h>
#include <stdint.h>
#include <string.h>

#include "common/attest/attdoc.h"
#include "common/attest/cose.h"
#include "common/attest/verify.h"
#include "common/testing/util.h"

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

/* A document from tests/vectors/nitro, decoded to binary; caller frees. */
uint8_t *tu_vector(const char *file, size_t *n);

/* An EC key from raw coordinates (and the private scalar, or NULL). */
EVP_PKEY *tu_ec_key(const char *group, const uint8_t *x, const uint8_t *y,
		    size_t clen, const uint8_t *priv);

/* The README's P-384 test key pair. */
EVP_PKEY *tu_p384_test_key(void);

/* A fresh EC key on group ("secp384r1", "P-256", ...). */
EVP_PKEY *tu_keygen(const char *group);

/*
 * A certificate for key, signed by issuer_key (issuer NULL: self-signed),
 * valid [nb, na], with the given basicConstraints and keyUsage values
 * (NULL omits the extension). CAs get key identifiers, as AWS's have.
 */
X509 *tu_cert(X509 *issuer, EVP_PKEY *issuer_key, EVP_PKEY *key,
	      const char *cn, long serial, int64_t nb, int64_t na,
	      const char *bc, const char *ku);

/* x in DER; *owned is the caller's (OPENSSL_free), the span borrows it. */
struct cella_span tu_der(X509 *x, uint8_t **owned);

/* root -> intermediate (pathlen 0) -> leaf, leaf key the README test key. */
struct tu_chain {
	EVP_PKEY *root_key, *int_key, *leaf_key;
	X509 *root, *inter, *leaf;
	uint8_t *der[3];
	struct cella_span root_der, int_der, leaf_der;
};

/* The leaf valid [nb, na], its CAs a day (a year for the root) wider. */
void tu_chain_make(struct tu_chain *c, int64_t nb, int64_t na,
		   const char *leaf_bc, const char *leaf_ku);
void tu_chain_free(struct tu_chain *c);

/* A production-looking payload under c, 16 PCRs (PCR i = i+1 repeated). */
struct tu_doc {
	struct cella_attdoc doc;
	uint8_t pcr[CELLA_ATTDOC_PCRS][CELLA_ATTDOC_PCR_MAX];
};

/* t->doc borrows c's DER: c must outlive t. */
void tu_doc_init(struct tu_doc *t, const struct tu_chain *c, uint64_t ts_ms);

/* payload signed as a COSE_Sign1 with alg; caller frees. */
uint8_t *tu_sign_payload(struct cella_span payload, EVP_PKEY *key,
			 int64_t alg, size_t *n);

/* doc encoded and signed with ES384; caller frees. */
uint8_t *tu_sign_doc(const struct cella_attdoc *doc, EVP_PKEY *key,
		     size_t *n);

#endif
