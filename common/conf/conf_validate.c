/*
 * conf_validate: the entry point of validation and what makes it atomic.
 * The subtree at the section's path is copied (with its lines), the schema
 * checks and completes the copy (conf_schema.c), and only a copy that passed
 * takes the original's place, in steps that cannot fail half-way. A failed
 * validation thus leaves the tree as it was. An absent section is validated
 * as an empty one and linked in, so that its defaults are there to read.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/conf/conf_int.h"

/* Register the copy's nodes under the lines of the originals. */
static int
copy_lines(struct conf_lines *t, const cJSON *from, const cJSON *to)
{
	const struct conf_line *e = conf_lines_get(t, from);
	const cJSON *a, *b;

	if (e != NULL && conf_lines_put(t, to, e->line, e->flags) < 0)
		return -ENOMEM;
	for (a = from->child, b = to->child; a != NULL && b != NULL;
	     a = a->next, b = b->next)
		if (copy_lines(t, a, b) < 0)
			return -ENOMEM;
	return 0;
}

/*
 * The working copy of the subtree at node (NULL: absent, then an empty one
 * is made, inside fresh objects for any further segments of rest).
 * *hold is what commit() links; *work is what the schema checks.
 */
static int
make_copy(struct conf_vctx *v, const cJSON *node, const char *rest,
	  cJSON **hold, cJSON **work)
{
	int line = node != NULL ? cella_conf_line(v->c, node) : 0;
	cJSON *top, *cur, *child;

	if (node != NULL && cJSON_IsObject(node)) {
		top = cJSON_Duplicate(node, 1);
		if (top == NULL || copy_lines(&v->c->lines, node, top) < 0)
			goto nomem;
		*hold = *work = top;
		return 0;
	}
	if (node != NULL && !cJSON_IsNull(node))
		return conf_type_err(v, node, "a mapping");
	top = cur = cJSON_CreateObject();
	if (top == NULL || (line > 0 && conf_lines_put(&v->c->lines, top,
						       (uint32_t)line, 0) < 0))
		goto nomem;
	rest += rest[0] != '\0' ? strcspn(rest, ".") : 0;
	while (rest[0] == '.') {
		size_t n = strcspn(rest + 1, ".");
		char *key = strndup(rest + 1, n);

		child = cJSON_CreateObject();
		if (key == NULL || child == NULL ||
		    !cJSON_AddItemToObject(cur, key, child)) {
			free(key);
			cJSON_Delete(child);
			goto nomem;
		}
		free(key);
		cur = child;
		rest += n + 1;
	}
	*hold = top;
	*work = cur;
	return 0;
nomem:
	conf_discard(v, top);
	return conf_vnomem(v);
}

/* The copy takes the original's place; nothing here can fail half-way. */
static int
commit(struct conf_vctx *v, cJSON *parent, cJSON *node, const char *seg,
       cJSON *hold)
{
	struct cella_conf *c = v->c;

	if (node == c->root) {
		conf_lines_del_tree(&c->lines, c->root);
		cJSON_Delete(c->root);
		c->root = hold;
		return 0;
	}
	if (node == NULL) {
		char *key = strndup(seg, strcspn(seg, "."));
		bool ok =
		    key != NULL && cJSON_AddItemToObject(parent, key, hold);

		free(key);
		return ok ? 0 : conf_vnomem(v);
	}
	if (hold->string == NULL) {
		size_t n = strlen(node->string) + 1;

		hold->string = cJSON_malloc(n);
		if (hold->string == NULL)
			return conf_vnomem(v);
		memcpy(hold->string, node->string, n);
	}
	conf_lines_del_tree(&c->lines, node);
	cJSON_ReplaceItemViaPointer(parent, node, hold);
	return 0;
}

int
cella_conf_validate(struct cella_conf *c, const char *path,
		    const struct cella_conf_key *schema, struct cella_diag *d)
{
	struct conf_vctx v = {.c = c, .d = d};
	cJSON *parent = NULL, *node = c->root, *hold = NULL, *work = NULL;
	const char *s = path, *seg = path;
	char key[128];
	int rv;

	while (node != NULL && *s != '\0') {
		size_t n = strcspn(s, ".");

		if (n >= sizeof(key))
			return cella_diag_set(d, -EINVAL, "%s: path too long",
					      c->name);
		if (!cJSON_IsObject(node))
			return conf_type_err(&v, node, "a mapping");
		memcpy(key, s, n);
		key[n] = '\0';
		conf_path_push(&v, key, 0);
		parent = node;
		node = cJSON_GetObjectItemCaseSensitive(parent, key);
		seg = s;
		s += n + (s[n] == '.');
	}
	if (*s != '\0')
		conf_path_push(&v, s, 0);
	rv = make_copy(&v, node, node != NULL ? "" : seg, &hold, &work);
	if (rv < 0)
		return rv;
	rv = conf_check_object(&v, schema, work);
	if (rv == 0)
		rv = commit(&v, parent, node, seg, hold);
	if (rv < 0)
		conf_discard(&v, hold);
	return rv;
}
