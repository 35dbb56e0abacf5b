/*
 * evlog: the measured event log, an append-only hash chain of what happened
 * inside the enclave. Nothing is ever removed or rewritten; when the caps
 * are reached appends are refused (-ENOSPC), never older events dropped,
 * because a verifier replays the whole chain.
 *
 * Chain (proto/evlog.md is the reference for verifiers):
 *
 *   head_0 = 48 zero bytes
 *   hash_n = SHA-384(event_n)
 *   head_n = SHA-384(head_{n-1} || hash_n)        n = 1, 2, ...
 *
 * event_n is the deterministic CBOR encoding (RFC 8949 section 4.2.1:
 * definite lengths, shortest integer forms, map keys sorted by their
 * encoded bytes) of a map with exactly these five keys, in this order:
 *
 *   "data"   map    event-specific fields (itself deterministic)
 *   "time"   uint   milliseconds since the Unix epoch (CLOCK_REALTIME)
 *   "type"   text   "config", "start", "exit", "stop" (init's own) or a
 *                   type appended by another service
 *   "index"  uint   n - 1 (the first event has index 0)
 *   "source" text   "init", or the name the appending service gave
 *
 * data may hold unsigned and negative integers, byte and text strings,
 * booleans, null, arrays, and maps keyed by text; appended data is
 * re-encoded deterministically, so a client's encoding choices do not
 * change the chain. Floats, tags, and other keys are refused (-EINVAL).
 */
#ifndef INIT_EVLOG_H
#define INIT_EVLOG_H

#include <cbor.h>
#include <stddef.h>
#include <stdint.h>

#include "common/core/buf.h"

#define INIT_EVLOG_HASH 48
#define INIT_EVLOG_EVENT_MAX 8192u /* bytes of one serialized event */
#define INIT_EVLOG_DEPTH_MAX 8	   /* nesting inside data */
#define INIT_EVLOG_TYPE_MAX 64
#define INIT_EVLOG_SOURCE_MAX 64

struct init_evlog_entry {
	uint8_t *cbor; /* event_n, exactly as hashed */
	size_t len;
	uint8_t hash[INIT_EVLOG_HASH];
	uint8_t head[INIT_EVLOG_HASH]; /* head_n after this event */
};

struct init_evlog {
	struct init_evlog_entry *v;
	size_t n, cap;
	size_t bytes;
	size_t max_events, max_bytes;
	uint8_t head[INIT_EVLOG_HASH];
};

void init_evlog_init(struct init_evlog *l, size_t max_events,
		     size_t max_bytes);
void init_evlog_fini(struct init_evlog *l);

/*
 * Append one event. data is a map (NULL = empty map) and is only read.
 * type and source must be 1..64 bytes of printable ASCII. On success the
 * new event's index is written to *index (when not NULL). Errors: -EINVAL
 * (bad type, source or data), -EMSGSIZE (event over INIT_EVLOG_EVENT_MAX),
 * -ENOSPC (log full), -ENOMEM.
 */
int init_evlog_append(struct init_evlog *l, const char *type,
		      const char *source, uint64_t time_ms,
		      const cbor_item_t *data, uint64_t *index);

/*
 * Append the deterministic encoding of item (see above) to out; -EINVAL for
 * a type, key or nesting that is not allowed, -EMSGSIZE past out's cap.
 */
int init_evlog_canon(const cbor_item_t *item, struct cella_buf *out);

/* Recompute head from the serialized events; 0 when it matches l->head. */
int init_evlog_verify(const struct init_evlog *l);

/* head_n from head_{n-1} and event_n's bytes. */
int init_evlog_chain(const uint8_t prev[INIT_EVLOG_HASH], const uint8_t *ev,
		     size_t len, uint8_t hash[INIT_EVLOG_HASH],
		     uint8_t head[INIT_EVLOG_HASH]);

#endif
