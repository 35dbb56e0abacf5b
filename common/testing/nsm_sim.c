/*
 * testing/nsm_sim: the simulation PKI, the sim and the document reader of
 * nsm_sim.h. The reader uses the NSM's own minimal CBOR reader
 * (nsm_wire.h), never libcbor's loader, and asserts every byte is used.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>
#include <time.h>

#include "common/attest/cose.h"
#include "common/nsm/nsm_wire.h"
#include "common/nsm/sim/nsm_simca.h"
#include "common/testing/nsm_sim.h"

struct tu_pki tu_pki;
const uint8_t tu_sim_pcr0[48] = {0xa0, 1, 2, 3};

int
tu_pki_setup(void **state)
{
	int64_t now = time(NULL);

	(void)state;
	tu_pki.root_key = EVP_EC_gen("P-384");
	tu_pki.reg_key = EVP_EC_gen("P-384");
	tu_pki.inst_key = EVP_EC_gen("P-384");
	if (cella_nsm_simca_root(tu_pki.root_key, now, &tu_pki.root, NULL) < 0 ||
	    cella_nsm_simca_regional(tu_pki.root, tu_pki.root_key,
				     tu_pki.reg_key, now, &tu_pki.reg,
				     NULL) < 0 ||
	    cella_nsm_simca_instance(tu_pki.reg, tu_pki.reg_key,
				     tu_pki.inst_key, TU_SIM_NAME, now, 30,
				     &tu_pki.inst, NULL) < 0)
		return -1;
	tu_pki.chain = sk_X509_new_null();
	sk_X509_push(tu_pki.chain, tu_pki.root);
	sk_X509_push(tu_pki.chain, tu_pki.reg);
	sk_X509_push(tu_pki.chain, tu_pki.inst);
	return 0;
}

int
tu_pki_teardown(void **state)
{
	(void)state;
	sk_X509_pop_free(tu_pki.chain, X509_free);
	EVP_PKEY_free(tu_pki.root_key);
	EVP_PKEY_free(tu_pki.reg_key);
	EVP_PKEY_free(tu_pki.inst_key);
	memset(&tu_pki, 0, sizeof(tu_pki));
	return 0;
}

struct cella_nsm *
tu_sim_open(unsigned pool_size, unsigned max_age_ms)
{
	struct cella_nsm_sim_conf c;
	struct cella_nsm *nsm = NULL;
	struct cella_diag d = {""};
	uint8_t v[48];

	cella_nsm_sim_conf_init(&c);
	assert_int_equal(cella_nsm_sim_conf_set_signer(&c, tu_pki.inst_key,
						       tu_pki.chain),
			 0);
	assert_int_equal(cella_nsm_sim_conf_set_pcr(&c, 0, tu_sim_pcr0), 0);
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

static const char *const payload_keys[] = {
	"module_id", "digest",	 "timestamp",  "pcrs",	"certificate",
	"cabundle",  "public_key", "user_data", "nonce",
};

static void
get_opt(struct cella_nsmw_reader *r, struct cella_nsm_opt *o)
{
	o->set = !cella_nsmw_get_null(r);
	if (o->set)
		assert_int_equal(cella_nsmw_get_bytes(r, 1024, &o->v), 0);
}

static void
get_pcrs(struct cella_nsmw_reader *r, struct tu_sim_doc *out)
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

static void
get_cabundle(struct cella_nsmw_reader *r, struct tu_sim_doc *out)
{
	uint64_t n;

	assert_int_equal(cella_nsmw_get_container(r, CELLA_NSMW_ARRAY, &n), 0);
	assert_true(n >= 1 && n <= 8);
	out->d.n_cabundle = n;
	for (size_t j = 0; j < n; j++)
		assert_int_equal(cella_nsmw_get_bytes(r, 4096,
						      &out->d.cabundle[j]),
				 0);
}

/* Field i of the payload (payload_keys[i]), its key already read. */
static void
get_field(struct cella_nsmw_reader *r, size_t i, struct tu_sim_doc *out)
{
	struct cella_span digest;

	switch (i) {
	case 0:
		assert_int_equal(cella_nsmw_get_text(r, 128, &out->d.module_id),
				 0);
		break;
	case 1:
		assert_int_equal(cella_nsmw_get_text(r, 16, &digest), 0);
		assert_true(cella_nsmw_span_is(digest, "SHA384"));
		out->d.digest = "SHA384";
		break;
	case 2:
		assert_int_equal(cella_nsmw_get_uint(r, UINT64_MAX,
						     &out->d.timestamp_ms),
				 0);
		break;
	case 3:
		get_pcrs(r, out);
		break;
	case 4:
		assert_int_equal(cella_nsmw_get_bytes(r, 4096,
						      &out->d.certificate),
				 0);
		break;
	case 5:
		get_cabundle(r, out);
		break;
	default:
		get_opt(r, i == 6 ? &out->d.public_key :
			   i == 7 ? &out->d.user_data :
				    &out->d.nonce);
	}
}

/* The payload's 9 fields, in Nitro's order and nothing else. */
static void
parse_payload(struct cella_span p, struct tu_sim_doc *out)
{
	struct cella_nsmw_reader r = {p.p, p.n, 0};
	struct cella_span key;
	uint64_t n;

	assert_int_equal(cella_nsmw_get_container(&r, CELLA_NSMW_MAP, &n), 0);
	assert_int_equal(n, 9);
	for (size_t i = 0; i < 9; i++) {
		assert_int_equal(cella_nsmw_get_text(&r, 32, &key), 0);
		assert_true(cella_nsmw_span_is(key, payload_keys[i]));
		get_field(&r, i, out);
	}
	assert_int_equal(r.off, p.n);
}

void
tu_sim_doc_parse(const uint8_t *p, size_t n, struct tu_sim_doc *out)
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

void
tu_sim_attest(struct cella_nsm *nsm, size_t pk, size_t ud, size_t nonce,
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

X509 *
tu_der_cert(struct cella_span s)
{
	const unsigned char *p = s.p;
	X509 *x = d2i_X509(NULL, &p, (long)s.n);

	assert_non_null(x);
	assert_ptr_equal(p, s.p + s.n);
	return x;
}

int
tu_cose_verify(const struct tu_sim_doc *doc, EVP_PKEY *pub)
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

int64_t
tu_asn1_time(const ASN1_TIME *t)
{
	struct tm tm;

	assert_int_equal(ASN1_TIME_to_tm(t, &tm), 1);
	return (int64_t)timegm(&tm);
}
