/*
 * attdoc: the Nitro payload map, field by field from a table, after the
 * payload has passed cella_cbor_check with limits sized for one document.
 * Every key must be known and present once; libcbor keeps repeated map keys
 * as separate pairs, so repetition is caught here. The encoder writes the
 * canonical shape with its own heads (definite lengths, shortest form) so
 * that a document built here is byte-for-byte what the NSM would send.
 */
#include "common/attest/attdoc.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "common/cbor/cbor.h"

enum field {
	F_MODULE_ID,
	F_DIGEST,
	F_TIMESTAMP,
	F_PCRS,
	F_CERTIFICATE,
	F_CABUNDLE,
	F_PUBLIC_KEY,
	F_USER_DATA,
	F_NONCE,
	F_COUNT,
};

static const char *const field_names[F_COUNT] = {
	"module_id",   "digest",   "timestamp",	 "pcrs",  "certificate",
	"cabundle",    "public_key", "user_data", "nonce",
};

/* 9 pairs, 32 PCR pairs, 8 certificates and the containers: about 100. */
static const struct cella_cbor_limits payload_limits = {
	.max_bytes = CELLA_ATTDOC_MAX,
	.max_depth = 3,
	.max_items = 128,
	.max_str = CELLA_ATTDOC_CERT_MAX,
};

static int
get_bytes(const cbor_item_t *v, const char *name, size_t min, size_t max,
	  struct cella_span *out, struct cella_diag *d)
{
	size_t n;

	if (!cbor_isa_bytestring(v) || !cbor_bytestring_is_definite(v))
		return cella_diag_set(d, -EBADMSG, "%s is not a byte string",
				      name);
	n = cbor_bytestring_length(v);
	if (n < min || n > max)
		return cella_diag_set(d, -EBADMSG,
				      "%s is %zu bytes, allowed %zu..%zu", name,
				      n, min, max);
	*out = CELLA_SPAN(cbor_bytestring_handle(v), n);
	return 0;
}

static int
get_text(const cbor_item_t *v, const char *name, size_t max,
	 struct cella_span *out, struct cella_diag *d)
{
	const uint8_t *s;
	size_t n;

	if (!cbor_isa_string(v) || !cbor_string_is_definite(v))
		return cella_diag_set(d, -EBADMSG, "%s is not text", name);
	n = cbor_string_length(v);
	s = cbor_string_handle(v);
	if (n == 0 || n > max)
		return cella_diag_set(d, -EBADMSG,
				      "%s is %zu bytes, allowed 1..%zu", name,
				      n, max);
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x21 || s[i] > 0x7e)
			return cella_diag_set(d, -EBADMSG,
					      "%s is not printable ASCII",
					      name);
	*out = CELLA_SPAN(s, n);
	return 0;
}

static int
get_opt(const cbor_item_t *v, const char *name, struct cella_span *out,
	bool *has, struct cella_diag *d)
{
	int rv;

	if (cella_cbor_is_null(v)) {
		*has = false;
		*out = CELLA_SPAN(NULL, 0);
		return 0;
	}
	rv = get_bytes(v, name, 0, CELLA_ATTDOC_OPT_MAX, out, d);
	*has = rv == 0;
	return rv;
}

static int
parse_pcrs(const cbor_item_t *v, struct cella_attdoc *doc,
	   struct cella_diag *d)
{
	struct cbor_pair *pairs;
	size_t n;
	char name[16];

	if (!cbor_isa_map(v) || !cbor_map_is_definite(v))
		return cella_diag_set(d, -EBADMSG, "pcrs is not a map");
	n = cbor_map_size(v);
	if (n < 1 || n > CELLA_ATTDOC_PCRS)
		return cella_diag_set(d, -EBADMSG,
				      "pcrs has %zu entries, allowed 1..%d", n,
				      CELLA_ATTDOC_PCRS);
	pairs = cbor_map_handle(v);
	for (size_t i = 0; i < n; i++) {
		uint64_t idx;
		int rv;

		if (!cbor_isa_uint(pairs[i].key))
			return cella_diag_set(d, -EBADMSG,
					      "pcrs key is not an unsigned int");
		idx = cbor_get_int(pairs[i].key);
		if (idx >= CELLA_ATTDOC_PCRS)
			return cella_diag_set(d, -EBADMSG,
					      "pcrs index %" PRIu64
					      " out of range 0..31",
					      idx);
		if (doc->pcr_mask & (UINT32_C(1) << idx))
			return cella_diag_set(d, -EBADMSG,
					      "pcrs index %" PRIu64 " repeated",
					      idx);
		snprintf(name, sizeof(name), "PCR%" PRIu64, idx);
		rv = get_bytes(pairs[i].value, name, 0, CELLA_ATTDOC_PCR_MAX,
			       &doc->pcrs[idx], d);
		if (rv < 0)
			return rv;
		doc->pcr_mask |= UINT32_C(1) << idx;
	}
	return 0;
}

