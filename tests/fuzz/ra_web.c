/*
 * Fuzz target: what cella-ra-web reads from clients. The first byte picks
 * the parser, the rest is its input:
 *   0  the query of /v1/attestation: a refusal says why; an accepted
 *      nonce is 1..1024 bytes and "nonce=<its hex>" parses back to it
 *   1  an Accept header: always one of the three answers
 *   2  an internal API message: the envelope, then the body's fields,
 *      which must stay within their bounds when accepted
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/rpc/envelope.h"
#include "services/ra-web/srv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
query(const char *q, size_t n)
{
	uint8_t nonce[CELLA_NSM_DATA_MAX], again[CELLA_NSM_DATA_MAX];
	char canon[6 + 2 * CELLA_NSM_DATA_MAX + 1] = "nonce=";
	struct cella_diag d = {{0}};
	int rv = ra_query_nonce(q, n, nonce, sizeof(nonce), &d);

	if (rv < 0) {
		if (d.msg[0] == '\0' ||
		    (rv != -EINVAL && rv != -ENOENT && rv != -EMSGSIZE))
			abort();
		return;
	}
	if (rv < 1 || rv > CELLA_NSM_DATA_MAX)
		abort();
	cella_hex_encode(nonce, (size_t)rv, canon + 6, sizeof(canon) - 6);
	if (ra_query_nonce(canon, strlen(canon), again, sizeof(again), &d) !=
		    rv ||
	    memcmp(nonce, again, (size_t)rv) != 0)
		abort();
}

static void
accept_header(const char *v, size_t n)
{
	enum ra_media m = ra_accept(v, n, RA_MEDIA_CBOR, RA_MEDIA_JSON);

	if (m != RA_MEDIA_NONE && m != RA_MEDIA_CBOR && m != RA_MEDIA_JSON)
		abort();
}

static void
message(const uint8_t *p, size_t n)
{
	struct cella_env env;
	struct ra_rpc_args a;
	struct cella_diag d = {{0}};

	if (cella_env_parse(p, n, &env, &d) < 0)
		return;
	if (ra_rpc_parse(env.type, env.body, &a, &d) == 0 &&
	    ((a.nonce.set && a.nonce.v.n > CELLA_NSM_DATA_MAX) ||
	     (a.user_data.set && a.user_data.v.n > CELLA_NSM_DATA_MAX) ||
	     (a.public_key.set && a.public_key.v.n > CELLA_NSM_DATA_MAX) ||
	     a.data.n > CELLA_NSM_DATA_MAX || a.arg > UINT16_MAX ||
	     (a.type == CELLA_MSG_RA_RANDOM &&
	      (a.arg == 0 || a.arg > RA_RPC_RANDOM_MAX))))
		abort();
	cella_env_fini(&env);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy;

	if (size == 0)
		return 0;
	/* A copy of exactly the input: reading past it is a finding. */
	copy = malloc(size - 1 + 1);
	memcpy(copy, data + 1, size - 1);
	switch (data[0] % 3) {
	case 0:
		query(copy, size - 1);
		break;
	case 1:
		accept_header(copy, size - 1);
		break;
	default:
		message((const uint8_t *)copy, size - 1);
	}
	free(copy);
	return 0;
}
