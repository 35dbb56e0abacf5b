/*
 * nsm_sim: the software NSM's state and request handling. One mutex guards
 * the PCR bank; a document copies the locked PCRs under it and then signs
 * outside it, so extends and documents from many threads interleave
 * safely and a document never shows a half-extended register. Start-up
 * (identity, boot PCRs, size checks) is here too; reading the start-up
 * files is nsm_simconf.c's.
 */
#include "common/nsm/sim/nsm_sim.h"

#include <errno.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/attest/cose.h"
#include "common/nsm/nsm_doc.h"
#include "common/nsm/nsm_leaf.h"
#include "common/core/clock.h"
#include "common/nsm/nsm_x509.h"

#define SIM_PCRS CELLA_NSM_PCR_COUNT
#define RANDOM_LEN 256
#define BOOT_LOCKED ((UINT32_C(1) << CELLA_NSM_SIM_BOOT_PCRS) - 1)

struct cella_nsm_sim {
	pthread_mutex_t mu;
	uint8_t pcrs[SIM_PCRS][CELLA_NSM_PCR_LEN];
	uint32_t locked;
	uint64_t documents;

	char module_id[CELLA_NSM_SIM_MODULE_ID_MAX + 1];
	uint8_t *ca_der[CELLA_NSM_CABUNDLE_MAX]; /* OPENSSL_free */
	size_t ca_len[CELLA_NSM_CABUNDLE_MAX];
	size_t n_ca;
	struct cella_nsm_pool *pool;
};

/* What one answer may borrow until it is encoded. */
struct scratch {
	uint8_t pcr[CELLA_NSM_PCR_LEN];
	uint8_t random[RANDOM_LEN];
	uint16_t locked[SIM_PCRS];
	struct cella_buf payload, doc;
};

static int
sha384(const uint8_t *a, size_t na, const uint8_t *b, size_t nb,
       uint8_t out[CELLA_NSM_PCR_LEN])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int ok;

	if (ctx == NULL)
		return -ENOMEM;
	ok = EVP_DigestInit_ex(ctx, EVP_sha384(), NULL) == 1 &&
	     EVP_DigestUpdate(ctx, a, na) == 1 &&
	     EVP_DigestUpdate(ctx, b, nb) == 1 &&
	     EVP_DigestFinal_ex(ctx, out, NULL) == 1;
	EVP_MD_CTX_free(ctx);
	return ok ? 0 : -EPROTO;
}

/* ---- requests ---- */

static enum cella_nsm_status
do_attest(struct cella_nsm_sim *sim, const struct cella_nsm_request *q,
	  struct cella_nsm_response *r, struct scratch *s)
{
	uint8_t (*snap)[CELLA_NSM_PCR_LEN] = malloc(sizeof(sim->pcrs));
	struct cella_nsm_doc doc = {
		.module_id = CELLA_SPAN(sim->module_id, strlen(sim->module_id)),
		.digest = "SHA384",
		.n_cabundle = sim->n_ca,
		.user_data = q->user_data,
		.nonce = q->nonce,
		.public_key = q->public_key,
	};
	struct cella_nsm_leaf leaf = {0};
	int rc = -ENOMEM;

	if (snap == NULL || (rc = cella_nsm_pool_take(sim->pool, &leaf)) < 0)
		goto out;
	for (size_t i = 0; i < sim->n_ca; i++)
		doc.cabundle[i] = CELLA_SPAN(sim->ca_der[i], sim->ca_len[i]);
	doc.certificate = CELLA_SPAN(leaf.der, leaf.der_len);
	doc.pcrs = (const uint8_t(*)[CELLA_NSM_PCR_LEN])snap;
	pthread_mutex_lock(&sim->mu);
	memcpy(snap, sim->pcrs, sizeof(sim->pcrs));
	doc.pcr_mask = sim->locked;
	sim->documents++;
	pthread_mutex_unlock(&sim->mu);
	doc.timestamp_ms = cella_wall_ms();
	rc = cella_nsm_doc_payload(&doc, &s->payload);
	if (rc == 0)
		rc = cella_cose_sign1_sign(leaf.key, CELLA_COSE_ES384,
					   CELLA_SPAN(s->payload.p,
						      s->payload.len),
					   &s->doc);
	if (rc == 0) {
		r->kind = CELLA_NSM_ATTESTATION;
		r->document = CELLA_SPAN(s->doc.p, s->doc.len);
	}
out:
	cella_nsm_leaf_fini(&leaf);
	free(snap);
	return rc < 0 ? CELLA_NSM_INTERNAL_ERROR : CELLA_NSM_SUCCESS;
}

