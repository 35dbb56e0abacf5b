/*
 * logring_test: the splitter must give the same lines whether its input
 * comes whole, one byte at a time or in random pieces, keep partial and
 * binary lines exactly, and the ring must stay within its cap.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "services/init/logring.h"

struct sink {
	struct init_logring ring;
	size_t calls;
};

static void
to_ring(void *arg, uint8_t stream, bool partial, const uint8_t *p, size_t n)
{
	struct sink *s = arg;

	s->calls++;
	(void)init_logring_push(&s->ring, stream, partial, p, n, 1);
}

/* Rebuild the stream from the ring: lines + '\n' unless partial. */
static size_t
rebuild(const struct init_logring *r, uint8_t *out, size_t cap)
{
	const struct init_line *l;
	uint64_t cur = 0;
	size_t o = 0;

	while ((l = init_logring_next(r, cur)) != NULL) {
		assert_true(o + l->len + 1 <= cap);
		memcpy(out + o, l->data, l->len);
		o += l->len;
		if (!l->partial)
			out[o++] = '\n';
		cur = l->seq;
	}
	return o;
}

static uint8_t *
sample(size_t *n)
{
	size_t len = 3 * INIT_LINE_MAX + 5000, o = 0;
	uint8_t *p = malloc(len);

	assert_non_null(p);
	memcpy(p + o, "hello\n\nworld\n", 13);
	o += 13;
	for (int i = 0; i < 256; i++) /* every byte value, NUL and '\n' too */
		p[o++] = (uint8_t)i;
	p[o++] = '\n';
	memset(p + o, 'x', 2 * INIT_LINE_MAX + 10); /* cut into pieces */
	o += 2 * INIT_LINE_MAX + 10;
	p[o++] = '\n';
	memcpy(p + o, "no newline at the end", 21);
	o += 21;
	*n = o;
	return p;
}

static void
check_split(size_t (*piece)(size_t left, unsigned *seed))
{
	size_t n, got;
	uint8_t *in = sample(&n), *out = malloc(n + 64);
	struct init_linesplit *ls = malloc(sizeof(*ls));
	struct sink s = {0};
	unsigned seed = 7;

	init_logring_init(&s.ring, 1u << 20);
	init_linesplit_init(ls, INIT_STREAM_STDOUT);
	for (size_t o = 0; o < n;) {
		size_t k = piece(n - o, &seed);

		init_linesplit_feed(ls, in + o, k, to_ring, &s);
		o += k;
	}
	init_linesplit_flush(ls, to_ring, &s);
	got = rebuild(&s.ring, out, n + 64);
	assert_int_equal(got, n);
	assert_memory_equal(out, in, n);
	/* hello, "", world, 2 byte lines, 3 pieces of x, the tail */
	assert_int_equal(s.calls, 9);
	assert_true(init_logring_next(&s.ring, 0)->partial == false);
	init_logring_fini(&s.ring);
	free(ls);
	free(out);
	free(in);
}

static size_t
whole(size_t left, unsigned *seed)
{
	(void)seed;
	return left;
}

static size_t
bytewise(size_t left, unsigned *seed)
{
	(void)left;
	(void)seed;
	return 1;
}

static size_t
random_split(size_t left, unsigned *seed)
{
	size_t k = (size_t)rand_r(seed) % 9000 + 1;

	return k < left ? k : left;
}

static void
test_split_whole(void **state)
{
	(void)state;
	check_split(whole);
}

static void
test_split_bytewise(void **state)
{
	(void)state;
	check_split(bytewise);
}

static void
test_split_random(void **state)
{
	(void)state;
	check_split(random_split);
}

static void
test_ring_cap_and_cursor(void **state)
{
	struct init_logring r;
	char line[100];
	const struct init_line *l;

	(void)state;
	init_logring_init(&r, 10 * (100 + INIT_LINE_OVERHEAD));
	for (int i = 0; i < 25; i++) {
		memset(line, 'a' + i % 26, sizeof(line));
		assert_non_null(init_logring_push(&r, 2, false, (uint8_t *)line,
						  sizeof(line), (uint64_t)i));
		assert_true(r.bytes <= r.max_bytes);
	}
	assert_int_equal(r.count, 10);
	assert_int_equal(r.dropped, 15);
	assert_int_equal(init_logring_first(&r), 16);
	assert_int_equal(init_logring_last(&r), 25);
	/* A reader behind the ring gets the oldest line kept. */
	l = init_logring_next(&r, 3);
	assert_int_equal(l->seq, 16);
	assert_int_equal(init_logring_next(&r, 20)->seq, 21);
	assert_null(init_logring_next(&r, 25));
	assert_int_equal(init_logring_tail_cursor(&r, 3), 22);
	assert_int_equal(init_logring_tail_cursor(&r, 0), 15);
	assert_int_equal(init_logring_tail_cursor(&r, 99), 15);
	/* A line bigger than the whole cap is refused and counted. */
	init_logring_fini(&r);
	init_logring_init(&r, 128);
	assert_null(init_logring_push(&r, 1, false, (uint8_t *)line, 100, 0));
	assert_int_equal(r.dropped, 1);
	assert_int_equal(init_logring_tail_cursor(&r, 5), 1);
	init_logring_fini(&r);
}

static void
test_escape(void **state)
{
	char out[128];
	static const uint8_t bin[] = {'a', 0, '"', '\n', 0xff, 'b'};

	(void)state;
	init_line_escape((const uint8_t *)"plain", 5, 100, out, sizeof(out));
	assert_string_equal(out, "plain");
	init_line_escape(bin, sizeof(bin), 100, out, sizeof(out));
	assert_string_equal(out, "\"a\\x00\\\"\\n\\xffb\"");
	init_line_escape((const uint8_t *)"abcdef", 6, 3, out, sizeof(out));
	assert_string_equal(out, "\"abc...\"");
	init_line_escape((const uint8_t *)"", 0, 3, out, sizeof(out));
	assert_string_equal(out, "\"\"");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_split_whole),
		cmocka_unit_test(test_split_bytewise),
		cmocka_unit_test(test_split_random),
		cmocka_unit_test(test_ring_cap_and_cursor),
		cmocka_unit_test(test_escape),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
