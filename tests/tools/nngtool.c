/*
 * nngtool: raw nng REQ/REP peers opened through common/nngio, so tests can
 * show that nng's own framing crosses (emulated) vsock unchanged, through
 * cella-pf-proxy or through nngio's private relay.
 *
 *   nngtool rep URL [--ready-fd N]   answer every request with "re:" + it,
 *                                    until SIGTERM/SIGINT (then exit 0)
 *   nngtool req URL COUNT SIZE       COUNT requests of SIZE bytes, each
 *                                    reply checked; prints "ok COUNT"
 */
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/net/nngio.h"
#include "common/core/ready.h"
#include "tests/lib/argnum.h"

static int
fail(const char *what, const char *why)
{
	fprintf(stderr, "nngtool: %s: %s\n", what, why);
	return 1;
}

/* Answer every request until the socket is closed. */
static void *
rep_loop(void *arg)
{
	nng_socket *s = arg;
	nng_msg *m;
	int rv;

	while ((rv = nng_recvmsg(*s, &m, 0)) == 0) {
		if ((rv = nng_msg_insert(m, "re:", 3)) != 0 ||
		    (rv = nng_sendmsg(*s, m, 0)) != 0) {
			nng_msg_free(m);
			fail("send", nng_strerror(rv));
		}
	}
	if (rv != NNG_ECLOSED)
		fail("recv", nng_strerror(rv));
	return NULL;
}

/* Serve until SIGTERM or SIGINT, then close and remove what nngio made
 * (a vsock listener's private socket), exit 0. */
static int
run_rep(const char *url, int ready_fd)
{
	nng_socket s;
	struct cella_diag d;
	pthread_t t;
	sigset_t set;
	int rv, sig;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if ((rv = nng_rep0_open(&s)) != 0)
		return fail("rep", nng_strerror(rv));
	if (cella_nng_listen(s, url, &d) < 0)
		return fail("listen", d.msg);
	if (pthread_create(&t, NULL, rep_loop, &s) != 0)
		return fail("rep", "no thread");
	cella_ready_notify(ready_fd);
	sigwait(&set, &sig);
	nng_close(s);
	pthread_join(t, NULL);
	cella_nng_shutdown();
	return 0;
}

static int
run_req(const char *url, long count, long size)
{
	nng_socket s;
	struct cella_diag d;
	char *buf = malloc((size_t)size + 3);
	int rv, code = 1;

	if ((rv = nng_req0_open(&s)) != 0) {
		free(buf);
		return fail("req", nng_strerror(rv));
	}
	nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 10000);
	if (cella_nng_dial(s, url, true, &d) < 0) {
		fail("dial", d.msg);
		goto out;
	}
	for (long i = 0; i < count; i++) {
		char *reply = NULL;
		size_t len = 0;
		bool same;

		for (long j = 0; j < size; j++)
			buf[j] = (char)('a' + (i + j) % 26);
		if ((rv = nng_send(s, buf, (size_t)size, 0)) != 0 ||
		    (rv = nng_recv(s, &reply, &len, NNG_FLAG_ALLOC)) != 0) {
			fail("send/recv", nng_strerror(rv));
			goto out;
		}
		same = len == (size_t)size + 3 && memcmp(reply, "re:", 3) == 0 &&
		       memcmp(reply + 3, buf, (size_t)size) == 0;
		nng_free(reply, len);
		if (!same) {
			fail("reply", "does not match the request");
			goto out;
		}
	}
	printf("ok %ld\n", count);
	code = 0;
out:
	nng_close(s);
	cella_nng_shutdown();
	free(buf);
	return code;
}

int
main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc >= 3 && strcmp(argv[1], "rep") == 0)
		return run_rep(argv[2], argc == 5 ? (int)arg_long(argv[4], 10, 0, INT_MAX) : -1);
	if (argc == 5 && strcmp(argv[1], "req") == 0)
		return run_req(argv[2], arg_long(argv[3], 10, 1, LONG_MAX),
			       arg_long(argv[4], 10, 0, LONG_MAX));
	fprintf(stderr, "usage: nngtool rep URL [--ready-fd N] | "
			"nngtool req URL COUNT SIZE\n");
	return 64;
}
