/*
 * cp_xfer: one file's chunks, several calls in flight so that the round
 * trip (TLS through the bridge, or the pool on the other side) does not
 * set the pace. Workers take chunk numbers in order but may finish in any
 * order; a chunk is only started while it lies within the window past the
 * lowest chunk not yet answered, which is what both sides' ordered hashes
 * (ohash.h) accept. The first error stops every worker.
 */
#include "services/cella/cp/cp.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/cbor/cbor.h"
#include "common/files/fileio.h"
#include "common/files/ohash.h"

struct chunks {
	struct cp_ctx *x;
	bool put;
	uint64_t id, size, n;
	uint32_t chunk, window;
	int fd;
	struct pipe_ohash oh;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint64_t next, low; /* next to start, lowest unanswered */
	uint8_t done[PIPE_WINDOW_MAX];
	bool stop;
};

static size_t
chunk_len(const struct chunks *k, uint64_t i)
{
	uint64_t off = i * k->chunk;

	return k->size - off < k->chunk ? (size_t)(k->size - off) : k->chunk;
}

/*
 * The chunk's bytes become the message's own (no copy into the CBOR
 * item): a chunk is read into a buffer the byte string then owns.
 */
static int
put_one(struct chunks *k, uint64_t i)
{
	size_t n = chunk_len(k, i);
	uint64_t off = i * k->chunk;
	struct cella_env r = {0};
	cbor_item_t *b, *bs;
	uint8_t *buf = malloc(n ? n : 1);
	int rv;

	if (buf == NULL)
		return cp_fail(k->x, -ENOMEM, "out of memory");
	if ((rv = pipe_pread_all(k->fd, buf, n, off)) < 0) {
		free(buf);
		return cp_fail(k->x, rv, "reading at %llu: %s",
			       (unsigned long long)off, cella_strerror(rv));
	}
	if ((rv = pipe_ohash_add(&k->oh, off, buf, n)) < 0) {
		free(buf);
		return cp_fail(k->x, rv, "hashing: %s", cella_strerror(rv));
	}
	if ((bs = cbor_new_definite_bytestring()) == NULL) {
		free(buf);
		return cp_fail(k->x, -ENOMEM, "out of memory");
	}
	cbor_bytestring_set_handle(bs, buf, n);
	b = cp_id_body(k->id);
	if (b != NULL && (cella_cbor_put_uint(b, "offset", off) < 0 ||
			  cella_cbor_put_item(b, "data", bs) < 0))
		cbor_decref(&b);
	cbor_decref(&bs);
	rv = cp_call(k->x, CELLA_MSG_PIPE_PUT_CHUNK, b, CELLA_MSG_PIPE_OK, &r);
	if (rv == 0)
		cella_env_fini(&r);
	return rv;
}

static int
get_one(struct chunks *k, uint64_t i)
{
	size_t n = chunk_len(k, i);
	uint64_t off = i * k->chunk;
	struct cella_env r = {0};
	struct cella_span data;
	cbor_item_t *b = cp_id_body(k->id);
	int rv;

	if (b != NULL && cella_cbor_put_uint(b, "offset", off) < 0)
		cbor_decref(&b);
	if ((rv = cp_call(k->x, CELLA_MSG_PIPE_GET_CHUNK, b,
			  CELLA_MSG_PIPE_GET_CHUNK_REPLY, &r)) < 0)
		return rv;
	rv = cella_cbor_get_bytes(r.body, "data", k->chunk, &data, NULL);
	if (rv < 0 || data.n != n)
		rv = cp_fail(k->x, -EPROTO, "chunk at %llu: %zu bytes, "
					    "expected %zu",
			     (unsigned long long)off, rv < 0 ? 0 : data.n, n);
	else if ((rv = pipe_pwrite_all(k->fd, data.p, n, off)) < 0)
		cp_fail(k->x, rv, "writing: %s", cella_strerror(rv));
	else if ((rv = pipe_ohash_add(&k->oh, off, data.p, n)) < 0)
		cp_fail(k->x, rv, "hashing: %s", cella_strerror(rv));
	cella_env_fini(&r);
	return rv;
}

/* The next chunk to move, waiting for the window; false when none. */
static bool
take(struct chunks *k, uint64_t *i)
{
	bool ok;

	pthread_mutex_lock(&k->mu);
	while (!k->stop && k->next < k->n && k->next >= k->low + k->window)
		pthread_cond_wait(&k->cv, &k->mu);
	ok = !k->stop && k->next < k->n;
	if (ok)
		*i = k->next++;
	pthread_mutex_unlock(&k->mu);
	return ok;
}

static void
answered(struct chunks *k, uint64_t i, int rv)
{
	pthread_mutex_lock(&k->mu);
	if (rv < 0)
		k->stop = true;
	k->done[i % k->window] = 1;
	while (k->low < k->next && k->done[k->low % k->window]) {
		k->done[k->low % k->window] = 0;
		k->low++;
	}
	pthread_cond_broadcast(&k->cv);
	pthread_mutex_unlock(&k->mu);
}

static void *
worker(void *arg)
{
	struct chunks *k = arg;
	uint64_t i;
	int rv;

	while (take(k, &i)) {
		rv = cp_failed(k->x) ? -ECANCELED
		     : k->put	     ? put_one(k, i)
				     : get_one(k, i);
		if (rv == 0)
			atomic_fetch_add(&k->x->bytes, chunk_len(k, i));
		answered(k, i, rv);
	}
	return NULL;
}

int
cp_xfer_chunks(struct cp_ctx *x, bool put, uint64_t id, int fd, uint64_t size,
	       uint32_t chunk, uint32_t window, uint8_t sha256[32])
{
	struct chunks k = {.x = x, .put = put, .id = id, .size = size,
			   .chunk = chunk, .fd = fd};
	pthread_t t[CP_THREADS_MAX];
	unsigned nt = x->threads, started = 0;
	int rv;

	k.window = window > PIPE_WINDOW_MAX ? PIPE_WINDOW_MAX : window;
	k.n = pipe_chunks(size, chunk);
	if (chunk == 0 || k.window == 0)
		return cp_fail(x, -EPROTO, "the enclave sent no chunk size");
	if ((rv = pipe_ohash_init(&k.oh, size, chunk, k.window, fd)) < 0)
		return cp_fail(x, rv, "out of memory");
	pthread_mutex_init(&k.mu, NULL);
	pthread_cond_init(&k.cv, NULL);
	if (nt > k.window)
		nt = k.window;
	for (unsigned i = 0; i < nt; i++)
		if (pthread_create(&t[i], NULL, worker, &k) == 0)
			started++;
	if (started == 0)
		worker(&k);
	for (unsigned i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	rv = cp_failed(x) ? -ECANCELED : pipe_ohash_final(&k.oh, sha256);
	if (rv < 0 && !cp_failed(x))
		cp_fail(x, rv, "hashing: %s", cella_strerror(rv));
	pipe_ohash_fini(&k.oh);
	pthread_cond_destroy(&k.cv);
	pthread_mutex_destroy(&k.mu);
	return rv < 0 ? cp_err(x, rv) : 0;
}
