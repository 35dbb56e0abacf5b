/*
 * nsm_wire: shortest-head CBOR writing and checked reading for the NSM
 * codec and the simulated documents. The reader trusts nothing: every
 * length is compared with what is left before a span is handed out, even
 * though cella_cbor_check has normally vetted the input already.
 */
#include "common/nsm/nsm_wire.h"

#include <errno.h>
#include <string.h>

size_t
cella_nsmw_head_len(uint64_t v)
{
	if (v < 24)
		return 1;
	if (v <= 0xff)
		return 2;
	if (v <= 0xffff)
		return 3;
	if (v <= 0xffffffffu)
		return 5;
	return 9;
}

int
cella_nsmw_put_head(struct cella_buf *b, unsigned major, uint64_t v)
{
	uint8_t h[9];
	size_t n = cella_nsmw_head_len(v);
	static const uint8_t ai[] = {0, 0, 24, 25, 0, 26, 0, 0, 0, 27};

	if (n == 1) {
		h[0] = (uint8_t)(major << 5 | v);
	} else {
		h[0] = (uint8_t)(major << 5 | ai[n]);
		for (size_t i = 1; i < n; i++)
			h[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	}
	return cella_buf_append(b, h, n);
}

static int
put_string(struct cella_buf *b, unsigned major, const void *p, size_t n)
{
	size_t len0 = b->len;
	int rc;

	rc = cella_buf_reserve(b, cella_nsmw_head_len(n) + n);
	if (rc < 0)
		return rc;
	rc = cella_nsmw_put_head(b, major, n);
	if (rc == 0 && n > 0)
		rc = cella_buf_append(b, p, n);
	if (rc < 0)
		b->len = len0;
	return rc;
}

int
cella_nsmw_put_bytes(struct cella_buf *b, const void *p, size_t n)
{
	return put_string(b, CELLA_NSMW_BYTES, p, n);
}

int
cella_nsmw_put_text(struct cella_buf *b, const char *s)
{
	return put_string(b, CELLA_NSMW_TEXT, s, strlen(s));
}

int
cella_nsmw_put_text_n(struct cella_buf *b, const void *p, size_t n)
{
	return put_string(b, CELLA_NSMW_TEXT, p, n);
}

int
cella_nsmw_put_simple(struct cella_buf *b, unsigned v)
{
	return cella_nsmw_put_head(b, CELLA_NSMW_SIMPLE, v);
}

int
cella_nsmw_put_opt(struct cella_buf *b, const void *p, size_t n)
{
	if (p == NULL)
		return cella_nsmw_put_simple(b, CELLA_NSMW_NULL);
	return cella_nsmw_put_bytes(b, p, n);
}

static int
read_head(const struct cella_nsmw_reader *r, size_t *off, unsigned *major,
	  uint64_t *arg)
{
	size_t o = *off, extra;
	unsigned ai;
	uint64_t v = 0;

	if (o >= r->n)
		return -EBADMSG;
	*major = r->p[o] >> 5;
	ai = r->p[o] & 0x1f;
	o++;
	if (ai < 24) {
		*arg = ai;
		*off = o;
		return 0;
	}
	if (ai > 27)
		return -EBADMSG; /* reserved or indefinite */
	extra = (size_t)1 << (ai - 24);
	if (r->n - o < extra)
		return -EBADMSG;
	for (size_t i = 0; i < extra; i++)
		v = v << 8 | r->p[o + i];
	*arg = v;
	*off = o + extra;
	return 0;
}

int
cella_nsmw_peek(const struct cella_nsmw_reader *r, unsigned *major,
		uint64_t *arg)
{
	size_t off = r->off;

	return read_head(r, &off, major, arg);
}

int
cella_nsmw_get_head(struct cella_nsmw_reader *r, unsigned *major,
		    uint64_t *arg)
{
	return read_head(r, &r->off, major, arg);
}

/* cella_cbor_check bounds nesting; depth is a second, local guard. */
#define SKIP_DEPTH_MAX 16

int
cella_nsmw_skip(struct cella_nsmw_reader *r, unsigned depth)
{
	unsigned major;
	uint64_t arg, items;
	int rc;

	if (depth > SKIP_DEPTH_MAX)
		return -EBADMSG;
	rc = cella_nsmw_get_head(r, &major, &arg);
	if (rc < 0)
		return rc;
	switch (major) {
	case CELLA_NSMW_BYTES:
	case CELLA_NSMW_TEXT:
		if (r->n - r->off < arg)
			return -EBADMSG;
		r->off += (size_t)arg;
		return 0;
	case CELLA_NSMW_ARRAY:
	case CELLA_NSMW_MAP:
		if (arg > r->n - r->off)
			return -EBADMSG; /* every item takes a byte at least */
		items = major == CELLA_NSMW_MAP ? 2 * arg : arg;
		for (uint64_t i = 0; i < items; i++) {
			rc = cella_nsmw_skip(r, depth + 1);
			if (rc < 0)
				return rc;
		}
		return 0;
	case CELLA_NSMW_TAG:
		return cella_nsmw_skip(r, depth + 1);
	default:
		return 0;
	}
}

int
cella_nsmw_get_uint(struct cella_nsmw_reader *r, uint64_t max, uint64_t *out)
{
	unsigned major;
	uint64_t v;
	int rc = cella_nsmw_get_head(r, &major, &v);

	if (rc < 0)
		return rc;
	if (major != CELLA_NSMW_UINT)
		return -EBADMSG;
	if (v > max)
		return -EBADMSG;
	*out = v;
	return 0;
}

static int
get_string(struct cella_nsmw_reader *r, unsigned want, size_t max,
	   struct cella_span *out)
{
	unsigned major;
	uint64_t n;
	int rc = cella_nsmw_get_head(r, &major, &n);

	if (rc < 0)
		return rc;
	if (major != want)
		return -EBADMSG;
	if (r->n - r->off < n)
		return -EBADMSG;
	if (n > max)
		return -EMSGSIZE;
	out->p = r->p + r->off;
	out->n = (size_t)n;
	r->off += (size_t)n;
	return 0;
}

int
cella_nsmw_get_bytes(struct cella_nsmw_reader *r, size_t max,
		     struct cella_span *out)
{
	return get_string(r, CELLA_NSMW_BYTES, max, out);
}

int
cella_nsmw_get_text(struct cella_nsmw_reader *r, size_t max,
		    struct cella_span *out)
{
	return get_string(r, CELLA_NSMW_TEXT, max, out);
}

int
cella_nsmw_get_bool(struct cella_nsmw_reader *r, bool *out)
{
	unsigned major;
	uint64_t v;
	int rc = cella_nsmw_get_head(r, &major, &v);

	if (rc < 0)
		return rc;
	if (major != CELLA_NSMW_SIMPLE ||
	    (v != CELLA_NSMW_TRUE && v != CELLA_NSMW_FALSE))
		return -EBADMSG;
	*out = v == CELLA_NSMW_TRUE;
	return 0;
}

int
cella_nsmw_get_null(struct cella_nsmw_reader *r)
{
	if (r->off < r->n && r->p[r->off] == (CELLA_NSMW_SIMPLE << 5 |
					      CELLA_NSMW_NULL)) {
		r->off++;
		return 1;
	}
	return 0;
}

int
cella_nsmw_get_container(struct cella_nsmw_reader *r, unsigned want,
			 uint64_t *count)
{
	unsigned major;
	uint64_t n;
	int rc = cella_nsmw_get_head(r, &major, &n);

	if (rc < 0)
		return rc;
	if (major != want || n > r->n - r->off)
		return -EBADMSG;
	*count = n;
	return 0;
}

bool
cella_nsmw_span_is(struct cella_span s, const char *lit)
{
	size_t n = strlen(lit);

	return s.n == n && (n == 0 || memcmp(s.p, lit, n) == 0);
}
