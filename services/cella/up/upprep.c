/*
 * upprep: everything `cella up` does before a process starts. The order
 * is: what the file says (validated, nothing created yet), what the host
 * must offer (the name and CID free, ports free, binaries found), what the
 * user has once (operator key, simulation root), and only then the state
 * directory with the configurations and measurements. A failure after the
 * state directory was created removes it again.
 */
#include "services/cella/up/up.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <netinet/in.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include "common/core/buf.h"
#include "common/rpc/operators.h"
#include "common/bridge/tls.h"
#include "services/cella/up/measure.h"

#define VSOCK_LEAF_MAX 17 /* "/4294967294_65535" */

static int
find_bin(const char *name, char *out, size_t len, struct cella_diag *d)
{
	char found[PATH_MAX];
	int rv = cella_measure_find_exe(name, "/", getenv("PATH"), found,
					sizeof(found));

	if (rv < 0 || realpath(found, out) == NULL || strlen(out) >= len)
		return cella_diag_set(d, -ENOENT,
				      "%s is not in PATH (build with `ninja -C "
				      "build`; scripts/run sets PATH)",
				      name);
	return 0;
}

/* An enclave of this name may be up already, or have left its state. */
static int
check_name_cid(const struct cella_up_plan *p, struct cella_diag *d)
{
	struct cella_state st;
	char **names = NULL;
	int n, rv = 0;

	if (cella_state_load(p->st.name, &st, NULL) == 0 &&
	    cella_state_alive(&st))
		return cella_diag_set(d, -EEXIST,
				      "enclave '%s' is already up (cella down "
				      "%s)",
				      p->st.name, p->st.name);
	/* A leftover of an enclave that is gone (a crash, a reboot). */
	if (st.dir[0] != '\0')
		(void)cella_up_kill_strays(&st);
	(void)cella_state_remove(p->st.dir);
	if ((n = cella_state_list(&names)) < 0)
		return 0;
	for (int i = 0; i < n; i++) {
		if (rv == 0 && cella_state_load(names[i], &st, NULL) == 0 &&
		    cella_state_alive(&st) && st.cid == p->st.cid)
			rv = cella_diag_set(d, -EADDRINUSE,
					    "%s: enclave.cid %u is taken by "
					    "enclave '%s' (give this one "
					    "another enclave.cid)",
					    p->st.file, p->st.cid, st.name);
		free(names[i]);
	}
	free(names);
	return rv;
}

static int
check_ports(const struct cella_conf *c, const struct cella_up_plan *p,
	    struct cella_diag *d)
{
	const cJSON *ports = cJSON_GetObjectItemCaseSensitive(cella_conf_root(c),
							      "ports");

	for (size_t i = 0; i < p->st.nports; i++) {
		struct sockaddr_in sa = {.sin_family = AF_INET,
					 .sin_port = htons(p->st.ports[i].host),
					 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
		int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
		int rv = 0;

		if (fd < 0 ||
		    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
		    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			rv = -errno;
		if (fd >= 0)
			close(fd);
		if (rv < 0)
			return cella_diag_set(
				d, -EADDRINUSE, "%s:%d: ports[%zu]: host port %u "
						"is not free: %s",
				cella_conf_name(c),
				cella_conf_line(c, cJSON_GetArrayItem(ports, (int)i)),
				i, p->st.ports[i].host, cella_strerror(rv));
	}
	return 0;
}

static int
check_host(const struct cella_conf *c, struct cella_up_plan *p,
	   struct cella_diag *d)
{
	int rv;

	if ((rv = cella_state_root(p->state_root, sizeof(p->state_root))) < 0 ||
	    (rv = cella_state_dir(p->st.name, p->st.dir, sizeof(p->st.dir))) < 0 ||
	    (rv = cella_state_sim_dir(p->sim_dir, sizeof(p->sim_dir))) < 0)
		return cella_diag_set(d, rv, "cannot place the state (set HOME "
					     "or CELLA_STATE_DIR): %s",
				      cella_strerror(rv));
	if (strlen(p->st.dir) + strlen("/vsock") + VSOCK_LEAF_MAX > 107)
		return cella_diag_set(d, -ENAMETOOLONG,
				      "%s: too long for unix sockets (set "
				      "CELLA_STATE_DIR to a shorter directory)",
				      p->st.dir);
	if ((rv = check_name_cid(p, d)) < 0 || (rv = check_ports(c, p, d)) < 0)
		return rv;
	if ((rv = find_bin("cella-init", p->init, sizeof(p->init), d)) < 0 ||
	    (rv = find_bin("cella-launch", p->launch, sizeof(p->launch), d)) < 0 ||
	    (rv = find_bin("cella-pf-proxy", p->pf_proxy, sizeof(p->pf_proxy), d)) < 0)
		return rv;
	return 0;
}

/* Run this same program with args, its stdout dropped (sim-ca). */
static int
run_self(char *const *args, struct cella_diag *d)
{
	int st, null;
	pid_t pid = fork();

	if (pid < 0)
		return cella_diag_set(d, -errno, "fork: %s", cella_strerror(-errno));
	if (pid == 0) {
		null = open("/dev/null", O_WRONLY);
		if (null < 0 || dup2(null, 1) < 0)
			_exit(EX_OSERR);
		execv("/proc/self/exe", args);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		return cella_diag_set(d, -EIO, "cella %s %s failed (see above)",
				      args[1], args[2]);
	return 0;
}

int
cella_up_operator(struct cella_up_plan *p, bool create, struct cella_diag *d)
{
	struct passwd *pw = getpwuid(geteuid());
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	uint8_t pub[32];
	int rv;

	cella_opkey_default_path(p->st.key, sizeof(p->st.key));
	if (access(p->st.key, F_OK) < 0 && !create)
		return cella_diag_set(d, -ENOENT, "%s: no operator key yet "
						  "(cella keygen or cella up "
						  "create it)", p->st.key);
	if (access(p->st.key, F_OK) < 0) {
		rv = cella_opkey_generate(p->st.key, pw ? pw->pw_name : "operator",
					  false, d);
		if (rv < 0)
			return rv;
		fprintf(stderr, "cella up: created your operator key %s\n",
			p->st.key);
	}
	if ((rv = cella_opkey_load(p->st.key, &key, &cert, d)) < 0)
		return rv;
	cella_opkey_public(key, pub);
	cella_operator_key_format(pub, p->op_key, sizeof(p->op_key));
	if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert),
				      NID_commonName, p->op_name,
				      sizeof(p->op_name)) <= 0)
		snprintf(p->op_name, sizeof(p->op_name), "%s",
			 pw ? pw->pw_name : "operator");
	EVP_PKEY_free(key);
	X509_free(cert);
	return 0;
}

