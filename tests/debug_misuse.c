/*
 * debug_misuse.c - a program that misuses the API (shade_connect with a
 * NULL out-pointer), run by tests/check_debug.sh against a release and a
 * debug (SHADE_DEBUG) build of the library.
 *
 * Release: the call fails with InvalidArgument and the program prints the
 * message and exits 0.  Debug: the library stops the program at the call
 * (abort) after printing "shade: misuse: ..." on standard error.
 */
#include <stdio.h>

#include "shade/shade.h"

int main(void)
{
	shade_error *err = NULL;
	shade_status st;

	st = shade_connect(NULL, "unix:/nonexistent/s.sock", NULL, NULL, &err);
	if (st != SHADE_ERR_INVALID || err == NULL) {
		fprintf(stderr, "want InvalidArgument, got %s\n",
			shade_status_name(st));
		return 1;
	}
	printf("%s: %s\n", err->name, err->message);
	shade_error_free(err);
	return 0;
}
