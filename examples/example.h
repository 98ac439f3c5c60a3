/*
 * example.h - the main() shared by the example clients.
 *
 * Each client is one function that does its work on a talloc context
 * and fails with a shade_status and an error; example_main() checks the
 * command line, runs it, prints the error (with its remote chain) and
 * frees everything.
 */
#ifndef SHADE_EXAMPLE_H
#define SHADE_EXAMPLE_H

#include "shade/shade.h"

/* A client's body: connect to address and do its steps, allocating on
 * ctx (freed by the caller).  SHADE_OK when every answer was expected. */
typedef shade_status (*example_fn)(TALLOC_CTX *ctx, const char *address,
				   shade_error **err);

/* Run fn with argv[1] as the address: exit status 0 on success, 1 on
 * failure (the error printed to stderr), 2 on a usage error. */
int example_main(int argc, char **argv, example_fn fn);

#endif /* SHADE_EXAMPLE_H */
