/*
 * logring: the captured output of one service. Bytes read from a service's
 * stdout and stderr are cut into lines by a splitter per stream; each line
 * is stamped, tagged with its stream and kept in a ring whose accounted size
 * (bytes plus a fixed per-line overhead) never exceeds the cap fixed at init:
 * the oldest lines are dropped first and counted. A line longer than
 * INIT_LINE_MAX is cut into pieces, and a last line without a newline at EOF
 * is kept; both are marked partial (no newline followed them), so that
 * concatenating the lines, with a newline after each non-partial one,
 * reproduces the stream byte for byte. Bytes are kept as they came (binary
 * and NUL included); escaping is the reader's business. Every line has a
 * sequence number, starting at 1, so readers page and follow with a cursor.
 * This module does no I/O and knows nothing of pipes or the event loop.
 */
#ifndef INIT_LOGRING_H
#define INIT_LOGRING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define INIT_LINE_MAX 16384u
#define INIT_LINE_OVERHEAD 64u /* accounted per line besides its bytes */

enum init_stream {
	INIT_STREAM_STDOUT = 1,
	INIT_STREAM_STDERR = 2,
};

struct init_line {
	uint64_t seq;
	uint64_t ts_ns; /* CLOCK_REALTIME when the line was complete */
	uint8_t stream;
	bool partial;
	uint32_t len;
	uint8_t data[];
};

struct init_logring {
	struct init_line **v; /* circular: v[(head + i) % cap] */
	size_t cap, head, count;
	size_t bytes, max_bytes;
	uint64_t next_seq;
	uint64_t dropped; /* lines evicted (or refused for want of memory) */
};

void init_logring_init(struct init_logring *r, size_t max_bytes);
void init_logring_fini(struct init_logring *r);

/*
 * Append one line (copied). Lines older than needed to stay within the cap
 * are evicted. Returns the stored line (valid until it is evicted) or NULL
 * when memory ran out, in which case the line is counted as dropped.
 */
const struct init_line *init_logring_push(struct init_logring *r,
					  uint8_t stream, bool partial,
					  const uint8_t *p, size_t n,
					  uint64_t ts_ns);

/* Sequence numbers of the oldest kept and newest line (0 when none). */
uint64_t init_logring_first(const struct init_logring *r);
uint64_t init_logring_last(const struct init_logring *r);

/*
 * The oldest kept line whose sequence number is greater than after, or NULL:
 * a reader's next line (after lines were evicted, the oldest kept one).
 */
const struct init_line *init_logring_next(const struct init_logring *r,
					  uint64_t after);

/*
 * The sequence number a reader that wants the last n lines starts after
 * (n == 0: all kept lines).
 */
uint64_t init_logring_tail_cursor(const struct init_logring *r, size_t n);

/* Splits one stream's bytes into lines. Lives in caller storage. */
struct init_linesplit {
	uint8_t stream;
	size_t len;
	uint8_t buf[INIT_LINE_MAX];
};

typedef void (*init_line_cb)(void *arg, uint8_t stream, bool partial,
			     const uint8_t *p, size_t n);

void init_linesplit_init(struct init_linesplit *ls, uint8_t stream);
/* Feed bytes; cb runs once per complete line (without its newline). */
void init_linesplit_feed(struct init_linesplit *ls, const uint8_t *p, size_t n,
			 init_line_cb cb, void *arg);
/* End of stream: a pending partial line is passed to cb. */
void init_linesplit_flush(struct init_linesplit *ls, init_line_cb cb,
			  void *arg);

/*
 * A logfmt value for line bytes: quoted when needed, with \" \\ \n \t
 * escaped and other non-printable bytes (NUL included) as \xNN; at most
 * max input bytes, then "..." is appended. Writes a NUL-terminated string
 * of at most outlen bytes.
 */
void init_line_escape(const uint8_t *p, size_t n, size_t max, char *out,
		      size_t outlen);

#endif
