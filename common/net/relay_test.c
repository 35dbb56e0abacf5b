/*
 * relay_test: the relay on a real loop and real sockets, in both data paths
 * (splice and copy): whole buffers, one byte at a time and random splits in
 * both directions, half-close each way, a reset passed on, the bound on
 * what a relay takes from a writer whose reader has stopped, and a stream
 * rule that only its own process can join.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/net/addr.h"
#include "common/net/relay.h"
#include "common/testing/util.h"

struct fixture {
	uv_loop_t loop;
	uv_async_t stop, ask; /* ask: copy the relay's stats on the loop */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct cella_relay_stats st;
	bool st_fresh;
	uint64_t want_accepted;
	struct cella_relay *relay;
	pthread_t thread;
	int target_lfd;
	int client, server; /* the two ends the test drives */
	char lurl[64], turl[64];
};

static unsigned seq;

static void
fx_closed(void *arg)
{
	struct fixture *f = arg;

	uv_close((uv_handle_t *)&f->stop, NULL);
	if (f->ask.data != NULL) /* fx_setup's fixtures only */
		uv_close((uv_handle_t *)&f->ask, NULL);
}

static void
fx_ask_cb(uv_async_t *h)
{
	struct fixture *f = h->data;

	pthread_mutex_lock(&f->mu);
	cella_relay_get_stats(f->relay, &f->st);
	f->st_fresh = true;
	pthread_cond_signal(&f->cv);
	pthread_mutex_unlock(&f->mu);
}

/* The relay's counters, read on its loop thread (they are not atomic). */
static struct cella_relay_stats
fx_stats(struct fixture *f)
{
	struct cella_relay_stats st;

	pthread_mutex_lock(&f->mu);
	f->st_fresh = false;
	uv_async_send(&f->ask);
	while (!f->st_fresh)
		pthread_cond_wait(&f->cv, &f->mu);
	st = f->st;
	pthread_mutex_unlock(&f->mu);
	return st;
}

static bool
fx_accepted_all(void *arg)
{
	struct fixture *f = arg;

	return fx_stats(f).accepted >= f->want_accepted;
}

static void
fx_stop_cb(uv_async_t *h)
{
	struct fixture *f = h->data;

	cella_relay_close(f->relay, fx_closed, f);
}

static void *
fx_run(void *arg)
{
	struct fixture *f = arg;

	uv_run(&f->loop, UV_RUN_DEFAULT);
	return NULL;
}

static int
fx_accept(int lfd)
{
	struct pollfd p = {.fd = lfd, .events = POLLIN};
	int fd;

	assert_int_equal(poll(&p, 1, 5000), 1);
	fd = cella_addr_accept(lfd);
	assert_true(fd >= 0);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
}

/* A relay from abstract://lurl to abstract://turl, one connection open. */
static void
fx_setup(struct fixture *f, bool copy, size_t pipe_bytes)
{
	struct cella_relay_opts o = {.copy = copy, .pipe_bytes = pipe_bytes,
				     .buf_bytes = pipe_bytes, .quiet = true};
	struct cella_addr a;
	struct cella_diag d;

	memset(f, 0, sizeof(*f));
	snprintf(f->lurl, sizeof(f->lurl), "abstract://relay-test-%d-%u-l",
		 getpid(), ++seq);
	snprintf(f->turl, sizeof(f->turl), "abstract://relay-test-%d-%u-t",
		 getpid(), seq);
	assert_int_equal(cella_addr_parse(f->turl, &a, &d), 0);
	f->target_lfd = cella_addr_listen(&a, 16, &d);
	assert_true(f->target_lfd >= 0);
	assert_int_equal(uv_loop_init(&f->loop), 0);
	assert_int_equal(cella_relay_new(&f->loop, &o, &f->relay), 0);
	assert_int_equal(cella_relay_add(f->relay, f->lurl, f->turl, &d), 0);
	uv_async_init(&f->loop, &f->stop, fx_stop_cb);
	f->stop.data = f;
	uv_async_init(&f->loop, &f->ask, fx_ask_cb);
	f->ask.data = f;
	pthread_mutex_init(&f->mu, NULL);
	pthread_cond_init(&f->cv, NULL);
	assert_int_equal(pthread_create(&f->thread, NULL, fx_run, f), 0);
	assert_int_equal(cella_addr_parse(f->lurl, &a, &d), 0);
	f->client = cella_addr_connect_wait(&a, 5000, &d);
	assert_true(f->client >= 0);
	f->server = fx_accept(f->target_lfd);
}

