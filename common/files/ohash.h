/*
 * ohash: SHA-256 over a file that moves in fixed-size chunks, several in
 * flight at once, so that chunks are handed over in any order. The bytes
 * are hashed in file order as soon as a prefix is complete: the thread
 * whose chunk completes the prefix hashes it from memory and re-reads from
 * the file the chunks that came before their turn (they were written, or
 * on the sending side always were there), so no out-of-order chunk is ever
 * held in memory. Only a window of chunks ahead of the hashed prefix is
 * accepted, which bounds the bookkeeping and makes a sender that runs
 * ahead an error rather than a memory cost. Thread-safe; it does no other
 * I/O than the re-reads.
 */
#ifndef CELLA_PIPELINE_OHASH_H
#define CELLA_PIPELINE_OHASH_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PIPE_SHA256_LEN 32
#define PIPE_WINDOW_MAX 256

struct pipe_ohash {
	pthread_mutex_t mu;
	void *md;	  /* EVP_MD_CTX */
	uint64_t size;	  /* the whole file */
	uint64_t nchunks; /* ceil(size / chunk) */
	uint64_t next;	  /* chunks hashed so far */
	uint32_t chunk;
	uint32_t window;
	int fd;		  /* where chunks can be read back (borrowed) */
	int err;	  /* a failed re-read poisons the hash */
	uint8_t *scratch; /* one chunk, for re-reads (on first need) */
	uint8_t seen[PIPE_WINDOW_MAX];
};

/*
 * size bytes in chunks of chunk bytes (the last may be shorter), at most
 * window (1..PIPE_WINDOW_MAX) chunks past the hashed prefix; fd is where
 * a chunk can be read back once it was added. -EINVAL, -ENOMEM.
 */
int pipe_ohash_init(struct pipe_ohash *h, uint64_t size, uint32_t chunk,
		    uint32_t window, int fd);
void pipe_ohash_fini(struct pipe_ohash *h);

/*
 * The chunk at off (a multiple of chunk, with exactly the chunk's length
 * n) is in the file now; p holds its bytes. -EINVAL (misaligned, wrong
 * length, past the end), -ERANGE (beyond the window), -EALREADY (added
 * before), or the error of a failed re-read (then every later call fails
 * with it too).
 */
int pipe_ohash_add(struct pipe_ohash *h, uint64_t off, const void *p,
		   size_t n);

/* Bytes hashed so far (a prefix of the file). */
uint64_t pipe_ohash_done(struct pipe_ohash *h);

/*
 * The digest once every chunk was added (-EAGAIN before, or a re-read's
 * error). May be called once.
 */
int pipe_ohash_final(struct pipe_ohash *h, uint8_t out[PIPE_SHA256_LEN]);

/* Chunks in size bytes. */
uint64_t pipe_chunks(uint64_t size, uint32_t chunk);

#endif
