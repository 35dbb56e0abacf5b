/*
 * fuzz/nsm: the NSM codec and the sim provider against arbitrary bytes.
 * The first byte picks the path: 0 request decoding, 1 response decoding,
 * 2 a request handled by a fresh sim. Whatever decodes must re-encode to a
 * fixed point (encode(decode(encode(decode(x)))) == encode(decode(x))),
 * and the sim must answer everything with a response that decodes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/nsm/nsm.h"
#include "common/nsm/sim/nsm_sim.h"
#include "common/nsm/sim/nsm_simca.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fixed_point_request(const uint8_t *p, size_t n)
{
	struct cella_nsm_request q, q2;
	struct cella_buf a, b;

	if (cella_nsm_request_parse(p, n, &q, NULL) != 0)
		return;
	cella_buf_init(&a, 2 * CELLA_NSM_REQUEST_MAX);
	cella_buf_init(&b, 2 * CELLA_NSM_REQUEST_MAX);
	/* a decoded request always fits: its fields passed the same caps */
	if (cella_nsm_request_encode(&q, &a) != 0 ||
	    cella_nsm_request_parse(a.p, a.len, &q2, NULL) != 0 ||
	    cella_nsm_request_encode(&q2, &b) != 0 || a.len != b.len ||
	    memcmp(a.p, b.p, a.len) != 0)
		abort();
	cella_buf_fini(&a);
	cella_buf_fini(&b);
}

static void
fixed_point_response(const uint8_t *p, size_t n)
{
	struct cella_nsm_response *r = malloc(2 * sizeof(*r));
	struct cella_buf a, b;

	if (r == NULL || cella_nsm_response_parse(p, n, r, NULL) != 0) {
		free(r);
		return;
	}
	cella_buf_init(&a, 2 * CELLA_NSM_RESPONSE_MAX);
	cella_buf_init(&b, 2 * CELLA_NSM_RESPONSE_MAX);
	/* unknown keys dropped, so it may only shrink: it still fits */
	if (cella_nsm_response_encode(r, &a) != 0 ||
	    cella_nsm_response_parse(a.p, a.len, r + 1, NULL) != 0 ||
	    cella_nsm_response_encode(r + 1, &b) != 0 || a.len != b.len ||
	    memcmp(a.p, b.p, a.len) != 0)
		abort();
	cella_buf_fini(&a);
	cella_buf_fini(&b);
	free(r);
}

/* One chain for the whole run: key generation is not what is fuzzed. */
static struct cella_nsm_sim_conf conf;

static void
init_conf(void)
{
	EVP_PKEY *k[3] = {EVP_EC_gen("P-384"), EVP_EC_gen("P-384"),
			  EVP_EC_gen("P-384")};
	X509 *x[3] = {NULL, NULL, NULL};
	STACK_OF(X509) *sk = sk_X509_new_null();
	int64_t now = time(NULL);

	cella_nsm_sim_conf_init(&conf);
	conf.pool_size = 0;
	if (cella_nsm_simca_root(k[0], now, &x[0], NULL) != 0 ||
	    cella_nsm_simca_regional(x[0], k[0], k[1], now, &x[1], NULL) != 0 ||
	    cella_nsm_simca_instance(x[1], k[1], k[2], "i-0f0000000000000000",
				     now, 1, &x[2], NULL) != 0)
		abort();
	for (int i = 0; i < 3; i++)
		sk_X509_push(sk, x[i]);
	if (cella_nsm_sim_conf_set_signer(&conf, k[2], sk) != 0)
		abort();
	sk_X509_pop_free(sk, X509_free);
	for (int i = 0; i < 3; i++)
		EVP_PKEY_free(k[i]);
}

static void
sim_answers(const uint8_t *p, size_t n)
{
	static uint8_t resp[CELLA_NSM_RESPONSE_MAX];
	struct cella_nsm_response *r = malloc(sizeof(*r));
	struct cella_nsm_sim *sim;
	size_t len;

	if (conf.signer_key == NULL)
		init_conf();
	if (r == NULL || cella_nsm_sim_new(&conf, &sim, NULL) != 0)
		abort();
	if (cella_nsm_sim_handle(sim, p, n, resp, &len) != 0 ||
	    cella_nsm_response_parse(resp, len, r, NULL) != 0)
		abort();
	cella_nsm_sim_free(sim);
	free(r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	switch (data[0] % 3) {
	case 0:
		fixed_point_request(data + 1, size - 1);
		break;
	case 1:
		fixed_point_response(data + 1, size - 1);
		break;
	default:
		sim_answers(data + 1, size - 1);
	}
	return 0;
}
