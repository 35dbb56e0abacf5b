/*
 * ohash: the hashed prefix advances under the mutex; a chunk that arrives
 * ahead of it only sets its flag in the window ring, and is read back from
 * the file when the prefix reaches it. Hashing happens under the mutex on
 * purpose: SHA-256 is sequential, and the threads that wait are the ones
 * whose chunks would be hashed next anyway.
 */
#include "common/files/ohash.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

uint64_t
pipe_chunks(uint64_t size, uint32_t chunk)
{
	return chunk == 0 ? 0 : size / chunk + (size % chunk != 0);
}

int
pipe_ohash_init(struct pipe_ohash *h, uint64_t size, uint32_t chunk,
		uint32_t window, int fd)
{
	EVP_MD_CTX *md;

	if (chunk == 0 || window == 0 || window > PIPE_WINDOW_MAX)
		return -EINVAL;
	if ((md = EVP_MD_CTX_new()) == NULL)
		return -ENOMEM;
	if (EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(md);
		return -ENOMEM;
	}
	memset(h, 0, sizeof(*h));
	pthread_mutex_init(&h->mu, NULL);
	h->md = md;
	h->size = size;
	h->chunk = chunk;
	h->window = window;
	h->nchunks = pipe_chunks(size, chunk);
	h->fd = fd;
	return 0;
}

void
pipe_ohash_fini(struct pipe_ohash *h)
{
	if (h == NULL || h->md == NULL)
		return;
	EVP_MD_CTX_free(h->md);
	h->md = NULL;
	free(h->scratch);
	h->scratch = NULL;
	pthread_mutex_destroy(&h->mu);
}

static size_t
chunk_len(const struct pipe_ohash *h, uint64_t idx)
{
	uint64_t off = idx * h->chunk;

	return h->size - off < h->chunk ? (size_t)(h->size - off) : h->chunk;
}

/* Read chunk idx back from the file into scratch. */
static int
reread(struct pipe_ohash *h, uint64_t idx, size_t n)
{
	size_t got = 0;

	if (h->scratch == NULL && (h->scratch = malloc(h->chunk)) == NULL)
		return -ENOMEM;
	while (got < n) {
		ssize_t r = pread(h->fd, h->scratch + got, n - got,
				  (off_t)(idx * h->chunk + got));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -EIO; /* the file shrank under us */
		got += (size_t)r;
	}
	return 0;
}

/* Hash every chunk from next on whose flag is set; own is idx's bytes. */
static int
advance(struct pipe_ohash *h, uint64_t idx, const void *own)
{
	while (h->next < h->nchunks && h->seen[h->next % h->window]) {
		size_t n = chunk_len(h, h->next);
		const void *p = own;
		int rv;

		if (h->next != idx) {
			if ((rv = reread(h, h->next, n)) < 0)
				return rv;
			p = h->scratch;
		}
		if (EVP_DigestUpdate(h->md, p, n) != 1)
			return -EIO;
		h->seen[h->next % h->window] = 0;
		h->next++;
	}
	return 0;
}

int
pipe_ohash_add(struct pipe_ohash *h, uint64_t off, const void *p, size_t n)
{
	uint64_t idx = off / h->chunk;
	int rv;

	if (off % h->chunk != 0 || idx >= h->nchunks || n != chunk_len(h, idx))
		return -EINVAL;
	pthread_mutex_lock(&h->mu);
	if ((rv = h->err) < 0)
		goto out;
	if (idx >= h->next + h->window)
		rv = -ERANGE;
	else if (idx < h->next || h->seen[idx % h->window])
		rv = -EALREADY;
	if (rv < 0)
		goto out;
	h->seen[idx % h->window] = 1;
	if ((rv = advance(h, idx, p)) < 0)
		h->err = rv;
out:
	pthread_mutex_unlock(&h->mu);
	return rv;
}

uint64_t
pipe_ohash_done(struct pipe_ohash *h)
{
	uint64_t n;

	pthread_mutex_lock(&h->mu);
	n = h->next * h->chunk;
	pthread_mutex_unlock(&h->mu);
	return n > h->size ? h->size : n;
}

int
pipe_ohash_final(struct pipe_ohash *h, uint8_t out[PIPE_SHA256_LEN])
{
	unsigned len = 0;
	int rv;

	pthread_mutex_lock(&h->mu);
	rv = h->err;
	if (rv == 0 && h->next != h->nchunks)
		rv = -EAGAIN;
	if (rv == 0 && EVP_DigestFinal_ex(h->md, out, &len) != 1)
		rv = -EIO;
	pthread_mutex_unlock(&h->mu);
	return rv;
}
