/*
 * query: the parts of an HTTP request that cella-ra-web reads from the
 * client's own bytes: the query string of /v1/attestation and the Accept
 * header. Both parsers take a borrowed span (never NUL-terminated), never
 * allocate, and explain a refusal in one short line that is safe to return
 * to the client (it quotes at most a clipped, printable excerpt).
 */
#ifndef RA_QUERY_H
#define RA_QUERY_H

#include <stddef.h>
#include <stdint.h>

#include "common/core/err.h"

/*
 * The nonce of "nonce=HEX" in q[0..n) (the query without '?'; n == 0 when
 * there is none). The only parameter allowed is nonce, once; hex of either
 * case, an even count of digits, 1..cap bytes. Returns the byte count or
 * -ENOENT (no nonce), -EMSGSIZE (over cap), -EINVAL (anything else); d says
 * which.
 */
int ra_query_nonce(const char *q, size_t n, uint8_t *out, size_t cap,
		   struct cella_diag *d);

enum ra_media {
	RA_MEDIA_NONE = 0, /* nothing acceptable: 406 */
	RA_MEDIA_CBOR = 1, /* application/cbor */
	RA_MEDIA_JSON = 2, /* application/json */
};

/*
 * Content negotiation (RFC 9110 12.5.1) between the two media a resource
 * offers, `pref` first on a tie. v[0..n) is the Accept header; v == NULL
 * means no header: pref. The most specific range that matches a medium
 * gives its q; q=0 refuses it; malformed ranges are skipped.
 */
enum ra_media ra_accept(const char *v, size_t n, enum ra_media pref,
			enum ra_media other);

#endif
