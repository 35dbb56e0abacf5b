/*
 * nsm_sim_test: the software NSM. Its PCRs behave as Nitro's (boot PCRs
 * set and locked, extend = SHA-384(old || data), lock makes read-only);
 * each document has its own leaf and stale pooled leaves are dropped; bad
 * requests get the NSM's error codes; it holds up under threads; and its
 * start-up files are checked. Document shape and crypto:
 * nsm_sim_doc_test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/nsm/sim/nsm_simca.h"
#include "common/testing/nsm_sim.h"
#include "common/testing/util.h"
#include "tests/lib/rmtree.h"

static void
sha384_2(const uint8_t *a, size_t na, const uint8_t *b, size_t nb,
	 uint8_t out[48])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	EVP_DigestInit_ex(ctx, EVP_sha384(), NULL);
	EVP_DigestUpdate(ctx, a, na);
	EVP_DigestUpdate(ctx, b, nb);
	EVP_DigestFinal_ex(ctx, out, NULL);
	EVP_MD_CTX_free(ctx);
}

static void
test_describe_and_boot(void **state)
{
	struct cella_nsm *nsm = tu_sim_open(0, 5000);
	struct cella_nsm_info info;
	struct cella_nsm_pcr pcr;
	uint8_t want[48];
	static const uint8_t zero[48];

	(void)state;
	assert_int_equal(cella_nsm_describe(nsm, &info, NULL), 0);
	assert_int_equal(info.version_major, 1);
	assert_int_equal(info.max_pcrs, 32);
	assert_int_equal(info.digest, CELLA_NSM_SHA384);
	assert_int_equal(info.n_locked, 16);
	for (uint16_t i = 0; i < 16; i++)
		assert_int_equal(info.locked_pcrs[i], i);
	/* "<instance from the signer's CN>-enc<16 hex>" */
	assert_int_equal(strlen(info.module_id), strlen(TU_SIM_NAME) + 4 + 16);
	assert_memory_equal(info.module_id, TU_SIM_NAME "-enc", strlen(TU_SIM_NAME) + 4);
	assert_string_equal(info.module_id,
			    cella_nsm_sim_module_id(cella_nsm_sim_of(nsm)));

	assert_int_equal(cella_nsm_describe_pcr(nsm, 0, &pcr, NULL), 0);
	assert_true(pcr.locked);
	assert_int_equal(pcr.len, 48);
	assert_memory_equal(pcr.value, tu_sim_pcr0, 48);
	/* PCR4 = SHA-384(48 zero bytes || instance id), as on Nitro */
	sha384_2(zero, 48, (const uint8_t *)TU_SIM_NAME, strlen(TU_SIM_NAME), want);
	assert_int_equal(cella_nsm_describe_pcr(nsm, 4, &pcr, NULL), 0);
	assert_memory_equal(pcr.value, want, 48);
	assert_int_equal(cella_nsm_describe_pcr(nsm, 16, &pcr, NULL), 0);
	assert_false(pcr.locked);
	assert_memory_equal(pcr.value, zero, 48);
	assert_int_equal(cella_nsm_describe_pcr(nsm, 32, &pcr, NULL), -ERANGE);
	cella_nsm_free(nsm);
}

