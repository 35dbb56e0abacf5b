/*
 * tls: contexts, keys and self-signed certificates for the attested bridge,
 * and the operator key file. Every OpenSSL failure is translated once, here,
 * with its reason in the caller's diagnosis.
 */
#include "common/bridge/tls.h"
#include "common/core/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int
ssl_fail(struct cella_diag *d, const char *what)
{
	char why[256];

	cella_err_ssl(-EPROTO, why, sizeof(why));
	return cella_diag_set(d, -EPROTO, "%s: %s", what, why);
}

int
cella_tls_keygen_p384(EVP_PKEY **out)
{
	EVP_PKEY *k = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");

	if (k == NULL)
		return cella_err_ssl(-ENOMEM, NULL, 0);
	*out = k;
	return 0;
}

static int
add_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (ext == NULL)
		return -1;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok ? 0 : -1;
}

int
cella_tls_selfsigned(EVP_PKEY *key, const char *cn, int days, X509 **out,
		     struct cella_diag *d)
{
	X509 *x = X509_new();
	X509_NAME *name;
	uint8_t serial[16];
	BIGNUM *bn = NULL;
	/* Ed25519 signs without a separate digest. */
	const EVP_MD *md = EVP_PKEY_get_base_id(key) == EVP_PKEY_ED25519
				   ? NULL
				   : EVP_sha384();

	if (x == NULL || RAND_bytes(serial, sizeof(serial)) != 1)
		goto fail;
	serial[0] &= 0x7f; /* a positive serial number */
	if ((bn = BN_bin2bn(serial, sizeof(serial), NULL)) == NULL ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL ||
	    !X509_set_version(x, X509_VERSION_3) ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -300) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x), (long)days * 86400) == NULL ||
	    !X509_set_pubkey(x, key))
		goto fail;
	name = X509_get_subject_name(x);
	if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
					(const unsigned char *)cn, -1, -1, 0) ||
	    !X509_set_issuer_name(x, name) ||
	    add_ext(x, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
	    add_ext(x, NID_key_usage, "critical,digitalSignature") < 0 ||
	    X509_sign(x, key, md) == 0)
		goto fail;
	BN_free(bn);
	*out = x;
	return 0;
fail:
	BN_free(bn);
	X509_free(x);
	return ssl_fail(d, "cannot make a certificate");
}

/* Authorization happens after the handshake, by key: any certificate whose
 * key the peer proves it holds is accepted here. */
static int
accept_any(int preverify, X509_STORE_CTX *ctx)
{
	(void)preverify;
	(void)ctx;
	return 1;
}

static int
alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen,
	    const unsigned char *in, unsigned int inlen, void *arg)
{
	static const unsigned char want[] = "\x0e" CELLA_TLS_ALPN;

	(void)ssl;
	(void)arg;
	if (SSL_select_next_proto((unsigned char **)out, outlen, want,
				  sizeof(want) - 1, in,
				  inlen) != OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	return SSL_TLSEXT_ERR_OK;
}

static SSL_CTX *
ctx_new(const SSL_METHOD *m)
{
	SSL_CTX *ctx = SSL_CTX_new(m);

	if (ctx == NULL)
		return NULL;
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION)) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
				      SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
				      SSL_MODE_RELEASE_BUFFERS);
	/* Read records in batches: one read(2) brings several in. */
	SSL_CTX_set_read_ahead(ctx, 1);
	SSL_CTX_set_default_read_buffer_len(ctx, 64u << 10);
	/* One connection, one session: no tickets to resume from. */
	SSL_CTX_set_num_tickets(ctx, 0);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
			   accept_any);
	return ctx;
}

int
cella_tls_server_ctx(const char *cn, SSL_CTX **out, struct cella_diag *d)
{
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	SSL_CTX *ctx = NULL;
	int rv;

	if ((rv = cella_tls_keygen_p384(&key)) < 0)
		return ssl_fail(d, "cannot generate the server key");
	if ((rv = cella_tls_selfsigned(key, cn, 30, &cert, d)) < 0)
		goto out;
	if ((ctx = ctx_new(TLS_server_method())) == NULL ||
	    !SSL_CTX_use_certificate(ctx, cert) ||
	    !SSL_CTX_use_PrivateKey(ctx, key)) {
		rv = ssl_fail(d, "cannot set up the TLS server");
		SSL_CTX_free(ctx);
		goto out;
	}
	SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
	*out = ctx;
	rv = 0;
out:
	EVP_PKEY_free(key);
	X509_free(cert);
	return rv;
}

