/*
 * metrics_test: the exposition is Prometheus text 0.0.4 line by line
 * (HELP and TYPE before each family's samples, `name{labels} value`),
 * counters land under the right labels, the histogram is cumulative with
 * +Inf equal to _count, unknown statuses fold into "other", and a cap too
 * small leaves the buffer as it was.
 */
#include <errno.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "services/ra-web/metrics.h"

static char *
format(struct ra_metrics *m)
{
	struct ra_gauges g = {.connections = 3, .nsm_threads = 4,
			      .cert_not_after = 1700000000,
			      .start_time = 1600000000.25};
	struct cella_buf b;
	char *s;

	cella_buf_init(&b, 1u << 16);
	assert_int_equal(ra_metrics_format(m, &g, &b), 0);
	s = malloc(b.len + 1);
	memcpy(s, b.p, b.len);
	s[b.len] = '\0';
	cella_buf_fini(&b);
	return s;
}

/* Every line is a comment or a sample; a sample's family was typed. */
static void
check_syntax(char *text)
{
	regex_t sample, help, type;
	char typed[64] = "";

	assert_int_equal(regcomp(&sample,
				 "^([a-zA-Z_:][a-zA-Z0-9_:]*)"
				 "(\\{[a-zA-Z_][a-zA-Z0-9_]*=\"[^\"]*\""
				 "(,[a-zA-Z_][a-zA-Z0-9_]*=\"[^\"]*\")*\\})?"
				 " [-+]?[0-9.eE+Inf]+$",
				 REG_EXTENDED),
			 0);
	assert_int_equal(regcomp(&help, "^# HELP [a-z_]+ .+$", REG_EXTENDED), 0);
	assert_int_equal(regcomp(&type,
				 "^# TYPE ([a-z_]+) (counter|gauge|histogram)$",
				 REG_EXTENDED),
			 0);
	for (char *save = NULL, *l = strtok_r(text, "\n", &save); l != NULL;
	     l = strtok_r(NULL, "\n", &save)) {
		regmatch_t mt[2];

		if (regexec(&type, l, 2, mt, 0) == 0) {
			snprintf(typed, sizeof(typed), "%.*s",
				 (int)(mt[1].rm_eo - mt[1].rm_so), l + mt[1].rm_so);
			continue;
		}
		if (regexec(&help, l, 0, NULL, 0) == 0)
			continue;
		if (regexec(&sample, l, 2, mt, 0) != 0)
			fail_msg("not a Prometheus line: '%s'", l);
		assert_true(strncmp(l + mt[1].rm_so, typed, strlen(typed)) == 0);
	}
	regfree(&sample);
	regfree(&help);
	regfree(&type);
}

static void
test_counters(void **state)
{
	struct ra_metrics m;
	char *s;

	(void)state;
	ra_metrics_init(&m);
	ra_metrics_request(&m, RA_ROUTE_ATTESTATION, 200);
	ra_metrics_request(&m, RA_ROUTE_ATTESTATION, 200);
	ra_metrics_request(&m, RA_ROUTE_OTHER, 404);
	ra_metrics_request(&m, RA_ROUTE_HEALTHZ, 418);
	ra_metrics_error(&m, RA_ERR_NSM);
	ra_metrics_rpc(&m, 0);
	ra_metrics_rpc(&m, -EIO);
	s = format(&m);
	assert_non_null(strstr(s, "cella_ra_http_requests_total{path=\"/v1/"
				  "attestation\",status=\"200\"} 2\n"));
	assert_non_null(strstr(s, "cella_ra_http_requests_total{path=\"other\","
				  "status=\"404\"} 1\n"));
	assert_non_null(strstr(s, "cella_ra_http_requests_total{path=\"/healthz\","
				  "status=\"other\"} 1\n"));
	assert_null(strstr(s, "status=\"418\""));
	assert_non_null(strstr(s, "cella_ra_errors_total{kind=\"nsm\"} 1\n"));
	assert_non_null(strstr(s, "cella_ra_errors_total{kind=\"busy\"} 0\n"));
	assert_non_null(strstr(s, "cella_ra_rpc_requests_total{result=\"error\"} 1\n"));
	assert_non_null(strstr(s, "cella_ra_connections 3\n"));
	assert_non_null(strstr(s, "cella_ra_certificate_not_after_seconds "
				  "1700000000\n"));
	assert_non_null(strstr(s, "cella_ra_start_time_seconds 1600000000.250\n"));
	check_syntax(s);
	free(s);
}

static void
test_histogram(void **state)
{
	struct ra_metrics m;
	char *s;

	(void)state;
	ra_metrics_init(&m);
	ra_metrics_attest(&m, 400);	 /* <= 0.0005 */
	ra_metrics_attest(&m, 500);	 /* <= 0.0005: le is inclusive */
	ra_metrics_attest(&m, 3000);	 /* <= 0.005 */
	ra_metrics_attest(&m, 60000000); /* beyond 10 s: +Inf only */
	s = format(&m);
	assert_non_null(strstr(s, "cella_ra_attestation_seconds_bucket{le=\"0.0005\"} 2\n"));
	assert_non_null(strstr(s, "cella_ra_attestation_seconds_bucket{le=\"0.0025\"} 2\n"));
	assert_non_null(strstr(s, "cella_ra_attestation_seconds_bucket{le=\"0.005\"} 3\n"));
	assert_non_null(strstr(s, "cella_ra_attestation_seconds_bucket{le=\"10\"} 3\n"));
	assert_non_null(strstr(s, "cella_ra_attestation_seconds_bucket{le=\"+Inf\"} 4\n"));
	assert_non_null(strstr(s, "cella_ra_attestation_seconds_count 4\n"));
	assert_non_null(strstr(s, "cella_ra_attestation_seconds_sum 60.003900\n"));
	check_syntax(s);
	free(s);
}

static void
test_cap(void **state)
{
	struct ra_metrics m;
	struct ra_gauges g = {0};
	struct cella_buf b;

	(void)state;
	ra_metrics_init(&m);
	cella_buf_init(&b, 512);
	assert_int_equal(cella_buf_append(&b, "x", 1), 0);
	assert_int_equal(ra_metrics_format(&m, &g, &b), -EMSGSIZE);
	assert_int_equal(b.len, 1);
	cella_buf_fini(&b);
}

static void
test_names(void **state)
{
	(void)state;
	assert_string_equal(ra_route_name(RA_ROUTE_CERTIFICATE),
			    "/v1/certificate");
	assert_string_equal(ra_route_name(RA_ROUTE_COUNT), "other");
	assert_string_equal(ra_err_name(RA_ERR_TLS_HANDSHAKE), "tls_handshake");
	assert_string_equal(ra_err_name(RA_ERR_COUNT), "?");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counters),
		cmocka_unit_test(test_histogram),
		cmocka_unit_test(test_cap),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
