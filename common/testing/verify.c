/*
 * testing/verify: the verifier expectations of verify.h, with cmocka's
 * assertions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>

#include "common/testing/verify.h"

int
tu_verify(const uint8_t *p, size_t n, const struct cella_verify_policy *pol,
	  struct cella_verify_cache *cache, struct cella_diag *d,
	  enum cella_verify_check *failed)
{
	struct cella_verify_result res;
	int rv = cella_verify(p, n, pol, cache, &res, d);

	if (failed != NULL)
		*failed = res.failed;
	cella_verify_result_fini(&res);
	return rv;
}

void
tu_expect(const uint8_t *p, size_t n, const struct cella_verify_policy *pol,
	  struct cella_verify_cache *cache, const char *reason)
{
	struct cella_diag d = {{0}};
	int rv = tu_verify(p, n, pol, cache, &d, NULL);

	if (reason == NULL) {
		if (rv != 0)
			fail_msg("expected valid, got %d: %s", rv, d.msg);
		return;
	}
	assert_int_equal(rv, -EBADMSG);
	assert_string_equal(d.msg, reason);
}

void
tu_own_init(struct tu_own *o, const char *leaf_bc, const char *leaf_ku)
{
	tu_chain_make(&o->c, TU_T0 - 60, TU_T0 + 3 * 3600, leaf_bc, leaf_ku);
	tu_doc_init(&o->t, &o->c, (uint64_t)TU_T0 * 1000 + 123);
	cella_verify_policy_init(&o->pol);
	o->pol.root = o->c.root;
	o->pol.at = TU_T0;
	memset(o->big, 0x5a, sizeof(o->big));
}

void
tu_own_expect(struct tu_own *o, const char *reason)
{
	size_t n;
	uint8_t *p = tu_sign_doc(&o->t.doc, o->c.leaf_key, &n);

	tu_expect(p, n, &o->pol, NULL, reason);
	free(p);
}
