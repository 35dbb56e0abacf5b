/*
 * measure_test: manifests are "SHA384  PATH\n" lines sorted by path, each
 * path once, and the PCR is the SHA-384 of that text (what sha384sum |
 * LC_ALL=C sort -u -k2 | sha384sum gives); executables are found as
 * cella-init finds them.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "common/core/buf.h"
#include "services/cella/up/measure.h"
#include "tests/lib/rmtree.h"

#define SHA384_A "54a59b9f22b0b80880d8427e548b7c23abd873486e1f035dce9cd697e85175033caa88e6d57bc35efae0b5afd3145f31"
#define SHA384_B "98a906182cdcfb1eb4eb47117600f68958e2ddd140248b47984f4bde6587b89c8215c3da895a336e94ad1aca39015c40"
#define SHA384_EMPTY "38b060a751ac96384cd9327eb1b1e36a21fdb71114be07434c0cc7bf63f6e1da274edebfe76f65fbd51ad2f14898b95b"

static char dir[64];

static void
put(const char *name, const char *content, mode_t mode)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(content, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/cella-measure-test.XXXXXX");
	assert_non_null(mkdtemp(dir));
	put("b", "b", 0755);
	put("a", "a", 0755);
	put("noexec", "x", 0644);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	return rmtree(dir);
}

static void
test_manifest(void **state)
{
	struct cella_manifest m = {0};
	struct cella_diag d = {{0}};
	char path[128], want[1024], *text = NULL, hex[97];
	uint8_t pcr[48], check[48];

	(void)state;
	snprintf(path, sizeof(path), "%s/b", dir);
	assert_int_equal(cella_manifest_add(&m, path, &d), 0);
	snprintf(path, sizeof(path), "%s/a", dir);
	assert_int_equal(cella_manifest_add(&m, path, &d), 0);
	assert_int_equal(cella_manifest_add(&m, path, &d), 0); /* once */
	assert_int_equal(m.n, 2);
	assert_int_equal(cella_manifest_finish(&m, &text, pcr), 0);
	snprintf(want, sizeof(want), SHA384_A "  %s/a\n" SHA384_B "  %s/b\n",
		 dir, dir);
	assert_string_equal(text, want);
	assert_int_equal(EVP_Digest(want, strlen(want), check, NULL,
				    EVP_sha384(), NULL), 1);
	assert_memory_equal(pcr, check, 48);
	free(text);
	cella_manifest_fini(&m);

	/* No executables: the SHA-384 of nothing. */
	assert_int_equal(cella_manifest_finish(&m, &text, pcr), 0);
	assert_string_equal(text, "");
	cella_hex_encode(pcr, 48, hex, sizeof(hex));
	assert_string_equal(hex, SHA384_EMPTY);
	free(text);

	snprintf(path, sizeof(path), "%s/missing", dir);
	assert_int_equal(cella_manifest_add(&m, path, &d), -ENOENT);
	assert_non_null(strstr(d.msg, "missing"));
	cella_manifest_fini(&m);
}

static void
test_find(void **state)
{
	char out[256], want[256], path[256];

	(void)state;
	/* A name: the first PATH entry that has it, executable. */
	snprintf(path, sizeof(path), "/nonexistent:%s", dir);
	assert_int_equal(cella_measure_find_exe("a", "/", path, out, sizeof(out)),
			 0);
	snprintf(want, sizeof(want), "%s/a", dir);
	assert_string_equal(out, want);
	assert_int_equal(cella_measure_find_exe("noexec", "/", path, out,
						sizeof(out)),
			 -EACCES);
	assert_int_equal(cella_measure_find_exe("nosuch", "/", path, out,
						sizeof(out)),
			 -ENOENT);
	/* A path: relative to the workdir, not searched. */
	assert_int_equal(cella_measure_find_exe("./b", dir, "/bin", out,
						sizeof(out)),
			 0);
	snprintf(want, sizeof(want), "%s/./b", dir);
	assert_string_equal(out, want);
	assert_int_equal(cella_measure_find_exe("/bin/sh", dir, NULL, out,
						sizeof(out)),
			 0);
	assert_string_equal(out, "/bin/sh");
	/* No PATH: cella-init's default, which has sh. */
	assert_int_equal(cella_measure_find_exe("sh", "/", NULL, out,
						sizeof(out)),
			 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_manifest),
		cmocka_unit_test(test_find),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
