/*
 * console: the log of a `cella up` enclave as people read it. The host
 * side's cella-init writes its stderr to STATE/console.log in logfmt, and
 * each service's lines arrive there wrapped once (host init: a proxy's
 * line, the launcher's) or twice (the launcher's stderr is the enclave's
 * console, where the enclave's init wrapped its services' lines). This
 * module unwraps them into docker compose's shape:
 *
 *   hello       | listening on 127.0.0.1:8000
 *   init        | svc_state service=hello from=starting to=ready
 *   port-8080   | evt=listen ...
 *
 * and finds a service's last lines for error reports. It reads the file;
 * it never writes it. Lines are echoed by init at most 512 bytes long, so
 * a longer line ends in "..." here (`cella logs` has it whole). The host
 * init keeps the file under enclave.console_bytes by renaming it
 * console.log.1 and starting a fresh one: a follower drains the old file
 * and goes on with the new, and a tail reads both.
 */
#ifndef CELLA_CLI_CONSOLE_H
#define CELLA_CLI_CONSOLE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#define CELLA_CONSOLE_LINE_MAX 4096

struct cella_console_line {
	char source[64];		   /* a service, "init", "launch", "host" */
	char text[CELLA_CONSOLE_LINE_MAX]; /* what it said */
	bool event;			   /* a supervisor's event, not output */
	bool problem;			   /* an event at warn or error level */
	bool quiet;			   /* not shown while following */
};

/*
 * One raw line of console.log into *out. Returns false for lines that are
 * not worth showing (the host init's chatter about its own services).
 */
bool cella_console_parse(const char *raw, struct cella_console_line *out);

struct cella_console {
	int fd;
	off_t off;
	size_t len;
	bool color;
	char path[PATH_MAX];
	char buf[CELLA_CONSOLE_LINE_MAX * 2];
};

/* Follow path from its current end (from_start: from its beginning). */
int cella_console_open(struct cella_console *c, const char *path,
		       bool from_start);
void cella_console_close(struct cella_console *c);
/* Print every complete line written since the last call to f. */
void cella_console_pump(struct cella_console *c, FILE *f);

/*
 * The last n lines of source (a service name; "enclave" also gives the
 * launcher's and the enclave init's own lines) into f, indented, from
 * path.1 and path. Returns how many were printed.
 */
int cella_console_tail(const char *path, const char *source, int n, FILE *f);

#endif