static void
test_extend_and_lock(void **state)
{
	struct cella_nsm *nsm = tu_sim_open(0, 5000);
	struct cella_nsm_pcr pcr;
	struct cella_diag d = {""};
	uint8_t want[48] = {0};
	struct cella_nsm_info info;

	(void)state;
	sha384_2(want, 48, (const uint8_t *)"abc", 3, want);
	assert_int_equal(cella_nsm_extend_pcr(nsm, 16, "abc", 3, &pcr, NULL),
			 0);
	assert_memory_equal(pcr.value, want, 48);
	sha384_2(want, 48, (const uint8_t *)"de", 2, want);
	assert_int_equal(cella_nsm_extend_pcr(nsm, 16, "de", 2, &pcr, NULL), 0);
	assert_memory_equal(pcr.value, want, 48);
	assert_int_equal(cella_nsm_describe_pcr(nsm, 16, &pcr, NULL), 0);
	assert_memory_equal(pcr.value, want, 48);
	assert_false(pcr.locked);

	assert_int_equal(cella_nsm_lock_pcr(nsm, 16, NULL), 0);
	assert_int_equal(cella_nsm_extend_pcr(nsm, 16, "x", 1, NULL, &d),
			 -EROFS);
	assert_string_equal(d.msg, "nsm ExtendPCR: ReadOnlyIndex");
	assert_int_equal(cella_nsm_describe_pcr(nsm, 16, &pcr, NULL), 0);
	assert_true(pcr.locked);
	assert_memory_equal(pcr.value, want, 48);
	/* boot PCRs: read-only, and cannot be locked again */
	assert_int_equal(cella_nsm_extend_pcr(nsm, 3, "x", 1, NULL, NULL),
			 -EROFS);
	assert_int_equal(cella_nsm_lock_pcr(nsm, 0, NULL), -EROFS);
	assert_int_equal(cella_nsm_lock_pcr(nsm, 32, NULL), -ERANGE);
	assert_int_equal(cella_nsm_extend_pcr(nsm, 40, "x", 1, NULL, NULL),
			 -ERANGE);
	/* LockPCRs(range) locks [0, range); up to max_pcrs */
	assert_int_equal(cella_nsm_lock_pcrs(nsm, 33, NULL), -ERANGE);
	assert_int_equal(cella_nsm_lock_pcrs(nsm, 20, NULL), 0);
	assert_int_equal(cella_nsm_extend_pcr(nsm, 19, "x", 1, NULL, NULL),
			 -EROFS);
	assert_int_equal(cella_nsm_extend_pcr(nsm, 20, "x", 1, NULL, NULL), 0);
	assert_int_equal(cella_nsm_describe(nsm, &info, NULL), 0);
	assert_int_equal(info.n_locked, 20);
	assert_int_equal(cella_nsm_lock_pcrs(nsm, 32, NULL), 0);
	assert_int_equal(cella_nsm_lock_pcrs(nsm, 32, NULL), 0);
	assert_int_equal(cella_nsm_describe(nsm, &info, NULL), 0);
	assert_int_equal(info.n_locked, 32);
	cella_nsm_free(nsm);
}

static void
test_leaf_per_document(void **state)
{
	struct cella_nsm *nsm = tu_sim_open(4, 5000);
	struct cella_nsm_sim *sim = cella_nsm_sim_of(nsm);
	struct tu_sim_doc *doc = malloc(sizeof(*doc));
	ASN1_INTEGER *serials[6];
	struct cella_nsm_sim_stats st;
	struct cella_buf b;

	(void)state;
	assert_int_equal(cella_nsm_sim_wait_pool(sim, 20000), 0);
	for (int i = 0; i < 6; i++) {
		X509 *leaf;

		tu_sim_attest(nsm, 0, 8, 0, &b);
		tu_sim_doc_parse(b.p, b.len, doc);
		leaf = tu_der_cert(doc->d.certificate);
		assert_true(tu_cose_verify(doc, X509_get0_pubkey(leaf)));
		serials[i] = ASN1_INTEGER_dup(X509_get0_serialNumber(leaf));
		/* the serial starts with the module's enclave id */
		assert_int_equal(serials[i]->length, 16);
		for (int j = 0; j < i; j++)
			assert_int_not_equal(ASN1_INTEGER_cmp(serials[i],
							      serials[j]),
					     0);
		X509_free(leaf);
		cella_buf_fini(&b);
	}
	cella_nsm_sim_stats(sim, &st);
	assert_int_equal(st.documents, 6);
	assert_true(st.pool_hits >= 4);
	assert_int_equal(st.pool_hits + st.pool_misses, 6);
	assert_int_equal(st.pool_size, 4);
	for (int i = 0; i < 6; i++)
		ASN1_INTEGER_free(serials[i]);
	free(doc);
	cella_nsm_free(nsm);
}

static bool
two_expired(void *arg)
{
	struct cella_nsm_sim_stats st;

	cella_nsm_sim_stats(arg, &st);
	return st.leaves_expired >= 2;
}

static void
test_pool_expiry(void **state)
{
	struct cella_nsm *nsm = tu_sim_open(2, 150);
	struct cella_nsm_sim *sim = cella_nsm_sim_of(nsm);
	struct tu_sim_doc *doc = malloc(sizeof(*doc));
	struct cella_buf b;
	X509 *leaf;

	(void)state;
	assert_int_equal(cella_nsm_sim_wait_pool(sim, 20000), 0);
	/* Leaves past their age are thrown away by the refill thread, never
	 * used: wait for its sweep itself (the stats), not for a time. */
	assert_true(tu_wait_until(two_expired, sim, 20000));
	tu_sim_attest(nsm, 0, 0, 0, &b);
	tu_sim_doc_parse(b.p, b.len, doc);
	leaf = tu_der_cert(doc->d.certificate);
	assert_true((int64_t)(doc->d.timestamp_ms / 1000) -
			    tu_asn1_time(X509_get0_notBefore(leaf)) <=
		    3 + 1);
	X509_free(leaf);
	cella_buf_fini(&b);
	free(doc);
	cella_nsm_free(nsm);
}

