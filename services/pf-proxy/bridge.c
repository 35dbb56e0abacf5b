/*
 * bridge: listeners, the per-connection handshake on libuv's worker
 * threads, and the hand-over to the relay. A handshake holds a worker for
 * at most its deadline (TLS, then the exchange, each bounded); at most
 * PFP_BRIDGE_PENDING_MAX run at once and further connections are closed
 * until one ends. The rpc clients to ra-web, init and the services are
 * shared by the workers (they are thread-safe) and made again after a
 * failure, so a service restarted under init is found again.
 */
#include "services/pf-proxy/bridge.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/addr.h"
#include "common/atls.h"
#include "common/cbor.h"
#include "common/log.h"
#include "common/rpc.h"
#include "common/tls.h"

#define CLIENTS_MAX (PFP_BRIDGES_MAX + 2)
#define RPC_TIMEOUT_MS 5000

/* A cached client; freed only once no worker holds it (refs). */
struct svc_client {
	char url[320];
	struct cella_rpc_client *c;
	unsigned refs;
	bool stale; /* failed: no new holders, freed at the last release */
};

struct listener {
	struct pfp_bridge *b;
	const struct pfp_bridge_rule *rule;
	struct cella_addr addr;
	int fd;
	uv_poll_t poll;
	bool open;
};

struct pfp_bridge {
	uv_loop_t *loop;
	struct cella_relay *relay;
	struct pfp_bridge_opts o;
	SSL_CTX *ctx;
	struct listener l[PFP_BRIDGES_MAX];
	unsigned pending;
	bool stopping;
	uint64_t seq;
	pthread_mutex_t mu; /* clients */
	struct svc_client clients[CLIENTS_MAX];
};

/* One connection's handshake, handed to a worker and back. */
struct work {
	uv_work_t req;
	struct pfp_bridge *b;
	const struct pfp_bridge_rule *rule;
	uint64_t id;
	int fd, sfd;
	SSL *ssl;
	struct cella_operator op;
	char session[CELLA_ADDR_URL_MAX + 1]; /* the service's session URL */
	int rv;
	struct cella_diag d;
};

/* --- rpc clients, shared by the workers ---------------------------------- */

/* A client for url, held until client_put; NULL when unreachable. */
static struct svc_client *
client_get(struct pfp_bridge *b, const char *url, struct cella_diag *d)
{
	struct svc_client *free_slot = NULL, *sc = NULL;

	pthread_mutex_lock(&b->mu);
	for (int i = 0; i < CLIENTS_MAX && sc == NULL; i++) {
		struct svc_client *x = &b->clients[i];

		if (x->c != NULL && !x->stale && strcmp(x->url, url) == 0)
			sc = x;
		else if (x->c == NULL && free_slot == NULL)
			free_slot = x;
	}
	if (sc == NULL && free_slot != NULL &&
	    cella_rpc_client_new(url, RPC_TIMEOUT_MS, &free_slot->c, d) == 0) {
		snprintf(free_slot->url, sizeof(free_slot->url), "%s", url);
		free_slot->stale = false;
		sc = free_slot;
	}
	if (sc != NULL)
		sc->refs++;
	pthread_mutex_unlock(&b->mu);
	return sc;
}

/*
 * Release a client; after a failed call (stale) it is made again next
 * time, and closed once nobody is mid-call on it: closing an nng socket
 * under another thread's call is not safe.
 */
static void
client_put(struct pfp_bridge *b, struct svc_client *sc, bool stale)
{
	struct cella_rpc_client *gone = NULL;

	pthread_mutex_lock(&b->mu);
	sc->stale |= stale;
	if (--sc->refs == 0 && sc->stale) {
		gone = sc->c;
		sc->c = NULL;
	}
	pthread_mutex_unlock(&b->mu);
	cella_rpc_client_free(gone);
}

