/*
 * nsm_simconf: what a sim starts from, read from the files `cella sim-ca
 * issue` writes and from a measurements file. Each file is size-checked
 * before it is read and the chain is checked link by link, so a wrong file
 * fails at start-up with a message naming it, never at the first document.
 * Does not verify validity periods: the verifier judges documents at
 * their own time.
 */
#include "common/nsm/sim/nsm_sim.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/core/buf.h"
#include "common/core/file.h"
#include "common/core/log.h"

#define CONF_FILE_MAX (64 * 1024)

void
cella_nsm_sim_conf_init(struct cella_nsm_sim_conf *c)
{
	memset(c, 0, sizeof(*c));
	c->pool_size = 32;
	c->leaf_max_age_ms = 5000;
	c->pool_warm_ms = 60000;
}

void
cella_nsm_sim_conf_fini(struct cella_nsm_sim_conf *c)
{
	EVP_PKEY_free(c->signer_key);
	sk_X509_pop_free(c->cabundle, X509_free);
	c->signer_key = NULL;
	c->cabundle = NULL;
}

int
cella_nsm_sim_conf_set_pcr(struct cella_nsm_sim_conf *c, unsigned index,
			   const uint8_t value[CELLA_NSM_PCR_LEN])
{
	if (index >= CELLA_NSM_SIM_BOOT_PCRS)
		return -ERANGE;
	memcpy(c->pcrs[index], value, CELLA_NSM_PCR_LEN);
	c->pcr_set |= (uint16_t)(1u << index);
	return 0;
}

int
cella_nsm_sim_conf_set_signer(struct cella_nsm_sim_conf *c, EVP_PKEY *key,
			      STACK_OF(X509) *cabundle)
{
	STACK_OF(X509) *dup = X509_chain_up_ref(cabundle);

	if (dup == NULL)
		return -ENOMEM;
	EVP_PKEY_up_ref(key);
	cella_nsm_sim_conf_fini(c);
	c->signer_key = key;
	c->cabundle = dup;
	return 0;
}

/*
 * The whole of a small file, NUL-terminated; d names it on failure. A
 * secret that others can read is used all the same (a sim key guards
 * nothing real) but said so in the log.
 */
static int
slurp(const char *path, bool secret, char **out, size_t *len,
      struct cella_diag *d)
{
	struct stat st;
	char *buf = NULL;
	ssize_t n = 0;
	int fd = -1, rc = 0;

	if ((fd = cella_file_open_regular(path, d)) < 0) {
		rc = fd;
		goto out;
	}
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		cella_diag_set(d, rc, "%s: %s", path, cella_strerror(rc));
		goto out;
	}
	if (st.st_size > CONF_FILE_MAX) {
		rc = cella_diag_set(d, -EMSGSIZE, "%s: larger than %d bytes",
				    path, CONF_FILE_MAX);
		goto out;
	}
	if (secret && (st.st_mode & 077))
		cella_log_warn("sim_key_mode", "path=%s mode=%03o msg=%s",
			       cella_q(path), (unsigned)(st.st_mode & 0777),
			       cella_q("key file readable by others"));
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	n = read(fd, buf, (size_t)st.st_size);
	if (n != st.st_size) {
		rc = cella_diag_set(d, -EIO, "%s: short read", path);
		goto out;
	}
	buf[n] = '\0';
	*out = buf;
	*len = (size_t)n;
	buf = NULL;
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	return rc;
}

static int
no_password(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return 0; /* an encrypted key is refused, never prompted for */
}

