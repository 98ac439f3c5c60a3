/*
 * embed.c - the parts the loop examples share (see embed.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "embed.h"

static shade_server *stop_me;

/* SIGTERM/SIGINT: stop the server (signal-safe; its fd turns
 * readable, so the host loop steps it and hears SHADE_AGAIN). */
static void on_signal(int sig)
{
	(void)sig;
	if (stop_me != NULL)
		shade_server_stop(stop_me);
}

int embed_parse(int argc, char **argv, struct embed_opts *o)
{
	int i;

	memset(o, 0, sizeof(*o));
	o->calls = 50;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--serve") == 0)
			o->serve = true;
		else if (strcmp(argv[i], "--idle") == 0 && i + 1 < argc)
			o->idle_ms = atoi(argv[++i]);
		else if (strcmp(argv[i], "--calls") == 0 && i + 1 < argc)
			o->calls = atoi(argv[++i]);
		else if (argv[i][0] != '-' && o->address == NULL)
			o->address = argv[i];
		else
			break;
	}
	if (i < argc || o->address == NULL || o->calls < 1 ||
	    o->idle_ms < 0) {
		fprintf(stderr, "usage: %s [--serve] [--idle MS] [--calls N] "
			"ADDRESS\n", argv[0]);
		return 2;
	}
	return 0;
}

/* calc.add(a, b): a + b. */
static shade_status add(shade_call_ctx *call)
{
	const shade_value *a = shade_seq_at(call->args, 0);
	const shade_value *b = shade_seq_at(call->args, 1);

	if (shade_seq_len(call->args) != 2 ||
	    shade_value_kind(a) != SHADE_INT ||
	    shade_value_kind(b) != SHADE_INT)
		return shade_error_set(call->err, SHADE_ERR_TYPE,
				       "add() takes two ints");
	call->result = shade_int(call->mem, shade_value_as_int(a) +
					     shade_value_as_int(b));
	return call->result ? SHADE_OK
			    : shade_error_set(call->err, SHADE_ERR_NOMEM,
					      "out of memory");
}

/* calc.plus_one(f): f() + 1, calling back into the client (the step
 * waits for the answer and serves the other connections meanwhile). */
static shade_status plus_one(shade_call_ctx *call)
{
	const shade_value *f = shade_seq_at(call->args, 0);
	shade_value *r = NULL;

	if (shade_seq_len(call->args) != 1 || shade_value_kind(f) != SHADE_REF)
		return shade_error_set(call->err, SHADE_ERR_TYPE,
				       "plus_one() takes one callable");
	SHADE_CHECK(shade_call(call->mem, shade_value_as_ref(f), NULL, NULL,
			       &r, call->err));
	if (shade_value_kind(r) != SHADE_INT)
		return shade_error_set(call->err, SHADE_ERR_TYPE,
				       "the callable must return an int");
	call->result = shade_int(call->mem, shade_value_as_int(r) + 1);
	return call->result ? SHADE_OK
			    : shade_error_set(call->err, SHADE_ERR_NOMEM,
					      "out of memory");
}

shade_status embed_server_new(TALLOC_CTX *ctx, const struct embed_opts *o,
			      shade_server **out, shade_error **err)
{
	shade_server_opts so = { 0 };
	struct sigaction sa;
	shade_ref *calc = NULL;
	shade_status st;

	so.idle_timeout_ms = o->idle_ms;
	SHADE_CHECK(shade_server_new(ctx, &so, out, err));
	st = shade_object_new("demo.Calc", NULL, &calc, err);
	if (st == SHADE_OK)
		st = shade_object_add_method(calc, "add", add, NULL, false,
					     err);
	if (st == SHADE_OK)
		st = shade_object_add_method(calc, "plus_one", plus_one, NULL,
					     false, err);
	if (st == SHADE_OK)
		st = shade_server_export(*out, "calc", calc, err);
	if (calc != NULL)
		shade_ref_release(calc);
	if (st == SHADE_OK)
		st = shade_server_listen(*out, o->address, err);
	if (st != SHADE_OK)
		return st;
	stop_me = *out;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	return SHADE_OK;
}

/* The lookup thread. */
static void *lookup_main(void *arg)
{
	struct embed_lookup *lk = arg;
	ssize_t r;

	lk->st = shade_lookup(lk->c, "calc", &lk->calc, &lk->err);
	r = write(lk->done[1], "x", 1);
	(void)r;
	return NULL;
}

