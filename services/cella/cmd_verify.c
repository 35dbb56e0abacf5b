/*
 * cmd_verify: `cella verify`, an attestation document checked from the
 * command line with the same library the services use. It reads one
 * document (raw CBOR or base64, from a file or stdin), builds a policy from
 * the flags and prints the verdict: exit 0 and "valid: ..." (or JSON), exit
 * 1 and one line "invalid: <check>: <detail>" on stderr, exit 64 for a
 * command line it cannot follow, 66 for a FILE or root it cannot read. It
 * does not fetch documents or roots.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include <cjson/cJSON.h>

#include "common/attest/verify.h"
#include "services/cella/cmd.h"

struct vopts {
	struct cella_verify_policy pol;
	struct cella_verify_pcr pcrs[CELLA_ATTDOC_PCRS];
	uint8_t nonce[CELLA_ATTDOC_OPT_MAX];
	const char *root_path;
	const char *file;
	bool json;
};

static struct vopts args;

static int
add_pcr(void *dst, const char *arg, struct cella_diag *d)
{
	const char *eq = strchr(arg, '=');
	char idx[4];
	uint64_t n;
	struct cella_verify_pcr *p;

	(void)dst;
	if (eq == NULL || eq == arg || (size_t)(eq - arg) >= sizeof(idx))
		return cella_diag_set(d, -EINVAL, "expected N=HEX");
	memcpy(idx, arg, (size_t)(eq - arg));
	idx[eq - arg] = '\0';
	if (cella_arg_u64(idx, 0, CELLA_ATTDOC_PCRS - 1, &n) < 0)
		return cella_diag_set(d, -EINVAL, "PCR index must be 0..31");
	for (size_t i = 0; i < args.pol.npcrs; i++)
		if (args.pcrs[i].index == n)
			return cella_diag_set(d, -EINVAL, "PCR given twice");
	p = &args.pcrs[args.pol.npcrs];
	p->index = (unsigned)n;
	if (strlen(eq + 1) != 2 * CELLA_VERIFY_PCR_LEN ||
	    cella_hex_decode(eq + 1, strlen(eq + 1), p->value,
			     sizeof(p->value)) != CELLA_VERIFY_PCR_LEN)
		return cella_diag_set(d, -EINVAL,
				      "value must be 96 hex digits");
	args.pol.npcrs++;
	return 0;
}

static int
set_nonce(void *dst, const char *arg, struct cella_diag *d)
{
	int n = cella_hex_decode(arg, strlen(arg), args.nonce, sizeof(args.nonce));

	(void)dst;
	if (n == -EMSGSIZE)
		return cella_diag_set(d, -EINVAL, "over %d bytes",
				      CELLA_ATTDOC_OPT_MAX);
	if (n < 0)
		return cella_diag_set(d, -EINVAL, "not hex");
	args.pol.has_nonce = true;
	args.pol.nonce = CELLA_SPAN(args.nonce, (size_t)n);
	return 0;
}

static const struct cella_opt opts[] = {
	{"root", 0, CELLA_OPT_STR, &args.root_path, .metavar = "PEM",
	 .help = "pin this root instead of AWS Nitro Enclaves Root G1"},
	{"at", 0, CELLA_OPT_I64, &args.pol.at, .min = 1, .max = INT64_MAX,
	 .metavar = "UNIX_SECONDS", .expect = "UNIX seconds",
	 .help = "verify at this time (default: now)"},
	{"max-age", 0, CELLA_OPT_U64, &args.pol.max_age_s, .max = INT64_MAX / 1000,
	 .metavar = "SECONDS", .expect = "seconds",
	 .help = "refuse documents older than this"},
	{"nonce", 0, CELLA_OPT_FUNC, NULL, .fn = set_nonce, .metavar = "HEX",
	 .help = "the document's nonce must be exactly this"},
	{"pcr", 0, CELLA_OPT_FUNC, NULL, .fn = add_pcr, .metavar = "N=HEX",
	 .help = "PCR N (0..31) must be these 48 bytes; repeatable"},
	{"allow-debug", 0, CELLA_OPT_FLAG, &args.pol.allow_debug,
	 .help = "accept debug-mode enclaves (PCR0..2 zero)"},
	{"json", 0, CELLA_OPT_FLAG, &args.json,
	 .help = "print the document's fields as JSON"},
	{0},
};

static int
read_input(const char *path, struct cella_buf *raw)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	uint8_t chunk[4096];
	size_t n;
	int rv = 0;

	if (f == NULL) {
		fprintf(stderr, "cella verify: %s: %s\n", path, strerror(errno));
		return EX_NOINPUT;
	}
	while (rv == 0 && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		rv = cella_buf_append(raw, chunk, n);
	if (rv == 0 && ferror(f)) {
		fprintf(stderr, "cella verify: %s: read error\n", path);
		rv = EX_NOINPUT;
	} else if (rv == -EMSGSIZE) {
		/* Not a usage error: no document is that large. */
		fprintf(stderr, "invalid: cose: input over %zu bytes\n",
			raw->max - 1);
		rv = 1;
	}
	if (f != stdin)
		fclose(f);
	return rv < 0 ? EX_SOFTWARE : rv;
}

