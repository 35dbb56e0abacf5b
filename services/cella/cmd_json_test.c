/*
 * cmd_json_test: every verb's --json answer is one JSON document and a
 * newline on stdout, indented or on one line, that reads back as what was
 * printed; the object is the printer's to free (the sanitizer build would
 * see a leak); nothing at all is printed for NULL.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "common/testing/util.h"
#include "services/cella/cmd.h"

static cJSON *
sample(void)
{
	cJSON *o = cJSON_CreateObject(), *a = cJSON_CreateArray();

	cJSON_AddStringToObject(o, "service", "web \"quoted\"\n");
	cJSON_AddNumberToObject(o, "pid", 4242);
	cJSON_AddBoolToObject(o, "ready", true);
	cJSON_AddItemToArray(a, cJSON_CreateString("x"));
	cJSON_AddItemToObject(o, "list", a);
	return o;
}

static char *
printed(cJSON *o, bool pretty)
{
	struct tu_capture cap;

	tu_capture_begin(&cap, 1);
	cella_cmd_print_json(o, pretty);
	return tu_capture_end(&cap);
}

static void
test_print(void **state)
{
	(void)state;
	for (int pretty = 0; pretty < 2; pretty++) {
		cJSON *want = sample(), *got;
		char *text = printed(sample(), pretty);
		size_t n = strlen(text);
		char *nl;

		/* one document, one newline, at the end */
		assert_true(n > 2 && text[n - 1] == '\n');
		nl = strchr(text, '\n');
		if (pretty)
			assert_true(nl < text + n - 1); /* indented */
		else
			assert_ptr_equal(nl, text + n - 1); /* one line */
		got = cJSON_Parse(text);
		assert_non_null(got);
		assert_true(cJSON_Compare(got, want, true));
		cJSON_Delete(got);
		cJSON_Delete(want);
		free(text);
	}
}

static void
test_print_null(void **state)
{
	char *text;

	(void)state;
	text = printed(NULL, true);
	assert_string_equal(text, "");
	free(text);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_print),
		cmocka_unit_test(test_print_null),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