static int
read_key(const char *path, EVP_PKEY **out, struct cella_diag *d)
{
	EVP_PKEY *key = NULL;
	char *text = NULL;
	size_t len;
	BIO *bio;
	int rc = slurp(path, true, &text, &len, d);

	if (rc < 0)
		return rc;
	bio = BIO_new_mem_buf(text, (int)len);
	if (bio != NULL)
		key = PEM_read_bio_PrivateKey(bio, NULL, no_password, NULL);
	BIO_free(bio);
	free(text);
	ERR_clear_error();
	if (key == NULL || !EVP_PKEY_is_a(key, "EC") ||
	    EVP_PKEY_get_bits(key) != 384) {
		EVP_PKEY_free(key);
		return cella_diag_set(d, -EINVAL, "%s: not an unencrypted "
				      "P-384 private key in PEM", path);
	}
	*out = key;
	return 0;
}

static int
read_certs(const char *path, STACK_OF(X509) **out, struct cella_diag *d)
{
	STACK_OF(X509) *sk = sk_X509_new_null();
	char *text = NULL;
	size_t len;
	X509 *x;
	BIO *bio = NULL;
	int rc = slurp(path, false, &text, &len, d);

	if (rc == 0 && (sk == NULL ||
			(bio = BIO_new_mem_buf(text, (int)len)) == NULL))
		rc = -ENOMEM;
	while (rc == 0 && (x = PEM_read_bio_X509(bio, NULL, no_password,
						 NULL)) != NULL) {
		if (sk_X509_num(sk) == 8 || !sk_X509_push(sk, x)) {
			X509_free(x);
			rc = cella_diag_set(d, -EMSGSIZE, "%s: more than 8 "
					    "certificates", path);
		}
	}
	ERR_clear_error();
	if (rc == 0 && sk_X509_num(sk) == 0)
		rc = cella_diag_set(d, -EINVAL, "%s: no PEM certificate",
				    path);
	BIO_free(bio);
	free(text);
	if (rc < 0) {
		sk_X509_pop_free(sk, X509_free);
		return rc;
	}
	*out = sk;
	return 0;
}

/* Root first, each issued by the one before, the key's own last. */
static int
check_chain(STACK_OF(X509) *sk, EVP_PKEY *key, const char *path,
	    struct cella_diag *d)
{
	int n = sk_X509_num(sk);
	X509 *last = sk_X509_value(sk, n - 1);

	for (int i = 0; i < n; i++) {
		X509 *up = sk_X509_value(sk, i > 0 ? i - 1 : 0);
		X509 *x = sk_X509_value(sk, i);

		if (X509_check_issued(up, x) != X509_V_OK ||
		    X509_verify(x, X509_get0_pubkey(up)) != 1) {
			ERR_clear_error();
			return cella_diag_set(d, -EINVAL, "%s: certificate "
					      "%d is not %s", path, i + 1,
					      i == 0 ? "self-signed (the "
					      "root comes first)" :
					      "issued by the one before it");
		}
	}
	if (X509_check_ca(last) == 0)
		return cella_diag_set(d, -EINVAL, "%s: the last certificate "
				      "is not a CA", path);
	if (EVP_PKEY_eq(X509_get0_pubkey(last), key) != 1)
		return cella_diag_set(d, -EINVAL, "%s: the last certificate "
				      "is not the signer key's", path);
	return 0;
}

int
cella_nsm_sim_conf_load_ca(struct cella_nsm_sim_conf *c, const char *dir,
			   struct cella_diag *d)
{
	char kpath[4096], cpath[4096];
	STACK_OF(X509) *sk = NULL;
	EVP_PKEY *key = NULL;
	int rc;

	if ((size_t)snprintf(kpath, sizeof(kpath), "%s/%s", dir,
			     CELLA_NSM_SIM_KEY_FILE) >= sizeof(kpath) ||
	    (size_t)snprintf(cpath, sizeof(cpath), "%s/%s", dir,
			     CELLA_NSM_SIM_CABUNDLE_FILE) >= sizeof(cpath))
		return cella_diag_set(d, -ENAMETOOLONG, "%s: path too long",
				      dir);
	rc = read_key(kpath, &key, d);
	if (rc == 0)
		rc = read_certs(cpath, &sk, d);
	if (rc == 0)
		rc = check_chain(sk, key, cpath, d);
	if (rc == 0)
		rc = cella_nsm_sim_conf_set_signer(c, key, sk);
	EVP_PKEY_free(key);
	sk_X509_pop_free(sk, X509_free);
	return rc;
}

