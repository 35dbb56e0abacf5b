/*
 * relay_int: what relay.c (rules, listeners, lifecycle) and relay_conn.c
 * (one connection's two directions) share. Not part of the contract.
 */
#ifndef CELLA_RELAY_INT_H
#define CELLA_RELAY_INT_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <sys/queue.h>

#include "common/net/addr.h"
#include "common/net/relay.h"

struct relay_rule {
	struct cella_relay *relay;
	struct cella_addr listen, target;
	char listen_url[CELLA_ADDR_URL_MAX + 16];
	char target_url[CELLA_ADDR_URL_MAX + 16];
	int lfd;
	uv_poll_t lpoll;
	bool listening;
	/* A stream rule: the first accepted connection is joined with this
	 * established stream (fixed_fd, fixed_ssl); later ones are closed. */
	bool fixed;
	int fixed_fd;
	SSL *fixed_ssl;
	LIST_ENTRY(relay_rule) link;
};

struct relay_conn;

struct cella_relay {
	uv_loop_t *loop;
	struct cella_relay_opts opts;
	struct cella_relay_stats stats;
	uint64_t next_id;
	LIST_HEAD(, relay_rule) rules;
	LIST_HEAD(, relay_conn) conns;
	unsigned pending_closes; /* handles whose close callback is due */
	bool closing;
	void (*drained)(void *);
	void *drained_arg;
	void (*closed)(void *);
	void *closed_arg;
	uint64_t refused_logged_at;
	uint64_t refused_unlogged;
};

struct relay_side {
	int fd;
	SSL *ssl; /* a TLS side: always the copy path */
	uv_poll_t poll;
	bool poll_init;
	int events;
	struct relay_conn *conn;
};

struct relay_dir {
	int pipe[2]; /* splice mode, created on first use */
	size_t pipe_cap;
	uint8_t *buf; /* copy mode, allocated on first use */
	size_t buf_cap, off;
	size_t pending; /* read from the source, not yet written */
	bool copy;	/* copying through buf, not splicing */
	bool adaptive;	/* copying only until the traffic turns out bulk */
	bool to_splice; /* bulk: splice once the buffer is written out */
	bool eof;	/* the source sent EOF */
	bool shut;	/* the destination got SHUT_WR */
	bool blocked;	/* the last write would have blocked */
	bool rd_wants_wr; /* TLS: the source must be writable to read on */
	bool wr_wants_rd; /* TLS: the destination must be readable first */
	bool grow;	/* the last read filled the pipe */
	bool drained;	/* the last read emptied a source poll can see */
	unsigned full_reads;
	uint64_t bytes;
};

enum conn_state {
	CONN_RESOLVING,
	CONN_CONNECTING,
	CONN_RELAYING,
	CONN_CLOSING,
};

struct relay_conn {
	struct cella_relay *relay;
	struct relay_rule *rule;
	uint64_t id;
	enum conn_state state;
	struct relay_side side[2];
	struct relay_dir dir[2];
	uv_timer_t idle;
	uv_timer_t retry; /* a unix target's backlog was full */
	bool retry_init;
	unsigned retries;
	struct sockaddr_storage target;
	socklen_t target_len;
	uv_getaddrinfo_t gai;
	bool gai_pending;
	unsigned handles;
	uint64_t started, last_active;
	LIST_ENTRY(relay_conn) link;
};


/* relay_dir.c: move bytes from side d to side !d until the source is
 * empty, the destination full, or it is another connection's turn; at EOF
 * with nothing pending, half-close the destination. 0 or -errno. */
int dir_pump(struct relay_conn *c, int d);
/* Give back a direction's pipe and buffer. */
void dir_release(struct relay_dir *dir);

/* Start relaying fd (accepted on rule); takes ownership of fd. */
void relay_conn_start(struct relay_rule *rule, int fd);
/* Relay two established endpoints; takes the fds and SSLs in any case. */
int relay_conn_join(struct cella_relay *r, const char *tag, int fd_a,
		    SSL *ssl_a, int fd_b, SSL *ssl_b);
/* Close conn at once (relay shutdown). */
void relay_conn_abort(struct relay_conn *c);
/* A connection or rule handle finished closing. */
void relay_handle_closed(struct cella_relay *r);
/* A connection ended: stats and the drained callback. */
void relay_conn_ended(struct cella_relay *r);

#endif
