/*
 * state: the state directories of `cella up` enclaves and their
 * state.json. The file is small JSON written whole under a temporary name
 * and renamed, so a reader sees the old or the new one, never half. A pid
 * alone could be reused by the time it is read: the process's start time
 * is recorded with it and both must match.
 */
#include "services/cella/up/state.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/core/buf.h"

#define STATE_FILE_MAX (64 * 1024)

static int
home_path(const char *xdg, const char *fallback, const char *leaf, char *buf,
	  size_t len)
{
	const char *x = getenv(xdg), *home = getenv("HOME");
	int n;

	if (x != NULL && x[0] == '/')
		n = snprintf(buf, len, "%s/%s", x, leaf);
	else if (home != NULL && home[0] == '/')
		n = snprintf(buf, len, "%s/%s/%s", home, fallback, leaf);
	else
		return -ENOENT;
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int
cella_state_root(char *buf, size_t len)
{
	const char *env = getenv("CELLA_STATE_DIR");
	int n;

	if (env != NULL && env[0] == '/')
		n = snprintf(buf, len, "%s", env);
	else if (geteuid() == 0)
		n = snprintf(buf, len, "/run/cella-up");
	else
		return home_path("XDG_RUNTIME_DIR", ".local/state", "cella", buf,
				 len);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int
cella_state_sim_dir(char *buf, size_t len)
{
	return home_path("XDG_DATA_HOME", ".local/share", "cella/sim-ca", buf,
			 len);
}

int
cella_state_name_ok(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > CELLA_STATE_NAME_MAX || name[0] == '-')
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && name[i] != '-' &&
		    name[i] != '_')
			return -EINVAL;
	return 0;
}

/* The directory's name, made into an enclave name. */
static int
name_from_dir(const char *file, char *out, size_t len)
{
	char abs[PATH_MAX], *base;
	size_t n = 0;

	if (realpath(file, abs) == NULL)
		return -errno;
	base = basename(dirname(abs));
	for (const char *p = base; *p != '\0' && n < CELLA_STATE_NAME_MAX &&
				   n + 1 < len;
	     p++) {
		unsigned char ch = (unsigned char)*p;

		out[n++] = isalnum(ch) || ch == '_' ? (char)tolower(ch) : '-';
	}
	out[n] = '\0';
	while (n > 0 && out[0] == '-')
		memmove(out, out + 1, n--);
	if (n == 0)
		snprintf(out, len, "cella");
	return 0;
}

int
cella_state_name_of(const char *file, const struct cella_conf *c,
		    char *out, size_t len, struct cella_diag *d)
{
	struct cella_conf *own = NULL;
	const cJSON *name;
	int rv = 0;

	if (c == NULL && (rv = cella_conf_load_file(file, &own, d)) < 0)
		return rv;
	name = cJSON_GetObjectItemCaseSensitive(cella_conf_root(c ? c : own),
						"name");
	if (!cJSON_IsString(name))
		rv = name_from_dir(file, out, len);
	else if (cella_state_name_ok(name->valuestring) < 0)
		rv = cella_diag_set(d, -EINVAL,
				    "%s:%d: name: an enclave's name is 1..%d "
				    "of [A-Za-z0-9_-], not starting with '-'; "
				    "got '%s'",
				    cella_conf_name(c ? c : own),
				    cella_conf_line(c ? c : own, name),
				    CELLA_STATE_NAME_MAX, name->valuestring);
	else
		snprintf(out, len, "%s", name->valuestring);
	cella_conf_free(own);
	return rv;
}

