/*
 * rpc_session: operator sessions on an rpc server. A local peer (the
 * attested bridge) asks for a session for an operator and its roles; the
 * server adds a listener on a fresh, unguessable socket path beside its own
 * socket (mode 0600), whose first connection becomes the session: every
 * request on it carries the operator's identity. The path is removed as
 * soon as that connection arrives, a second connection on the listener is
 * closed at once, and a session nobody connects to within
 * CELLA_RPC_SESSION_WAIT_MS, or whose connection has ended, is closed the
 * next time sessions are opened or when the server is freed (nng forbids
 * closing listeners from its own pipe callbacks). Identity thus rests on the
 * file system's permissions and on the bridge, never on what a client says.
 */
#include <errno.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/core/buf.h"
#include "common/cbor/cbor.h"
#include "common/core/log.h"
#include "common/rpc/rpc_int.h"

#include <nng/transport/ipc/ipc.h>

#define SESSIONS_MAX 64

struct rpc_session {
	nng_listener l;
	int lid;
	char url[CELLA_ADDR_URL_MAX + 1];
	struct cella_rpc_peer peer;
	uint32_t pipe;	 /* 0 until its connection arrives */
	bool ended;	 /* its connection came and went */
	nng_time expires; /* when nobody connected by then */
	LIST_ENTRY(rpc_session) link;
};

/* Find the session listening as lid (mu held). */
static struct rpc_session *
find_lid(struct cella_rpc_server *s, int lid)
{
	struct rpc_session *ss;

	if (lid < 0)
		return NULL;
	LIST_FOREACH(ss, &s->sessions, link)
		if (ss->lid == lid)
			return ss;
	return NULL;
}

static void
unlink_url(const char *url)
{
	struct cella_addr a;
	if (cella_addr_parse(url, &a, NULL) == 0)
		cella_addr_unlink(&a);
}

static void
pipe_event(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	struct cella_rpc_server *s = arg;
	struct rpc_session *ss;
	uint32_t id = (uint32_t)nng_pipe_id(p);
	void (*cb)(uint32_t, void *) = NULL;
	void *cb_arg = NULL;

	nng_mtx_lock(s->mu);
	ss = find_lid(s, nng_listener_id(nng_pipe_listener(p)));
	switch (ev) {
	case NNG_PIPE_EV_ADD_PRE:
		/* A session is one connection: the first claims it (and its
		 * name disappears), any other is refused. Claiming here, not
		 * after the pipe is added, leaves no window for a second. */
		if (ss == NULL)
			break;
		if (ss->pipe != 0 || ss->ended) {
			nng_pipe_close(p);
			break;
		}
		ss->pipe = id;
		unlink_url(ss->url);
		break;
	case NNG_PIPE_EV_REM_POST:
		if (ss != NULL && ss->pipe == id) {
			ss->ended = true;
			cella_log_info("session_end", "operator=%s pipe=%u",
				       cella_q(ss->peer.operator), id);
		}
		cb = s->on_close;
		cb_arg = s->on_close_arg;
		break;
	default:
		break;
	}
	nng_mtx_unlock(s->mu);
	if (cb != NULL)
		cb(id, cb_arg);
}

int
rpc_sessions_init(struct cella_rpc_server *s, const char *url,
		  struct cella_diag *d)
{
	struct cella_addr a;
	int rv;

	LIST_INIT(&s->sessions);
	if ((rv = cella_err_nng(nng_mtx_alloc(&s->mu))) < 0)
		return cella_diag_set(d, rv, "rpc: %s", cella_strerror(rv));
	/* Session sockets live beside an ipc socket; elsewhere (tcp, the
	 * tests' abstract sockets) there are no sessions. */
	if (cella_addr_parse(url, &a, NULL) == 0 && a.kind == CELLA_ADDR_IPC &&
	    strlen(url) + 18 <= CELLA_ADDR_PATH_MAX)
		snprintf(s->session_base, sizeof(s->session_base), "%s", url);
	for (int ev = NNG_PIPE_EV_ADD_PRE; ev <= NNG_PIPE_EV_REM_POST; ev++)
		if ((rv = cella_err_nng(nng_pipe_notify(s->sock, ev, pipe_event,
							s))) < 0)
			return cella_diag_set(d, rv, "rpc: pipe notify: %s",
					      cella_strerror(rv));
	return 0;
}

