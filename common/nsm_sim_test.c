/*
 * nsm_sim_test: the software NSM. Its PCRs behave as Nitro's (boot PCRs
 * set and locked, extend = SHA-384(old || data), lock makes read-only);
 * its documents have the real documents' shape field by field (and the
 * document encoder reproduces real AWS payloads byte for byte); every
 * chain verifies with OpenSSL under the sim root and every COSE signature
 * under its leaf; each document has its own leaf; bad requests get the
 * NSM's error codes; and it holds up under threads.
 */
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

#include "common/cose.h"
#include "common/nsm.h"
#include "common/nsm_doc.h"
#include "common/nsm_sim.h"
#include "common/nsm_simca.h"
#include "common/nsm_wire.h"
#include "common/verify.h"

#define NAME "i-0123456789abcdef0"

struct pki {
	EVP_PKEY *root_key, *reg_key, *inst_key;
	X509 *root, *reg, *inst;
	STACK_OF(X509) *chain;
};

static struct pki pki;

static int
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

static int
teardown_pki(void **state)
{
	(void)state;
	sk_X509_pop_free(pki.chain, X509_free);
	EVP_PKEY_free(pki.root_key);
	EVP_PKEY_free(pki.reg_key);
	EVP_PKEY_free(pki.inst_key);
	return 0;
}

static const uint8_t pcr0[48] = {0xa0, 1, 2, 3};

static struct cella_nsm *
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

static void
sha384_2(const uint8_t *a, size_t na, const uint8_t *b, size_t nb,
	 uint8_t out[48])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	EVP_DigestInit_ex(ctx, EVP_sha384(), NULL);
	EVP_DigestUpdate(ctx, a, na);
	EVP_DigestUpdate(ctx, b, nb);
	EVP_DigestFinal_ex(ctx, out, NULL);
	EVP_MD_CTX_free(ctx);
}

/* ---- PCRs ---- */

static void
test_describe_and_boot(void **state)
{
	struct cella_nsm *nsm = open_sim(0, 5000);
	struct cella_nsm_info info;
	struct cella_nsm_pcr pcr;
	uint8_t want[48];
	static const uint8_t zero[48];

	(void)state;
	assert_int_equal(cella_nsm_describe(nsm, &info, NULL), 0);
	assert_int_equal(info.version_major, 1);
	assert_int_equal(info.max_pcrs, 32);
	assert_int_equal(info.digest, CELLA_NSM_SHA384);
	assert_int_equal(info.n_locked, 16);
	for (uint16_t i = 0; i < 16; i++)
		assert_int_equal(info.locked_pcrs[i], i);
	/* "<instance from the signer's CN>-enc<16 hex>" */
	assert_int_equal(strlen(info.module_id), strlen(NAME) + 4 + 16);
	assert_memory_equal(info.module_id, NAME "-enc", strlen(NAME) + 4);
	assert_string_equal(info.module_id,
			    cella_nsm_sim_module_id(cella_nsm_sim_of(nsm)));

	assert_int_equal(cella_nsm_describe_pcr(nsm, 0, &pcr, NULL), 0);
	assert_true(pcr.locked);
	assert_int_equal(pcr.len, 48);
	assert_memory_equal(pcr.value, pcr0, 48);
	/* PCR4 = SHA-384(48 zero bytes || instance id), as on Nitro */
	sha384_2(zero, 48, (const uint8_t *)NAME, strlen(NAME), want);
	assert_int_equal(cella_nsm_describe_pcr(nsm, 4, &pcr, NULL), 0);
	assert_memory_equal(pcr.value, want, 48);
	assert_int_equal(cella_nsm_describe_pcr(nsm, 16, &pcr, NULL), 0);
	assert_false(pcr.locked);
	assert_memory_equal(pcr.value, zero, 48);
	assert_int_equal(cella_nsm_describe_pcr(nsm, 32, &pcr, NULL), -ERANGE);
	cella_nsm_free(nsm);
}

