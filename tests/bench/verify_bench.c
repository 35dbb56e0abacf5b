/*
 * verify_bench: attestation documents verified per second, against the
 * anchor that bounds them: raw ES384 signature verifications per second
 * with the same key type, measured in the same run. Three figures, one line
 * each: the same real AWS document again and again with the chain cache;
 * distinct documents from one test chain, each with a fresh leaf (what a
 * verifier sees from one long-lived enclave); and the same document without
 * any cache (a whole chain each time). Usage: verify_bench [SECONDS]
 * (per figure, default 1), run from the source root or with
 * CELLA_SOURCE_ROOT set.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "common/testing/certs.h"
#include "tests/lib/argnum.h"
#include "common/core/clock.h"

#define FRESH_DOCS 64
#define ROUNDS 8

/* The anchor: EVP_DigestVerify of an ES384 signature over 4.5 KiB. */
static double
raw_es384(double secs)
{
	EVP_PKEY *k = tu_p384_test_key();
	uint8_t msg[4555], sig[128];
	size_t siglen = sizeof(sig);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	long n = 0;
	double t0;

	memset(msg, 0x42, sizeof(msg));
	TU_CHECK(EVP_DigestSignInit(ctx, NULL, EVP_sha384(), NULL, k) == 1);
	TU_CHECK(EVP_DigestSign(ctx, sig, &siglen, msg, sizeof(msg)) == 1);
	t0 = cella_mono_s();
	do {
		EVP_MD_CTX_reset(ctx);
		TU_CHECK(EVP_DigestVerifyInit(ctx, NULL, EVP_sha384(), NULL, k) == 1);
		TU_CHECK(EVP_DigestVerify(ctx, sig, siglen, msg, sizeof(msg)) == 1);
		n++;
	} while (cella_mono_s() - t0 < secs);
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(k);
	return (double)n / (cella_mono_s() - t0);
}

static double
verify_rate(uint8_t **docs, size_t *lens, size_t ndocs,
	    const struct cella_verify_policy *pol,
	    struct cella_verify_cache *cache, double secs)
{
	struct cella_verify_result res;
	struct cella_diag d;
	long n = 0;
	double t0 = cella_mono_s();

	do {
		size_t i = (size_t)n % ndocs;

		if (cella_verify(docs[i], lens[i], pol, cache, &res, &d) != 0) {
			fprintf(stderr, "verify_bench: %s\n", d.msg);
			exit(1);
		}
		cella_verify_result_fini(&res);
		n++;
	} while (cella_mono_s() - t0 < secs);
	return (double)n / (cella_mono_s() - t0);
}

static void
line(const char *name, double rate, double anchor)
{
	printf("%s=%.0f raw_es384_verify_per_s=%.0f ratio=%.3f\n", name, rate,
	       anchor, rate / anchor);
}

/* FRESH_DOCS documents under one test CA, each with its own leaf. */
static void
fresh_docs(struct tu_chain *c, uint8_t **docs, size_t *lens)
{
	const int64_t t0 = 1700000000;

	tu_chain_make(c, t0 - 60, t0 + 3 * 3600, "critical,CA:FALSE",
		      "critical,digitalSignature");
	for (long i = 0; i < FRESH_DOCS; i++) {
		struct tu_doc t;
		X509 *leaf = tu_cert(c->inter, c->int_key, c->leaf_key, "leaf",
				     1000 + i, t0 - 60, t0 + 3 * 3600,
				     "critical,CA:FALSE",
				     "critical,digitalSignature");
		uint8_t *der = NULL;

		tu_doc_init(&t, c, (uint64_t)t0 * 1000 + (uint64_t)i);
		t.doc.certificate = tu_der(leaf, &der);
		docs[i] = tu_sign_doc(&t.doc, c->leaf_key, &lens[i]);
		OPENSSL_free(der);
		X509_free(leaf);
	}
}

int
main(int argc, char **argv)
{
	double secs = argc > 1 ? arg_double(argv[1], 0.01, 60) : 1.0, anchor,
	       rate[3];
	struct cella_verify_policy pol;
	struct cella_verify_cache *cache;
	uint8_t *docs[FRESH_DOCS], *real;
	size_t lens[FRESH_DOCS], rlen;
	struct tu_chain c;

	if (secs <= 0 || secs > 60) {
		fprintf(stderr, "usage: verify_bench [SECONDS (0..60]]\n");
		return 64;
	}
	if (getenv("CELLA_SOURCE_ROOT") == NULL)
		setenv("CELLA_SOURCE_ROOT", ".", 1);
	real = tu_vector("eternis_valid_2024-07-31.b64", &rlen);
	fresh_docs(&c, docs, lens);

	/*
	 * The cached figure and its anchor in alternating short rounds, the
	 * best round of each kept: a busy moment on a shared machine lowers
	 * one round, not one side of the ratio.
	 */
	TU_CHECK(cella_verify_cache_new(256, &cache) == 0);
	cella_verify_policy_init(&pol);
	pol.at = 1722455771;
	anchor = rate[0] = 0;
	for (int r = 0; r < ROUNDS; r++) {
		double a = raw_es384(secs / ROUNDS);
		double v = verify_rate(&real, &rlen, 1, &pol, cache,
				       secs / ROUNDS);

		anchor = a > anchor ? a : anchor;
		rate[0] = v > rate[0] ? v : rate[0];
	}
	/*
	 * A cache too small for FRESH_DOCS leaves: the root and the CA stay
	 * (used by every document), each leaf has gone by its next turn.
	 */
	cella_verify_cache_free(cache);
	TU_CHECK(cella_verify_cache_new(8, &cache) == 0);
	pol.root = c.root;
	pol.at = 1700000000;
	rate[1] = verify_rate(docs, lens, FRESH_DOCS, &pol, cache, secs);
	cella_verify_policy_init(&pol);
	pol.at = 1722455771;
	rate[2] = verify_rate(&real, &rlen, 1, &pol, NULL, secs);

	line("verify_cached_per_s", rate[0], anchor);
	line("verify_fresh_leaf_per_s", rate[1], anchor);
	line("verify_uncached_per_s", rate[2], anchor);
	for (size_t i = 0; i < FRESH_DOCS; i++)
		free(docs[i]);
	free(real);
	tu_chain_free(&c);
	cella_verify_cache_free(cache);
	return 0;
}
