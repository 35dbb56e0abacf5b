/*
 * nngio: URL dispatch for nng sockets. ipc://, abstract:// and tcp:// are
 * handed to nng as they are. vsock:// goes through a relay on a private
 * thread (one per process, started on first use): nng itself only ever sees
 * a private unix socket, and the relay joins each of its connections to a
 * vsock connection (or to the one stream it was given), byte for byte.
 *
 * Private means private: the socket lives in a directory of its own that
 * mkdtemp made (mode 0700, a random name), so no other user can connect to
 * it, and nobody can take its name first (an abstract name, which has no
 * permission check at all and shows in /proc/net/unix, let any local user
 * join an operator's attested session or squat every future name). A
 * stream's endpoint is removed as soon as nng has connected to it, and the
 * relay joins only a connection from this very process; a listener's lives
 * until cella_nng_shutdown.
 */
#include "common/net/nngio.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/net/addr.h"
#include "common/core/log.h"
#include "common/net/relay.h"

#include <nng/transport/ipc/ipc.h>
#include <openssl/ssl.h>

#define PROBE_TIMEOUT_MS 5000
#define TMPDIR_MAX 64 /* a longer $TMPDIR leaves no room in sun_path */

/* A private endpoint: DIR/s in a directory made for it alone. */
struct private_ep {
	char dir[TMPDIR_MAX + 32];
	char url[TMPDIR_MAX + 48]; /* ipc://DIR/s */
	struct private_ep *next;   /* the listeners' list */
};

/* The relay thread and the one request it is asked to carry out. */
static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	bool running;
	uv_loop_t loop;
	uv_async_t wake;
	struct cella_relay *relay;
	/* request: add a rule (listen, target), a stream rule (listen, sfd,
	 * sssl), or stop */
	const char *listen, *target;
	int sfd;
	SSL *sssl;
	bool stop, busy, done;
	int rv;
	struct cella_diag diag;
	/* endpoints that live until shutdown (listeners, vsock dials) */
	struct private_ep *eps;
} g = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static void
relay_closed(void *arg)
{
	(void)arg;
	uv_close((uv_handle_t *)&g.wake, NULL);
}

static void
relay_wake(uv_async_t *h)
{
	(void)h;
	pthread_mutex_lock(&g.mu);
	if (g.busy && !g.done) {
		if (g.stop) {
			cella_relay_close(g.relay, relay_closed, NULL);
			g.relay = NULL;
			g.rv = 0;
		} else if (g.target == NULL) {
			g.rv = cella_relay_add_stream(g.relay, g.listen, g.sfd,
						      g.sssl, &g.diag);
		} else {
			g.rv = cella_relay_add(g.relay, g.listen, g.target,
					       &g.diag);
		}
		g.done = true;
		pthread_cond_broadcast(&g.cv);
	}
	pthread_mutex_unlock(&g.mu);
}

static void *
relay_main(void *arg)
{
	sigset_t set;

	(void)arg;
	/* A splice to a closed peer raises SIGPIPE on this thread: keep it
	 * pending here instead of killing the process. */
	sigemptyset(&set);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	uv_run(&g.loop, UV_RUN_DEFAULT);
	uv_loop_close(&g.loop);
	return NULL;
}

/* Start the thread once; caller holds g.mu. */
static int
relay_start_locked(void)
{
	struct cella_relay_opts o = {.quiet = true};
	int rv;

	if (g.running)
		return 0;
	if ((rv = uv_loop_init(&g.loop)) < 0)
		return rv;
	if ((rv = cella_relay_new(&g.loop, &o, &g.relay)) < 0)
		goto fail_loop;
	if ((rv = uv_async_init(&g.loop, &g.wake, relay_wake)) < 0)
		goto fail_relay;
	if ((rv = -pthread_create(&g.thread, NULL, relay_main, NULL)) < 0)
		goto fail_relay;
	cella_relay_raise_nofile();
	g.running = true;
	return 0;
fail_relay:
	cella_relay_close(g.relay, NULL, NULL);
	g.relay = NULL;
fail_loop:
	uv_run(&g.loop, UV_RUN_DEFAULT);
	uv_loop_close(&g.loop);
	return rv;
}

