/*
 * log: formats one logfmt line into a stack buffer and writes it with a
 * single write(2). It does not buffer or ship logs: the supervisor
 * (cella-init) captures stderr and owns that job. The one exception is
 * the supervisor at the top, whose stderr nobody captures: it may log to
 * a file of its own, which is rotated here (one old generation) so that
 * it cannot grow without bound. The rotation swaps the file under the log
 * fd with dup2, so threads logging at that moment write whole lines to
 * one file or the other.
 */
#include "common/core/log.h"
#include "common/core/clock.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 4096
#define Q_SLOTS 8
#define Q_MAX_IN 256

static char log_svc[32] = "cella";
static atomic_int log_level = CELLA_LOG_INFO;
static atomic_int log_fd = 2;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

/* The file of cella_log_open_file; rot_max 0: none. */
static pthread_mutex_t rot_mu = PTHREAD_MUTEX_INITIALIZER;
static char rot_path[PATH_MAX];
static atomic_size_t rot_max, rot_written;

void
cella_log_init(const char *svc, enum cella_log_level level)
{
	snprintf(log_svc, sizeof(log_svc), "%s", svc);
	atomic_store(&log_level, level);
}

void
cella_log_set_level(enum cella_log_level level)
{
	atomic_store(&log_level, level);
}

enum cella_log_level
cella_log_get_level(void)
{
	return (enum cella_log_level)atomic_load(&log_level);
}

void
cella_log_verbose(void)
{
	if (atomic_load(&log_level) < CELLA_LOG_DEBUG)
		atomic_fetch_add(&log_level, 1);
}

void
cella_log_set_fd(int fd)
{
	atomic_store(&rot_max, 0); /* not a file of ours any more */
	atomic_store(&log_fd, fd);
}

/* path.1 becomes the old lines, a fresh path the log fd's file. */
static void
log_rotate(void)
{
	char old[PATH_MAX + 2];
	int fd, lfd = atomic_load(&log_fd);

	if (pthread_mutex_trylock(&rot_mu) != 0)
		return; /* another thread rotates right now */
	if (atomic_load(&rot_written) >= atomic_load(&rot_max)) {
		snprintf(old, sizeof(old), "%s.1", rot_path);
		fd = rename(rot_path, old) == 0
			     ? open(rot_path, O_WRONLY | O_CREAT | O_APPEND |
						      O_TRUNC | O_CLOEXEC,
				    0600)
			     : -1;
		if (fd >= 0) {
			(void)dup2(fd, lfd);
			close(fd);
		} else {
			(void)ftruncate(lfd, 0); /* bounded, if nothing else */
		}
		atomic_store(&rot_written, 0);
	}
	pthread_mutex_unlock(&rot_mu);
}

int
cella_log_open_file(const char *path, size_t max_bytes)
{
	struct stat st;
	int fd, rv = 0;

	if (max_bytes == 0 || strlen(path) >= sizeof(rot_path))
		return -EINVAL;
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || dup2(fd, atomic_load(&log_fd)) < 0)
		rv = -errno;
	close(fd);
	if (rv < 0)
		return rv;
	pthread_mutex_lock(&rot_mu);
	snprintf(rot_path, sizeof(rot_path), "%s", path);
	atomic_store(&rot_written, (size_t)st.st_size);
	atomic_store(&rot_max, max_bytes);
	pthread_mutex_unlock(&rot_mu);
	if ((size_t)st.st_size >= max_bytes)
		log_rotate();
	return 0;
}

bool
cella_log_enabled(enum cella_log_level level)
{
	return (int)level <= atomic_load(&log_level);
}

static size_t
log_stamp(char *buf, size_t len)
{
	uint64_t ms = cella_wall_ms();
	time_t sec = (time_t)(ms / 1000u);
	struct tm tm;
	size_t n;

	gmtime_r(&sec, &tm);
	n = strftime(buf, len, "ts=%Y-%m-%dT%H:%M:%S", &tm);
	n += (size_t)snprintf(buf + n, len - n, ".%03uZ", (unsigned)(ms % 1000u));
	return n;
}

void
cella_log_event(enum cella_log_level level, const char *evt)
{
	cella_log_(level, evt, NULL);
}

void
cella_log_(enum cella_log_level level, const char *evt, const char *fmt, ...)
{
	char line[LOG_LINE_MAX];
	size_t n;
	int rv;
	va_list ap;
	int saved = errno;

	if (!cella_log_enabled(level))
		return;
	n = log_stamp(line, sizeof(line));
	n += (size_t)snprintf(line + n, sizeof(line) - n, " lvl=%s svc=%s evt=%s",
			      level_names[level], log_svc, evt);
	if (fmt != NULL && fmt[0] != '\0' && n < sizeof(line) - 2) {
		line[n++] = ' ';
		va_start(ap, fmt);
		rv = vsnprintf(line + n, sizeof(line) - n, fmt, ap);
		va_end(ap);
		if (rv > 0)
			n += (size_t)rv;
	}
	if (n > sizeof(line) - 2) {
		/* Truncated: say so rather than cut a value silently. */
		n = sizeof(line) - 5;
		memcpy(line + n, "...", 3);
		n += 3;
	}
	line[n++] = '\n';
	/* One write: a short write on stderr is not worth retrying. */
	if (write(atomic_load(&log_fd), line, n) > 0 &&
	    atomic_load(&rot_max) > 0 &&
	    atomic_fetch_add(&rot_written, n) + n >= atomic_load(&rot_max))
		log_rotate();
	errno = saved;
}

static bool
q_needs_quotes(const char *s)
{
	if (*s == '\0')
		return true;
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c >= 0x7f)
			return true;
	}
	return false;
}

const char *
cella_q(const char *s)
{
	static _Thread_local char ring[Q_SLOTS][Q_MAX_IN * 4 + 8];
	static _Thread_local unsigned slot;
	char *out, *o;
	size_t i;

	if (s == NULL)
		return "-";
	out = ring[slot++ % Q_SLOTS];
	if (!q_needs_quotes(s) && strlen(s) <= Q_MAX_IN)
		return s;
	o = out;
	*o++ = '"';
	for (i = 0; s[i] != '\0' && i < Q_MAX_IN; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\') {
			*o++ = '\\';
			*o++ = (char)c;
		} else if (c == '\n') {
			*o++ = '\\';
			*o++ = 'n';
		} else if (c < ' ' || c >= 0x7f) {
			o += snprintf(o, 5, "\\x%02x", c);
		} else {
			*o++ = (char)c;
		}
	}
	if (s[i] != '\0') {
		memcpy(o, "...", 3);
		o += 3;
	}
	*o++ = '"';
	*o = '\0';
	return out;
}
