/*
 * nsm: the Nitro Secure Module API, one codec shared by every provider.
 * Requests and responses are CBOR in the shape serde gives the NSM's Rust
 * enums (externally tagged): a unit variant is a bare text string
 * ("DescribeNSM"), a struct variant a one-entry map {"Name": {fields in
 * declaration order}}, an absent Option a CBOR null, and an error
 * {"Error": "InvalidIndex"}. Encodings use shortest heads and definite
 * lengths, so they match the NSM byte for byte.
 *
 * A provider turns request bytes into response bytes: `nsm` through the
 * /dev/nsm ioctl, `sim` a software NSM (nsm_sim.h). struct cella_nsm hides
 * which one a caller talks to; the high-level calls below encode, transact,
 * decode and map an NSM error to -errno.
 *
 * This module does not verify attestation documents (verify.h does) and
 * keeps no state of its own beyond the provider handle.
 */
#ifndef CELLA_NSM_H
#define CELLA_NSM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/core/buf.h"
#include "common/core/err.h"

#define CELLA_NSM_REQUEST_MAX 4096   /* the driver's NSM_REQUEST_MAX_SIZE */
#define CELLA_NSM_RESPONSE_MAX 12288 /* the driver's NSM_RESPONSE_MAX_SIZE */
#define CELLA_NSM_DATA_MAX 1024	     /* user_data, nonce, public_key each */
#define CELLA_NSM_PCR_LEN 48	     /* SHA-384, the NSM's digest */
#define CELLA_NSM_PCR_LEN_MAX 64     /* the largest digest the API names */
#define CELLA_NSM_PCR_COUNT 32	     /* max_pcrs on Nitro */
#define CELLA_NSM_MODULE_ID_MAX 255
#define CELLA_NSM_LOCKED_MAX 256 /* entries of locked_pcrs we decode */

enum cella_nsm_kind {
	CELLA_NSM_ATTESTATION = 1,
	CELLA_NSM_DESCRIBE_PCR,
	CELLA_NSM_EXTEND_PCR,
	CELLA_NSM_LOCK_PCR,
	CELLA_NSM_LOCK_PCRS,
	CELLA_NSM_DESCRIBE_NSM,
	CELLA_NSM_GET_RANDOM,
	CELLA_NSM_ERROR, /* responses only */
};

/* The NSM's ErrorCode, in its declaration order. */
enum cella_nsm_status {
	CELLA_NSM_SUCCESS = 0,
	CELLA_NSM_INVALID_ARGUMENT,
	CELLA_NSM_INVALID_INDEX,
	CELLA_NSM_INVALID_RESPONSE,
	CELLA_NSM_READ_ONLY_INDEX,
	CELLA_NSM_INVALID_OPERATION,
	CELLA_NSM_BUFFER_TOO_SMALL,
	CELLA_NSM_INPUT_TOO_LARGE,
	CELLA_NSM_INTERNAL_ERROR,
};

enum cella_nsm_digest {
	CELLA_NSM_SHA256 = 0,
	CELLA_NSM_SHA384,
	CELLA_NSM_SHA512,
};

/* An Option<bytes>: set=false encodes as null; set with n=0 as h''. */
struct cella_nsm_opt {
	bool set;
	struct cella_span v;
};

struct cella_nsm_request {
	enum cella_nsm_kind kind;
	uint16_t index;		/* DescribePCR, ExtendPCR, LockPCR */
	uint16_t range;		/* LockPCRs: lock [0, range) */
	struct cella_span data; /* ExtendPCR */
	struct cella_nsm_opt user_data, nonce, public_key; /* Attestation */
};

struct cella_nsm_description {
	uint16_t version_major, version_minor, version_patch;
	struct cella_span module_id;
	uint16_t max_pcrs;
	uint16_t locked_pcrs[CELLA_NSM_LOCKED_MAX];
	uint16_t n_locked;
	enum cella_nsm_digest digest;
};

struct cella_nsm_response {
	enum cella_nsm_kind kind;
	enum cella_nsm_status error;	     /* Error */
	struct cella_span document;	     /* Attestation: COSE_Sign1 */
	bool lock;			     /* DescribePCR */
	struct cella_span data;		     /* DescribePCR, ExtendPCR */
	struct cella_span random;	     /* GetRandom */
	struct cella_nsm_description nsm;    /* DescribeNSM */
};

/*
 * Append the encoding of req / resp to out (out's cap applies). -EMSGSIZE
 * when a field is over its limit or a request over CELLA_NSM_REQUEST_MAX,
 * -EINVAL for an unknown kind; on failure out is as it was.
 */
int cella_nsm_request_encode(const struct cella_nsm_request *req,
			     struct cella_buf *out);
int cella_nsm_response_encode(const struct cella_nsm_response *resp,
			      struct cella_buf *out);

/*
 * Decode p[0..n) (which passes cella_cbor_check with tight limits first).
 * Spans in *out borrow p. Unknown map keys are ignored, as serde does;
 * duplicate keys, missing required fields and wrong types are -EBADMSG;
 * a request or field over its limit -EMSGSIZE; an unknown variant name
 * -EOPNOTSUPP. d says which. *out is written only on success.
 */
