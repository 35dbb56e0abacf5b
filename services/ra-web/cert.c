/*
 * cert: GET /v1/certificate. One document whose user_data is the SHA-256
 * of the TLS certificate's SubjectPublicKeyInfo is made at start and kept,
 * in both response forms, as h2o shared chunks: a response links the
 * current chunk to its request's pool, so a renewal never pulls bytes out
 * from under a response still being written. The document is renewed
 * cert_refresh_ms before its leaf certificate expires (3 hours after issue
 * on Nitro); a failed renewal is retried with backoff while the old one
 * stays valid, and an expired one is never served.
 */
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/attest/attdoc.h"
#include "common/cbor/cbor.h"
#include "common/core/clock.h"
#include "common/attest/cose.h"
#include "common/core/log.h"
#include "services/ra-web/srv.h"

#define RETRY_MIN_MS 1000
#define RETRY_MAX_MS 30000
#define CBOR_BODY_MAX (32u * 1024)

struct cert_job {
	struct ra_loopjob lj;
	struct cella_buf doc;
	int64_t not_after;
	int rv;
	struct cella_diag d;
};

/* notAfter of the leaf that signed doc, in UNIX seconds. */
static int
leaf_not_after(const uint8_t *doc, size_t n, int64_t *out,
	       struct cella_diag *d)
{
	struct cella_cose_sign1 m;
	struct cella_attdoc ad;
	const unsigned char *p;
	X509 *x = NULL;
	struct tm tm;
	int rv;

	rv = cella_cose_sign1_parse(doc, n, NULL, &m, d);
	if (rv < 0)
		return rv;
	rv = cella_attdoc_parse(m.payload, &ad, d);
	if (rv < 0)
		return rv;
	p = ad.certificate.p;
	x = d2i_X509(NULL, &p, (long)ad.certificate.n);
	if (x == NULL || ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) != 1)
		rv = cella_diag_set(d, -EBADMSG, "the document's leaf "
						 "certificate does not parse");
	else
		*out = (int64_t)timegm(&tm);
	X509_free(x);
	cella_attdoc_fini(&ad);
	return rv;
}

static int
attest_spki(struct ra_srv *s, struct cella_nsm *nsm, struct cella_buf *doc,
	    int64_t *not_after, struct cella_diag *d)
{
	struct cella_span ud = CELLA_SPAN(s->tls->spki_sha256, 32);
	uint64_t t0;
	int rv;

	t0 = cella_mono_us();
	rv = cella_nsm_attest(nsm, &ud, NULL, NULL, doc, d);
	ra_metrics_attest(&s->metrics, cella_mono_us() - t0);
	if (rv == 0)
		rv = leaf_not_after(doc->p, doc->len, not_after, d);
	return rv;
}

/* A shared chunk holding a copy of p[0..n). */
static void *
shared_copy(const void *p, size_t n)
{
	void *c = h2o_mem_alloc_shared(NULL, n, NULL);

	memcpy(c, p, n);
	return c;
}

static void
replace(void **slot, size_t *slot_len, void *chunk, size_t n)
{
	if (*slot != NULL)
		h2o_mem_release_shared(*slot);
	*slot = chunk;
	*slot_len = n;
}

static char *
json_body(struct ra_srv *s, const struct cella_buf *doc, int64_t not_after,
	  size_t *len)
{
	const struct ra_tls *t = s->tls;
	size_t cap = 2 * t->cert_pem_len + 4 * ((doc->len + 2) / 3) + 256, o;
	char *b = malloc(cap);

	if (b == NULL)
		return NULL;
	o = (size_t)snprintf(b, cap, "{\"certificate\":\"");
	for (size_t i = 0; i < t->cert_pem_len; i++) {
		if (t->cert_pem[i] == '\n')
			b[o++] = '\\', b[o++] = 'n';
		else
			b[o++] = t->cert_pem[i];
	}
	o += (size_t)snprintf(b + o, cap - o, "\",\"document\":\"");
	o += (size_t)EVP_EncodeBlock((unsigned char *)b + o, doc->p,
				     (int)doc->len);
	o += (size_t)snprintf(b + o, cap - o, "\",\"spki_sha256\":\"");
	cella_hex_encode(t->spki_sha256, 32, b + o, cap - o);
	o += 64;
	o += (size_t)snprintf(b + o, cap - o, "\",\"not_after\":%lld}",
			      (long long)not_after);
	*len = o;
	return b;
}

static int
cbor_body(struct ra_srv *s, const struct cella_buf *doc, int64_t not_after,
	  struct cella_buf *out)
{
	const struct ra_tls *t = s->tls;
	cbor_item_t *m = cbor_new_indefinite_map();
	int rv = m == NULL ? -ENOMEM : 0;

	if (rv == 0)
		rv = cella_cbor_put_bytes(m, "certificate", t->cert_der,
					  t->cert_der_len);
	if (rv == 0)
		rv = cella_cbor_put_bytes(m, "document", doc->p, doc->len);
	if (rv == 0)
		rv = cella_cbor_put_bytes(m, "spki_sha256", t->spki_sha256, 32);
	if (rv == 0)
		rv = cella_cbor_put_uint(m, "not_after", (uint64_t)not_after);
	if (rv == 0)
		rv = cella_cbor_encode(m, out);
	if (m != NULL)
		cbor_decref(&m);
	return rv;
}

