/*
 * envelope_test: every golden vector in proto/vectors/envelope.vectors
 * parses to exactly its expected errno (valid ones re-encode to the same
 * bytes); every truncation of a valid envelope and every random split is
 * refused cleanly; encoding refuses what a receiver would refuse; error
 * replies round-trip.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cbor/cbor.h"
#include "common/rpc/envelope.h"

struct vec {
	char kind[16], name[128], err[32];
	uint8_t *p;
	size_t n;
};

static struct vec vecs[256];
static size_t nvecs;

static int
load_vectors(void **state)
{
	const char *root = getenv("CELLA_SOURCE_ROOT");
	char path[4096], line[16384], hex[16384];
	FILE *f;

	(void)state;
	assert_non_null(root);
	snprintf(path, sizeof(path), "%s/proto/vectors/envelope.vectors", root);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		struct vec *v = &vecs[nvecs];
		int n;

		if (line[0] == '#' || line[0] == '\n')
			continue;
		assert_true(nvecs < sizeof(vecs) / sizeof(vecs[0]));
		assert_int_equal(sscanf(line, "%15s %127s %16383s # %31s",
					v->kind, v->name, hex, v->err),
				 4);
		if (strcmp(hex, "-") == 0)
			hex[0] = '\0';
		v->p = malloc(strlen(hex) / 2 + 1);
		n = cella_hex_decode(hex, strlen(hex), v->p, strlen(hex) / 2);
		assert_true(n >= 0);
		v->n = (size_t)n;
		nvecs++;
	}
	fclose(f);
	assert_true(nvecs >= 25);
	return 0;
}

static int
free_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < nvecs; i++)
		free(vecs[i].p);
	return 0;
}

/* Parse from an exact-size heap copy, so ASan sees any overread. */
static int
parse_copy(const uint8_t *p, size_t n, struct cella_env *e,
	   struct cella_diag *d)
{
	uint8_t *copy = malloc(n ? n : 1);
	int rv;

	memcpy(copy, p, n);
	rv = cella_env_parse(copy, n, e, d);
	free(copy);
	return rv;
}

static void
test_vectors(void **state)
{
	size_t valid = 0;

	(void)state;
	for (size_t i = 0; i < nvecs; i++) {
		struct vec *v = &vecs[i];
		struct cella_env e = {0};
		struct cella_diag d = {""};
		struct cella_buf b;
		int rv = parse_copy(v->p, v->n, &e, &d);

		if (strcmp(v->kind, "invalid") == 0) {
			if (rv == 0 || strcmp(cella_errname(rv), v->err) != 0)
				fail_msg("%s: got %d (%s), want %s", v->name,
					 rv, d.msg, v->err);
			assert_true(strlen(d.msg) > 0);
			continue;
		}
		assert_string_equal(v->kind, "valid");
		if (rv != 0)
			fail_msg("%s: %d %s", v->name, rv, d.msg);
		assert_int_equal(e.version, CELLA_ENV_VERSION);
		cella_buf_init(&b, CELLA_ENV_MAX_BYTES);
		assert_int_equal(cella_env_encode(e.type, e.id, e.body, &b), 0);
		if (b.len != v->n || memcmp(b.p, v->p, v->n) != 0)
			fail_msg("%s: re-encoding differs", v->name);
		cella_buf_fini(&b);
		cella_env_fini(&e);
		valid++;
	}
	assert_true(valid >= 10);
}

static void
test_truncations(void **state)
{
	(void)state;
	for (size_t i = 0; i < nvecs; i++) {
		if (strcmp(vecs[i].kind, "valid") != 0)
			continue;
		for (size_t k = 0; k < vecs[i].n; k++) {
			struct cella_env e;
			struct cella_diag d;
			int rv = parse_copy(vecs[i].p, k, &e, &d);

			if (rv != -EBADMSG)
				fail_msg("%s: prefix %zu: %d %s", vecs[i].name,
					 k, rv, d.msg);
		}
	}
}

