/*
 * fuzz/envelope: cella_env_parse against arbitrary bytes, seeded with the
 * golden vectors of proto/vectors. Whatever parses must encode again, no
 * longer than it came (encodings are canonical), and parse back to the same
 * type, id and bytes; error replies must read back as a negative errno.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/rpc/envelope.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
roundtrip(const struct cella_env *e, size_t size)
{
	struct cella_buf a, b, count, fixed;
	struct cella_env again;
	struct cella_diag d;
	int err;

	cella_buf_init(&a, CELLA_ENV_MAX_BYTES);
	cella_buf_init(&b, CELLA_ENV_MAX_BYTES);
	if (cella_env_encode(e->type, e->id, e->body, &a) != 0 || a.len > size)
		abort();
	/* sizing pass and encoding into exactly that many bytes agree */
	cella_buf_init_count(&count, CELLA_ENV_MAX_BYTES);
	if (cella_env_encode(e->type, e->id, e->body, &count) != 0 ||
	    count.len != a.len)
		abort();
	uint8_t *mem = malloc(a.len);
	if (mem == NULL)
		abort();
	cella_buf_borrow(&fixed, mem, a.len);
	if (cella_env_encode(e->type, e->id, e->body, &fixed) != 0 ||
	    fixed.len != a.len || memcmp(mem, a.p, a.len) != 0)
		abort();
	free(mem);
	if (cella_env_parse(a.p, a.len, &again, &d) != 0)
		abort();
	if (again.type != e->type || again.id != e->id ||
	    cella_env_encode(again.type, again.id, again.body, &b) != 0 ||
	    a.len != b.len || memcmp(a.p, b.p, a.len) != 0)
		abort();
	err = cella_env_error(e, &d);
	if (err > 0 || (e->type == CELLA_MSG_ERROR) != (err < 0))
		abort();
	cella_env_fini(&again);
	cella_buf_fini(&a);
	cella_buf_fini(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cella_env e;
	struct cella_diag d;
	int rv = cella_env_parse(data, size, &e, &d);

	if (rv == 0) {
		roundtrip(&e, size);
		cella_env_fini(&e);
	} else if (rv != -EMSGSIZE && rv != -EBADMSG && rv != -EPROTO &&
		   rv != -ENOMSG) {
		abort();
	}
	return 0;
}
