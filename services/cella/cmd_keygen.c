/*
 * cella keygen: create the operator key the attested bridge admits (Ed25519,
 * one PEM file with its self-signed certificate, mode 0600) and print the
 * lines to put under `operators:` in cella.yaml. --show prints them for an
 * existing key.
 */
#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "common/rpc/operators.h"
#include "common/bridge/tls.h"
#include "services/cella/conn.h"

static const char usage[] =
	"usage: cella keygen [--name NAME] [--out PATH] [--force] [--show]\n"
	"\n"
	"Creates an operator key (Ed25519 with a self-signed certificate, one\n"
	"PEM file, mode 0600) and prints the cella.yaml lines that admit it.\n"
	"  --name NAME  the operator's name (default: your user name)\n"
	"  --out PATH   where (default ~/.config/cella/operator.pem, or\n"
	"               $CELLA_OPERATOR_KEY)\n"
	"  --force      replace an existing key\n"
	"  --show       print the lines for the existing key; create nothing\n";

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

int cella_cmd_keygen(int argc, char **argv);

int
cella_cmd_keygen(int argc, char **argv)
{
	static const struct option opts[] = {
		{"name", required_argument, NULL, 'n'},
		{"out", required_argument, NULL, 'o'},
		{"force", no_argument, NULL, 'f'},
		{"show", no_argument, NULL, 's'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	char defpath[4096], user[64];
	const char *path = NULL, *name = NULL;
	struct passwd *pw = getpwuid(getuid());
	struct cella_diag d;
	bool force = false, only_show = false;
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
		switch (ch) {
		case 'n':
			name = optarg;
			break;
		case 'o':
			path = optarg;
			break;
		case 'f':
			force = true;
			break;
		case 's':
			only_show = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return EX_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "cella keygen: unexpected argument '%s'\n",
			argv[optind]);
		return EX_USAGE;
	}
	/* --key, a connection option, names the same file. */
	if (path == NULL)
		path = cella_conn.key;
	if (path == NULL)
		path = cella_opkey_default_path(defpath, sizeof(defpath));
	if (only_show)
		return show(path, name);
	snprintf(user, sizeof(user), "%s", pw != NULL ? pw->pw_name : "operator");
	if (name == NULL)
		name = user;
	if (strlen(name) == 0 || strlen(name) > CELLA_OPERATOR_NAME_MAX) {
		fprintf(stderr, "cella keygen: a name is 1..%d characters\n",
			CELLA_OPERATOR_NAME_MAX);
		return EX_USAGE;
	}
	if (cella_opkey_generate(path, name, force, &d) < 0) {
		fprintf(stderr, "cella keygen: %s\n", d.msg);
		return EX_CANTCREAT;
	}
	return show(path, name);
}
