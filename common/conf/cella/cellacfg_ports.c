/*
 * cellacfg_ports: the `ports:` section of cella.yaml, ingress from the
 * parent instance into the enclave, compose style: a list of "HOST:ENCLAVE"
 * strings, both TCP ports 1..65535. On the host a cella-pf-proxy listens on
 * 127.0.0.1:HOST and relays to vsock port ENCLAVE; in the enclave another
 * relays vsock port ENCLAVE to 127.0.0.1:ENCLAVE. Whether HOST is free is
 * a fact about the host at start time, not about the file: `cella up`
 * checks it, this module does not.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/conf/cella/cellacfg.h"

static int
port_num(const char *s, size_t n, uint16_t *out)
{
	unsigned long v = 0;

	if (n == 0 || n > 5)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v < 1 || v > 65535)
		return -ERANGE;
	*out = (uint16_t)v;
	return 0;
}

int
cella_cfg_port_parse(const char *s, uint16_t *host, uint16_t *enclave,
		     struct cella_diag *d)
{
	const char *colon = strchr(s, ':');
	uint16_t h = 0, e = 0;
	int rh, re;

	if (colon == NULL || strchr(colon + 1, ':') != NULL)
		rh = re = -EINVAL;
	else {
		rh = port_num(s, (size_t)(colon - s), &h);
		re = port_num(colon + 1, strlen(colon + 1), &e);
	}
	if (rh == -EINVAL || re == -EINVAL)
		return cella_diag_set(d, -EINVAL,
				      "expected \"HOST:ENCLAVE\" (two TCP "
				      "ports, e.g. \"8080:80\"); got '%s'",
				      s);
	if (rh < 0 || re < 0)
		return cella_diag_set(d, -EINVAL, "'%s': a port is 1..65535",
				      s);
	*host = h;
	*enclave = e;
	return 0;
}

static int
check_port(const cJSON *v, struct cella_diag *d)
{
	uint16_t h, e;

	return cella_cfg_port_parse(v->valuestring, &h, &e, d);
}

/* One listener per host port: two entries cannot share one. */
int
cella_cfg_ports_check(const cJSON *v, struct cella_diag *d)
{
	const cJSON *a, *b;
	int i = 0;

	cJSON_ArrayForEach(a, v) {
		uint16_t ha = 0, hb = 0, e;
		int j = 0;

		(void)cella_cfg_port_parse(a->valuestring, &ha, &e, NULL);
		cJSON_ArrayForEach(b, v) {
			if (j >= i)
				break;
			(void)cella_cfg_port_parse(b->valuestring, &hb, &e,
						   NULL);
			if (ha == hb)
				return cella_diag_set(
					d, -EINVAL,
					"host port %u appears twice "
					"(ports[%d] and ports[%d])",
					ha, j, i);
			j++;
		}
		i++;
	}
	return 0;
}

const struct cella_conf_key cella_cfg_port_item[] = {
	{.key = "port", .type = CELLA_CONF_STRING, .min = 3, .max = 11,
	 .check = check_port,
	 .desc = "\"HOST:ENCLAVE\": 127.0.0.1:HOST on the host reaches "
		 "127.0.0.1:ENCLAVE inside"},
	{0},
};
