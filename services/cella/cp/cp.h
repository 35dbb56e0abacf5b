/*
 * cp: what the halves of `cella cp` share. cmd_cp.c parses and decides
 * what goes where (docker cp's rules); cp_put.c sends files and trees into
 * the enclave, cp_get.c brings them out (confined below the destination
 * with openat2, exactly as the enclave confines what it receives);
 * cp_xfer.c moves one file's chunks with several calls in flight;
 * cp_stats.c counts, draws the progress bar and keeps the manifest;
 * cp_stage.c makes a tree coming out appear whole or not at all.
 */
#ifndef CELLA_CLI_CP_H
#define CELLA_CLI_CP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "common/rpc/envelope.h"
#include "common/rpc/rpc.h"

#define CP_THREADS_MAX 16
#define CP_CHUNK_MAX (4u << 20) /* the largest chunk an enclave may ask */
#define CP_MANIFEST_MAX 1000000 /* files whose hashes make a tree's hash */
#define CP_DIRS_MAX 100000	/* directories whose mtime is restored */
#define CP_NAME_MAX 4095	/* a destination's last component */

struct cp_manifest_entry {
	char *path;
	uint8_t sha256[32];
};

struct cp_dir_time {
	char *path;
	uint32_t mode;
	struct timespec mtime;
};

struct cp_stage;

struct cp_ctx {
	struct cella_rpc_client *c;
	uint32_t chunk, window;	 /* the enclave's, from STAT */
	unsigned threads;	 /* calls in flight for one file / files at once */
	bool progress, tree;
	atomic_uint_fast64_t bytes; /* moved so far */
	uint64_t total;		    /* expected, 0: unknown */
	atomic_uint files, dirs, links, skipped;
	uint8_t sha256[32]; /* a single file's */
	/* under mu */
	pthread_mutex_t mu;
	int err;  /* the first error: every worker stops */
	int code; /* its exit code (sysexits), 0: decided by err */
	char msg[600];
	struct cp_manifest_entry *man;
	size_t nman, capman;
	bool man_over;
	struct cp_dir_time *dirs_t;
	size_t ndirs, capdirs;
};

/* One call; 0 and *reply (the caller's), or -errno with ctx's error set. */
int cp_call(struct cp_ctx *x, uint32_t type, cbor_item_t *body,
	    uint32_t want, struct cella_env *reply);
/* Record the first error (printf-style); returns err. */
int cp_fail(struct cp_ctx *x, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/*
 * The same, for an error with its own exit code: a path error (66 a path
 * to read, 73 a path to write, 77 refused; the table in `cella --help`).
 * A refusal from the enclave gets its code in cp_call.
 */
int cp_fail_code(struct cp_ctx *x, int code, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* The first error's exit code, 0 when it has none of its own. */
int cp_code(struct cp_ctx *x);
bool cp_failed(struct cp_ctx *x);
/* The first error recorded, or dflt when none was. */
int cp_err(struct cp_ctx *x, int dflt);
/* A body {key: id}. */
cbor_item_t *cp_id_body(uint64_t id);

/* cp_stats.c */
void cp_stats_start(struct cp_ctx *x);
void cp_stats_stop(struct cp_ctx *x);
void cp_manifest_add(struct cp_ctx *x, const char *path,
		     const uint8_t sha256[32]);
/* SHA-256 over the sorted "HEX  PATH\n" lines; false when over the cap. */
bool cp_manifest_hash(struct cp_ctx *x, uint8_t out[32]);
void cp_dir_time_add(struct cp_ctx *x, const char *path, uint32_t mode,
		     const struct timespec *mtime);
void cp_ctx_fini(struct cp_ctx *x);

/*
 * cp_xfer.c: move the chunks of one file of size bytes with up to
 * x->threads calls in flight. put: read from fd, PUT_CHUNK into transfer
 * id; get: GET_CHUNK from transfer id, write to fd. Both hash in order;
 * the digest is written to sha256.
 */
int cp_xfer_chunks(struct cp_ctx *x, bool put, uint64_t id, int fd,
		   uint64_t size, uint32_t chunk, uint32_t window,
		   uint8_t sha256[32]);

/*
 * cp_pool.c: whole files of a tree, several at once. A task is a file to
 * move: put (fd, st: the local file; remote: where it goes) or get
 * (remote: where it comes from; rel: where it goes below rootfd). The
 * queue is bounded: push waits while it is full.
 */
struct cp_task {
	struct cp_task *next;
	bool put;
	int fd, rootfd;
	struct stat st;
	char *remote, *rel;
};
struct cp_pool {
	struct cp_ctx *x;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct cp_task *head, **tail;
	unsigned queued, nthreads;
	bool closing;
	pthread_t t[CP_THREADS_MAX];
};
void cp_pool_start(struct cp_pool *p, struct cp_ctx *x);
/* Takes t (and its fd) whatever happens. */
void cp_pool_push(struct cp_pool *p, struct cp_task *t);
/* Run what is queued (skipped after an error), wait for the workers. */
void cp_pool_finish(struct cp_pool *p);

/*
 * cp_put.c: into the enclave at dst (already decided). rel, when not
 * NULL, names the file in the tree's manifest.
 */
int cp_put_file(struct cp_ctx *x, int fd, const struct stat *st,
		const char *dst, const char *rel);
int cp_put_tree(struct cp_ctx *x, int dirfd, const struct stat *st,
		const char *dst);

/*
 * cp_get.c: the enclave's src into dst, a path relative to the local
 * directory rootfd, never leaving it (openat2 RESOLVE_BENEATH). A tree's
 * own mode and mtime come from st, the enclave's STAT reply.
 */
int cp_get_file(struct cp_ctx *x, const char *src, int rootfd,
		const char *dst, const char *rel);
int cp_get_tree(struct cp_ctx *x, const char *src, int rootfd,
		const char *dst, const cbor_item_t *st);
/* Set the recorded directories' modes and mtimes, deepest first. */
void cp_dir_times_apply(struct cp_ctx *x, int rootfd, bool remote);

/*
 * cp_stage.c: a tree out of the enclave is built in a staging directory
 * (fd) in rootfd and appears as name ("" : rootfd itself) only whole.
 * open refuses when name is there and not a directory, or leads outside
 * rootfd; publish renames the staging directory to name, or merges it
 * into the existing directory (after a dry pass found nothing in the
 * way), then applies the recorded directory modes and mtimes; close
 * removes whatever is still staged. One stage at a time per process.
 * From cp_signals_start on, SIGINT, SIGTERM and SIGHUP remove the staging
 * tree before they end the process (call it before any other thread
 * starts: they inherit the blocked set).
 */
struct cp_stage {
	int rootfd; /* borrowed */
	int fd;	    /* the staging directory */
	char name[CP_NAME_MAX + 1];
	char tmp[32]; /* its name in rootfd; "" once published or removed */
};
int cp_stage_open(struct cp_ctx *x, int rootfd, const char *name,
		  struct cp_stage *s);
int cp_stage_publish(struct cp_ctx *x, struct cp_stage *s);
void cp_stage_close(struct cp_stage *s);
int cp_signals_start(void);

#endif