/* Ask the relay thread to do one thing and wait for it. */
static int
relay_call(const char *listen, const char *target, int sfd, SSL *sssl,
	   bool stop, struct cella_diag *d)
{
	int rv;

	pthread_mutex_lock(&g.mu);
	while (g.busy)
		pthread_cond_wait(&g.cv, &g.mu);
	if ((rv = relay_start_locked()) < 0) {
		pthread_mutex_unlock(&g.mu);
		if (sfd >= 0) {
			SSL_free(sssl);
			close(sfd);
		}
		return cella_diag_set(d, rv, "cannot start the vsock relay: %s",
				      uv_strerror(rv));
	}
	g.busy = true;
	g.done = false;
	g.listen = listen;
	g.target = target;
	g.sfd = sfd;
	g.sssl = sssl;
	g.stop = stop;
	uv_async_send(&g.wake);
	while (!g.done)
		pthread_cond_wait(&g.cv, &g.mu);
	rv = g.rv;
	if (rv < 0 && d != NULL)
		*d = g.diag;
	g.busy = false;
	pthread_cond_broadcast(&g.cv);
	pthread_mutex_unlock(&g.mu);
	return rv;
}

/*
 * A fresh private endpoint: DIR is $TMPDIR (when absolute and short) or
 * /tmp, plus cella-nng-PID-XXXXXX by mkdtemp (0700, ours alone).
 */
static int
private_ep_make(struct private_ep *ep, struct cella_diag *d)
{
	const char *base = getenv("TMPDIR");

	if (base == NULL || base[0] != '/' || strlen(base) > TMPDIR_MAX)
		base = "/tmp";
	snprintf(ep->dir, sizeof(ep->dir), "%s/cella-nng-%d-XXXXXX", base,
		 (int)getpid());
	if (mkdtemp(ep->dir) == NULL)
		return cella_diag_set(d, -errno,
				      "cannot make a private directory in %s: %s",
				      base, strerror(errno));
	snprintf(ep->url, sizeof(ep->url), "ipc://%s/s", ep->dir);
	ep->next = NULL;
	return 0;
}

/* Remove the endpoint's socket file and directory. */
static void
private_ep_remove(const struct private_ep *ep)
{
	char path[sizeof(ep->dir) + 2];

	snprintf(path, sizeof(path), "%s/s", ep->dir);
	(void)unlink(path);
	(void)rmdir(ep->dir);
}

/* Keep ep (a heap copy) until cella_nng_shutdown removes it. */
static int
private_ep_keep(const struct private_ep *ep)
{
	struct private_ep *k = malloc(sizeof(*k));

	if (k == NULL)
		return -ENOMEM;
	*k = *ep;
	pthread_mutex_lock(&g.mu);
	k->next = g.eps;
	g.eps = k;
	pthread_mutex_unlock(&g.mu);
	return 0;
}

static int
nng_url_for(const char *url, struct cella_addr *a, struct cella_diag *d)
{
	int rv = cella_addr_parse(url, a, d);

	if (rv < 0)
		return rv;
	if (a->kind == CELLA_ADDR_UNIX)
		return cella_diag_set(d, -EINVAL,
				      "%s: nng sockets need ipc:// (nng framing), "
				      "not unix://",
				      url);
	return 0;
}

/* A private endpoint kept until shutdown, for a vsock listen or dial. */
static int
private_ep_new_kept(struct private_ep *ep, struct cella_diag *d)
{
	int rv;

	if ((rv = private_ep_make(ep, d)) < 0)
		return rv;
	if ((rv = private_ep_keep(ep)) < 0) {
		private_ep_remove(ep);
		return cella_diag_set(d, rv, "out of memory");
	}
	return 0;
}

/*
 * nng_listen, with a unix socket file (ipc://, a private endpoint) made
 * the owner's alone (0600) before it listens, whatever the umask: a local
 * peer of a cella service is trusted with every role.
 */
static int
listen_owner_only(nng_socket s, const char *nurl, enum cella_addr_kind kind,
		  nng_listener *l)
{
	int rv = cella_err_nng(nng_listener_create(l, s, nurl));

	if (rv < 0)
		return rv;
	if (kind == CELLA_ADDR_IPC || kind == CELLA_ADDR_VSOCK)
		rv = cella_err_nng(nng_listener_set_int(
			*l, NNG_OPT_IPC_PERMISSIONS, S_IRUSR | S_IWUSR));
	if (rv == 0)
		rv = cella_err_nng(nng_listener_start(*l, 0));
	if (rv < 0)
		nng_listener_close(*l);
	return rv;
}

