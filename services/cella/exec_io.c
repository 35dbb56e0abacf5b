/*
 * exec_io: output is pulled, one long-poll at a time, and written out in
 * full before the next; stdin is pushed by its own thread, coalescing what
 * is readable at once into one PIPE_WRITE of at most 1 MiB. Both use the
 * same rpc client (each call has its own nng context), so both share the
 * one connection that owns the command. Signals are taken by sigwait in a
 * thread of their own and sent as PIPE_SIGNAL; nothing runs in a handler.
 */
#include "services/cella/exec_io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include "common/cbor/cbor.h"
#include "services/cella/conn.h"
#include "common/core/exitcode.h"

#define STDIN_BLOCK (1u << 20)
#define READ_MAX (1u << 20)

static struct {
	pthread_mutex_t mu;
	struct cella_rpc_client *c;
	uint64_t id;
	sigset_t set;
} sig = {.mu = PTHREAD_MUTEX_INITIALIZER};

static int
call_simple(struct cella_rpc_client *c, uint32_t type, cbor_item_t *b,
	    struct cella_diag *d)
{
	struct cella_env r = {0};
	int rv;

	if (b == NULL)
		return cella_diag_set(d, -ENOMEM, "out of memory");
	rv = cella_rpc_call(c, type, b, &r, d);
	cbor_decref(&b);
	if (rv == 0)
		cella_env_fini(&r);
	return rv;
}

static cbor_item_t *
id_body(uint64_t id)
{
	cbor_item_t *b = cbor_new_indefinite_map();

	if (b != NULL && cella_cbor_put_uint(b, "id", id) < 0)
		cbor_decref(&b);
	return b;
}

static void *
signal_thread(void *arg)
{
	struct cella_diag d;
	cbor_item_t *b;
	int s;

	(void)arg;
	for (;;) {
		if (sigwait(&sig.set, &s) != 0)
			continue;
		pthread_mutex_lock(&sig.mu);
		if (sig.c == NULL)
			_exit(128 + s); /* nothing runs yet */
		if ((b = id_body(sig.id)) != NULL &&
		    cella_cbor_put_uint(b, "signal", (uint64_t)s) < 0)
			cbor_decref(&b);
		(void)call_simple(sig.c, CELLA_MSG_PIPE_SIGNAL, b, &d);
		pthread_mutex_unlock(&sig.mu);
	}
	return NULL;
}

void
exec_signals_block(void)
{
	pthread_t t;

	sigemptyset(&sig.set);
	sigaddset(&sig.set, SIGINT);
	sigaddset(&sig.set, SIGTERM);
	sigaddset(&sig.set, SIGHUP);
	sigaddset(&sig.set, SIGQUIT);
	pthread_sigmask(SIG_BLOCK, &sig.set, NULL);
	if (pthread_create(&t, NULL, signal_thread, NULL) == 0)
		pthread_detach(t);
}

void
exec_signals_target(struct cella_rpc_client *c, uint64_t id)
{
	pthread_mutex_lock(&sig.mu);
	sig.c = c;
	sig.id = id;
	pthread_mutex_unlock(&sig.mu);
}

static int
write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* --- stdin --- */

struct feeder {
	struct cella_rpc_client *c;
	uint64_t id;
	uint8_t *buf;
	int stop[2]; /* written once the command ended: the feeder leaves */
	atomic_bool stopped;
};

/* One block: what read returns, and more while more is there at once.
 * -ECANCELED once told to stop. */
