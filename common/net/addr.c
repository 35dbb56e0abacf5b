/*
 * addr: URL parsing by a table of schemes, the vsock emulation mapping, and
 * listen/connect helpers. All sockets are non-blocking and close-on-exec.
 */
#include "common/net/addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static int parse_path(const char *rest, struct cella_addr *a,
		      struct cella_diag *d);
static int parse_tcp(const char *rest, struct cella_addr *a,
		     struct cella_diag *d);
static int parse_vsock(const char *rest, struct cella_addr *a,
		       struct cella_diag *d);

static const struct {
	const char *scheme;
	enum cella_addr_kind kind;
	int (*parse)(const char *, struct cella_addr *, struct cella_diag *);
} schemes[] = {
	{"ipc://", CELLA_ADDR_IPC, parse_path},
	{"unix://", CELLA_ADDR_UNIX, parse_path},
	{"abstract://", CELLA_ADDR_ABSTRACT, parse_path},
	{"tcp://", CELLA_ADDR_TCP, parse_tcp},
	{"vsock://", CELLA_ADDR_VSOCK, parse_vsock},
};

#define NSCHEMES (sizeof(schemes) / sizeof(schemes[0]))

/* Strict decimal: digits only, no sign or space, value <= max. */
static int
parse_uint(const char *s, size_t n, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (n == 0 || n > 20)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(s[i] - '0');
		if (v > max)
			return -ERANGE;
	}
	*out = v;
	return 0;
}

static int
parse_path(const char *rest, struct cella_addr *a, struct cella_diag *d)
{
	size_t n = strlen(rest);
	size_t max = a->kind == CELLA_ADDR_ABSTRACT ? CELLA_ADDR_PATH_MAX - 1
						    : CELLA_ADDR_PATH_MAX;

	if (n == 0)
		return cella_diag_set(d, -EINVAL, "empty path");
	if (n > max)
		return cella_diag_set(d, -EINVAL,
				      "path is %zu bytes, a unix socket "
				      "allows at most %zu",
				      n, max);
	memcpy(a->path, rest, n + 1);
	return 0;
}

