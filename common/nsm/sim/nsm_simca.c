/*
 * nsm_simca: certificates of the simulation root, regional and instance
 * CAs. Serials are 16 random bytes; validity starts a minute early so that
 * a freshly issued chain verifies on a host whose clock is slightly behind.
 * Does no file I/O.
 */
#include "common/nsm/sim/nsm_simca.h"

#include <errno.h>
#include <openssl/asn1.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

#include "common/core/buf.h"
#include "common/nsm/nsm_x509.h"

#define BACKDATE_S 60
#define DAY_S 86400

static const char org[] = "cella";
static const char unit[] = "simulation";

static int
issue(struct cella_nsm_certspec *s, X509 **out, struct cella_diag *d)
{
	uint8_t serial[16];

	if (RAND_bytes(serial, sizeof(serial)) != 1)
		return -EIO;
	serial[0] &= 0x7f;
	serial[0] |= 0x01; /* 16 bytes, positive, no leading zero */
	s->serial = serial;
	s->serial_len = sizeof(serial);
	return cella_nsm_x509_issue(s, out, d);
}

int
cella_nsm_simca_root(EVP_PKEY *key, int64_t now, X509 **out,
		     struct cella_diag *d)
{
	const struct cella_nsm_rdn subject[] = {
		{"C", "US"}, {"O", org}, {"OU", unit},
		{"CN", "cella-sim.nitro-enclaves"},
	};
	struct cella_nsm_certspec s = {
		.subject = subject,
		.n_subject = sizeof(subject) / sizeof(subject[0]),
		.key = key,
		.not_before = now - BACKDATE_S,
		.not_after = now + (int64_t)CELLA_NSM_SIMCA_ROOT_DAYS * DAY_S,
		.ca = true,
		.pathlen = -1,
		.key_usage = CELLA_NSM_KU_DIGITAL_SIGNATURE |
			     CELLA_NSM_KU_KEY_CERT_SIGN | CELLA_NSM_KU_CRL_SIGN,
		.key_usage_critical = true,
		.key_ids = true,
	};

	return issue(&s, out, d);
}

static int64_t
not_after_of(X509 *x)
{
	struct tm tm;

	if (ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) != 1)
		return 0;
	return (int64_t)timegm(&tm);
}

int
cella_nsm_simca_regional(X509 *root, EVP_PKEY *root_key, EVP_PKEY *key,
			 int64_t now, X509 **out, struct cella_diag *d)
{
	char id[17], cn[64];
	const struct cella_nsm_rdn subject[] = {
		{"C", "US"}, {"O", org}, {"OU", unit}, {"CN", cn},
	};
	struct cella_nsm_certspec s = {
		.subject = subject,
		.n_subject = sizeof(subject) / sizeof(subject[0]),
		.key = key,
		.issuer = root,
		.issuer_key = root_key,
		.not_before = now - BACKDATE_S,
		.not_after = not_after_of(root),
		.ca = true,
		.pathlen = 1,
		.key_usage = CELLA_NSM_KU_DIGITAL_SIGNATURE |
			     CELLA_NSM_KU_KEY_CERT_SIGN | CELLA_NSM_KU_CRL_SIGN,
		.key_usage_critical = true,
		.key_ids = true,
	};
	uint8_t r[8];

	if (RAND_bytes(r, sizeof(r)) != 1)
		return -EIO;
	cella_hex_encode(r, sizeof(r), id, sizeof(id));
	snprintf(cn, sizeof(cn), "%s%s", id, CELLA_NSM_SIMCA_SUFFIX);
	return issue(&s, out, d);
}

int
cella_nsm_simca_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > CELLA_NSM_SIMCA_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return 0;
	}
	return 1;
}

void
cella_nsm_simca_random_name(char buf[20])
{
	uint8_t r[9];
	char hex[19];

	RAND_bytes(r, sizeof(r));
	cella_hex_encode(r, sizeof(r), hex, sizeof(hex));
	snprintf(buf, 20, "i-%.17s", hex);
}

int
cella_nsm_simca_instance(X509 *regional, EVP_PKEY *regional_key,
			 EVP_PKEY *key, const char *name, int64_t now,
			 unsigned days, X509 **out, struct cella_diag *d)
{
	char cn[CELLA_NSM_SIMCA_NAME_MAX + sizeof(CELLA_NSM_SIMCA_SUFFIX)];
	const struct cella_nsm_rdn subject[] = {
		{"C", "US"}, {"O", org}, {"OU", unit}, {"CN", cn},
	};
	struct cella_nsm_certspec s = {
		.subject = subject,
		.n_subject = sizeof(subject) / sizeof(subject[0]),
		.key = key,
		.issuer = regional,
		.issuer_key = regional_key,
		.not_before = now - BACKDATE_S,
		.not_after = now + (int64_t)days * DAY_S,
		.ca = true,
		.pathlen = 0,
		.key_usage = CELLA_NSM_KU_KEY_CERT_SIGN,
		.key_usage_critical = true,
		.key_ids = true,
	};
	int64_t end = not_after_of(regional);

	if (!cella_nsm_simca_name_ok(name))
		return cella_diag_set(d, -EINVAL, "enclave name '%s': 1..%d "
				      "of [A-Za-z0-9_-]", name,
				      CELLA_NSM_SIMCA_NAME_MAX);
	if (days == 0)
		return cella_diag_set(d, -EINVAL, "validity of 0 days");
	if (s.not_after > end)
		s.not_after = end;
	snprintf(cn, sizeof(cn), "%s%s", name, CELLA_NSM_SIMCA_SUFFIX);
	return issue(&s, out, d);
}