static enum cella_nsm_status
do_describe_pcr(struct cella_nsm_sim *sim, const struct cella_nsm_request *q,
		struct cella_nsm_response *r, struct scratch *s)
{
	if (q->index >= SIM_PCRS)
		return CELLA_NSM_INVALID_INDEX;
	pthread_mutex_lock(&sim->mu);
	memcpy(s->pcr, sim->pcrs[q->index], sizeof(s->pcr));
	r->lock = (sim->locked >> q->index) & 1;
	pthread_mutex_unlock(&sim->mu);
	r->kind = CELLA_NSM_DESCRIBE_PCR;
	r->data = CELLA_SPAN(s->pcr, sizeof(s->pcr));
	return CELLA_NSM_SUCCESS;
}

static enum cella_nsm_status
do_extend_pcr(struct cella_nsm_sim *sim, const struct cella_nsm_request *q,
	      struct cella_nsm_response *r, struct scratch *s)
{
	enum cella_nsm_status st = CELLA_NSM_SUCCESS;

	if (q->index >= SIM_PCRS)
		return CELLA_NSM_INVALID_INDEX;
	pthread_mutex_lock(&sim->mu);
	if ((sim->locked >> q->index) & 1)
		st = CELLA_NSM_READ_ONLY_INDEX;
	else if (sha384(sim->pcrs[q->index], CELLA_NSM_PCR_LEN, q->data.p,
			q->data.n, s->pcr) < 0)
		st = CELLA_NSM_INTERNAL_ERROR;
	else
		memcpy(sim->pcrs[q->index], s->pcr, sizeof(s->pcr));
	pthread_mutex_unlock(&sim->mu);
	r->kind = CELLA_NSM_EXTEND_PCR;
	r->data = CELLA_SPAN(s->pcr, sizeof(s->pcr));
	return st;
}

static enum cella_nsm_status
do_lock_pcr(struct cella_nsm_sim *sim, const struct cella_nsm_request *q,
	    struct cella_nsm_response *r, struct scratch *s)
{
	enum cella_nsm_status st = CELLA_NSM_SUCCESS;

	(void)s;
	if (q->index >= SIM_PCRS)
		return CELLA_NSM_INVALID_INDEX;
	pthread_mutex_lock(&sim->mu);
	if ((sim->locked >> q->index) & 1)
		st = CELLA_NSM_READ_ONLY_INDEX; /* as Nitro does for 0..15 */
	sim->locked |= UINT32_C(1) << q->index;
	pthread_mutex_unlock(&sim->mu);
	r->kind = CELLA_NSM_LOCK_PCR;
	return st;
}

static enum cella_nsm_status
do_lock_pcrs(struct cella_nsm_sim *sim, const struct cella_nsm_request *q,
	     struct cella_nsm_response *r, struct scratch *s)
{
	(void)s;
	if (q->range > SIM_PCRS)
		return CELLA_NSM_INVALID_INDEX;
	pthread_mutex_lock(&sim->mu);
	if (q->range == SIM_PCRS)
		sim->locked = UINT32_MAX;
	else
		sim->locked |= (UINT32_C(1) << q->range) - 1;
	pthread_mutex_unlock(&sim->mu);
	r->kind = CELLA_NSM_LOCK_PCRS;
	return CELLA_NSM_SUCCESS;
}

static enum cella_nsm_status
do_describe_nsm(struct cella_nsm_sim *sim, const struct cella_nsm_request *q,
		struct cella_nsm_response *r, struct scratch *s)
{
	struct cella_nsm_description *n = &r->nsm;
	uint32_t locked;

