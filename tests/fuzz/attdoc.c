/*
 * fuzz/attdoc: the attestation document path end to end against arbitrary
 * bytes: user input unwrapping (raw or base64), the COSE_Sign1 parser, the
 * payload parser and encoder, and the whole verifier under the built-in AWS
 * root at the document's own time. Properties beyond "no crash": a parsed
 * payload re-encodes to a fixed point that parses to the same fields, and
 * the verifier gives the same verdict with and without its cache.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/attest/attdoc.h"
#include "common/attest/cose.h"
#include "common/attest/verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
same_fields(const struct cella_attdoc *a, const struct cella_attdoc *b)
{
	if (a->timestamp_ms != b->timestamp_ms || a->pcr_mask != b->pcr_mask ||
	    a->ncabundle != b->ncabundle || a->has_nonce != b->has_nonce ||
	    a->module_id.n != b->module_id.n ||
	    memcmp(a->module_id.p, b->module_id.p, a->module_id.n) != 0 ||
	    a->certificate.n != b->certificate.n ||
	    memcmp(a->certificate.p, b->certificate.p, a->certificate.n) != 0)
		abort();
}

/* encode(parse(x)) parses, and encodes again to the same bytes. */
static void
roundtrip(struct cella_span payload)
{
	struct cella_attdoc a, b;
	struct cella_buf e1, e2;
	struct cella_diag d;

	if (cella_attdoc_parse(payload, &a, &d) != 0)
		return;
	cella_buf_init(&e1, CELLA_ATTDOC_MAX);
	cella_buf_init(&e2, CELLA_ATTDOC_MAX);
	if (cella_attdoc_encode(&a, &e1) != 0 ||
	    cella_attdoc_parse(CELLA_SPAN(e1.p, e1.len), &b, &d) != 0)
		abort();
	same_fields(&a, &b);
	if (cella_attdoc_encode(&b, &e2) != 0 || e1.len != e2.len ||
	    memcmp(e1.p, e2.p, e1.len) != 0)
		abort();
	cella_attdoc_fini(&b);
	cella_attdoc_fini(&a);
	cella_buf_fini(&e1);
	cella_buf_fini(&e2);
}

/* The document's own time, so real chains are inside their window. */
static int64_t
doc_time(const uint8_t *p, size_t n)
{
	struct cella_cose_sign1 m;
	struct cella_attdoc doc;
	struct cella_diag d;
	int64_t at = 1725719859;

	if (cella_cose_sign1_parse(p, n, NULL, &m, &d) != 0)
		return at;
	roundtrip(m.payload);
	if (cella_attdoc_parse(m.payload, &doc, &d) == 0) {
		at = (int64_t)(doc.timestamp_ms / 1000) + 1;
		if (at > CELLA_VERIFY_AT_MAX)
			at = CELLA_VERIFY_AT_MAX;
		cella_attdoc_fini(&doc);
	}
	return at;
}

static int
verify(const uint8_t *p, size_t n, int64_t at, struct cella_verify_cache *c)
{
	struct cella_verify_policy pol;
	struct cella_verify_result res;
	struct cella_diag d;
	int rv;

	cella_verify_policy_init(&pol);
	pol.at = at;
	pol.allow_debug = true;
	rv = cella_verify(p, n, &pol, c, &res, &d);
	cella_verify_result_fini(&res);
	return rv;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cella_verify_cache *cache;
	struct cella_buf doc;
	struct cella_diag d;
	int64_t at;

	if (cache == NULL && cella_verify_cache_new(32, &cache) != 0)
		abort();
	roundtrip(CELLA_SPAN(data, size)); /* the bytes as a bare payload */
	cella_buf_init(&doc, CELLA_ATTDOC_MAX);
	if (cella_attdoc_unwrap(data, size, &doc, &d) == 0) {
		at = doc_time(doc.p, doc.len);
		if ((verify(doc.p, doc.len, at, NULL) == 0) !=
		    (verify(doc.p, doc.len, at, cache) == 0))
			abort(); /* the cache changed a verdict */
	}
	cella_buf_fini(&doc);
	return 0;
}