static void
fx_teardown(struct fixture *f)
{
	uv_async_send(&f->stop);
	pthread_join(f->thread, NULL);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	pthread_cond_destroy(&f->cv);
	pthread_mutex_destroy(&f->mu);
	close(f->client);
	close(f->server);
	close(f->target_lfd);
}

enum split { WHOLE, BYTEWISE, RANDOM };

static void
send_split(int fd, const uint8_t *p, size_t n, enum split how)
{
	size_t off = 0;

	while (off < n) {
		size_t k = how == WHOLE	     ? n - off
			   : how == BYTEWISE ? 1
					     : 1 + (size_t)rand() % 70000;
		ssize_t w;

		if (k > n - off)
			k = n - off;
		w = write(fd, p + off, k);
		assert_true(w > 0);
		off += (size_t)w;
	}
}

struct sender {
	int fd;
	const uint8_t *p;
	size_t n;
	enum split how;
	bool shut;
};

static void *
sender_run(void *arg)
{
	struct sender *s = arg;

	send_split(s->fd, s->p, s->n, s->how);
	if (s->shut)
		shutdown(s->fd, SHUT_WR);
	return NULL;
}

/* Read until EOF; return the count (must not exceed cap). */
static size_t
recv_all(int fd, uint8_t *p, size_t cap)
{
	size_t off = 0;
	ssize_t r;

	while ((r = read(fd, p + off, cap - off)) > 0)
		off += (size_t)r;
	assert_int_equal(r, 0);
	return off;
}

static void
transfer(struct fixture *f, int from, int to, size_t n, enum split how)
{
	uint8_t *out = malloc(n), *in = malloc(n + 1);
	struct sender s = {from, out, n, how, true};
	pthread_t t;

	for (size_t i = 0; i < n; i++)
		out[i] = (uint8_t)(i * 31 + (i >> 9));
	assert_int_equal(pthread_create(&t, NULL, sender_run, &s), 0);
	assert_int_equal(recv_all(to, in, n + 1), n);
	assert_memory_equal(in, out, n);
	pthread_join(t, NULL);
	(void)f;
	free(out);
	free(in);
}

static void
both_ways(bool copy, enum split how, size_t n)
{
	struct fixture f;

	fx_setup(&f, copy, 0);
	/* client -> server, then (after the client's half-close arrived)
	 * server -> client on the same connection. */
	transfer(&f, f.client, f.server, n, how);
	transfer(&f, f.server, f.client, n, how);
	fx_teardown(&f);
}

static void
test_splice_whole(void **s)
{
	(void)s;
	both_ways(false, WHOLE, 8u << 20);
}

static void
test_splice_bytewise(void **s)
{
	(void)s;
	both_ways(false, BYTEWISE, 20000);
}

static void
test_splice_random(void **s)
{
	(void)s;
	both_ways(false, RANDOM, 5u << 20);
}

static void
test_copy_whole(void **s)
{
	(void)s;
	both_ways(true, WHOLE, 8u << 20);
}

static void
test_copy_bytewise(void **s)
{
	(void)s;
	both_ways(true, BYTEWISE, 20000);
}

static void
test_copy_random(void **s)
{
	(void)s;
	both_ways(true, RANDOM, 5u << 20);
}

/* The server half-closes first; the client can still send afterwards. */
static void
test_server_halfclose(void **s)
{
	struct fixture f;
	uint8_t buf[16];

	(void)s;
	fx_setup(&f, false, 0);
	assert_int_equal(write(f.server, "bye", 3), 3);
	shutdown(f.server, SHUT_WR);
	assert_int_equal(recv_all(f.client, buf, sizeof(buf)), 3);
	assert_memory_equal(buf, "bye", 3);
	assert_int_equal(write(f.client, "late", 4), 4);
	shutdown(f.client, SHUT_WR);
	assert_int_equal(recv_all(f.server, buf, sizeof(buf)), 4);
	assert_memory_equal(buf, "late", 4);
	fx_teardown(&f);
}

