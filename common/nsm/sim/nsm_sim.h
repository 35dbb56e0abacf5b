/*
 * nsm_sim: the `sim` provider, a software Nitro Secure Module. It answers
 * the NSM's own CBOR requests (nsm.h) the way the hardware does and signs
 * attestation documents in exactly the Nitro shape (nsm_doc.h), under a
 * certificate chain from a local simulation root that `cella sim-ca`
 * creates on the host, which plays AWS's part. The enclave side holds only
 * the per-enclave intermediate key and the chain, never the root key.
 *
 * PCRs behave as on Nitro: 32 SHA-384 registers; 0..15 are set from the
 * measurements given at start (zero otherwise; PCR4 defaults to
 * SHA-384(48 zero bytes || instance id) as AWS derives it) and are locked
 * at boot; 16..31 start at zero and are extended (new = SHA-384(old ||
 * data)) and locked by the enclave. A document carries every locked PCR.
 * Every document gets a fresh leaf key and certificate (nsm_leaf.h).
 * Thread-safe: handle requests from any number of threads.
 *
 * Start-up inputs:
 *   ENCLAVE_DIR/signer.key    the intermediate's P-384 key (PEM, 0600)
 *   ENCLAVE_DIR/cabundle.pem  root first, down to the intermediate
 *   a measurements file (JSON, optional), e.g.
 *     {"module_id": "i-0123456789abcdef0-enc0123456789abcdef",
 *      "pcrs": {"0": "<96 hex digits>", "1": "...", "2": "..."}}
 *   both keys optional; PCR indexes 0..15 only.
 */
#ifndef CELLA_NSM_SIM_H
#define CELLA_NSM_SIM_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdint.h>

#include "common/core/err.h"
#include "common/nsm/nsm.h"

#define CELLA_NSM_SIM_BOOT_PCRS 16
#define CELLA_NSM_SIM_MODULE_ID_MAX 60
#define CELLA_NSM_SIM_KEY_FILE "signer.key"
#define CELLA_NSM_SIM_CABUNDLE_FILE "cabundle.pem"
#define CELLA_NSM_SIM_VERSION_MAJOR 1
#define CELLA_NSM_SIM_VERSION_MINOR 0
#define CELLA_NSM_SIM_VERSION_PATCH 0

struct cella_nsm_sim_conf {
	EVP_PKEY *signer_key;	  /* owned by the conf */
	STACK_OF(X509) *cabundle; /* root first, signer last; owned */
	/* "" derives "<instance>-enc<16 hex>", the instance being the
	 * first label of the signer's commonName. */
	char module_id[CELLA_NSM_SIM_MODULE_ID_MAX + 1];
	uint8_t pcrs[CELLA_NSM_SIM_BOOT_PCRS][CELLA_NSM_PCR_LEN];
	uint16_t pcr_set;	  /* bit i: pcrs[i] was given */
	unsigned pool_size;	  /* leaves kept ready; 0: none */
	unsigned leaf_max_age_ms; /* a pooled leaf older is never used */
	unsigned pool_warm_ms;	  /* refill this long after a document */
};

/* Defaults: pool of 32 leaves, 5 s max age, 60 s warm. */
void cella_nsm_sim_conf_init(struct cella_nsm_sim_conf *c);
void cella_nsm_sim_conf_fini(struct cella_nsm_sim_conf *c);
/* A boot measurement: index 0..15 (-ERANGE otherwise). */
int cella_nsm_sim_conf_set_pcr(struct cella_nsm_sim_conf *c, unsigned index,
			       const uint8_t value[CELLA_NSM_PCR_LEN]);
/* Take references to key and every certificate of cabundle. */
int cella_nsm_sim_conf_set_signer(struct cella_nsm_sim_conf *c,
				  EVP_PKEY *key, STACK_OF(X509) *cabundle);
/*
 * Load dir/signer.key and dir/cabundle.pem, checking that the bundle is a
 * chain (each certificate issued by the one before, the first
 * self-signed, at most 8) ending with the key's certificate.
 */
int cella_nsm_sim_conf_load_ca(struct cella_nsm_sim_conf *c, const char *dir,
			       struct cella_diag *d);
/* Load the measurements file (format above; at most 64 KiB). */
int cella_nsm_sim_conf_load_measurements(struct cella_nsm_sim_conf *c,
					 const char *path,
					 struct cella_diag *d);

struct cella_nsm_sim;

/* Boot a sim: PCRs set and locked, pool thread started. */
int cella_nsm_sim_new(const struct cella_nsm_sim_conf *c,
		      struct cella_nsm_sim **out, struct cella_diag *d);
void cella_nsm_sim_free(struct cella_nsm_sim *sim);

/*
 * Answer one request: the response (an NSM error response for a bad
 * request) goes to resp[0..CELLA_NSM_RESPONSE_MAX), its length to
 * *resp_len. Only -ENOMEM when not even an error could be encoded.
 */
int cella_nsm_sim_handle(struct cella_nsm_sim *sim, const uint8_t *req,
			 size_t n, uint8_t *resp, size_t *resp_len);

/* A provider handle that owns a new sim booted from c. */
int cella_nsm_sim_open(const struct cella_nsm_sim_conf *c,
		       struct cella_nsm **out, struct cella_diag *d);
/* The sim behind a handle, or NULL when the handle is another provider. */
struct cella_nsm_sim *cella_nsm_sim_of(struct cella_nsm *nsm);

const char *cella_nsm_sim_module_id(const struct cella_nsm_sim *sim);

struct cella_nsm_sim_stats {
	uint64_t documents;
	uint64_t leaves_issued, pool_hits, pool_misses, leaves_expired;
	unsigned pool_ready, pool_size;
};

void cella_nsm_sim_stats(struct cella_nsm_sim *sim,
			 struct cella_nsm_sim_stats *out);
/* Block until the leaf pool is full; -ETIMEDOUT. */
int cella_nsm_sim_wait_pool(struct cella_nsm_sim *sim, unsigned timeout_ms);

#endif
