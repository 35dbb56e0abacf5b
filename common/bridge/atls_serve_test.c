/*
 * atls_serve_test: the server's side of the exchange (atls_serve.c) and the
 * whole exchange against the real client (cella_atls_client), over a TLS
 * 1.3 socketpair, with documents signed by a test chain (common/testing)
 * through the bridge's own hooks (struct cella_atls_server_ops), not mocks
 * of the code under test. The non-blocking reader: a frame written whole,
 * one byte per record and in random splits; a bad length; a peer gone in
 * the header or the body. The hello: a table of good and bad ones, each
 * refusal with its reason. The exchange: admitted and verified (what the
 * client learns), and every way it must end: a document made for another
 * TLS session (a relay in the middle), another nonce, an untrusted root,
 * no user_data, a service or an event log that is not there, an operator
 * the enclave refuses.
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
#include "common/testing/verify.h"

static void
pair_up(struct tu_tls_pair *p)
{
	int crv = -1;

	tu_tls_pair_init(p);
	assert_int_equal(tu_tls_pair_handshake(p, 5000, &crv, NULL, NULL), 0);
	assert_int_equal(crv, 0);
}

/* Step the reader until it has a frame or fails (never blocks: polls). */
static int
read_frame(struct cella_atls_reader *r, SSL *ssl, int fd,
	   struct cella_diag *d)
{
	for (;;) {
		int want = 0, rv = cella_atls_reader_step(r, ssl, &want, d);
		struct pollfd p = {.fd = fd};

		if (rv != -EAGAIN)
			return rv;
		p.events = want == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN;
		assert_int_equal(poll(&p, 1, 5000), 1);
	}
}

/* --- the reader ---------------------------------------------------------- */

struct writer {
	SSL *ssl;
	int fd;
	const uint8_t *p;
	size_t n;
	int how; /* 0 whole, 1 a byte per record, 2 random splits */
};

static void *
writer_run(void *arg)
{
	struct writer *w = arg;
	size_t off = 0;

	while (off < w->n) {
		size_t k = w->how == 0 ? w->n - off
			   : w->how == 1 ? 1
					 : 1 + (size_t)rand() % 500;
		size_t done = 0;

		if (k > w->n - off)
			k = w->n - off;
		if (SSL_write_ex(w->ssl, w->p + off, k, &done) == 1)
			off += done;
		else
			poll(&(struct pollfd){w->fd, POLLOUT, 0}, 1, 5000);
	}
	return NULL;
}

static void
test_reader_splits(void **state)
{
	static const size_t sizes[] = {1, 4, 5, 777, CELLA_ATLS_FRAME_MAX};
	struct tu_tls_pair p;

	(void)state;
	pair_up(&p);
	for (int how = 0; how < 3; how++) {
		for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
			size_t n = sizes[i];
			uint8_t *frame = malloc(4 + n);
			struct cella_atls_reader r = {0};
			struct cella_diag d = {""};
			struct writer w = {p.client, p.cfd, frame, 4 + n, how};
			pthread_t t;

			assert_non_null(frame);
			frame[0] = (uint8_t)(n >> 24);
			frame[1] = (uint8_t)(n >> 16);
			frame[2] = (uint8_t)(n >> 8);
			frame[3] = (uint8_t)n;
			for (size_t j = 0; j < n; j++)
				frame[4 + j] = (uint8_t)(j * 13 + how);
			assert_int_equal(pthread_create(&t, NULL, writer_run, &w),
					 0);
			if (read_frame(&r, p.server, p.sfd, &d) != 0)
				fail_msg("split %d size %zu: %s", how, n, d.msg);
			pthread_join(t, NULL);
			assert_int_equal(r.len, n);
			assert_memory_equal(r.body, frame + 4, n);
			cella_atls_reader_fini(&r);
			assert_null(r.body); /* fini resets: ready for reuse */
			free(frame);
		}
	}
	tu_tls_pair_fini(&p);
}

