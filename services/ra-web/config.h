/*
 * config: cella-ra-web's settings, from the `attestation:` section of
 * cella.yaml (common/conf/cella/cellacfg_ra.c holds the table) with the command-line
 * flags on top. A flag is written into the tree before validation, so a
 * flag and a file value pass exactly the same checks and --print-config
 * shows what will run; a bad flag is reported as such ("command line:
 * attestation.https.listen: ..."), a bad file value with file:line. Without
 * a file every key has its default and flags say the rest.
 */
#ifndef RA_CONFIG_H
#define RA_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "common/net/addr.h"
#include "common/core/err.h"

#define RA_HOSTNAMES_MAX 16
#define RA_HOSTNAME_MAX 253

enum ra_provider { RA_PROVIDER_AUTO, RA_PROVIDER_NSM, RA_PROVIDER_SIM };
enum ra_access_log { RA_LOG_ALL, RA_LOG_ERRORS, RA_LOG_NONE };

/* Flags that override a key; the names are the flags' own. */
enum ra_flag {
	RA_FLAG_LISTEN,
	RA_FLAG_RA_SOCKET,
	RA_FLAG_PROVIDER,
	RA_FLAG_SIM_CA,
	RA_FLAG_MEASUREMENTS,
	RA_FLAG_CLIENT_CA,
	RA_FLAG_TLS_MIN,
	RA_FLAG_COUNT,
};

struct ra_conf {
	enum ra_provider provider;
	char device[PATH_MAX];
	char sim_ca[PATH_MAX];	     /* "" when not set */
	char measurements[PATH_MAX]; /* "" when not set */

	char listen[CELLA_ADDR_URL_MAX + 1];
	int tls_min; /* TLS1_2_VERSION or TLS1_3_VERSION */
	char client_ca[PATH_MAX]; /* "" when not set: no mTLS */
	char name[65];		  /* "" when not set: the module id */
	char hostnames[RA_HOSTNAMES_MAX][RA_HOSTNAME_MAX + 1];
	unsigned nhostnames;
	bool http2;
	unsigned max_connections, max_url_bytes, max_header_bytes;
	unsigned max_per_peer, header_timeout_ms;
	unsigned idle_timeout_ms;
	enum ra_access_log access_log;

	char internal[CELLA_ADDR_URL_MAX + 1];
	unsigned internal_workers;

	unsigned max_concurrency, queue_max;
	uint64_t cert_refresh_ms, drain_timeout_ms;
	char event_log[CELLA_ADDR_URL_MAX + 1]; /* init's control; "" none */
};

/* The flag's name without dashes ("sim-ca"), for messages. */
const char *ra_flag_name(enum ra_flag f);

/*
 * Load path (NULL: no file, defaults only), apply flags[f] (NULL: not
 * given) and validate. print (not NULL) receives the effective section.
 * On success *out is filled. -EINVAL (d names the file or the command
 * line, the line and the key), -errno reading the file, -ENOMEM.
 */
int ra_conf_load(const char *path, const char *const flags[RA_FLAG_COUNT],
		 FILE *print, struct ra_conf *out, struct cella_diag *d);

#endif