shade_status embed_lookup_start(TALLOC_CTX *ctx, struct embed_lookup *lk,
				const char *address, shade_error **err)
{
	int e;

	memset(lk, 0, sizeof(*lk));
	lk->done[0] = lk->done[1] = -1;
	SHADE_CHECK(shade_connect(ctx, address, NULL, &lk->c, err));
	if (pipe2(lk->done, O_CLOEXEC | O_NONBLOCK) != 0)
		return shade_error_set(err, SHADE_ERR_IO, "pipe: %s",
				       strerror(errno));
	e = pthread_create(&lk->th, NULL, lookup_main, lk);
	if (e != 0)
		return shade_error_set(err, SHADE_ERR_IO, "thread: %s",
				       strerror(e));
	lk->started = true;
	return SHADE_OK;
}

shade_status embed_lookup_finish(struct embed_lookup *lk, shade_ref **calc,
				 shade_error **err)
{
	shade_status st;
	bool started = lk->started;

	if (started)
		pthread_join(lk->th, NULL); /* its results are ours now */
	lk->started = false;
	if (lk->done[0] >= 0)
		close(lk->done[0]);
	if (lk->done[1] >= 0)
		close(lk->done[1]);
	lk->done[0] = lk->done[1] = -1;
	if (!started)
		return SHADE_OK;
	if (lk->st != SHADE_OK) {
		st = shade_error_set(err, lk->st, "lookup: %s",
				     lk->err ? lk->err->message : "failed");
		shade_error_free(lk->err);
		lk->err = NULL;
		return st;
	}
	*calc = lk->calc;
	return shade_transport_set_nonblocking(shade_conn_transport(lk->c),
					       true, err);
}

shade_status embed_calls_start(TALLOC_CTX *ctx, shade_ref *calc,
			       struct embed_calls *k, int n,
			       shade_error **err)
{
	shade_value *args;
	shade_status st = SHADE_OK;
	int i;

	k->n = n;
	k->f = talloc_zero_array(ctx, shade_future *, n);
	if (k->f == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	for (i = 0; i < n && st == SHADE_OK; i++) {
		shade_value a = shade_value_int(i);

		args = shade_tuple_new(ctx, 2);
		if (args == NULL)
			return shade_error_set(err, SHADE_ERR_NOMEM,
					       "out of memory");
		st = shade_seq_append(args, &a, err);
		if (st == SHADE_OK)
			st = shade_seq_append(args, &a, err);
		if (st == SHADE_OK)
			st = shade_invoke_async(k->f, calc, "add", args, NULL,
						&k->f[i], err);
		talloc_free(args);
	}
	return st;
}

shade_status embed_calls_check(struct embed_calls *k, const char *loop,
			       shade_error **err)
{
	shade_value *r = NULL;
	shade_status st = SHADE_OK;
	int i;

	if (k->f == NULL)
		return SHADE_OK;
	for (i = 0; i < k->n; i++)
		if (!shade_future_ready(k->f[i]))
			return SHADE_AGAIN;
	for (i = 0; i < k->n && st == SHADE_OK; i++) {
		st = shade_future_wait(k->f, k->f[i], 0, &r, err);
		if (st == SHADE_OK && shade_value_as_int(r) != 2 * i)
			st = shade_error_set(err, SHADE_ERR_TYPE,
					     "add(%d, %d) answered %lld", i, i,
					     (long long)shade_value_as_int(r));
		talloc_free(r);
	}
	if (st == SHADE_OK)
		printf("%d calls answered through the %s loop\n", k->n, loop);
	fflush(stdout);
	TALLOC_FREE(k->f);
	return st;
}

void embed_calls_done(struct embed_app *e)
{
	shade_ref_release(e->calc);
	e->calc = NULL;
	TALLOC_FREE(e->lk.c);
	if (e->o.serve) {
		printf("serving %s\n", shade_server_address(e->srv, 0));
		fflush(stdout);
	} else {
		shade_server_stop(e->srv);
	}
}

int embed_end(struct embed_app *e)
{
	shade_error *err = NULL;

	if (e->calc != NULL)
		shade_ref_release(e->calc);
	e->calc = NULL;
	TALLOC_FREE(e->calls.f);
	TALLOC_FREE(e->srv);
	if (embed_lookup_finish(&e->lk, &e->calc, &err) == SHADE_OK &&
	    e->calc != NULL)
		shade_ref_release(e->calc);
	shade_error_free(err);
	talloc_free(e->ctx);
	return e->rc;
}

shade_status embed_conn_ready(shade_conn *c, shade_error **err)
{
	shade_status st;

	do
		st = shade_conn_process(c, 0, err);
	while (st == SHADE_OK);
	if (st != SHADE_AGAIN)
		return st;
	return shade_conn_wants_write(c) ? shade_conn_flush(c, err)
					  : SHADE_OK;
}
