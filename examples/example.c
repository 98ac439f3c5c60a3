/*
 * example.c - the main() shared by the example clients (example.h).
 */
#include <stdio.h>

#include "example.h"

/* See example.h. */
int example_main(int argc, char **argv, example_fn fn)
{
	TALLOC_CTX *ctx;
	shade_error *err = NULL;
	int rc = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: %s ADDRESS\n", argv[0]);
		return 2;
	}
	ctx = talloc_new(NULL);
	if (ctx == NULL)
		return 1;
	if (fn(ctx, argv[1], &err) != SHADE_OK) {
		fprintf(stderr, "%s: %s\n", argv[0],
			err ? shade_error_describe(ctx, err) : "failed");
		rc = 1;
	}
	shade_error_free(err);
	talloc_free(ctx);       /* typed references, values, connection */
	return rc;
}
