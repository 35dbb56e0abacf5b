/*
 * cmd_sim_ca: `cella sim-ca`, the host side of attestation simulation. It
 * plays AWS's part: `init` creates a simulation root and a regional CA in a
 * directory that stays on the host, `issue` gives one enclave an instance
 * CA (its key and the chain) that the `sim` NSM provider signs its
 * per-document leaves with. The enclave never gets the root's or the
 * regional's key. Every file is written under a temporary name and renamed
 * into place, keys 0600; nothing existing is replaced without --force, and
 * the check is made for every file before any is written. A directory
 * another user owns or can write to is refused. Certificate profiles are
 * nsm_simca.h's; this file is flags and files.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/pem.h>
#include <pwd.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "common/nsm/sim/nsm_sim.h"
#include "common/nsm/sim/nsm_simca.h"
#include "common/nsm/nsm_x509.h"
#include "services/cella/cmd.h"

#define DEFAULT_DAYS 30
#define MAX_DAYS 3650

#define STR_(x) #x
#define STR(x) STR_(x)

struct opts {
	const char *dir, *out, *name;
	uint64_t days;
	bool force;
};

static struct opts args = {.days = DEFAULT_DAYS};

static const struct cella_opt opts[] = {
	{"dir", 0, CELLA_OPT_STR, &args.dir, .metavar = "DIR",
	 .help = "the CA directory"},
	{"out", 0, CELLA_OPT_STR, &args.out, .metavar = "ENCLAVE_DIR",
	 .help = "where issue writes the enclave's files"},
	{"name", 0, CELLA_OPT_STR, &args.name, .metavar = "NAME",
	 .help = "the enclave's instance id, 1.." STR(CELLA_NSM_SIMCA_NAME_MAX)
		 " of\n[A-Za-z0-9_-] (default: i-<17 hex>); the\n"
		 "sim's module_id becomes NAME-enc<16 hex>"},
	{"days", 0, CELLA_OPT_U64, &args.days, .min = 1, .max = MAX_DAYS,
	 .metavar = "N",
	 .help = "the instance CA's validity (default " STR(DEFAULT_DAYS) ")"},
	{"force", 0, CELLA_OPT_FLAG, &args.force,
	 .help = "replace existing files"},
	{0},
};

/* An output file: its name, mode and PEM text. */
struct outfile {
	const char *name;
	mode_t mode;
	BIO *pem;
};

static int
usage_error(const char *msg, const char *arg)
{
	fprintf(stderr, "cella sim-ca: %s%s%s (try 'cella sim-ca --help')\n",
		msg, arg ? " " : "", arg ? arg : "");
	return EX_USAGE;
}

