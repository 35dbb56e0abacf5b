/*
 * atls_test: the exchange's codec and framing (atls.c) with real CBOR and
 * real TLS. user_data: encoded and parsed back, and every malformed or
 * truncated one refused. Frames: the 4-byte length and its bounds, the
 * encoder, and cella_atls_send/recv over a TLS 1.3 socketpair with the
 * frame written whole, one byte per TLS record and in random splits; bad
 * frames on the wire (lengths out of bounds, not CBOR, not a map, a peer
 * gone mid-frame, silence) each end with its error and reason. The
 * server's reader and the whole exchange are atls_serve_test's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/bridge/atls.h"
#include "common/testing/tls.h"

/* --- user_data ----------------------------------------------------------- */

static void
test_user_data_roundtrip(void **state)
{
	uint8_t exp[32], head[48], e2[32], h2[48];
	uint64_t lens[] = {0, 1, 23, 24, 255, 65536, UINT64_MAX}, len;
	struct cella_diag d = {""};

	(void)state;
	for (int i = 0; i < 32; i++)
		exp[i] = (uint8_t)(0xe0 + i);
	memset(head, 0x48, sizeof(head));
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		struct cella_buf b;

		cella_buf_init(&b, 256);
		assert_int_equal(cella_atls_user_data(exp, head, lens[i], &b), 0);
		assert_int_equal(cella_atls_user_data_parse(
					 CELLA_SPAN(b.p, b.len), e2, h2, &len,
					 &d),
				 0);
		assert_memory_equal(e2, exp, 32);
		assert_memory_equal(h2, head, 48);
		assert_int_equal(len, lens[i]);
		/* every truncation is refused */
		for (size_t n = 0; n < b.len; n++)
			assert_int_equal(cella_atls_user_data_parse(
						 CELLA_SPAN(b.p, n), e2, h2,
						 &len, &d),
					 -EBADMSG);
		cella_buf_fini(&b);
	}
}

/* Hand-made CBOR: a map of n pairs (keys and values already encoded). */
static size_t
cbor_map(uint8_t *out, int pairs, const uint8_t *body, size_t n)
{
	out[0] = (uint8_t)(0xa0 + pairs);
	memcpy(out + 1, body, n);
	return n + 1;
}

static void
test_user_data_refused(void **state)
{
	static const char lacks[] =
		"user_data lacks the exporter or the event log head";
	/* "exporter": h'..' with 31 or 32 bytes, etc. */
	uint8_t ex32[2 + 9 + 2 + 32], ex31[2 + 9 + 2 + 31];
	uint8_t hd48[1 + 10 + 2 + 48], ln[1 + 9 + 1], ln_txt[1 + 9 + 2];
	uint8_t body[256], in[256], e[32], h[48];
	uint64_t len;
	struct cella_diag d = {""};
	size_t n;

	(void)state;
	memcpy(ex32, "\x68" "exporter" "\x58\x20", 11);
	memset(ex32 + 11, 1, 32);
	memcpy(ex31, "\x68" "exporter" "\x58\x1f", 11);
	memset(ex31 + 11, 1, 31);
	memcpy(hd48, "\x6a" "evlog_head" "\x58\x30", 13);
	memset(hd48 + 13, 2, 48);
	memcpy(ln, "\x69" "evlog_len" "\x05", 11);
	memcpy(ln_txt, "\x69" "evlog_len" "\x61" "5", 12);

	/* the three fields: accepted (the control case) */
	n = 0;
	memcpy(body + n, ex32, 43), n += 43;
	memcpy(body + n, hd48, 61), n += 61;
	memcpy(body + n, ln, 11), n += 11;
	n = cbor_map(in, 3, body, n);
	assert_int_equal(cella_atls_user_data_parse(CELLA_SPAN(in, n), e, h,
						    &len, &d),
			 0);
	assert_int_equal(len, 5);

	struct {
		const char *what;
		const uint8_t *parts[3];
		size_t sizes[3];
		const char *msg;
	} cases[] = {
		{"a 31-byte exporter", {ex31, hd48, ln}, {42, 61, 11}, lacks},
		{"no exporter", {hd48, ln, NULL}, {61, 11, 0}, lacks},
		{"no head", {ex32, ln, NULL}, {43, 11, 0}, lacks},
		{"no length", {ex32, hd48, NULL}, {43, 61, 0}, lacks},
		{"a text length", {ex32, hd48, ln_txt}, {43, 61, 12}, lacks},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int pairs = 0;

		n = 0;
		for (int j = 0; j < 3 && cases[i].parts[j] != NULL; j++) {
			memcpy(body + n, cases[i].parts[j], cases[i].sizes[j]);
			n += cases[i].sizes[j];
			pairs++;
		}
		n = cbor_map(in, pairs, body, n);
		if (cella_atls_user_data_parse(CELLA_SPAN(in, n), e, h, &len,
					       &d) != -EBADMSG)
			fail_msg("%s: accepted", cases[i].what);
		assert_string_equal(d.msg, cases[i].msg);
	}
	/* not CBOR at all, and CBOR that is not a map */
	assert_int_equal(cella_atls_user_data_parse(CELLA_SPAN("\xff", 1), e,
						    h, &len, &d),
			 -EBADMSG);
	assert_string_equal(d.msg, "user_data is not CBOR");
	assert_int_equal(cella_atls_user_data_parse(CELLA_SPAN("\x80", 1), e,
						    h, &len, &d),
			 -EBADMSG);
	assert_string_equal(d.msg, lacks);
}

