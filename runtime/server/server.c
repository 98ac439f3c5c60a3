/*
 * server.c - a server: listeners, accepting, connections served on an
 * event loop (loop/loop_int.h), and the idle policy (see shade/server.h).
 *
 * Invariant: conns[0..n_conns) are the live connections owned by the
 * server (talloc children), each with its record (struct srv_conn, a
 * child of the connection) holding its loop watch; a connection found
 * closed is freed after an outermost turn, once no handler of it runs.
 *
 * Each turn the loop's prepare hook sets every connection's interest
 * (input unless its output is over the limit, output while some is
 * queued) and marks the ones with a whole frame buffered; the loop asks
 * the kernel only about changes, so an idle turn costs the same whatever
 * the number of connections.  A connection takes its watch out of the
 * loop itself as it ends (loop_fd_close, any thread), before its fd
 * closes.
 *
 * Nested turns: a handler that waits for its client's answer (a callback)
 * runs on the loop thread; the connection's wait asks the loop for a
 * nested turn (up to MAX_NEST deep), which serves every connection that
 * has no handler running; the waiting connection is read by the wait
 * itself, and a connection with a running handler is left alone (not
 * even polled) until that handler returns, so no connection's requests
 * are started out of order and none is freed under a handler.  Nested
 * turns never sweep and run no timers; they only append to conns
 * (accepts), which the outer turn tolerates.
 *
 * Idle policy: a loop timer every idle/8 ms closes the connections that
 * completed no frame for idle_timeout_ms (close_idle).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <talloc.h>

#include "shade/conn.h"
#include "shade/object.h"
#include "shade/server.h"
#include "shade/transport.h"
#include "base/clock_int.h"
#include "base/log_int.h"
#include "loop/loop_int.h"
#include "conn/conn_int.h"

#define DEFAULT_FRAMES_PER_TURN 16u
#define DEFAULT_MAX_OUTPUT ((size_t)4 << 20)
#define DEFAULT_MAX_CONNS 65536u
/* Connections accepted per listener per turn. */
#define ACCEPTS_PER_TURN 64
/* Loop turns nested in waiting handlers, at most. */
#define MAX_NEST 8

/* The server's record of one connection (a talloc child of it). */
struct srv_conn {
	shade_server *s;      /* the server */
	shade_conn *c;        /* the connection */
	struct loop_fd *w;    /* its watch (child of this record) */
	unsigned planned;     /* loop turn that set serve and ready */
	bool serve;           /* it may be served in that turn */
	bool ready;           /* it had a whole frame buffered then */
	uint64_t frames;      /* frames received when last seen (idle) */
	int64_t since;        /* when that count last moved or something
			       * was pending (monotonic ms) */
};

/* A listener and its watch (a talloc child of the listener). */
struct srv_listener {
	shade_server *s;      /* the server */
	shade_listener *l;    /* the listener */
};

/* A server. */
struct shade_server {
	shade_registry *names;        /* exported names (child) */
	shade_listener **listeners;   /* talloc array */
	size_t n_listeners;           /* entries in listeners */
	struct srv_conn **conns;      /* talloc array: live connections */
	size_t n_conns;               /* entries in conns */
	struct loop *loop;            /* the event loop (child) */
	shade_conn_opts copts;        /* options for accepted connections */
	shade_server_opts opts;       /* the server's options, defaults set */
	char *side;                   /* copy of opts.side */
};

/* Destructor: free the connections first (each leaves the loop as it
 * ends); listeners and the loop are children and go with the server. */
static int server_destructor(shade_server *s)
{
	size_t i;

	for (i = 0; i < s->n_conns; i++)
		talloc_free(s->conns[i]->c);
	s->n_conns = 0;
	return 0;
}

/* The interest connection sc should have in this turn (`waiting`: the
 * watch a nested turn waits on, else NULL), and whether it may be
 * served; *ready when it has a whole frame buffered that it may serve
 * now. */
