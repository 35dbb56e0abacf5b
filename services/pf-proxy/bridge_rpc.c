/*
 * bridge_rpc: what the bridge asks of the enclave's services for an
 * admitted operator, from worker threads: a session on the target service,
 * init's event log head, ra-web's document. The rpc clients are shared by
 * the workers (nng's are thread-safe) and made again after a failure, so a
 * service restarted under init is found again. Also the authorization
 * itself, a lookup in the measured operators list, which the loop runs.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "common/cbor/cbor.h"
#include "common/core/log.h"
#include "common/rpc/rpc.h"
#include "services/pf-proxy/bridge_int.h"

#define RPC_TIMEOUT_MS 5000

/* --- rpc clients, shared by the workers ---------------------------------- */

/* A client for url, held until client_put; NULL when unreachable. */
static struct pfp_svc_client *
client_get(struct pfp_bridge *b, const char *url, struct cella_diag *d)
{
	struct pfp_svc_client *free_slot = NULL, *sc = NULL;

	pthread_mutex_lock(&b->mu);
	for (int i = 0; i < PFP_BRIDGE_CLIENTS_MAX && sc == NULL; i++) {
		struct pfp_svc_client *x = &b->clients[i];

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
client_put(struct pfp_bridge *b, struct pfp_svc_client *sc, bool stale)
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
	struct pfp_svc_client *sc = client_get(b, url, d);
	int rv;

	if (sc == NULL)
		return cella_diag_set(d, -EHOSTUNREACH, "%s is not reachable",
				      url);
	rv = cella_rpc_call(sc->c, type, body, reply, d);
	client_put(b, sc, broken(rv));
	return rv;
}

/* --- the exchange's callbacks --------------------------------------------- */

int
pfp_bridge_authorize(struct pfp_bconn *w, const uint8_t key[32],
		     struct cella_diag *d)
{
	struct cella_operator *op = &w->op;
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
	struct pfp_bconn *w = arg;
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
	struct pfp_bconn *w = arg;
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

/*
 * The operator's session on the target service, opened before the
 * document is sent, so that a service that is not there is reported as
 * such rather than as a dropped connection. Connected only after the
 * client's ok.
 */
static int
bridge_prepare(void *arg, const struct cella_operator *op, struct cella_diag *d)
{
	struct pfp_bconn *w = arg;
	struct pfp_svc_client *sc = client_get(w->b, w->rule->target, d);
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

int
pfp_bridge_connect_session(struct pfp_bconn *w)
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

const struct cella_atls_server_ops pfp_bridge_ops = {
	.prepare = bridge_prepare,
	.evlog = bridge_evlog,
	.attest = bridge_attest,
};

void
pfp_bridge_clients_free(struct pfp_bridge *b)
{
	for (int i = 0; i < PFP_BRIDGE_CLIENTS_MAX; i++)
		cella_rpc_client_free(b->clients[i].c);
}
