/*
 * conn_test: the connection options every verb that connects shares, with
 * no enclave: their defaults, the local URLs (environment over built-in),
 * taking them out of a verb's arguments (before "--" only, "--opt VALUE"
 * and "--opt=VALUE", everything else left in order) and from before the
 * verb, the refusals with the line the operator sees, the verification
 * policy they describe, and the one-line reports of a failed connection
 * with their advice. Runs in an empty directory, so that no ./cella.yaml
 * names an enclave.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "common/testing/certs.h"
#include "common/testing/util.h"
#include "services/cella/conn.h"
#include "tests/lib/rmtree.h"

#define HEX_A0 "a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0" \
	       "a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0"
#define HEX_02 "020202020202020202020202020202020202020202020202" \
	       "020202020202020202020202020202020202020202020202"

static char dir[] = "/tmp/conn-test-XXXXXX";

static int
setup(void **state)
{
	(void)state;
	if (mkdtemp(dir) == NULL || chdir(dir) < 0)
		return -1;
	unsetenv("CELLA_CONTROL");
	unsetenv("CELLA_PIPELINE");
	unsetenv("CELLA_RA");
	return setenv("CELLA_STATE_DIR", dir, 1);
}

static int
teardown(void **state)
{
	(void)state;
	return chdir("/") < 0 ? -1 : rmtree(dir);
}

static void
reset(void)
{
	cella_conn = (struct cella_conn_opts){.max_age_s = 60};
}

/* Before anything parsed them: what a verb without options uses. */
static void
test_defaults(void **state)
{
	(void)state;
	assert_null(cella_conn.enclave);
	assert_null(cella_conn.key);
	assert_null(cella_conn.root);
	assert_false(cella_conn.allow_debug);
	assert_int_equal(cella_conn.max_age_s, 60);
	assert_int_equal(cella_conn.npcrs, 0);
	{
		char *u = NULL;
		size_t ulen = 0;
		FILE *f = open_memstream(&u, &ulen);

		assert_non_null(f);
		cella_conn_print_usage(f);
		fclose(f);
		assert_non_null(strstr(u, "60"));
		free(u);
	}
}

