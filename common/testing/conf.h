/*
 * testing/conf: what the config engine's tests share: a schema shaped like
 * cella.yaml (sections, a map of services, a list of operators with a
 * check hook), a file that exercises it with known line numbers, and small
 * helpers to load text, walk the tree by path and print into a string.
 * The schema is the tests' own, not cella.yaml's (conf/cella has that), so
 * that the engine is tested apart from the product's tables. Call only
 * from cmocka tests: a load that fails fails the test.
 */
#ifndef CELLA_TESTING_CONF_H
#define CELLA_TESTING_CONF_H

#include <cjson/cJSON.h>

#include "common/conf/conf.h"

/* The top level: name, enclave, services, operators. */
extern const struct cella_conf_key tu_conf_top[];

/* The enclave section's keys (cpus, memory_mib, debug, cid). */
extern const struct cella_conf_key tu_conf_enclave[];

/* A map of strings "s" and a string list "l", for quoting tests. */
extern const struct cella_conf_key tu_conf_strings[];

/* A valid file for tu_conf_top; the tests name its line numbers. */
extern const char tu_conf_good[];

/* yaml loaded as "cella.yaml" (not validated); cella_conf_free it. */
struct cella_conf *tu_conf_load(const char *yaml);

/* The node at a dotted path ("services.web.env.MODE", "operators.1"). */
cJSON *tu_conf_at(const struct cella_conf *c, const char *path);

/* cella_conf_print's output as a string; the caller frees it. */
char *tu_conf_print(const struct cella_conf *c,
		    const struct cella_conf_key *schema);

#endif