static void
test_extend_and_lock(void **state)
{
	struct cella_nsm *nsm = open_sim(0, 5000);
	struct cella_nsm_pcr pcr;
	struct cella_diag d = {""};
	uint8_t want[48] = {0};
	struct cella_nsm_info info;

	(void)state;
	sha384_2(want, 48, (const uint8_t *)"abc", 3, want);
	assert_int_equal(cella_nsm_extend_pcr(nsm, 16, "abc", 3, &pcr, NULL),
			 0);
	assert_memory_equal(pcr.value, want, 48);
	sha384_2(want, 48, (const uint8_t *)"de", 2, want);
	assert_int_equal(cella_nsm_extend_pcr(nsm, 16, "de", 2, &pcr, NULL), 0);
	assert_memory_equal(pcr.value, want, 48);
	assert_int_equal(cella_nsm_describe_pcr(nsm, 16, &pcr, NULL), 0);
	assert_memory_equal(pcr.value, want, 48);
	assert_false(pcr.locked);

	assert_int_equal(cella_nsm_lock_pcr(nsm, 16, NULL), 0);
	assert_int_equal(cella_nsm_extend_pcr(nsm, 16, "x", 1, NULL, &d),
			 -EROFS);
	assert_string_equal(d.msg, "nsm ExtendPCR: ReadOnlyIndex");
	assert_int_equal(cella_nsm_describe_pcr(nsm, 16, &pcr, NULL), 0);
	assert_true(pcr.locked);
	assert_memory_equal(pcr.value, want, 48);
	/* boot PCRs: read-only, and cannot be locked again */
	assert_int_equal(cella_nsm_extend_pcr(nsm, 3, "x", 1, NULL, NULL),
			 -EROFS);
	assert_int_equal(cella_nsm_lock_pcr(nsm, 0, NULL), -EROFS);
	assert_int_equal(cella_nsm_lock_pcr(nsm, 32, NULL), -ERANGE);
	assert_int_equal(cella_nsm_extend_pcr(nsm, 40, "x", 1, NULL, NULL),
			 -ERANGE);
	/* LockPCRs(range) locks [0, range); up to max_pcrs */
	assert_int_equal(cella_nsm_lock_pcrs(nsm, 33, NULL), -ERANGE);
	assert_int_equal(cella_nsm_lock_pcrs(nsm, 20, NULL), 0);
	assert_int_equal(cella_nsm_extend_pcr(nsm, 19, "x", 1, NULL, NULL),
			 -EROFS);
	assert_int_equal(cella_nsm_extend_pcr(nsm, 20, "x", 1, NULL, NULL), 0);
	assert_int_equal(cella_nsm_describe(nsm, &info, NULL), 0);
	assert_int_equal(info.n_locked, 20);
	assert_int_equal(cella_nsm_lock_pcrs(nsm, 32, NULL), 0);
	assert_int_equal(cella_nsm_lock_pcrs(nsm, 32, NULL), 0);
	assert_int_equal(cella_nsm_describe(nsm, &info, NULL), 0);
	assert_int_equal(info.n_locked, 32);
	cella_nsm_free(nsm);
}

/* ---- documents ---- */

struct doc {
	struct cella_span prot, payload, sig;
	size_t unprot_len;
	struct cella_nsm_doc d;
	uint8_t pcrs[32][48];
};

