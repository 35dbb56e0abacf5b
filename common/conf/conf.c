/*
 * conf: loading a configuration file into a tree, the node->line side table
 * that lets every later diagnostic name file:line, the digest of the bytes,
 * and the typed getters. The YAML itself is turned into cJSON by
 * conf_yaml.c; validation and output live in conf_schema.c and
 * conf_print.c. This file does not interpret any key.
 */
#include "common/conf/conf.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/core/buf.h"
#include "common/conf/conf_int.h"
#include "common/core/file.h"

#define READ_CHUNK 65536

static size_t
slot_of(const struct conf_lines *t, const cJSON *node)
{
	/* Fibonacci hashing: nodes are malloc'd, so the low bits are dull. */
	uint64_t h = (uint64_t)(uintptr_t)node * 0x9e3779b97f4a7c15ull;

	return (size_t)(h >> 32) & (t->cap - 1);
}

static int
lines_grow(struct conf_lines *t)
{
	struct conf_lines nt = {NULL, t->cap ? t->cap * 2 : 1024, 0};

	nt.v = calloc(nt.cap, sizeof(*nt.v));
	if (nt.v == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < t->cap; i++) {
		if (t->v[i].node == NULL)
			continue;
		size_t j = slot_of(&nt, t->v[i].node);
		while (nt.v[j].node != NULL)
			j = (j + 1) & (nt.cap - 1);
		nt.v[j] = t->v[i];
		nt.n++;
	}
	free(t->v);
	*t = nt;
	return 0;
}

int
conf_lines_put(struct conf_lines *t, const cJSON *node, uint32_t line,
	       uint32_t flags)
{
	size_t i;
	int rv;

	if ((t->n + 1) * 4 > t->cap * 3 && (rv = lines_grow(t)) < 0)
		return rv;
	i = slot_of(t, node);
	while (t->v[i].node != NULL && t->v[i].node != node)
		i = (i + 1) & (t->cap - 1);
	if (t->v[i].node == NULL)
		t->n++;
	t->v[i] = (struct conf_line){node, line, flags};
	return 0;
}

const struct conf_line *
conf_lines_get(const struct conf_lines *t, const cJSON *node)
{
	size_t i;

	if (t->cap == 0 || node == NULL)
		return NULL;
	i = slot_of(t, node);
	while (t->v[i].node != NULL) {
		if (t->v[i].node == node)
			return &t->v[i];
		i = (i + 1) & (t->cap - 1);
	}
	return NULL;
}

/* Backward-shift deletion keeps every probe chain unbroken, no tombstones. */
static void
lines_del(struct conf_lines *t, const cJSON *node)
{
	const struct conf_line *e = conf_lines_get(t, node);
	size_t i, j, home, mask = t->cap - 1;

	if (e == NULL)
		return;
	i = (size_t)(e - t->v);
	t->v[i].node = NULL;
	t->n--;
	for (j = (i + 1) & mask; t->v[j].node != NULL; j = (j + 1) & mask) {
		home = slot_of(t, t->v[j].node);
		/* Leave an entry whose home lies cyclically in (i, j]. */
		if (i <= j ? (home > i && home <= j) : (home > i || home <= j))
			continue;
		t->v[i] = t->v[j];
		t->v[j].node = NULL;
		i = j;
	}
}

void
conf_lines_del_tree(struct conf_lines *t, const cJSON *node)
{
	if (node == NULL)
		return;
	lines_del(t, node);
	for (const cJSON *k = node->child; k != NULL; k = k->next)
		conf_lines_del_tree(t, k);
}

void
conf_lines_fini(struct conf_lines *t)
{
	free(t->v);
	*t = (struct conf_lines){NULL, 0, 0};
}

const char *
conf_esc(char *buf, size_t cap, const char *s, size_t n)
{
	size_t o = 0;

	if (cap < 8) {
		if (cap > 0)
			buf[0] = '\0';
		return buf;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		size_t need = (ch >= 0x20 && ch < 0x7f && ch != '\\') ? 1 : 4;

		if (o + need + 4 > cap) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		if (need == 1)
			buf[o++] = (char)ch;
		else
			o += (size_t)snprintf(buf + o, 5, "\\x%02x", ch);
	}
	buf[o] = '\0';
	return buf;
}

int
cella_conf_load_mem(const char *name, const char *yaml, size_t len,
		    struct cella_conf **out, struct cella_diag *d)
{
	struct cella_conf *c = NULL;
	int rv;

