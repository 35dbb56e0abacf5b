/*
 * upcfg_test: what the local emulator makes of a user's cella.yaml. The
 * effective tree has the emulator's boot duties, sim attestation with this
 * enclave's files, the local operator (once, under a free name), pipeline,
 * the ingress service, workdirs from the file's directory; the process
 * backend moves the ipc sockets into the state directory; the text loads
 * back to the same configuration; planning refuses what the file alone
 * cannot say is wrong; the host configuration runs the launcher and the
 * proxies.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "services/cella/up/upcfg.h"

#define KEY "ed25519:SEuyD4jxeg0HkpR4kG4a6cicEv5PMrnoBXA1wc2PLUk="
#define OTHER "ed25519:AAuyD4jxeg0HkpR4kG4a6cicEv5PMrnoBXA1wc2PLUk="

static const char base[] =
	"name: demo\n"
	"services:\n"
	"  web:\n"
	"    command: [web]\n"
	"  job:\n"
	"    command: [job]\n"
	"    workdir: sub\n"
	"  abs:\n"
	"    command: [abs]\n"
	"    workdir: /srv\n"
	"ports: ['8080:80', '8081:80', '9443:443']\n";

static struct cella_conf *
load(const char *yaml, struct cella_up_plan *p, bool process, int want)
{
	struct cella_conf *c = NULL;
	struct cella_diag d = {{0}};

	memset(p, 0, sizeof(*p));
	snprintf(p->st.file, sizeof(p->st.file), "/app/cella.yaml");
	snprintf(p->appdir, sizeof(p->appdir), "/app");
	snprintf(p->st.dir, sizeof(p->st.dir), "/state/demo");
	snprintf(p->st.backend, sizeof(p->st.backend), "%s",
		 process ? "process" : "local");
	snprintf(p->op_name, sizeof(p->op_name), "alice");
	snprintf(p->op_key, sizeof(p->op_key), KEY);
	p->process = process;
	assert_int_equal(cella_conf_load_mem("cella.yaml", yaml, strlen(yaml),
					     &c, &d), 0);
	assert_int_equal(cella_conf_validate(c, "", cella_cfg_schema, &d), 0);
	assert_int_equal(cella_upcfg_plan(c, p, &d), want);
	if (want != 0) {
		print_message("%s\n", d.msg);
		cella_conf_free(c);
		return NULL;
	}
	assert_int_equal(cella_upcfg_effective(c, p, &d), 0);
	return c;
}

static const cJSON *
at(const struct cella_conf *c, const char *a, const char *b)
{
	const cJSON *v = cJSON_GetObjectItem(cella_conf_root(c), a);

	return b != NULL ? cJSON_GetObjectItem(v, b) : v;
}

static void
test_local(void **state)
{
	struct cella_up_plan p;
	struct cella_conf *c = load(base, &p, false, 0);
	const cJSON *svcs = at(c, "services", NULL), *op, *cmd;

	(void)state;
	assert_int_equal(p.st.nports, 3);
	assert_int_equal(p.st.cid, 16);
	assert_false(cJSON_IsTrue(at(c, "init", "mounts")));
	assert_true(cJSON_IsTrue(at(c, "init", "loopback")));
	assert_true(cJSON_IsTrue(at(c, "init", "heartbeat")));
	assert_false(cJSON_IsTrue(at(c, "init", "poweroff")));
	assert_string_equal(at(c, "init", "cgroup")->valuestring, "");
	assert_string_equal(at(c, "init", "control")->valuestring,
			    "ipc:///run/cella/init.sock");
	assert_string_equal(at(c, "attestation", "provider")->valuestring, "sim");
	assert_string_equal(
		cella_conf_str(at(c, "attestation", "sim"), "ca", ""),
		"/state/demo/enclave/ca");
	assert_string_equal(cella_conf_str(at(c, "pipeline", NULL), "listen", ""),
			    "ipc:///run/cella/pipeline.sock");
	op = cJSON_GetArrayItem(at(c, "operators", NULL), 0);
	assert_string_equal(cella_conf_str(op, "name", ""), "alice");
	assert_string_equal(cella_conf_str(op, "public_key", ""), KEY);
	assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(op, "roles")), 4);
	assert_string_equal(cella_conf_str(cJSON_GetObjectItem(svcs, "web"),
					   "workdir", ""), "/app");
	assert_string_equal(cella_conf_str(cJSON_GetObjectItem(svcs, "job"),
					   "workdir", ""), "/app/sub");
	assert_string_equal(cella_conf_str(cJSON_GetObjectItem(svcs, "abs"),
					   "workdir", ""), "/srv");
	/* One enclave-side listener per enclave port. */
	cmd = cJSON_GetObjectItem(cJSON_GetObjectItem(svcs, "ports"), "command");
	assert_int_equal(cJSON_GetArraySize(cmd), 7);
	assert_string_equal(cJSON_GetArrayItem(cmd, 0)->valuestring,
			    "cella-pf-proxy");
	assert_string_equal(cJSON_GetArrayItem(cmd, 2)->valuestring,
			    "vsock://any:80=tcp://127.0.0.1:80");
	assert_string_equal(cJSON_GetArrayItem(cmd, 4)->valuestring,
			    "vsock://any:443=tcp://127.0.0.1:443");
	cella_conf_free(c);
}

