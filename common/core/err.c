/*
 * err: errno text and names, and the single translation point from each
 * library's error dialect (nng, OpenSSL, libcurl, libcbor) to -errno.
 */
#include "common/core/err.h"

#include <cbor.h>
#include <curl/curl.h>
#include <errno.h>
#include <nng/nng.h>
#include <openssl/err.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *
cella_strerror(int err)
{
	if (err < 0)
		err = -err;
	return strerror(err);
}

const char *
cella_errname(int err)
{
	const char *name;

	if (err < 0)
		err = -err;
	name = strerrorname_np(err);
	return name != NULL ? name : "EUNKNOWN";
}

int
cella_err_nng(int rv)
{
	static const struct {
		int nng;
		int err;
	} map[] = {
		{NNG_EINTR, EINTR},
		{NNG_ENOMEM, ENOMEM},
		{NNG_EINVAL, EINVAL},
		{NNG_EBUSY, EBUSY},
		{NNG_ETIMEDOUT, ETIMEDOUT},
		{NNG_ECONNREFUSED, ECONNREFUSED},
		{NNG_ECLOSED, EBADF},
		{NNG_EAGAIN, EAGAIN},
		{NNG_ENOTSUP, ENOTSUP},
		{NNG_EADDRINUSE, EADDRINUSE},
		{NNG_ESTATE, EPROTO},
		{NNG_ENOENT, ENOENT},
		{NNG_EPROTO, EPROTO},
		{NNG_EUNREACHABLE, EHOSTUNREACH},
		{NNG_EADDRINVAL, EINVAL},
		{NNG_EPERM, EPERM},
		{NNG_EMSGSIZE, EMSGSIZE},
		{NNG_ECONNABORTED, ECONNABORTED},
		{NNG_ECONNRESET, ECONNRESET},
		{NNG_ECANCELED, ECANCELED},
		{NNG_ENOFILES, EMFILE},
		{NNG_ENOSPC, ENOSPC},
		{NNG_EEXIST, EEXIST},
		{NNG_EREADONLY, EROFS},
		{NNG_EWRITEONLY, EBADF},
		{NNG_ECRYPTO, EBADMSG},
		{NNG_EPEERAUTH, EACCES},
		{NNG_ENOARG, EINVAL},
		{NNG_EAMBIGUOUS, EINVAL},
		{NNG_EBADTYPE, EINVAL},
		{NNG_ECONNSHUT, EPIPE},
		{NNG_EINTERNAL, EFAULT},
	};

	if (rv == 0)
		return 0;
	if (rv & NNG_ESYSERR)
		return -(rv & ~NNG_ESYSERR);
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (map[i].nng == rv)
			return -map[i].err;
	return -EIO;
}

int
cella_err_ssl(int dflt, char *buf, size_t len)
{
	unsigned long e, last = 0;

	while ((e = ERR_get_error()) != 0)
		last = e;
	if (buf != NULL && len > 0) {
		if (last != 0)
			ERR_error_string_n(last, buf, len);
		else
			snprintf(buf, len, "unspecified OpenSSL failure");
	}
	return dflt;
}

int
cella_err_curl(int code)
{
	switch ((CURLcode)code) {
	case CURLE_OK:
		return 0;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return -EHOSTUNREACH;
	case CURLE_COULDNT_CONNECT:
		return -ECONNREFUSED;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
		return -EACCES;
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
		return -ECONNRESET;
	case CURLE_FILESIZE_EXCEEDED:
		return -EFBIG;
	case CURLE_URL_MALFORMAT:
	case CURLE_BAD_FUNCTION_ARGUMENT:
		return -EINVAL;
	default:
		return -EIO;
	}
}

int
cella_err_cbor(int code)
{
	switch ((cbor_error_code)code) {
	case CBOR_ERR_NONE:
		return 0;
	case CBOR_ERR_NOTENOUGHDATA:
		return -ENODATA;
	case CBOR_ERR_NODATA:
		return -ENODATA;
	case CBOR_ERR_MALFORMATED:
	case CBOR_ERR_SYNTAXERROR:
		return -EBADMSG;
	case CBOR_ERR_MEMERROR:
		return -ENOMEM;
	default:
		return -EBADMSG;
	}
}

int
cella_diag_set(struct cella_diag *d, int err, const char *fmt, ...)
{
	char msg[sizeof(d->msg)];
	va_list ap;

	if (d != NULL) {
		/* Formatted aside first: callers prefix the message they got
		 * ("session: %s", d->msg), and vsnprintf into the buffer it
		 * reads from repeats the prefix and loses the message. */
		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		memcpy(d->msg, msg, sizeof(msg));
	}
	return err;
}
