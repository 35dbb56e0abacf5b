/*
 * relay_tls_test: the relay with a TLS side (cella_relay_join), as the
 * attested bridge uses it: bytes both ways through TLS in whole buffers,
 * byte by byte and random splits; close_notify becomes a half-close of the
 * plain side and a plain EOF becomes close_notify; a TLS stream cut without
 * close_notify is a reset, never a clean end.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/net/relay.h"
#include "common/bridge/tls.h"

struct fx {
	uv_loop_t loop;
	uv_async_t stop;
	struct cella_relay *relay;
	pthread_t thread;
	SSL_CTX *sctx, *cctx;
	SSL *cssl;    /* the test's TLS end (blocking) */
	int tls_fd;   /* its socket */
	int plain_fd; /* the test's plain end (blocking) */
};

struct hs {
	SSL *ssl;
	int fd;
	int rv;
};

static void *
client_hs(void *arg)
{
	struct hs *h = arg;

	h->rv = cella_tls_handshake(h->ssl, h->fd, false, 5000, NULL);
	return NULL;
}

static void
closed(void *arg)
{
	struct fx *f = arg;

	uv_close((uv_handle_t *)&f->stop, NULL);
}

static void
stop_cb(uv_async_t *h)
{
	struct fx *f = h->data;

	cella_relay_close(f->relay, closed, f);
}

static void *
run(void *arg)
{
	struct fx *f = arg;

	uv_run(&f->loop, UV_RUN_DEFAULT);
	return NULL;
}

static void
blocking(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
}

static void
setup(struct fx *f)
{
	int tp[2], pp[2];
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	X509 *cert = NULL;
	SSL *sssl;
	struct hs h;
	pthread_t t;

	memset(f, 0, sizeof(*f));
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, tp), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, pp), 0);
	assert_int_equal(cella_tls_server_ctx("relay-test", &f->sctx, NULL), 0);
	assert_int_equal(cella_tls_selfsigned(key, "op", 1, &cert, NULL), 0);
	assert_int_equal(cella_tls_client_ctx(key, cert, &f->cctx, NULL), 0);
	EVP_PKEY_free(key);
	X509_free(cert);
	f->cssl = SSL_new(f->cctx);
	SSL_set_fd(f->cssl, tp[0]);
	sssl = SSL_new(f->sctx);
	SSL_set_fd(sssl, tp[1]);
	h = (struct hs){f->cssl, tp[0], -1};
	pthread_create(&t, NULL, client_hs, &h);
	assert_int_equal(cella_tls_handshake(sssl, tp[1], true, 5000, NULL), 0);
	pthread_join(t, NULL);
	assert_int_equal(h.rv, 0);
	f->tls_fd = tp[0];
	f->plain_fd = pp[1];
	blocking(f->tls_fd);
	blocking(f->plain_fd);
	assert_int_equal(uv_loop_init(&f->loop), 0);
	assert_int_equal(cella_relay_new(&f->loop, NULL, &f->relay), 0);
	assert_int_equal(cella_relay_join(f->relay, "test", tp[1], sssl, pp[0],
					  NULL), 0);
	uv_async_init(&f->loop, &f->stop, stop_cb);
	f->stop.data = f;
	assert_int_equal(pthread_create(&f->thread, NULL, run, f), 0);
}

static void
teardown(struct fx *f)
{
	uv_async_send(&f->stop);
	pthread_join(f->thread, NULL);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	SSL_free(f->cssl);
	SSL_CTX_free(f->sctx);
	SSL_CTX_free(f->cctx);
	close(f->tls_fd);
	if (f->plain_fd >= 0)
		close(f->plain_fd);
}

enum split { WHOLE, BYTEWISE, RANDOM };

static size_t
chunk(enum split how, size_t left)
{
	size_t k = how == WHOLE ? left : how == BYTEWISE ? 1 : 1 + (size_t)rand() % 70000;

	return k > left ? left : k;
}

struct writer {
	struct fx *f;
	bool tls;
	const uint8_t *p;
	size_t n;
	enum split how;
};

