/*
 * cella-hello: the example application of deploy/examples/hello, written
 * the way a user's service would be: plain POSIX, no cella library. Two
 * modes:
 *
 *   cella-hello serve [--listen ADDR:PORT] [--message FILE] [--ready-fd N]
 *       a tiny HTTP/1.1 server: GET / answers "hello from HOST" with a
 *       request count and, when FILE exists, its first line (put one there
 *       with `cella cp`); GET /healthz answers "ok". One request per
 *       connection. --ready-fd: "ready" once listening (cella's protocol).
 *
 *   cella-hello poll [--url ADDR:PORT] [--every SECONDS]
 *       asks the server every few seconds and logs what it answered: the
 *       service that depends on the first.
 *
 * Both log one line per event to stdout and stop on SIGTERM. It is an
 * example, not a web server: no keep-alive, no bodies in, 8 KiB requests.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define REQ_MAX 8192

static volatile sig_atomic_t stop;

static void
on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static int
parse_addr(const char *s, struct sockaddr_in *sa)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	long port;

	if (colon == NULL || (size_t)(colon - s) >= sizeof(host))
		return -1;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	port = strtol(colon + 1, NULL, 10);
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	return port > 0 && port < 65536 &&
			       inet_pton(AF_INET, host, &sa->sin_addr) == 1
		       ? 0
		       : -1;
}

static void
first_line(const char *path, char *out, size_t len)
{
	FILE *f = fopen(path, "r");

	out[0] = '\0';
	if (f == NULL)
		return;
	if (fgets(out, (int)len, f) != NULL)
		out[strcspn(out, "\r\n")] = '\0';
	fclose(f);
}

static void
answer(int fd, unsigned long n, const char *message)
{
	char req[REQ_MAX + 1], body[512], host[64] = "?", msg[256], resp[1024];
	struct timeval tv = {.tv_sec = 2};
	const char *status = "200 OK";
	ssize_t got;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	got = recv(fd, req, REQ_MAX, 0);
	if (got <= 0)
		return;
	req[got] = '\0';
	gethostname(host, sizeof(host) - 1);
	if (strncmp(req, "GET / ", 6) == 0) {
		first_line(message, msg, sizeof(msg));
		snprintf(body, sizeof(body), "hello from %s (request %lu)%s%s\n",
			 host, n, msg[0] ? ": " : "", msg);
	} else if (strncmp(req, "GET /healthz ", 13) == 0) {
		snprintf(body, sizeof(body), "ok\n");
	} else {
		status = "404 Not Found";
		snprintf(body, sizeof(body), "not found\n");
	}
	snprintf(resp, sizeof(resp),
		 "HTTP/1.1 %s\r\nContent-Type: text/plain\r\n"
		 "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
		 status, strlen(body), body);
	(void)!write(fd, resp, strlen(resp));
	printf("request %lu: %.*s -> %.3s\n", n, (int)strcspn(req, "\r\n"), req,
	       status);
}

static int
serve(const char *listen_at, const char *message, int ready_fd)
{
	struct sockaddr_in sa;
	unsigned long n = 0;
	int one = 1, lfd;

	if (parse_addr(listen_at, &sa) < 0) {
		fprintf(stderr, "cella-hello: bad address '%s'\n", listen_at);
		return 64;
	}
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0 ||
	    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(lfd, 64) < 0) {
		fprintf(stderr, "cella-hello: %s: %s\n", listen_at, strerror(errno));
		return 71;
	}
	printf("listening on %s\n", listen_at);
	if (ready_fd >= 0) {
		(void)!write(ready_fd, "ready\n", 6);
		close(ready_fd);
	}
	while (!stop) {
		struct pollfd p = {.fd = lfd, .events = POLLIN};
		int fd;

		if (poll(&p, 1, -1) <= 0)
			continue;
		if ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) < 0)
			continue;
		answer(fd, ++n, message);
		close(fd);
	}
	printf("stopping after %lu requests\n", n);
	close(lfd);
	return 0;
}

static int
ask(const struct sockaddr_in *sa, char *line, size_t len)
{
	char buf[2048], *body;
	ssize_t got, total = 0;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) < 0 ||
	    write(fd, "GET / HTTP/1.1\r\nHost: hello\r\n\r\n", 31) != 31) {
		snprintf(line, len, "%s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while ((got = read(fd, buf + total, sizeof(buf) - 1 - (size_t)total)) > 0)
		total += got;
	close(fd);
	buf[total] = '\0';
	body = strstr(buf, "\r\n\r\n");
	snprintf(line, len, "%.*s", body ? (int)strcspn(body + 4, "\n") : 0,
		 body ? body + 4 : "");
	return body != NULL ? 0 : -1;
}

static int
poll_loop(const char *url, unsigned every)
{
	struct sockaddr_in sa;
	char line[512];

	if (parse_addr(url, &sa) < 0) {
		fprintf(stderr, "cella-hello: bad address '%s'\n", url);
		return 64;
	}
	while (!stop) {
		if (ask(&sa, line, sizeof(line)) == 0)
			printf("hello answered: %s\n", line);
		else
			printf("hello did not answer: %s\n", line);
		for (unsigned i = 0; i < every * 10 && !stop; i++)
			usleep(100000);
	}
	return 0;
}

/* A whole decimal number 0..max, or -1. */
static int
number(const char *s, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 0 || v > max)
		return -1;
	return (int)v;
}

