/*
 * testing/tls: the TLS pair of tls.h.
 */
#include "common/testing/tls.h"

#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/bridge/tls.h"
#include "common/testing/util.h"

void
tu_tls_pair_init(struct tu_tls_pair *p)
{
	int sv[2];

	memset(p, 0, sizeof(*p));
	TU_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == 0);
	p->sfd = sv[0];
	p->cfd = sv[1];
	TU_CHECK(cella_tls_server_ctx("tu-enclave", &p->sctx, NULL) == 0);
	p->op_key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	TU_CHECK(p->op_key != NULL);
	TU_CHECK(cella_tls_selfsigned(p->op_key, "tu-operator", 1, &p->op_cert,
				      NULL) == 0);
	TU_CHECK(cella_tls_client_ctx(p->op_key, p->op_cert, &p->cctx,
				      NULL) == 0);
}

struct side {
	SSL *ssl;
	int fd, timeout_ms, rv;
	struct cella_diag *d;
};

static void *
server_side(void *arg)
{
	struct side *s = arg;

	s->rv = cella_tls_handshake(s->ssl, s->fd, true, s->timeout_ms, s->d);
	return NULL;
}

int
tu_tls_pair_handshake(struct tu_tls_pair *p, int timeout_ms, int *client_rv,
		      struct cella_diag *sd, struct cella_diag *cd)
{
	struct side s;
	pthread_t t;

	TU_CHECK((p->server = SSL_new(p->sctx)) != NULL &&
		 SSL_set_fd(p->server, p->sfd) == 1);
	TU_CHECK((p->client = SSL_new(p->cctx)) != NULL &&
		 SSL_set_fd(p->client, p->cfd) == 1);
	s = (struct side){p->server, p->sfd, timeout_ms, -1, sd};
	TU_CHECK(pthread_create(&t, NULL, server_side, &s) == 0);
	*client_rv = cella_tls_handshake(p->client, p->cfd, false, timeout_ms,
					 cd);
	/* A client that failed may leave the server waiting for bytes that
	 * never come: its end closed, the server's read sees EOF. */
	if (*client_rv < 0)
		shutdown(p->cfd, SHUT_RDWR);
	TU_CHECK(pthread_join(t, NULL) == 0);
	return s.rv;
}

void
tu_tls_pair_fini(struct tu_tls_pair *p)
{
	SSL_free(p->server);
	SSL_free(p->client);
	SSL_CTX_free(p->sctx);
	SSL_CTX_free(p->cctx);
	EVP_PKEY_free(p->op_key);
	X509_free(p->op_cert);
	if (p->sfd > 0)
		close(p->sfd);
	if (p->cfd > 0)
		close(p->cfd);
	memset(p, 0, sizeof(*p));
}
