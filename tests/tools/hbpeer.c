/*
 * hbpeer: the parent's side of the Nitro boot heartbeat, for tests: listen
 * on a unix socket (the emulated vsock://3:9000 is $CELLA_VSOCK_DIR/3_9000),
 * signal readiness, accept one connection, read one byte, echo it back
 * (or --reply BYTE instead), report the byte on stderr and exit 0.
 *
 *   hbpeer PATH [--reply HEX] --ready-fd N
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "tests/lib/argnum.h"

int
main(int argc, char **argv)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int lfd, fd, ready = -1, reply = -1;
	unsigned char b;

	for (int i = 2; i + 1 < argc; i += 2) {
		if (strcmp(argv[i], "--ready-fd") == 0)
			ready = (int)arg_long(argv[i + 1], 10, 0, INT_MAX);
		else if (strcmp(argv[i], "--reply") == 0)
			reply = (int)arg_long(argv[i + 1], 16, 0, 255);
	}
	if (argc < 2 || strlen(argv[1]) >= sizeof(sa.sun_path))
		return 64;
	strcpy(sa.sun_path, argv[1]);
	unlink(argv[1]);
	lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(lfd, 1) < 0)
		return 71;
	if (ready >= 0 && (write(ready, "ready\n", 6) != 6 || close(ready) < 0))
		return 71;
	fd = accept(lfd, NULL, NULL);
	if (fd < 0 || read(fd, &b, 1) != 1)
		return 74;
	fprintf(stderr, "hbpeer: got %02x\n", b);
	if (reply >= 0)
		b = (unsigned char)reply;
	if (write(fd, &b, 1) != 1)
		return 74;
	close(fd);
	close(lfd);
	unlink(argv[1]);
	return 0;
}