static void
test_local_urls(void **state)
{
	static const struct {
		enum cella_svc svc;
		const char *env, *dflt;
	} cases[] = {
		{CELLA_SVC_INIT, "CELLA_CONTROL", "ipc:///run/cella/init.sock"},
		{CELLA_SVC_PIPELINE, "CELLA_PIPELINE",
		 "ipc:///run/cella/pipeline.sock"},
		{CELLA_SVC_RA, "CELLA_RA", "ipc:///run/cella/ra.sock"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_string_equal(cella_conn_local_url(cases[i].svc),
				    cases[i].dflt);
		setenv(cases[i].env, "ipc:///tmp/mine.sock", 1);
		assert_string_equal(cella_conn_local_url(cases[i].svc),
				    "ipc:///tmp/mine.sock");
		setenv(cases[i].env, "", 1); /* empty: as if unset */
		assert_string_equal(cella_conn_local_url(cases[i].svc),
				    cases[i].dflt);
		unsetenv(cases[i].env);
	}
}

#define ARGV_MAX 12

struct args_case {
	const char *in[ARGV_MAX];
	const char *out[ARGV_MAX]; /* argv left for the verb */
	const char *enclave, *key, *root;
	bool allow_debug;
	unsigned max_age_s;
	size_t npcrs;
};

static const struct args_case args_cases[] = {
	{{"exec", "--enclave", "vsock://16", "-i", "--", "sh", "--key", "k"},
	 {"exec", "-i", "--", "sh", "--key", "k"}, "vsock://16", NULL, NULL,
	 false, 60, 0},
	{{"ps", "--json", "--key=/k.pem", "--root", "/r.pem", "--allow-debug",
	  "--max-age", "5"},
	 {"ps", "--json"}, NULL, "/k.pem", "/r.pem", true, 5, 0},
	{{"logs", "-f", "--pcr", "0=" HEX_A0, "web", "--pcr=2=" HEX_02},
	 {"logs", "-f", "web"}, NULL, NULL, NULL, false, 60, 2},
	{{"cp", "a", ":/b", "--max-age=0"}, {"cp", "a", ":/b"}, NULL, NULL,
	 NULL, false, 0, 0},
	{{"ps", "--control", "ipc:///x", "--enclave=demo"},
	 {"ps", "--control", "ipc:///x"}, "demo", NULL, NULL, false, 60, 0},
	{{"ps"}, {"ps"}, NULL, NULL, NULL, false, 60, 0},
};

static int
count(const char *const *v)
{
	int n = 0;

	while (n < ARGV_MAX && v[n] != NULL)
		n++;
	return n;
}

static void
test_parse_args(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(args_cases) / sizeof(args_cases[0]);
	     i++) {
		const struct args_case *c = &args_cases[i];
		char *argv[ARGV_MAX + 1] = {0};
		int argc = count(c->in), want = count(c->out);

		reset();
		memcpy(argv, c->in, sizeof(char *) * (size_t)argc);
		assert_int_equal(cella_conn_parse_args(&argc, argv), 0);
		assert_int_equal(argc, want);
		for (int j = 0; j < want; j++)
			assert_string_equal(argv[j], c->out[j]);
		assert_null(argv[argc]);
		if (c->enclave != NULL)
			assert_string_equal(cella_conn.enclave, c->enclave);
		else
			assert_null(cella_conn.enclave);
		if (c->key != NULL)
			assert_string_equal(cella_conn.key, c->key);
		if (c->root != NULL)
			assert_string_equal(cella_conn.root, c->root);
		assert_int_equal(cella_conn.allow_debug, c->allow_debug);
		assert_int_equal(cella_conn.max_age_s, c->max_age_s);
		assert_int_equal(cella_conn.npcrs, c->npcrs);
	}
	/* the PCRs of the third case, in order */
	{
		char *argv[] = {"logs", "--pcr", "0=" HEX_A0, "--pcr=2=" HEX_02,
				NULL};
		int argc = 4;

		reset();
		assert_int_equal(cella_conn_parse_args(&argc, argv), 0);
		assert_int_equal(cella_conn.pcrs[0].index, 0);
		assert_int_equal(cella_conn.pcrs[0].value[47], 0xa0);
		assert_int_equal(cella_conn.pcrs[1].index, 2);
		assert_int_equal(cella_conn.pcrs[1].value[0], 0x02);
	}
}