/* --- frames -------------------------------------------------------------- */

static void
test_frame_len(void **state)
{
	static const struct {
		uint8_t hdr[4];
		int rv;
		uint32_t len;
		const char *msg;
	} cases[] = {
		{{0, 0, 0, 1}, 0, 1, NULL},
		{{0, 0, 0x40, 0}, 0, CELLA_ATLS_FRAME_MAX, NULL},
		{{0, 0, 0, 0}, -EMSGSIZE, 0, "a frame of 0 bytes (1..16384)"},
		{{0, 0, 0x40, 1}, -EMSGSIZE, 0,
		 "a frame of 16385 bytes (1..16384)"},
		{{0xff, 0xff, 0xff, 0xff}, -EMSGSIZE, 0,
		 "a frame of 4294967295 bytes (1..16384)"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct cella_diag d = {""};
		uint32_t len = 7;

		assert_int_equal(cella_atls_frame_len(cases[i].hdr, &len, &d),
				 cases[i].rv);
		if (cases[i].rv == 0) {
			assert_int_equal(len, cases[i].len);
			continue;
		}
		assert_int_equal(len, 7); /* untouched */
		assert_string_equal(d.msg, cases[i].msg);
	}
}

/* A map {"k": bstr of n bytes}. */
static cbor_item_t *
map_of(size_t n)
{
	cbor_item_t *m = cbor_new_indefinite_map();
	uint8_t *v = calloc(1, n + 1);

	assert_non_null(m);
	assert_non_null(v);
	for (size_t i = 0; i < n; i++)
		v[i] = (uint8_t)(i * 31);
	assert_int_equal(cella_cbor_put_bytes(m, "k", v, n), 0);
	free(v);
	return m;
}

static void
test_frame_encode(void **state)
{
	cbor_item_t *m = map_of(100), *big = map_of(CELLA_ATLS_FRAME_MAX);
	struct cella_buf b, body;

	(void)state;
	cella_buf_init(&b, 1 << 20);
	cella_buf_init(&body, 1 << 20);
	assert_int_equal(cella_buf_append(&b, "x", 1), 0); /* appends */
	assert_int_equal(cella_atls_frame_encode(m, &b), 0);
	assert_int_equal(cella_cbor_encode(m, &body), 0);
	assert_int_equal(b.len, 1 + 4 + body.len);
	assert_int_equal((uint32_t)b.p[1] << 24 | (uint32_t)b.p[2] << 16 |
				 (uint32_t)b.p[3] << 8 | b.p[4],
			 body.len);
	assert_memory_equal(b.p + 5, body.p, body.len);
	assert_int_equal(cella_atls_frame_encode(big, &b), -EMSGSIZE);
	cella_buf_fini(&b);
	cella_buf_fini(&body);
	cbor_decref(&m);
	cbor_decref(&big);
}

/* --- send and recv over TLS ---------------------------------------------- */

enum split { WHOLE, BYTEWISE, RANDOM };

/* Write p with one SSL_write per chunk (a TLS record each). */
static void
write_split(SSL *ssl, int fd, const uint8_t *p, size_t n, enum split how)
{
	size_t off = 0;

	while (off < n) {
		size_t k = how == WHOLE ? n - off
			   : how == BYTEWISE ? 1
					     : 1 + (size_t)rand() % 700;
		size_t done = 0;

		if (k > n - off)
			k = n - off;
		if (SSL_write_ex(ssl, p + off, k, &done) == 1) {
			off += done;
			continue;
		}
		assert_int_equal(SSL_get_error(ssl, 0), SSL_ERROR_WANT_WRITE);
		assert_int_equal(poll(&(struct pollfd){fd, POLLOUT, 0}, 1, 5000),
				 1);
	}
}

struct writer {
	SSL *ssl;
	int fd;
	const uint8_t *p;
	size_t n;
	enum split how;
};

static void *
writer_run(void *arg)
{
	struct writer *w = arg;

	write_split(w->ssl, w->fd, w->p, w->n, w->how);
	return NULL;
}

static void
pair_up(struct tu_tls_pair *p)
{
	int crv = -1;

	tu_tls_pair_init(p);
	assert_int_equal(tu_tls_pair_handshake(p, 5000, &crv, NULL, NULL), 0);
	assert_int_equal(crv, 0);
}

/* Frames of several sizes, written in each split, read whole by recv. */
static void
test_recv_splits(void **state)
{
	static const size_t sizes[] = {1, 90, 1000, CELLA_ATLS_FRAME_MAX - 16};
	struct tu_tls_pair p;

	(void)state;
	pair_up(&p);
	for (int how = WHOLE; how <= RANDOM; how++) {
		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			cbor_item_t *m = map_of(sizes[i]), *got = NULL;
			struct cella_buf want, have;
			struct cella_diag d = {""};
			struct writer w;
			pthread_t t;

			cella_buf_init(&want, 1 << 20);
			cella_buf_init(&have, 1 << 20);
			assert_int_equal(cella_atls_frame_encode(m, &want), 0);
			w = (struct writer){p.client, p.cfd, want.p, want.len,
					    (enum split)how};
			assert_int_equal(pthread_create(&t, NULL, writer_run, &w),
					 0);
			if (cella_atls_recv(p.server, p.sfd, &got,
					    cella_atls_deadline(10000), &d) != 0)
				fail_msg("split %d size %zu: %s", how, sizes[i],
					 d.msg);
			pthread_join(t, NULL);
			assert_int_equal(cella_cbor_encode(got, &have), 0);
			assert_int_equal(have.len, want.len - 4);
			assert_memory_equal(have.p, want.p + 4, have.len);
			cbor_decref(&m);
			cbor_decref(&got);
			cella_buf_fini(&want);
			cella_buf_fini(&have);
		}
	}
	tu_tls_pair_fini(&p);
}

