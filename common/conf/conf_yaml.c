/*
 * conf_yaml: libyaml's event stream turned into one cJSON tree, with the
 * line of every node in the side table. Scalars are typed by the YAML 1.2
 * core schema, restricted to decimal integers; a quoted or block scalar is
 * always a string. What a config has no use for and a reviewer cannot see
 * through is refused here, with file:line: anchors, aliases, tags, a second
 * document, duplicate or non-scalar keys, NUL bytes, integers a double
 * cannot hold exactly, and input past the depth and node caps. It does not
 * know any key: that is the schema's job.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "common/conf/conf_int.h"

/* Integers beyond 2^53 would silently lose digits in a double. */
#define INT_EXACT_MAX 9007199254740992ull

struct frame {
	cJSON *node;	   /* the mapping or sequence being filled */
	char *key;	   /* a mapping's pending key (cJSON_malloc'd) */
	uint32_t key_line; /* where that key was */
	size_t items;	   /* a sequence's items so far */
};

struct builder {
	const char *name;
	const char *src;
	size_t len;
	struct conf_lines *lines;
	struct cella_diag *d;
	struct frame st[CELLA_CONF_DEPTH_MAX];
	int depth;
	size_t nodes;
	int docs;
	cJSON *root;
};

static bool
is_one_of(const char *s, size_t n, const char *const *set)
{
	for (; *set != NULL; set++)
		if (strlen(*set) == n && memcmp(s, *set, n) == 0)
			return true;
	return false;
}

static size_t
digits(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && s[i] >= '0' && s[i] <= '9')
		i++;
	return i;
}

/* [-+]? ( \. [0-9]+ | [0-9]+ ( \. [0-9]* )? ) ( [eE] [-+]? [0-9]+ )? */
static bool
is_float(const char *s, size_t n)
{
	size_t i = 0, whole, frac = 0, e;

	if (i < n && (s[i] == '-' || s[i] == '+'))
		i++;
	whole = digits(s + i, n - i);
	i += whole;
	if (i < n && s[i] == '.') {
		i++;
		frac = digits(s + i, n - i);
		i += frac;
	}
	if (whole == 0 && frac == 0)
		return false;
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '-' || s[i] == '+'))
			i++;
		e = digits(s + i, n - i);
		if (e == 0)
			return false;
		i += e;
	}
	return i == n;
}

enum conf_kind
conf_scalar_kind(const char *s, size_t n)
{
	static const char *const nulls[] = {"", "~", "null", "Null", "NULL",
					    NULL};
	static const char *const bools[] = {"true", "True", "TRUE", "false",
					    "False", "FALSE", NULL};
	static const char *const special[] = {".inf", ".Inf", ".INF", ".nan",
					      ".NaN", ".NAN", NULL};
	size_t sign = n > 0 && (s[0] == '-' || s[0] == '+');

	if (is_one_of(s, n, nulls))
		return CONF_KIND_NULL;
	if (is_one_of(s, n, bools))
		return CONF_KIND_BOOL;
	if (n > sign && digits(s + sign, n - sign) == n - sign)
		return CONF_KIND_INT;
	if (is_float(s, n) || is_one_of(s, n, special) ||
	    (sign && n > 1 && s[1] == '.' && is_one_of(s + 1, n - 1, special) &&
	     (s[2] == 'i' || s[2] == 'I')))
		return CONF_KIND_FLOAT;
	return CONF_KIND_STR;
}

/*
 * Where the parser is: the open collections and the pending key, as in
 * "services.web" or "operators[1]".
 */
static const char *
open_path(const struct builder *b, char *buf, size_t cap)
{
	size_t o = 0;
	char seg[96];

	buf[0] = '\0';
	for (int i = 1; i < b->depth && o < cap; i++) {
		const struct frame *up = &b->st[i - 1];

		if (cJSON_IsObject(up->node))
			o += (size_t)snprintf(
			    buf + o, cap - o, "%s%s", o ? "." : "",
			    conf_esc(seg, sizeof(seg), b->st[i].node->string,
				     strlen(b->st[i].node->string)));
		else
			o += (size_t)snprintf(buf + o, cap - o, "[%zu]",
					      up->items - 1);
	}
	if (b->depth > 0 && b->st[b->depth - 1].key != NULL && o < cap)
		snprintf(buf + o, cap - o, "%s%s", o ? "." : "",
			 conf_esc(seg, sizeof(seg), b->st[b->depth - 1].key,
				  strlen(b->st[b->depth - 1].key)));
	return buf;
}

