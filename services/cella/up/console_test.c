/*
 * console_test: console.log lines as the host-side cella-init writes them
 * (a service's line wrapped once, an enclave service's twice) come out as
 * "source | text" with every escape undone, supervisor chatter is quiet
 * while warnings are not, tail finds a service's last lines, and both a
 * tail and a follower read across a rotation (console.log.1 then
 * console.log).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "services/cella/up/console.h"

/* As written: the enclave's line, escaped again by the host's init. */
#define ENC(inner)                                                          \
	"ts=2026-11-22T02:47:25.100Z lvl=info svc=init evt=output "         \
	"service=enclave stream=stderr line=\"" inner "\""

static void
expect(const char *raw, bool shown, const char *source, const char *text)
{
	struct cella_console_line l;

	assert_int_equal(cella_console_parse(raw, &l), shown);
	assert_string_equal(l.source, source);
	assert_string_equal(l.text, text);
}

static void
test_service_output(void **state)
{
	(void)state;
	expect(ENC("ts=2026-11-22T02:47:25.099Z lvl=info svc=init evt=output "
		   "service=hello stream=stdout line=\\\"hello, \\\\\\\"world"
		   "\\\\\\\"\\\\x21 caf\\\\xc3\\\\xa9\\\""),
	       true, "hello", "hello, \"world\"! caf\xc3\xa9");
	/* A bare (unquoted) value. */
	expect(ENC("ts=2026-11-22T02:47:25.099Z lvl=info svc=init evt=output "
		   "service=greeter stream=stdout line=ok"),
	       true, "greeter", "ok");
	/* A service's own logfmt line loses its ts, lvl=info and svc. */
	expect(ENC("ts=x lvl=info svc=init evt=output service=bridge "
		   "stream=stderr line=\\\"ts=y lvl=info svc=pf-proxy "
		   "evt=bridge_listen addr=vsock://any:9001\\\""),
	       true, "bridge", "bridge_listen addr=vsock://any:9001");
	/* A cut line keeps its "...". */
	expect(ENC("ts=x lvl=info svc=init evt=output service=hello "
		   "stream=stdout line=\\\"aaaa...\\\""),
	       true, "hello", "aaaa...");
}

static void
test_events(void **state)
{
	struct cella_console_line l;

	(void)state;
	expect(ENC("ts=x lvl=info svc=init evt=svc_exit service=hello pid=15 "
		   "status=\\\"exit 0\\\""),
	       true, "init", "svc_exit service=hello pid=15 status=\"exit 0\"");
	/* Chatter is quiet, but still parsed (for tail). */
	assert_false(cella_console_parse(
		ENC("ts=x lvl=info svc=init evt=svc_state service=a from=b to=c"),
		&l));
	assert_true(l.quiet && l.event);
	assert_string_equal(l.source, "init");
	/* Warnings are never quiet, and say their level. */
	assert_true(cella_console_parse(
		ENC("ts=x lvl=error svc=init evt=heartbeat_failed err=ETIMEDOUT"),
		&l));
	assert_true(l.problem);
	assert_string_equal(l.text, "error: heartbeat_failed err=ETIMEDOUT");
	expect(ENC("ts=x lvl=info svc=launch evt=heartbeat url=vsock://3:9000"),
	       true, "launch", "heartbeat url=vsock://3:9000");
	/* Something in the enclave that is not logfmt. */
	expect(ENC("raw text"), true, "enclave", "raw text");
}

static void
test_host(void **state)
{
	(void)state;
	/* A host-side proxy's line: wrapped once. */
	expect("ts=x lvl=info svc=init evt=output service=port-8080 "
	       "stream=stderr line=\"ts=y lvl=info svc=pf-proxy evt=listen "
	       "addr=tcp://127.0.0.1:8080\"",
	       true, "port-8080", "listen addr=tcp://127.0.0.1:8080");
	/* The host init's own events: only problems. */
	expect("ts=x lvl=info svc=init evt=svc_start service=enclave pid=3",
	       false, "host", "svc_start service=enclave pid=3");
	expect("ts=x lvl=warn svc=init evt=kill_failed service=enclave", true,
	       "host", "warn: kill_failed service=enclave");
	expect("==123==ERROR: AddressSanitizer: heap-use-after-free", true,
	       "host", "==123==ERROR: AddressSanitizer: heap-use-after-free");
}

static void
test_tail(void **state)
{
	char path[] = "/tmp/cella-console-test.XXXXXX", *out = NULL;
	size_t len = 0;
	FILE *f, *mem;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	for (int i = 1; i <= 5; i++)
		fprintf(f, ENC("ts=x lvl=info svc=init evt=output service=db "
			       "stream=stdout line=\\\"line %d\\\"") "\n",
			i);
	fprintf(f, ENC("ts=x lvl=info svc=init evt=output service=web "
		       "stream=stdout line=other") "\n");
	fprintf(f, ENC("ts=x lvl=info svc=launch evt=ready pid=3") "\n");
	fclose(f);
	mem = open_memstream(&out, &len);
	assert_int_equal(cella_console_tail(path, "db", 2, mem), 2);
	assert_int_equal(cella_console_tail(path, "enclave", 5, mem), 1);
	assert_int_equal(cella_console_tail(path, "nobody", 5, mem), 0);
	fclose(mem);
	assert_string_equal(out, "    db | line 4\n    db | line 5\n"
				 "    launch | ready pid=3\n");
	free(out);
	unlink(path);
}

static void
db_lines(const char *path, const char *mode, int from, int to)
{
	FILE *f = fopen(path, mode);

	assert_non_null(f);
	for (int i = from; i <= to; i++)
		fprintf(f, ENC("ts=x lvl=info svc=init evt=output service=db "
			       "stream=stdout line=\\\"line %d\\\"") "\n",
			i);
	fclose(f);
}

/* The host init renamed console.log to console.log.1 and went on in a
 * fresh console.log: a follower and a tail see every line, in order. */
static void
test_rotation(void **state)
{
	char dir[] = "/tmp/cella-console-test.XXXXXX", path[64], old[80];
	char *out = NULL;
	size_t len = 0;
	struct cella_console c;
	FILE *mem;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/console.log", dir);
	snprintf(old, sizeof(old), "%s.1", path);
	db_lines(path, "w", 1, 2);
	assert_int_equal(cella_console_open(&c, path, true), 0);
	c.color = false;
	mem = open_memstream(&out, &len);
	cella_console_pump(&c, mem);
	db_lines(path, "a", 3, 3); /* written just before the rotation */
	assert_int_equal(rename(path, old), 0);
	db_lines(path, "w", 4, 5);
	cella_console_pump(&c, mem);
	cella_console_pump(&c, mem);
	cella_console_close(&c);
	fclose(mem);
	assert_string_equal(out, "db           | line 1\ndb           | line 2\n"
				 "db           | line 3\ndb           | line 4\n"
				 "db           | line 5\n");
	free(out);
	mem = open_memstream(&out, &len);
	assert_int_equal(cella_console_tail(path, "db", 3, mem), 3);
	fclose(mem);
	assert_string_equal(out, "    db | line 3\n    db | line 4\n"
				 "    db | line 5\n");
	free(out);
	unlink(old);
	unlink(path);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_service_output),
		cmocka_unit_test(test_events),
		cmocka_unit_test(test_host),
		cmocka_unit_test(test_tail),
		cmocka_unit_test(test_rotation),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