static void
session_free(struct rpc_session *ss)
{
	nng_listener_close(ss->l);
	if (ss->pipe == 0)
		unlink_url(ss->url);
	free(ss);
}

/* Close ended and expired sessions (not from a pipe callback). */
static void
sessions_reap(struct cella_rpc_server *s)
{
	struct rpc_session *ss, *next, *dead = NULL;
	nng_time now = nng_clock();

	nng_mtx_lock(s->mu);
	for (ss = LIST_FIRST(&s->sessions); ss != NULL; ss = next) {
		next = LIST_NEXT(ss, link);
		if (ss->ended || (ss->pipe == 0 && now >= ss->expires)) {
			LIST_REMOVE(ss, link);
			s->nsessions--;
			/* Chain through the list entry to close unlocked. */
			ss->link.le_next = dead;
			dead = ss;
		}
	}
	nng_mtx_unlock(s->mu);
	while (dead != NULL) {
		next = dead->link.le_next;
		session_free(dead);
		dead = next;
	}
}

void
rpc_sessions_fini(struct cella_rpc_server *s)
{
	struct rpc_session *ss;

	if (s->mu == NULL)
		return;
	while ((ss = LIST_FIRST(&s->sessions)) != NULL) {
		LIST_REMOVE(ss, link);
		if (ss->pipe == 0)
			unlink_url(ss->url);
		free(ss); /* the socket is closed: its listeners are gone */
	}
	nng_mtx_free(s->mu);
}

void
rpc_session_peer(struct cella_rpc_server *s, nng_pipe p,
		 struct cella_rpc_peer *out)
{
	struct rpc_session *ss;

	memset(out, 0, sizeof(*out));
	out->pipe = (uint32_t)nng_pipe_id(p);
	out->roles = CELLA_ROLE_ALL;
	nng_mtx_lock(s->mu);
	ss = find_lid(s, nng_listener_id(nng_pipe_listener(p)));
	if (ss != NULL) {
		*out = ss->peer;
		out->pipe = (uint32_t)nng_pipe_id(p);
	}
	nng_mtx_unlock(s->mu);
}

static int
session_listen(struct cella_rpc_server *s, struct rpc_session *ss,
	       struct cella_diag *d)
{
	uint8_t rnd[8];
	char hex[17];
	int rv;

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return cella_diag_set(d, -EIO, "no randomness for a session");
	cella_hex_encode(rnd, sizeof(rnd), hex, sizeof(hex));
	/* session_base was checked to leave room for ".<16 hex>". */
	if (snprintf(ss->url, sizeof(ss->url), "%.280s.%s", s->session_base,
		     hex) >= (int)sizeof(ss->url))
		return cella_diag_set(d, -ENAMETOOLONG, "session path too long");
	rv = cella_err_nng(nng_listener_create(&ss->l, s->sock, ss->url));
	if (rv == 0) {
		nng_mtx_lock(s->mu);
		ss->lid = nng_listener_id(ss->l);
		nng_mtx_unlock(s->mu);
		rv = cella_err_nng(nng_listener_set_int(
			ss->l, NNG_OPT_IPC_PERMISSIONS, S_IRUSR | S_IWUSR));
	}
	if (rv == 0)
		rv = cella_err_nng(nng_listener_start(ss->l, 0));
	if (rv < 0) {
		nng_listener_close(ss->l);
		return cella_diag_set(d, rv, "cannot listen on %s: %s",
				      ss->url, cella_strerror(rv));
	}
	return 0;
}

/* Validate the request body into ss->peer. */
static int
session_peer_from(const cbor_item_t *body, struct rpc_session *ss,
		  struct cella_diag *d)
{
	struct cella_span name;
	uint64_t roles;
	int rv;

	if ((rv = cella_cbor_get_text(body, "operator", CELLA_OPERATOR_NAME_MAX,
				      &name, d)) < 0 ||
	    (rv = cella_cbor_get_uint(body, "roles", CELLA_ROLE_ALL, &roles,
				      d)) < 0)
		return rv == -ENOENT ? cella_diag_set(d, -EINVAL,
						      "operator and roles are "
						      "required")
				     : rv;
	if (name.n == 0)
		return cella_diag_set(d, -EINVAL, "empty operator name");
	memcpy(ss->peer.operator, name.p, name.n);
	ss->peer.operator[name.n] = '\0';
	ss->peer.roles = (uint32_t)roles;
	ss->peer.remote = true;
	return 0;
}

