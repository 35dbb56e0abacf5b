/*
 * bigprint: prints N bytes of a deterministic pattern to stdout (lines of
 * varying length, one longer than init's 16 KiB line limit, binary bytes
 * including NUL, and a last line without a newline), in writes of varying
 * size; with --expect FILE it writes the same bytes to FILE instead, so a
 * test can compare what cella-init captured with what was printed.
 *
 *   bigprint BYTES [--expect FILE]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static size_t
pattern(unsigned char *p, size_t n)
{
	unsigned seed = 12345;
	size_t o = 0, line = 0;

	while (o < n) {
		size_t len = line % 97 == 13 ? 40000 : (size_t)(rand_r(&seed) % 200);

		for (size_t i = 0; i < len && o < n; i++, o++)
			p[o] = line % 11 == 5 ? (unsigned char)(rand_r(&seed) % 256)
					      : (unsigned char)('a' + (o + line) % 26);
		if (o < n)
			p[o++] = '\n';
		line++;
	}
	if (n > 0 && p[n - 1] == '\n')
		p[n - 1] = 'z'; /* end on a partial line */
	return n;
}

int
main(int argc, char **argv)
{
	size_t n, o = 0, step = 1;
	unsigned char *p;
	FILE *out = stdout;

	if (argc != 2 && !(argc == 4 && strcmp(argv[2], "--expect") == 0)) {
		fprintf(stderr, "usage: bigprint BYTES [--expect FILE]\n");
		return 64;
	}
	n = strtoull(argv[1], NULL, 10);
	p = malloc(n ? n : 1);
	if (p == NULL)
		return 71;
	pattern(p, n);
	if (argc == 4 && (out = fopen(argv[3], "wb")) == NULL)
		return 73;
	if (out != stdout) {
		fwrite(p, 1, n, out);
		fclose(out);
		free(p);
		return 0;
	}
	while (o < n) { /* writes of 1 byte to 64 KiB, splitting lines anywhere */
		size_t k = step < n - o ? step : n - o;
		ssize_t w = write(1, p + o, k);

		if (w < 0)
			return 74;
		o += (size_t)w;
		step = step * 7 % 65536 + 1;
	}
	free(p);
	return 0;
}
