/*
 * nngio: open nng sockets by cella URL. ipc://, abstract:// and tcp:// go
 * straight to nng. nng has no vsock transport, so a vsock:// URL is served
 * through cella's relay (relay.h) running on a private thread: listening on
 * vsock://any:P makes nng listen on a private unix socket and the relay
 * carry every accepted vsock connection to it; dialing vsock://CID:P makes
 * nng dial a private unix socket whose connections the relay carries to
 * the vsock peer. nng's own framing crosses vsock unchanged, so the peer may
 * be another nngio user or cella-pf-proxy in front of an ipc:// service.
 *
 * A private socket is $TMPDIR/cella-nng-PID-XXXXXX/s (or under /tmp), in a
 * directory mkdtemp made for it alone (0700): no other user can connect to
 * it or take its name first. (nng 1.5.2 has no transport that takes a
 * socketpair.) Only vsock URLs make them.
 *
 * unix:// is not an nng transport and is refused here (-EINVAL): nng speaks
 * its own framing, use ipc://.
 */
#ifndef CELLA_NNGIO_H
#define CELLA_NNGIO_H

#include <nng/nng.h>
#include <stdbool.h>

#include "common/core/err.h"

/*
 * Listen on url. An ipc:// socket file is the owner's alone (0600, set
 * before it listens, whatever the umask): a local peer is trusted with
 * every role, so only the service's own user may be one. Returns 0 or
 * -errno with d saying why.
 */
int cella_nng_listen(nng_socket s, const char *url, struct cella_diag *d);

/*
 * Dial url. With block, the first connection must succeed now (a clear
 * -ECONNREFUSED / -ENOENT otherwise); without it nng keeps redialing in the
 * background.
 */
int cella_nng_dial(nng_socket s, const char *url, bool block,
		   struct cella_diag *d);

/*
 * Dial over an established stream (fd non-blocking; ssl NULL for plain, or
 * an attested TLS session from atls.h): nng gets a private socket whose one
 * connection (from this process only) the relay joins with the stream; the
 * socket and its directory are gone before this returns. Takes ownership of
 * fd and ssl, also on failure. nng must not redial: when the stream ends,
 * the socket is done.
 */
struct ssl_st;
int cella_nng_dial_stream(nng_socket s, int fd, struct ssl_st *ssl,
			  struct cella_diag *d);

/*
 * Stop the relay thread vsock URLs started (if any) and free it, with every
 * rule it holds (each vsock listen or dial adds one, which lives until
 * then), and remove their private sockets and directories. Call after
 * closing the nng sockets that used vsock URLs, before exit.
 */
void cella_nng_shutdown(void);

#endif
