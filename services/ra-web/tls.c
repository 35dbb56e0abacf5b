/*
 * tls: OpenSSL 3 EVP and X509v3 calls, errors translated once per call
 * with cella_err_ssl. The certificate never expires on its own
 * (99991231235959Z, RFC 5280 4.1.2.5): its key lives exactly as long as
 * the process, and what vouches for it is a document with a 3-hour leaf.
 */
#include "services/ra-web/tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <h2o.h>

#include "common/core/log.h"

#define BACKDATE_S 300
#define NO_EXPIRY "99991231235959Z"
#define CIPHERS_TLS12                                                      \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:"     \
	"ECDHE-ECDSA-AES128-GCM-SHA256"

static int
ssl_err(struct cella_diag *d, const char *what)
{
	char why[256] = "";
	int rv = cella_err_ssl(-EPROTO, why, sizeof(why));

	return cella_diag_set(d, rv, "%s: %s", what, why);
}

int
ra_tls_spki_sha256(EVP_PKEY *key, uint8_t out[32])
{
	unsigned char *der = NULL;
	unsigned int mdlen = 0;
	int n = i2d_PUBKEY(key, &der), rv = 0;

	if (n <= 0)
		return cella_err_ssl(-EPROTO, NULL, 0);
	if (EVP_Digest(der, (size_t)n, out, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen != 32)
		rv = cella_err_ssl(-EPROTO, NULL, 0);
	OPENSSL_free(der);
	return rv;
}

/* "DNS:a,IP:127.0.0.1": the names were checked to hold no ',' or ':'
 * other than in an IPv6 literal. */
static int
san_value(const struct ra_conf *c, char *out, size_t cap)
{
	size_t o = 0;

	out[0] = '\0';
	for (unsigned i = 0; i < c->nhostnames; i++) {
		unsigned char tmp[16];
		const char *h = c->hostnames[i];
		bool ip = inet_pton(AF_INET, h, tmp) == 1 ||
			  inet_pton(AF_INET6, h, tmp) == 1;
		int n = snprintf(out + o, cap - o, "%s%s:%s", o ? "," : "",
				 ip ? "IP" : "DNS", h);

		if (n < 0 || (size_t)n >= cap - o)
			return -ENAMETOOLONG;
		if (!ip && strchr(h, ':') != NULL)
			return -EINVAL;
		o += (size_t)n;
	}
	return 0;
}

static int
add_ext(X509 *x, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_nconf_nid(NULL, &v3, nid, value);
	if (ext == NULL)
		return -EPROTO;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok == 1 ? 0 : -EPROTO;
}

static int
set_serial(X509 *x)
{
	unsigned char r[16];
	BIGNUM *bn;
	int ok;

	if (RAND_bytes(r, sizeof(r)) != 1)
		return -EPROTO;
	r[0] &= 0x7f; /* positive */
	r[0] |= 0x01; /* and exactly 16 bytes long */
	bn = BN_bin2bn(r, sizeof(r), NULL);
	ok = bn != NULL && BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
	BN_free(bn);
	return ok ? 0 : -EPROTO;
}

static int
fill_cert(X509 *x, EVP_PKEY *key, const char *cn, const char *san)
{
	X509_NAME *name = X509_get_subject_name(x);

	if (X509_set_version(x, X509_VERSION_3) != 1 || set_serial(x) < 0 ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
				       (const unsigned char *)cn, -1, -1,
				       0) != 1 ||
	    X509_set_issuer_name(x, name) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -BACKDATE_S) == NULL ||
	    ASN1_TIME_set_string(X509_getm_notAfter(x), NO_EXPIRY) != 1 ||
	    X509_set_pubkey(x, key) != 1)
		return -EPROTO;
	if (add_ext(x, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
	    add_ext(x, NID_key_usage, "critical,digitalSignature") < 0 ||
	    add_ext(x, NID_ext_key_usage, "serverAuth") < 0 ||
	    add_ext(x, NID_subject_key_identifier, "hash") < 0 ||
	    (san[0] != '\0' && add_ext(x, NID_subject_alt_name, san) < 0))
		return -EPROTO;
	return X509_sign(x, key, EVP_sha384()) > 0 ? 0 : -EPROTO;
}

static int
make_cert(struct ra_tls *t, const struct ra_conf *c, const char *cn,
	  struct cella_diag *d)
{
	char san[RA_HOSTNAMES_MAX * (RA_HOSTNAME_MAX + 5)];
	unsigned char *der = NULL;
	BIO *bio = NULL;
	char *pem;
	long n;
	int rv;

