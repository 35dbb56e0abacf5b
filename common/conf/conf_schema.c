/*
 * conf_schema: one value checked against one row of a schema table, and
 * everything beneath it: types, bounds, choices, required keys, check()
 * hooks. It works on validation's private copy (conf_validate.c), which is
 * why it may fill defaults in, split ARGV strings and turn a null section
 * into an empty one as it goes. Diagnostics name file:line and the full key
 * path ("services.web.restart", "operators[1].name"). It does not interpret
 * values beyond that: check() hooks do.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/conf/conf_int.h"

/* Schemas nest through defaults too; a table that contains itself stops. */
#define SCHEMA_DEPTH_MAX 64

static int check_node(struct conf_vctx *v, const struct cella_conf_key *k,
		      cJSON *parent, cJSON *node);

size_t
conf_path_push(struct conf_vctx *v, const char *key, size_t idx)
{
	size_t old = v->plen, room = sizeof(v->path) - v->plen;
	char esc[96];
	int n;

	if (key != NULL)
		n = snprintf(v->path + v->plen, room, "%s%s",
			     v->plen ? "." : "",
			     conf_esc(esc, sizeof(esc), key, strlen(key)));
	else
		n = snprintf(v->path + v->plen, room, "[%zu]", idx);
	v->plen += (size_t)n < room ? (size_t)n : room - 1;
	return old;
}

static void
path_pop(struct conf_vctx *v, size_t old)
{
	v->plen = old;
	v->path[old] = '\0';
}

