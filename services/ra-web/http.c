/*
 * http: h2o (libuv binding) serving HTTPS on one listener. Each accepted
 * connection is a struct ra_conn whose uv_tcp_t h2o drives; cella keeps
 * them on a list of its own to count them (the connection cap), to end
 * them at drain, by shutting the socket's read side down: h2o then sees
 * end-of-file and closes the connection itself, after the response in
 * progress if any, so cella never closes a socket under h2o's feet; and to
 * sweep up the ones libh2o loses track of (see write_lost).
 *
 * Slow peers: one IP address holds at most max_connections_per_peer
 * connections (more are closed at accept), and a connection with no
 * request in progress must deliver a whole request within
 * header_timeout_ms of its accept or of its last response, TLS handshake
 * included, or the sweeper (once a second) shuts it. h2o's own timeouts
 * restart with every byte, so a peer that drips its headers would
 * otherwise hold a connection slot as long as it likes.
 *
 * Responses carry Content-Length (never chunked), Cache-Control: no-store
 * (a document must never be served from a cache) and, while draining,
 * Connection: close.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cjson/cJSON.h>

#include "common/net/addr.h"
#include "common/core/log.h"
#include "services/ra-web/srv.h"

#define LISTEN_BACKLOG 1024
#define MAX_ENTITY_BYTES 4096 /* no endpoint takes a body */
#define SWEEP_MS 1000

struct ra_conn {
	uv_tcp_t tcp; /* first: h2o's close callback gets this handle */
	struct ra_conn *prev, *next;
	struct ra_http *h;
	unsigned lost; /* consecutive sweeps that found its write lost */
	struct sockaddr_storage peer; /* the address only (port zeroed) */
	uint64_t since_ms;	      /* accepted, or its last response */
	unsigned inflight;	      /* requests taken, not yet answered */
	bool timed_out;		      /* shut for header_timeout_ms */
};

struct ra_handler {
	h2o_handler_t super;
	struct ra_srv *srv;
};

struct ra_http {
	struct ra_srv *srv;
	h2o_globalconf_t gconf;
	h2o_context_t ctx;
	h2o_accept_ctx_t actx;
	uv_tcp_t listener, spare;
	uv_timer_t sweeper;
	bool listening, ctx_init, sweeping, spare_busy, accept_waiting;
	struct ra_conn conns; /* list anchor */
	unsigned nconns;
	struct cella_addr addr;
};

static void
conn_closed(uv_handle_t *hd)
{
	struct ra_conn *c = (struct ra_conn *)hd;
	struct ra_http *h = c->h;

	c->prev->next = c->next;
	c->next->prev = c->prev;
	h->nconns--;
	free(c);
	ra_srv_check_drained(h->srv);
}

static void
refused_closed(uv_handle_t *hd)
{
	free(hd);
}

static void on_accept(uv_stream_t *l, int status);

static void
spare_closed(uv_handle_t *hd)
{
	struct ra_http *h = hd->data;

	h->spare_busy = false;
	if (h->accept_waiting && h->listening) {
		h->accept_waiting = false;
		on_accept((uv_stream_t *)&h->listener, 0);
	}
}

/*
 * Out of memory at accept: libuv stops watching the listener until the
 * pending connection is taken, so take it with the one handle kept for
 * this and close it. If that handle is still closing, the connection waits
 * in libuv and is taken when it is free again.
 */
static void
refuse_spare(struct ra_http *h)
{
	cella_log_error("accept_refused", "err=ENOMEM");
	if (h->spare_busy) {
		h->accept_waiting = true;
		return;
	}
	h->spare_busy = true;
	uv_tcp_init(h->srv->loop, &h->spare);
	h->spare.data = h;
	(void)uv_accept((uv_stream_t *)&h->listener, (uv_stream_t *)&h->spare);
	uv_close((uv_handle_t *)&h->spare, spare_closed);
}