	(void)q;
	(void)s;
	pthread_mutex_lock(&sim->mu);
	locked = sim->locked;
	pthread_mutex_unlock(&sim->mu);
	for (uint16_t i = 0; i < SIM_PCRS; i++)
		if ((locked >> i) & 1)
			n->locked_pcrs[n->n_locked++] = i;
	n->version_major = CELLA_NSM_SIM_VERSION_MAJOR;
	n->version_minor = CELLA_NSM_SIM_VERSION_MINOR;
	n->version_patch = CELLA_NSM_SIM_VERSION_PATCH;
	n->module_id = CELLA_SPAN(sim->module_id, strlen(sim->module_id));
	n->max_pcrs = SIM_PCRS;
	n->digest = CELLA_NSM_SHA384;
	r->kind = CELLA_NSM_DESCRIBE_NSM;
	return CELLA_NSM_SUCCESS;
}

static enum cella_nsm_status
do_get_random(struct cella_nsm_sim *sim, const struct cella_nsm_request *q,
	      struct cella_nsm_response *r, struct scratch *s)
{
	(void)sim;
	(void)q;
	if (RAND_bytes(s->random, sizeof(s->random)) != 1)
		return CELLA_NSM_INTERNAL_ERROR;
	r->kind = CELLA_NSM_GET_RANDOM;
	r->random = CELLA_SPAN(s->random, sizeof(s->random));
	return CELLA_NSM_SUCCESS;
}

typedef enum cella_nsm_status (*handler_fn)(struct cella_nsm_sim *,
					    const struct cella_nsm_request *,
					    struct cella_nsm_response *,
					    struct scratch *);

static const handler_fn handlers[] = {
	[CELLA_NSM_ATTESTATION] = do_attest,
	[CELLA_NSM_DESCRIBE_PCR] = do_describe_pcr,
	[CELLA_NSM_EXTEND_PCR] = do_extend_pcr,
	[CELLA_NSM_LOCK_PCR] = do_lock_pcr,
	[CELLA_NSM_LOCK_PCRS] = do_lock_pcrs,
	[CELLA_NSM_DESCRIBE_NSM] = do_describe_nsm,
	[CELLA_NSM_GET_RANDOM] = do_get_random,
};

static enum cella_nsm_status
status_of_parse(int rc)
{
	switch (rc) {
	case -EMSGSIZE:
		return CELLA_NSM_INPUT_TOO_LARGE;
	case -EOPNOTSUPP:
		return CELLA_NSM_INVALID_OPERATION;
	default:
		return CELLA_NSM_INVALID_ARGUMENT;
	}
}

int
cella_nsm_sim_handle(struct cella_nsm_sim *sim, const uint8_t *req, size_t n,
		     uint8_t *resp, size_t *resp_len)
{
	struct cella_nsm_response *r = calloc(1, sizeof(*r));
	struct cella_nsm_request q;
	struct scratch *s = calloc(1, sizeof(*s));
	struct cella_buf out;
	enum cella_nsm_status st;
	int rc = -ENOMEM;

	cella_buf_init(&out, CELLA_NSM_RESPONSE_MAX);
	if (r == NULL || s == NULL)
		goto done;
	cella_buf_init(&s->payload, CELLA_NSM_RESPONSE_MAX);
	cella_buf_init(&s->doc, CELLA_NSM_RESPONSE_MAX);
	rc = cella_nsm_request_parse(req, n, &q, NULL);
	st = rc < 0 ? status_of_parse(rc) : handlers[q.kind](sim, &q, r, s);
	if (st == CELLA_NSM_SUCCESS)
		rc = cella_nsm_response_encode(r, &out);
	if (st != CELLA_NSM_SUCCESS || rc < 0) {
		*r = (struct cella_nsm_response){
			.kind = CELLA_NSM_ERROR,
			.error = st != CELLA_NSM_SUCCESS ?
					 st : CELLA_NSM_INTERNAL_ERROR,
		};
		out.len = 0;
		rc = cella_nsm_response_encode(r, &out);
	}
	if (rc == 0) {
		memcpy(resp, out.p, out.len);
		*resp_len = out.len;
	}
	cella_buf_fini(&s->payload);
	cella_buf_fini(&s->doc);
done:
	cella_buf_fini(&out);
	free(s);
	free(r);
	return rc;
}

/* ---- start-up ---- */

static bool
id_chars_ok(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		      c == '.'))
			return false;
	}
	return true;
}

static void
random_hex(char *out, size_t ndigits)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t b[16];

	RAND_bytes(b, sizeof(b));
	for (size_t i = 0; i < ndigits && i < 2 * sizeof(b); i++)
		out[i] = hex[(b[i / 2] >> (i % 2 ? 0 : 4)) & 0xf];
	out[ndigits] = '\0';
}

