/*
 * testing/util: the file, hex and waiting helpers of util.h. Test code:
 * set-up failures abort (TU_CHECK).
 */
#include "common/testing/util.h"

#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/core/buf.h"

const char *
tu_path(const char *rel)
{
	static char buf[4096];
	const char *root = getenv("CELLA_SOURCE_ROOT");
	int n = snprintf(buf, sizeof(buf), "%s/%s",
			 root != NULL ? root : ".", rel);

	TU_CHECK(n > 0 && (size_t)n < sizeof(buf));
	return buf;
}

uint8_t *
tu_read(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	uint8_t *p;
	long len;

	TU_CHECK(f != NULL);
	TU_CHECK(fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0);
	rewind(f);
	p = malloc((size_t)len + 1);
	TU_CHECK(p != NULL && fread(p, 1, (size_t)len, f) == (size_t)len);
	fclose(f);
	p[len] = '\0';
	*n = (size_t)len;
	return p;
}

size_t
tu_unhex(const char *hex, uint8_t *out, size_t cap)
{
	int n = cella_hex_decode(hex, strlen(hex), out, cap);

	TU_CHECK(n >= 0);
	return (size_t)n;
}

uint64_t
tu_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

bool
tu_wait_until(bool (*pred)(void *arg), void *arg, unsigned timeout_ms)
{
	const struct timespec tick = {.tv_nsec = 2 * 1000 * 1000};
	uint64_t deadline = tu_mono_ms() + timeout_ms;

	while (!pred(arg)) {
		if (tu_mono_ms() >= deadline)
			return pred(arg);
		nanosleep(&tick, NULL);
	}
	return true;
}

void
tu_capture_begin(struct tu_capture *c, int fd)
{
	fflush(stdout);
	fflush(stderr);
	c->fd = fd;
	TU_CHECK((c->tmp = tmpfile()) != NULL);
	TU_CHECK((c->saved = dup(fd)) >= 0);
	TU_CHECK(dup2(fileno(c->tmp), fd) == fd);
}

char *
tu_capture_end(struct tu_capture *c)
{
	char *text;
	long n;

	fflush(stdout);
	fflush(stderr);
	TU_CHECK(dup2(c->saved, c->fd) == c->fd);
	close(c->saved);
	TU_CHECK(fseek(c->tmp, 0, SEEK_END) == 0 && (n = ftell(c->tmp)) >= 0);
	rewind(c->tmp);
	TU_CHECK((text = malloc((size_t)n + 1)) != NULL);
	TU_CHECK(fread(text, 1, (size_t)n, c->tmp) == (size_t)n);
	text[n] = '\0';
	fclose(c->tmp);
	return text;
}
