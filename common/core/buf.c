/*
 * buf: capped growable byte buffers and hex. Growth doubles up to the cap;
 * nothing here ever allocates more than the cap the owner chose.
 */
#include "common/core/buf.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

void
cella_buf_init(struct cella_buf *b, size_t max)
{
	b->p = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
	b->mode = CELLA_BUF_OWN;
}

void
cella_buf_init_count(struct cella_buf *b, size_t max)
{
	cella_buf_init(b, max);
	b->mode = CELLA_BUF_COUNT;
}

void
cella_buf_borrow(struct cella_buf *b, uint8_t *p, size_t cap)
{
	b->p = p;
	b->len = 0;
	b->cap = cap;
	b->max = cap;
	b->mode = CELLA_BUF_BORROW;
}

void
cella_buf_fini(struct cella_buf *b)
{
	if (b->mode == CELLA_BUF_OWN && b->p != NULL) {
		OPENSSL_cleanse(b->p, b->cap);
		free(b->p);
	}
	b->p = NULL;
	b->len = 0;
	b->cap = 0;
}

int
cella_buf_reserve(struct cella_buf *b, size_t extra)
{
	size_t want, ncap;
	uint8_t *np;

	if (extra > b->max || b->len > b->max - extra)
		return -EMSGSIZE;
	want = b->len + extra;
	if (want <= b->cap || b->mode == CELLA_BUF_COUNT)
		return 0;
	if (b->mode == CELLA_BUF_BORROW)
		return -EMSGSIZE;
	ncap = b->cap > 0 ? b->cap : 256;
	while (ncap < want)
		ncap = ncap > b->max / 2 ? b->max : ncap * 2;
	if (ncap > b->max)
		ncap = b->max;
	np = realloc(b->p, ncap);
	if (np == NULL)
		return -ENOMEM;
	b->p = np;
	b->cap = ncap;
	return 0;
}

int
cella_buf_append(struct cella_buf *b, const void *p, size_t n)
{
	int rv;

	if (n == 0)
		return 0;
	if ((rv = cella_buf_reserve(b, n)) < 0)
		return rv;
	if (b->mode == CELLA_BUF_COUNT) {
		b->len += n;
		return 0;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	return 0;
}

void
cella_buf_consume(struct cella_buf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
		return;
	}
	memmove(b->p, b->p + n, b->len - n);
	b->len -= n;
}

uint8_t *
cella_buf_steal(struct cella_buf *b, size_t *len)
{
	uint8_t *p = b->p;

	*len = b->len;
	b->p = NULL;
	b->len = 0;
	b->cap = 0;
	return p;
}

int
cella_hex_encode(const uint8_t *p, size_t n, char *out, size_t outlen)
{
	static const char digits[] = "0123456789abcdef";

	if (outlen < 2 * n + 1)
		return -EMSGSIZE;
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 0xf];
	}
	out[2 * n] = '\0';
	return (int)(2 * n);
}

static int
hex_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
cella_hex_decode(const char *s, size_t slen, uint8_t *out, size_t cap)
{
	if (slen % 2 != 0)
		return -EINVAL;
	if (slen / 2 > cap)
		return -EMSGSIZE;
	for (size_t i = 0; i < slen; i += 2) {
		int hi = hex_val(s[i]), lo = hex_val(s[i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	return (int)(slen / 2);
}
