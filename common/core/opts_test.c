/*
 * opts_test: the option table, row by row. Each case is a command line and
 * either the values it must leave or the exact error it must give (the
 * flag and the word named); a parse never exits and --help is an answer,
 * not an exit. Also the cella_arg_* number parsers and the --help text.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/core/opts.h"

static struct {
	bool json;
	const char *out;
	uint64_t jobs, timeout_ms;
	int64_t offset;
	double ratio;
	int fd;
	unsigned pairs;
} v;

static int
pair(void *dst, const char *word, struct cella_diag *d)
{
	if (strchr(word, '=') == NULL)
		return cella_diag_set(d, -EINVAL, "expected K=V");
	(*(unsigned *)dst)++;
	return 0;
}

static const struct cella_opt rows[] = {
	{"json", 0, CELLA_OPT_FLAG, &v.json, .help = "print JSON"},
	{"out", 'o', CELLA_OPT_STR, &v.out, .metavar = "PATH",
	 .help = "write there"},
	{"jobs", 'j', CELLA_OPT_U64, &v.jobs, .min = 1, .max = 16,
	 .metavar = "N", .help = "calls in flight"},
	{"timeout", 't', CELLA_OPT_SECONDS, &v.timeout_ms, .max = 3600,
	 .metavar = "S", .help = "give up after S seconds\n(0: never)"},
	{"offset", 0, CELLA_OPT_I64, &v.offset, .min = -10, .max = 10,
	 .metavar = "N", .help = "shift"},
	{"ratio", 0, CELLA_OPT_DOUBLE, &v.ratio, .max = 1, .metavar = "X",
	 .help = "a share"},
	{"at", 0, CELLA_OPT_U64, &v.jobs, .min = 1, .max = INT64_MAX,
	 .expect = "UNIX seconds"},
	{"ready-fd", 0, CELLA_OPT_FD, &v.fd, .metavar = "N",
	 .help = "say ready there"},
	{"pair", 'p', CELLA_OPT_FUNC, &v.pairs, .metavar = "K=V",
	 .help = "a pair (repeatable)", .fn = pair},
	{0},
};

static const struct cella_optset set = {
	.prog = "tool",
	.args = "[OPTIONS] FILE",
	.about = "Does things to FILE.\n",
	.opts = rows,
	.more = "exit codes: 0 done, 64 usage\n",
	.min_args = 1,
	.max_args = 1,
};

struct parse_case {
	const char *argv[7]; /* at most 6 words, then NULL */
	int rv;           /* CELLA_OPTS_RUN, CELLA_OPTS_HELP or -EINVAL */
	const char *msg;  /* the error, exactly */
};