/* send -> recv both ways on one connection, frame after frame. */
static void
test_send_recv(void **state)
{
	struct tu_tls_pair p;
	struct cella_diag d = {""};

	(void)state;
	pair_up(&p);
	for (size_t n = 1; n < CELLA_ATLS_FRAME_MAX - 16; n = n * 3 + 1) {
		cbor_item_t *m = map_of(n), *got = NULL;
		long dl = cella_atls_deadline(5000);

		assert_int_equal(cella_atls_send(p.client, p.cfd, m, dl, &d), 0);
		assert_int_equal(cella_atls_recv(p.server, p.sfd, &got, dl, &d),
				 0);
		assert_int_equal(cella_atls_send(p.server, p.sfd, got, dl, &d),
				 0);
		cbor_decref(&got);
		assert_int_equal(cella_atls_recv(p.client, p.cfd, &got, dl, &d),
				 0);
		assert_true(cbor_isa_map(got));
		assert_int_equal(cbor_map_size(got), 1);
		cbor_decref(&got);
		cbor_decref(&m);
	}
	/* over the cap: refused before a byte is sent */
	{
		cbor_item_t *big = map_of(CELLA_ATLS_FRAME_MAX);

		assert_int_equal(cella_atls_send(p.client, p.cfd, big,
						 cella_atls_deadline(100), &d),
				 -EMSGSIZE);
		assert_string_equal(d.msg, "frame too large");
		cbor_decref(&big);
	}
	tu_tls_pair_fini(&p);
}