int
cella_state_dir(const char *name, char *buf, size_t len)
{
	char root[PATH_MAX];
	int rv, n;

	if ((rv = cella_state_root(root, sizeof(root))) < 0)
		return rv;
	n = snprintf(buf, len, "%s/%s", root, name);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int
cella_state_path(const struct cella_state *s, const char *leaf, char *buf,
		 size_t len)
{
	int n = snprintf(buf, len, "%s/%s", s->dir, leaf);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static cJSON *
to_json(const struct cella_state *s)
{
	cJSON *o = cJSON_CreateObject(), *pcrs, *ports;
	char hex[97], port[16];
	bool ok = o != NULL;

	ok = ok && cJSON_AddStringToObject(o, "name", s->name) &&
	     cJSON_AddStringToObject(o, "backend", s->backend) &&
	     cJSON_AddNumberToObject(o, "cid", s->cid) &&
	     cJSON_AddNumberToObject(o, "pid", s->pid) &&
	     cJSON_AddNumberToObject(o, "pid_start", (double)s->pid_start) &&
	     cJSON_AddNumberToObject(o, "started", (double)s->started) &&
	     cJSON_AddNumberToObject(o, "shutdown_ms", (double)s->shutdown_ms) &&
	     cJSON_AddBoolToObject(o, "debug", s->debug) &&
	     cJSON_AddStringToObject(o, "dir", s->dir) &&
	     cJSON_AddStringToObject(o, "file", s->file) &&
	     cJSON_AddStringToObject(o, "root", s->root) &&
	     cJSON_AddStringToObject(o, "key", s->key);
	pcrs = ok ? cJSON_AddObjectToObject(o, "pcrs") : NULL;
	for (int i = 0; pcrs != NULL && i < 3; i++) {
		char idx[4];

		cella_hex_encode(s->pcrs[i], 48, hex, sizeof(hex));
		snprintf(idx, sizeof(idx), "%d", i);
		if (!cJSON_AddStringToObject(pcrs, idx, hex))
			pcrs = NULL;
	}
	ports = pcrs != NULL ? cJSON_AddArrayToObject(o, "ports") : NULL;
	for (size_t i = 0; ports != NULL && i < s->nports; i++) {
		snprintf(port, sizeof(port), "%u:%u", s->ports[i].host,
			 s->ports[i].enclave);
		if (!cJSON_AddItemToArray(ports, cJSON_CreateString(port)))
			ports = NULL;
	}
	if (ports == NULL) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

int
cella_state_save(const struct cella_state *s, struct cella_diag *d)
{
	char path[PATH_MAX + 16], tmp[PATH_MAX + 24];
	cJSON *o = to_json(s);
	char *text = o != NULL ? cJSON_Print(o) : NULL;
	int fd = -1, rv = 0;
	size_t n;

	if (text == NULL) {
		rv = -ENOMEM;
		goto out;
	}
	snprintf(path, sizeof(path), "%s/state.json", s->dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	n = strlen(text);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, text, n) != (ssize_t)n || fsync(fd) < 0 ||
	    rename(tmp, path) < 0)
		rv = -errno;
out:
	if (fd >= 0)
		close(fd);
	if (rv < 0)
		cella_diag_set(d, rv, "%s: %s", path, cella_strerror(rv));
	free(text);
	cJSON_Delete(o);
	return rv;
}

static int
read_small(const char *path, char **out)
{
	/* Non-blocking: a FIFO put in its place must not hang every verb. */
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	int rv = 0;
	struct stat st;
	char *buf = NULL;
	ssize_t n;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > STATE_FILE_MAX) {
		rv = -EINVAL;
		goto out;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		rv = -ENOMEM;
		goto out;
	}
	n = read(fd, buf, (size_t)st.st_size);
	if (n != st.st_size) {
		rv = n < 0 ? -errno : -EIO;
		goto out;
	}
	buf[n] = '\0';
	*out = buf;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return rv;
}

static void
copy_str(char *dst, size_t len, const cJSON *o, const char *key)
{
	snprintf(dst, len, "%s", cella_conf_str(o, key, ""));
}

static int
from_json(const cJSON *o, struct cella_state *s)
{
	const cJSON *pcrs = cJSON_GetObjectItemCaseSensitive(o, "pcrs"), *p;
	uint16_t h, e;

	copy_str(s->name, sizeof(s->name), o, "name");
	copy_str(s->backend, sizeof(s->backend), o, "backend");
	copy_str(s->dir, sizeof(s->dir), o, "dir");
	copy_str(s->file, sizeof(s->file), o, "file");
	copy_str(s->root, sizeof(s->root), o, "root");
	copy_str(s->key, sizeof(s->key), o, "key");
	s->cid = (uint32_t)cella_conf_int(o, "cid", 0);
	s->pid = (pid_t)cella_conf_int(o, "pid", 0);
	s->pid_start = (uint64_t)cella_conf_int(o, "pid_start", 0);
	s->started = cella_conf_int(o, "started", 0);
	s->shutdown_ms = cella_conf_int(o, "shutdown_ms", 30000);
	s->debug = cella_conf_bool(o, "debug", false);
	for (int i = 0; i < 3; i++) {
		char idx[4];

		snprintf(idx, sizeof(idx), "%d", i);
		if (cella_hex_decode(cella_conf_str(pcrs, idx, ""), 96,
				     s->pcrs[i], 48) != 48)
			return -EINVAL;
	}
	s->nports = 0;
	cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(o, "ports")) {
		if (s->nports == CELLA_CFG_PORTS_MAX || !cJSON_IsString(p) ||
		    cella_cfg_port_parse(p->valuestring, &h, &e, NULL) < 0)
			return -EINVAL;
		s->ports[s->nports].host = h;
		s->ports[s->nports++].enclave = e;
	}
	return s->name[0] && s->dir[0] && s->cid > 0 ? 0 : -EINVAL;
}

