/*
 * embed_glib.c - a shade server and a client of it, both driven by one
 * GLib main loop (see embed.h for the command line).
 *
 * The server is a GSource: prepare gives GLib shade_server_timeout_ms()
 * as its timeout, the fd of shade_server_fd() is polled for G_IO_IN,
 * and dispatch calls shade_server_step().  The client connection is a
 * second GSource on shade_conn_fd(), polled for G_IO_OUT too while
 * output is queued, dispatching to shade_conn_process().  The lookup,
 * the one call that waits, runs on a thread of its own while the loop
 * serves it.
 */
#include <stdio.h>

#include <glib.h>
#include <glib-unix.h>

#include "embed.h"

/* The program's state, shared by the callbacks. */
struct app {
	GMainLoop *loop;          /* the GLib loop */
	GSource *srv_src;         /* the server's source (held), or NULL */
	guint lookup_id;          /* the lookup pipe's source, or 0 */
	GSource *conn_src;        /* the client connection's source (held),
				   * or NULL */
	struct embed_app e;       /* the server and its client */
};

/* Report err, end the loop with exit status 1. */
static void fail(struct app *a, const char *what, shade_error *err)
{
	fprintf(stderr, "embed_glib: %s: %s\n", what,
		err ? err->message : "failed");
	shade_error_free(err);
	a->e.rc = 1;
	g_main_loop_quit(a->loop);
}

/* ---------------------------------------------------------- the server */

/* A GSource driving a shade_server. */
struct server_source {
	GSource base;             /* GLib's part (first) */
	shade_server *srv;        /* the server */
	gpointer tag;             /* its fd in the source, or NULL */
	gint64 due;               /* when the timeout passes (monotonic
				   * us), -1: never */
	struct app *app;          /* for failures */
};

/* Before the poll: wake after the server's timeout; ready at once when
 * it is 0. */
static gboolean server_prepare(GSource *src, gint *timeout)
{
	struct server_source *ss = (struct server_source *)src;

	*timeout = shade_server_timeout_ms(ss->srv);
	ss->due = *timeout < 0 ? -1
			       : g_get_monotonic_time() + *timeout * 1000;
	return *timeout == 0;
}

/* After the poll: the fd is readable or the timeout passed. */
static gboolean server_check(GSource *src)
{
	struct server_source *ss = (struct server_source *)src;

	return (ss->tag != NULL &&
		(g_source_query_unix_fd(src, ss->tag) & G_IO_IN)) ||
	       (ss->due >= 0 && g_get_monotonic_time() >= ss->due);
}

/* Do what is ready; the source goes once the server was stopped. */
static gboolean server_dispatch(GSource *src, GSourceFunc cb, gpointer ud)
{
	struct server_source *ss = (struct server_source *)src;
	shade_error *err = NULL;
	shade_status st = shade_server_step(ss->srv, &err);

	(void)cb;
	(void)ud;
	if (st == SHADE_OK)
		return G_SOURCE_CONTINUE;
	if (st == SHADE_AGAIN)
		g_main_loop_quit(ss->app->loop); /* stopped */
	else
		fail(ss->app, "server", err);
	return G_SOURCE_REMOVE;
}

static GSourceFuncs server_funcs = {
	server_prepare, server_check, server_dispatch, NULL, NULL, NULL
};

/* Add srv to the default context. */
static void server_attach(struct app *a)
{
	GSource *src = g_source_new(&server_funcs,
				    sizeof(struct server_source));
	struct server_source *ss = (struct server_source *)src;
	int fd = shade_server_fd(a->e.srv);

	ss->srv = a->e.srv;
	ss->app = a;
	/* -1 with the poll(2) backend: the timeout alone drives it. */
	if (fd >= 0)
		ss->tag = g_source_add_unix_fd(src, fd, G_IO_IN);
	g_source_attach(src, NULL);
	a->srv_src = src;
}

/* ---------------------------------------------------------- the client */

/* A GSource driving a client connection. */
struct conn_source {
	GSource base;             /* GLib's part (first) */
	shade_conn *c;            /* the connection */
	gpointer tag;             /* its fd in the source */
};

