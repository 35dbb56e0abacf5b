/*
 * ratool: a client of cella-ra-web's internal API (proto/ra.cddl) for the
 * integration tests, one request per run. Results go to stdout as
 * key=value words; an error reply to stderr as "error: ENAME: message"
 * with exit 1 (2: usage or transport).
 *
 *   ratool URL attest [--nonce HEX] [--user-data HEX] [--public-key HEX]
 *                     --out FILE
 *   ratool URL describe-pcr N        index=N locked=0|1 value=HEX
 *   ratool URL extend N HEX          (same, the new value)
 *   ratool URL lock N
 *   ratool URL lock-range N
 *   ratool URL random N              random=HEX
 *   ratool URL describe              module_id=.. max_pcrs=.. locked=..
 *   ratool URL raw TYPE HEX          send body HEX (CBOR) as message TYPE
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cbor/cbor.h"
#include "common/rpc/rpc.h"

#define HEX_MAX 4096

static int
usage(void)
{
	fprintf(stderr, "usage: ratool URL attest|describe-pcr|extend|lock|"
			"lock-range|random|describe|raw ...\n");
	return 2;
}

static int
put_hex(cbor_item_t *m, const char *key, const char *hex)
{
	uint8_t buf[HEX_MAX];
	int n = cella_hex_decode(hex, strlen(hex), buf, sizeof(buf));

	return n < 0 ? n : cella_cbor_put_bytes(m, key, buf, (size_t)n);
}

static void
print_hex(const char *key, struct cella_span s)
{
	char *h = malloc(2 * s.n + 1);

	if (h == NULL)
		return;
	cella_hex_encode(s.p, s.n, h, 2 * s.n + 1);
	printf("%s=%s\n", key, h);
	free(h);
}

/* The request body for argv[2..], and its type. */
static int
build(int argc, char **argv, uint32_t *type, cbor_item_t **body,
      const char **out)
{
	const char *verb = argv[2];
	cbor_item_t *m = cbor_new_indefinite_map();
	int rv = 0;

	*body = m;
	if (strcmp(verb, "attest") == 0) {
		*type = CELLA_MSG_RA_ATTEST;
		for (int i = 3; rv == 0 && i + 1 < argc; i += 2) {
			if (strcmp(argv[i], "--out") == 0)
				*out = argv[i + 1];
			else if (strncmp(argv[i], "--", 2) == 0) {
				char key[32];

				snprintf(key, sizeof(key), "%s", argv[i] + 2);
				for (char *p = key; *p; p++)
					*p = *p == '-' ? '_' : *p;
				rv = put_hex(m, key, argv[i + 1]);
			} else
				rv = -EINVAL;
		}
		return *out == NULL ? -EINVAL : rv;
	}
	if (strcmp(verb, "describe") == 0) {
		*type = CELLA_MSG_RA_DESCRIBE_NSM;
		return 0;
	}
	if (argc < 4)
		return -EINVAL;
	if (strcmp(verb, "describe-pcr") == 0 || strcmp(verb, "lock") == 0) {
		*type = verb[0] == 'd' ? CELLA_MSG_RA_DESCRIBE_PCR
				       : CELLA_MSG_RA_LOCK_PCR;
		return cella_cbor_put_uint(m, "index", strtoull(argv[3], NULL, 0));
	}
	if (strcmp(verb, "extend") == 0 && argc == 5) {
		*type = CELLA_MSG_RA_EXTEND_PCR;
		rv = cella_cbor_put_uint(m, "index", strtoull(argv[3], NULL, 0));
		return rv == 0 ? put_hex(m, "data", argv[4]) : rv;
	}
	if (strcmp(verb, "lock-range") == 0 || strcmp(verb, "random") == 0) {
		*type = verb[0] == 'l' ? CELLA_MSG_RA_LOCK_PCRS
				       : CELLA_MSG_RA_RANDOM;
		return cella_cbor_put_uint(m, verb[0] == 'l' ? "range" : "length",
					   strtoull(argv[3], NULL, 0));
	}
	if (strcmp(verb, "raw") == 0 && argc == 5) {
		static const struct cella_cbor_limits lim = {HEX_MAX, 8, 1024,
							     HEX_MAX};
		uint8_t buf[HEX_MAX];
		int n = cella_hex_decode(argv[4], strlen(argv[4]), buf,
					 sizeof(buf));

		*type = (uint32_t)strtoul(argv[3], NULL, 0);
		cbor_decref(body);
		return n < 0 ? n : cella_cbor_load(buf, (size_t)n, &lim, body, NULL);
	}
	return -EINVAL;
}

