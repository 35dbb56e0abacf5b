/*
 * ctlsend: sends raw messages to an nng REP socket (cella-init's control
 * API) and requires an answer to each, for tests: what the fuzzed-envelope
 * test and the event-append test use where the cella CLI has no verb. Each
 * FILE is sent as one message (hex on a line by itself when --hex); with
 * --fuzz N it sends N random mutations of the files instead (seeded by
 * --seed; --skip-type T leaves out mutations that parse as type T, e.g.
 * a shutdown). Every reply is parsed as an envelope and printed as one line
 * "type=0xNNNN" or "error=NAME message". Exit 0 when every message got a
 * reply, 1 when one did not (a timeout: the peer hung or died), 64 usage.
 * In fuzz mode a message left unanswered within --timeout is legitimate
 * (a mutation may ask to wait for an hour): it is printed as "no-reply",
 * the socket is dialed again, and the exit status is that of one final
 * INIT_LIST request, which must be answered. With --parallel every FILE
 * is sent at once, each on a context of its own over one connection (what
 * a client holding several requests open does), and the replies are
 * printed in the order of the files.
 *
 *   ctlsend URL [--hex] [--timeout MS] [--fuzz N] [--seed S]
 *           [--skip-type T] [--parallel] FILE...
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>

#include "common/core/buf.h"
#include "common/rpc/envelope.h"
#include "common/net/nngio.h"
#include "tests/lib/argnum.h"

#define MSG_MAX (1u << 20)

struct input {
	uint8_t *p;
	size_t n;
};

static int
load(const char *path, bool hex, struct input *in)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = malloc(2 * MSG_MAX);
	size_t n;
	int rv;

	if (f == NULL || buf == NULL)
		return -1;
	n = fread(buf, 1, 2 * MSG_MAX, f);
	fclose(f);
	if (hex) {
		while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
			n--;
		rv = cella_hex_decode((char *)buf, n, buf, MSG_MAX);
		if (rv < 0)
			return -1;
		n = (size_t)rv;
	}
	in->p = buf;
	in->n = n;
	return 0;
}

static void
mutate(const struct input *src, struct input *out, unsigned *seed)
{
	size_t n = src->n;
	int edits = rand_r(seed) % 8 + 1;

	memcpy(out->p, src->p, n);
	for (int i = 0; i < edits && n > 0; i++) {
		size_t at = (size_t)rand_r(seed) % n;

		switch (rand_r(seed) % 5) {
		case 0: out->p[at] ^= (uint8_t)(1u << (rand_r(seed) % 8)); break;
		case 1: out->p[at] = (uint8_t)rand_r(seed); break;
		case 2: n = at + 1; break; /* truncate */
		case 3: if (n < MSG_MAX) { memmove(out->p + at + 1, out->p + at, n - at);
			out->p[at] = (uint8_t)rand_r(seed); n++; } break;
		default: out->p[at] = (uint8_t)(0x18 + rand_r(seed) % 8); break;
		}
	}
	out->n = n;
}

static bool
skipped(const struct input *in, uint32_t type)
{
	struct cella_env env;
	bool same;

	if (cella_env_parse(in->p, in->n, &env, NULL) < 0)
		return false;
	same = env.type == type;
	cella_env_fini(&env);
	return same;
}

static void
print_reply(const void *reply, size_t rn)
{
	struct cella_diag d = {{0}};
	struct cella_env env;
	int rv = cella_env_parse(reply, rn, &env, &d);

	if (rv < 0)
		printf("bad-reply %s\n", d.msg);
	else if (cella_env_error(&env, &d) < 0)
		printf("error=%s %s\n", cella_errname(cella_env_error(&env, NULL)), d.msg);
	else
		printf("type=0x%04x\n", env.type);
	if (rv == 0)
		cella_env_fini(&env);
}