static void
test_reader_bad(void **state)
{
	static const struct {
		const char *what;
		const char *bytes;
		size_t n;
		int rv;
		const char *msg;
	} cases[] = {
		{"length 0", "\0\0\0\0", 4, -EMSGSIZE,
		 "a frame of 0 bytes (1..16384)"},
		{"length over the cap", "\x7f\0\0\0", 4, -EMSGSIZE,
		 "a frame of 2130706432 bytes (1..16384)"},
		{"gone in the header", "\0\0\0", 3, -ECONNRESET,
		 "the peer closed after 3 bytes of a frame header"},
		{"gone in the body", "\0\0\0\x0a" "abc", 7, -ECONNRESET,
		 "the peer closed after 3 of 10 bytes of a frame"},
		{"gone before a byte", "", 0, -ECONNRESET,
		 "the peer closed after 0 bytes of a frame header"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct tu_tls_pair p;
		struct cella_atls_reader r = {0};
		struct cella_diag d = {""};
		size_t done;
		int rv;

		pair_up(&p);
		if (cases[i].n > 0)
			assert_int_equal(SSL_write_ex(p.client, cases[i].bytes,
						      cases[i].n, &done),
					 1);
		SSL_shutdown(p.client);
		shutdown(p.cfd, SHUT_RDWR);
		rv = read_frame(&r, p.server, p.sfd, &d);
		if (rv != cases[i].rv)
			fail_msg("%s: got %d (%s)", cases[i].what, rv, d.msg);
		assert_string_equal(d.msg, cases[i].msg);
		if (cases[i].rv == -EMSGSIZE) /* nothing allocated for it */
			assert_null(r.body);
		cella_atls_reader_fini(&r);
		tu_tls_pair_fini(&p);
	}
}

/* --- the hello and the refusal frame ------------------------------------- */

static void
test_hello(void **state)
{
	/* {"v": V, "nonce": h'..' (N bytes)} by hand */
	static const struct {
		const char *what;
		const char *cbor;
		size_t n;
		const char *msg; /* NULL: accepted */
	} cases[] = {
		/* the hello is 44 bytes; all of its prefixes are below */
		{"good", "\xa2\x61v\x01\x65nonce\x58\x20" "0123456789abcdef"
			 "0123456789abcdef", 44, NULL},
		{"good, keys swapped", "\xa2\x65nonce\x58\x20" "0123456789abcdef"
				       "0123456789abcdef\x61v\x01", 44, NULL},
		{"version 2", "\xa2\x61v\x02\x65nonce\x58\x20" "0123456789abcdef"
			      "0123456789abcdef", 44,
		 "unsupported exchange version 2 (this bridge speaks 1)"},
		{"no version", "\xa1\x65nonce\x58\x20" "0123456789abcdef"
			       "0123456789abcdef", 41,
		 "the hello has no version (\"v\": 1)"},
		{"a text version", "\xa1\x61v\x61" "1", 5,
		 "the hello has no version (\"v\": 1)"},
		{"a short nonce", "\xa2\x61v\x01\x65nonce\x58\x1f" "0123456789abcdef"
				  "0123456789abcde", 43,
		 "the nonce must be 32 bytes"},
		{"no nonce", "\xa1\x61v\x01", 4, "the nonce must be 32 bytes"},
		{"a text nonce", "\xa2\x61v\x01\x65nonce\x78\x20" "0123456789abcdef"
				 "0123456789abcdef", 44,
		 "the nonce must be 32 bytes"},
		{"an array", "\x82\x01\x02", 3, "the hello is not a CBOR map"},
		{"not CBOR", "\xff", 1,
		 "the hello is not CBOR: cbor: reserved or unexpected "
		 "additional info 31 at offset 0"},
	};
	static const char good[] = "\xa2\x61v\x01\x65nonce\x58\x20"
				   "0123456789abcdef0123456789abcdef";

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t nonce[CELLA_ATLS_NONCE_LEN];
		struct cella_diag d = {""};
		int rv = cella_atls_hello_parse((const uint8_t *)cases[i].cbor,
						cases[i].n, nonce, &d);

		if (cases[i].msg == NULL) {
			if (rv != 0)
				fail_msg("%s: refused: %s", cases[i].what,
					 d.msg);
			assert_memory_equal(nonce, "0123456789abcdef"
						   "0123456789abcdef", 32);
			continue;
		}
		if (rv != -EPROTO)
			fail_msg("%s: got %d", cases[i].what, rv);
		assert_string_equal(d.msg, cases[i].msg);
	}
	for (size_t n = 0; n < sizeof(good) - 1; n++) {
		uint8_t nonce[CELLA_ATLS_NONCE_LEN];
		struct cella_diag d = {""};

		assert_int_equal(cella_atls_hello_parse((const uint8_t *)good, n,
							nonce, &d),
				 -EPROTO);
		assert_non_null(strstr(d.msg, "the hello is not CBOR: "));
	}
}

