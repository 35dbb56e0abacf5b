/*
 * cbor: the bounds gate in front of libcbor and a definite-length encoder
 * (map accessors are in cbor_map.c). cella_cbor_check is cella's own walker
 * over the bytes rather than libcbor's cbor_stream_decode: the stream
 * decoder calls back per head but leaves the nesting to the caller, and to
 * bound depth, item count and declared lengths we would keep exactly this
 * walker's state in its callbacks anyway, spread over a dozen functions.
 * The walker keeps one counter per open container in a fixed array on the
 * stack, so it never allocates, and it compares every declared length or
 * count against the bytes that remain before it moves on: a head that
 * claims 2^60 items is refused when it is read. It refuses what libcbor 0.8
 * cannot read, so that a checked input always loads: text that is not
 * UTF-8, simple values other than false, true, null, undefined and floats,
 * and tags 6..20 in their one-byte form. It does not check duplicate map
 * keys or canonical (shortest) heads; those are the business of the message
 * that reads the item. The encoder always writes definite lengths, so a
 * body built with a growing (indefinite) libcbor map still passes the gate
 * on the other side.
 */
#include "common/cbor/cbor.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

enum {
	MT_UINT = 0,
	MT_NEGINT = 1,
	MT_BYTES = 2,
	MT_TEXT = 3,
	MT_ARRAY = 4,
	MT_MAP = 5,
	MT_TAG = 6,
	MT_SIMPLE = 7,
};

struct walk {
	const uint8_t *start, *p, *end;
	const struct cella_cbor_limits *lim;
	uint64_t left[CELLA_CBOR_DEPTH_MAX]; /* unread children per open level */
	unsigned depth, max_depth;
	uint64_t items;	  /* heads declared so far, the root included */
	uint64_t pending; /* heads declared and not yet read, all levels */
	struct cella_diag *d;
};

static size_t
w_off(const struct walk *w)
{
	return (size_t)(w->p - w->start);
}

static uint64_t
w_avail(const struct walk *w)
{
	return (uint64_t)(w->end - w->p);
}

/* One head: major type, additional info and its argument. */
static int
w_head(struct walk *w, unsigned *major, unsigned *ai, uint64_t *arg)
{
	size_t off = w_off(w), k;
	uint8_t b;

	if (w->p == w->end)
		return cella_diag_set(w->d, -EBADMSG,
				      "cbor: truncated at offset %zu", off);
	b = *w->p++;
	*major = b >> 5;
	*ai = b & 0x1f;
	*arg = *ai;
	if (*ai < 24 || *ai > 27)
		return 0;
	k = (size_t)1 << (*ai - 24);
	if (w_avail(w) < k)
		return cella_diag_set(w->d, -EBADMSG,
				      "cbor: truncated head at offset %zu", off);
	*arg = 0;
	for (size_t i = 0; i < k; i++)
		*arg = (*arg << 8) | *w->p++;
	return 0;
}

