/*
 * cellacfg_ra: the `attestation:` section of cella.yaml, which configures
 * cella-ra-web (the NSM provider, the HTTPS API for remote verifiers and
 * the internal nng API). Its presence makes init run cella-ra-web (the
 * built-in row in cellacfg.c). Only the table and the checks a table cannot
 * express live here; cella-ra-web turns the validated tree into its own
 * structures and applies its flags on top.
 */
#include "common/conf/cella/cellacfg.h"

#include <errno.h>
#include <string.h>

#include "common/net/addr.h"

static const char *const provider_choices[] = {"auto", "nsm", "sim", NULL};
static const char *const access_log_choices[] = {"all", "errors", "none",
						 NULL};

/* A string, not an enum: a bare 1.3 is a YAML number, and "expected a
 * string; got 1.3" says what to do where "expected one of 1.2, 1.3; got
 * 1.3" would not. */
static int
check_tls(const cJSON *v, struct cella_diag *d)
{
	if (strcmp(v->valuestring, "1.2") != 0 &&
	    strcmp(v->valuestring, "1.3") != 0)
		return cella_diag_set(d, -EINVAL, "expected '1.2' or '1.3'");
	return 0;
}

static int
check_internal(const cJSON *v, struct cella_diag *d)
{
	struct cella_addr a;

	return cella_addr_parse(v->valuestring, &a, d);
}

/* A DNS name or an IP literal, as it goes into subjectAltName. */
static int
check_hostnames(const cJSON *v, struct cella_diag *d)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, v) {
		const char *s = it->valuestring;
		size_t n = strlen(s);

		if (n == 0 || n > 253)
			return cella_diag_set(d, -EINVAL,
					      "a host name is 1..253 bytes");
		for (size_t i = 0; i < n; i++) {
			char ch = s[i];

			if (!((ch >= 'a' && ch <= 'z') ||
			      (ch >= 'A' && ch <= 'Z') ||
			      (ch >= '0' && ch <= '9') || ch == '-' ||
			      ch == '.' || ch == ':' || ch == '*'))
				return cella_diag_set(
					d, -EINVAL,
					"'%s' is neither a DNS name nor an IP "
					"address", s);
		}
	}
	return 0;
}

static const struct cella_conf_key sim_keys[] = {
	{.key = "ca", .type = CELLA_CONF_STRING, .min = 1, .max = 4096,
	 .desc = "enclave CA dir from 'cella sim-ca issue' (signer.key, "
		 "cabundle.pem)"},
	{.key = "measurements", .type = CELLA_CONF_STRING, .min = 1,
	 .max = 4096,
	 .desc = "JSON file of boot PCRs 0..15 and module_id (optional)"},
	{0},
};

