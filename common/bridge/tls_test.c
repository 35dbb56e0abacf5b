/*
 * tls_test: the bridge's OpenSSL pieces with real OpenSSL, no mocks.
 * Self-signed certificates (P-384 and Ed25519: names, validity, the two
 * extensions, a signature that verifies under their own key, fresh
 * serials); the SPKI hash against one computed from the DER by hand; the
 * context policy (TLS 1.3 only, a client certificate required, no
 * tickets); a handshake over a socketpair (TLS 1.3, the ALPN, equal
 * exporters, the operator's Ed25519 key seen by the server); and the
 * handshakes that must fail, each with its reason: a TLS 1.2 client, no
 * client certificate, another ALPN, a peer that closes, one that never
 * speaks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <openssl/evp.h>
#include <signal.h>
#include <openssl/x509v3.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/bridge/tls.h"
#include "common/testing/tls.h"

static int64_t
asn1_time(const ASN1_TIME *t)
{
	struct tm tm;

	assert_int_equal(ASN1_TIME_to_tm(t, &tm), 1);
	return (int64_t)timegm(&tm);
}

/* The checks every self-signed certificate of the bridge passes. */
static void
check_selfsigned(X509 *x, EVP_PKEY *key, const char *cn, int days)
{
	char name[64];
	int64_t now = time(NULL), nb, na;
	BASIC_CONSTRAINTS *bc;
	ASN1_BIT_STRING *ku;
	BIGNUM *serial;
	int crit = -1;

	assert_int_equal(X509_get_version(x), X509_VERSION_3);
	assert_int_equal(X509_NAME_get_text_by_NID(X509_get_subject_name(x),
						   NID_commonName, name,
						   sizeof(name)),
			 (int)strlen(cn));
	assert_string_equal(name, cn);
	assert_int_equal(X509_NAME_cmp(X509_get_subject_name(x),
				       X509_get_issuer_name(x)),
			 0);
	assert_int_equal(X509_verify(x, key), 1);
	nb = asn1_time(X509_get0_notBefore(x));
	na = asn1_time(X509_get0_notAfter(x));
	assert_true(nb <= now && nb >= now - 300 - 5); /* backdated 5 min */
	assert_true(na >= now + (int64_t)days * 86400 - 5 &&
		    na <= now + (int64_t)days * 86400 + 5);
	bc = X509_get_ext_d2i(x, NID_basic_constraints, &crit, NULL);
	assert_non_null(bc);
	assert_int_equal(crit, 1);
	assert_false(bc->ca);
	BASIC_CONSTRAINTS_free(bc);
	ku = X509_get_ext_d2i(x, NID_key_usage, &crit, NULL);
	assert_non_null(ku);
	assert_int_equal(crit, 1);
	assert_true(ASN1_BIT_STRING_get_bit(ku, 0)); /* digitalSignature */
	assert_false(ASN1_BIT_STRING_get_bit(ku, 5)); /* not keyCertSign */
	ASN1_BIT_STRING_free(ku);
	/* a random serial: positive, at most 127 bits */
	serial = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	assert_non_null(serial);
	assert_false(BN_is_negative(serial));
	assert_false(BN_is_zero(serial));
	assert_true(BN_num_bits(serial) <= 127);
	BN_free(serial);
}

static void
test_selfsigned_p384(void **state)
{
	EVP_PKEY *key = NULL;
	X509 *a = NULL, *b = NULL;
	struct cella_diag d = {""};

	(void)state;
	assert_int_equal(cella_tls_keygen_p384(&key), 0);
	assert_int_equal(EVP_PKEY_get_base_id(key), EVP_PKEY_EC);
	assert_int_equal(EVP_PKEY_get_bits(key), 384);
	assert_int_equal(cella_tls_selfsigned(key, "enclave-x", 30, &a, &d), 0);
	check_selfsigned(a, key, "enclave-x", 30);
	assert_int_equal(X509_get_signature_nid(a), NID_ecdsa_with_SHA384);
	/* a fresh, positive serial each time */
	assert_int_equal(cella_tls_selfsigned(key, "enclave-x", 30, &b, &d), 0);
	assert_int_not_equal(ASN1_INTEGER_cmp(X509_get0_serialNumber(a),
					      X509_get0_serialNumber(b)),
			     0);
	X509_free(a);
	X509_free(b);
	EVP_PKEY_free(key);
}

static void
test_selfsigned_ed25519(void **state)
{
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	X509 *x = NULL;
	struct cella_diag d = {""};

	(void)state;
	assert_non_null(key);
	assert_int_equal(cella_tls_selfsigned(key, "alice", 3650, &x, &d), 0);
	check_selfsigned(x, key, "alice", 3650);
	assert_int_equal(X509_get_signature_nid(x), NID_ED25519);
	X509_free(x);
	EVP_PKEY_free(key);
}

