/*
 * cmd_cp_test: `cella cp`'s own arguments, refused before anything
 * connects: SRC and DST with exactly one of them in the enclave (":PATH"),
 * -j within 1..16, no unknown option; each is exit 64 with the line the
 * operator sees, through the same parsing main() uses (cella_cmd_run). (What goes where once connected is the pipeline tests'.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "common/testing/util.h"

#include "services/cella/cmd.h"

extern const struct cella_cmd cella_cmd_cp;

#define SRC_DST "cella cp: give SRC and DST, exactly one of them :/PATH in " \
		"the enclave\n"
#define JOBS(w) "cella cp: --jobs '" w "': expected a whole number in 1..16 " \
		 "(try 'cella cp --help')\n"

static void
test_refused(void **state)
{
	static const struct {
		const char *argv[6];
		const char *err; /* the whole of stderr, or (usage) its start */
		bool usage;
	} cases[] = {
		{{"cp"}, SRC_DST, false},
		{{"cp", "a"}, SRC_DST, false},
		{{"cp", "a", "b"}, SRC_DST, false},
		{{"cp", ":/a", ":/b"}, SRC_DST, false},
		{{"cp", "a", ":/b", "c"}, SRC_DST, false},
		{{"cp", "-q", "--json", "x", "y"}, SRC_DST, false},
		{{"cp", "-j", "0", "a", ":/b"}, JOBS("0"), false},
		{{"cp", "-j", "17", "a", ":/b"}, JOBS("17"), false},
		{{"cp", "-j", "4x", "a", ":/b"}, JOBS("4x"), false},
		{{"cp", "--jobs=-1", "a", ":/b"}, JOBS("-1"), false},
		{{"cp", "--bogus", "a", ":/b"},
		 "cella cp: unknown flag '--bogus' (try 'cella cp --help')\n", false},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *argv[7] = {0}, *err;
		struct tu_capture cap;
		int argc = 0, rv;

		while (argc < 6 && cases[i].argv[argc] != NULL) {
			argv[argc] = (char *)cases[i].argv[argc];
			argc++;
		}
		tu_capture_begin(&cap, 2);
		rv = cella_cmd_run(&cella_cmd_cp, argc, argv);
		err = tu_capture_end(&cap);
		if (rv != EX_USAGE)
			fail_msg("case %zu: exit %d: %s", i, rv, err);
		if (cases[i].usage)
			assert_non_null(strstr(err, cases[i].err));
		else
			assert_string_equal(err, cases[i].err);
		free(err);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
