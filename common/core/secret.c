/*
 * secret: page-aligned storage for key material, excluded from core dumps
 * (MADV_DONTDUMP) and wiped with OPENSSL_cleanse on free. It does not mlock:
 * enclaves have no swap, and mlock limits would make it fail on hosts.
 */
#include "common/core/secret.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <sys/mman.h>

struct cella_secret {
	size_t len;
	size_t maplen;
	uint8_t bytes[];
};

#define SECRET_MAX ((size_t)1 << 20)

int
cella_secret_new(size_t len, struct cella_secret **out)
{
	struct cella_secret *s;
	size_t maplen;

	if (len == 0 || len > SECRET_MAX)
		return -EINVAL;
	maplen = sizeof(*s) + len;
	s = mmap(NULL, maplen, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (s == MAP_FAILED)
		return -ENOMEM;
	(void)madvise(s, maplen, MADV_DONTDUMP);
	s->len = len;
	s->maplen = maplen;
	*out = s;
	return 0;
}

void
cella_secret_free(struct cella_secret *s)
{
	if (s == NULL)
		return;
	OPENSSL_cleanse(s->bytes, s->len);
	munmap(s, s->maplen);
}

uint8_t *
cella_secret_bytes(struct cella_secret *s)
{
	return s->bytes;
}

size_t
cella_secret_len(const struct cella_secret *s)
{
	return s->len;
}