static const char *const keys[] = {
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
static void
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
static void
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

static uint8_t *
load_vector(const char *name, size_t *len)
{
	const char *root = getenv("CELLA_SOURCE_ROOT");
	char path[1024], *text = NULL, *clean;
	size_t n = 0, m = 0;
	uint8_t *out;
	FILE *f;

	snprintf(path, sizeof(path), "%s/tests/vectors/nitro/%s",
		 root ? root : "..", name);
	f = fopen(path, "rb");
	assert_non_null(f);
	text = malloc(65536);
	n = fread(text, 1, 65536, f);
	fclose(f);
	if (strstr(name, ".b64") == NULL) {
		*len = n;
		return (uint8_t *)text;
	}
	clean = malloc(n + 1);
	for (size_t i = 0; i < n; i++)
		if (text[i] > ' ')
			clean[m++] = text[i];
	out = malloc(m);
	*len = (size_t)EVP_DecodeBlock(out, (const unsigned char *)clean,
				       (int)m);
	for (size_t i = m; i > 0 && clean[i - 1] == '='; i--)
		(*len)--;
	free(clean);
	free(text);
	return out;
}

/* The encoder, fed a real AWS payload's fields, gives back its bytes. */
static void
test_payload_matches_aws(void **state)
{
	static const char *const names[] = {
		"eternis_valid_2024-07-31.b64",
		"blocky-nitrite_valid_2024-09-07.b64",
		"evervault_beta-debug_2022-10-12.cbor",
		"evervault_beta-valid_2022-10-13.cbor",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		size_t n;
		uint8_t *raw = load_vector(names[i], &n);
		struct doc *doc = malloc(sizeof(*doc));
		struct cella_buf b;

		parse_doc(raw, n, doc);
		cella_buf_init(&b, 16384);
		assert_int_equal(cella_nsm_doc_payload(&doc->d, &b), 0);
		assert_int_equal(b.len, doc->payload.n);
		assert_memory_equal(b.p, doc->payload.p, b.len);
		cella_buf_fini(&b);
		free(doc);
		free(raw);
	}
}

/*
 * What must be equal between two documents whose optional fields have the
 * same sizes: every key in order, the head of every value whose size is
 * fixed, the type of the rest (module_id, certificate, cabundle).
 */
static void
hexs(char *out, size_t cap, size_t *off, const uint8_t *p, size_t n)
{
	for (size_t j = 0; j < n && *off + 3 < cap; j++)
		*off += (size_t)snprintf(out + *off, cap - *off, "%02x", p[j]);
}

static void
skeleton(struct cella_span payload, char *out, size_t cap)
{
	struct cella_nsmw_reader r = {payload.p, payload.n, 0};
	struct cella_span key, v;
	size_t off = 0, start;
	unsigned major;
	uint64_t n, arg, m, idx;

	cella_nsmw_get_container(&r, CELLA_NSMW_MAP, &n);
	off += (size_t)snprintf(out, cap, "map%llu", (unsigned long long)n);
	for (uint64_t i = 0; i < n; i++) {
		cella_nsmw_get_text(&r, 32, &key);
		off += (size_t)snprintf(out + off, cap - off, " %.*s=",
					(int)key.n, (const char *)key.p);
		cella_nsmw_peek(&r, &major, &arg);
		start = r.off;
		if (cella_nsmw_span_is(key, "pcrs")) {
			cella_nsmw_get_container(&r, CELLA_NSMW_MAP, &m);
			hexs(out, cap, &off, r.p + start, r.off - start);
			for (uint64_t j = 0; j < m; j++) {
				cella_nsmw_get_uint(&r, 31, &idx);
				start = r.off;
				cella_nsmw_get_bytes(&r, 64, &v);
				off += (size_t)snprintf(out + off, cap - off,
							" %llu:",
							(unsigned long long)idx);
				hexs(out, cap, &off, r.p + start,
				     cella_nsmw_head_len(v.n));
			}
			continue;
		}
		cella_nsmw_skip(&r, 0);
		if (cella_nsmw_span_is(key, "module_id") ||
		    cella_nsmw_span_is(key, "certificate") ||
		    cella_nsmw_span_is(key, "cabundle"))
			off += (size_t)snprintf(out + off, cap - off, "type%u",
						major);
		else if (cella_nsmw_span_is(key, "timestamp"))
			hexs(out, cap, &off, r.p + start, 1);
		else if (cella_nsmw_span_is(key, "digest"))
			hexs(out, cap, &off, r.p + start, r.off - start);
		else
			hexs(out, cap, &off, r.p + start,
			     major == CELLA_NSMW_SIMPLE ? 1 :
							  cella_nsmw_head_len(arg));
	}
}

static void
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

static void
test_document_shape(void **state)
{
	struct cella_nsm *nsm = open_sim(2, 5000);
	char want[2048], got[2048];
	struct doc *real = malloc(sizeof(*real)), *sim = malloc(sizeof(*sim));
	struct cella_buf b;
	size_t n;
	uint8_t *raw = load_vector("eternis_valid_2024-07-31.b64", &n);

	(void)state;
	parse_doc(raw, n, real);
	/* the vector's sizes: public_key 5, user_data 68, nonce 20 */
	attest(nsm, 5, 68, 20, &b);
	parse_doc(b.p, b.len, sim);
	skeleton(real->payload, want, sizeof(want));
	skeleton(sim->payload, got, sizeof(got));
	assert_string_equal(got, want);
	/* the COSE envelope up to the payload's head */
	assert_memory_equal(b.p, raw, 7);
	assert_int_equal(sim->d.n_cabundle, 3);
	assert_int_equal(sim->d.pcr_mask, 0xffff);
	assert_memory_equal(sim->pcrs[0], pcr0, 48);
	assert_true(cella_nsmw_span_is(sim->d.module_id,
				       cella_nsm_sim_module_id(
					       cella_nsm_sim_of(nsm))));
	cella_buf_fini(&b);

	/* absent is null, empty is h'' */
	attest(nsm, 0, 0, 0, &b);
	parse_doc(b.p, b.len, sim);
	assert_true(sim->d.public_key.set && sim->d.public_key.v.n == 0);
	cella_buf_fini(&b);
	cella_buf_init(&b, CELLA_NSM_RESPONSE_MAX);
	assert_int_equal(cella_nsm_attest(nsm, NULL, NULL, NULL, &b, NULL), 0);
	parse_doc(b.p, b.len, sim);
	assert_false(sim->d.public_key.set);
	assert_false(sim->d.user_data.set);
	assert_false(sim->d.nonce.set);
	cella_buf_fini(&b);
	/* the limit, 1024 bytes each, fits in one response */
	attest(nsm, 1024, 1024, 1024, &b);
	parse_doc(b.p, b.len, sim);
	assert_int_equal(sim->d.nonce.v.n, 1024);
	cella_buf_fini(&b);
	free(raw);
	free(real);
	free(sim);
	cella_nsm_free(nsm);
}

static X509 *
der_cert(struct cella_span s)
{
	const unsigned char *p = s.p;
	X509 *x = d2i_X509(NULL, &p, (long)s.n);

	assert_non_null(x);
	assert_ptr_equal(p, s.p + s.n);
	return x;
}

/* The COSE signature, checked by cose.h under the leaf's key. */
static int
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

/* The whole document, through the verifier every relying party uses. */
static int
full_verify(const struct cella_buf *b, int64_t at, const uint8_t *nonce,
	    size_t nonce_len, struct cella_diag *d)
{
	struct cella_verify_policy pol;
	struct cella_verify_result res;
	int rc;

	cella_verify_policy_init(&pol);
	pol.root = pki.root;
	pol.at = at;
	pol.has_nonce = nonce != NULL;
	pol.nonce = CELLA_SPAN(nonce, nonce_len);
	rc = cella_verify(b->p, b->len, &pol, NULL, &res, d);
	cella_verify_result_fini(&res);
	return rc;
}

static int
chain_verify(const struct doc *doc, X509 *leaf, int64_t at)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	STACK_OF(X509) *untrusted = sk_X509_new_null();
	int ok;

	X509_STORE_add_cert(store, pki.root); /* pinned, not the bundle's */
	for (size_t i = 1; i < doc->d.n_cabundle; i++)
		sk_X509_push(untrusted, der_cert(doc->d.cabundle[i]));
	/*
	 * Not X509_V_FLAG_X509_STRICT: it demands an authority key id in
	 * every leaf, and AWS's leaves have none (nor do the sim's, to
	 * match); `openssl verify -x509_strict` refuses real documents too.
	 */
	X509_STORE_CTX_init(ctx, store, leaf, untrusted);
	X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), (time_t)at);
	ok = X509_verify_cert(ctx) == 1;
	if (!ok)
		fprintf(stderr, "chain: %s\n",
			X509_verify_cert_error_string(
				X509_STORE_CTX_get_error(ctx)));
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	sk_X509_pop_free(untrusted, X509_free);
	return ok;
}

