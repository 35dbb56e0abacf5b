/*
 * log: one logfmt line per event on stderr,
 *   ts=2026-11-22T10:00:00.123Z lvl=info svc=pf-proxy evt=listen addr=...
 * Callers name a stable event key (evt=) that tests and operators grep, and
 * add key=value pairs; values that may hold spaces or quotes go through
 * cella_q(). A line is written with one write(2), so lines from threads and
 * processes sharing the fd never interleave.
 *
 * No secret can be logged: every argument of the cella_log_* macros is
 * checked at compile time, and passing a struct cella_secret (see secret.h)
 * is a compile error. Log sizes, types and hashes, never key material,
 * request bodies or documents.
 */
#ifndef CELLA_LOG_H
#define CELLA_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum cella_log_level {
	CELLA_LOG_ERROR = 0,
	CELLA_LOG_WARN = 1,
	CELLA_LOG_INFO = 2,
	CELLA_LOG_DEBUG = 3,
};

/* Set the service name (svc=) and threshold; svc is copied. */
void cella_log_init(const char *svc, enum cella_log_level level);
void cella_log_set_level(enum cella_log_level level);
enum cella_log_level cella_log_get_level(void);
/* Raise verbosity by one step (each -v on a command line). */
void cella_log_verbose(void);
/* Redirect output (tests); the default is 2. Ends cella_log_open_file. */
void cella_log_set_fd(int fd);
/*
 * Log to the file at path instead (appended, created 0600), kept under
 * max_bytes: once a line takes it there, path is renamed path.1 (replacing
 * the last one) and a fresh path takes the next lines, so at most about
 * twice max_bytes stay on disk and the newest lines are always kept. The
 * log fd (2 by default) is pointed at the file, so that stray stderr
 * output lands there too. For a process that nobody else logs for (the
 * host side's cella-init). 0 or -errno.
 */
int cella_log_open_file(const char *path, size_t max_bytes);
bool cella_log_enabled(enum cella_log_level level);

/* An event with no fields: "evt=drained" and nothing after it. */
void cella_log_event(enum cella_log_level level, const char *evt);

/* Emit one line. Use the macros below, which refuse secrets. */
void cella_log_(enum cella_log_level level, const char *evt, const char *fmt,
		...) __attribute__((format(printf, 3, 4)));

/*
 * A logfmt value for s: bare when it needs no quoting, otherwise quoted with
 * \" \\ \n escaped and non-printable bytes as \xNN; at most 256 bytes of s.
 * The result lives in a small per-thread ring of buffers: use it inside one
 * log call, do not keep it. NULL gives "-".
 */
const char *cella_q(const char *s);

#define cella_log_error(evt, ...) \
	cella_log_(CELLA_LOG_ERROR, evt, CELLA__LOG_ARGS(__VA_ARGS__))
#define cella_log_warn(evt, ...) \
	cella_log_(CELLA_LOG_WARN, evt, CELLA__LOG_ARGS(__VA_ARGS__))
#define cella_log_info(evt, ...) \
	cella_log_(CELLA_LOG_INFO, evt, CELLA__LOG_ARGS(__VA_ARGS__))
#define cella_log_debug(evt, ...)                                          \
	do {                                                               \
		if (cella_log_enabled(CELLA_LOG_DEBUG))                    \
			cella_log_(CELLA_LOG_DEBUG, evt,                   \
				   CELLA__LOG_ARGS(__VA_ARGS__));          \
	} while (0)

/* --- machinery: wrap every argument in a compile-time secret check --- */
struct cella_secret;
#define CELLA__NOSECRET(x)                                                 \
	((void)sizeof(struct {                                             \
		int cella_log_refuses_secret_arguments : _Generic((x),     \
			struct cella_secret *: -1,                         \
			const struct cella_secret *: -1,                   \
			default: 1);                                       \
	}),                                                                \
	 (x))