static const struct parse_case cases[] = {
	{{"--json", "f"}, CELLA_OPTS_RUN, NULL},
	{{"-j", "16", "f"}, CELLA_OPTS_RUN, NULL},
	{{"--jobs=3", "-o", "x", "f"}, CELLA_OPTS_RUN, NULL},
	{{"-j", "10x", "f"}, -EINVAL,
	 "--jobs '10x': expected a whole number in 1..16"},
	{{"--jobs", "17", "f"}, -EINVAL,
	 "--jobs '17': expected a whole number in 1..16"},
	{{"--jobs", "0", "f"}, -EINVAL,
	 "--jobs '0': expected a whole number in 1..16"},
	{{"--jobs", "-1", "f"}, -EINVAL,
	 "--jobs '-1': expected a whole number in 1..16"},
	{{"--jobs", " 3", "f"}, -EINVAL,
	 "--jobs ' 3': expected a whole number in 1..16"},
	{{"--jobs", "", "f"}, -EINVAL,
	 "--jobs '': expected a whole number in 1..16"},
	{{"--jobs", "99999999999999999999999", "f"}, -EINVAL,
	 "--jobs '99999999999999999999999': expected a whole number in 1..16"},
	{{"--timeout", "3601", "f"}, -EINVAL,
	 "--timeout '3601': expected whole seconds in 0..3600"},
	{{"--timeout", "1.5", "f"}, -EINVAL,
	 "--timeout '1.5': expected whole seconds in 0..3600"},
	{{"--offset", "-11", "f"}, -EINVAL,
	 "--offset '-11': expected a whole number in -10..10"},
	{{"--offset", "--", "f"}, -EINVAL,
	 "--offset '--': expected a whole number in -10..10"},
	{{"--ratio", "nan", "f"}, -EINVAL,
	 "--ratio 'nan': expected a number in 0..1"},
	{{"--ratio", "1.01", "f"}, -EINVAL,
	 "--ratio '1.01': expected a number in 0..1"},
	{{"--at", "soon", "f"}, -EINVAL,
	 "--at 'soon': expected UNIX seconds of at least 1"},
	{{"--ready-fd", "999", "f"}, -EINVAL,
	 "--ready-fd '999': expected an open descriptor"},
	{{"--pair", "k", "f"}, -EINVAL, "--pair 'k': expected K=V"},
	{{"--bogus", "f"}, -EINVAL, "unknown flag '--bogus'"},
	{{"--bogus=1", "f"}, -EINVAL, "unknown flag '--bogus'"},
	{{"-x", "f"}, -EINVAL, "unknown flag '-x'"},
	{{"f", "--jobs"}, -EINVAL, "option '--jobs' needs a value"},
	{{"f", "-j"}, -EINVAL, "option '-j' needs a value"},
	{{"--json=yes", "f"}, -EINVAL, "option '--json' takes no value"},
	{{NULL}, -EINVAL, "missing argument ([OPTIONS] FILE)"},
	{{"f", "g"}, -EINVAL, "unexpected argument 'g'"},
	{{"--help"}, CELLA_OPTS_HELP, NULL},
	{{"-j", "2", "-h", "f", "g"}, CELLA_OPTS_HELP, NULL},
};

static int
parse_case(const struct parse_case *c, int *first, struct cella_diag *d)
{
	char *argv[9] = {"tool"};
	int argc = 1;

	for (int i = 0; i < 7 && c->argv[i] != NULL; i++)
		argv[argc++] = (char *)c->argv[i];
	argv[argc] = NULL;
	memset(&v, 0, sizeof(v));
	v.fd = -1;
	memset(d, 0, sizeof(*d));
	return cella_opts_getopt(&set, argc, argv, first, d);
}

static void
test_table(void **state)
{
	struct cella_diag d;
	int first;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct parse_case *c = &cases[i];
		int rv = parse_case(c, &first, &d);

		if (rv != c->rv || (c->msg != NULL && strcmp(d.msg, c->msg) != 0))
			fail_msg("case %zu (%s): rv %d, msg '%s'", i,
				 c->argv[0] ? c->argv[0] : "-", rv, d.msg);
	}
}

static void
test_values(void **state)
{
	const struct parse_case c = {
		.argv = {"-j3", "--timeout=90", "--offset", "-10", "--ratio",
			 "0.25"}};
	const struct parse_case c2 = {
		.argv = {"-p", "a=1", "--pair=b=2", "--out", "o", "FILE"}};
	const struct parse_case c3 = {
		.argv = {"-j3", "--timeout=90", "--offset", "-10", "FILE"}};
	const struct parse_case c4 = {.argv = {"--ready-fd", "2", "F"}};
	struct cella_diag d;
	int first;

	(void)state;
	assert_int_equal(parse_case(&c3, &first, &d), CELLA_OPTS_RUN);
	assert_int_equal(v.jobs, 3);
	assert_int_equal(v.timeout_ms, 90000);
	assert_int_equal(v.offset, -10);
	assert_int_equal(first, 5);
	assert_int_equal(parse_case(&c, &first, &d), -EINVAL); /* no FILE */
	assert_true(v.ratio == 0.25);
	assert_int_equal(parse_case(&c2, &first, &d), CELLA_OPTS_RUN);
	assert_int_equal(v.pairs, 2);
	assert_string_equal(v.out, "o");
	assert_false(v.json);
	assert_int_equal(parse_case(&c4, &first, &d), CELLA_OPTS_RUN);
	assert_int_equal(v.fd, 2);
}

/* With in_order, the first operand ends the flags: what follows is a
 * command line of its own. */