int
cella_state_load(const char *name, struct cella_state *s,
		 struct cella_diag *d)
{
	char dir[PATH_MAX], path[PATH_MAX + 16], *text = NULL;
	cJSON *o = NULL;
	int rv;

	memset(s, 0, sizeof(*s));
	if (cella_state_name_ok(name) < 0)
		return cella_diag_set(d, -EINVAL, "'%s' is not an enclave "
						  "name", name);
	if ((rv = cella_state_dir(name, dir, sizeof(dir))) < 0)
		return cella_diag_set(d, rv, "no state directory: %s",
				      cella_strerror(rv));
	snprintf(path, sizeof(path), "%s/state.json", dir);
	rv = read_small(path, &text);
	if (rv == -ENOENT)
		return cella_diag_set(d, rv, "no enclave named '%s' is up "
					     "(cella ls lists them)", name);
	if (rv == 0 && ((o = cJSON_Parse(text)) == NULL ||
			from_json(o, s) < 0 || strcmp(s->name, name) != 0))
		rv = -EINVAL;
	if (rv < 0)
		cella_diag_set(d, rv, "%s: %s", path,
			       rv == -EINVAL ? "damaged" : cella_strerror(rv));
	cJSON_Delete(o);
	free(text);
	return rv;
}

uint64_t
cella_state_proc_start(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long start = 0;
	int fd, field = 2;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (pid <= 0 || (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* The command name may hold spaces and ')': count from the last. A
	 * zombie has ended, whoever has not reaped it yet. */
	if ((p = strrchr(buf, ')')) == NULL || p[1] != ' ' || p[2] == 'Z' ||
	    p[2] == 'X')
		return 0;
	for (; *p != '\0' && field < 22; p++)
		if (*p == ' ')
			field++;
	if (field == 22 && sscanf(p, "%llu", &start) != 1)
		start = 0;
	return start;
}

bool
cella_state_alive(const struct cella_state *s)
{
	return s->pid > 0 && s->pid_start != 0 &&
	       cella_state_proc_start(s->pid) == s->pid_start;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
cella_state_list(char ***out)
{
	char root[PATH_MAX], path[PATH_MAX + 300], **v = NULL, **nv;
	struct dirent *e;
	DIR *dir;
	int n = 0, rv;

	*out = NULL;
	if ((rv = cella_state_root(root, sizeof(root))) < 0)
		return rv;
	if ((dir = opendir(root)) == NULL)
		return errno == ENOENT ? 0 : -errno;
	while ((e = readdir(dir)) != NULL) {
		if (cella_state_name_ok(e->d_name) < 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s/state.json", root,
			 e->d_name);
		if (access(path, F_OK) < 0)
			continue;
		if ((nv = realloc(v, (size_t)(n + 1) * sizeof(*v))) == NULL ||
		    (nv[n] = strdup(e->d_name)) == NULL) {
			v = nv != NULL ? nv : v;
			rv = -ENOMEM;
			break;
		}
		v = nv;
		n++;
	}
	closedir(dir);
	if (rv < 0) {
		while (n-- > 0)
			free(v[n]);
		free(v);
		return rv;
	}
	if (n > 0)
		qsort(v, (size_t)n, sizeof(*v), cmp_names);
	*out = v;
	return n;
}

static int
remove_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)f;
	if (flag == FTW_DP || flag == FTW_D)
		return rmdir(path) < 0 && errno != ENOENT ? -errno : 0;
	return unlink(path) < 0 && errno != ENOENT ? -errno : 0;
}

int
cella_state_remove(const char *dir)
{
	int rv = nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);

	if (rv < 0 && errno == ENOENT)
		return 0;
	return rv < 0 ? -errno : rv;
}
