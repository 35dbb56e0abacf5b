/*
 * control: init's control API (proto/init.cddl). Requests arrive on nng
 * threads (common/rpc/rpc.h); the handler only queues them and wakes the loop
 * (uv_async), and every request is decoded, acted on and answered on the
 * loop thread, so no supervisor state is ever touched by two threads.
 * Requests that must wait (start/stop/restart with wait, logs follow) are
 * parked and answered later from the loop: when the service settles, when
 * lines arrive, or when their own timeout fires. A parked request is
 * detached from its rpc worker, so that waiters never starve the control
 * plane (ps, restart, the bridge's session and event-log calls), and
 * follows are capped per connection and per operator. Bad input (unknown
 * service, bad transition, malformed body) is an error reply, never a
 * crash.
 *
 * The transport is pluggable so that the dispatch can be driven without
 * sockets (the fuzz target and unit tests): init_control_new serves an nng
 * URL, init_control_local hands replies to callbacks.
 */
#ifndef INIT_CONTROL_H
#define INIT_CONTROL_H

#include <cbor.h>
#include <stdint.h>

#include "common/rpc/envelope.h"
#include "common/rpc/rpc.h"
#include "common/core/err.h"

struct init_ctx;
struct init_run;
struct init_control;

#define INIT_CTL_WORKERS 8
#define INIT_CTL_WAIT_MAX_MS 3600000u
#define INIT_CTL_FOLLOW_MAX_MS 60000u
#define INIT_CTL_FOLLOWS_PER_CONN 4	 /* parked follows, one connection */
#define INIT_CTL_FOLLOWS_PER_OPERATOR 16 /* ... one operator, all sessions */
#define INIT_CTL_LINES_MAX 4096u	/* lines per logs reply */
#define INIT_CTL_REPLY_BYTES (4u << 20) /* payload per logs/events reply */

/* Serve url (an ipc:// socket file is made 0600 and its folder 0755). */
int init_control_new(struct init_ctx *ctx, const char *url,
		     struct init_control **out, struct cella_diag *d);

/* How a local transport answers: exactly one call per request. */
struct init_control_transport {
	void (*reply)(void *req, uint32_t type, const cbor_item_t *body,
		      void *arg);
	void (*error)(void *req, int err, const char *msg, void *arg);
	void *arg;
	/* Who sent req (an operator through the bridge carries roles); NULL
	 * or a NULL answer: a local peer with every role. */
	const struct cella_rpc_peer *(*peer)(void *req, void *arg);
	/* req will be answered later: it must not hold a worker meanwhile
	 * (NULL: nothing to do). 0 or -errno, req then answered at once. */
	int (*detach)(void *req, void *arg);
};
int init_control_local(struct init_ctx *ctx,
		       const struct init_control_transport *t,
		       struct init_control **out);
/* Handle one request (req is the transport's token). Loop thread only. */
void init_control_dispatch(struct init_control *c, void *req,
			   const struct cella_env *env);

/*
 * Answer every parked request with ESHUTDOWN, stop serving, free. Loop
 * thread; the loop must run afterwards to close the handles.
 */
void init_control_free(struct init_control *c);

/* Hooks from the supervisor (c may be NULL). */
void init_control_changed(struct init_control *c, struct init_run *r);
void init_control_output(struct init_control *c, struct init_run *r);
void init_control_shutdown(struct init_control *c);

#endif