/* Both bodies from doc, or neither (the old ones stay). */
static int
install(struct ra_srv *s, const struct cella_buf *doc, int64_t not_after)
{
	struct cella_buf cb;
	size_t jlen;
	char *j = json_body(s, doc, not_after, &jlen);
	int rv = j == NULL ? -ENOMEM : 0;

	cella_buf_init(&cb, CBOR_BODY_MAX);
	if (rv == 0)
		rv = cbor_body(s, doc, not_after, &cb);
	if (rv == 0) {
		replace(&s->cert.json, &s->cert.json_len, shared_copy(j, jlen),
			jlen);
		replace(&s->cert.cbor, &s->cert.cbor_len,
			shared_copy(cb.p, cb.len), cb.len);
		s->cert.not_after = not_after;
	}
	free(j);
	cella_buf_fini(&cb);
	return rv;
}

static void on_timer(uv_timer_t *t);

static void
schedule(struct ra_srv *s)
{
	int64_t now_ms = (int64_t)time(NULL) * 1000;
	int64_t due = s->cert.not_after * 1000 -
		      (int64_t)s->conf->cert_refresh_ms - now_ms;
	uint64_t retry = RETRY_MIN_MS;

	if (s->cert.failures > 0) {
		for (unsigned i = 1; i < s->cert.failures && retry < RETRY_MAX_MS;
		     i++)
			retry *= 2;
		due = (int64_t)(retry < RETRY_MAX_MS ? retry : RETRY_MAX_MS);
	}
	if (due < RETRY_MIN_MS)
		due = RETRY_MIN_MS;
	uv_timer_start(&s->cert.timer, on_timer, (uint64_t)due, 0);
}

static void
run_refresh(struct ra_job *j, struct cella_nsm *nsm)
{
	struct cert_job *cj = (struct cert_job *)j;

	cj->rv = attest_spki(cj->lj.srv, nsm, &cj->doc, &cj->not_after, &cj->d);
	ra_srv_post(&cj->lj);
}

static void
refresh_failed(struct ra_srv *s, int rv, const char *msg)
{
	s->cert.failures++;
	ra_metrics_error(&s->metrics, RA_ERR_CERT_REFRESH);
	cella_log_warn("cert_refresh_failed", "err=%s failures=%u msg=%s",
		       cella_errname(rv), s->cert.failures, cella_q(msg));
}

static void
finish_refresh(struct ra_loopjob *lj)
{
	struct cert_job *cj = (struct cert_job *)lj;
	struct ra_srv *s = lj->srv;
	int rv = cj->rv;

	s->cert.refreshing = false;
	if (rv == 0 && (rv = install(s, &cj->doc, cj->not_after)) < 0)
		cella_diag_set(&cj->d, rv, "building the response bodies");
	if (rv < 0) {
		refresh_failed(s, rv, cj->d.msg);
	} else {
		s->cert.failures = 0;
		cella_log_info("cert_refreshed", "doc_bytes=%zu not_after=%lld",
			       cj->doc.len, (long long)cj->not_after);
	}
	if (s->state == RA_RUNNING)
		schedule(s);
	cella_buf_fini(&cj->doc);
	free(cj);
}

static void
on_timer(uv_timer_t *t)
{
	struct ra_srv *s = t->data;
	struct cert_job *cj;
	int rv;

	if (s->cert.refreshing || s->state != RA_RUNNING)
		return;
	cj = calloc(1, sizeof(*cj));
	if (cj == NULL) {
		refresh_failed(s, -ENOMEM, "out of memory");
		schedule(s);
		return;
	}
	cella_buf_init(&cj->doc, CELLA_NSM_RESPONSE_MAX);
	cj->lj.job.run = run_refresh;
	cj->lj.srv = s;
	cj->lj.finish = finish_refresh;
	rv = ra_srv_submit(s, &cj->lj);
	if (rv == 0) {
		s->cert.refreshing = true;
		return;
	}
	cella_buf_fini(&cj->doc);
	free(cj);
	refresh_failed(s, rv, "the NSM queue is full");
	schedule(s);
}

int
ra_cert_init(struct ra_srv *s, struct cella_diag *d)
{
	struct cella_buf doc;
	int64_t not_after = 0;
	int rv;

	cella_buf_init(&doc, CELLA_NSM_RESPONSE_MAX);
	rv = attest_spki(s, s->nsm, &doc, &not_after, d);
	if (rv == 0 && (rv = install(s, &doc, not_after)) < 0)
		cella_diag_set(d, rv, "building the certificate's responses");
	cella_buf_fini(&doc);
	if (rv < 0)
		return rv;
	uv_timer_init(s->loop, &s->cert.timer);
	s->cert.timer.data = s;
	s->cert.timer_init = true;
	schedule(s);
	return 0;
}

void
ra_cert_serve(struct ra_srv *s, h2o_req_t *req, enum ra_media m)
{
	bool json = m == RA_MEDIA_JSON;
	void *body = json ? s->cert.json : s->cert.cbor;
	size_t len = json ? s->cert.json_len : s->cert.cbor_len;

	if (body == NULL || (int64_t)time(NULL) >= s->cert.not_after) {
		ra_http_error(s, req, RA_ROUTE_CERTIFICATE, 503,
			      RA_ERR_CERT_REFRESH,
			      "the certificate's document expired and could "
			      "not be renewed yet");
		return;
	}
	h2o_mem_link_shared(&req->pool, body);
	ra_http_send(s, req, RA_ROUTE_CERTIFICATE, 200,
		     json ? "application/json" : "application/cbor",
		     h2o_iovec_init(body, len));
}

void
ra_cert_stop(struct ra_srv *s)
{
	if (s->cert.timer_init)
		uv_close((uv_handle_t *)&s->cert.timer, NULL);
	s->cert.timer_init = false;
}

void
ra_cert_fini(struct ra_srv *s)
{
	if (s->cert.json != NULL)
		h2o_mem_release_shared(s->cert.json);
	if (s->cert.cbor != NULL)
		h2o_mem_release_shared(s->cert.cbor);
	s->cert.json = s->cert.cbor = NULL;
}
