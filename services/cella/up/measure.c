/*
 * measure: manifests and digests for the emulator's PCRs (measure.h says
 * what goes in). Files are hashed in fixed-size reads: an executable of
 * any size costs 64 KiB of memory.
 */
#include "services/cella/up/measure.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/core/buf.h"

/* cella-init's own fallback (services/init/run.c). */
#define INIT_DEFAULT_PATH \
	"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

int
cella_measure_file(const char *path, uint8_t out[48])
{
	static uint8_t buf[65536];
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	int fd = open(path, O_RDONLY | O_CLOEXEC), rv = 0;
	ssize_t n;

	if (fd < 0 || md == NULL ||
	    EVP_DigestInit_ex(md, EVP_sha384(), NULL) != 1) {
		rv = fd < 0 ? -errno : -ENOMEM;
		goto out;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		if (EVP_DigestUpdate(md, buf, (size_t)n) != 1) {
			rv = -EIO;
			goto out;
		}
	if (n < 0)
		rv = -errno;
	else if (EVP_DigestFinal_ex(md, out, NULL) != 1)
		rv = -EIO;
out:
	if (fd >= 0)
		close(fd);
	EVP_MD_CTX_free(md);
	return rv;
}

void
cella_measure_bytes(const void *p, size_t n, uint8_t out[48])
{
	(void)EVP_Digest(p, n, out, NULL, EVP_sha384(), NULL);
}

int
cella_measure_find_exe(const char *name, const char *workdir,
		       const char *path, char *out, size_t cap)
{
	const char *p, *colon;
	int err = -ENOENT, n;

	if (strchr(name, '/') != NULL) {
		n = name[0] == '/' ? snprintf(out, cap, "%s", name)
				   : snprintf(out, cap, "%s/%s", workdir, name);
		if (n < 0 || (size_t)n >= cap)
			return -ENAMETOOLONG;
		return access(out, X_OK) == 0 ? 0 : -errno;
	}
	for (p = path ? path : INIT_DEFAULT_PATH;; p = colon + 1) {
		colon = strchrnul(p, ':');
		n = snprintf(out, cap, "%.*s/%s", (int)(colon - p), p, name);
		if (n > 0 && (size_t)n < cap && access(out, X_OK) == 0)
			return 0;
		if (errno != ENOENT)
			err = -errno;
		if (*colon == '\0')
			return err;
	}
}

int
cella_manifest_add(struct cella_manifest *m, const char *path,
		   struct cella_diag *d)
{
	void *ne;
	int rv;

	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->e[i].path, path) == 0)
			return 0;
	if (m->n == CELLA_MANIFEST_MAX)
		return cella_diag_set(d, -E2BIG, "more than %d executables",
				      CELLA_MANIFEST_MAX);
	if (strlen(path) >= sizeof(m->e[0].path))
		return cella_diag_set(d, -ENAMETOOLONG, "%s: path too long",
				      path);
	if ((ne = realloc(m->e, (m->n + 1) * sizeof(*m->e))) == NULL)
		return -ENOMEM;
	m->e = ne;
	snprintf(m->e[m->n].path, sizeof(m->e[m->n].path), "%s", path);
	if ((rv = cella_measure_file(path, m->e[m->n].sha384)) < 0)
		return cella_diag_set(d, rv, "%s: %s", path, cella_strerror(rv));
	m->n++;
	return 0;
}

static int
cmp_entry(const void *a, const void *b)
{
	/* strcmp compares as unsigned char: byte order, as LC_ALL=C sort. */
	return strcmp((const char *)a, (const char *)b);
}

int
cella_manifest_finish(struct cella_manifest *m, char **text, uint8_t pcr[48])
{
	size_t cap = 1, off = 0;
	char *t;

	if (m->n > 0)
		qsort(m->e, m->n, sizeof(*m->e), cmp_entry);
	for (size_t i = 0; i < m->n; i++)
		cap += 96 + 2 + strlen(m->e[i].path) + 1;
	if ((t = malloc(cap)) == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < m->n; i++) {
		cella_hex_encode(m->e[i].sha384, 48, t + off, cap - off);
		off += 96;
		off += (size_t)snprintf(t + off, cap - off, "  %s\n",
					m->e[i].path);
	}
	t[off] = '\0';
	cella_measure_bytes(t, off, pcr);
	*text = t;
	return 0;
}

void
cella_manifest_fini(struct cella_manifest *m)
{
	free(m->e);
	m->e = NULL;
	m->n = 0;
}
