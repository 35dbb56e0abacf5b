/*
 * nsm_doc: the payload of simulated attestation documents, written field by
 * field straight from the sim's state. Does not check what goes in (sizes,
 * PCR lengths): the sim decides that. Signing is cose.h's.
 */
#include "common/nsm/nsm_doc.h"

#include <errno.h>
#include <string.h>

#include "common/nsm/nsm_wire.h"

static int
put_key_bytes(struct cella_buf *b, const char *key, struct cella_span v)
{
	int rc = cella_nsmw_put_text(b, key);

	return rc < 0 ? rc : cella_nsmw_put_bytes(b, v.p, v.n);
}

static int
put_key_opt(struct cella_buf *b, const char *key, const struct cella_nsm_opt *o)
{
	int rc = cella_nsmw_put_text(b, key);

	if (rc < 0)
		return rc;
	if (!o->set)
		return cella_nsmw_put_simple(b, CELLA_NSMW_NULL);
	return cella_nsmw_put_bytes(b, o->v.p, o->v.n);
}

static int
put_pcrs(struct cella_buf *b, const struct cella_nsm_doc *doc)
{
	int rc = cella_nsmw_put_text(b, "pcrs");

	if (rc == 0)
		rc = cella_nsmw_put_head(b, CELLA_NSMW_MAP,
					 (uint64_t)__builtin_popcount(
						 doc->pcr_mask));
	for (unsigned i = 0; rc == 0 && i < 32; i++) {
		if (!(doc->pcr_mask & (UINT32_C(1) << i)))
			continue;
		rc = cella_nsmw_put_head(b, CELLA_NSMW_UINT, i);
		if (rc == 0)
			rc = cella_nsmw_put_bytes(b, doc->pcrs[i],
						  CELLA_NSM_PCR_LEN);
	}
	return rc;
}

static int
put_payload(struct cella_buf *b, const struct cella_nsm_doc *doc)
{
	int rc;

	if ((rc = cella_nsmw_put_head(b, CELLA_NSMW_MAP, 9)) < 0 ||
	    (rc = cella_nsmw_put_text(b, "module_id")) < 0 ||
	    (rc = cella_nsmw_put_text_n(b, doc->module_id.p,
					doc->module_id.n)) < 0 ||
	    (rc = cella_nsmw_put_text(b, "digest")) < 0 ||
	    (rc = cella_nsmw_put_text(b, doc->digest)) < 0 ||
	    (rc = cella_nsmw_put_text(b, "timestamp")) < 0 ||
	    (rc = cella_nsmw_put_head(b, CELLA_NSMW_UINT,
				      doc->timestamp_ms)) < 0 ||
	    (rc = put_pcrs(b, doc)) < 0 ||
	    (rc = put_key_bytes(b, "certificate", doc->certificate)) < 0 ||
	    (rc = cella_nsmw_put_text(b, "cabundle")) < 0 ||
	    (rc = cella_nsmw_put_head(b, CELLA_NSMW_ARRAY,
				      doc->n_cabundle)) < 0)
		return rc;
	for (size_t i = 0; i < doc->n_cabundle; i++)
		if ((rc = cella_nsmw_put_bytes(b, doc->cabundle[i].p,
					       doc->cabundle[i].n)) < 0)
			return rc;
	if ((rc = put_key_opt(b, "public_key", &doc->public_key)) < 0 ||
	    (rc = put_key_opt(b, "user_data", &doc->user_data)) < 0)
		return rc;
	return put_key_opt(b, "nonce", &doc->nonce);
}

int
cella_nsm_doc_payload(const struct cella_nsm_doc *doc, struct cella_buf *out)
{
	size_t len0 = out->len;
	int rc;

	if (doc->n_cabundle > CELLA_NSM_CABUNDLE_MAX)
		return -EINVAL;
	rc = put_payload(out, doc);
	if (rc < 0)
		out->len = len0;
	return rc;
}
