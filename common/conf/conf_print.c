/*
 * conf_print: the two texts the schema produces. The effective
 * configuration as block-style YAML, keys in schema order, every string
 * either plain or double-quoted so that loading the output gives back the
 * same tree (the round trip is tested); and the key documentation, one line
 * per key. It does not preserve comments or the user's layout, and it prints
 * only keys the schema names.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/conf/conf_int.h"

#define DOC_PATH_MAX 256
#define DOC_ATTRS_MAX 320
/* A simple key ends within 1024 characters of its start (YAML 1.2, and
 * libyaml enforces it); bytes are never fewer than characters. */
#define KEY_SIMPLE_MAX 1000

struct printer {
	FILE *f;
	const struct cella_conf *c;
};

/*
 * What a YAML 1.1 reader (PyYAML, older yq, docker compose's habits) would
 * take for a boolean, a number or a date. Our reader sees strings, but the
 * printed config is meant for any tool, so these are quoted too.
 */
static bool
yaml11_special(const char *s, size_t n)
{
	static const char *const words[] = {
		"y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO",
		"on", "On", "ON", "off", "Off", "OFF", NULL};
	size_t i = s[0] == '-' || s[0] == '+';

	for (const char *const *w = words; *w != NULL; w++)
		if (strcmp(s, *w) == 0)
			return true;
	if (i >= n || !(s[i] >= '0' && s[i] <= '9'))
		return false;
	return strspn(s + i, "0123456789abcdefABCDEFxXoOtTzZ_:.+- ") == n - i;
}

/* Conservative: anything unusual is quoted, which always round-trips. */
static bool
plain_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || conf_scalar_kind(s, n) != CONF_KIND_STR ||
	    yaml11_special(s, n))
		return false;
	if (!(s[0] >= 'a' && s[0] <= 'z') && !(s[0] >= 'A' && s[0] <= 'Z') &&
	    !(s[0] >= '0' && s[0] <= '9') && s[0] != '_' && s[0] != '/')
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i], next = s[i + 1];

		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || strchr("_-./+=@,()~$%^", ch))
			continue;
		/* ": " would end a key; " #" would start a comment. */
		if (ch == ':' && next != '\0' && next != ' ')
			continue;
		if (ch == ' ' && next != '\0' && next != ' ' && next != '#')
			continue;
		return false;
	}
	return true;
}

/* Strict UTF-8: the length of the sequence at p, 0 when it is not one. */
static size_t
utf8_decode(const unsigned char *p, uint32_t *cp)
{
	size_t n = p[0] < 0x80 ? 1 : p[0] < 0xc2 ? 0 : p[0] < 0xe0 ? 2
		 : p[0] < 0xf0 ? 3 : p[0] < 0xf5 ? 4 : 0;
	static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
	uint32_t v;

	if (n <= 1) {
		*cp = p[0];
		return n;
	}
	v = p[0] & (0x7f >> n);
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		v = v << 6 | (p[i] & 0x3f);
	}
	if (v < min[n] || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return n;
}

/* What libyaml's reader lets through, minus its line breaks and BOM. */
static bool
printable(uint32_t cp)
{
	if (cp == 0x2028 || cp == 0x2029 || cp == 0xfeff)
		return false;
	return (cp >= 0x20 && cp < 0x7f) || (cp >= 0xa0 && cp <= 0xd7ff) ||
	       (cp >= 0xe000 && cp <= 0xfffd) ||
	       (cp >= 0x10000 && cp <= 0x10ffff);
}

/* n bytes of p to f; f NULL only counts them. */
static size_t
emit(FILE *f, const char *p, size_t n)
{
	if (f != NULL)
		fwrite(p, 1, n, f);
	return n;
}

