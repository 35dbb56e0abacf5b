/*
 * msg: one decoder per group of request types, driven by a table of which
 * keys a type carries. The typed getters of common/cbor/cbor.h do the type and
 * size checks; what they cannot (NUL inside text, counts of argv and env)
 * is checked here before anything is copied.
 */
#include "services/pipeline/msg.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/cbor/cbor.h"
#include "common/rpc/operators.h"
#include "proto/messages.h"
#include "common/files/pathsafe.h"

enum {
	F_ID = 1 << 0,
	F_PATH = 1 << 1,
	F_OFFSET = 1 << 2,
	F_DATA = 1 << 3, /* required */
	F_SHA = 1 << 4,	 /* required */
	F_META = 1 << 5, /* size, mode, mtime: PUT_BEGIN */
	F_DIRMETA = 1 << 6, /* mode, optional mtime: MKDIR */
	F_TARGET = 1 << 7,
	F_INLINE = 1 << 8, /* optional data + sha256 */
};

static const struct {
	uint32_t type, role, fields;
} types[] = {
	{CELLA_MSG_PIPE_EXEC, CELLA_ROLE_EXEC, 0},
	{CELLA_MSG_PIPE_READ, CELLA_ROLE_EXEC, F_ID},
	{CELLA_MSG_PIPE_WRITE, CELLA_ROLE_EXEC, F_ID},
	{CELLA_MSG_PIPE_SIGNAL, CELLA_ROLE_EXEC, F_ID},
	{CELLA_MSG_PIPE_STAT, CELLA_ROLE_FILES, F_PATH},
	{CELLA_MSG_PIPE_PUT_BEGIN, CELLA_ROLE_FILES, F_PATH | F_META | F_INLINE},
	{CELLA_MSG_PIPE_PUT_CHUNK, CELLA_ROLE_FILES, F_ID | F_OFFSET | F_DATA},
	{CELLA_MSG_PIPE_PUT_COMMIT, CELLA_ROLE_FILES, F_ID | F_SHA},
	{CELLA_MSG_PIPE_ABORT, CELLA_ROLE_FILES, F_ID},
	{CELLA_MSG_PIPE_GET_BEGIN, CELLA_ROLE_FILES, F_PATH},
	{CELLA_MSG_PIPE_GET_CHUNK, CELLA_ROLE_FILES, F_ID | F_OFFSET},
	{CELLA_MSG_PIPE_GET_END, CELLA_ROLE_FILES, F_ID},
	{CELLA_MSG_PIPE_MKDIR, CELLA_ROLE_FILES, F_PATH | F_DIRMETA},
	{CELLA_MSG_PIPE_SYMLINK, CELLA_ROLE_FILES, F_PATH | F_TARGET},
	{CELLA_MSG_PIPE_WALK, CELLA_ROLE_FILES, F_PATH},
	{CELLA_MSG_PIPE_WALK_NEXT, CELLA_ROLE_FILES, F_ID},
};

uint32_t
pipe_msg_role(uint32_t type)
{
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (types[i].type == type)
			return types[i].role;
	return 0;
}

static uint32_t
fields_of(uint32_t type)
{
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (types[i].type == type)
			return types[i].fields;
	return 0;
}

/* A text value as a NUL-terminated copy; NUL inside is refused. */
static int
dup_text(const cbor_item_t *v, const char *what, char **out,
	 struct cella_diag *d)
{
	size_t n;
	char *s;

	if (!cbor_isa_string(v) || !cbor_string_is_definite(v))
		return cella_diag_set(d, -EBADMSG, "%s: expected text", what);
	n = cbor_string_length(v);
	if (n > PIPE_ARG_MAX)
		return cella_diag_set(d, -E2BIG, "%s: %zu bytes, over %d", what,
				      n, PIPE_ARG_MAX);
	if (memchr(cbor_string_handle(v), '\0', n) != NULL)
		return cella_diag_set(d, -EBADMSG, "%s: holds a NUL byte",
				      what);
	if ((s = malloc(n + 1)) == NULL)
		return cella_diag_set(d, -ENOMEM, "out of memory");
	memcpy(s, cbor_string_handle(v), n);
	s[n] = '\0';
	*out = s;
	return 0;
}