/* Write everything, then half-close (close_notify or SHUT_WR). */
static void *
writer_run(void *arg)
{
	struct writer *w = arg;
	size_t off = 0, done;

	while (off < w->n) {
		size_t k = chunk(w->how, w->n - off);

		if (w->tls) {
			assert_int_equal(SSL_write_ex(w->f->cssl, w->p + off, k,
						      &done), 1);
		} else {
			ssize_t r = write(w->f->plain_fd, w->p + off, k);

			assert_true(r > 0);
			done = (size_t)r;
		}
		off += done;
	}
	if (w->tls)
		assert_true(SSL_shutdown(w->f->cssl) >= 0);
	else
		shutdown(w->f->plain_fd, SHUT_WR);
	return NULL;
}

/* Read to the end: plain EOF, or TLS close_notify (anything else fails). */
static size_t
read_all(struct fx *f, bool tls, uint8_t *p, size_t cap)
{
	size_t off = 0, done;

	for (;;) {
		if (tls) {
			if (SSL_read_ex(f->cssl, p + off, cap - off, &done) != 1) {
				assert_int_equal(SSL_get_error(f->cssl, 0),
						 SSL_ERROR_ZERO_RETURN);
				return off;
			}
		} else {
			ssize_t r = read(f->plain_fd, p + off, cap - off);

			assert_true(r >= 0);
			if (r == 0)
				return off;
			done = (size_t)r;
		}
		off += done;
	}
}

static void
both_ways(enum split how, size_t n)
{
	struct fx f;
	uint8_t *out = malloc(n), *in = malloc(n + 1);
	struct writer w;
	pthread_t t;

	for (size_t i = 0; i < n; i++)
		out[i] = (uint8_t)(i * 13 + (i >> 10));
	setup(&f);
	/* TLS -> plain, ending with close_notify -> EOF on the plain side. */
	w = (struct writer){&f, true, out, n, how};
	pthread_create(&t, NULL, writer_run, &w);
	assert_int_equal(read_all(&f, false, in, n + 1), n);
	assert_memory_equal(in, out, n);
	pthread_join(t, NULL);
	/* plain -> TLS on the same connection, EOF -> close_notify. */
	w = (struct writer){&f, false, out, n, how};
	pthread_create(&t, NULL, writer_run, &w);
	assert_int_equal(read_all(&f, true, in, n + 1), n);
	assert_memory_equal(in, out, n);
	pthread_join(t, NULL);
	teardown(&f);
	free(out);
	free(in);
}

static void
test_whole(void **s)
{
	(void)s;
	both_ways(WHOLE, 6u << 20);
}

static void
test_bytewise(void **s)
{
	(void)s;
	both_ways(BYTEWISE, 5000);
}

static void
test_random(void **s)
{
	(void)s;
	both_ways(RANDOM, 4u << 20);
}

/* A TLS stream cut without close_notify must not look like a clean end. */
static void
test_truncation_is_reset(void **s)
{
	struct fx f;
	struct linger lg = {1, 0};
	uint8_t buf[64];
	size_t done;
	ssize_t r;

	(void)s;
	setup(&f);
	assert_int_equal(SSL_write_ex(f.cssl, "partial", 7, &done), 1);
	assert_int_equal(read(f.plain_fd, buf, 7), 7);
	/* Cut the socket under TLS: no close_notify. */
	setsockopt(f.tls_fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	shutdown(f.tls_fd, SHUT_RDWR);
	/* The plain side is closed at once (reset), not half-closed: a
	 * write of ours would fail too. */
	r = read(f.plain_fd, buf, sizeof(buf));
	assert_true(r <= 0);
	for (int i = 0; i < 100 && write(f.plain_fd, "x", 1) == 1; i++)
		usleep(10000);
	assert_int_equal(write(f.plain_fd, "x", 1), -1);
	teardown(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_whole),
		cmocka_unit_test(test_bytewise),
		cmocka_unit_test(test_random),
		cmocka_unit_test(test_truncation_is_reset),
	};

	signal(SIGPIPE, SIG_IGN);
	srand(11);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
