/* greeter_client.c - typed calls; usage: greeter_client ADDRESS NAME */
#include <stdio.h>

#include "greeter.h"
#include "shade/shade.h"

int main(int argc, char **argv)
{
	TALLOC_CTX *ctx = talloc_new(NULL);
	shade_error *err = NULL;
	shade_conn *c;
	shade_ref *ref;
	hello_Greeter *g;
	char *text;
	int rc = 1;

	if (argc == 3 &&
	    shade_connect(ctx, argv[1], NULL, &c, &err) == SHADE_OK &&
	    shade_lookup(c, "greeter", &ref, &err) == SHADE_OK) {
		if (hello_Greeter_narrow(ctx, ref, &g, &err) == SHADE_OK &&
		    hello_Greeter_greet(g, ctx, argv[2], &text, &err) ==
			    SHADE_OK) {
			printf("%s\n", text);
			rc = 0;
		}
		shade_ref_release(ref);    /* g holds its own count */
	}
	if (rc != 0)
		fprintf(stderr, "greeter_client: %s\n",
			err ? shade_error_describe(ctx, err) : "usage: ADDRESS NAME");
	shade_error_free(err);
	talloc_free(ctx);              /* says BYE and frees g, c, text */
	return rc;
}
