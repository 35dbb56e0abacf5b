/*
 * evlog: the measured event log. Events are serialized here with a small
 * deterministic CBOR encoder of our own rather than libcbor's serializer,
 * which keeps whatever integer widths and key order an item was built or
 * parsed with; a verifier must get the same bytes from the same fields.
 * Hashing is OpenSSL's EVP SHA-384. Storage only grows, within its caps.
 */
#include "services/init/evlog.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

void
init_evlog_init(struct init_evlog *l, size_t max_events, size_t max_bytes)
{
	memset(l, 0, sizeof(*l));
	l->max_events = max_events;
	l->max_bytes = max_bytes;
}

void
init_evlog_fini(struct init_evlog *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].cbor);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

static int
put_head(struct cella_buf *b, uint8_t major, uint64_t v)
{
	uint8_t h[9];
	size_t n;

	major <<= 5;
	if (v < 24) {
		h[0] = major | (uint8_t)v;
		n = 1;
	} else if (v <= UINT8_MAX) {
		h[0] = major | 24;
		h[1] = (uint8_t)v;
		n = 2;
	} else if (v <= UINT16_MAX) {
		h[0] = major | 25;
		n = 3;
	} else if (v <= UINT32_MAX) {
		h[0] = major | 26;
		n = 5;
	} else {
		h[0] = major | 27;
		n = 9;
	}
	for (size_t i = 1; n > 2 && i < n; i++)
		h[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	return cella_buf_append(b, h, n);
}

static int
put_text(struct cella_buf *b, const char *s, size_t n)
{
	int rv = put_head(b, 3, n);

	return rv < 0 ? rv : cella_buf_append(b, s, n);
}

static int canon(const cbor_item_t *it, struct cella_buf *b, int depth);

static int
pair_cmp(const void *a, const void *b)
{
	const struct cbor_pair *x = a, *y = b;
	size_t lx = cbor_string_length(x->key), ly = cbor_string_length(y->key);

	/* For text keys, encoded-bytes order is (length, bytes) order. */
	if (lx != ly)
		return lx < ly ? -1 : 1;
	return memcmp(cbor_string_handle(x->key), cbor_string_handle(y->key),
		      lx);
}

static int
canon_map(const cbor_item_t *it, struct cella_buf *b, int depth)
{
	size_t n = cbor_map_size(it);
	struct cbor_pair *p = NULL;
	int rv = -EINVAL;

	/* Indefinite in memory is fine: the output is always definite. */
	if (n > 0) {
		p = malloc(n * sizeof(*p));
		if (p == NULL)
			return -ENOMEM;
		memcpy(p, cbor_map_handle(it), n * sizeof(*p));
	}
	for (size_t i = 0; i < n; i++)
		if (!cbor_isa_string(p[i].key) ||
		    !cbor_string_is_definite(p[i].key))
			goto out;
	if (n > 1)
		qsort(p, n, sizeof(*p), pair_cmp);
	for (size_t i = 1; i < n; i++)
		if (pair_cmp(&p[i - 1], &p[i]) == 0)
			goto out; /* duplicate key */
	rv = put_head(b, 5, n);
	for (size_t i = 0; rv == 0 && i < n; i++) {
		rv = canon(p[i].key, b, depth + 1);
		if (rv == 0)
			rv = canon(p[i].value, b, depth + 1);
	}
out:
	free(p);
	return rv;
}

static int
canon_string(const cbor_item_t *it, struct cella_buf *b, uint8_t major)
{
	bool text = major == 3;
	size_t n;
	int rv;

	if (text ? !cbor_string_is_definite(it)
		 : !cbor_bytestring_is_definite(it))
		return -EINVAL;
	n = text ? cbor_string_length(it) : cbor_bytestring_length(it);
	rv = put_head(b, major, n);
	if (rv == 0 && n > 0)
		rv = cella_buf_append(b,
				      text ? cbor_string_handle(it)
					   : cbor_bytestring_handle(it),
				      n);
	return rv;
}

static int
canon_ctrl(const cbor_item_t *it, struct cella_buf *b)
{
	uint8_t v;

	/* libcbor's cbor_is_bool and cbor_is_null abort on a float. */
	if (cbor_float_get_width(it) != CBOR_FLOAT_0)
		return -EINVAL;
	switch (cbor_ctrl_value(it)) {
	case CBOR_CTRL_FALSE:
		v = 0xf4;
		break;
	case CBOR_CTRL_TRUE:
		v = 0xf5;
		break;
	case CBOR_CTRL_NULL:
		v = 0xf6;
		break;
	default:
		return -EINVAL; /* undefined, other simple values */
	}
	return cella_buf_append(b, &v, 1);
}

static int
canon(const cbor_item_t *it, struct cella_buf *b, int depth)
{
	int rv;

	if (depth > INIT_EVLOG_DEPTH_MAX)
		return -EINVAL;
	switch (cbor_typeof(it)) {
	case CBOR_TYPE_UINT:
		return put_head(b, 0, cbor_get_int(it));
	case CBOR_TYPE_NEGINT:
		return put_head(b, 1, cbor_get_int(it));
	case CBOR_TYPE_BYTESTRING:
		return canon_string(it, b, 2);
	case CBOR_TYPE_STRING:
		return canon_string(it, b, 3);
	case CBOR_TYPE_ARRAY:
		rv = put_head(b, 4, cbor_array_size(it));
		for (size_t i = 0; rv == 0 && i < cbor_array_size(it); i++)
			rv = canon(cbor_array_handle(it)[i], b, depth + 1);
		return rv;
	case CBOR_TYPE_MAP:
		return canon_map(it, b, depth);
	case CBOR_TYPE_FLOAT_CTRL:
		return canon_ctrl(it, b);
	default:
		return -EINVAL; /* tags */
	}
}

int
init_evlog_canon(const cbor_item_t *item, struct cella_buf *out)
{
	return canon(item, out, 0);
}

int
init_evlog_chain(const uint8_t prev[INIT_EVLOG_HASH], const uint8_t *ev,
		 size_t len, uint8_t hash[INIT_EVLOG_HASH],
		 uint8_t head[INIT_EVLOG_HASH])
{
	uint8_t cat[2 * INIT_EVLOG_HASH];

	if (EVP_Digest(ev, len, hash, NULL, EVP_sha384(), NULL) != 1)
		return -EIO;
	memcpy(cat, prev, INIT_EVLOG_HASH);
	memcpy(cat + INIT_EVLOG_HASH, hash, INIT_EVLOG_HASH);
	if (EVP_Digest(cat, sizeof(cat), head, NULL, EVP_sha384(), NULL) != 1)
		return -EIO;
	return 0;
}

static bool
name_ok(const char *s, size_t max)
{
	size_t n = s ? strlen(s) : 0;

	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] >= 0x7f)
			return false;
	return true;
}