/* A connection-level failure: the client should be made again. */
static bool
broken(int rv)
{
	return rv == -ETIMEDOUT || rv == -ECONNRESET || rv == -EBADF ||
	       rv == -EPIPE || rv == -ECONNREFUSED;
}

static int
call(struct pfp_bridge *b, const char *url, uint32_t type,
     const cbor_item_t *body, struct cella_env *reply, struct cella_diag *d)
{
	struct svc_client *sc = client_get(b, url, d);
	int rv;

	if (sc == NULL)
		return cella_diag_set(d, -EHOSTUNREACH, "%s is not reachable",
				      url);
	rv = cella_rpc_call(sc->c, type, body, reply, d);
	client_put(b, sc, broken(rv));
	return rv;
}

/* --- the exchange's callbacks --------------------------------------------- */

static int
bridge_authorize(void *arg, const uint8_t key[32], struct cella_operator *op,
		 struct cella_diag *d)
{
	struct work *w = arg;
	const struct cella_operators *ops = &w->b->o.ops;
	const struct cella_operator *known = cella_operators_find(ops, key);
	uint32_t allowed = cella_operators_allowed(ops);
	char need[64];

	if (known == NULL)
		return cella_diag_set(d, -EACCES, "unknown operator");
	*op = *known;
	op->roles = known->roles & w->rule->roles & allowed;
	if (op->roles != 0)
		return 0;
	cella_roles_format(w->rule->roles, need, sizeof(need));
	if ((known->roles & w->rule->roles) == 0)
		return cella_diag_set(d, -EACCES,
				      "missing role: operator '%s' needs one "
				      "of %s here",
				      known->name, need);
	return cella_diag_set(d, -EACCES,
			      "policy forbids %s in a non-debug enclave "
			      "(policy.exec / policy.files)",
			      need);
}

static int
bridge_evlog(void *arg, uint8_t head[48], uint64_t *len, struct cella_diag *d)
{
	struct work *w = arg;
	cbor_item_t *body = cbor_new_indefinite_map();
	struct cella_env r = {0};
	struct cella_span h;
	int rv = -ENOMEM;

	/* From past the end: the head and length, no events. */
	if (body != NULL && cella_cbor_put_uint(body, "from", UINT64_MAX) == 0)
		rv = call(w->b, w->b->o.init_url, CELLA_MSG_INIT_EVENTS, body,
			  &r, d);
	if (rv == 0 &&
	    (cella_cbor_get_bytes(r.body, "head", 48, &h, d) < 0 || h.n != 48 ||
	     cella_cbor_get_uint(r.body, "length", UINT64_MAX, len, d) < 0))
		rv = cella_diag_set(d, -EPROTO, "init sent no event log head");
	if (rv == 0)
		memcpy(head, h.p, 48);
	else
		cella_diag_set(d, rv, "event log head: %s", d->msg);
	cella_env_fini(&r);
	if (body != NULL)
		cbor_decref(&body);
	return rv;
}

static int
bridge_attest(void *arg, struct cella_span nonce, struct cella_span ud,
	      struct cella_buf *doc, struct cella_diag *d)
{
	struct work *w = arg;
	cbor_item_t *body = cbor_new_indefinite_map();
	struct cella_env r = {0};
	struct cella_span s;
	int rv = -ENOMEM;

	if (body != NULL &&
	    cella_cbor_put_bytes(body, "nonce", nonce.p, nonce.n) == 0 &&
	    cella_cbor_put_bytes(body, "user_data", ud.p, ud.n) == 0)
		rv = call(w->b, w->b->o.ra_url, CELLA_MSG_RA_ATTEST, body, &r,
			  d);
	if (rv == 0 &&
	    cella_cbor_get_bytes(r.body, "document", CELLA_ATTDOC_MAX, &s, d) < 0)
		rv = cella_diag_set(d, -EPROTO, "ra-web sent no document");
	if (rv == 0)
		rv = cella_buf_append(doc, s.p, s.n);
	else
		cella_diag_set(d, rv, "attestation: %s", d->msg);
	cella_env_fini(&r);
	if (body != NULL)
		cbor_decref(&body);
	return rv;
}

