/*
 * metrics: relaxed atomics (a scrape may see one counter a request ahead
 * of another, which Prometheus tolerates) and a formatter that writes the
 * families in a fixed order. Histogram buckets are kept per bucket and
 * summed into the cumulative le= form only when formatting, so an update
 * is one increment.
 */
#include "services/ra-web/metrics.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define RLX memory_order_relaxed

static const char *const route_names[RA_ROUTE_COUNT] = {
	[RA_ROUTE_ATTESTATION] = "/v1/attestation",
	[RA_ROUTE_PCRS] = "/v1/pcrs",
	[RA_ROUTE_CERTIFICATE] = "/v1/certificate",
	[RA_ROUTE_HEALTHZ] = "/healthz",
	[RA_ROUTE_METRICS] = "/metrics",
	[RA_ROUTE_OTHER] = "other",
};

static const char *const err_names[RA_ERR_COUNT] = {
	[RA_ERR_BAD_REQUEST] = "bad_request",
	[RA_ERR_NOT_FOUND] = "not_found",
	[RA_ERR_METHOD] = "method_not_allowed",
	[RA_ERR_TOO_LARGE] = "too_large",
	[RA_ERR_BUSY] = "busy",
	[RA_ERR_NSM] = "nsm",
	[RA_ERR_INTERNAL] = "internal",
	[RA_ERR_TLS_HANDSHAKE] = "tls_handshake",
	[RA_ERR_CONN_LIMIT] = "connection_limit",
	[RA_ERR_PEER_LIMIT] = "peer_limit",
	[RA_ERR_HEADER_TIMEOUT] = "header_timeout",
	[RA_ERR_RPC] = "rpc",
	[RA_ERR_CERT_REFRESH] = "cert_refresh",
};

#define RA__STATUS_VAL(s) s,
static const int statuses[RA_STATUS_COUNT - 1] = {RA_STATUSES(RA__STATUS_VAL)};
#undef RA__STATUS_VAL

static const struct {
	uint64_t us;
	const char *le;
} buckets[RA_LAT_BUCKETS] = {
	{500, "0.0005"}, {1000, "0.001"},   {2500, "0.0025"}, {5000, "0.005"},
	{10000, "0.01"}, {25000, "0.025"},  {50000, "0.05"},  {100000, "0.1"},
	{250000, "0.25"}, {500000, "0.5"},  {1000000, "1"},   {2500000, "2.5"},
	{5000000, "5"},	 {10000000, "10"},
};

void
ra_metrics_init(struct ra_metrics *m)
{
	memset(m, 0, sizeof(*m));
}

const char *
ra_route_name(enum ra_route r)
{
	return r < RA_ROUTE_COUNT ? route_names[r] : "other";
}

const char *
ra_err_name(enum ra_err e)
{
	return e < RA_ERR_COUNT ? err_names[e] : "?";
}

static unsigned
status_slot(int status)
{
	for (unsigned i = 0; i < RA_STATUS_COUNT - 1; i++)
		if (statuses[i] == status)
			return i;
	return RA_STATUS_COUNT - 1;
}

void
ra_metrics_request(struct ra_metrics *m, enum ra_route r, int status)
{
	if (r >= RA_ROUTE_COUNT)
		r = RA_ROUTE_OTHER;
	atomic_fetch_add_explicit(&m->requests[r][status_slot(status)], 1, RLX);
}

void
ra_metrics_error(struct ra_metrics *m, enum ra_err e)
{
	if (e < RA_ERR_COUNT)
		atomic_fetch_add_explicit(&m->errors[e], 1, RLX);
}

void
ra_metrics_attest(struct ra_metrics *m, uint64_t us)
{
	unsigned i = 0;

	while (i < RA_LAT_BUCKETS && us > buckets[i].us)
		i++;
	if (i < RA_LAT_BUCKETS) /* beyond the last: only +Inf counts it */
		atomic_fetch_add_explicit(&m->lat_bucket[i], 1, RLX);
	atomic_fetch_add_explicit(&m->lat_sum_us, us, RLX);
	atomic_fetch_add_explicit(&m->lat_count, 1, RLX);
}

void
ra_metrics_rpc(struct ra_metrics *m, int rv)
{
	atomic_fetch_add_explicit(rv < 0 ? &m->rpc_failed : &m->rpc_ok, 1, RLX);
}

