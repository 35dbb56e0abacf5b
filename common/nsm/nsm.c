/*
 * nsm: the NSM request/response codec. Each variant of the Rust enums is a
 * row in a table (its serde name and its fields in declaration order), and
 * one encoder and one decoder walk the tables, so a field cannot be
 * encoded in one order and decoded under another name. Decoding first runs
 * cella_cbor_check with limits sized for the largest legal message of each
 * direction. The provider handle and the high-level calls live in
 * nsm_call.c; this file does no I/O.
 */
#include "common/nsm/nsm.h"

#include <errno.h>
#include <string.h>

#include "common/cbor/cbor.h"
#include "common/nsm/nsm_wire.h"

enum ftype { F_U16, F_BYTES, F_OPT, F_BOOL, F_TEXT, F_U16SET, F_DIGEST };

struct field {
	const char *name;
	enum ftype type;
	size_t off;  /* into the request or response struct */
	size_t off2; /* F_U16SET: where the count lives */
	size_t max;  /* bytes for strings */
};

struct variant {
	const char *name;
	enum cella_nsm_kind kind;
	const struct field *f; /* NULL: a unit variant, a bare string */
	size_t nf;
};

#define RQ(m) offsetof(struct cella_nsm_request, m)
#define RS(m) offsetof(struct cella_nsm_response, m)
#define ROWS(a) a, sizeof(a) / sizeof(a[0])

static const struct field rq_attest[] = {
	{"user_data", F_OPT, RQ(user_data), 0, CELLA_NSM_DATA_MAX},
	{"nonce", F_OPT, RQ(nonce), 0, CELLA_NSM_DATA_MAX},
	{"public_key", F_OPT, RQ(public_key), 0, CELLA_NSM_DATA_MAX},
};
static const struct field rq_index[] = {
	{"index", F_U16, RQ(index), 0, 0},
};
static const struct field rq_extend[] = {
	{"index", F_U16, RQ(index), 0, 0},
	{"data", F_BYTES, RQ(data), 0, CELLA_NSM_REQUEST_MAX},
};
static const struct field rq_range[] = {
	{"range", F_U16, RQ(range), 0, 0},
};

static const struct variant requests[] = {
	{"Attestation", CELLA_NSM_ATTESTATION, ROWS(rq_attest)},
	{"DescribePCR", CELLA_NSM_DESCRIBE_PCR, ROWS(rq_index)},
	{"ExtendPCR", CELLA_NSM_EXTEND_PCR, ROWS(rq_extend)},
	{"LockPCR", CELLA_NSM_LOCK_PCR, ROWS(rq_index)},
	{"LockPCRs", CELLA_NSM_LOCK_PCRS, ROWS(rq_range)},
	{"DescribeNSM", CELLA_NSM_DESCRIBE_NSM, NULL, 0},
	{"GetRandom", CELLA_NSM_GET_RANDOM, NULL, 0},
};

static const struct field rs_attest[] = {
	{"document", F_BYTES, RS(document), 0, CELLA_NSM_RESPONSE_MAX},
};
static const struct field rs_describe_pcr[] = {
	{"lock", F_BOOL, RS(lock), 0, 0},
	{"data", F_BYTES, RS(data), 0, CELLA_NSM_PCR_LEN_MAX},
};
static const struct field rs_extend[] = {
	{"data", F_BYTES, RS(data), 0, CELLA_NSM_PCR_LEN_MAX},
};
static const struct field rs_describe_nsm[] = {
	{"version_major", F_U16, RS(nsm.version_major), 0, 0},
	{"version_minor", F_U16, RS(nsm.version_minor), 0, 0},
	{"version_patch", F_U16, RS(nsm.version_patch), 0, 0},
	{"module_id", F_TEXT, RS(nsm.module_id), 0, CELLA_NSM_MODULE_ID_MAX},
	{"max_pcrs", F_U16, RS(nsm.max_pcrs), 0, 0},
	{"locked_pcrs", F_U16SET, RS(nsm.locked_pcrs), RS(nsm.n_locked), 0},
	{"digest", F_DIGEST, RS(nsm.digest), 0, 0},
};
static const struct field rs_random[] = {
	{"random", F_BYTES, RS(random), 0, CELLA_NSM_RESPONSE_MAX},
};

