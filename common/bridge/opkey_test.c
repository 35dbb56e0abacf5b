/*
 * opkey_test: the operator key file. Generated: an Ed25519 key and its
 * self-signed certificate in one PEM, mode 0600, parent directories made
 * 0700, never over an existing file unless forced; loaded back: the same
 * key. Refused, each with its message: a missing file, one others can
 * read, a key of another type, a key without its certificate, a
 * certificate that is not the key's. The default path follows
 * $CELLA_OPERATOR_KEY, then $HOME.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/bridge/tls.h"
#include "tests/lib/rmtree.h"

static char dir[] = "/tmp/opkey-test-XXXXXX";

static int
setup(void **state)
{
	(void)state;
	return mkdtemp(dir) != NULL ? 0 : -1;
}

static int
teardown(void **state)
{
	(void)state;
	return rmtree(dir);
}

static const char *
path_of(const char *rel)
{
	static char buf[256];

	snprintf(buf, sizeof(buf), "%s/%s", dir, rel);
	return buf;
}

static void
public_of(const char *path, uint8_t pub[32])
{
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	struct cella_diag d = {""};
	uint8_t cpub[32];

	if (cella_opkey_load(path, &key, &cert, &d) != 0)
		fail_msg("load: %s", d.msg);
	assert_int_equal(cella_opkey_public(key, pub), 0);
	assert_int_equal(cella_opkey_public(X509_get0_pubkey(cert), cpub), 0);
	assert_memory_equal(pub, cpub, 32);
	EVP_PKEY_free(key);
	X509_free(cert);
}

static void
test_generate_and_load(void **state)
{
	char p[256], want[300];
	struct cella_diag d = {""};
	struct stat st;
	uint8_t a[32], b[32];

	(void)state;
	snprintf(p, sizeof(p), "%s", path_of("deep/er/operator.pem"));
	assert_int_equal(cella_opkey_generate(p, "alice", false, &d), 0);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(stat(path_of("deep/er"), &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	public_of(p, a);
	/* not over an existing file */
	assert_int_equal(cella_opkey_generate(p, "alice", false, &d), -EEXIST);
	snprintf(want, sizeof(want), "%s exists (use --force to replace it)",
		 p);
	assert_string_equal(d.msg, want);
	public_of(p, b);
	assert_memory_equal(a, b, 32);
	/* forced: a new key */
	assert_int_equal(cella_opkey_generate(p, "alice", true, &d), 0);
	public_of(p, b);
	assert_memory_not_equal(a, b, 32);
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
}

/* Write a PEM file of key and/or cert, mode 0600. */
static void
write_pem(const char *p, EVP_PKEY *key, X509 *cert)
{
	FILE *f = fopen(p, "w");

	assert_non_null(f);
	if (key != NULL)
		assert_int_equal(PEM_write_PrivateKey(f, key, NULL, NULL, 0,
						      NULL, NULL),
				 1);
	if (cert != NULL)
		assert_int_equal(PEM_write_X509(f, cert), 1);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(p, 0600), 0);
}

static void
expect_refused(const char *p, int rv, const char *suffix)
{
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	struct cella_diag d = {""};
	char want[400];

	assert_int_equal(cella_opkey_load(p, &key, &cert, &d), rv);
	assert_null(key);
	assert_null(cert);
	snprintf(want, sizeof(want), "operator key %s%s", p, suffix);
	assert_string_equal(d.msg, want);
}

static void
test_load_refused(void **state)
{
	EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	EVP_PKEY *ed2 = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	X509 *ed_cert = NULL, *ed2_cert = NULL, *ec_cert = NULL;
	static const char bad[] =
		": not an Ed25519 key followed by its certificate";
	char p[256];

	(void)state;
	assert_int_equal(cella_tls_selfsigned(ed, "a", 1, &ed_cert, NULL), 0);
	assert_int_equal(cella_tls_selfsigned(ed2, "b", 1, &ed2_cert, NULL), 0);
	assert_int_equal(cella_tls_selfsigned(ec, "c", 1, &ec_cert, NULL), 0);
	expect_refused(path_of("none.pem"), -ENOENT,
		       ": No such file or directory (create one with cella "
		       "keygen)");
	snprintf(p, sizeof(p), "%s", path_of("open.pem"));
	write_pem(p, ed, ed_cert);
	assert_int_equal(chmod(p, 0644), 0);
	expect_refused(p, -EPERM, " is readable by others (chmod 600 it)");
	snprintf(p, sizeof(p), "%s", path_of("p384.pem"));
	write_pem(p, ec, ec_cert);
	expect_refused(p, -EINVAL, bad);
	snprintf(p, sizeof(p), "%s", path_of("nocert.pem"));
	write_pem(p, ed, NULL);
	expect_refused(p, -EINVAL, bad);
	snprintf(p, sizeof(p), "%s", path_of("notmine.pem"));
	write_pem(p, ed, ed2_cert);
	expect_refused(p, -EINVAL, bad);
	snprintf(p, sizeof(p), "%s", path_of("certfirst.pem"));
	write_pem(p, NULL, ed_cert);
	expect_refused(p, -EINVAL, bad);
	X509_free(ed_cert);
	X509_free(ed2_cert);
	X509_free(ec_cert);
	EVP_PKEY_free(ed);
	EVP_PKEY_free(ed2);
	EVP_PKEY_free(ec);
}

static void
test_default_path(void **state)
{
	char buf[256];

	(void)state;
	setenv("CELLA_OPERATOR_KEY", "/k/op.pem", 1);
	assert_string_equal(cella_opkey_default_path(buf, sizeof(buf)),
			    "/k/op.pem");
	setenv("CELLA_OPERATOR_KEY", "", 1);
	setenv("HOME", "/home/x", 1);
	assert_string_equal(cella_opkey_default_path(buf, sizeof(buf)),
			    "/home/x/.config/cella/operator.pem");
	unsetenv("CELLA_OPERATOR_KEY");
	assert_string_equal(cella_opkey_default_path(buf, sizeof(buf)),
			    "/home/x/.config/cella/operator.pem");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_generate_and_load),
		cmocka_unit_test(test_load_refused),
		cmocka_unit_test(test_default_path),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
