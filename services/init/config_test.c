/*
 * config_test: cella.yaml to struct init_conf: defaults, dependencies as
 * indices, the environment overlay, users and groups (an unknown one is a
 * config error naming file:line), readiness kinds.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>

#include <cmocka.h>

#include "services/init/config.h"

static char path[64];

static int
load(const char *yaml, struct init_conf **out, struct cella_diag *d)
{
	int fd;

	snprintf(path, sizeof(path), "/tmp/cella-config-test-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, yaml, strlen(yaml)), (ssize_t)strlen(yaml));
	close(fd);
	fd = init_conf_load(path, NULL, out, d);
	unlink(path);
	return fd;
}

static int
count_prefix(char **envp, const char *prefix)
{
	int n = 0;

	for (size_t i = 0; envp[i] != NULL; i++)
		n += strncmp(envp[i], prefix, strlen(prefix)) == 0;
	return n;
}

static void
test_conversion(void **state)
{
	struct init_conf *c = NULL;
	struct cella_diag d = {{0}};
	const struct init_svc_conf *db, *web;

	(void)state;
	setenv("CELLA_CONFIG_TEST", "from-init", 1);
	assert_int_equal(load("init: {control: 'ipc:///tmp/x.sock', poweroff: false}\n"
			      "services:\n"
			      "  web:\n"
			      "    command: /bin/web --port 80\n"
			      "    depends_on: [db]\n"
			      "    env: {CELLA_CONFIG_TEST: mine, EXTRA: 'x=y'}\n"
			      "    ready: {tcp: 'tcp://127.0.0.1:8080'}\n"
			      "    user: '65534:65533'\n"
			      "    restart: always\n"
			      "  db:\n"
			      "    command: [/bin/db]\n"
			      "    ready: {fd: 5, timeout_ms: 0}\n"
			      "    enabled: false\n",
			      &c, &d),
			 0);
	assert_int_equal(c->nsvc, 2);
	assert_string_equal(c->control_url, "ipc:///tmp/x.sock");
	assert_false(c->poweroff);
	assert_true(c->mounts);
	assert_string_equal(c->heartbeat_url, "vsock://3:9000");
	web = &c->svcs[0];
	db = &c->svcs[1];
	assert_string_equal(web->name, "web");
	assert_string_equal(web->argv[1], "--port");
	assert_null(web->argv[3]);
	assert_int_equal(web->ndeps, 1);
	assert_int_equal(web->deps[0], 1);
	assert_int_equal(web->pol.restart, INIT_RESTART_ALWAYS);
	assert_int_equal(web->pol.backoff_min_ms, 100);
	assert_int_equal(web->pol.backoff_max_ms, 30000);
	assert_int_equal(web->pol.crash_max, 5);
	assert_int_equal(web->pol.grace_ms, 10000);
	assert_int_equal(web->ready, INIT_READY_TCP);
	assert_int_equal(ntohs(((struct sockaddr_in *)&web->ready_ss)->sin_port),
			 8080);
	assert_true(web->set_ids);
	assert_int_equal(web->uid, 65534);
	assert_int_equal(web->gid, 65533);
	assert_int_equal(web->ngroups, 0);
	assert_int_equal(count_prefix(web->envp, "CELLA_CONFIG_TEST="), 1);
	assert_int_equal(count_prefix(web->envp, "CELLA_CONFIG_TEST=mine"), 1);
	assert_int_equal(count_prefix(web->envp, "EXTRA=x=y"), 1);
	assert_int_equal(count_prefix(db->envp, "CELLA_CONFIG_TEST=from-init"), 1);
	assert_int_equal(db->ready, INIT_READY_FD);
	assert_int_equal(db->ready_fd, 5);
	assert_int_equal(db->ready_timeout_ms, 0);
	assert_false(db->enabled);
	assert_false(db->set_ids);
	assert_int_equal(init_conf_find(c, "db", 2), 1);
	assert_int_equal(init_conf_find(c, "d", 1), -1);
	init_conf_free(c);
}

static void
test_named_user(void **state)
{
	struct init_conf *c = NULL;
	struct cella_diag d = {{0}};

	(void)state;
	assert_int_equal(load("services:\n  a: {command: x, user: 'root:root'}\n",
			      &c, &d),
			 0);
	assert_true(c->svcs[0].set_ids);
	assert_int_equal(c->svcs[0].uid, 0);
	assert_int_equal(c->svcs[0].gid, 0);
	assert_true(c->svcs[0].ngroups >= 1);
	init_conf_free(c);
}

static void
test_unknown_user(void **state)
{
	struct init_conf *c = NULL;
	struct cella_diag d = {{0}};
	char want[160];

	(void)state;
	assert_int_equal(load("services:\n"
			      "  a:\n"
			      "    command: x\n"
			      "    user: no-such-user-here\n",
			      &c, &d),
			 -ENOENT);
	snprintf(want, sizeof(want),
		 "%s:4: services.a.user: unknown user in 'no-such-user-here'",
		 path);
	assert_string_equal(d.msg, want);
	assert_null(c);
	assert_int_equal(load("services:\n"
			      "  a:\n"
			      "    command: x\n"
			      "    user: 'root:no-such-group-here'\n",
			      &c, &d),
			 -ENOENT);
	assert_non_null(strstr(d.msg, ":4: services.a.user: unknown group in"));
}

static void
test_cycle_refused(void **state)
{
	struct init_conf *c = NULL;
	struct cella_diag d = {{0}};

	(void)state;
	assert_int_equal(load("services:\n"
			      "  a: {command: x, depends_on: [b]}\n"
			      "  b: {command: x, depends_on: [a]}\n",
			      &c, &d),
			 -EINVAL);
	assert_non_null(strstr(d.msg, ":3: services.b.depends_on: dependency "
				      "cycle a -> b -> a"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_conversion),
		cmocka_unit_test(test_named_user),
		cmocka_unit_test(test_unknown_user),
		cmocka_unit_test(test_cycle_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
