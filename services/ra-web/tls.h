/*
 * tls: the HTTPS identity of cella-ra-web. A P-384 key is generated at
 * start in this process and never written anywhere; the certificate is
 * self-signed, because the trust in it comes from an attestation document
 * that binds the SHA-256 of its SubjectPublicKeyInfo (GET /v1/certificate),
 * not from a CA. Also the server SSL_CTX: TLS 1.3 (1.2 when configured,
 * ECDHE with AEAD suites only), ALPN for h2 and http/1.1, and optional
 * client certificates (mTLS) from a configured CA.
 *
 * This module does not serve anything and does not read keys from disk.
 */
#ifndef RA_TLS_H
#define RA_TLS_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/core/err.h"
#include "services/ra-web/config.h"
#include "services/ra-web/metrics.h"

struct ra_tls {
	EVP_PKEY *key;
	X509 *cert;
	SSL_CTX *ctx;
	char *cert_pem; /* NUL-terminated */
	size_t cert_pem_len;
	uint8_t *cert_der;
	size_t cert_der_len;
	uint8_t spki_sha256[32];
	struct ra_metrics *metrics; /* handshake failures; may be NULL */
};

/*
 * Generate the key and certificate (commonName cn, subjectAltNames from
 * c->hostnames) and build the context from c (tls_min, client_ca, http2).
 * On success *out is the caller's (ra_tls_free). -EINVAL (d says why: an
 * unreadable client CA, say), -ENOMEM, -EPROTO when OpenSSL fails.
 */
int ra_tls_new(const struct ra_conf *c, const char *cn,
	       struct ra_metrics *metrics, struct ra_tls **out,
	       struct cella_diag *d);
void ra_tls_free(struct ra_tls *t);

/* SHA-256 of the DER SubjectPublicKeyInfo of key. */
int ra_tls_spki_sha256(EVP_PKEY *key, uint8_t out[32]);

#endif