static int
parse_cabundle(const cbor_item_t *v, struct cella_attdoc *doc,
	       struct cella_diag *d)
{
	cbor_item_t **items;
	size_t n;
	char name[24];

	if (!cbor_isa_array(v) || !cbor_array_is_definite(v))
		return cella_diag_set(d, -EBADMSG, "cabundle is not an array");
	n = cbor_array_size(v);
	if (n == 0)
		return cella_diag_set(d, -EBADMSG, "cabundle is empty");
	if (n > CELLA_ATTDOC_CABUNDLE_MAX)
		return cella_diag_set(d, -EBADMSG,
				      "cabundle has %zu certificates, at most %d",
				      n, CELLA_ATTDOC_CABUNDLE_MAX);
	items = cbor_array_handle(v);
	for (size_t i = 0; i < n; i++) {
		int rv;

		snprintf(name, sizeof(name), "cabundle[%zu]", i);
		rv = get_bytes(items[i], name, 1, CELLA_ATTDOC_CERT_MAX,
			       &doc->cabundle[i], d);
		if (rv < 0)
			return rv;
	}
	doc->ncabundle = n;
	return 0;
}

static int
parse_field(enum field f, const cbor_item_t *v, struct cella_attdoc *doc,
	    struct cella_diag *d)
{
	switch (f) {
	case F_MODULE_ID:
		return get_text(v, "module_id", CELLA_ATTDOC_MODULE_ID_MAX,
				&doc->module_id, d);
	case F_DIGEST:
		return get_text(v, "digest", CELLA_ATTDOC_DIGEST_MAX,
				&doc->digest, d);
	case F_TIMESTAMP:
		if (!cbor_isa_uint(v) || cbor_get_int(v) == 0)
			return cella_diag_set(d, -EBADMSG,
					      "timestamp is not a positive "
					      "unsigned int");
		doc->timestamp_ms = cbor_get_int(v);
		return 0;
	case F_PCRS:
		return parse_pcrs(v, doc, d);
	case F_CERTIFICATE:
		return get_bytes(v, "certificate", 1, CELLA_ATTDOC_CERT_MAX,
				 &doc->certificate, d);
	case F_CABUNDLE:
		return parse_cabundle(v, doc, d);
	case F_PUBLIC_KEY:
		return get_opt(v, "public_key", &doc->public_key,
			       &doc->has_public_key, d);
	case F_USER_DATA:
		return get_opt(v, "user_data", &doc->user_data,
			       &doc->has_user_data, d);
	case F_NONCE:
		return get_opt(v, "nonce", &doc->nonce, &doc->has_nonce, d);
	default:
		return -EINVAL;
	}
}

/* The field a key names, or F_COUNT; *shown is a printable copy for d. */
static enum field
field_of(const cbor_item_t *k, char *shown, size_t cap)
{
	const uint8_t *s;
	size_t n, i;

	snprintf(shown, cap, "(not text)");
	if (!cbor_isa_string(k) || !cbor_string_is_definite(k))
		return F_COUNT;
	s = cbor_string_handle(k);
	n = cbor_string_length(k);
	for (i = 0; i < n && i + 1 < cap; i++)
		shown[i] = s[i] >= 0x20 && s[i] < 0x7f ? (char)s[i] : '?';
	shown[i] = '\0';
	for (int f = 0; f < F_COUNT; f++)
		if (strlen(field_names[f]) == n &&
		    (n == 0 || memcmp(field_names[f], s, n) == 0))
			return (enum field)f;
	return F_COUNT;
}