static bool
valid_hostname(const char *h, size_t n)
{
	size_t label = 0;

	if (n == 0 || n > 253 || h[0] == '.' || h[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = h[i];

		if (c == '.') {
			if (label == 0)
				return false;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return false;
		if (++label > 63)
			return false;
	}
	return true;
}

static int
parse_tcp(const char *rest, struct cella_addr *a, struct cella_diag *d)
{
	const char *colon, *host = rest;
	size_t hlen;
	uint64_t port;
	unsigned char tmp[sizeof(struct in6_addr)];

	if (rest[0] == '[') {
		const char *close = strchr(rest, ']');

		if (close == NULL || close[1] != ':')
			return cella_diag_set(d, -EINVAL,
					      "expected [IPv6]:PORT");
		host = rest + 1;
		hlen = (size_t)(close - host);
		colon = close + 1;
		if (hlen >= sizeof(a->host))
			return cella_diag_set(d, -EINVAL, "bad IPv6 address");
		memcpy(a->host, host, hlen);
		a->host[hlen] = '\0';
		if (inet_pton(AF_INET6, a->host, tmp) != 1)
			return cella_diag_set(d, -EINVAL,
					      "bad IPv6 address '%s'", a->host);
	} else {
		colon = strrchr(rest, ':');
		if (colon == NULL)
			return cella_diag_set(d, -EINVAL,
					      "expected HOST:PORT");
		hlen = (size_t)(colon - rest);
		if (memchr(rest, ':', hlen) != NULL)
			return cella_diag_set(d, -EINVAL,
					      "an IPv6 address needs brackets: "
					      "tcp://[::1]:PORT");
		if (hlen == 0 || !valid_hostname(rest, hlen))
			return cella_diag_set(d, -EINVAL,
					      "bad host '%.*s'", (int)hlen, rest);
		memcpy(a->host, rest, hlen);
		a->host[hlen] = '\0';
	}
	if (parse_uint(colon + 1, strlen(colon + 1), 65535, &port) < 0)
		return cella_diag_set(d, -EINVAL,
				      "bad port '%s' (0-65535)", colon + 1);
	a->port = (uint16_t)port;
	return 0;
}

static int
parse_vsock(const char *rest, struct cella_addr *a, struct cella_diag *d)
{
	const char *colon = strchr(rest, ':');
	uint64_t v;
	size_t clen;

	if (colon == NULL)
		return cella_diag_set(d, -EINVAL, "expected CID:PORT");
	clen = (size_t)(colon - rest);
	if (clen == 3 && memcmp(rest, "any", 3) == 0) {
		a->cid = CELLA_VSOCK_CID_ANY;
	} else if (parse_uint(rest, clen, UINT32_MAX - 1, &v) == 0) {
		a->cid = (uint32_t)v;
	} else {
		return cella_diag_set(d, -EINVAL,
				      "bad CID '%.*s' (a number or 'any')",
				      (int)clen, rest);
	}
	if (parse_uint(colon + 1, strlen(colon + 1), UINT32_MAX - 1, &v) < 0)
		return cella_diag_set(d, -EINVAL, "bad port '%s'", colon + 1);
	a->vport = (uint32_t)v;
	return 0;
}

int
cella_addr_parse(const char *url, struct cella_addr *out, struct cella_diag *d)
{
	struct cella_addr a;
	int rv;

	if (url == NULL || url[0] == '\0')
		return cella_diag_set(d, -EINVAL, "empty address");
	if (strlen(url) > CELLA_ADDR_URL_MAX)
		return cella_diag_set(d, -EINVAL, "address longer than %d bytes",
				      CELLA_ADDR_URL_MAX);
	for (size_t i = 0; i < NSCHEMES; i++) {
		size_t sl = strlen(schemes[i].scheme);

		if (strncmp(url, schemes[i].scheme, sl) != 0)
			continue;
		memset(&a, 0, sizeof(a));
		a.kind = schemes[i].kind;
		rv = schemes[i].parse(url + sl, &a, d);
		if (rv < 0) {
			char why[sizeof(d->msg)];

			if (d == NULL)
				return rv;
			memcpy(why, d->msg, sizeof(why));
			return cella_diag_set(d, rv, "bad address '%s': %s",
					      url, why);
		}
		*out = a;
		return 0;
	}
	return cella_diag_set(d, -EINVAL,
			      "bad address '%s': unknown scheme (use ipc://, "
			      "unix://, abstract://, tcp:// or vsock://)",
			      url);
}

int
cella_addr_format(const struct cella_addr *a, char *buf, size_t len)
{
	int n;

	switch (a->kind) {
	case CELLA_ADDR_IPC:
		n = snprintf(buf, len, "ipc://%s", a->path);
		break;
	case CELLA_ADDR_UNIX:
		n = snprintf(buf, len, "unix://%s", a->path);
		break;
	case CELLA_ADDR_ABSTRACT:
		n = snprintf(buf, len, "abstract://%s", a->path);
		break;
	case CELLA_ADDR_TCP:
		n = snprintf(buf, len, strchr(a->host, ':') ? "tcp://[%s]:%u"
							    : "tcp://%s:%u",
			     a->host, a->port);
		break;
	case CELLA_ADDR_VSOCK:
		if (a->cid == CELLA_VSOCK_CID_ANY)
			n = snprintf(buf, len, "vsock://any:%u", a->vport);
		else
			n = snprintf(buf, len, "vsock://%u:%u", a->cid,
				     a->vport);
		break;
	default:
		return -EINVAL;
	}
	if (n < 0 || (size_t)n >= len)
		return -ENOSPC;
	return n;
}

static const char *
vsock_dir(void)
{
	const char *dir = getenv("CELLA_VSOCK_DIR");

	return dir != NULL && dir[0] != '\0' ? dir : NULL;
}

bool
cella_addr_is_local(const struct cella_addr *a)
{
	return a->kind != CELLA_ADDR_TCP &&
	       (a->kind != CELLA_ADDR_VSOCK || vsock_dir() != NULL);
}

static int
sockaddr_unix(const char *path, bool abstract, struct sockaddr_storage *ss,
	      socklen_t *sslen)
{
	struct sockaddr_un *sun = (struct sockaddr_un *)ss;
	size_t n = strlen(path);
	size_t off = abstract ? 1 : 0;

	if (n + off > CELLA_ADDR_PATH_MAX)
		return -ENAMETOOLONG;
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path + off, path, n);
	*sslen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + off + n +
			     (abstract ? 0 : 1));
	return 0;
}

