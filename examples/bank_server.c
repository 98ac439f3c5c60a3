/*
 * bank_server.c - a typed server for examples/bank.idl.
 *
 * The objects themselves are in bank_impl.c: C state behind the
 * generated skeletons.  This program only exports them and runs the loop.
 *
 * Exports:  "account"  a bank.Account held by ada, 100.00 in it
 *           "auditor"  a bank.Auditor watching that account
 *
 * usage: bank_server ADDRESS      (e.g. unix:/tmp/bank.sock, tcp:127.0.0.1:0)
 * Prints "listening on ADDRESS" (the bound address: the port chosen for
 * tcp:...:0) and runs until SIGTERM or SIGINT.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "bank_impl.h"
#include "shade/shade.h"

static shade_server *server;

/* SIGTERM/SIGINT: stop the loop (shade_server_stop is signal-safe). */
static void on_signal(int sig)
{
	(void)sig;
	if (server != NULL)
		shade_server_stop(server);
}

/* Export the bank on argv[1] and serve until SIGTERM or SIGINT. */
int main(int argc, char **argv)
{
	TALLOC_CTX *ctx = talloc_new(NULL);
	TALLOC_CTX *state = talloc_new(NULL);
	shade_error *err = NULL;
	struct sigaction sa;
	int rc = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: %s ADDRESS\n", argv[0]);
		talloc_free(ctx);
		talloc_free(state);
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (shade_server_new(ctx, NULL, &server, &err) != SHADE_OK ||
	    bank_impl_export(state, server, "ada", 10000, &err) != SHADE_OK ||
	    shade_server_listen(server, argv[1], &err) != SHADE_OK) {
		rc = 1;
	} else {
		printf("listening on %s\n", shade_server_address(server, 0));
		fflush(stdout);
		if (shade_server_run(server, &err) != SHADE_OK)
			rc = 1;
	}
	if (rc != 0)
		fprintf(stderr, "bank_server: %s\n",
			err ? shade_error_describe(ctx, err) : "failed");
	shade_error_free(err);
	server = NULL;
	talloc_free(ctx);          /* the server and its connections */
	talloc_free(state);        /* then the objects' state */
	return rc;
}
