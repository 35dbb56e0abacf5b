/*
 * atls: the attestation exchange that follows the TLS 1.3 handshake on
 * every connection of the attested bridge (proto/bridge.md), before any nng
 * byte flows:
 *
 *   client -> server  {"v": 1, "nonce": bstr .size 32}        fresh, random
 *   server -> client  {"document": bstr, "operator": tstr, "roles": uint}
 *                  or {"error": tstr}                          refused
 *                  or {"error": tstr, "unavailable": true}     the service
 *                                                              is not there
 *   client -> server  {"ok": true}
 *                  or {"refuse": tstr}                         the reason
 *
 * Frames are a 4-byte big-endian length and one CBOR map, at most
 * CELLA_ATLS_FRAME_MAX bytes. The document's nonce is the client's nonce and
 * its user_data is the CBOR map
 *   {"exporter": bstr .size 32, "evlog_head": bstr .size 48, "evlog_len": uint}
 * where exporter is the session's TLS exporter value (label
 * "EXPORTER-cella-attestation"): a relay that terminates TLS itself has a
 * different session, so its exporter differs and the client refuses. The
 * client checks the document against its policy (pinned root, PCRs, debug,
 * age), the nonce and the exporter; only then is the stream handed on.
 *
 * The client runs the exchange with blocking semantics and a deadline on a
 * non-blocking socket; the server's pieces are below. Every refusal,
 * a malformed hello's included, carries a reason both sides log and the
 * client prints.
 */
#ifndef CELLA_ATLS_H
#define CELLA_ATLS_H

#include <cbor.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/core/buf.h"
#include "common/cbor/cbor.h"
#include "common/core/err.h"
#include "common/rpc/operators.h"
#include "common/attest/verify.h"

#define CELLA_ATLS_VERSION 1
#define CELLA_ATLS_NONCE_LEN 32
#define CELLA_ATLS_FRAME_MAX 16384
#define CELLA_ATLS_TIMEOUT_MS 10000

/* What the bridge needs from its services to answer an admitted client. */
struct cella_atls_server_ops {
	/* Once authorized, before the document: make the service ready for
	 * op (the bridge opens its session). A failure is sent to the client
	 * as unavailable, not as a refusal. May be NULL. */
	int (*prepare)(void *arg, const struct cella_operator *op,
		       struct cella_diag *d);
	/* The event log's head and length now. */
	int (*evlog)(void *arg, uint8_t head[48], uint64_t *len,
		     struct cella_diag *d);
	/* A document for nonce and user_data (written to doc). */
	int (*attest)(void *arg, struct cella_span nonce,
		      struct cella_span user_data, struct cella_buf *doc,
		      struct cella_diag *d);
	void *arg;
};

/*
 * Server side, in two parts, so that a bridge can run everything up to
 * the operator's authorization on its own event loop (where an idle or
 * slow peer costs no thread) and only an admitted operator's exchange
 * with blocking semantics:
 *
 * - cella_atls_reader_step reads one frame without blocking;
 * - cella_atls_hello_parse checks the hello in it and yields its nonce;
 *   a hello it refuses (-EPROTO, the reason in d) is answered with
 *   cella_atls_error_frame before the connection is closed;
 * - cella_atls_serve_admitted does the rest for an authorized *op: the
 *   service prepared (ops->prepare), the document sent, the verdict read.
 *   0 when the client said ok; -EACCES: refused (the client was told why,
 *   or told us why; d says it); other errors: the exchange broke.
 */
struct cella_atls_reader {
	uint8_t hdr[4];
	size_t got; /* bytes of header and body read so far */
	uint32_t len; /* the body's length, once the header is in */
	uint8_t *body; /* len bytes, allocated once the length is checked */
};

/* 0: a whole frame is in r->body (r->len bytes); -EAGAIN: more is needed
 * (*want: SSL_ERROR_WANT_READ or _WRITE); -EMSGSIZE for a length out of
 * 1..CELLA_ATLS_FRAME_MAX, -ECONNRESET, -EPROTO (d says why). */
