/*
 * ctl: connecting to cella-init's control API and calling it, with one
 * place that turns errors into messages; the verbs map the -errno.
 */
#include "services/cella/ctl.h"
#include "services/cella/conn.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

const char *
cella_ctl_url(const char *flag)
{
	const char *env = getenv("CELLA_CONTROL");

	if (flag != NULL)
		return flag;
	return env != NULL && env[0] != '\0' ? env : CELLA_CTL_DEFAULT_URL;
}

int
cella_ctl_open(const char *verb, const char *url, int timeout_ms,
	       struct cella_rpc_client **out)
{
	struct cella_diag d = {{0}};
	int rv;

	/* --enclave: the same verbs through the attested bridge. */
	if (cella_conn.enclave != NULL)
		return cella_conn_open(verb, CELLA_SVC_INIT, timeout_ms, out);
	rv = cella_rpc_client_new(url, timeout_ms, out, &d);
	if (rv < 0) {
		if (d.msg[0] != '\0') /* it names the address already */
			cella_diag_set(&d, rv, "cannot reach cella-init: %s",
				       d.msg);
		else
			cella_diag_set(&d, rv, "cannot reach cella-init at %s: %s",
				       url, cella_strerror(rv));
		cella_conn_report(verb, rv, d.msg, true);
		return cella_conn_unreachable(rv);
	}
	return 0;
}

int
cella_ctl_call(const char *verb, struct cella_rpc_client *c, uint32_t type,
	       const cbor_item_t *body, uint32_t want, struct cella_env *reply)
{
	struct cella_diag d = {{0}};
	int rv;

	rv = cella_rpc_call(c, type, body, reply, &d);
	if (rv < 0) {
		cella_conn_report(verb, rv, d.msg, false);
		return rv;
	}
	if (reply->type != want) {
		fprintf(stderr, "cella %s: unexpected reply type 0x%04" PRIx32 "\n",
			verb, reply->type);
		cella_env_fini(reply);
		return -EPROTO;
	}
	return 0;
}

void
cella_ctl_duration(uint64_t ms, char *buf, size_t len)
{
	uint64_t s = ms / 1000;

	if (ms == 0)
		snprintf(buf, len, "-");
	else if (s < 60)
		snprintf(buf, len, "%" PRIu64 ".%" PRIu64 "s", s, ms % 1000 / 100);
	else if (s < 3600)
		snprintf(buf, len, "%" PRIu64 "m%02" PRIu64 "s", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, len, "%" PRIu64 "h%02" PRIu64 "m", s / 3600,
			 s % 3600 / 60);
	else
		snprintf(buf, len, "%" PRIu64 "d%02" PRIu64 "h", s / 86400,
			 s % 86400 / 3600);
}
