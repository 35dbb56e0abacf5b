/*
 * cmd_config: `cella config [-f FILE] [--effective] [--keys] [-q]`, like
 * `docker compose config`: the file validated (errors name file:line and
 * the key; exit 78) and printed with every default filled in; with
 * --effective, the configuration the local emulator runs for it (the one
 * a running enclave uses, else what `cella up` would write now); with
 * --keys, every key of cella.yaml documented.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "common/core/exitcode.h"
#include "services/cella/cmd.h"
#include "services/cella/up/up.h"

struct cfg_opts {
	const char *file, *backend;
	bool effective, keys, quiet;
};

static struct cfg_opts args = {.file = "cella.yaml", .backend = "local"};

static const struct cella_opt opts[] = {
	{"file", 'f', CELLA_OPT_STR, &args.file, .metavar = "FILE",
	 .help = "the configuration (default ./cella.yaml)"},
	{"effective", 0, CELLA_OPT_FLAG, &args.effective,
	 .help = "what the local emulator runs for it (see\n"
		 "`cella up`): the running enclave's file, or\n"
		 "what `cella up --backend B` would write now"},
	{"backend", 0, CELLA_OPT_STR, &args.backend, .metavar = "B",
	 .help = "local (default) or process, for --effective"},
	{"keys", 0, CELLA_OPT_FLAG, &args.keys,
	 .help = "document every key (type, default, meaning)"},
	{"quiet", 'q', CELLA_OPT_FLAG, &args.quiet, .help = "validate only"},
	{0},
};

/* The running enclave's own file, when there is one. */
static int
print_running(const struct cella_up_plan *p)
{
	struct cella_state st;
	char path[PATH_MAX + 32], buf[8192];
	size_t n;
	FILE *f;

	if (cella_state_load(p->st.name, &st, NULL) < 0 ||
	    !cella_state_alive(&st))
		return 1;
	snprintf(path, sizeof(path), "%s/enclave/cella.yaml", st.dir);
	if ((f = fopen(path, "re")) == NULL)
		return 1;
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		fwrite(buf, 1, n, stdout);
	fclose(f);
	return 0;
}

static int
effective(struct cella_conf *c, struct cella_up_plan *p)
{
	struct cella_diag d = {{0}};
	char *text = NULL;
	size_t len = 0;
	int rv;

	if (print_running(p) == 0)
		return 0;
	if (cella_state_root(p->state_root, sizeof(p->state_root)) < 0 ||
	    cella_state_dir(p->st.name, p->st.dir, sizeof(p->st.dir)) < 0 ||
	    cella_state_sim_dir(p->sim_dir, sizeof(p->sim_dir)) < 0) {
		fprintf(stderr, "cella config: no state directory (HOME?)\n");
		return EX_UNAVAILABLE;
	}
	if ((rv = cella_up_operator(p, false, &d)) < 0 ||
	    (rv = cella_upcfg_effective(c, p, &d)) < 0) {
		fprintf(stderr, "cella config: %s\n", d.msg);
		return rv == -ENOENT ? EX_UNAVAILABLE : EX_CONFIG;
	}
	if (cella_upcfg_text(c, p, &text, &len) < 0)
		return EX_OSERR;
	fwrite(text, 1, len, stdout);
	free(text);
	return 0;
}

static int
cmd_config(int argc, char **argv)
{
	struct cella_up_plan *p = NULL;
	struct cella_conf *c = NULL;
	struct cella_diag d = {{0}};
	int rv;

	(void)argc;
	(void)argv;
	if (strcmp(args.backend, "local") != 0 &&
	    strcmp(args.backend, "process") != 0) {
		fprintf(stderr, "cella config: --backend '%s': local or process "
				"(try 'cella config --help')\n", args.backend);
		return EX_USAGE;
	}
	if (args.keys) {
		cella_conf_print_docs(stdout, cella_cfg_schema);
		return 0;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return EX_OSERR;
	if ((rv = cella_up_load_plan(args.file, args.backend, &c, p, &d)) < 0) {
		fprintf(stderr, "cella config: %s\n", d.msg);
		/* the file's content, else the file itself */
		rv = rv == -EINVAL ? EX_CONFIG : cella_exit_from_path_err(rv, false);
	} else if (args.effective) {
		rv = effective(c, p);
	} else if (!args.quiet) {
		cella_conf_print(stdout, c, cella_cfg_schema);
	}
	cella_conf_free(c);
	free(p);
	return rv;
}

const struct cella_cmd cella_cmd_config = {
	.name = "config",
	.run = cmd_config,
	.summary = "validate cella.yaml, print the effective config",
	.opts = opts,
	.args = "[-f FILE] [--effective [--backend B]] [--keys] [-q]",
	.help = "Validates cella.yaml and prints it with every default "
		"filled\n"
		"in. Errors name the file, line and key (exit 78).\n",
};
