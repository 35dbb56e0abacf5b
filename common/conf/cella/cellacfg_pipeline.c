/*
 * cellacfg_pipeline: the `pipeline:` section of cella.yaml, which
 * configures cella-pipeline (commands and file transfers in and out of the
 * enclave). Its presence makes init run cella-pipeline (the built-in row in
 * cellacfg.c). Who may use it is not here: the `operators:` and `policy:`
 * sections decide that. Only the table and the checks a table cannot
 * express live here; cella-pipeline reads the validated tree itself.
 */
#include "common/conf/cella/cellacfg.h"

#include <errno.h>
#include <string.h>

#include "common/net/addr.h"

/* Each root absolute and plain: no "..", ".", empty components or NUL. */
static int
check_roots(const cJSON *v, struct cella_diag *d)
{
	const cJSON *it;

	cJSON_ArrayForEach(it, v) {
		const char *s = it->valuestring, *p;
		size_t len = strlen(s), n;

		if (s[0] != '/' || len > 4095)
			return cella_diag_set(d, -EINVAL,
					      "'%s': expected an absolute path "
					      "of at most 4095 bytes", s);
		for (p = s + 1; len > 1; p += n + 1) {
			n = strcspn(p, "/");
			if (n == 0 || (n == 1 && p[0] == '.') ||
			    (n == 2 && p[0] == '.' && p[1] == '.'))
				return cella_diag_set(
					d, -EINVAL,
					"'%s': write a root without '.', '..', "
					"'//' or a trailing '/'", s);
			if (p[n] == '\0')
				break;
		}
	}
	return 0;
}

const struct cella_conf_key cella_cfg_pipeline_keys[] = {
	{.key = "listen", .type = CELLA_CONF_STRING,
	 .def = "ipc:///run/cella/pipeline.sock", .min = 1, .max = 300,
	 .check = cella_cfg_check_url,
	 .desc = "the API (nng REP); the bridge carries operators to it"},
	{.key = "workers", .type = CELLA_CONF_INT, .def = "64", .min = 4,
	 .max = 1024,
	 .desc = "requests decoded at once (a waiting read or write holds none)"},
	{.key = "threads", .type = CELLA_CONF_INT, .def = "4", .min = 1,
	 .max = 64, .desc = "threads for file I/O, hashing and spawning"},
	{.key = "roots", .type = CELLA_CONF_STRLIST, .def = "['/']", .min = 1,
	 .max = 16, .check = check_roots,
	 .desc = "directories files may be read and written below"},
	{.key = "max_file_bytes", .type = CELLA_CONF_INT, .def = "17179869184",
	 .min = 0, .max = 4503599627370496,
	 .desc = "largest file received (sent files are not capped)"},
	{.key = "chunk_bytes", .type = CELLA_CONF_INT, .def = "1048576",
	 .min = 262144, .max = 4194304,
	 .desc = "bytes per file chunk message (also the inline size)"},
	{.key = "window", .type = CELLA_CONF_INT, .def = "16", .min = 1,
	 .max = 256, .desc = "chunks of one file in flight at most"},
	{.key = "max_execs", .type = CELLA_CONF_INT, .def = "64", .min = 1,
	 .max = 4096, .desc = "commands running or unread at once (with "
			      "detached ones)"},
	{.key = "max_transfers", .type = CELLA_CONF_INT, .def = "256",
	 .min = 1, .max = 65536,
	 .desc = "file transfers and directory walks open at once"},
	{.key = "output_bytes", .type = CELLA_CONF_INT, .def = "1048576",
	 .min = 65536, .max = 2097152,
	 .desc = "a command's unread stdout (and stderr) kept at most; a "
		 "full buffer pauses the command"},
	{.key = "kill_grace_ms", .type = CELLA_CONF_INT, .def = "2000",
	 .min = 0, .max = 600000,
	 .desc = "on a command's timeout, SIGTERM to SIGKILL"},
	{.key = "event_timeout_ms", .type = CELLA_CONF_INT, .def = "5000",
	 .min = 100, .max = 600000,
	 .desc = "bound on appending to init's event log (init.control)"},
	{0},
};

/* The built-in service: init runs it with the file it loaded. */
const char *const cella_cfg_pipeline_argv[] = {
	"cella-pipeline", "--config", "{config}", "--ready-fd", "3", NULL,
};
