/*
 * embed_uv.c - a shade server and a client of it, both driven by one
 * libuv loop (see embed.h for the command line).
 *
 * The server: a uv_poll_t on shade_server_fd() (UV_READABLE) and a
 * uv_timer_t, both calling shade_server_step(); a uv_prepare_t sets the
 * timer from shade_server_timeout_ms() before every poll of the loop,
 * and the client's poll interest from shade_conn_wants_write().  The
 * lookup, the one call that waits, runs on a thread of its own while
 * the loop serves it.
 */
#include <stdio.h>

#include <uv.h>

#include "embed.h"

/* The program's state, shared by the callbacks (each handle's data). */
struct app {
	uv_loop_t loop;           /* the libuv loop */
	uv_poll_t srv_poll;       /* the server's fd */
	uv_timer_t srv_timer;     /* the server's timeout */
	uv_prepare_t prepare;     /* sets the two before each poll */
	uv_poll_t lookup_poll;    /* the lookup thread's pipe */
	uv_poll_t conn_poll;      /* the client connection's fd */
	bool conn_watched;        /* conn_poll was started */
	struct embed_app e;       /* the server and its client */
};

/* uv_walk: close h unless it is closing. */
static void close_one(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

/* Close every handle: uv_run returns once they are closed. */
static void shutdown_loop(struct app *a)
{
	a->conn_watched = false;
	uv_walk(&a->loop, close_one, NULL);
}

/* Report err and shut down with exit status 1. */
static void fail(struct app *a, const char *what, shade_error *err)
{
	fprintf(stderr, "embed_uv: %s: %s\n", what,
		err ? err->message : "failed");
	shade_error_free(err);
	a->e.rc = 1;
	shutdown_loop(a);
}

/* ---------------------------------------------------------- the server */

/* The fd was readable or the timeout passed: do what is ready. */
static void server_step(struct app *a)
{
	shade_error *err = NULL;
	shade_status st = shade_server_step(a->e.srv, &err);

	if (st == SHADE_AGAIN)
		shutdown_loop(a); /* stopped */
	else if (st != SHADE_OK)
		fail(a, "server", err);
}

/* srv_poll fired. */
static void on_srv_poll(uv_poll_t *h, int status, int events)
{
	(void)status;
	(void)events;
	server_step(h->data);
}

/* srv_timer fired. */
static void on_srv_timer(uv_timer_t *h)
{
	server_step(h->data);
}

static void on_conn(uv_poll_t *h, int status, int events);

/* Before each poll: the server's timeout, the client's interest. */
static void on_prepare(uv_prepare_t *h)
{
	struct app *a = h->data;
	int ms = shade_server_timeout_ms(a->e.srv);

	if (ms < 0)
		uv_timer_stop(&a->srv_timer);
	else
		uv_timer_start(&a->srv_timer, on_srv_timer, ms, 0);
	if (a->conn_watched)
		uv_poll_start(&a->conn_poll,
			      UV_READABLE | (shade_conn_wants_write(a->e.lk.c)
						     ? UV_WRITABLE : 0),
			      on_conn);
}

/* ---------------------------------------------------------- the client */

/* The connection had an event: read, serve, write; then see whether the
 * calls were all answered. */
static void on_conn(uv_poll_t *h, int status, int events)
{
	struct app *a = h->data;
	shade_error *err = NULL;
	shade_status st;

	(void)status;
	(void)events;
	st = embed_conn_ready(a->e.lk.c, &err);
	if (st == SHADE_OK)
		st = embed_calls_check(&a->e.calls, "libuv", &err);
	if (st == SHADE_AGAIN)
		return;
	a->conn_watched = false;
	uv_close((uv_handle_t *)&a->conn_poll, NULL);
	if (st != SHADE_OK) {
		fail(a, "calls", err);
		return;
	}
	/* All answered: the client leaves (BYE); the server goes on. */
	embed_calls_done(&a->e);
}

/* The lookup ended: watch the connection, start the calls. */
static void on_lookup(uv_poll_t *h, int status, int events)
{
	struct app *a = h->data;
	shade_error *err = NULL;

	(void)status;
	(void)events;
	uv_close((uv_handle_t *)h, NULL);
	if (embed_lookup_finish(&a->e.lk, &a->e.calc, &err) != SHADE_OK ||
	    embed_calls_start(a->e.ctx, a->e.calc, &a->e.calls, a->e.o.calls,
			      &err) != SHADE_OK) {
		fail(a, "lookup", err);
		return;
	}
	uv_poll_init(&a->loop, &a->conn_poll, shade_conn_fd(a->e.lk.c));
	a->conn_poll.data = a;
	a->conn_watched = true;
	uv_poll_start(&a->conn_poll, UV_READABLE | UV_WRITABLE, on_conn);
}

int main(int argc, char **argv)
{
	struct app a = { 0 };
	shade_error *err = NULL;
	int fd;

	if (embed_parse(argc, argv, &a.e.o) != 0)
		return 2;
	a.e.ctx = talloc_new(NULL);
	uv_loop_init(&a.loop);
	if (embed_server_new(a.e.ctx, &a.e.o, &a.e.srv, &err) != SHADE_OK ||
	    embed_lookup_start(a.e.ctx, &a.e.lk,
			       shade_server_address(a.e.srv, 0),
			       &err) != SHADE_OK) {
		fprintf(stderr, "embed_uv: start: %s\n",
			err ? err->message : "failed");
		shade_error_free(err);
		err = NULL;
		a.e.rc = 1;
	} else {
		a.srv_poll.data = a.srv_timer.data = a.prepare.data =
			a.lookup_poll.data = &a;
		/* -1 with the poll(2) backend: the timer alone drives it. */
		fd = shade_server_fd(a.e.srv);
		if (fd >= 0) {
			uv_poll_init(&a.loop, &a.srv_poll, fd);
			uv_poll_start(&a.srv_poll, UV_READABLE, on_srv_poll);
		}
		uv_timer_init(&a.loop, &a.srv_timer);
		uv_prepare_init(&a.loop, &a.prepare);
		uv_prepare_start(&a.prepare, on_prepare);
		uv_poll_init(&a.loop, &a.lookup_poll, a.e.lk.done[0]);
		uv_poll_start(&a.lookup_poll, UV_READABLE, on_lookup);
		uv_run(&a.loop, UV_RUN_DEFAULT);
	}
	uv_loop_close(&a.loop);
	return embed_end(&a.e);
}
