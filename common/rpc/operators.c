/*
 * operators: roles, the operators/policy schema rows, Ed25519 key text, and
 * the lookup the bridge does for every client certificate.
 */
#include "common/rpc/operators.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

static const struct {
	const char *name;
	uint32_t bit;
} roles[] = {
	{"services", CELLA_ROLE_SERVICES},
	{"logs", CELLA_ROLE_LOGS},
	{"exec", CELLA_ROLE_EXEC},
	{"files", CELLA_ROLE_FILES},
};

#define NROLES (sizeof(roles) / sizeof(roles[0]))
#define KEY_PREFIX "ed25519:"
#define KEY_B64_LEN 44 /* base64 of 32 bytes, with one '=' */

uint32_t
cella_role_parse(const char *name)
{
	for (size_t i = 0; i < NROLES; i++)
		if (strcmp(name, roles[i].name) == 0)
			return roles[i].bit;
	return 0;
}

int
cella_roles_format(uint32_t bits, char *buf, size_t len)
{
	size_t n = 0;

	if (len == 0)
		return -ENOSPC;
	buf[0] = '\0';
	for (size_t i = 0; i < NROLES; i++) {
		int k;

		if (!(bits & roles[i].bit))
			continue;
		k = snprintf(buf + n, len - n, "%s%s", n ? "," : "",
			     roles[i].name);
		if (k < 0 || (size_t)k >= len - n)
			return -ENOSPC;
		n += (size_t)k;
	}
	if (n == 0)
		snprintf(buf, len, "-");
	return (int)n;
}

int
cella_roles_parse_list(const char *list, uint32_t *out, struct cella_diag *d)
{
	char word[32];
	uint32_t bits = 0;
	const char *p = list;

	while (*p != '\0') {
		size_t n = strcspn(p, ",");
		uint32_t bit;

		if (n == 0 || n >= sizeof(word))
			return cella_diag_set(d, -EINVAL, "bad role list '%s'",
					      list);
		memcpy(word, p, n);
		word[n] = '\0';
		if ((bit = cella_role_parse(word)) == 0)
			return cella_diag_set(d, -EINVAL,
					      "unknown role '%s' (services, "
					      "logs, exec, files)",
					      word);
		bits |= bit;
		p += n + (p[n] == ',');
	}
	if (bits == 0)
		return cella_diag_set(d, -EINVAL, "no role given");
	*out = bits;
	return 0;
}

int
cella_operator_key_parse(const char *text, uint8_t out[32],
			 struct cella_diag *d)
{
	uint8_t raw[36];
	size_t plen = strlen(KEY_PREFIX);

	if (strncmp(text, KEY_PREFIX, plen) != 0)
		return cella_diag_set(d, -EINVAL,
				      "a public key is 'ed25519:' and base64 "
				      "(what cella keygen prints)");
	text += plen;
	if (strlen(text) != KEY_B64_LEN || text[KEY_B64_LEN - 1] != '=' ||
	    text[KEY_B64_LEN - 2] == '=' ||
	    EVP_DecodeBlock(raw, (const unsigned char *)text, KEY_B64_LEN) != 33)
		return cella_diag_set(d, -EINVAL,
				      "an Ed25519 key is 32 bytes: 44 base64 "
				      "characters after 'ed25519:'");
	memcpy(out, raw, 32);
	return 0;
}

int
cella_operator_key_format(const uint8_t key[32], char *buf, size_t len)
{
	size_t plen = strlen(KEY_PREFIX);

	if (len < plen + KEY_B64_LEN + 1)
		return -ENOSPC;
	memcpy(buf, KEY_PREFIX, plen);
	EVP_EncodeBlock((unsigned char *)buf + plen, key, 32);
	return (int)(plen + KEY_B64_LEN);
}

static int
check_key(const cJSON *v, struct cella_diag *d)
{
	uint8_t k[32];

	return cella_operator_key_parse(v->valuestring, k, d);
}

int
cella_roles_check(const cJSON *v, struct cella_diag *d)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, v)
		if (cella_role_parse(it->valuestring) == 0)
			return cella_diag_set(d, -EINVAL,
					      "unknown role '%s' (services, "
					      "logs, exec, files)",
					      it->valuestring);
	return 0;
}