/*
 * AWS names a module "<instance id>-enc<16 hex>"; the sim takes the
 * instance from the first label of its signer's commonName, as `cella
 * sim-ca issue` names it.
 */
static int
derive_module_id(struct cella_nsm_sim *sim, const struct cella_nsm_sim_conf *c,
		 X509 *signer, struct cella_diag *d)
{
	char cn[128] = "", enc[17], inst[33];
	char *dot;

	if (c->module_id[0] != '\0') {
		if (!id_chars_ok(c->module_id, CELLA_NSM_SIM_MODULE_ID_MAX))
			return cella_diag_set(d, -EINVAL, "module_id '%s': "
					      "1..60 of [A-Za-z0-9._-]",
					      c->module_id);
		snprintf(sim->module_id, sizeof(sim->module_id), "%s",
			 c->module_id);
		return 0;
	}
	if (cella_nsm_x509_cn(signer, cn, sizeof(cn)) == 0 &&
	    (dot = strchr(cn, '.')) != NULL)
		*dot = '\0';
	if (!id_chars_ok(cn, sizeof(inst) - 1)) {
		memcpy(inst, "i-", 3);
		random_hex(inst + 2, 17);
	} else {
		snprintf(inst, sizeof(inst), "%.32s", cn); /* checked above */
	}
	random_hex(enc, 16);
	snprintf(sim->module_id, sizeof(sim->module_id), "%s-enc%s", inst,
		 enc);
	return 0;
}

/* The instance id is what precedes "-enc" in the module id. */
static size_t
instance_len(const char *module_id)
{
	const char *enc = strstr(module_id, "-enc");

	return enc ? (size_t)(enc - module_id) : strlen(module_id);
}

static void
serial_prefix(const char *module_id, uint8_t out[8])
{
	const char *enc = strstr(module_id, "-enc");

	if (enc == NULL || strlen(enc + 4) != 16 ||
	    cella_hex_decode(enc + 4, 16, out, 8) != 8)
		RAND_bytes(out, 8);
}

static int
boot_pcrs(struct cella_nsm_sim *sim, const struct cella_nsm_sim_conf *c)
{
	static const uint8_t zero[CELLA_NSM_PCR_LEN];
	int rc = 0;

	for (unsigned i = 0; i < CELLA_NSM_SIM_BOOT_PCRS; i++)
		if (c->pcr_set & (1u << i))
			memcpy(sim->pcrs[i], c->pcrs[i], CELLA_NSM_PCR_LEN);
	if (!(c->pcr_set & (1u << 4)))
		rc = sha384(zero, sizeof(zero), (const uint8_t *)sim->module_id,
			    instance_len(sim->module_id), sim->pcrs[4]);
	sim->locked = BOOT_LOCKED;
	return rc;
}

/* The largest response a document can make, to refuse a bundle early. */
static int
check_size(const struct cella_nsm_sim *sim, struct cella_diag *d)
{
	size_t n = 1024 /* leaf DER, generously */ + 3 * (3 + CELLA_NSM_DATA_MAX) +
		   SIM_PCRS * (2 + 2 + CELLA_NSM_PCR_LEN) + 512 /* the rest */;

	for (size_t i = 0; i < sim->n_ca; i++)
		n += 3 + sim->ca_len[i];
	if (n > CELLA_NSM_RESPONSE_MAX)
		return cella_diag_set(d, -EMSGSIZE, "the CA bundle is too "
				      "large: a document could exceed the "
				      "NSM's %u-byte response",
				      CELLA_NSM_RESPONSE_MAX);
	return 0;
}

static int
load_chain(struct cella_nsm_sim *sim, const struct cella_nsm_sim_conf *c,
	   struct cella_diag *d)
{
	int n = c->cabundle ? sk_X509_num(c->cabundle) : 0;

	if (c->signer_key == NULL || n < 1 || n > CELLA_NSM_CABUNDLE_MAX)
		return cella_diag_set(d, -EINVAL, "sim: a signer key and a "
				      "bundle of 1..8 certificates are needed");
	for (int i = 0; i < n; i++) {
		if (cella_nsm_x509_der(sk_X509_value(c->cabundle, i),
				       &sim->ca_der[i], &sim->ca_len[i]) < 0)
			return -ENOMEM;
		sim->n_ca++;
	}
	return check_size(sim, d);
}

