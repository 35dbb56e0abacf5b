/*
 * atls_serve: the server's side of the attestation exchange (atls.h), cut
 * where the bridge's event loop hands an authorized operator to a worker:
 * before that, a frame reader that never blocks, the hello's parser and
 * the refusal frame, all of which see bytes from unauthenticated peers;
 * after it, the admitted operator's document and verdict, with blocking
 * semantics and a deadline. It does not decide who is admitted (the
 * caller's ops do) and it never closes the connection.
 */
#include "common/bridge/atls.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cbor/cbor.h"
#include "common/core/log.h"
#include "common/bridge/tls.h"

/* --- the non-blocking frame reader --------------------------------------- */

/* An SSL read that did not complete: -EAGAIN with *want, or the error. */
static int
reader_fail(SSL *ssl, const struct cella_atls_reader *r, int *want,
	    struct cella_diag *d)
{
	char why[256];
	int e = SSL_get_error(ssl, 0);

	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		*want = e;
		return -EAGAIN;
	}
	if (e == SSL_ERROR_ZERO_RETURN || e == SSL_ERROR_SYSCALL) {
		cella_err_ssl(0, NULL, 0);
		if (r->got < 4)
			return cella_diag_set(d, -ECONNRESET,
					      "the peer closed after %zu bytes "
					      "of a frame header",
					      r->got);
		return cella_diag_set(d, -ECONNRESET,
				      "the peer closed after %zu of %u bytes "
				      "of a frame",
				      r->got - 4, r->len);
	}
	cella_err_ssl(-EPROTO, why, sizeof(why));
	return cella_diag_set(d, -EPROTO, "TLS: %s", why);
}

int
cella_atls_reader_step(struct cella_atls_reader *r, SSL *ssl, int *want,
		       struct cella_diag *d)
{
	int rv;

	for (;;) {
		bool head = r->got < 4;
		uint8_t *dst = head ? r->hdr + r->got : r->body + (r->got - 4);
		size_t room = head ? 4 - r->got : r->len - (r->got - 4);
		size_t k = 0;

		if (!head && room == 0)
			return 0;
		if (SSL_read_ex(ssl, dst, room, &k) != 1)
			return reader_fail(ssl, r, want, d);
		r->got += k;
		if (!head || r->got < 4)
			continue;
		if ((rv = cella_atls_frame_len(r->hdr, &r->len, d)) < 0)
			return rv;
		if ((r->body = malloc(r->len)) == NULL)
			return cella_diag_set(d, -ENOMEM, "out of memory");
	}
}

void
cella_atls_reader_fini(struct cella_atls_reader *r)
{
	free(r->body);
	memset(r, 0, sizeof(*r));
}

/* --- the hello and the refusal ------------------------------------------- */

int
cella_atls_hello_parse(const uint8_t *p, size_t n,
		       uint8_t nonce[CELLA_ATLS_NONCE_LEN],
		       struct cella_diag *d)
{
	cbor_item_t *m = NULL;
	struct cella_span s;
	uint64_t v = 0;
	int rv;

	if (cella_cbor_load(p, n, &cella_atls_frame_limits, &m, d) < 0)
		return cella_diag_set(d, -EPROTO, "the hello is not CBOR: %s",
				      d->msg);
	if (!cbor_isa_map(m))
		rv = cella_diag_set(d, -EPROTO, "the hello is not a CBOR map");
	else if (cella_cbor_get_uint(m, "v", UINT32_MAX, &v, d) < 0)
		rv = cella_diag_set(d, -EPROTO, "the hello has no version "
						"(\"v\": %d)",
				    CELLA_ATLS_VERSION);
	else if (v != CELLA_ATLS_VERSION)
		rv = cella_diag_set(d, -EPROTO,
				    "unsupported exchange version %llu (this "
				    "bridge speaks %d)",
				    (unsigned long long)v, CELLA_ATLS_VERSION);
	else if (cella_cbor_get_bytes(m, "nonce", 64, &s, d) < 0 ||
		 s.n != CELLA_ATLS_NONCE_LEN)
		rv = cella_diag_set(d, -EPROTO, "the nonce must be %d bytes",
				    CELLA_ATLS_NONCE_LEN);
	else
		rv = 0;
	if (rv == 0)
		memcpy(nonce, s.p, CELLA_ATLS_NONCE_LEN);
	cbor_decref(&m);
	return rv;
}

int
cella_atls_error_frame(const char *reason, bool unavailable,
		       struct cella_buf *out)
{
	cbor_item_t *m = cbor_new_indefinite_map();
	char clipped[513];
	int rv = -ENOMEM;

