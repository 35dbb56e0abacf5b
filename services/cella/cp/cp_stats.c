/*
 * cp_stats: the shared state of one `cella cp`: the first error (which
 * stops every worker), the calls, the progress bar (a thread redrawing
 * one line on stderr five times a second, only on a terminal), the
 * manifest of a tree's files and the directories whose mtimes are set
 * last. The lists are capped: past CP_MANIFEST_MAX files the tree has no
 * hash, past CP_DIRS_MAX directories the rest keep the time of the copy.
 */
#include "services/cella/cp/cp.h"
#include "common/core/clock.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "common/core/buf.h"
#include "common/cbor/cbor.h"

static pthread_t bar;
static bool bar_on;
static pthread_mutex_t bar_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t bar_cv = PTHREAD_COND_INITIALIZER;
static bool bar_stop;

static int
vfail(struct cp_ctx *x, int code, int err, const char *fmt, va_list ap)
{
	pthread_mutex_lock(&x->mu);
	if (x->err == 0) {
		x->err = err < 0 ? err : -EIO;
		x->code = code;
		vsnprintf(x->msg, sizeof(x->msg), fmt, ap);
	}
	pthread_mutex_unlock(&x->mu);
	return err;
}

int
cp_fail(struct cp_ctx *x, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(x, 0, err, fmt, ap);
	va_end(ap);
	return err;
}

int
cp_fail_code(struct cp_ctx *x, int code, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(x, code, err, fmt, ap);
	va_end(ap);
	return err;
}

int
cp_code(struct cp_ctx *x)
{
	int c;

	pthread_mutex_lock(&x->mu);
	c = x->code;
	pthread_mutex_unlock(&x->mu);
	return c;
}

/*
 * The exit code of the enclave's refusal of a call: its roles, policy or
 * allowed roots (and paths that lead outside them) 77; a path it cannot
 * find or use 66 when reading, 73 when writing; the user's own path
 * malformed ('..', too long) 64 when STAT judged it. 0: by err (cmd_cp.c).
 */
static int
remote_code(uint32_t type, int err)
{
	bool reading = type == CELLA_MSG_PIPE_STAT ||
		       type == CELLA_MSG_PIPE_GET_BEGIN ||
		       type == CELLA_MSG_PIPE_WALK ||
		       type == CELLA_MSG_PIPE_WALK_NEXT;

	switch (err) {
	case -EACCES:
	case -EPERM:
	case -EXDEV: return EX_NOPERM;
	case -EINVAL:
	case -ENAMETOOLONG: return type == CELLA_MSG_PIPE_STAT ? EX_USAGE : 0;
	case -ENOENT:
	case -ENOTDIR:
	case -EISDIR:
	case -EEXIST: return reading ? EX_NOINPUT : EX_CANTCREAT;
	default: return 0;
	}
}

bool
cp_failed(struct cp_ctx *x)
{
	bool f;

	pthread_mutex_lock(&x->mu);
	f = x->err != 0;
	pthread_mutex_unlock(&x->mu);
	return f;
}

int
cp_err(struct cp_ctx *x, int dflt)
{
	int e;

	pthread_mutex_lock(&x->mu);
	e = x->err != 0 ? x->err : dflt;
	pthread_mutex_unlock(&x->mu);
	return e;
}

cbor_item_t *
cp_id_body(uint64_t id)
{
	cbor_item_t *b = cbor_new_indefinite_map();

	if (b != NULL && cella_cbor_put_uint(b, "id", id) < 0)
		cbor_decref(&b);
	return b;
}

int
cp_call(struct cp_ctx *x, uint32_t type, cbor_item_t *body, uint32_t want,
	struct cella_env *reply)
{
	struct cella_diag d = {{0}};
	int rv;

	if (body == NULL)
		return cp_fail(x, -ENOMEM, "out of memory");
	rv = cella_rpc_call(x->c, type, body, reply, &d);
	cbor_decref(&body);
	if (rv < 0)
		return cp_fail_code(x, remote_code(type, rv), rv, "%s",
				    d.msg[0] ? d.msg : cella_strerror(rv));
	if (reply->type != want) {
		cella_env_fini(reply);
		return cp_fail(x, -EPROTO, "unexpected reply 0x%04x",
			       (unsigned)reply->type);
	}
	return 0;
}

/* --- progress --- */

static void
human(uint64_t n, char *buf, size_t len)
{
	const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	double v = (double)n;
	int i = 0;

	while (v >= 1024 && i < 4) {
		v /= 1024;
		i++;
	}
	snprintf(buf, len, i ? "%.1f %s" : "%.0f %s", v, u[i]);
}

