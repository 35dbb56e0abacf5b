/*
 * nsm_call: the provider handle and the high-level NSM calls. Each call is
 * one request encoded, one transact through whichever provider the handle
 * wraps, one response decoded and checked to be of the kind asked for; an
 * NSM error becomes -errno with the NSM's own name in the diagnosis. Holds
 * no lock: providers are thread-safe themselves.
 */
#include "common/nsm/nsm.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct cella_nsm {
	const struct cella_nsm_ops *ops;
	void *ctx;
};

int
cella_nsm_new(const struct cella_nsm_ops *ops, void *ctx,
	      struct cella_nsm **out)
{
	struct cella_nsm *nsm = calloc(1, sizeof(*nsm));

	if (nsm == NULL)
		return -ENOMEM;
	nsm->ops = ops;
	nsm->ctx = ctx;
	*out = nsm;
	return 0;
}

void
cella_nsm_free(struct cella_nsm *nsm)
{
	if (nsm == NULL)
		return;
	if (nsm->ops->close != NULL)
		nsm->ops->close(nsm->ctx);
	free(nsm);
}

const char *
cella_nsm_provider(const struct cella_nsm *nsm)
{
	return nsm->ops->name;
}

void *
cella_nsm_ctx(struct cella_nsm *nsm)
{
	return nsm->ctx;
}

int
cella_nsm_call(struct cella_nsm *nsm, const struct cella_nsm_request *req,
	       struct cella_buf *raw, struct cella_nsm_response *resp,
	       struct cella_diag *d)
{
	struct cella_buf rq;
	int rc;

	cella_buf_init(&rq, CELLA_NSM_REQUEST_MAX);
	raw->len = 0;
	rc = cella_nsm_request_encode(req, &rq);
	if (rc < 0) {
		cella_diag_set(d, rc, "nsm %s: cannot encode the request: %s",
			       cella_nsm_kind_name(req->kind),
			       cella_strerror(rc));
	} else if ((rc = cella_buf_reserve(raw, CELLA_NSM_RESPONSE_MAX)) < 0) {
		cella_diag_set(d, rc, "nsm: no room for a response");
	} else {
		rc = nsm->ops->transact(nsm->ctx, rq.p, rq.len, raw->p,
					&raw->len);
		if (rc == 0 && raw->len > CELLA_NSM_RESPONSE_MAX)
			rc = -EPROTO;
		if (rc < 0)
			cella_diag_set(d, rc, "nsm %s: %s provider: %s",
				       cella_nsm_kind_name(req->kind),
				       nsm->ops->name, cella_strerror(rc));
	}
	cella_buf_fini(&rq);
	if (rc < 0) {
		raw->len = 0;
		return rc;
	}
	rc = cella_nsm_response_parse(raw->p, raw->len, resp, d);
	if (rc < 0)
		return -EPROTO;
	if (resp->kind == CELLA_NSM_ERROR) {
		rc = cella_nsm_status_errno(resp->error);
		return cella_diag_set(d, rc < 0 ? rc : -EPROTO, "nsm %s: %s",
				      cella_nsm_kind_name(req->kind),
				      cella_nsm_status_name(resp->error));
	}
	if (resp->kind != req->kind)
		return cella_diag_set(d, -EPROTO, "nsm %s: answered with %s",
				      cella_nsm_kind_name(req->kind),
				      cella_nsm_kind_name(resp->kind));
	return 0;
}

/* One call with a response buffer of its own, handed to then(). */
static int
call_with(struct cella_nsm *nsm, const struct cella_nsm_request *req,
	  int (*then)(const struct cella_nsm_response *, void *), void *arg,
	  struct cella_diag *d)
{
	struct cella_nsm_response *resp = malloc(sizeof(*resp));
	struct cella_buf raw;
	int rc;

	if (resp == NULL)
		return -ENOMEM;
	cella_buf_init(&raw, CELLA_NSM_RESPONSE_MAX);
	rc = cella_nsm_call(nsm, req, &raw, resp, d);
	if (rc == 0 && then != NULL)
		rc = then(resp, arg);
	cella_buf_fini(&raw);
	free(resp);
	return rc;
}

static void
opt_of(struct cella_nsm_opt *o, const struct cella_span *s)
{
	o->set = s != NULL;
	if (s != NULL)
		o->v = *s;
}

