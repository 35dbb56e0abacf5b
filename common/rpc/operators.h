/*
 * operators: who may reach the enclave from outside, and with which roles.
 * The `operators:` section of cella.yaml (part of the measured config)
 * lists each operator's name, Ed25519 public key and roles; the attested
 * bridge admits a TLS client only when its certificate's key is listed,
 * and the services check the role each request needs. The `policy:`
 * section can forbid exec and files outright, which is what makes a
 * production enclave's attestation meaningful.
 *
 * Roles:
 *   services  start, stop, restart services; status
 *   logs      read captured logs and the event log
 *   exec      run commands (cella exec)
 *   files     move files in and out (cella cp)
 */
#ifndef CELLA_OPERATORS_H
#define CELLA_OPERATORS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "common/conf/conf.h"
#include "common/core/err.h"

#define CELLA_ROLE_SERVICES 0x1u
#define CELLA_ROLE_LOGS 0x2u
#define CELLA_ROLE_EXEC 0x4u
#define CELLA_ROLE_FILES 0x8u
#define CELLA_ROLE_ALL 0xfu

#define CELLA_OPERATORS_MAX 64
#define CELLA_OPERATOR_NAME_MAX 63
#define CELLA_ED25519_KEY_LEN 32

/* "services" -> CELLA_ROLE_SERVICES; 0 for an unknown name. */
uint32_t cella_role_parse(const char *name);
/* A schema check() hook: every item of the list v names a role. */
int cella_roles_check(const cJSON *v, struct cella_diag *d);
/* Comma-separated names of the bits in roles ("services,logs"). */
int cella_roles_format(uint32_t roles, char *buf, size_t len);
/* "services,logs" -> bits; -EINVAL (d names the bad role) on error. */
int cella_roles_parse_list(const char *list, uint32_t *out,
			   struct cella_diag *d);

struct cella_operator {
	char name[CELLA_OPERATOR_NAME_MAX + 1];
	uint8_t key[CELLA_ED25519_KEY_LEN]; /* raw Ed25519 public key */
	uint32_t roles;
};

struct cella_operators {
	struct cella_operator op[CELLA_OPERATORS_MAX];
	size_t n;
	/* policy: */
	bool exec;	   /* policy.exec (a production enclave: false) */
	bool files;	   /* policy.files */
	bool debug;	   /* enclave.debug */
};

/* Schema rows for cella.yaml's `operators:` and `policy:` sections; the
 * item row of the operators list. */
extern const struct cella_conf_key cella_operators_keys[];
extern const struct cella_conf_key cella_operator_item[];
extern const struct cella_conf_key cella_policy_keys[];

/*
 * An operator's public key as written in cella.yaml: "ed25519:" followed by
 * the 32-byte key in base64 (what `cella keygen` prints). Returns 0 or
 * -EINVAL with d saying what is wrong.
 */
int cella_operator_key_parse(const char *text, uint8_t out[32],
			     struct cella_diag *d);
int cella_operator_key_format(const uint8_t key[32], char *buf, size_t len);

/*
 * Read the validated `operators`, `policy` and `enclave.debug` parts of a
 * config tree into *out (duplicate names or keys are -EINVAL with d).
 */
int cella_operators_load(const struct cella_conf *c,
			 struct cella_operators *out, struct cella_diag *d);

/* The operator with this key, or NULL. */
const struct cella_operator *
cella_operators_find(const struct cella_operators *ops, const uint8_t key[32]);

/*
 * The roles policy lets anyone hold: exec only when policy.exec or the
 * enclave is in debug mode, files only when policy.files (or debug).
 */
uint32_t cella_operators_allowed(const struct cella_operators *ops);

#endif
