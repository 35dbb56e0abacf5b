/*
 * relay_conn: one relayed connection. Two sides (0: the accepted client,
 * 1: the target) and two directions (d reads side d and writes side !d).
 * A direction holds at most one pipe (splice) or one buffer (copy) of bytes
 * read but not yet written; while they cannot be written, its source is not
 * read, which is the whole of the backpressure. Poll interest is recomputed
 * from the directions' state after every event, so there is no other state
 * to keep in sync.
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

#include "common/err.h"
#include "common/log.h"
#include "common/relay_int.h"

/* Rounds of read+write per event before yielding to other connections. */
#define PUMP_ROUNDS 16
/* A unix listener with a full backlog refuses with EAGAIN instead of
 * queueing us: try again every 10 ms, for a second at most. */
#define RETRY_MS 10
#define RETRY_MAX 100

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
	bool copy;	/* splice is not possible for this pair */
	bool eof;	/* the source sent EOF */
	bool shut;	/* the destination got SHUT_WR */
	bool blocked;	/* the last write would have blocked */
	bool rd_wants_wr; /* TLS: the source must be writable to read on */
	bool wr_wants_rd; /* TLS: the destination must be readable first */
	bool grow;	/* the last read filled the pipe */
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

static void conn_poll_cb(uv_poll_t *h, int status, int events);
static void conn_close(struct relay_conn *c, const char *reason, int err);
static void conn_free(struct relay_conn *c);

/* --- one direction ------------------------------------------------------ */

static int
dir_setup_pipe(struct relay_dir *dir)
{
	int sz;

	if (pipe2(dir->pipe, O_NONBLOCK | O_CLOEXEC) < 0)
		return -errno;
	sz = fcntl(dir->pipe[1], F_GETPIPE_SZ);
	dir->pipe_cap = sz > 0 ? (size_t)sz : 65536;
	return 0;
}

/*
 * Pipes start at the kernel's default size. A direction that keeps filling
 * its pipe is a bulk transfer: give it a bigger pipe (fewer syscalls per
 * byte) up to pipe_bytes. Interactive and idle connections never pay for
 * big pipes, which also count against the user's pipe page limit.
 */
static void
dir_grow_pipe(struct relay_conn *c, struct relay_dir *dir)
{
	size_t max = c->relay->opts.pipe_bytes;
	int sz;

	if (dir->pipe_cap >= max || ++dir->full_reads < 4)
		return;
	dir->full_reads = 0;
	sz = fcntl(dir->pipe[1], F_SETPIPE_SZ, (int)(dir->pipe_cap * 4 > max
							 ? max
							 : dir->pipe_cap * 4));
	if (sz > 0)
		dir->pipe_cap = (size_t)sz;
	else
		dir->pipe_cap = max; /* refused (limits): stop asking */
}

static int
dir_setup_buf(struct relay_conn *c, struct relay_dir *dir)
{
	dir->buf_cap = c->relay->opts.buf_bytes;
	dir->buf = malloc(dir->buf_cap);
	return dir->buf != NULL ? 0 : -ENOMEM;
}

static void
dir_release(struct relay_dir *dir)
{
	for (int i = 0; i < 2; i++)
		if (dir->pipe[i] >= 0) {
			close(dir->pipe[i]);
			dir->pipe[i] = -1;
		}
	free(dir->buf);
	dir->buf = NULL;
}

/*
 * Splice is refused (EINVAL) by some socket types; fall back to copying.
 * Bytes already in the pipe move to the buffer first so none are lost.
 */
static int
dir_to_copy(struct relay_conn *c, struct relay_dir *dir)
{
	ssize_t n;
	int rv;

	dir->copy = true;
	if (dir->buf == NULL && (rv = dir_setup_buf(c, dir)) < 0)
		return rv;
	dir->off = 0;
	if (dir->pending > 0) {
		n = read(dir->pipe[0], dir->buf, dir->pending);
		if (n != (ssize_t)dir->pending)
			return -EIO;
	}
	for (int i = 0; i < 2; i++) {
		if (dir->pipe[i] >= 0)
			close(dir->pipe[i]);
		dir->pipe[i] = -1;
	}
	return 0;
}

/* SSL_read's outcome as read(2) would put it; sets rd_wants_wr. */
static ssize_t
tls_read(struct relay_dir *dir, SSL *ssl)
{
	size_t n = 0;

	dir->rd_wants_wr = false;
	if (SSL_read_ex(ssl, dir->buf, dir->buf_cap, &n) == 1)
		return (ssize_t)n;
	switch (SSL_get_error(ssl, 0)) {
	case SSL_ERROR_WANT_READ:
		return -EAGAIN;
	case SSL_ERROR_WANT_WRITE:
		dir->rd_wants_wr = true;
		return -EAGAIN;
	case SSL_ERROR_ZERO_RETURN:
		return 0; /* close_notify: a clean end of this direction */
	default:
		/* EOF without close_notify is a truncation, not an end. */
		cella_err_ssl(0, NULL, 0);
		return -ECONNRESET;
	}
}

