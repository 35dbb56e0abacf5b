/*
 * streamtool: the peers that relay tests and benchmarks need, on any cella
 * stream address (common/net/addr.h), so that a test can put cella-pf-proxy, or
 * socat, or nothing, between two of them.
 *
 *   streamtool echo URL [--ready-fd N]      echo every byte; at EOF, flush,
 *                                           half-close
 *   streamtool stall URL [--ready-fd N]     accept, never read
 *   streamtool sink URL [--ready-fd N]      read to EOF, answer the count
 *   streamtool clients URL N SIZE           N concurrent echo round trips
 *                                           of SIZE bytes, verified
 *   streamtool push URL BYTES               write until the peer stops
 *                                           taking bytes; print the count
 *   streamtool idle URL SECONDS             connect, send nothing, report
 *                                           when the peer closes
 *   streamtool hold URL N                   open N idle connections, print
 *                                           "held N", wait for stdin EOF
 *   streamtool send URL TOTAL CHUNK [K]     K streams of TOTAL bytes in
 *                                           CHUNK writes to a sink; MiB/s
 *   streamtool ping URL COUNT SIZE          ping-pong over an echo; p50/p99
 *
 * It is a test tool: it exits non-zero with a message on any surprise.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/net/addr.h"
#include "common/core/ready.h"
#include "tests/lib/argnum.h"
#include "common/core/clock.h"

#define BUF 65536

static int ready_fd = -1;

static void __attribute__((noreturn, format(printf, 1, 2)))
die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "streamtool: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(1);
}

static void
parse(const char *url, struct cella_addr *a)
{
	struct cella_diag d;

	if (cella_addr_parse(url, a, &d) < 0)
		die("%s", d.msg);
}

static int
dial(const char *url)
{
	struct cella_addr a;
	struct cella_diag d;
	int fd;

	parse(url, &a);
	fd = cella_addr_connect_wait(&a, 10000, &d);
	if (fd < 0)
		die("%s", d.msg);
	return fd;
}

static int
serve(const char *url)
{
	struct cella_addr a;
	struct cella_diag d;
	int fd;

	parse(url, &a);
	fd = cella_addr_listen(&a, 4096, &d);
	if (fd < 0)
		die("%s", d.msg);
	/* Blocking accept in the servers below. */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	cella_ready_notify(ready_fd);
	return fd;
}

static void
write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			die("write: %s", strerror(errno));
		p += w;
		n -= (size_t)w;
	}
}

/* --- servers: one thread per connection, plain blocking I/O ------------ */

static void *
echo_conn(void *arg)
{
	int fd = (int)(intptr_t)arg;
	uint8_t *buf = malloc(BUF);
	ssize_t n;

	while ((n = read(fd, buf, BUF)) > 0)
		write_all(fd, buf, (size_t)n);
	shutdown(fd, SHUT_WR);
	/* Wait for the peer to close so no byte is cut by an early RST. */
	while (read(fd, buf, BUF) > 0)
		;
	close(fd);
	free(buf);
	return NULL;
}

static void *
sink_conn(void *arg)
{
	int fd = (int)(intptr_t)arg;
	uint8_t *buf = malloc(1 << 20);
	uint64_t total = 0;
	ssize_t n;

	while ((n = read(fd, buf, 1 << 20)) > 0)
		total += (uint64_t)n;
	write_all(fd, (uint8_t *)&total, sizeof(total));
	close(fd);
	free(buf);
	return NULL;
}

static void *
stall_conn(void *arg)
{
	(void)arg; /* the fd stays open and unread until the process ends */
	return NULL;
}

static int
run_server(const char *url, void *(*fn)(void *))
{
	int lfd = serve(url);
	pthread_t t;
	pthread_attr_t at;

	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&at, 256 << 10);
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED ||
			    errno == EMFILE)
				continue;
			die("accept: %s", strerror(errno));
		}
		if (pthread_create(&t, &at, fn, (void *)(intptr_t)fd) != 0)
			die("pthread_create");
	}
}

/* --- clients: N concurrent echo round trips on one epoll --------------- */

struct client {
	int fd;
	size_t sent, got;
	bool shut, eof;
};

static uint8_t
pattern(size_t conn, size_t off)
{
	return (uint8_t)((conn * 131 + off * 7 + (off >> 11)) & 0xff);
}

