/*
 * rpcapi: the internal API (proto/ra.cddl). The handler runs on an nng
 * thread: it reads and bounds the body there, then queues a job on the NSM
 * pool and returns, so nng's callback threads never wait for the NSM. The
 * job borrows its fields from the request's envelope, which rpc keeps
 * until the request ends, and ends it from the worker thread with the
 * reply or an error. Each request is one NSM call (GetRandom several when
 * asked for more than the NSM gives at once). Anyone who can reach the
 * socket may ask for documents, PCR values and entropy; extending and
 * locking PCRs is refused to an operator's bridge session (EACCES).
 */
#include <errno.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/core/clock.h"
#include "common/cbor/cbor.h"
#include "common/core/log.h"
#include "services/ra-web/srv.h"

struct rpc_job {
	struct ra_job job;
	struct ra_srv *srv;
	struct cella_rpc_req *req;
	struct ra_rpc_args a;
	uint64_t t0_us;
};

/* A required key: absent is malformed, not "not found". */
static int
required(int rv)
{
	return rv == -ENOENT ? -EBADMSG : rv;
}

static int
get_opt(const cbor_item_t *b, const char *key, struct cella_nsm_opt *o,
	struct cella_diag *d)
{
	int rv = cella_cbor_get_bytes(b, key, CELLA_NSM_DATA_MAX, &o->v, d);

	o->set = rv == 0;
	return rv == -ENOENT ? 0 : rv;
}

int
ra_rpc_parse(uint32_t type, const cbor_item_t *b, struct ra_rpc_args *a,
	     struct cella_diag *d)
{
	int rv;

	memset(a, 0, sizeof(*a));
	a->type = type;
	switch (type) {
	case CELLA_MSG_RA_ATTEST:
		rv = get_opt(b, "nonce", &a->nonce, d);
		if (rv == 0)
			rv = get_opt(b, "user_data", &a->user_data, d);
		if (rv == 0)
			rv = get_opt(b, "public_key", &a->public_key, d);
		return rv;
	case CELLA_MSG_RA_EXTEND_PCR:
		rv = cella_cbor_get_bytes(b, "data", CELLA_NSM_DATA_MAX,
					  &a->data, d);
		if (rv == 0)
			rv = cella_cbor_get_uint(b, "index", UINT16_MAX, &a->arg,
						 d);
		return required(rv);
	case CELLA_MSG_RA_DESCRIBE_PCR:
	case CELLA_MSG_RA_LOCK_PCR:
		return required(cella_cbor_get_uint(b, "index", UINT16_MAX,
						    &a->arg, d));
	case CELLA_MSG_RA_LOCK_PCRS:
		return required(cella_cbor_get_uint(b, "range",
						    CELLA_NSM_PCR_COUNT, &a->arg,
						    d));
	case CELLA_MSG_RA_RANDOM:
		rv = cella_cbor_get_uint(b, "length", RA_RPC_RANDOM_MAX, &a->arg,
					 d);
		if (rv == 0 && a->arg == 0)
			rv = cella_diag_set(d, -EBADMSG, "length: 0");
		return required(rv);
	case CELLA_MSG_RA_DESCRIBE_NSM:
		return 0;
	default:
		return cella_diag_set(d, -ENOMSG, "not a request cella-ra-web "
						  "serves");
	}
}

/* Measured state: never changed on behalf of a remote operator. */
static bool
changes_pcrs(uint32_t type)
{
	return type == CELLA_MSG_RA_EXTEND_PCR || type == CELLA_MSG_RA_LOCK_PCR ||
	       type == CELLA_MSG_RA_LOCK_PCRS;
}

static cbor_item_t *
pcr_reply(uint64_t index, const struct cella_nsm_pcr *p, int *rv)
{
	cbor_item_t *m = cbor_new_indefinite_map();

	*rv = m == NULL ? -ENOMEM : 0;
	if (*rv == 0)
		*rv = cella_cbor_put_uint(m, "index", index);
	if (*rv == 0)
		*rv = cella_cbor_put_bytes(m, "value", p->value, p->len);
	if (*rv == 0)
		*rv = cella_cbor_put_bool(m, "locked", p->locked);
	return m;
}

static const char *const digest_names[] = {"SHA256", "SHA384", "SHA512"};