/* Length of the well-formed UTF-8 sequence at p (RFC 3629), 0 if none. */
static size_t
utf8_seq(const uint8_t *p, size_t n)
{
	uint8_t c = p[0], lo = 0x80, hi = 0xbf;
	size_t k;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		k = 2;
	else if (c >= 0xe0 && c <= 0xef)
		k = 3, lo = c == 0xe0 ? 0xa0 : lo, hi = c == 0xed ? 0x9f : hi;
	else if (c >= 0xf0 && c <= 0xf4)
		k = 4, lo = c == 0xf0 ? 0x90 : lo, hi = c == 0xf4 ? 0x8f : hi;
	else
		return 0;
	if (n < k || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t i = 2; i < k; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return k;
}

/* Offset of the first byte that is not well-formed UTF-8, or n. */
static size_t
utf8_check(const uint8_t *p, size_t n)
{
	size_t i = 0, k;

	while (i < n && (k = utf8_seq(p + i, n - i)) > 0)
		i += k;
	return i;
}

static int
w_string(struct walk *w, uint64_t len, bool text, size_t off)
{
	size_t bad;

	if (len > w->lim->max_str)
		return cella_diag_set(w->d, -EMSGSIZE,
				      "cbor: string of %" PRIu64
				      " bytes at offset %zu is over %zu",
				      len, off, w->lim->max_str);
	if (len > w_avail(w))
		return cella_diag_set(w->d, -EBADMSG,
				      "cbor: string of %" PRIu64
				      " bytes at offset %zu, %" PRIu64 " remain",
				      len, off, w_avail(w));
	if (text && (bad = utf8_check(w->p, len)) < len)
		return cella_diag_set(w->d, -EBADMSG,
				      "cbor: invalid UTF-8 at offset %zu",
				      w_off(w) + bad);
	w->p += len;
	return 0;
}

/* Open an array, map or tag that declares nkids children. */
static int
w_open(struct walk *w, uint64_t nkids, size_t off)
{
	uint64_t avail = w_avail(w);

	if (w->depth >= w->max_depth)
		return cella_diag_set(w->d, -EMSGSIZE,
				      "cbor: nesting over %u at offset %zu",
				      w->max_depth, off);
	if (nkids > w->lim->max_items - w->items)
		return cella_diag_set(w->d, -EMSGSIZE,
				      "cbor: %" PRIu64
				      " items at offset %zu put the total over %zu",
				      nkids, off, w->lim->max_items);
	if (w->pending > avail || nkids > avail - w->pending)
		return cella_diag_set(w->d, -EBADMSG,
				      "cbor: %" PRIu64 " items declared at offset "
				      "%zu, only %" PRIu64 " bytes remain",
				      nkids, off, avail);
	w->items += nkids;
	w->pending += nkids;
	/* An empty container counted for depth above but has no level. */
	if (nkids > 0)
		w->left[w->depth++] = nkids;
	return 0;
}

/*
 * Only false, true, null, undefined and floats: libcbor refuses every other
 * simple value, and no cella message needs one.
 */
static int
w_simple(struct walk *w, unsigned ai, uint64_t arg, size_t off)
{
	if (ai < 20 || ai == 24)
		return cella_diag_set(w->d, -EBADMSG,
				      "cbor: simple value %" PRIu64
				      " at offset %zu is not supported",
				      arg, off);
	return 0;
}

static int
w_item(struct walk *w)
{
	size_t off = w_off(w);
	unsigned major = 0, ai = 0;
	uint64_t arg = 0;
	int rv;

	if ((rv = w_head(w, &major, &ai, &arg)) < 0)
		return rv;
	w->pending--;
	if (w->depth > 0)
		w->left[w->depth - 1]--;
	if (ai == 31 && major >= MT_BYTES && major <= MT_MAP)
		return cella_diag_set(w->d, -EBADMSG,
				      "cbor: indefinite length at offset %zu",
				      off);
	if (ai >= 28)
		return cella_diag_set(w->d, -EBADMSG,
				      "cbor: reserved or unexpected additional "
				      "info %u at offset %zu",
				      ai, off);
	switch (major) {
	case MT_BYTES:
	case MT_TEXT:
		return w_string(w, arg, major == MT_TEXT, off);
	case MT_ARRAY:
		return w_open(w, arg, off);
	case MT_MAP:
		if (arg > UINT64_MAX / 2)
			return cella_diag_set(w->d, -EMSGSIZE,
					      "cbor: map of %" PRIu64
					      " pairs at offset %zu",
					      arg, off);
		return w_open(w, arg * 2, off);
	case MT_TAG:
		if (ai < 24 && arg >= 6 && arg <= 20)
			return cella_diag_set(w->d, -EBADMSG,
					      "cbor: one-byte tag %" PRIu64
					      " at offset %zu is not supported",
					      arg, off);
		return w_open(w, 1, off);
	case MT_SIMPLE:
		return w_simple(w, ai, arg, off);
	default:
		return 0;
	}
}

int
cella_cbor_check(const uint8_t *p, size_t n,
		 const struct cella_cbor_limits *lim, struct cella_diag *d)
{
	struct walk w = {.start = p, .p = p, .end = p + n, .lim = lim, .d = d};
	int rv;

	if (n > lim->max_bytes)
		return cella_diag_set(d, -EMSGSIZE,
				      "cbor: %zu bytes, over %zu", n,
				      lim->max_bytes);
	if (n == 0)
		return cella_diag_set(d, -EBADMSG, "cbor: empty input");
	if (lim->max_items == 0)
		return cella_diag_set(d, -EMSGSIZE, "cbor: no items allowed");
	w.max_depth = lim->max_depth < CELLA_CBOR_DEPTH_MAX
			      ? lim->max_depth
			      : CELLA_CBOR_DEPTH_MAX;
	w.items = 1;
	w.pending = 1;
	while (w.pending > 0) {
		if ((rv = w_item(&w)) < 0)
			return rv;
		while (w.depth > 0 && w.left[w.depth - 1] == 0)
			w.depth--;
	}
	if (w.p != w.end)
		return cella_diag_set(d, -EBADMSG,
				      "cbor: %zu trailing bytes at offset %zu",
				      (size_t)(w.end - w.p), w_off(&w));
	return 0;
}

int
cella_cbor_load(const uint8_t *p, size_t n,
		const struct cella_cbor_limits *lim, cbor_item_t **out,
		struct cella_diag *d)
{
	struct cbor_load_result res;
	cbor_item_t *item;
	int rv;

	if ((rv = cella_cbor_check(p, n, lim, d)) < 0)
		return rv;
	item = cbor_load(p, n, &res);
	if (item == NULL) {
		rv = cella_err_cbor(res.error.code);
		return cella_diag_set(d, rv < 0 ? rv : -EBADMSG,
				      "cbor: libcbor refused the input at "
				      "offset %zu",
				      res.error.position);
	}
	if (res.read != n) {
		cbor_decref(&item);
		return cella_diag_set(d, -EBADMSG,
				      "cbor: libcbor read %zu of %zu bytes",
				      res.read, n);
	}
	*out = item;
	return 0;
}

/* --- encoding: always definite lengths, shortest heads --- */

static int
enc_head(struct cella_buf *out, unsigned major, uint64_t v)
{
	uint8_t h[9];
	size_t n;

	if (v < 24) {
		h[0] = (uint8_t)(major << 5 | v);
		return cella_buf_append(out, h, 1);
	}
	if (v <= UINT8_MAX)
		h[0] = (uint8_t)(major << 5 | 24), n = 2;
	else if (v <= UINT16_MAX)
		h[0] = (uint8_t)(major << 5 | 25), n = 3;
	else if (v <= UINT32_MAX)
		h[0] = (uint8_t)(major << 5 | 26), n = 5;
	else
		h[0] = (uint8_t)(major << 5 | 27), n = 9;
	for (size_t i = 1; i < n; i++)
		h[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	return cella_buf_append(out, h, n);
}

/* Byte or text string; an indefinite (chunked) one is joined. */
static int
enc_string(const cbor_item_t *item, unsigned major, struct cella_buf *out)
{
	bool text = major == MT_TEXT;
	bool definite = text ? cbor_string_is_definite(item)
			     : cbor_bytestring_is_definite(item);
	cbor_item_t **chunks;
	size_t nchunks, total = 0, mark, body;
	int rv;

	if (definite) {
		size_t len = text ? cbor_string_length(item)
				  : cbor_bytestring_length(item);
		const uint8_t *p = text ? cbor_string_handle(item)
					: cbor_bytestring_handle(item);

		if (text && len > 0 && utf8_check(p, len) < len)
			return -EILSEQ;
		if ((rv = enc_head(out, major, len)) < 0)
			return rv;
		return cella_buf_append(out, p, len);
	}
	/* Chunks are definite; a joined text is checked as one string. */
	chunks = text ? cbor_string_chunks_handle(item)
		      : cbor_bytestring_chunks_handle(item);
	nchunks = text ? cbor_string_chunk_count(item)
		       : cbor_bytestring_chunk_count(item);
	for (size_t i = 0; i < nchunks; i++)
		total += text ? cbor_string_length(chunks[i])
			      : cbor_bytestring_length(chunks[i]);
	mark = out->len;
	if ((rv = enc_head(out, major, total)) < 0)
		return rv;
	body = out->len;
	for (size_t i = 0; i < nchunks && rv == 0; i++)
		rv = cella_buf_append(out,
				      text ? cbor_string_handle(chunks[i])
					   : cbor_bytestring_handle(chunks[i]),
				      text ? cbor_string_length(chunks[i])
					   : cbor_bytestring_length(chunks[i]));
	if (rv == 0 && text && total > 0 && out->mode != CELLA_BUF_COUNT &&
	    utf8_check(out->p + body, total) < total)
		rv = -EILSEQ;
	if (rv < 0)
		out->len = mark;
	return rv;
}

static int
enc_float_ctrl(const cbor_item_t *item, struct cella_buf *out)
{
	unsigned char h[9];
	size_t n = 0;
	uint8_t v;

	switch (cbor_float_get_width(item)) {
	case CBOR_FLOAT_0:
		v = cbor_ctrl_value(item);
		if (v < 20 || v > 23)
			return -EINVAL; /* the gate would refuse it */
		return enc_head(out, MT_SIMPLE, v);
	case CBOR_FLOAT_16:
		n = cbor_encode_half(cbor_float_get_float2(item), h, sizeof(h));
		break;
	case CBOR_FLOAT_32:
		n = cbor_encode_single(cbor_float_get_float4(item), h,
				       sizeof(h));
		break;
	case CBOR_FLOAT_64:
		n = cbor_encode_double(cbor_float_get_float8(item), h,
				       sizeof(h));
		break;
	}
	return n > 0 ? cella_buf_append(out, h, n) : -EINVAL;
}

static int enc_item(const cbor_item_t *item, struct cella_buf *out);

static int
enc_tag(const cbor_item_t *item, struct cella_buf *out)
{
	cbor_item_t *child;
	uint64_t v;
	int rv;

	if (item->metadata.tag_metadata.tagged_item == NULL)
		return -EINVAL;
	v = cbor_tag_value(item);
	if (v >= 6 && v <= 20) {
		/* libcbor 0.8 reads these tags only in the two-byte form */
		uint8_t h[2] = {MT_TAG << 5 | 24, (uint8_t)v};

		rv = cella_buf_append(out, h, sizeof(h));
	} else {
		rv = enc_head(out, MT_TAG, v);
	}
	if (rv < 0)
		return rv;
	child = cbor_tag_item(item);
	rv = enc_item(child, out);
	cbor_decref(&child);
	return rv;
}

static int
enc_item(const cbor_item_t *item, struct cella_buf *out)
{
	int rv = 0;

	switch (cbor_typeof(item)) {
	case CBOR_TYPE_UINT:
		return enc_head(out, MT_UINT, cbor_get_int(item));
	case CBOR_TYPE_NEGINT:
		return enc_head(out, MT_NEGINT, cbor_get_int(item));
	case CBOR_TYPE_BYTESTRING:
		return enc_string(item, MT_BYTES, out);
	case CBOR_TYPE_STRING:
		return enc_string(item, MT_TEXT, out);
	case CBOR_TYPE_ARRAY: {
		cbor_item_t **v = cbor_array_handle(item);
		size_t n = cbor_array_size(item);

		rv = enc_head(out, MT_ARRAY, n);
		for (size_t i = 0; i < n && rv == 0; i++)
			rv = enc_item(v[i], out);
		return rv;
	}
	case CBOR_TYPE_MAP: {
		struct cbor_pair *v = cbor_map_handle(item);
		size_t n = cbor_map_size(item);

		rv = enc_head(out, MT_MAP, n);
		for (size_t i = 0; i < n && rv == 0; i++)
			if ((rv = enc_item(v[i].key, out)) == 0)
				rv = enc_item(v[i].value, out);
		return rv;
	}
	case CBOR_TYPE_TAG:
		return enc_tag(item, out);
	case CBOR_TYPE_FLOAT_CTRL:
		return enc_float_ctrl(item, out);
	}
	return -EINVAL;
}

int
cella_cbor_encode(const cbor_item_t *item, struct cella_buf *out)
{
	size_t mark = out->len;
	int rv;

	if (item == NULL)
		return -EINVAL;
	if ((rv = enc_item(item, out)) < 0)
		out->len = mark; /* no half-written item stays visible */
	return rv;
}
