/*
 * peer.c - see peer.h.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "peer.h"
#include "suite.h"

/* Server thread: serve until the client says BYE (bounded). */
static void *serve_main(void *arg)
{
	tp_peer *pp = arg;
	shade_error *err = NULL;

	pp->served = shade_conn_serve(pp->server, 60000, &err);
	shade_error_free(err);
	return NULL;
}

int tp_start(tp_peer *pp, TALLOC_CTX *mem_ctx, shade_registry *reg,
	     const shade_conn_opts *sopts, const shade_conn_opts *copts)
{
	shade_transport *a, *b;
	shade_conn_opts so;
	shade_error *err = NULL;

	memset(pp, 0, sizeof(*pp));
	pp->ctx = talloc_new(mem_ctx);
	if (pp->ctx == NULL ||
	    shade_transport_pair(pp->ctx, NULL, &a, &b, &err) != SHADE_OK)
		goto fail;
	if (sopts != NULL)
		so = *sopts;
	else
		memset(&so, 0, sizeof(so));
	so.names = reg;
	if (shade_conn_new(pp->ctx, b, true, &so, &pp->server, &err) !=
	    SHADE_OK)
		goto fail;
	if (shade_conn_new(pp->ctx, a, false, copts, &pp->client, &err) !=
	    SHADE_OK)
		goto fail;
	if (tu_thread_start(&pp->th, serve_main, pp) != 0)
		goto fail;
	return 0;
fail:
	shade_error_free(err);
	talloc_free(pp->ctx);
	pp->ctx = NULL;
	return -1;
}

void tp_stop(tp_peer *pp)
{
	if (pp->ctx == NULL)
		return;
	shade_conn_close(pp->client);
	if (pp->th.started)
		tu_thread_join(&pp->th, 30000, NULL);
	talloc_free(pp->ctx);
	pp->ctx = NULL;
}

shade_conn_stats tp_stats(shade_conn *c)
{
	shade_conn_stats s;

	shade_conn_stats_get(c, &s);
	return s;
}

/* Body of a tp_server's loop thread. */
static void *server_main(void *arg)
{
	tp_server *v = arg;
	shade_error *err = NULL;

	v->ran = shade_server_run(v->s, &err);
	shade_error_free(err);
	return NULL;
}

tp_server *tp_server_new(TALLOC_CTX *mem_ctx, const shade_server_opts *opts)
{
	tp_server *v = talloc_zero(mem_ctx, tp_server);

	assert_non_null(v);
	v->dir = tu_mkdtemp(v);
	assert_non_null(v->dir);
	assert_ok(shade_server_new(v, opts, &v->s, errp_));
	return v;
}

void tp_server_listen(tp_server *v, const char *address)
{
	if (address == NULL) {
		v->path = talloc_asprintf(v, "%s/s.sock", v->dir);
		assert_non_null(v->path);
		address = talloc_asprintf(v, "unix:%s", v->path);
	}
	assert_ok(shade_server_listen(v->s, address, errp_));
	v->addr = shade_server_address(v->s, 0);
}

/* Stop v's loop thread; false when it did not end in time (v must then
 * not be freed: the thread may still use it). */
static bool server_join(tp_server *v)
{
	if (!v->th.started)
		return true;
	shade_server_stop(v->s);
	return tu_thread_join(&v->th, 30000, NULL);
}

/* The deferred clean-up of a case that ended before tp_server_stop. */
static void server_abort(void *arg)
{
	tp_server *v = arg;

	if (server_join(v))
		talloc_free(v);
}

void tp_server_run(tp_server *v)
{
	assert_int_equal(tu_thread_start(&v->th, server_main, v), 0);
	suite_defer(server_abort, v);
}

void tp_server_stop(tp_server *v)
{
	if (v->th.started)
		suite_defer_cancel(server_abort, v);
	assert_true(server_join(v));
	assert_int_equal(v->ran, SHADE_OK);
	talloc_free(v);
}

/* The server tp_serve_child serves, for its SIGTERM handler. */
static shade_server *child_server;

/* SIGTERM in a tp_serve_child process: stop its loop. */
static void child_on_term(int sig)
{
	(void)sig;
	if (child_server != NULL)
		shade_server_stop(child_server);
}

int tp_serve_child(shade_server *s, tu_ready *ready, const char *line,
		   const char *who)
{
	shade_error *err = NULL;
	struct sigaction sa;
	int rc = 1;

	child_server = s;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = child_on_term;
	sigaction(SIGTERM, &sa, NULL);
	tu_ready_say(ready, line);
	if (shade_server_run(s, &err) == SHADE_OK)
		rc = 0;
	else
		fprintf(stderr, "%s: %s\n", who,
			err ? err->message : "failed");
	tu_ready_say(ready, "failed");
	shade_error_free(err);
	child_server = NULL;
	return rc;
}
