/*
 * conf_int: what the pieces of the conf module (conf.c: loading and the
 * node->line table; conf_yaml.c: libyaml events to cJSON; conf_schema.c:
 * validation; conf_print.c: YAML and key documentation output) share. Not a
 * contract for anyone else: include common/conf/conf.h instead.
 */
#ifndef CELLA_CONF_INT_H
#define CELLA_CONF_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/conf/conf.h"

/* Integers are kept within +-2^53, where a double holds them exactly. */
#define CONF_INT_EXACT 9007199254740992.0

/* d is an integer a double holds exactly (NaN and infinities are not). */
static inline bool
conf_is_int(double d)
{
	return d >= -CONF_INT_EXACT && d <= CONF_INT_EXACT &&
	       d == (double)(int64_t)d;
}

/* A node was written as a YAML float (3.0 is a float, not an integer). */
#define CONF_FLOAT 1u

struct conf_line {
	const cJSON *node; /* NULL: free slot */
	uint32_t line;
	uint32_t flags;
};

/*
 * The side table node -> line: cJSON has no spare field. Open addressing
 * with linear probing; capacity is a power of two and at most 3/4 full.
 */
struct conf_lines {
	struct conf_line *v;
	size_t cap;
	size_t n;
};

int conf_lines_put(struct conf_lines *t, const cJSON *node, uint32_t line,
		   uint32_t flags);
const struct conf_line *conf_lines_get(const struct conf_lines *t,
				       const cJSON *node);
/* Forget node and everything under it (before it is deleted). */
void conf_lines_del_tree(struct conf_lines *t, const cJSON *node);
void conf_lines_fini(struct conf_lines *t);

struct cella_conf {
	char *name;
	cJSON *root;
	struct conf_lines lines;
	uint8_t digest[48];
};

enum conf_kind {
	CONF_KIND_NULL,
	CONF_KIND_BOOL,
	CONF_KIND_INT,
	CONF_KIND_FLOAT,
	CONF_KIND_STR,
};

/* Validation's state: where in the tree it is, for diagnostics. */
struct conf_vctx {
	struct cella_conf *c;
	struct cella_diag *d;
	int depth;
	int in_default; /* checking a default from the schema, not the file */
	size_t plen;
	char path[320];
};

/* Append ".key" (key != NULL) or "[idx]" to the path; returns the length
 * to give back to conf_path_pop. */
size_t conf_path_push(struct conf_vctx *v, const char *key, size_t idx);
int conf_type_err(struct conf_vctx *v, const cJSON *n, const char *want);
int conf_vnomem(struct conf_vctx *v);
/* Forget a detached node and everything under it, and free it. */
void conf_discard(struct conf_vctx *v, cJSON *n);
/* Check obj against a table of keys, filling defaults into obj. */
int conf_check_object(struct conf_vctx *v, const struct cella_conf_key *sub,
		      cJSON *obj);

/* What a plain (unquoted) scalar means under the YAML 1.2 core schema. */
enum conf_kind conf_scalar_kind(const char *s, size_t n);

/*
 * Parse one YAML document into *out, of any type (NULL when the stream holds
 * no document). Lines and flags of the nodes go to lines when it is not NULL.
 * Errors are "name:line: what" in d; -EINVAL for content, -ENOMEM.
 */
int conf_parse(const char *name, const char *yaml, size_t len,
	       struct conf_lines *lines, cJSON **out, struct cella_diag *d);

/* A double as YAML reads it back as the same float: "3.0", "1e+20", ".inf". */
const char *conf_fmt_double(char *buf, size_t cap, double d);

/*
 * s (n bytes) made safe to show in a diagnostic: printable ASCII as is,
 * anything else as \xNN, cut to fit cap with "..." at the end. Returns buf.
 */
const char *conf_esc(char *buf, size_t cap, const char *s, size_t n);

#endif
