/*
 * cella keygen: create the operator key the attested bridge admits (Ed25519,
 * one PEM file with its self-signed certificate, mode 0600) and print the
 * lines to put under `operators:` in cella.yaml. --show prints them for an
 * existing key.
 */
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "common/rpc/operators.h"
#include "common/bridge/tls.h"
#include "services/cella/cmd.h"
#include "services/cella/conn.h"

static struct {
	const char *name, *out;
	bool force, show;
} args;

static const struct cella_opt opts[] = {
	{"name", 0, CELLA_OPT_STR, &args.name, .metavar = "NAME",
	 .help = "the operator's name (default: your user name)"},
	{"out", 'o', CELLA_OPT_STR, &args.out, .metavar = "PATH",
	 .help = "where (default ~/.config/cella/operator.pem, or\n"
		 "$CELLA_OPERATOR_KEY)"},
	{"force", 0, CELLA_OPT_FLAG, &args.force,
	 .help = "replace an existing key"},
	{"show", 0, CELLA_OPT_FLAG, &args.show,
	 .help = "print the lines for the existing key; create nothing"},
	{0},
};

static int
show(const char *path, const char *name)
{
	EVP_PKEY *key = NULL;
	X509 *cert = NULL;
	uint8_t pub[32];
	char text[64], cn[64] = "";
	struct cella_diag d;

	if (cella_opkey_load(path, &key, &cert, &d) < 0) {
		fprintf(stderr, "cella keygen: %s\n", d.msg);
		return EX_NOINPUT;
	}
	cella_opkey_public(key, pub);
	cella_operator_key_format(pub, text, sizeof(text));
	X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName,
				  cn, sizeof(cn));
	printf("# operator key: %s\n", path);
	printf("operators:\n  - name: %s\n    public_key: \"%s\"\n"
	       "    roles: [services, logs, exec, files]\n",
	       name != NULL ? name : cn, text);
	EVP_PKEY_free(key);
	X509_free(cert);
	return 0;
}

static int
cmd_keygen(int argc, char **argv)
{
	char defpath[4096], user[64];
	const char *path = args.out, *name = args.name;
	struct passwd *pw = getpwuid(getuid());
	struct cella_diag d;

	(void)argc;
	(void)argv;
	/* --key, a connection option, names the same file. */
	if (path == NULL)
		path = cella_conn.key;
	if (path == NULL)
		path = cella_opkey_default_path(defpath, sizeof(defpath));
	if (args.show)
		return show(path, name);
	snprintf(user, sizeof(user), "%s", pw != NULL ? pw->pw_name : "operator");
	if (name == NULL)
		name = user;
	if (strlen(name) == 0 || strlen(name) > CELLA_OPERATOR_NAME_MAX) {
		fprintf(stderr, "cella keygen: a name is 1..%d characters\n",
			CELLA_OPERATOR_NAME_MAX);
		return EX_USAGE;
	}
	if (cella_opkey_generate(path, name, args.force, &d) < 0) {
		fprintf(stderr, "cella keygen: %s\n", d.msg);
		return EX_CANTCREAT;
	}
	return show(path, name);
}

const struct cella_cmd cella_cmd_keygen = {
	.name = "keygen",
	.run = cmd_keygen,
	.summary = "create an operator key for the bridge",
	.opts = opts,
	.args = "[--name NAME] [--out PATH] [--force] [--show]",
	.help = "Creates an operator key (Ed25519 with a self-signed "
		"certificate, one\n"
		"PEM file, mode 0600) and prints the cella.yaml lines that "
		"admit it.\n",
};