static int
session_open(struct cella_rpc_server *s, const cbor_item_t *body,
	     struct rpc_session **out, struct cella_diag *d)
{
	struct rpc_session *ss;
	int rv;

	if (s->session_base[0] == '\0')
		return cella_diag_set(d, -ENOTSUP,
				      "this service's socket is not ipc://: "
				      "no sessions");
	sessions_reap(s);
	if ((ss = calloc(1, sizeof(*ss))) == NULL)
		return cella_diag_set(d, -ENOMEM, "out of memory");
	if ((rv = session_peer_from(body, ss, d)) < 0)
		goto fail;
	nng_mtx_lock(s->mu);
	rv = s->nsessions >= SESSIONS_MAX ? -EBUSY : 0;
	if (rv == 0)
		s->nsessions++;
	nng_mtx_unlock(s->mu);
	if (rv < 0) {
		cella_diag_set(d, rv, "%d sessions open already", SESSIONS_MAX);
		goto fail;
	}
	ss->expires = nng_clock() + CELLA_RPC_SESSION_WAIT_MS;
	/* Listed before it listens, so its first pipe is recognised. */
	nng_mtx_lock(s->mu);
	ss->lid = -1;
	LIST_INSERT_HEAD(&s->sessions, ss, link);
	nng_mtx_unlock(s->mu);
	if ((rv = session_listen(s, ss, d)) < 0) {
		nng_mtx_lock(s->mu);
		LIST_REMOVE(ss, link);
		s->nsessions--;
		nng_mtx_unlock(s->mu);
		goto fail;
	}
	*out = ss;
	return 0;
fail:
	free(ss);
	return rv;
}

void
rpc_session_open_req(struct cella_rpc_req *w)
{
	struct rpc_session *ss = NULL;
	struct cella_diag d = {""};
	cbor_item_t *body = NULL;
	char roles[64];
	int rv;

	if (w->peer.remote) {
		end_with_error(w, w->env.id, -EACCES,
			       "sessions are opened by local peers only");
		return;
	}
	rv = session_open(w->srv, w->env.body, &ss, &d);
	if (rv < 0) {
		end_with_error(w, w->env.id, rv, d.msg);
		return;
	}
	cella_roles_format(ss->peer.roles, roles, sizeof(roles));
	cella_log_info("session_open", "operator=%s roles=%s",
		       cella_q(ss->peer.operator), roles);
	body = cbor_new_indefinite_map();
	if (body == NULL || cella_cbor_put_text(body, "url", ss->url) < 0 ||
	    cella_rpc_reply(w, CELLA_MSG_SESSION_OPEN_REPLY, body) < 0)
		end_with_error(w, w->env.id, -ENOMEM, "out of memory");
	if (body != NULL)
		cbor_decref(&body);
}

void
cella_rpc_server_on_close(struct cella_rpc_server *s,
			  void (*cb)(uint32_t pipe, void *arg), void *arg)
{
	nng_mtx_lock(s->mu);
	s->on_close = cb;
	s->on_close_arg = arg;
	nng_mtx_unlock(s->mu);
}

int
cella_rpc_session_open(struct cella_rpc_client *c, const char *operator,
		       uint32_t roles, char *url, size_t len,
		       struct cella_diag *d)
{
	struct cella_env reply = {0};
	struct cella_span u;
	cbor_item_t *body = cbor_new_indefinite_map();
	int rv = -ENOMEM;

	if (body == NULL || cella_cbor_put_text(body, "operator", operator) < 0 ||
	    cella_cbor_put_uint(body, "roles", roles) < 0)
		goto out;
	rv = cella_rpc_call(c, CELLA_MSG_SESSION_OPEN, body, &reply, d);
	if (rv < 0)
		goto out;
	rv = cella_cbor_get_text(reply.body, "url", CELLA_ADDR_URL_MAX, &u, d);
	if (rv == 0 && u.n >= len)
		rv = cella_diag_set(d, -ENAMETOOLONG, "session url too long");
	if (rv == 0) {
		memcpy(url, u.p, u.n);
		url[u.n] = '\0';
	}
out:
	cella_env_fini(&reply);
	if (body != NULL)
		cbor_decref(&body);
	return rv;
}