static int
describe_reply(struct ra_srv *s, const struct cella_nsm_info *in,
	       cbor_item_t *m)
{
	cbor_item_t *ver = cbor_new_definite_array(3);
	cbor_item_t *locked = cbor_new_definite_array(in->n_locked);
	const uint16_t v[3] = {in->version_major, in->version_minor,
			       in->version_patch};
	int rv = ver == NULL || locked == NULL ? -ENOMEM : 0;

	for (int i = 0; rv == 0 && i < 3; i++)
		if (!cbor_array_push(ver, cbor_move(cbor_build_uint16(v[i]))))
			rv = -ENOMEM;
	for (unsigned i = 0; rv == 0 && i < in->n_locked; i++)
		if (!cbor_array_push(locked, cbor_move(cbor_build_uint16(
						     in->locked_pcrs[i]))))
			rv = -ENOMEM;
	if (rv == 0)
		rv = cella_cbor_put_text(m, "module_id", in->module_id);
	if (rv == 0)
		rv = cella_cbor_put_item(m, "version", ver);
	if (rv == 0)
		rv = cella_cbor_put_uint(m, "max_pcrs", in->max_pcrs);
	if (rv == 0)
		rv = cella_cbor_put_item(m, "locked_pcrs", locked);
	if (rv == 0)
		rv = cella_cbor_put_text(m, "digest",
					 in->digest <= CELLA_NSM_SHA512
						 ? digest_names[in->digest]
						 : "?");
	if (rv == 0)
		rv = cella_cbor_put_text(m, "provider", cella_nsm_provider(s->nsm));
	if (ver != NULL)
		cbor_decref(&ver);
	if (locked != NULL)
		cbor_decref(&locked);
	return rv;
}

static const struct cella_span *
opt(const struct cella_nsm_opt *o)
{
	return o->set ? &o->v : NULL;
}

/* A map holding key: p[0..n), or NULL (out of memory). */
static cbor_item_t *
bytes_reply(const char *key, const void *p, size_t n, int *rv)
{
	cbor_item_t *m = cbor_new_indefinite_map();

	*rv = m == NULL ? -ENOMEM : cella_cbor_put_bytes(m, key, p, n);
	return m;
}

static int
call_attest(struct rpc_job *j, struct cella_nsm *nsm, cbor_item_t **body,
	    struct cella_diag *d)
{
	const struct ra_rpc_args *a = &j->a;
	struct cella_buf doc;
	uint64_t t0 = cella_mono_us();
	int rv;

	cella_buf_init(&doc, CELLA_NSM_RESPONSE_MAX);
	rv = cella_nsm_attest(nsm, opt(&a->user_data), opt(&a->nonce),
			      opt(&a->public_key), &doc, d);
	ra_metrics_attest(&j->srv->metrics, cella_mono_us() - t0);
	if (rv == 0)
		*body = bytes_reply("document", doc.p, doc.len, &rv);
	cella_buf_fini(&doc);
	return rv;
}

static int
call_random(size_t n, struct cella_nsm *nsm, cbor_item_t **body,
	    struct cella_diag *d)
{
	uint8_t buf[RA_RPC_RANDOM_MAX];
	int rv = cella_nsm_get_random(nsm, buf, n, d);

	if (rv == 0)
		*body = bytes_reply("random", buf, n, &rv);
	OPENSSL_cleanse(buf, sizeof(buf));
	return rv;
}

