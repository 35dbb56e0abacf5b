/*
 * query: single-pass scanners over borrowed bytes. Parameter names and
 * values are never percent-decoded: the one parameter is hex, where a '%'
 * can only be a mistake, and refusing it is clearer than guessing.
 */
#include "services/ra-web/query.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "common/core/buf.h"

#define EXCERPT_MAX 32
#define ACCEPT_RANGES_MAX 64

/* A printable, clipped copy of s[0..n) for a message. */
static const char *
excerpt(const char *s, size_t n, char out[EXCERPT_MAX + 4])
{
	size_t i;

	for (i = 0; i < n && i < EXCERPT_MAX; i++)
		out[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	if (n > EXCERPT_MAX)
		memcpy(out + i, "...", 3), i += 3;
	out[i] = '\0';
	return out;
}

static int
nonce_value(const char *v, size_t n, uint8_t *out, size_t cap,
	    struct cella_diag *d)
{
	int rv;

	if (n == 0)
		return cella_diag_set(d, -EINVAL, "nonce: empty");
	if (n > 2 * cap)
		return cella_diag_set(d, -EMSGSIZE,
				      "nonce: %zu bytes, over %zu", (n + 1) / 2,
				      cap);
	if (n % 2 != 0)
		return cella_diag_set(d, -EINVAL,
				      "nonce: odd number of hex digits (%zu)",
				      n);
	rv = cella_hex_decode(v, n, out, cap);
	if (rv < 0)
		return cella_diag_set(d, -EINVAL, "nonce: not hexadecimal");
	return rv;
}

int
ra_query_nonce(const char *q, size_t n, uint8_t *out, size_t cap,
	       struct cella_diag *d)
{
	char ex[EXCERPT_MAX + 4];
	size_t pos = 0;
	int got = -1;

	while (pos < n) {
		const char *p = q + pos, *amp = memchr(p, '&', n - pos);
		size_t len = amp ? (size_t)(amp - p) : n - pos;
		const char *eq = memchr(p, '=', len);
		size_t klen = eq ? (size_t)(eq - p) : len;

		pos += len + 1;
		if (len == 0)
			continue; /* "a&&b", a trailing '&' */
		if (klen != 5 || memcmp(p, "nonce", 5) != 0)
			return cella_diag_set(d, -EINVAL,
					      "unknown parameter '%s' (only "
					      "nonce=HEX)",
					      excerpt(p, klen, ex));
		if (got >= 0)
			return cella_diag_set(d, -EINVAL,
					      "nonce: given more than once");
		got = nonce_value(eq ? eq + 1 : p + len,
				  eq ? len - klen - 1 : 0, out, cap, d);
		if (got < 0)
			return got;
	}
	if (got < 0)
		return cella_diag_set(d, -ENOENT,
				      "nonce: missing (?nonce=HEX, 1..%zu "
				      "bytes)", cap);
	return got;
}

static bool
is_ows(char c)
{
	return c == ' ' || c == '\t';
}

static void
trim(const char **s, size_t *n)
{
	while (*n > 0 && is_ows(**s))
		(*s)++, (*n)--;
	while (*n > 0 && is_ows((*s)[*n - 1]))
		(*n)--;
}

static bool
ieq(const char *a, size_t n, const char *lit)
{
	return strlen(lit) == n && strncasecmp(a, lit, n) == 0;
}

/* q = 0 / 0.xxx / 1 / 1.000, as thousandths; -1 when malformed. */
static int
parse_q(const char *s, size_t n)
{
	int v, scale = 100;

	if (n == 0 || (s[0] != '0' && s[0] != '1'))
		return -1;
	v = (s[0] - '0') * 1000;
	if (n == 1)
		return v;
	if (s[1] != '.' || n > 5)
		return -1;
	for (size_t i = 2; i < n; i++, scale /= 10) {
		if (s[i] < '0' || s[i] > '9' || (v == 1000 && s[i] != '0'))
			return -1;
		v += (s[i] - '0') * scale;
	}
	return v;
}

/* The q of one range's parameters (after the media type); -1: malformed. */
static int
range_q(const char *p, size_t n)
{
	int q = 1000;

	while (n > 0) {
		const char *semi = memchr(p, ';', n);
		size_t len = semi ? (size_t)(semi - p) : n;
		const char *prm = p;
		size_t plen = len;

		trim(&prm, &plen);
		if (plen >= 2 && (prm[0] == 'q' || prm[0] == 'Q') &&
		    prm[1] == '=')
			q = parse_q(prm + 2, plen - 2);
		if (q < 0)
			return -1;
		p += len + (semi != NULL);
		n -= len + (semi != NULL);
	}
	return q;
}

/* 3 exact, 2 application/<any>, 1 <any>/<any>, 0 no match. */
static int
specificity(const char *t, size_t n, enum ra_media m)
{
	const char *sub = m == RA_MEDIA_CBOR ? "application/cbor"
					     : "application/json";

	if (ieq(t, n, sub))
		return 3;
	if (ieq(t, n, "application/*"))
		return 2;
	if (ieq(t, n, "*/*"))
		return 1;
	return 0;
}

struct best {
	int spec, q;
};

static void
consider(const char *r, size_t n, enum ra_media m, struct best *b)
{
	const char *semi = memchr(r, ';', n);
	size_t tlen = semi ? (size_t)(semi - r) : n;
	const char *t = r;
	int spec, q;

	trim(&t, &tlen);
	spec = specificity(t, tlen, m);
	if (spec == 0 || spec < b->spec)
		return;
	q = semi ? range_q(semi + 1, n - (size_t)(semi + 1 - r)) : 1000;
	if (q < 0)
		return;
	if (spec > b->spec || q > b->q)
		*b = (struct best){spec, q};
}

static int
media_q(const char *v, size_t n, enum ra_media m)
{
	struct best b = {0, 0};
	size_t pos = 0;

	for (int i = 0; pos < n && i < ACCEPT_RANGES_MAX; i++) {
		const char *p = v + pos, *comma = memchr(p, ',', n - pos);
		size_t len = comma ? (size_t)(comma - p) : n - pos;

		consider(p, len, m, &b);
		pos += len + 1;
	}
	return b.q;
}

enum ra_media
ra_accept(const char *v, size_t n, enum ra_media pref, enum ra_media other)
{
	int qp, qo;

	if (v != NULL)
		trim(&v, &n);
	if (v == NULL || n == 0)
		return pref;
	qp = media_q(v, n, pref);
	qo = media_q(v, n, other);
	if (qp == 0 && qo == 0)
		return RA_MEDIA_NONE;
	return qo > qp ? other : pref;
}
