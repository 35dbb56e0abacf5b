/*
 * cbor: the gate every untrusted CBOR byte passes before libcbor sees it.
 * libcbor's cbor_load trusts declared lengths and counts and allocates for
 * them; cella_cbor_check walks the encoding first without allocating and
 * refuses anything over the caller's limits, anything malformed, trailing
 * bytes and indefinite-length items. Also small typed accessors for maps
 * keyed by text, which is how every cella message body is shaped.
 */
#ifndef CELLA_CBOR_H
#define CELLA_CBOR_H

#include <cbor.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/core/buf.h"
#include "common/core/err.h"

/*
 * The walker keeps one counter per open container on the stack, so nesting
 * has a hard ceiling: a max_depth above it is treated as it.
 */
#define CELLA_CBOR_DEPTH_MAX 64

struct cella_cbor_limits {
	size_t max_bytes;   /* the whole input */
	unsigned max_depth; /* nesting of arrays, maps and tags (0: scalars) */
	size_t max_items;   /* data items in total (a map pair counts 2, a
			       tag and its content 2, the root 1) */
	size_t max_str;	    /* any one byte or text string */
};

/*
 * 0 when p[0..n) is exactly one well-formed, definite-length CBOR item
 * within lim; -EMSGSIZE over a limit, -EBADMSG malformed (truncated,
 * reserved additional info, trailing bytes, indefinite length, and what
 * libcbor 0.8 refuses to load: text that is not UTF-8 (RFC 3629), a simple
 * value other than false/true/null/undefined, a tag 6..20 in one byte).
 * Never allocates; linear in n.
 */
int cella_cbor_check(const uint8_t *p, size_t n,
		     const struct cella_cbor_limits *lim, struct cella_diag *d);

/* cella_cbor_check, then cbor_load. On success *out is the caller's. */
int cella_cbor_load(const uint8_t *p, size_t n,
		    const struct cella_cbor_limits *lim, cbor_item_t **out,
		    struct cella_diag *d);

/*
 * Serialize item into out (appending; out's cap applies; on failure out is
 * as it was). Lengths are always definite and heads shortest, so items
 * built as indefinite (growing) maps or arrays pass cella_cbor_check;
 * -EILSEQ for text that is not UTF-8, -EINVAL for what the gate refuses.
 */
int cella_cbor_encode(const cbor_item_t *item, struct cella_buf *out);

/*
 * Whether v is CBOR null. Use it, not libcbor 0.8's cbor_is_null (or
 * cbor_is_bool, cbor_is_undef, cbor_get_bool), on untrusted items: those
 * assert, and so abort the process, when v is a float.
 */
bool cella_cbor_is_null(const cbor_item_t *v);

/* The value under text key in a definite map, or NULL (absent / not a map). */
cbor_item_t *cella_cbor_map_get(const cbor_item_t *map, const char *key);

/*
 * Typed reads of map[key]: -ENOENT when absent (or null), -EBADMSG when of
 * another type or over max (d names the key). Spans borrow from the item.
 */
int cella_cbor_get_uint(const cbor_item_t *map, const char *key, uint64_t max,
			uint64_t *out, struct cella_diag *d);
int cella_cbor_get_bytes(const cbor_item_t *map, const char *key, size_t max,
			 struct cella_span *out, struct cella_diag *d);
int cella_cbor_get_text(const cbor_item_t *map, const char *key, size_t max,
			struct cella_span *out, struct cella_diag *d);
int cella_cbor_get_bool(const cbor_item_t *map, const char *key, bool *out,
			struct cella_diag *d);

/*
 * Builders that return 0/-ENOMEM, for bodies built key by key (-ENOSPC when
 * map is a full definite map, -EINVAL when it is not a map). Build with
 * cbor_new_indefinite_map() to let the map grow.
 */
int cella_cbor_put_uint(cbor_item_t *map, const char *key, uint64_t v);
int cella_cbor_put_bytes(cbor_item_t *map, const char *key, const void *p,
			 size_t n);
int cella_cbor_put_text(cbor_item_t *map, const char *key, const char *s);
int cella_cbor_put_bool(cbor_item_t *map, const char *key, bool v);
/* The map takes its own reference to v; the caller still drops its own. */
int cella_cbor_put_item(cbor_item_t *map, const char *key, cbor_item_t *v);

#endif
