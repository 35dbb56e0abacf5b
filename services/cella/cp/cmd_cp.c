/*
 * cmd_cp: `cella cp [--json] [-q] [-j N] SRC DST`, docker cp style: one
 * side is ":/path" in the enclave. A file into an existing directory
 * keeps its name; a directory into an existing directory becomes a
 * subdirectory; "DIR/." copies the contents. Every file is checked by
 * SHA-256 on the receiving side and appears whole or not at all. A
 * progress bar runs on a terminal; --json prints a summary (bytes,
 * seconds, SHA-256 of the file, or of a tree's manifest: the sorted
 * `sha256sum` lines of its files). Exit 0, 1 when the copy failed (with
 * the reason), 64 usage, 69 unreachable, and for paths, on either side,
 * 66 (the source), 73 (the destination) and 77 (refused by role, policy
 * or the enclave's allowed roots): the table in `cella --help`.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "common/core/buf.h"
#include "common/core/clock.h"
#include "common/core/exitcode.h"
#include "common/cbor/cbor.h"
#include "services/cella/cmd.h"
#include "services/cella/conn.h"
#include "services/cella/cp/cp.h"
#include "common/files/pathsafe.h"


#define CP_CALL_MS 300000 /* a commit fsyncs: the disk sets the pace */

struct copts {
	const char *src, *dst;
	bool json, quiet;
	uint64_t threads;
};

static struct copts args = {.threads = 4};

static const struct cella_opt opts[] = {
	{"json", 0, CELLA_OPT_FLAG, &args.json,
	 .help = "print a summary (bytes, seconds, sha256)"},
	{"quiet", 'q', CELLA_OPT_FLAG, &args.quiet, .help = "no progress bar"},
	{"jobs", 'j', CELLA_OPT_U64, &args.threads, .min = 1,
	 .max = CP_THREADS_MAX, .metavar = "N",
	 .help = "calls in flight (default 4)"},
	{0},
};

/* STAT of an enclave path; *reply is the caller's. */
static int
remote_stat(struct cp_ctx *x, const char *path, struct cella_env *reply,
	    bool *exists, bool *dir)
{
	cbor_item_t *b = cbor_new_indefinite_map();
	struct cella_span type = {0};
	uint64_t chunk = 0, window = 0;
	int rv;

	if (b != NULL && cella_cbor_put_text(b, "path", path) < 0)
		cbor_decref(&b);
	if ((rv = cp_call(x, CELLA_MSG_PIPE_STAT, b, CELLA_MSG_PIPE_STAT_REPLY,
			  reply)) < 0)
		return rv;
	*exists = false;
	if (cella_cbor_get_bool(reply->body, "exists", exists, NULL) < 0 ||
	    cella_cbor_get_uint(reply->body, "chunk", CP_CHUNK_MAX, &chunk,
				NULL) < 0 ||
	    cella_cbor_get_uint(reply->body, "window", 256, &window, NULL) < 0) {
		cella_env_fini(reply);
		return cp_fail(x, -EPROTO, "bad STAT reply");
	}
	(void)cella_cbor_get_text(reply->body, "type", 16, &type, NULL);
	*dir = type.n == 3 && memcmp(type.p, "dir", 3) == 0;
	x->chunk = (uint32_t)chunk;
	x->window = (uint32_t)window;
	return 0;
}

/* The last component of p (without trailing '/'), or "" for "/" and ".". */
static const char *
base_of(const char *p, char *buf, size_t len)
{
	size_t n = strlen(p);
	const char *s;

	while (n > 1 && p[n - 1] == '/')
		n--;
	snprintf(buf, len, "%.*s", (int)n, p);
	s = strrchr(buf, '/');
	s = s ? s + 1 : buf;
	return strcmp(s, ".") == 0 || strcmp(s, "..") == 0 ? "" : s;
}