static int
parse_map(const cbor_item_t *map, struct cella_attdoc *doc,
	  struct cella_diag *d)
{
	struct cbor_pair *pairs = cbor_map_handle(map);
	unsigned seen = 0;
	char shown[40];
	int rv;

	for (size_t i = 0; i < cbor_map_size(map); i++) {
		enum field f = field_of(pairs[i].key, shown, sizeof(shown));

		if (f == F_COUNT)
			return cella_diag_set(d, -EBADMSG, "unknown field '%s'",
					      shown);
		if (seen & (1u << f))
			return cella_diag_set(d, -EBADMSG,
					      "field '%s' repeated", shown);
		seen |= 1u << f;
		if ((rv = parse_field(f, pairs[i].value, doc, d)) < 0)
			return rv;
	}
	for (int f = 0; f < F_COUNT; f++)
		if (!(seen & (1u << f)))
			return cella_diag_set(d, -EBADMSG, "missing field '%s'",
					      field_names[f]);
	return 0;
}

int
cella_attdoc_parse(struct cella_span payload, struct cella_attdoc *out,
		   struct cella_diag *d)
{
	struct cella_attdoc doc = {0};
	cbor_item_t *item = NULL;
	int rv;

	rv = cella_cbor_load(payload.p, payload.n, &payload_limits, &item, d);
	if (rv < 0)
		return rv;
	if (!cbor_isa_map(item) || !cbor_map_is_definite(item)) {
		rv = cella_diag_set(d, -EBADMSG, "payload is not a map");
		goto out;
	}
	if ((rv = parse_map(item, &doc, d)) < 0)
		goto out;
	doc.item_ = item;
	item = NULL;
	*out = doc;
out:
	if (item != NULL)
		cbor_decref(&item);
	return rv;
}

void
cella_attdoc_fini(struct cella_attdoc *doc)
{
	if (doc == NULL)
		return;
	if (doc->item_ != NULL)
		cbor_decref(&doc->item_);
	memset(doc, 0, sizeof(*doc));
}

/* --- encoding --- */

static int
put_head(struct cella_buf *b, unsigned major, uint64_t arg)
{
	uint8_t h[9];
	size_t k = arg < 24 ? 0 : arg <= 0xff ? 1 : arg <= 0xffff ? 2
		 : arg <= 0xffffffff ? 4 : 8;

	h[0] = (uint8_t)(major << 5 |
			 (k == 0 ? arg : k == 1 ? 24 : k == 2 ? 25 : k == 4 ? 26 : 27));
	for (size_t i = 0; i < k; i++)
		h[1 + i] = (uint8_t)(arg >> (8 * (k - 1 - i)));
	return cella_buf_append(b, h, 1 + k);
}

static int
put_str(struct cella_buf *b, unsigned major, struct cella_span s)
{
	int rv = put_head(b, major, s.n);

	return rv < 0 ? rv : cella_buf_append(b, s.p, s.n);
}

static int
put_key(struct cella_buf *b, enum field f)
{
	return put_str(b, 3, CELLA_SPAN(field_names[f], strlen(field_names[f])));
}

static int
put_opt(struct cella_buf *b, enum field f, bool has, struct cella_span s)
{
	static const uint8_t null = 0xf6;
	int rv = put_key(b, f);

	if (rv < 0)
		return rv;
	return has ? put_str(b, 2, s) : cella_buf_append(b, &null, 1);
}

static int
put_pcrs(struct cella_buf *b, const struct cella_attdoc *doc)
{
	int rv = put_key(b, F_PCRS);

	if (rv < 0 ||
	    (rv = put_head(b, 5, (uint64_t)__builtin_popcount(doc->pcr_mask))) < 0)
		return rv;
	for (unsigned i = 0; i < CELLA_ATTDOC_PCRS; i++) {
		if (!(doc->pcr_mask & (UINT32_C(1) << i)))
			continue;
		if ((rv = put_head(b, 0, i)) < 0 ||
		    (rv = put_str(b, 2, doc->pcrs[i])) < 0)
			return rv;
	}
	return 0;
}