static void
free_strv(char **v)
{
	if (v == NULL)
		return;
	for (char **p = v; *p != NULL; p++)
		free(*p);
	free(v);
}

static int
decode_argv(const cbor_item_t *body, struct pipe_msg_exec *e,
	    struct cella_diag *d)
{
	const cbor_item_t *argv = cella_cbor_map_get(body, "argv");
	const cbor_item_t *shell = cella_cbor_map_get(body, "shell");
	size_t n;
	int rv;

	if ((argv == NULL) == (shell == NULL))
		return cella_diag_set(d, -EBADMSG,
				      "give exactly one of argv, shell");
	if (shell != NULL) {
		e->shell = true;
		if ((e->argv = calloc(4, sizeof(char *))) == NULL)
			return cella_diag_set(d, -ENOMEM, "out of memory");
		e->argc = 3;
		if ((e->argv[0] = strdup("/bin/sh")) == NULL ||
		    (e->argv[1] = strdup("-c")) == NULL)
			return cella_diag_set(d, -ENOMEM, "out of memory");
		return dup_text(shell, "shell", &e->argv[2], d);
	}
	if (!cbor_isa_array(argv) || !cbor_array_is_definite(argv) ||
	    (n = cbor_array_size(argv)) == 0)
		return cella_diag_set(d, -EBADMSG,
				      "argv: expected a non-empty array");
	if (n > PIPE_ARGV_MAX)
		return cella_diag_set(d, -E2BIG, "argv: %zu items, over %d", n,
				      PIPE_ARGV_MAX);
	if ((e->argv = calloc(n + 1, sizeof(char *))) == NULL)
		return cella_diag_set(d, -ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++)
		if ((rv = dup_text(cbor_array_handle(argv)[i], "argv",
				   &e->argv[i], d)) < 0)
			return rv;
	e->argc = n;
	if (e->argv[0][0] == '\0')
		return cella_diag_set(d, -EBADMSG, "argv[0]: empty");
	return 0;
}

static int
decode_env(const cbor_item_t *body, struct pipe_msg_exec *e,
	   struct cella_diag *d)
{
	const cbor_item_t *env = cella_cbor_map_get(body, "env");
	struct cbor_pair *p;
	size_t n;
	int rv;

	if (env == NULL)
		return 0;
	if (!cbor_isa_map(env) || !cbor_map_is_definite(env))
		return cella_diag_set(d, -EBADMSG, "env: expected a map");
	if ((n = cbor_map_size(env)) > PIPE_ENV_MAX)
		return cella_diag_set(d, -E2BIG, "env: %zu variables, over %d",
				      n, PIPE_ENV_MAX);
	if ((e->env = calloc(n + 1, sizeof(char *))) == NULL)
		return cella_diag_set(d, -ENOMEM, "out of memory");
	p = cbor_map_handle(env);
	for (size_t i = 0; i < n; i++) {
		char *k = NULL, *v = NULL;

		rv = dup_text(p[i].key, "env name", &k, d);
		if (rv == 0 && (k[0] == '\0' || strchr(k, '=') != NULL))
			rv = cella_diag_set(d, -EBADMSG,
					    "env: bad variable name '%s'", k);
		if (rv == 0)
			rv = dup_text(p[i].value, "env value", &v, d);
		size_t len = rv == 0 ? strlen(k) + strlen(v) + 2 : 0;

		if (rv == 0 && (e->env[i] = malloc(len)) != NULL)
			snprintf(e->env[i], len, "%s=%s", k, v);
		else if (rv == 0)
			rv = cella_diag_set(d, -ENOMEM, "out of memory");
		free(k);
		free(v);
		if (rv < 0)
			return rv;
	}
	e->nenv = n;
	return 0;
}