static int
sockaddr_vsock_emul(const struct cella_addr *a, const char *dir,
		    struct sockaddr_storage *ss, socklen_t *sslen,
		    struct cella_diag *d)
{
	char path[CELLA_ADDR_PATH_MAX + 16];
	uint32_t cid = a->cid;
	uint64_t v;
	int n;

	if (cid == CELLA_VSOCK_CID_ANY) {
		const char *own = getenv("CELLA_VSOCK_CID");

		if (own == NULL ||
		    parse_uint(own, strlen(own), UINT32_MAX - 1, &v) < 0)
			return cella_diag_set(d, -EINVAL,
					      "vsock://any needs CELLA_VSOCK_CID "
					      "(this side's CID) when "
					      "CELLA_VSOCK_DIR is set");
		cid = (uint32_t)v;
	}
	n = snprintf(path, sizeof(path), "%s/%u_%u", dir, cid, a->vport);
	if (n < 0 || n > CELLA_ADDR_PATH_MAX)
		return cella_diag_set(d, -ENAMETOOLONG,
				      "CELLA_VSOCK_DIR '%s' is too long for "
				      "a unix socket path",
				      dir);
	return sockaddr_unix(path, false, ss, sslen);
}

int
cella_addr_sockaddr(const struct cella_addr *a, struct sockaddr_storage *ss,
		    socklen_t *sslen, struct cella_diag *d)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_vm *svm = (struct sockaddr_vm *)ss;
	const char *dir;

	memset(ss, 0, sizeof(*ss));
	switch (a->kind) {
	case CELLA_ADDR_IPC:
	case CELLA_ADDR_UNIX:
		return sockaddr_unix(a->path, false, ss, sslen);
	case CELLA_ADDR_ABSTRACT:
		return sockaddr_unix(a->path, true, ss, sslen);
	case CELLA_ADDR_TCP:
		if (inet_pton(AF_INET, a->host, &sin->sin_addr) == 1) {
			sin->sin_family = AF_INET;
			sin->sin_port = htons(a->port);
			*sslen = sizeof(*sin);
			return 0;
		}
		if (inet_pton(AF_INET6, a->host, &sin6->sin6_addr) == 1) {
			sin6->sin6_family = AF_INET6;
			sin6->sin6_port = htons(a->port);
			*sslen = sizeof(*sin6);
			return 0;
		}
		return -EAGAIN;
	case CELLA_ADDR_VSOCK:
		if ((dir = vsock_dir()) != NULL)
			return sockaddr_vsock_emul(a, dir, ss, sslen, d);
		svm->svm_family = AF_VSOCK;
		svm->svm_cid = a->cid == CELLA_VSOCK_CID_ANY ? VMADDR_CID_ANY
							     : a->cid;
		svm->svm_port = a->vport;
		*sslen = sizeof(*svm);
		return 0;
	}
	return -EINVAL;
}

int
cella_addr_resolve(const struct cella_addr *a, struct sockaddr_storage *ss,
		   socklen_t *sslen, struct cella_diag *d)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
	char port[8];
	int rv;

	rv = cella_addr_sockaddr(a, ss, sslen, d);
	if (rv != -EAGAIN)
		return rv;
	snprintf(port, sizeof(port), "%u", a->port);
	rv = getaddrinfo(a->host, port, &hints, &res);
	if (rv != 0)
		return cella_diag_set(d, -EHOSTUNREACH, "cannot resolve '%s': %s",
				      a->host, gai_strerror(rv));
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*sslen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

static bool
path_based(const struct cella_addr *a)
{
	return a->kind == CELLA_ADDR_IPC || a->kind == CELLA_ADDR_UNIX ||
	       (a->kind == CELLA_ADDR_VSOCK && vsock_dir() != NULL);
}

/* A unix socket file that nobody accepts on is left over from a crash. */
static bool
unix_is_stale(const struct sockaddr_storage *ss, socklen_t sslen)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	bool stale;

	if (fd < 0)
		return false;
	stale = connect(fd, (const struct sockaddr *)ss, sslen) < 0 &&
		errno == ECONNREFUSED;
	close(fd);
	return stale;
}