static int
show(uint32_t type, const cbor_item_t *b, const char *out)
{
	struct cella_span s;
	uint64_t u;
	bool locked = false;

	if (type == CELLA_MSG_RA_ATTEST_REPLY) {
		FILE *f;

		if (cella_cbor_get_bytes(b, "document", 16384, &s, NULL) < 0 ||
		    (f = fopen(out, "wb")) == NULL)
			return 2;
		fwrite(s.p, 1, s.n, f);
		fclose(f);
		printf("document_bytes=%zu\n", s.n);
	} else if (type == CELLA_MSG_RA_PCR_REPLY) {
		if (cella_cbor_get_uint(b, "index", UINT16_MAX, &u, NULL) < 0 ||
		    cella_cbor_get_bool(b, "locked", &locked, NULL) < 0 ||
		    cella_cbor_get_bytes(b, "value", 64, &s, NULL) < 0)
			return 2;
		printf("index=%" PRIu64 " locked=%d ", u, locked);
		print_hex("value", s);
	} else if (type == CELLA_MSG_RA_RANDOM_REPLY) {
		if (cella_cbor_get_bytes(b, "random", 4096, &s, NULL) < 0)
			return 2;
		print_hex("random", s);
	} else if (type == CELLA_MSG_RA_DESCRIBE_NSM_REPLY) {
		cbor_item_t *l = cella_cbor_map_get(b, "locked_pcrs");

		if (cella_cbor_get_text(b, "module_id", 255, &s, NULL) < 0 ||
		    cella_cbor_get_uint(b, "max_pcrs", 1024, &u, NULL) < 0 ||
		    l == NULL || !cbor_isa_array(l))
			return 2;
		printf("module_id=%.*s max_pcrs=%" PRIu64 " locked=", (int)s.n,
		       (const char *)s.p, u);
		for (size_t i = 0; i < cbor_array_size(l); i++)
			printf("%s%" PRIu64, i ? "," : "",
			       cbor_get_int(cbor_array_handle(l)[i]));
		cella_cbor_get_text(b, "provider", 16, &s, NULL);
		printf(" provider=%.*s\n", (int)s.n, (const char *)s.p);
	} else {
		printf("ok\n");
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct cella_rpc_client *c = NULL;
	struct cella_diag d = {{0}};
	struct cella_env reply = {0};
	cbor_item_t *body = NULL;
	const char *out = NULL;
	uint32_t type = 0;
	int rv, code;

	if (argc < 3)
		return usage();
	if (build(argc, argv, &type, &body, &out) < 0) {
		if (body != NULL)
			cbor_decref(&body);
		return usage();
	}
	if (cella_rpc_client_new(argv[1], 5000, &c, &d) < 0) {
		fprintf(stderr, "ratool: %s\n", d.msg);
		cbor_decref(&body);
		return 2;
	}
	rv = cella_rpc_call(c, type, body, &reply, &d);
	if (rv < 0) {
		fprintf(stderr, "error: %s: %s\n", cella_errname(rv), d.msg);
		code = 1;
	} else {
		code = show(reply.type, reply.body, out);
		cella_env_fini(&reply);
	}
	cbor_decref(&body);
	cella_rpc_client_free(c);
	return code;
}