int
cella_nng_listen(nng_socket s, const char *url, struct cella_diag *d)
{
	struct private_ep ep;
	struct cella_addr a;
	nng_listener l;
	const char *nurl = url;
	int rv;

	if ((rv = nng_url_for(url, &a, d)) < 0)
		return rv;
	if (a.kind == CELLA_ADDR_VSOCK) {
		if ((rv = private_ep_new_kept(&ep, d)) < 0)
			return rv;
		nurl = ep.url;
	}
	if ((rv = listen_owner_only(s, nurl, a.kind, &l)) < 0)
		return cella_diag_set(d, rv, "%s: cannot listen: %s", url,
				      cella_strerror(rv));
	if (nurl != url && (rv = relay_call(url, nurl, -1, NULL, false, d)) < 0) {
		nng_listener_close(l);
		return rv;
	}
	return 0;
}

int
cella_nng_dial(nng_socket s, const char *url, bool block, struct cella_diag *d)
{
	struct private_ep ep;
	struct cella_addr a;
	const char *nurl = url;
	int rv, fd;

	if ((rv = nng_url_for(url, &a, d)) < 0)
		return rv;
	if (a.kind == CELLA_ADDR_VSOCK) {
		/* nng would reach our relay at once; whether the vsock peer is
		 * there is only known by trying it, before any rule exists. */
		if (block) {
			fd = cella_addr_connect_wait(&a, PROBE_TIMEOUT_MS, d);
			if (fd < 0)
				return cella_diag_set(d, fd, "%s: cannot dial: %s",
						      url, cella_strerror(fd));
			close(fd);
		}
		if ((rv = private_ep_new_kept(&ep, d)) < 0)
			return rv;
		nurl = ep.url;
		if ((rv = relay_call(nurl, url, -1, NULL, false, d)) < 0)
			return rv;
	}
	rv = cella_err_nng(nng_dial(s, nurl, NULL, block ? 0 : NNG_FLAG_NONBLOCK));
	if (rv < 0)
		return cella_diag_set(d, rv, "%s: cannot dial: %s", url,
				      cella_strerror(rv));
	return 0;
}

int
cella_nng_dial_stream(nng_socket s, int fd, SSL *ssl, struct cella_diag *d)
{
	struct private_ep ep;
	nng_dialer dl;
	int rv;

	if ((rv = private_ep_make(&ep, d)) < 0) {
		SSL_free(ssl);
		close(fd);
		return rv;
	}
	if ((rv = relay_call(ep.url, NULL, fd, ssl, false, d)) < 0)
		goto out;
	rv = cella_err_nng(nng_dialer_create(&dl, s, ep.url));
	if (rv == 0) {
		/* One stream, one connection: redialing would find nothing. */
		(void)nng_dialer_set_ms(dl, NNG_OPT_RECONNMINT, 3600000);
		(void)nng_dialer_set_ms(dl, NNG_OPT_RECONNMAXT, 3600000);
		/* Synchronous: connected (or failed) when it returns. */
		rv = cella_err_nng(nng_dialer_start(dl, 0));
	}
	if (rv < 0)
		cella_diag_set(d, rv, "cannot dial the stream: %s",
			       cella_strerror(rv));
out:
	/* Connected or not, the name has served: nobody may find it now. */
	private_ep_remove(&ep);
	return rv;
}

void
cella_nng_shutdown(void)
{
	struct private_ep *ep;

	pthread_mutex_lock(&g.mu);
	if (g.running) {
		pthread_mutex_unlock(&g.mu);
		relay_call(NULL, NULL, -1, NULL, true, NULL);
		pthread_join(g.thread, NULL);
		pthread_mutex_lock(&g.mu);
		g.running = false;
	}
	/* The relay is gone and the caller closed its nng sockets: nothing
	 * uses the private endpoints any more. */
	while ((ep = g.eps) != NULL) {
		g.eps = ep->next;
		private_ep_remove(ep);
		free(ep);
	}
	pthread_mutex_unlock(&g.mu);
}