static unsigned conn_interest(shade_server *s, struct srv_conn *sc,
			      struct loop_fd *waiting, bool *serve,
			      bool *ready)
{
	shade_conn *c = sc->c;
	bool full = shade_conn_out_pending(c) > s->opts.max_output;
	bool waited = sc->w == waiting;
	unsigned mask = full ? 0 : LOOP_READ;

	*serve = !full && !waited;
	if (waited) {
		mask = LOOP_READ;
	} else if (waiting != NULL && conn_busy(c)) {
		*serve = false; /* its handler reads it */
		*ready = false;
		return 0;
	}
	if (shade_conn_wants_write(c)) {
		/* exec: transports write to another fd; the read fd's
		 * writability is then a close approximation. */
		mask |= LOOP_WRITE;
	}
	*ready = (!full || waited) && shade_conn_fd(c) >= 0 &&
		 (shade_transport_has_frame(shade_conn_transport(c)) ||
		  loop_fd_always(sc->w));
	return mask;
}

/* The loop's prepare hook: every connection's interest for this turn. */
static void plan_turn(void *udata)
{
	shade_server *s = udata;
	struct loop_fd *waiting = loop_waiting(s->loop);
	unsigned id = loop_turn_id(s->loop);
	size_t i;

	for (i = 0; i < s->n_conns; i++) {
		struct srv_conn *sc = s->conns[i];

		loop_fd_set(sc->w, shade_conn_fd(sc->c),
			    conn_interest(s, sc, waiting, &sc->serve,
					  &sc->ready));
		if (sc->ready)
			loop_fd_ready(sc->w);
		sc->planned = id;
	}
}

/* A connection's watch fired (events 0: it had a frame buffered). */
static void conn_event(void *udata, unsigned ev)
{
	struct srv_conn *sc = udata;
	shade_server *s = sc->s;
	shade_conn *c = sc->c;
	struct loop_fd *waiting = loop_waiting(s->loop);
	bool serve = sc->serve, ready = sc->ready;

	if (sc->w == waiting || shade_conn_fd(c) < 0)
		return;
	if (sc->planned != loop_turn_id(s->loop)) /* a nested turn ran */
		conn_interest(s, sc, waiting, &serve, &ready);
	if (waiting != NULL && conn_busy(c))
		return;
	if (ev & LOOP_WRITE)
		shade_conn_flush(c, NULL);
	if (serve && ((ev & (LOOP_READ | LOOP_ERROR)) || ready))
		conn_process(c, s->opts.frames_per_turn, true, NULL);
}

/* Close the connections idle for idle_timeout_ms: no frame completed
 * since, no handler running and no request of ours outstanding.  A
 * connection that sent half a frame is idle (slowloris).  The loop's
 * idle timer: runs again in idle/8 ms. */
static int close_idle(void *udata)
{
	shade_server *s = udata;
	int64_t now = clock_now_ms();
	size_t i;

	for (i = 0; i < s->n_conns; i++) {
		struct srv_conn *sc = s->conns[i];
		shade_conn_stats st;

		if (!shade_conn_is_open(sc->c))
			continue;
		shade_conn_stats_get(sc->c, &st);
		if (st.frames_received != sc->frames || st.pending > 0 ||
		    conn_busy(sc->c)) {
			sc->frames = st.frames_received;
			sc->since = now;
		} else if (now - sc->since >= s->opts.idle_timeout_ms) {
			if (LOG_ON(SHADE_LOG_ERRORS, 1))
				log_emit(SHADE_LOG_ERRORS, 1,
					 "%s: %s: idle for %d ms, closing",
					 s->side, shade_transport_address(
						 shade_conn_transport(sc->c)),
					 s->opts.idle_timeout_ms);
			shade_conn_close(sc->c);
		}
	}
	return s->opts.idle_timeout_ms / 8 + 1;
}