static int
ensure_dir(const char *path)
{
	struct stat st;

	if (mkdir(path, 0700) == 0)
		return 0;
	if (errno == EEXIST && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return 0;
	fprintf(stderr, "cella sim-ca: cannot create directory %s: %s\n", path,
		strerror(errno == EEXIST ? ENOTDIR : errno));
	return EX_CANTCREAT;
}

/*
 * Like ssh's StrictModes: the CA's keys must be in a directory only we
 * control. The directory itself must be ours and writable by no one else;
 * every directory above it must be ours or root's, and writable by others
 * only when sticky (/tmp), or another user could swap the directory out
 * from under us. Exit 77 when it is not so.
 */
static int
check_owner(const char *path, const struct stat *st, bool self)
{
	struct passwd *pw = getpwuid(st->st_uid);
	const char *who = pw != NULL ? pw->pw_name : "?";

	if (st->st_uid != geteuid() && (self || st->st_uid != 0)) {
		fprintf(stderr, "cella sim-ca: refusing %s: it belongs to %s "
				"(uid %u), not to you (uid %u)\n",
			path, who, (unsigned)st->st_uid, (unsigned)geteuid());
		return EX_NOPERM;
	}
	if ((st->st_mode & 022) && (self || !(st->st_mode & S_ISVTX))) {
		fprintf(stderr, "cella sim-ca: refusing %s: others can write "
				"to it (mode %04o); chmod go-w it\n",
			path, (unsigned)(st->st_mode & 07777));
		return EX_NOPERM;
	}
	return 0;
}

static int
check_private(const char *dir)
{
	char real[PATH_MAX], *slash;
	struct stat st;
	int rc;

	if (realpath(dir, real) == NULL || stat(real, &st) < 0) {
		if (errno == ENOENT)
			return 0; /* nothing to protect: the caller says so */
		fprintf(stderr, "cella sim-ca: %s: %s\n", dir, strerror(errno));
		return EX_NOINPUT;
	}
	if ((rc = check_owner(dir, &st, true)) != 0)
		return rc;
	while ((slash = strrchr(real, '/')) != NULL && real[1] != '\0') {
		slash[slash == real] = '\0'; /* "/a" -> "/", "/a/b" -> "/a" */
		if (stat(real, &st) < 0) {
			fprintf(stderr, "cella sim-ca: %s: %s\n", real,
				strerror(errno));
			return EX_NOINPUT;
		}
		if ((rc = check_owner(real, &st, false)) != 0)
			return rc;
	}
	return 0;
}

static int
refuse_existing(const char *dir, const struct outfile *f, size_t n,
		bool force)
{
	char path[4096];
	int found = 0;

	for (size_t i = 0; i < n && !force; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, f[i].name);
		if (access(path, F_OK) == 0) {
			fprintf(stderr, "cella sim-ca: %s exists; --force "
					"replaces it\n", path);
			found = 1;
		}
	}
	return found ? EX_CANTCREAT : 0;
}

/* Temporary name, mode, contents, fsync, rename: all or nothing. */
static int
write_one(const char *dir, const struct outfile *f)
{
	char path[4096], tmp[4096];
	char *data;
	long n = BIO_get_mem_data(f->pem, &data);
	int fd, ok;

	snprintf(path, sizeof(path), "%s/%s", dir, f->name);
	snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dir, f->name);
	fd = mkstemp(tmp);
	if (fd < 0)
		goto fail;
	ok = fchmod(fd, f->mode) == 0 && n > 0 &&
	     write(fd, data, (size_t)n) == (ssize_t)n && fsync(fd) == 0;
	if (close(fd) != 0 || !ok || rename(tmp, path) != 0) {
		unlink(tmp);
		goto fail;
	}
	return 0;
fail:
	fprintf(stderr, "cella sim-ca: cannot write %s: %s\n", path,
		strerror(errno ? errno : EIO));
	return EX_CANTCREAT;
}

static int
write_all(const char *dir, const struct outfile *f, size_t n)
{
	int dfd, rc = 0;

	for (size_t i = 0; i < n && rc == 0; i++)
		rc = write_one(dir, &f[i]);
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return rc;
}

static int
no_password(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return 0;
}

static BIO *
pem_of(EVP_PKEY *key, X509 *const *certs, size_t n)
{
	BIO *b = BIO_new(BIO_s_mem());
	int ok = b != NULL;

	if (ok && key != NULL)
		ok = PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL,
					      NULL);
	for (size_t i = 0; ok && i < n; i++)
		ok = PEM_write_bio_X509(b, certs[i]);
	if (!ok) {
		BIO_free(b);
		return NULL;
	}
	return b;
}

static void
free_outfiles(struct outfile *f, size_t n)
{
	for (size_t i = 0; i < n; i++)
		BIO_free(f[i].pem);
}