int cella_atls_reader_step(struct cella_atls_reader *r, SSL *ssl, int *want,
			   struct cella_diag *d);
void cella_atls_reader_fini(struct cella_atls_reader *r);

/* A hello's body: 0 with its nonce, or -EPROTO naming what is wrong. */
int cella_atls_hello_parse(const uint8_t *p, size_t n,
			   uint8_t nonce[CELLA_ATLS_NONCE_LEN],
			   struct cella_diag *d);

/* The framed answer {"error": reason[, "unavailable": true]}, appended to
 * out (the reason is clipped to 512 bytes). */
int cella_atls_error_frame(const char *reason, bool unavailable,
			   struct cella_buf *out);

int cella_atls_serve_admitted(SSL *ssl, int fd,
			      const struct cella_atls_server_ops *ops,
			      const uint8_t nonce[CELLA_ATLS_NONCE_LEN],
			      const struct cella_operator *op, long deadline,
			      struct cella_diag *d);

/* What the client learned from a verified exchange. */
struct cella_atls_peer {
	char operator[CELLA_OPERATOR_NAME_MAX + 1]; /* as the enclave named us */
	uint32_t roles;
	uint8_t evlog_head[48];
	uint64_t evlog_len;
	char module_id[129];
	uint8_t pcrs[3][48]; /* PCR0..2 */
	uint8_t doc[CELLA_ATTDOC_MAX]; /* the verified document itself */
	size_t doc_len;
};

/*
 * Client side, after the TLS handshake. Verifies the document with pol (its
 * nonce is set here: pol's own when it has one of CELLA_ATLS_NONCE_LEN
 * bytes, else a fresh random one) and cache (may be NULL). -EACCES: refused, by the
 * enclave or by us, with the reason in d; the enclave was told ours.
 */
int cella_atls_client(SSL *ssl, int fd, const struct cella_verify_policy *pol,
		      struct cella_verify_cache *cache,
		      struct cella_atls_peer *peer, struct cella_diag *d);

/* user_data of a bridge document: encode, and parse (strict). */
int cella_atls_user_data(const uint8_t exporter[32], const uint8_t head[48],
			 uint64_t len, struct cella_buf *out);
int cella_atls_user_data_parse(struct cella_span ud, uint8_t exporter[32],
			       uint8_t head[48], uint64_t *len,
			       struct cella_diag *d);

/* The limits a frame's CBOR is read with. */
extern const struct cella_cbor_limits cella_atls_frame_limits;

/* A frame: map encoded after its 4-byte length, appended to out;
 * -EMSGSIZE over CELLA_ATLS_FRAME_MAX. */
int cella_atls_frame_encode(const cbor_item_t *map, struct cella_buf *out);
/* The body length a header announces; -EMSGSIZE (d) out of 1..max. */
int cella_atls_frame_len(const uint8_t hdr[4], uint32_t *len,
			 struct cella_diag *d);

/* One frame out / in (used by both sides and by tests playing a peer). */
int cella_atls_send(SSL *ssl, int fd, const cbor_item_t *map, long deadline_ms,
		    struct cella_diag *d);
int cella_atls_recv(SSL *ssl, int fd, cbor_item_t **map, long deadline_ms,
		    struct cella_diag *d);
/* A deadline timeout_ms from now, for the two above. */
long cella_atls_deadline(int timeout_ms);

/*
 * Host side, all of it: connect to url (vsock://CID:PORT, or any stream
 * address in tests), TLS with the operator key file, the exchange. On
 * success *fd and *ssl are the caller's: a verified stream to the service.
 */
struct cella_atls_dial_opts {
	const char *key_path;
	const struct cella_verify_policy *pol;
	struct cella_verify_cache *cache;
	int timeout_ms;
};
int cella_atls_dial(const char *url, const struct cella_atls_dial_opts *o,
		    int *fd, SSL **ssl, struct cella_atls_peer *peer,
		    struct cella_diag *d);

#endif