static int64_t
tm_of(const ASN1_TIME *t)
{
	struct tm tm;

	assert_int_equal(ASN1_TIME_to_tm(t, &tm), 1);
	return (int64_t)timegm(&tm);
}

static void
check_leaf(X509 *leaf, const struct doc *doc, const char *module_id)
{
	int64_t ts = (int64_t)(doc->d.timestamp_ms / 1000);
	int64_t nb = tm_of(X509_get0_notBefore(leaf));
	int64_t na = tm_of(X509_get0_notAfter(leaf));
	int crit = -1;
	BASIC_CONSTRAINTS *bc = X509_get_ext_d2i(leaf, NID_basic_constraints,
						 &crit, NULL);
	char cn[128], want[128];

	/* as AWS: 3 s before issue, 3 hours after */
	assert_int_equal(na - nb, 3 * 3600 + 3);
	assert_true(nb <= ts - 3 && ts - nb <= 3 + 6);
	assert_non_null(bc);
	assert_int_equal(bc->ca, 0);
	assert_int_equal(crit, 1);
	BASIC_CONSTRAINTS_free(bc);
	assert_true(X509_get_key_usage(leaf) & KU_DIGITAL_SIGNATURE);
	assert_false(X509_get_key_usage(leaf) & KU_KEY_CERT_SIGN);
	X509_NAME_get_text_by_NID(X509_get_subject_name(leaf), NID_commonName,
				  cn, sizeof(cn));
	snprintf(want, sizeof(want), "%s.sim", module_id);
	assert_string_equal(cn, want);
	assert_int_equal(EVP_PKEY_get_bits(X509_get0_pubkey(leaf)), 384);
}