/* --- one connection, on a worker ------------------------------------------ */

/*
 * The operator's session on the target service, opened before the
 * document is sent, so that a service that is not there is reported as
 * such rather than as a dropped connection. Connected only after the
 * client's ok.
 */
static int
bridge_prepare(void *arg, const struct cella_operator *op, struct cella_diag *d)
{
	struct work *w = arg;
	struct svc_client *sc = client_get(w->b, w->rule->target, d);
	int rv;

	if (sc == NULL)
		return cella_diag_set(d, -EHOSTUNREACH,
				      "service %s is not reachable",
				      w->rule->target);
	rv = cella_rpc_session_open(sc->c, op->name, op->roles, w->session,
				    sizeof(w->session), d);
	client_put(w->b, sc, rv < 0 && rv != -EACCES && rv != -EINVAL);
	if (rv < 0)
		return cella_diag_set(d, rv == -EACCES ? -EPERM : rv,
				      "service session: %s", d->msg);
	return 0;
}

static int
connect_session(struct work *w)
{
	struct cella_addr a;
	int rv;

	if ((rv = cella_addr_parse(w->session, &a, &w->d)) < 0 ||
	    (rv = cella_addr_connect_wait(&a, RPC_TIMEOUT_MS, &w->d)) < 0)
		return rv;
	w->sfd = rv;
	fcntl(w->sfd, F_SETFL, fcntl(w->sfd, F_GETFL) | O_NONBLOCK);
	return 0;
}

static void
work_run(uv_work_t *req)
{
	struct work *w = req->data;
	struct cella_atls_server_ops ops = {
		.authorize = bridge_authorize,
		.prepare = bridge_prepare,
		.evlog = bridge_evlog,
		.attest = bridge_attest,
		.arg = w,
	};

	if ((w->ssl = SSL_new(w->b->ctx)) == NULL || !SSL_set_fd(w->ssl, w->fd)) {
		w->rv = cella_diag_set(&w->d, -ENOMEM, "out of memory");
		return;
	}
	w->rv = cella_tls_handshake(w->ssl, w->fd, true, CELLA_ATLS_TIMEOUT_MS,
				    &w->d);
	if (w->rv == 0)
		w->rv = cella_atls_serve(w->ssl, w->fd, &ops, &w->op, &w->d);
	if (w->rv == 0)
		w->rv = connect_session(w);
}

static void
work_free(struct work *w)
{
	SSL_free(w->ssl);
	if (w->fd >= 0)
		close(w->fd);
	if (w->sfd >= 0)
		close(w->sfd);
	free(w);
}

static void
work_done(uv_work_t *req, int status)
{
	struct work *w = req->data;
	struct pfp_bridge *b = w->b;
	char roles[64], tag[64];

	b->pending--;
	if (status == UV_ECANCELED)
		w->rv = cella_diag_set(&w->d, -ECANCELED, "shutting down");
	else if (w->rv == 0 && b->stopping)
		w->rv = cella_diag_set(&w->d, -ECANCELED, "shutting down");
	if (w->rv < 0) {
		cella_log_warn(w->rv == -EACCES ? "bridge_refused"
						: "bridge_failed",
			       "conn=%llu listen=%s operator=%s reason=%s",
			       (unsigned long long)w->id, w->rule->listen,
			       cella_q(w->op.name[0] ? w->op.name : NULL),
			       cella_q(w->d.msg));
		work_free(w);
		return;
	}
	cella_roles_format(w->op.roles, roles, sizeof(roles));
	cella_log_info("bridge_open",
		       "conn=%llu listen=%s target=%s operator=%s roles=%s",
		       (unsigned long long)w->id, w->rule->listen,
		       w->rule->target, cella_q(w->op.name), roles);
	snprintf(tag, sizeof(tag), "bridge-%llu", (unsigned long long)w->id);
	cella_relay_join(b->relay, tag, w->fd, w->ssl, w->sfd, NULL);
	w->fd = w->sfd = -1;
	w->ssl = NULL;
	work_free(w);
}

