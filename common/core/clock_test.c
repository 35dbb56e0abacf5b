/*
 * clock_test: the units agree with each other and with clock_gettime, the
 * monotonic clock does not go back, and a wall deadline is normalised.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/core/clock.h"

static void
test_units_agree(void **state)
{
	uint64_t ms = cella_mono_ms(), us = cella_mono_us();
	double s = cella_mono_s();
	uint64_t ms2 = cella_mono_ms();
	struct timespec ts;

	(void)state;
	assert_true(ms2 >= ms);
	assert_true(us / 1000 >= ms && us / 1000 <= ms2);
	assert_true(s * 1000.0 >= (double)ms - 1.0);
	assert_true(s * 1000.0 <= (double)cella_mono_ms() + 1.0);
	clock_gettime(CLOCK_REALTIME, &ts);
	/* within a second of clock_gettime, in both units */
	assert_true(cella_wall_ms() / 1000 - (uint64_t)ts.tv_sec <= 1);
	assert_true(cella_wall_ns() / 1000000000u - (uint64_t)ts.tv_sec <= 1);
}

static void
test_wall_after(void **state)
{
	uint64_t before = cella_wall_ns();
	struct timespec t = cella_wall_after(1999);
	uint64_t at = (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;

	(void)state;
	assert_true(t.tv_nsec >= 0 && t.tv_nsec < 1000000000L);
	assert_true(at >= before + 1999000000u);
	assert_true(at <= cella_wall_ns() + 1999000000u);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_units_agree),
		cmocka_unit_test(test_wall_after),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
