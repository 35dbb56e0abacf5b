/*
 * console: console.log unwrapped (console.h). The logfmt reader here
 * undoes exactly what cella's writers do (log.c's cella_q and init's line
 * echo): bare values end at a space, quoted ones may hold \" \\ \n \t and
 * \xNN. Anything that is not logfmt is shown as it is.
 */
#include "services/cella/up/console.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TAIL_MAX 50

/* The init events worth a line in the foreground; warnings always are. */
static const char *const shown_events[] = {
	"svc_exit", "svc_kill", "ready", "shutdown", "exit", "heartbeat_ok",
	"heartbeat", "enclave_started", "enclave_exit", "start_failed", NULL,
};

static int
hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

/* One value at p into out (unescaped); returns the end of the value. */
static const char *
lf_value(const char *p, char *out, size_t cap)
{
	size_t o = 0;
	bool quoted = *p == '"';

	for (p += quoted; *p != '\0'; p++) {
		char ch = *p;

		if (quoted && ch == '"') {
			p++;
			break;
		}
		if (!quoted && ch == ' ')
			break;
		if (quoted && ch == '\\' && p[1] != '\0') {
			ch = *++p;
			if (ch == 'n')
				ch = '\n';
			else if (ch == 't')
				ch = '\t';
			else if (ch == 'x' && hexval(p[1]) >= 0 &&
				 hexval(p[2]) >= 0) {
				ch = (char)(hexval(p[1]) * 16 + hexval(p[2]));
				p += 2;
			}
		}
		if (o + 1 < cap)
			out[o++] = ch;
	}
	out[o] = '\0';
	return p;
}

/* The value of key in a logfmt line; false when it is not there. */
static bool
lf_get(const char *line, const char *key, char *out, size_t cap)
{
	size_t kl = strlen(key);
	const char *p = line;

	while (*p != '\0') {
		while (*p == ' ')
			p++;
		if (strncmp(p, key, kl) == 0 && p[kl] == '=') {
			lf_value(p + kl + 1, out, cap);
			return true;
		}
		while (*p != '\0' && *p != '=' && *p != ' ')
			p++;
		if (*p == '=')
			p = lf_value(p + 1, out, cap);
	}
	return false;
}

/* A cella logfmt line without its ts=, lvl=info and svc= fields. */
static void
strip(const char *text, char *out, size_t cap)
{
	char lvl[16] = "", tmp[64];
	const char *p = text;

	if (strncmp(p, "ts=", 3) == 0) {
		p = strchrnul(p, ' ');
		p += *p == ' ';
		if (strncmp(p, "lvl=", 4) == 0) {
			p = lf_value(p + 4, lvl, sizeof(lvl));
			p += *p == ' ';
		}
		if (strncmp(p, "svc=", 4) == 0) {
			p = lf_value(p + 4, tmp, sizeof(tmp));
			p += *p == ' ';
		}
		if (strncmp(p, "evt=", 4) == 0)
			p += 4;
	}
	if (lvl[0] != '\0' && strcmp(lvl, "info") != 0)
		snprintf(out, cap, "%s: %s", lvl, p);
	else
		snprintf(out, cap, "%s", p);
}

static bool
shown(const char *evt)
{
	for (const char *const *e = shown_events; *e != NULL; e++)
		if (strcmp(*e, evt) == 0)
			return true;
	return false;
}

/* An event line of a supervisor (svc=init or launch) as source says it. */
static void
event_line(const char *svc, const char *text, struct cella_console_line *out)
{
	char lvl[16] = "info", evt[64] = "";

	(void)lf_get(text, "lvl", lvl, sizeof(lvl));
	(void)lf_get(text, "evt", evt, sizeof(evt));
	snprintf(out->source, sizeof(out->source), "%s", svc);
	strip(text, out->text, sizeof(out->text));
	out->event = true;
	out->problem = strcmp(lvl, "warn") == 0 || strcmp(lvl, "error") == 0;
	out->quiet = !out->problem && !shown(evt);
}

/* A line of the enclave's console (the launcher's stderr). */
static void
enclave_line(const char *text, struct cella_console_line *out)
{
	char svc[64] = "", evt[64] = "", *inner;

	if (strncmp(text, "ts=", 3) != 0 || !lf_get(text, "svc", svc, sizeof(svc))) {
		snprintf(out->source, sizeof(out->source), "enclave");
		snprintf(out->text, sizeof(out->text), "%s", text);
		return;
	}
	(void)lf_get(text, "evt", evt, sizeof(evt));
	if (strcmp(svc, "init") != 0 || strcmp(evt, "output") != 0) {
		event_line(svc, text, out);
		return;
	}
	if ((inner = malloc(CELLA_CONSOLE_LINE_MAX)) == NULL)
		return;
	(void)lf_get(text, "service", out->source, sizeof(out->source));
	(void)lf_get(text, "line", inner, CELLA_CONSOLE_LINE_MAX);
	strip(inner, out->text, sizeof(out->text));
	free(inner);
}

