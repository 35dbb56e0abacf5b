/*
 * nsm_sim_testlib: what the sim's tests share: a simulation PKI made in
 * memory (root, regional, instance CA, as `cella sim-ca` makes them), a sim
 * opened on it with known boot PCRs, and a reader that takes a document
 * apart field by field and checks its COSE signature with OpenSSL alone.
 * Test-only.
 */
#ifndef CELLA_NSM_SIM_TESTLIB_H
#define CELLA_NSM_SIM_TESTLIB_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/attest/cose.h"
#include "common/nsm/nsm.h"
#include "common/nsm/nsm_doc.h"
#include "common/nsm/sim/nsm_sim.h"
#include "common/nsm/sim/nsm_simca.h"
#include "common/nsm/nsm_wire.h"
#include "common/attest/verify.h"
#include "tests/lib/rmtree.h"

#define NAME "i-0123456789abcdef0"

struct pki {
	EVP_PKEY *root_key, *reg_key, *inst_key;
	X509 *root, *reg, *inst;
	STACK_OF(X509) *chain;
};

__attribute__((unused)) static struct pki pki;

__attribute__((unused)) static int
setup_pki(void **state)
{
	int64_t now = time(NULL);

	(void)state;
	pki.root_key = EVP_EC_gen("P-384");
	pki.reg_key = EVP_EC_gen("P-384");
	pki.inst_key = EVP_EC_gen("P-384");
	if (cella_nsm_simca_root(pki.root_key, now, &pki.root, NULL) < 0 ||
	    cella_nsm_simca_regional(pki.root, pki.root_key, pki.reg_key, now,
				     &pki.reg, NULL) < 0 ||
	    cella_nsm_simca_instance(pki.reg, pki.reg_key, pki.inst_key, NAME,
				     now, 30, &pki.inst, NULL) < 0)
		return -1;
	pki.chain = sk_X509_new_null();
	sk_X509_push(pki.chain, pki.root);
	sk_X509_push(pki.chain, pki.reg);
	sk_X509_push(pki.chain, pki.inst);
	return 0;
}

__attribute__((unused)) static int
teardown_pki(void **state)
{
	(void)state;
	sk_X509_pop_free(pki.chain, X509_free);
	EVP_PKEY_free(pki.root_key);
	EVP_PKEY_free(pki.reg_key);
	EVP_PKEY_free(pki.inst_key);
	return 0;
}

__attribute__((unused)) static const uint8_t pcr0[48] = {0xa0, 1, 2, 3};

__attribute__((unused)) static struct cella_nsm *
open_sim(unsigned pool_size, unsigned max_age_ms)
{
	struct cella_nsm_sim_conf c;
	struct cella_nsm *nsm = NULL;
	struct cella_diag d = {""};
	uint8_t v[48];

	cella_nsm_sim_conf_init(&c);
	assert_int_equal(cella_nsm_sim_conf_set_signer(&c, pki.inst_key,
						       pki.chain),
			 0);
	assert_int_equal(cella_nsm_sim_conf_set_pcr(&c, 0, pcr0), 0);
	memset(v, 0x11, sizeof(v));
	assert_int_equal(cella_nsm_sim_conf_set_pcr(&c, 1, v), 0);
	memset(v, 0x22, sizeof(v));
	assert_int_equal(cella_nsm_sim_conf_set_pcr(&c, 2, v), 0);
	assert_int_equal(cella_nsm_sim_conf_set_pcr(&c, 16, v), -ERANGE);
	c.pool_size = pool_size;
	c.leaf_max_age_ms = max_age_ms;
	if (cella_nsm_sim_open(&c, &nsm, &d) != 0)
		fail_msg("sim: %s", d.msg);
	cella_nsm_sim_conf_fini(&c);
	return nsm;
}

struct doc {
	struct cella_span prot, payload, sig;
	size_t unprot_len;
	struct cella_nsm_doc d;
	uint8_t pcrs[32][48];
};

__attribute__((unused)) static const char *const keys[] = {
	"module_id", "digest",	 "timestamp",  "pcrs",	"certificate",
	"cabundle",  "public_key", "user_data", "nonce",
};

__attribute__((unused)) static void
get_opt(struct cella_nsmw_reader *r, struct cella_nsm_opt *o)
{
	o->set = !cella_nsmw_get_null(r);
	if (o->set)
		assert_int_equal(cella_nsmw_get_bytes(r, 1024, &o->v), 0);
}

__attribute__((unused)) static void
get_pcrs(struct cella_nsmw_reader *r, struct doc *out)
{
	uint64_t n, idx;
	struct cella_span v;

	assert_int_equal(cella_nsmw_get_container(r, CELLA_NSMW_MAP, &n), 0);
	for (uint64_t i = 0; i < n; i++) {
		assert_int_equal(cella_nsmw_get_uint(r, 31, &idx), 0);
		assert_int_equal(cella_nsmw_get_bytes(r, 48, &v), 0);
		assert_int_equal(v.n, 48);
		memcpy(out->pcrs[idx], v.p, 48);
		out->d.pcr_mask |= UINT32_C(1) << idx;
	}
	out->d.pcrs = (const uint8_t(*)[48])out->pcrs;
}

