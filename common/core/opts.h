/*
 * opts: command-line flags from one declarative table. Each row names a
 * flag (long name, short letter), its kind, its bounds, where its value
 * goes and one line of help; the same table drives getopt_long, checks
 * every value whole and in range (so "10x" or "-1" is an error naming the
 * flag and the word, never a silent 10 or a huge number), and prints the
 * option list of --help. -h/--help is implied by every table.
 *
 * It does not exit and does not decide exit codes: a parse answers "run",
 * "help was printed" or "usage error, printed"; the program returns 0 or
 * 64 (EX_USAGE) itself. Values go where the rows point (static storage of
 * the program), so one table serves one parse at a time, on one thread.
 *
 * Also here, for parsers that are not flags: cella_arg_u64/i64/double,
 * the returning form of a checked strto* (0 or -EINVAL, never a partial
 * number).
 */
#ifndef CELLA_OPTS_H
#define CELLA_OPTS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/core/err.h"

enum cella_opt_kind {
	CELLA_OPT_FLAG,     /* bool *: set true; takes no value */
	CELLA_OPT_STR,      /* const char **: the word (argv's, not copied) */
	CELLA_OPT_U64,      /* uint64_t *: a whole number in [min, max] */
	CELLA_OPT_I64,      /* int64_t *: a whole number in [min, max] */
	CELLA_OPT_DOUBLE,   /* double *: a finite decimal in [min, max] */
	CELLA_OPT_SECONDS,  /* uint64_t *: whole seconds in [min, max],
			     * stored as milliseconds */
	CELLA_OPT_FD,       /* int *: an open descriptor (cella_ready_parse) */
	CELLA_OPT_FUNC,     /* fn(dst, word, d): the row's own parser */
	CELLA_OPT_ACTION,   /* fn(dst, NULL, d): takes no value (-v) */
};

struct cella_opt {
	const char *name;    /* long name without "--"; NULL ends the table */
	int letter;          /* short flag ('j'), or 0 for none */
	enum cella_opt_kind kind;
	void *dst;           /* where the value goes, by kind */
	/* Bounds of the number kinds; both 0 means no bounds (any value the
	 * kind holds; for U64 and SECONDS any value up to INT64_MAX). */
	int64_t min, max;
	const char *metavar; /* "N", "PATH": the value's name in --help */
	const char *help;    /* one line; NULL hides the row from --help */
	/* What a bad value should have been ("UNIX seconds"), for the error
	 * "--at 'soon': expected UNIX seconds"; NULL: said by kind. */
	const char *expect;
	/* FUNC and ACTION: 0, or -errno with d saying what the word should
	 * be ("PCR index must be 0..31"); the error names flag and word. */
	int (*fn)(void *dst, const char *word, struct cella_diag *d);
};

/* A program's (or a verb's) whole command line. */
struct cella_optset {
	const char *prog;     /* "cella-init", "cella verify": for messages */
	const char *args;     /* after prog on the usage line: "[OPTIONS] FILE" */
	const char *about;    /* text between the usage line and the flags */
	const struct cella_opt *opts;
	const char *more;     /* text after the flag list, or NULL */
	/* More text after that (a config schema's keys), or NULL. */
	void (*more_fn)(FILE *f);
	/* Stop at the first operand (getopt's '+'): what follows is a
	 * command line of its own (cella exec). */
	bool in_order;
	/* Operands allowed: at least min_args, at most max_args (-1: any). */
	int min_args, max_args;
};

/* What a parse found. */
enum {
	CELLA_OPTS_RUN = 0,   /* go on: operands are argv[*first..argc) */
	CELLA_OPTS_HELP = 1,  /* --help was asked for */
};

/*
 * Parse argv[1..] by s->opts, writing each value where its row points.
 * Returns CELLA_OPTS_RUN with *first the index of the first operand,
 * CELLA_OPTS_HELP when -h/--help was given (nothing printed), or -EINVAL
 * with d naming the flag and the word: "unknown flag '--x'", "option
 * '--at' needs a value", "--jobs '10x': expected a whole number in
 * 1..16", "expected at most 1 argument(s), got 3". Values parsed before
 * an error stay written.
 */
int cella_opts_getopt(const struct cella_optset *s, int argc, char **argv,
		      int *first, struct cella_diag *d);

/*
 * cella_opts_getopt for a program: help goes to stdout; an error goes to
 * stderr as "PROG: MSG (try 'PROG --help')". Returns CELLA_OPTS_RUN,
 * CELLA_OPTS_HELP (the program returns 0) or -EINVAL (it returns 64).
 */
int cella_opts_parse(const struct cella_optset *s, int argc, char **argv,
		     int *first);

/* The exit code for what cella_opts_parse returned: 0 for help, 64 for
 * an error; -1 for CELLA_OPTS_RUN (not an exit). */
int cella_opts_exit(int parsed);

/* The whole --help text: usage line, about, flags, more. */
void cella_opts_help(const struct cella_optset *s, FILE *f);

/* Only the flag lines, "  -j, --jobs N   calls in flight", for a table
 * that other help text includes. */
void cella_opts_print(const struct cella_opt *opts, FILE *f);

/* The row of the table named by a long name ("jobs"), or NULL. */
const struct cella_opt *cella_opts_find(const struct cella_opt *opts,
					const char *name);

/*
 * Apply one row to a word (NULL for FLAG and ACTION), as a parse would:
 * 0, or -EINVAL with d saying "--NAME 'WORD': expected ...".
 */
int cella_opt_apply(const struct cella_opt *o, const char *word,
		    struct cella_diag *d);

/* An ACTION row's fn for -v: one step more logging. */
int cella_opt_verbose(void *dst, const char *word, struct cella_diag *d);

/*
 * A whole word as a number in [min, max]: decimal digits only for u64
 * (no sign, no blanks, no "10x"), an optional '-' for i64, a finite
 * decimal for double. 0 with *out set, or -EINVAL (*out untouched).
 */
int cella_arg_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
int cella_arg_i64(const char *s, int64_t min, int64_t max, int64_t *out);
int cella_arg_double(const char *s, double min, double max, double *out);

#endif