static int
start_pool(struct cella_nsm_sim *sim, const struct cella_nsm_sim_conf *c,
	   struct cella_diag *d)
{
	X509 *signer = sk_X509_value(c->cabundle, sk_X509_num(c->cabundle) - 1);
	struct cella_nsm_pool_conf pc = {
		.issuer_key = c->signer_key,
		.issuer_cert = signer,
		.size = c->pool_size,
		.max_age_ms = c->leaf_max_age_ms,
		.warm_ms = c->pool_warm_ms,
	};
	char cn[CELLA_NSM_SIM_MODULE_ID_MAX + 8];

	snprintf(cn, sizeof(cn), "%s.sim", sim->module_id);
	pc.subject_cn = cn;
	serial_prefix(sim->module_id, pc.serial_prefix);
	return cella_nsm_pool_new(&pc, &sim->pool, d);
}

int
cella_nsm_sim_new(const struct cella_nsm_sim_conf *c,
		  struct cella_nsm_sim **out, struct cella_diag *d)
{
	struct cella_nsm_sim *sim = calloc(1, sizeof(*sim));
	int rc;

	if (sim == NULL)
		return -ENOMEM;
	pthread_mutex_init(&sim->mu, NULL);
	rc = load_chain(sim, c, d);
	if (rc == 0)
		rc = derive_module_id(
			sim, c,
			sk_X509_value(c->cabundle, sk_X509_num(c->cabundle) - 1),
			d);
	if (rc == 0)
		rc = boot_pcrs(sim, c);
	if (rc == 0)
		rc = start_pool(sim, c, d);
	if (rc < 0) {
		cella_nsm_sim_free(sim);
		return rc;
	}
	*out = sim;
	return 0;
}

void
cella_nsm_sim_free(struct cella_nsm_sim *sim)
{
	if (sim == NULL)
		return;
	cella_nsm_pool_free(sim->pool);
	for (size_t i = 0; i < sim->n_ca; i++)
		OPENSSL_free(sim->ca_der[i]);
	pthread_mutex_destroy(&sim->mu);
	free(sim);
}

const char *
cella_nsm_sim_module_id(const struct cella_nsm_sim *sim)
{
	return sim->module_id;
}

void
cella_nsm_sim_stats(struct cella_nsm_sim *sim, struct cella_nsm_sim_stats *out)
{
	struct cella_nsm_pool_stats ps;

	cella_nsm_pool_stats(sim->pool, &ps);
	pthread_mutex_lock(&sim->mu);
	out->documents = sim->documents;
	pthread_mutex_unlock(&sim->mu);
	out->leaves_issued = ps.issued;
	out->pool_hits = ps.hits;
	out->pool_misses = ps.misses;
	out->leaves_expired = ps.expired;
	out->pool_ready = ps.ready;
	out->pool_size = ps.size;
}

int
cella_nsm_sim_wait_pool(struct cella_nsm_sim *sim, unsigned timeout_ms)
{
	return cella_nsm_pool_wait_full(sim->pool, timeout_ms);
}

/* ---- the provider ---- */

static int
sim_transact(void *ctx, const uint8_t *req, size_t req_len, uint8_t *resp,
	     size_t *resp_len)
{
	return cella_nsm_sim_handle(ctx, req, req_len, resp, resp_len);
}

static void
sim_close(void *ctx)
{
	cella_nsm_sim_free(ctx);
}

static const struct cella_nsm_ops sim_ops = {
	.name = "sim",
	.transact = sim_transact,
	.close = sim_close,
};

int
cella_nsm_sim_open(const struct cella_nsm_sim_conf *c, struct cella_nsm **out,
		   struct cella_diag *d)
{
	struct cella_nsm_sim *sim;
	int rc = cella_nsm_sim_new(c, &sim, d);

	if (rc < 0)
		return rc;
	rc = cella_nsm_new(&sim_ops, sim, out);
	if (rc < 0)
		cella_nsm_sim_free(sim);
	return rc;
}

struct cella_nsm_sim *
cella_nsm_sim_of(struct cella_nsm *nsm)
{
	return strcmp(cella_nsm_provider(nsm), sim_ops.name) == 0 ?
		       cella_nsm_ctx(nsm) :
		       NULL;
}
