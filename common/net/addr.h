/*
 * addr: the one parser and opener for the stream addresses cella uses in
 * config, flags and logs:
 *
 *   ipc:///run/cella/init.sock   nng's ipc transport (a unix socket)
 *   unix:///path/to.sock         a plain unix stream socket
 *   abstract://name              a Linux abstract unix socket (nng's name;
 *                                no permission check: any local user may
 *                                connect to it or take its name first)
 *   tcp://127.0.0.1:8443  tcp://[::1]:8443  tcp://kms.eu-west-1.amazonaws.com:443
 *   vsock://16:9001  vsock://any:9001 (listen on every CID)
 *
 * vsock emulation: when CELLA_VSOCK_DIR is set, vsock://CID:PORT is the unix
 * socket $CELLA_VSOCK_DIR/CID_PORT and the process's own CID (used for
 * vsock://any) is CELLA_VSOCK_CID. Code above this module cannot tell the
 * difference. Without it, real AF_VSOCK is used.
 *
 * This module opens sockets; it does not resolve host names asynchronously
 * (see cella_addr_resolve) and does not do I/O beyond connect/accept.
 */
#ifndef CELLA_ADDR_H
#define CELLA_ADDR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common/core/err.h"

enum cella_addr_kind {
	CELLA_ADDR_IPC,
	CELLA_ADDR_UNIX,
	CELLA_ADDR_ABSTRACT,
	CELLA_ADDR_TCP,
	CELLA_ADDR_VSOCK,
};

#define CELLA_VSOCK_CID_ANY UINT32_MAX
#define CELLA_ADDR_PATH_MAX 107 /* sun_path less the terminating NUL */
#define CELLA_ADDR_URL_MAX 300

struct cella_addr {
	enum cella_addr_kind kind;
	char path[CELLA_ADDR_PATH_MAX + 1]; /* ipc, unix, abstract */
	char host[256];			    /* tcp: literal or name, no brackets */
	uint16_t port;			    /* tcp */
	uint32_t cid;			    /* vsock; CELLA_VSOCK_CID_ANY for any */
	uint32_t vport;			    /* vsock */
};

/*
 * Parse url into *out. Errors (-EINVAL, with d naming what was wrong): an
 * unknown scheme, a missing or empty path, a path too long for a unix
 * socket, a bad host, a port out of range, trailing characters.
 */
int cella_addr_parse(const char *url, struct cella_addr *out,
		     struct cella_diag *d);

/* The canonical URL of a into buf; returns its length or -ENOSPC. */
int cella_addr_format(const struct cella_addr *a, char *buf, size_t len);

/* True when a unix socket stands behind a (ipc, unix, abstract, emulated vsock). */
bool cella_addr_is_local(const struct cella_addr *a);

/*
 * The concrete socket address, with vsock emulation applied. A tcp address
 * whose host is a name (not a literal) gives -EAGAIN: resolve it first with
 * cella_addr_resolve (blocking) or asynchronously.
 */
int cella_addr_sockaddr(const struct cella_addr *a, struct sockaddr_storage *ss,
			socklen_t *sslen, struct cella_diag *d);

/* Blocking getaddrinfo for a tcp name; first result. Not for event loops. */
int cella_addr_resolve(const struct cella_addr *a, struct sockaddr_storage *ss,
		       socklen_t *sslen, struct cella_diag *d);

/*
 * A listening, non-blocking, close-on-exec socket for a. A stale unix socket
 * file (nobody accepting) is replaced; a live one is -EADDRINUSE. Returns the
 * fd or -errno.
 */
int cella_addr_listen(const struct cella_addr *a, int backlog,
		      struct cella_diag *d);

/* Remove the socket file a listener created (ipc, unix, emulated vsock). */
void cella_addr_unlink(const struct cella_addr *a);

/*
 * Start a non-blocking connect to a. Returns the fd when connected at once,
 * or stores the fd in *pending and returns -EINPROGRESS (poll it writable,
 * then cella_addr_connect_result), or -errno. Names are resolved blocking.
 */
int cella_addr_connect(const struct cella_addr *a, int *pending,
		       struct cella_diag *d);
/* Outcome of an -EINPROGRESS connect on fd: 0 or -errno (SO_ERROR). */
int cella_addr_connect_result(int fd);

/* Blocking connect with a timeout in ms (for CLIs and tests). Returns fd. */
int cella_addr_connect_wait(const struct cella_addr *a, int timeout_ms,
			    struct cella_diag *d);

/* accept4 with CLOEXEC|NONBLOCK; returns fd or -errno. */
int cella_addr_accept(int lfd);

#endif
