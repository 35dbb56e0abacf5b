/*
 * bridge_conn: one bridge connection from its accept until the relay takes
 * it. Everything an unauthenticated peer can make the bridge do happens
 * here, on the loop, without blocking: waiting for its first byte (a short
 * deadline), the TLS handshake and the hello (one deadline from the
 * accept), the operator's authorization, and the refusal of a hello or an
 * operator, whose reason is always sent before the stream ends. Only an
 * admitted operator's connection goes on to a worker, where the service
 * calls and the rest of the exchange run with blocking semantics (the
 * exchange's own deadline bounds them), and comes back to be joined to
 * its session in the relay. Which connection to drop when too many are
 * pending is bridge.c's decision, not this file's.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/core/log.h"
#include "common/bridge/tls.h"
#include "services/pf-proxy/bridge_int.h"

/* A refusal's frame and the peer's EOF get this long, at most. */
#define REFUSE_MS 1000

static void bconn_step(struct pfp_bconn *c);
static void bconn_step_cb(uv_poll_t *h, int status, int events);
static void bconn_on_timer(uv_timer_t *t);

static void
bconn_free(struct pfp_bconn *c)
{
	struct pfp_bridge *b = c->b;

	TAILQ_REMOVE(&b->conns, c, link);
	b->nconns--;
	cella_atls_reader_fini(&c->rd);
	cella_buf_fini(&c->out);
	SSL_free(c->ssl);
	if (c->fd >= 0)
		close(c->fd);
	if (c->sfd >= 0)
		close(c->sfd);
	free(c);
}

static void
bconn_unref(struct pfp_bconn *c)
{
	if (--c->refs == 0)
		bconn_free(c);
}

static void
bconn_handle_closed(uv_handle_t *h)
{
	bconn_unref(h->data);
}

/* Leave the loop's phases: poll and timer close (the fd stays open). */
static void
bconn_close_handles(struct pfp_bconn *c)
{
	uv_close((uv_handle_t *)&c->poll, bconn_handle_closed);
	uv_close((uv_handle_t *)&c->timer, bconn_handle_closed);
}

static void __attribute__((format(printf, 4, 5)))
bconn_log(struct pfp_bconn *c, bool warn, const char *evt, const char *fmt,
	  ...)
{
	char what[600];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (warn)
		cella_log_warn(evt, "conn=%llu listen=%s %s",
			       (unsigned long long)c->id, c->rule->listen, what);
	else
		cella_log_info(evt, "conn=%llu listen=%s %s",
			       (unsigned long long)c->id, c->rule->listen, what);
}

/* End a connection still in the loop's phases; the log line is the
 * caller's. */
static void
bconn_finish(struct pfp_bconn *c)
{
	if (c->state >= BC_WORK)
		return;
	c->state = BC_CLOSING;
	bconn_close_handles(c);
}

static void
bconn_deadline(struct pfp_bconn *c, uint64_t ms_from_now)
{
	uv_timer_start(&c->timer, bconn_on_timer, ms_from_now, 0);
}

/* What is left of ms counted from the accept (at least 1). */
static uint64_t
bconn_left(const struct pfp_bconn *c, uint64_t ms)
{
	uint64_t now = uv_now(c->b->loop), end = c->accepted_ms + ms;

	return end > now ? end - now : 1;
}

static void
bconn_watch(struct pfp_bconn *c, int ssl_want)
{
	uv_poll_start(&c->poll,
		      ssl_want == SSL_ERROR_WANT_WRITE ? UV_WRITABLE
						       : UV_READABLE,
		      bconn_step_cb);
}

/* --- refusals ------------------------------------------------------------ */

/*
 * Tell the peer why, as the refusal frame of proto/bridge.md, then close
 * once it has read it (its EOF) or REFUSE_MS passed: closing with its
 * bytes unread could turn into a reset that loses the frame.
 */
static void
bconn_refuse(struct pfp_bconn *c, bool unavailable, const char *reason)
{
	c->state = BC_REFUSING;
	c->out_off = 0;
	cella_buf_init(&c->out, CELLA_ATLS_FRAME_MAX + 4);
	if (cella_atls_error_frame(reason, unavailable, &c->out) < 0) {
		bconn_finish(c);
		return;
	}
	bconn_deadline(c, REFUSE_MS);
	bconn_step(c);
}