static void
test_random_splits(void **state)
{
	unsigned seed = 12345;

	(void)state;
	for (int round = 0; round < 2000; round++) {
		struct vec *v = &vecs[(size_t)rand_r(&seed) % nvecs];
		size_t cut = v->n ? (size_t)rand_r(&seed) % v->n : 0;
		struct cella_env e;
		int rv_head, rv_tail, rv_whole;

		if (strcmp(v->kind, "valid") != 0)
			continue;
		rv_head = parse_copy(v->p, cut, &e, NULL);
		assert_int_equal(rv_head, -EBADMSG);
		rv_tail = parse_copy(v->p + cut, v->n - cut, &e, NULL);
		if (rv_tail == 0)
			cella_env_fini(&e);
		rv_whole = parse_copy(v->p, v->n, &e, NULL);
		assert_int_equal(rv_whole, 0);
		cella_env_fini(&e);
	}
}

static void
test_lookup(void **state)
{
	const struct cella_msg_info *m = cella_msg_lookup(CELLA_MSG_PING);

	(void)state;
	assert_non_null(m);
	assert_int_equal(m->type, 0x0002);
	assert_string_equal(m->name, "PING");
	assert_int_equal(m->owner, CELLA_OWNER_CORE);
	assert_int_equal(m->dir, CELLA_DIR_REQUEST);
	assert_int_equal(m->max_bytes, 256);
	assert_int_equal(cella_msg_lookup(CELLA_MSG_ERROR)->dir,
			 CELLA_DIR_REPLY);
	assert_string_equal(cella_msg_lookup(CELLA_MSG_PONG)->name, "PONG");
	assert_null(cella_msg_lookup(0));
	assert_null(cella_msg_lookup(0x7fff));
}

static void
test_encode_refuses(void **state)
{
	cbor_item_t *arr = cbor_new_definite_array(0);
	cbor_item_t *big = cbor_new_indefinite_map();
	uint8_t pad[300] = {0};
	struct cella_buf b;

	(void)state;
	cella_buf_init(&b, 4096);
	assert_int_equal(cella_buf_append(&b, "x", 1), 0);
	assert_int_equal(cella_env_encode(0x7fff, 1, NULL, &b), -EINVAL);
	assert_int_equal(cella_env_encode(CELLA_MSG_PING, 1, arr, &b), -EINVAL);
	assert_int_equal(cella_cbor_put_bytes(big, "pad", pad, 245), 0);
	assert_int_equal(cella_env_encode(CELLA_MSG_PING, 1, big, &b), 0);
	assert_int_equal(b.len, 1 + 256);
	b.len = 1;
	cbor_decref(&big);
	big = cbor_new_indefinite_map();
	assert_int_equal(cella_cbor_put_bytes(big, "pad", pad, 246), 0);
	assert_int_equal(cella_env_encode(CELLA_MSG_PING, 1, big, &b),
			 -EMSGSIZE);
	assert_int_equal(b.len, 1); /* nothing of it stays */
	assert_int_equal(cella_env_encode(CELLA_MSG_PING, 1, NULL, &b), 0);
	assert_memory_equal(b.p, "x\x84\x01\x02\x01\xa0", 6);
	cella_buf_fini(&b);
	cbor_decref(&big);
	cbor_decref(&arr);
}

static void
roundtrip_error(uint64_t id, int err, const char *msg, struct cella_env *e)
{
	struct cella_buf b;
	struct cella_diag d;

	cella_buf_init(&b, 4096);
	assert_int_equal(cella_env_encode_error(id, err, msg, &b), 0);
	if (cella_env_parse(b.p, b.len, e, &d) != 0)
		fail_msg("%s", d.msg);
	assert_int_equal(e->type, CELLA_MSG_ERROR);
	assert_int_equal(e->id, id);
	cella_buf_fini(&b);
}