static int
encode(const struct cella_attdoc *doc, struct cella_buf *b)
{
	int rv;

	if ((rv = put_head(b, 5, F_COUNT)) < 0 ||
	    (rv = put_key(b, F_MODULE_ID)) < 0 ||
	    (rv = put_str(b, 3, doc->module_id)) < 0 ||
	    (rv = put_key(b, F_DIGEST)) < 0 ||
	    (rv = put_str(b, 3, doc->digest)) < 0 ||
	    (rv = put_key(b, F_TIMESTAMP)) < 0 ||
	    (rv = put_head(b, 0, doc->timestamp_ms)) < 0 ||
	    (rv = put_pcrs(b, doc)) < 0 ||
	    (rv = put_key(b, F_CERTIFICATE)) < 0 ||
	    (rv = put_str(b, 2, doc->certificate)) < 0 ||
	    (rv = put_key(b, F_CABUNDLE)) < 0 ||
	    (rv = put_head(b, 4, doc->ncabundle)) < 0)
		return rv;
	for (size_t i = 0; i < doc->ncabundle; i++)
		if ((rv = put_str(b, 2, doc->cabundle[i])) < 0)
			return rv;
	if ((rv = put_opt(b, F_PUBLIC_KEY, doc->has_public_key,
			  doc->public_key)) < 0 ||
	    (rv = put_opt(b, F_USER_DATA, doc->has_user_data,
			  doc->user_data)) < 0)
		return rv;
	return put_opt(b, F_NONCE, doc->has_nonce, doc->nonce);
}

int
cella_attdoc_encode(const struct cella_attdoc *doc, struct cella_buf *out)
{
	size_t len0 = out->len;
	int rv;

	if (doc->ncabundle > CELLA_ATTDOC_CABUNDLE_MAX)
		return -EINVAL;
	rv = encode(doc, out);
	if (rv < 0)
		out->len = len0; /* no partial payload left behind */
	return rv;
}

/* --- user input: raw CBOR or base64 --- */

static int
b64_val(uint8_t c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

static int
b64_decode(const uint8_t *p, size_t n, struct cella_buf *out,
	   struct cella_diag *d)
{
	uint32_t acc = 0;
	unsigned bits = 0;
	size_t pad = 0, chars = 0;
	uint8_t byte;
	int v, rv;

	for (size_t i = 0; i < n; i++) {
		if (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r')
			continue;
		if (p[i] == '=' && chars % 4 >= 2 && pad < 2) {
			pad++;
			continue;
		}
		if (pad > 0 || (v = b64_val(p[i])) < 0)
			return cella_diag_set(d, -EINVAL,
					      "neither CBOR nor base64 (byte "
					      "0x%02x at offset %zu)",
					      p[i], i);
		chars++;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			byte = (uint8_t)(acc >> bits);
			if ((rv = cella_buf_append(out, &byte, 1)) < 0)
				return cella_diag_set(d, rv,
						      "document over %u bytes",
						      CELLA_ATTDOC_MAX);
		}
	}
	if (chars == 0 || chars % 4 == 1 || (pad > 0 && (chars + pad) % 4 != 0))
		return cella_diag_set(d, -EINVAL, "truncated base64");
	return 0;
}

int
cella_attdoc_unwrap(const uint8_t *p, size_t n, struct cella_buf *out,
		    struct cella_diag *d)
{
	struct cella_buf tmp;
	int rv;

	if (n == 0)
		return cella_diag_set(d, -EINVAL, "empty input");
	if (p[0] == 0x84 || p[0] == 0xd2) {
		if (n > CELLA_ATTDOC_MAX)
			return cella_diag_set(d, -EMSGSIZE,
					      "document is %zu bytes, at most %u",
					      n, CELLA_ATTDOC_MAX);
		return cella_buf_append(out, p, n);
	}
	if (n > CELLA_ATTDOC_TEXT_MAX)
		return cella_diag_set(d, -EMSGSIZE,
				      "input is %zu bytes, at most %u", n,
				      CELLA_ATTDOC_TEXT_MAX);
	cella_buf_init(&tmp, CELLA_ATTDOC_MAX);
	rv = b64_decode(p, n, &tmp, d);
	if (rv == 0)
		rv = cella_buf_append(out, tmp.p, tmp.len);
	cella_buf_fini(&tmp);
	return rv;
}