int cella_nsm_request_parse(const uint8_t *p, size_t n,
			    struct cella_nsm_request *out,
			    struct cella_diag *d);
int cella_nsm_response_parse(const uint8_t *p, size_t n,
			     struct cella_nsm_response *out,
			     struct cella_diag *d);

/* "InvalidIndex" and so on; "?" outside the enum. */
const char *cella_nsm_status_name(enum cella_nsm_status s);
/*
 * An NSM error as -errno: InvalidArgument -EINVAL, InvalidIndex -ERANGE,
 * InvalidResponse -EPROTO, ReadOnlyIndex -EROFS, InvalidOperation
 * -EOPNOTSUPP, BufferTooSmall -ENOBUFS, InputTooLarge -EMSGSIZE,
 * InternalError -EIO; Success 0.
 */
int cella_nsm_status_errno(enum cella_nsm_status s);
/* The request name ("ExtendPCR"), for messages; "?" for none. */
const char *cella_nsm_kind_name(enum cella_nsm_kind k);

/* ---- providers ---- */

struct cella_nsm_ops {
	const char *name; /* "nsm", "sim" */
	/*
	 * Send req[0..req_len) and write the response bytes into
	 * resp[0..CELLA_NSM_RESPONSE_MAX), their length to *resp_len. 0, or
	 * -errno when no response could be had at all. May be called from
	 * several threads at once.
	 */
	int (*transact)(void *ctx, const uint8_t *req, size_t req_len,
			uint8_t *resp, size_t *resp_len);
	void (*close)(void *ctx); /* frees ctx */
};

struct cella_nsm;

/* A handle over ops/ctx; on success ctx belongs to the handle. */
int cella_nsm_new(const struct cella_nsm_ops *ops, void *ctx,
		  struct cella_nsm **out);
/* Closes the provider; NULL is a no-op. */
void cella_nsm_free(struct cella_nsm *nsm);
const char *cella_nsm_provider(const struct cella_nsm *nsm);
/* The provider's context (for provider-specific calls such as the sim's). */
void *cella_nsm_ctx(struct cella_nsm *nsm);

/* The real device: open path (NULL: /dev/nsm) read-write. */
int cella_nsm_dev_open(const char *path, struct cella_nsm **out,
		       struct cella_diag *d);

/*
 * One round trip: encode req, transact into raw (reset first; its max must
 * be at least CELLA_NSM_RESPONSE_MAX), decode into resp (spans borrow raw).
 * An NSM error response returns cella_nsm_status_errno() with resp->kind ==
 * CELLA_NSM_ERROR and d naming it; a response of another kind than the
 * request -EPROTO.
 */
int cella_nsm_call(struct cella_nsm *nsm, const struct cella_nsm_request *req,
		   struct cella_buf *raw, struct cella_nsm_response *resp,
		   struct cella_diag *d);

/*
 * Attestation: append the COSE_Sign1 document to doc (doc's cap applies: a
 * document can take up to CELLA_NSM_RESPONSE_MAX bytes). NULL user_data,
 * nonce or public_key leaves the field null in the document; each at most
 * CELLA_NSM_DATA_MAX bytes (-EMSGSIZE, checked before anything is sent).
 */
int cella_nsm_attest(struct cella_nsm *nsm, const struct cella_span *user_data,
		     const struct cella_span *nonce,
		     const struct cella_span *public_key, struct cella_buf *doc,
		     struct cella_diag *d);

struct cella_nsm_pcr {
	bool locked;
	uint8_t value[CELLA_NSM_PCR_LEN_MAX];
	size_t len;
};

int cella_nsm_describe_pcr(struct cella_nsm *nsm, uint16_t index,
			   struct cella_nsm_pcr *out, struct cella_diag *d);
/* out (may be NULL) receives the new value; out->locked is false. */
int cella_nsm_extend_pcr(struct cella_nsm *nsm, uint16_t index,
			 const void *data, size_t n, struct cella_nsm_pcr *out,
			 struct cella_diag *d);
int cella_nsm_lock_pcr(struct cella_nsm *nsm, uint16_t index,
		       struct cella_diag *d);
int cella_nsm_lock_pcrs(struct cella_nsm *nsm, uint16_t range,
			struct cella_diag *d);

struct cella_nsm_info {
	uint16_t version_major, version_minor, version_patch;
	char module_id[CELLA_NSM_MODULE_ID_MAX + 1];
	uint16_t max_pcrs;
	uint16_t locked_pcrs[CELLA_NSM_LOCKED_MAX];
	uint16_t n_locked;
	enum cella_nsm_digest digest;
};

int cella_nsm_describe(struct cella_nsm *nsm, struct cella_nsm_info *out,
		       struct cella_diag *d);
/* Fill out[0..n) with NSM entropy (as many GetRandom calls as needed). */
int cella_nsm_get_random(struct cella_nsm *nsm, void *out, size_t n,
			 struct cella_diag *d);

#endif