static size_t
print_escape(FILE *f, uint32_t cp)
{
	static const struct {
		uint32_t cp;
		const char *esc;
	} named[] = {{'"', "\\\""}, {'\\', "\\\\"}, {'\n', "\\n"},
		     {'\t', "\\t"},  {'\r', "\\r"},  {0x85, "\\N"},
		     {0x2028, "\\L"}, {0x2029, "\\P"}};
	char buf[12];
	int n;

	for (size_t i = 0; i < sizeof(named) / sizeof(named[0]); i++)
		if (named[i].cp == cp)
			return emit(f, named[i].esc, strlen(named[i].esc));
	if (cp <= 0xff)
		n = snprintf(buf, sizeof(buf), "\\x%02X", cp);
	else if (cp <= 0xffff)
		n = snprintf(buf, sizeof(buf), "\\u%04X", cp);
	else
		n = snprintf(buf, sizeof(buf), "\\U%08X", cp);
	return emit(f, buf, (size_t)n);
}

/* s as YAML, plain or double-quoted; the bytes written (f NULL: counted). */
static size_t
print_string(FILE *f, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n, out;
	uint32_t cp;

	if (plain_ok(s))
		return emit(f, s, strlen(s));
	out = emit(f, "\"", 1);
	while (*p != '\0') {
		n = utf8_decode(p, &cp);
		if (n == 0) {
			/* Not from a loaded tree: the byte is all there is. */
			out += print_escape(f, *p);
			n = 1;
		} else if (cp != '"' && cp != '\\' && printable(cp)) {
			out += emit(f, (const char *)p, n);
		} else {
			out += print_escape(f, cp);
		}
		p += n;
	}
	return out + emit(f, "\"", 1);
}

const char *
conf_fmt_double(char *buf, size_t cap, double d)
{
	if (isnan(d)) {
		snprintf(buf, cap, ".nan");
	} else if (isinf(d)) {
		snprintf(buf, cap, "%s", d < 0 ? "-.inf" : ".inf");
	} else {
		/* The shortest form that reads back as the same double. */
		for (int prec = 15; prec <= 17; prec++) {
			snprintf(buf, cap, "%.*g", prec, d);
			if (strtod(buf, NULL) == d)
				break;
		}
		if (strpbrk(buf, ".e") == NULL && strlen(buf) + 3 <= cap)
			memcpy(buf + strlen(buf), ".0", 3);
	}
	return buf;
}

static void
print_number(const struct printer *p, const cJSON *n)
{
	const struct conf_line *e = conf_lines_get(&p->c->lines, n);
	double d = n->valuedouble;
	char buf[40];

	if ((e == NULL || !(e->flags & CONF_FLOAT)) && conf_is_int(d))
		fprintf(p->f, "%lld", (long long)d);
	else
		fputs(conf_fmt_double(buf, sizeof(buf), d), p->f);
}

struct iter {
	const cJSON *obj;
	const struct cella_conf_key *row; /* what obj follows, or NULL */
	const struct cella_conf_key *at;  /* OBJECT: the next schema row */
	const cJSON *child;		  /* otherwise: the next child */
};

static void
iter_init(struct iter *it, const cJSON *obj, const struct cella_conf_key *row)
{
	it->obj = obj;
	it->row = row;
	it->at = row != NULL ? row->sub : NULL;
	it->child = obj->child;
}

/* Next member to print, with its row: OBJECTs in schema order. */
static bool
iter_next(struct iter *it, const cJSON **item,
	  const struct cella_conf_key **row)
{
	const struct cella_conf_key *r = it->row;

	if (r != NULL && r->type == CELLA_CONF_OBJECT &&
	    cJSON_IsObject(it->obj)) {
		for (; it->at != NULL && it->at->key != NULL; it->at++) {
			*item = cJSON_GetObjectItemCaseSensitive(it->obj,
								 it->at->key);
			if (*item != NULL) {
				*row = it->at++;
				return true;
			}
		}
		return false;
	}
	if (it->child == NULL)
		return false;
	*item = it->child;
	it->child = it->child->next;
	*row = NULL;
	if (r != NULL && r->sub != NULL &&
	    ((r->type == CELLA_CONF_MAP && cJSON_IsObject(it->obj)) ||
	     (r->type == CELLA_CONF_LIST && cJSON_IsArray(it->obj))))
		*row = &r->sub[0];
	return true;
}

static bool
has_members(const cJSON *n, const struct cella_conf_key *row)
{
	struct iter it;
	const cJSON *item;
	const struct cella_conf_key *r;

	if (!cJSON_IsObject(n) && !cJSON_IsArray(n))
		return false;
	iter_init(&it, n, row);
	return iter_next(&it, &item, &r);
}