static void
draw(struct cp_ctx *x, double secs)
{
	uint64_t b = atomic_load(&x->bytes);
	char done[32], rate[32], line[160];
	int n;

	human(b, done, sizeof(done));
	human(secs > 0 ? (uint64_t)((double)b / secs) : 0, rate, sizeof(rate));
	if (x->total > 0) {
		int pct = (int)(b * 100 / x->total), w = pct * 30 / 100;

		n = snprintf(line, sizeof(line), "\r[%.*s%*s] %3d%% %s %s/s ",
			     w, "==============================", 30 - w, "",
			     pct, done, rate);
	} else {
		n = snprintf(line, sizeof(line), "\r%u files, %s, %s/s ",
			     atomic_load(&x->files), done, rate);
	}
	(void)!write(2, line, (size_t)n);
}

static void *
bar_thread(void *arg)
{
	struct cp_ctx *x = arg;
	double t0 = cella_mono_s();
	struct timespec until;

	pthread_mutex_lock(&bar_mu);
	while (!bar_stop) {
		until = cella_wall_after(200);
		pthread_cond_timedwait(&bar_cv, &bar_mu, &until);
		draw(x, cella_mono_s() - t0);
	}
	pthread_mutex_unlock(&bar_mu);
	(void)!write(2, "\r\033[K", 4);
	return NULL;
}

void
cp_stats_start(struct cp_ctx *x)
{
	if (x->progress && isatty(2))
		bar_on = pthread_create(&bar, NULL, bar_thread, x) == 0;
}

void
cp_stats_stop(struct cp_ctx *x)
{
	(void)x;
	if (!bar_on)
		return;
	pthread_mutex_lock(&bar_mu);
	bar_stop = true;
	pthread_cond_signal(&bar_cv);
	pthread_mutex_unlock(&bar_mu);
	pthread_join(bar, NULL);
	bar_on = false;
}

/* --- manifest and directory times --- */

void
cp_manifest_add(struct cp_ctx *x, const char *path, const uint8_t sha256[32])
{
	struct cp_manifest_entry *m;
	char *p;

	pthread_mutex_lock(&x->mu);
	if (x->nman == CP_MANIFEST_MAX)
		x->man_over = true;
	if (!x->man_over && x->nman == x->capman) {
		size_t cap = x->capman ? x->capman * 2 : 256;

		if ((m = realloc(x->man, cap * sizeof(*m))) == NULL)
			x->man_over = true;
		else {
			x->man = m;
			x->capman = cap;
		}
	}
	if (!x->man_over && (p = strdup(path)) != NULL) {
		x->man[x->nman].path = p;
		memcpy(x->man[x->nman].sha256, sha256, 32);
		x->nman++;
	} else {
		x->man_over = true;
	}
	pthread_mutex_unlock(&x->mu);
}

static int
by_path(const void *a, const void *b)
{
	return strcmp(((const struct cp_manifest_entry *)a)->path,
		      ((const struct cp_manifest_entry *)b)->path);
}

bool
cp_manifest_hash(struct cp_ctx *x, uint8_t out[32])
{
	EVP_MD_CTX *md;
	char hex[65];
	unsigned len = 0;

	if (x->man_over || (md = EVP_MD_CTX_new()) == NULL)
		return false;
	if (x->nman > 1) /* an empty tree has no array to sort (NULL) */
		qsort(x->man, x->nman, sizeof(*x->man), by_path);
	EVP_DigestInit_ex(md, EVP_sha256(), NULL);
	for (size_t i = 0; i < x->nman; i++) {
		cella_hex_encode(x->man[i].sha256, 32, hex, sizeof(hex));
		EVP_DigestUpdate(md, hex, 64);
		EVP_DigestUpdate(md, "  ", 2);
		EVP_DigestUpdate(md, x->man[i].path, strlen(x->man[i].path));
		EVP_DigestUpdate(md, "\n", 1);
	}
	EVP_DigestFinal_ex(md, out, &len);
	EVP_MD_CTX_free(md);
	return true;
}

void
cp_dir_time_add(struct cp_ctx *x, const char *path, uint32_t mode,
		const struct timespec *mtime)
{
	struct cp_dir_time *d;

	pthread_mutex_lock(&x->mu);
	if (x->ndirs == x->capdirs && x->capdirs < CP_DIRS_MAX) {
		size_t cap = x->capdirs ? x->capdirs * 2 : 64;

		if (cap > CP_DIRS_MAX)
			cap = CP_DIRS_MAX;
		if ((d = realloc(x->dirs_t, cap * sizeof(*d))) != NULL) {
			x->dirs_t = d;
			x->capdirs = cap;
		}
	}
	if (x->ndirs < x->capdirs &&
	    (x->dirs_t[x->ndirs].path = strdup(path)) != NULL) {
		x->dirs_t[x->ndirs].mode = mode;
		x->dirs_t[x->ndirs].mtime = *mtime;
		x->ndirs++;
	}
	pthread_mutex_unlock(&x->mu);
}

void
cp_ctx_fini(struct cp_ctx *x)
{
	for (size_t i = 0; i < x->nman; i++)
		free(x->man[i].path);
	for (size_t i = 0; i < x->ndirs; i++)
		free(x->dirs_t[i].path);
	free(x->man);
	free(x->dirs_t);
	pthread_mutex_destroy(&x->mu);
}
