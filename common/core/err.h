/*
 * err: cella's one error convention. Every function returns 0 (or a
 * non-negative count) on success and a negative errno on failure; the
 * libraries cella uses speak other dialects, and each is translated here and
 * nowhere else. This module does not log: callers decide what an error means.
 */
#ifndef CELLA_ERR_H
#define CELLA_ERR_H

#include <stddef.h>

/* Text for a negative (or positive) errno, never NULL. */
const char *cella_strerror(int err);

/* Symbolic name ("ECONNRESET") for a negative errno, for logfmt err= keys. */
const char *cella_errname(int err);

/* nng error code (NNG_E...) to -errno. 0 stays 0. */
int cella_err_nng(int nng_rv);

/*
 * Drain OpenSSL's thread-local error queue. The last reason is written to buf
 * (if buf is not NULL) so the caller can report it; returns dflt (a negative
 * errno chosen by the caller for this boundary, e.g. -EPROTO).
 */
int cella_err_ssl(int dflt, char *buf, size_t len);

/* libcurl CURLcode to -errno. */
int cella_err_curl(int curl_code);

/* libcbor cbor_error_code (from struct cbor_load_result) to -errno. */
int cella_err_cbor(int cbor_code);

/*
 * A short human diagnosis that travels with an error code up to the place
 * that reports it ("cella.yaml:12: services.web.restart: expected ...").
 */
struct cella_diag {
	char msg[512];
};

/*
 * Format into d (if d is not NULL); returns err so callers can tail-call.
 * The arguments may include d->msg itself, to prefix what a callee said:
 * cella_diag_set(d, rv, "session: %s", d->msg).
 */
int cella_diag_set(struct cella_diag *d, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