/* A scalar, or a collection with nothing to print, on one line. */
static void
print_inline(const struct printer *p, const cJSON *n)
{
	if (cJSON_IsObject(n))
		fputs("{}", p->f);
	else if (cJSON_IsArray(n))
		fputs("[]", p->f);
	else if (cJSON_IsString(n))
		print_string(p->f, n->valuestring);
	else if (cJSON_IsNumber(n))
		print_number(p, n);
	else if (cJSON_IsBool(n))
		fputs(cJSON_IsTrue(n) ? "true" : "false", p->f);
	else
		fputs("null", p->f);
}

static void print_block(const struct printer *p, const cJSON *n,
			const struct cella_conf_key *row, int indent,
			bool inline_first);

/* After "key:" or "-": the value on this line, or a block below. */
static void
print_value(const struct printer *p, const cJSON *n,
	    const struct cella_conf_key *row, int indent, bool after_dash)
{
	if (!has_members(n, row)) {
		fputc(' ', p->f);
		print_inline(p, n);
		fputc('\n', p->f);
	} else if (after_dash) {
		fputc(' ', p->f);
		print_block(p, n, row, indent + 2, true);
	} else {
		fputc('\n', p->f);
		print_block(p, n, row, indent + 2, false);
	}
}

/*
 * "key:", or for a key YAML cannot take as a simple key (longer than 1024
 * characters as written, quotes and escapes included) the explicit form
 * "? key" then ":" on a line of its own, which has no length limit.
 */
static void
print_key(const struct printer *p, const char *key, int indent)
{
	if (print_string(NULL, key) <= KEY_SIMPLE_MAX) {
		print_string(p->f, key);
	} else {
		fputs("? ", p->f);
		print_string(p->f, key);
		fprintf(p->f, "\n%*s", indent, "");
	}
	fputc(':', p->f);
}

static void
print_block(const struct printer *p, const cJSON *n,
	    const struct cella_conf_key *row, int indent, bool inline_first)
{
	const struct cella_conf_key *r;
	const cJSON *item;
	struct iter it;
	bool first = true;

	iter_init(&it, n, row);
	while (iter_next(&it, &item, &r)) {
		if (!first || !inline_first)
			fprintf(p->f, "%*s", indent, "");
		first = false;
		if (cJSON_IsArray(n)) {
			fputc('-', p->f);
			print_value(p, item, r, indent, true);
		} else {
			print_key(p, item->string, indent);
			print_value(p, item, r, indent, false);
		}
	}
}

void
cella_conf_print(FILE *f, const struct cella_conf *c,
		 const struct cella_conf_key *schema)
{
	const struct cella_conf_key top = {.type = CELLA_CONF_OBJECT,
					   .sub = schema};
	const struct printer p = {f, c};

	if (has_members(c->root, &top))
		print_block(&p, c->root, &top, 0, false);
	else
		fputs("{}\n", f);
}

static const char *const type_names[] = {
	[CELLA_CONF_BOOL] = "bool",	[CELLA_CONF_INT] = "int",
	[CELLA_CONF_STRING] = "string", [CELLA_CONF_ENUM] = "enum",
	[CELLA_CONF_ARGV] = "argv",	[CELLA_CONF_STRLIST] = "strings",
	[CELLA_CONF_OBJECT] = "object", [CELLA_CONF_LIST] = "list",
	[CELLA_CONF_MAP] = "map",
};

static const char *
type_name(enum cella_conf_type t)
{
	return (unsigned)t < sizeof(type_names) / sizeof(type_names[0]) &&
			       type_names[t] != NULL
		       ? type_names[t]
		       : "?";
}