/* The peer's address without its port: what one peer is. */
static void
peer_of(struct ra_conn *c)
{
	int len = (int)sizeof(c->peer);

	memset(&c->peer, 0, sizeof(c->peer));
	if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&c->peer, &len) < 0)
		return;
	if (c->peer.ss_family == AF_INET)
		((struct sockaddr_in *)&c->peer)->sin_port = 0;
	else if (c->peer.ss_family == AF_INET6)
		((struct sockaddr_in6 *)&c->peer)->sin6_port = 0;
}

/* Does c's peer hold max_connections_per_peer already? (logged, counted) */
static bool
peer_full(struct ra_http *h, struct ra_conn *c)
{
	unsigned n = 0, max = h->srv->conf->max_per_peer;
	char ip[INET6_ADDRSTRLEN] = "-";
	const struct sockaddr_storage *p = &c->peer;

	peer_of(c);
	for (struct ra_conn *o = h->conns.next; o != &h->conns; o = o->next)
		n += memcmp(&o->peer, p, sizeof(*p)) == 0;
	if (n < max)
		return false;
	inet_ntop(p->ss_family,
		  p->ss_family == AF_INET6
			  ? (const void *)&((const struct sockaddr_in6 *)p)->sin6_addr
			  : (const void *)&((const struct sockaddr_in *)p)->sin_addr,
		  ip, sizeof(ip));
	ra_metrics_error(&h->srv->metrics, RA_ERR_PEER_LIMIT);
	cella_log_warn("connection_refused", "peer=%s open=%u max_per_peer=%u",
		       ip, n, max);
	return true;
}

static void
on_accept(uv_stream_t *l, int status)
{
	struct ra_http *h = l->data;
	struct ra_conn *c;
	h2o_socket_t *sock;

	if (status < 0) {
		cella_log_warn("accept_failed", "err=%s", uv_err_name(status));
		return;
	}
	c = calloc(1, sizeof(*c));
	if (c == NULL) {
		refuse_spare(h);
		return;
	}
	uv_tcp_init(l->loop, &c->tcp);
	if (uv_accept(l, (uv_stream_t *)&c->tcp) != 0) {
		uv_close((uv_handle_t *)&c->tcp, refused_closed);
		return;
	}
	if (h->nconns >= h->srv->conf->max_connections) {
		ra_metrics_error(&h->srv->metrics, RA_ERR_CONN_LIMIT);
		cella_log_warn("connection_refused", "open=%u max=%u", h->nconns,
			       h->srv->conf->max_connections);
		uv_close((uv_handle_t *)&c->tcp, refused_closed);
		return;
	}
	if (peer_full(h, c)) {
		uv_close((uv_handle_t *)&c->tcp, refused_closed);
		return;
	}
	c->h = h;
	c->since_ms = uv_now(h->srv->loop);
	c->next = &h->conns;
	c->prev = h->conns.prev;
	c->prev->next = c;
	h->conns.prev = c;
	h->nconns++;
	uv_tcp_nodelay(&c->tcp, 1);
	sock = h2o_uv_socket_create((uv_stream_t *)&c->tcp, conn_closed);
	h2o_accept(&h->actx, sock);
}

/*
 * libh2o 2.2's libuv binding never closes a TLS connection whose peer
 * reset it (h2o issue #2966): after the read error libuv marks the stream
 * unwritable, the close_notify write h2o then starts fails inside
 * uv_write, whose result h2o ignores, and h2o waits for a completion that
 * never comes, holding the descriptor and a connection slot for good. A
 * connection found in that state (h2o waits for a write; libuv holds none
 * and would accept none) on two sweeps a second apart, far longer than any
 * real completion takes to be delivered, is handed the completion h2o
 * waits for, as an error, and h2o closes it its own way.
 */
static bool
write_lost(struct ra_conn *c)
{
	uv_stream_t *st = (uv_stream_t *)&c->tcp;
	h2o_socket_t *sock = c->tcp.data;

	return sock != NULL && sock->_cb.write != NULL &&
	       !uv_is_closing((uv_handle_t *)st) && !uv_is_writable(st) &&
	       uv_stream_get_write_queue_size(st) == 0;
}

