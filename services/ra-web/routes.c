/*
 * routes: what each path answers. Checks that apply to every request come
 * first, in a fixed order (target length, header size, path, method,
 * body), so that a malformed request gets the same answer whatever it
 * asks for. Paths match exactly (after h2o's normalisation): there is no
 * prefix routing and no directory. /v1/attestation and /v1/pcrs need the
 * NSM and answer from the loop once a pool worker is done; a request whose
 * connection went away meanwhile is dropped when its job finishes (h2o's
 * pool disposal tells the job, through a shared chunk in the request's
 * pool).
 */
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/core/clock.h"
#include "common/core/buf.h"
#include "common/core/log.h"
#include "services/ra-web/srv.h"

#define METRICS_MAX (64u * 1024)

struct reqref {
	struct http_job *job; /* NULL once the job no longer cares */
};

struct http_job {
	struct ra_loopjob lj;
	h2o_req_t *req; /* NULL once h2o disposed of the request */
	struct reqref *ref;
	enum ra_route route;
	enum ra_media media;
	int rv;
	struct cella_diag d;
	uint8_t nonce[CELLA_NSM_DATA_MAX];
	size_t nonce_len;
	struct cella_buf doc;
	bool has_evlog; /* the document carries the event log head */
	uint8_t evlog_head[48];
	uint64_t evlog_len;
	struct cella_nsm_pcr pcrs[CELLA_NSM_PCR_COUNT];
	unsigned npcrs;
};

static void
ref_disposed(void *p)
{
	struct reqref *ref = p;

	if (ref->job != NULL)
		ref->job->req = NULL;
}

/* ---- the NSM side (pool threads) ---- */

static void
run_attest(struct ra_job *j, struct cella_nsm *nsm)
{
	struct http_job *hj = (struct http_job *)j;
	struct cella_span nonce = CELLA_SPAN(hj->nonce, hj->nonce_len);
	struct cella_span ud;
	struct cella_buf udb;
	uint64_t t0 = cella_mono_us();

	cella_buf_init(&udb, 256);
	hj->has_evlog = ra_evlog_user_data(&hj->lj.srv->evlog, hj->evlog_head,
					   &hj->evlog_len, &udb) == 0;
	ud = CELLA_SPAN(udb.p, udb.len);
	hj->rv = cella_nsm_attest(nsm, hj->has_evlog ? &ud : NULL, &nonce, NULL,
				  &hj->doc, &hj->d);
	cella_buf_fini(&udb);
	ra_metrics_attest(&hj->lj.srv->metrics, cella_mono_us() - t0);
	ra_srv_post(&hj->lj);
}

static void
run_pcrs(struct ra_job *j, struct cella_nsm *nsm)
{
	struct http_job *hj = (struct http_job *)j;
	struct cella_nsm_info info;

	hj->rv = cella_nsm_describe(nsm, &info, &hj->d);
	for (unsigned i = 0; hj->rv == 0 && i < info.max_pcrs &&
			     i < CELLA_NSM_PCR_COUNT;
	     i++) {
		hj->rv = cella_nsm_describe_pcr(nsm, (uint16_t)i, &hj->pcrs[i],
						&hj->d);
		hj->npcrs = i + 1;
	}
	ra_srv_post(&hj->lj);
}

/* ---- answers (loop) ---- */

static void
answer_attest(struct ra_srv *s, struct http_job *hj)
{
	h2o_req_t *req = hj->req;
	size_t n = hj->doc.len, b64 = 4 * ((n + 2) / 3), cap;
	char *body;
	int len;

	if (hj->media == RA_MEDIA_CBOR) {
		body = h2o_mem_alloc_pool(&req->pool, n);
		memcpy(body, hj->doc.p, n);
		ra_http_send(s, req, hj->route, 200, "application/cbor",
			     h2o_iovec_init(body, n));
		return;
	}
	cap = b64 + 2 * hj->nonce_len + 256;
	body = h2o_mem_alloc_pool(&req->pool, cap);
	len = snprintf(body, cap, "{\"document\":\"");
	len += EVP_EncodeBlock((unsigned char *)body + len, hj->doc.p, (int)n);
	len += snprintf(body + len, cap - (size_t)len, "\",\"nonce\":\"");
	cella_hex_encode(hj->nonce, hj->nonce_len, body + len, cap - (size_t)len);
	len += (int)(2 * hj->nonce_len);
	len += snprintf(body + len, cap - (size_t)len, "\",\"provider\":\"%s\"",
			cella_nsm_provider(s->nsm));
	if (hj->has_evlog) {
		len += snprintf(body + len, cap - (size_t)len,
				",\"evlog_len\":%llu,\"evlog_head\":\"",
				(unsigned long long)hj->evlog_len);
		cella_hex_encode(hj->evlog_head, 48, body + len,
				 cap - (size_t)len);
		len += 96;
		body[len++] = '"';
	}
	body[len++] = '}';
	ra_http_send(s, req, hj->route, 200, "application/json",
		     h2o_iovec_init(body, (size_t)len));
}

