/*
 * metrics: cella-ra-web's counters and their Prometheus text exposition
 * (format 0.0.4) for GET /metrics. Every label value comes from a fixed
 * table (routes, status codes, error kinds, message types), never from a
 * request, so a client cannot grow the output. Counters are atomics,
 * updated from the loop, the NSM workers and nng's threads without a lock.
 */
#ifndef RA_METRICS_H
#define RA_METRICS_H

#include <stdatomic.h>
#include <stdint.h>

#include "common/core/buf.h"

enum ra_route {
	RA_ROUTE_ATTESTATION,
	RA_ROUTE_PCRS,
	RA_ROUTE_CERTIFICATE,
	RA_ROUTE_HEALTHZ,
	RA_ROUTE_METRICS,
	RA_ROUTE_OTHER, /* anything else: never the client's path */
	RA_ROUTE_COUNT,
};

/* The statuses the server answers; anything else counts as "other". */
#define RA_STATUSES(X)                                                     \
	X(200) X(400) X(404) X(405) X(406) X(413) X(414) X(431) X(500)     \
	X(503)
#define RA__STATUS_ONE(s) +1
#define RA_STATUS_COUNT (RA_STATUSES(RA__STATUS_ONE) + 1) /* + other */

enum ra_err {
	RA_ERR_BAD_REQUEST,	/* query, nonce, Accept */
	RA_ERR_NOT_FOUND,
	RA_ERR_METHOD,
	RA_ERR_TOO_LARGE,	/* URL, headers, body */
	RA_ERR_BUSY,		/* NSM queue full */
	RA_ERR_NSM,		/* the NSM refused or failed */
	RA_ERR_INTERNAL,
	RA_ERR_TLS_HANDSHAKE,	/* a fatal alert we sent */
	RA_ERR_CONN_LIMIT,	/* closed at accept: max_connections */
	RA_ERR_PEER_LIMIT,	/* closed at accept: max_connections_per_peer */
	RA_ERR_HEADER_TIMEOUT,	/* no whole request within header_timeout_ms */
	RA_ERR_RPC,		/* an internal API request answered with an error */
	RA_ERR_CERT_REFRESH,	/* renewing the certificate's document failed */
	RA_ERR_COUNT,
};

/* Upper bounds of the attestation latency buckets, in microseconds. */
#define RA_LAT_BUCKETS 14

struct ra_metrics {
	atomic_uint_fast64_t requests[RA_ROUTE_COUNT][RA_STATUS_COUNT];
	atomic_uint_fast64_t errors[RA_ERR_COUNT];
	atomic_uint_fast64_t lat_bucket[RA_LAT_BUCKETS]; /* not cumulative */
	atomic_uint_fast64_t lat_count, lat_sum_us;
	atomic_uint_fast64_t rpc_ok, rpc_failed;
};

/* Values read at exposition time rather than counted. */
struct ra_gauges {
	unsigned connections, nsm_running, nsm_queued, nsm_threads;
	double cert_not_after; /* UNIX seconds; 0 when none */
	double start_time;     /* UNIX seconds */
};

void ra_metrics_init(struct ra_metrics *m);
const char *ra_route_name(enum ra_route r); /* "/v1/attestation", "other" */
const char *ra_err_name(enum ra_err e);	    /* "bad_request" */
void ra_metrics_request(struct ra_metrics *m, enum ra_route r, int status);
void ra_metrics_error(struct ra_metrics *m, enum ra_err e);
/* One NSM attestation that took us microseconds (success or not). */
void ra_metrics_attest(struct ra_metrics *m, uint64_t us);
void ra_metrics_rpc(struct ra_metrics *m, int rv);

/* Append the exposition to out (out's cap applies: -EMSGSIZE). */
int ra_metrics_format(struct ra_metrics *m, const struct ra_gauges *g,
		      struct cella_buf *out);

#endif
