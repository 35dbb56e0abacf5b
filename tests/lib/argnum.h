/*
 * argnum: numbers from a test tool's or benchmark's command line, checked.
 * A word that is not a whole number (or a finite decimal) in [min, max]
 * ends the program with exit 64 and a line naming the word, so a typo in
 * a test script fails loudly instead of turning into 0. Header-only.
 */
#ifndef CELLA_TEST_ARGNUM_H
#define CELLA_TEST_ARGNUM_H

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

extern char *program_invocation_short_name;

/* base as strtol's: 10, 16, or 0 for C notation (0x...). */
static inline long
arg_long(const char *s, int base, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, base);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max) {
		fprintf(stderr, "%s: '%s' is not a whole number in [%ld, %ld]\n",
			program_invocation_short_name, s, min, max);
		exit(64);
	}
	return v;
}

static inline double
arg_double(const char *s, double min, double max)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || !isfinite(v) || v < min ||
	    v > max) {
		fprintf(stderr, "%s: '%s' is not a number in [%g, %g]\n",
			program_invocation_short_name, s, min, max);
		exit(64);
	}
	return v;
}

#endif