static int
mkdir_p(const char *dir, mode_t mode)
{
	char buf[PATH_MAX];

	snprintf(buf, sizeof(buf), "%s", dir);
	for (char *s = buf + 1; *s != '\0'; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	return mkdir(buf, mode) < 0 && errno != EEXIST ? -errno : 0;
}

static int
per_user(struct cella_up_plan *p, struct cella_diag *d)
{
	char *root = p->st.root, parent[PATH_MAX];
	int rv;

	if ((rv = cella_up_operator(p, true, d)) < 0)
		return rv;
	if (snprintf(root, sizeof(p->st.root), "%.4000s/root.pem",
		     p->sim_dir) >= (int)sizeof(p->st.root))
		return cella_diag_set(d, -ENAMETOOLONG, "%s: too long",
				      p->sim_dir);
	if (access(root, F_OK) == 0)
		return 0;
	snprintf(parent, sizeof(parent), "%s", p->sim_dir);
	if ((rv = mkdir_p(dirname(parent), 0700)) < 0)
		return cella_diag_set(d, rv, "%s: %s", parent, cella_strerror(rv));
	if ((rv = run_self((char *[]){"cella", "sim-ca", "init", "--dir",
				      p->sim_dir, NULL},
			   d)) < 0)
		return rv;
	fprintf(stderr, "cella up: created the simulation root %s\n", root);
	return 0;
}

static int
write_file(const struct cella_up_plan *p, const char *leaf, const char *text,
	   size_t len, struct cella_diag *d)
{
	char path[PATH_MAX + 64];
	int fd, rv = 0;

	snprintf(path, sizeof(path), "%s/%s", p->st.dir, leaf);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, text, len) != (ssize_t)len)
		rv = -errno;
	if (fd >= 0)
		close(fd);
	return rv < 0 ? cella_diag_set(d, rv, "%s: %s", path, cella_strerror(rv))
		      : 0;
}