static void
test_chain_and_signature(void **state)
{
	struct cella_nsm *nsm = open_sim(2, 5000);
	struct doc *doc = malloc(sizeof(*doc));
	struct cella_buf b;
	uint8_t *root_der = NULL;
	int root_len;
	X509 *leaf;

	(void)state;
	attest(nsm, 91, 0, 32, &b);
	parse_doc(b.p, b.len, doc);
	leaf = der_cert(doc->d.certificate);
	check_leaf(leaf, doc, cella_nsm_sim_module_id(cella_nsm_sim_of(nsm)));
	/* cabundle[0] is the root itself, byte for byte */
	root_len = i2d_X509(pki.root, &root_der);
	assert_int_equal(doc->d.cabundle[0].n, (size_t)root_len);
	assert_memory_equal(doc->d.cabundle[0].p, root_der, root_len);
	OPENSSL_free(root_der);
	assert_true(chain_verify(doc, leaf,
				 (int64_t)(doc->d.timestamp_ms / 1000)));
	/* the leaf's window is the document's: not a day later */
	assert_false(chain_verify(doc, leaf,
				  (int64_t)(doc->d.timestamp_ms / 1000) +
					  86400));
	assert_true(cose_verify(doc, X509_get0_pubkey(leaf)));
	{
		struct cella_diag d = {""};
		int64_t at = (int64_t)(doc->d.timestamp_ms / 1000);
		static uint8_t fill[32];

		memset(fill, 0x42, sizeof(fill));
		if (full_verify(&b, at, fill, 32, &d) != 0)
			fail_msg("verify: %s", d.msg);
		fill[0] ^= 1;
		assert_int_equal(full_verify(&b, at, fill, 32, &d), -EBADMSG);
		assert_non_null(strstr(d.msg, "nonce"));
		/* the AWS root is not the sim's */
		{
			struct cella_verify_policy pol;
			struct cella_verify_result res;

			cella_verify_policy_init(&pol);
			pol.at = at;
			assert_int_equal(cella_verify(b.p, b.len, &pol, NULL,
						      &res, &d),
					 -EBADMSG);
			assert_int_equal(res.failed, CELLA_VERIFY_ROOT);
			cella_verify_result_fini(&res);
		}
	}
	/* one payload byte changed: the signature no longer holds */
	((uint8_t *)doc->payload.p)[doc->payload.n - 1] ^= 1;
	assert_false(cose_verify(doc, X509_get0_pubkey(leaf)));
	X509_free(leaf);
	cella_buf_fini(&b);
	free(doc);
	cella_nsm_free(nsm);
}