static void
test_process(void **state)
{
	struct cella_up_plan p;
	struct cella_conf *c = load(base, &p, true, 0);
	const cJSON *rule;

	(void)state;
	assert_false(cJSON_IsTrue(at(c, "init", "loopback")));
	assert_string_equal(at(c, "init", "control")->valuestring,
			    "ipc:///state/demo/run/init.sock");
	assert_string_equal(cella_conf_str(at(c, "pipeline", NULL), "listen", ""),
			    "ipc:///state/demo/run/pipeline.sock");
	assert_string_equal(
		cella_conf_str(at(c, "attestation", "internal"), "listen", ""),
		"ipc:///state/demo/run/ra.sock");
	assert_string_equal(cella_conf_str(at(c, "attestation", "https"),
					   "listen", ""),
			    "tcp://127.0.0.1:0");
	cJSON_ArrayForEach(rule, at(c, "bridge", "rules"))
		assert_non_null(strstr(cella_conf_str(rule, "target", ""),
				       "ipc:///state/demo/run/"));
	cella_conf_free(c);

	/* The file's port stands, on the loopback address only: the
	 * enclave's 0.0.0.0 would be every interface of the host here. */
	c = load("name: demo\nattestation:\n  https: {listen: "
		 "'tcp://0.0.0.0:9443'}\n",
		 &p, true, 0);
	assert_string_equal(cella_conf_str(at(c, "attestation", "https"),
					   "listen", ""),
			    "tcp://127.0.0.1:9443");
	cella_conf_free(c);
	c = load("name: demo\nattestation:\n  https: {listen: "
		 "'tcp://[::]:9443'}\n",
		 &p, true, 0);
	assert_string_equal(cella_conf_str(at(c, "attestation", "https"),
					   "listen", ""),
			    "tcp://[::1]:9443");
	cella_conf_free(c);
	/* The local backend keeps it: its network is the enclave's own. */
	c = load("name: demo\nattestation:\n  https: {listen: "
		 "'tcp://0.0.0.0:9443'}\n",
		 &p, false, 0);
	assert_string_equal(cella_conf_str(at(c, "attestation", "https"),
					   "listen", ""),
			    "tcp://0.0.0.0:9443");
	cella_conf_free(c);
}

static void
test_operators(void **state)
{
	struct cella_up_plan p;
	struct cella_conf *c;
	char yaml[512];
	const cJSON *ops;

	(void)state;
	/* Our key listed already: its roles stand, no second entry. */
	snprintf(yaml, sizeof(yaml),
		 "name: demo\noperators:\n"
		 "  - {name: me, public_key: '%s', roles: [logs]}\n",
		 KEY);
	c = load(yaml, &p, false, 0);
	ops = at(c, "operators", NULL);
	assert_int_equal(cJSON_GetArraySize(ops), 1);
	assert_string_equal(cella_conf_str(cJSON_GetArrayItem(ops, 0), "name", ""),
			    "me");
	cella_conf_free(c);
	/* Our name taken by another key: a free one. */
	snprintf(yaml, sizeof(yaml),
		 "name: demo\noperators:\n"
		 "  - {name: alice, public_key: '%s', roles: [logs]}\n",
		 OTHER);
	c = load(yaml, &p, false, 0);
	ops = at(c, "operators", NULL);
	assert_int_equal(cJSON_GetArraySize(ops), 2);
	assert_string_equal(cella_conf_str(cJSON_GetArrayItem(ops, 1), "name", ""),
			    "alice-local2");
	cella_conf_free(c);
}

