/*
 * err_test: the diagnosis a failure carries up. A caller that prefixes
 * what its callee said (cella_diag_set(d, rv, "session: %s", d->msg)) gets
 * the prefix once and the whole message after it, never "session:
 * session: ..." with the message lost (issue 10); a long message is cut,
 * not overrun; errno names and nng codes translate.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include <nng/nng.h>

#include "common/core/err.h"

static void
test_prefix_own_message(void **s)
{
	struct cella_diag d;

	(void)s;
	assert_int_equal(cella_diag_set(&d, -ETIMEDOUT, "cannot reach %s: %s",
					"init", "no reply within 5000 ms"),
			 -ETIMEDOUT);
	assert_int_equal(cella_diag_set(&d, -EPERM, "service session: %s",
					d.msg),
			 -EPERM);
	assert_string_equal(d.msg, "service session: cannot reach init: no "
				   "reply within 5000 ms");
	cella_diag_set(&d, -EPERM, "%s: %s", "vsock://16:53000", d.msg);
	assert_string_equal(d.msg, "vsock://16:53000: service session: cannot "
				   "reach init: no reply within 5000 ms");
}

static void
test_long_message_cut(void **s)
{
	struct cella_diag d;
	char big[2000];

	(void)s;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	cella_diag_set(&d, -EINVAL, "%s", big);
	assert_int_equal(strlen(d.msg), sizeof(d.msg) - 1);
	cella_diag_set(&d, -EINVAL, "p: %s", d.msg);
	assert_int_equal(strlen(d.msg), sizeof(d.msg) - 1);
	assert_memory_equal(d.msg, "p: xxx", 6);
	assert_int_equal(cella_diag_set(NULL, -EIO, "%s", "nowhere"), -EIO);
}

static void
test_names(void **s)
{
	(void)s;
	assert_string_equal(cella_errname(-ECONNRESET), "ECONNRESET");
	assert_int_equal(cella_err_nng(NNG_ECONNRESET), -ECONNRESET);
	assert_int_equal(cella_err_nng(0), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prefix_own_message),
		cmocka_unit_test(test_long_message_cut),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
