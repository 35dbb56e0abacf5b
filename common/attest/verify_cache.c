/*
 * verify_cache: certificates already verified, so that the next document
 * from the same enclave skips what cannot have changed. An entry names a
 * certificate by the SHA-256 of its DER, of its issuer's DER and of the
 * root's DER (the root's own hash for the root) and its depth: a path is
 * found in the cache only if it is, certificate by certificate from the
 * root down, a path that was verified whole before. It keeps the parsed
 * X509 too, because OpenSSL 3.0 takes longer to decode a certificate than
 * to check an ES384 signature. A fixed array searched linearly under one
 * mutex: paths are five certificates and caches hold tens to hundreds of
 * entries. What it does not do: decide anything. Validity windows are
 * compared here, everything else was decided by the full verification
 * that put the entry in.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/attest/verify_int.h"

#define CACHE_MAX_ENTRIES 65536

struct centry {
	uint8_t cert[32], issuer[32], root[32];
	unsigned depth;
	int64_t not_before, not_after;
	X509 *x;       /* a reference of the cache's own */
	uint64_t used; /* 0: empty slot; else the tick of the last use */
};

struct cella_verify_cache {
	pthread_mutex_t mu;
	size_t max;
	uint64_t tick, hits, misses;
	struct centry e[];
};

int
cella_verify_cache_new(size_t max, struct cella_verify_cache **out)
{
	struct cella_verify_cache *c;

	if (max == 0 || max > CACHE_MAX_ENTRIES)
		return -EINVAL;
	c = calloc(1, sizeof(*c) + max * sizeof(c->e[0]));
	if (c == NULL)
		return -ENOMEM;
	if (pthread_mutex_init(&c->mu, NULL) != 0) {
		free(c);
		return -ENOMEM;
	}
	c->max = max;
	*out = c;
	return 0;
}

void
cella_verify_cache_free(struct cella_verify_cache *c)
{
	if (c == NULL)
		return;
	for (size_t k = 0; k < c->max; k++)
		X509_free(c->e[k].x);
	pthread_mutex_destroy(&c->mu);
	free(c);
}

void
cella_verify_cache_stats(struct cella_verify_cache *c, uint64_t *hits,
			 uint64_t *misses)
{
	pthread_mutex_lock(&c->mu);
	*hits = c->hits;
	*misses = c->misses;
	pthread_mutex_unlock(&c->mu);
}

static struct centry *
cache_slot(struct cella_verify_cache *c, const struct cella_verify_path *pa,
	   size_t i)
{
	const uint8_t *issuer = pa->h[i > 0 ? i - 1 : 0];

	for (size_t k = 0; k < c->max; k++) {
		struct centry *e = &c->e[k];

		if (e->used != 0 && e->depth == i &&
		    memcmp(e->cert, pa->h[i], 32) == 0 &&
		    memcmp(e->issuer, issuer, 32) == 0 &&
		    memcmp(e->root, pa->h[0], 32) == 0)
			return e;
	}
	return NULL;
}

size_t
cella_verify_cache_prefix_(struct cella_verify_cache *c,
			   struct cella_verify_path *pa, int64_t t)
{
	size_t i;

	if (c == NULL)
		return 0;
	pthread_mutex_lock(&c->mu);
	for (i = 0; i < pa->n; i++) {
		struct centry *e = cache_slot(c, pa, i);

		if (e == NULL || t < e->not_before || t > e->not_after ||
		    !X509_up_ref(e->x))
			break;
		e->used = ++c->tick;
		pa->x[i] = e->x;
		pa->nb[i] = e->not_before;
		pa->na[i] = e->not_after;
	}
	c->hits += i;
	c->misses += pa->n - i;
	pthread_mutex_unlock(&c->mu);
	return i;
}

static struct centry *
cache_victim(struct cella_verify_cache *c)
{
	struct centry *v = &c->e[0];

	/* An empty slot (used 0) or the least recently used. */
	for (size_t k = 1; k < c->max; k++)
		if (c->e[k].used < v->used)
			v = &c->e[k];
	return v;
}

void
cella_verify_cache_put_(struct cella_verify_cache *c,
			const struct cella_verify_path *pa)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&c->mu);
	for (size_t i = 0; i < pa->n; i++) {
		struct centry *e = cache_slot(c, pa, i);

		if (e == NULL)
			e = cache_victim(c);
		if (e->x != pa->x[i]) {
			if (!X509_up_ref(pa->x[i]))
				continue;
			X509_free(e->x);
			e->x = pa->x[i];
		}
		memcpy(e->cert, pa->h[i], 32);
		memcpy(e->issuer, pa->h[i > 0 ? i - 1 : 0], 32);
		memcpy(e->root, pa->h[0], 32);
		e->depth = (unsigned)i;
		e->not_before = pa->nb[i];
		e->not_after = pa->na[i];
		e->used = ++c->tick;
	}
	pthread_mutex_unlock(&c->mu);
}
