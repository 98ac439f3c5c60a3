/* greeter_server.c - serves hello.Greeter; usage: greeter_server ADDRESS */
#include <signal.h>
#include <stdio.h>

#include "greeter.h"
#include "shade/shade.h"

static shade_server *server;

/* SIGTERM, SIGINT: make shade_server_run() return. */
static void on_signal(int sig) { (void)sig; shade_server_stop(server); }

/* string greet(in string name): the result lands on mem_ctx */
static shade_status greet(void *self, TALLOC_CTX *mem_ctx, const char *name,
			  char **result, shade_error **err)
{
	(void)self;
	if (name[0] == '\0')
		return shade_error_set(err, SHADE_ERR_VALUE, "empty name");
	if ((*result = talloc_asprintf(mem_ctx, "hello, %s", name)) == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	return SHADE_OK;
}

static const hello_Greeter_impl impl = { .greet = greet };

int main(int argc, char **argv)
{
	TALLOC_CTX *ctx = talloc_new(NULL);
	shade_error *err = NULL;
	shade_ref *g = NULL;
	int rc = argc == 2 &&
		 shade_server_new(ctx, NULL, &server, &err) == SHADE_OK &&
		 hello_Greeter_serve(&impl, NULL, &g, &err) == SHADE_OK &&
		 shade_server_export(server, "greeter", g, &err) == SHADE_OK &&
		 shade_server_listen(server, argv[1], &err) == SHADE_OK ? 0 : 1;

	if (rc == 0) {
		signal(SIGTERM, on_signal);
		signal(SIGINT, on_signal);
		printf("listening on %s\n", shade_server_address(server, 0));
		fflush(stdout);
		rc = shade_server_run(server, &err) == SHADE_OK ? 0 : 1;
	}
	if (rc != 0)
		fprintf(stderr, "greeter_server: %s\n",
			err ? shade_error_describe(ctx, err) : "usage: ADDRESS");
	shade_error_free(err);
	shade_ref_release(g);      /* the server holds its own count */
	talloc_free(ctx);
	return rc;
}