static void
test_leaf_per_document(void **state)
{
	struct cella_nsm *nsm = open_sim(4, 5000);
	struct cella_nsm_sim *sim = cella_nsm_sim_of(nsm);
	struct doc *doc = malloc(sizeof(*doc));
	ASN1_INTEGER *serials[6];
	struct cella_nsm_sim_stats st;
	struct cella_buf b;

	(void)state;
	assert_int_equal(cella_nsm_sim_wait_pool(sim, 20000), 0);
	for (int i = 0; i < 6; i++) {
		X509 *leaf;

		attest(nsm, 0, 8, 0, &b);
		parse_doc(b.p, b.len, doc);
		leaf = der_cert(doc->d.certificate);
		assert_true(cose_verify(doc, X509_get0_pubkey(leaf)));
		serials[i] = ASN1_INTEGER_dup(X509_get0_serialNumber(leaf));
		/* the serial starts with the module's enclave id */
		assert_int_equal(serials[i]->length, 16);
		for (int j = 0; j < i; j++)
			assert_int_not_equal(ASN1_INTEGER_cmp(serials[i],
							      serials[j]),
					     0);
		X509_free(leaf);
		cella_buf_fini(&b);
	}
	cella_nsm_sim_stats(sim, &st);
	assert_int_equal(st.documents, 6);
	assert_true(st.pool_hits >= 4);
	assert_int_equal(st.pool_hits + st.pool_misses, 6);
	assert_int_equal(st.pool_size, 4);
	for (int i = 0; i < 6; i++)
		ASN1_INTEGER_free(serials[i]);
	free(doc);
	cella_nsm_free(nsm);
}

static void
test_pool_expiry(void **state)
{
	struct cella_nsm *nsm = open_sim(2, 150);
	struct cella_nsm_sim *sim = cella_nsm_sim_of(nsm);
	struct cella_nsm_sim_stats st;
	struct doc *doc = malloc(sizeof(*doc));
	struct cella_buf b;
	X509 *leaf;

	(void)state;
	assert_int_equal(cella_nsm_sim_wait_pool(sim, 20000), 0);
	usleep(400 * 1000);
	cella_nsm_sim_stats(sim, &st);
	/* leaves past their age are thrown away, never used */
	assert_true(st.leaves_expired >= 2);
	attest(nsm, 0, 0, 0, &b);
	parse_doc(b.p, b.len, doc);
	leaf = der_cert(doc->d.certificate);
	assert_true((int64_t)(doc->d.timestamp_ms / 1000) -
			    tm_of(X509_get0_notBefore(leaf)) <=
		    3 + 1);
	X509_free(leaf);
	cella_buf_fini(&b);
	free(doc);
	cella_nsm_free(nsm);
}

static enum cella_nsm_status
raw_status(struct cella_nsm_sim *sim, const uint8_t *req, size_t n)
{
	static uint8_t resp[CELLA_NSM_RESPONSE_MAX];
	struct cella_nsm_response r;
	size_t len;

	assert_int_equal(cella_nsm_sim_handle(sim, req, n, resp, &len), 0);
	assert_int_equal(cella_nsm_response_parse(resp, len, &r, NULL), 0);
	assert_int_equal(r.kind, CELLA_NSM_ERROR);
	return r.error;
}

