/*
 * verify_cache_test: the cache never widens what is accepted (a remembered
 * chain is refused outside its window and under another root, a tiny cache
 * still answers right, threads share one), it makes fresh leaves cost one
 * certificate check, and no single-byte change of a valid document is ever
 * accepted with the cache warm.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>

#include "common/testing/verify.h"

/* --- every byte of a real document matters --- */

static void
test_every_byte(void **state)
{
	struct cella_verify_cache *cache;
	struct cella_verify_policy pol;
	size_t n;
	uint8_t *p = tu_vector("eternis_valid_2024-07-31.b64", &n);
	long per_check[CELLA_VERIFY_AGE + 1] = {0};

	(void)state;
	assert_int_equal(cella_verify_cache_new(64, &cache), 0);
	cella_verify_policy_init(&pol);
	pol.at = 1722455771;
	tu_expect(p, n, &pol, cache, NULL);
	for (size_t i = 0; i < n; i++) {
		struct cella_diag d;
		enum cella_verify_check c;
		uint8_t keep = p[i];

		p[i] ^= i % 3 == 0 ? 0xff : (uint8_t)(1u << (i % 8));
		if (tu_verify(p, n, &pol, cache, &d, &c) != -EBADMSG)
			fail_msg("byte %zu changed and still valid", i);
		per_check[c]++;
		p[i] = keep;
	}
	tu_expect(p, n, &pol, cache, NULL);
	for (int c = 1; c <= CELLA_VERIFY_AGE; c++)
		if (per_check[c] > 0)
			fprintf(stderr, "# %s: %ld\n", cella_verify_check_name(c),
				per_check[c]);
	cella_verify_cache_free(cache);
	free(p);
}

/* --- the cache never widens what is accepted --- */

static void
test_cache_window(void **state)
{
	struct cella_verify_cache *cache;
	struct cella_verify_policy pol;
	size_t n;
	uint8_t *p = tu_vector("blocky-nitrite_valid_2024-09-07.b64", &n);
	uint64_t hits, misses;
	/* The leaf is valid 2024-09-07T14:37:36Z .. 17:37:39Z. */
	const int64_t nb = 1725719856, na = 1725730659;

	(void)state;
	assert_int_equal(cella_verify_cache_new(16, &cache), 0);
	cella_verify_policy_init(&pol);
	for (int round = 0; round < 2; round++) {
		pol.at = 1725719859;
		tu_expect(p, n, &pol, cache, NULL);
		pol.at = na;
		tu_expect(p, n, &pol, cache, NULL);
		pol.at = na + 1;
		tu_expect(p, n, &pol, cache,
		       "chain: certificate: certificate has expired");
		pol.at = nb;
		tu_expect(p, n, &pol, cache, NULL);
		pol.at = nb - 1;
		tu_expect(p, n, &pol, cache,
		       "chain: certificate: certificate is not yet valid");
	}
	cella_verify_cache_stats(cache, &hits, &misses);
	assert_true(hits >= 5 * 5); /* the valid runs were served from it */
	/* Without a cache, the same answers at the edges. */
	pol.at = na + 1;
	tu_expect(p, n, &pol, NULL, "chain: certificate: certificate has expired");
	cella_verify_cache_free(cache);
	free(p);
}

