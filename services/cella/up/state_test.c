/*
 * state_test: how every verb finds an enclave `cella up` started, with no
 * enclave: the state root ($CELLA_STATE_DIR when absolute), valid names,
 * the name a cella.yaml gives (its `name`, else its directory's name made
 * valid), state.json written and read back field for field, and the files
 * refused: none there, damaged, another enclave's, a FIFO in its place
 * (which must not hang the verb), a list that sees only enclaves.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "services/cella/up/state.h"
#include "tests/lib/rmtree.h"

static char dir[] = "/tmp/state-test-XXXXXX";

static int
setup(void **state)
{
	(void)state;
	if (mkdtemp(dir) == NULL)
		return -1;
	return setenv("CELLA_STATE_DIR", dir, 1);
}

static int
teardown(void **state)
{
	(void)state;
	return rmtree(dir);
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

static void
test_root(void **state)
{
	char buf[256];

	(void)state;
	assert_int_equal(cella_state_root(buf, sizeof(buf)), 0);
	assert_string_equal(buf, dir);
	assert_int_equal(cella_state_dir("web", buf, sizeof(buf)), 0);
	assert_true(strncmp(buf, dir, strlen(dir)) == 0);
	assert_string_equal(buf + strlen(dir), "/web");
	assert_int_equal(cella_state_root(buf, 8), -ENAMETOOLONG);
	if (geteuid() == 0) { /* a relative $CELLA_STATE_DIR is ignored */
		setenv("CELLA_STATE_DIR", "relative", 1);
		assert_int_equal(cella_state_root(buf, sizeof(buf)), 0);
		assert_string_equal(buf, "/run/cella-up");
		setenv("CELLA_STATE_DIR", dir, 1);
	}
}

static void
test_name_ok(void **state)
{
	static const char *const good[] = {
		"a", "web", "Web_2", "a-b", "0", "_x",
		"abcdefghijklmnopqrstuvwxyz012345", /* 32 */
	};
	static const char *const bad[] = {
		"", "-a", "a b", "a/b", "..", "a.b", "é", "a\n",
		"abcdefghijklmnopqrstuvwxyz0123456", /* 33 */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (cella_state_name_ok(good[i]) != 0)
			fail_msg("'%s' refused", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (cella_state_name_ok(bad[i]) != -EINVAL)
			fail_msg("'%s' accepted", bad[i]);
}

static void
test_name_of(void **state)
{
	static const struct {
		const char *subdir, *yaml, *name;
	} cases[] = {
		{"p1", "name: shop\n", "shop"},
		{"My Project.v2", "services: {}\n", "my-project-v2"},
		{"--Lead", "services: {}\n", "lead"},
		{"a_very_long_directory_name_over_thirty_two", "services: {}\n",
		 "a_very_long_directory_name_over_"},
	};
	char sub[300], file[320], want[700], out[64];
	struct cella_diag d = {""};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(sub, sizeof(sub), "%s/%s", dir, cases[i].subdir);
		assert_int_equal(mkdir(sub, 0700), 0);
		snprintf(file, sizeof(file), "%s/cella.yaml", sub);
		write_file(file, cases[i].yaml);
		if (cella_state_name_of(file, NULL, out, sizeof(out), &d) != 0)
			fail_msg("%s: %s", cases[i].subdir, d.msg);
		assert_string_equal(out, cases[i].name);
		assert_int_equal(cella_state_name_ok(out), 0);
	}
	/* a `name` that cannot name an enclave: refused, with file:line */
	snprintf(file, sizeof(file), "%s/p1/cella.yaml", dir);
	write_file(file, "# x\nname: -x\n");
	assert_int_equal(cella_state_name_of(file, NULL, out, sizeof(out), &d),
			 -EINVAL);
	snprintf(want, sizeof(want),
		 "%s:2: name: an enclave's name is 1..32 of [A-Za-z0-9_-], "
		 "not starting with '-'; got '-x'",
		 file);
	assert_string_equal(d.msg, want);
}

static void
sample(struct cella_state *s, const char *name)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "%s", name);
	snprintf(s->backend, sizeof(s->backend), "local");
	s->cid = 17;
	s->pid = 4321;
	s->pid_start = 987654321;
	s->started = 1700000000;
	s->shutdown_ms = 12000;
	s->debug = true;
	assert_int_equal(cella_state_dir(name, s->dir, sizeof(s->dir)), 0);
	snprintf(s->file, sizeof(s->file), "/src/%s/cella.yaml", name);
	snprintf(s->root, sizeof(s->root), "/home/u/root.pem");
	snprintf(s->key, sizeof(s->key), "/home/u/operator.pem");
	for (int i = 0; i < 3; i++)
		memset(s->pcrs[i], 0xa0 + i, 48);
	s->nports = 2;
	s->ports[0].host = 8080;
	s->ports[0].enclave = 80;
	s->ports[1].host = 8443;
	s->ports[1].enclave = 443;
	assert_int_equal(mkdir(s->dir, 0700), 0);
}

