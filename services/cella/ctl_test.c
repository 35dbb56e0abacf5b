/*
 * ctl_test: the parts of the control API's CLI side that need no init:
 * which URL a verb reaches (--control, else $CELLA_CONTROL when not
 * empty, else the default) and how `cella ps` writes a duration (a
 * table, at every unit's edges).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdint.h>
#include <stdlib.h>

#include "services/cella/ctl.h"

static void
test_url(void **state)
{
	(void)state;
	unsetenv("CELLA_CONTROL");
	assert_string_equal(cella_ctl_url(NULL), CELLA_CTL_DEFAULT_URL);
	assert_string_equal(cella_ctl_url("ipc:///f"), "ipc:///f");
	setenv("CELLA_CONTROL", "ipc:///e", 1);
	assert_string_equal(cella_ctl_url(NULL), "ipc:///e");
	assert_string_equal(cella_ctl_url("ipc:///f"), "ipc:///f");
	setenv("CELLA_CONTROL", "", 1);
	assert_string_equal(cella_ctl_url(NULL), CELLA_CTL_DEFAULT_URL);
	unsetenv("CELLA_CONTROL");
}

static void
test_duration(void **state)
{
	static const struct {
		uint64_t ms;
		const char *text;
	} cases[] = {
		{0, "-"},
		{1, "0.0s"},
		{99, "0.0s"},
		{100, "0.1s"},
		{3250, "3.2s"},
		{59999, "59.9s"},
		{60000, "1m00s"},
		{61000, "1m01s"},
		{3599999, "59m59s"},
		{3600000, "1h00m"},
		{3720000, "1h02m"},
		{86399999, "23h59m"},
		{86400000, "1d00h"},
		{90000000, "1d01h"},
		{UINT64_MAX, "213503982334d14h"},
	};
	char buf[32];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cella_ctl_duration(cases[i].ms, buf, sizeof(buf));
		assert_string_equal(buf, cases[i].text);
	}
	/* a short buffer is cut, never overrun */
	cella_ctl_duration(3720000, buf, 3);
	assert_string_equal(buf, "1h");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_url),
		cmocka_unit_test(test_duration),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
