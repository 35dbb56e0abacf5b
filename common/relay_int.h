/*
 * relay_int: what relay.c (rules, listeners, lifecycle) and relay_conn.c
 * (one connection's two directions) share. Not part of the contract.
 */
#ifndef CELLA_RELAY_INT_H
#define CELLA_RELAY_INT_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <sys/queue.h>

#include "common/addr.h"
#include "common/relay.h"

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