static void
test_error_frame(void **state)
{
	char long_reason[700];
	struct cella_buf b;
	struct cella_diag d = {""};
	cbor_item_t *m = NULL;
	struct cella_span s;
	bool un = false;
	uint32_t len;

	(void)state;
	memset(long_reason, 'r', sizeof(long_reason) - 1);
	long_reason[sizeof(long_reason) - 1] = '\0';
	for (int unavailable = 0; unavailable < 2; unavailable++) {
		cella_buf_init(&b, 4096);
		assert_int_equal(cella_atls_error_frame(long_reason, unavailable,
							&b),
				 0);
		assert_int_equal(cella_atls_frame_len(b.p, &len, &d), 0);
		assert_int_equal(len, b.len - 4);
		assert_int_equal(cella_cbor_load(b.p + 4, len,
						 &cella_atls_frame_limits, &m,
						 &d),
				 0);
		assert_int_equal(cella_cbor_get_text(m, "error", 1024, &s, &d),
				 0);
		assert_int_equal(s.n, 512); /* clipped */
		un = false;
		assert_int_equal(cella_cbor_get_bool(m, "unavailable", &un,
						     NULL) == 0,
				 unavailable);
		assert_int_equal(un, unavailable);
		cbor_decref(&m);
		cella_buf_fini(&b);
	}
}

/* --- the whole exchange -------------------------------------------------- */

enum fault {
	OK,
	RELAYED,     /* user_data carries another session's exporter */
	OTHER_NONCE, /* the document answers another nonce */
	UNTRUSTED,   /* the client pins another root */
	EXPIRED,     /* the client verifies after the leaf expired */
	NO_USER_DATA,
	NO_SERVICE,  /* prepare fails: unavailable */
	NO_EVLOG,    /* evlog fails: unavailable */
	NOT_ADMITTED /* the enclave refuses the operator after the hello */
};

struct exch {
	enum fault fault;
	struct tu_own own;       /* chain, document, policy */
	struct tu_chain other;   /* for UNTRUSTED */
	struct cella_operator op;
	int srv_rv;
	struct cella_diag sd;
	SSL *ssl;
	int fd;
};

static const uint8_t HEAD[48] = {0x77, 0x77, 0x77, 1, 2, 3};

static int
ops_prepare(void *arg, const struct cella_operator *op, struct cella_diag *d)
{
	struct exch *x = arg;

	assert_string_equal(op->name, "alice");
	if (x->fault == NO_SERVICE)
		return cella_diag_set(d, -ECONNREFUSED,
				      "the pipeline is not running");
	return 0;
}

static int
ops_evlog(void *arg, uint8_t head[48], uint64_t *len, struct cella_diag *d)
{
	struct exch *x = arg;

	if (x->fault == NO_EVLOG)
		return cella_diag_set(d, -ETIMEDOUT, "init did not answer");
	memcpy(head, HEAD, 48);
	*len = 42;
	return 0;
}