static int
decode_exec(const cbor_item_t *body, struct pipe_msg *m, struct cella_diag *d)
{
	struct pipe_msg_exec *e = &m->exec;
	const cbor_item_t *wd = cella_cbor_map_get(body, "workdir");
	int rv;

	if ((rv = decode_argv(body, e, d)) < 0 ||
	    (rv = decode_env(body, e, d)) < 0)
		return rv;
	if (wd != NULL && (rv = dup_text(wd, "workdir", &e->workdir, d)) < 0)
		return rv;
	if (e->workdir != NULL && (e->workdir[0] != '/' ||
				   strlen(e->workdir) > PIPE_PATH_MAX))
		return cella_diag_set(d, -EBADMSG,
				      "workdir: an absolute path of at most "
				      "%d bytes", PIPE_PATH_MAX);
	rv = cella_cbor_get_bool(body, "stdin", &e->stdin_open, d);
	if (rv == 0 || rv == -ENOENT)
		rv = cella_cbor_get_bool(body, "detach", &e->detach, d);
	if (rv == 0 || rv == -ENOENT)
		rv = cella_cbor_get_uint(body, "timeout_ms", 86400000ull * 365,
					 &e->timeout_ms, d);
	if (rv == -ENOENT)
		rv = 0;
	if (rv == 0 && e->detach && e->stdin_open)
		rv = cella_diag_set(d, -EBADMSG,
				    "a detached command takes no stdin");
	return rv;
}

/* An optional uint: absent leaves *out alone. */
static int
opt_uint(const cbor_item_t *b, const char *key, uint64_t max, uint64_t *out,
	 bool *had, struct cella_diag *d)
{
	int rv = cella_cbor_get_uint(b, key, max, out, d);

	if (had != NULL)
		*had = rv == 0;
	return rv == -ENOENT ? 0 : rv;
}

static int
decode_mtime(const cbor_item_t *b, struct pipe_msg *m, bool required,
	     struct cella_diag *d)
{
	uint64_t s = 0, ns = 0;
	int rv;

	rv = cella_cbor_get_uint(b, "mtime", INT64_MAX / 2, &s, d);
	if (rv == -ENOENT && !required)
		return 0;
	if (rv < 0)
		return rv;
	if ((rv = opt_uint(b, "mtime_ns", 999999999, &ns, NULL, d)) < 0)
		return rv;
	m->mtime.tv_sec = (time_t)s;
	m->mtime.tv_nsec = (long)ns;
	m->has_mtime = true;
	return 0;
}

static int
decode_mode(const cbor_item_t *b, struct pipe_msg *m, struct cella_diag *d)
{
	uint64_t v;
	int rv = cella_cbor_get_uint(b, "mode", 07777, &v, d);

	if (rv < 0)
		return rv;
	m->mode = (uint32_t)v;
	m->has_mode = true;
	return 0;
}

static int
decode_sha(const cbor_item_t *b, struct pipe_msg *m, struct cella_diag *d)
{
	struct cella_span s;
	int rv = cella_cbor_get_bytes(b, "sha256", 32, &s, d);

	if (rv == 0 && s.n != 32)
		rv = cella_diag_set(d, -EBADMSG, "sha256: %zu bytes, not 32",
				    s.n);
	if (rv == 0) {
		memcpy(m->sha256, s.p, 32);
		m->has_sha = true;
	}
	return rv;
}

static int
decode_files(uint32_t f, const cbor_item_t *b, struct pipe_msg *m,
	     struct cella_diag *d)
{
	int rv = 0;

