/*
 * msg_test: request bodies decoded with every bound: argv and shell,
 * environment, workdir, stdin with detach, READ and WRITE defaults and
 * caps, PUT_BEGIN inline with its sha256 and size agreeing, paths over
 * PATH_MAX, NUL bytes in text, missing keys named, and roles per type.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/cbor/cbor.h"
#include "common/rpc/operators.h"
#include "proto/messages.h"
#include "services/pipeline/msg.h"
#include "common/files/pathsafe.h"

static cbor_item_t *
strs(int n, ...)
{
	cbor_item_t *a = cbor_new_indefinite_array();
	va_list ap;

	va_start(ap, n);
	for (int i = 0; i < n; i++) {
		cbor_item_t *s = cbor_build_string(va_arg(ap, const char *));

		cbor_array_push(a, s);
		cbor_decref(&s);
	}
	va_end(ap);
	return a;
}

/* b as it arrives: encoded (definite lengths) and loaded again. */
static int
decode_keep(uint32_t type, const cbor_item_t *b, struct pipe_msg *m,
	    struct cella_diag *d)
{
	static const struct cella_cbor_limits lim = {1 << 24, 16, 65536, 1 << 24};
	struct cella_buf buf;
	cbor_item_t *w = NULL;
	int rv;

	if (b == NULL)
		return pipe_msg_decode(type, NULL, m, d);
	cella_buf_init(&buf, 1 << 24);
	assert_int_equal(cella_cbor_encode(b, &buf), 0);
	assert_int_equal(cella_cbor_load(buf.p, buf.len, &lim, &w, NULL), 0);
	cella_buf_fini(&buf);
	/* Spans in *m borrow from w: the tests read only copies and flags. */
	rv = pipe_msg_decode(type, w, m, d);
	cbor_decref(&w);
	return rv;
}

static int
decode(uint32_t type, cbor_item_t *b, struct pipe_msg *m, struct cella_diag *d)
{
	int rv = decode_keep(type, b, m, d);

	cbor_decref(&b);
	return rv;
}

static void
test_exec(void **state)
{
	cbor_item_t *b = cbor_new_indefinite_map(), *a = strs(2, "echo", "hi");
	cbor_item_t *env = cbor_new_indefinite_map();
	struct cella_diag d;
	struct pipe_msg m;

	(void)state;
	cella_cbor_put_item(b, "argv", a);
	cbor_decref(&a);
	cella_cbor_put_text(env, "A", "1");
	cella_cbor_put_item(b, "env", env);
	cbor_decref(&env);
	cella_cbor_put_text(b, "workdir", "/tmp");
	cella_cbor_put_bool(b, "stdin", true);
	cella_cbor_put_uint(b, "timeout_ms", 1500);
	assert_int_equal(decode_keep(CELLA_MSG_PIPE_EXEC, b, &m, &d), 0);
	assert_int_equal(m.exec.argc, 2);
	assert_string_equal(m.exec.argv[1], "hi");
	assert_null(m.exec.argv[2]);
	assert_string_equal(m.exec.env[0], "A=1");
	assert_string_equal(m.exec.workdir, "/tmp");
	assert_true(m.exec.stdin_open);
	assert_false(m.exec.detach);
	assert_int_equal(m.exec.timeout_ms, 1500);
	pipe_msg_fini(&m);
	/* detach with stdin is refused */
	cella_cbor_put_bool(b, "detach", true);
	assert_int_equal(decode(CELLA_MSG_PIPE_EXEC, b, &m, &d), -EBADMSG);
	assert_string_equal(d.msg, "a detached command takes no stdin");
}