static const struct variant responses[] = {
	{"Attestation", CELLA_NSM_ATTESTATION, ROWS(rs_attest)},
	{"DescribePCR", CELLA_NSM_DESCRIBE_PCR, ROWS(rs_describe_pcr)},
	{"ExtendPCR", CELLA_NSM_EXTEND_PCR, ROWS(rs_extend)},
	{"LockPCR", CELLA_NSM_LOCK_PCR, NULL, 0},
	{"LockPCRs", CELLA_NSM_LOCK_PCRS, NULL, 0},
	{"DescribeNSM", CELLA_NSM_DESCRIBE_NSM, ROWS(rs_describe_nsm)},
	{"GetRandom", CELLA_NSM_GET_RANDOM, ROWS(rs_random)},
};

static const char *const status_names[] = {
	"Success",	    "InvalidArgument", "InvalidIndex",
	"InvalidResponse",  "ReadOnlyIndex",   "InvalidOperation",
	"BufferTooSmall",   "InputTooLarge",   "InternalError",
};
#define N_STATUS (sizeof(status_names) / sizeof(status_names[0]))

static const char *const digest_names[] = {"SHA256", "SHA384", "SHA512"};

/* Room for every field of the largest message of each direction. */
static const struct cella_cbor_limits request_limits = {
	.max_bytes = CELLA_NSM_REQUEST_MAX,
	.max_depth = 2,
	.max_items = 16,
	.max_str = CELLA_NSM_REQUEST_MAX,
};
static const struct cella_cbor_limits response_limits = {
	.max_bytes = CELLA_NSM_RESPONSE_MAX,
	.max_depth = 3,
	.max_items = 24 + CELLA_NSM_LOCKED_MAX,
	.max_str = CELLA_NSM_RESPONSE_MAX,
};

const char *
cella_nsm_status_name(enum cella_nsm_status s)
{
	return (unsigned)s < N_STATUS ? status_names[s] : "?";
}

int
cella_nsm_status_errno(enum cella_nsm_status s)
{
	static const int map[] = {
		0,	 -EINVAL,     -ERANGE,	 -EPROTO, -EROFS,
		-EOPNOTSUPP, -ENOBUFS, -EMSGSIZE, -EIO,
	};

	return (unsigned)s < N_STATUS ? map[s] : -EPROTO;
}

const char *
cella_nsm_kind_name(enum cella_nsm_kind k)
{
	if (k == CELLA_NSM_ERROR)
		return "Error";
	for (size_t i = 0; i < sizeof(requests) / sizeof(requests[0]); i++)
		if (requests[i].kind == k)
			return requests[i].name;
	return "?";
}

static const struct variant *
find_kind(const struct variant *tab, size_t n, enum cella_nsm_kind k)
{
	for (size_t i = 0; i < n; i++)
		if (tab[i].kind == k)
			return &tab[i];
	return NULL;
}

static const struct variant *
find_name(const struct variant *tab, size_t n, struct cella_span name)
{
	for (size_t i = 0; i < n; i++)
		if (cella_nsmw_span_is(name, tab[i].name))
			return &tab[i];
	return NULL;
}

/* ---- encoding ---- */