	if ((f & F_PATH) &&
	    (rv = cella_cbor_get_text(b, "path", PIPE_CHUNK_MAX, &m->path,
				      d)) < 0)
		return rv;
	if ((f & F_PATH) && m->path.n > PIPE_PATH_MAX)
		return cella_diag_set(d, -ENAMETOOLONG,
				      "path: %zu bytes, over %d", m->path.n,
				      PIPE_PATH_MAX);
	if ((f & F_OFFSET) &&
	    (rv = cella_cbor_get_uint(b, "offset", INT64_MAX, &m->offset, d)) < 0)
		return rv;
	if ((f & (F_DATA | F_INLINE))) {
		rv = cella_cbor_get_bytes(b, "data", PIPE_CHUNK_MAX, &m->data, d);
		m->has_data = rv == 0;
		if (rv < 0 && (rv != -ENOENT || (f & F_DATA)))
			return rv;
	}
	if ((f & F_SHA) || ((f & F_INLINE) && m->has_data))
		if ((rv = decode_sha(b, m, d)) < 0)
			return rv;
	if ((f & F_META) &&
	    ((rv = cella_cbor_get_uint(b, "size", INT64_MAX, &m->size, d)) < 0 ||
	     (rv = decode_mode(b, m, d)) < 0 ||
	     (rv = decode_mtime(b, m, true, d)) < 0))
		return rv;
	if ((f & F_INLINE) && m->has_data && m->data.n != m->size)
		return cella_diag_set(d, -EBADMSG,
				      "data: %zu bytes, size says %llu",
				      m->data.n, (unsigned long long)m->size);
	if ((f & F_DIRMETA) && ((rv = decode_mode(b, m, d)) < 0 ||
				(rv = decode_mtime(b, m, false, d)) < 0))
		return rv;
	if ((f & F_TARGET) &&
	    (rv = cella_cbor_get_text(b, "target", PIPE_PATH_MAX, &m->target,
				      d)) < 0)
		return rv;
	return 0;
}

/* id, and what READ, WRITE and SIGNAL carry besides. */
static int
decode_io(uint32_t type, const cbor_item_t *b, struct pipe_msg *m,
	  struct cella_diag *d)
{
	uint64_t sig = 0;
	int rv;

	m->max = PIPE_READ_MAX / 2;
	m->timeout_ms = PIPE_POLL_DEFAULT_MS;
	if (type == CELLA_MSG_PIPE_READ &&
	    ((rv = opt_uint(b, "max", PIPE_READ_MAX, &m->max, NULL, d)) < 0 ||
	     (rv = opt_uint(b, "timeout_ms", PIPE_POLL_MAX_MS, &m->timeout_ms,
			    NULL, d)) < 0))
		return rv;
	if (type == CELLA_MSG_PIPE_WRITE) {
		rv = cella_cbor_get_bytes(b, "data", PIPE_WRITE_MAX, &m->data, d);
		if (rv < 0 && rv != -ENOENT)
			return rv;
		m->has_data = rv == 0;
		rv = cella_cbor_get_bool(b, "eof", &m->eof, d);
		if (rv < 0 && rv != -ENOENT)
			return rv;
	}
	if (type == CELLA_MSG_PIPE_SIGNAL) {
		if ((rv = cella_cbor_get_uint(b, "signal", 64, &sig, d)) < 0)
			return rv;
		if (sig == 0)
			return cella_diag_set(d, -EBADMSG, "signal: 1..64");
		m->signal = (int)sig;
	}
	return 0;
}

int
pipe_msg_decode(uint32_t type, const cbor_item_t *body, struct pipe_msg *out,
		struct cella_diag *d)
{
	uint32_t f = fields_of(type);
	struct pipe_msg m = {.type = type};
	int rv = 0;

	if (pipe_msg_role(type) == 0)
		return cella_diag_set(d, -ENOMSG, "not a pipeline request");
	if (body == NULL || !cbor_isa_map(body))
		return cella_diag_set(d, -EBADMSG, "body: expected a map");
	if ((f & F_ID) &&
	    (rv = cella_cbor_get_uint(body, "id", UINT64_MAX, &m.id, d)) < 0)
		goto fail;
	if (type == CELLA_MSG_PIPE_EXEC)
		rv = decode_exec(body, &m, d);
	else if (type == CELLA_MSG_PIPE_READ || type == CELLA_MSG_PIPE_WRITE ||
		 type == CELLA_MSG_PIPE_SIGNAL)
		rv = decode_io(type, body, &m, d);
	else
		rv = decode_files(f, body, &m, d);
	if (rv < 0)
		goto fail;
	*out = m;
	return 0;
fail:
	if (rv == -ENOENT)
		rv = -EBADMSG; /* a required key: d already names it */
	pipe_msg_fini(&m);
	return rv;
}

void
pipe_msg_fini(struct pipe_msg *m)
{
	free_strv(m->exec.argv);
	free_strv(m->exec.env);
	free(m->exec.workdir);
	m->exec.argv = m->exec.env = NULL;
	m->exec.workdir = NULL;
}