static int
verr_code(struct conf_vctx *v, int code, const cJSON *at, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int
verr_code(struct conf_vctx *v, int code, const cJSON *at, const char *fmt, ...)
{
	const char *name = v->c->name;
	int line = at != NULL ? cella_conf_line(v->c, at) : 0;
	char msg[384], where[24] = "";
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (v->in_default)
		return cella_diag_set(v->d, code,
				      "%s: %s: bad default in the schema: %s",
				      name, v->path, msg);
	if (line > 0)
		snprintf(where, sizeof(where), ":%d", line);
	return cella_diag_set(v->d, code, "%s%s: %s%s%s", name, where, v->path,
			      v->plen ? ": " : "", msg);
}

#define verr(v, at, ...) verr_code(v, -EINVAL, at, __VA_ARGS__)

int
conf_vnomem(struct conf_vctx *v)
{
	return cella_diag_set(v->d, -ENOMEM, "%s: out of memory", v->c->name);
}

/* A value as the user wrote it, for "got ..." in a diagnostic. */
static const char *
describe(const struct conf_vctx *v, const cJSON *n, char *buf, size_t cap)
{
	const struct conf_line *e = conf_lines_get(&v->c->lines, n);
	char esc[64];

	if (cJSON_IsString(n))
		snprintf(buf, cap, "'%s'",
			 conf_esc(esc, sizeof(esc), n->valuestring,
				  strlen(n->valuestring)));
	else if (cJSON_IsNumber(n) && ((e != NULL && (e->flags & CONF_FLOAT)) ||
				       !conf_is_int(n->valuedouble)))
		conf_fmt_double(buf, cap, n->valuedouble);
	else if (cJSON_IsNumber(n))
		snprintf(buf, cap, "%lld", (long long)n->valuedouble);
	else if (cJSON_IsBool(n))
		snprintf(buf, cap, "%s", cJSON_IsTrue(n) ? "true" : "false");
	else if (cJSON_IsNull(n))
		snprintf(buf, cap, "null");
	else
		snprintf(buf, cap, "%s",
			 cJSON_IsObject(n) ? "a mapping" : "a list");
	return buf;
}

int
conf_type_err(struct conf_vctx *v, const cJSON *n, const char *want)
{
	char got[80];

	return verr(v, n, "expected %s; got %s", want,
		    describe(v, n, got, sizeof(got)));
}

/* Forget a detached node and everything under it. */
void
conf_discard(struct conf_vctx *v, cJSON *n)
{
	conf_lines_del_tree(&v->c->lines, n);
	cJSON_Delete(n);
}

/* Put nw where old is (same key, same line); old is freed. */
static int
replace(struct conf_vctx *v, cJSON *parent, cJSON *old, cJSON *nw, cJSON **out)
{
	int line = cella_conf_line(v->c, old);

	if (nw == NULL)
		return conf_vnomem(v);
	if (old->string != NULL) {
		nw->string = cJSON_malloc(strlen(old->string) + 1);
		if (nw->string == NULL) {
			conf_discard(v, nw);
			return conf_vnomem(v);
		}
		memcpy(nw->string, old->string, strlen(old->string) + 1);
	}
	if (line > 0 &&
	    conf_lines_put(&v->c->lines, nw, (uint32_t)line, 0) < 0) {
		conf_discard(v, nw);
		return conf_vnomem(v);
	}
	conf_lines_del_tree(&v->c->lines, old);
	cJSON_ReplaceItemViaPointer(parent, old, nw);
	*out = nw;
	return 0;
}

static int
check_int(struct conf_vctx *v, const struct cella_conf_key *k, const cJSON *n)
{
	const struct conf_line *e = conf_lines_get(&v->c->lines, n);
	int64_t x;

	if (!cJSON_IsNumber(n) || (e != NULL && (e->flags & CONF_FLOAT)) ||
	    !conf_is_int(n->valuedouble))
		return conf_type_err(v, n, "an integer");
	x = (int64_t)n->valuedouble;
	if (k->min == 0 && k->max == 0)
		return 0;
	if (x < k->min)
		return verr(v, n, "%lld is below the minimum %lld",
			    (long long)x, (long long)k->min);
	if (x > k->max)
		return verr(v, n, "%lld is above the maximum %lld",
			    (long long)x, (long long)k->max);
	return 0;
}

static int
check_string(struct conf_vctx *v, const struct cella_conf_key *k,
	     const cJSON *n)
{
	char got[80];
	size_t len;

	if (!cJSON_IsString(n))
		return conf_type_err(v, n, "a string");
	len = strlen(n->valuestring);
	if (k->max <= 0)
		return 0;
	if ((int64_t)len < k->min)
		return verr(
		    v, n, "%s is %zu bytes long, below the minimum %lld",
		    describe(v, n, got, sizeof(got)), len, (long long)k->min);
	if ((int64_t)len > k->max)
		return verr(
		    v, n, "%s is %zu bytes long, above the maximum %lld",
		    describe(v, n, got, sizeof(got)), len, (long long)k->max);
	return 0;
}

static int
check_enum(struct conf_vctx *v, const struct cella_conf_key *k, const cJSON *n)
{
	char want[256], got[80];
	size_t o = 0;

	for (const char *const *c = k->choices; c != NULL && *c != NULL; c++) {
		if (cJSON_IsString(n) && strcmp(n->valuestring, *c) == 0)
			return 0;
		if (o < sizeof(want))
			o += (size_t)snprintf(want + o, sizeof(want) - o,
					      "%s%s", o ? ", " : "", *c);
	}
	if (o == 0)
		snprintf(want, sizeof(want), "(no choices)");
	return verr(v, n, "expected one of %s; got %s", want,
		    describe(v, n, got, sizeof(got)));
}

/* min/max bound the number of items (or entries) when max > 0. */
static int
check_count(struct conf_vctx *v, const struct cella_conf_key *k, const cJSON *n,
	    const char *what)
{
	size_t count = (size_t)cJSON_GetArraySize(n);

	if (k->max <= 0)
		return 0;
	if ((int64_t)count < k->min)
		return verr(v, n, "%zu %s, below the minimum %lld", count, what,
			    (long long)k->min);
	if ((int64_t)count > k->max)
		return verr(v, n, "%zu %s, above the maximum %lld", count, what,
			    (long long)k->max);
	return 0;
}

static int
check_strings(struct conf_vctx *v, const struct cella_conf_key *k,
	      const cJSON *n)
{
	size_t i = 0, old;
	int rv;

	if (!cJSON_IsArray(n))
		return conf_type_err(v, n, "a list of strings");
	if ((rv = check_count(v, k, n, "items")) < 0)
		return rv;
	for (const cJSON *it = n->child; it != NULL; it = it->next, i++) {
		if (cJSON_IsString(it))
			continue;
		old = conf_path_push(v, NULL, i);
		rv = conf_type_err(v, it, "a string");
		path_pop(v, old);
		return rv;
	}
	return 0;
}

#define BLANKS " \t\r\n"

/* "a  b c" -> ["a", "b", "c"]: no quoting, no escapes, no shell. */
static int
split_argv(struct conf_vctx *v, const struct cella_conf_key *k, const cJSON *n,
	   cJSON **out)
{
	const char *s = n->valuestring;
	int64_t limit = k->max > 0 ? k->max : CELLA_CONF_NODES_MAX;
	int64_t words = 0;
	int line = cella_conf_line(v->c, n);
	cJSON *list, *w;

	for (const char *p = s + strspn(s, BLANKS); *p != '\0';
	     p += strcspn(p, BLANKS), p += strspn(p, BLANKS))
		words++;
	/* Count before allocating: a 1 MiB string is half a million words. */
	if (words > limit)
		return verr(v, n, "%lld words, above the maximum %lld",
			    (long long)words, (long long)limit);
	if ((list = cJSON_CreateArray()) == NULL)
		return conf_vnomem(v);
	for (const char *p = s + strspn(s, BLANKS); *p != '\0';) {
		size_t len = strcspn(p, BLANKS);
		char *word = strndup(p, len);

		w = word != NULL ? cJSON_CreateString(word) : NULL;
		free(word);
		if (w == NULL)
			goto nomem;
		cJSON_AddItemToArray(list, w);
		if (line > 0 &&
		    conf_lines_put(&v->c->lines, w, (uint32_t)line, 0) < 0)
			goto nomem;
		p += len;
		p += strspn(p, BLANKS);
	}
	*out = list;
	return 0;
nomem:
	conf_discard(v, list);
	return conf_vnomem(v);
}

static int
check_argv(struct conf_vctx *v, const struct cella_conf_key *k, cJSON *parent,
	   cJSON **np)
{
	cJSON *list = NULL;
	int rv;

	if (cJSON_IsString(*np)) {
		if ((rv = split_argv(v, k, *np, &list)) < 0)
			return rv;
		if ((rv = replace(v, parent, *np, list, np)) < 0)
			return rv;
	} else if (!cJSON_IsArray(*np)) {
		return conf_type_err(v, *np, "a string or a list of strings");
	}
	return check_strings(v, k, *np);
}

static int
check_list(struct conf_vctx *v, const struct cella_conf_key *k, cJSON *n)
{
	size_t i = 0, old;
	cJSON *it, *next;
	int rv;

	if (!cJSON_IsArray(n))
		return conf_type_err(v, n, "a list");
	if ((rv = check_count(v, k, n, "items")) < 0)
		return rv;
	for (it = n->child; it != NULL; it = next, i++) {
		next = it->next;
		old = conf_path_push(v, NULL, i);
		rv = check_node(v, &k->sub[0], n, it);
		path_pop(v, old);
		if (rv < 0)
			return rv;
	}
	return 0;
}

/* A MAP's key, judged by its row's check_key; n is the entry. */
static int
run_check_key(struct conf_vctx *v, const struct cella_conf_key *k,
	      const cJSON *n)
{
	struct cella_diag cd = {.msg = ""};
	int rv = k->check_key(n->string, &cd);

	if (rv >= 0)
		return 0;
	return verr_code(v, rv, n, "%s", cd.msg[0] ? cd.msg : "invalid key");
}

static int
check_map(struct conf_vctx *v, const struct cella_conf_key *k, cJSON *n)
{
	cJSON *it, *next;
	size_t old;
	int rv;

	if (!cJSON_IsObject(n))
		return conf_type_err(v, n, "a mapping");
	if ((rv = check_count(v, k, n, "entries")) < 0)
		return rv;
	for (it = n->child; it != NULL; it = next) {
		next = it->next;
		old = conf_path_push(v, it->string, 0);
		rv = k->check_key != NULL ? run_check_key(v, k, it) : 0;
		if (rv == 0)
			rv = check_node(v, &k->sub[0], n, it);
		path_pop(v, old);
		if (rv < 0)
			return rv;
	}
	return 0;
}

/* Edit distance, capped: only worth it for short keys. */
static size_t
distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), row[33], prev, tmp;

	if (la > 32 || lb > 32)
		return 99;
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		prev = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			tmp = row[j];
			row[j] = a[i - 1] == b[j - 1] ? prev : 1 + prev;
			if (row[j - 1] + 1 < row[j])
				row[j] = row[j - 1] + 1;
			if (tmp + 1 < row[j])
				row[j] = tmp + 1;
			prev = tmp;
		}
	}
	return row[lb];
}

