/*
 * relay_dir: one direction of a relayed connection: bytes read from side d
 * and written to side !d, through a pipe (splice: no copy) or one buffer
 * (copy: when splice is refused, or a side speaks TLS). A direction holds
 * at most one pipe or buffer of bytes read but not yet written, and its
 * source is not read while they cannot be written: the whole of the
 * backpressure. It does not know about polling or connection state; those
 * are relay_conn.c's.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/core/err.h"
#include "common/net/relay_int.h"

/* Rounds of read+write per event before yielding to other connections. */
#define PUMP_ROUNDS 16
/* The copy buffer a direction starts with, and how many reads in a row
 * must fill it before the direction is bulk and goes to splice. */
#define RELAY_START_BUF (16u << 10)
#define RELAY_BULK_READS 2


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
	dir->buf_cap = dir->adaptive ? RELAY_START_BUF : c->relay->opts.buf_bytes;
	dir->buf = malloc(dir->buf_cap);
	return dir->buf != NULL ? 0 : -ENOMEM;
}

/* Count reads that filled the small buffer: bulk traffic goes to splice. */
static void
dir_note_read(struct relay_dir *dir, size_t n)
{
	if (!dir->adaptive)
		return;
	if (n < dir->buf_cap) {
		dir->full_reads = 0;
		return;
	}
	if (++dir->full_reads >= RELAY_BULK_READS)
		dir->to_splice = true;
}

/* Called with nothing pending: leave the copy path for splice. */
static void
dir_go_splice(struct relay_dir *dir)
{
	free(dir->buf);
	dir->buf = NULL;
	dir->buf_cap = 0;
	dir->copy = false;
	dir->adaptive = false;
	dir->to_splice = false;
	dir->full_reads = 0;
}

void
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
	dir->adaptive = false;
	dir->to_splice = false;
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

/*
 * SSL_read's outcome as read(2) would put it; sets rd_wants_wr. One call
 * returns at most one record (16 KiB), so records are read until the
 * buffer is full or TLS would block: the plain side then gets one large
 * write instead of one per record. A failure after some bytes is returned
 * next time: TLS repeats it (close_notify and fatal errors are sticky, a
 * wanted read or write is asked again).
 */
static ssize_t
tls_read(struct relay_dir *dir, SSL *ssl)
{
	size_t n = 0, got = 0;
	int e;

	dir->rd_wants_wr = false;
	while (got < dir->buf_cap &&
	       SSL_read_ex(ssl, dir->buf + got, dir->buf_cap - got, &n) == 1)
		got += n;
	if (got == dir->buf_cap)
		return (ssize_t)got;
	e = SSL_get_error(ssl, 0);
	/* Only a wanted read leaves nothing that poll would not signal. */
	dir->drained = got > 0 && e == SSL_ERROR_WANT_READ;
	if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE &&
	    e != SSL_ERROR_ZERO_RETURN)
		cella_err_ssl(0, NULL, 0); /* consumed here, sticky in TLS */
	if (got > 0)
		return (ssize_t)got;
	switch (e) {
	case SSL_ERROR_WANT_READ:
		return -EAGAIN;
	case SSL_ERROR_WANT_WRITE:
		dir->rd_wants_wr = true;
		return -EAGAIN;
	case SSL_ERROR_ZERO_RETURN:
		return 0; /* close_notify: a clean end of this direction */
	default:
		/* EOF without close_notify is a truncation, not an end. */
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
		dir->drained = n > 0 && (size_t)n < dir->pipe_cap;
		if (n >= 0 || errno != EINVAL)
			goto out;
		if ((rv = dir_to_copy(c, dir)) < 0)
			return rv;
	}
	if (dir->buf == NULL && (rv = dir_setup_buf(c, dir)) < 0)
		return rv;
	n = read(src, dir->buf, dir->buf_cap);
	dir->off = 0;
	dir->drained = n > 0 && (size_t)n < dir->buf_cap;
	if (n > 0)
		dir_note_read(dir, (size_t)n);
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
	if (dir->to_splice)
		dir_go_splice(dir);
	if (dir->grow) {
		/* The pipe is empty now: the only moment it may be resized
		 * without the kernel refusing a shrink below its contents. */
		dir->grow = false;
		dir_grow_pipe(c, dir);
	}
	return 0;
}

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

/*
 * Move bytes from side d to side !d until the source is empty, the
 * destination is full, or PUMP_ROUNDS have passed (level-triggered polling
 * brings us back). At EOF with nothing pending, half-close the destination.
 */
int
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
		/* A short read emptied the source: reading again would only
		 * say EAGAIN. Polling is level-triggered, so more bytes or
		 * an EOF bring us back. */
		if (dir->drained) {
			dir->drained = false;
			return 0;
		}
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
