/*
 * nsm_wire: the handful of CBOR shapes the NSM and its documents use,
 * written and read directly (internal to the nsm modules). The writer
 * produces shortest heads and definite lengths, exactly what serde_cbor
 * emits, so encodings compare byte for byte with the NSM's and with real
 * attestation documents. The reader walks bytes that cella_cbor_check has
 * already accepted, bounds-checks every step anyway, and hands out spans
 * that borrow the input. Not a general CBOR library: no floats, no tags, no
 * indefinite lengths.
 */
#ifndef CELLA_NSM_WIRE_H
#define CELLA_NSM_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/core/buf.h"

enum {
	CELLA_NSMW_UINT = 0,
	CELLA_NSMW_NINT = 1,
	CELLA_NSMW_BYTES = 2,
	CELLA_NSMW_TEXT = 3,
	CELLA_NSMW_ARRAY = 4,
	CELLA_NSMW_MAP = 5,
	CELLA_NSMW_TAG = 6,
	CELLA_NSMW_SIMPLE = 7,
};

#define CELLA_NSMW_FALSE 20
#define CELLA_NSMW_TRUE 21
#define CELLA_NSMW_NULL 22

/* Writers: 0, -EMSGSIZE past b's max, -ENOMEM. */
int cella_nsmw_put_head(struct cella_buf *b, unsigned major, uint64_t v);
int cella_nsmw_put_bytes(struct cella_buf *b, const void *p, size_t n);
int cella_nsmw_put_text(struct cella_buf *b, const char *s);
int cella_nsmw_put_text_n(struct cella_buf *b, const void *p, size_t n);
int cella_nsmw_put_simple(struct cella_buf *b, unsigned v);
/* Bytes, or null when p is NULL. */
int cella_nsmw_put_opt(struct cella_buf *b, const void *p, size_t n);

/* The length of the head cella_nsmw_put_head would write. */
size_t cella_nsmw_head_len(uint64_t v);

struct cella_nsmw_reader {
	const uint8_t *p;
	size_t n;
	size_t off;
};

/*
 * Readers: -EBADMSG when the next item is not of the wanted type or runs
 * past the end, -EMSGSIZE when over max. A reader that fails leaves off
 * wherever it stopped; callers give up on the whole input.
 */
int cella_nsmw_get_head(struct cella_nsmw_reader *r, unsigned *major,
			uint64_t *arg);
/* The major type of the next item without consuming it; -EBADMSG at end. */
int cella_nsmw_peek(const struct cella_nsmw_reader *r, unsigned *major,
		    uint64_t *arg);
int cella_nsmw_skip(struct cella_nsmw_reader *r, unsigned depth);
int cella_nsmw_get_uint(struct cella_nsmw_reader *r, uint64_t max,
			uint64_t *out);
int cella_nsmw_get_bytes(struct cella_nsmw_reader *r, size_t max,
			 struct cella_span *out);
int cella_nsmw_get_text(struct cella_nsmw_reader *r, size_t max,
			struct cella_span *out);
int cella_nsmw_get_bool(struct cella_nsmw_reader *r, bool *out);
/* 1 and consumed when the next item is null, 0 (untouched) when not. */
int cella_nsmw_get_null(struct cella_nsmw_reader *r);
int cella_nsmw_get_container(struct cella_nsmw_reader *r, unsigned major,
			     uint64_t *count);

/* Whether span s holds exactly the text lit. */
bool cella_nsmw_span_is(struct cella_span s, const char *lit);

#endif
