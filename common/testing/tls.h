/*
 * testing/tls: two ends of a real TLS 1.3 connection over a socketpair,
 * for the bridge's tests: the server context as the bridge makes it
 * (cella_tls_server_ctx), a client context with a fresh Ed25519 operator
 * identity (cella_tls_client_ctx), and both handshakes run at once (the
 * server's on a thread) through cella_tls_handshake. A test may swap
 * either context before the handshake to play a misbehaving peer. Test
 * code: set-up failures abort (util.h).
 */
#ifndef CELLA_TESTING_TLS_H
#define CELLA_TESTING_TLS_H

#include <openssl/ssl.h>

#include "common/core/err.h"

struct tu_tls_pair {
	SSL_CTX *sctx, *cctx;
	EVP_PKEY *op_key; /* the client's Ed25519 key, its certificate's */
	X509 *op_cert;
	int sfd, cfd;	  /* the server's and the client's non-blocking ends */
	SSL *server, *client; /* made by tu_tls_pair_handshake */
};

/* Contexts, the operator identity and the socketpair; no SSL yet. */
void tu_tls_pair_init(struct tu_tls_pair *p);

/*
 * SSL objects on both ends from the contexts now in p, and both
 * handshakes (timeout_ms each). Returns the server's result; the client's
 * is in *client_rv. sd and cd (may be NULL) get each side's reason.
 */
int tu_tls_pair_handshake(struct tu_tls_pair *p, int timeout_ms,
			  int *client_rv, struct cella_diag *sd,
			  struct cella_diag *cd);

/* Everything, whatever state it is in. */
void tu_tls_pair_fini(struct tu_tls_pair *p);

#endif