static int
make_dirs(struct cella_up_plan *p, bool *created, struct cella_diag *d)
{
	static const char *const leaves[] = {"enclave", "vsock", "root", "run"};
	char path[PATH_MAX + 16], ca[PATH_MAX + 16];
	int rv;

	if ((rv = mkdir_p(p->state_root, 0700)) < 0 ||
	    (mkdir(p->st.dir, 0700) < 0 && (rv = -errno) < 0))
		return cella_diag_set(d, rv, "%s: %s", p->st.dir,
				      cella_strerror(rv));
	*created = true;
	for (size_t i = 0; i < sizeof(leaves) / sizeof(leaves[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", p->st.dir, leaves[i]);
		if (mkdir(path, 0700) < 0)
			return cella_diag_set(d, -errno, "%s: %s", path,
					      cella_strerror(-errno));
	}
	snprintf(ca, sizeof(ca), "%s/enclave/ca", p->st.dir);
	return run_self((char *[]){"cella", "sim-ca", "issue", "--dir",
				   p->sim_dir, "--out", ca, "--name",
				   p->st.name, "--force", NULL},
			d);
}

static int
measurements(struct cella_up_plan *p, struct cella_diag *d)
{
	char hex[3][97], text[512];
	int n;

	if (p->st.debug) /* as on Nitro: a debug enclave measures zero */
		memset(p->st.pcrs, 0, sizeof(p->st.pcrs));
	for (int i = 0; i < 3; i++)
		cella_hex_encode(p->st.pcrs[i], 48, hex[i], sizeof(hex[i]));
	n = snprintf(text, sizeof(text),
		     "{\"pcrs\": {\"0\": \"%s\", \"1\": \"%s\", \"2\": \"%s\"}}\n",
		     hex[0], hex[1], hex[2]);
	return write_file(p, "enclave/measurements.json", text, (size_t)n, d);
}

static int
write_configs(struct cella_conf *c, struct cella_up_plan *p,
	      struct cella_diag *d)
{
	char path[PATH_MAX + 32], *text = NULL, *m0 = NULL, *m1 = NULL;
	size_t len = 0;
	int rv;

	if ((rv = cella_upcfg_effective(c, p, d)) < 0)
		return rv;
	if ((rv = cella_upcfg_text(c, p, &text, &len)) < 0 ||
	    (rv = write_file(p, "enclave/cella.yaml", text, len, d)) < 0)
		goto out;
	cella_measure_bytes(text, len, p->st.pcrs[2]);
	snprintf(path, sizeof(path), "%s/enclave/cella.yaml", p->st.dir);
	if ((rv = cella_upcfg_measure(path, p, p->st.pcrs[0], &m0,
				      p->st.pcrs[1], &m1, d)) < 0 ||
	    (rv = write_file(p, "enclave/pcr0.manifest", m0, strlen(m0), d)) < 0 ||
	    (rv = write_file(p, "enclave/pcr1.manifest", m1, strlen(m1), d)) < 0 ||
	    (rv = measurements(p, d)) < 0)
		goto out;
	free(text);
	text = NULL;
	if ((rv = cella_upcfg_host(p, &text)) < 0 ||
	    (rv = write_file(p, "host.yaml", text, strlen(text), d)) < 0)
		goto out;
	rv = cella_state_save(&p->st, d);
out:
	free(text);
	free(m0);
	free(m1);
	return rv;
}

int
cella_up_load_plan(const char *file, const char *backend, struct cella_conf **c,
	  struct cella_up_plan *p, struct cella_diag *d)
{
	char dir[PATH_MAX];
	int rv;

	if (realpath(file, p->st.file) == NULL)
		return cella_diag_set(d, -errno, "%s: %s%s", file,
				      cella_strerror(-errno),
				      errno == ENOENT ? " (give the file with "
							"-f FILE)"
						      : "");
	if (strpbrk(p->st.file, "\n\r") != NULL)
		return cella_diag_set(d, -EINVAL, "%s: a path with a line "
						  "break", file);
	snprintf(dir, sizeof(dir), "%s", p->st.file);
	snprintf(p->appdir, sizeof(p->appdir), "%s", dirname(dir));
	snprintf(p->st.backend, sizeof(p->st.backend), "%s", backend);
	p->process = strcmp(backend, "process") == 0;
	if ((rv = cella_upcfg_load(p->st.file, c, d)) < 0)
		return rv;
	return cella_upcfg_plan(*c, p, d);
}

int
cella_up_prepare(const char *file, const char *backend, int timeout_ms,
		 struct cella_up_plan *p, int *exit_code, struct cella_diag *d)
{
	struct cella_conf *c = NULL;
	bool created = false;
	int rv;

	memset(p, 0, sizeof(*p));
	p->ready_timeout_ms = timeout_ms;
	*exit_code = EX_CONFIG;
	if ((rv = cella_up_load_plan(file, backend, &c, p, d)) < 0) {
		if (rv != -EINVAL)
			*exit_code = EX_NOINPUT;
		goto out;
	}
	*exit_code = EX_UNAVAILABLE;
	if ((rv = check_host(c, p, d)) < 0)
		goto out;
	*exit_code = EX_CANTCREAT;
	if ((rv = per_user(p, d)) < 0)
		goto out;
	if ((rv = make_dirs(p, &created, d)) < 0)
		goto out;
	*exit_code = EX_CONFIG;
	rv = write_configs(c, p, d);
out:
	if (rv < 0 && created)
		(void)cella_state_remove(p->st.dir);
	cella_conf_free(c);
	if (rv == 0)
		*exit_code = 0;
	return rv;
}