/* The NSM call; *body and *type the reply on success. */
static int
call(struct rpc_job *j, struct cella_nsm *nsm, cbor_item_t **body,
     uint32_t *type, struct cella_diag *d)
{
	const struct ra_rpc_args *a = &j->a;
	uint16_t idx = (uint16_t)a->arg;
	struct cella_nsm_pcr pcr = {0};
	struct cella_nsm_info info;
	int rv;

	switch (a->type) {
	case CELLA_MSG_RA_ATTEST:
		*type = CELLA_MSG_RA_ATTEST_REPLY;
		return call_attest(j, nsm, body, d);
	case CELLA_MSG_RA_DESCRIBE_PCR:
	case CELLA_MSG_RA_EXTEND_PCR:
		*type = CELLA_MSG_RA_PCR_REPLY;
		rv = a->type == CELLA_MSG_RA_EXTEND_PCR
			     ? cella_nsm_extend_pcr(nsm, idx, a->data.p,
						    a->data.n, &pcr, d)
			     : cella_nsm_describe_pcr(nsm, idx, &pcr, d);
		if (rv == 0)
			*body = pcr_reply(idx, &pcr, &rv);
		return rv;
	case CELLA_MSG_RA_LOCK_PCR:
		*type = CELLA_MSG_RA_LOCK_REPLY;
		return cella_nsm_lock_pcr(nsm, idx, d);
	case CELLA_MSG_RA_LOCK_PCRS:
		*type = CELLA_MSG_RA_LOCK_REPLY;
		return cella_nsm_lock_pcrs(nsm, idx, d);
	case CELLA_MSG_RA_RANDOM:
		*type = CELLA_MSG_RA_RANDOM_REPLY;
		return call_random((size_t)a->arg, nsm, body, d);
	default:
		*type = CELLA_MSG_RA_DESCRIBE_NSM_REPLY;
		rv = cella_nsm_describe(nsm, &info, d);
		if (rv == 0 && (*body = cbor_new_indefinite_map()) == NULL)
			rv = -ENOMEM;
		if (rv == 0)
			rv = describe_reply(j->srv, &info, *body);
		return rv;
	}
}

static void
log_rpc(struct ra_srv *s, uint32_t type, int rv, uint64_t t0_us)
{
	const struct cella_msg_info *mi = cella_msg_lookup(type);
	enum ra_access_log lv = s->conf->access_log;

	ra_metrics_rpc(&s->metrics, rv);
	if (rv < 0)
		ra_metrics_error(&s->metrics, RA_ERR_RPC);
	if (lv == RA_LOG_NONE || (lv == RA_LOG_ERRORS && rv == 0))
		return;
	cella_log_info("rpc", "msg=%s result=%s ms=%.3f",
		       mi != NULL ? mi->name : "?",
		       rv < 0 ? cella_errname(rv) : "ok",
		       (double)(cella_mono_us() - t0_us) / 1e3);
}

static void
run_rpc(struct ra_job *job, struct cella_nsm *nsm)
{
	struct rpc_job *j = (struct rpc_job *)job;
	struct cella_diag d = {{0}};
	cbor_item_t *body = NULL;
	uint32_t type = 0;
	int rv;

	rv = call(j, nsm, &body, &type, &d);
	if (rv == 0 && body == NULL && type != CELLA_MSG_RA_LOCK_REPLY)
		rv = cella_diag_set(&d, -ENOMEM, "out of memory");
	if (rv == 0 && (rv = cella_rpc_reply(j->req, type, body)) < 0)
		cella_diag_set(&d, rv, "the reply could not be built");
	if (rv < 0)
		cella_rpc_error(j->req, rv, "%s", d.msg);
	log_rpc(j->srv, j->a.type, rv, j->t0_us);
	if (body != NULL)
		cbor_decref(&body);
	free(j);
}

int
ra_rpc_handler(struct cella_rpc_req *req, const struct cella_env *env,
	       void *arg)
{
	struct ra_srv *s = arg;
	struct rpc_job *j = calloc(1, sizeof(*j));
	struct cella_diag d = {{0}};
	int rv;

	if (j == NULL)
		return -ENOMEM;
	j->srv = s;
	j->req = req;
	j->t0_us = cella_mono_us();
	j->job.run = run_rpc;
	rv = ra_rpc_parse(env->type, env->body, &j->a, &d);
	if (rv == 0 && changes_pcrs(env->type) && cella_rpc_req_peer(req)->remote)
		rv = cella_diag_set(&d, -EACCES,
				    "PCRs are extended and locked only from "
				    "inside the enclave");
	if (rv == 0 && (rv = ra_pool_submit(s->pool, &j->job)) < 0)
		cella_diag_set(&d, rv, "%s",
			       rv == -EBUSY ? "too many requests wait for "
					      "the NSM; retry later"
					    : "cella-ra-web is shutting down");
	if (rv == 0)
		return 0;
	cella_rpc_error(req, rv, "%s", d.msg);
	log_rpc(s, env->type, rv, j->t0_us);
	free(j);
	return 0;
}
