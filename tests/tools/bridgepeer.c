/*
 * bridgepeer: peers of the attested bridge that cella's own client never
 * plays, for tests and benchmarks:
 *
 *   bridgepeer hold URL N [--ready-fd F]
 *       open N connections and send nothing. Once all are open, write
 *       "ready" to F; then print "closed K" (K = how many the bridge has
 *       closed so far) each time the bridge closes some, and exit 0 with
 *       "all closed after MS ms" once every one is closed. Exit 1 if any
 *       is still open after 120 s.
 *   bridgepeer hello URL KEY KIND
 *       a TLS session with the operator key KEY, then a hello the bridge
 *       must refuse: garbage (a frame that is not CBOR), notmap (CBOR, not
 *       a map), version (v: 2), nonce (a 16-byte nonce), oversize (a
 *       header announcing 65536 bytes), empty (a header announcing 0),
 *       truncated (a header announcing 100 bytes, 10 of them sent, then
 *       silence). Prints the bridge's answer ("error: REASON") and exits 0
 *       when an error frame came before the end of the stream, 1 otherwise.
 *   bridgepeer sessions URL KEY ROOT N
 *       N whole attested sessions one after the other (cella_atls_dial,
 *       the root pinned, no PCRs), each closed once the service has sent
 *       its SP header; prints "sessions N ms MS". Exit 1 at the first
 *       failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "common/net/addr.h"
#include "common/bridge/atls.h"
#include "common/cbor/cbor.h"
#include "common/core/ready.h"
#include "common/bridge/tls.h"
#include "common/attest/verify.h"
#include "tests/lib/argnum.h"
#include "common/core/clock.h"

#define HOLD_WAIT_MS 120000

static void __attribute__((noreturn))
die(const char *what, const char *why)
{
	fprintf(stderr, "bridgepeer: %s: %s\n", what, why);
	exit(1);
}

/* --- hold ---------------------------------------------------------------- */

static int
hold_open(const char *url, int ep, int n)
{
	struct cella_addr a;
	struct cella_diag d;

	if (cella_addr_parse(url, &a, &d) < 0)
		die(url, d.msg);
	for (int i = 0; i < n; i++) {
		struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP};
		int fd = cella_addr_connect_wait(&a, 10000, &d);

		if (fd < 0)
			die("connect", d.msg);
		ev.data.fd = fd;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0)
			die("epoll", strerror(errno));
	}
	return 0;
}

static int
run_hold(const char *url, int n, int ready_fd)
{
	int ep = epoll_create1(EPOLL_CLOEXEC), closed = 0;
	long start, left;
	struct epoll_event evs[64];

	if (ep < 0)
		die("epoll", strerror(errno));
	hold_open(url, ep, n);
	cella_ready_notify(ready_fd);
	start = (long)cella_mono_ms();
	while (closed < n) {
		int k;

		left = start + HOLD_WAIT_MS - (long)cella_mono_ms();
		if (left <= 0)
			die("hold", "connections still open after 120 s");
		k = epoll_wait(ep, evs, 64, (int)left);
		for (int i = 0; i < k; i++) {
			char c;
			ssize_t r = read(evs[i].data.fd, &c, 1);

			if (r > 0)
				die("hold", "the bridge sent a byte to a silent "
					    "peer");
			if (r < 0 && errno == EAGAIN)
				continue;
			epoll_ctl(ep, EPOLL_CTL_DEL, evs[i].data.fd, NULL);
			close(evs[i].data.fd);
			closed++;
		}
		if (k > 0) {
			printf("closed %d\n", closed);
			fflush(stdout);
		}
	}
	printf("all closed after %ld ms\n", (long)cella_mono_ms() - start);
	return 0;
}

/* --- hello --------------------------------------------------------------- */

