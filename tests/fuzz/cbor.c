/*
 * fuzz/cbor: the gate in common/cbor/cbor.c against arbitrary bytes. Whatever
 * cella_cbor_check accepts, libcbor must load whole, and cella's encoder
 * must write an encoding the gate accepts again and that loads back to the
 * same bytes (a fixed point); the typed accessors must survive any value.
 * Tight limits are exercised on the same input.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/cbor/cbor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct cella_cbor_limits wide = {
	.max_bytes = 1u << 20,
	.max_depth = 16,
	.max_items = 1u << 16,
	.max_str = 1u << 20,
};

static const struct cella_cbor_limits tight = {
	.max_bytes = 256,
	.max_depth = 3,
	.max_items = 16,
	.max_str = 8,
};

static void
reencode(const cbor_item_t *item)
{
	struct cella_buf a, b;
	cbor_item_t *again = NULL;

	cella_buf_init(&a, 4u << 20);
	cella_buf_init(&b, 4u << 20);
	if (cella_cbor_encode(item, &a) != 0)
		abort();
	if (cella_cbor_load(a.p, a.len, &wide, &again, NULL) != 0)
		abort();
	if (cella_cbor_encode(again, &b) != 0 || a.len != b.len ||
	    memcmp(a.p, b.p, a.len) != 0)
		abort();
	cbor_decref(&again);
	cella_buf_fini(&a);
	cella_buf_fini(&b);
}

/* Every typed accessor on every text key of a top-level map. */
static void
accessors(const cbor_item_t *item)
{
	struct cella_span sp;
	uint64_t u;
	bool b;
	char key[64];

	if (!cbor_isa_map(item))
		return;
	for (size_t i = 0; i < cbor_map_size(item); i++) {
		const cbor_item_t *k = cbor_map_handle(item)[i].key;
		size_t n;

		if (!cbor_isa_string(k) || cbor_string_length(k) >= sizeof(key))
			continue;
		n = cbor_string_length(k);
		memcpy(key, cbor_string_handle(k), n);
		key[n] = '\0';
		(void)cella_cbor_get_uint(item, key, UINT64_MAX, &u, NULL);
		(void)cella_cbor_get_bytes(item, key, 16, &sp, NULL);
		(void)cella_cbor_get_text(item, key, SIZE_MAX, &sp, NULL);
		(void)cella_cbor_get_bool(item, key, &b, NULL);
		(void)cella_cbor_is_null(cella_cbor_map_get(item, key));
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cella_diag d;
	cbor_item_t *item = NULL;
	int rv;

	rv = cella_cbor_check(data, size, &tight, &d);
	if (rv != 0 && rv != -EMSGSIZE && rv != -EBADMSG)
		abort();
	rv = cella_cbor_load(data, size, &wide, &item, &d);
	if (rv == 0) {
		accessors(item);
		reencode(item);
		cbor_decref(&item);
	} else if (rv != -EMSGSIZE && rv != -EBADMSG) {
		abort(); /* the gate passed something libcbor refused */
	}
	return 0;
}
