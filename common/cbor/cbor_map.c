/*
 * cbor_map: typed reads and writes of text-keyed maps, the shape of every
 * cella message body. Reads bound every size and name the key in their
 * diagnosis, so a service answers "data: 80 bytes, over 64" without code
 * of its own; they never trust libcbor's type predicates that abort on an
 * unexpected float. Writes go through libcbor's maps and leave encoding to
 * cella_cbor_encode. Neither side checks duplicate keys: the first wins.
 */
#include "common/cbor/cbor.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

/*
 * libcbor 0.8's cbor_is_null and cbor_is_bool assert (abort) when handed a
 * float: compare the width first.
 */
static bool
is_ctrl(const cbor_item_t *v, uint8_t lo, uint8_t hi)
{
	return cbor_isa_float_ctrl(v) &&
	       cbor_float_get_width(v) == CBOR_FLOAT_0 &&
	       cbor_ctrl_value(v) >= lo && cbor_ctrl_value(v) <= hi;
}

bool
cella_cbor_is_null(const cbor_item_t *v)
{
	return v != NULL && is_ctrl(v, CBOR_CTRL_NULL, CBOR_CTRL_NULL);
}

static const uint8_t empty_bytes[1];

cbor_item_t *
cella_cbor_map_get(const cbor_item_t *map, const char *key)
{
	size_t klen = strlen(key), n;
	struct cbor_pair *v;

	if (map == NULL || !cbor_isa_map(map))
		return NULL;
	v = cbor_map_handle(map);
	n = cbor_map_size(map);
	for (size_t i = 0; i < n; i++) {
		const cbor_item_t *k = v[i].key;

		if (cbor_isa_string(k) && cbor_string_is_definite(k) &&
		    cbor_string_length(k) == klen &&
		    (klen == 0 || memcmp(cbor_string_handle(k), key, klen) == 0))
			return v[i].value;
	}
	return NULL;
}

/* The value under key, or -ENOENT (absent or null) with d naming key. */
static int
map_find(const cbor_item_t *map, const char *key, cbor_item_t **out,
	 struct cella_diag *d)
{
	cbor_item_t *v = cella_cbor_map_get(map, key);

	if (v == NULL || cella_cbor_is_null(v))
		return cella_diag_set(d, -ENOENT, "%s: missing", key);
	*out = v;
	return 0;
}

int
cella_cbor_get_uint(const cbor_item_t *map, const char *key, uint64_t max,
		    uint64_t *out, struct cella_diag *d)
{
	cbor_item_t *v = NULL;
	int rv;

	if ((rv = map_find(map, key, &v, d)) < 0)
		return rv;
	if (!cbor_isa_uint(v))
		return cella_diag_set(d, -EBADMSG,
				      "%s: expected an unsigned integer", key);
	if (cbor_get_int(v) > max)
		return cella_diag_set(d, -EBADMSG,
				      "%s: %" PRIu64 " is over %" PRIu64, key,
				      cbor_get_int(v), max);
	*out = cbor_get_int(v);
	return 0;
}

static int
get_string(const cbor_item_t *map, const char *key, size_t max, bool text,
	   struct cella_span *out, struct cella_diag *d)
{
	const char *what = text ? "a text string" : "a byte string";
	cbor_item_t *v = NULL;
	size_t len;
	int rv;

	if ((rv = map_find(map, key, &v, d)) < 0)
		return rv;
	if (text ? !cbor_isa_string(v) || !cbor_string_is_definite(v)
		 : !cbor_isa_bytestring(v) || !cbor_bytestring_is_definite(v))
		return cella_diag_set(d, -EBADMSG, "%s: expected %s", key,
				      what);
	len = text ? cbor_string_length(v) : cbor_bytestring_length(v);
	if (len > max)
		return cella_diag_set(d, -EBADMSG,
				      "%s: %zu bytes, over %zu", key, len, max);
	/* libcbor keeps no buffer for an empty string; never hand out NULL. */
	out->p = len == 0 ? empty_bytes
			  : (text ? cbor_string_handle(v)
				  : cbor_bytestring_handle(v));
	out->n = len;
	return 0;
}

int
cella_cbor_get_bytes(const cbor_item_t *map, const char *key, size_t max,
		     struct cella_span *out, struct cella_diag *d)
{
	return get_string(map, key, max, false, out, d);
}

int
cella_cbor_get_text(const cbor_item_t *map, const char *key, size_t max,
		    struct cella_span *out, struct cella_diag *d)
{
	return get_string(map, key, max, true, out, d);
}

int
cella_cbor_get_bool(const cbor_item_t *map, const char *key, bool *out,
		    struct cella_diag *d)
{
	cbor_item_t *v = NULL;
	int rv;

	if ((rv = map_find(map, key, &v, d)) < 0)
		return rv;
	if (!is_ctrl(v, CBOR_CTRL_FALSE, CBOR_CTRL_TRUE))
		return cella_diag_set(d, -EBADMSG, "%s: expected a boolean",
				      key);
	*out = cbor_ctrl_value(v) == CBOR_CTRL_TRUE;
	return 0;
}

/* --- builders --- */

/* Add key -> v (both consumed: the map keeps its own references). */
static int
map_put(cbor_item_t *map, const char *key, cbor_item_t *v)
{
	cbor_item_t *k = cbor_build_stringn(key, strlen(key));
	int rv = -ENOMEM;

	if (!cbor_isa_map(map))
		rv = -EINVAL;
	else if (cbor_map_is_definite(map) &&
		 cbor_map_size(map) == cbor_map_allocated(map))
		rv = -ENOSPC;
	else if (k != NULL && v != NULL &&
		 cbor_map_add(map, (struct cbor_pair){.key = k, .value = v}))
		rv = 0;
	if (k != NULL)
		cbor_decref(&k);
	if (v != NULL)
		cbor_decref(&v);
	return rv;
}

int
cella_cbor_put_uint(cbor_item_t *map, const char *key, uint64_t v)
{
	return map_put(map, key, cbor_build_uint64(v));
}

int
cella_cbor_put_bytes(cbor_item_t *map, const char *key, const void *p,
		     size_t n)
{
	return map_put(map, key,
		       n > 0 ? cbor_build_bytestring(p, n)
			     : cbor_new_definite_bytestring());
}

int
cella_cbor_put_text(cbor_item_t *map, const char *key, const char *s)
{
	return map_put(map, key, cbor_build_stringn(s, strlen(s)));
}

int
cella_cbor_put_bool(cbor_item_t *map, const char *key, bool v)
{
	return map_put(map, key, cbor_build_bool(v));
}

int
cella_cbor_put_item(cbor_item_t *map, const char *key, cbor_item_t *v)
{
	if (v == NULL)
		return -EINVAL;
	return map_put(map, key, cbor_incref(v));
}