/* A reset on one side closes the other (no half-open connection stays). */
static void
test_reset(void **s)
{
	struct fixture f;
	struct linger lg = {1, 0};
	uint8_t buf[4];

	(void)s;
	fx_setup(&f, false, 0);
	/* Unread data makes close() send a reset on a unix socket too. */
	assert_int_equal(write(f.client, "xx", 2), 2);
	setsockopt(f.server, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(f.server);
	f.server = -1;
	assert_true(read(f.client, buf, sizeof(buf)) <= 0);
	fx_teardown(&f);
}

/*
 * With a reader that never reads, the relay takes at most one pipe (or
 * buffer) per direction beyond what the kernel's socket buffers hold.
 */
static size_t
stalled_intake(bool copy, size_t pipe_bytes)
{
	struct fixture f;
	static uint8_t chunk[65536];
	size_t total = 0;
	struct pollfd p;

	fx_setup(&f, copy, pipe_bytes);
	fcntl(f.client, F_SETFL, O_NONBLOCK);
	p.fd = f.client;
	p.events = POLLOUT;
	for (;;) {
		ssize_t w = write(f.client, chunk, sizeof(chunk));

		if (w > 0) {
			total += (size_t)w;
			continue;
		}
		assert_int_equal(errno, EAGAIN);
		if (poll(&p, 1, 300) == 0)
			break;
	}
	fx_teardown(&f);
	return total;
}

static void
test_stalled_reader_bound(void **s)
{
	size_t small, big;

	(void)s;
	small = stalled_intake(true, 64 << 10);
	big = stalled_intake(true, 1 << 20);
	/* Everything beyond the socket buffers is the relay's one buffer:
	 * a bigger buffer may take more, never more than its size more. */
	assert_true(small < (8u << 20));
	assert_true(big < small + (1u << 20));
	assert_true(stalled_intake(false, 0) < (8u << 20));
}

/* A connect of our own to a unix target: 0 when queued, else -errno. */
static int
probe_connect(const struct cella_addr *a)
{
	int pending = -1, fd = cella_addr_connect(a, &pending, NULL);

	if (pending >= 0)
		close(pending);
	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}

/*
 * A unix target whose backlog is full refuses with EAGAIN instead of
 * queueing: the relay must retry, not drop the client. Proof that the
 * retry path ran: once the relay has accepted all six (each tried its
 * connect at once), the target's queue is full (a connect of our own is
 * refused) although nothing was accepted from it, so most of the six were
 * refused too; none failed, and all six arrive in the end.
 */
static void
test_full_backlog(void **s)
{
	struct fixture f;
	struct cella_addr a, t;
	struct cella_diag d;
	struct cella_relay_stats st;
	int clients[6], lfd;
	uint8_t b;

	(void)s;
	fx_setup(&f, false, 0);
	/* Replace the target listener by one with the smallest backlog. */
	assert_int_equal(cella_addr_parse(f.turl, &t, &d), 0);
	close(f.target_lfd);
	lfd = cella_addr_listen(&t, 0, &d);
	assert_true(lfd >= 0);
	f.target_lfd = lfd;
	assert_int_equal(cella_addr_parse(f.lurl, &a, &d), 0);
	for (int i = 0; i < 6; i++) {
		clients[i] = cella_addr_connect_wait(&a, 5000, &d);
		assert_true(clients[i] >= 0);
		b = (uint8_t)('a' + i);
		assert_int_equal(write(clients[i], &b, 1), 1);
	}
	f.want_accepted = 1 + 6; /* fx_setup's connection and these */
	assert_true(tu_wait_until(fx_accepted_all, &f, 5000));
	assert_int_equal(probe_connect(&t), -EAGAIN);
	st = fx_stats(&f);
	assert_int_equal(st.failed, 0);
	assert_int_equal(st.open, 1 + 6);
	for (int i = 0; i < 6; i++) {
		int fd = fx_accept(lfd);

		assert_int_equal(read(fd, &b, 1), 1);
		assert_true(b >= 'a' && b < 'a' + 6);
		close(fd);
	}
	for (int i = 0; i < 6; i++)
		close(clients[i]);
	fx_teardown(&f);
}

/* The child's side: connect, write, and expect to be closed (exit 0). */
static int
foreign_peer(const struct cella_addr *a)
{
	struct pollfd p;
	char b;
	ssize_t n;
	int fd = cella_addr_connect_wait(a, 5000, NULL);

	if (fd < 0)
		return 2;
	if (write(fd, "evil", 4) != 4) /* closed before we could write */
		return errno == EPIPE || errno == ECONNRESET ? 0 : 2;
	p.fd = fd;
	p.events = POLLIN;
	if (poll(&p, 1, 5000) != 1)
		return 1;
	/* closed with our bytes unread: EOF or a reset */
	n = read(fd, &b, 1);
	return n == 0 || (n < 0 && errno == ECONNRESET) ? 0 : 1;
}

/*
 * A stream rule joins its stream with a connection from this process only:
 * another process (a forked child here; another user's, for real) is
 * closed at once, the rule waits on, and once it is joined the listener is
 * gone, so nobody can come second either.
 */
static void
test_stream_own_process_only(void **s)
{
	struct fixture f = {0};
	struct cella_addr a;
	struct cella_diag d;
	char dir[] = "/tmp/relay-test-XXXXXX", url[64], b[4];
	int sp[2], fd, st;
	pid_t child;

	(void)s;
	assert_non_null(mkdtemp(dir));
	snprintf(url, sizeof(url), "ipc://%s/s", dir);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	fcntl(sp[0], F_SETFL, O_NONBLOCK);
	assert_int_equal(uv_loop_init(&f.loop), 0);
	assert_int_equal(cella_relay_new(&f.loop, NULL, &f.relay), 0);
	assert_int_equal(cella_relay_add_stream(f.relay, url, sp[0], NULL, &d), 0);
	uv_async_init(&f.loop, &f.stop, fx_stop_cb);
	f.stop.data = &f;
	assert_int_equal(pthread_create(&f.thread, NULL, fx_run, &f), 0);
	assert_int_equal(cella_addr_parse(url, &a, &d), 0);
	if ((child = fork()) == 0)
		_exit(foreign_peer(&a));
	assert_int_equal(waitpid(child, &st, 0), child);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0); /* closed, not joined */
	fd = cella_addr_connect_wait(&a, 5000, &d);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "good", 4), 4);
	assert_int_equal(read(sp[1], b, 4), 4);
	assert_memory_equal(b, "good", 4); /* nothing of the child's */
	/* Joined: the listener closed (its file is ours to remove). */
	for (int i = 0; i < 250 && f.client >= 0; i++) {
		f.client = cella_addr_connect_wait(&a, 100, NULL);
		if (f.client >= 0) {
			close(f.client);
			usleep(20 * 1000);
		}
	}
	assert_true(f.client < 0);
	assert_int_equal(access(a.path, F_OK), 0);
	unlink(a.path);
	rmdir(dir);
	close(fd);
	close(sp[1]);
	uv_async_send(&f.stop);
	pthread_join(f.thread, NULL);
	assert_int_equal(uv_loop_close(&f.loop), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_splice_whole),
		cmocka_unit_test(test_splice_bytewise),
		cmocka_unit_test(test_splice_random),
		cmocka_unit_test(test_copy_whole),
		cmocka_unit_test(test_copy_bytewise),
		cmocka_unit_test(test_copy_random),
		cmocka_unit_test(test_server_halfclose),
		cmocka_unit_test(test_reset),
		cmocka_unit_test(test_stalled_reader_bound),
		cmocka_unit_test(test_full_backlog),
		cmocka_unit_test(test_stream_own_process_only),
	};

	signal(SIGPIPE, SIG_IGN);
	srand(7);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
