/*
 * relay: rules, listeners and the relay's lifecycle. Connections themselves
 * live in relay_conn.c. Accepting is bounded per wake-up so one busy
 * listener cannot starve the others.
 */
#include "common/net/relay.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/core/log.h"
#include "common/net/relay_int.h"

#define ACCEPTS_PER_WAKEUP 64
#define LISTEN_BACKLOG 4096

int
cella_relay_new(uv_loop_t *loop, const struct cella_relay_opts *opts,
		struct cella_relay **out)
{
	struct cella_relay *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return -ENOMEM;
	r->loop = loop;
	if (opts != NULL)
		r->opts = *opts;
	if (r->opts.max_conns == 0)
		r->opts.max_conns = CELLA_RELAY_MAX_CONNS;
	if (r->opts.pipe_bytes == 0)
		r->opts.pipe_bytes = CELLA_RELAY_PIPE_BYTES;
	if (r->opts.buf_bytes == 0)
		r->opts.buf_bytes = CELLA_RELAY_BUF_BYTES;
	/* A pipe drained into the copy buffer must fit in it. */
	if (r->opts.buf_bytes < r->opts.pipe_bytes)
		r->opts.buf_bytes = r->opts.pipe_bytes;
	LIST_INIT(&r->rules);
	LIST_INIT(&r->conns);
	*out = r;
	return 0;
}

/* Over the cap: accept and close at once, so clients are not left hanging;
 * log at most once a second with the count. */
static void
relay_refuse(struct relay_rule *rule, int fd)
{
	struct cella_relay *r = rule->relay;
	uint64_t now = uv_now(r->loop);

	close(fd);
	r->stats.refused++;
	r->refused_unlogged++;
	if (now - r->refused_logged_at >= 1000 || r->refused_logged_at == 0) {
		cella_log_warn("conn_refused",
			       "rule=%s reason=max_conns max=%u count=%llu",
			       rule->listen_url, r->opts.max_conns,
			       (unsigned long long)r->refused_unlogged);
		r->refused_logged_at = now;
		r->refused_unlogged = 0;
	}
}

static void rule_accept_fixed(struct relay_rule *rule, int fd);
static void rule_stop(struct relay_rule *rule);

static void
rule_accept_cb(uv_poll_t *h, int status, int events)
{
	struct relay_rule *rule = h->data;
	struct cella_relay *r = rule->relay;
	int fd;

	(void)events;
	if (status < 0) {
		cella_log_warn("accept_failed", "rule=%s err=%s",
			       rule->listen_url, cella_errname(status));
		return;
	}
	for (int i = 0; i < ACCEPTS_PER_WAKEUP && rule->listening; i++) {
		fd = cella_addr_accept(rule->lfd);
		if (fd == -EAGAIN)
			return;
		if (fd < 0) {
			/* EMFILE and friends: say so, try again next wake-up. */
			cella_log_warn("accept_failed", "rule=%s err=%s",
				       rule->listen_url, cella_errname(fd));
			return;
		}
		if (rule->fixed)
			rule_accept_fixed(rule, fd);
		else if (r->stats.open >= r->opts.max_conns)
			relay_refuse(rule, fd);
		else
			relay_conn_start(rule, fd);
	}
}

/* Open rule's listener on listen_url and start accepting. */
static int
rule_listen(struct cella_relay *r, struct relay_rule *rule,
	    const char *listen_url, struct cella_diag *d)
{
	int rv;

	if ((rv = cella_addr_parse(listen_url, &rule->listen, d)) < 0)
		return rv;
	cella_addr_format(&rule->listen, rule->listen_url,
			  sizeof(rule->listen_url));
	rv = cella_addr_listen(&rule->listen, LISTEN_BACKLOG, d);
	if (rv < 0)
		return rv;
	rule->lfd = rv;
	if ((rv = uv_poll_init(r->loop, &rule->lpoll, rule->lfd)) < 0) {
		cella_diag_set(d, rv, "%s: cannot watch: %s", listen_url,
			       uv_strerror(rv));
		close(rule->lfd);
		cella_addr_unlink(&rule->listen);
		return rv;
	}
	rule->lpoll.data = rule;
	rule->listening = true;
	uv_poll_start(&rule->lpoll, UV_READABLE, rule_accept_cb);
	LIST_INSERT_HEAD(&r->rules, rule, link);
	if (r->opts.quiet)
		cella_log_debug("listen", "addr=%s target=%s", rule->listen_url,
				rule->target_url);
	else
		cella_log_info("listen", "addr=%s target=%s", rule->listen_url,
			       rule->target_url);
	return 0;
}

static struct relay_rule *
rule_new(struct cella_relay *r)
{
	struct relay_rule *rule = calloc(1, sizeof(*rule));

	if (rule != NULL) {
		rule->relay = r;
		rule->lfd = -1;
		rule->fixed_fd = -1;
	}
	return rule;
}

