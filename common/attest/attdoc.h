/*
 * attdoc: the payload of an AWS Nitro attestation document (the CBOR map
 * inside the COSE_Sign1), parsed with every type and size checked, and
 * encoded in the same shape. Parsing here proves only that the payload is
 * well formed; whether it is true (signature, chain, policy) is verify.h's
 * business. Also the one place that turns what a user hands over (raw CBOR
 * or base64 text) into document bytes.
 *
 * Shape (what real documents show): a map of exactly these 9 text keys, in
 * any order, each once: module_id (text), digest (text), timestamp (uint,
 * milliseconds), pcrs (map uint < 32 -> bstr, 1..32 entries), certificate
 * (bstr, DER), cabundle (array of bstr, DER, root first, 1..8 entries),
 * public_key, user_data, nonce (bstr of at most 1024 bytes, or null when
 * absent: an absent optional field is null, never missing).
 */
#ifndef CELLA_ATTDOC_H
#define CELLA_ATTDOC_H

#include <cbor.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/core/buf.h"
#include "common/core/err.h"

/*
 * Caps, with margin over real documents: the largest vector is 7539 bytes
 * (three 1024-byte optional fields), real DER certificates are under 1 KiB,
 * and the NSM driver's response buffer is 12 KiB.
 */
#define CELLA_ATTDOC_MAX (16u * 1024)	   /* a whole COSE_Sign1 document */
#define CELLA_ATTDOC_PCRS 32		   /* PCR indices 0..31 */
#define CELLA_ATTDOC_PCR_MAX 64		   /* one PCR value, any digest */
#define CELLA_ATTDOC_OPT_MAX 1024	   /* public_key, user_data, nonce */
#define CELLA_ATTDOC_CERT_MAX 4096	   /* one DER certificate */
#define CELLA_ATTDOC_CABUNDLE_MAX 8	   /* root + intermediates */
#define CELLA_ATTDOC_MODULE_ID_MAX 128	   /* printable ASCII */
#define CELLA_ATTDOC_DIGEST_MAX 16
/* What a base64 file holding one document may be, whitespace included. */
#define CELLA_ATTDOC_TEXT_MAX (CELLA_ATTDOC_MAX * 2)

struct cella_attdoc {
	struct cella_span module_id; /* printable ASCII, not NUL-terminated */
	struct cella_span digest;    /* text, e.g. "SHA384" */
	uint64_t timestamp_ms;
	uint32_t pcr_mask; /* bit i set: pcrs[i] present */
	struct cella_span pcrs[CELLA_ATTDOC_PCRS];
	struct cella_span certificate;
	struct cella_span cabundle[CELLA_ATTDOC_CABUNDLE_MAX];
	size_t ncabundle;
	/* Optional fields: has_* false means CBOR null. */
	struct cella_span public_key, user_data, nonce;
	bool has_public_key, has_user_data, has_nonce;
	cbor_item_t *item_; /* what the spans borrow (parse only) */
};

/*
 * Parse a payload. On success *out's spans borrow memory that *out owns:
 * release it with cella_attdoc_fini. -EBADMSG (d names the field) for any
 * deviation from the shape above: missing, extra or repeated keys, a wrong
 * type, a size out of bounds, a repeated PCR index. PCR values are only
 * bounded here (<= CELLA_ATTDOC_PCR_MAX); their exact length depends on the
 * digest and is the verifier's check. -EMSGSIZE over the caps, -ENOMEM.
 */
int cella_attdoc_parse(struct cella_span payload, struct cella_attdoc *out,
		       struct cella_diag *d);
void cella_attdoc_fini(struct cella_attdoc *doc);

/*
 * Encode doc as a payload in the canonical Nitro shape (keys in the order
 * above, PCRs by ascending index, null for absent optional fields),
 * appending to out. Sizes are not checked: tests use this to build invalid
 * documents. -EMSGSIZE past out's cap, -ENOMEM.
 */
int cella_attdoc_encode(const struct cella_attdoc *doc, struct cella_buf *out);

/*
 * Document bytes from what a user handed over: raw CBOR (it starts with a
 * CBOR array of 4 or tag 18) is copied as is; anything else must be base64
 * (standard or URL alphabet, padding optional, ASCII whitespace anywhere
 * ignored). Appends at most CELLA_ATTDOC_MAX bytes to out. -EINVAL (d says
 * why) when it is neither, -EMSGSIZE when too large.
 */
int cella_attdoc_unwrap(const uint8_t *p, size_t n, struct cella_buf *out,
			struct cella_diag *d);

#endif
