/* greeter_dynamic.c - the same call with no IDL: discovery and a call by
 * name.  usage: greeter_dynamic ADDRESS NAME */
#include <stdio.h>
#include <string.h>

#include "shade/shade.h"

int main(int argc, char **argv)
{
	TALLOC_CTX *ctx = talloc_new(NULL);
	shade_error *err = NULL;
	shade_conn *c;
	shade_ref *g;
	shade_value *args, *r;
	char **names, *text;
	size_t i, n;
	int rc = 1;

	if (argc == 3 &&
	    shade_connect(ctx, argv[1], NULL, &c, &err) == SHADE_OK &&
	    shade_lookup(c, "greeter", &g, &err) == SHADE_OK) {
		shade_ref_value_take(ctx, g);      /* freed with ctx */
		/* the shape came with the reference: no round trip here */
		if (shade_dir(ctx, g, &names, &n, &err) == SHADE_OK) {
			for (i = 0; i < n; i++)
				printf("member %s\n", names[i]);
			/* greet(name): arguments are a tuple of values */
			args = shade_tuple_new(ctx, 1);
			if (shade_seq_append_str(args, argv[2], strlen(argv[2]),
						 &err) == SHADE_OK &&
			    shade_invoke(ctx, g, "greet", args, NULL, &r,
					 &err) == SHADE_OK &&
			    (text = shade_value_strdup(ctx, r)) != NULL) {
				printf("%s\n", text);
				rc = 0;
			}
		}
	}
	if (rc != 0)
		fprintf(stderr, "greeter_dynamic: %s\n",
			err ? shade_error_describe(ctx, err) : "usage: ADDRESS NAME");
	shade_error_free(err);
	talloc_free(ctx);
	return rc;
}
