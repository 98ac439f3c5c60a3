/*
 * demo_server.c - the seed demo's server: exports `x`, an object with an
 * attribute z = 3, a method meth(callback) returning z + callback(), and
 * a method raising() that attempts a division by zero and raises
 * ZeroDivisionError instead of trapping.
 *
 * usage: demo_server ADDRESS      (e.g. unix:/tmp/demo.sock)
 *        demo_server --stdio      (one peer on stdin/stdout, for exec:)
 * Runs until SIGTERM or SIGINT, or with --stdio until the peer leaves.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "shade/shade.h"

static shade_server *server;

/* SIGTERM/SIGINT: stop the loop (shade_server_stop is signal-safe). */
static void on_signal(int sig)
{
	(void)sig;
	if (server != NULL)
		shade_server_stop(server);
}

/* x.meth(callback): z + callback(). */
static shade_status meth(shade_call_ctx *call)
{
	const shade_value *z = shade_object_attr(call->self, "z");
	const shade_value *cb;
	shade_value *r = NULL;

	if (shade_seq_len(call->args) != 1 ||
	    shade_value_kind(cb = shade_seq_at(call->args, 0)) != SHADE_REF)
		return shade_error_set(call->err, SHADE_ERR_TYPE,
				       "meth() takes one callable");
	/* The callback runs in the client, on the thread waiting for us. */
	SHADE_CHECK(shade_call(call->mem, shade_value_as_ref(cb), NULL, NULL,
			       &r, call->err));
	if (shade_value_kind(r) != SHADE_INT || shade_value_kind(z) != SHADE_INT)
		return shade_error_set(call->err, SHADE_ERR_TYPE,
				       "callback() must return an int");
	call->result = shade_int(call->mem, shade_value_as_int(z) +
					     shade_value_as_int(r));
	return call->result ? SHADE_OK
			    : shade_error_set(call->err, SHADE_ERR_NOMEM,
					      "out of memory");
}

/* Divide, checking the divisor as C must. */
static shade_status checked_div(int64_t a, int64_t b, int64_t *out,
				shade_error **err)
{
	if (b == 0)
		return shade_error_set(err, SHADE_ERR_ZERO_DIVISION,
				       "division by zero (%lld / %lld)",
				       (long long)a, (long long)b);
	*out = a / b;
	return SHADE_OK;
}

/* x.raising(): 1 / 0. */
static shade_status raising(shade_call_ctx *call)
{
	int64_t q = 0;

	SHADE_CHECK(checked_div(1, 0, &q, call->err));
	call->result = shade_int(call->mem, q);
	return SHADE_OK;
}

/* Serve the peer on stdin/stdout until it leaves. */
static shade_status serve_stdio(shade_server *s, shade_error **err)
{
	shade_transport *t;

	SHADE_CHECK(shade_transport_from_fds(s, 0, 1, 0, NULL, &t, err));
	SHADE_CHECK(shade_server_adopt(s, t, NULL, err));
	while (shade_server_conn_count(s) > 0)
		SHADE_CHECK(shade_server_run_once(s, -1, err));
	return SHADE_OK;
}

int main(int argc, char **argv)
{
	TALLOC_CTX *ctx = talloc_new(NULL);
	shade_value three = shade_value_int(3);
	shade_error *err = NULL;
	shade_ref *x = NULL;
	struct sigaction sa;
	int rc = 1;

	if (argc != 2) {
		fprintf(stderr, "usage: %s ADDRESS\n", argv[0]);
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	if (shade_server_new(ctx, NULL, &server, &err) != SHADE_OK ||
	    shade_object_new("demo.X", NULL, &x, &err) != SHADE_OK ||
	    shade_object_add_attr(x, "z", &three, false, &err) != SHADE_OK ||
	    shade_object_add_method(x, "meth", meth, NULL, false, &err) !=
		    SHADE_OK ||
	    shade_object_add_method(x, "raising", raising, NULL, false,
				    &err) != SHADE_OK ||
	    shade_server_export(server, "x", x, &err) != SHADE_OK)
		fprintf(stderr, "demo_server: %s\n",
			err ? err->message : "failed");
	else if (strcmp(argv[1], "--stdio") == 0 ?
			 serve_stdio(server, &err) != SHADE_OK :
			 (shade_server_listen(server, argv[1], &err) != SHADE_OK ||
			  shade_server_run(server, &err) != SHADE_OK))
		fprintf(stderr, "demo_server: %s\n",
			err ? err->message : "failed");
	else
		rc = 0;
	shade_error_free(err);
	shade_ref_release(x);
	server = NULL;
	talloc_free(ctx);
	return rc;
}
