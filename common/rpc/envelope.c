/*
 * envelope: parse and encode [version, type, id, body] (proto/README.md).
 * Parsing reads the first heads straight from the bytes, so that the
 * version, the type and the type's size cap are known before the CBOR gate
 * runs with that cap and before libcbor allocates anything; a newer
 * version is answered EPROTO whatever shape follows it. Encoding writes the
 * heads itself and the body through cella_cbor_encode, and refuses what the
 * other side would refuse (unknown type, oversized envelope), so a bug
 * shows up at the sender. Bodies are not interpreted here, except the
 * error body, whose reader is shared by every client.
 */
#include "common/rpc/envelope.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/cbor/cbor.h"

#define ERROR_CODE_MAX 4095
#define ERROR_MSG_MAX 1024

/* The registry, checked at build time: owner ranges and caps. */
#define ENV__ROW(id, nm, ow, dr, max, ds)                                    \
	_Static_assert(((id) & ~(CELLA_OWNER_RANGE - 1)) == CELLA_OWNER_##ow, \
		       #nm ": id outside its owner's range");                \
	_Static_assert((max) >= 16 && (max) <= CELLA_ENV_MAX_BYTES,         \
		       #nm ": max_bytes out of range");
CELLA_MSG_TABLE(ENV__ROW)
#undef ENV__ROW

static const struct cella_msg_info msg_rows[] = {
#define ENV__ROW(id, nm, ow, dr, max, ds) \
	{id, #nm, CELLA_OWNER_##ow, CELLA_DIR_##dr, max, ds},
	CELLA_MSG_TABLE(ENV__ROW)
#undef ENV__ROW
};

enum {
#define ENV__ROW(id, nm, ow, dr, max, ds) MSG_ROW_##nm,
	CELLA_MSG_TABLE(ENV__ROW)
#undef ENV__ROW
};

/* A switch, so that a duplicate id is a compile error. */
const struct cella_msg_info *
cella_msg_lookup(uint32_t type)
{
	switch (type) {
#define ENV__ROW(id, nm, ow, dr, max, ds) \
	case id:                          \
		return &msg_rows[MSG_ROW_##nm];
		CELLA_MSG_TABLE(ENV__ROW)
#undef ENV__ROW
	default:
		return NULL;
	}
}

/* One head from the bytes; -EBADMSG when cut short or not definite. */
static int
peek_head(const uint8_t **pp, const uint8_t *end, unsigned *major,
	  uint64_t *arg)
{
	const uint8_t *p = *pp;
	unsigned ai;
	size_t k;

	if (p == end)
		return -EBADMSG;
	*major = *p >> 5;
	ai = *p++ & 0x1f;
	if (ai < 24) {
		*arg = ai;
	} else if (ai <= 27) {
		k = (size_t)1 << (ai - 24);
		if ((size_t)(end - p) < k)
			return -EBADMSG;
		for (*arg = 0; k > 0; k--)
			*arg = (*arg << 8) | *p++;
	} else {
		return -EBADMSG;
	}
	*pp = p;
	return 0;
}

/*
 * Version, arity and type from the first heads, before anything is
 * allocated: the answers to a newer version or an unknown type must not
 * depend on what follows them.
 */
static int
parse_front(const uint8_t *p, size_t n, const struct cella_msg_info **info,
	    struct cella_diag *d)
{
	const uint8_t *end = p + n;
	unsigned major;
	uint64_t count, version, type;

	if (peek_head(&p, end, &major, &count) < 0 || major != 4 || count == 0)
		return cella_diag_set(d, -EBADMSG,
				      "envelope: not a definite array");
	if (peek_head(&p, end, &major, &version) < 0 || major != 0)
		return cella_diag_set(d, -EBADMSG,
				      "envelope: version is not an unsigned "
				      "integer");
	if (version != CELLA_ENV_VERSION)
		return cella_diag_set(d, -EPROTO,
				      "envelope: version %" PRIu64
				      ", this side speaks %d",
				      version, CELLA_ENV_VERSION);
	if (count != 4)
		return cella_diag_set(d, -EBADMSG,
				      "envelope: %" PRIu64
				      " elements, expected 4",
				      count);
	if (peek_head(&p, end, &major, &type) < 0 || major != 0 ||
	    type > UINT32_MAX)
		return cella_diag_set(d, -EBADMSG,
				      "envelope: type is not a 32-bit unsigned "
				      "integer");
	if ((*info = cella_msg_lookup((uint32_t)type)) == NULL)
		return cella_diag_set(d, -ENOMSG,
				      "envelope: unknown message type 0x%04" PRIx64,
				      type);
	return 0;
}

int
cella_env_parse(const uint8_t *p, size_t n, struct cella_env *out,
		struct cella_diag *d)
{
	const struct cella_msg_info *info = NULL;
	struct cella_cbor_limits lim;
	cbor_item_t *item = NULL, **v;
	int rv;

	if (n > CELLA_ENV_MAX_BYTES)
		return cella_diag_set(d, -EMSGSIZE,
				      "envelope: %zu bytes, over %u", n,
				      CELLA_ENV_MAX_BYTES);
	if ((rv = parse_front(p, n, &info, d)) < 0)
		return rv;
	if (n > info->max_bytes)
		return cella_diag_set(d, -EMSGSIZE,
				      "envelope: %s of %zu bytes, over %" PRIu32,
				      info->name, n, info->max_bytes);
	lim = (struct cella_cbor_limits){
		.max_bytes = info->max_bytes,
		.max_depth = CELLA_ENV_MAX_DEPTH,
		.max_items = CELLA_ENV_MAX_ITEMS,
		.max_str = info->max_bytes,
	};
	if ((rv = cella_cbor_load(p, n, &lim, &item, d)) < 0)
		return rv;
	v = cbor_array_handle(item);
	if (!cbor_isa_uint(v[2])) {
		rv = cella_diag_set(d, -EBADMSG,
				    "envelope: id is not an unsigned integer");
		goto out;
	}
	if (!cbor_isa_map(v[3])) {
		rv = cella_diag_set(d, -EBADMSG, "envelope: %s body is not a map",
				    info->name);
		goto out;
	}
	out->version = CELLA_ENV_VERSION;
	out->type = info->type;
	out->id = cbor_get_int(v[2]);
	out->body = cbor_incref(v[3]);
out:
	cbor_decref(&item);
	return rv;
}

void
cella_env_fini(struct cella_env *e)
{
	if (e != NULL && e->body != NULL)
		cbor_decref(&e->body);
}

static int
put_uint(struct cella_buf *out, uint64_t v)
{
	unsigned char h[9];
	size_t n = cbor_encode_uint(v, h, sizeof(h));

	return cella_buf_append(out, h, n);
}

int
cella_env_encode(uint32_t type, uint64_t id, const cbor_item_t *body,
		 struct cella_buf *out)
{
	const struct cella_msg_info *info = cella_msg_lookup(type);
	static const uint8_t empty_map = 0xa0, array4 = 0x84;
	size_t mark = out->len;
	int rv;

	if (info == NULL || (body != NULL && !cbor_isa_map(body)))
		return -EINVAL;
	if ((rv = cella_buf_append(out, &array4, 1)) < 0 ||
	    (rv = put_uint(out, CELLA_ENV_VERSION)) < 0 ||
	    (rv = put_uint(out, type)) < 0 || (rv = put_uint(out, id)) < 0)
		goto fail;
	rv = body != NULL ? cella_cbor_encode(body, out)
			  : cella_buf_append(out, &empty_map, 1);
	if (rv < 0)
		goto fail;
	if (out->len - mark > info->max_bytes) {
		rv = -EMSGSIZE;
		goto fail;
	}
	return 0;
fail:
	out->len = mark;
	return rv;
}

/* ASCII only, at most ERROR_MSG_MAX bytes: always valid UTF-8. */
static cbor_item_t *
error_text(const char *message)
{
	size_t n = strnlen(message, ERROR_MSG_MAX);
	char *s = malloc(n + 1);
	cbor_item_t *item;

	if (s == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
		s[i] = (unsigned char)message[i] < 0x80 ? message[i] : '?';
	item = cbor_build_stringn(s, n);
	free(s);
	return item;
}

int
cella_env_encode_error(uint64_t id, int err, const char *message,
		       struct cella_buf *out)
{
	int code = err < 0 ? -err : err;
	cbor_item_t *body = NULL, *text = NULL;
	int rv = -ENOMEM;

	if (code == 0 || code > ERROR_CODE_MAX)
		return -EINVAL;
	if (message == NULL)
		message = cella_strerror(code);
	if ((body = cbor_new_definite_map(3)) == NULL ||
	    (text = error_text(message)) == NULL)
		goto out;
	if ((rv = cella_cbor_put_uint(body, "code", (uint64_t)code)) < 0 ||
	    (rv = cella_cbor_put_text(body, "name", cella_errname(code))) < 0 ||
	    (rv = cella_cbor_put_item(body, "message", text)) < 0)
		goto out;
	rv = cella_env_encode(CELLA_MSG_ERROR, id, body, out);
out:
	if (text != NULL)
		cbor_decref(&text);
	if (body != NULL)
		cbor_decref(&body);
	return rv;
}

int
cella_env_error(const struct cella_env *e, struct cella_diag *d)
{
	struct cella_diag ignored;
	struct cella_span msg;
	uint64_t code;
	size_t n;

	if (e->type != CELLA_MSG_ERROR)
		return 0;
	if (cella_cbor_get_uint(e->body, "code", ERROR_CODE_MAX, &code,
				&ignored) < 0 ||
	    code == 0)
		return cella_diag_set(d, -EPROTO,
				      "malformed error reply (no valid code)");
	if (cella_cbor_get_text(e->body, "message", SIZE_MAX, &msg,
				&ignored) < 0)
		return cella_diag_set(d, -(int)code, "%s",
				      cella_strerror((int)code));
	if (d != NULL) {
		n = msg.n < sizeof(d->msg) - 1 ? msg.n : sizeof(d->msg) - 1;
		memcpy(d->msg, msg.p, n);
		d->msg[n] = '\0';
	}
	return -(int)code;
}
