/*
 * opts: the option table's parser and --help printer, on top of glibc's
 * getopt_long. The table is turned into getopt's long array and short
 * string on the stack for each parse; every value then goes through
 * cella_opt_apply, which is the only place that turns words into numbers.
 * It keeps no state between parses (getopt's globals are reset at the
 * start of each).
 */
#include "common/core/opts.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "common/core/log.h"
#include "common/core/ready.h"

#define OPTS_MAX 64       /* rows in one table */
#define OPT_VAL_BASE 256  /* getopt's val for row i: OPT_VAL_BASE + i */
#define HELP_COL_MAX 26   /* where help text starts, at most */

int
cella_arg_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (s == NULL || !isdigit((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int
cella_arg_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
	long long v;
	char *end;

	if (s == NULL || !isdigit((unsigned char)s[s[0] == '-']))
		return -EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int
cella_arg_double(const char *s, double min, double max, double *out)
{
	double v;
	char *end;

	if (s == NULL || s[0] == '\0' || isspace((unsigned char)s[0]))
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || *end != '\0' || !isfinite(v) || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static bool
takes_value(const struct cella_opt *o)
{
	return o->kind != CELLA_OPT_FLAG && o->kind != CELLA_OPT_ACTION;
}

static bool
row_end(const struct cella_opt *o)
{
	return o->name == NULL && o->letter == 0;
}

/* "--jobs", or "-q" for a row with no long name. */
static const char *
flag_name(const struct cella_opt *o, char *buf, size_t len)
{
	if (o->name != NULL)
		snprintf(buf, len, "--%s", o->name);
	else
		snprintf(buf, len, "-%c", o->letter);
	return buf;
}

/* A word as an error shows it: long ones cut, so the message fits. */
static const char *
shown(const char *word, char *buf, size_t len)
{
	if (strlen(word) < len)
		return word;
	snprintf(buf, len, "%.*s...", (int)len - 4, word);
	return buf;
}

/* The bounds a number row checks (lo and hi come in as the kind's own). */
static void
bounds(const struct cella_opt *o, int64_t *lo, int64_t *hi)
{
	if (o->min != 0 || o->max != 0) {
		*lo = o->min;
		*hi = o->max;
	}
	if (o->kind == CELLA_OPT_SECONDS && *hi > INT64_MAX / 1000)
		*hi = INT64_MAX / 1000;
}

static int
bad_value(const struct cella_opt *o, const char *word, const char *why,
	  struct cella_diag *d)
{
	static const char *const by_kind[] = {
		[CELLA_OPT_U64] = "a whole number",
		[CELLA_OPT_I64] = "a whole number",
		[CELLA_OPT_DOUBLE] = "a number",
		[CELLA_OPT_SECONDS] = "whole seconds",
		[CELLA_OPT_FD] = "an open descriptor",
	};
	char name[64], w[200], range[64] = "";
	int64_t lo = 0, hi = INT64_MAX;

	if (why == NULL && o->kind <= CELLA_OPT_SECONDS) {
		if (o->kind == CELLA_OPT_I64)
			lo = INT64_MIN;
		bounds(o, &lo, &hi);
		if (hi != INT64_MAX && hi != INT64_MAX / 1000)
			snprintf(range, sizeof(range), " in %" PRId64 "..%" PRId64,
				 lo, hi);
		else if (lo > 0)
			snprintf(range, sizeof(range), " of at least %" PRId64, lo);
	}
	return cella_diag_set(d, -EINVAL, "%s '%s': %s%s%s",
			      flag_name(o, name, sizeof(name)),
			      shown(word, w, sizeof(w)),
			      why != NULL ? "" : "expected ",
			      why != NULL ? why
			      : o->expect != NULL ? o->expect
						  : by_kind[o->kind],
			      range);
}

static int
apply_number(const struct cella_opt *o, const char *word)
{
	int64_t lo = 0, hi = INT64_MAX, i;
	uint64_t u;
	double x;

	switch (o->kind) {
	case CELLA_OPT_I64:
		lo = INT64_MIN;
		bounds(o, &lo, &hi);
		if (cella_arg_i64(word, lo, hi, &i) < 0)
			return -EINVAL;
		*(int64_t *)o->dst = i;
		return 0;
	case CELLA_OPT_DOUBLE:
		lo = INT64_MIN;
		bounds(o, &lo, &hi);
		if (cella_arg_double(word, (double)lo, (double)hi, &x) < 0)
			return -EINVAL;
		*(double *)o->dst = x;
		return 0;
	default: /* U64, SECONDS */
		bounds(o, &lo, &hi);
		if (lo < 0 || cella_arg_u64(word, (uint64_t)lo, (uint64_t)hi,
					    &u) < 0)
			return -EINVAL;
		*(uint64_t *)o->dst = o->kind == CELLA_OPT_SECONDS ? u * 1000 : u;
		return 0;
	}
}

int
cella_opt_apply(const struct cella_opt *o, const char *word,
		struct cella_diag *d)
{
	struct cella_diag why = {{0}};
	char name[64];
	int rv;

	switch (o->kind) {
	case CELLA_OPT_FLAG:
		*(bool *)o->dst = true;
		return 0;
	case CELLA_OPT_STR:
		*(const char **)o->dst = word;
		return 0;
	case CELLA_OPT_FD:
		if ((rv = cella_ready_parse(word)) < 0)
			return bad_value(o, word, NULL, d);
		*(int *)o->dst = rv;
		return 0;
	case CELLA_OPT_FUNC:
	case CELLA_OPT_ACTION:
		if ((rv = o->fn(o->dst, word, &why)) >= 0)
			return 0;
		if (why.msg[0] == '\0')
			snprintf(why.msg, sizeof(why.msg), "%s", cella_strerror(rv));
		if (word != NULL)
			bad_value(o, word, why.msg, d);
		else
			cella_diag_set(d, rv, "%s: %s",
				       flag_name(o, name, sizeof(name)), why.msg);
		return rv;
	default:
		if (apply_number(o, word) < 0)
			return bad_value(o, word, NULL, d);
		return 0;
	}
}

int
cella_opt_verbose(void *dst, const char *word, struct cella_diag *d)
{
	(void)dst;
	(void)word;
	(void)d;
	cella_log_verbose();
	return 0;
}

const struct cella_opt *
cella_opts_find(const struct cella_opt *opts, const char *name)
{
	for (const struct cella_opt *o = opts; !row_end(o); o++)
		if (o->name != NULL && strcmp(o->name, name) == 0)
			return o;
	return NULL;
}

/* getopt's arrays for a table; -E2BIG past OPTS_MAX rows. */
static int
build(const struct cella_optset *s, struct option *longs, char *shorts,
      size_t *n)
{
	size_t nl = 0, ns = 0;

	if (s->in_order)
		shorts[ns++] = '+';
	shorts[ns++] = ':'; /* a missing value is ':', not '?' */
	shorts[ns++] = 'h';
	for (*n = 0; !row_end(&s->opts[*n]); (*n)++) {
		const struct cella_opt *o = &s->opts[*n];

		if (*n == OPTS_MAX)
			return -E2BIG;
		if (o->name != NULL)
			longs[nl++] = (struct option){
				o->name, takes_value(o) ? required_argument
							: no_argument,
				NULL, OPT_VAL_BASE + (int)*n};
		if (o->letter != 0) {
			shorts[ns++] = (char)o->letter;
			if (takes_value(o))
				shorts[ns++] = ':';
		}
	}
	longs[nl++] = (struct option){"help", no_argument, NULL, 'h'};
	longs[nl] = (struct option){0};
	shorts[ns] = '\0';
	return 0;
}

/* The row getopt answered with (a long val or a short letter). */
static const struct cella_opt *
row_of(const struct cella_optset *s, size_t n, int ch)
{
	if (ch >= OPT_VAL_BASE && (size_t)(ch - OPT_VAL_BASE) < n)
		return &s->opts[ch - OPT_VAL_BASE];
	for (size_t i = 0; i < n; i++)
		if (s->opts[i].letter == ch)
			return &s->opts[i];
	return NULL;
}

/* getopt said '?' or ':': say which flag, and what about it. */
static int
refused(const struct cella_optset *s, size_t n, int ch, char **argv,
	struct cella_diag *d)
{
	const struct cella_opt *o = optopt != 0 ? row_of(s, n, optopt) : NULL;
	const char *word = argv[optind - 1];
	bool dashes = strncmp(word, "--", 2) == 0;
	char name[64] = "--help";

	if (o != NULL && dashes && o->name != NULL)
		snprintf(name, sizeof(name), "--%s", o->name);
	else if (o != NULL)
		snprintf(name, sizeof(name), "-%c", o->letter);
	if (ch == ':' || (ch == '?' && dashes && (o != NULL || optopt == 'h')))
		return cella_diag_set(d, -EINVAL, ch == ':'
					 ? "option '%s' needs a value"
					 : "option '%s' takes no value", name);
	if (optopt != 0)
		return cella_diag_set(d, -EINVAL, "unknown flag '-%c'", optopt);
	return cella_diag_set(d, -EINVAL, "unknown flag '%.*s'",
			      (int)strcspn(word, "="), word);
}

static int
operands(const struct cella_optset *s, int argc, char **argv, int first,
	 struct cella_diag *d)
{
	int n = argc - first;

	if (s->max_args >= 0 && n > s->max_args)
		return cella_diag_set(d, -EINVAL, "unexpected argument '%s'",
				      argv[first + s->max_args]);
	if (n < s->min_args) /* the usage line's first line says which */
		return cella_diag_set(d, -EINVAL, "missing argument%s (%.*s)",
				      s->min_args - n > 1 ? "s" : "",
				      s->args != NULL ? (int)strcspn(s->args, "\n")
						      : 0,
				      s->args != NULL ? s->args : "");
	return 0;
}

int
cella_opts_getopt(const struct cella_optset *s, int argc, char **argv,
		  int *first, struct cella_diag *d)
{
	struct option longs[OPTS_MAX + 2];
	char shorts[3 * OPTS_MAX + 4];
	size_t n;
	int ch, rv;

	if ((rv = build(s, longs, shorts, &n)) < 0)
		return cella_diag_set(d, rv, "more than %d flags", OPTS_MAX);
	optind = 0; /* glibc: start afresh, whatever an earlier parse left */
	opterr = 0;
	while ((ch = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {
		const struct cella_opt *o = row_of(s, n, ch);

		if (ch == 'h' && o == NULL)
			return CELLA_OPTS_HELP;
		if (ch == '?' || ch == ':' || o == NULL)
			return refused(s, n, ch, argv, d);
		if ((rv = cella_opt_apply(o, optarg, d)) < 0)
			return rv;
	}
	if ((rv = operands(s, argc, argv, optind, d)) < 0)
		return rv;
	*first = optind;
	return CELLA_OPTS_RUN;
}

int
cella_opts_parse(const struct cella_optset *s, int argc, char **argv,
		 int *first)
{
	struct cella_diag d = {{0}};
	int rv = cella_opts_getopt(s, argc, argv, first, &d);

	if (rv == CELLA_OPTS_HELP)
		cella_opts_help(s, stdout);
	else if (rv < 0)
		fprintf(stderr, "%s: %s (try '%s --help')\n", s->prog, d.msg,
			s->prog);
	return rv;
}

int
cella_opts_exit(int parsed)
{
	if (parsed == CELLA_OPTS_RUN)
		return -1;
	return parsed == CELLA_OPTS_HELP ? 0 : EX_USAGE;
}

/* "-j, --jobs N" for a row; its length. */
static int
left_column(const struct cella_opt *o, char *buf, size_t len)
{
	char l[8] = "    ";

	if (o->letter != 0)
		snprintf(l, sizeof(l), "-%c%s", o->letter,
			 o->name != NULL ? ", " : "");
	return snprintf(buf, len, "  %s%s%s%s%s", l,
			o->name != NULL ? "--" : "",
			o->name != NULL ? o->name : "",
			o->metavar != NULL ? " " : "",
			o->metavar != NULL ? o->metavar : "");
}

static void
print_row(FILE *f, const char *left, int width, const char *help)
{
	int n = fprintf(f, "%s", left);

	if (n > width) { /* too wide: the help starts on the next line */
		fputc('\n', f);
		n = 0;
	}
	for (const char *p = help; *p != '\0';) {
		size_t line = strcspn(p, "\n");

		fprintf(f, "%*s%.*s\n", width + 2 - n, "", (int)line, p);
		n = 0;
		p += line + (p[line] == '\n');
	}
}

/* The flag lines of opts and then of more (NULL: none), aligned. */
static void
print_rows(const struct cella_opt *opts, const struct cella_opt *more,
	   FILE *f)
{
	const struct cella_opt *t[2] = {opts, more};
	char left[128];
	int width = 0, n;

	for (size_t i = 0; i < 2 && t[i] != NULL; i++)
		for (const struct cella_opt *o = t[i]; !row_end(o); o++) {
			n = left_column(o, left, sizeof(left));
			if (o->help != NULL && n > width && n <= HELP_COL_MAX)
				width = n;
		}
	for (size_t i = 0; i < 2 && t[i] != NULL; i++)
		for (const struct cella_opt *o = t[i]; !row_end(o); o++) {
			if (o->help == NULL)
				continue;
			left_column(o, left, sizeof(left));
			print_row(f, left, width, o->help);
		}
}

void
cella_opts_print(const struct cella_opt *opts, FILE *f)
{
	print_rows(opts, NULL, f);
}

void
cella_opts_help(const struct cella_optset *s, FILE *f)
{
	static const struct cella_opt help[] = {
		{"help", 'h', CELLA_OPT_FLAG, .help = "this text"},
		{0},
	};

	fprintf(f, "usage: %s%s%s\n\n", s->prog, s->args != NULL ? " " : "",
		s->args != NULL ? s->args : "");
	if (s->about != NULL)
		fprintf(f, "%s\n", s->about);
	print_rows(s->opts, help, f);
	if (s->more != NULL)
		fprintf(f, "\n%s", s->more);
	if (s->more_fn != NULL)
		s->more_fn(f);
}