static bool
ends_with_slash(const char *p)
{
	size_t n = strlen(p);

	return n > 0 && p[n - 1] == '/';
}

static int
put(struct cp_ctx *x, const char *src, const char *dst)
{
	struct cella_env r = {0};
	char bbuf[PIPE_PATH_MAX + 1], target[PIPE_PATH_MAX + 2];
	const char *base;
	bool exists, dir;
	struct stat st;
	int fd, rv;

	if ((fd = open(src, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) < 0 ||
	    fstat(fd, &st) < 0) {
		rv = cp_fail_code(x, EX_NOINPUT, -errno, "%s: %s", src,
				  cella_strerror(-errno));
		if (fd >= 0)
			close(fd);
		return rv;
	}
	if ((rv = remote_stat(x, dst, &r, &exists, &dir)) < 0) {
		close(fd);
		return rv;
	}
	cella_env_fini(&r);
	base = base_of(src, bbuf, sizeof(bbuf));
	if (exists && dir && base[0] != '\0')
		snprintf(target, sizeof(target), "%s%s%s", dst,
			 ends_with_slash(dst) ? "" : "/", base);
	else if (!exists && ends_with_slash(dst))
		rv = cp_fail_code(x, EX_CANTCREAT, -ENOENT,
				  ":%s: no such directory", dst);
	else if (exists && !dir && S_ISDIR(st.st_mode))
		rv = cp_fail_code(x, EX_CANTCREAT, -ENOTDIR,
				  ":%s: cannot copy a directory onto a file",
				  dst);
	else
		snprintf(target, sizeof(target), "%s", dst);
	if (rv < 0) {
		close(fd);
		return rv;
	}
	if (S_ISDIR(st.st_mode)) {
		x->tree = true;
		return cp_put_tree(x, fd, &st, target);
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		return cp_fail_code(x, EX_NOINPUT, -EINVAL,
				    "%s: not a file or directory", src);
	}
	x->total = (uint64_t)st.st_size;
	rv = cp_put_file(x, fd, &st, target, NULL);
	close(fd);
	return rv;
}

static int
get(struct cp_ctx *x, const char *src, const char *dst)
{
	struct cella_env r = {0};
	char sbuf[PIPE_PATH_MAX + 1], dbuf[PIPE_PATH_MAX + 1], dcopy[4096];
	const char *name;
	bool exists, dir;
	struct stat st;
	uint64_t size = 0;
	int rootfd, rv;

	if ((rv = remote_stat(x, src, &r, &exists, &dir)) < 0)
		return rv;
	if (!exists) {
		cella_env_fini(&r);
		return cp_fail_code(x, EX_NOINPUT, -ENOENT,
				    ":%s: no such file or directory", src);
	}
	if (stat(dst, &st) == 0 && S_ISDIR(st.st_mode)) {
		rootfd = open(dst, O_PATH | O_DIRECTORY | O_CLOEXEC);
		name = base_of(src, sbuf, sizeof(sbuf));
	} else if (ends_with_slash(dst)) {
		cella_env_fini(&r);
		return cp_fail_code(x, EX_CANTCREAT, -ENOENT,
				    "%s: no such directory", dst);
	} else {
		snprintf(dcopy, sizeof(dcopy), "%s", dst);
		rootfd = open(dirname(dcopy), O_PATH | O_DIRECTORY | O_CLOEXEC);
		name = base_of(dst, dbuf, sizeof(dbuf));
	}
	if (rootfd < 0) {
		cella_env_fini(&r);
		return cp_fail_code(x, EX_CANTCREAT, -errno, "%s: %s", dst,
				    cella_strerror(-errno));
	}
	if (dir) {
		x->tree = true;
		rv = cp_get_tree(x, src, rootfd, name, r.body);
	} else if (name[0] == '\0') {
		rv = cp_fail_code(x, EX_CANTCREAT, -EISDIR, "%s: a directory",
				  dst);
	} else {
		(void)cella_cbor_get_uint(r.body, "size", INT64_MAX, &size, NULL);
		x->total = size;
		rv = cp_get_file(x, src, rootfd, name, NULL);
	}
	cella_env_fini(&r);
	close(rootfd);
	return rv;
}

static void
summary(struct cp_ctx *x, const struct copts *o, double secs)
{
	cJSON *j = cJSON_CreateObject();
	uint8_t h[32];
	char hex[65];
	bool have = x->tree ? cp_manifest_hash(x, h) : true;

	if (!x->tree)
		memcpy(h, x->sha256, 32);
	cella_hex_encode(h, 32, hex, sizeof(hex));
	cJSON_AddStringToObject(j, "direction", o->src[0] == ':' ? "out" : "in");
	cJSON_AddStringToObject(j, "src", o->src);
	cJSON_AddStringToObject(j, "dst", o->dst);
	cJSON_AddNumberToObject(j, "files", atomic_load(&x->files));
	cJSON_AddNumberToObject(j, "dirs", atomic_load(&x->dirs));
	cJSON_AddNumberToObject(j, "symlinks", atomic_load(&x->links));
	cJSON_AddNumberToObject(j, "skipped", atomic_load(&x->skipped));
	cJSON_AddNumberToObject(j, "bytes", (double)atomic_load(&x->bytes));
	cJSON_AddNumberToObject(j, "seconds", secs);
	if (have)
		cJSON_AddStringToObject(j, "sha256", hex);
	else
		cJSON_AddNullToObject(j, "sha256");
	cJSON_AddStringToObject(j, "hash_of", x->tree ? "manifest" : "file");
	cella_cmd_print_json(j, false);
}

static int
cmd_cp(int argc, char **argv)
{
	struct cp_ctx x = {.mu = PTHREAD_MUTEX_INITIALIZER};
	double t0, t1;
	int rv, code;

	if (argc != 3 || (argv[1][0] == ':') == (argv[2][0] == ':')) {
		fprintf(stderr, "cella cp: give SRC and DST, exactly one of "
				"them :/PATH in the enclave\n");
		return EX_USAGE;
	}
	args.src = argv[1];
	args.dst = argv[2];
	/* Before any thread starts (nng's too): they inherit the mask. */
	if ((rv = cp_signals_start()) < 0) {
		fprintf(stderr, "cella cp: %s\n", cella_strerror(rv));
		return EX_OSERR;
	}
	if ((rv = cella_conn_open("cp", CELLA_SVC_PIPELINE, CP_CALL_MS, &x.c)) < 0)
		return cella_exit_from_err(rv);
	x.threads = (unsigned)args.threads;
	x.progress = !args.quiet;
	t0 = cella_mono_s();
	cp_stats_start(&x);
	rv = args.src[0] == ':' ? get(&x, args.src + 1, args.dst)
				: put(&x, args.src, args.dst + 1);
	cp_stats_stop(&x);
	t1 = cella_mono_s();
	if (rv < 0 || cp_failed(&x)) {
		rv = cp_err(&x, rv);
		cella_conn_report("cp", rv, x.msg, false);
		/* a path error carries its own code (cp_fail_code) */
		code = cp_code(&x);
		rv = code != 0 ? code : cella_exit_from_err(rv);
	} else {
		if (args.json)
			summary(&x, &args, t1 - t0);
		rv = 0;
	}
	cella_rpc_client_free(x.c);
	cp_ctx_fini(&x);
	return rv;
}

const struct cella_cmd cella_cmd_cp = {
	.name = "cp",
	.run = cmd_cp,
	.summary = "copy files and directories in or out",
	.connects = true,
	.opts = opts,
	.args = "[--json] [-q] [-j N] SRC DST",
	.help = "Copy files and directories in or out of the enclave; one of\n"
		"SRC and DST is :/PATH in the enclave (docker cp style).\n",
	.max_args = -1,
};
