/*
 * opkey: the operator key file (Ed25519 private key and self-signed
 * certificate in one PEM file, 0600), written under a temporary name and
 * renamed, so a crash never leaves half a key behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/core/file.h"
#include "common/bridge/tls.h"

static int
ssl_fail(struct cella_diag *d, const char *what)
{
	char why[256];

	cella_err_ssl(-EPROTO, why, sizeof(why));
	return cella_diag_set(d, -EPROTO, "%s: %s", what, why);
}

/* mkdir -p for the file's directory, 0700 for directories we create. */
static int
make_parent(const char *path)
{
	char dir[PATH_MAX];
	char *slash;

	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
		return -ENAMETOOLONG;
	slash = strrchr(dir, '/');
	if (slash == NULL || slash == dir)
		return 0;
	*slash = '\0';
	for (char *p = dir + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int
write_pem(const char *path, EVP_PKEY *key, X509 *cert, struct cella_diag *d)
{
	char tmp[PATH_MAX];
	FILE *f = NULL;
	int fd, rv = 0;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >=
	    (int)sizeof(tmp))
		return cella_diag_set(d, -ENAMETOOLONG, "%s: path too long", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || (f = fdopen(fd, "w")) == NULL) {
		rv = cella_diag_set(d, -errno, "%s: %s", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		return rv;
	}
	if (!PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL) ||
	    !PEM_write_X509(f, cert))
		rv = ssl_fail(d, "cannot write the key");
	if (fflush(f) != 0 || fsync(fileno(f)) != 0)
		rv = rv ? rv : cella_diag_set(d, -errno, "%s: %s", tmp,
					      strerror(errno));
	fclose(f);
	if (rv == 0 && rename(tmp, path) < 0)
		rv = cella_diag_set(d, -errno, "%s: %s", path, strerror(errno));
	if (rv < 0)
		unlink(tmp);
	return rv;
}

int
cella_opkey_generate(const char *path, const char *name, bool force,
		     struct cella_diag *d)
{
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	int rv;

	if (!force && access(path, F_OK) == 0)
		return cella_diag_set(d, -EEXIST,
				      "%s exists (use --force to replace it)",
				      path);
	if ((rv = make_parent(path)) < 0)
		return cella_diag_set(d, rv, "%s: cannot create its directory: %s",
				      path, cella_strerror(rv));
	key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (key == NULL)
		return ssl_fail(d, "cannot generate an Ed25519 key");
	rv = cella_tls_selfsigned(key, name, 3650, &cert, d);
	if (rv == 0)
		rv = write_pem(path, key, cert, d);
	EVP_PKEY_free(key);
	X509_free(cert);
	return rv;
}

int
cella_opkey_load(const char *path, EVP_PKEY **key, X509 **cert,
		 struct cella_diag *d)
{
	struct cella_diag od;
	EVP_PKEY *k = NULL;
	X509 *c = NULL;
	struct stat st;
	int fd = cella_file_open_regular(path, &od);
	FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;

	if (fd >= 0 && f == NULL)
		close(fd);
	if (fd == -ENOENT)
		return cella_diag_set(d, fd, "operator key %s: %s (create one "
					     "with cella keygen)",
				      path, cella_strerror(fd));
	if (fd < 0)
		return cella_diag_set(d, fd, "operator key %s", od.msg);
	if (f == NULL)
		return cella_diag_set(d, -ENOMEM, "operator key %s: out of "
						  "memory", path);
	if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077) != 0) {
		fclose(f);
		return cella_diag_set(d, -EPERM,
				      "operator key %s is readable by others "
				      "(chmod 600 it)",
				      path);
	}
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	if (k != NULL)
		c = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (k == NULL || c == NULL || EVP_PKEY_get_base_id(k) != EVP_PKEY_ED25519 ||
	    X509_check_private_key(c, k) != 1) {
		EVP_PKEY_free(k);
		X509_free(c);
		cella_err_ssl(-EINVAL, NULL, 0);
		return cella_diag_set(d, -EINVAL,
				      "operator key %s: not an Ed25519 key "
				      "followed by its certificate",
				      path);
	}
	*key = k;
	*cert = c;
	return 0;
}

int
cella_opkey_public(EVP_PKEY *key, uint8_t out[32])
{
	size_t len = 32;

	if (EVP_PKEY_get_raw_public_key(key, out, &len) != 1 || len != 32)
		return cella_err_ssl(-EINVAL, NULL, 0);
	return 0;
}

const char *
cella_opkey_default_path(char *buf, size_t len)
{
	const char *env = getenv("CELLA_OPERATOR_KEY");
	const char *home = getenv("HOME");

	if (env != NULL && env[0] != '\0')
		snprintf(buf, len, "%s", env);
	else
		snprintf(buf, len, "%s/.config/cella/operator.pem",
			 home != NULL ? home : "/root");
	return buf;
}
