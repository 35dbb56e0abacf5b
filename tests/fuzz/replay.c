/*
 * replay: the driver that links each fuzz target into an ordinary program,
 * so that `scripts/test` replays every corpus in every build (gcc or clang,
 * with or without sanitizers). Arguments are files or directories of files;
 * a file named *.vectors holds golden vectors, one per line:
 *   valid|invalid  NAME  HEX  # reason
 * and each HEX is fed as one input. With -Dfuzzing=true the same targets are
 * linked with libFuzzer instead (scripts/fuzz), and this file is not used.
 */
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/core/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define INPUT_MAX (4u << 20)

static long inputs;

static int
run_bytes(const uint8_t *p, size_t n)
{
	/* A private copy, exactly n bytes long, so ASan sees any overread. */
	uint8_t *copy = malloc(n ? n : 1);

	if (copy == NULL)
		return -ENOMEM;
	memcpy(copy, p, n);
	LLVMFuzzerTestOneInput(copy, n);
	free(copy);
	inputs++;
	return 0;
}

static int
run_vectors(const char *path, FILE *f)
{
	char line[65536];
	int lineno = 0;

	while (fgets(line, sizeof(line), f) != NULL) {
		char kind[16], name[128], hex[65536];
		uint8_t *bytes;
		int n;

		lineno++;
		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (sscanf(line, "%15s %127s %65535s", kind, name, hex) != 3) {
			fprintf(stderr, "%s:%d: malformed vector line\n", path,
				lineno);
			return -EINVAL;
		}
		if (strcmp(hex, "-") == 0)
			hex[0] = '\0';
		bytes = malloc(strlen(hex) / 2 + 1);
		n = cella_hex_decode(hex, strlen(hex), bytes, strlen(hex) / 2);
		if (n < 0) {
			fprintf(stderr, "%s:%d: bad hex\n", path, lineno);
			free(bytes);
			return -EINVAL;
		}
		run_bytes(bytes, (size_t)n);
		free(bytes);
	}
	return 0;
}

static int
run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	size_t n;
	int rv;

	if (f == NULL) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -errno;
	}
	if (strlen(path) > 8 && strcmp(path + strlen(path) - 8, ".vectors") == 0) {
		rv = run_vectors(path, f);
		fclose(f);
		return rv;
	}
	buf = malloc(INPUT_MAX);
	n = fread(buf, 1, INPUT_MAX, f);
	fclose(f);
	rv = run_bytes(buf, n);
	free(buf);
	return rv;
}

static int
run_path(const char *path)
{
	struct stat st;
	struct dirent **names;
	char child[4096];
	int n, rv = 0;

	if (stat(path, &st) < 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -errno;
	}
	if (!S_ISDIR(st.st_mode))
		return run_file(path);
	n = scandir(path, &names, NULL, alphasort);
	if (n < 0)
		return -errno;
	for (int i = 0; i < n; i++) {
		if (names[i]->d_name[0] != '.' && rv == 0) {
			snprintf(child, sizeof(child), "%s/%s", path,
				 names[i]->d_name);
			rv = run_path(child);
		}
		free(names[i]);
	}
	free(names);
	return rv;
}

int
main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s CORPUS_DIR|FILE...\n", argv[0]);
		return 64;
	}
	for (int i = 1; i < argc; i++)
		if (run_path(argv[i]) < 0)
			return 1;
	printf("replayed %ld inputs without a crash\n", inputs);
	return inputs > 0 ? 0 : 1;
}
