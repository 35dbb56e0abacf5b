/*
 * control_int: what control.c (transport, parking, lifecycle) and
 * ctlreq.c (request handlers) share. Not a contract for anyone else.
 */
#ifndef INIT_CONTROL_INT_H
#define INIT_CONTROL_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <uv.h>

#include "common/core/err.h"
#include "common/rpc/rpc.h"
#include "services/init/control.h"
#include "services/init/run.h"

#define INIT_CTL_WAIT_DEFAULT_MS 120000u
#define INIT_CTL_NAME_MAX 64

enum park_kind { PARK_START, PARK_STOP, PARK_FOLLOW };

struct park {
	struct park *next, **prevp;
	struct init_control *c;
	void *req;
	enum park_kind kind;
	struct init_run *r;
	uint64_t after;
	uint32_t pipe;	   /* its connection; 0 for a local transport */
	char operator[64]; /* "" unless an operator through the bridge */
	uv_timer_t timer;
};

struct qitem {
	struct qitem *next;
	struct cella_rpc_req *req;
};

struct init_control {
	struct init_ctx *ctx;
	struct init_control_transport t;
	struct cella_rpc_server *srv;
	uv_async_t async;
	bool async_on;
	pthread_mutex_t mu;
	bool closing;	    /* under mu */
	struct qitem *q;    /* under mu, newest first */
	struct park *parks; /* loop thread */
};

/* Answer req with body (consumed; NULL: out of memory). */
void ctl_reply(struct init_control *c, void *req, uint32_t type,
	       cbor_item_t *body);
/* Answer req with err and d's message. */
void ctl_fail(struct init_control *c, void *req, int err,
	      const struct cella_diag *d);
/*
 * Keep req until r settles (or has lines after `after`), or timeout_ms.
 * -EBUSY with d when a follow is over its caps or too many requests wait.
 */
int ctl_park(struct init_control *c, void *req, enum park_kind kind,
	     struct init_run *r, uint64_t after, uint64_t timeout_ms,
	     struct cella_diag *d);
/* 1: done, -1: failed, 0: not yet (for a start or stop waiter). */
int ctl_settled(enum park_kind kind, const struct init_run *r);

#endif