static void
test_parse_args_refused(void **state)
{
	static const struct {
		const char *in[4];
		const char *line;
	} cases[] = {
		{{"ps", "--max-age", "86401"}, "cella: --max-age '86401': expected seconds in 0..86400\n"},
		{{"ps", "--max-age", "10x"}, "cella: --max-age '10x': expected seconds in 0..86400\n"},
		{{"ps", "--max-age="}, "cella: --max-age '': expected seconds in 0..86400\n"},
		{{"ps", "--pcr", "32=" HEX_A0},
		 "cella: --pcr '32=" HEX_A0 "': PCR index must be 0..31\n"},
		{{"ps", "--pcr", "0=abcd"}, "cella: --pcr '0=abcd': value must be 96 hex digits\n"},
		{{"ps", "--pcr", "x=" HEX_A0}, "cella: --pcr 'x=" HEX_A0 "': PCR index must be 0..31\n"},
		{{"ps", "--pcr", HEX_A0}, "cella: --pcr '" HEX_A0 "': expected N=HEX\n"},
		{{"ps", "--enclave"}, "cella: option '--enclave' needs a value\n"},
		{{"ps", "--root"}, "cella: option '--root' needs a value\n"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *argv[5] = {0}, *err;
		int argc = 0, rv;
		struct tu_capture cap;

		while (argc < 4 && cases[i].in[argc] != NULL) {
			argv[argc] = (char *)cases[i].in[argc];
			argc++;
		}
		reset();
		tu_capture_begin(&cap, 2);
		rv = cella_conn_parse_args(&argc, argv);
		err = tu_capture_end(&cap);
		assert_int_equal(rv, EX_USAGE);
		assert_string_equal(err, cases[i].line);
		free(err);
	}
}

/* More PCRs than the table holds: the one over is refused. */
static void
test_parse_args_pcr_cap(void **state)
{
	char *argv[2 * CELLA_CONN_PCRS_MAX + 4];
	char vals[CELLA_CONN_PCRS_MAX + 1][100];
	int argc = 1, rv;
	struct tu_capture cap;
	char *err;

	(void)state;
	argv[0] = "ps";
	for (int i = 0; i <= CELLA_CONN_PCRS_MAX; i++) {
		snprintf(vals[i], sizeof(vals[i]), "%d=%s", i % 32, HEX_A0);
		argv[argc++] = "--pcr";
		argv[argc++] = vals[i];
	}
	argv[argc] = NULL;
	reset();
	tu_capture_begin(&cap, 2);
	rv = cella_conn_parse_args(&argc, argv);
	err = tu_capture_end(&cap);
	assert_int_equal(rv, EX_USAGE);
	assert_non_null(strstr(err, "cella: --pcr '0="));
	assert_int_equal(cella_conn.npcrs, CELLA_CONN_PCRS_MAX);
	free(err);
}

static void
test_parse_leading(void **state)
{
	static const struct {
		const char *in[6];
		int rv;
		const char *out[6];
		const char *enclave;
	} cases[] = {
		{{"cella", "--enclave", "vsock://16", "ps", "--json"}, 0,
		 {"cella", "ps", "--json"}, "vsock://16"},
		{{"cella", "--enclave=vsock://16", "--key", "/k", "ps"}, 0,
		 {"cella", "ps"}, "vsock://16"},
		/* not a connection option: main's to judge */
		{{"cella", "--verbose", "ps"}, 0, {"cella", "--verbose", "ps"},
		 NULL},
		{{"cella", "--", "ps"}, 0, {"cella", "--", "ps"}, NULL},
		/* only before the verb */
		{{"cella", "ps", "--enclave", "x"}, 0,
		 {"cella", "ps", "--enclave", "x"}, NULL},
		{{"cella", "--max-age", "x", "ps"}, EX_USAGE, {NULL}, NULL},
		{{"cella", "--enclave"}, EX_USAGE, {NULL}, NULL},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *v[7] = {0}, **argv = v;
		int argc = 0, rv;
		struct tu_capture cap;

		while (argc < 6 && cases[i].in[argc] != NULL) {
			v[argc] = (char *)cases[i].in[argc];
			argc++;
		}
		reset();
		tu_capture_begin(&cap, 2);
		rv = cella_conn_parse_leading(&argc, &argv);
		free(tu_capture_end(&cap));
		assert_int_equal(rv, cases[i].rv);
		if (rv != 0)
			continue;
		for (int j = 0; j < argc; j++)
			assert_string_equal(argv[j], cases[i].out[j]);
		assert_null(cases[i].out[argc]);
		if (cases[i].enclave != NULL)
			assert_string_equal(cella_conn.enclave,
					    cases[i].enclave);
		else
			assert_null(cella_conn.enclave);
	}
}

static void
test_policy(void **state)
{
	struct cella_verify_policy pol;
	struct cella_diag d = {""};
	EVP_PKEY *k = tu_keygen("secp384r1");
	X509 *ca = tu_cert(NULL, k, k, "test root", 1, 0, 4102444800,
			   "critical,CA:TRUE", "critical,keyCertSign");
	X509 *root = NULL;
	FILE *f;

	(void)state;
	reset();
	assert_int_equal(cella_conn_policy(&pol, &root, &d), 0);
	assert_null(root);
	assert_null(pol.root); /* the built-in AWS root */
	assert_int_equal(pol.max_age_s, 60);
	assert_false(pol.allow_debug);
	assert_int_equal(pol.npcrs, 0);
	/* every option in the policy */
	assert_non_null(f = fopen("root.pem", "w"));
	assert_int_equal(PEM_write_X509(f, ca), 1);
	fclose(f);
	cella_conn.root = "root.pem";
	cella_conn.allow_debug = true;
	cella_conn.max_age_s = 7;
	cella_conn.npcrs = 1;
	cella_conn.pcrs[0].index = 4;
	memset(cella_conn.pcrs[0].value, 0x44, 48);
	assert_int_equal(cella_conn_policy(&pol, &root, &d), 0);
	assert_non_null(root);
	assert_ptr_equal(pol.root, root);
	assert_int_equal(X509_cmp(root, ca), 0);
	assert_true(pol.allow_debug);
	assert_int_equal(pol.max_age_s, 7);
	assert_int_equal(pol.npcrs, 1);
	assert_int_equal(pol.pcrs[0].index, 4);
	assert_int_equal(pol.pcrs[0].value[0], 0x44);
	X509_free(root);
	/* a root that is not there */
	cella_conn.root = "none.pem";
	assert_true(cella_conn_policy(&pol, &root, &d) < 0);
	assert_null(root);
	assert_non_null(strstr(d.msg, "none.pem"));
	X509_free(ca);
	EVP_PKEY_free(k);
}

static void
test_report(void **state)
{
	static const char gone[] =
		" (the enclave, its bridge or the service went away: check "
		"with `cella ls` and `cella ps`, then try again)\n";
	static const char nobody[] =
		" (nothing answers there: is the enclave running "
		"(`cella ls`)?)\n";
	static const char late[] =
		" (no answer in time: check the enclave with `cella ps`, then "
		"try again)\n";
	static const struct {
		const char *verb;
		int err;
		const char *msg;
		bool dialing;
		const char *line, *advice;
	} cases[] = {
		{"ps", -ECONNRESET, "vsock://16: lost", false,
		 "cella ps: vsock://16: lost", gone},
		{"ps", -ECONNABORTED, "m", true, "cella ps: m", gone},
		{"cp", -EPIPE, "m", true, "cella cp: m", gone},
		{"cp", -EPIPE, "m", false, "cella cp: m", "\n"},
		{"ps", -ECONNREFUSED, "vsock://16:9001", true,
		 "cella ps: vsock://16:9001", nobody},
		{"ps", -ENOENT, "m", true, "cella ps: m", nobody},
		{"ps", -ECONNREFUSED, "m", false, "cella ps: m", "\n"},
		{"exec", -ETIMEDOUT, "m", true, "cella exec: m", late},
		{"exec", -ETIMEDOUT, "m", false, "cella exec: m", "\n"},
		{"logs", -EINVAL, "bad", true, "cella logs: bad", "\n"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tu_capture cap;
		char want[400], *got;

		tu_capture_begin(&cap, 2);
		cella_conn_report(cases[i].verb, cases[i].err, cases[i].msg,
				  cases[i].dialing);
		got = tu_capture_end(&cap);
		snprintf(want, sizeof(want), "%s%s", cases[i].line,
			 cases[i].advice);
		assert_string_equal(got, want);
		free(got);
	}
	/* no message: the error's own text */
	{
		struct tu_capture cap;
		char want[200], *got;

		tu_capture_begin(&cap, 2);
		cella_conn_report("ps", -EINVAL, NULL, false);
		got = tu_capture_end(&cap);
		snprintf(want, sizeof(want), "cella ps: %s\n",
			 cella_strerror(-EINVAL));
		assert_string_equal(got, want);
		free(got);
	}
}

/* --enclave as a URL needs no state; a name nobody started is -ENOENT. */
static void
test_resolve(void **state)
{
	struct cella_diag d = {""};

	(void)state;
	reset();
	assert_int_equal(cella_conn_resolve(&d), 0); /* no --enclave */
	cella_conn.enclave = "vsock://16:9001";
	assert_int_equal(cella_conn_resolve(&d), 0);
	assert_string_equal(cella_conn.enclave, "vsock://16:9001");
	assert_null(cella_conn.key);
	cella_conn.enclave = "nosuch";
	assert_int_equal(cella_conn_resolve(&d), -ENOENT);
	assert_string_equal(cella_conn.enclave, "nosuch");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults), /* first: nothing parsed yet */
		cmocka_unit_test(test_local_urls),
		cmocka_unit_test(test_parse_args),
		cmocka_unit_test(test_parse_args_refused),
		cmocka_unit_test(test_parse_args_pcr_cap),
		cmocka_unit_test(test_parse_leading),
		cmocka_unit_test(test_policy),
		cmocka_unit_test(test_report),
		cmocka_unit_test(test_resolve),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