shade_status shade_server_new(TALLOC_CTX *mem_ctx,
			      const shade_server_opts *opts,
			      shade_server **out, shade_error **err)
{
	shade_server *s = talloc_zero(mem_ctx, shade_server);

	if (s == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	talloc_set_destructor(s, server_destructor);
	if (opts != NULL)
		s->opts = *opts;
	if (s->opts.frames_per_turn == 0)
		s->opts.frames_per_turn = DEFAULT_FRAMES_PER_TURN;
	if (s->opts.max_output == 0)
		s->opts.max_output = DEFAULT_MAX_OUTPUT;
	if (s->opts.max_conns == 0)
		s->opts.max_conns = DEFAULT_MAX_CONNS;
	log_init();
	s->side = talloc_strdup(s, s->opts.side ? s->opts.side : "server");
	s->names = shade_registry_new(s);
	if (s->side == NULL || s->names == NULL) {
		talloc_free(s);
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	}
	if (loop_new(s, MAX_NEST, &s->loop, err) != SHADE_OK) {
		talloc_free(s);
		return err && *err ? (*err)->code : SHADE_ERR_IO;
	}
	loop_set_prepare(s->loop, plan_turn, s);
	if (s->opts.conn != NULL)
		s->copts = *s->opts.conn;
	if (s->copts.side == NULL)
		s->copts.side = s->side;
	if (s->copts.timeout_ms == 0)
		s->copts.timeout_ms = s->opts.timeout_ms;
	if (s->copts.names == NULL)
		s->copts.names = s->names;
	s->opts.conn = NULL; /* copied into copts */
	if (s->opts.idle_timeout_ms < 0)
		s->opts.idle_timeout_ms = 0;
	if (s->opts.idle_timeout_ms > 0 &&
	    loop_timer_new(s, s->loop, s->opts.idle_timeout_ms / 8 + 1,
			   close_idle, s) == NULL) {
		talloc_free(s);
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	}
	*out = s;
	return SHADE_OK;
}

shade_registry *shade_server_registry(shade_server *s)
{
	return s->names;
}

shade_status shade_server_export(shade_server *s, const char *name,
				 shade_ref *obj, shade_error **err)
{
	return shade_registry_add(s->names, name, obj, err);
}

/* A listener's watch fired: accept up to ACCEPTS_PER_TURN pending
 * connections. */
static void accept_some(void *udata, unsigned ev)
{
	struct srv_listener *sl = udata;
	shade_transport *t;
	int i;

	(void)ev;
	for (i = 0; i < ACCEPTS_PER_TURN; i++) {
		if (shade_listener_accept(sl->l, sl->s, 0, &t, NULL) !=
		    SHADE_OK)
			return;
		if (shade_server_adopt(sl->s, t, NULL, NULL) != SHADE_OK)
			return;
	}
}

/* "systemd:": serve every socket the service manager passed, listening
 * ones as listeners (Accept=no), connected ones as connections
 * (Accept=yes). */
static shade_status listen_inherited(shade_server *s, shade_error **err)
{
	int n = shade_listen_fds(), i;

	if (n == 0)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "systemd: no sockets passed (LISTEN_FDS "
				       "and LISTEN_PID do not name this "
				       "process)");
	for (i = 0; i < n; i++) {
		int fd = SHADE_LISTEN_FDS_START + i, yes = 0;
		socklen_t yl = sizeof(yes);
		char addr[32];

		snprintf(addr, sizeof(addr), "fd:%d", fd);
		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &yes, &yl) == 0 &&
		    yes) {
			SHADE_CHECK(shade_server_listen(s, addr, err));
		} else {
			shade_transport *t;

			SHADE_CHECK(shade_transport_connect(
				s, addr, s->opts.transport, &t, err));
			SHADE_CHECK(shade_server_adopt(s, t, NULL, err));
		}
	}
	return SHADE_OK;
}

