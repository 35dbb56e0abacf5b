/*
 * addr_test: the URL grammar (valid, invalid, canonical form), the vsock
 * emulation mapping, and listen/connect over real sockets.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/net/addr.h"

static const struct {
	const char *url;
	enum cella_addr_kind kind;
	const char *canon;
} valid[] = {
	{"ipc:///run/cella/init.sock", CELLA_ADDR_IPC, NULL},
	{"ipc://relative.sock", CELLA_ADDR_IPC, NULL},
	{"unix:///tmp/a.sock", CELLA_ADDR_UNIX, NULL},
	{"abstract://cella-x", CELLA_ADDR_ABSTRACT, NULL},
	{"tcp://127.0.0.1:8443", CELLA_ADDR_TCP, NULL},
	{"tcp://[::1]:443", CELLA_ADDR_TCP, NULL},
	{"tcp://[fe80::1:2]:0", CELLA_ADDR_TCP, NULL},
	{"tcp://kms.eu-west-1.amazonaws.com:443", CELLA_ADDR_TCP, NULL},
	{"tcp://localhost:65535", CELLA_ADDR_TCP, NULL},
	{"vsock://16:9001", CELLA_ADDR_VSOCK, NULL},
	{"vsock://any:9001", CELLA_ADDR_VSOCK, NULL},
	{"vsock://3:9000", CELLA_ADDR_VSOCK, NULL},
	{"vsock://4294967294:4294967294", CELLA_ADDR_VSOCK, NULL},
	{"vsock://0016:09001", CELLA_ADDR_VSOCK, "vsock://16:9001"},
};

static const struct {
	const char *url;
	const char *why; /* a fragment the diagnosis must contain */
} invalid[] = {
	{"", "empty"},
	{"http://x:1", "unknown scheme"},
	{"tcp:/x:1", "unknown scheme"},
	{"ipc://", "empty path"},
	{"unix://", "empty path"},
	{"tcp://127.0.0.1", "HOST:PORT"},
	{"tcp://127.0.0.1:", "bad port"},
	{"tcp://127.0.0.1:65536", "bad port"},
	{"tcp://127.0.0.1:-1", "bad port"},
	{"tcp://127.0.0.1:+80", "bad port"},
	{"tcp://127.0.0.1:80 ", "bad port"},
	{"tcp://:80", "bad host"},
	{"tcp://::1:80", "brackets"},
	{"tcp://[::1:80", "[IPv6]:PORT"},
	{"tcp://[::g]:80", "bad IPv6"},
	{"tcp://[::1]80", "[IPv6]:PORT"},
	{"tcp://bad host:80", "bad host"},
	{"tcp://a..b:80", "bad host"},
	{"tcp://-a:80", "bad host"},
	{"vsock://16", "CID:PORT"},
	{"vsock://x:1", "bad CID"},
	{"vsock://4294967295:1", "bad CID"},
	{"vsock://16:4294967295", "bad port"},
	{"vsock://16:", "bad port"},
	{"vsock://:1", "bad CID"},
	{"vsock://16:1:2", "bad port"},
};

static void
test_valid(void **state)
{
	struct cella_addr a;
	struct cella_diag d;
	char buf[CELLA_ADDR_URL_MAX + 16];

	(void)state;
	for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
		int rv = cella_addr_parse(valid[i].url, &a, &d);

		if (rv != 0)
			fail_msg("%s: %s", valid[i].url, d.msg);
		assert_int_equal(a.kind, valid[i].kind);
		assert_true(cella_addr_format(&a, buf, sizeof(buf)) > 0);
		assert_string_equal(buf, valid[i].canon ? valid[i].canon
							: valid[i].url);
	}
}

static void
test_invalid(void **state)
{
	struct cella_addr a;
	struct cella_diag d;

	(void)state;
	for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		d.msg[0] = '\0';
		assert_int_equal(cella_addr_parse(invalid[i].url, &a, &d),
				 -EINVAL);
		if (strstr(d.msg, invalid[i].why) == NULL)
			fail_msg("'%s': diagnosis '%s' lacks '%s'",
				 invalid[i].url, d.msg, invalid[i].why);
	}
}

static void
test_long_path(void **state)
{
	char url[256];
	struct cella_addr a;
	struct cella_diag d;

	(void)state;
	snprintf(url, sizeof(url), "ipc:///%0120d", 0);
	assert_int_equal(cella_addr_parse(url, &a, &d), -EINVAL);
	assert_non_null(strstr(d.msg, "at most 107"));
	snprintf(url, sizeof(url), "ipc:///%0106d", 0); /* 107 bytes: fits */
	assert_int_equal(cella_addr_parse(url, &a, &d), 0);
}