static int
take_document(const struct cella_nsm_response *resp, void *arg)
{
	return cella_buf_append(arg, resp->document.p, resp->document.n);
}

int
cella_nsm_attest(struct cella_nsm *nsm, const struct cella_span *user_data,
		 const struct cella_span *nonce,
		 const struct cella_span *public_key, struct cella_buf *doc,
		 struct cella_diag *d)
{
	struct cella_nsm_request req = {.kind = CELLA_NSM_ATTESTATION};

	opt_of(&req.user_data, user_data);
	opt_of(&req.nonce, nonce);
	opt_of(&req.public_key, public_key);
	return call_with(nsm, &req, take_document, doc, d);
}

static int
take_pcr(const struct cella_nsm_response *resp, void *arg)
{
	struct cella_nsm_pcr *out = arg;

	if (out == NULL)
		return 0;
	if (resp->data.n > sizeof(out->value))
		return -EPROTO;
	out->locked = resp->lock;
	out->len = resp->data.n;
	memcpy(out->value, resp->data.p, resp->data.n);
	return 0;
}

int
cella_nsm_describe_pcr(struct cella_nsm *nsm, uint16_t index,
		       struct cella_nsm_pcr *out, struct cella_diag *d)
{
	struct cella_nsm_request req = {.kind = CELLA_NSM_DESCRIBE_PCR,
					.index = index};

	return call_with(nsm, &req, take_pcr, out, d);
}

int
cella_nsm_extend_pcr(struct cella_nsm *nsm, uint16_t index, const void *data,
		     size_t n, struct cella_nsm_pcr *out, struct cella_diag *d)
{
	struct cella_nsm_request req = {.kind = CELLA_NSM_EXTEND_PCR,
					.index = index,
					.data = CELLA_SPAN(data, n)};

	return call_with(nsm, &req, take_pcr, out, d);
}

int
cella_nsm_lock_pcr(struct cella_nsm *nsm, uint16_t index,
		   struct cella_diag *d)
{
	struct cella_nsm_request req = {.kind = CELLA_NSM_LOCK_PCR,
					.index = index};

	return call_with(nsm, &req, NULL, NULL, d);
}

int
cella_nsm_lock_pcrs(struct cella_nsm *nsm, uint16_t range,
		    struct cella_diag *d)
{
	struct cella_nsm_request req = {.kind = CELLA_NSM_LOCK_PCRS,
					.range = range};

	return call_with(nsm, &req, NULL, NULL, d);
}

static int
take_info(const struct cella_nsm_response *resp, void *arg)
{
	const struct cella_nsm_description *s = &resp->nsm;
	struct cella_nsm_info *out = arg;

	out->version_major = s->version_major;
	out->version_minor = s->version_minor;
	out->version_patch = s->version_patch;
	memcpy(out->module_id, s->module_id.p, s->module_id.n);
	out->module_id[s->module_id.n] = '\0';
	out->max_pcrs = s->max_pcrs;
	memcpy(out->locked_pcrs, s->locked_pcrs,
	       s->n_locked * sizeof(s->locked_pcrs[0]));
	out->n_locked = s->n_locked;
	out->digest = s->digest;
	return 0;
}

int
cella_nsm_describe(struct cella_nsm *nsm, struct cella_nsm_info *out,
		   struct cella_diag *d)
{
	struct cella_nsm_request req = {.kind = CELLA_NSM_DESCRIBE_NSM};

	return call_with(nsm, &req, take_info, out, d);
}

struct fill {
	uint8_t *p;
	size_t want, got;
};

static int
take_random(const struct cella_nsm_response *resp, void *arg)
{
	struct fill *f = arg;
	size_t n = resp->random.n;

	if (n == 0)
		return -EPROTO;
	if (n > f->want - f->got)
		n = f->want - f->got;
	memcpy(f->p + f->got, resp->random.p, n);
	f->got += n;
	return 0;
}

int
cella_nsm_get_random(struct cella_nsm *nsm, void *out, size_t n,
		     struct cella_diag *d)
{
	struct cella_nsm_request req = {.kind = CELLA_NSM_GET_RANDOM};
	struct fill f = {out, n, 0};
	int rc = 0;

	while (rc == 0 && f.got < f.want)
		rc = call_with(nsm, &req, take_random, &f, d);
	return rc;
}