int
cella_addr_listen(const struct cella_addr *a, int backlog, struct cella_diag *d)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	char url[CELLA_ADDR_URL_MAX + 16];
	int fd = -1, one = 1, rv;

	cella_addr_format(a, url, sizeof(url));
	if ((rv = cella_addr_resolve(a, &ss, &sslen, d)) < 0)
		return rv;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return cella_diag_set(d, -errno, "%s: socket: %s", url,
				      strerror(errno));
	if (a->kind == CELLA_ADDR_TCP)
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	rv = bind(fd, (struct sockaddr *)&ss, sslen);
	if (rv < 0 && errno == EADDRINUSE && path_based(a) &&
	    unix_is_stale(&ss, sslen)) {
		unlink(((struct sockaddr_un *)&ss)->sun_path);
		rv = bind(fd, (struct sockaddr *)&ss, sslen);
	}
	if (rv < 0 || listen(fd, backlog) < 0) {
		rv = -errno;
		close(fd);
		return cella_diag_set(d, rv, "%s: cannot listen: %s", url,
				      strerror(-rv));
	}
	return fd;
}

void
cella_addr_unlink(const struct cella_addr *a)
{
	struct sockaddr_storage ss;
	socklen_t sslen;

	if (path_based(a) && cella_addr_sockaddr(a, &ss, &sslen, NULL) == 0)
		unlink(((struct sockaddr_un *)&ss)->sun_path);
}

int
cella_addr_connect(const struct cella_addr *a, int *pending,
		   struct cella_diag *d)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	char url[CELLA_ADDR_URL_MAX + 16];
	int fd, one = 1, rv;

	cella_addr_format(a, url, sizeof(url));
	if ((rv = cella_addr_resolve(a, &ss, &sslen, d)) < 0)
		return rv;
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return cella_diag_set(d, -errno, "%s: socket: %s", url,
				      strerror(errno));
	if (ss.ss_family == AF_INET || ss.ss_family == AF_INET6)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&ss, sslen) == 0)
		return fd;
	rv = -errno;
	if (rv == -EINPROGRESS) {
		*pending = fd;
		return rv;
	}
	/* An emulated vsock port nobody listens on is a missing file; real
	 * vsock says the connection was refused, and so do we. */
	if (rv == -ENOENT && a->kind == CELLA_ADDR_VSOCK)
		rv = -ECONNREFUSED;
	close(fd);
	return cella_diag_set(d, rv, "%s: cannot connect: %s", url,
			      strerror(-rv));
}

int
cella_addr_connect_result(int fd)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		return -errno;
	return -err;
}

/* Connect, waiting out a full unix backlog (EAGAIN) until the deadline. */
static int
connect_retrying(const struct cella_addr *a, int *pending, int timeout_ms,
		 struct cella_diag *d)
{
	struct timespec pause = {0, 10 * 1000 * 1000};
	int rv;

	for (int waited = 0;; waited += 10) {
		rv = cella_addr_connect(a, pending, d);
		if (rv != -EAGAIN || !cella_addr_is_local(a) ||
		    waited >= timeout_ms)
			return rv;
		nanosleep(&pause, NULL);
	}
}

int
cella_addr_connect_wait(const struct cella_addr *a, int timeout_ms,
			struct cella_diag *d)
{
	struct pollfd pfd;
	int fd = -1, rv;

	rv = connect_retrying(a, &fd, timeout_ms, d);
	if (rv >= 0) {
		fd = rv;
		goto blocking;
	}
	if (rv != -EINPROGRESS)
		return rv;
	pfd.fd = fd;
	pfd.events = POLLOUT;
	do
		rv = poll(&pfd, 1, timeout_ms);
	while (rv < 0 && errno == EINTR);
	if (rv == 0)
		rv = -ETIMEDOUT;
	else if (rv > 0)
		rv = cella_addr_connect_result(fd);
	else
		rv = -errno;
	if (rv < 0) {
		char url[CELLA_ADDR_URL_MAX + 16];

		close(fd);
		cella_addr_format(a, url, sizeof(url));
		return cella_diag_set(d, rv, "%s: cannot connect: %s", url,
				      strerror(-rv));
	}
blocking:
	(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
}

int
cella_addr_accept(int lfd)
{
	int fd;

	do
		fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	while (fd < 0 && errno == EINTR);
	return fd < 0 ? -errno : fd;
}