static int
unknown_key(struct conf_vctx *v, const struct cella_conf_key *sub,
	    const cJSON *member)
{
	const char *best = NULL;
	size_t bestd = 3, dist;

	for (const struct cella_conf_key *r = sub; r != NULL && r->key; r++) {
		dist = distance(member->string, r->key);
		if (dist < bestd && dist < strlen(r->key)) {
			bestd = dist;
			best = r->key;
		}
	}
	if (best != NULL)
		return verr(v, member, "unknown key (did you mean '%s'?)",
			    best);
	return verr(v, member, "unknown key");
}

static const struct cella_conf_key *
find_row(const struct cella_conf_key *sub, const char *key)
{
	for (; sub != NULL && sub->key != NULL; sub++)
		if (strcmp(sub->key, key) == 0)
			return sub;
	return NULL;
}

static int
fill_default(struct conf_vctx *v, const struct cella_conf_key *row, cJSON *obj)
{
	struct cella_diag pd;
	cJSON *node = NULL;
	int rv;

	rv =
	    conf_parse("default", row->def, strlen(row->def), NULL, &node, &pd);
	if (rv == -ENOMEM)
		return conf_vnomem(v);
	v->in_default++;
	if (rv < 0)
		rv = verr(v, NULL, "%s", pd.msg);
	else if (node == NULL && (node = cJSON_CreateNull()) == NULL)
		rv = conf_vnomem(v);
	else if (!cJSON_AddItemToObject(obj, row->key, node)) {
		cJSON_Delete(node);
		rv = conf_vnomem(v);
	} else {
		rv = check_node(v, row, obj, node);
	}
	v->in_default--;
	return rv;
}