static void
bconn_refusing(struct pfp_bconn *c)
{
	char sink[512];
	ssize_t n;

	while (c->out_off < c->out.len) {
		size_t k = 0;
		int e;

		if (SSL_write_ex(c->ssl, c->out.p + c->out_off,
				 c->out.len - c->out_off, &k) == 1) {
			c->out_off += k;
			if (c->out_off == c->out.len) {
				(void)SSL_shutdown(c->ssl);
				(void)shutdown(c->fd, SHUT_WR);
			}
			continue;
		}
		e = SSL_get_error(c->ssl, 0);
		cella_err_ssl(0, NULL, 0);
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
			bconn_finish(c);
			return;
		}
		bconn_watch(c, e);
		return;
	}
	/* Written: what the peer still sends is dropped until its EOF. */
	while ((n = read(c->fd, sink, sizeof(sink))) > 0)
		;
	if (n == 0 || errno != EAGAIN)
		bconn_finish(c);
	else
		bconn_watch(c, SSL_ERROR_WANT_READ);
}

/* --- before the operator is known ----------------------------------------- */

static int
bconn_tls(struct pfp_bconn *c)
{
	char why[256];
	int rv, e;

	if (c->ssl == NULL) {
		/* The first byte is in: the rest has until hello_ms. */
		if ((c->ssl = SSL_new(c->b->ctx)) == NULL ||
		    !SSL_set_fd(c->ssl, c->fd)) {
			cella_err_ssl(0, NULL, 0);
			bconn_log(c, true, "bridge_failed", "reason=%s",
				  cella_q("out of memory"));
			bconn_finish(c);
			return -ENOMEM;
		}
		c->state = BC_TLS;
		bconn_deadline(c, bconn_left(c, c->b->o.hello_ms));
	}
	if ((rv = SSL_accept(c->ssl)) == 1) {
		c->state = BC_HELLO;
		return 0;
	}
	e = SSL_get_error(c->ssl, rv);
	if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
		bconn_watch(c, e);
		return -EAGAIN;
	}
	cella_err_ssl(-EPROTO, why, sizeof(why));
	bconn_log(c, true, "bridge_failed", "reason=%s",
		  cella_q(e == SSL_ERROR_SYSCALL || e == SSL_ERROR_ZERO_RETURN
				  ? "the peer left during the TLS handshake"
				  : why));
	bconn_finish(c);
	return -EPROTO;
}

static void bconn_to_work(struct pfp_bconn *c);

/* The hello is in: whose key, and what it may do here. */
static void
bconn_admit(struct pfp_bconn *c)
{
	uint8_t key[32];

	if (cella_tls_peer_ed25519(c->ssl, key) < 0)
		cella_diag_set(&c->d, -EACCES, "unknown operator (not an "
					       "Ed25519 certificate)");
	else if (pfp_bridge_authorize(c, key, &c->d) == 0) {
		bconn_to_work(c);
		return;
	}
	bconn_log(c, true, "bridge_refused", "operator=%s reason=%s",
		  cella_q(c->op.name[0] ? c->op.name : NULL),
		  cella_q(c->d.msg));
	bconn_refuse(c, false, c->d.msg);
}

static void
bconn_hello(struct pfp_bconn *c)
{
	int want = 0, rv = cella_atls_reader_step(&c->rd, c->ssl, &want, &c->d);
	bool framed = rv == 0;

	if (rv == -EAGAIN) {
		bconn_watch(c, want);
		return;
	}
	if (rv == 0)
		rv = cella_atls_hello_parse(c->rd.body, c->rd.len, c->nonce,
					    &c->d);
	if (rv == 0) {
		bconn_admit(c);
		return;
	}
	bconn_log(c, true, "bridge_bad_hello", "reason=%s", cella_q(c->d.msg));
	/* A peer that left, or whose TLS broke, can be told nothing more. */
	if (!framed && rv != -EMSGSIZE && rv != -ENOMEM)
		bconn_finish(c);
	else
		bconn_refuse(c, false, c->d.msg);
}

static void
bconn_step(struct pfp_bconn *c)
{
	switch (c->state) {
	case BC_IDLE:
	case BC_TLS:
		if (bconn_tls(c) < 0)
			return;
		bconn_hello(c);
		return;
	case BC_HELLO:
		bconn_hello(c);
		return;
	case BC_REFUSING:
		bconn_refusing(c);
		return;
	default:
		return;
	}
}

static void
bconn_step_cb(uv_poll_t *h, int status, int events)
{
	struct pfp_bconn *c = h->data;

	(void)events;
	if (status < 0) {
		bconn_log(c, false, "bridge_failed", "reason=%s",
			  cella_q(uv_strerror(status)));
		bconn_finish(c);
		return;
	}
	bconn_step(c);
}

