/*
 * relay_conn: one relayed connection's life: reaching the target (name
 * resolution, non-blocking connect, retries on a full unix backlog), poll
 * interest, idle timeout, and closing. Two sides (0: the accepted client,
 * 1: the target) and two directions (d reads side d and writes side !d,
 * relay_dir.c). Poll interest is recomputed from the directions' state
 * after every event, so there is no other state to keep in sync.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/core/err.h"
#include "common/core/log.h"
#include "common/net/relay_int.h"

/* A unix listener with a full backlog refuses with EAGAIN instead of
 * queueing us: try again every 10 ms, for a second at most. */
#define RETRY_MS 10
#define RETRY_MAX 100

static void conn_poll_cb(uv_poll_t *h, int status, int events);
static void conn_close(struct relay_conn *c, const char *reason, int err);
static void conn_free(struct relay_conn *c);

/* --- the connection ----------------------------------------------------- */

static void
side_watch(struct relay_side *s, int events)
{
	if (events == s->events || !s->poll_init)
		return;
	if (events != 0)
		uv_poll_start(&s->poll, events, conn_poll_cb);
	else
		uv_poll_stop(&s->poll);
	s->events = events;
}

/* Poll interest follows from the two directions' state. */
static void
conn_watch(struct relay_conn *c)
{
	for (int s = 0; s < 2; s++) {
		const struct relay_dir *in = &c->dir[s], *out = &c->dir[!s];
		int ev = 0;

		/* TLS turns the wait around when it must talk first. */
		if (!in->eof && !in->blocked)
			ev |= in->rd_wants_wr ? UV_WRITABLE : UV_READABLE;
		if (out->blocked)
			ev |= out->wr_wants_rd ? UV_READABLE : UV_WRITABLE;
		side_watch(&c->side[s], ev);
	}
}

static void
conn_pump(struct relay_conn *c, int d)
{
	int rv = dir_pump(c, d);

	if (rv < 0) {
		conn_close(c, rv == -ECONNRESET || rv == -EPIPE ? "reset"
								: "error",
			   rv);
		return;
	}
	if (c->dir[0].shut && c->dir[1].shut) {
		conn_close(c, "eof", 0);
		return;
	}
	conn_watch(c);
}

static void
conn_relaying(struct relay_conn *c)
{
	c->state = CONN_RELAYING;
	c->side[1].events = 0;
	conn_pump(c, 0);
	if (c->state == CONN_RELAYING)
		conn_pump(c, 1);
}

static void
conn_poll_cb(uv_poll_t *h, int status, int events)
{
	struct relay_side *s = h->data;
	struct relay_conn *c = s->conn;
	int idx = s == &c->side[0] ? 0 : 1;

	if (c->state == CONN_CLOSING)
		return;
	if (status < 0) {
		conn_close(c, "error", status);
		return;
	}
	if (c->state == CONN_CONNECTING) {
		int rv = cella_addr_connect_result(s->fd);

		if (rv < 0) {
			c->relay->stats.failed++;
			conn_close(c, "upstream", rv);
			return;
		}
		uv_poll_stop(&s->poll);
		conn_relaying(c);
		return;
	}
	if (c->side[0].ssl != NULL || c->side[1].ssl != NULL) {
		/* With TLS either event may serve either direction. */
		conn_pump(c, idx);
		if (c->state == CONN_RELAYING)
			conn_pump(c, !idx);
		return;
	}
	if (events & UV_READABLE)
		conn_pump(c, idx);
	if ((events & UV_WRITABLE) && c->state == CONN_RELAYING)
		conn_pump(c, !idx);
}

/* Watch fd as side idx; takes ownership of fd (closed on failure). */
static int
side_open(struct relay_conn *c, int idx, int fd)
{
	struct relay_side *s = &c->side[idx];
	int rv;

	s->conn = c;
	rv = uv_poll_init(c->relay->loop, &s->poll, fd);
	if (rv < 0) {
		close(fd);
		return rv;
	}
	s->fd = fd;
	s->poll.data = s;
	s->poll_init = true;
	c->handles++;
	return 0;
}

static void conn_connect(struct relay_conn *c);

static void
conn_retry_cb(uv_timer_t *t)
{
	conn_connect(t->data);
}