/* Ed25519's SPKI is a fixed 12-byte prefix and the key: hash it by hand. */
static void
test_spki_sha256(void **state)
{
	static const uint8_t prefix[12] = {0x30, 0x2a, 0x30, 0x05, 0x06, 0x03,
					   0x2b, 0x65, 0x70, 0x03, 0x21, 0x00};
	uint8_t seed[32], spki[44], want[32], got[32], other[32];
	unsigned int len = 32;
	size_t klen = 32;
	EVP_PKEY *key, *k2;
	X509 *x = NULL, *x2 = NULL;

	(void)state;
	for (int i = 0; i < 32; i++)
		seed[i] = (uint8_t)(i * 7 + 1);
	key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
	assert_non_null(key);
	memcpy(spki, prefix, 12);
	assert_int_equal(EVP_PKEY_get_raw_public_key(key, spki + 12, &klen), 1);
	assert_int_equal(EVP_Digest(spki, sizeof(spki), want, &len,
				    EVP_sha256(), NULL),
			 1);
	assert_int_equal(cella_tls_selfsigned(key, "k", 1, &x, NULL), 0);
	assert_int_equal(cella_tls_spki_sha256(x, got), 0);
	assert_memory_equal(got, want, 32);
	/* the key decides, not the certificate around it */
	EVP_PKEY_free(key);
	key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
	assert_int_equal(cella_tls_selfsigned(key, "other name", 9, &x2, NULL),
			 0);
	assert_int_equal(cella_tls_spki_sha256(x2, other), 0);
	assert_memory_equal(other, want, 32);
	X509_free(x2);
	seed[0] ^= 1;
	k2 = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
	assert_int_equal(cella_tls_selfsigned(k2, "k", 1, &x2, NULL), 0);
	assert_int_equal(cella_tls_spki_sha256(x2, other), 0);
	assert_memory_not_equal(other, want, 32);
	X509_free(x);
	X509_free(x2);
	EVP_PKEY_free(key);
	EVP_PKEY_free(k2);
}

static void
test_context_policy(void **state)
{
	struct tu_tls_pair p;

	(void)state;
	tu_tls_pair_init(&p);
	for (int i = 0; i < 2; i++) {
		SSL_CTX *c = i == 0 ? p.sctx : p.cctx;

		assert_int_equal(SSL_CTX_get_min_proto_version(c),
				 TLS1_3_VERSION);
		assert_int_equal(SSL_CTX_get_verify_mode(c),
				 SSL_VERIFY_PEER |
					 SSL_VERIFY_FAIL_IF_NO_PEER_CERT);
		assert_int_equal(SSL_CTX_get_num_tickets(c), 0);
		assert_int_equal(SSL_CTX_get_session_cache_mode(c),
				 SSL_SESS_CACHE_OFF);
		assert_non_null(SSL_CTX_get0_certificate(c));
	}
	assert_int_equal(EVP_PKEY_get_base_id(SSL_CTX_get0_privatekey(p.sctx)),
			 EVP_PKEY_EC);
	tu_tls_pair_fini(&p);
}

static void
test_handshake(void **state)
{
	struct tu_tls_pair p;
	struct cella_diag sd = {""}, cd = {""};
	uint8_t se[CELLA_TLS_EXPORTER_LEN], ce[CELLA_TLS_EXPORTER_LEN];
	uint8_t seen[32], key[32], a[32], b[32];
	static const uint8_t zero[CELLA_TLS_EXPORTER_LEN];
	const unsigned char *alpn;
	unsigned int alen;
	size_t klen = 32;
	int crv = -1;

	(void)state;
	tu_tls_pair_init(&p);
	assert_int_equal(tu_tls_pair_handshake(&p, 5000, &crv, &sd, &cd), 0);
	assert_int_equal(crv, 0);
	for (int i = 0; i < 2; i++) {
		SSL *s = i == 0 ? p.server : p.client;

		assert_int_equal(SSL_version(s), TLS1_3_VERSION);
		SSL_get0_alpn_selected(s, &alpn, &alen);
		assert_int_equal(alen, strlen(CELLA_TLS_ALPN));
		assert_memory_equal(alpn, CELLA_TLS_ALPN, alen);
	}
	/* both ends derive the same exporter: what binds the document */
	assert_int_equal(cella_tls_exporter(p.server, se), 0);
	assert_int_equal(cella_tls_exporter(p.client, ce), 0);
	assert_memory_equal(se, ce, sizeof(se));
	assert_memory_not_equal(se, zero, sizeof(se));
	/* the server sees the operator's key; the client the server's cert */
	assert_int_equal(cella_tls_peer_ed25519(p.server, seen), 0);
	assert_int_equal(EVP_PKEY_get_raw_public_key(p.op_key, key, &klen), 1);
	assert_memory_equal(seen, key, 32);
	assert_int_equal(cella_tls_peer_ed25519(p.client, seen), -EKEYREJECTED);
	assert_int_equal(cella_tls_spki_sha256(SSL_get0_peer_certificate(
						       p.client),
					       a),
			 0);
	assert_int_equal(cella_tls_spki_sha256(SSL_get_certificate(p.server),
					       b),
			 0);
	assert_memory_equal(a, b, 32);
	tu_tls_pair_fini(&p);
}

