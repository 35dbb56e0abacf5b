/*
 * buf: bytes. A span borrows bytes it does not own; a buf owns bytes and
 * never grows past the cap fixed when it was initialised, so that input can
 * never make the process allocate without bound. Wire data is never assumed
 * to be NUL-terminated. Also hex, the one text form of bytes in flags and
 * logs.
 */
#ifndef CELLA_BUF_H
#define CELLA_BUF_H

#include <stddef.h>
#include <stdint.h>

struct cella_span {
	const uint8_t *p;
	size_t n;
};

struct cella_buf {
	uint8_t *p;
	size_t len; /* bytes in use */
	size_t cap; /* bytes allocated */
	size_t max; /* cap never exceeds this */
	uint8_t mode; /* CELLA_BUF_OWN, _COUNT or _BORROW */
};

enum {
	CELLA_BUF_OWN,	  /* the buf allocates, grows and wipes its bytes */
	CELLA_BUF_COUNT,  /* no bytes: appends only add to len (sizing) */
	CELLA_BUF_BORROW, /* fixed memory the caller owns; never grows */
};

#define CELLA_SPAN(ptr, len) ((struct cella_span){(const uint8_t *)(ptr), (len)})

void cella_buf_init(struct cella_buf *b, size_t max);
/*
 * A buf that only counts what would be appended, up to max: run an encoder
 * into it to learn the size, then encode into memory of exactly that size
 * borrowed with cella_buf_borrow (appends past cap fail with -EMSGSIZE).
 * Neither allocates; fini only forgets them.
 */
void cella_buf_init_count(struct cella_buf *b, size_t max);
void cella_buf_borrow(struct cella_buf *b, uint8_t *p, size_t cap);
/* Frees the bytes and wipes them: a buf may have held anything. */
void cella_buf_fini(struct cella_buf *b);
/* Room for extra more bytes; -EMSGSIZE past max, -ENOMEM. */
int cella_buf_reserve(struct cella_buf *b, size_t extra);
int cella_buf_append(struct cella_buf *b, const void *p, size_t n);
/* Drop the first n bytes (n <= len). */
void cella_buf_consume(struct cella_buf *b, size_t n);
/* Hand the bytes to the caller (who frees them); b becomes empty. */
uint8_t *cella_buf_steal(struct cella_buf *b, size_t *len);

/*
 * Lower-case hex. cella_hex_encode writes 2*n+1 bytes (NUL-terminated) and
 * needs outlen >= 2*n+1. cella_hex_decode accepts upper and lower case, needs
 * an even count of hex digits, writes at most cap bytes and returns the count
 * or -EINVAL (not hex) / -EMSGSIZE (over cap).
 */
int cella_hex_encode(const uint8_t *p, size_t n, char *out, size_t outlen);
int cella_hex_decode(const char *s, size_t slen, uint8_t *out, size_t cap);

#endif
