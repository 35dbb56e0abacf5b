/*
 * logring: per-service ring of captured lines and the line splitter that
 * feeds it. Lines are separate allocations held in a circular array of
 * pointers; the array grows by doubling and is bounded because every line
 * costs at least INIT_LINE_OVERHEAD of the byte cap. No I/O here.
 */
#include "services/init/logring.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
init_logring_init(struct init_logring *r, size_t max_bytes)
{
	memset(r, 0, sizeof(*r));
	r->max_bytes = max_bytes;
	r->next_seq = 1;
}

static size_t
line_cost(size_t len)
{
	return len + INIT_LINE_OVERHEAD;
}

static void
evict_oldest(struct init_logring *r)
{
	struct init_line *l = r->v[r->head];

	r->bytes -= line_cost(l->len);
	free(l);
	r->v[r->head] = NULL;
	r->head = (r->head + 1) % r->cap;
	r->count--;
	r->dropped++;
}

void
init_logring_fini(struct init_logring *r)
{
	while (r->count > 0)
		evict_oldest(r);
	free(r->v);
	memset(r, 0, sizeof(*r));
}

static int
grow(struct init_logring *r)
{
	size_t ncap = r->cap ? r->cap * 2 : 64;
	struct init_line **nv;

	nv = calloc(ncap, sizeof(*nv));
	if (nv == NULL)
		return -1;
	for (size_t i = 0; i < r->count; i++)
		nv[i] = r->v[(r->head + i) % r->cap];
	free(r->v);
	r->v = nv;
	r->cap = ncap;
	r->head = 0;
	return 0;
}

const struct init_line *
init_logring_push(struct init_logring *r, uint8_t stream, bool partial,
		  const uint8_t *p, size_t n, uint64_t ts_ns)
{
	struct init_line *l;
	uint64_t seq = r->next_seq++;

	if (n > INIT_LINE_MAX || line_cost(n) > r->max_bytes)
		goto refuse;
	while (r->count > 0 && r->bytes + line_cost(n) > r->max_bytes)
		evict_oldest(r);
	if (r->count == r->cap && grow(r) < 0)
		goto refuse;
	l = malloc(sizeof(*l) + n);
	if (l == NULL)
		goto refuse;
	l->seq = seq;
	l->ts_ns = ts_ns;
	l->stream = stream;
	l->partial = partial;
	l->len = (uint32_t)n;
	if (n > 0)
		memcpy(l->data, p, n);
	r->v[(r->head + r->count) % r->cap] = l;
	r->count++;
	r->bytes += line_cost(n);
	return l;
refuse:
	r->dropped++;
	return NULL;
}

uint64_t
init_logring_first(const struct init_logring *r)
{
	return r->count ? r->v[r->head]->seq : 0;
}

uint64_t
init_logring_last(const struct init_logring *r)
{
	return r->count ? r->v[(r->head + r->count - 1) % r->cap]->seq : 0;
}

const struct init_line *
init_logring_next(const struct init_logring *r, uint64_t after)
{
	size_t lo = 0, hi = r->count;

	/* Refused lines leave gaps in the numbering: search, do not index. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (r->v[(r->head + mid) % r->cap]->seq <= after)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < r->count ? r->v[(r->head + lo) % r->cap] : NULL;
}

uint64_t
init_logring_tail_cursor(const struct init_logring *r, size_t n)
{
	if (r->count == 0)
		return r->next_seq - 1;
	if (n == 0 || n >= r->count)
		return init_logring_first(r) - 1;
	return r->v[(r->head + r->count - n) % r->cap]->seq - 1;
}

void
init_linesplit_init(struct init_linesplit *ls, uint8_t stream)
{
	ls->stream = stream;
	ls->len = 0;
}

void
init_linesplit_feed(struct init_linesplit *ls, const uint8_t *p, size_t n,
		    init_line_cb cb, void *arg)
{
	while (n > 0) {
		const uint8_t *nl = memchr(p, '\n', n);
		size_t take = nl ? (size_t)(nl - p) : n;
		size_t room = INIT_LINE_MAX - ls->len;

		if (take > room) {
			/* Too long for one line: emit a full piece. */
			memcpy(ls->buf + ls->len, p, room);
			cb(arg, ls->stream, true, ls->buf, INIT_LINE_MAX);
			ls->len = 0;
			p += room;
			n -= room;
			continue;
		}
		if (nl == NULL) {
			memcpy(ls->buf + ls->len, p, take);
			ls->len += take;
			return;
		}
		if (ls->len == 0) {
			cb(arg, ls->stream, false, p, take);
		} else {
			memcpy(ls->buf + ls->len, p, take);
			cb(arg, ls->stream, false, ls->buf, ls->len + take);
			ls->len = 0;
		}
		p += take + 1;
		n -= take + 1;
	}
}

void
init_linesplit_flush(struct init_linesplit *ls, init_line_cb cb, void *arg)
{
	if (ls->len > 0)
		cb(arg, ls->stream, true, ls->buf, ls->len);
	ls->len = 0;
}

static bool
needs_quote(const uint8_t *p, size_t n)
{
	if (n == 0)
		return true;
	for (size_t i = 0; i < n; i++)
		if (p[i] <= ' ' || p[i] >= 0x7f || p[i] == '"' || p[i] == '=' ||
		    p[i] == '\\')
			return true;
	return false;
}

void
init_line_escape(const uint8_t *p, size_t n, size_t max, char *out,
		 size_t outlen)
{
	bool cut = n > max, q;
	size_t o = 0;

	if (cut)
		n = max;
	q = cut || needs_quote(p, n);
	if (outlen < 8) {
		if (outlen > 0)
			out[0] = '\0';
		return;
	}
	if (q)
		out[o++] = '"';
	for (size_t i = 0; i < n && o + 9 < outlen; i++) {
		uint8_t c = p[i];

		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c == '\n' || c == '\t') {
			out[o++] = '\\';
			out[o++] = c == '\n' ? 'n' : 't';
		} else if (c < 0x20 || c >= 0x7f) {
			o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", c);
		} else {
			out[o++] = (char)c;
		}
	}
	if (cut) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	if (q)
		out[o++] = '"';
	out[o] = '\0';
}