#define CELLA__NARGS(...) \
	CELLA__NARGS_(__VA_ARGS__, 16, 15, 14, 13, 12, 11, 10, 9, 8, 7, 6, \
		      5, 4, 3, 2, 1, 0)
#define CELLA__NARGS_(_1, _2, _3, _4, _5, _6, _7, _8, _9, _10, _11, _12,   \
		      _13, _14, _15, _16, N, ...)                          \
	N
#define CELLA__CAT(a, b) CELLA__CAT_(a, b)
#define CELLA__CAT_(a, b) a##b
/* The format stays a literal; every argument after it is checked. */
#define CELLA__LOG_ARGS(...) \
	CELLA__CAT(CELLA__F, CELLA__NARGS(__VA_ARGS__))(__VA_ARGS__)
#define CELLA__F1(f) f
#define CELLA__F2(f, ...) f, CELLA__W1(__VA_ARGS__)
#define CELLA__F3(f, ...) f, CELLA__W2(__VA_ARGS__)
#define CELLA__F4(f, ...) f, CELLA__W3(__VA_ARGS__)
#define CELLA__F5(f, ...) f, CELLA__W4(__VA_ARGS__)
#define CELLA__F6(f, ...) f, CELLA__W5(__VA_ARGS__)
#define CELLA__F7(f, ...) f, CELLA__W6(__VA_ARGS__)
#define CELLA__F8(f, ...) f, CELLA__W7(__VA_ARGS__)
#define CELLA__F9(f, ...) f, CELLA__W8(__VA_ARGS__)
#define CELLA__F10(f, ...) f, CELLA__W9(__VA_ARGS__)
#define CELLA__F11(f, ...) f, CELLA__W10(__VA_ARGS__)
#define CELLA__F12(f, ...) f, CELLA__W11(__VA_ARGS__)
#define CELLA__F13(f, ...) f, CELLA__W12(__VA_ARGS__)
#define CELLA__F14(f, ...) f, CELLA__W13(__VA_ARGS__)
#define CELLA__F15(f, ...) f, CELLA__W14(__VA_ARGS__)
#define CELLA__F16(f, ...) f, CELLA__W15(__VA_ARGS__)
#define CELLA__W1(a) CELLA__NOSECRET(a)
#define CELLA__W2(a, ...) CELLA__NOSECRET(a), CELLA__W1(__VA_ARGS__)
#define CELLA__W3(a, ...) CELLA__NOSECRET(a), CELLA__W2(__VA_ARGS__)
#define CELLA__W4(a, ...) CELLA__NOSECRET(a), CELLA__W3(__VA_ARGS__)
#define CELLA__W5(a, ...) CELLA__NOSECRET(a), CELLA__W4(__VA_ARGS__)
#define CELLA__W6(a, ...) CELLA__NOSECRET(a), CELLA__W5(__VA_ARGS__)
#define CELLA__W7(a, ...) CELLA__NOSECRET(a), CELLA__W6(__VA_ARGS__)
#define CELLA__W8(a, ...) CELLA__NOSECRET(a), CELLA__W7(__VA_ARGS__)
#define CELLA__W9(a, ...) CELLA__NOSECRET(a), CELLA__W8(__VA_ARGS__)
#define CELLA__W10(a, ...) CELLA__NOSECRET(a), CELLA__W9(__VA_ARGS__)
#define CELLA__W11(a, ...) CELLA__NOSECRET(a), CELLA__W10(__VA_ARGS__)
#define CELLA__W12(a, ...) CELLA__NOSECRET(a), CELLA__W11(__VA_ARGS__)
#define CELLA__W13(a, ...) CELLA__NOSECRET(a), CELLA__W12(__VA_ARGS__)
#define CELLA__W14(a, ...) CELLA__NOSECRET(a), CELLA__W13(__VA_ARGS__)
#define CELLA__W15(a, ...) CELLA__NOSECRET(a), CELLA__W14(__VA_ARGS__)

#endif