static void
dial_tls(const char *url, const char *key, int *fdp, SSL **sslp)
{
	struct cella_addr a;
	struct cella_diag d;
	EVP_PKEY *k;
	X509 *c;
	SSL_CTX *ctx = NULL;
	int fd;

	if (cella_opkey_load(key, &k, &c, &d) < 0 ||
	    cella_tls_client_ctx(k, c, &ctx, &d) < 0 ||
	    cella_addr_parse(url, &a, &d) < 0)
		die("setup", d.msg);
	EVP_PKEY_free(k);
	X509_free(c);
	if ((fd = cella_addr_connect_wait(&a, 5000, &d)) < 0)
		die("connect", d.msg);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	*sslp = SSL_new(ctx);
	SSL_CTX_free(ctx);
	SSL_set_fd(*sslp, fd);
	if (cella_tls_handshake(*sslp, fd, false, 5000, &d) < 0)
		die("TLS", d.msg);
	*fdp = fd;
}

/* Write all of p (blocking semantics on the non-blocking fd). */
static void
put(SSL *ssl, int fd, const void *p, size_t n)
{
	while (n > 0) {
		size_t done = 0;
		struct pollfd pf = {.fd = fd, .events = POLLOUT};

		if (SSL_write_ex(ssl, p, n, &done) == 1) {
			p = (const uint8_t *)p + done;
			n -= done;
			continue;
		}
		if (SSL_get_error(ssl, 0) != SSL_ERROR_WANT_WRITE ||
		    poll(&pf, 1, 5000) != 1)
			die("write", "the bridge stopped taking bytes");
	}
}

/* The CBOR map {"v": v, "nonce": bstr of n bytes}, framed. */
static size_t
hello_frame(uint64_t v, size_t n, uint8_t *out, size_t cap)
{
	cbor_item_t *m = cbor_new_indefinite_map();
	uint8_t nonce[64] = {0};
	struct cella_buf b;
	size_t len;

	cella_buf_init(&b, cap - 4);
	if (m == NULL || cella_cbor_put_uint(m, "v", v) < 0 ||
	    cella_cbor_put_bytes(m, "nonce", nonce, n) < 0 ||
	    cella_cbor_encode(m, &b) < 0 || b.len > cap - 4)
		die("hello", "cannot encode");
	len = b.len;
	out[0] = out[1] = 0;
	out[2] = (uint8_t)(len >> 8);
	out[3] = (uint8_t)len;
	memcpy(out + 4, b.p, len);
	cella_buf_fini(&b);
	cbor_decref(&m);
	return len + 4;
}

static size_t
bad_hello(const char *kind, uint8_t *f, size_t cap)
{
	static const uint8_t garbage[] = {0, 0, 0, 8, 0xff, 0xfe, 0x1c,
					  0x1d, 0x1e, 0x1f, 0x5f, 0x7f};
	static const uint8_t notmap[] = {0, 0, 0, 3, 0x82, 0x01, 0x02};
	static const uint8_t oversize[] = {0, 1, 0, 0};
	static const uint8_t empty[] = {0, 0, 0, 0};
	static const uint8_t truncated[] = {0, 0, 0, 100, 0xbf, 0x61, 0x76,
					    0x01, 0x65, 0x6e, 0x6f, 0x6e, 0x63,
					    0x65};
	static const struct {
		const char *kind;
		const uint8_t *p;
		size_t n;
	} fixed[] = {
		{"garbage", garbage, sizeof(garbage)},
		{"notmap", notmap, sizeof(notmap)},
		{"oversize", oversize, sizeof(oversize)},
		{"empty", empty, sizeof(empty)},
		{"truncated", truncated, sizeof(truncated)},
	};

	if (strcmp(kind, "version") == 0)
		return hello_frame(2, 32, f, cap);
	if (strcmp(kind, "nonce") == 0)
		return hello_frame(1, 16, f, cap);
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		if (strcmp(kind, fixed[i].kind) == 0) {
			memcpy(f, fixed[i].p, fixed[i].n);
			return fixed[i].n;
		}
	die(kind, "unknown kind (garbage, notmap, version, nonce, oversize, "
		  "empty, truncated)");
}

