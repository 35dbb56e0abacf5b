/*
 * testing/nsm_sim: what the software NSM's tests share: a simulation PKI
 * made in memory (root, regional, instance CA, as `cella sim-ca` makes
 * them), a sim opened on it with known boot PCRs, and a reader that takes
 * a document apart field by field, in exactly Nitro's order, and checks
 * its COSE signature with OpenSSL alone (never with the verifier it is
 * meant to test). Call only from cmocka tests: a wrong shape fails the
 * test.
 */
#ifndef CELLA_TESTING_NSM_SIM_H
#define CELLA_TESTING_NSM_SIM_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stddef.h>
#include <stdint.h>

#include "common/core/buf.h"
#include "common/nsm/nsm.h"
#include "common/nsm/nsm_doc.h"
#include "common/nsm/sim/nsm_sim.h"

/* The instance name the PKI's instance CA is issued for. */
#define TU_SIM_NAME "i-0123456789abcdef0"

struct tu_pki {
	EVP_PKEY *root_key, *reg_key, *inst_key;
	X509 *root, *reg, *inst;
	STACK_OF(X509) *chain;
};

/* The PKI of the running test group, made by tu_pki_setup. */
extern struct tu_pki tu_pki;

/* cmocka group set-up and teardown: make and free tu_pki. */
int tu_pki_setup(void **state);
int tu_pki_teardown(void **state);

/* PCR0's value in every sim tu_sim_open makes (PCR1 = 0x11.., 2 = 0x22..). */
extern const uint8_t tu_sim_pcr0[48];

/* A sim signing with tu_pki's instance CA; the caller cella_nsm_free()s. */
struct cella_nsm *tu_sim_open(unsigned pool_size, unsigned max_age_ms);

/* A document taken apart: spans borrow the bytes parsed. */
struct tu_sim_doc {
	struct cella_span prot, payload, sig;
	size_t unprot_len;
	struct cella_nsm_doc d;
	uint8_t pcrs[32][48];
};

/* An untagged COSE_Sign1 exactly as Nitro writes it, then its payload. */
void tu_sim_doc_parse(const uint8_t *p, size_t n, struct tu_sim_doc *out);

/* A document with pk/ud/nonce bytes of 0x42 (0 = absent) into out. */
void tu_sim_attest(struct cella_nsm *nsm, size_t pk, size_t ud, size_t nonce,
		   struct cella_buf *out);

/* The whole of s as one certificate; the caller X509_free()s. */
X509 *tu_der_cert(struct cella_span s);

/* 1 when doc's COSE signature checks out under pub (cose.h), else 0. */
int tu_cose_verify(const struct tu_sim_doc *doc, EVP_PKEY *pub);

/* t in seconds since the epoch. */
int64_t tu_asn1_time(const ASN1_TIME *t);

#endif
