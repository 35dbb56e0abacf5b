/*
 * fuzz/atls_hello: what an unauthenticated peer of the attested bridge
 * controls, its first frame: a 4-byte length (cella_atls_frame_len) and
 * the hello in the body (cella_atls_hello_parse). An accepted hello must
 * carry its nonce unchanged through an encode and a second parse; a
 * refused one must be -EMSGSIZE or -EPROTO with a reason, and that reason
 * must make a refusal frame that reads back as {"error": reason}.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/bridge/atls.h"
#include "common/cbor/cbor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
accepted(const uint8_t nonce[32])
{
	cbor_item_t *m = cbor_new_indefinite_map();
	struct cella_buf b;
	struct cella_diag d;
	uint8_t again[32];
	uint32_t len = 0;

	cella_buf_init(&b, CELLA_ATLS_FRAME_MAX + 4);
	if (m == NULL || cella_cbor_put_uint(m, "v", CELLA_ATLS_VERSION) < 0 ||
	    cella_cbor_put_bytes(m, "nonce", nonce, 32) < 0 ||
	    cella_atls_frame_encode(m, &b) < 0 ||
	    cella_atls_frame_len(b.p, &len, &d) < 0 || len != b.len - 4 ||
	    cella_atls_hello_parse(b.p + 4, len, again, &d) != 0 ||
	    memcmp(nonce, again, 32) != 0)
		abort();
	cbor_decref(&m);
	cella_buf_fini(&b);
}

static void
refused(int rv, const struct cella_diag *d)
{
	struct cella_buf b;
	struct cella_diag d2;
	cbor_item_t *m = NULL;
	struct cella_span why;
	uint32_t len = 0;

	if ((rv != -EMSGSIZE && rv != -EPROTO) || d->msg[0] == '\0')
		abort();
	cella_buf_init(&b, CELLA_ATLS_FRAME_MAX + 4);
	if (cella_atls_error_frame(d->msg, false, &b) != 0 ||
	    cella_atls_frame_len(b.p, &len, &d2) != 0 || len != b.len - 4 ||
	    cella_cbor_load(b.p + 4, len, &cella_atls_frame_limits, &m,
			    &d2) != 0 ||
	    cella_cbor_get_text(m, "error", 512, &why, &d2) != 0 ||
	    why.n != strlen(d->msg) || memcmp(why.p, d->msg, why.n) != 0)
		abort();
	cbor_decref(&m);
	cella_buf_fini(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cella_diag d = {0};
	uint8_t nonce[32];
	uint32_t len = 0;
	int rv;

	if (size < 4)
		return 0;
	rv = cella_atls_frame_len(data, &len, &d);
	if (rv == 0)
		rv = cella_atls_hello_parse(data + 4,
					    len < size - 4 ? len : size - 4,
					    nonce, &d);
	if (rv == 0)
		accepted(nonce);
	else
		refused(rv, &d);
	return 0;
}