static int
fail(const struct builder *b, uint32_t line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int
fail(const struct builder *b, uint32_t line, const char *fmt, ...)
{
	char msg[384], path[192];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	open_path(b, path, sizeof(path));
	return cella_diag_set(b->d, -EINVAL, "%s:%u: %s%s%s", b->name, line,
			      path, path[0] ? ": " : "", msg);
}

static int
nomem(const struct builder *b)
{
	return cella_diag_set(b->d, -ENOMEM, "%s: out of memory", b->name);
}

static int
parser_error(const struct builder *b, const yaml_parser_t *p)
{
	size_t line = 1;

	if (p->error == YAML_MEMORY_ERROR)
		return nomem(b);
	if (p->error == YAML_READER_ERROR) {
		/* Reader errors carry a byte offset, not a mark. */
		for (size_t i = 0; i < p->problem_offset && i < b->len; i++)
			line += b->src[i] == '\n';
		if (p->problem_value != -1)
			return cella_diag_set(b->d, -EINVAL, "%s:%zu: %s: #%X",
					      b->name, line, p->problem,
					      (unsigned)p->problem_value);
		return cella_diag_set(b->d, -EINVAL, "%s:%zu: %s", b->name,
				      line, p->problem);
	}
	line = p->problem_mark.line + 1;
	if (p->context != NULL)
		return cella_diag_set(
		    b->d, -EINVAL, "%s:%zu: %s (%s at line %zu)", b->name, line,
		    p->problem ? p->problem : "syntax error", p->context,
		    p->context_mark.line + 1);
	return cella_diag_set(b->d, -EINVAL, "%s:%zu: %s", b->name, line,
			      p->problem ? p->problem : "syntax error");
}

static int
check_props(const struct builder *b, const yaml_char_t *anchor,
	    const yaml_char_t *tag, uint32_t line)
{
	char esc[64];

	if (anchor != NULL)
		return fail(
		    b, line,
		    "anchors (&%s) are not supported: write the value out",
		    conf_esc(esc, sizeof(esc), (const char *)anchor,
			     strlen((const char *)anchor)));
	if (tag != NULL)
		return fail(b, line, "tags (%s) are not supported",
			    conf_esc(esc, sizeof(esc), (const char *)tag,
				     strlen((const char *)tag)));
	return 0;
}

/* Link node under the innermost open collection (or make it the root). */
static int
attach(struct builder *b, cJSON *node, uint32_t line, uint32_t flags)
{
	struct frame *top = b->depth ? &b->st[b->depth - 1] : NULL;

	if (node == NULL)
		return nomem(b);
	if (++b->nodes > CELLA_CONF_NODES_MAX) {
		cJSON_Delete(node);
		return fail(b, line, "more than %d nodes",
			    CELLA_CONF_NODES_MAX);
	}
	if (top == NULL) {
		b->root = node;
	} else if (cJSON_IsObject(top->node)) {
		/* A member's line is its key's: that is where people look. */
		node->string = top->key;
		top->key = NULL;
		line = top->key_line;
		cJSON_AddItemToArray(top->node, node);
	} else {
		cJSON_AddItemToArray(top->node, node);
		top->items++;
	}
	return conf_lines_put(b->lines, node, line, flags) < 0 ? nomem(b) : 0;
}

static int
make_int(const struct builder *b, const char *s, size_t n, uint32_t line,
	 cJSON **out)
{
	size_t i = s[0] == '-' || s[0] == '+';
	uint64_t v = 0;
	char esc[64];

	for (; i < n; i++) {
		v = v * 10 + (uint64_t)(s[i] - '0');
		if (v > INT_EXACT_MAX)
			return fail(b, line,
				    "integer %s is out of range (at most 2^53 "
				    "either side of 0); quote it if it is a "
				    "string",
				    conf_esc(esc, sizeof(esc), s, n));
	}
	*out = cJSON_CreateNumber(s[0] == '-' ? -(double)v : (double)v);
	return 0;
}

static cJSON *
make_float(const char *s, size_t n)
{
	const char *p = s + (s[0] == '-' || s[0] == '+');

	(void)n;
	if (p[0] == '.' && (p[1] == 'n' || p[1] == 'N'))
		return cJSON_CreateNumber(NAN);
	if (p[0] == '.' && (p[1] == 'i' || p[1] == 'I'))
		return cJSON_CreateNumber(s[0] == '-' ? -INFINITY : INFINITY);
	return cJSON_CreateNumber(strtod(s, NULL));
}

static int
on_value(struct builder *b, const yaml_event_t *ev, uint32_t line)
{
	const char *s = (const char *)ev->data.scalar.value;
	size_t n = ev->data.scalar.length;
	uint32_t flags = 0;
	cJSON *node = NULL;
	int rv = 0;

	if (ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return attach(b, cJSON_CreateString(s), line, 0);
	switch (conf_scalar_kind(s, n)) {
	case CONF_KIND_NULL:
		node = cJSON_CreateNull();
		break;
	case CONF_KIND_BOOL:
		node = cJSON_CreateBool(s[0] == 't' || s[0] == 'T');
		break;
	case CONF_KIND_INT:
		rv = make_int(b, s, n, line, &node);
		break;
	case CONF_KIND_FLOAT:
		node = make_float(s, n);
		flags = CONF_FLOAT;
		break;
	case CONF_KIND_STR:
		node = cJSON_CreateString(s);
		break;
	}
	return rv < 0 ? rv : attach(b, node, line, flags);
}

static int
on_scalar(struct builder *b, const yaml_event_t *ev, uint32_t line)
{
	struct frame *top = b->depth ? &b->st[b->depth - 1] : NULL;
	const char *s = (const char *)ev->data.scalar.value;
	size_t n = ev->data.scalar.length;
	int rv;

	rv = check_props(b, ev->data.scalar.anchor, ev->data.scalar.tag, line);
	if (rv < 0)
		return rv;
	/* cJSON strings end at the first NUL: refuse rather than cut. */
	if (memchr(s, '\0', n) != NULL)
		return fail(b, line, "a string holds a NUL character");
	if (top == NULL || !cJSON_IsObject(top->node) || top->key != NULL)
		return on_value(b, ev, line);
	top->key = cJSON_malloc(n + 1);
	if (top->key == NULL)
		return nomem(b);
	memcpy(top->key, s, n + 1);
	top->key_line = line;
	return 0;
}

static int
on_start(struct builder *b, const yaml_event_t *ev, uint32_t line)
{
	bool map = ev->type == YAML_MAPPING_START_EVENT;
	struct frame *top = b->depth ? &b->st[b->depth - 1] : NULL;
	cJSON *node;
	int rv;

	rv = map ? check_props(b, ev->data.mapping_start.anchor,
			       ev->data.mapping_start.tag, line)
		 : check_props(b, ev->data.sequence_start.anchor,
			       ev->data.sequence_start.tag, line);
	if (rv < 0)
		return rv;
	if (top != NULL && cJSON_IsObject(top->node) && top->key == NULL)
		return fail(b, line, "a key must be a scalar, not a %s",
			    map ? "mapping" : "list");
	if (b->depth >= CELLA_CONF_DEPTH_MAX)
		return fail(b, line, "nested deeper than %d levels",
			    CELLA_CONF_DEPTH_MAX);
	node = map ? cJSON_CreateObject() : cJSON_CreateArray();
	rv = attach(b, node, line, 0);
	if (rv < 0)
		return rv;
	b->st[b->depth++] = (struct frame){.node = node};
	return 0;
}

struct member {
	const cJSON *node;
	size_t idx;
};

static int
member_cmp(const void *pa, const void *pb)
{
	const struct member *a = pa, *b = pb;
	int r = strcmp(a->node->string, b->node->string);

	if (r != 0)
		return r;
	return a->idx < b->idx ? -1 : a->idx > b->idx;
}

/* Sorting makes this O(n log n): a mapping may have 10^5 keys. */
static int
check_dups(const struct builder *b, const cJSON *map)
{
	const struct member *dup = NULL;
	struct member *m;
	size_t n = 0;
	char esc[96];
	int rv = 0;

	for (const cJSON *k = map->child; k != NULL; k = k->next)
		n++;
	if (n < 2)
		return 0;
	m = calloc(n, sizeof(*m));
	if (m == NULL)
		return nomem(b);
	n = 0;
	for (const cJSON *k = map->child; k != NULL; k = k->next, n++)
		m[n] = (struct member){k, n};
	qsort(m, n, sizeof(*m), member_cmp);
	/* The earliest second occurrence, compared with its first. */
	for (size_t i = 1; i < n; i++)
		if (strcmp(m[i - 1].node->string, m[i].node->string) == 0 &&
		    (i < 2 || strcmp(m[i - 2].node->string,
				     m[i - 1].node->string) != 0) &&
		    (dup == NULL || m[i].idx < dup->idx))
			dup = &m[i];
	if (dup != NULL)
		rv = fail(b, conf_lines_get(b->lines, dup->node)->line,
			  "duplicate key '%s' (first at line %u)",
			  conf_esc(esc, sizeof(esc), dup->node->string,
				   strlen(dup->node->string)),
			  conf_lines_get(b->lines, dup[-1].node)->line);
	free(m);
	return rv;
}

static int
on_end(struct builder *b)
{
	struct frame *top = &b->st[b->depth - 1];
	int rv = 0;

	if (cJSON_IsObject(top->node))
		rv = check_dups(b, top->node);
	if (rv == 0) {
		cJSON_free(top->key);
		top->key = NULL;
		b->depth--;
	}
	return rv;
}

static int
on_event(struct builder *b, const yaml_event_t *ev)
{
	uint32_t line = (uint32_t)ev->start_mark.line + 1;
	char esc[64];

	switch (ev->type) {
	case YAML_DOCUMENT_START_EVENT:
		if (++b->docs > 1)
			return fail(b, line,
				    "a second document: a config file holds "
				    "exactly one");
		return 0;
	case YAML_ALIAS_EVENT:
		return fail(
		    b, line, "aliases (*%s) are not supported",
		    conf_esc(esc, sizeof(esc),
			     (const char *)ev->data.alias.anchor,
			     strlen((const char *)ev->data.alias.anchor)));
	case YAML_SCALAR_EVENT:
		return on_scalar(b, ev, line);
	case YAML_MAPPING_START_EVENT:
	case YAML_SEQUENCE_START_EVENT:
		return on_start(b, ev, line);
	case YAML_MAPPING_END_EVENT:
	case YAML_SEQUENCE_END_EVENT:
		return on_end(b);
	default:
		return 0;
	}
}

int
conf_parse(const char *name, const char *yaml, size_t len,
	   struct conf_lines *lines, cJSON **out, struct cella_diag *d)
{
	struct conf_lines own = {NULL, 0, 0};
	struct builder b = {.name = name, .src = yaml, .len = len, .d = d};
	yaml_parser_t p;
	yaml_event_t ev;
	bool end = false;
	int rv = 0;

	b.lines = lines != NULL ? lines : &own;
	if (!yaml_parser_initialize(&p))
		return nomem(&b);
	yaml_parser_set_input_string(
	    &p, (const unsigned char *)(len ? yaml : ""), len);
	while (!end && rv == 0) {
		if (!yaml_parser_parse(&p, &ev)) {
			rv = parser_error(&b, &p);
			break;
		}
		end = ev.type == YAML_STREAM_END_EVENT;
		rv = on_event(&b, &ev);
		yaml_event_delete(&ev);
	}
	for (int i = 0; i < b.depth; i++)
		cJSON_free(b.st[i].key);
	if (rv < 0) {
		conf_lines_del_tree(b.lines, b.root);
		cJSON_Delete(b.root);
	} else {
		*out = b.root;
	}
	yaml_parser_delete(&p);
	conf_lines_fini(&own);
	return rv;
}
