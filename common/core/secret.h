/*
 * secret: key material in a type of its own. Its bytes are wiped when it is
 * freed, kept out of core dumps, and the logger refuses it at compile time
 * (log.h). It is deliberately opaque: code that needs the bytes asks for them
 * by name, which makes every use of a secret greppable.
 */
#ifndef CELLA_SECRET_H
#define CELLA_SECRET_H

#include <stddef.h>
#include <stdint.h>

struct cella_secret;

/* A zero-filled secret of len bytes (1..1 MiB). */
int cella_secret_new(size_t len, struct cella_secret **out);
/* Wipes and frees; NULL is a no-op. */
void cella_secret_free(struct cella_secret *s);
uint8_t *cella_secret_bytes(struct cella_secret *s);
size_t cella_secret_len(const struct cella_secret *s);

#endif