static void
test_error_reply(void **state)
{
	struct cella_span name;
	struct cella_env e;
	struct cella_diag d;
	char long_msg[3000];

	(void)state;
	roundtrip_error(42, -ENOENT, "no such service: web", &e);
	assert_int_equal(cella_env_error(&e, &d), -ENOENT);
	assert_string_equal(d.msg, "no such service: web");
	assert_int_equal(cella_cbor_get_text(e.body, "name", 32, &name, NULL),
			 0);
	assert_memory_equal(name.p, "ENOENT", 6);
	cella_env_fini(&e);

	/* Positive codes work too; non-ASCII becomes '?'. */
	roundtrip_error(1, EACCES, "caf\xc3\xa9\xff", &e);
	assert_int_equal(cella_env_error(&e, &d), -EACCES);
	assert_string_equal(d.msg, "caf???");
	cella_env_fini(&e);

	/* No message: the errno text. Long: cut at 1024 bytes. */
	roundtrip_error(2, -EBUSY, NULL, &e);
	assert_int_equal(cella_env_error(&e, &d), -EBUSY);
	assert_string_equal(d.msg, cella_strerror(EBUSY));
	cella_env_fini(&e);
	memset(long_msg, 'm', sizeof(long_msg) - 1);
	long_msg[sizeof(long_msg) - 1] = '\0';
	roundtrip_error(3, -EIO, long_msg, &e);
	assert_int_equal(cella_cbor_get_text(e.body, "message", 1024, &name,
					     NULL),
			 0);
	assert_int_equal(name.n, 1024);
	assert_int_equal(cella_env_error(&e, &d), -EIO);
	assert_int_equal(strlen(d.msg), sizeof(d.msg) - 1);
	cella_env_fini(&e);

	assert_int_equal(cella_env_encode_error(1, 0, "x", NULL), -EINVAL);
	assert_int_equal(cella_env_encode_error(1, -5000, "x", NULL), -EINVAL);
}

static void
test_error_reader(void **state)
{
	static const char *const hex[] = {
		"84010101a0",		      /* no code */
		"84010101a164636f646500",     /* code 0 */
		"84010101a164636f646519ffff", /* code over 4095 */
		"84010101a164636f646561ff",   /* code not a uint (bad UTF-8) */
	};
	struct cella_env e;
	struct cella_diag d;
	uint8_t b[64];
	int n, rv;

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		n = cella_hex_decode(hex[i], strlen(hex[i]), b, sizeof(b));
		assert_int_equal(cella_env_parse(b, (size_t)n, &e, &d), 0);
		assert_int_equal(cella_env_error(&e, &d), -EPROTO);
		assert_string_equal(d.msg,
				    "malformed error reply (no valid code)");
		cella_env_fini(&e);
	}
	n = cella_hex_decode(hex[3], strlen(hex[3]), b, sizeof(b));
	rv = cella_env_parse(b, (size_t)n, &e, &d);
	assert_int_equal(rv, -EBADMSG);
	/* A reply that is not an error is not an error. */
	n = cella_hex_decode("84010301a0", 10, b, sizeof(b));
	assert_int_equal(cella_env_parse(b, (size_t)n, &e, &d), 0);
	assert_int_equal(cella_env_error(&e, &d), 0);
	cella_env_fini(&e);
}

static void
test_parse_messages(void **state)
{
	static const struct {
		const char *hex, *msg;
	} t[] = {
		{"84020201a0", "envelope: version 2, this side speaks 1"},
		{"8401197fff01a0", "envelope: unknown message type 0x7fff"},
		{"83010201", "envelope: 3 elements, expected 4"},
		{"8401020180", "envelope: PING body is not a map"},
		{"84010220a0", "envelope: id is not an unsigned integer"},
		{"a0", "envelope: not a definite array"},
	};
	struct cella_env e;
	struct cella_diag d;
	uint8_t b[64];

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int n = cella_hex_decode(t[i].hex, strlen(t[i].hex), b,
					 sizeof(b));

		assert_true(cella_env_parse(b, (size_t)n, &e, &d) < 0);
		assert_string_equal(d.msg, t[i].msg);
	}
	assert_int_equal(cella_env_parse(b, CELLA_ENV_MAX_BYTES + 1u, &e, &d),
			 -EMSGSIZE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_truncations),
		cmocka_unit_test(test_random_splits),
		cmocka_unit_test(test_lookup),
		cmocka_unit_test(test_encode_refuses),
		cmocka_unit_test(test_error_reply),
		cmocka_unit_test(test_error_reader),
		cmocka_unit_test(test_parse_messages),
	};

	return cmocka_run_group_tests(tests, load_vectors, free_vectors);
}
