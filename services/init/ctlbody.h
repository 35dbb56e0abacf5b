/*
 * ctlbody: reply bodies of init's control API (shapes in proto/init.cddl).
 * Each builder returns a new map (the caller's, cbor_decref) or NULL when
 * memory ran out. Pages of lines and events are bounded by count and
 * bytes; "more" says whether the caller should ask again from "next".
 */
#ifndef INIT_CTLBODY_H
#define INIT_CTLBODY_H

#include <cbor.h>
#include <stddef.h>
#include <stdint.h>

#include "services/init/control.h"
#include "services/init/evlog.h"

struct init_run;
struct init_ctx;

cbor_item_t *init_body_status(const struct init_run *r);
cbor_item_t *init_body_list(struct init_ctx *ctx);
/* Lines with seq > after, at most max_bytes (0: INIT_CTL_REPLY_BYTES). */
cbor_item_t *init_body_logs(const struct init_run *r, uint64_t after,
			    size_t max_bytes);
/* Events [from, from + limit), bounded by INIT_CTL_REPLY_BYTES. */
cbor_item_t *init_body_events(const struct init_evlog *log, uint64_t from,
			      uint64_t limit);

#endif
