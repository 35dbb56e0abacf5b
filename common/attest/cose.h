/*
 * cose: COSE_Sign1 (RFC 9052) as the Nitro attestation profile uses it, and
 * nothing more: ECDSA only (ES256, ES384, ES512), alg required as an integer
 * in the protected header, no critical headers, no countersignatures, no
 * detached payloads, no COSE_Sign with several signers. A message is parsed
 * into spans that borrow the caller's bytes, so the exact protected bytes
 * that were signed are the ones that are verified.
 *
 * Why "alg in the protected header" is required: a header in the unprotected
 * bucket is not covered by the signature, so an attacker could change the
 * algorithm a verifier believes in (cose-wg sign-pass-01 has alg only in the
 * unprotected bucket; RFC 9052 allows it, cella refuses it). Every Nitro
 * document carries protected = {1: -35}.
 */
#ifndef CELLA_COSE_H
#define CELLA_COSE_H

#include <openssl/evp.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/core/buf.h"
#include "common/cbor/cbor.h"
#include "common/core/err.h"

/* COSE algorithm identifiers (IANA), the only ones cella accepts. */
#define CELLA_COSE_ES256 (-7)
#define CELLA_COSE_ES384 (-35)
#define CELLA_COSE_ES512 (-36)

/* The CBOR tag of a tagged COSE_Sign1. */
#define CELLA_COSE_SIGN1_TAG 18

/* Messages larger than this are refused unless the caller gives limits. */
#define CELLA_COSE_DEFAULT_MAX (64u * 1024)

struct cella_cose_sign1 {
	/* Contents of the protected bstr: the encoded header map. */
	struct cella_span protected_hdr;
	/* The encoded unprotected header map, head included. */
	struct cella_span unprotected_hdr;
	struct cella_span payload;
	/* Raw r||s, as COSE carries ECDSA signatures. */
	struct cella_span signature;
	int64_t alg; /* one of CELLA_COSE_ES* */
	bool tagged; /* tag 18 was present */
};

/*
 * Parse p[0..n) as one COSE_Sign1, tagged (18) or untagged. lim bounds the
 * whole message (NULL: CELLA_COSE_DEFAULT_MAX bytes, small depth and item
 * counts); it passes cella_cbor_check before anything else reads it. The
 * spans in *out borrow p. -EBADMSG with d set: malformed, wrong tag, not an
 * array of 4, protected not a bstr holding a map, alg missing from the
 * protected header, alg not an integer, alg not ES256/384/512, a crit
 * header, unprotected not a map, payload nil, signature not a bstr.
 * -EMSGSIZE over a limit. *out is written only on success.
 */
int cella_cose_sign1_parse(const uint8_t *p, size_t n,
			   const struct cella_cbor_limits *lim,
			   struct cella_cose_sign1 *out, struct cella_diag *d);

/*
 * Append Sig_structure1 = ["Signature1", protected, external_aad, payload]
 * (canonical CBOR heads) to out; out's cap applies (-EMSGSIZE).
 */
int cella_cose_sig_structure(struct cella_span protected_hdr,
			     struct cella_span external_aad,
			     struct cella_span payload, struct cella_buf *out);

/*
 * Verify m's signature with key (an EC public key on the curve of m->alg)
 * over Sig_structure1 with external_aad (empty span for none). 0 when it
 * verifies; -EBADMSG when it does not or the signature has the wrong length
 * for the curve; -EINVAL when key is not an EC key on alg's curve; -ENOMEM.
 */
int cella_cose_sign1_verify(const struct cella_cose_sign1 *m, EVP_PKEY *key,
			    struct cella_span external_aad,
			    struct cella_diag *d);

/*
 * Sign payload with key (EC private key on alg's curve) and append the
 * message in the exact Nitro shape to out: untagged [h'A1 01 <alg>', {},
 * payload, r||s]. -EINVAL for an unknown alg or a key on another curve,
 * -EMSGSIZE past out's cap, -ENOMEM, -EPROTO if OpenSSL fails.
 */
int cella_cose_sign1_sign(EVP_PKEY *key, int64_t alg, struct cella_span payload,
			  struct cella_buf *out);

/* "ES384" for -35 and so on; NULL for an alg cella does not support. */
const char *cella_cose_alg_name(int64_t alg);

#endif
