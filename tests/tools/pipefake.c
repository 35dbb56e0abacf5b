/*
 * pipefake: a hostile enclave for `cella cp` tests. It answers STAT with
 * "a directory", WALK with one crafted list of entries (the scenario), and
 * GET_BEGIN with four bytes ("evil") inline, so a test can check that the
 * host refuses what would land outside its destination and writes nothing.
 *
 *   pipefake URL SCENARIO [--ready-fd N]
 *     dotdot   a file "../evil"
 *     abs      a file "/tmp/evil" (an absolute entry path)
 *     inner    a file "a/../../evil"
 *     link     a symlink "l" -> "../.." (leads out of the tree)
 *     abslink  a symlink "l" -> "/tmp"
 *     through  a file "pre/evil" (the test made dst/pre a symlink out)
 *     nul      a file "a\0b" (a NUL inside the path)
 *     late     a directory "d", files "d/ok1" and "ok2", then the symlink
 *              "l" -> "../..": good entries first, the refusal after
 *     stall    a directory "d", files "d/ok1" and "d/stall"; GET_BEGIN of
 *              a path ending in "stall" is never answered, so the copy
 *              stays half-done until the client is stopped
 *
 * A test tool: any surprise exits non-zero with a message.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "common/cbor/cbor.h"
#include "common/core/ready.h"
#include "common/rpc/rpc.h"

static const char *scenario;

static cbor_item_t *
entry(const char *path, size_t n, const char *type, const char *target)
{
	cbor_item_t *e = cbor_new_indefinite_map(), *p;

	p = cbor_build_stringn(path, n);
	cella_cbor_put_item(e, "path", p);
	cbor_decref(&p);
	cella_cbor_put_text(e, "type", type);
	cella_cbor_put_uint(e, "size", 4);
	cella_cbor_put_uint(e, "mode", 0644);
	cella_cbor_put_uint(e, "mtime", 0);
	if (target != NULL)
		cella_cbor_put_text(e, "target", target);
	return e;
}

/* Scenarios of more than one entry: NULL-terminated {path, type, target}. */
static const char *const late[][3] = {
	{"d", "dir", NULL},
	{"d/ok1", "file", NULL},
	{"ok2", "file", NULL},
	{"l", "symlink", "../.."},
	{NULL, NULL, NULL},
};
static const char *const stall[][3] = {
	{"d", "dir", NULL},
	{"d/ok1", "file", NULL},
	{"d/stall", "file", NULL},
	{NULL, NULL, NULL},
};

static void
push_all(cbor_item_t *l, const char *const (*v)[3])
{
	for (; (*v)[0] != NULL; v++) {
		cbor_item_t *e = entry((*v)[0], strlen((*v)[0]), (*v)[1],
				       (*v)[2]);

		cbor_array_push(l, e);
		cbor_decref(&e);
	}
}

static cbor_item_t *
walk(void)
{
	cbor_item_t *b = cbor_new_indefinite_map(), *l = cbor_new_indefinite_array();
	cbor_item_t *e;

	if (strcmp(scenario, "late") == 0 || strcmp(scenario, "stall") == 0) {
		push_all(l, strcmp(scenario, "late") == 0 ? late : stall);
		e = NULL;
	} else if (strcmp(scenario, "dotdot") == 0)
		e = entry("../evil", 7, "file", NULL);
	else if (strcmp(scenario, "abs") == 0)
		e = entry("/tmp/evil", 9, "file", NULL);
	else if (strcmp(scenario, "inner") == 0)
		e = entry("a/../../evil", 12, "file", NULL);
	else if (strcmp(scenario, "link") == 0)
		e = entry("l", 1, "symlink", "../..");
	else if (strcmp(scenario, "abslink") == 0)
		e = entry("l", 1, "symlink", "/tmp");
	else if (strcmp(scenario, "through") == 0)
		e = entry("pre/evil", 8, "file", NULL);
	else
		e = entry("a\0b", 3, "file", NULL);
	if (e != NULL) {
		cbor_array_push(l, e);
		cbor_decref(&e);
	}
	cella_cbor_put_item(b, "entries", l);
	cbor_decref(&l);
	cella_cbor_put_bool(b, "done", true);
	cella_cbor_put_uint(b, "id", 0);
	return b;
}

/* A GET_BEGIN for a path that ends in "stall". */
static bool
stalls(const struct cella_env *env)
{
	struct cella_span p;

	return cella_cbor_get_text(env->body, "path", 4096, &p, NULL) == 0 &&
	       p.n >= 5 && memcmp(p.p + p.n - 5, "stall", 5) == 0;
}

static int
handler(struct cella_rpc_req *req, const struct cella_env *env, void *arg)
{
	cbor_item_t *b = cbor_new_indefinite_map();
	uint32_t type = 0;
	uint8_t h[32];

	(void)arg;
	if (env->type == CELLA_MSG_PIPE_STAT) {
		type = CELLA_MSG_PIPE_STAT_REPLY;
		cella_cbor_put_bool(b, "exists", true);
		cella_cbor_put_text(b, "type", "dir");
		cella_cbor_put_uint(b, "size", 4096);
		cella_cbor_put_uint(b, "mode", 0755);
		cella_cbor_put_uint(b, "mtime", 0);
		cella_cbor_put_uint(b, "chunk", 1 << 20);
		cella_cbor_put_uint(b, "window", 4);
		cella_cbor_put_uint(b, "max_file_bytes", 1 << 30);
	} else if (env->type == CELLA_MSG_PIPE_WALK) {
		cbor_decref(&b);
		b = walk();
		type = CELLA_MSG_PIPE_WALK_REPLY;
	} else if (env->type == CELLA_MSG_PIPE_GET_BEGIN && stalls(env)) {
		cbor_decref(&b);
		return 0; /* kept, never answered: the client waits */
	} else if (env->type == CELLA_MSG_PIPE_GET_BEGIN) {
		type = CELLA_MSG_PIPE_GET_BEGIN_REPLY;
		EVP_Digest("evil", 4, h, NULL, EVP_sha256(), NULL);
		cella_cbor_put_uint(b, "size", 4);
		cella_cbor_put_uint(b, "mode", 0644);
		cella_cbor_put_uint(b, "mtime", 0);
		cella_cbor_put_bytes(b, "data", "evil", 4);
		cella_cbor_put_bytes(b, "sha256", h, 32);
	}
	if (type == 0) {
		cbor_decref(&b);
		return -EOPNOTSUPP;
	}
	if (cella_rpc_reply(req, type, b) < 0)
		cella_rpc_error(req, -EIO, "reply failed");
	cbor_decref(&b);
	return 0;
}

int
main(int argc, char **argv)
{
	struct cella_rpc_server *s = NULL;
	struct cella_diag d = {{0}};
	int ready = -1;
	sigset_t set;
	int sig;

	if (argc == 5 && strcmp(argv[3], "--ready-fd") == 0)
		ready = cella_ready_parse(argv[4]);
	else if (argc != 3) {
		fprintf(stderr, "usage: pipefake URL SCENARIO [--ready-fd N]\n");
		return 64;
	}
	scenario = argv[2];
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (cella_rpc_server_new(argv[1], 4, handler, NULL, &s, &d) < 0) {
		fprintf(stderr, "pipefake: %s\n", d.msg);
		return 1;
	}
	cella_ready_notify(ready);
	sigwait(&set, &sig);
	cella_rpc_server_free(s);
	return 0;
}