static void
test_cache_root(void **state)
{
	struct cella_verify_cache *cache;
	struct tu_own o;
	uint64_t h0, m0, h1, m1;
	X509 *twin, *stranger;
	EVP_PKEY *other;
	uint8_t *der1 = NULL, *der2 = NULL;

	(void)state;
	assert_int_equal(cella_verify_cache_new(8, &cache), 0);
	tu_own_init(&o, "critical,CA:FALSE", "critical,digitalSignature");
	{
		size_t n;
		uint8_t *p = tu_sign_doc(&o.t.doc, o.c.leaf_key, &n);

		tu_expect(p, n, &o.pol, cache, NULL);
		tu_expect(p, n, &o.pol, cache, NULL);
		free(p);
	}
	cella_verify_cache_stats(cache, &h0, &m0);
	assert_int_equal(h0, 3);
	assert_int_equal(m0, 3);
	/* Another root with the same name and key: valid, nothing reused. */
	twin = tu_cert(NULL, o.c.root_key, o.c.root_key, "cella test root", 77,
		       TU_T0 - TU_DAY, TU_T0 + TU_DAY, "critical,CA:TRUE",
		       "critical,keyCertSign");
	o.t.doc.cabundle[0] = tu_der(twin, &der1);
	o.pol.root = twin;
	tu_own_expect(&o, NULL);
	{
		size_t n;
		uint8_t *p = tu_sign_doc(&o.t.doc, o.c.leaf_key, &n);

		tu_expect(p, n, &o.pol, cache, NULL);
		cella_verify_cache_stats(cache, &h1, &m1);
		assert_int_equal(h1, h0);
		assert_int_equal(m1, m0 + 3);
		free(p);
	}
	/* Same name, another key: the cached path must not rescue it. */
	other = tu_keygen("secp384r1");
	stranger = tu_cert(NULL, other, other, "cella test root", 78, TU_T0 - TU_DAY,
			   TU_T0 + TU_DAY, "critical,CA:TRUE", "critical,keyCertSign");
	o.t.doc.cabundle[0] = tu_der(stranger, &der2);
	o.pol.root = stranger;
	{
		size_t n;
		uint8_t *p = tu_sign_doc(&o.t.doc, o.c.leaf_key, &n);

		tu_expect(p, n, &o.pol, cache,
			       "chain: cabundle[1]: unable to get local issuer "
			       "certificate");
		tu_expect(p, n, &o.pol, NULL,
			       "chain: cabundle[1]: unable to get local issuer "
			       "certificate");
		free(p);
	}
	/* A cache of 1 entry still gives the right answers. */
	{
		struct cella_verify_cache *tiny;
		size_t n;
		uint8_t *p;

		o.t.doc.cabundle[0] = o.c.root_der;
		o.pol.root = o.c.root;
		p = tu_sign_doc(&o.t.doc, o.c.leaf_key, &n);
		assert_int_equal(cella_verify_cache_new(1, &tiny), 0);
		for (int i = 0; i < 3; i++)
			tu_expect(p, n, &o.pol, tiny, NULL);
		cella_verify_cache_free(tiny);
		free(p);
	}
	assert_int_equal(cella_verify_cache_new(0, &cache), -EINVAL);
	X509_free(twin);
	X509_free(stranger);
	EVP_PKEY_free(other);
	OPENSSL_free(der1);
	OPENSSL_free(der2);
	tu_chain_free(&o.c);
	cella_verify_cache_free(cache);
}

/* Fresh leaves under one remembered CA cost one certificate check each. */
static void
test_cache_fresh_leaves(void **state)
{
	struct cella_verify_cache *cache;
	struct tu_own o;
	uint64_t hits, misses;

	(void)state;
	assert_int_equal(cella_verify_cache_new(64, &cache), 0);
	tu_own_init(&o, "critical,CA:FALSE", "critical,digitalSignature");
	for (long i = 0; i < 5; i++) {
		X509 *leaf = tu_cert(o.c.inter, o.c.int_key, o.c.leaf_key,
				     "fresh leaf", 100 + i, TU_T0 - 60, TU_T0 + 60,
				     "critical,CA:FALSE",
				     "critical,digitalSignature");
		uint8_t *der = NULL, *p;
		size_t n;

		o.t.doc.certificate = tu_der(leaf, &der);
		p = tu_sign_doc(&o.t.doc, o.c.leaf_key, &n);
		tu_expect(p, n, &o.pol, cache, NULL);
		free(p);
		OPENSSL_free(der);
		X509_free(leaf);
	}
	cella_verify_cache_stats(cache, &hits, &misses);
	assert_int_equal(misses, 3 + 4); /* whole path once, then leaves */
	assert_int_equal(hits, 4 * 2);
	tu_chain_free(&o.c);
	cella_verify_cache_free(cache);
}

struct thread_arg {
	struct cella_verify_cache *cache;
	const uint8_t *p;
	size_t n;
	int failures;
};

static void *
thread_main(void *a)
{
	struct thread_arg *t = a;
	struct cella_verify_policy pol;
	struct cella_diag d;

	cella_verify_policy_init(&pol);
	for (int i = 0; i < 30; i++) {
		pol.at = 1722455771 + (i % 2 == 0 ? 0 : TU_DAY);
		if (tu_verify(t->p, t->n, &pol, t->cache, &d, NULL) !=
		    (i % 2 == 0 ? 0 : -EBADMSG))
			t->failures++;
	}
	return NULL;
}

static void
test_cache_threads(void **state)
{
	struct thread_arg args[4];
	pthread_t th[4];
	struct cella_verify_cache *cache;
	size_t n;
	uint8_t *p = tu_vector("eternis_valid_2024-07-31.b64", &n);

	(void)state;
	assert_int_equal(cella_verify_cache_new(4, &cache), 0);
	for (int i = 0; i < 4; i++) {
		args[i] = (struct thread_arg){cache, p, n, 0};
		assert_int_equal(pthread_create(&th[i], NULL, thread_main,
						&args[i]),
				 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		assert_int_equal(args[i].failures, 0);
	}
	cella_verify_cache_free(cache);
	free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_every_byte),
		cmocka_unit_test(test_cache_window),
		cmocka_unit_test(test_cache_root),
		cmocka_unit_test(test_cache_fresh_leaves),
		cmocka_unit_test(test_cache_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