static void
test_bad_requests(void **state)
{
	static uint8_t big[CELLA_NSM_REQUEST_MAX + 1];
	struct cella_nsm *nsm = open_sim(0, 5000);
	struct cella_nsm_sim *sim = cella_nsm_sim_of(nsm);
	struct cella_nsm_request q = {.kind = CELLA_NSM_ATTESTATION};
	struct cella_buf b;

	(void)state;
	assert_int_equal(raw_status(sim, (const uint8_t *)"\x01", 1),
			 CELLA_NSM_INVALID_ARGUMENT);
	assert_int_equal(raw_status(sim, (const uint8_t *)"\x66Reboot", 7),
			 CELLA_NSM_INVALID_OPERATION);
	assert_int_equal(raw_status(sim, big, sizeof(big)),
			 CELLA_NSM_INPUT_TOO_LARGE);
	/* a 1025-byte public_key (the last field), past the client's check */
	q.public_key = (struct cella_nsm_opt){true, {big, 1024}};
	cella_buf_init(&b, 8192);
	assert_int_equal(cella_nsm_request_encode(&q, &b), 0);
	for (size_t i = 0; i + 2 < b.len; i++) {
		if (b.p[i] == 0x59 && b.p[i + 1] == 4 && b.p[i + 2] == 0) {
			b.p[i + 2] = 1;
			break;
		}
	}
	assert_int_equal(cella_buf_append(&b, "", 1), 0);
	assert_int_equal(raw_status(sim, b.p, b.len),
			 CELLA_NSM_INPUT_TOO_LARGE);
	cella_buf_fini(&b);
	cella_nsm_free(nsm);
}

struct worker {
	struct cella_nsm *nsm;
	int docs;
};

static void *
work(void *arg)
{
	struct worker *w = arg;

	for (int i = 0; i < 25; i++) {
		struct cella_buf b;

		if (cella_nsm_extend_pcr(w->nsm, 20, "t", 1, NULL, NULL) != 0)
			return NULL;
		if (i % 5 == 0) {
			cella_buf_init(&b, CELLA_NSM_RESPONSE_MAX);
			if (cella_nsm_attest(w->nsm, NULL, NULL, NULL, &b,
					     NULL) == 0)
				w->docs++;
			cella_buf_fini(&b);
		}
	}
	return NULL;
}

/* Extends with the same data commute, so 100 of them have one answer. */
static void
test_threads(void **state)
{
	struct cella_nsm *nsm = open_sim(4, 5000);
	struct worker w[4];
	pthread_t t[4];
	struct cella_nsm_pcr pcr;
	uint8_t want[48] = {0};

	(void)state;
	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker){nsm, 0};
		assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(w[i].docs, 5);
	}
	for (int i = 0; i < 100; i++)
		sha384_2(want, 48, (const uint8_t *)"t", 1, want);
	assert_int_equal(cella_nsm_describe_pcr(nsm, 20, &pcr, NULL), 0);
	assert_memory_equal(pcr.value, want, 48);
	cella_nsm_free(nsm);
}

static void
test_random(void **state)
{
	struct cella_nsm *nsm = open_sim(0, 5000);
	uint8_t a[600] = {0}, b[600] = {0};

	(void)state;
	assert_int_equal(cella_nsm_get_random(nsm, a, sizeof(a), NULL), 0);
	assert_int_equal(cella_nsm_get_random(nsm, b, sizeof(b), NULL), 0);
	assert_memory_not_equal(a, b, sizeof(a));
	assert_string_equal(cella_nsm_provider(nsm), "sim");
	cella_nsm_free(nsm);
}

/* ---- start-up files ---- */

static void
write_file(const char *dir, const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void
write_pem(const char *dir, const char *name, EVP_PKEY *key, X509 *const *certs,
	  int n)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	if (key != NULL)
		PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
	for (int i = 0; i < n; i++)
		PEM_write_X509(f, certs[i]);
	fclose(f);
	chmod(path, key != NULL ? 0600 : 0644);
}

static void
expect_load(const char *dir, int err, const char *msg)
{
	struct cella_nsm_sim_conf c;
	struct cella_diag d = {""};
	int rc;

	cella_nsm_sim_conf_init(&c);
	rc = cella_nsm_sim_conf_load_ca(&c, dir, &d);
	if (rc != err || strstr(d.msg, msg) == NULL)
		fail_msg("load: %d '%s', wanted %d '%s'", rc, d.msg, err, msg);
	cella_nsm_sim_conf_fini(&c);
}