/* Shut a connection that let header_timeout_ms pass without a request. */
static void
header_deadline(struct ra_http *h, struct ra_conn *c, uint64_t now)
{
	uint64_t limit = h->srv->conf->header_timeout_ms;
	uv_os_fd_t fd;

	if (c->inflight > 0 || c->timed_out || now - c->since_ms < limit ||
	    uv_fileno((uv_handle_t *)&c->tcp, &fd) != 0)
		return;
	c->timed_out = true;
	ra_metrics_error(&h->srv->metrics, RA_ERR_HEADER_TIMEOUT);
	cella_log_info("conn_timeout", "why=header idle_ms=%llu limit_ms=%llu",
		       (unsigned long long)(now - c->since_ms),
		       (unsigned long long)limit);
	(void)shutdown(fd, SHUT_RDWR); /* h2o sees the end and closes it */
}

static void
sweep(uv_timer_t *t)
{
	struct ra_http *h = t->data;
	uint64_t now = uv_now(h->srv->loop);

	for (struct ra_conn *c = h->conns.next; c != &h->conns; c = c->next) {
		h2o_socket_t *sock = c->tcp.data;
		h2o_socket_cb cb;

		header_deadline(h, c, now);
		if (!write_lost(c)) {
			c->lost = 0;
			continue;
		}
		if (++c->lost < 2)
			continue;
		cella_log_debug("conn_reaped", "why=lost_write");
		cb = sock->_cb.write;
		sock->_cb.write = NULL;
		cb(sock, h2o_socket_error_io); /* closes: c goes later */
	}
}

/* The connection req came on (NULL if it is gone). */
static struct ra_conn *
conn_of(struct ra_http *h, h2o_req_t *req)
{
	h2o_socket_t *sock = req->conn->callbacks->get_socket != NULL
				     ? req->conn->callbacks->get_socket(req->conn)
				     : NULL;

	for (struct ra_conn *c = h->conns.next; sock != NULL && c != &h->conns;
	     c = c->next)
		if (c->tcp.data == sock)
			return c;
	return NULL;
}

static int
on_req(h2o_handler_t *self, h2o_req_t *req)
{
	struct ra_srv *s = ((struct ra_handler *)self)->srv;
	struct ra_conn *c = conn_of(s->http, req);

	if (c != NULL)
		c->inflight++;
	return ra_routes_handle(s, req);
}

static void
setup_h2o(struct ra_http *h)
{
	const struct ra_conf *c = h->srv->conf;
	h2o_hostconf_t *host;
	h2o_pathconf_t *path;
	struct ra_handler *rh;

	h2o_config_init(&h->gconf);
	h->gconf.server_name = h2o_iovec_init(H2O_STRLIT("cella-ra-web"));
	h->gconf.max_request_entity_size = MAX_ENTITY_BYTES;
	h->gconf.handshake_timeout = c->idle_timeout_ms;
	h->gconf.http1.req_timeout = c->idle_timeout_ms;
	h->gconf.http1.upgrade_to_http2 = 0; /* h2 only by ALPN, over TLS */
	h->gconf.http2.idle_timeout = c->idle_timeout_ms;
	host = h2o_config_register_host(&h->gconf,
					h2o_iovec_init(H2O_STRLIT("default")),
					65535);
	path = h2o_config_register_path(host, "/", 0);
	rh = (struct ra_handler *)h2o_create_handler(path, sizeof(*rh));
	rh->super.on_req = on_req;
	rh->srv = h->srv;
	h2o_context_init(&h->ctx, h->srv->loop, &h->gconf);
	h->ctx_init = true;
	h->actx.ctx = &h->ctx;
	h->actx.hosts = h->gconf.hosts;
	h->actx.ssl_ctx = h->srv->tls->ctx;
}