static enum cella_nsm_status
raw_status(struct cella_nsm_sim *sim, const uint8_t *req, size_t n)
{
	static uint8_t resp[CELLA_NSM_RESPONSE_MAX];
	struct cella_nsm_response r;
	size_t len;

	assert_int_equal(cella_nsm_sim_handle(sim, req, n, resp, &len), 0);
	assert_int_equal(cella_nsm_response_parse(resp, len, &r, NULL), 0);
	assert_int_equal(r.kind, CELLA_NSM_ERROR);
	return r.error;
}

static void
test_bad_requests(void **state)
{
	static uint8_t big[CELLA_NSM_REQUEST_MAX + 1];
	struct cella_nsm *nsm = tu_sim_open(0, 5000);
	struct cella_nsm_sim *sim = cella_nsm_sim_of(nsm);
	struct cella_nsm_request q = {.kind = CELLA_NSM_ATTESTATION};
	struct cella_buf b;

	(void)state;
	assert_int_equal(raw_status(sim, (const uint8_t *)"\x01", 1),
			 CELLA_NSM_INVALID_ARGUMENT);
	assert_int_equal(raw_status(sim, (const uint8_t *)"\x66Reboot", 7),
			 CELLA_NSM_INVALID_OPERATION);
	assert_int_equal(raw_status(sim, big, sizeof(big)),
			 CELLA_NSM_INPUT_TOO_LARGE);
	/* a 1025-byte public_key (the last field), past the client's check */
	q.public_key = (struct cella_nsm_opt){true, {big, 1024}};
	cella_buf_init(&b, 8192);
	assert_int_equal(cella_nsm_request_encode(&q, &b), 0);
	for (size_t i = 0; i + 2 < b.len; i++) {
		if (b.p[i] == 0x59 && b.p[i + 1] == 4 && b.p[i + 2] == 0) {
			b.p[i + 2] = 1;
			break;
		}
	}
	assert_int_equal(cella_buf_append(&b, "", 1), 0);
	assert_int_equal(raw_status(sim, b.p, b.len),
			 CELLA_NSM_INPUT_TOO_LARGE);
	cella_buf_fini(&b);
	cella_nsm_free(nsm);
}

struct worker {
	struct cella_nsm *nsm;
	int docs;
};

static void *
work(void *arg)
{
	struct worker *w = arg;

	for (int i = 0; i < 25; i++) {
		struct cella_buf b;

		if (cella_nsm_extend_pcr(w->nsm, 20, "t", 1, NULL, NULL) != 0)
			return NULL;
		if (i % 5 == 0) {
			cella_buf_init(&b, CELLA_NSM_RESPONSE_MAX);
			if (cella_nsm_attest(w->nsm, NULL, NULL, NULL, &b,
					     NULL) == 0)
				w->docs++;
			cella_buf_fini(&b);
		}
	}
	return NULL;
}

/* Extends with the same data commute, so 100 of them have one answer. */
static void
test_threads(void **state)
{
	struct cella_nsm *nsm = tu_sim_open(4, 5000);
	struct worker w[4];
	pthread_t t[4];
	struct cella_nsm_pcr pcr;
	uint8_t want[48] = {0};

	(void)state;
	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker){nsm, 0};
		assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(w[i].docs, 5);
	}
	for (int i = 0; i < 100; i++)
		sha384_2(want, 48, (const uint8_t *)"t", 1, want);
	assert_int_equal(cella_nsm_describe_pcr(nsm, 20, &pcr, NULL), 0);
	assert_memory_equal(pcr.value, want, 48);
	cella_nsm_free(nsm);
}

static void
test_random(void **state)
{
	struct cella_nsm *nsm = tu_sim_open(0, 5000);
	uint8_t a[600] = {0}, b[600] = {0};

	(void)state;
	assert_int_equal(cella_nsm_get_random(nsm, a, sizeof(a), NULL), 0);
	assert_int_equal(cella_nsm_get_random(nsm, b, sizeof(b), NULL), 0);
	assert_memory_not_equal(a, b, sizeof(a));
	assert_string_equal(cella_nsm_provider(nsm), "sim");
	cella_nsm_free(nsm);
}

static void
write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void
write_pem(const char *dir, const char *name, EVP_PKEY *key, X509 *const *certs,
	  int n)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	if (key != NULL)
		PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
	for (int i = 0; i < n; i++)
		PEM_write_X509(f, certs[i]);
	fclose(f);
	chmod(path, key != NULL ? 0600 : 0644);
}

