/*
 * atls: the attestation exchange of the bridge, both sides, plus the host's
 * whole dial. Frames are read and written with a deadline; every failure
 * ends with a reason in the caller's diagnosis and, where the protocol
 * allows, a frame telling the peer the same.
 */
#include "common/bridge/atls.h"
#include "common/core/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/net/addr.h"
#include "common/cbor/cbor.h"
#include "common/core/log.h"
#include "common/bridge/tls.h"

const struct cella_cbor_limits cella_atls_frame_limits = {
	.max_bytes = CELLA_ATLS_FRAME_MAX,
	.max_depth = 4,
	.max_items = 64,
	.max_str = CELLA_ATLS_FRAME_MAX,
};

long
cella_atls_deadline(int timeout_ms)
{
	return (long)cella_mono_ms() + timeout_ms;
}

/* Wait for what the last SSL call wanted; -ETIMEDOUT past the deadline. */
static int
ssl_wait(SSL *ssl, int fd, int rv, long deadline, struct cella_diag *d)
{
	struct pollfd p = {.fd = fd};
	long left;
	char why[256];

	switch (SSL_get_error(ssl, rv)) {
	case SSL_ERROR_WANT_READ:
		p.events = POLLIN;
		break;
	case SSL_ERROR_WANT_WRITE:
		p.events = POLLOUT;
		break;
	case SSL_ERROR_ZERO_RETURN:
	case SSL_ERROR_SYSCALL:
		cella_err_ssl(0, NULL, 0);
		return cella_diag_set(d, -ECONNRESET,
				      "the peer closed the connection during "
				      "the attestation exchange");
	default:
		if (ERR_GET_REASON(ERR_peek_last_error()) ==
		    SSL_R_UNEXPECTED_EOF_WHILE_READING) {
			cella_err_ssl(0, NULL, 0);
			return cella_diag_set(d, -ECONNRESET,
					      "the peer closed the connection "
					      "during the attestation exchange");
		}
		cella_err_ssl(-EPROTO, why, sizeof(why));
		return cella_diag_set(d, -EPROTO, "TLS: %s", why);
	}
	left = deadline - (long)cella_mono_ms();
	if (left <= 0 || poll(&p, 1, (int)left) == 0)
		return cella_diag_set(d, -ETIMEDOUT,
				      "no answer in time during the attestation "
				      "exchange");
	return 0;
}

static int
ssl_io(SSL *ssl, int fd, uint8_t *p, size_t n, bool writing, long deadline,
       struct cella_diag *d)
{
	while (n > 0) {
		size_t done = 0;
		int ok = writing ? SSL_write_ex(ssl, p, n, &done)
				 : SSL_read_ex(ssl, p, n, &done);
		int rv;

		if (ok == 1) {
			p += done;
			n -= done;
			continue;
		}
		if ((rv = ssl_wait(ssl, fd, 0, deadline, d)) < 0)
			return rv;
	}
	return 0;
}

int
cella_atls_frame_encode(const cbor_item_t *map, struct cella_buf *out)
{
	uint8_t hdr[4] = {0};
	size_t at = out->len, n;
	int rv;

	if ((rv = cella_buf_append(out, hdr, 4)) < 0 ||
	    (rv = cella_cbor_encode(map, out)) < 0)
		return -EMSGSIZE;
	n = out->len - at - 4;
	if (n > CELLA_ATLS_FRAME_MAX)
		return -EMSGSIZE;
	out->p[at] = (uint8_t)(n >> 24);
	out->p[at + 1] = (uint8_t)(n >> 16);
	out->p[at + 2] = (uint8_t)(n >> 8);
	out->p[at + 3] = (uint8_t)n;
	return 0;
}

