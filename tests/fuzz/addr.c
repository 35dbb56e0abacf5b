/*
 * Fuzz target: the address parser (flags and config hand it outside text).
 * Every input either fails with a diagnosis or parses to an address whose
 * canonical form parses again to the same address.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/net/addr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *url = malloc(size + 1), canon[CELLA_ADDR_URL_MAX + 16];
	struct cella_addr a, b;
	struct cella_diag d;

	memcpy(url, data, size);
	url[size] = '\0';
	d.msg[0] = '\0';
	if (cella_addr_parse(url, &a, &d) < 0) {
		if (d.msg[0] == '\0')
			abort(); /* every refusal must say why */
	} else {
		if (cella_addr_format(&a, canon, sizeof(canon)) < 0 ||
		    cella_addr_parse(canon, &b, &d) < 0 ||
		    memcmp(&a, &b, sizeof(a)) != 0)
			abort();
	}
	free(url);
	return 0;
}