	snprintf(clipped, sizeof(clipped), "%s", reason);
	if (m != NULL && cella_cbor_put_text(m, "error", clipped) == 0 &&
	    (!unavailable || cella_cbor_put_bool(m, "unavailable", true) == 0))
		rv = cella_atls_frame_encode(m, out);
	if (m != NULL)
		cbor_decref(&m);
	return rv;
}

/* --- an admitted operator ------------------------------------------------ */

/* Tell the client why (what d already says); returns rv. A refusal is
 * -EACCES; anything else is sent as "unavailable". */
static int
serve_refuse(SSL *ssl, int fd, long deadline, int rv, struct cella_diag *d)
{
	cbor_item_t *m = cbor_new_indefinite_map();
	struct cella_diag ignore;

	if (m != NULL && cella_cbor_put_text(m, "error", d->msg) == 0 &&
	    (rv == -EACCES || cella_cbor_put_bool(m, "unavailable", true) == 0))
		(void)cella_atls_send(ssl, fd, m, deadline, &ignore);
	if (m != NULL)
		cbor_decref(&m);
	return rv;
}

static int
serve_document(SSL *ssl, const struct cella_atls_server_ops *ops,
	       const uint8_t nonce[32], struct cella_buf *doc,
	       struct cella_diag *d)
{
	uint8_t exp[32], head[48];
	uint64_t len = 0;
	struct cella_buf ud;
	int rv;

	cella_buf_init(&ud, 256);
	if ((rv = cella_tls_exporter(ssl, exp)) < 0)
		rv = cella_diag_set(d, rv, "no TLS exporter");
	else if ((rv = ops->evlog(ops->arg, head, &len, d)) < 0)
		;
	else if ((rv = cella_atls_user_data(exp, head, len, &ud)) == 0)
		rv = ops->attest(ops->arg, CELLA_SPAN(nonce, 32),
				 CELLA_SPAN(ud.p, ud.len), doc, d);
	cella_buf_fini(&ud);
	return rv;
}

static int
serve_answer(SSL *ssl, int fd, const struct cella_atls_server_ops *ops,
	     const uint8_t nonce[32], const struct cella_operator *op,
	     long deadline, struct cella_diag *d)
{
	struct cella_buf doc;
	cbor_item_t *m = NULL;
	int rv;

	cella_buf_init(&doc, CELLA_ATTDOC_MAX);
	/* No document (ra-web or init not answering): the client hears so. */
	if ((rv = serve_document(ssl, ops, nonce, &doc, d)) < 0)
		rv = serve_refuse(ssl, fd, deadline, rv == -EACCES ? -EIO : rv,
				  d);
	if (rv == 0 && (m = cbor_new_indefinite_map()) == NULL)
		rv = -ENOMEM;
	if (rv == 0 && (cella_cbor_put_bytes(m, "document", doc.p, doc.len) < 0 ||
			cella_cbor_put_text(m, "operator", op->name) < 0 ||
			cella_cbor_put_uint(m, "roles", op->roles) < 0))
		rv = -ENOMEM;
	if (rv == 0)
		rv = cella_atls_send(ssl, fd, m, deadline, d);
	cella_buf_fini(&doc);
	if (m != NULL)
		cbor_decref(&m);
	return rv;
}

int
cella_atls_serve_admitted(SSL *ssl, int fd,
			  const struct cella_atls_server_ops *ops,
			  const uint8_t nonce[CELLA_ATLS_NONCE_LEN],
			  const struct cella_operator *op, long deadline,
			  struct cella_diag *d)
{
	cbor_item_t *m = NULL;
	struct cella_span why;
	bool ok = false;
	int rv;

	if (ops->prepare != NULL && (rv = ops->prepare(ops->arg, op, d)) < 0)
		return serve_refuse(ssl, fd, deadline, rv, d);
	if ((rv = serve_answer(ssl, fd, ops, nonce, op, deadline, d)) < 0 ||
	    (rv = cella_atls_recv(ssl, fd, &m, deadline, d)) < 0)
		return rv;
	if (cella_cbor_get_text(m, "refuse", 512, &why, NULL) == 0)
		rv = cella_diag_set(d, -EACCES, "the client refused: %.*s",
				    (int)why.n, (const char *)why.p);
	else if (cella_cbor_get_bool(m, "ok", &ok, NULL) < 0 || !ok)
		rv = cella_diag_set(d, -EPROTO, "expected ok or refuse");
	cbor_decref(&m);
	return rv;
}