/* Exporters differ between sessions: a relay cannot pass one on. */
static void
test_exporter_per_session(void **state)
{
	struct tu_tls_pair p, q;
	uint8_t a[CELLA_TLS_EXPORTER_LEN], b[CELLA_TLS_EXPORTER_LEN];
	int crv;

	(void)state;
	tu_tls_pair_init(&p);
	tu_tls_pair_init(&q);
	SSL_CTX_free(q.sctx);
	SSL_CTX_up_ref(p.sctx); /* the same server key, another session */
	q.sctx = p.sctx;
	assert_int_equal(tu_tls_pair_handshake(&p, 5000, &crv, NULL, NULL), 0);
	assert_int_equal(tu_tls_pair_handshake(&q, 5000, &crv, NULL, NULL), 0);
	assert_int_equal(cella_tls_exporter(p.client, a), 0);
	assert_int_equal(cella_tls_exporter(q.client, b), 0);
	assert_memory_not_equal(a, b, sizeof(a));
	tu_tls_pair_fini(&p);
	tu_tls_pair_fini(&q);
}

/* A client context the bridge would never make: adjust(ctx) spoils it. */
static SSL_CTX *
odd_client(struct tu_tls_pair *p, bool cert, const char *alpn, int max_ver)
{
	SSL_CTX *c = SSL_CTX_new(TLS_client_method());
	unsigned char wire[32];

	assert_non_null(c);
	SSL_CTX_set_verify(c, SSL_VERIFY_NONE, NULL);
	if (max_ver != 0)
		assert_int_equal(SSL_CTX_set_max_proto_version(c, max_ver), 1);
	if (cert) {
		assert_int_equal(SSL_CTX_use_certificate(c, p->op_cert), 1);
		assert_int_equal(SSL_CTX_use_PrivateKey(c, p->op_key), 1);
	}
	if (alpn != NULL) {
		wire[0] = (unsigned char)strlen(alpn);
		memcpy(wire + 1, alpn, wire[0]);
		assert_int_equal(SSL_CTX_set_alpn_protos(c, wire, wire[0] + 1u),
				 0);
	}
	return c;
}

struct refusal {
	const char *what;
	bool cert;
	const char *alpn;
	int max_ver;
	const char *reason; /* in the server's message */
};

static void
test_handshake_refusals(void **state)
{
	static const struct refusal cases[] = {
		{"TLS 1.2", true, CELLA_TLS_ALPN, TLS1_2_VERSION,
		 "unsupported protocol"},
		{"no certificate", false, CELLA_TLS_ALPN, 0,
		 "peer did not return a certificate"},
		{"another ALPN", true, "h2", 0, "no application protocol"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct refusal *c = &cases[i];
		struct tu_tls_pair p;
		struct cella_diag sd = {""};
		int crv = 0, srv;

		tu_tls_pair_init(&p);
		SSL_CTX_free(p.cctx);
		p.cctx = odd_client(&p, c->cert, c->alpn, c->max_ver);
		srv = tu_tls_pair_handshake(&p, 5000, &crv, &sd, NULL);
		if (srv != -EPROTO)
			fail_msg("%s: server got %d (%s)", c->what, srv,
				 sd.msg);
		if (strstr(sd.msg, "TLS handshake failed: ") != sd.msg ||
		    strstr(sd.msg, c->reason) == NULL)
			fail_msg("%s: '%s' does not say '%s'", c->what, sd.msg,
				 c->reason);
		/* (a TLS 1.3 client may finish first: the server decides) */
		tu_tls_pair_fini(&p);
	}
}

static void
test_handshake_peer_gone(void **state)
{
	struct tu_tls_pair p;
	struct cella_diag d = {""};
	SSL *s;

	(void)state;
	tu_tls_pair_init(&p);
	close(p.cfd);
	p.cfd = -1;
	s = SSL_new(p.sctx);
	SSL_set_fd(s, p.sfd);
	assert_int_equal(cella_tls_handshake(s, p.sfd, true, 5000, &d),
			 -ECONNRESET);
	assert_string_equal(d.msg, "the peer closed the connection during "
				   "the TLS handshake");
	SSL_free(s);
	tu_tls_pair_fini(&p);
}

static void
test_handshake_timeout(void **state)
{
	struct tu_tls_pair p;
	struct cella_diag d = {""};
	SSL *s;

	(void)state;
	tu_tls_pair_init(&p); /* the client end stays silent */
	s = SSL_new(p.sctx);
	SSL_set_fd(s, p.sfd);
	assert_int_equal(cella_tls_handshake(s, p.sfd, true, 100, &d),
			 -ETIMEDOUT);
	assert_string_equal(d.msg, "TLS handshake timed out");
	SSL_free(s);
	tu_tls_pair_fini(&p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_selfsigned_p384),
		cmocka_unit_test(test_selfsigned_ed25519),
		cmocka_unit_test(test_spki_sha256),
		cmocka_unit_test(test_context_policy),
		cmocka_unit_test(test_handshake),
		cmocka_unit_test(test_exporter_per_session),
		cmocka_unit_test(test_handshake_refusals),
		cmocka_unit_test(test_handshake_peer_gone),
		cmocka_unit_test(test_handshake_timeout),
	};

	/* As every daemon does: a write to a gone peer is EPIPE, not death. */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
