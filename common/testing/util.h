/*
 * testing/util: what every cella unit test may need and no production code
 * may use: find a file of the source tree, read it whole, decode hex, wait
 * for a condition another thread makes true (with a deadline, not a
 * sleep), and capture what a function prints. Like everything in
 * common/testing (the cella-testing library, as nng's src/testing), it is
 * test code: a set-up step that cannot succeed aborts the test with the
 * file and line (TU_CHECK) instead of returning an error. Exported names
 * use the tu_ prefix.
 */
#ifndef CELLA_TESTING_UTIL_H
#define CELLA_TESTING_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Abort with the failed expression when a test's set-up step fails. */
#define TU_CHECK(cond)                                                      \
	do {                                                                \
		if (!(cond)) {                                              \
			fprintf(stderr, "%s:%d: setup failed: %s\n",        \
				__FILE__, __LINE__, #cond);                 \
			abort();                                            \
		}                                                           \
	} while (0)

/*
 * rel under $CELLA_SOURCE_ROOT (or "." when unset), in a static buffer the
 * next call overwrites. Not thread-safe.
 */
const char *tu_path(const char *rel);

/* The whole file, NUL-terminated (not counted in *n); caller frees. */
uint8_t *tu_read(const char *path, size_t *n);

/* Decode hex into out (at most cap bytes); the number of bytes. */
size_t tu_unhex(const char *hex, uint8_t *out, size_t cap);

/* CLOCK_MONOTONIC in milliseconds. */
uint64_t tu_mono_ms(void);

/*
 * Evaluate pred(arg) until it is true (true) or timeout_ms has passed
 * (false). For state another thread changes and publishes no event for
 * (a pool's counters): a bounded wait on the condition itself, never a
 * guess at how long it takes.
 */
bool tu_wait_until(bool (*pred)(void *arg), void *arg, unsigned timeout_ms);

/*
 * What the code under test writes to fd (1 or 2) between begin and end:
 * end restores fd and returns the text, NUL-terminated (caller frees).
 * stdio's buffers are flushed at both ends.
 */
struct tu_capture {
	int fd, saved;
	FILE *tmp;
};
void tu_capture_begin(struct tu_capture *c, int fd);
char *tu_capture_end(struct tu_capture *c);

#endif