static const struct cella_conf_key operator_keys[] = {
	{.key = "name", .type = CELLA_CONF_STRING, .min = 1,
	 .max = CELLA_OPERATOR_NAME_MAX, .required = true,
	 .desc = "who this is, in logs and the event log"},
	{.key = "public_key", .type = CELLA_CONF_STRING, .min = 1, .max = 64,
	 .required = true, .check = check_key,
	 .desc = "ed25519:BASE64, as printed by `cella keygen`"},
	{.key = "roles", .type = CELLA_CONF_STRLIST, .min = 1, .max = 4,
	 .required = true, .check = cella_roles_check,
	 .desc = "any of services, logs, exec, files"},
	{0},
};

const struct cella_conf_key cella_operator_item[] = {
	{.key = "operator", .type = CELLA_CONF_OBJECT, .sub = operator_keys},
	{0},
};

const struct cella_conf_key cella_operators_keys[] = {
	{.key = "operators", .type = CELLA_CONF_LIST, .max = CELLA_OPERATORS_MAX,
	 .sub = cella_operator_item,
	 .desc = "who may reach the enclave through the attested bridge"},
	{0},
};

const struct cella_conf_key cella_policy_keys[] = {
	{.key = "exec", .type = CELLA_CONF_BOOL, .def = "false",
	 .desc = "allow cella exec in a non-debug enclave"},
	{.key = "files", .type = CELLA_CONF_BOOL, .def = "false",
	 .desc = "allow cella cp in a non-debug enclave"},
	{0},
};

static int
load_one(const cJSON *o, struct cella_operator *op, struct cella_diag *d)
{
	const cJSON *it;

	snprintf(op->name, sizeof(op->name), "%s",
		 cella_conf_str(o, "name", ""));
	if (cella_operator_key_parse(cella_conf_str(o, "public_key", ""),
				     op->key, d) < 0)
		return -EINVAL;
	op->roles = 0;
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(o, "roles"))
		op->roles |= cella_role_parse(it->valuestring);
	return 0;
}

int
cella_operators_load(const struct cella_conf *c, struct cella_operators *out,
		     struct cella_diag *d)
{
	const cJSON *root = cella_conf_root(c), *it;
	const cJSON *policy = cJSON_GetObjectItemCaseSensitive(root, "policy");
	const cJSON *enclave = cJSON_GetObjectItemCaseSensitive(root, "enclave");
	struct cella_operators ops = {0};

	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(root,
								"operators"))
	{
		struct cella_operator *op = &ops.op[ops.n];

		if (ops.n == CELLA_OPERATORS_MAX)
			return cella_diag_set(d, -EINVAL, "more than %d operators",
					      CELLA_OPERATORS_MAX);
		if (load_one(it, op, d) < 0)
			return -EINVAL;
		for (size_t i = 0; i < ops.n; i++)
			if (strcmp(ops.op[i].name, op->name) == 0 ||
			    memcmp(ops.op[i].key, op->key, 32) == 0)
				return cella_diag_set(
					d, -EINVAL,
					"%s:%d: operators: '%s' repeats the "
					"name or key of '%s'",
					cella_conf_name(c), cella_conf_line(c, it),
					op->name, ops.op[i].name);
		ops.n++;
	}
	ops.exec = cella_conf_bool(policy, "exec", false);
	ops.files = cella_conf_bool(policy, "files", false);
	ops.debug = cella_conf_bool(enclave, "debug", false);
	*out = ops;
	return 0;
}

const struct cella_operator *
cella_operators_find(const struct cella_operators *ops, const uint8_t key[32])
{
	for (size_t i = 0; i < ops->n; i++)
		if (CRYPTO_memcmp(ops->op[i].key, key, 32) == 0)
			return &ops->op[i];
	return NULL;
}

uint32_t
cella_operators_allowed(const struct cella_operators *ops)
{
	uint32_t r = CELLA_ROLE_SERVICES | CELLA_ROLE_LOGS;

	if (ops->exec || ops->debug)
		r |= CELLA_ROLE_EXEC;
	if (ops->files || ops->debug)
		r |= CELLA_ROLE_FILES;
	return r;
}