static void
test_exec_refusals(void **state)
{
	cbor_item_t *b, *a;
	struct cella_diag d;
	struct pipe_msg m;

	(void)state;
	b = cbor_new_indefinite_map();
	assert_int_equal(decode(CELLA_MSG_PIPE_EXEC, b, &m, &d), -EBADMSG);
	assert_string_equal(d.msg, "give exactly one of argv, shell");

	b = cbor_new_indefinite_map();
	cella_cbor_put_text(b, "shell", "echo hi");
	assert_int_equal(decode_keep(CELLA_MSG_PIPE_EXEC, b, &m, &d), 0);
	assert_string_equal(m.exec.argv[0], "/bin/sh");
	assert_string_equal(m.exec.argv[2], "echo hi");
	pipe_msg_fini(&m);
	a = strs(1, "x");
	cella_cbor_put_item(b, "argv", a);
	cbor_decref(&a);
	assert_int_equal(decode(CELLA_MSG_PIPE_EXEC, b, &m, &d), -EBADMSG);

	b = cbor_new_indefinite_map();
	a = cbor_new_indefinite_array();
	cella_cbor_put_item(b, "argv", a);
	cbor_decref(&a);
	assert_int_equal(decode(CELLA_MSG_PIPE_EXEC, b, &m, &d), -EBADMSG);

	b = cbor_new_indefinite_map();
	a = cbor_new_indefinite_array();
	{
		cbor_item_t *s = cbor_build_stringn("a\0b", 3);

		cbor_array_push(a, s);
		cbor_decref(&s);
	}
	cella_cbor_put_item(b, "argv", a);
	cbor_decref(&a);
	assert_int_equal(decode(CELLA_MSG_PIPE_EXEC, b, &m, &d), -EBADMSG);
	assert_string_equal(d.msg, "argv: holds a NUL byte");

	b = cbor_new_indefinite_map();
	a = strs(1, "x");
	cella_cbor_put_item(b, "argv", a);
	cbor_decref(&a);
	a = cbor_new_indefinite_map();
	cella_cbor_put_text(a, "A=B", "1");
	cella_cbor_put_item(b, "env", a);
	cbor_decref(&a);
	assert_int_equal(decode(CELLA_MSG_PIPE_EXEC, b, &m, &d), -EBADMSG);
	assert_string_equal(d.msg, "env: bad variable name 'A=B'");

	b = cbor_new_indefinite_map();
	a = strs(1, "x");
	cella_cbor_put_item(b, "argv", a);
	cbor_decref(&a);
	cella_cbor_put_text(b, "workdir", "relative");
	assert_int_equal(decode(CELLA_MSG_PIPE_EXEC, b, &m, &d), -EBADMSG);
}

static void
test_io(void **state)
{
	cbor_item_t *b = cbor_new_indefinite_map();
	struct cella_diag d;
	struct pipe_msg m;

	(void)state;
	cella_cbor_put_uint(b, "id", 7);
	assert_int_equal(decode_keep(CELLA_MSG_PIPE_READ, b, &m, &d), 0);
	assert_int_equal(m.id, 7);
	assert_int_equal(m.max, PIPE_READ_MAX / 2);
	assert_int_equal(m.timeout_ms, PIPE_POLL_DEFAULT_MS);
	cella_cbor_put_uint(b, "timeout_ms", PIPE_POLL_MAX_MS + 1);
	assert_int_equal(decode_keep(CELLA_MSG_PIPE_READ, b, &m, &d),
			 -EBADMSG);
	assert_int_equal(decode_keep(CELLA_MSG_PIPE_SIGNAL, b, &m, &d),
			 -EBADMSG); /* no signal */
	cbor_decref(&b);

	b = cbor_new_indefinite_map();
	assert_int_equal(decode_keep(CELLA_MSG_PIPE_WRITE, b, &m, &d),
			 -EBADMSG); /* no id */
	cella_cbor_put_uint(b, "id", 1);
	cella_cbor_put_bool(b, "eof", true);
	assert_int_equal(decode(CELLA_MSG_PIPE_WRITE, b, &m, &d), 0);
	assert_true(m.eof);
	assert_false(m.has_data);
}