/* --- listeners ------------------------------------------------------------ */

static void
accept_cb(uv_poll_t *h, int status, int events)
{
	struct listener *l = h->data;
	struct pfp_bridge *b = l->b;
	struct work *w;
	int fd;

	(void)events;
	while (status == 0 && (fd = cella_addr_accept(l->fd)) >= 0) {
		if (b->pending >= PFP_BRIDGE_PENDING_MAX ||
		    (w = calloc(1, sizeof(*w))) == NULL) {
			cella_log_warn("bridge_busy", "listen=%s pending=%u",
				       l->rule->listen, b->pending);
			close(fd);
			continue;
		}
		w->req.data = w;
		w->b = b;
		w->rule = l->rule;
		w->id = ++b->seq;
		w->fd = fd;
		w->sfd = -1;
		if (uv_queue_work(b->loop, &w->req, work_run, work_done) < 0) {
			work_free(w);
			continue;
		}
		b->pending++;
	}
}

static int
listen_one(struct pfp_bridge *b, struct listener *l,
	   const struct pfp_bridge_rule *rule, struct cella_diag *d)
{
	int rv;

	l->b = b;
	l->rule = rule;
	if ((rv = cella_addr_parse(rule->listen, &l->addr, d)) < 0)
		return rv;
	if ((rv = cella_addr_listen(&l->addr, 128, d)) < 0)
		return rv;
	l->fd = rv;
	uv_poll_init(b->loop, &l->poll, l->fd);
	l->poll.data = l;
	l->open = true;
	uv_poll_start(&l->poll, UV_READABLE, accept_cb);
	cella_log_info("bridge_listen", "addr=%s target=%s", rule->listen,
		       rule->target);
	return 0;
}

int
pfp_bridge_start(uv_loop_t *loop, struct cella_relay *relay,
		 const struct pfp_bridge_opts *o, struct pfp_bridge **out,
		 struct cella_diag *d)
{
	struct pfp_bridge *b = calloc(1, sizeof(*b));
	int rv;

	if (b == NULL)
		return -ENOMEM;
	b->loop = loop;
	b->relay = relay;
	b->o = *o;
	pthread_mutex_init(&b->mu, NULL);
	if ((rv = cella_tls_server_ctx(o->name[0] ? o->name : "cella-bridge",
				       &b->ctx, d)) < 0)
		goto fail;
	for (size_t i = 0; i < o->nrules; i++)
		if ((rv = listen_one(b, &b->l[i], &b->o.rules[i], d)) < 0)
			goto fail;
	*out = b;
	return 0;
fail:
	pfp_bridge_stop(b);
	b->stopping = false;
	*out = b; /* the caller runs the loop to close what opened, then frees */
	return rv;
}

void
pfp_bridge_stop(struct pfp_bridge *b)
{
	b->stopping = true;
	for (size_t i = 0; i < PFP_BRIDGES_MAX; i++) {
		struct listener *l = &b->l[i];

		if (!l->open)
			continue;
		l->open = false;
		cella_addr_unlink(&l->addr);
		uv_close((uv_handle_t *)&l->poll, NULL);
		close(l->fd);
	}
}

unsigned
pfp_bridge_pending(const struct pfp_bridge *b)
{
	return b->pending;
}

void
pfp_bridge_free(struct pfp_bridge *b)
{
	if (b == NULL)
		return;
	for (int i = 0; i < CLIENTS_MAX; i++)
		cella_rpc_client_free(b->clients[i].c);
	SSL_CTX_free(b->ctx);
	pthread_mutex_destroy(&b->mu);
	free(b);
}
