/*
 * conf: cella's configuration. A YAML file (libyaml) is read into one cJSON
 * tree that remembers the file and line of every node; a declarative schema
 * table per section validates it, fills in defaults, documents the keys
 * (--help style) and prints the effective configuration. Unknown keys, wrong
 * types and out-of-range values are errors naming file:line and the key path
 * ("cella.yaml:12: services.web.restart: expected one of no, on-failure,
 * always; got 'sometimes'").
 *
 * YAML features that do not belong in a config are refused with a clear
 * error: anchors and aliases, tags, multiple documents, duplicate keys,
 * non-scalar keys. Input is capped (file size, depth, node count).
 *
 * Each service validates and reads only its own section; the `cella` CLI
 * validates the whole file with the top-level table.
 */
#ifndef CELLA_CONF_H
#define CELLA_CONF_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "common/err.h"

#define CELLA_CONF_FILE_MAX (1u << 20) /* bytes */
#define CELLA_CONF_DEPTH_MAX 32
#define CELLA_CONF_NODES_MAX 100000

struct cella_conf;

/*
 * Load a YAML file (or, for _mem, the bytes of one named "name" in
 * diagnostics). Scalars become cJSON strings, numbers, booleans or null by
 * the YAML 1.2 core schema; quoted scalars are always strings. On success
 * *out is the caller's (cella_conf_free); on error nothing is allocated and
 * d says file:line and what was wrong.
 */
int cella_conf_load_file(const char *path, struct cella_conf **out,
			 struct cella_diag *d);
int cella_conf_load_mem(const char *name, const char *yaml, size_t len,
			struct cella_conf **out, struct cella_diag *d);
void cella_conf_free(struct cella_conf *c);

/* The tree (owned by c), the file name, and SHA-384 of the raw bytes. */
cJSON *cella_conf_root(const struct cella_conf *c);
const char *cella_conf_name(const struct cella_conf *c);
void cella_conf_digest(const struct cella_conf *c, uint8_t out[48]);
/* Line (1-based) of a node of c's tree; 0 for nodes the schema added. */
int cella_conf_line(const struct cella_conf *c, const cJSON *node);

enum cella_conf_type {
	CELLA_CONF_BOOL,
	CELLA_CONF_INT,	   /* integer within [min, max] */
	CELLA_CONF_STRING, /* length within [min, max] when max > 0 */
	CELLA_CONF_ENUM,   /* a string from choices */
	CELLA_CONF_ARGV,   /* a string (split on blanks) or a list of strings;
			      always stored as a list */
	CELLA_CONF_STRLIST, /* a list of strings */
	CELLA_CONF_OBJECT, /* fixed keys: sub */
	CELLA_CONF_LIST,   /* a list whose items follow sub[0] */
	CELLA_CONF_MAP,	   /* user-chosen keys, each value follows sub[0] */
};

/*
 * One row of a schema table; a table ends with a row whose key is NULL.
 * def is the default as YAML text (NULL: no default; absent stays absent
 * unless required). check, when set, runs after the type check for semantic
 * validation (an address that must parse, say) and writes its reason to d.
 */
struct cella_conf_key {
	const char *key;
	enum cella_conf_type type;
	const char *def;
	int64_t min, max;
	const char *const *choices; /* ENUM: NULL-terminated */
	const struct cella_conf_key *sub;
	bool required;
	int (*check)(const cJSON *value, struct cella_diag *d);
	const char *desc;
};

/*
 * Validate the subtree at path ("" for the root, "services" for a section)
 * against schema, filling defaults into the tree. On error the tree is left
 * as it was and d names file:line and key path.
 */
int cella_conf_validate(struct cella_conf *c, const char *path,
			const struct cella_conf_key *schema,
			struct cella_diag *d);

/* Key documentation: one line per key (path, type, default, bounds, desc). */
void cella_conf_print_docs(FILE *f, const struct cella_conf_key *schema);

/* The effective configuration (after validate) as YAML, in schema order. */
void cella_conf_print(FILE *f, const struct cella_conf *c,
		      const struct cella_conf_key *schema);

/* Typed getters for validated trees; fallback when absent. */
const char *cella_conf_str(const cJSON *obj, const char *key,
			   const char *fallback);
int64_t cella_conf_int(const cJSON *obj, const char *key, int64_t fallback);
bool cella_conf_bool(const cJSON *obj, const char *key, bool fallback);

#endif