static void
test_plan_errors(void **state)
{
	struct cella_up_plan p;
	struct cella_diag d = {{0}};
	struct cella_conf *c = NULL;
	const char *yaml = "name: demo\nports:\n  - '8080:80'\n"
			   "  - '8081:9001'\n";

	(void)state;
	assert_null(load(yaml, &p, false, -EINVAL));
	assert_int_equal(cella_conf_load_mem("cella.yaml", yaml, strlen(yaml),
					     &c, &d), 0);
	assert_int_equal(cella_conf_validate(c, "", cella_cfg_schema, &d), 0);
	assert_int_equal(cella_upcfg_plan(c, &p, &d), -EINVAL);
	assert_string_equal(d.msg, "cella.yaml:4: ports[1]: enclave port 9001 is "
				   "the attested bridge's vsock port "
				   "(bridge.rules[0].listen)");
	cella_conf_free(c);
	yaml = "name: demo\nservices:\n  ports:\n    command: [x]\n"
	       "ports: ['1:2']\n";
	assert_int_equal(cella_conf_load_mem("cella.yaml", yaml, strlen(yaml),
					     &c, &d), 0);
	assert_int_equal(cella_conf_validate(c, "", cella_cfg_schema, &d), 0);
	assert_int_equal(cella_upcfg_plan(c, &p, &d), -EINVAL);
	assert_string_equal(d.msg, "cella.yaml:3: services.ports: this name is "
				   "the ingress service's (ports:); rename the "
				   "service");
	cella_conf_free(c);
	/* A name that cannot name an enclave (nor its sim instance). */
	assert_null(load("name: 'a b'\n", &p, false, -EINVAL));
}

static void
test_text_round_trip(void **state)
{
	struct cella_up_plan p;
	struct cella_conf *c = load(base, &p, false, 0), *back = NULL;
	struct cella_diag d = {{0}};
	char *text = NULL;
	size_t len = 0;

	(void)state;
	assert_int_equal(cella_upcfg_text(c, &p, &text, &len), 0);
	assert_memory_equal(text, "# The effective configuration of enclave "
				  "demo", 41);
	assert_int_equal(cella_conf_load_mem("eff.yaml", text, len, &back, &d),
			 0);
	assert_int_equal(cella_conf_validate(back, "", cella_cfg_schema, &d), 0);
	assert_int_equal(cella_cfg_validate_init(back, &d), 0);
	assert_true(cJSON_Compare(cella_conf_root(c), cella_conf_root(back),
				  true));
	free(text);
	cella_conf_free(back);
	cella_conf_free(c);
}

static void
test_host(void **state)
{
	struct cella_up_plan p;
	struct cella_conf *c = load(base, &p, false, 0);
	char *text = NULL;
	cJSON *h, *svcs, *argv;

	(void)state;
	snprintf(p.launch, sizeof(p.launch), "/bin/cella-launch");
	snprintf(p.init, sizeof(p.init), "/bin/cella-init");
	snprintf(p.pf_proxy, sizeof(p.pf_proxy), "/bin/cella-pf-proxy");
	snprintf(p.state_root, sizeof(p.state_root), "/state");
	snprintf(p.sim_dir, sizeof(p.sim_dir), "/home/a/.local/share/cella/sim-ca");
	snprintf(p.st.key, sizeof(p.st.key), "/home/a/.config/cella/operator.pem");
	p.ready_timeout_ms = 60000;
	assert_int_equal(cella_upcfg_host(&p, &text), 0);
	h = cJSON_Parse(text);
	assert_non_null(h);
	assert_string_equal(cella_conf_str(cJSON_GetObjectItem(h, "init"),
					   "control", ""),
			    "ipc:///state/demo/host.sock");
	svcs = cJSON_GetObjectItem(h, "services");
	assert_int_equal(cJSON_GetArraySize(svcs), 4);
	argv = cJSON_GetObjectItem(cJSON_GetObjectItem(svcs, "enclave"),
				   "command");
	assert_string_equal(cJSON_GetArrayItem(argv, 0)->valuestring,
			    "/bin/cella-launch");
	assert_non_null(strstr(text, "\"--hide\", \"/state\""));
	assert_non_null(strstr(text, "\"--hide\", \"/home/a/.config/cella/operator.pem\""));
	/* The project read-only, unless enclave.project_writable. */
	assert_non_null(strstr(text, "\"--bind-ro\", \"/app\""));
	assert_null(strstr(text, "\"--bind\", \"/app\""));
	argv = cJSON_GetObjectItem(cJSON_GetObjectItem(svcs, "port-9443"),
				   "command");
	assert_string_equal(cJSON_GetArrayItem(argv, 2)->valuestring,
			    "tcp://127.0.0.1:9443=vsock://16:443");
	cJSON_Delete(h);
	free(text);
	p.project_rw = true;
	assert_int_equal(cella_upcfg_host(&p, &text), 0);
	assert_non_null(strstr(text, "\"--bind\", \"/app\""));
	free(text);
	cella_conf_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_local),
		cmocka_unit_test(test_process),
		cmocka_unit_test(test_operators),
		cmocka_unit_test(test_plan_errors),
		cmocka_unit_test(test_text_round_trip),
		cmocka_unit_test(test_host),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
