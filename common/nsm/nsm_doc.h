/*
 * nsm_doc: attestation documents in exactly the shape the Nitro NSM
 * produces (internal to the sim provider, and its tests). The payload is a
 * map of 9 text keys in Nitro's order: module_id, digest, timestamp, pcrs,
 * certificate, cabundle, public_key, user_data, nonce, with shortest heads,
 * PCRs by ascending index and null for an absent optional field. The
 * envelope is an untagged COSE_Sign1: protected = bstr {1: -35}, an empty
 * unprotected map, the payload, and a 96-byte r||s ES384 signature, as
 * cella_cose_sign1_sign(key, CELLA_COSE_ES384, payload, out) writes it.
 */
#ifndef CELLA_NSM_DOC_H
#define CELLA_NSM_DOC_H

#include <stdint.h>

#include "common/core/buf.h"
#include "common/nsm/nsm.h"

#define CELLA_NSM_CABUNDLE_MAX 8

struct cella_nsm_doc {
	struct cella_span module_id;
	const char *digest; /* "SHA384" */
	uint64_t timestamp_ms;
	uint32_t pcr_mask; /* bit i: pcrs[i] goes into the document */
	const uint8_t (*pcrs)[CELLA_NSM_PCR_LEN];
	struct cella_span certificate;
	struct cella_span cabundle[CELLA_NSM_CABUNDLE_MAX]; /* root first */
	size_t n_cabundle;
	struct cella_nsm_opt public_key, user_data, nonce;
};

/* Append the payload map; -EMSGSIZE past out's cap, -EINVAL for >8 CAs. */
int cella_nsm_doc_payload(const struct cella_nsm_doc *doc,
			  struct cella_buf *out);

#endif