static ssize_t
read_block(struct feeder *f)
{
	uint8_t *buf = f->buf;
	size_t n = 0;
	struct pollfd p = {.fd = 0, .events = POLLIN};
	struct pollfd w[2] = {{.fd = 0, .events = POLLIN},
			      {.fd = f->stop[0], .events = POLLIN}};

	/* Wait for stdin or for the end, whichever comes first. */
	while (poll(w, 2, -1) < 0 && errno == EINTR)
		;
	if (w[1].revents != 0)
		return -ECANCELED;
	while (n < STDIN_BLOCK) {
		ssize_t r = read(0, buf + n, STDIN_BLOCK - n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return n > 0 ? (ssize_t)n : -errno;
		if (r == 0)
			break;
		n += (size_t)r;
		if (poll(&p, 1, 0) != 1)
			break;
	}
	return (ssize_t)n;
}

/* Send one WRITE, again while the command's stdin is full. */
static int
send_block(struct feeder *f, const uint8_t *p, size_t n, bool eof)
{
	struct cella_diag d = {{0}};
	int rv;

	do {
		cbor_item_t *b;

		if (atomic_load(&f->stopped))
			return -ECANCELED;
		b = id_body(f->id);

		if (b != NULL && ((n > 0 && cella_cbor_put_bytes(b, "data", p, n) < 0) ||
				  (eof && cella_cbor_put_bool(b, "eof", true) < 0)))
			cbor_decref(&b);
		rv = call_simple(f->c, CELLA_MSG_PIPE_WRITE, b, &d);
	} while (rv == -EAGAIN);
	if (rv < 0 && rv != -EPIPE && rv != -ENOENT && rv != -ECANCELED &&
	    rv != -ECONNRESET) /* a lost connection: the output side says it */
		fprintf(stderr, "cella exec: stdin: %s\n",
			d.msg[0] ? d.msg : cella_strerror(rv));
	return rv;
}

static void *
stdin_thread(void *arg)
{
	struct feeder *f = arg;
	ssize_t n;

	for (;;) {
		if ((n = read_block(f)) == -ECANCELED)
			break;
		if (n < 0) {
			fprintf(stderr, "cella exec: reading stdin: %s\n",
				strerror((int)-n));
			n = 0;
		}
		if (send_block(f, f->buf, (size_t)n, n == 0) < 0 || n == 0)
			break;
	}
	return NULL;
}

/* --- output --- */

static int
status_code(const cbor_item_t *body, const struct exec_run *r)
{
	uint64_t v;
	bool timed_out = false;

	(void)cella_cbor_get_bool(body, "timed_out", &timed_out, NULL);
	if (timed_out) {
		fprintf(stderr, "cella exec: timed out after %llu s\n",
			(unsigned long long)r->timeout_s);
		return 124;
	}
	if (cella_cbor_get_uint(body, "signal", 127, &v, NULL) == 0)
		return 128 + (int)v;
	if (cella_cbor_get_uint(body, "code", 255, &v, NULL) == 0)
		return (int)v;
	fprintf(stderr, "cella exec: the reply has no exit status\n");
	return EX_PROTOCOL;
}

/* Copy one reply's output; 1 when the command is done. */
static int
drain(const cbor_item_t *body)
{
	struct cella_span out = {0}, err = {0};
	bool done = false;

	(void)cella_cbor_get_bytes(body, "out", READ_MAX, &out, NULL);
	(void)cella_cbor_get_bytes(body, "err", READ_MAX, &err, NULL);
	(void)cella_cbor_get_bool(body, "done", &done, NULL);
	if (out.n > 0 && write_all(1, out.p, out.n) < 0)
		return -EPIPE;
	if (err.n > 0)
		(void)write_all(2, err.p, err.n);
	return done;
}

static int
read_loop(struct exec_run *r)
{
	struct cella_diag d = {{0}};
	int rv;

	for (;;) {
		struct cella_env reply = {0};
		cbor_item_t *b = id_body(r->id);

		if (b == NULL || cella_cbor_put_uint(b, "max", READ_MAX) < 0 ||
		    cella_cbor_put_uint(b, "timeout_ms", (uint64_t)r->poll_ms) < 0) {
			fprintf(stderr, "cella exec: out of memory\n");
			if (b != NULL)
				cbor_decref(&b);
			return EX_OSERR;
		}
		rv = cella_rpc_call(r->c, CELLA_MSG_PIPE_READ, b, &reply, &d);
		cbor_decref(&b);
		if (rv < 0) {
			cella_conn_report("exec", rv, d.msg, false);
			return cella_exit_from_err(rv);
		}
		rv = drain(reply.body);
		if (rv == 1)
			rv = status_code(reply.body, r);
		else if (rv < 0)
			rv = 128 + SIGPIPE; /* our stdout is gone */
		else
			rv = -1;
		cella_env_fini(&reply);
		if (rv >= 0)
			return rv;
	}
}

int
exec_run(struct exec_run *r, bool in)
{
	struct feeder f = {r->c, r->id, NULL, {-1, -1}, false};
	pthread_t t;
	int rv;

	exec_signals_target(r->c, r->id);
	if (in) {
		f.buf = malloc(STDIN_BLOCK);
		if (f.buf == NULL || pipe2(f.stop, O_CLOEXEC) < 0 ||
		    pthread_create(&t, NULL, stdin_thread, &f) != 0) {
			fprintf(stderr, "cella exec: cannot start the stdin "
					"thread\n");
			free(f.buf);
			return EX_OSERR;
		}
	}
	rv = read_loop(r);
	if (in) {
		/* The command ended: stop feeding and wait for the feeder,
		 * which may be in a call, before the connection is closed
		 * under it (its calls are bounded by the client's timeout). */
		atomic_store(&f.stopped, true);
		(void)write(f.stop[1], "x", 1);
		pthread_join(t, NULL);
		close(f.stop[0]);
		close(f.stop[1]);
		free(f.buf);
	}
	return rv;
}
