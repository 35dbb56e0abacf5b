/*
 * fileio_test: what a file holds when its size says nothing. A file of
 * exactly the cap is read whole, one byte more is -EFBIG with nothing
 * allocated; procfs and sysfs files and empty files count as unsized,
 * an ordinary file with bytes does not.
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
#include <unistd.h>

#include "common/files/fileio.h"

static int
file_of(size_t n)
{
	char path[] = "/tmp/cella-fileio-test.XXXXXX";
	int fd = mkstemp(path);
	uint8_t *p = malloc(n ? n : 1);

	assert_true(fd >= 0);
	unlink(path);
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 7);
	assert_int_equal(pipe_pwrite_all(fd, p, n, 0), 0);
	free(p);
	return fd;
}

static void
test_read_all(void **state)
{
	uint8_t *p = NULL;
	size_t n = 0;
	int fd;

	(void)state;
	fd = file_of(4096);
	assert_int_equal(pipe_read_all(fd, 4096, &p, &n), 0);
	assert_int_equal(n, 4096);
	assert_int_equal(p[4095], (uint8_t)(4095 * 7));
	free(p);
	p = NULL;
	assert_int_equal(pipe_read_all(fd, 4095, &p, &n), -EFBIG);
	assert_null(p);
	close(fd);
	fd = file_of(0);
	assert_int_equal(pipe_read_all(fd, 10, &p, &n), 0);
	assert_int_equal(n, 0);
	free(p);
	close(fd);
}

static void
test_size_unknown(void **state)
{
	struct stat st;
	int fd;

	(void)state;
	fd = file_of(10);
	assert_int_equal(fstat(fd, &st), 0);
	assert_false(pipe_size_unknown(fd, &st));
	close(fd);
	fd = file_of(0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_true(pipe_size_unknown(fd, &st));
	close(fd);
	if ((fd = open("/proc/self/status", O_RDONLY)) >= 0) {
		assert_int_equal(fstat(fd, &st), 0);
		assert_true(pipe_size_unknown(fd, &st));
		close(fd);
	}
	/* sysfs says 4096 whatever the file holds. */
	if ((fd = open("/sys/kernel/mm/transparent_hugepage/enabled",
		       O_RDONLY)) >= 0 ||
	    (fd = open("/sys/devices/system/cpu/online", O_RDONLY)) >= 0) {
		assert_int_equal(fstat(fd, &st), 0);
		assert_true(st.st_size > 0);
		assert_true(pipe_size_unknown(fd, &st));
		close(fd);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_all),
		cmocka_unit_test(test_size_unknown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