int
cella_relay_add(struct cella_relay *r, const char *listen_url,
		const char *target_url, struct cella_diag *d)
{
	struct relay_rule *rule = rule_new(r);
	int rv;

	if (rule == NULL)
		return -ENOMEM;
	if ((rv = cella_addr_parse(target_url, &rule->target, d)) == 0) {
		cella_addr_format(&rule->target, rule->target_url,
				  sizeof(rule->target_url));
		rv = rule_listen(r, rule, listen_url, d);
	}
	if (rv < 0)
		free(rule);
	return rv;
}

int
cella_relay_add_stream(struct cella_relay *r, const char *listen_url, int fd,
		       SSL *ssl, struct cella_diag *d)
{
	struct relay_rule *rule = rule_new(r);
	int rv;

	if (rule == NULL) {
		SSL_free(ssl);
		close(fd);
		return -ENOMEM;
	}
	rule->fixed = true;
	rule->fixed_fd = fd;
	rule->fixed_ssl = ssl;
	snprintf(rule->target_url, sizeof(rule->target_url), "%s",
		 ssl != NULL ? "(tls stream)" : "(stream)");
	if ((rv = rule_listen(r, rule, listen_url, d)) < 0) {
		SSL_free(ssl);
		close(fd);
		free(rule);
	}
	return rv;
}

int
cella_relay_join(struct cella_relay *r, const char *tag, int fd_a, SSL *ssl_a,
		 int fd_b, SSL *ssl_b)
{
	return relay_conn_join(r, tag, fd_a, ssl_a, fd_b, ssl_b);
}

/* The pid of a unix socket's peer (at connect), or -errno. */
static long
peer_pid(int fd)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) < 0)
		return -errno;
	return (long)uc.pid;
}

/*
 * A stream rule's one connection: the stream is the relay's from now, and
 * the listener closes. The stream is meant for this process's own nng, so
 * a connection from any other process is refused (and the rule waits on):
 * nobody else may join a stream that was authenticated for us.
 */
static void
rule_accept_fixed(struct relay_rule *rule, int fd)
{
	int sfd = rule->fixed_fd;
	long pid = peer_pid(fd);

	if (pid != (long)getpid()) {
		cella_log_warn("conn_refused",
			       "rule=%s reason=foreign_peer peer_pid=%ld",
			       rule->listen_url, pid);
		close(fd);
		return;
	}
	rule->fixed_fd = -1;
	relay_conn_join(rule->relay, rule->listen_url, fd, NULL, sfd,
			rule->fixed_ssl);
	rule->fixed_ssl = NULL;
	rule_stop(rule);
}

static void
rule_closed_cb(uv_handle_t *h)
{
	struct relay_rule *rule = h->data;

	close(rule->lfd);
	rule->lfd = -1;
	relay_handle_closed(rule->relay);
}

static void
rule_stop(struct relay_rule *rule)
{
	if (!rule->listening)
		return;
	rule->listening = false;
	/* Remove the name first: nobody new can find us. A stream rule's
	 * name is its caller's, who removes it (with its directory) once its
	 * connection is made: unlinking it later could hit someone else's. */
	if (!rule->fixed)
		cella_addr_unlink(&rule->listen);
	rule->relay->pending_closes++;
	uv_close((uv_handle_t *)&rule->lpoll, rule_closed_cb);
}

void
cella_relay_stop(struct cella_relay *r, void (*drained)(void *), void *arg)
{
	struct relay_rule *rule;

	LIST_FOREACH(rule, &r->rules, link)
		rule_stop(rule);
	r->drained = drained;
	r->drained_arg = arg;
	relay_conn_ended(r);
}

void
relay_conn_ended(struct cella_relay *r)
{
	void (*cb)(void *) = r->drained;

	if (cb != NULL && r->stats.open == 0) {
		r->drained = NULL;
		cb(r->drained_arg);
	}
}

void
cella_relay_get_stats(const struct cella_relay *r,
		      struct cella_relay_stats *st)
{
	*st = r->stats;
}

static void
relay_free(struct cella_relay *r)
{
	struct relay_rule *rule;

	while ((rule = LIST_FIRST(&r->rules)) != NULL) {
		LIST_REMOVE(rule, link);
		if (rule->fixed_fd >= 0) {
			SSL_free(rule->fixed_ssl);
			close(rule->fixed_fd);
		}
		free(rule);
	}
	if (r->closed != NULL)
		r->closed(r->closed_arg);
	free(r);
}

void
relay_handle_closed(struct cella_relay *r)
{
	if (--r->pending_closes == 0 && r->closing)
		relay_free(r);
}

void
cella_relay_close(struct cella_relay *r, void (*cb)(void *), void *arg)
{
	struct relay_rule *rule;
	struct relay_conn *c;

	r->closing = true;
	r->closed = cb;
	r->closed_arg = arg;
	r->drained = NULL;
	LIST_FOREACH(rule, &r->rules, link)
		rule_stop(rule);
	while ((c = LIST_FIRST(&r->conns)) != NULL)
		relay_conn_abort(c);
	if (r->pending_closes == 0)
		relay_free(r);
}

long
cella_relay_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return -errno;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			return -errno;
	}
	return (long)rl.rlim_cur;
}
