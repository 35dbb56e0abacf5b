/*
 * cmd_attest: `cella attest [--nonce HEX] [-o FILE] [--json]`, a fresh
 * attestation document from a running enclave, through its attested
 * bridge: the exchange after the TLS handshake already carries one, made
 * for our nonce and bound to the session, and verified (root, chain,
 * nonce, PCRs, debug, age) before anything is printed. By name, the root
 * and the PCRs `cella up` measured are pinned; flags override them. -o
 * saves the document so that `cella verify` can check it on its own; the
 * exact command is printed.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "common/net/addr.h"
#include "common/core/buf.h"
#include "common/rpc/operators.h"
#include "common/bridge/tls.h"
#include "common/core/exitcode.h"
#include "proto/ports.h"
#include "services/cella/cmd.h"
#include "services/cella/conn.h"

#define ATTEST_TIMEOUT_MS 10000

struct aopts {
	uint8_t nonce[CELLA_ATLS_NONCE_LEN];
	const char *out;
	bool json;
};

static struct aopts args;
static bool nonce_given;

static int
set_nonce(void *dst, const char *word, struct cella_diag *d)
{
	(void)dst;
	if (cella_hex_decode(word, strlen(word), args.nonce,
			     sizeof(args.nonce)) != (int)sizeof(args.nonce))
		return cella_diag_set(d, -EINVAL, "32 bytes: 64 hex digits");
	nonce_given = true;
	return 0;
}

static const struct cella_opt opts[] = {
	{"nonce", 0, CELLA_OPT_FUNC, NULL, .fn = set_nonce, .metavar = "HEX",
	 .help = "the document's nonce: 32 bytes, 64 hex digits\n"
		 "(default: random)"},
	{"output", 'o', CELLA_OPT_STR, &args.out, .metavar = "FILE",
	 .help = "save the document (COSE_Sign1, CBOR) to FILE"},
	{"json", 0, CELLA_OPT_FLAG, &args.json, .help = "print JSON"},
	{0},
};

static int
dial(const struct aopts *o, struct cella_atls_peer *peer,
     struct cella_diag *d)
{
	struct cella_verify_policy pol;
	struct cella_atls_dial_opts dopts = {.timeout_ms = ATTEST_TIMEOUT_MS};
	char url[CELLA_ADDR_URL_MAX + 16], key[4096];
	X509 *root = NULL;
	SSL *ssl = NULL;
	int fd = -1, rv;

	if ((rv = cella_conn_resolve(d)) < 0 ||
	    (rv = cella_conn_policy(&pol, &root, d)) < 0)
		return rv;
	pol.has_nonce = true;
	pol.nonce = CELLA_SPAN(o->nonce, sizeof(o->nonce));
	snprintf(url, sizeof(url), "%s", cella_conn.enclave);
	if (strncmp(url, "vsock://", 8) == 0 && strchr(url + 8, ':') == NULL)
		snprintf(url, sizeof(url), "%s:%u", cella_conn.enclave,
			 CELLA_PORT_INIT);
	dopts.key_path = cella_conn.key != NULL
				 ? cella_conn.key
				 : cella_opkey_default_path(key, sizeof(key));
	dopts.pol = &pol;
	rv = cella_atls_dial(url, &dopts, &fd, &ssl, peer, d);
	if (rv == 0) {
		SSL_shutdown(ssl);
		SSL_free(ssl);
		close(fd);
	}
	X509_free(root);
	return rv;
}

static int
save(const char *path, const struct cella_atls_peer *peer)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	int rv = 0;

	if (fd < 0 || write(fd, peer->doc, peer->doc_len) !=
			      (ssize_t)peer->doc_len)
		rv = -errno;
	if (fd >= 0 && close(fd) < 0 && rv == 0)
		rv = -errno;
	if (rv < 0)
		fprintf(stderr, "cella attest: %s: %s\n", path,
			cella_strerror(rv));
	return rv;
}

static void
print_text(const struct aopts *o, const struct cella_atls_peer *peer)
{
	char hex[97], roles[64];

	printf("attested: %s (module %s), document verified: root %s, %s\n",
	       cella_conn.enclave, peer->module_id,
	       cella_conn.root ? cella_conn.root : "AWS Nitro G1",
	       cella_conn.npcrs ? "PCRs as pinned" : "no PCRs pinned");
	cella_hex_encode(o->nonce, sizeof(o->nonce), hex, sizeof(hex));
	printf("  nonce      %s\n", hex);
	for (int i = 0; i < 3; i++) {
		cella_hex_encode(peer->pcrs[i], 48, hex, sizeof(hex));
		printf("  PCR%d       %s\n", i, hex);
	}
	cella_hex_encode(peer->evlog_head, 48, hex, sizeof(hex));
	printf("  event log  %" PRIu64 " events, head %s\n", peer->evlog_len,
	       hex);
	cella_roles_format(peer->roles, roles, sizeof(roles));
	printf("  operator   %s (%s)\n", peer->operator, roles);
	if (o->out == NULL)
		return;
	cella_hex_encode(o->nonce, sizeof(o->nonce), hex, sizeof(hex));
	printf("saved to %s; check it yourself with:\n  cella verify "
	       "--root %s --nonce %s",
	       o->out, cella_conn.root ? cella_conn.root : "(AWS)", hex);
	for (int i = 0; i < 3; i++) {
		cella_hex_encode(peer->pcrs[i], 48, hex, sizeof(hex));
		printf(" \\\n      --pcr %d=%s", i, hex);
	}
	printf("%s %s\n", cella_conn.allow_debug ? " --allow-debug" : "",
	       o->out);
}

static void
print_json(const struct aopts *o, const struct cella_atls_peer *peer)
{
	cJSON *j = cJSON_CreateObject(), *pcrs;
	char hex[97], idx[4];

	cJSON_AddStringToObject(j, "enclave", cella_conn.enclave);
	cJSON_AddStringToObject(j, "module_id", peer->module_id);
	cella_hex_encode(o->nonce, sizeof(o->nonce), hex, sizeof(hex));
	cJSON_AddStringToObject(j, "nonce", hex);
	pcrs = cJSON_AddObjectToObject(j, "pcrs");
	for (int i = 0; i < 3; i++) {
		snprintf(idx, sizeof(idx), "%d", i);
		cella_hex_encode(peer->pcrs[i], 48, hex, sizeof(hex));
		cJSON_AddStringToObject(pcrs, idx, hex);
	}
	cella_hex_encode(peer->evlog_head, 48, hex, sizeof(hex));
	cJSON_AddStringToObject(j, "evlog_head", hex);
	cJSON_AddNumberToObject(j, "evlog_len", (double)peer->evlog_len);
	cJSON_AddStringToObject(j, "operator", peer->operator);
	cJSON_AddBoolToObject(j, "pcrs_pinned", cella_conn.npcrs > 0);
	if (o->out != NULL)
		cJSON_AddStringToObject(j, "saved", o->out);
	cella_cmd_print_json(j, true);
}

static int
cmd_attest(int argc, char **argv)
{
	static struct cella_atls_peer peer;
	struct cella_diag d = {{0}};
	int rv;

	(void)argc;
	(void)argv;
	if (!nonce_given && RAND_bytes(args.nonce, sizeof(args.nonce)) != 1)
		return EX_OSERR;
	if (cella_conn.enclave == NULL) {
		fprintf(stderr, "cella attest: which enclave? (--enclave NAME "
				"or URL, or run it where cella.yaml is)\n");
		return EX_USAGE;
	}
	if ((rv = cella_conn_check_files("attest")) < 0)
		return cella_exit_from_err(rv);
	if ((rv = dial(&args, &peer, &d)) < 0) {
		if (rv == -EACCES)
			fprintf(stderr, "cella attest: refused: %s\n", d.msg);
		else
			cella_conn_report("attest", rv, d.msg, true);
		return cella_exit_from_err(cella_conn_unreachable(rv));
	}
	if (args.out != NULL && save(args.out, &peer) < 0)
		return EX_CANTCREAT;
	if (args.json)
		print_json(&args, &peer);
	else
		print_text(&args, &peer);
	return 0;
}

const struct cella_cmd cella_cmd_attest = {
	.name = "attest",
	.run = cmd_attest,
	.summary = "fresh attestation document, verified and shown",
	.connects = true,
	.opts = opts,
	.args = "[--nonce HEX] [-o FILE] [--json]",
	.help = "Fetches a fresh attestation document from the enclave "
		"through\n"
		"its attested bridge, verifies it (root, chain, nonce, PCRs,\n"
		"debug mode, age) and prints what it attests. For an enclave "
		"of\n"
		"`cella up` the simulation root and the PCRs measured at up "
		"are\n"
		"pinned; --root and --pcr replace them.\n",
	.more = "The emulator's PCRs (sha384sum, LC_ALL=C sort):\n"
		"  PCR0  sha384 of the manifest 'SHA384  PATH' of cella's own\n"
		"        executables the enclave runs "
		"(STATE/enclave/pcr0.manifest)\n"
		"  PCR1  the same for the services' executables "
		"(pcr1.manifest)\n"
		"  PCR2  sha384 of the effective configuration\n"
		"        (STATE/enclave/cella.yaml); all zero in debug mode\n",
};
