/*
 * rpc_session_test: operator sessions on a real server over ipc://. A local
 * client is trusted with every role; a session carries exactly the operator
 * and roles the local peer asked for; its socket is private (0600), taken by
 * the first connection and gone from the file system afterwards; a session
 * client can neither open sessions nor pass a role check it lacks; and the
 * close callback names the connection that ended.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cbor/cbor.h"
#include "common/rpc/rpc.h"
#include "tests/lib/rmtree.h"

struct fx {
	char dir[64], url[128];
	struct cella_rpc_server *srv;
	struct cella_rpc_client *local;
	atomic_uint closed_pipe;
	atomic_int closed_count;
};

/*
 * PING: reply with who asked; with data "exec", first require the exec
 * role (rpc answers the refusal itself).
 */
static int
handler(struct cella_rpc_req *req, const struct cella_env *env, void *arg)
{
	const struct cella_rpc_peer *p = cella_rpc_req_peer(req);
	cbor_item_t *body;
	struct cella_span data;
	int rv;

	(void)arg;
	if (cella_cbor_get_bytes(env->body, "data", 16, &data, NULL) == 0 &&
	    data.n == 4 && memcmp(data.p, "exec", 4) == 0 &&
	    cella_rpc_require(req, CELLA_ROLE_EXEC) < 0)
		return 0;
	body = cbor_new_indefinite_map();
	cella_cbor_put_text(body, "op", p->operator);
	cella_cbor_put_uint(body, "roles", p->roles);
	cella_cbor_put_uint(body, "pipe", p->pipe);
	cella_cbor_put_bool(body, "remote", p->remote);
	rv = cella_rpc_reply(req, CELLA_MSG_PONG, body);
	cbor_decref(&body);
	return rv;
}

static void
on_close(uint32_t pipe, void *arg)
{
	struct fx *f = arg;

	atomic_store(&f->closed_pipe, pipe);
	atomic_fetch_add(&f->closed_count, 1);
}

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct cella_diag d;

	snprintf(f->dir, sizeof(f->dir), "/tmp/cella-sess-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->url, sizeof(f->url), "ipc://%s/svc.sock", f->dir);
	assert_int_equal(cella_rpc_server_new(f->url, 4, handler, f, &f->srv,
					      &d), 0);
	cella_rpc_server_on_close(f->srv, on_close, f);
	assert_int_equal(cella_rpc_client_new(f->url, 2000, &f->local, &d), 0);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	cella_rpc_client_free(f->local);
	cella_rpc_server_free(f->srv);
	assert_int_equal(rmtree(f->dir), 0);
	free(f);
	return 0;
}

/* PING through c; the reply's fields into the out parameters. */
static int
who(struct cella_rpc_client *c, const char *data, char *op, uint64_t *roles,
    bool *remote, uint64_t *pipe, struct cella_diag *d)
{
	cbor_item_t *body = cbor_new_indefinite_map();
	struct cella_env r = {0};
	struct cella_span s;
	int rv;

	if (data != NULL)
		cella_cbor_put_bytes(body, "data", data, strlen(data));
	rv = cella_rpc_call(c, CELLA_MSG_PING, body, &r, d);
	cbor_decref(&body);
	if (rv < 0)
		return rv;
	assert_int_equal(cella_cbor_get_text(r.body, "op", 63, &s, NULL), 0);
	memcpy(op, s.p, s.n);
	op[s.n] = '\0';
	assert_int_equal(cella_cbor_get_uint(r.body, "roles", 15, roles, NULL), 0);
	assert_int_equal(cella_cbor_get_bool(r.body, "remote", remote, NULL), 0);
	assert_int_equal(cella_cbor_get_uint(r.body, "pipe", UINT32_MAX, pipe,
					     NULL), 0);
	cella_env_fini(&r);
	return 0;
}

static void
test_local_peer(void **state)
{
	struct fx *f = *state;
	char op[64];
	uint64_t roles, pipe;
	bool remote;

	assert_int_equal(who(f->local, NULL, op, &roles, &remote, &pipe, NULL), 0);
	assert_false(remote);
	assert_string_equal(op, "");
	assert_int_equal(roles, CELLA_ROLE_ALL);
	assert_true(pipe > 0);
}

static void
test_session(void **state)
{
	struct fx *f = *state;
	struct cella_rpc_client *op_cli = NULL, *thief = NULL;
	struct cella_diag d = {{0}};
	char url[256], op[64], path[256];
	uint64_t roles, pipe;
	bool remote;
	struct stat st;

	assert_int_equal(cella_rpc_session_open(f->local, "alice",
						CELLA_ROLE_LOGS |
							CELLA_ROLE_SERVICES,
						url, sizeof(url), &d),
			 0);
	assert_int_equal(strncmp(url, f->url, strlen(f->url)), 0);
	snprintf(path, sizeof(path), "%s", url + strlen("ipc://"));
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);

	assert_int_equal(cella_rpc_client_new(url, 2000, &op_cli, &d), 0);
	assert_int_equal(who(op_cli, NULL, op, &roles, &remote, &pipe, &d), 0);
	assert_true(remote);
	assert_string_equal(op, "alice");
	assert_int_equal(roles, CELLA_ROLE_LOGS | CELLA_ROLE_SERVICES);
	/* Taken: the path is gone, nobody else can join the session. */
	assert_int_equal(stat(path, &st), -1);
	assert_true(cella_rpc_client_new(url, 500, &thief, &d) < 0);

	/* A role the operator lacks is refused with its name. */
	assert_int_equal(who(op_cli, "exec", op, &roles, &remote, &pipe, &d),
			 -EACCES);
	assert_non_null(strstr(d.msg, "operator 'alice' lacks the role exec"));
	/* An operator cannot open sessions (claim other roles). */
	assert_int_equal(cella_rpc_session_open(op_cli, "root", CELLA_ROLE_ALL,
						url, sizeof(url), &d),
			 -EACCES);
	assert_non_null(strstr(d.msg, "local peers only"));

	/* The end of the connection is reported with its pipe id. */
	assert_int_equal(who(op_cli, NULL, op, &roles, &remote, &pipe, &d), 0);
	cella_rpc_client_free(op_cli);
	for (int i = 0; i < 200 && atomic_load(&f->closed_pipe) != pipe; i++)
		usleep(10000);
	assert_int_equal(atomic_load(&f->closed_pipe), pipe);
}

static void
test_session_bad_requests(void **state)
{
	struct fx *f = *state;
	struct cella_diag d = {{0}};
	char url[256];

	assert_int_equal(cella_rpc_session_open(f->local, "", CELLA_ROLE_LOGS,
						url, sizeof(url), &d),
			 -EINVAL);
	assert_non_null(strstr(d.msg, "empty operator name"));
	/* Local peers hold every role, exec included. */
	{
		char op[64];
		uint64_t roles, pipe;
		bool remote;

		assert_int_equal(who(f->local, "exec", op, &roles, &remote,
				     &pipe, &d), 0);
	}
}

/* Sessions beyond the cap are refused; the open ones still work. */
static void
test_session_cap(void **state)
{
	struct fx *f = *state;
	struct cella_diag d = {{0}};
	char url[256];
	int n = 0;

	while (cella_rpc_session_open(f->local, "bob", CELLA_ROLE_LOGS, url,
				      sizeof(url), &d) == 0)
		n++;
	assert_int_equal(n, 64);
	assert_non_null(strstr(d.msg, "64 sessions open already"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_local_peer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_session, setup, teardown),
		cmocka_unit_test_setup_teardown(test_session_bad_requests, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_session_cap, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