static int
listen_on(struct ra_http *h, struct cella_diag *d)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int rv;

	rv = cella_addr_parse(h->srv->conf->listen, &h->addr, d);
	if (rv == 0)
		rv = cella_addr_sockaddr(&h->addr, &ss, &len, d);
	if (rv < 0)
		return rv;
	uv_tcp_init(h->srv->loop, &h->listener);
	h->listener.data = h;
	h->listening = true;
	rv = uv_tcp_bind(&h->listener, (struct sockaddr *)&ss, 0);
	if (rv == 0)
		rv = uv_listen((uv_stream_t *)&h->listener, LISTEN_BACKLOG,
			       on_accept);
	if (rv == 0) {
		int namelen = (int)sizeof(ss);

		rv = uv_tcp_getsockname(&h->listener, (struct sockaddr *)&ss,
					&namelen);
	}
	if (rv < 0)
		return cella_diag_set(d, rv, "listen %s: %s",
				      h->srv->conf->listen, uv_strerror(rv));
	h->addr.port = ntohs(ss.ss_family == AF_INET6
				     ? ((struct sockaddr_in6 *)&ss)->sin6_port
				     : ((struct sockaddr_in *)&ss)->sin_port);
	return 0;
}

int
ra_http_new(struct ra_srv *s, struct ra_http **out, struct cella_diag *d)
{
	struct ra_http *h = calloc(1, sizeof(*h));
	int rv;

	if (h == NULL)
		return -ENOMEM;
	h->srv = s;
	h->conns.next = h->conns.prev = &h->conns;
	uv_timer_init(s->loop, &h->sweeper);
	h->sweeper.data = h;
	h->sweeping = true;
	uv_timer_start(&h->sweeper, sweep, SWEEP_MS, SWEEP_MS);
	setup_h2o(h);
	rv = listen_on(h, d);
	*out = h; /* even on failure: the listener must close on the loop */
	return rv;
}

int
ra_http_url(struct ra_http *h, char *buf, size_t len)
{
	return cella_addr_format(&h->addr, buf, len);
}

void
ra_http_drain(struct ra_http *h)
{
	if (h->listening)
		uv_close((uv_handle_t *)&h->listener, NULL);
	h->listening = false;
	if (h->ctx_init)
		h2o_context_request_shutdown(&h->ctx);
}

void
ra_http_quiesce(struct ra_http *h, bool force)
{
	for (struct ra_conn *c = h->conns.next; c != &h->conns; c = c->next) {
		uv_os_fd_t fd;

		if (uv_fileno((uv_handle_t *)&c->tcp, &fd) == 0)
			(void)shutdown(fd, force ? SHUT_RDWR : SHUT_RD);
	}
}

unsigned
ra_http_conns(struct ra_http *h)
{
	return h == NULL ? 0 : h->nconns;
}

void
ra_http_close(struct ra_http *h)
{
	if (h->listening)
		uv_close((uv_handle_t *)&h->listener, NULL);
	if (h->sweeping)
		uv_close((uv_handle_t *)&h->sweeper, NULL);
	h->listening = h->sweeping = false;
}

void
ra_http_free(struct ra_http *h)
{
	if (h == NULL)
		return;
	/* request_shutdown armed a one-second GOAWAY resend that h2o's
	 * dispose would find still linked (and assert on). */
	if (h->ctx_init &&
	    h2o_timeout_is_linked(&h->ctx.http2._graceful_shutdown_timeout))
		h2o_timeout_unlink(&h->ctx.http2._graceful_shutdown_timeout);
	if (h->ctx_init)
		h2o_context_dispose(&h->ctx);
	h2o_config_dispose(&h->gconf);
	free(h);
}

/* ---- responses ---- */

static const char *
reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 406: return "Not Acceptable";
	case 413: return "Content Too Large";
	case 414: return "URI Too Long";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return "Error";
	}
}

static const char *
proto_name(int version)
{
	return version >= 0x200 ? "h2" : version == 0x101 ? "http/1.1"
							  : "http/1.0";
}

/* A printable copy of an iovec from the client, clipped. */
static const char *
clip(h2o_iovec_t v, char *out, size_t cap)
{
	size_t i;

	for (i = 0; i < v.len && i + 1 < cap; i++)
		out[i] = (v.base[i] > 0x20 && v.base[i] < 0x7f) ? v.base[i] : '?';
	out[i] = '\0';
	return out;
}