/* Every message at once, each on its own context; then every reply. */
static int
parallel(nng_socket s, const struct input *in, int nin, int timeout)
{
	nng_ctx ctx[256];
	nng_aio *aio[256];
	nng_msg *m;
	int fails = 0;

	for (int i = 0; i < nin; i++) {
		if (nng_ctx_open(&ctx[i], s) != 0 ||
		    nng_aio_alloc(&aio[i], NULL, NULL) != 0 ||
		    nng_msg_alloc(&m, in[i].n) != 0)
			return 1;
		memcpy(nng_msg_body(m), in[i].p, in[i].n);
		nng_aio_set_timeout(aio[i], timeout);
		nng_aio_set_msg(aio[i], m);
		nng_ctx_send(ctx[i], aio[i]);
		nng_aio_wait(aio[i]);
		if (nng_aio_result(aio[i]) != 0)
			return 1;
		nng_ctx_recv(ctx[i], aio[i]);
	}
	for (int i = 0; i < nin; i++) {
		nng_aio_wait(aio[i]);
		if (nng_aio_result(aio[i]) != 0) {
			printf("no-reply %s\n", nng_strerror(nng_aio_result(aio[i])));
			fails++;
		} else {
			m = nng_aio_get_msg(aio[i]);
			print_reply(nng_msg_body(m), nng_msg_len(m));
			nng_msg_free(m);
		}
		nng_aio_free(aio[i]);
		nng_ctx_close(ctx[i]);
	}
	return fails;
}

static int
exchange(nng_socket s, const uint8_t *p, size_t n)
{
	void *reply = NULL;
	size_t rn = 0;
	int rv;

	if ((rv = nng_send(s, (void *)p, n, 0)) != 0 ||
	    (rv = nng_recv(s, &reply, &rn, NNG_FLAG_ALLOC)) != 0) {
		printf("no-reply %s\n", nng_strerror(rv));
		return 1;
	}
	print_reply(reply, rn);
	nng_free(reply, rn);
	return 0;
}

static int
open_dial(nng_socket *s, const char *url, int timeout)
{
	struct cella_diag d = {{0}};

	if (nng_req0_open(s) != 0)
		return 1;
	nng_socket_set_ms(*s, NNG_OPT_RECVTIMEO, timeout);
	nng_socket_set_ms(*s, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
	if (cella_nng_dial(*s, url, true, &d) < 0) {
		fprintf(stderr, "ctlsend: %s\n", d.msg);
		return 1;
	}
	return 0;
}

/* A REQ socket has one request open: drop the unanswered one. */
static int
redial(nng_socket *s, const char *url, int timeout)
{
	nng_close(*s);
	return open_dial(s, url, timeout);
}

int
main(int argc, char **argv)
{
	struct input in[256], tmp = {0};
	int nin = 0, timeout = 5000, fails = 0;
	long fuzz = 0, skip = -1;
	unsigned seed = 1;
	bool hex = false, par = false;
	nng_socket s;

	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--hex") == 0)
			hex = true;
		else if (strcmp(argv[i], "--parallel") == 0)
			par = true;
		else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc)
			timeout = (int)arg_long(argv[++i], 10, 1, INT_MAX);
		else if (strcmp(argv[i], "--fuzz") == 0 && i + 1 < argc)
			fuzz = arg_long(argv[++i], 10, 0, LONG_MAX);
		else if (strcmp(argv[i], "--skip-type") == 0 && i + 1 < argc)
			skip = arg_long(argv[++i], 0, 0, UINT32_MAX);
		else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc)
			seed = (unsigned)arg_long(argv[++i], 10, 0, UINT_MAX);
		else if (nin < 256 && load(argv[i], hex, &in[nin]) == 0)
			nin++;
		else
			return 64;
	}
	if (argc < 3 || nin == 0)
		return 64;
	if (open_dial(&s, argv[1], timeout) != 0)
		return 1;
	if (par) {
		fails = parallel(s, in, nin, timeout);
		nng_close(s);
		cella_nng_shutdown();
		for (int i = 0; i < nin; i++)
			free(in[i].p);
		return fails ? 1 : 0;
	}
	tmp.p = malloc(MSG_MAX + 1);
	for (long k = 0; tmp.p != NULL && k < (fuzz ? fuzz : nin); k++) {
		if (!fuzz) {
			fails += exchange(s, in[k].p, in[k].n);
			continue;
		}
		mutate(&in[k % nin], &tmp, &seed);
		if (skip >= 0 && skipped(&tmp, (uint32_t)skip))
			continue;
		if (exchange(s, tmp.p, tmp.n) != 0 &&
		    redial(&s, argv[1], timeout) != 0)
			return 1;
	}
	if (fuzz) {
		/* [1, INIT_LIST, 1, {}]: the peer must still answer. */
		static const uint8_t list[] = {0x84, 0x01, 0x19, 0x01, 0x00,
					       0x01, 0xa0};

		nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 10000);
		fails = exchange(s, list, sizeof(list));
	}
	nng_close(s);
	cella_nng_shutdown();
	for (int i = 0; i < nin; i++)
		free(in[i].p);
	free(tmp.p);
	return fails ? 1 : 0;
}