int
cella_tls_client_ctx(EVP_PKEY *key, X509 *cert, SSL_CTX **out,
		     struct cella_diag *d)
{
	static const unsigned char alpn[] = "\x0e" CELLA_TLS_ALPN;
	SSL_CTX *ctx = ctx_new(TLS_client_method());

	if (ctx == NULL || !SSL_CTX_use_certificate(ctx, cert) ||
	    !SSL_CTX_use_PrivateKey(ctx, key) ||
	    SSL_CTX_set_alpn_protos(ctx, alpn, sizeof(alpn) - 1) != 0) {
		SSL_CTX_free(ctx);
		return ssl_fail(d, "cannot set up the TLS client");
	}
	*out = ctx;
	return 0;
}

/*
 * A failed handshake (how = SSL_get_error's answer): a peer that went away
 * (EOF, EPIPE, a reset; OpenSSL 3 may call it an unexpected EOF) is
 * -ECONNRESET and said so; anything else is a TLS failure OpenSSL names.
 */
static int
handshake_failed(int how, struct cella_diag *d)
{
	int sys = errno;
	unsigned long e = ERR_peek_last_error();

	if (how == SSL_ERROR_SYSCALL && sys != 0 && sys != EPIPE &&
	    sys != ECONNRESET) {
		ERR_clear_error();
		return cella_diag_set(d, -sys, "the connection failed during "
					       "the TLS handshake: %s",
				      strerror(sys));
	}
	if (how == SSL_ERROR_SYSCALL || how == SSL_ERROR_ZERO_RETURN ||
	    ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
		ERR_clear_error();
		return cella_diag_set(d, -ECONNRESET,
				      "the peer closed the connection during "
				      "the TLS handshake");
	}
	return ssl_fail(d, "TLS handshake failed");
}

int
cella_tls_handshake(SSL *ssl, int fd, bool server, int timeout_ms,
		    struct cella_diag *d)
{
	long deadline = (long)cella_mono_ms() + timeout_ms;
	struct pollfd p = {.fd = fd};

	for (;;) {
		int rv = server ? SSL_accept(ssl) : SSL_connect(ssl), how;
		long left;

		if (rv == 1)
			return 0;
		switch ((how = SSL_get_error(ssl, rv))) {
		case SSL_ERROR_WANT_READ:
			p.events = POLLIN;
			break;
		case SSL_ERROR_WANT_WRITE:
			p.events = POLLOUT;
			break;
		default:
			return handshake_failed(how, d);
		}
		left = deadline - (long)cella_mono_ms();
		if (left <= 0 || poll(&p, 1, (int)left) == 0)
			return cella_diag_set(d, -ETIMEDOUT,
					      "TLS handshake timed out");
	}
}

int
cella_tls_exporter(SSL *ssl, uint8_t out[CELLA_TLS_EXPORTER_LEN])
{
	if (SSL_export_keying_material(ssl, out, CELLA_TLS_EXPORTER_LEN,
				       CELLA_TLS_EXPORTER_LABEL,
				       strlen(CELLA_TLS_EXPORTER_LABEL), NULL, 0,
				       0) != 1)
		return cella_err_ssl(-EPROTO, NULL, 0);
	return 0;
}

int
cella_tls_peer_ed25519(SSL *ssl, uint8_t key[32])
{
	X509 *peer = SSL_get0_peer_certificate(ssl);
	EVP_PKEY *pk = peer != NULL ? X509_get0_pubkey(peer) : NULL;
	size_t len = 32;

	if (pk == NULL || EVP_PKEY_get_base_id(pk) != EVP_PKEY_ED25519 ||
	    EVP_PKEY_get_raw_public_key(pk, key, &len) != 1 || len != 32)
		return -EKEYREJECTED;
	return 0;
}

int
cella_tls_spki_sha256(X509 *cert, uint8_t out[32])
{
	unsigned char *der = NULL;
	int n = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
	unsigned int len = 32;
	int ok;

	if (n <= 0)
		return cella_err_ssl(-EINVAL, NULL, 0);
	ok = EVP_Digest(der, (size_t)n, out, &len, EVP_sha256(), NULL);
	OPENSSL_free(der);
	return ok ? 0 : cella_err_ssl(-EIO, NULL, 0);
}
