/*
 * cp_stats_test: the bookkeeping every `cella cp` worker shares, with no
 * enclave. The first error wins (its errno, exit code and message; later
 * ones change nothing) from any number of threads; the tree manifest's
 * hash is SHA-256 over the sorted "HEX  PATH\n" lines (sha256sum's
 * format, so an operator can recompute it), whatever order the files
 * arrived in; directory times are recorded as given.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "common/core/buf.h"
#include "services/cella/cp/cp.h"

static void
ctx_init(struct cp_ctx *x)
{
	memset(x, 0, sizeof(*x));
	pthread_mutex_init(&x->mu, NULL);
}

static void
test_first_error_wins(void **state)
{
	struct cp_ctx x;

	(void)state;
	ctx_init(&x);
	assert_false(cp_failed(&x));
	assert_int_equal(cp_err(&x, -E2BIG), -E2BIG); /* none yet: dflt */
	assert_int_equal(cp_code(&x), 0);
	assert_int_equal(cp_fail_code(&x, EX_CANTCREAT, -EEXIST,
				      "%s exists", "out"),
			 -EEXIST);
	assert_int_equal(cp_fail(&x, -EIO, "later"), -EIO);
	assert_true(cp_failed(&x));
	assert_int_equal(cp_err(&x, 0), -EEXIST);
	assert_int_equal(cp_code(&x), EX_CANTCREAT);
	assert_string_equal(x.msg, "out exists");
	cp_ctx_fini(&x);
	/* an error that is not a negative errno is recorded as -EIO */
	ctx_init(&x);
	assert_int_equal(cp_fail(&x, 7, "odd"), 7);
	assert_int_equal(cp_err(&x, 0), -EIO);
	assert_int_equal(cp_code(&x), 0);
	cp_ctx_fini(&x);
}

struct racer {
	struct cp_ctx *x;
	int id;
};

static void *
race(void *arg)
{
	struct racer *r = arg;

	for (int i = 0; i < 1000; i++)
		cp_fail(r->x, -(100 + r->id), "racer %d", r->id);
	return NULL;
}

/* Whoever was first, the error and the message are that one's. */
static void
test_first_error_threads(void **state)
{
	struct cp_ctx x;
	struct racer r[8];
	pthread_t t[8];
	char want[32];

	(void)state;
	ctx_init(&x);
	for (int i = 0; i < 8; i++) {
		r[i] = (struct racer){&x, i};
		assert_int_equal(pthread_create(&t[i], NULL, race, &r[i]), 0);
	}
	for (int i = 0; i < 8; i++)
		pthread_join(t[i], NULL);
	snprintf(want, sizeof(want), "racer %d", -cp_err(&x, 0) - 100);
	assert_string_equal(x.msg, want);
	cp_ctx_fini(&x);
}

/* sha256sum's lines, sorted by path, hashed: computed apart. */
static void
expected(const char *const *paths, const uint8_t (*sums)[32], size_t n,
	 uint8_t out[32])
{
	const char *sorted[8];
	size_t idx[8];
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	char line[200], hex[65];
	unsigned len;

	for (size_t i = 0; i < n; i++) {
		sorted[i] = paths[i];
		idx[i] = i;
	}
	for (size_t i = 1; i < n; i++) /* insertion sort, by strcmp */
		for (size_t j = i; j > 0 && strcmp(sorted[j - 1], sorted[j]) > 0;
		     j--) {
			const char *p = sorted[j];
			size_t k = idx[j];

			sorted[j] = sorted[j - 1];
			sorted[j - 1] = p;
			idx[j] = idx[j - 1];
			idx[j - 1] = k;
		}
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	for (size_t i = 0; i < n; i++) {
		cella_hex_encode(sums[idx[i]], 32, hex, sizeof(hex));
		snprintf(line, sizeof(line), "%s  %s\n", hex, sorted[i]);
		EVP_DigestUpdate(md, line, strlen(line));
	}
	EVP_DigestFinal_ex(md, out, &len);
	EVP_MD_CTX_free(md);
}

static void
test_manifest_hash(void **state)
{
	static const char *const paths[] = {"b/x", "a", "b/a b", "B", "a/z"};
	uint8_t sums[5][32], want[32], got[32], again[32];
	static const int orders[3][5] = {
		{0, 1, 2, 3, 4}, {4, 3, 2, 1, 0}, {2, 0, 4, 1, 3}};

	(void)state;
	for (int i = 0; i < 5; i++)
		memset(sums[i], 0x10 * (i + 1), 32);
	expected(paths, (const uint8_t(*)[32])sums, 5, want);
	for (int o = 0; o < 3; o++) {
		struct cp_ctx x;

		ctx_init(&x);
		for (int i = 0; i < 5; i++)
			cp_manifest_add(&x, paths[orders[o][i]],
					sums[orders[o][i]]);
		assert_true(cp_manifest_hash(&x, got));
		assert_memory_equal(got, want, 32);
		if (o == 0)
			memcpy(again, got, 32);
		cp_ctx_fini(&x);
	}
	/* one byte of one file's hash: another manifest */
	{
		struct cp_ctx x;

		ctx_init(&x);
		sums[3][31] ^= 1;
		for (int i = 0; i < 5; i++)
			cp_manifest_add(&x, paths[i], sums[i]);
		assert_true(cp_manifest_hash(&x, got));
		assert_memory_not_equal(got, again, 32);
		cp_ctx_fini(&x);
	}
}

/* The empty tree: the hash of nothing. */
static void
test_manifest_empty(void **state)
{
	static const uint8_t empty[32] = {
		0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4,
		0xc8, 0x99, 0x6f, 0xb9, 0x24, 0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b,
		0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55};
	struct cp_ctx x;
	uint8_t got[32];

	(void)state;
	ctx_init(&x);
	assert_true(cp_manifest_hash(&x, got));
	assert_memory_equal(got, empty, 32);
	/* over the cap (as recorded): no hash rather than a wrong one */
	x.man_over = true;
	assert_false(cp_manifest_hash(&x, got));
	cp_ctx_fini(&x);
}

static void
test_dir_times(void **state)
{
	struct cp_ctx x;
	struct timespec t = {.tv_sec = 1700000000, .tv_nsec = 123};

	(void)state;
	ctx_init(&x);
	for (int i = 0; i < 100; i++) {
		char p[16];

		snprintf(p, sizeof(p), "d%d", i);
		t.tv_nsec = i;
		cp_dir_time_add(&x, p, 0700 + (uint32_t)i % 8, &t);
	}
	assert_int_equal(x.ndirs, 100);
	assert_string_equal(x.dirs_t[42].path, "d42");
	assert_int_equal(x.dirs_t[42].mode, 0702);
	assert_int_equal(x.dirs_t[42].mtime.tv_sec, 1700000000);
	assert_int_equal(x.dirs_t[42].mtime.tv_nsec, 42);
	cp_ctx_fini(&x);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_error_wins),
		cmocka_unit_test(test_first_error_threads),
		cmocka_unit_test(test_manifest_hash),
		cmocka_unit_test(test_manifest_empty),
		cmocka_unit_test(test_dir_times),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