static int
run_hello(const char *url, const char *key, const char *kind)
{
	uint8_t f[256];
	size_t n = bad_hello(kind, f, sizeof(f));
	cbor_item_t *m = NULL;
	struct cella_diag d;
	struct cella_span why;
	SSL *ssl;
	int fd, rv;

	dial_tls(url, key, &fd, &ssl);
	put(ssl, fd, f, n);
	rv = cella_atls_recv(ssl, fd, &m, cella_atls_deadline(30000), &d);
	if (rv < 0) {
		printf("no answer: %s\n", d.msg);
		return 1;
	}
	if (cella_cbor_get_text(m, "error", 512, &why, &d) < 0) {
		printf("an answer without an error\n");
		return 1;
	}
	printf("error: %.*s\n", (int)why.n, (const char *)why.p);
	cbor_decref(&m);
	SSL_free(ssl);
	close(fd);
	return 0;
}

/* --- sessions ------------------------------------------------------------ */

/*
 * What an nng REQ dialer says first on a stream (SP over ipc), and waits
 * for the REP side's own header: after that the service counts the session
 * as used, and its end as the end of the session.
 */
static void
sp_handshake(SSL *ssl, int fd)
{
	static const uint8_t req0[8] = {0, 'S', 'P', 0, 0, 0x30, 0, 0};
	uint8_t got[8];
	size_t n = 0;

	put(ssl, fd, req0, sizeof(req0));
	while (n < sizeof(got)) {
		size_t k = 0;
		struct pollfd pf = {.fd = fd, .events = POLLIN};

		if (SSL_read_ex(ssl, got + n, sizeof(got) - n, &k) == 1) {
			n += k;
			continue;
		}
		if (SSL_get_error(ssl, 0) != SSL_ERROR_WANT_READ ||
		    poll(&pf, 1, 5000) != 1)
			die("session", "the service sent no SP header");
	}
	if (got[0] != 0 || got[1] != 'S' || got[2] != 'P')
		die("session", "not an SP header");
}

static int
run_sessions(const char *url, const char *key, const char *root, long n)
{
	struct cella_verify_policy pol;
	struct cella_atls_dial_opts o = {.key_path = key, .pol = &pol,
					 .timeout_ms = 10000};
	struct cella_atls_peer *peer = malloc(sizeof(*peer));
	struct cella_diag d;
	X509 *r = NULL;
	long start = (long)cella_mono_ms();

	cella_verify_policy_init(&pol);
	if (peer == NULL || cella_verify_root_load(root, &r, &d) < 0)
		die(root, peer == NULL ? "out of memory" : d.msg);
	pol.root = r;
	pol.allow_debug = true;
	for (long i = 0; i < n; i++) {
		SSL *ssl = NULL;
		int fd = -1;

		if (cella_atls_dial(url, &o, &fd, &ssl, peer, &d) < 0) {
			fprintf(stderr, "bridgepeer: session %ld: %s\n", i + 1,
				d.msg);
			return 1;
		}
		sp_handshake(ssl, fd);
		SSL_shutdown(ssl);
		SSL_free(ssl);
		close(fd);
	}
	printf("sessions %ld ms %ld\n", n, (long)cella_mono_ms() - start);
	X509_free(r);
	free(peer);
	return 0;
}

int
main(int argc, char **argv)
{
	int ready_fd = -1;

	signal(SIGPIPE, SIG_IGN); /* a closed stream is reported, not fatal */
	if (argc >= 6 && strcmp(argv[argc - 2], "--ready-fd") == 0) {
		ready_fd = (int)arg_long(argv[argc - 1], 10, 0, 1 << 20);
		argc -= 2;
	}
	if (argc == 4 && strcmp(argv[1], "hold") == 0)
		return run_hold(argv[2], (int)arg_long(argv[3], 10, 1, 100000),
				ready_fd);
	if (argc == 5 && strcmp(argv[1], "hello") == 0)
		return run_hello(argv[2], argv[3], argv[4]);
	if (argc == 6 && strcmp(argv[1], "sessions") == 0)
		return run_sessions(argv[2], argv[3], argv[4],
				    arg_long(argv[5], 10, 1, 10000000));
	fprintf(stderr, "usage: bridgepeer hold URL N [--ready-fd F]\n"
			"       bridgepeer hello URL KEY KIND\n"
			"       bridgepeer sessions URL KEY ROOT N\n");
	return 64;
}