static const struct cella_conf_key https_keys[] = {
	{.key = "listen", .type = CELLA_CONF_STRING,
	 .def = "tcp://0.0.0.0:8443", .min = 1, .max = 300,
	 .check = cella_cfg_check_tcp_literal, .desc = "where remote verifiers connect"},
	{.key = "tls_min", .type = CELLA_CONF_STRING, .def = "'1.3'",
	 .check = check_tls,
	 .desc = "lowest TLS version, '1.2' or '1.3' (quoted)"},
	{.key = "client_ca", .type = CELLA_CONF_STRING, .min = 1, .max = 4096,
	 .desc = "PEM CA file: require client certificates it issued (mTLS)"},
	{.key = "name", .type = CELLA_CONF_STRING, .min = 1, .max = 64,
	 .desc = "certificate commonName (default: the NSM's module id)"},
	{.key = "hostnames", .type = CELLA_CONF_STRLIST,
	 .def = "[localhost, 127.0.0.1]", .max = 16,
	 .check = check_hostnames,
	 .desc = "certificate subjectAltNames (DNS names, IP addresses)"},
	{.key = "http2", .type = CELLA_CONF_BOOL, .def = "true",
	 .desc = "offer h2 by ALPN (http/1.1 always)"},
	{.key = "max_connections", .type = CELLA_CONF_INT, .def = "256",
	 .min = 1, .max = 65536,
	 .desc = "open connections at most; more are closed at once"},
	{.key = "max_connections_per_peer", .type = CELLA_CONF_INT,
	 .def = "32", .min = 1, .max = 65536,
	 .desc = "open connections from one IP address at most; more are "
		 "closed at once"},
	{.key = "header_timeout_ms", .type = CELLA_CONF_INT, .def = "5000",
	 .min = 100, .max = 3600000,
	 .desc = "a connection with no request in progress must send a whole "
		 "request (TLS handshake and headers) within this, from its "
		 "accept or its last response, or it is closed"},
	{.key = "max_url_bytes", .type = CELLA_CONF_INT, .def = "4096",
	 .min = 256, .max = 65536, .desc = "longer request targets: 414"},
	{.key = "max_header_bytes", .type = CELLA_CONF_INT, .def = "16384",
	 .min = 1024, .max = 262144, .desc = "larger request headers: 431"},
	{.key = "idle_timeout_ms", .type = CELLA_CONF_INT, .def = "10000",
	 .min = 100, .max = 3600000,
	 .desc = "handshake, request and keep-alive idle bound"},
	{.key = "access_log", .type = CELLA_CONF_ENUM, .def = "all",
	 .choices = access_log_choices,
	 .desc = "log one evt=request line per request, per error, or none"},
	{0},
};

static const struct cella_conf_key internal_keys[] = {
	{.key = "listen", .type = CELLA_CONF_STRING,
	 .def = "ipc:///run/cella/ra.sock", .min = 1, .max = 300,
	 .check = check_internal,
	 .desc = "the internal API for other services (nng REP)"},
	{.key = "workers", .type = CELLA_CONF_INT, .def = "16", .min = 1,
	 .max = 1024, .desc = "requests the internal API holds at once"},
	{0},
};

const struct cella_conf_key cella_cfg_attestation_keys[] = {
	{.key = "provider", .type = CELLA_CONF_ENUM, .def = "auto",
	 .choices = provider_choices,
	 .desc = "NSM provider (auto: the device when present, else sim)"},
	{.key = "device", .type = CELLA_CONF_STRING, .def = "/dev/nsm",
	 .min = 1, .max = 4096, .desc = "the NSM device (provider nsm)"},
	{.key = "sim", .type = CELLA_CONF_OBJECT, .def = "{}", .sub = sim_keys,
	 .desc = "the software NSM (provider sim)"},
	{.key = "https", .type = CELLA_CONF_OBJECT, .def = "{}",
	 .sub = https_keys, .desc = "the HTTPS API for remote verifiers"},
	{.key = "internal", .type = CELLA_CONF_OBJECT, .def = "{}",
	 .sub = internal_keys, .desc = "the nng API for cella's services"},
	{.key = "max_concurrency", .type = CELLA_CONF_INT, .def = "4",
	 .min = 1, .max = 64, .desc = "NSM requests in flight at most"},
	{.key = "queue_max", .type = CELLA_CONF_INT, .def = "256", .min = 1,
	 .max = 65536, .desc = "NSM requests waiting at most; more: busy"},
	{.key = "cert_refresh_ms", .type = CELLA_CONF_INT, .def = "600000",
	 .min = 1000, .max = 86400000,
	 .desc = "renew the certificate's document this long before its "
		 "leaf expires"},
	{.key = "drain_timeout_ms", .type = CELLA_CONF_INT, .def = "10000",
	 .min = 0, .max = 600000,
	 .desc = "on SIGTERM, let requests finish this long"},
	{.key = "event_log", .type = CELLA_CONF_STRING, .max = 300,
	 .desc = "cella-init's control API, whose event log head and length "
		 "go into /v1/attestation documents (default: this file's "
		 "init.control; 'none': leave them out)"},
	{0},
};

/* The built-in service: init runs it with the file it loaded. */
const char *const cella_cfg_ra_argv[] = {
	"cella-ra-web", "--config", "{config}", "--ready-fd", "3", NULL,
};