int
cella_atls_frame_len(const uint8_t hdr[4], uint32_t *len, struct cella_diag *d)
{
	uint32_t n = (uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
		     (uint32_t)hdr[2] << 8 | hdr[3];

	if (n == 0 || n > CELLA_ATLS_FRAME_MAX)
		return cella_diag_set(d, -EMSGSIZE,
				      "a frame of %u bytes (1..%d)", n,
				      CELLA_ATLS_FRAME_MAX);
	*len = n;
	return 0;
}

int
cella_atls_send(SSL *ssl, int fd, const cbor_item_t *map, long deadline,
		struct cella_diag *d)
{
	struct cella_buf b;
	int rv;

	cella_buf_init(&b, CELLA_ATLS_FRAME_MAX + 4);
	if (cella_atls_frame_encode(map, &b) < 0)
		rv = cella_diag_set(d, -EMSGSIZE, "frame too large");
	else
		rv = ssl_io(ssl, fd, b.p, b.len, true, deadline, d);
	cella_buf_fini(&b);
	return rv;
}

int
cella_atls_recv(SSL *ssl, int fd, cbor_item_t **map, long deadline,
		struct cella_diag *d)
{
	uint8_t hdr[4], *body;
	uint32_t n = 0;
	int rv;

	if ((rv = ssl_io(ssl, fd, hdr, 4, false, deadline, d)) < 0 ||
	    (rv = cella_atls_frame_len(hdr, &n, d)) < 0)
		return rv;
	if ((body = malloc(n)) == NULL)
		return cella_diag_set(d, -ENOMEM, "out of memory");
	rv = ssl_io(ssl, fd, body, n, false, deadline, d);
	if (rv == 0)
		rv = cella_cbor_load(body, n, &cella_atls_frame_limits, map, d);
	if (rv == 0 && !cbor_isa_map(*map)) {
		cbor_decref(map);
		rv = cella_diag_set(d, -EBADMSG, "a frame is a CBOR map");
	}
	free(body);
	return rv;
}

int
cella_atls_user_data(const uint8_t exporter[32], const uint8_t head[48],
		     uint64_t len, struct cella_buf *out)
{
	cbor_item_t *m = cbor_new_indefinite_map();
	int rv = -ENOMEM;

	if (m != NULL && cella_cbor_put_bytes(m, "exporter", exporter, 32) == 0 &&
	    cella_cbor_put_bytes(m, "evlog_head", head, 48) == 0 &&
	    cella_cbor_put_uint(m, "evlog_len", len) == 0)
		rv = cella_cbor_encode(m, out);
	if (m != NULL)
		cbor_decref(&m);
	return rv;
}

int
cella_atls_user_data_parse(struct cella_span ud, uint8_t exporter[32],
			   uint8_t head[48], uint64_t *len,
			   struct cella_diag *d)
{
	cbor_item_t *m = NULL;
	struct cella_span e, h;
	int rv;

	rv = cella_cbor_load(ud.p, ud.n, &cella_atls_frame_limits, &m, d);
	if (rv < 0)
		return cella_diag_set(d, -EBADMSG, "user_data is not CBOR");
	if (cella_cbor_get_bytes(m, "exporter", 32, &e, d) < 0 || e.n != 32 ||
	    cella_cbor_get_bytes(m, "evlog_head", 48, &h, d) < 0 || h.n != 48 ||
	    cella_cbor_get_uint(m, "evlog_len", UINT64_MAX, len, d) < 0) {
		cbor_decref(&m);
		return cella_diag_set(d, -EBADMSG,
				      "user_data lacks the exporter or the event "
				      "log head");
	}
	memcpy(exporter, e.p, 32);
	memcpy(head, h.p, 48);
	cbor_decref(&m);
	return 0;
}

/* --- client ------------------------------------------------------------ */

/* Our refusal: tell the enclave, return -EACCES with the same reason. */
static int
client_refuse(SSL *ssl, int fd, long deadline, struct cella_diag *d)
{
	cbor_item_t *m = cbor_new_indefinite_map();
	struct cella_diag ignore;

	if (m != NULL && cella_cbor_put_text(m, "refuse", d->msg) == 0)
		(void)cella_atls_send(ssl, fd, m, deadline, &ignore);
	if (m != NULL)
		cbor_decref(&m);
	return -EACCES;
}

/* A verifier failure in the words an operator can act on. */
static int
reason(const struct cella_verify_result *res, struct cella_diag *d)
{
	char detail[sizeof(d->msg)];
	const char *what;

	memcpy(detail, d->msg, sizeof(detail));
	switch (res->failed) {
	case CELLA_VERIFY_PCR:
		what = "PCR mismatch";
		break;
	case CELLA_VERIFY_NONCE:
		what = "nonce mismatch";
		break;
	case CELLA_VERIFY_DEBUG:
		what = "debug document (allow it with --allow-debug)";
		break;
	case CELLA_VERIFY_AGE:
	case CELLA_VERIFY_TIMESTAMP:
	case CELLA_VERIFY_CHAIN:
		what = "expired or untrusted document";
		break;
	default:
		what = "invalid document";
		break;
	}
	return cella_diag_set(d, -EACCES, "%s: %.400s", what, detail);
}

static int
client_check(SSL *ssl, struct cella_span docb,
	     const struct cella_verify_policy *base, const uint8_t nonce[32],
	     struct cella_verify_cache *cache, struct cella_atls_peer *peer,
	     struct cella_diag *d)
{
	struct cella_verify_policy pol = *base;
	struct cella_verify_result res;
	uint8_t mine[32], theirs[32];
	int rv;

	pol.has_nonce = true;
	pol.nonce = CELLA_SPAN(nonce, 32);
	rv = cella_verify(docb.p, docb.n, &pol, cache, &res, d);
	if (rv == -EBADMSG)
		rv = reason(&res, d);
	if (rv == 0 && !res.doc.has_user_data)
		rv = cella_diag_set(d, -EACCES, "exporter mismatch: the document "
						"has no user_data");
	if (rv == 0 && (rv = cella_atls_user_data_parse(
				res.doc.user_data, theirs, peer->evlog_head,
				&peer->evlog_len, d)) < 0)
		rv = cella_diag_set(d, -EACCES, "exporter mismatch: %s", d->msg);
	if (rv == 0 && (cella_tls_exporter(ssl, mine) < 0 ||
			CRYPTO_memcmp(mine, theirs, 32) != 0))
		rv = cella_diag_set(d, -EACCES,
				    "exporter mismatch: the document was made "
				    "for another TLS session (a relay in the "
				    "middle?)");
	if (rv == 0) {
		memcpy(peer->doc, docb.p, docb.n);
		peer->doc_len = docb.n;
		snprintf(peer->module_id, sizeof(peer->module_id), "%.*s",
			 (int)res.doc.module_id.n,
			 (const char *)res.doc.module_id.p);
		for (int i = 0; i < 3; i++)
			if (res.doc.pcr_mask & (1u << i))
				memcpy(peer->pcrs[i], res.doc.pcrs[i].p, 48);
	}
	cella_verify_result_fini(&res);
	return rv;
}

static int
client_hello(SSL *ssl, int fd, long deadline,
	     const struct cella_verify_policy *pol, uint8_t nonce[32],
	     struct cella_diag *d)
{
	cbor_item_t *m = cbor_new_indefinite_map();
	int rv = -ENOMEM;

	/* The caller's own nonce (cella attest --nonce), else a fresh one. */
	if (pol->has_nonce && pol->nonce.n == CELLA_ATLS_NONCE_LEN)
		memcpy(nonce, pol->nonce.p, CELLA_ATLS_NONCE_LEN);
	else if (RAND_bytes(nonce, 32) != 1) {
		if (m != NULL)
			cbor_decref(&m);
		return cella_diag_set(d, -EIO, "no randomness for a nonce");
	}
	if (m != NULL && cella_cbor_put_uint(m, "v", CELLA_ATLS_VERSION) == 0 &&
	    cella_cbor_put_bytes(m, "nonce", nonce, 32) == 0)
		rv = cella_atls_send(ssl, fd, m, deadline, d);
	if (m != NULL)
		cbor_decref(&m);
	return rv;
}

int
cella_atls_client(SSL *ssl, int fd, const struct cella_verify_policy *pol,
		  struct cella_verify_cache *cache,
		  struct cella_atls_peer *peer, struct cella_diag *d)
{
	long deadline = cella_atls_deadline(CELLA_ATLS_TIMEOUT_MS);
	uint8_t nonce[32];
	cbor_item_t *m = NULL, *ok = NULL;
	struct cella_span s;
	uint64_t roles = 0;
	int rv;

	memset(peer, 0, sizeof(*peer));
	if ((rv = client_hello(ssl, fd, deadline, pol, nonce, d)) < 0 ||
	    (rv = cella_atls_recv(ssl, fd, &m, deadline, d)) < 0)
		return rv;
	if (cella_cbor_get_text(m, "error", 512, &s, NULL) == 0) {
		bool unavailable = false;

		(void)cella_cbor_get_bool(m, "unavailable", &unavailable, NULL);
		if (unavailable)
			rv = cella_diag_set(d, -EHOSTUNREACH,
					    "the enclave cannot serve this: %.*s",
					    (int)s.n, (const char *)s.p);
		else
			rv = cella_diag_set(d, -EACCES,
					    "refused by the enclave: %.*s",
					    (int)s.n, (const char *)s.p);
		goto out;
	}
	if (cella_cbor_get_bytes(m, "document", CELLA_ATTDOC_MAX, &s, d) < 0 ||
	    cella_cbor_get_uint(m, "roles", CELLA_ROLE_ALL, &roles, d) < 0) {
		rv = cella_diag_set(d, -EPROTO, "the enclave sent no document");
		goto out;
	}
	peer->roles = (uint32_t)roles;
	rv = client_check(ssl, s, pol, nonce, cache, peer, d);
	if (rv == 0 && cella_cbor_get_text(m, "operator", CELLA_OPERATOR_NAME_MAX,
					   &s, NULL) == 0)
		snprintf(peer->operator, sizeof(peer->operator), "%.*s",
			 (int)s.n, (const char *)s.p);
	if (rv < 0) {
		rv = client_refuse(ssl, fd, deadline, d);
		goto out;
	}
	if ((ok = cbor_new_indefinite_map()) == NULL ||
	    cella_cbor_put_bool(ok, "ok", true) < 0)
		rv = -ENOMEM;
	else
		rv = cella_atls_send(ssl, fd, ok, deadline, d);
out:
	if (ok != NULL)
		cbor_decref(&ok);
	cbor_decref(&m);
	return rv;
}

int
cella_atls_dial(const char *url, const struct cella_atls_dial_opts *o, int *fdp,
		SSL **sslp, struct cella_atls_peer *peer, struct cella_diag *d)
{
	struct cella_addr a;
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	SSL_CTX *ctx = NULL;
	SSL *ssl = NULL;
	int fd = -1, rv;

	if ((rv = cella_addr_parse(url, &a, d)) < 0 ||
	    (rv = cella_opkey_load(o->key_path, &key, &cert, d)) < 0)
		return rv;
	if ((rv = cella_tls_client_ctx(key, cert, &ctx, d)) < 0)
		goto out;
	if ((fd = cella_addr_connect_wait(&a, o->timeout_ms, d)) < 0) {
		rv = fd; /* d names the address already */
		goto out;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	if ((ssl = SSL_new(ctx)) == NULL || !SSL_set_fd(ssl, fd)) {
		rv = cella_err_ssl(-ENOMEM, NULL, 0);
		goto out;
	}
	if ((rv = cella_tls_handshake(ssl, fd, false, o->timeout_ms, d)) < 0 ||
	    (rv = cella_atls_client(ssl, fd, o->pol, o->cache, peer, d)) < 0) {
		/* the refusals (EACCES) are the enclave's words: left alone */
		if (rv != -EACCES)
			cella_diag_set(d, rv, "%s: %s", url, d->msg);
		goto out;
	}
	*fdp = fd;
	*sslp = ssl;
	fd = -1;
	ssl = NULL;
out:
	SSL_free(ssl);
	if (fd >= 0)
		close(fd);
	SSL_CTX_free(ctx);
	EVP_PKEY_free(key);
	X509_free(cert);
	return rv;
}
