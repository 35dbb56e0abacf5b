/*
 * nsm_leaf: the sim provider's per-document signing certificates (internal
 * to the sim). Like AWS's, each leaf is a fresh P-384 key certified for 3
 * hours by the enclave's intermediate, with notBefore 3 s before its issue
 * time, CA:FALSE and digitalSignature; each signs exactly one document.
 *
 * Issuing one costs a key generation and a signature, twice what signing
 * the document costs, so a pool keeps a few issued ahead on a thread of its
 * own. A pooled leaf older than max_age is thrown away, never used, so a
 * document is never signed by a leaf issued long before it. The thread
 * keeps the pool fresh only while documents are being asked for (warm);
 * an idle enclave lets it run dry instead of burning a core, and its next
 * document pays for its own leaf.
 */
#ifndef CELLA_NSM_LEAF_H
#define CELLA_NSM_LEAF_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdint.h>

#include "common/core/err.h"

#define CELLA_NSM_LEAF_LIFETIME_S (3 * 3600)
#define CELLA_NSM_LEAF_BACKDATE_S 3

struct cella_nsm_leaf {
	EVP_PKEY *key;
	uint8_t *der; /* OPENSSL_free */
	size_t der_len;
	int64_t not_before; /* UNIX seconds */
	uint64_t issued_mono_ms;
};

struct cella_nsm_pool_conf {
	EVP_PKEY *issuer_key; /* a reference is taken */
	X509 *issuer_cert;    /* a reference is taken */
	const char *subject_cn; /* the leaves' commonName */
	uint8_t serial_prefix[8]; /* then a counter, then the issue time */
	unsigned size;	       /* leaves kept ready; 0: no thread */
	unsigned max_age_ms;   /* older pooled leaves are discarded */
	unsigned warm_ms;      /* keep refilling this long after a take */
};

struct cella_nsm_pool_stats {
	uint64_t issued, hits, misses, expired;
	unsigned ready, size;
};

struct cella_nsm_pool;

int cella_nsm_pool_new(const struct cella_nsm_pool_conf *conf,
		       struct cella_nsm_pool **out, struct cella_diag *d);
/* Stops the thread and frees every pooled leaf; NULL is a no-op. */
void cella_nsm_pool_free(struct cella_nsm_pool *pool);
/*
 * A leaf for one document: a pooled one when a fresh one is ready,
 * otherwise one issued now on the caller's thread. The caller owns *out.
 */
int cella_nsm_pool_take(struct cella_nsm_pool *pool,
			struct cella_nsm_leaf *out);
void cella_nsm_leaf_fini(struct cella_nsm_leaf *leaf);
void cella_nsm_pool_stats(struct cella_nsm_pool *pool,
			  struct cella_nsm_pool_stats *out);
/* Wait until the pool is full; -ETIMEDOUT after timeout_ms. */
int cella_nsm_pool_wait_full(struct cella_nsm_pool *pool,
			     unsigned timeout_ms);

#endif