static void
test_save_load(void **state)
{
	struct cella_state s, t;
	struct cella_diag d = {""};
	struct stat st;
	char path[PATH_MAX + 16];

	(void)state;
	sample(&s, "web");
	assert_int_equal(cella_state_save(&s, &d), 0);
	assert_int_equal(cella_state_path(&s, "state.json", path,
					  sizeof(path)),
			 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(cella_state_load("web", &t, &d), 0);
	assert_memory_equal(&s, &t, sizeof(s));
}

static void
test_load_refused(void **state)
{
	struct cella_state s, t;
	struct cella_diag d = {""};
	char path[PATH_MAX + 16], want[PATH_MAX + 64];

	(void)state;
	assert_int_equal(cella_state_load("nobody", &t, &d), -ENOENT);
	assert_string_equal(d.msg, "no enclave named 'nobody' is up (cella ls "
				   "lists them)");
	assert_int_equal(cella_state_load("../x", &t, &d), -EINVAL);
	assert_string_equal(d.msg, "'../x' is not an enclave name");
	/* damaged: not JSON, a PCR cut short, another enclave's state */
	sample(&s, "bad");
	assert_int_equal(cella_state_path(&s, "state.json", path,
					  sizeof(path)),
			 0);
	snprintf(want, sizeof(want), "%s: damaged", path);
	write_file(path, "{\"name\": \"bad\", ");
	assert_int_equal(cella_state_load("bad", &t, &d), -EINVAL);
	assert_string_equal(d.msg, want);
	assert_int_equal(cella_state_save(&s, &d), 0);
	{
		char *text = NULL;
		size_t n = 0;
		FILE *f = fopen(path, "r");
		char *at;

		assert_non_null(f);
		assert_int_equal(getdelim(&text, &n, '\0', f) > 0, 1);
		fclose(f);
		at = strstr(text, "a0a0");
		assert_non_null(at);
		at[0] = 'z'; /* not hex */
		write_file(path, text);
		free(text);
	}
	assert_int_equal(cella_state_load("bad", &t, &d), -EINVAL);
	assert_string_equal(d.msg, want);
	snprintf(s.name, sizeof(s.name), "other");
	assert_int_equal(cella_state_save(&s, &d), 0); /* in bad's directory */
	assert_int_equal(cella_state_load("bad", &t, &d), -EINVAL);
	assert_string_equal(d.msg, want);
	/* a FIFO in its place: refused at once, never waited on */
	unlink(path);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(cella_state_load("bad", &t, &d), -EINVAL);
	assert_string_equal(d.msg, want);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_root),
		cmocka_unit_test(test_name_ok),
		cmocka_unit_test(test_name_of),
		cmocka_unit_test(test_save_load),
		cmocka_unit_test(test_load_refused),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
