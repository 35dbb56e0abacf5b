/*
 * slowloris: slow HTTPS clients, for tests of cella-ra-web's limits.
 *
 *   slowloris HOST PORT N FROM [--ready-fd F]
 *       open N TCP connections to HOST:PORT from the local address FROM
 *       (another loopback address, so that a test's own client is a
 *       different peer). Even ones send nothing at all; odd ones finish
 *       TLS and start a request whose headers never end, one byte every
 *       200 ms. A connection the server closes at once (over a cap) counts
 *       as closed. Once all are open, "ready" goes to F; then "closed K"
 *       is printed as the server closes them, and "all closed after MS ms"
 *       when every one is. Exit 1 if some are still open after 60 s.
 *
 * It never verifies the server's certificate: it is the attacker.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/core/ready.h"
#include "tests/lib/argnum.h"
#include "common/core/clock.h"

#define WAIT_MS 60000
#define DRIP_MS 200

struct slow {
	int fd;
	SSL *ssl; /* NULL: a silent peer */
};

static void __attribute__((noreturn))
die(const char *what, const char *why)
{
	fprintf(stderr, "slowloris: %s: %s\n", what, why);
	exit(1);
}

static int
dial(const char *host, int port, const char *from)
{
	struct sockaddr_in to = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port)};
	struct sockaddr_in me = {.sin_family = AF_INET};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || inet_pton(AF_INET, host, &to.sin_addr) != 1 ||
	    inet_pton(AF_INET, from, &me.sin_addr) != 1)
		die("address", "bad HOST or FROM (IPv4 literals)");
	if (bind(fd, (struct sockaddr *)&me, sizeof(me)) < 0 ||
	    connect(fd, (struct sockaddr *)&to, sizeof(to)) < 0)
		die("connect", strerror(errno));
	return fd;
}

/* TLS and the start of a request; false when the server closed first. */
static bool
start_request(SSL_CTX *ctx, struct slow *s)
{
	static const char head[] = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ";
	struct timeval tv = {.tv_sec = 10};

	setsockopt(s->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	s->ssl = SSL_new(ctx);
	SSL_set_fd(s->ssl, s->fd);
	SSL_set_alpn_protos(s->ssl, (const unsigned char *)"\x08http/1.1", 9);
	return SSL_connect(s->ssl) == 1 &&
	       SSL_write(s->ssl, head, (int)sizeof(head) - 1) > 0;
}

static void
drop(struct slow *s)
{
	SSL_free(s->ssl);
	s->ssl = NULL;
	close(s->fd);
	s->fd = -1;
}

/* Has the server closed s? (reads what it sent, if anything) */
static bool
gone(struct slow *s)
{
	struct pollfd p = {.fd = s->fd, .events = POLLIN};
	char buf[256];

	if (poll(&p, 1, 0) != 1)
		return false;
	if (s->ssl != NULL)
		return SSL_read(s->ssl, buf, sizeof(buf)) <= 0;
	return read(s->fd, buf, sizeof(buf)) <= 0;
}

static int
run(struct slow *v, int n, int closed, int ready_fd)
{
	long start;

	cella_ready_notify(ready_fd);
	start = (long)cella_mono_ms();
	while (closed < n) {
		int before = closed;

		if ((long)cella_mono_ms() - start > WAIT_MS)
			die("slow", "connections still open after 60 s");
		poll(NULL, 0, DRIP_MS);
		for (int i = 0; i < n; i++) {
			if (v[i].fd < 0)
				continue;
			if (gone(&v[i]) ||
			    (v[i].ssl != NULL && SSL_write(v[i].ssl, "a", 1) <= 0)) {
				drop(&v[i]);
				closed++;
			}
		}
		if (closed != before) {
			printf("closed %d\n", closed);
			fflush(stdout);
		}
	}
	printf("all closed after %ld ms\n", (long)cella_mono_ms() - start);
	return 0;
}

int
main(int argc, char **argv)
{
	int ready_fd = -1, n, port, closed = 0;
	struct slow *v;
	SSL_CTX *ctx;

	signal(SIGPIPE, SIG_IGN);
	if (argc == 7 && strcmp(argv[5], "--ready-fd") == 0)
		ready_fd = (int)arg_long(argv[6], 10, 0, 1 << 20);
	else if (argc != 5)
		die("usage", "slowloris HOST PORT N FROM [--ready-fd F]");
	port = (int)arg_long(argv[2], 10, 1, 65535);
	n = (int)arg_long(argv[3], 10, 1, 10000);
	if ((v = calloc((size_t)n, sizeof(*v))) == NULL ||
	    (ctx = SSL_CTX_new(TLS_client_method())) == NULL)
		die("setup", "out of memory");
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	for (int i = 0; i < n; i++) {
		v[i].fd = dial(argv[1], port, argv[4]);
		if (i % 2 == 1 && !start_request(ctx, &v[i])) {
			drop(&v[i]);
			closed++;
		}
	}
	n = run(v, n, closed, ready_fd);
	free(v);
	SSL_CTX_free(ctx);
	return n;
}