static void
client_io(struct client *c, size_t idx, size_t size, int ep, int *done)
{
	uint8_t buf[BUF];
	ssize_t n;

	while (c->sent < size) {
		size_t k = size - c->sent > BUF ? BUF : size - c->sent;

		for (size_t i = 0; i < k; i++)
			buf[i] = pattern(idx, c->sent + i);
		n = write(c->fd, buf, k);
		if (n < 0 && errno == EAGAIN)
			break;
		if (n < 0)
			die("conn %zu: write: %s", idx, strerror(errno));
		c->sent += (size_t)n;
	}
	if (c->sent == size && !c->shut) {
		shutdown(c->fd, SHUT_WR);
		c->shut = true;
	}
	while ((n = read(c->fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] != pattern(idx, c->got + (size_t)i))
				die("conn %zu: byte %zu differs", idx,
				    c->got + (size_t)i);
		c->got += (size_t)n;
	}
	if (n == 0) {
		if (c->got != size)
			die("conn %zu: EOF after %zu of %zu bytes", idx, c->got,
			    size);
		c->eof = true;
		epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
		(*done)++;
	} else if (errno != EAGAIN) {
		die("conn %zu: read: %s", idx, strerror(errno));
	}
}

static int
run_clients(const char *url, size_t n, size_t size)
{
	struct client *cs = calloc(n, sizeof(*cs));
	struct epoll_event ev, evs[256];
	int ep = epoll_create1(EPOLL_CLOEXEC), done = 0;
	double t0 = cella_mono_s();

	for (size_t i = 0; i < n; i++) {
		cs[i].fd = dial(url);
		fcntl(cs[i].fd, F_SETFL, O_NONBLOCK);
		ev.events = EPOLLIN | EPOLLOUT | EPOLLET;
		ev.data.u64 = i;
		epoll_ctl(ep, EPOLL_CTL_ADD, cs[i].fd, &ev);
	}
	while ((size_t)done < n) {
		int k = epoll_wait(ep, evs, 256, 30000);

		if (k == 0)
			die("timeout: %d of %zu connections done", done, n);
		for (int i = 0; i < k; i++) {
			size_t idx = evs[i].data.u64;

			if (!cs[idx].eof)
				client_io(&cs[idx], idx, size, ep, &done);
		}
	}
	printf("ok conns=%zu bytes_each=%zu seconds=%.3f\n", n, size,
	       cella_mono_s() - t0);
	free(cs);
	return 0;
}

/* --- the rest ----------------------------------------------------------- */