shade_status shade_server_listen(shade_server *s, const char *address,
				 shade_error **err)
{
	shade_listener **ls, *l;
	struct srv_listener *sl;
	struct loop_fd *w;

	if (address != NULL && strcmp(address, "systemd:") == 0)
		return listen_inherited(s, err);

	ls = talloc_realloc(s, s->listeners, shade_listener *,
			    s->n_listeners + 1);
	if (ls == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	s->listeners = ls;
	SHADE_CHECK(shade_listener_open(s, address, s->opts.transport, &l,
					err));
	sl = talloc_zero(l, struct srv_listener);
	w = sl ? loop_fd_new(sl, s->loop, accept_some, sl) : NULL;
	if (w == NULL) {
		talloc_free(l);
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	}
	*sl = (struct srv_listener){ s, l };
	if (!loop_fd_set(w, shade_listener_fd(l), LOOP_READ)) {
		int e = errno;

		talloc_free(l);
		return shade_error_set(err, SHADE_ERR_IO, "%s: %s",
				       loop_backend(), strerror(e));
	}
	ls[s->n_listeners++] = l;
	return SHADE_OK;
}

const char *shade_server_address(shade_server *s, size_t i)
{
	return i < s->n_listeners ? shade_listener_address(s->listeners[i])
				  : NULL;
}

size_t shade_server_conn_count(shade_server *s)
{
	return s->n_conns;
}

shade_conn *shade_server_conn(shade_server *s, size_t i)
{
	return i < s->n_conns ? s->conns[i]->c : NULL;
}

shade_status shade_server_adopt(shade_server *s, shade_transport *t,
				shade_conn **out, shade_error **err)
{
	struct srv_conn **cs, *sc;
	shade_conn *c;

	if (s->n_conns >= s->opts.max_conns) {
		if (LOG_ON(SHADE_LOG_ERRORS, 1))
			log_emit(SHADE_LOG_ERRORS, 1,
				 "%s: %s: connection refused: limit of %zu "
				 "connections reached", s->side,
				 shade_transport_address(t), s->opts.max_conns);
		talloc_free(t);
		return shade_error_set(err, SHADE_ERR_LIMIT,
				       "%zu connections", s->n_conns);
	}
	cs = talloc_realloc(s, s->conns, struct srv_conn *, s->n_conns + 1);
	if (cs == NULL) {
		talloc_free(t);
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	}
	s->conns = cs;
	if (shade_transport_set_nonblocking(t, true, err) != SHADE_OK) {
		talloc_free(t);
		return SHADE_ERR_IO;
	}
	SHADE_CHECK(shade_conn_new(s, t, true, &s->copts, &c, err));
	sc = talloc_zero(c, struct srv_conn);
	if (sc == NULL || (sc->w = loop_fd_new(sc, s->loop, conn_event,
					       sc)) == NULL) {
		talloc_free(c);
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	}
	sc->s = s;
	sc->c = c;
	sc->since = clock_now_ms();
	conn_set_loop(c, s->loop, sc->w);
	cs[s->n_conns++] = sc;
	if (out != NULL)
		*out = c;
	return SHADE_OK;
}

void shade_server_stop(shade_server *s)
{
	loop_stop(s->loop);
}

/* Free the connections that ended, keeping order; one whose request is
 * still being served (by a thread of the user's) waits for a later turn. */
static void sweep(shade_server *s)
{
	size_t i, j = 0;

	for (i = 0; i < s->n_conns; i++) {
		shade_conn *c = s->conns[i]->c;

		if (shade_conn_is_open(c) || conn_busy(c))
			s->conns[j++] = s->conns[i];
		else
			talloc_free(c);
	}
	s->n_conns = j;
}

shade_status shade_server_run_once(shade_server *s, int timeout_ms,
				   shade_error **err)
{
	shade_status st;

	if (loop_stopped(s->loop))
		return SHADE_AGAIN;
	if (loop_depth(s->loop) > 0)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "shade_server_run_once called from "
				       "one of its handlers");
	st = loop_turn(s->loop, timeout_ms, err);
	if (st == SHADE_OK)
		sweep(s);
	return st;
}

shade_status shade_server_run(shade_server *s, shade_error **err)
{
	shade_status st;

	while ((st = shade_server_run_once(s, -1, err)) == SHADE_OK)
		;
	return st == SHADE_AGAIN ? SHADE_OK : st;
}