static int
cmd_init(const struct opts *o)
{
	EVP_PKEY *root_key = NULL, *reg_key = NULL;
	X509 *root = NULL, *reg = NULL;
	struct outfile f[] = {
		{"root.key", 0600, NULL},
		{"root.pem", 0644, NULL},
		{"regional.key", 0600, NULL},
		{"regional.pem", 0644, NULL},
	};
	struct cella_diag d = {""};
	int64_t now = time(NULL);
	int rc;

	if ((rc = ensure_dir(o->dir)) != 0 ||
	    (rc = check_private(o->dir)) != 0 ||
	    (rc = refuse_existing(o->dir, f, 4, o->force)) != 0)
		return rc;
	rc = EX_SOFTWARE;
	if (cella_nsm_x509_keygen(&root_key) < 0 ||
	    cella_nsm_x509_keygen(&reg_key) < 0 ||
	    cella_nsm_simca_root(root_key, now, &root, &d) < 0 ||
	    cella_nsm_simca_regional(root, root_key, reg_key, now, &reg,
				     &d) < 0) {
		fprintf(stderr, "cella sim-ca: cannot create the CA: %s\n",
			d.msg[0] ? d.msg : "out of memory");
		goto out;
	}
	f[0].pem = pem_of(root_key, NULL, 0);
	f[1].pem = pem_of(NULL, &root, 1);
	f[2].pem = pem_of(reg_key, NULL, 0);
	f[3].pem = pem_of(NULL, &reg, 1);
	if (f[0].pem && f[1].pem && f[2].pem && f[3].pem)
		rc = write_all(o->dir, f, 4);
	if (rc == 0)
		printf("sim-ca: created %s/root.pem (pin it with cella verify "
		       "--root) and a regional CA\n", o->dir);
out:
	free_outfiles(f, 4);
	X509_free(root);
	X509_free(reg);
	EVP_PKEY_free(root_key);
	EVP_PKEY_free(reg_key);
	return rc;
}

struct ca {
	X509 *root, *reg;
	EVP_PKEY *reg_key;
};

static BIO *
open_in(const char *dir, const char *name, char *path, size_t len)
{
	BIO *b;

	snprintf(path, len, "%s/%s", dir, name);
	b = BIO_new_file(path, "r");
	if (b == NULL)
		fprintf(stderr, "cella sim-ca: %s: %s (run 'cella sim-ca init "
				"--dir %s' first)\n", path, strerror(errno),
			dir);
	return b;
}

static int
load_ca(const char *dir, struct ca *ca)
{
	char path[4096];
	BIO *b;

	if ((b = open_in(dir, "root.pem", path, sizeof(path))) == NULL)
		return EX_NOINPUT;
	ca->root = PEM_read_bio_X509(b, NULL, no_password, NULL);
	BIO_free(b);
	if ((b = open_in(dir, "regional.pem", path, sizeof(path))) == NULL)
		return EX_NOINPUT;
	ca->reg = PEM_read_bio_X509(b, NULL, no_password, NULL);
	BIO_free(b);
	if ((b = open_in(dir, "regional.key", path, sizeof(path))) == NULL)
		return EX_NOINPUT;
	ca->reg_key = PEM_read_bio_PrivateKey(b, NULL, no_password, NULL);
	BIO_free(b);
	if (ca->root == NULL || ca->reg == NULL || ca->reg_key == NULL ||
	    X509_check_issued(ca->root, ca->reg) != X509_V_OK ||
	    X509_verify(ca->reg, X509_get0_pubkey(ca->root)) != 1 ||
	    EVP_PKEY_eq(X509_get0_pubkey(ca->reg), ca->reg_key) != 1) {
		fprintf(stderr, "cella sim-ca: %s does not hold a CA made by "
				"'cella sim-ca init' (unreadable or mismatched "
				"root.pem, regional.pem, regional.key)\n", dir);
		return EX_DATAERR;
	}
	return 0;
}