static void
test_vsock_emulation(void **state)
{
	struct cella_addr a;
	struct sockaddr_storage ss;
	struct sockaddr_un *sun = (struct sockaddr_un *)&ss;
	socklen_t len;
	struct cella_diag d;

	(void)state;
	setenv("CELLA_VSOCK_DIR", "/tmp/vs", 1);
	unsetenv("CELLA_VSOCK_CID");
	assert_int_equal(cella_addr_parse("vsock://16:9001", &a, &d), 0);
	assert_int_equal(cella_addr_sockaddr(&a, &ss, &len, &d), 0);
	assert_int_equal(ss.ss_family, AF_UNIX);
	assert_string_equal(sun->sun_path, "/tmp/vs/16_9001");
	assert_true(cella_addr_is_local(&a));
	assert_int_equal(cella_addr_parse("vsock://any:53000", &a, &d), 0);
	assert_int_equal(cella_addr_sockaddr(&a, &ss, &len, &d), -EINVAL);
	assert_non_null(strstr(d.msg, "CELLA_VSOCK_CID"));
	setenv("CELLA_VSOCK_CID", "16", 1);
	assert_int_equal(cella_addr_sockaddr(&a, &ss, &len, &d), 0);
	assert_string_equal(sun->sun_path, "/tmp/vs/16_53000");
	unsetenv("CELLA_VSOCK_DIR");
	assert_int_equal(cella_addr_sockaddr(&a, &ss, &len, &d), 0);
	assert_int_equal(ss.ss_family, AF_VSOCK);
	assert_false(cella_addr_is_local(&a));
}

static void
roundtrip(const char *url)
{
	struct cella_addr a;
	struct cella_diag d;
	int lfd, cfd, sfd;
	char c = 0;

	assert_int_equal(cella_addr_parse(url, &a, &d), 0);
	lfd = cella_addr_listen(&a, 16, &d);
	if (lfd < 0)
		fail_msg("listen %s: %s", url, d.msg);
	cfd = cella_addr_connect_wait(&a, 1000, &d);
	assert_true(cfd >= 0);
	sfd = -1;
	for (int i = 0; i < 1000 && sfd < 0; i++) {
		sfd = cella_addr_accept(lfd);
		if (sfd == -EAGAIN)
			usleep(1000);
	}
	assert_true(sfd >= 0);
	assert_int_equal(write(cfd, "x", 1), 1);
	for (int i = 0; i < 1000 && read(sfd, &c, 1) != 1; i++)
		usleep(1000);
	assert_int_equal(c, 'x');
	close(cfd);
	close(sfd);
	close(lfd);
	cella_addr_unlink(&a);
}

static void
test_listen_connect(void **state)
{
	char dir[] = "/tmp/cella-addr-XXXXXX", url[200];

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(url, sizeof(url), "unix://%s/u.sock", dir);
	roundtrip(url);
	snprintf(url, sizeof(url), "abstract://cella-addr-test-%d", getpid());
	roundtrip(url);
	roundtrip("tcp://127.0.0.1:39217");
	roundtrip("tcp://[::1]:39218");
	setenv("CELLA_VSOCK_DIR", dir, 1);
	setenv("CELLA_VSOCK_CID", "16", 1);
	roundtrip("vsock://16:9001");
	unsetenv("CELLA_VSOCK_DIR");
	rmdir(dir);
}

static void
test_stale_and_busy(void **state)
{
	char dir[] = "/tmp/cella-addr-XXXXXX", url[200];
	struct cella_addr a;
	struct cella_diag d;
	int fd1, fd2;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(url, sizeof(url), "ipc://%s/s.sock", dir);
	assert_int_equal(cella_addr_parse(url, &a, &d), 0);
	fd1 = cella_addr_listen(&a, 4, &d);
	assert_true(fd1 >= 0);
	/* Someone is listening: a second listener must not steal the path. */
	assert_int_equal(cella_addr_listen(&a, 4, &d), -EADDRINUSE);
	assert_non_null(strstr(d.msg, "cannot listen"));
	/* The first one dies without cleaning up: the file is stale. */
	close(fd1);
	fd2 = cella_addr_listen(&a, 4, &d);
	assert_true(fd2 >= 0);
	close(fd2);
	cella_addr_unlink(&a);
	assert_int_equal(rmdir(dir), 0);
}

static void
test_connect_refused(void **state)
{
	struct cella_addr a;
	struct cella_diag d;

	(void)state;
	assert_int_equal(cella_addr_parse("unix:///nonexistent/x.sock", &a, &d),
			 0);
	assert_int_equal(cella_addr_connect_wait(&a, 100, &d), -ENOENT);
	assert_non_null(strstr(d.msg, "unix:///nonexistent/x.sock"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_long_path),
		cmocka_unit_test(test_vsock_emulation),
		cmocka_unit_test(test_listen_connect),
		cmocka_unit_test(test_stale_and_busy),
		cmocka_unit_test(test_connect_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