/* Schedule another connect attempt; false when out of attempts. */
static bool
conn_retry(struct relay_conn *c)
{
	if (c->retries++ >= RETRY_MAX)
		return false;
	if (!c->retry_init) {
		uv_timer_init(c->relay->loop, &c->retry);
		c->retry.data = c;
		c->retry_init = true;
		c->handles++;
	}
	uv_timer_start(&c->retry, conn_retry_cb, RETRY_MS, 0);
	return true;
}

static void
conn_connect(struct relay_conn *c)
{
	const struct sockaddr *sa = (const struct sockaddr *)&c->target;
	int fd, one = 1, rv;
	bool connected;

	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0) {
		rv = -errno;
		goto fail;
	}
	if (sa->sa_family == AF_INET || sa->sa_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	rv = connect(fd, sa, c->target_len) == 0 ? 0 : -errno;
	connected = rv == 0;
	if (rv == -EAGAIN && sa->sa_family == AF_UNIX) {
		close(fd);
		if (conn_retry(c))
			return;
		goto fail;
	}
	if (rv < 0 && rv != -EINPROGRESS) {
		close(fd);
		goto fail;
	}
	if ((rv = side_open(c, 1, fd)) < 0)
		goto fail;
	if (connected) {
		conn_relaying(c);
		return;
	}
	c->state = CONN_CONNECTING;
	c->side[1].events = UV_WRITABLE;
	uv_poll_start(&c->side[1].poll, UV_WRITABLE, conn_poll_cb);
	return;
fail:
	c->relay->stats.failed++;
	conn_close(c, "upstream", rv);
}

static void
conn_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	struct relay_conn *c = req->data;

	c->gai_pending = false;
	if (c->state == CONN_CLOSING) {
		/* conn_close cancelled us; the free waited for this callback. */
		uv_freeaddrinfo(res);
		if (c->handles == 0)
			conn_free(c);
		return;
	}
	if (status < 0 || res == NULL) {
		c->relay->stats.failed++;
		conn_close(c, "resolve", -EHOSTUNREACH);
	} else {
		memcpy(&c->target, res->ai_addr, res->ai_addrlen);
		c->target_len = res->ai_addrlen;
		conn_connect(c);
	}
	uv_freeaddrinfo(res);
}

static void
conn_target(struct relay_conn *c)
{
	const struct cella_addr *t = &c->rule->target;
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM};
	char port[8];
	int rv;

	rv = cella_addr_sockaddr(t, &c->target, &c->target_len, NULL);
	if (rv == 0) {
		conn_connect(c);
		return;
	}
	if (rv == -EAGAIN) {
		snprintf(port, sizeof(port), "%u", t->port);
		c->gai.data = c;
		rv = uv_getaddrinfo(c->relay->loop, &c->gai, conn_resolved,
				    t->host, port, &hints);
		if (rv == 0) {
			c->gai_pending = true;
			return;
		}
	}
	c->relay->stats.failed++;
	conn_close(c, "upstream", rv < 0 ? rv : -EINVAL);
}

static void
conn_idle_cb(uv_timer_t *t)
{
	struct relay_conn *c = t->data;
	uint64_t now = uv_now(c->relay->loop);
	uint64_t limit = c->relay->opts.idle_timeout_ms;

	if (now - c->last_active >= limit) {
		conn_close(c, "idle", -ETIMEDOUT);
		return;
	}
	uv_timer_start(&c->idle, conn_idle_cb, limit - (now - c->last_active),
		       0);
}

static void
conn_free(struct relay_conn *c)
{
	struct cella_relay *r = c->relay;

	for (int i = 0; i < 2; i++) {
		SSL_free(c->side[i].ssl);
		if (c->side[i].fd >= 0)
			close(c->side[i].fd);
		dir_release(&c->dir[i]);
	}
	free(c);
	relay_handle_closed(r);
}

static void
conn_handle_closed(uv_handle_t *h)
{
	struct relay_conn *c = h->type == UV_POLL
				       ? ((struct relay_side *)h->data)->conn
				       : h->data;

	if (--c->handles == 0 && !c->gai_pending)
		conn_free(c);
}

