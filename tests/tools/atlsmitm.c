/*
 * atlsmitm: the attackers the attested bridge must defeat, for tests. Each
 * accepts TLS connections from an operator on LISTEN, one at a time:
 *
 *   atlsmitm relay LISTEN TARGET KEY [--save FILE]
 *       terminates the operator's TLS itself and opens its own session to
 *       the real bridge at TARGET with KEY (an admitted operator's key),
 *       passing the operator's nonce along and the enclave's genuine,
 *       fresh document back (saved to FILE). The document is bound to the
 *       wrong session: the operator must refuse (exporter mismatch).
 *   atlsmitm tamper LISTEN TARGET KEY OFFSET
 *       the same, flipping one byte of the document at OFFSET.
 *   atlsmitm replay LISTEN FILE
 *       answers with a document recorded earlier (nonce mismatch).
 *
 * The operator's last frame (ok or refuse) is passed on to the enclave in
 * the relay modes, so both ends log the refusal. --ready-fd N as usual.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/net/addr.h"
#include "common/bridge/atls.h"
#include "common/cbor/cbor.h"
#include "common/core/ready.h"
#include "common/bridge/tls.h"
#include "tests/lib/argnum.h"

static void __attribute__((noreturn))
die(const char *what, const char *why)
{
	fprintf(stderr, "atlsmitm: %s: %s\n", what, why);
	exit(1);
}

struct upstream {
	int fd;
	SSL *ssl;
};

static void
dial_up(const char *target, const char *key, SSL_CTX **ctx, struct upstream *u)
{
	struct cella_addr a;
	struct cella_diag d;
	EVP_PKEY *k;
	X509 *c;

	if (cella_opkey_load(key, &k, &c, &d) < 0 ||
	    (*ctx == NULL && cella_tls_client_ctx(k, c, ctx, &d) < 0) ||
	    cella_addr_parse(target, &a, &d) < 0)
		die("upstream", d.msg);
	EVP_PKEY_free(k);
	X509_free(c);
	u->fd = cella_addr_connect_wait(&a, 5000, &d);
	if (u->fd < 0)
		die("upstream", d.msg);
	fcntl(u->fd, F_SETFL, fcntl(u->fd, F_GETFL) | O_NONBLOCK);
	u->ssl = SSL_new(*ctx);
	SSL_set_fd(u->ssl, u->fd);
	if (cella_tls_handshake(u->ssl, u->fd, false, 5000, &d) < 0)
		die("upstream TLS", d.msg);
}

static void
save(const char *path, struct cella_span doc)
{
	FILE *f = fopen(path, "wb");

	if (f == NULL || fwrite(doc.p, 1, doc.n, f) != doc.n)
		die(path, strerror(errno));
	fclose(f);
}

/* One operator connection in a relay mode. */
static void
man_in_the_middle(SSL *ssl, int fd, const char **argv, bool tamper)
{
	static SSL_CTX *upctx;
	struct upstream u;
	struct cella_diag d;
	cbor_item_t *m = NULL;
	struct cella_span doc;
	long dl = cella_atls_deadline(10000);

	dial_up(argv[3], argv[4], &upctx, &u);
	/* hello: operator -> enclave, unchanged (its nonce) */
	if (cella_atls_recv(ssl, fd, &m, dl, &d) < 0 ||
	    cella_atls_send(u.ssl, u.fd, m, dl, &d) < 0)
		die("hello", d.msg);
	cbor_decref(&m);
	/* the enclave's answer: a genuine document for *our* session */
	if (cella_atls_recv(u.ssl, u.fd, &m, dl, &d) < 0)
		die("answer", d.msg);
	if (cella_cbor_get_bytes(m, "document", CELLA_ATTDOC_MAX, &doc, NULL) == 0) {
		if (!tamper && argv[5] != NULL && strcmp(argv[5], "--save") == 0)
			save(argv[6], doc);
		if (tamper) {
			size_t off = (size_t)arg_long(argv[5], 10, 0, LONG_MAX) % doc.n;

			((uint8_t *)doc.p)[off] ^= 0x01;
		}
	}
	if (cella_atls_send(ssl, fd, m, dl, &d) < 0)
		die("answer", d.msg);
	cbor_decref(&m);
	/* the operator's verdict goes back to the enclave */
	if (cella_atls_recv(ssl, fd, &m, dl, &d) == 0) {
		(void)cella_atls_send(u.ssl, u.fd, m, dl, &d);
		cbor_decref(&m);
	}
	SSL_free(u.ssl);
	close(u.fd);
}

static void
replay(SSL *ssl, int fd, const char *path)
{
	static uint8_t doc[CELLA_ATTDOC_MAX];
	struct cella_diag d;
	cbor_item_t *m = NULL;
	FILE *f = fopen(path, "rb");
	size_t n;
	long dl = cella_atls_deadline(10000);

	if (f == NULL)
		die(path, strerror(errno));
	n = fread(doc, 1, sizeof(doc), f);
	fclose(f);
	if (cella_atls_recv(ssl, fd, &m, dl, &d) < 0)
		die("hello", d.msg);
	cbor_decref(&m);
	m = cbor_new_indefinite_map();
	cella_cbor_put_bytes(m, "document", doc, n);
	cella_cbor_put_text(m, "operator", "alice");
	cella_cbor_put_uint(m, "roles", CELLA_ROLE_ALL);
	(void)cella_atls_send(ssl, fd, m, dl, &d);
	cbor_decref(&m);
	if (cella_atls_recv(ssl, fd, &m, dl, &d) == 0)
		cbor_decref(&m);
}

static void
on_term(int sig)
{
	(void)sig;
	_exit(0);
}

int
main(int argc, char **argv)
{
	struct cella_addr a;
	struct cella_diag d;
	SSL_CTX *ctx;
	int lfd = -1, ready = -1;

	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_term);
	if (argc >= 3 && strcmp(argv[argc - 2], "--ready-fd") == 0) {
		ready = (int)arg_long(argv[argc - 1], 10, 0, INT_MAX);
		argv[argc - 2] = NULL;
		argc -= 2;
	}
	if (argc < 4 || (strcmp(argv[1], "replay") != 0 && argc < 5))
		die("usage", "see the comment at the top of atlsmitm.c");
	if (cella_addr_parse(argv[2], &a, &d) < 0 ||
	    (lfd = cella_addr_listen(&a, 16, &d)) < 0 ||
	    cella_tls_server_ctx("not-the-enclave", &ctx, &d) < 0)
		die("listen", d.msg);
	fcntl(lfd, F_SETFL, fcntl(lfd, F_GETFL) & ~O_NONBLOCK);
	cella_ready_notify(ready);
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		SSL *ssl;

		if (fd < 0)
			continue;
		ssl = SSL_new(ctx);
		SSL_set_fd(ssl, fd);
		if (cella_tls_handshake(ssl, fd, true, 5000, &d) == 0) {
			if (strcmp(argv[1], "replay") == 0)
				replay(ssl, fd, argv[3]);
			else
				man_in_the_middle(ssl, fd, (const char **)argv,
						  strcmp(argv[1], "tamper") == 0);
		}
		SSL_free(ssl);
		close(fd);
	}
}