	if ((rv = san_value(c, san, sizeof(san))) < 0)
		return cella_diag_set(d, -EINVAL, "hostnames: not usable as "
						  "subjectAltName");
	t->key = EVP_EC_gen("P-384");
	if (t->key == NULL)
		return ssl_err(d, "generating the TLS key");
	t->cert = X509_new();
	if (t->cert == NULL || fill_cert(t->cert, t->key, cn, san) < 0)
		return ssl_err(d, "making the TLS certificate");
	if (ra_tls_spki_sha256(t->key, t->spki_sha256) < 0 ||
	    (rv = i2d_X509(t->cert, &der)) <= 0)
		return ssl_err(d, "encoding the TLS certificate");
	t->cert_der = der;
	t->cert_der_len = (size_t)rv;
	bio = BIO_new(BIO_s_mem());
	if (bio == NULL || PEM_write_bio_X509(bio, t->cert) != 1 ||
	    (n = BIO_get_mem_data(bio, &pem)) <= 0 ||
	    (t->cert_pem = malloc((size_t)n + 1)) == NULL) {
		BIO_free(bio);
		return ssl_err(d, "encoding the TLS certificate");
	}
	memcpy(t->cert_pem, pem, (size_t)n);
	t->cert_pem[n] = '\0';
	t->cert_pem_len = (size_t)n;
	BIO_free(bio);
	return 0;
}

/* A fatal alert we send is a failed handshake (or a broken session). */
static void
info_cb(const SSL *ssl, int where, int ret)
{
	struct ra_tls *t;

	if ((where & SSL_CB_WRITE_ALERT) != SSL_CB_WRITE_ALERT ||
	    (ret >> 8) != SSL3_AL_FATAL)
		return;
	t = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
	if (t != NULL && t->metrics != NULL)
		ra_metrics_error(t->metrics, RA_ERR_TLS_HANDSHAKE);
	cella_log_info("tls_alert", "alert=%s",
		       cella_q(SSL_alert_desc_string_long(ret)));
}

static int
client_auth(SSL_CTX *ctx, const char *ca, struct cella_diag *d)
{
	STACK_OF(X509_NAME) *names;

	if (SSL_CTX_load_verify_locations(ctx, ca, NULL) != 1)
		return ssl_err(d, "client_ca: loading the CA file");
	names = SSL_load_client_CA_file(ca);
	if (names == NULL)
		return ssl_err(d, "client_ca: no certificate in the file");
	SSL_CTX_set_client_CA_list(ctx, names);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
			   NULL);
	SSL_CTX_set_verify_depth(ctx, 4);
	return 0;
}

static int
make_ctx(struct ra_tls *t, const struct ra_conf *c, struct cella_diag *d)
{
	static const unsigned char sid[] = "cella-ra-web";
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (ctx == NULL)
		return ssl_err(d, "creating the TLS context");
	t->ctx = ctx;
	SSL_CTX_set_app_data(ctx, t);
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
					 SSL_OP_CIPHER_SERVER_PREFERENCE);
	if (SSL_CTX_set_min_proto_version(ctx, c->tls_min) != 1 ||
	    SSL_CTX_set_cipher_list(ctx, CIPHERS_TLS12) != 1 ||
	    SSL_CTX_use_certificate(ctx, t->cert) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, t->key) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1 ||
	    SSL_CTX_set_session_id_context(ctx, sid, sizeof(sid) - 1) != 1)
		return ssl_err(d, "configuring the TLS context");
	SSL_CTX_set_info_callback(ctx, info_cb);
	if (c->client_ca[0] != '\0' && client_auth(ctx, c->client_ca, d) < 0)
		return -EINVAL;
	if (c->http2)
		h2o_ssl_register_alpn_protocols(ctx, h2o_alpn_protocols);
	return 0;
}

int
ra_tls_new(const struct ra_conf *c, const char *cn,
	   struct ra_metrics *metrics, struct ra_tls **out,
	   struct cella_diag *d)
{
	struct ra_tls *t = calloc(1, sizeof(*t));
	int rv;

	if (t == NULL)
		return -ENOMEM;
	t->metrics = metrics;
	rv = make_cert(t, c, cn, d);
	if (rv == 0)
		rv = make_ctx(t, c, d);
	if (rv < 0) {
		ra_tls_free(t);
		return rv;
	}
	*out = t;
	return 0;
}

void
ra_tls_free(struct ra_tls *t)
{
	if (t == NULL)
		return;
	SSL_CTX_free(t->ctx);
	X509_free(t->cert);
	EVP_PKEY_free(t->key);
	OPENSSL_free(t->cert_der);
	free(t->cert_pem);
	free(t);
}