static void
json_bytes(cJSON *o, const char *key, bool has, struct cella_span s)
{
	char *hex;

	if (!has) {
		cJSON_AddNullToObject(o, key);
		return;
	}
	hex = malloc(2 * s.n + 1);
	if (hex == NULL)
		return;
	cella_hex_encode(s.p, s.n, hex, 2 * s.n + 1);
	cJSON_AddStringToObject(o, key, hex);
	free(hex);
}

static void
print_json(const struct cella_verify_result *res, const char *reason)
{
	cJSON *o = cJSON_CreateObject(), *pcrs, *chain;
	const struct cella_attdoc *doc = &res->doc;
	char key[4], id[CELLA_ATTDOC_MODULE_ID_MAX + 1];

	if (o == NULL)
		return;
	cJSON_AddBoolToObject(o, "valid", reason == NULL);
	if (reason != NULL) {
		cJSON_AddStringToObject(o, "check",
					cella_verify_check_name(res->failed));
		cJSON_AddStringToObject(o, "reason", reason);
	} else {
		snprintf(id, sizeof(id), "%.*s", (int)doc->module_id.n,
			 (const char *)doc->module_id.p);
		cJSON_AddStringToObject(o, "module_id", id);
		cJSON_AddNumberToObject(o, "timestamp",
					(double)doc->timestamp_ms);
		cJSON_AddStringToObject(o, "digest", "SHA384");
		pcrs = cJSON_AddObjectToObject(o, "pcrs");
		for (unsigned i = 0; pcrs != NULL && i < CELLA_ATTDOC_PCRS; i++) {
			if (!(doc->pcr_mask & (UINT32_C(1) << i)))
				continue;
			snprintf(key, sizeof(key), "%u", i);
			json_bytes(pcrs, key, true, doc->pcrs[i]);
		}
		json_bytes(o, "public_key", doc->has_public_key, doc->public_key);
		json_bytes(o, "user_data", doc->has_user_data, doc->user_data);
		json_bytes(o, "nonce", doc->has_nonce, doc->nonce);
		chain = cJSON_AddArrayToObject(o, "chain");
		for (size_t i = 0; chain != NULL && i < res->nchain; i++)
			cJSON_AddItemToArray(chain,
					     cJSON_CreateString(res->chain[i]));
	}
	cella_cmd_print_json(o, true);
}

static int
run(struct vopts *v)
{
	struct cella_buf raw, docbuf;
	struct cella_verify_result res;
	struct cella_diag d = {{0}};
	X509 *root = NULL;
	int rv;

	cella_buf_init(&raw, CELLA_ATTDOC_TEXT_MAX + 1);
	cella_buf_init(&docbuf, CELLA_ATTDOC_MAX);
	memset(&res, 0, sizeof(res));
	if (v->root_path != NULL &&
	    cella_verify_root_load(v->root_path, &root, &d) < 0) {
		fprintf(stderr, "cella verify: --root %s\n", d.msg);
		rv = EX_NOINPUT;
		goto out;
	}
	v->pol.root = root;
	v->pol.pcrs = v->pcrs;
	if ((rv = read_input(v->file, &raw)) != 0)
		goto out;
	rv = cella_attdoc_unwrap(raw.p, raw.len, &docbuf, &d);
	if (rv < 0) {
		res.failed = CELLA_VERIFY_COSE;
		fprintf(stderr, "invalid: cose: %s\n", d.msg);
		if (v->json)
			print_json(&res, d.msg);
		rv = 1;
		goto out;
	}
	rv = cella_verify(docbuf.p, docbuf.len, &v->pol, NULL, &res, &d);
	if (rv == 0 && v->json) {
		print_json(&res, NULL);
	} else if (rv == 0) {
		printf("valid: module_id=%.*s timestamp=%" PRIu64 "\n",
		       (int)res.doc.module_id.n,
		       (const char *)res.doc.module_id.p,
		       res.doc.timestamp_ms);
	} else if (rv == -EBADMSG) {
		fprintf(stderr, "invalid: %s\n", d.msg);
		if (v->json)
			print_json(&res, d.msg);
	} else {
		fprintf(stderr, "cella verify: %s\n", d.msg);
	}
	rv = rv == 0 ? 0 : rv == -EBADMSG ? 1 : EX_SOFTWARE;
out:
	cella_verify_result_fini(&res);
	X509_free(root);
	cella_buf_fini(&docbuf);
	cella_buf_fini(&raw);
	return rv;
}

static int
cmd_verify(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "cella verify: expected one FILE (or -) (try "
				"'cella verify --help')\n");
		return EX_USAGE;
	}
	args.file = argv[1];
	return run(&args);
}

const struct cella_cmd cella_cmd_verify = {
	.name = "verify",
	.run = cmd_verify,
	.summary = "verify an attestation document",
	.opts = opts,
	.args = "[OPTIONS] FILE|-",
	.help = "Verify an AWS Nitro attestation document (raw CBOR or "
		"base64)\n"
		"against a pinned root and a policy. Exit 0 valid, 1 invalid\n"
		"(one line 'invalid: <check>: <detail>' on stderr), 64 usage,\n"
		"66 FILE or the --root PEM missing or unreadable.\n",
	.max_args = -1,
};
