/*
 * exitcode_test: the errno -> exit code table, row by row, against the
 * codes `cella --help` documents, and the path table for both directions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <sysexits.h>

#include "common/core/exitcode.h"

static const struct {
	int err, code;
} rows[] = {
	{0, 0},
	{-EINVAL, EX_USAGE},
	{-ENOKEY, EX_NOINPUT},
	{-ECONNREFUSED, EX_UNAVAILABLE},
	{-ECONNRESET, EX_UNAVAILABLE},
	{-ECONNABORTED, EX_UNAVAILABLE},
	{-EPIPE, EX_UNAVAILABLE},
	{-EHOSTDOWN, EX_UNAVAILABLE},
	{-EHOSTUNREACH, EX_UNAVAILABLE},
	{-ENETUNREACH, EX_UNAVAILABLE},
	{-ENOMEM, EX_SOFTWARE},
	{-ETIMEDOUT, EX_TEMPFAIL}, /* 75 everywhere: cp said 69 once */
	{-EAGAIN, EX_TEMPFAIL},
	{-EACCES, EX_NOPERM},
	{-EPERM, EX_NOPERM},
	{-EKEYREJECTED, EX_NOPERM},
	/* a service's negative answer, or content refused: 1 */
	{-ENOENT, 1},
	{-ENOTCONN, 1}, /* init: a dependency is not running */
	{-EALREADY, 1},
	{-EPROTO, 1},
	{-EBADMSG, 1},
	{-EXDEV, 1},
	{-EIO, 1},
	{-4095, 1},
	{5, 1}, /* not an errno at all: still a failure, never 0 */
};

static void
test_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		if (cella_exit_from_err(rows[i].err) != rows[i].code)
			fail_msg("errno %d: %d, want %d", rows[i].err,
				 cella_exit_from_err(rows[i].err), rows[i].code);
}

static void
test_paths(void **state)
{
	(void)state;
	assert_int_equal(cella_exit_from_path_err(0, false), 0);
	assert_int_equal(cella_exit_from_path_err(-ENOENT, false), EX_NOINPUT);
	assert_int_equal(cella_exit_from_path_err(-ENOENT, true), EX_CANTCREAT);
	assert_int_equal(cella_exit_from_path_err(-EACCES, false), EX_NOINPUT);
	assert_int_equal(cella_exit_from_path_err(-EACCES, true), EX_CANTCREAT);
	assert_int_equal(cella_exit_from_path_err(-EISDIR, false), EX_NOINPUT);
	assert_int_equal(cella_exit_from_path_err(-EEXIST, true), EX_CANTCREAT);
	assert_int_equal(cella_exit_from_path_err(-EPERM, false), EX_NOPERM);
	assert_int_equal(cella_exit_from_path_err(-EXDEV, true), EX_NOPERM);
	assert_int_equal(cella_exit_from_path_err(-EINVAL, true), EX_USAGE);
	assert_int_equal(cella_exit_from_path_err(-ENAMETOOLONG, false),
			 EX_USAGE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_paths),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