static void
answer_pcrs(struct ra_srv *s, struct http_job *hj)
{
	h2o_req_t *req = hj->req;
	size_t cap = 2 + hj->npcrs * (8 + 2 * CELLA_NSM_PCR_LEN_MAX + 1) + 1;
	char *body = h2o_mem_alloc_pool(&req->pool, cap);
	size_t len = 0;

	body[len++] = '{';
	for (unsigned i = 0; i < hj->npcrs; i++) {
		len += (size_t)snprintf(body + len, cap - len, "%s\"%u\":\"",
					i ? "," : "", i);
		cella_hex_encode(hj->pcrs[i].value, hj->pcrs[i].len, body + len,
				 cap - len);
		len += 2 * hj->pcrs[i].len;
		body[len++] = '"';
	}
	body[len++] = '}';
	ra_http_send(s, req, hj->route, 200, "application/json",
		     h2o_iovec_init(body, len));
}

static void
finish_job(struct ra_loopjob *lj)
{
	struct http_job *hj = (struct http_job *)lj;
	struct ra_srv *s = lj->srv;

	if (hj->req == NULL) {
		cella_log_debug("request_gone", "path=%s",
				ra_route_name(hj->route));
	} else {
		hj->ref->job = NULL;
		if (hj->rv < 0)
			ra_http_error(s, hj->req, hj->route, 500, RA_ERR_NSM,
				      "NSM: %s", hj->d.msg);
		else if (hj->route == RA_ROUTE_ATTESTATION)
			answer_attest(s, hj);
		else
			answer_pcrs(s, hj);
	}
	cella_buf_fini(&hj->doc);
	free(hj);
}

/* Hand req to the pool; answered by finish_job. */
static void
submit(struct ra_srv *s, h2o_req_t *req, struct http_job *hj)
{
	int rv;

	hj->req = req;
	hj->lj.srv = s;
	hj->lj.finish = finish_job;
	hj->ref = h2o_mem_alloc_shared(&req->pool, sizeof(*hj->ref),
				       ref_disposed);
	hj->ref->job = hj;
	rv = ra_srv_submit(s, &hj->lj);
	if (rv == 0)
		return;
	hj->ref->job = NULL;
	ra_http_error(s, req, hj->route, 503, RA_ERR_BUSY, "%s",
		      rv == -EBUSY ? "too many requests wait for the NSM; "
				     "retry later"
				   : "shutting down");
	cella_buf_fini(&hj->doc);
	free(hj);
}

/* ---- handlers ---- */

static h2o_iovec_t
header(h2o_req_t *req, const h2o_token_t *t, bool *found)
{
	ssize_t i = h2o_find_header(&req->headers, t, -1);

	*found = i >= 0;
	return i >= 0 ? req->headers.entries[i].value : h2o_iovec_init("", 0);
}

static enum ra_media
negotiate(h2o_req_t *req, enum ra_media pref, enum ra_media other)
{
	bool found;
	h2o_iovec_t v = header(req, H2O_TOKEN_ACCEPT, &found);

	return ra_accept(found ? v.base : NULL, v.len, pref, other);
}

static void
get_attestation(struct ra_srv *s, h2o_req_t *req)
{
	struct http_job *hj = calloc(1, sizeof(*hj));
	bool hasq = req->query_at != SIZE_MAX;
	struct cella_diag d;
	int n;

	if (hj == NULL) {
		ra_http_error(s, req, RA_ROUTE_ATTESTATION, 503, RA_ERR_INTERNAL,
			      "out of memory");
		return;
	}
	hj->route = RA_ROUTE_ATTESTATION;
	n = ra_query_nonce(hasq ? req->path.base + req->query_at + 1 : NULL,
			   hasq ? req->path.len - req->query_at - 1 : 0,
			   hj->nonce, sizeof(hj->nonce), &d);
	hj->media = negotiate(req, RA_MEDIA_CBOR, RA_MEDIA_JSON);
	if (n < 0 || hj->media == RA_MEDIA_NONE) {
		free(hj);
		if (n < 0)
			ra_http_error(s, req, RA_ROUTE_ATTESTATION, 400,
				      RA_ERR_BAD_REQUEST, "%s", d.msg);
		else
			ra_http_error(s, req, RA_ROUTE_ATTESTATION, 406,
				      RA_ERR_BAD_REQUEST,
				      "Accept: offered application/cbor and "
				      "application/json");
		return;
	}
	hj->nonce_len = (size_t)n;
	cella_buf_init(&hj->doc, CELLA_NSM_RESPONSE_MAX);
	hj->lj.job.run = run_attest;
	submit(s, req, hj);
}

static void
get_pcrs(struct ra_srv *s, h2o_req_t *req)
{
	struct http_job *hj;

	if (req->query_at != SIZE_MAX && req->query_at + 1 < req->path.len) {
		ra_http_error(s, req, RA_ROUTE_PCRS, 400, RA_ERR_BAD_REQUEST,
			      "no parameters are accepted here");
		return;
	}
	if (negotiate(req, RA_MEDIA_JSON, RA_MEDIA_JSON) == RA_MEDIA_NONE) {
		ra_http_error(s, req, RA_ROUTE_PCRS, 406, RA_ERR_BAD_REQUEST,
			      "Accept: offered application/json");
		return;
	}
	hj = calloc(1, sizeof(*hj));
	if (hj == NULL) {
		ra_http_error(s, req, RA_ROUTE_PCRS, 503, RA_ERR_INTERNAL,
			      "out of memory");
		return;
	}
	hj->route = RA_ROUTE_PCRS;
	hj->media = RA_MEDIA_JSON;
	hj->lj.job.run = run_pcrs;
	submit(s, req, hj);
}

