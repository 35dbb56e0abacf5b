/*
 * nsm_simca: the simulation PKI's profile, the host-side stand-in for
 * AWS's: a long-lived self-signed root, a regional CA under it (pathlen
 * 1), and one instance CA per enclave (pathlen 0) whose key goes into the
 * enclave and signs the sim's per-document leaves. Names, lifetimes, key
 * usages and path lengths mirror the real chain's so that a verifier
 * exercises the same checks on sim documents as on real ones; the names
 * say "cella-sim" so no one mistakes them for AWS's. `cella sim-ca` writes
 * these to files; tests build them in memory.
 */
#ifndef CELLA_NSM_SIMCA_H
#define CELLA_NSM_SIMCA_H

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <stdint.h>

#include "common/core/err.h"

#define CELLA_NSM_SIMCA_ROOT_DAYS (30 * 365)
#define CELLA_NSM_SIMCA_NAME_MAX 32
#define CELLA_NSM_SIMCA_SUFFIX ".local.cella-sim.nitro-enclaves"

/* Self-signed root for key, valid from now - 60 s for 30 years. */
int cella_nsm_simca_root(EVP_PKEY *key, int64_t now, X509 **out,
			 struct cella_diag *d);
/* A regional CA for key under root, valid as long as the root. */
int cella_nsm_simca_regional(X509 *root, EVP_PKEY *root_key, EVP_PKEY *key,
			     int64_t now, X509 **out, struct cella_diag *d);
/*
 * The instance CA of the enclave called name (1..32 of [A-Za-z0-9_-]) for
 * key under regional, valid for days (clamped to the regional's end).
 */
int cella_nsm_simca_instance(X509 *regional, EVP_PKEY *regional_key,
			     EVP_PKEY *key, const char *name, int64_t now,
			     unsigned days, X509 **out, struct cella_diag *d);

/* Whether name is a valid enclave name for cella_nsm_simca_instance. */
int cella_nsm_simca_name_ok(const char *name);
/* An AWS-like instance id, "i-" and 17 hex digits, into buf[20]. */
void cella_nsm_simca_random_name(char buf[20]);

#endif
