/*
 * measure: the local emulator's PCRs, computed from what runs, so that
 * changing a binary or the configuration changes them, and anyone can
 * compute them again with coreutils:
 *
 *   PCR0  SHA-384 of the manifest of cella's own executables the enclave
 *         runs (cella-init and the built-in services: cella-ra-web, the
 *         bridge's and the ingress's cella-pf-proxy, cella-pipeline)
 *   PCR1  SHA-384 of the manifest of the user's service executables
 *   PCR2  SHA-384 of the effective cella.yaml, byte for byte
 *
 * A manifest is one line per executable, "HEX  PATH\n": HEX is the SHA-384
 * of the file's bytes in lower-case hex, PATH its absolute path as
 * cella-init resolves the service's command (a name is looked up in the
 * service's PATH, a relative path is taken from its workdir; links are
 * not resolved); lines are sorted by PATH, byte by byte, each path once.
 * That is exactly
 *
 *   sha384sum PATH... | LC_ALL=C sort -u -k2 | sha384sum
 *
 * A debug enclave's PCRs are all zero, as on Nitro. Shared libraries and
 * the rest of the host's root are not measured: the emulator runs on the
 * host's file system (read-only) rather than on an image.
 */
#ifndef CELLA_CLI_MEASURE_H
#define CELLA_CLI_MEASURE_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "common/core/err.h"

#define CELLA_MANIFEST_MAX 256 /* executables in one manifest */

struct cella_manifest {
	size_t n;
	struct {
		char path[PATH_MAX];
		uint8_t sha384[48];
	} *e;
};

/* SHA-384 of a file's bytes, or of a buffer. 0 or -errno. */
int cella_measure_file(const char *path, uint8_t out[48]);
void cella_measure_bytes(const void *p, size_t n, uint8_t out[48]);

/*
 * Find a command's executable as cella-init will: a name with a '/' is
 * taken as is (relative to workdir), any other name is searched in path
 * (a PATH value; NULL: init's default). -ENOENT when there is none.
 */
int cella_measure_find_exe(const char *name, const char *workdir,
			   const char *path, char *out, size_t cap);

/* Hash path and add it (once per path). -E2BIG past the cap. */
int cella_manifest_add(struct cella_manifest *m, const char *path,
		       struct cella_diag *d);
/*
 * The manifest's text (sorted) into *text (the caller's, free) and its
 * SHA-384 into pcr.
 */
int cella_manifest_finish(struct cella_manifest *m, char **text,
			  uint8_t pcr[48]);
void cella_manifest_fini(struct cella_manifest *m);

#endif