static void
get_certificate(struct ra_srv *s, h2o_req_t *req)
{
	enum ra_media m = negotiate(req, RA_MEDIA_JSON, RA_MEDIA_CBOR);

	if (m == RA_MEDIA_NONE)
		ra_http_error(s, req, RA_ROUTE_CERTIFICATE, 406,
			      RA_ERR_BAD_REQUEST,
			      "Accept: offered application/json and "
			      "application/cbor");
	else
		ra_cert_serve(s, req, m);
}

static void
get_healthz(struct ra_srv *s, h2o_req_t *req)
{
	static const char ok[] = "{\"status\":\"ok\"}";
	static const char draining[] = "{\"status\":\"draining\"}";

	if (s->state == RA_RUNNING)
		ra_http_send(s, req, RA_ROUTE_HEALTHZ, 200, "application/json",
			     h2o_iovec_init(ok, sizeof(ok) - 1));
	else
		ra_http_send(s, req, RA_ROUTE_HEALTHZ, 503, "application/json",
			     h2o_iovec_init(draining, sizeof(draining) - 1));
}

static void
get_metrics(struct ra_srv *s, h2o_req_t *req)
{
	struct ra_gauges g;
	struct cella_buf b;
	char *body;

	ra_srv_gauges(s, &g);
	cella_buf_init(&b, METRICS_MAX);
	if (ra_metrics_format(&s->metrics, &g, &b) < 0) {
		cella_buf_fini(&b);
		ra_http_error(s, req, RA_ROUTE_METRICS, 500, RA_ERR_INTERNAL,
			      "metrics exceed %u bytes", METRICS_MAX);
		return;
	}
	body = h2o_mem_alloc_pool(&req->pool, b.len);
	memcpy(body, b.p, b.len);
	ra_http_send(s, req, RA_ROUTE_METRICS, 200,
		     "text/plain; version=0.0.4; charset=utf-8",
		     h2o_iovec_init(body, b.len));
	cella_buf_fini(&b);
}

static const struct {
	const char *path;
	enum ra_route route;
	void (*get)(struct ra_srv *s, h2o_req_t *req);
} routes[] = {
	{"/v1/attestation", RA_ROUTE_ATTESTATION, get_attestation},
	{"/v1/pcrs", RA_ROUTE_PCRS, get_pcrs},
	{"/v1/certificate", RA_ROUTE_CERTIFICATE, get_certificate},
	{"/healthz", RA_ROUTE_HEALTHZ, get_healthz},
	{"/metrics", RA_ROUTE_METRICS, get_metrics},
};

static size_t
header_bytes(const h2o_req_t *req)
{
	size_t n = 0;

	for (size_t i = 0; i < req->headers.size; i++)
		n += req->headers.entries[i].name->len +
		     req->headers.entries[i].value.len + 4;
	return n;
}

int
ra_routes_handle(struct ra_srv *s, h2o_req_t *req)
{
	const struct ra_conf *c = s->conf;
	size_t i, nroutes = sizeof(routes) / sizeof(routes[0]);
	enum ra_route r = RA_ROUTE_OTHER;

	for (i = 0; i < nroutes; i++)
		if (h2o_memis(req->path_normalized.base, req->path_normalized.len,
			      routes[i].path, strlen(routes[i].path)))
			break;
	if (i < nroutes)
		r = routes[i].route;
	if (req->path.len > c->max_url_bytes)
		ra_http_error(s, req, r, 414, RA_ERR_TOO_LARGE,
			      "request target of %zu bytes, over %u",
			      req->path.len, c->max_url_bytes);
	else if (header_bytes(req) > c->max_header_bytes)
		ra_http_error(s, req, r, 431, RA_ERR_TOO_LARGE,
			      "request headers of %zu bytes, over %u",
			      header_bytes(req), c->max_header_bytes);
	else if (i == nroutes)
		ra_http_error(s, req, r, 404, RA_ERR_NOT_FOUND,
			      "no such resource (try /v1/attestation?nonce=HEX,"
			      " /v1/certificate, /v1/pcrs, /healthz, /metrics)");
	else if (!h2o_memis(req->method.base, req->method.len,
			    H2O_STRLIT("GET"))) {
		h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_ALLOW,
			       NULL, H2O_STRLIT("GET"));
		ra_http_error(s, req, r, 405, RA_ERR_METHOD,
			      "only GET is allowed here");
	} else if (req->entity.base != NULL && req->entity.len > 0)
		ra_http_error(s, req, r, 400, RA_ERR_BAD_REQUEST,
			      "a GET request takes no body");
	else
		routes[i].get(s, req);
	return 0;
}
