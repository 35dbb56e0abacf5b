/*
 * nsm_x509: the certificates of the simulated Nitro PKI, built the way
 * AWS's look (P-384 keys, ecdsa-with-SHA384, critical basicConstraints,
 * key usage, key identifiers on CAs only). Used by the sim provider for
 * its per-document leaves and by `cella sim-ca` for the root and the
 * intermediates. Deliberately not a general X.509 toolkit: no CSRs, CRLs,
 * SANs or other curves.
 */
#ifndef CELLA_NSM_X509_H
#define CELLA_NSM_X509_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/core/err.h"

struct cella_nsm_rdn {
	const char *field; /* "C", "O", "OU", "CN", ... */
	const char *value;
};

/* Key usage bits, as OpenSSL's KU_* (x509v3.h). */
#define CELLA_NSM_KU_DIGITAL_SIGNATURE 0x0080
#define CELLA_NSM_KU_NON_REPUDIATION 0x0040
#define CELLA_NSM_KU_KEY_CERT_SIGN 0x0004
#define CELLA_NSM_KU_CRL_SIGN 0x0002

struct cella_nsm_certspec {
	const struct cella_nsm_rdn *subject;
	size_t n_subject;
	EVP_PKEY *key;	      /* the subject's key pair (public part used) */
	X509 *issuer;	      /* NULL: self-signed with key */
	EVP_PKEY *issuer_key; /* the issuer's private key (issuer != NULL) */
	const uint8_t *serial; /* big-endian, taken as a positive integer */
	size_t serial_len;     /* 1..20 */
	int64_t not_before, not_after; /* UNIX seconds */
	bool ca;
	int pathlen; /* CA only; < 0: no constraint */
	unsigned key_usage;
	bool key_usage_critical;
	bool key_ids; /* subject key id, and authority key id when issued */
};

/* A fresh P-384 key pair. */
int cella_nsm_x509_keygen(EVP_PKEY **out);

/*
 * Build and sign (ECDSA with SHA-384) the certificate s describes. -EINVAL
 * for a spec OpenSSL refuses (d says what), -ENOMEM, -EPROTO when signing
 * fails. *out is the caller's.
 */
int cella_nsm_x509_issue(const struct cella_nsm_certspec *s, X509 **out,
			 struct cella_diag *d);

/* DER of x in a buffer the caller releases with OPENSSL_free. */
int cella_nsm_x509_der(X509 *x, uint8_t **der, size_t *len);

/* The subject's commonName into buf (NUL-terminated); -ENOENT, -EMSGSIZE. */
int cella_nsm_x509_cn(X509 *x, char *buf, size_t len);

#endif
