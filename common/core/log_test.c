/*
 * log_test: line format, levels, quoting, that nothing is lost or split,
 * and a log file kept under its size with the newest lines.
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

#include "common/core/log.h"

static int pipefd[2];

static int
setup(void **state)
{
	(void)state;
	assert_int_equal(pipe(pipefd), 0);
	cella_log_init("test", CELLA_LOG_INFO);
	cella_log_set_fd(pipefd[1]);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	cella_log_set_fd(2);
	close(pipefd[0]);
	close(pipefd[1]);
	return 0;
}

static size_t
drain(char *buf, size_t len)
{
	ssize_t n;

	close(pipefd[1]);
	n = read(pipefd[0], buf, len - 1);
	assert_true(n >= 0);
	buf[n] = '\0';
	close(pipefd[0]);
	assert_int_equal(pipe(pipefd), 0);
	cella_log_set_fd(pipefd[1]);
	return (size_t)n;
}

static void
test_format(void **state)
{
	char buf[8192];

	(void)state;
	cella_log_info("hello", "k=%s n=%d", "v", 42);
	drain(buf, sizeof(buf));
	assert_int_equal(strncmp(buf, "ts=", 3), 0);
	/* ts=YYYY-MM-DDTHH:MM:SS.mmmZ */
	assert_int_equal(buf[26], 'Z');
	assert_non_null(strstr(buf, " lvl=info svc=test evt=hello k=v n=42\n"));
	assert_int_equal(strchr(buf, '\n') - buf + 1, (long)strlen(buf));
}

static void
test_event(void **state)
{
	char buf[8192];

	(void)state;
	cella_log_event(CELLA_LOG_WARN, "drained");
	cella_log_event(CELLA_LOG_DEBUG, "hidden");
	drain(buf, sizeof(buf));
	assert_non_null(strstr(buf, " lvl=warn svc=test evt=drained\n"));
	assert_null(strstr(buf, "hidden"));
	assert_int_equal(strchr(buf, '\n') - buf + 1, (long)strlen(buf));
}

static void
test_levels(void **state)
{
	char buf[8192];

	(void)state;
	cella_log_debug("hidden", "x=1");
	cella_log_warn("shown", "x=2");
	drain(buf, sizeof(buf));
	assert_null(strstr(buf, "hidden"));
	assert_non_null(strstr(buf, "lvl=warn svc=test evt=shown x=2"));
	cella_log_verbose();
	cella_log_debug("now", "x=3");
	drain(buf, sizeof(buf));
	assert_non_null(strstr(buf, "lvl=debug svc=test evt=now x=3"));
	cella_log_set_level(CELLA_LOG_INFO);
}

static void
test_quote(void **state)
{
	char big[1000];

	(void)state;
	assert_string_equal(cella_q("plain"), "plain");
	assert_string_equal(cella_q("two words"), "\"two words\"");
	assert_string_equal(cella_q("a\"b\\c\nd"), "\"a\\\"b\\\\c\\nd\"");
	assert_string_equal(cella_q("k=v"), "\"k=v\"");
	assert_string_equal(cella_q(""), "\"\"");
	assert_string_equal(cella_q("\x01\xff"), "\"\\x01\\xff\"");
	assert_string_equal(cella_q(NULL), "-");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	/* Long values are cut to 256 bytes and say so. */
	assert_int_equal(strlen(cella_q(big)), 256 + 2 + 3);
}

static void
test_truncation(void **state)
{
	char buf[16384], big[6000];
	size_t n;

	(void)state;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	cella_log_info("big", "v=%s", big);
	n = drain(buf, sizeof(buf));
	assert_true(n <= 4096);
	assert_memory_equal(buf + n - 4, "...\n", 4);
}

static off_t
file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? st.st_size : -1;
}

static bool
file_has(const char *path, const char *text)
{
	char buf[8192];
	FILE *f = fopen(path, "r");
	size_t n;

	if (f == NULL)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return strstr(buf, text) != NULL;
}

/* 300 lines of about 100 bytes into a file capped at 2000: two files at
 * most, each under the cap plus one line, the newest lines kept. */
static void
test_file_rotation(void **state)
{
	char dir[] = "/tmp/cella-log-XXXXXX", path[64], old[80], older[80];
	int fd = dup(pipefd[1]);

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/console.log", dir);
	snprintf(old, sizeof(old), "%s.1", path);
	snprintf(older, sizeof(older), "%s.1.1", path);
	cella_log_set_fd(fd); /* becomes the file */
	assert_int_equal(cella_log_open_file(path, 0), -EINVAL);
	assert_int_equal(cella_log_open_file("/nonexistent/dir/x.log", 100),
			 -ENOENT);
	assert_int_equal(cella_log_open_file(path, 2000), 0);
	for (int i = 0; i < 300; i++) {
		cella_log_info("line", "n=%03d pad=%s", i,
			       "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
		assert_true(file_size(path) <= 2000 + 200);
	}
	assert_true(file_size(old) > 1000 && file_size(old) <= 2000 + 200);
	assert_true(file_has(path, "n=299 "));
	assert_false(file_has(path, "n=000 ") || file_has(old, "n=000 "));
	/* An existing file over the cap is rotated at once. */
	assert_int_equal(cella_log_open_file(old, 100), 0);
	assert_int_equal(file_size(old), 0);
	assert_true(file_size(older) > 1000);
	cella_log_set_fd(pipefd[1]); /* no file any more */
	cella_log_info("after", "n=1");
	assert_int_equal(file_size(old), 0);
	close(fd);
	unlink(path);
	unlink(old);
	unlink(older);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_event),
		cmocka_unit_test(test_levels),
		cmocka_unit_test(test_quote),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_file_rotation),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
