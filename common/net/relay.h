/*
 * relay: bidirectional byte relays between stream endpoints (any pair of
 * addr.h kinds), on a libuv loop the caller owns. A relay holds rules
 * (listen address -> target address); every accepted connection is joined
 * to a fresh connection to its rule's target and bytes flow both ways until
 * both directions have ended.
 *
 * - Zero copy where the kernel allows it: splice(2) through a pipe per
 *   direction; otherwise read/write with one large buffer per direction.
 * - Backpressure: while one side's pending bytes cannot be written, the
 *   other side is not read. Memory per connection is bounded by the pipe
 *   or buffer size, whatever the peers do.
 * - Half-close propagates: EOF from one side becomes shutdown(SHUT_WR) on the
 *   other once its pending bytes are written; a reset or write error closes
 *   both sides.
 * - An idle timeout (no byte either way) and a cap on open connections (a
 *   connection over the cap is accepted and closed at once, and logged).
 *
 * It does not terminate TLS or authenticate anyone: the attested bridge is
 * built on top of it. All functions must be called on the loop's thread.
 */
#ifndef CELLA_RELAY_H
#define CELLA_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <openssl/ssl.h>
#include <uv.h>

#include "common/core/err.h"

struct cella_relay_opts {
	unsigned max_conns;	  /* 0: CELLA_RELAY_MAX_CONNS */
	uint64_t idle_timeout_ms; /* 0: none */
	size_t pipe_bytes;	  /* a splice pipe grows up to this; 0: default */
	size_t buf_bytes;	  /* copy buffer per direction; 0: default */
	bool quiet;		  /* listeners logged at debug level only */
	bool copy;		  /* never splice (tests; TLS endpoints) */
};

#define CELLA_RELAY_MAX_CONNS 4096
#define CELLA_RELAY_PIPE_BYTES (1u << 20)
#define CELLA_RELAY_BUF_BYTES (256u << 10)

struct cella_relay_stats {
	uint64_t accepted;
	uint64_t refused; /* over the connection cap */
	uint64_t failed;  /* the target could not be reached */
	uint64_t closed;
	unsigned open; /* connections open now */
};

struct cella_relay;

/* A relay on loop; *out is the caller's until cella_relay_close. */
int cella_relay_new(uv_loop_t *loop, const struct cella_relay_opts *opts,
		    struct cella_relay **out);

/*
 * Add a rule and start listening on listen_url now (so that a bad or busy
 * address fails here, with d saying why). target_url is parsed now and
 * connected to once per accepted connection.
 */
int cella_relay_add(struct cella_relay *r, const char *listen_url,
		    const char *target_url, struct cella_diag *d);

/*
 * Relay two established, non-blocking endpoints (an ssl is NULL for a plain
 * side; a TLS side always takes the copy path, with close_notify for
 * half-close and an EOF without it treated as a reset). Takes ownership of
 * the fds and SSLs, also on failure. tag names the pair in logs.
 */
int cella_relay_join(struct cella_relay *r, const char *tag, int fd_a,
		     SSL *ssl_a, int fd_b, SSL *ssl_b);

/*
 * A rule whose target is one established stream: the first connection
 * accepted on listen_url from this process (SO_PEERCRED) is joined with
 * (fd, ssl) and the listener closes; a connection from another process is
 * closed and logged (evt=conn_refused reason=foreign_peer). listen_url must
 * be a unix socket; its file is the caller's to remove (the relay never
 * unlinks it). Takes ownership of fd and ssl, also on failure. This is how
 * an attested TLS stream is handed to an nng dialer (nngio.h).
 */
int cella_relay_add_stream(struct cella_relay *r, const char *listen_url,
			   int fd, SSL *ssl, struct cella_diag *d);

/*
 * Stop accepting (listeners closed, socket files removed); open connections
 * go on. drained(arg), when not NULL, runs once no connection is open (at
 * once if none is): the caller's cue to close the relay.
 */
void cella_relay_stop(struct cella_relay *r, void (*drained)(void *arg),
		      void *arg);

void cella_relay_get_stats(const struct cella_relay *r,
			   struct cella_relay_stats *st);

/*
 * Close every listener and connection; cb(arg) runs once every handle is
 * closed, after which r is freed. r must not be used after this call.
 */
void cella_relay_close(struct cella_relay *r, void (*cb)(void *arg), void *arg);

/* Raise RLIMIT_NOFILE's soft limit to its hard limit (each connection
 * needs up to six descriptors). Returns the new soft limit. */
long cella_relay_raise_nofile(void);

#endif