struct bad_frame {
	const char *what;
	const uint8_t *bytes;
	size_t n;
	bool then_close;
	int rv;
	const char *msg;
};

static void
test_recv_bad_frames(void **state)
{
	static const struct bad_frame cases[] = {
		{"length 0", (const uint8_t *)"\0\0\0\0", 4, false, -EMSGSIZE,
		 "a frame of 0 bytes (1..16384)"},
		{"length over the cap", (const uint8_t *)"\0\0\x40\x01", 4, false,
		 -EMSGSIZE, "a frame of 16385 bytes (1..16384)"},
		{"not a map", (const uint8_t *)"\0\0\0\x01\x80", 5, false,
		 -EBADMSG, "a frame is a CBOR map"},
		{"half a header", (const uint8_t *)"\0\0", 2, true, -ECONNRESET,
		 "the peer closed the connection during the attestation "
		 "exchange"},
		{"half a body", (const uint8_t *)"\0\0\0\x09\xa1\x61", 6, true,
		 -ECONNRESET,
		 "the peer closed the connection during the attestation "
		 "exchange"},
		{"silence", (const uint8_t *)"", 0, false, -ETIMEDOUT,
		 "no answer in time during the attestation exchange"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct bad_frame *c = &cases[i];
		struct tu_tls_pair p;
		struct cella_diag d = {""};
		cbor_item_t *got = NULL;
		int rv;

		pair_up(&p);
		write_split(p.client, p.cfd, c->bytes, c->n, WHOLE);
		if (c->then_close) {
			SSL_shutdown(p.client);
			shutdown(p.cfd, SHUT_RDWR);
		}
		rv = cella_atls_recv(p.server, p.sfd, &got,
				     cella_atls_deadline(c->rv == -ETIMEDOUT
								 ? 200
								 : 5000),
				     &d);
		if (rv != c->rv)
			fail_msg("%s: got %d (%s)", c->what, rv, d.msg);
		assert_string_equal(d.msg, c->msg);
		assert_null(got);
		tu_tls_pair_fini(&p);
	}
}

/* A body that is not CBOR: refused by the CBOR gate, with its reason. */
static void
test_recv_not_cbor(void **state)
{
	struct tu_tls_pair p;
	struct cella_diag d = {""};
	cbor_item_t *got = NULL;
	int rv;

	(void)state;
	pair_up(&p);
	write_split(p.client, p.cfd, (const uint8_t *)"\0\0\0\x02\xff\xff", 6,
		    WHOLE);
	rv = cella_atls_recv(p.server, p.sfd, &got, cella_atls_deadline(5000),
			     &d);
	assert_int_equal(rv, -EBADMSG);
	assert_string_equal(d.msg, "cbor: reserved or unexpected additional "
				   "info 31 at offset 0");
	assert_null(got);
	tu_tls_pair_fini(&p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_user_data_roundtrip),
		cmocka_unit_test(test_user_data_refused),
		cmocka_unit_test(test_frame_len),
		cmocka_unit_test(test_frame_encode),
		cmocka_unit_test(test_recv_splits),
		cmocka_unit_test(test_send_recv),
		cmocka_unit_test(test_recv_bad_frames),
		cmocka_unit_test(test_recv_not_cbor),
	};

	signal(SIGPIPE, SIG_IGN);
	srand(11);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