static int
put(struct cella_buf *out, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int
put(struct cella_buf *out, const char *fmt, ...)
{
	char line[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line))
		return -EOVERFLOW;
	return cella_buf_append(out, line, (size_t)n);
}

static int
family(struct cella_buf *out, const char *name, const char *type,
       const char *help)
{
	return put(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
		   type);
}

#define LOAD(x) ((unsigned long long)atomic_load_explicit(&(x), RLX))

static int
format_requests(struct ra_metrics *m, struct cella_buf *out)
{
	static const char name[] = "cella_ra_http_requests_total";
	int rv = family(out, name, "counter",
			"HTTP requests answered, by route and status.");

	for (int r = 0; r < RA_ROUTE_COUNT && rv == 0; r++) {
		for (unsigned s = 0; s < RA_STATUS_COUNT && rv == 0; s++) {
			unsigned long long v = LOAD(m->requests[r][s]);
			char st[8] = "other";

			if (v == 0)
				continue;
			if (s < RA_STATUS_COUNT - 1)
				snprintf(st, sizeof(st), "%d", statuses[s]);
			rv = put(out, "%s{path=\"%s\",status=\"%s\"} %llu\n",
				 name, route_names[r], st, v);
		}
	}
	return rv;
}

static int
format_latency(struct ra_metrics *m, struct cella_buf *out)
{
	static const char name[] = "cella_ra_attestation_seconds";
	unsigned long long cum = 0;
	int rv = family(out, name, "histogram",
			"Time the NSM took to produce an attestation document.");

	for (unsigned i = 0; i < RA_LAT_BUCKETS && rv == 0; i++) {
		cum += LOAD(m->lat_bucket[i]);
		rv = put(out, "%s_bucket{le=\"%s\"} %llu\n", name,
			 buckets[i].le, cum);
	}
	if (rv == 0)
		rv = put(out, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.6f\n"
			      "%s_count %llu\n",
			 name, LOAD(m->lat_count), name,
			 (double)LOAD(m->lat_sum_us) / 1e6, name,
			 LOAD(m->lat_count));
	return rv;
}

static int
format_errors(struct ra_metrics *m, struct cella_buf *out)
{
	static const char name[] = "cella_ra_errors_total";
	int rv = family(out, name, "counter", "Errors, by kind.");

	for (int e = 0; e < RA_ERR_COUNT && rv == 0; e++)
		rv = put(out, "%s{kind=\"%s\"} %llu\n", name, err_names[e],
			 LOAD(m->errors[e]));
	return rv;
}

static int
format_gauges(struct ra_metrics *m, const struct ra_gauges *g,
	      struct cella_buf *out)
{
	static const char rpc[] = "cella_ra_rpc_requests_total";
	int rv;

	rv = family(out, rpc, "counter",
		    "Internal API requests, by result.");
	if (rv == 0)
		rv = put(out, "%s{result=\"ok\"} %llu\n%s{result=\"error\"} %llu\n",
			 rpc, LOAD(m->rpc_ok), rpc, LOAD(m->rpc_failed));
#define GAUGE(nm, help, fmt, v)                                            \
	if (rv == 0)                                                       \
		rv = family(out, nm, "gauge", help);                       \
	if (rv == 0)                                                       \
		rv = put(out, "%s " fmt "\n", nm, v);
	GAUGE("cella_ra_connections", "Open HTTPS connections.", "%u",
	      g->connections)
	GAUGE("cella_ra_nsm_running", "NSM requests in flight.", "%u",
	      g->nsm_running)
	GAUGE("cella_ra_nsm_queued", "NSM requests waiting for a worker.",
	      "%u", g->nsm_queued)
	GAUGE("cella_ra_nsm_workers", "The NSM concurrency bound.", "%u",
	      g->nsm_threads)
	GAUGE("cella_ra_certificate_not_after_seconds",
	      "When the served certificate document's leaf expires.", "%.0f",
	      g->cert_not_after)
	GAUGE("cella_ra_start_time_seconds", "When the process started.",
	      "%.3f", g->start_time)
#undef GAUGE
	return rv;
}

int
ra_metrics_format(struct ra_metrics *m, const struct ra_gauges *g,
		  struct cella_buf *out)
{
	size_t len0 = out->len;
	int rv;

	rv = format_requests(m, out);
	if (rv == 0)
		rv = format_latency(m, out);
	if (rv == 0)
		rv = format_errors(m, out);
	if (rv == 0)
		rv = format_gauges(m, g, out);
	if (rv < 0)
		out->len = len0;
	return rv;
}
