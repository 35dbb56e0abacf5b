/*
 * evlog: the measured event log's head, for the documents ra-web hands to
 * remote verifiers. cella-init keeps the log; before each /v1/attestation
 * document ra-web asks it for the head and length and puts them into the
 * document's user_data as the CBOR map
 *   {"evlog_head": bstr .size 48, "evlog_len": uint}
 * (the bridge's documents add the TLS exporter to the same shape: atls.h),
 * so that a verifier can replay `cella events` against an attested head.
 * When init cannot be asked (ra-web running on its own, say) the document
 * carries no user_data, and that is logged at most once a minute.
 */
#ifndef CELLA_RA_EVLOG_H
#define CELLA_RA_EVLOG_H

#include <pthread.h>
#include <stdint.h>

#include "common/net/addr.h"
#include "common/core/buf.h"
#include "common/rpc/rpc.h"

#define RA_EVLOG_TIMEOUT_MS 2000

struct ra_evlog {
	pthread_mutex_t mu;
	char url[CELLA_ADDR_URL_MAX + 1]; /* "" disabled */
	struct cella_rpc_client *c;	  /* made on first use, again after
					     a failure */
	uint64_t warned_ms;
};

void ra_evlog_init(struct ra_evlog *e, const char *url);
void ra_evlog_fini(struct ra_evlog *e);

/*
 * The head and length now, and the user_data encoding them (appended to
 * out). -ENOTCONN when disabled, or -errno when init did not answer.
 * Thread-safe (NSM pool workers call it).
 */
int ra_evlog_user_data(struct ra_evlog *e, uint8_t head[48], uint64_t *len,
		       struct cella_buf *out);

#endif
