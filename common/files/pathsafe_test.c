/*
 * pathsafe_test: the text rules for relative and absolute paths (every
 * rule with its code), symlink targets that stay or leave, and openat2
 * below a real directory: "..", absolute and relative symlinks out are
 * EXDEV, a symlink that stays inside resolves, and open_parent names the
 * last component.
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

#include "common/files/pathsafe.h"
#include "tests/lib/rmtree.h"

static int
rel(const char *p)
{
	return pipe_path_check_rel(p, strlen(p), 0, NULL);
}

static void
test_rel(void **state)
{
	char big[5000];
	struct cella_diag d;

	(void)state;
	assert_int_equal(rel("a"), 0);
	assert_int_equal(rel("a/b/c.txt"), 0);
	assert_int_equal(rel("..a/b..c/.d"), 0);
	assert_int_equal(rel(""), -EINVAL);
	assert_int_equal(pipe_path_check_rel("", 0, 1, NULL), 0);
	assert_int_equal(rel("/a"), -EINVAL);
	assert_int_equal(rel(".."), -EINVAL);
	assert_int_equal(rel("a/../b"), -EINVAL);
	assert_int_equal(rel("a/.."), -EINVAL);
	assert_int_equal(rel("./a"), -EINVAL);
	assert_int_equal(rel("a//b"), -EINVAL);
	assert_int_equal(rel("a/"), -EINVAL);
	assert_int_equal(pipe_path_check_rel("a\0b", 3, 0, &d), -EINVAL);
	assert_string_equal(d.msg, "path holds a NUL byte");
	memset(big, 'a', sizeof(big));
	assert_int_equal(pipe_path_check_rel(big, 256, 0, NULL), -ENAMETOOLONG);
	assert_int_equal(pipe_path_check_rel(big, 255, 0, NULL), 0);
	for (int i = 100; i < (int)sizeof(big); i += 101)
		big[i] = '/';
	assert_int_equal(pipe_path_check_rel(big, PIPE_PATH_MAX, 0, NULL), 0);
	assert_int_equal(pipe_path_check_rel(big, PIPE_PATH_MAX + 1, 0, &d),
			 -ENAMETOOLONG);
	assert_string_equal(d.msg, "path of 4096 bytes, over 4095");
}

static void
test_abs(void **state)
{
	const char *r;
	size_t n;

	(void)state;
	assert_int_equal(pipe_path_check_abs("/", 1, &r, &n, NULL), 0);
	assert_int_equal(n, 0);
	assert_int_equal(pipe_path_check_abs("/a/b/", 5, &r, &n, NULL), 0);
	assert_int_equal(n, 3);
	assert_memory_equal(r, "a/b", 3);
	assert_int_equal(pipe_path_check_abs("a/b", 3, &r, &n, NULL), -EINVAL);
	assert_int_equal(pipe_path_check_abs("", 0, &r, &n, NULL), -EINVAL);
	assert_int_equal(pipe_path_check_abs("/a/../b", 7, &r, &n, NULL), -EINVAL);
	assert_int_equal(pipe_path_check_abs("//a", 3, &r, &n, NULL), -EINVAL);
}

static void
test_symlink_targets(void **state)
{
	(void)state;
	assert_int_equal(pipe_symlink_check("l", "a/b", NULL), 0);
	assert_int_equal(pipe_symlink_check("l", ".", NULL), 0);
	assert_int_equal(pipe_symlink_check("d/l", "..", NULL), 0);
	assert_int_equal(pipe_symlink_check("d/l", "../x", NULL), 0);
	assert_int_equal(pipe_symlink_check("d/e/l", "../../x", NULL), 0);
	assert_int_equal(pipe_symlink_check("d/l", "x/../../y", NULL), 0);
	assert_int_equal(pipe_symlink_check("l", "..", NULL), -EXDEV);
	assert_int_equal(pipe_symlink_check("d/l", "../..", NULL), -EXDEV);
	assert_int_equal(pipe_symlink_check("d/l", "../../d", NULL), -EXDEV);
	assert_int_equal(pipe_symlink_check("l", "a/../../b", NULL), -EXDEV);
	assert_int_equal(pipe_symlink_check("l", "/etc", NULL), -EXDEV);
	assert_int_equal(pipe_symlink_check("l", "", NULL), -EINVAL);
}

static char dir[64];
static int root = -1;

static int
setup(void **state)
{
	char p[256];

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/pathsafe_test.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(p, sizeof(p), "%s/root", dir);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/root/sub", dir);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/outside", dir);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/root/abs", dir);
	if (symlink(dir, p) < 0)
		return -1;
	snprintf(p, sizeof(p), "%s/root/up", dir);
	if (symlink("../outside", p) < 0)
		return -1;
	snprintf(p, sizeof(p), "%s/root/in", dir);
	if (symlink("sub", p) < 0)
		return -1;
	snprintf(p, sizeof(p), "%s/root", dir);
	root = open(p, O_PATH | O_DIRECTORY);
	return root >= 0 ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	close(root);
	return rmtree(dir) == 0 ? 0 : -1;
}

static void
test_openat2(void **state)
{
	const char *name;
	int fd, pfd;

	(void)state;
	fd = pipe_openat2(root, "sub", O_RDONLY | O_DIRECTORY, 0);
	assert_true(fd >= 0);
	close(fd);
	fd = pipe_openat2(root, "", O_RDONLY | O_DIRECTORY, 0);
	assert_true(fd >= 0);
	close(fd);
	fd = pipe_openat2(root, "in", O_RDONLY | O_DIRECTORY, 0);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(pipe_openat2(root, "..", O_RDONLY, 0), -EXDEV);
	assert_int_equal(pipe_openat2(root, "sub/../../outside", O_RDONLY, 0),
			 -EXDEV);
	assert_int_equal(pipe_openat2(root, "abs/outside", O_RDONLY, 0), -EXDEV);
	assert_int_equal(pipe_openat2(root, "up", O_RDONLY, 0), -EXDEV);
	assert_int_equal(pipe_openat2(root, "up/x", O_CREAT | O_WRONLY, 0600),
			 -EXDEV);
	assert_int_equal(pipe_openat2(root, "none", O_RDONLY, 0), -ENOENT);
	assert_int_equal(pipe_open_parent(root, "sub/file", &pfd, &name), 0);
	assert_string_equal(name, "file");
	close(pfd);
	assert_int_equal(pipe_open_parent(root, "file", &pfd, &name), 0);
	assert_string_equal(name, "file");
	close(pfd);
	assert_int_equal(pipe_open_parent(root, "up/file", &pfd, &name), -EXDEV);
	assert_int_equal(pipe_open_parent(root, "nodir/file", &pfd, &name),
			 -ENOENT);
	assert_int_equal(pipe_open_parent(root, "", &pfd, &name), -EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rel),
		cmocka_unit_test(test_abs),
		cmocka_unit_test(test_symlink_targets),
		cmocka_unit_test(test_openat2),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