static void
test_in_order(void **state)
{
	struct cella_optset s = set;
	char *argv[] = {"tool", "-j", "2", "cmd", "-j", "3", "--bogus", NULL};
	struct cella_diag d = {{0}};
	int first;

	(void)state;
	s.in_order = true;
	s.max_args = -1;
	assert_int_equal(cella_opts_getopt(&s, 7, argv, &first, &d),
			 CELLA_OPTS_RUN);
	assert_int_equal(v.jobs, 2);
	assert_int_equal(first, 3);
	assert_string_equal(argv[first + 3], "--bogus");
}

static void
test_help_text(void **state)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	assert_non_null(f);
	cella_opts_help(&set, f);
	fclose(f);
	assert_non_null(strstr(buf, "usage: tool [OPTIONS] FILE\n\n"
				    "Does things to FILE.\n\n"));
	/* help starts two columns after the widest flag, --ready-fd N */
	assert_non_null(strstr(buf, "\n      --json        print JSON\n"));
	assert_non_null(strstr(buf, "\n  -j, --jobs N      calls in flight\n"));
	assert_non_null(strstr(buf, "\n  -t, --timeout S   give up after S "
				    "seconds\n                    (0: never)\n"));
	assert_non_null(strstr(buf, "\n      --ready-fd N  say ready there\n"));
	assert_non_null(strstr(buf, "\n  -h, --help        this text\n"));
	assert_non_null(strstr(buf, "\nexit codes: 0 done, 64 usage\n"));
	assert_null(strstr(buf, "--at")); /* hidden */
	free(buf);
}

/* The program form: --help is printed and answered, an error is printed
 * with the program's name and mapped to 64; neither exits. */
static void
test_parse_prints(void **state)
{
	char *help[] = {"tool", "--help", NULL};
	char *bad[] = {"tool", "-j", "10x", "f", NULL};
	int first, saved = dup(1), saved2 = dup(2), null = open("/dev/null", 1);

	(void)state;
	dup2(null, 1);
	dup2(null, 2);
	assert_int_equal(cella_opts_exit(cella_opts_parse(&set, 2, help, &first)),
			 0);
	assert_int_equal(cella_opts_exit(cella_opts_parse(&set, 4, bad, &first)),
			 64);
	fflush(stdout);
	dup2(saved, 1);
	dup2(saved2, 2);
	close(saved);
	close(saved2);
	close(null);
	assert_int_equal(cella_opts_exit(CELLA_OPTS_RUN), -1);
}

static void
test_arg_numbers(void **state)
{
	uint64_t u = 7;
	int64_t i = 7;
	double x = 7;

	(void)state;
	assert_int_equal(cella_arg_u64("18446744073709551615", 0, UINT64_MAX,
				       &u), 0);
	assert_true(u == UINT64_MAX);
	assert_int_equal(cella_arg_u64("18446744073709551616", 0, UINT64_MAX,
				       &u), -EINVAL);
	assert_int_equal(cella_arg_u64("+1", 0, 9, &u), -EINVAL);
	assert_int_equal(cella_arg_u64("0x10", 0, 99, &u), -EINVAL);
	assert_int_equal(cella_arg_u64(NULL, 0, 9, &u), -EINVAL);
	assert_true(u == UINT64_MAX); /* untouched on error */
	assert_int_equal(cella_arg_i64("-9223372036854775808", INT64_MIN,
				       INT64_MAX, &i), 0);
	assert_true(i == INT64_MIN);
	assert_int_equal(cella_arg_i64("-", INT64_MIN, 0, &i), -EINVAL);
	assert_int_equal(cella_arg_i64("5", 6, 9, &i), -EINVAL);
	assert_int_equal(cella_arg_double("1e3", 0, 1000, &x), 0);
	assert_true(x == 1000);
	assert_int_equal(cella_arg_double("inf", 0, 1e308, &x), -EINVAL);
	assert_int_equal(cella_arg_double(" 1", 0, 9, &x), -EINVAL);
	assert_int_equal(cella_arg_double("1,5", 0, 9, &x), -EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_in_order),
		cmocka_unit_test(test_help_text),
		cmocka_unit_test(test_parse_prints),
		cmocka_unit_test(test_arg_numbers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
