/*
 * clock: reading CLOCK_MONOTONIC and CLOCK_REALTIME in the units callers
 * use. clock_gettime cannot fail for these two clocks on Linux, so the
 * functions return a value, not an error.
 */
#include "common/core/clock.h"

static struct timespec
now(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return ts;
}

uint64_t
cella_mono_ms(void)
{
	struct timespec ts = now(CLOCK_MONOTONIC);

	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t
cella_mono_us(void)
{
	struct timespec ts = now(CLOCK_MONOTONIC);

	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

double
cella_mono_s(void)
{
	struct timespec ts = now(CLOCK_MONOTONIC);

	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

uint64_t
cella_wall_ns(void)
{
	struct timespec ts = now(CLOCK_REALTIME);

	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t
cella_wall_ms(void)
{
	return cella_wall_ns() / 1000000u;
}

struct timespec
cella_wall_after(unsigned ms)
{
	struct timespec ts = now(CLOCK_REALTIME);

	ts.tv_sec += (time_t)(ms / 1000u);
	ts.tv_nsec += (long)(ms % 1000u) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}