static void
doc_attrs(const struct cella_conf_key *k, char *buf, size_t cap)
{
	static const char *const bound[] = {
		[CELLA_CONF_STRING] = "length ", [CELLA_CONF_ARGV] = "items ",
		[CELLA_CONF_STRLIST] = "items ", [CELLA_CONF_LIST] = "items ",
		[CELLA_CONF_MAP] = "entries ",
	};
	size_t o = 0;
	char esc[64];

#define ADD(...) \
	(o += o < cap ? (size_t)snprintf(buf + o, cap - o, __VA_ARGS__) : 0)
	buf[0] = '\0';
	if (k->required)
		ADD("required");
	if (k->def != NULL)
		ADD("%sdefault %s", o ? "; " : "",
		    conf_esc(esc, sizeof(esc), k->def, strlen(k->def)));
	if (k->type == CELLA_CONF_INT && (k->min != 0 || k->max != 0))
		ADD("%s%lld..%lld", o ? "; " : "", (long long)k->min,
		    (long long)k->max);
	else if ((unsigned)k->type < sizeof(bound) / sizeof(bound[0]) &&
		 bound[k->type] != NULL && k->max > 0)
		ADD("%s%s%lld..%lld", o ? "; " : "", bound[k->type],
		    (long long)k->min, (long long)k->max);
	for (const char *const *c = k->choices;
	     k->type == CELLA_CONF_ENUM && c != NULL && *c != NULL; c++)
		ADD("%s%s", c == k->choices ? (o ? "; one of " : "one of ")
					    : ", ",
		    *c);
#undef ADD
}

struct docs {
	FILE *f;
	int path_w, attrs_w; /* measured in the first pass */
	bool measure;
};

static void docs_rows(struct docs *dc, const struct cella_conf_key *rows,
		      char *path, int depth);

static void
docs_line(struct docs *dc, const struct cella_conf_key *k, const char *path)
{
	char attrs[DOC_ATTRS_MAX], line[1024];
	int alen, n;

	doc_attrs(k, attrs, sizeof(attrs));
	alen = (int)strlen(attrs);
	if (dc->measure) {
		if ((int)strlen(path) > dc->path_w)
			dc->path_w = (int)strlen(path);
		if (alen > dc->attrs_w && alen <= 48)
			dc->attrs_w = alen;
		return;
	}
	n = snprintf(line, sizeof(line), "%-*s  %-7s  %-*s  %s", dc->path_w,
		     path, type_name(k->type), dc->attrs_w, attrs,
		     k->desc != NULL ? k->desc : "");
	if (n >= (int)sizeof(line))
		n = (int)sizeof(line) - 1;
	while (n > 0 && line[n - 1] == ' ')
		n--;
	fprintf(dc->f, "%.*s\n", n, line);
}

/* One line for k (whose full path is in path), then what is under it. */
static void
docs_row(struct docs *dc, const struct cella_conf_key *k, char *path,
	 int depth)
{
	size_t n = strlen(path);

	docs_line(dc, k, path);
	if (k->sub == NULL || depth >= CELLA_CONF_DEPTH_MAX)
		return;
	if (k->type == CELLA_CONF_OBJECT) {
		docs_rows(dc, k->sub, path, depth + 1);
	} else if (k->type == CELLA_CONF_MAP || k->type == CELLA_CONF_LIST) {
		if (k->type == CELLA_CONF_MAP)
			snprintf(path + n, DOC_PATH_MAX - n, ".<%s>",
				 k->sub[0].key != NULL ? k->sub[0].key : "key");
		else
			snprintf(path + n, DOC_PATH_MAX - n, "[]");
		docs_row(dc, &k->sub[0], path, depth + 1);
	}
	path[n] = '\0';
}

static void
docs_rows(struct docs *dc, const struct cella_conf_key *rows, char *path,
	  int depth)
{
	size_t n = strlen(path);

	for (const struct cella_conf_key *k = rows; k->key != NULL; k++) {
		snprintf(path + n, DOC_PATH_MAX - n, "%s%s", n ? "." : "",
			 k->key);
		docs_row(dc, k, path, depth);
		path[n] = '\0';
	}
}

void
cella_conf_print_docs(FILE *f, const struct cella_conf_key *schema)
{
	struct docs dc = {f, 0, 0, true};
	char path[DOC_PATH_MAX] = "";

	if (schema == NULL)
		return;
	docs_rows(&dc, schema, path, 0);
	dc.measure = false;
	docs_rows(&dc, schema, path, 0);
}
