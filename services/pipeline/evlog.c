/*
 * evlog: appends the pipeline's events to cella-init's measured log
 * (INIT_EVENT_APPEND on init's control API). The connection is made on
 * first use and kept (nng redials by itself), so the pipeline may start
 * before init's socket exists. A failure is returned, never swallowed:
 * the caller refuses the command or file whose event could not be logged.
 */
#include "services/pipeline/pipe.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/cbor/cbor.h"
#include "common/core/log.h"

struct pipe_evlog {
	pthread_mutex_t mu;
	struct cella_rpc_client *cli;
	char url[301];
	int timeout_ms;
};

int
pipe_evlog_new(const char *url, int timeout_ms, struct pipe_evlog **out)
{
	struct pipe_evlog *e = calloc(1, sizeof(*e));

	if (e == NULL)
		return -ENOMEM;
	pthread_mutex_init(&e->mu, NULL);
	snprintf(e->url, sizeof(e->url), "%s", url);
	e->timeout_ms = timeout_ms;
	*out = e;
	return 0;
}

void
pipe_evlog_free(struct pipe_evlog *e)
{
	if (e == NULL)
		return;
	cella_rpc_client_free(e->cli);
	pthread_mutex_destroy(&e->mu);
	free(e);
}

static struct cella_rpc_client *
client(struct pipe_evlog *e, struct cella_diag *d)
{
	struct cella_rpc_client *c;

	pthread_mutex_lock(&e->mu);
	if (e->cli == NULL &&
	    cella_rpc_client_new(e->url, e->timeout_ms, &e->cli, d) < 0)
		e->cli = NULL;
	c = e->cli;
	pthread_mutex_unlock(&e->mu);
	return c;
}

int
pipe_evlog_append(struct pipe_evlog *e, const char *type,
		  const cbor_item_t *data, struct cella_diag *d)
{
	struct cella_rpc_client *c;
	struct cella_env reply = {0};
	struct cella_diag cd = {{0}};
	cbor_item_t *body = cbor_new_indefinite_map();
	int rv = -ENOMEM;

	if (body == NULL || cella_cbor_put_text(body, "type", type) < 0 ||
	    cella_cbor_put_text(body, "source", "pipeline") < 0 ||
	    cella_cbor_put_item(body, "data", (cbor_item_t *)data) < 0)
		goto out;
	if ((c = client(e, &cd)) == NULL) {
		rv = -EHOSTDOWN;
		goto out;
	}
	rv = cella_rpc_call(c, CELLA_MSG_INIT_EVENT_APPEND, body, &reply, &cd);
	if (rv == 0 && reply.type != CELLA_MSG_INIT_EVENT_APPEND_REPLY)
		rv = -EPROTO;
	cella_env_fini(&reply);
out:
	if (body != NULL)
		cbor_decref(&body);
	if (rv < 0) {
		cella_log_warn("event_append_failed", "type=%s err=%s msg=%s",
			       type, cella_errname(rv), cella_q(cd.msg));
		/* One code for "the log is unavailable", whatever the cause. */
		return cella_diag_set(d, rv == -ENOMEM ? rv : -EHOSTDOWN,
				      "cannot append to the event log (init at "
				      "%s): %s",
				      e->url, cd.msg[0] ? cd.msg
							: cella_strerror(rv));
	}
	return 0;
}