	if (len > CELLA_CONF_FILE_MAX)
		return cella_diag_set(d, -EFBIG, "%s: larger than %u bytes",
				      name, CELLA_CONF_FILE_MAX);
	c = calloc(1, sizeof(*c));
	if (c == NULL || (c->name = strdup(name)) == NULL) {
		rv = cella_diag_set(d, -ENOMEM, "%s: out of memory", name);
		goto fail;
	}
	rv = conf_parse(name, yaml, len, &c->lines, &c->root, d);
	if (rv < 0)
		goto fail;
	if (c->root == NULL || cJSON_IsNull(c->root)) {
		cJSON_Delete(c->root);
		c->root = cJSON_CreateObject();
		rv = c->root != NULL ? conf_lines_put(&c->lines, c->root, 1, 0)
				     : -ENOMEM;
		if (rv < 0) {
			cella_diag_set(d, rv, "%s: out of memory", name);
			goto fail;
		}
	} else if (!cJSON_IsObject(c->root)) {
		const struct conf_line *e = conf_lines_get(&c->lines, c->root);

		rv = cella_diag_set(d, -EINVAL,
				    "%s:%u: the top level must be a mapping",
				    name, e != NULL ? e->line : 1);
		goto fail;
	}
	if (EVP_Digest(yaml, len, c->digest, NULL, EVP_sha384(), NULL) != 1) {
		rv = cella_diag_set(d, -ENOMEM, "%s: SHA-384 failed", name);
		goto fail;
	}
	*out = c;
	return 0;
fail:
	cella_conf_free(c);
	return rv;
}

/* Read at most CELLA_CONF_FILE_MAX bytes; st_size is not trusted (a file
 * can grow while it is read). */
static int
read_capped(int fd, struct cella_buf *b)
{
	ssize_t n;
	int rv;

	for (;;) {
		rv = cella_buf_reserve(b, READ_CHUNK);
		if (rv == -EMSGSIZE)
			rv = cella_buf_reserve(b, 1);
		if (rv < 0)
			return rv == -EMSGSIZE ? -EFBIG : rv;
		n = read(fd, b->p + b->len, b->cap - b->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		b->len += (size_t)n;
	}
}

int
cella_conf_load_file(const char *path, struct cella_conf **out,
		     struct cella_diag *d)
{
	struct cella_buf b;
	int fd = -1, rv;

	/* One byte of slack over the cap tells "exactly at" from "over". */
	cella_buf_init(&b, (size_t)CELLA_CONF_FILE_MAX + 1);
	/* A FIFO would block here forever, a device be read without end. */
	if ((fd = cella_file_open_regular(path, d)) < 0) {
		rv = fd;
		goto done;
	}
	rv = read_capped(fd, &b);
	if (rv == 0 && b.len > CELLA_CONF_FILE_MAX)
		rv = -EFBIG;
	if (rv == -EFBIG)
		cella_diag_set(d, rv, "%s: larger than %u bytes", path,
			       CELLA_CONF_FILE_MAX);
	else if (rv < 0)
		cella_diag_set(d, rv, "%s: cannot read: %s", path,
			       cella_strerror(rv));
	else
		rv = cella_conf_load_mem(path, (const char *)b.p, b.len, out,
					 d);
done:
	if (fd >= 0)
		close(fd);
	cella_buf_fini(&b);
	return rv;
}

void
cella_conf_free(struct cella_conf *c)
{
	if (c == NULL)
		return;
	cJSON_Delete(c->root);
	conf_lines_fini(&c->lines);
	free(c->name);
	free(c);
}

cJSON *
cella_conf_root(const struct cella_conf *c)
{
	return c->root;
}

const char *
cella_conf_name(const struct cella_conf *c)
{
	return c->name;
}

void
cella_conf_digest(const struct cella_conf *c, uint8_t out[48])
{
	memcpy(out, c->digest, sizeof(c->digest));
}

int
cella_conf_line(const struct cella_conf *c, const cJSON *node)
{
	const struct conf_line *e = conf_lines_get(&c->lines, node);

	return e != NULL ? (int)e->line : 0;
}

const char *
cella_conf_str(const cJSON *obj, const char *key, const char *fallback)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(v) ? v->valuestring : fallback;
}

int64_t
cella_conf_int(const cJSON *obj, const char *key, int64_t fallback)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (!cJSON_IsNumber(v) || !conf_is_int(v->valuedouble))
		return fallback;
	return (int64_t)v->valuedouble;
}

bool
cella_conf_bool(const cJSON *obj, const char *key, bool fallback)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsBool(v) ? cJSON_IsTrue(v) != 0 : fallback;
}