static int
pcr_index(const char *s)
{
	char *end;
	long v;

	if (s[0] < '0' || s[0] > '9' || (s[0] == '0' && s[1] != '\0'))
		return -1;
	v = strtol(s, &end, 10);
	if (*end != '\0' || v >= CELLA_NSM_SIM_BOOT_PCRS)
		return -1;
	return (int)v;
}

static int
read_pcrs(struct cella_nsm_sim_conf *c, const cJSON *pcrs, const char *path,
	  struct cella_diag *d)
{
	uint8_t v[CELLA_NSM_PCR_LEN];
	const cJSON *e;
	int i;

	if (!cJSON_IsObject(pcrs))
		return cella_diag_set(d, -EINVAL, "%s: pcrs: expected an "
				      "object", path);
	cJSON_ArrayForEach(e, pcrs)
	{
		i = pcr_index(e->string);
		if (i < 0)
			return cella_diag_set(d, -EINVAL, "%s: pcrs: '%s' is "
					      "not an index 0..15", path,
					      e->string);
		if (!cJSON_IsString(e) ||
		    strlen(e->valuestring) != 2 * CELLA_NSM_PCR_LEN ||
		    cella_hex_decode(e->valuestring, 2 * CELLA_NSM_PCR_LEN, v,
				     sizeof(v)) != CELLA_NSM_PCR_LEN)
			return cella_diag_set(d, -EINVAL, "%s: pcrs.%s: "
					      "expected 96 hex digits", path,
					      e->string);
		cella_nsm_sim_conf_set_pcr(c, (unsigned)i, v);
	}
	return 0;
}

static int
read_measurements(struct cella_nsm_sim_conf *c, const cJSON *root,
		  const char *path, struct cella_diag *d)
{
	const cJSON *e;
	int rc = 0;

	if (!cJSON_IsObject(root))
		return cella_diag_set(d, -EINVAL, "%s: expected a JSON object",
				      path);
	cJSON_ArrayForEach(e, root)
	{
		if (strcmp(e->string, "pcrs") == 0) {
			rc = read_pcrs(c, e, path, d);
		} else if (strcmp(e->string, "module_id") == 0) {
			if (!cJSON_IsString(e) || strlen(e->valuestring) >
						       CELLA_NSM_SIM_MODULE_ID_MAX)
				return cella_diag_set(d, -EINVAL, "%s: "
						      "module_id: expected "
						      "text of 1..60 bytes",
						      path);
			snprintf(c->module_id, sizeof(c->module_id), "%s",
				 e->valuestring);
		} else {
			return cella_diag_set(d, -EINVAL, "%s: unknown key "
					      "'%s' (known: module_id, pcrs)",
					      path, e->string);
		}
		if (rc < 0)
			return rc;
	}
	return 0;
}

int
cella_nsm_sim_conf_load_measurements(struct cella_nsm_sim_conf *c,
				     const char *path, struct cella_diag *d)
{
	struct cella_nsm_sim_conf tmp;
	cJSON *root;
	char *text = NULL;
	size_t len;
	int rc = slurp(path, false, &text, &len, d);

	if (rc < 0)
		return rc;
	root = cJSON_ParseWithLength(text, len);
	free(text);
	if (root == NULL)
		return cella_diag_set(d, -EINVAL, "%s: not valid JSON", path);
	/* Read into a copy: a file that fails half-way changes nothing. */
	tmp = *c;
	rc = read_measurements(&tmp, root, path, d);
	cJSON_Delete(root);
	if (rc == 0) {
		memcpy(c->pcrs, tmp.pcrs, sizeof(c->pcrs));
		c->pcr_set = tmp.pcr_set;
		memcpy(c->module_id, tmp.module_id, sizeof(c->module_id));
	}
	return rc;
}
