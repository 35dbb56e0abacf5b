/*
 * tls: the OpenSSL pieces of the attested bridge. TLS 1.3 only, ALPN
 * "cella-bridge/1". The enclave's server key is generated at start and never
 * leaves memory; its certificate is self-signed, because what makes the
 * server trustworthy is the attestation document bound to the session (see
 * atls.h), not a CA. Clients present an operator certificate (Ed25519,
 * self-signed by `cella keygen`); the server accepts any certificate during
 * the handshake, where TLS proves the client holds its key, and authorizes
 * the key afterwards against the measured `operators:` list.
 *
 * Also the operator key file: one PEM file holding the Ed25519 private key
 * and its certificate, mode 0600.
 */
#ifndef CELLA_TLS_H
#define CELLA_TLS_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/core/err.h"

#define CELLA_TLS_ALPN "cella-bridge/1"
#define CELLA_TLS_EXPORTER_LABEL "EXPORTER-cella-attestation"
#define CELLA_TLS_EXPORTER_LEN 32

/* A fresh P-384 key, and a self-signed certificate for it (CN = cn). */
int cella_tls_keygen_p384(EVP_PKEY **out);
int cella_tls_selfsigned(EVP_PKEY *key, const char *cn, int days, X509 **out,
			 struct cella_diag *d);

/* Server: a fresh key and certificate; requests a client certificate. */
int cella_tls_server_ctx(const char *cn, SSL_CTX **out, struct cella_diag *d);
/* Client: presents key/cert; the server's certificate is judged by the
 * attestation exchange, not here. */
int cella_tls_client_ctx(EVP_PKEY *key, X509 *cert, SSL_CTX **out,
			 struct cella_diag *d);

/*
 * Drive SSL_accept / SSL_connect on a non-blocking fd until done or
 * timeout_ms passed. 0, -ETIMEDOUT, or -EPROTO with OpenSSL's reason in d.
 */
int cella_tls_handshake(SSL *ssl, int fd, bool server, int timeout_ms,
			struct cella_diag *d);

/* The session's exporter value for CELLA_TLS_EXPORTER_LABEL. */
int cella_tls_exporter(SSL *ssl, uint8_t out[CELLA_TLS_EXPORTER_LEN]);

/* The peer's certificate key when it is Ed25519 (-EKEYREJECTED if not). */
int cella_tls_peer_ed25519(SSL *ssl, uint8_t key[32]);

/* SHA-256 of the DER SubjectPublicKeyInfo of cert. */
int cella_tls_spki_sha256(X509 *cert, uint8_t out[32]);

/*
 * Operator key file. generate: a new Ed25519 key and a self-signed
 * certificate (CN = name, 10 years) written to path (0600, temp + rename;
 * an existing file is -EEXIST unless force). load: both back. pub: the raw
 * 32-byte public key.
 */
int cella_opkey_generate(const char *path, const char *name, bool force,
			 struct cella_diag *d);
int cella_opkey_load(const char *path, EVP_PKEY **key, X509 **cert,
		     struct cella_diag *d);
int cella_opkey_public(EVP_PKEY *key, uint8_t out[32]);
/* ~/.config/cella/operator.pem (or $CELLA_OPERATOR_KEY). */
const char *cella_opkey_default_path(char *buf, size_t len);

#endif