static int
bad_value(const char *opt, const char *val)
{
	fprintf(stderr, "cella-hello: bad %s '%s'\n", opt, val);
	return 64;
}

int
main(int argc, char **argv)
{
	const char *listen_at = "127.0.0.1:8000", *url = "127.0.0.1:8000";
	const char *message = "/tmp/hello-message";
	struct sigaction act = {.sa_handler = on_term};
	unsigned every = 5;
	int ready_fd = -1;

	setvbuf(stdout, NULL, _IOLBF, 0);
	sigaction(SIGTERM, &act, NULL);
	sigaction(SIGINT, &act, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2 || (strcmp(argv[1], "serve") != 0 &&
			 strcmp(argv[1], "poll") != 0)) {
		bool help = argc == 2 && (strcmp(argv[1], "--help") == 0 ||
					  strcmp(argv[1], "-h") == 0);

		fprintf(help ? stdout : stderr,
			"usage: cella-hello serve [--listen ADDR:PORT] "
			"[--message FILE] [--ready-fd N]\n"
			"       cella-hello poll [--url ADDR:PORT] "
			"[--every SECONDS]\n");
		return help ? 0 : 64;
	}
	for (int i = 2; i < argc; i += 2) {
		if (i + 1 == argc) {
			fprintf(stderr, "cella-hello: %s needs a value\n", argv[i]);
			return 64;
		}
		if (strcmp(argv[i], "--listen") == 0)
			listen_at = argv[i + 1];
		else if (strcmp(argv[i], "--message") == 0)
			message = argv[i + 1];
		else if (strcmp(argv[i], "--ready-fd") == 0) {
			if ((ready_fd = number(argv[i + 1], 1023)) < 0)
				return bad_value(argv[i], argv[i + 1]);
		}
		else if (strcmp(argv[i], "--url") == 0)
			url = argv[i + 1];
		else if (strcmp(argv[i], "--every") == 0) {
			int v = number(argv[i + 1], 86400);

			if (v < 0)
				return bad_value(argv[i], argv[i + 1]);
			every = (unsigned)v;
		}
		else {
			fprintf(stderr, "cella-hello: unknown option %s\n", argv[i]);
			return 64;
		}
	}
	return strcmp(argv[1], "serve") == 0 ? serve(listen_at, message, ready_fd)
					     : poll_loop(url, every ? every : 1);
}