static void
test_conf_files(void **state)
{
	char dir[] = "/tmp/nsm_sim_test.XXXXXX", path[512];
	X509 *good[] = {pki.root, pki.reg, pki.inst};
	X509 *swapped[] = {pki.root, pki.inst, pki.reg};
	struct cella_nsm_sim_conf c;
	struct cella_nsm *nsm = NULL;
	struct cella_nsm_info info;
	struct cella_nsm_pcr pcr;
	struct cella_diag d = {""};

	(void)state;
	assert_non_null(mkdtemp(dir));
	expect_load(dir, -ENOENT, "signer.key");
	write_pem(dir, "signer.key", pki.inst_key, NULL, 0);
	expect_load(dir, -ENOENT, "cabundle.pem");
	write_pem(dir, "cabundle.pem", NULL, swapped, 3);
	expect_load(dir, -EINVAL, "certificate 2 is not issued by");
	write_pem(dir, "cabundle.pem", NULL, good, 2);
	expect_load(dir, -EINVAL, "not the signer key's");
	write_pem(dir, "cabundle.pem", NULL, good + 1, 2);
	expect_load(dir, -EINVAL, "certificate 1 is not self-signed");
	write_pem(dir, "cabundle.pem", NULL, good, 3);
	expect_load(dir, 0, "");

	cella_nsm_sim_conf_init(&c);
	assert_int_equal(cella_nsm_sim_conf_load_ca(&c, dir, &d), 0);
	snprintf(path, sizeof(path), "%s/m.json", dir);
	write_file(dir, "m.json", "{\"pcrs\": {\"16\": \"00\"}}");
	assert_int_equal(cella_nsm_sim_conf_load_measurements(&c, path, &d),
			 -EINVAL);
	assert_non_null(strstr(d.msg, "'16' is not an index 0..15"));
	write_file(dir, "m.json", "{\"pcrs\": {\"1\": \"zz\"}}");
	assert_int_equal(cella_nsm_sim_conf_load_measurements(&c, path, &d),
			 -EINVAL);
	assert_non_null(strstr(d.msg, "pcrs.1: expected 96 hex digits"));
	write_file(dir, "m.json", "{\"pcr\": {}}");
	assert_int_equal(cella_nsm_sim_conf_load_measurements(&c, path, &d),
			 -EINVAL);
	assert_non_null(strstr(d.msg, "unknown key 'pcr'"));
	write_file(dir, "m.json", "[");
	assert_int_equal(cella_nsm_sim_conf_load_measurements(&c, path, &d),
			 -EINVAL);
	assert_int_equal(c.pcr_set, 0);
	write_file(dir, "m.json",
		   "{\"module_id\": \"i-00000000000000001-enc0123456789abcdef\","
		   " \"pcrs\": {\"2\": \"2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a"
		   "2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a2a"
		   "\"}}");
	if (cella_nsm_sim_conf_load_measurements(&c, path, &d) != 0)
		fail_msg("%s", d.msg);
	c.pool_size = 0;
	assert_int_equal(cella_nsm_sim_open(&c, &nsm, &d), 0);
	assert_int_equal(cella_nsm_describe(nsm, &info, NULL), 0);
	assert_string_equal(info.module_id,
			    "i-00000000000000001-enc0123456789abcdef");
	assert_int_equal(cella_nsm_describe_pcr(nsm, 2, &pcr, NULL), 0);
	assert_int_equal(pcr.value[47], 0x2a);
	cella_nsm_free(nsm);
	cella_nsm_sim_conf_fini(&c);
	snprintf(path, sizeof(path), "rm -rf %s", dir);
	assert_int_equal(system(path), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_describe_and_boot),
		cmocka_unit_test(test_extend_and_lock),
		cmocka_unit_test(test_payload_matches_aws),
		cmocka_unit_test(test_document_shape),
		cmocka_unit_test(test_chain_and_signature),
		cmocka_unit_test(test_leaf_per_document),
		cmocka_unit_test(test_pool_expiry),
		cmocka_unit_test(test_bad_requests),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_random),
		cmocka_unit_test(test_conf_files),
	};

	return cmocka_run_group_tests(tests, setup_pki, teardown_pki);
}