static void
expect_load(const char *dir, int err, const char *msg)
{
	struct cella_nsm_sim_conf c;
	struct cella_diag d = {""};
	int rc;

	cella_nsm_sim_conf_init(&c);
	rc = cella_nsm_sim_conf_load_ca(&c, dir, &d);
	if (rc != err || strstr(d.msg, msg) == NULL)
		fail_msg("load: %d '%s', wanted %d '%s'", rc, d.msg, err, msg);
	cella_nsm_sim_conf_fini(&c);
}

static void
test_conf_files(void **state)
{
	char dir[] = "/tmp/nsm_sim_test.XXXXXX", path[512];
	X509 *good[] = {tu_pki.root, tu_pki.reg, tu_pki.inst};
	X509 *swapped[] = {tu_pki.root, tu_pki.inst, tu_pki.reg};
	struct cella_nsm_sim_conf c;
	struct cella_nsm *nsm = NULL;
	struct cella_nsm_info info;
	struct cella_nsm_pcr pcr;
	struct cella_diag d = {""};

	(void)state;
	assert_non_null(mkdtemp(dir));
	expect_load(dir, -ENOENT, "signer.key");
	write_pem(dir, "signer.key", tu_pki.inst_key, NULL, 0);
	expect_load(dir, -ENOENT, "cabundle.pem");
	write_pem(dir, "cabundle.pem", NULL, swapped, 3);
	expect_load(dir, -EINVAL, "certificate 2 is not issued by");
	write_pem(dir, "cabundle.pem", NULL, good, 2);
	expect_load(dir, -EINVAL, "not the signer key's");
	write_pem(dir, "cabundle.pem", NULL, good + 1, 2);
	expect_load(dir, -EINVAL, "certificate 1 is not self-signed");
	write_pem(dir, "cabundle.pem", NULL, good, 3);
	expect_load(dir, 0, "");

	cella_nsm_sim_conf_init(&c);
	assert_int_equal(cella_nsm_sim_conf_load_ca(&c, dir, &d), 0);
	snprintf(path, sizeof(path), "%s/m.json", dir);
	write_file(dir, "m.json", "{\"pcrs\": {\"16\": \"00\"}}");
	assert_int_equal(cella_nsm_sim_conf_load_measurements(&c, path, &d),
			 -EINVAL);
	assert_non_null(strstr(d.msg, "'16' is not an index 0..15"));
	write_file(dir, "m.json", "{\"pcrs\": {\"1\": \"zz\"}}");
	assert_int_equal(cella_nsm_sim_conf_load_measurements(&c, path, &d),
			 -EINVAL);
	assert_non_null(strstr(d.msg, "pcrs.1: expected 96 hex digits"));
	write_file(dir, "m.json", "{\"pcr\": {}}");
	assert_int_equal(cella_nsm_sim_conf_load_measurements(&c, path, &d),
			 -EINVAL);
	assert_non_null(strstr(d.msg, "unknown key 'pcr'"));
	write_file(dir, "m.json", "[");
	assert_int_equal(cella_nsm_sim_conf_load_measurements(&c, path, &d),
			 -EINVAL);
	assert_int_equal(c.pcr_set, 0);
	write_file(dir, "m.json",
		   "{\"module_id\": \"i-00000000000000001-enc0123456789abcdef\","
		   " \"pcrs\": {\"2\": \"2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a"
		   "2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a"
		   "\"}}");
	if (cella_nsm_sim_conf_load_measurements(&c, path, &d) != 0)
		fail_msg("%s", d.msg);
	c.pool_size = 0;
	assert_int_equal(cella_nsm_sim_open(&c, &nsm, &d), 0);
	assert_int_equal(cella_nsm_describe(nsm, &info, NULL), 0);
	assert_string_equal(info.module_id,
			    "i-00000000000000001-enc0123456789abcdef");
	assert_int_equal(cella_nsm_describe_pcr(nsm, 2, &pcr, NULL), 0);
	assert_int_equal(pcr.value[47], 0x2a);
	cella_nsm_free(nsm);
	cella_nsm_sim_conf_fini(&c);
	assert_int_equal(rmtree(dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_describe_and_boot),
		cmocka_unit_test(test_extend_and_lock),
		cmocka_unit_test(test_leaf_per_document),
		cmocka_unit_test(test_pool_expiry),
		cmocka_unit_test(test_bad_requests),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_random),
		cmocka_unit_test(test_conf_files),
	};

	return cmocka_run_group_tests(tests, tu_pki_setup, tu_pki_teardown);
}
