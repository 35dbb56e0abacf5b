/*
 * nsm_sim_doc_test: the sim's documents have the real documents' shape
 * field by field (and the document encoder reproduces real AWS payloads
 * byte for byte); every chain verifies with OpenSSL under the sim root and
 * every COSE signature under its leaf.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/attest/verify.h"
#include "common/nsm/nsm_wire.h"
#include "common/nsm/sim/nsm_simca.h"
#include "common/testing/nsm_sim.h"

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
		struct tu_sim_doc *doc = malloc(sizeof(*doc));
		struct cella_buf b;

		tu_sim_doc_parse(raw, n, doc);
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
test_document_shape(void **state)
{
	struct cella_nsm *nsm = tu_sim_open(2, 5000);
	char want[2048], got[2048];
	struct tu_sim_doc *real = malloc(sizeof(*real)), *sim = malloc(sizeof(*sim));
	struct cella_buf b;
	size_t n;
	uint8_t *raw = load_vector("eternis_valid_2024-07-31.b64", &n);

	(void)state;
	tu_sim_doc_parse(raw, n, real);
	/* the vector's sizes: public_key 5, user_data 68, nonce 20 */
	tu_sim_attest(nsm, 5, 68, 20, &b);
	tu_sim_doc_parse(b.p, b.len, sim);
	skeleton(real->payload, want, sizeof(want));
	skeleton(sim->payload, got, sizeof(got));
	assert_string_equal(got, want);
	/* the COSE envelope up to the payload's head */
	assert_memory_equal(b.p, raw, 7);
	assert_int_equal(sim->d.n_cabundle, 3);
	assert_int_equal(sim->d.pcr_mask, 0xffff);
	assert_memory_equal(sim->pcrs[0], tu_sim_pcr0, 48);
	assert_true(cella_nsmw_span_is(sim->d.module_id,
				       cella_nsm_sim_module_id(
					       cella_nsm_sim_of(nsm))));
	cella_buf_fini(&b);

	/* absent is null, empty is h'' */
	tu_sim_attest(nsm, 0, 0, 0, &b);
	tu_sim_doc_parse(b.p, b.len, sim);
	assert_true(sim->d.public_key.set && sim->d.public_key.v.n == 0);
	cella_buf_fini(&b);
	cella_buf_init(&b, CELLA_NSM_RESPONSE_MAX);
	assert_int_equal(cella_nsm_attest(nsm, NULL, NULL, NULL, &b, NULL), 0);
	tu_sim_doc_parse(b.p, b.len, sim);
	assert_false(sim->d.public_key.set);
	assert_false(sim->d.user_data.set);
	assert_false(sim->d.nonce.set);
	cella_buf_fini(&b);
	/* the limit, 1024 bytes each, fits in one response */
	tu_sim_attest(nsm, 1024, 1024, 1024, &b);
	tu_sim_doc_parse(b.p, b.len, sim);
	assert_int_equal(sim->d.nonce.v.n, 1024);
	cella_buf_fini(&b);
	free(raw);
	free(real);
	free(sim);
	cella_nsm_free(nsm);
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
	pol.root = tu_pki.root;
	pol.at = at;
	pol.has_nonce = nonce != NULL;
	pol.nonce = CELLA_SPAN(nonce, nonce_len);
	rc = cella_verify(b->p, b->len, &pol, NULL, &res, d);
	cella_verify_result_fini(&res);
	return rc;
}

static int
chain_verify(const struct tu_sim_doc *doc, X509 *leaf, int64_t at)
{
	X509_STORE *store = X509_STORE_new();
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	STACK_OF(X509) *untrusted = sk_X509_new_null();
	int ok;

	X509_STORE_add_cert(store, tu_pki.root); /* pinned, not the bundle's */
	for (size_t i = 1; i < doc->d.n_cabundle; i++)
		sk_X509_push(untrusted, tu_der_cert(doc->d.cabundle[i]));
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

static void
check_leaf(X509 *leaf, const struct tu_sim_doc *doc, const char *module_id)
{
	int64_t ts = (int64_t)(doc->d.timestamp_ms / 1000);
	int64_t nb = tu_asn1_time(X509_get0_notBefore(leaf));
	int64_t na = tu_asn1_time(X509_get0_notAfter(leaf));
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
	struct cella_nsm *nsm = tu_sim_open(2, 5000);
	struct tu_sim_doc *doc = malloc(sizeof(*doc));
	struct cella_buf b;
	uint8_t *root_der = NULL;
	int root_len;
	X509 *leaf;

	(void)state;
	tu_sim_attest(nsm, 91, 0, 32, &b);
	tu_sim_doc_parse(b.p, b.len, doc);
	leaf = tu_der_cert(doc->d.certificate);
	check_leaf(leaf, doc, cella_nsm_sim_module_id(cella_nsm_sim_of(nsm)));
	/* cabundle[0] is the root itself, byte for byte */
	root_len = i2d_X509(tu_pki.root, &root_der);
	assert_int_equal(doc->d.cabundle[0].n, (size_t)root_len);
	assert_memory_equal(doc->d.cabundle[0].p, root_der, root_len);
	OPENSSL_free(root_der);
	assert_true(chain_verify(doc, leaf,
				 (int64_t)(doc->d.timestamp_ms / 1000)));
	/* the leaf's window is the document's: not a day later */
	assert_false(chain_verify(doc, leaf,
				  (int64_t)(doc->d.timestamp_ms / 1000) +
					  86400));
	assert_true(tu_cose_verify(doc, X509_get0_pubkey(leaf)));
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
	assert_false(tu_cose_verify(doc, X509_get0_pubkey(leaf)));
	X509_free(leaf);
	cella_buf_fini(&b);
	free(doc);
	cella_nsm_free(nsm);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_payload_matches_aws),
		cmocka_unit_test(test_document_shape),
		cmocka_unit_test(test_chain_and_signature),
	};

	return cmocka_run_group_tests(tests, tu_pki_setup, tu_pki_teardown);
}