/* The payload's 9 fields, in Nitro's order and nothing else. */
__attribute__((unused)) static void
parse_payload(struct cella_span p, struct doc *out)
{
	struct cella_nsmw_reader r = {p.p, p.n, 0};
	struct cella_span key, digest;
	uint64_t n;

	assert_int_equal(cella_nsmw_get_container(&r, CELLA_NSMW_MAP, &n), 0);
	assert_int_equal(n, 9);
	for (size_t i = 0; i < 9; i++) {
		assert_int_equal(cella_nsmw_get_text(&r, 32, &key), 0);
		assert_true(cella_nsmw_span_is(key, keys[i]));
		switch (i) {
		case 0:
			assert_int_equal(cella_nsmw_get_text(&r, 128,
							     &out->d.module_id),
					 0);
			break;
		case 1:
			assert_int_equal(cella_nsmw_get_text(&r, 16, &digest), 0);
			assert_true(cella_nsmw_span_is(digest, "SHA384"));
			out->d.digest = "SHA384";
			break;
		case 2:
			assert_int_equal(cella_nsmw_get_uint(&r, UINT64_MAX,
							     &out->d.timestamp_ms),
					 0);
			break;
		case 3:
			get_pcrs(&r, out);
			break;
		case 4:
			assert_int_equal(cella_nsmw_get_bytes(&r, 4096,
							      &out->d.certificate),
					 0);
			break;
		case 5:
			assert_int_equal(cella_nsmw_get_container(
						 &r, CELLA_NSMW_ARRAY, &n),
					 0);
			assert_true(n >= 1 && n <= 8);
			out->d.n_cabundle = n;
			for (size_t j = 0; j < n; j++)
				assert_int_equal(cella_nsmw_get_bytes(
							 &r, 4096,
							 &out->d.cabundle[j]),
						 0);
			break;
		default:
			get_opt(&r, i == 6 ? &out->d.public_key :
				    i == 7 ? &out->d.user_data :
					     &out->d.nonce);
		}
	}
	assert_int_equal(r.off, p.n);
}

/* An untagged COSE_Sign1 exactly as Nitro writes it, then its payload. */
__attribute__((unused)) static void
parse_doc(const uint8_t *p, size_t n, struct doc *out)
{
	struct cella_nsmw_reader r = {p, n, 0};
	uint64_t cnt;

	memset(out, 0, sizeof(*out));
	assert_int_equal(cella_nsmw_get_container(&r, CELLA_NSMW_ARRAY, &cnt),
			 0);
	assert_int_equal(cnt, 4);
	assert_int_equal(cella_nsmw_get_bytes(&r, 64, &out->prot), 0);
	assert_int_equal(out->prot.n, 4);
	assert_memory_equal(out->prot.p, "\xa1\x01\x38\x22", 4);
	assert_int_equal(p[6], 0xa0); /* empty unprotected map */
	assert_int_equal(cella_nsmw_get_container(&r, CELLA_NSMW_MAP, &cnt), 0);
	assert_int_equal(cnt, 0);
	assert_int_equal(cella_nsmw_get_bytes(&r, 16384, &out->payload), 0);
	assert_int_equal(cella_nsmw_get_bytes(&r, 128, &out->sig), 0);
	assert_int_equal(out->sig.n, 96);
	assert_int_equal(r.off, n);
	parse_payload(out->payload, out);
}

__attribute__((unused)) static void
attest(struct cella_nsm *nsm, size_t pk, size_t ud, size_t nonce,
       struct cella_buf *out)
{
	static uint8_t fill[1024];
	struct cella_span a = {fill, pk}, b = {fill, ud}, c = {fill, nonce};
	struct cella_diag d = {""};
	int rc;

	memset(fill, 0x42, sizeof(fill));
	cella_buf_init(out, CELLA_NSM_RESPONSE_MAX);
	rc = cella_nsm_attest(nsm, &b, &c, &a, out, &d);
	if (rc != 0)
		fail_msg("attest: %d %s", rc, d.msg);
}

__attribute__((unused)) static X509 *
der_cert(struct cella_span s)
{
	const unsigned char *p = s.p;
	X509 *x = d2i_X509(NULL, &p, (long)s.n);

	assert_non_null(x);
	assert_ptr_equal(p, s.p + s.n);
	return x;
}

/* The COSE signature, checked by cose.h under the leaf's key. */
__attribute__((unused)) static int
cose_verify(const struct doc *doc, EVP_PKEY *pub)
{
	struct cella_cose_sign1 m = {
		.protected_hdr = doc->prot,
		.payload = doc->payload,
		.signature = doc->sig,
		.alg = CELLA_COSE_ES384,
	};

	return cella_cose_sign1_verify(&m, pub, CELLA_SPAN(NULL, 0), NULL) ==
	       0;
}

__attribute__((unused)) static int64_t
tm_of(const ASN1_TIME *t)
{
	struct tm tm;

	assert_int_equal(ASN1_TIME_to_tm(t, &tm), 1);
	return (int64_t)timegm(&tm);
}

#endif
