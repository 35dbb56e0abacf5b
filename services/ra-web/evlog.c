/* evlog: ask cella-init for the event log's head; encode it as user_data. */
#include "services/ra-web/evlog.h"
#include "common/core/clock.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/cbor/cbor.h"
#include "common/core/log.h"

void
ra_evlog_init(struct ra_evlog *e, const char *url)
{
	memset(e, 0, sizeof(*e));
	pthread_mutex_init(&e->mu, NULL);
	snprintf(e->url, sizeof(e->url), "%s", url);
}

void
ra_evlog_fini(struct ra_evlog *e)
{
	cella_rpc_client_free(e->c);
	e->c = NULL;
	pthread_mutex_destroy(&e->mu);
}

/* One INIT_EVENTS call from past the end: the head and length only.
 * Called with e->mu held (one question at a time is plenty). */
static int
ask(struct ra_evlog *e, uint8_t head[48], uint64_t *len, struct cella_diag *d)
{
	cbor_item_t *body = cbor_new_indefinite_map();
	struct cella_env r = {0};
	struct cella_span h;
	int rv = -ENOMEM;

	if (e->c == NULL &&
	    (rv = cella_rpc_client_new(e->url, RA_EVLOG_TIMEOUT_MS, &e->c, d)) < 0)
		goto out;
	if (body == NULL || cella_cbor_put_uint(body, "from", UINT64_MAX) < 0)
		goto out;
	rv = cella_rpc_call(e->c, CELLA_MSG_INIT_EVENTS, body, &r, d);
	if (rv == 0 &&
	    (cella_cbor_get_bytes(r.body, "head", 48, &h, d) < 0 || h.n != 48 ||
	     cella_cbor_get_uint(r.body, "length", UINT64_MAX, len, d) < 0))
		rv = cella_diag_set(d, -EPROTO, "init sent no head");
	if (rv == 0)
		memcpy(head, h.p, 48);
	else if (e->c != NULL && rv != -EPROTO) {
		cella_rpc_client_free(e->c); /* made again next time */
		e->c = NULL;
	}
out:
	cella_env_fini(&r);
	if (body != NULL)
		cbor_decref(&body);
	return rv;
}

int
ra_evlog_user_data(struct ra_evlog *e, uint8_t head[48], uint64_t *len,
		   struct cella_buf *out)
{
	struct cella_diag d = {{0}};
	cbor_item_t *m = NULL;
	int rv;

	if (e->url[0] == '\0')
		return -ENOTCONN;
	pthread_mutex_lock(&e->mu);
	rv = ask(e, head, len, &d);
	if (rv < 0 && cella_mono_ms() - e->warned_ms >= 60000) {
		e->warned_ms = cella_mono_ms();
		cella_log_warn("evlog_unavailable",
			       "url=%s err=%s msg=%s (documents go out without "
			       "the event log head)",
			       e->url, cella_errname(rv), cella_q(d.msg));
	}
	pthread_mutex_unlock(&e->mu);
	if (rv < 0)
		return rv;
	m = cbor_new_indefinite_map();
	if (m == NULL || cella_cbor_put_bytes(m, "evlog_head", head, 48) < 0 ||
	    cella_cbor_put_uint(m, "evlog_len", *len) < 0)
		rv = -ENOMEM;
	else
		rv = cella_cbor_encode(m, out);
	if (m != NULL)
		cbor_decref(&m);
	return rv;
}