static int
cmd_issue(const struct opts *o)
{
	struct ca ca = {0};
	EVP_PKEY *key = NULL;
	X509 *inst = NULL;
	struct outfile f[] = {
		{CELLA_NSM_SIM_KEY_FILE, 0600, NULL},
		{CELLA_NSM_SIM_CABUNDLE_FILE, 0644, NULL},
	};
	struct cella_diag d = {""};
	char name[24];
	int rc;

	if (o->out == NULL)
		return usage_error("issue needs --out ENCLAVE_DIR", NULL);
	if (o->name != NULL && !cella_nsm_simca_name_ok(o->name))
		return usage_error("--name wants 1..32 of [A-Za-z0-9_-], not",
				   o->name);
	if (o->name != NULL)
		snprintf(name, sizeof(name), "%s", o->name);
	else
		cella_nsm_simca_random_name(name);
	if ((rc = check_private(o->dir)) != 0 ||
	    (rc = load_ca(o->dir, &ca)) != 0 ||
	    (rc = ensure_dir(o->out)) != 0 ||
	    (rc = check_private(o->out)) != 0 ||
	    (rc = refuse_existing(o->out, f, 2, o->force)) != 0)
		goto out;
	rc = EX_SOFTWARE;
	if (cella_nsm_x509_keygen(&key) < 0 ||
	    cella_nsm_simca_instance(ca.reg, ca.reg_key, key, name,
				     time(NULL), (unsigned)o->days, &inst, &d) < 0) {
		fprintf(stderr, "cella sim-ca: cannot issue: %s\n",
			d.msg[0] ? d.msg : "out of memory");
		goto out;
	}
	f[0].pem = pem_of(key, NULL, 0);
	f[1].pem = pem_of(NULL, (X509 *[]){ca.root, ca.reg, inst}, 3);
	if (f[0].pem && f[1].pem)
		rc = write_all(o->out, f, 2);
	if (rc == 0)
		printf("sim-ca: issued enclave %s: %s/%s %s/%s\n", name, o->out,
		       CELLA_NSM_SIM_KEY_FILE, o->out,
		       CELLA_NSM_SIM_CABUNDLE_FILE);
out:
	free_outfiles(f, 2);
	X509_free(inst);
	EVP_PKEY_free(key);
	X509_free(ca.root);
	X509_free(ca.reg);
	EVP_PKEY_free(ca.reg_key);
	return rc;
}

static int
cmd_sim_ca(int argc, char **argv)
{
	if (argc < 2)
		return usage_error("init or issue?", NULL);
	if (strcmp(argv[1], "init") != 0 && strcmp(argv[1], "issue") != 0)
		return usage_error("unknown subcommand", argv[1]);
	if (args.dir == NULL)
		return usage_error("--dir is required", NULL);
	if (strcmp(argv[1], "init") == 0) {
		if (args.out != NULL || args.name != NULL)
			return usage_error("init takes only --dir and --force",
					   NULL);
		return cmd_init(&args);
	}
	return cmd_issue(&args);
}

const struct cella_cmd cella_cmd_sim_ca = {
	.name = "sim-ca",
	.run = cmd_sim_ca,
	.summary = "simulation attestation CA (init, issue)",
	.opts = opts,
	.args = "init  --dir DIR [--force]\n"
		"       cella sim-ca issue --dir DIR --out ENCLAVE_DIR "
		"[--name NAME] [--days N] [--force]",
	.help = "A simulation of AWS's Nitro attestation PKI, for the `sim` "
		"NSM\n"
		"provider: documents it signs verify like real ones, under "
		"this\n"
		"root instead of AWS's.\n"
		"\n"
		"init   creates DIR (0700) holding the CA; it stays on the "
		"host:\n"
		"         root.key      root key, P-384 (0600)\n"
		"         root.pem      root certificate, 30 years; pin it with\n"
		"                       `cella verify --root DIR/root.pem`\n"
		"         regional.key  regional CA key (0600)\n"
		"         regional.pem  regional CA certificate (pathlen 1)\n"
		"issue  gives one enclave an instance CA (pathlen 0) in "
		"ENCLAVE_DIR (0700):\n"
		"         signer.key    instance CA key (0600): the sim signs "
		"leaves\n"
		"                       with it; the only key the enclave gets\n"
		"         cabundle.pem  root, regional, instance: the documents'\n"
		"                       cabundle, root first\n",
	.more = "DIR and ENCLAVE_DIR must be yours and writable by no one "
		"else,\n"
		"and every directory above them yours or root's and not\n"
		"writable by others unless sticky (like ssh's StrictModes).\n"
		"\n"
		"Exit: 0 done, 64 usage, 65 DIR holds something other than a "
		"CA,\n"
		"66 DIR holds no CA (run init first), 73 a file exists "
		"(without\n"
		"--force) or cannot be written, 77 a directory others "
		"control,\n"
		"70 internal.\n",
	.max_args = 1,
};
