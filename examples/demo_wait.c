/*
 * demo_wait.c - wait until a shade server accepts connections.
 *
 * Scripts that start a server in the background and then run clients
 * (the `make demo` target does) call this in between, so no client
 * races the server's start: it connects (HELLO, then BYE) every 20 ms
 * until one connection goes through or the time runs out.
 *
 * usage: demo_wait ADDRESS [TIMEOUT_MS]     (default 5000)
 * Exit status 0 once the server accepted a connection, 1 on timeout.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "shade/shade.h"

/* Try argv[1] every 20 ms until it accepts or the time runs out. */
int main(int argc, char **argv)
{
	struct timespec pause = { 0, 20 * 1000 * 1000 };
	long timeout_ms = argc > 2 ? strtol(argv[2], NULL, 10) : 5000;
	long waited;
	shade_error *err = NULL;
	TALLOC_CTX *ctx;
	shade_conn *c;

	if (argc < 2 || argc > 3 || timeout_ms <= 0) {
		fprintf(stderr, "usage: %s ADDRESS [TIMEOUT_MS]\n", argv[0]);
		return 2;
	}
	for (waited = 0; waited <= timeout_ms; waited += 20) {
		ctx = talloc_new(NULL);
		shade_error_clear(&err);
		if (ctx != NULL &&
		    shade_connect(ctx, argv[1], NULL, &c, &err) == SHADE_OK) {
			talloc_free(ctx);       /* says BYE and closes */
			return 0;
		}
		talloc_free(ctx);
		nanosleep(&pause, NULL);
	}
	fprintf(stderr, "demo_wait: %s not ready after %ld ms: %s\n", argv[1],
		timeout_ms, err ? err->message : "failed");
	shade_error_free(err);
	return 1;
}