static int
run_push(const char *url, uint64_t total)
{
	int fd = dial(url);
	static uint8_t buf[BUF];
	uint64_t sent = 0;
	struct pollfd p = {.fd = fd, .events = POLLOUT};

	fcntl(fd, F_SETFL, O_NONBLOCK);
	while (sent < total) {
		ssize_t n = write(fd, buf, sizeof(buf));

		if (n > 0) {
			sent += (uint64_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN)
			die("write: %s", strerror(errno));
		/* Stalled for a second: the far end is not taking bytes. */
		if (poll(&p, 1, 1000) == 0)
			break;
	}
	printf("pushed %llu\n", (unsigned long long)sent);
	fflush(stdout);
	/* Keep the connection until told to go, so the bytes stay queued. */
	while (read(0, buf, sizeof(buf)) > 0)
		;
	return 0;
}

static int
run_idle(const char *url, double secs)
{
	int fd = dial(url);
	uint8_t b;
	struct pollfd p = {.fd = fd, .events = POLLIN};
	double t0 = cella_mono_s();

	if (poll(&p, 1, (int)((secs + 10) * 1000)) != 1)
		die("no close within %.0f s", secs + 10);
	if (read(fd, &b, 1) != 0)
		die("expected EOF from an idle connection");
	printf("closed_after_ms=%.0f\n", (cella_mono_s() - t0) * 1000);
	return 0;
}

static int
run_hold(const char *url, size_t n)
{
	char c;

	for (size_t i = 0; i < n; i++)
		(void)dial(url);
	printf("held %zu\n", n);
	fflush(stdout);
	while (read(0, &c, 1) > 0)
		;
	return 0;
}

struct sender {
	const char *url;
	uint64_t total;
	size_t chunk;
};

static void *
send_one(void *arg)
{
	struct sender *s = arg;
	int fd = dial(s->url);
	uint8_t *buf = calloc(1, s->chunk);
	uint64_t left = s->total, got = 0;

	while (left > 0) {
		size_t k = left > s->chunk ? s->chunk : left;

		write_all(fd, buf, k);
		left -= k;
	}
	shutdown(fd, SHUT_WR);
	if (read(fd, &got, sizeof(got)) != sizeof(got) || got != s->total)
		die("sink counted %llu of %llu bytes", (unsigned long long)got,
		    (unsigned long long)s->total);
	close(fd);
	free(buf);
	return NULL;
}

static int
run_send(const char *url, uint64_t total, size_t chunk, size_t k)
{
	pthread_t *t = calloc(k, sizeof(*t));
	struct sender s = {url, total, chunk};
	double t0 = cella_mono_s(), dt;

	for (size_t i = 0; i < k; i++)
		pthread_create(&t[i], NULL, send_one, &s);
	for (size_t i = 0; i < k; i++)
		pthread_join(t[i], NULL);
	dt = cella_mono_s() - t0;
	printf("mib_per_s=%.1f streams=%zu total_mib=%.0f seconds=%.3f\n",
	       (double)total * (double)k / dt / 1048576.0, k,
	       (double)total * (double)k / 1048576.0, dt);
	free(t);
	return 0;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int
run_ping(const char *url, size_t count, size_t size)
{
	int fd = dial(url);
	uint8_t buf[BUF];
	double *lat = calloc(count, sizeof(double));

	if (size > BUF)
		die("size at most %d", BUF);
	for (size_t i = 0; i < count + 100; i++) {
		double t0 = cella_mono_s();
		size_t got = 0;

		write_all(fd, buf, size);
		while (got < size) {
			ssize_t n = read(fd, buf + got, size - got);

			if (n <= 0)
				die("ping: read: %s", n ? strerror(errno) : "EOF");
			got += (size_t)n;
		}
		if (i >= 100) /* the first hundred warm up */
			lat[i - 100] = (cella_mono_s() - t0) * 1e6;
	}
	qsort(lat, count, sizeof(double), cmp_double);
	printf("p50_us=%.1f p99_us=%.1f count=%zu size=%zu\n",
	       lat[count / 2], lat[count * 99 / 100], count, size);
	free(lat);
	return 0;
}

static uint64_t
num(const char *s)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);

	if (*end == 'M')
		v <<= 20, end++;
	else if (*end == 'K')
		v <<= 10, end++;
	if (*end != '\0' || end == s)
		die("bad number '%s'", s);
	return v;
}

int
main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	for (int i = 1; i + 1 < argc; i++)
		if (strcmp(argv[i], "--ready-fd") == 0) {
			ready_fd = (int)arg_long(argv[i + 1], 10, 0, INT_MAX);
			argc = i;
		}
	if (argc < 3)
		die("usage: see the comment at the top of streamtool.c");
	if (!strcmp(argv[1], "echo"))
		return run_server(argv[2], echo_conn);
	if (!strcmp(argv[1], "stall"))
		return run_server(argv[2], stall_conn);
	if (!strcmp(argv[1], "sink"))
		return run_server(argv[2], sink_conn);
	if (!strcmp(argv[1], "clients") && argc == 5)
		return run_clients(argv[2], num(argv[3]), num(argv[4]));
	if (!strcmp(argv[1], "push") && argc == 4)
		return run_push(argv[2], num(argv[3]));
	if (!strcmp(argv[1], "idle") && argc == 4)
		return run_idle(argv[2], (double)num(argv[3]));
	if (!strcmp(argv[1], "hold") && argc == 4)
		return run_hold(argv[2], num(argv[3]));
	if (!strcmp(argv[1], "send") && (argc == 5 || argc == 6))
		return run_send(argv[2], num(argv[3]), num(argv[4]),
				argc == 6 ? num(argv[5]) : 1);
	if (!strcmp(argv[1], "ping") && argc == 5)
		return run_ping(argv[2], num(argv[3]), num(argv[4]));
	die("bad arguments (see the comment at the top of streamtool.c)");
}