static cbor_item_t *
put_begin(const char *path, uint64_t size)
{
	cbor_item_t *b = cbor_new_indefinite_map();

	cella_cbor_put_text(b, "path", path);
	cella_cbor_put_uint(b, "size", size);
	cella_cbor_put_uint(b, "mode", 0644);
	cella_cbor_put_uint(b, "mtime", 1000);
	cella_cbor_put_uint(b, "mtime_ns", 5);
	return b;
}

static void
test_files(void **state)
{
	uint8_t sha[32] = {1};
	char big[PIPE_PATH_MAX + 3];
	struct cella_diag d;
	struct pipe_msg m;
	cbor_item_t *b;

	(void)state;
	b = put_begin("/a", 3);
	assert_int_equal(decode_keep(CELLA_MSG_PIPE_PUT_BEGIN, b, &m, &d), 0);
	assert_false(m.has_data);
	assert_int_equal(m.mtime.tv_sec, 1000);
	assert_int_equal(m.mtime.tv_nsec, 5);
	cella_cbor_put_bytes(b, "data", "abc", 3);
	assert_int_equal(decode_keep(CELLA_MSG_PIPE_PUT_BEGIN, b, &m, &d),
			 -EBADMSG); /* inline data without its hash */
	cella_cbor_put_bytes(b, "sha256", sha, 32);
	assert_int_equal(decode(CELLA_MSG_PIPE_PUT_BEGIN, b, &m, &d), 0);
	assert_true(m.has_data && m.has_sha);

	b = put_begin("/a", 4);
	cella_cbor_put_bytes(b, "data", "abc", 3);
	cella_cbor_put_bytes(b, "sha256", sha, 32);
	assert_int_equal(decode(CELLA_MSG_PIPE_PUT_BEGIN, b, &m, &d), -EBADMSG);
	assert_string_equal(d.msg, "data: 3 bytes, size says 4");

	memset(big, 'a', sizeof(big));
	big[0] = '/';
	big[PIPE_PATH_MAX + 1] = '\0';
	b = cbor_new_indefinite_map();
	cella_cbor_put_text(b, "path", big);
	assert_int_equal(decode(CELLA_MSG_PIPE_STAT, b, &m, &d), -ENAMETOOLONG);

	b = cbor_new_indefinite_map();
	cella_cbor_put_uint(b, "id", 1);
	cella_cbor_put_bytes(b, "sha256", sha, 31);
	assert_int_equal(decode(CELLA_MSG_PIPE_PUT_COMMIT, b, &m, &d), -EBADMSG);

	b = cbor_new_indefinite_map();
	cella_cbor_put_text(b, "path", "/x");
	assert_int_equal(decode(CELLA_MSG_PIPE_MKDIR, b, &m, &d), -EBADMSG);
	assert_int_equal(pipe_msg_decode(CELLA_MSG_PIPE_MKDIR, NULL, &m, &d),
			 -EBADMSG);
	assert_int_equal(pipe_msg_decode(CELLA_MSG_PING, NULL, &m, &d), -ENOMSG);
}

static void
test_roles(void **state)
{
	(void)state;
	assert_int_equal(pipe_msg_role(CELLA_MSG_PIPE_EXEC), CELLA_ROLE_EXEC);
	assert_int_equal(pipe_msg_role(CELLA_MSG_PIPE_SIGNAL), CELLA_ROLE_EXEC);
	assert_int_equal(pipe_msg_role(CELLA_MSG_PIPE_WALK), CELLA_ROLE_FILES);
	assert_int_equal(pipe_msg_role(CELLA_MSG_PIPE_ABORT), CELLA_ROLE_FILES);
	assert_int_equal(pipe_msg_role(CELLA_MSG_PIPE_OK), 0);
	assert_int_equal(pipe_msg_role(CELLA_MSG_INIT_LIST), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exec),
		cmocka_unit_test(test_exec_refusals),
		cmocka_unit_test(test_io),
		cmocka_unit_test(test_files),
		cmocka_unit_test(test_roles),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