static void
conn_close(struct relay_conn *c, const char *reason, int err)
{
	struct cella_relay *r = c->relay;

	if (c->state == CONN_CLOSING)
		return;
	c->state = CONN_CLOSING;
	LIST_REMOVE(c, link);
	r->stats.open--;
	r->stats.closed++;
	r->pending_closes++;
	if (strcmp(reason, "upstream") == 0 || strcmp(reason, "resolve") == 0)
		cella_log_warn("upstream_failed", "conn=%llu target=%s err=%s",
			       (unsigned long long)c->id,
			       c->rule != NULL ? c->rule->target_url : "-",
			       cella_errname(err));
	cella_log_debug("conn_close",
			"conn=%llu reason=%s up=%llu down=%llu ms=%llu err=%s",
			(unsigned long long)c->id, reason,
			(unsigned long long)c->dir[0].bytes,
			(unsigned long long)c->dir[1].bytes,
			(unsigned long long)(uv_now(r->loop) - c->started),
			err < 0 ? cella_errname(err) : "-");
	if (err < 0 && strcmp(reason, "reset") == 0) {
		/* Pass the reset on rather than a clean EOF. */
		struct linger lg = {.l_onoff = 1, .l_linger = 0};

		for (int i = 0; i < 2; i++)
			if (c->side[i].fd >= 0)
				(void)setsockopt(c->side[i].fd, SOL_SOCKET,
						 SO_LINGER, &lg, sizeof(lg));
	}
	for (int i = 0; i < 2; i++)
		if (c->side[i].poll_init)
			uv_close((uv_handle_t *)&c->side[i].poll,
				 conn_handle_closed);
	uv_close((uv_handle_t *)&c->idle, conn_handle_closed);
	if (c->retry_init)
		uv_close((uv_handle_t *)&c->retry, conn_handle_closed);
	if (c->gai_pending)
		uv_cancel((uv_req_t *)&c->gai);
	relay_conn_ended(r);
}

/* A new connection on r, listed and counted, with its idle timer. */
static struct relay_conn *
conn_new(struct cella_relay *r, struct relay_rule *rule, const char *tag)
{
	struct relay_conn *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->relay = r;
	c->rule = rule;
	c->id = ++r->next_id;
	c->started = c->last_active = uv_now(r->loop);
	for (int i = 0; i < 2; i++) {
		c->side[i].fd = -1;
		c->dir[i].pipe[0] = c->dir[i].pipe[1] = -1;
		/* Every direction starts copying; bulk moves it to splice
		 * unless copying is forced. */
		c->dir[i].copy = true;
		c->dir[i].adaptive = !r->opts.copy;
	}
	c->state = CONN_RESOLVING;
	LIST_INSERT_HEAD(&r->conns, c, link);
	r->stats.open++;
	r->stats.accepted++;
	uv_timer_init(r->loop, &c->idle);
	c->idle.data = c;
	c->handles++;
	if (r->opts.idle_timeout_ms > 0)
		uv_timer_start(&c->idle, conn_idle_cb, r->opts.idle_timeout_ms,
			       0);
	cella_log_debug("conn_open", "conn=%llu rule=%s",
			(unsigned long long)c->id, tag);
	return c;
}

void
relay_conn_start(struct relay_rule *rule, int fd)
{
	struct relay_conn *c = conn_new(rule->relay, rule, rule->listen_url);

	if (c == NULL) {
		close(fd);
		return;
	}
	if (side_open(c, 0, fd) < 0) {
		conn_close(c, "error", -EIO);
		return;
	}
	conn_target(c);
}

int
relay_conn_join(struct cella_relay *r, const char *tag, int fd_a, SSL *ssl_a,
		int fd_b, SSL *ssl_b)
{
	struct relay_conn *c = conn_new(r, NULL, tag);
	int rv;

	if (c == NULL) {
		SSL_free(ssl_a);
		SSL_free(ssl_b);
		close(fd_a);
		close(fd_b);
		return -ENOMEM;
	}
	c->side[0].ssl = ssl_a;
	c->side[1].ssl = ssl_b;
	for (int i = 0; i < 2; i++)
		if (ssl_a != NULL || ssl_b != NULL)
			c->dir[i].adaptive = false; /* TLS: always copy */
	rv = side_open(c, 0, fd_a);
	if (rv < 0) {
		close(fd_b);
		conn_close(c, "error", rv);
		return rv;
	}
	if ((rv = side_open(c, 1, fd_b)) < 0) {
		conn_close(c, "error", rv);
		return rv;
	}
	conn_relaying(c);
	return 0;
}

void
relay_conn_abort(struct relay_conn *c)
{
	conn_close(c, "shutdown", 0);
}