int
conf_check_object(struct conf_vctx *v, const struct cella_conf_key *sub,
		  cJSON *obj)
{
	const struct cella_conf_key *row;
	cJSON *it, *next;
	size_t old;
	int rv = 0;

	if (!cJSON_IsObject(obj))
		return conf_type_err(v, obj, "a mapping");
	for (it = obj->child; it != NULL && rv == 0; it = next) {
		next = it->next;
		old = conf_path_push(v, it->string, 0);
		row = find_row(sub, it->string);
		rv = row != NULL ? check_node(v, row, obj, it)
				 : unknown_key(v, sub, it);
		path_pop(v, old);
	}
	for (row = sub; row != NULL && row->key != NULL && rv == 0; row++) {
		if (cJSON_GetObjectItemCaseSensitive(obj, row->key) != NULL)
			continue;
		old = conf_path_push(v, row->key, 0);
		if (row->required)
			rv = verr(v, obj, "required key missing");
		else if (row->def != NULL)
			rv = fill_default(v, row, obj);
		path_pop(v, old);
	}
	return rv;
}

static int
run_check(struct conf_vctx *v, const struct cella_conf_key *k, const cJSON *n)
{
	struct cella_diag cd = {.msg = ""};
	int rv = k->check(n, &cd);

	if (rv >= 0)
		return 0;
	return verr_code(v, rv, n, "%s", cd.msg[0] ? cd.msg : "invalid value");
}

static int
check_node(struct conf_vctx *v, const struct cella_conf_key *k, cJSON *parent,
	   cJSON *n)
{
	enum cella_conf_type t = k->type;
	int rv = 0;

	if (v->depth >= SCHEMA_DEPTH_MAX)
		return verr(v, n, "schema nested deeper than %d levels",
			    SCHEMA_DEPTH_MAX);
	if ((t == CELLA_CONF_LIST || t == CELLA_CONF_MAP) && k->sub == NULL)
		return verr(v, n, "schema error: no item type (sub)");
	/* "section:" with nothing under it is an empty section. */
	if (cJSON_IsNull(n) && (t == CELLA_CONF_OBJECT || t == CELLA_CONF_MAP))
		rv = replace(v, parent, n, cJSON_CreateObject(), &n);
	else if (cJSON_IsNull(n) &&
		 (t == CELLA_CONF_LIST || t == CELLA_CONF_STRLIST))
		rv = replace(v, parent, n, cJSON_CreateArray(), &n);
	if (rv < 0)
		return rv;
	v->depth++;
	switch (t) {
	case CELLA_CONF_BOOL:
		rv = cJSON_IsBool(n) ? 0 : conf_type_err(v, n, "true or false");
		break;
	case CELLA_CONF_INT:
		rv = check_int(v, k, n);
		break;
	case CELLA_CONF_STRING:
		rv = check_string(v, k, n);
		break;
	case CELLA_CONF_ENUM:
		rv = check_enum(v, k, n);
		break;
	case CELLA_CONF_ARGV:
		rv = check_argv(v, k, parent, &n);
		break;
	case CELLA_CONF_STRLIST:
		rv = check_strings(v, k, n);
		break;
	case CELLA_CONF_OBJECT:
		rv = conf_check_object(v, k->sub, n);
		break;
	case CELLA_CONF_LIST:
		rv = check_list(v, k, n);
		break;
	case CELLA_CONF_MAP:
		rv = check_map(v, k, n);
		break;
	default:
		rv = verr(v, n, "schema error: unknown type %d", (int)t);
	}
	v->depth--;
	if (rv == 0 && k->check != NULL)
		rv = run_check(v, k, n);
	return rv;
}
