/*
 * ohash_test: the ordered hash equals SHA-256 of the file whatever order
 * the chunks come in (in order, reversed within the window, random), with
 * a short last chunk, an empty file, from several threads; misaligned,
 * wrong-length, duplicate and out-of-window chunks are refused with their
 * codes; a file that shrank poisons the hash.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "common/files/fileio.h"
#include "common/files/ohash.h"

#define CHUNK 1000
#define SIZE (CHUNK * 37 + 123)

static uint8_t data[SIZE];
static uint8_t want[32];
static int fd = -1;

static int
setup(void **state)
{
	char path[] = "/tmp/ohash_test.XXXXXX";

	(void)state;
	srand(42);
	for (size_t i = 0; i < SIZE; i++)
		data[i] = (uint8_t)rand();
	EVP_Digest(data, SIZE, want, NULL, EVP_sha256(), NULL);
	fd = mkstemp(path);
	unlink(path);
	return fd >= 0 && pipe_pwrite_all(fd, data, SIZE, 0) == 0 ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	close(fd);
	return 0;
}

static size_t
len_of(uint64_t i)
{
	return SIZE - i * CHUNK < CHUNK ? SIZE - i * CHUNK : CHUNK;
}

static void
add(struct pipe_ohash *h, uint64_t i)
{
	assert_int_equal(pipe_ohash_add(h, i * CHUNK, data + i * CHUNK, len_of(i)), 0);
}

static void
finish(struct pipe_ohash *h)
{
	uint8_t got[32];

	assert_int_equal(pipe_ohash_final(h, got), 0);
	assert_memory_equal(got, want, 32);
	pipe_ohash_fini(h);
}

static void
test_in_order(void **state)
{
	struct pipe_ohash h;
	uint64_t n = pipe_chunks(SIZE, CHUNK);

	(void)state;
	assert_int_equal(n, 38);
	assert_int_equal(pipe_ohash_init(&h, SIZE, CHUNK, 4, fd), 0);
	for (uint64_t i = 0; i < n; i++) {
		assert_int_equal(pipe_ohash_done(&h), i * CHUNK);
		add(&h, i);
	}
	assert_int_equal(pipe_ohash_done(&h), SIZE);
	finish(&h);
}

/* Each window of 8 in reverse: every chunk but the first is re-read. */
static void
test_reversed_windows(void **state)
{
	struct pipe_ohash h;
	uint64_t n = pipe_chunks(SIZE, CHUNK);
	uint8_t got[32];

	(void)state;
	assert_int_equal(pipe_ohash_init(&h, SIZE, CHUNK, 8, fd), 0);
	for (uint64_t base = 0; base < n; base += 8) {
		for (uint64_t k = 8; k-- > 0;)
			if (base + k < n)
				add(&h, base + k);
		if (base + 8 < n)
			assert_int_equal(pipe_ohash_final(&h, got), -EAGAIN);
	}
	finish(&h);
}

static void
test_refusals(void **state)
{
	struct pipe_ohash h;
	uint8_t got[32];

	(void)state;
	assert_int_equal(pipe_ohash_init(&h, SIZE, CHUNK, 4, fd), 0);
	assert_int_equal(pipe_ohash_add(&h, 1, data, CHUNK), -EINVAL);
	assert_int_equal(pipe_ohash_add(&h, 0, data, CHUNK - 1), -EINVAL);
	assert_int_equal(pipe_ohash_add(&h, 37 * CHUNK, data, CHUNK), -EINVAL);
	assert_int_equal(pipe_ohash_add(&h, 38 * CHUNK, data, 1), -EINVAL);
	assert_int_equal(pipe_ohash_add(&h, 4 * CHUNK, data, CHUNK), -ERANGE);
	add(&h, 2);
	assert_int_equal(pipe_ohash_add(&h, 2 * CHUNK, data, CHUNK), -EALREADY);
	add(&h, 0);
	assert_int_equal(pipe_ohash_add(&h, 0, data, CHUNK), -EALREADY);
	assert_int_equal(pipe_ohash_final(&h, got), -EAGAIN);
	pipe_ohash_fini(&h);
	assert_int_equal(pipe_ohash_init(&h, 1, CHUNK, 0, fd), -EINVAL);
	assert_int_equal(pipe_ohash_init(&h, 1, CHUNK, PIPE_WINDOW_MAX + 1, fd),
			 -EINVAL);
	assert_int_equal(pipe_ohash_init(&h, 1, 0, 4, fd), -EINVAL);
}

static void
test_empty(void **state)
{
	struct pipe_ohash h;
	uint8_t got[32], e[32];

	(void)state;
	EVP_Digest("", 0, e, NULL, EVP_sha256(), NULL);
	assert_int_equal(pipe_ohash_init(&h, 0, CHUNK, 4, fd), 0);
	assert_int_equal(pipe_ohash_add(&h, 0, data, 0), -EINVAL);
	assert_int_equal(pipe_ohash_final(&h, got), 0);
	assert_memory_equal(got, e, 32);
	pipe_ohash_fini(&h);
}

/* A chunk to re-read that is gone from the file: the hash is poisoned. */
static void
test_shrunk(void **state)
{
	char path[] = "/tmp/ohash_test.XXXXXX";
	int f = mkstemp(path);
	struct pipe_ohash h;
	uint8_t got[32];

	(void)state;
	unlink(path);
	assert_int_equal(pipe_pwrite_all(f, data, CHUNK, 0), 0);
	assert_int_equal(pipe_ohash_init(&h, 3 * CHUNK, CHUNK, 4, f), 0);
	assert_int_equal(pipe_ohash_add(&h, CHUNK, data + CHUNK, CHUNK), 0);
	assert_int_equal(pipe_ohash_add(&h, 0, data, CHUNK), -EIO);
	assert_int_equal(pipe_ohash_add(&h, 2 * CHUNK, data, CHUNK), -EIO);
	assert_int_equal(pipe_ohash_final(&h, got), -EIO);
	pipe_ohash_fini(&h);
	close(f);
}

struct racer {
	struct pipe_ohash *h;
	pthread_mutex_t *mu;
	uint64_t *next, n;
};

/* Like cp_xfer: take the next chunk, add it, in any interleaving. */
static void *
racer(void *arg)
{
	struct racer *r = arg;

	for (;;) {
		uint64_t i;

		pthread_mutex_lock(r->mu);
		while (*r->next < r->n && *r->next >= pipe_ohash_done(r->h) / CHUNK + 8) {
			pthread_mutex_unlock(r->mu);
			usleep(10);
			pthread_mutex_lock(r->mu);
		}
		i = (*r->next)++;
		pthread_mutex_unlock(r->mu);
		if (i >= r->n)
			return NULL;
		if (rand() % 3 == 0)
			usleep(50);
		if (pipe_ohash_add(r->h, i * CHUNK, data + i * CHUNK, len_of(i)) != 0)
			abort();
	}
}

static void
test_threads(void **state)
{
	pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	struct pipe_ohash h;
	uint64_t next = 0;
	struct racer r = {&h, &mu, &next, pipe_chunks(SIZE, CHUNK)};
	pthread_t t[4];

	(void)state;
	assert_int_equal(pipe_ohash_init(&h, SIZE, CHUNK, 8, fd), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, racer, &r), 0);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	finish(&h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_in_order),
		cmocka_unit_test(test_reversed_windows),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_shrunk),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
