/*
 * file: opening a file someone named (a configuration, a key, a state
 * file) so that only a regular file is read. open() itself would block
 * forever on a FIFO with no writer and could have side effects on a device,
 * so the file is opened non-blocking, without taking a controlling
 * terminal, and refused after fstat unless it is a regular file. It does
 * not read the file or judge its owner or mode: callers do.
 */
#ifndef CELLA_FILE_H
#define CELLA_FILE_H

#include "common/core/err.h"

/*
 * Open path read-only (O_CLOEXEC) if it is a regular file. Returns the
 * descriptor, or -errno with d saying "PATH: ..." : -EISDIR for a
 * directory, -ENODEV for anything else that is not a regular file (FIFO,
 * socket, character or block device), or open()'s own error (-ENOENT,
 * -EACCES, ...). The descriptor is O_NONBLOCK, which a regular file
 * ignores.
 */
int cella_file_open_regular(const char *path, struct cella_diag *d);

/* What kind of file mode is, for messages: "a FIFO", "a directory". */
const char *cella_file_kind(unsigned mode);

#endif
