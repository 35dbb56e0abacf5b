/*
 * cutrelay: a byte relay that cuts the connection, for tests of what a
 * client does when its peer goes away at a chosen point. It accepts on
 * LISTEN (any cella stream address), one connection at a time, connects to
 * TARGET and copies both ways; once the target has sent at least BYTES
 * bytes, the read that reached the count is passed on whole and then both
 * sides are closed (BYTES 0: closed at once, before anything passes). It
 * does not look inside the stream, so TLS and attestation pass unchanged
 * up to the cut.
 *
 *   cutrelay LISTEN TARGET BYTES [--ready-fd N]
 *
 * Each cut is reported on stderr ("cut after N bytes"). Runs until
 * SIGTERM (exit 0); 64 usage, 71 when it cannot listen.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/net/addr.h"
#include "common/core/ready.h"
#include "tests/lib/argnum.h"

#define BUF 65536

static volatile sig_atomic_t stopping;

static void
on_term(int sig)
{
	(void)sig;
	stopping = 1;
}

/* Copy what from has now to to; bytes moved, 0 at EOF, -1 on error. */
static ssize_t
pass(int from, int to)
{
	static uint8_t buf[BUF];
	ssize_t n = read(from, buf, sizeof(buf)), off = 0;

	if (n <= 0)
		return n < 0 && errno == EAGAIN ? -2 : n == 0 ? 0 : -1;
	while (off < n) {
		struct pollfd p = {.fd = to, .events = POLLOUT};
		ssize_t w = write(to, buf + off, (size_t)(n - off));

		if (w < 0 && errno == EAGAIN && poll(&p, 1, 5000) == 1)
			continue;
		if (w < 0)
			return -1;
		off += w;
	}
	return n;
}

/* Relay one client until either side ends or the cut; closes both. */
static void
relay_one(int cfd, const struct cella_addr *target, uint64_t cut)
{
	struct cella_diag d;
	uint64_t down = 0;
	int tfd = cut == 0 ? -1 : cella_addr_connect_wait(target, 5000, &d);

	while (tfd >= 0 && !stopping) {
		struct pollfd p[2] = {{.fd = cfd, .events = POLLIN},
				      {.fd = tfd, .events = POLLIN}};
		ssize_t n = 0;

		if (poll(p, 2, -1) < 0)
			continue; /* EINTR: check stopping */
		if (p[0].revents && (n = pass(cfd, tfd)) <= 0 && n != -2)
			break;
		if (p[1].revents && (n = pass(tfd, cfd)) <= 0 && n != -2)
			break;
		if (p[1].revents && n > 0 && (down += (uint64_t)n) >= cut)
			break;
	}
	fprintf(stderr, "cutrelay: cut after %llu bytes\n",
		(unsigned long long)down);
	if (tfd >= 0)
		close(tfd);
	close(cfd);
}

int
main(int argc, char **argv)
{
	struct sigaction sa = {.sa_handler = on_term};
	struct cella_addr la, ta;
	struct cella_diag d;
	int ready_fd = -1, lfd;
	uint64_t cut;

	if (argc == 6 && strcmp(argv[4], "--ready-fd") == 0) {
		ready_fd = (int)arg_long(argv[5], 10, 0, INT_MAX);
		argc -= 2;
	}
	if (argc != 4) {
		fprintf(stderr, "usage: cutrelay LISTEN TARGET BYTES "
				"[--ready-fd N]\n");
		return 64;
	}
	cut = (uint64_t)arg_long(argv[3], 10, 0, LONG_MAX);
	if (cella_addr_parse(argv[1], &la, &d) < 0 ||
	    cella_addr_parse(argv[2], &ta, &d) < 0) {
		fprintf(stderr, "cutrelay: %s\n", d.msg);
		return 64;
	}
	if ((lfd = cella_addr_listen(&la, 16, &d)) < 0) {
		fprintf(stderr, "cutrelay: %s\n", d.msg);
		return 71;
	}
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	cella_ready_notify(ready_fd);
	while (!stopping) {
		struct pollfd p = {.fd = lfd, .events = POLLIN};
		int cfd;

		if (poll(&p, 1, -1) < 1 || (cfd = cella_addr_accept(lfd)) < 0)
			continue;
		relay_one(cfd, &ta, cut);
	}
	close(lfd);
	cella_addr_unlink(&la);
	return 0;
}
