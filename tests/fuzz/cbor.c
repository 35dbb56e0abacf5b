/*
 * fuzz/cbor: the gate in common/cbor.c against arbitrary bytes. Whatever
 * cella_cbor_check accepts, libcbor must load whole, and cella's encoder
 * must write an encoding the gate accepts again and that loads back to the
 * same bytes (a fixed point). Tight limits are exercised on the same input.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/cbor.h"

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
		reencode(item);
		cbor_decref(&item);
	} else if (rv != -EMSGSIZE && rv != -EBADMSG) {
		abort(); /* the gate passed something libcbor refused */
	}
	return 0;
}
