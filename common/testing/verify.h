/*
 * testing/verify: cmocka expectations for the verifier's tests: verify a
 * document under a policy and require either success or -EBADMSG with
 * exactly the given reason, and a ready-made test chain, document and
 * policy at a fixed time (tu_own) that a test changes one field of before
 * it signs. Call only from a cmocka test: a wrong outcome fails the test.
 */
#ifndef CELLA_TESTING_VERIFY_H
#define CELLA_TESTING_VERIFY_H

#include "common/testing/certs.h"

#define TU_DAY 86400
#define TU_T0 1700000000 /* own documents: leaf valid [T0 - 60, T0 + 3 h] */

/* cella_verify's return; *failed (when not NULL) the first failed check. */
int tu_verify(const uint8_t *p, size_t n,
	      const struct cella_verify_policy *pol,
	      struct cella_verify_cache *cache, struct cella_diag *d,
	      enum cella_verify_check *failed);

/* reason NULL: the document must verify; else fail with that message. */
void tu_expect(const uint8_t *p, size_t n,
	       const struct cella_verify_policy *pol,
	       struct cella_verify_cache *cache, const char *reason);

/* A test chain, a production-looking document under it, a policy. */
struct tu_own {
	struct tu_chain c;
	struct tu_doc t;
	struct cella_verify_policy pol;
	uint8_t big[1025];
};

void tu_own_init(struct tu_own *o, const char *leaf_bc, const char *leaf_ku);

/* Sign o's document with the leaf key and tu_expect it under o's policy. */
void tu_own_expect(struct tu_own *o, const char *reason);

#endif
