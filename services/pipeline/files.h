/*
 * files.h: what the file modules of cella-pipeline share (files.c
 * receives, fget.c sends and does the small operations, walk.c lists
 * trees, xfer.c keeps the table on the loop). The *_begin, *_chunk, ...
 * functions run on the pool and leave their answer in the job (rtype and
 * rbody, or err and d); the loop sends it.
 */
#ifndef CELLA_PIPELINE_FILES_H
#define CELLA_PIPELINE_FILES_H

#include "services/pipeline/pipe.h"

enum pipe_xfer_kind { PIPE_XFER_PUT, PIPE_XFER_GET, PIPE_XFER_WALK };

struct pipe_walk;

struct pipe_xfer {
	LIST_ENTRY(pipe_xfer) link;
	uint64_t id;
	uint32_t owner;
	enum pipe_xfer_kind kind;
	int refs;    /* pool work in flight */
	bool listed; /* in the table */
	bool ending; /* its COMMIT / END / WALK_NEXT is on the pool */
	int fd, dirfd;
	struct pipe_tmp tmp; /* PUT */
	char *name;	     /* PUT: the last component */
	char *path;	     /* as the client named it */
	uint64_t size;
	mode_t mode;
	struct timespec mtime;
	struct pipe_ohash oh;
	bool oh_init;
	char operator[64];
	struct pipe_walk *walk;
};

/* A transfer for path (copied), no descriptors yet. */
struct pipe_xfer *pipe_xfer_new(enum pipe_xfer_kind kind,
				const struct cella_span *path);
void pipe_xfer_destroy(struct pipe_xfer *x);
void pipe_sha256(const void *p, size_t n, uint8_t out[32]);
/* A clear message for a path that failed to resolve. */
int pipe_path_err(struct cella_diag *d, int err, const struct cella_span *path);

/* Receiving (files.c). */
void pipe_files_put_begin(struct pipe_job *j);
void pipe_files_put_chunk(struct pipe_job *j, struct pipe_xfer *x);
void pipe_files_put_commit(struct pipe_job *j, struct pipe_xfer *x);
int pipe_files_place(struct pipe_job *j, struct pipe_xfer *x,
		     const uint8_t got[32], const uint8_t want[32]);
int pipe_files_put_done(struct pipe_job *j, const char *path,
			const uint8_t h[32], uint64_t size);

/* Sending and the rest (fget.c). */
void pipe_files_get_begin(struct pipe_job *j);
void pipe_files_get_chunk(struct pipe_job *j, struct pipe_xfer *x);
void pipe_files_get_end(struct pipe_job *j, struct pipe_xfer *x);
void pipe_files_stat(struct pipe_job *j);
void pipe_files_mkdir(struct pipe_job *j);
void pipe_files_symlink(struct pipe_job *j);
/* The limits every STAT and GET_BEGIN reply carries. */
int pipe_files_put_limits(cbor_item_t *b, const struct pipe_conf *c);

/* Trees (walk.c). */
void pipe_files_walk(struct pipe_job *j);
void pipe_files_walk_next(struct pipe_job *j, struct pipe_xfer *x);
void pipe_walk_free(struct pipe_walk *w);
bool pipe_walk_done(const struct pipe_walk *w);

#endif