static int
encode_event(struct init_evlog *l, const char *type, const char *source,
	     uint64_t time_ms, const cbor_item_t *data, struct cella_buf *b)
{
	static const uint8_t empty_map = 0xa0;
	int rv;

	if (data != NULL && !cbor_isa_map(data))
		return -EINVAL;
	/* Keys in deterministic order: data, time, type, index, source. */
	rv = put_head(b, 5, 5);
	if (rv == 0)
		rv = put_text(b, "data", 4);
	if (rv == 0)
		rv = data ? canon(data, b, 0) : cella_buf_append(b, &empty_map, 1);
	if (rv == 0)
		rv = put_text(b, "time", 4);
	if (rv == 0)
		rv = put_head(b, 0, time_ms);
	if (rv == 0)
		rv = put_text(b, "type", 4);
	if (rv == 0)
		rv = put_text(b, type, strlen(type));
	if (rv == 0)
		rv = put_text(b, "index", 5);
	if (rv == 0)
		rv = put_head(b, 0, l->n);
	if (rv == 0)
		rv = put_text(b, "source", 6);
	if (rv == 0)
		rv = put_text(b, source, strlen(source));
	return rv;
}

int
init_evlog_append(struct init_evlog *l, const char *type, const char *source,
		  uint64_t time_ms, const cbor_item_t *data, uint64_t *index)
{
	struct cella_buf b;
	struct init_evlog_entry e;
	int rv;

	if (!name_ok(type, INIT_EVLOG_TYPE_MAX) ||
	    !name_ok(source, INIT_EVLOG_SOURCE_MAX))
		return -EINVAL;
	if (l->n >= l->max_events)
		return -ENOSPC;
	cella_buf_init(&b, INIT_EVLOG_EVENT_MAX);
	rv = encode_event(l, type, source, time_ms, data, &b);
	if (rv < 0)
		goto out;
	rv = -ENOSPC;
	if (b.len > l->max_bytes - l->bytes)
		goto out;
	rv = -ENOMEM;
	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 64;
		struct init_evlog_entry *nv = realloc(l->v, ncap * sizeof(*nv));

		if (nv == NULL)
			goto out;
		l->v = nv;
		l->cap = ncap;
	}
	rv = init_evlog_chain(l->head, b.p, b.len, e.hash, e.head);
	if (rv < 0)
		goto out;
	e.cbor = cella_buf_steal(&b, &e.len);
	l->v[l->n] = e;
	if (index != NULL)
		*index = l->n;
	l->n++;
	l->bytes += e.len;
	memcpy(l->head, e.head, INIT_EVLOG_HASH);
out:
	cella_buf_fini(&b);
	return rv;
}

int
init_evlog_verify(const struct init_evlog *l)
{
	uint8_t head[INIT_EVLOG_HASH] = {0}, hash[INIT_EVLOG_HASH];
	int rv;

	for (size_t i = 0; i < l->n; i++) {
		rv = init_evlog_chain(head, l->v[i].cbor, l->v[i].len, hash,
				      head);
		if (rv < 0)
			return rv;
		if (memcmp(hash, l->v[i].hash, INIT_EVLOG_HASH) != 0 ||
		    memcmp(head, l->v[i].head, INIT_EVLOG_HASH) != 0)
			return -EBADMSG;
	}
	return memcmp(head, l->head, INIT_EVLOG_HASH) == 0 ? 0 : -EBADMSG;
}