/* What ra-web would do: a document for nonce and user_data. */
static int
ops_attest(void *arg, struct cella_span nonce, struct cella_span ud,
	   struct cella_buf *doc, struct cella_diag *d)
{
	struct exch *x = arg;
	uint8_t n2[32], exp[32], head[48];
	uint64_t evlen;
	struct cella_buf u2;
	uint8_t *signed_doc;
	size_t len;
	int rv;

	assert_int_equal(nonce.n, 32);
	memcpy(n2, nonce.p, 32);
	if (x->fault == OTHER_NONCE)
		n2[0] ^= 1;
	/* what the bridge asked to bind, or (RELAYED) another session's */
	assert_int_equal(cella_atls_user_data_parse(ud, exp, head, &evlen, d),
			 0);
	assert_memory_equal(head, HEAD, 48);
	if (x->fault == RELAYED)
		exp[0] ^= 1;
	cella_buf_init(&u2, 256);
	assert_int_equal(cella_atls_user_data(exp, head, evlen, &u2), 0);
	x->own.t.doc.nonce = CELLA_SPAN(n2, 32);
	x->own.t.doc.has_nonce = true;
	x->own.t.doc.user_data = CELLA_SPAN(u2.p, u2.len);
	x->own.t.doc.has_user_data = x->fault != NO_USER_DATA;
	signed_doc = tu_sign_doc(&x->own.t.doc, x->own.c.leaf_key, &len);
	rv = cella_buf_append(doc, signed_doc, len);
	free(signed_doc);
	cella_buf_fini(&u2);
	return rv;
}

static void *
server_run(void *arg)
{
	struct exch *x = arg;
	struct cella_atls_server_ops ops = {ops_prepare, ops_evlog, ops_attest,
					    x};
	struct cella_atls_reader r = {0};
	uint8_t nonce[CELLA_ATLS_NONCE_LEN];
	struct cella_buf b;
	size_t done;

	x->srv_rv = read_frame(&r, x->ssl, x->fd, &x->sd);
	if (x->srv_rv == 0)
		x->srv_rv = cella_atls_hello_parse(r.body, r.len, nonce, &x->sd);
	cella_atls_reader_fini(&r);
	if (x->srv_rv < 0)
		return NULL;
	if (x->fault == NOT_ADMITTED) {
		cella_buf_init(&b, 1024);
		assert_int_equal(cella_atls_error_frame("operator key not "
							"listed", false, &b),
				 0);
		assert_int_equal(SSL_write_ex(x->ssl, b.p, b.len, &done), 1);
		cella_buf_fini(&b);
		x->srv_rv = -EACCES;
		return NULL;
	}
	x->srv_rv = cella_atls_serve_admitted(x->ssl, x->fd, &ops, nonce,
					      &x->op,
					      cella_atls_deadline(10000),
					      &x->sd);
	return NULL;
}

/* Run the exchange with fault; the client's result, *peer, *cd. */
static int
exchange(struct exch *x, struct cella_atls_peer *peer, struct cella_diag *cd)
{
	struct tu_tls_pair p;
	pthread_t t;
	int rv;

	pair_up(&p);
	tu_own_init(&x->own, NULL, "critical,digitalSignature");
	snprintf(x->op.name, sizeof(x->op.name), "alice");
	x->op.roles = CELLA_ROLE_SERVICES | CELLA_ROLE_LOGS;
	if (x->fault == UNTRUSTED) {
		tu_chain_make(&x->other, TU_T0 - 60, TU_T0 + 3600, NULL, NULL);
		x->own.pol.root = x->other.root;
	}
	if (x->fault == EXPIRED)
		x->own.pol.at = TU_T0 + 4 * 3600;
	x->ssl = p.server;
	x->fd = p.sfd;
	assert_int_equal(pthread_create(&t, NULL, server_run, x), 0);
	rv = cella_atls_client(p.client, p.cfd, &x->own.pol, NULL, peer, cd);
	if (rv < 0) /* the server may wait for a verdict that never comes */
		shutdown(p.cfd, SHUT_RDWR);
	pthread_join(t, NULL);
	tu_chain_free(&x->own.c);
	if (x->fault == UNTRUSTED)
		tu_chain_free(&x->other);
	tu_tls_pair_fini(&p);
	return rv;
}

