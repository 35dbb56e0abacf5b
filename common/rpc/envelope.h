/*
 * envelope: the one CBOR message shape on every cella nng socket (see
 * proto/README.md and proto/envelope.cddl):
 *
 *   [version, type, id, body]
 *
 * version is CELLA_ENV_VERSION; type is a registered message type
 * (proto/messages.h); id is the request id a reply echoes; body is any CBOR
 * item (a map for every registered message). Parsing passes the bytes
 * through cella_cbor_check with the envelope limits and the registry's
 * per-type size cap before libcbor allocates anything.
 *
 * An error reply is type CELLA_MSG_ERROR with body
 *   {"code": uint (positive errno), "name": "ENOENT", "message": text}
 */
#ifndef CELLA_ENVELOPE_H
#define CELLA_ENVELOPE_H

#include <cbor.h>
#include <stdint.h>

#include "common/core/buf.h"
#include "common/core/err.h"
#include "proto/messages.h"

#define CELLA_ENV_VERSION 1
#define CELLA_ENV_MAX_BYTES (16u << 20) /* no message type may exceed it */
#define CELLA_ENV_MAX_DEPTH 16
#define CELLA_ENV_MAX_ITEMS 65536

struct cella_env {
	uint32_t version;
	uint32_t type;
	uint64_t id;
	cbor_item_t *body; /* owned by the envelope */
};

/* The registry row for type, or NULL when the type is unknown. */
const struct cella_msg_info *cella_msg_lookup(uint32_t type);

/*
 * Parse p[0..n). On success *out owns its body (cella_env_fini). Errors:
 * -EMSGSIZE (over a limit), -EBADMSG (malformed, wrong shape), -EPROTO
 * (unsupported version), -ENOMSG (unknown type); d says which.
 */
int cella_env_parse(const uint8_t *p, size_t n, struct cella_env *out,
		    struct cella_diag *d);
void cella_env_fini(struct cella_env *e);

/* Encode [version, type, id, body] into out (appending). body NULL = {}. */
int cella_env_encode(uint32_t type, uint64_t id, const cbor_item_t *body,
		     struct cella_buf *out);

/* Encode an error reply for request id. */
int cella_env_encode_error(uint64_t id, int err, const char *message,
			   struct cella_buf *out);

/*
 * When e is an error reply: its negative errno (0 if not an error reply) and
 * its message copied into d.
 */
int cella_env_error(const struct cella_env *e, struct cella_diag *d);

#endif