/* Before the poll: G_IO_OUT too while output is queued. */
static gboolean conn_prepare(GSource *src, gint *timeout)
{
	struct conn_source *cs = (struct conn_source *)src;

	g_source_modify_unix_fd(src, cs->tag,
				G_IO_IN | (shade_conn_wants_write(cs->c)
						   ? G_IO_OUT : 0));
	*timeout = -1;
	return FALSE;
}

/* After the poll: something happened on the fd. */
static gboolean conn_check(GSource *src)
{
	struct conn_source *cs = (struct conn_source *)src;

	return g_source_query_unix_fd(src, cs->tag) != 0;
}

/* Process it, then tell the program (cb). */
static gboolean conn_dispatch(GSource *src, GSourceFunc cb, gpointer ud)
{
	(void)src;
	return cb(ud);
}

static GSourceFuncs conn_funcs = {
	conn_prepare, conn_check, conn_dispatch, NULL, NULL, NULL
};

/* The connection had an event: read, serve, write; then see whether the
 * calls were all answered. */
static gboolean on_conn(gpointer ud)
{
	struct app *a = ud;
	shade_error *err = NULL;
	shade_status st;

	st = embed_conn_ready(a->e.lk.c, &err);
	if (st == SHADE_OK)
		st = embed_calls_check(&a->e.calls, "GLib", &err);
	if (st == SHADE_AGAIN)
		return G_SOURCE_CONTINUE;
	if (st != SHADE_OK) {
		fail(a, "calls", err);
		return G_SOURCE_REMOVE;
	}
	/* All answered: the client leaves (BYE); the server goes on. */
	embed_calls_done(&a->e);
	return G_SOURCE_REMOVE;
}

/* The lookup ended: watch the connection, start the calls. */
static gboolean on_lookup(gint fd, GIOCondition cond, gpointer ud)
{
	struct app *a = ud;
	struct conn_source *cs;
	shade_error *err = NULL;

	(void)fd;
	(void)cond;
	a->lookup_id = 0;
	if (embed_lookup_finish(&a->e.lk, &a->e.calc, &err) != SHADE_OK ||
	    embed_calls_start(a->e.ctx, a->e.calc, &a->e.calls, a->e.o.calls,
			      &err) != SHADE_OK) {
		fail(a, "lookup", err);
		return G_SOURCE_REMOVE;
	}
	a->conn_src = g_source_new(&conn_funcs, sizeof(struct conn_source));
	cs = (struct conn_source *)a->conn_src;
	cs->c = a->e.lk.c;
	cs->tag = g_source_add_unix_fd(a->conn_src, shade_conn_fd(a->e.lk.c),
				       G_IO_IN);
	g_source_set_callback(a->conn_src, on_conn, a, NULL);
	g_source_attach(a->conn_src, NULL);
	return G_SOURCE_REMOVE;
}

int main(int argc, char **argv)
{
	struct app a = { 0 };
	shade_error *err = NULL;

	if (embed_parse(argc, argv, &a.e.o) != 0)
		return 2;
	a.e.ctx = talloc_new(NULL);
	a.loop = g_main_loop_new(NULL, FALSE);
	if (embed_server_new(a.e.ctx, &a.e.o, &a.e.srv, &err) != SHADE_OK ||
	    embed_lookup_start(a.e.ctx, &a.e.lk,
			       shade_server_address(a.e.srv, 0),
			       &err) != SHADE_OK) {
		fail(&a, "start", err);
	} else {
		server_attach(&a);
		a.lookup_id = g_unix_fd_add(a.e.lk.done[0], G_IO_IN, on_lookup,
					    &a);
		g_main_loop_run(a.loop);
	}
	/* The sources first (they point into a), then shade's objects. */
	if (a.lookup_id != 0)
		g_source_remove(a.lookup_id);
	if (a.conn_src != NULL) {
		g_source_destroy(a.conn_src);
		g_source_unref(a.conn_src);
	}
	if (a.srv_src != NULL) {
		g_source_destroy(a.srv_src);
		g_source_unref(a.srv_src);
	}
	g_main_loop_unref(a.loop);
	return embed_end(&a.e);
}
