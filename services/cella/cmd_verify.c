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
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include <cjson/cJSON.h>

#include "common/attest/verify.h"
#include "services/cella/cmd.h"

int cella_cmd_verify(int argc, char **argv); /* listed in cmd_table.c */

struct vopts {
	struct cella_verify_policy pol;
	struct cella_verify_pcr pcrs[CELLA_ATTDOC_PCRS];
	uint8_t nonce[CELLA_ATTDOC_OPT_MAX];
	const char *root_path;
	const char *file;
	bool json;
};

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: cella verify [OPTIONS] FILE|-\n"
		"\n"
		"Verify an AWS Nitro attestation document (raw CBOR or base64)\n"
		"against a pinned root and a policy. Exit 0 valid, 1 invalid\n"
		"(one line 'invalid: <check>: <detail>' on stderr), 64 usage,\n"
		"66 FILE or the --root PEM missing or unreadable.\n"
		"\n"
		"  --root PEM          pin this root instead of AWS Nitro "
		"Enclaves Root G1\n"
		"  --at UNIX_SECONDS   verify at this time (default: now)\n"
		"  --max-age SECONDS   refuse documents older than this\n"
		"  --nonce HEX         the document's nonce must be exactly this\n"
		"  --pcr N=HEX         PCR N (0..31) must be these 48 bytes; "
		"repeatable\n"
		"  --allow-debug       accept debug-mode enclaves (PCR0..2 "
		"zero)\n"
		"  --json              print the document's fields as JSON\n"
		"  -h, --help          this text\n");
}

static int
usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "cella verify: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, " (try 'cella verify --help')\n");
	return EX_USAGE;
}

static int
parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (s[0] < '0' || s[0] > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0' || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int
add_pcr(struct vopts *o, const char *arg)
{
	const char *eq = strchr(arg, '=');
	char idx[4];
	uint64_t n;
	struct cella_verify_pcr *p;

	if (eq == NULL || eq == arg || (size_t)(eq - arg) >= sizeof(idx))
		return usage_error("--pcr '%s': expected N=HEX", arg);
	memcpy(idx, arg, (size_t)(eq - arg));
	idx[eq - arg] = '\0';
	if (parse_u64(idx, CELLA_ATTDOC_PCRS - 1, &n) < 0)
		return usage_error("--pcr '%s': PCR index must be 0..31", arg);
	for (size_t i = 0; i < o->pol.npcrs; i++)
		if (o->pcrs[i].index == n)
			return usage_error("--pcr '%s': PCR given twice", arg);
	p = &o->pcrs[o->pol.npcrs];
	p->index = (unsigned)n;
	if (strlen(eq + 1) != 2 * CELLA_VERIFY_PCR_LEN ||
	    cella_hex_decode(eq + 1, strlen(eq + 1), p->value,
			     sizeof(p->value)) != CELLA_VERIFY_PCR_LEN)
		return usage_error("--pcr '%s': value must be 96 hex digits",
				   arg);
	o->pol.npcrs++;
	return 0;
}

static int
set_nonce(struct vopts *o, const char *arg)
{
	int n = cella_hex_decode(arg, strlen(arg), o->nonce, sizeof(o->nonce));

	if (n == -EMSGSIZE)
		return usage_error("--nonce: over 1024 bytes%s", "");
	if (n < 0)
		return usage_error("--nonce '%s': not hex", arg);
	o->pol.has_nonce = true;
	o->pol.nonce = CELLA_SPAN(o->nonce, (size_t)n);
	return 0;
}

static int
parse_opt(struct vopts *o, int c, const char *arg)
{
	uint64_t v;

	switch (c) {
	case 'r':
		o->root_path = arg;
		return 0;
	case 't':
		if (parse_u64(arg, INT64_MAX, &v) < 0 || v == 0)
			return usage_error("--at '%s': expected UNIX seconds",
					   arg);
		o->pol.at = (int64_t)v;
		return 0;
	case 'm':
		if (parse_u64(arg, INT64_MAX / 1000, &v) < 0)
			return usage_error("--max-age '%s': expected seconds",
					   arg);
		o->pol.max_age_s = v;
		return 0;
	case 'n':
		return set_nonce(o, arg);
	case 'p':
		return add_pcr(o, arg);
	case 'd':
		o->pol.allow_debug = true;
		return 0;
	case 'j':
		o->json = true;
		return 0;
	default:
		return EX_USAGE;
	}
}

/* 0 ready to run, -1 --help printed, else an exit code. */
static int
parse_args(int argc, char **argv, struct vopts *o)
{
	static const struct option longopts[] = {
		{"root", required_argument, NULL, 'r'},
		{"at", required_argument, NULL, 't'},
		{"max-age", required_argument, NULL, 'm'},
		{"nonce", required_argument, NULL, 'n'},
		{"pcr", required_argument, NULL, 'p'},
		{"allow-debug", no_argument, NULL, 'd'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c, rv;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return -1;
		}
		if (c == '?' || c == ':')
			return usage_error(optopt != 0 && optopt != '?'
						   ? "option '%s' needs a value"
						   : "unknown flag '%s'",
					   argv[optind - 1]);
		if ((rv = parse_opt(o, c, optarg)) != 0)
			return rv;
	}
	if (argc - optind != 1)
		return usage_error("expected one FILE (or -)%s", "");
	o->file = argv[optind];
	return 0;
}

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
run(struct vopts *o)
{
	struct cella_buf raw, docbuf;
	struct cella_verify_result res;
	struct cella_diag d = {{0}};
	X509 *root = NULL;
	int rv;

	cella_buf_init(&raw, CELLA_ATTDOC_TEXT_MAX + 1);
	cella_buf_init(&docbuf, CELLA_ATTDOC_MAX);
	memset(&res, 0, sizeof(res));
	if (o->root_path != NULL &&
	    cella_verify_root_load(o->root_path, &root, &d) < 0) {
		fprintf(stderr, "cella verify: --root %s\n", d.msg);
		rv = EX_NOINPUT;
		goto out;
	}
	o->pol.root = root;
	o->pol.pcrs = o->pcrs;
	if ((rv = read_input(o->file, &raw)) != 0)
		goto out;
	rv = cella_attdoc_unwrap(raw.p, raw.len, &docbuf, &d);
	if (rv < 0) {
		res.failed = CELLA_VERIFY_COSE;
		fprintf(stderr, "invalid: cose: %s\n", d.msg);
		if (o->json)
			print_json(&res, d.msg);
		rv = 1;
		goto out;
	}
	rv = cella_verify(docbuf.p, docbuf.len, &o->pol, NULL, &res, &d);
	if (rv == 0 && o->json) {
		print_json(&res, NULL);
	} else if (rv == 0) {
		printf("valid: module_id=%.*s timestamp=%" PRIu64 "\n",
		       (int)res.doc.module_id.n,
		       (const char *)res.doc.module_id.p,
		       res.doc.timestamp_ms);
	} else if (rv == -EBADMSG) {
		fprintf(stderr, "invalid: %s\n", d.msg);
		if (o->json)
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

int
cella_cmd_verify(int argc, char **argv)
{
	struct vopts o;
	int rv;

	memset(&o, 0, sizeof(o));
	cella_verify_policy_init(&o.pol);
	rv = parse_args(argc, argv, &o);
	if (rv != 0)
		return rv < 0 ? 0 : rv;
	return run(&o);
}
