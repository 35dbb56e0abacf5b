/*
 * cp_stage_test: a tree copied out of the enclave appears whole or not at
 * all, on a real directory and no enclave. Published under a new name: the
 * staging directory is renamed into place, and the recorded directory
 * modes and mtimes are applied. Into an existing directory: merged, its
 * other entries kept and same-named files replaced; a directory against a
 * file anywhere in the tree is found by the dry pass, so nothing moves.
 * Refused before anything is staged: a file where the tree would go, a
 * symlink leading outside the destination. Closed unpublished: nothing is
 * left, however deep. Every refusal is exit 73 with its message.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "services/cella/cp/cp.h"
#include "tests/lib/rmtree.h"

static char dir[] = "/tmp/cp-stage-test-XXXXXX";
static int rootfd = -1;

static int
setup(void **state)
{
	(void)state;
	if (mkdtemp(dir) == NULL)
		return -1;
	rootfd = open(dir, O_RDONLY | O_DIRECTORY);
	return rootfd >= 0 ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	close(rootfd);
	return rmtree(dir);
}

static void
ctx_init(struct cp_ctx *x)
{
	memset(x, 0, sizeof(*x));
	pthread_mutex_init(&x->mu, NULL);
}

static void
put(int at, const char *rel, const char *text)
{
	int fd = openat(at, rel, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

/* The text of dir/rel, or "" when it is not a readable file. */
static const char *
text_of(const char *rel)
{
	static char buf[64];
	int fd = openat(rootfd, rel, O_RDONLY);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : 0;

	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

/* Staging directories left in dir. */
static int
leftovers(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		n += strncmp(e->d_name, ".cella-cp-", 10) == 0;
	closedir(d);
	return n;
}

/* A small tree in the stage: f, d/g, d/e/h. */
static void
stage_tree(struct cp_stage *s, const char *tag)
{
	char t[32];

	snprintf(t, sizeof(t), "f %s", tag);
	put(s->fd, "f", t);
	assert_int_equal(mkdirat(s->fd, "d", 0755), 0);
	assert_int_equal(mkdirat(s->fd, "d/e", 0755), 0);
	snprintf(t, sizeof(t), "g %s", tag);
	put(s->fd, "d/g", t);
	put(s->fd, "d/e/h", "h");
}

static void
test_publish_new(void **state)
{
	struct cp_ctx x;
	struct cp_stage s;
	struct timespec mt = {.tv_sec = 1600000000, .tv_nsec = 5};
	struct stat st;

	(void)state;
	ctx_init(&x);
	assert_int_equal(cp_stage_open(&x, rootfd, "new", &s), 0);
	assert_int_equal(leftovers(), 1);
	/* staged, not yet visible */
	stage_tree(&s, "1");
	assert_int_equal(faccessat(rootfd, "new", F_OK, 0), -1);
	cp_dir_time_add(&x, "d", 0750, &mt);
	assert_int_equal(cp_stage_publish(&x, &s), 0);
	cp_stage_close(&s);
	assert_string_equal(text_of("new/f"), "f 1");
	assert_string_equal(text_of("new/d/g"), "g 1");
	assert_string_equal(text_of("new/d/e/h"), "h");
	assert_int_equal(fstatat(rootfd, "new/d", &st, 0), 0);
	assert_int_equal(st.st_mode & 07777, 0750);
	assert_int_equal(st.st_mtim.tv_sec, 1600000000);
	assert_int_equal(st.st_mtim.tv_nsec, 5);
	assert_int_equal(leftovers(), 0);
	assert_false(cp_failed(&x));
	cp_ctx_fini(&x);
}

static void
test_merge(void **state)
{
	struct cp_ctx x;
	struct cp_stage s;

	(void)state;
	ctx_init(&x);
	assert_int_equal(mkdirat(rootfd, "old", 0755), 0);
	assert_int_equal(mkdirat(rootfd, "old/d", 0755), 0);
	put(rootfd, "old/f", "f 0");
	put(rootfd, "old/keep", "mine");
	put(rootfd, "old/d/mine", "mine too");
	assert_int_equal(cp_stage_open(&x, rootfd, "old", &s), 0);
	stage_tree(&s, "2");
	assert_int_equal(cp_stage_publish(&x, &s), 0);
	cp_stage_close(&s);
	assert_string_equal(text_of("old/f"), "f 2"); /* replaced */
	assert_string_equal(text_of("old/keep"), "mine");
	assert_string_equal(text_of("old/d/mine"), "mine too");
	assert_string_equal(text_of("old/d/g"), "g 2");
	assert_string_equal(text_of("old/d/e/h"), "h");
	assert_int_equal(leftovers(), 0);
	cp_ctx_fini(&x);
}

/* A file where the tree has a directory, deep down: nothing moves. */
static void
test_merge_in_the_way(void **state)
{
	struct cp_ctx x;
	struct cp_stage s;

	(void)state;
	ctx_init(&x);
	assert_int_equal(mkdirat(rootfd, "busy", 0755), 0);
	assert_int_equal(mkdirat(rootfd, "busy/d", 0755), 0);
	put(rootfd, "busy/f", "f 0");
	put(rootfd, "busy/d/e", "a file named e");
	assert_int_equal(cp_stage_open(&x, rootfd, "busy", &s), 0);
	stage_tree(&s, "3");
	assert_int_equal(cp_stage_publish(&x, &s), -EEXIST);
	assert_string_equal(x.msg, "busy/d/e: a regular file is in the way of "
				   "a directory; nothing copied");
	assert_int_equal(cp_code(&x), EX_CANTCREAT);
	cp_stage_close(&s);
	/* the dry pass found it: not even f was replaced */
	assert_string_equal(text_of("busy/f"), "f 0");
	assert_string_equal(text_of("busy/d/e"), "a file named e");
	assert_int_equal(faccessat(rootfd, "busy/d/g", F_OK, 0), -1);
	assert_int_equal(leftovers(), 0);
	cp_ctx_fini(&x);
}

static void
test_open_refused(void **state)
{
	static const struct {
		const char *name;
		int rv;
		const char *msg;
	} cases[] = {
		{"afile", -EEXIST, "afile exists and is not a directory; "
				   "nothing copied"},
		{"out", -EXDEV, "out: leads outside the destination"},
		{"out/sub", -EXDEV, "out/sub: leads outside the destination"},
		{"../x", -EXDEV, "../x: leads outside the destination"},
	};

	(void)state;
	put(rootfd, "afile", "x");
	assert_int_equal(symlinkat("/etc", rootfd, "out"), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cp_ctx x;
		struct cp_stage s;

		ctx_init(&x);
		assert_int_equal(cp_stage_open(&x, rootfd, cases[i].name, &s),
				 cases[i].rv);
		assert_string_equal(x.msg, cases[i].msg);
		assert_int_equal(cp_code(&x), EX_CANTCREAT);
		cp_stage_close(&s);
		assert_int_equal(leftovers(), 0); /* refused before staging */
		cp_ctx_fini(&x);
	}
}

/* Closed without publishing: the staged tree goes, however deep. */
static void
test_close_unpublished(void **state)
{
	struct cp_ctx x;
	struct cp_stage s;
	char p[4096];
	size_t n = 0;

	(void)state;
	ctx_init(&x);
	assert_int_equal(cp_stage_open(&x, rootfd, "never", &s), 0);
	stage_tree(&s, "4");
	for (int i = 0; i < 200; i++) {
		p[n++] = 'z';
		p[n] = '\0';
		assert_int_equal(mkdirat(s.fd, p, 0700), 0);
		p[n++] = '/';
	}
	p[n] = '\0';
	put(s.fd, "d/e/deep", "x");
	assert_int_equal(symlinkat("/etc", s.fd, "link"), 0);
	assert_int_equal(leftovers(), 1);
	cp_stage_close(&s);
	assert_int_equal(leftovers(), 0);
	assert_int_equal(faccessat(rootfd, "never", F_OK, 0), -1);
	assert_int_equal(access("/etc/passwd", F_OK), 0); /* not followed */
	cp_ctx_fini(&x);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_publish_new),
		cmocka_unit_test(test_merge),
		cmocka_unit_test(test_merge_in_the_way),
		cmocka_unit_test(test_open_refused),
		cmocka_unit_test(test_close_unpublished),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