static struct cella_atls_peer peer; /* holds a whole document: not on the stack */

static void
test_exchange_ok(void **state)
{
	static struct exch x;
	struct cella_diag cd = {""};
	uint8_t pcr0[48];

	(void)state;
	memset(&x, 0, sizeof(x));
	if (exchange(&x, &peer, &cd) != 0)
		fail_msg("client: %s; server: %s", cd.msg, x.sd.msg);
	assert_int_equal(x.srv_rv, 0);
	assert_string_equal(peer.operator, "alice");
	assert_int_equal(peer.roles, CELLA_ROLE_SERVICES | CELLA_ROLE_LOGS);
	assert_memory_equal(peer.evlog_head, HEAD, 48);
	assert_int_equal(peer.evlog_len, 42);
	assert_string_equal(peer.module_id,
			    "i-0123456789abcdef0-enc0123456789abcdef");
	memset(pcr0, 1, sizeof(pcr0)); /* tu_doc: PCR i is i+1 repeated */
	assert_memory_equal(peer.pcrs[0], pcr0, 48);
	assert_true(peer.doc_len > 0);
}

static void
test_exchange_refusals(void **state)
{
	static const struct {
		enum fault fault;
		int client_rv;
		const char *client_msg; /* a prefix */
		int server_rv;
		const char *server_msg; /* a prefix */
	} cases[] = {
		{RELAYED, -EACCES,
		 "exporter mismatch: the document was made for another TLS "
		 "session (a relay in the middle?)",
		 -EACCES,
		 "the client refused: exporter mismatch: the document was "
		 "made for another TLS session"},
		{OTHER_NONCE, -EACCES, "nonce mismatch: ", -EACCES,
		 "the client refused: nonce mismatch: "},
		{UNTRUSTED, -EACCES,
		 "invalid document: root: cabundle[0] is not the pinned root",
		 -EACCES, "the client refused: invalid document: root: "},
		{EXPIRED, -EACCES, "expired or untrusted document: ", -EACCES,
		 "the client refused: expired or untrusted document: "},
		{NO_USER_DATA, -EACCES,
		 "exporter mismatch: the document has no user_data", -EACCES,
		 "the client refused: exporter mismatch: the document has no "
		 "user_data"},
		{NO_SERVICE, -EHOSTUNREACH,
		 "the enclave cannot serve this: the pipeline is not running",
		 -ECONNREFUSED, "the pipeline is not running"},
		{NO_EVLOG, -EHOSTUNREACH,
		 "the enclave cannot serve this: init did not answer",
		 -ETIMEDOUT, "init did not answer"},
		{NOT_ADMITTED, -EACCES,
		 "refused by the enclave: operator key not listed", -EACCES, ""},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		static struct exch x;
		struct cella_diag cd = {""};
		int rv;

		memset(&x, 0, sizeof(x));
		x.fault = cases[i].fault;
		rv = exchange(&x, &peer, &cd);
		if (rv != cases[i].client_rv ||
		    strstr(cd.msg, cases[i].client_msg) != cd.msg)
			fail_msg("case %zu: client %d '%s'", i, rv, cd.msg);
		if (x.srv_rv != cases[i].server_rv ||
		    strstr(x.sd.msg, cases[i].server_msg) != x.sd.msg)
			fail_msg("case %zu: server %d '%s'", i, x.srv_rv,
				 x.sd.msg);
		/* nothing learned from a refused exchange */
		assert_string_equal(peer.operator, "");
		assert_int_equal(peer.doc_len, 0);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reader_splits),
		cmocka_unit_test(test_reader_bad),
		cmocka_unit_test(test_hello),
		cmocka_unit_test(test_error_frame),
		cmocka_unit_test(test_exchange_ok),
		cmocka_unit_test(test_exchange_refusals),
	};

	signal(SIGPIPE, SIG_IGN);
	srand(11);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