static int
put_field(struct cella_buf *b, const struct field *f, const uint8_t *obj)
{
	const void *at = obj + f->off;

	switch (f->type) {
	case F_U16:
		return cella_nsmw_put_head(b, CELLA_NSMW_UINT,
					   *(const uint16_t *)at);
	case F_BOOL:
		return cella_nsmw_put_simple(b, *(const bool *)at ?
						 CELLA_NSMW_TRUE :
						 CELLA_NSMW_FALSE);
	case F_BYTES:
	case F_TEXT: {
		const struct cella_span *s = at;

		if (s->n > f->max)
			return -EMSGSIZE;
		if (f->type == F_BYTES)
			return cella_nsmw_put_bytes(b, s->p, s->n);
		return cella_nsmw_put_text_n(b, s->p, s->n);
	}
	case F_OPT: {
		const struct cella_nsm_opt *o = at;

		if (!o->set)
			return cella_nsmw_put_simple(b, CELLA_NSMW_NULL);
		if (o->v.n > f->max)
			return -EMSGSIZE;
		return cella_nsmw_put_bytes(b, o->v.p, o->v.n);
	}
	case F_U16SET: {
		const uint16_t *v = at;
		uint16_t n = *(const uint16_t *)(obj + f->off2);
		int rc;

		if (n > CELLA_NSM_LOCKED_MAX)
			return -EMSGSIZE;
		rc = cella_nsmw_put_head(b, CELLA_NSMW_ARRAY, n);
		for (uint16_t i = 0; rc == 0 && i < n; i++)
			rc = cella_nsmw_put_head(b, CELLA_NSMW_UINT, v[i]);
		return rc;
	}
	case F_DIGEST: {
		unsigned dg = *(const enum cella_nsm_digest *)at;

		if (dg > CELLA_NSM_SHA512)
			return -EINVAL;
		return cella_nsmw_put_text(b, digest_names[dg]);
	}
	}
	return -EINVAL;
}

static int
put_variant(struct cella_buf *b, const struct variant *v, const void *obj)
{
	int rc;

	if (v->f == NULL)
		return cella_nsmw_put_text(b, v->name);
	rc = cella_nsmw_put_head(b, CELLA_NSMW_MAP, 1);
	if (rc == 0)
		rc = cella_nsmw_put_text(b, v->name);
	if (rc == 0)
		rc = cella_nsmw_put_head(b, CELLA_NSMW_MAP, v->nf);
	for (size_t i = 0; rc == 0 && i < v->nf; i++) {
		rc = cella_nsmw_put_text(b, v->f[i].name);
		if (rc == 0)
			rc = put_field(b, &v->f[i], obj);
	}
	return rc;
}

int
cella_nsm_request_encode(const struct cella_nsm_request *req,
			 struct cella_buf *out)
{
	const struct variant *v = find_kind(requests, sizeof(requests) /
							      sizeof(requests[0]),
					    req->kind);
	size_t len0 = out->len;
	int rc;

	if (v == NULL)
		return -EINVAL;
	rc = put_variant(out, v, req);
	if (rc == 0 && out->len - len0 > CELLA_NSM_REQUEST_MAX)
		rc = -EMSGSIZE;
	if (rc < 0)
		out->len = len0;
	return rc;
}

int
cella_nsm_response_encode(const struct cella_nsm_response *resp,
			  struct cella_buf *out)
{
	size_t len0 = out->len;
	const struct variant *v;
	int rc;

	if (resp->kind == CELLA_NSM_ERROR) {
		if ((unsigned)resp->error >= N_STATUS)
			return -EINVAL;
		rc = cella_nsmw_put_head(out, CELLA_NSMW_MAP, 1);
		if (rc == 0)
			rc = cella_nsmw_put_text(out, "Error");
		if (rc == 0)
			rc = cella_nsmw_put_text(out,
						 status_names[resp->error]);
	} else {
		v = find_kind(responses,
			      sizeof(responses) / sizeof(responses[0]),
			      resp->kind);
		if (v == NULL)
			return -EINVAL;
		rc = put_variant(out, v, resp);
	}
	if (rc == 0 && out->len - len0 > CELLA_NSM_RESPONSE_MAX)
		rc = -EMSGSIZE;
	if (rc < 0)
		out->len = len0;
	return rc;
}

/* ---- decoding ---- */

