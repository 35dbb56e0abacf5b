/*
 * file_test: only regular files open; a FIFO without a writer, a socket,
 * a device and a directory are refused at once (the test would hang on the
 * FIFO otherwise) with the kind named, and a missing file says so.
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
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/core/file.h"

static char dir[] = "/tmp/cella-file-test.XXXXXX";

static void
expect_refused(const char *name, int err, const char *kind)
{
	struct cella_diag d = {""};
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(cella_file_open_regular(path, &d), err);
	print_message("%s\n", d.msg);
	assert_non_null(strstr(d.msg, path));
	assert_non_null(strstr(d.msg, kind));
}

static void
test_kinds(void **state)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct cella_diag d = {""};
	char path[256];
	int fd, s;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/file", dir);
	assert_true((fd = open(path, O_CREAT | O_WRONLY, 0600)) >= 0);
	assert_int_equal(write(fd, "x", 1), 1);
	close(fd);
	fd = cella_file_open_regular(path, &d);
	assert_true(fd >= 0);
	assert_int_equal(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	close(fd);

	snprintf(path, sizeof(path), "%s/fifo", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	expect_refused("fifo", -ENODEV, "not a regular file (a FIFO)");
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/sock", dir);
	assert_true((s = socket(AF_UNIX, SOCK_STREAM, 0)) >= 0);
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	/* A socket cannot be opened at all: open's own error. */
	expect_refused("sock", -ENXIO, "cannot open");
	close(s);
	snprintf(path, sizeof(path), "%s/sub", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	expect_refused("sub", -EISDIR, "(a directory)");
	expect_refused("missing", -ENOENT, "cannot open");
	assert_int_equal(cella_file_open_regular("/dev/null", &d), -ENODEV);
	assert_string_equal(d.msg, "/dev/null: not a regular file (a "
				   "character device)");

	unlink(sa.sun_path);
	snprintf(path, sizeof(path), "%s/fifo", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/file", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/sub", dir);
	rmdir(path);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kinds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
