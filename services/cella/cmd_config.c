/*
 * cmd_config: `cella config [-f FILE] [--effective] [--keys] [-q]`, like
 * `docker compose config`: the file validated (errors name file:line and
 * the key; exit 78) and printed with every default filled in; with
 * --effective, the configuration the local emulator runs for it (the one
 * a running enclave uses, else what `cella up` would write now); with
 * --keys, every key of cella.yaml documented.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "services/cella/up/up.h"

int cella_cmd_config(int argc, char **argv); /* listed in cmd_table.c */

struct cfg_opts {
	const char *file, *backend;
	bool effective, keys, quiet;
};

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: cella config [-f FILE] [--effective [--backend B]]\n"
		"                    [--keys] [-q]\n\n"
		"Validates cella.yaml and prints it with every default filled\n"
		"in. Errors name the file, line and key (exit 78).\n\n"
		"  -f, --file FILE  the configuration (default ./cella.yaml)\n"
		"      --effective  what the local emulator runs for it (see\n"
		"                   `cella up`): the running enclave's file, or\n"
		"                   what `cella up --backend B` would write now\n"
		"      --keys       document every key (type, default, meaning)\n"
		"  -q, --quiet      validate only\n");
}

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
parse(int argc, char **argv, struct cfg_opts *o)
{
	static const struct option longs[] = {
		{"file", required_argument, NULL, 'f'},
		{"effective", no_argument, NULL, 'e'},
		{"backend", required_argument, NULL, 'b'},
		{"keys", no_argument, NULL, 'k'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	int ch;

	*o = (struct cfg_opts){.file = "cella.yaml", .backend = "local"};
	optind = 1;
	while ((ch = getopt_long(argc, argv, "f:qh", longs, NULL)) != -1) {
		switch (ch) {
		case 'f': o->file = optarg; break;
		case 'e': o->effective = true; break;
		case 'b': o->backend = optarg; break;
		case 'k': o->keys = true; break;
		case 'q': o->quiet = true; break;
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); return EX_USAGE;
		}
	}
	if (optind != argc || (strcmp(o->backend, "local") != 0 &&
			       strcmp(o->backend, "process") != 0)) {
		usage(stderr);
		return EX_USAGE;
	}
	return 0;
}

int
cella_cmd_config(int argc, char **argv)
{
	struct cella_up_plan *p = NULL;
	struct cella_conf *c = NULL;
	struct cella_diag d = {{0}};
	struct cfg_opts o;
	int rv;

	if ((rv = parse(argc, argv, &o)) != 0)
		return rv;
	if (o.keys) {
		cella_conf_print_docs(stdout, cella_cfg_schema);
		return 0;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return EX_OSERR;
	if ((rv = cella_up_load_plan(o.file, o.backend, &c, p, &d)) < 0) {
		fprintf(stderr, "cella config: %s\n", d.msg);
		rv = rv == -EINVAL ? EX_CONFIG : EX_NOINPUT;
	} else if (o.effective) {
		rv = effective(c, p);
	} else if (!o.quiet) {
		cella_conf_print(stdout, c, cella_cfg_schema);
	}
	cella_conf_free(c);
	free(p);
	return rv;
}