static int
get_u16set(struct cella_nsmw_reader *r, const struct field *f, uint8_t *obj)
{
	uint16_t *v = (uint16_t *)(obj + f->off);
	uint64_t n, x;
	int rc = cella_nsmw_get_container(r, CELLA_NSMW_ARRAY, &n);

	if (rc < 0)
		return rc;
	if (n > CELLA_NSM_LOCKED_MAX)
		return -EMSGSIZE;
	for (uint64_t i = 0; i < n; i++) {
		rc = cella_nsmw_get_uint(r, UINT16_MAX, &x);
		if (rc < 0)
			return rc;
		v[i] = (uint16_t)x;
	}
	*(uint16_t *)(obj + f->off2) = (uint16_t)n;
	return 0;
}

static int
get_field(struct cella_nsmw_reader *r, const struct field *f, uint8_t *obj)
{
	void *at = obj + f->off;
	struct cella_span s;
	uint64_t x;
	int rc;

	switch (f->type) {
	case F_U16:
		rc = cella_nsmw_get_uint(r, UINT16_MAX, &x);
		if (rc == 0)
			*(uint16_t *)at = (uint16_t)x;
		return rc;
	case F_BOOL:
		return cella_nsmw_get_bool(r, at);
	case F_BYTES:
		return cella_nsmw_get_bytes(r, f->max, at);
	case F_TEXT:
		return cella_nsmw_get_text(r, f->max, at);
	case F_OPT: {
		struct cella_nsm_opt *o = at;

		if (cella_nsmw_get_null(r))
			return 0;
		o->set = true;
		return cella_nsmw_get_bytes(r, f->max, &o->v);
	}
	case F_U16SET:
		return get_u16set(r, f, obj);
	case F_DIGEST:
		rc = cella_nsmw_get_text(r, 16, &s);
		for (unsigned i = 0; rc == 0 && i < 3; i++) {
			if (cella_nsmw_span_is(s, digest_names[i])) {
				*(enum cella_nsm_digest *)at = i;
				return 0;
			}
		}
		return rc < 0 ? rc : -EBADMSG;
	}
	return -EBADMSG;
}

static int
get_fields(struct cella_nsmw_reader *r, const struct variant *v, void *obj,
	   const char *what, struct cella_diag *d)
{
	uint32_t seen = 0;
	struct cella_span key;
	uint64_t n;
	size_t j;
	int rc;

	if (cella_nsmw_get_container(r, CELLA_NSMW_MAP, &n) < 0)
		return cella_diag_set(d, -EBADMSG, "nsm %s: %s: fields are "
				      "not a map", what, v->name);
	for (uint64_t i = 0; i < n; i++) {
		if (cella_nsmw_get_text(r, 64, &key) < 0)
			return cella_diag_set(d, -EBADMSG, "nsm %s: %s: a "
					      "field name is not short text",
					      what, v->name);
		for (j = 0; j < v->nf; j++)
			if (cella_nsmw_span_is(key, v->f[j].name))
				break;
		if (j == v->nf) {
			rc = cella_nsmw_skip(r, 0);
		} else if (seen & (1u << j)) {
			return cella_diag_set(d, -EBADMSG, "nsm %s: %s.%s: "
					      "given twice", what, v->name,
					      v->f[j].name);
		} else {
			seen |= 1u << j;
			rc = get_field(r, &v->f[j], obj);
		}
		if (rc < 0)
			return cella_diag_set(d, rc, "nsm %s: %s.%s: %s", what,
					      v->name,
					      j < v->nf ? v->f[j].name : "?",
					      rc == -EMSGSIZE ? "too large" :
								"wrong type");
	}
	for (j = 0; j < v->nf; j++)
		if (!(seen & (1u << j)) && v->f[j].type != F_OPT)
			return cella_diag_set(d, -EBADMSG, "nsm %s: %s: "
					      "missing field '%s'", what,
					      v->name, v->f[j].name);
	return 0;
}