static void
access_log(struct ra_srv *s, h2o_req_t *req, enum ra_route r, int status,
	   size_t bytes)
{
	struct sockaddr_storage ss;
	char peer[INET6_ADDRSTRLEN] = "-", method[16], path[128];
	struct timeval now;
	double ms;

	if (s->conf->access_log == RA_LOG_NONE ||
	    (s->conf->access_log == RA_LOG_ERRORS && status < 400))
		return;
	gettimeofday(&now, NULL);
	ms = (double)(now.tv_sec - req->timestamps.request_begin_at.tv_sec) *
		     1e3 +
	     (double)(now.tv_usec - req->timestamps.request_begin_at.tv_usec) /
		     1e3;
	memset(&ss, 0, sizeof(ss));
	if (req->conn->callbacks->get_peername(req->conn,
					       (struct sockaddr *)&ss) > 0)
		inet_ntop(ss.ss_family,
			  ss.ss_family == AF_INET6
				  ? (void *)&((struct sockaddr_in6 *)&ss)->sin6_addr
				  : (void *)&((struct sockaddr_in *)&ss)->sin_addr,
			  peer, sizeof(peer));
	cella_log_info("request",
		       "peer=%s proto=%s method=%s path=%s query_bytes=%zu "
		       "status=%d bytes=%zu ms=%.3f",
		       peer, proto_name(req->version),
		       clip(req->method, method, sizeof(method)),
		       r == RA_ROUTE_OTHER
			       ? cella_q(clip(req->path_normalized, path,
					      sizeof(path)))
			       : ra_route_name(r),
		       req->query_at == SIZE_MAX ? 0
						 : req->path.len - req->query_at - 1,
		       status, bytes, ms);
}

void
ra_http_send(struct ra_srv *s, h2o_req_t *req, enum ra_route r, int status,
	     const char *ctype, h2o_iovec_t body)
{
	static h2o_generator_t gen = {NULL, NULL};
	struct ra_conn *c = conn_of(s->http, req);

	if (c != NULL && c->inflight > 0 && --c->inflight == 0)
		c->since_ms = uv_now(s->loop);
	req->res.status = status;
	req->res.reason = reason(status);
	req->res.content_length = body.len;
	h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE,
		       NULL, ctype, strlen(ctype));
	h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL,
		       NULL, H2O_STRLIT("no-store"));
	if (s->state != RA_RUNNING)
		req->http1_is_persistent = 0;
	ra_metrics_request(&s->metrics, r, status);
	access_log(s, req, r, status, body.len);
	h2o_start_response(req, &gen);
	/* HEAD (refused, but answered): the length without the body. */
	if (h2o_memis(req->input.method.base, req->input.method.len,
		      H2O_STRLIT("HEAD")))
		h2o_send(req, NULL, 0, H2O_SEND_STATE_FINAL);
	else
		h2o_send(req, &body, 1, H2O_SEND_STATE_FINAL);
}

void
ra_http_error(struct ra_srv *s, h2o_req_t *req, enum ra_route r, int status,
	      enum ra_err kind, const char *fmt, ...)
{
	static const char fallback[] =
		"{\"error\":\"internal\",\"status\":500,\"message\":\"out of "
		"memory\"}";
	char msg[512];
	cJSON *o = cJSON_CreateObject();
	char *txt = NULL;
	h2o_iovec_t body = h2o_iovec_init(fallback, sizeof(fallback) - 1);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ra_metrics_error(&s->metrics, kind);
	if (o != NULL && cJSON_AddStringToObject(o, "error", ra_err_name(kind)) &&
	    cJSON_AddNumberToObject(o, "status", status) &&
	    cJSON_AddStringToObject(o, "message", msg))
		txt = cJSON_PrintUnformatted(o);
	if (txt != NULL)
		body = h2o_strdup(&req->pool, txt, strlen(txt));
	else
		status = 500;
	cJSON_free(txt);
	cJSON_Delete(o);
	ra_http_send(s, req, r, status, "application/json", body);
}
