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
 * Strings are also refused if they hold a NUL character, and integers if a
 * double cannot hold them exactly (beyond 2^53 either side of 0).
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

#include "common/core/err.h"

#define CELLA_CONF_FILE_MAX (1u << 20) /* bytes */
#define CELLA_CONF_DEPTH_MAX 32
#define CELLA_CONF_NODES_MAX 100000

struct cella_conf;

/*
 * Load a YAML file (or, for _mem, the bytes of one named "name" in
 * diagnostics). Scalars become cJSON strings, numbers, booleans or null by
 * the YAML 1.2 core schema (null ~ and empty; true/false in three cases;
 * decimal integers with an optional sign; floats incl. .inf and .nan;
 * everything else, 0x1F and yes included, is a string); quoted and block
 * scalars are always strings. The top level must be a mapping; an empty file
 * (or one holding only null) is an empty mapping. On success *out is the
 * caller's (cella_conf_free); on error nothing is allocated and d says
 * file:line and what was wrong. Errors: -EINVAL for anything about the
 * content (syntax, invalid UTF-8, refused features, depth and node caps),
 * -EFBIG over CELLA_CONF_FILE_MAX, -errno from open/read, -ENOMEM; a path
 * that is not a regular file is refused without blocking (a FIFO) with
 * -EISDIR or -ENODEV (file.h).
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
/*
 * Line (1-based) of a node of c's tree: for a mapping's member, the line of
 * its key. 0 for nodes the schema added (defaults) and for NULL.
 */
int cella_conf_line(const struct cella_conf *c, const cJSON *node);

enum cella_conf_type {
	CELLA_CONF_BOOL,
	CELLA_CONF_INT,	   /* a YAML integer (not "3", not 3.0) within
			      [min, max]; min == max == 0: no bounds */
	CELLA_CONF_STRING, /* length within [min, max] when max > 0 */
	CELLA_CONF_ENUM,   /* a string from choices */
	CELLA_CONF_ARGV,   /* a string or a list of strings; always stored as
			      a list. A string is split on blanks (space, tab,
			      newline) and nothing else: no quotes, escapes or
			      other shell syntax, so "sh -c 'a b'" is four
			      words; write a list for that. Items within
			      [min, max] when max > 0 */
	CELLA_CONF_STRLIST, /* a list of strings; items as ARGV */
	CELLA_CONF_OBJECT, /* fixed keys: sub */
	CELLA_CONF_LIST,   /* a list whose items follow sub[0]; items as ARGV */
	CELLA_CONF_MAP,	   /* user-chosen keys, each value follows sub[0];
			      entries within [min, max] when max > 0 */
};

/*
 * One row of a schema table; a table ends with a row whose key is NULL.
 * def is the default as YAML text ("2", "''", "[]", "{}"; NULL: no default;
 * absent stays absent unless required); it is validated like a value from
 * the file, so an OBJECT whose def is "{}" appears with its own defaults,
 * and a default that fails is reported as a schema error. For LIST and MAP,
 * sub[0] describes every item and its key names the item in the docs
 * ("services.<name>.restart"). A null value ("section:" with nothing under
 * it) is an empty OBJECT, MAP, LIST or STRLIST, and a type error otherwise.
 * check, when set, runs after the value and everything under it passed and
 * got its defaults (an ARGV is a list by then), for semantic validation (an
 * address that must parse, say); it returns 0 or -errno and writes its
 * reason to d, which the error message then carries after file:line: path.
 * check_key, on a MAP's row, judges each user-chosen key (NUL-terminated)
 * the same way, before its value; the error names the key's own line and
 * path. Without it any key is accepted, and the printer still writes any
 * key so that it reads back.
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
	int (*check_key)(const char *key, struct cella_diag *d);
	const char *desc;
};

/*
 * Validate the mapping at path ("" for the root, "kms" for a section,
 * dotted for deeper ones) against schema, the table of its keys, filling
 * defaults into the tree. An absent section is validated as an empty one
 * and added, so that its defaults can be read. Validating again is
 * harmless. On error the tree is left exactly as it was and d names
 * file:line and the full key path ("services.web.restart",
 * "operators[1].name"); -EINVAL, a check()'s own code, or -ENOMEM.
 */
int cella_conf_validate(struct cella_conf *c, const char *path,
			const struct cella_conf_key *schema,
			struct cella_diag *d);

/*
 * Key documentation: one line per key (path, type, default, bounds or
 * choices, desc), in aligned columns; items of a MAP or LIST appear as
 * "services.<name>" and "operators[]".
 */
void cella_conf_print_docs(FILE *f, const struct cella_conf_key *schema);

/*
 * The effective configuration (after validate) as block YAML, keys in
 * schema order (a MAP's in file order). Only keys the schema names are
 * printed: to print one section, pass a one-row table naming it. Strings
 * are quoted whenever a YAML reader, 1.2 or 1.1, could take them for
 * anything else, so the output loads back to the same tree here and
 * elsewhere. Comments and layout are not kept.
 */
void cella_conf_print(FILE *f, const struct cella_conf *c,
		      const struct cella_conf_key *schema);

/* Typed getters for validated trees; fallback when absent or mistyped. */
const char *cella_conf_str(const cJSON *obj, const char *key,
			   const char *fallback);
int64_t cella_conf_int(const cJSON *obj, const char *key, int64_t fallback);
bool cella_conf_bool(const cJSON *obj, const char *key, bool fallback);

#endif