static void
bconn_on_timer(uv_timer_t *t)
{
	struct pfp_bconn *c = t->data;
	uint64_t ms = uv_now(c->b->loop) - c->accepted_ms;

	switch (c->state) {
	case BC_IDLE:
		bconn_log(c, false, "bridge_timeout", "phase=first_byte ms=%llu",
			  (unsigned long long)ms);
		break;
	case BC_TLS:
		bconn_log(c, false, "bridge_timeout", "phase=tls ms=%llu",
			  (unsigned long long)ms);
		break;
	case BC_HELLO:
		cella_diag_set(&c->d, -ETIMEDOUT,
			       "no complete hello within %u ms (%zu bytes "
			       "came)",
			       c->b->o.hello_ms, c->rd.got);
		bconn_log(c, true, "bridge_bad_hello", "reason=%s",
			  cella_q(c->d.msg));
		bconn_refuse(c, false, c->d.msg);
		return;
	default:
		break;
	}
	bconn_finish(c);
}

/* --- an admitted operator, on a worker ------------------------------------ */

static void
work_run(uv_work_t *req)
{
	struct pfp_bconn *c = req->data;
	struct cella_atls_server_ops ops = pfp_bridge_ops;

	ops.arg = c;
	c->rv = cella_atls_serve_admitted(
		c->ssl, c->fd, &ops, c->nonce, &c->op,
		cella_atls_deadline(CELLA_ATLS_TIMEOUT_MS), &c->d);
	if (c->rv == 0)
		c->rv = pfp_bridge_connect_session(c);
}

static void
work_done(uv_work_t *req, int status)
{
	struct pfp_bconn *c = req->data;
	char roles[64], tag[64];

	if (status == UV_ECANCELED || (c->rv == 0 && c->b->stopping))
		c->rv = cella_diag_set(&c->d, -ECANCELED, "shutting down");
	c->state = BC_CLOSING;
	if (c->rv < 0) {
		bconn_log(c, true,
			  c->rv == -EACCES ? "bridge_refused" : "bridge_failed",
			  "operator=%s reason=%s", cella_q(c->op.name),
			  cella_q(c->d.msg));
		bconn_unref(c);
		return;
	}
	cella_roles_format(c->op.roles, roles, sizeof(roles));
	bconn_log(c, false, "bridge_open", "target=%s operator=%s roles=%s",
		  c->rule->target, cella_q(c->op.name), roles);
	snprintf(tag, sizeof(tag), "bridge-%llu", (unsigned long long)c->id);
	cella_relay_join(c->b->relay, tag, c->fd, c->ssl, c->sfd, NULL);
	c->fd = c->sfd = -1;
	c->ssl = NULL;
	bconn_unref(c);
}

/* The loop is done with c: its handles close, the worker takes it over. */
static void
bconn_to_work(struct pfp_bconn *c)
{
	c->state = BC_WORK;
	c->req.data = c;
	c->refs++;
	bconn_close_handles(c);
	if (uv_queue_work(c->b->loop, &c->req, work_run, work_done) < 0) {
		c->state = BC_CLOSING;
		bconn_log(c, true, "bridge_failed", "reason=%s",
			  cella_q("no worker"));
		bconn_unref(c);
	}
}

/* --- start and abort ------------------------------------------------------ */

void
pfp_bconn_start(struct pfp_listener *l, int fd)
{
	struct pfp_bridge *b = l->b;
	struct pfp_bconn *c = calloc(1, sizeof(*c));

	if (c == NULL || uv_poll_init(b->loop, &c->poll, fd) < 0) {
		cella_log_warn("bridge_busy", "listen=%s reason=%s",
			       l->rule->listen,
			       cella_q(c == NULL ? "out of memory" : "poll"));
		free(c);
		close(fd);
		return;
	}
	c->b = b;
	c->rule = l->rule;
	c->id = ++b->seq;
	c->fd = fd;
	c->sfd = -1;
	c->state = BC_IDLE;
	c->poll.data = c;
	uv_timer_init(b->loop, &c->timer);
	c->timer.data = c;
	c->refs = 2;
	c->accepted_ms = uv_now(b->loop);
	TAILQ_INSERT_TAIL(&b->conns, c, link);
	b->nconns++;
	bconn_deadline(c, b->o.first_byte_ms);
	uv_poll_start(&c->poll, UV_READABLE, bconn_step_cb);
}

void
pfp_bconn_abort(struct pfp_bconn *c, const char *evt, const char *why)
{
	if (c->state >= BC_WORK)
		return;
	bconn_log(c, false, evt, "phase=%s ms=%llu reason=%s",
		  c->state == BC_IDLE ? "first_byte"
		  : c->state == BC_TLS ? "tls"
		  : c->state == BC_HELLO ? "hello" : "refusing",
		  (unsigned long long)(uv_now(c->b->loop) - c->accepted_ms),
		  cella_q(why));
	bconn_finish(c);
}