static int
get_error(struct cella_nsmw_reader *r, struct cella_nsm_response *resp,
	  struct cella_diag *d)
{
	struct cella_span s;

	if (cella_nsmw_get_text(r, 32, &s) == 0) {
		for (unsigned i = 0; i < N_STATUS; i++) {
			if (cella_nsmw_span_is(s, status_names[i])) {
				resp->error = i;
				return 0;
			}
		}
	}
	return cella_diag_set(d, -EBADMSG, "nsm response: Error: not a "
			      "known ErrorCode");
}

/*
 * The envelope shared by both directions: a bare variant name or a
 * one-entry map from the name to the fields.
 */
static int
parse_top(struct cella_nsmw_reader *r, const struct variant *tab, size_t ntab,
	  void *obj, enum cella_nsm_kind *kind, const char *what,
	  struct cella_diag *d)
{
	const struct variant *v;
	struct cella_span name;
	unsigned major = 0;
	uint64_t n;

	if (cella_nsmw_peek(r, &major, &n) == 0 && major == CELLA_NSMW_MAP) {
		if (n != 1)
			return cella_diag_set(d, -EBADMSG, "nsm %s: a map of "
					      "%llu entries, not 1", what,
					      (unsigned long long)n);
		cella_nsmw_get_container(r, CELLA_NSMW_MAP, &n);
	}
	if (cella_nsmw_get_text(r, 64, &name) < 0)
		return cella_diag_set(d, -EBADMSG, "nsm %s: not a variant "
				      "name or a one-entry map", what);
	if (major == CELLA_NSMW_MAP && tab == responses &&
	    cella_nsmw_span_is(name, "Error")) {
		*kind = CELLA_NSM_ERROR;
		return get_error(r, obj, d);
	}
	v = find_name(tab, ntab, name);
	if (v == NULL)
		return cella_diag_set(d, -EOPNOTSUPP, "nsm %s: unknown "
				      "variant '%.*s'", what, (int)name.n,
				      (const char *)name.p);
	*kind = v->kind;
	if ((v->f == NULL) != (major == CELLA_NSMW_TEXT))
		return cella_diag_set(d, -EBADMSG, "nsm %s: %s %s", what,
				      v->name, v->f == NULL ?
				      "takes no fields" : "needs its fields");
	return v->f == NULL ? 0 : get_fields(r, v, obj, what, d);
}

int
cella_nsm_request_parse(const uint8_t *p, size_t n,
			struct cella_nsm_request *out, struct cella_diag *d)
{
	struct cella_nsm_request req;
	struct cella_nsmw_reader r = {p, n, 0};
	int rc;

	rc = cella_cbor_check(p, n, &request_limits, d);
	if (rc < 0)
		return rc;
	memset(&req, 0, sizeof(req));
	rc = parse_top(&r, requests, sizeof(requests) / sizeof(requests[0]),
		       &req, &req.kind, "request", d);
	if (rc == 0 && r.off != n)
		rc = cella_diag_set(d, -EBADMSG, "nsm request: trailing bytes");
	if (rc == 0)
		*out = req;
	return rc;
}

int
cella_nsm_response_parse(const uint8_t *p, size_t n,
			 struct cella_nsm_response *out, struct cella_diag *d)
{
	struct cella_nsm_response resp;
	struct cella_nsmw_reader r = {p, n, 0};
	int rc;

	rc = cella_cbor_check(p, n, &response_limits, d);
	if (rc < 0)
		return rc;
	memset(&resp, 0, sizeof(resp));
	rc = parse_top(&r, responses,
		       sizeof(responses) / sizeof(responses[0]), &resp,
		       &resp.kind, "response", d);
	if (rc == 0 && r.off != n)
		rc = cella_diag_set(d, -EBADMSG, "nsm response: trailing "
				    "bytes");
	if (rc == 0)
		*out = resp;
	return rc;
}
