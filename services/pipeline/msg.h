/*
 * msg: cella-pipeline's request bodies (proto/pipeline.cddl) decoded into
 * one struct, with every bound checked here, before anything acts on it:
 * a missing or mistyped key, a string with a NUL, a count or size over its
 * cap are refused with EBADMSG (or E2BIG, ENAMETOOLONG) and a message
 * naming the key. Byte and text fields borrow from the body (valid while
 * the request is open); a command's argv and environment are copied into
 * NUL-terminated strings for execve. Pure: no I/O, no policy.
 */
#ifndef CELLA_PIPELINE_MSG_H
#define CELLA_PIPELINE_MSG_H

#include <cbor.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "common/core/buf.h"
#include "common/core/err.h"

#define PIPE_ARGV_MAX 4096
#define PIPE_ENV_MAX 1024
#define PIPE_ARG_MAX 131072	     /* one argument or variable (Linux) */
#define PIPE_WRITE_MAX (1u << 20)    /* stdin bytes per PIPE_WRITE */
#define PIPE_READ_MAX (2u << 20)     /* each stream per PIPE_READ_REPLY */
#define PIPE_CHUNK_MAX (4u << 20)    /* bytes per chunk message */
#define PIPE_POLL_MAX_MS 60000	     /* longest long-poll */
#define PIPE_POLL_DEFAULT_MS 10000

struct pipe_msg_exec {
	char **argv; /* NULL-terminated; with shell: ["/bin/sh", "-c", s] */
	size_t argc;
	char **env; /* "K=V", NULL-terminated (NULL: none given) */
	size_t nenv;
	char *workdir; /* NULL: "/" */
	bool shell, stdin_open, detach;
	uint64_t timeout_ms; /* 0: none */
};

struct pipe_msg {
	uint32_t type;
	uint64_t id, offset, size, max, timeout_ms;
	uint32_t mode;
	int signal;
	bool eof, has_mode, has_mtime, has_data, has_sha;
	struct timespec mtime;
	struct cella_span path, target, data;
	uint8_t sha256[32];
	struct pipe_msg_exec exec;
};

/*
 * Decode body for request type (a PIPE_* request). On success *out holds
 * what the type needs (pipe_msg_fini frees it); on error nothing is held
 * and d names the key.
 */
int pipe_msg_decode(uint32_t type, const cbor_item_t *body,
		    struct pipe_msg *out, struct cella_diag *d);
void pipe_msg_fini(struct pipe_msg *m);

/* The role a request type needs (CELLA_ROLE_EXEC or _FILES), 0: not ours. */
uint32_t pipe_msg_role(uint32_t type);

#endif