/* Read from src into the empty pipe or buffer: >0, 0 at EOF, or -errno. */
static ssize_t
dir_read(struct relay_conn *c, struct relay_dir *dir, struct relay_side *sd)
{
	int src = sd->fd;
	ssize_t n;
	int rv;

	if (sd->ssl != NULL) {
		if (dir->buf == NULL && (rv = dir_setup_buf(c, dir)) < 0)
			return rv;
		dir->off = 0;
		n = tls_read(dir, sd->ssl);
		if (n < 0)
			return n;
		dir->pending = (size_t)n;
		if (n > 0)
			c->last_active = uv_now(c->relay->loop);
		return n;
	}
	if (!dir->copy) {
		if (dir->pipe[0] < 0 && (rv = dir_setup_pipe(dir)) < 0)
			return rv;
		n = splice(src, NULL, dir->pipe[1], NULL, dir->pipe_cap,
			   SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
		if (n == (ssize_t)dir->pipe_cap)
			dir->grow = true;
		if (n >= 0 || errno != EINVAL)
			goto out;
		if ((rv = dir_to_copy(c, dir)) < 0)
			return rv;
	}
	if (dir->buf == NULL && (rv = dir_setup_buf(c, dir)) < 0)
		return rv;
	n = read(src, dir->buf, dir->buf_cap);
	dir->off = 0;
out:
	if (n < 0)
		return errno == EINTR ? -EAGAIN : -errno;
	dir->pending = (size_t)n;
	if (n > 0)
		c->last_active = uv_now(c->relay->loop);
	return n;
}

/* SSL_write's outcome as write(2) would put it; sets wr_wants_rd. */
static ssize_t
tls_write(struct relay_dir *dir, SSL *ssl)
{
	size_t n = 0;

	dir->wr_wants_rd = false;
	if (SSL_write_ex(ssl, dir->buf + dir->off, dir->pending, &n) == 1)
		return (ssize_t)n;
	switch (SSL_get_error(ssl, 0)) {
	case SSL_ERROR_WANT_WRITE:
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_WANT_READ:
		dir->wr_wants_rd = true;
		errno = EAGAIN;
		return -1;
	default:
		cella_err_ssl(0, NULL, 0);
		errno = ECONNRESET;
		return -1;
	}
}

/* Write all pending bytes to dst: 0, -EAGAIN (blocked) or -errno. */
static int
dir_write(struct relay_conn *c, struct relay_dir *dir, struct relay_side *sd)
{
	int dst = sd->fd;
	ssize_t n;
	int rv;

	while (dir->pending > 0) {
		if (sd->ssl != NULL) {
			n = tls_write(dir, sd->ssl);
		} else if (!dir->copy) {
			n = splice(dir->pipe[0], NULL, dst, NULL, dir->pending,
				   SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
			if (n < 0 && errno == EINVAL) {
				if ((rv = dir_to_copy(c, dir)) < 0)
					return rv;
				continue;
			}
		} else {
			n = send(dst, dir->buf + dir->off, dir->pending,
				 MSG_NOSIGNAL);
			if (n < 0 && errno == ENOTSOCK)
				n = write(dst, dir->buf + dir->off,
					  dir->pending);
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		dir->pending -= (size_t)n;
		dir->off += (size_t)n;
		dir->bytes += (uint64_t)n;
		c->last_active = uv_now(c->relay->loop);
	}
	if (dir->grow) {
		/* The pipe is empty now: the only moment it may be resized
		 * without the kernel refusing a shrink below its contents. */
		dir->grow = false;
		dir_grow_pipe(c, dir);
	}
	return 0;
}

/*
 * Move bytes from side d to side !d until the source is empty, the
 * destination is full, or PUMP_ROUNDS have passed (level-triggered polling
 * brings us back). At EOF with nothing pending, half-close the destination.
 */
/*
 * Half-close the destination: TLS first says close_notify (the peer may
 * go on sending, TLS 1.3 allows it), then the socket's write side.
 */
static int
dir_shut(struct relay_dir *dir, struct relay_side *dst)
{
	if (dst->ssl != NULL && SSL_shutdown(dst->ssl) < 0) {
		int e = SSL_get_error(dst->ssl, -1);

		cella_err_ssl(0, NULL, 0);
		if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ) {
			dir->blocked = true;
			dir->wr_wants_rd = e == SSL_ERROR_WANT_READ;
			return 0;
		}
		return -ECONNRESET;
	}
	(void)shutdown(dst->fd, SHUT_WR);
	dir->shut = true;
	dir_release(dir);
	return 0;
}

static int
dir_pump(struct relay_conn *c, int d)
{
	struct relay_dir *dir = &c->dir[d];
	struct relay_side *src = &c->side[d], *dst = &c->side[!d];
	ssize_t n;
	int rv;

	/* TLS may hold decrypted bytes the socket no longer signals: a TLS
	 * source is read until it says it would block. */
	for (int round = 0; round < PUMP_ROUNDS || src->ssl != NULL; round++) {
		rv = dir_write(c, dir, dst);
		dir->blocked = rv == -EAGAIN;
		if (dir->blocked)
			return 0;
		if (rv < 0)
			return rv;
		if (dir->eof)
			break;
		n = dir_read(c, dir, src);
		if (n == -EAGAIN)
			return 0;
		if (n < 0)
			return (int)n;
		if (n == 0)
			dir->eof = true;
	}
	if (dir->eof && dir->pending == 0 && !dir->shut)
		return dir_shut(dir, dst);
	return 0;
}

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
		c->dir[i].copy = r->opts.copy;
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
		c->dir[i].copy |= ssl_a != NULL || ssl_b != NULL;
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
