/*
 * config_test: the attestation section's defaults, file values, flags
 * over the file, and exact refusals that blame the command line for a bad
 * flag and file:line for a bad file value; --print-config output loads
 * back to the same settings.
 */
#include <errno.h>
#include <openssl/ssl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "services/ra-web/config.h"

static char path[64];

static const char *
write_file(const char *yaml)
{
	int fd;

	snprintf(path, sizeof(path), "/tmp/ra-config-test.XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, yaml, strlen(yaml)), (ssize_t)strlen(yaml));
	close(fd);
	return path;
}

static void
test_defaults(void **state)
{
	const char *flags[RA_FLAG_COUNT] = {0};
	struct ra_conf c;
	struct cella_diag d = {{0}};

	(void)state;
	assert_int_equal(ra_conf_load(NULL, flags, NULL, &c, &d), 0);
	assert_int_equal(c.provider, RA_PROVIDER_AUTO);
	assert_string_equal(c.device, "/dev/nsm");
	assert_string_equal(c.sim_ca, "");
	assert_string_equal(c.listen, "tcp://0.0.0.0:8443");
	assert_int_equal(c.tls_min, TLS1_3_VERSION);
	assert_string_equal(c.client_ca, "");
	assert_int_equal(c.nhostnames, 2);
	assert_string_equal(c.hostnames[0], "localhost");
	assert_string_equal(c.hostnames[1], "127.0.0.1");
	assert_true(c.http2);
	assert_int_equal(c.max_connections, 256);
	assert_int_equal(c.max_url_bytes, 4096);
	assert_int_equal(c.access_log, RA_LOG_ALL);
	assert_string_equal(c.internal, "ipc:///run/cella/ra.sock");
	assert_int_equal(c.internal_workers, 16);
	assert_int_equal(c.max_concurrency, 4);
	assert_int_equal(c.queue_max, 256);
	assert_int_equal(c.cert_refresh_ms, 600000);
	assert_int_equal(c.drain_timeout_ms, 10000);
}

static void
test_file_and_flags(void **state)
{
	const char *flags[RA_FLAG_COUNT] = {0};
	const char *f = write_file("name: x\n"
				   "attestation:\n"
				   "  provider: sim\n"
				   "  sim: {ca: /ca, measurements: /m.json}\n"
				   "  https:\n"
				   "    listen: tcp://127.0.0.1:9443\n"
				   "    tls_min: '1.2'\n"
				   "    hostnames: [enc.example, '::1']\n"
				   "    access_log: errors\n"
				   "  max_concurrency: 2\n");
	struct ra_conf c;
	struct cella_diag d = {{0}};

	(void)state;
	assert_int_equal(ra_conf_load(f, flags, NULL, &c, &d), 0);
	assert_int_equal(c.provider, RA_PROVIDER_SIM);
	assert_string_equal(c.sim_ca, "/ca");
	assert_string_equal(c.measurements, "/m.json");
	assert_string_equal(c.listen, "tcp://127.0.0.1:9443");
	assert_int_equal(c.tls_min, TLS1_2_VERSION);
	assert_int_equal(c.nhostnames, 2);
	assert_string_equal(c.hostnames[1], "::1");
	assert_int_equal(c.access_log, RA_LOG_ERRORS);
	assert_int_equal(c.max_concurrency, 2);
	flags[RA_FLAG_LISTEN] = "tcp://[::1]:0";
	flags[RA_FLAG_TLS_MIN] = "1.3";
	flags[RA_FLAG_SIM_CA] = "/other";
	flags[RA_FLAG_RA_SOCKET] = "ipc:///tmp/ra.sock";
	flags[RA_FLAG_CLIENT_CA] = "/ca.pem";
	assert_int_equal(ra_conf_load(f, flags, NULL, &c, &d), 0);
	assert_string_equal(c.listen, "tcp://[::1]:0");
	assert_int_equal(c.tls_min, TLS1_3_VERSION);
	assert_string_equal(c.sim_ca, "/other");
	assert_string_equal(c.measurements, "/m.json"); /* kept from the file */
	assert_string_equal(c.internal, "ipc:///tmp/ra.sock");
	assert_string_equal(c.client_ca, "/ca.pem");
	unlink(f);
}

static void
expect_error(const char *yaml, const char *const *flags, const char *msg)
{
	const char *none[RA_FLAG_COUNT] = {0};
	const char *f = yaml ? write_file(yaml) : NULL;
	struct ra_conf c;
	struct cella_diag d = {{0}};
	char want[512];

	assert_int_equal(ra_conf_load(f, flags ? flags : none, NULL, &c, &d),
			 -EINVAL);
	snprintf(want, sizeof(want), msg, f ? f : "");
	assert_string_equal(d.msg, want);
	if (f != NULL)
		unlink(f);
}

static void
test_refusals(void **state)
{
	const char *flags[RA_FLAG_COUNT] = {0};

	(void)state;
	flags[RA_FLAG_LISTEN] = "ipc:///x";
	expect_error("attestation: {https: {listen: 'tcp://127.0.0.1:1'}}\n",
		     flags,
		     "command line: attestation.https.listen: expected a "
		     "tcp:// URL");
	flags[RA_FLAG_LISTEN] = "tcp://example.com:443";
	expect_error(NULL, flags,
		     "command line: attestation.https.listen: expected a "
		     "literal address, not a name");
	flags[RA_FLAG_LISTEN] = NULL;
	flags[RA_FLAG_PROVIDER] = "tpm";
	expect_error(NULL, flags,
		     "command line: attestation.provider: expected one of "
		     "auto, nsm, sim; got 'tpm'");
	expect_error("attestation:\n  https:\n    tls_min: 1.3\n", NULL,
		     "%s:3: attestation.https.tls_min: expected a string; "
		     "got 1.3");
	expect_error("attestation:\n  https:\n    tls_min: '1.1'\n", NULL,
		     "%s:3: attestation.https.tls_min: expected '1.2' or "
		     "'1.3'");
	expect_error("attestation:\n  max_concurrency: 65\n", NULL,
		     "%s:2: attestation.max_concurrency: 65 is above the "
		     "maximum 64");
	expect_error("attestation:\n  listen: x\n", NULL,
		     "%s:2: attestation.listen: unknown key");
	expect_error("attestation:\n  https: {hostnames: ['a,b']}\n", NULL,
		     "%s:2: attestation.https.hostnames: 'a,b' is neither a "
		     "DNS name nor an IP address");
	expect_error("attestation: 3\n", NULL,
		     "%s:1: attestation: expected a mapping; got 3");
}

static void
test_print(void **state)
{
	const char *flags[RA_FLAG_COUNT] = {0};
	struct ra_conf c, c2;
	struct cella_diag d = {{0}};
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	flags[RA_FLAG_TLS_MIN] = "1.2";
	assert_int_equal(ra_conf_load(NULL, flags, f, &c, &d), 0);
	fclose(f);
	assert_non_null(strstr(buf, "attestation:\n"));
	assert_non_null(strstr(buf, "tls_min: \"1.2\"\n"));
	assert_int_equal(ra_conf_load(write_file(buf), (const char *[RA_FLAG_COUNT]){0},
				      NULL, &c2, &d),
			 0);
	unlink(path);
	assert_memory_equal(&c, &c2, sizeof(c));
	free(buf);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_file_and_flags),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_print),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
