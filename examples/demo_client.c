/*
 * demo_client.c - the seed demo's client: connects over a Unix socket,
 * prints x.z, calls x.meth with a local function returning 1 (the server
 * calls it back) and prints 4, then calls x.raising() and prints the
 * ZeroDivisionError with the chain of where it was raised.
 *
 * usage: demo_client ADDRESS      (waits up to 5 s for the server)
 * Exit status 0 when every step gave the expected answer.
 */
#include <stdio.h>
#include <time.h>

#include "shade/shade.h"

/* The local function handed to the server: returns 1. */
static shade_status one(shade_call_ctx *call)
{
	call->result = shade_int(call->mem, 1);
	return call->result ? SHADE_OK
			    : shade_error_set(call->err, SHADE_ERR_NOMEM,
					      "out of memory");
}

/* Connect, retrying while the server starts (up to 5 s). */
static shade_status connect_retry(TALLOC_CTX *ctx, const char *address,
				  shade_conn **c, shade_error **err)
{
	struct timespec pause = { 0, 20 * 1000 * 1000 };
	shade_status st = SHADE_ERR_CONNECTION_LOST;
	int i;

	for (i = 0; i < 250; i++) {
		shade_error_clear(err);
		st = shade_connect(ctx, address, NULL, c, err);
		if (st == SHADE_OK)
			return st;
		nanosleep(&pause, NULL);
	}
	return st;
}

int main(int argc, char **argv)
{
	TALLOC_CTX *ctx = talloc_new(NULL);
	shade_conn *c = NULL;
	shade_ref *x = NULL, *fn = NULL;
	shade_value *z = NULL, *args, *r = NULL;
	shade_error *err = NULL;
	char *text;
	int rc = 1;

	if (argc != 2) {
		fprintf(stderr, "usage: %s ADDRESS\n", argv[0]);
		return 2;
	}
	if (connect_retry(ctx, argv[1], &c, &err) != SHADE_OK ||
	    shade_lookup(c, "x", &x, &err) != SHADE_OK ||
	    shade_getattr(ctx, x, "z", &z, &err) != SHADE_OK)
		goto fail;
	printf("x.z = %lld\n", (long long)shade_value_as_int(z));

	if (shade_function_new("one", one, NULL, &fn, &err) != SHADE_OK)
		goto fail;
	args = shade_tuple_new(ctx, 1);
	if (args == NULL ||
	    shade_seq_append_take(args, shade_ref_value(ctx, fn), &err) !=
		    SHADE_OK ||
	    shade_invoke(ctx, x, "meth", args, NULL, &r, &err) != SHADE_OK)
		goto fail;
	printf("x.meth(lambda: 1) = %lld\n", (long long)shade_value_as_int(r));

	if (shade_invoke(ctx, x, "raising", NULL, NULL, &r, &err) ==
	    SHADE_OK) {
		fprintf(stderr, "demo_client: raising() did not raise\n");
		goto out;
	}
	text = shade_error_describe(ctx, err);
	printf("x.raising() raised %s\n", text ? text : err->name);
	if (err->code == SHADE_ERR_ZERO_DIVISION && err->chain_len == 1 &&
	    shade_value_as_int(z) == 3 && shade_value_as_int(r) == 4)
		rc = 0;
	goto out;
fail:
	fprintf(stderr, "demo_client: %s: %s\n", err ? err->name : "error",
		err ? err->message : "failed");
out:
	shade_error_free(err);
	shade_ref_release(x);
	shade_ref_release(fn);
	talloc_free(ctx);
	return rc;
}