bool
cella_console_parse(const char *raw, struct cella_console_line *out)
{
	char svc[32] = "", evt[32] = "", *line;

	memset(out, 0, sizeof(*out));
	if (strncmp(raw, "ts=", 3) != 0 || !lf_get(raw, "svc", svc, sizeof(svc))) {
		snprintf(out->source, sizeof(out->source), "host");
		snprintf(out->text, sizeof(out->text), "%s", raw);
		return true;
	}
	(void)lf_get(raw, "evt", evt, sizeof(evt));
	if (strcmp(evt, "output") != 0) {
		event_line("host", raw, out);
		out->quiet = !out->problem;
		return !out->quiet;
	}
	if ((line = malloc(CELLA_CONSOLE_LINE_MAX)) == NULL)
		return false;
	(void)lf_get(raw, "service", out->source, sizeof(out->source));
	(void)lf_get(raw, "line", line, CELLA_CONSOLE_LINE_MAX);
	if (strcmp(out->source, "enclave") == 0)
		enclave_line(line, out);
	else
		strip(line, out->text, sizeof(out->text));
	free(line);
	return !out->quiet;
}

int
cella_console_open(struct cella_console *c, const char *path, bool from_start)
{
	c->len = 0;
	c->color = isatty(STDOUT_FILENO) && getenv("NO_COLOR") == NULL;
	snprintf(c->path, sizeof(c->path), "%s", path);
	c->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (c->fd < 0)
		return -errno;
	c->off = from_start ? 0 : lseek(c->fd, 0, SEEK_END);
	return 0;
}

void
cella_console_close(struct cella_console *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

/* The file at c->path is another one than ours: it was rotated. */
static bool
rotated(const struct cella_console *c)
{
	struct stat a, b;

	return fstat(c->fd, &a) == 0 && stat(c->path, &b) == 0 &&
	       (a.st_ino != b.st_ino || a.st_dev != b.st_dev);
}

static void
print_line(struct cella_console *c, const char *raw, FILE *f)
{
	static const int colors[] = {36, 33, 32, 35, 34, 96};
	struct cella_console_line l;
	unsigned h = 0;

	if (!cella_console_parse(raw, &l))
		return;
	for (const char *p = l.source; *p != '\0'; p++)
		h = h * 31 + (unsigned char)*p;
	if (c->color)
		fprintf(f, "\033[%dm%-12s |\033[0m %s\n",
			l.problem ? 31 : colors[h % 6], l.source, l.text);
	else
		fprintf(f, "%-12s | %s\n", l.source, l.text);
}

/* Print every complete line of c's file from c->off to its end. */
static void
drain(struct cella_console *c, FILE *f)
{
	ssize_t n;
	char *nl;

	while ((n = pread(c->fd, c->buf + c->len, sizeof(c->buf) - 1 - c->len,
			  c->off)) > 0) {
		c->off += n;
		c->len += (size_t)n;
		c->buf[c->len] = '\0';
		while ((nl = memchr(c->buf, '\n', c->len)) != NULL) {
			*nl = '\0';
			print_line(c, c->buf, f);
			c->len -= (size_t)(nl + 1 - c->buf);
			memmove(c->buf, nl + 1, c->len);
		}
		if (c->len == sizeof(c->buf) - 1) { /* no newline in sight */
			print_line(c, c->buf, f);
			c->len = 0;
		}
	}
}

void
cella_console_pump(struct cella_console *c, FILE *f)
{
	int fd;

	if (c->fd < 0)
		return;
	drain(c, f);
	/* Rotated: the rest of the old file, then the new one from its start. */
	while (rotated(c) && (fd = open(c->path, O_RDONLY | O_CLOEXEC)) >= 0) {
		drain(c, f);
		close(c->fd);
		c->fd = fd;
		c->off = 0;
		drain(c, f);
	}
	fflush(f);
}

static bool
tail_match(const struct cella_console_line *l, const char *source)
{
	if (strcmp(l->source, source) == 0)
		return true;
	return strcmp(source, "enclave") == 0 &&
	       (strcmp(l->source, "launch") == 0 ||
		(strcmp(l->source, "init") == 0 && l->event));
}

/* Keep the lines of the file at path that match source in ring. */
static void
tail_file(const char *path, const char *source, size_t n,
	  struct cella_console_line *ring, size_t *count)
{
	struct cella_console_line l;
	FILE *in = fopen(path, "re");
	char *raw = NULL;
	size_t cap = 0;
	ssize_t len;

	if (in == NULL)
		return;
	while ((len = getline(&raw, &cap, in)) > 0) {
		if (raw[len - 1] == '\n')
			raw[len - 1] = '\0';
		(void)cella_console_parse(raw, &l);
		if (tail_match(&l, source))
			ring[(*count)++ % n] = l;
	}
	free(raw);
	fclose(in);
}

int
cella_console_tail(const char *path, const char *source, int n, FILE *f)
{
	static struct cella_console_line ring[TAIL_MAX];
	char old[PATH_MAX + 4];
	size_t count = 0;

	if (n > TAIL_MAX)
		n = TAIL_MAX;
	if (n <= 0)
		return 0;
	snprintf(old, sizeof(old), "%s.1", path);
	tail_file(old, source, (size_t)n, ring, &count);
	tail_file(path, source, (size_t)n, ring, &count);
	for (size_t i = count > (size_t)n ? count - (size_t)n : 0; i < count; i++)
		fprintf(f, "    %s | %s\n", ring[i % (size_t)n].source,
			ring[i % (size_t)n].text);
	return (int)(count > (size_t)n ? (size_t)n : count);
}
