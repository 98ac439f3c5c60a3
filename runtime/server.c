/*
 * server.c - the poll loop serving listeners and connections (see
 * shade/server.h).
 *
 * Invariant: conns[0..n_conns) are live connections owned by the server
 * (talloc children); a connection found closed is freed at the end of an
 * outermost turn, once no handler of it runs.  The self-pipe wakes poll()
 * for shade_server_stop.
 *
 * Nested turns: a handler that waits for its client's answer (a callback)
 * runs on the loop thread.  Its wait turns the loop again, re-entrantly
 * (server_nested_turn, up to MAX_NEST deep), serving every connection
 * that has no handler running; the waiting connection is read by the
 * wait itself, and a connection with a running handler is left alone
 * (not even polled) until that handler returns, so no connection's
 * requests are started out of order and none is freed under a handler.
 * Nested turns never sweep and poll with their own pollfd array; they
 * only append to conns (accepts), which the outer turn tolerates.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <talloc.h>

#include "shade/conn.h"
#include "shade/object.h"
#include "shade/server.h"
#include "shade/transport.h"
#include "conn_int.h"
#include "transport_int.h"

#define DEFAULT_FRAMES_PER_TURN 16u
#define DEFAULT_MAX_OUTPUT ((size_t)4 << 20)
#define DEFAULT_MAX_CONNS 65536u
/* Connections accepted per listener per turn. */
#define ACCEPTS_PER_TURN 64
/* Loop turns nested in waiting handlers, at most. */
#define MAX_NEST 8

/* Idle bookkeeping of one connection (same index as conns). */
struct conn_idle {
	uint64_t frames;              /* frames received when last seen */
	int64_t since;                /* when that count last moved or
				       * something was pending (monotonic
				       * ms) */
};

/* A server. */
struct shade_server {
	shade_registry *names;        /* exported names (child) */
	shade_listener **listeners;   /* talloc array */
	size_t n_listeners;           /* entries in listeners */
	shade_conn **conns;           /* talloc array of live connections */
	size_t n_conns;               /* entries in conns */
	struct conn_idle *idle;       /* talloc array beside conns */
	struct pollfd *pfds;          /* poll set (rebuilt each turn) */
	int wake[2];                  /* self-pipe: read end, write end */
	int stopped;                  /* set by shade_server_stop (atomic) */
	shade_conn_opts copts;        /* options for accepted connections */
	shade_server_opts opts;       /* the server's options, defaults set */
	char *side;                   /* copy of opts.side */
	int depth;                    /* turns running on the loop thread
				       * (1 in a turn, more when nested) */
};

/* The server whose turn this thread is running, or NULL. */
static _Thread_local shade_server *tl_loop;

/* Destructor: close the self-pipe (connections and listeners are
 * children and go with the server). */
static int server_destructor(shade_server *s)
{
	size_t i;

	for (i = 0; i < s->n_conns; i++)
		talloc_free(s->conns[i]);
	s->n_conns = 0;
	if (s->wake[0] >= 0)
		close(s->wake[0]);
	if (s->wake[1] >= 0)
		close(s->wake[1]);
	return 0;
}

shade_status shade_server_new(TALLOC_CTX *mem_ctx,
			      const shade_server_opts *opts,
			      shade_server **out, shade_error **err)
{
	shade_server *s = talloc_zero(mem_ctx, shade_server);

	if (s == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	s->wake[0] = s->wake[1] = -1;
	talloc_set_destructor(s, server_destructor);
	if (opts != NULL)
		s->opts = *opts;
	if (s->opts.frames_per_turn == 0)
		s->opts.frames_per_turn = DEFAULT_FRAMES_PER_TURN;
	if (s->opts.max_output == 0)
		s->opts.max_output = DEFAULT_MAX_OUTPUT;
	if (s->opts.max_conns == 0)
		s->opts.max_conns = DEFAULT_MAX_CONNS;
	s->side = talloc_strdup(s, s->opts.side ? s->opts.side : "server");
	s->names = shade_registry_new(s);
	if (s->side == NULL || s->names == NULL) {
		talloc_free(s);
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	}
	if (pipe2(s->wake, O_NONBLOCK | O_CLOEXEC) != 0) {
		talloc_free(s);
		return shade_error_set(err, SHADE_ERR_IO, "pipe: %s",
				       strerror(errno));
	}
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

shade_status shade_server_listen(shade_server *s, const char *address,
				 shade_error **err)
{
	shade_listener **ls, *l;

	ls = talloc_realloc(s, s->listeners, shade_listener *,
			    s->n_listeners + 1);
	if (ls == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	s->listeners = ls;
	SHADE_CHECK(shade_listener_open(s, address, s->opts.transport, &l,
					err));
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
	return i < s->n_conns ? s->conns[i] : NULL;
}

shade_status shade_server_adopt(shade_server *s, shade_transport *t,
				shade_conn **out, shade_error **err)
{
	shade_conn **cs, *c;
	struct conn_idle *id;

	if (s->n_conns >= s->opts.max_conns) {
		talloc_free(t);
		return shade_error_set(err, SHADE_ERR_LIMIT,
				       "%zu connections", s->n_conns);
	}
	cs = talloc_realloc(s, s->conns, shade_conn *, s->n_conns + 1);
	if (cs == NULL) {
		talloc_free(t);
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	}
	s->conns = cs;
	id = talloc_realloc(s, s->idle, struct conn_idle, s->n_conns + 1);
	if (id == NULL) {
		talloc_free(t);
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	}
	s->idle = id;
	if (shade_transport_set_nonblocking(t, true, err) != SHADE_OK) {
		talloc_free(t);
		return SHADE_ERR_IO;
	}
	SHADE_CHECK(shade_conn_new(s, t, true, &s->copts, &c, err));
	c->server = s;
	id[s->n_conns] = (struct conn_idle){ 0, transport_now_ms() };
	cs[s->n_conns++] = c;
	if (out != NULL)
		*out = c;
	return SHADE_OK;
}

void shade_server_stop(shade_server *s)
{
	ssize_t r;

	__atomic_store_n(&s->stopped, 1, __ATOMIC_RELEASE);
	r = write(s->wake[1], "x", 1);
	(void)r;
}

/* Accept up to ACCEPTS_PER_TURN pending connections on l. */
static void accept_some(shade_server *s, shade_listener *l)
{
	shade_transport *t;
	int i;

	for (i = 0; i < ACCEPTS_PER_TURN; i++) {
		if (shade_listener_accept(l, s, 0, &t, NULL) != SHADE_OK)
			return;
		if (shade_server_adopt(s, t, NULL, NULL) != SHADE_OK)
			return;
	}
}

/* Free the connections that ended, keeping order; one whose request is
 * still being served (by a thread of the user's) waits for a later turn. */
static void sweep(shade_server *s)
{
	size_t i, j = 0;

	for (i = 0; i < s->n_conns; i++) {
		if (shade_conn_is_open(s->conns[i]) ||
		    conn_busy(s->conns[i])) {
			s->idle[j] = s->idle[i];
			s->conns[j++] = s->conns[i];
		} else {
			talloc_free(s->conns[i]);
		}
	}
	s->n_conns = j;
}

/* Close the connections idle for idle_timeout_ms: no frame completed
 * since, no handler running and no request of ours outstanding.  A
 * connection that sent half a frame is idle (slowloris). */
static void close_idle(shade_server *s)
{
	int64_t now = transport_now_ms();
	size_t i;

	for (i = 0; i < s->n_conns; i++) {
		shade_conn *c = s->conns[i];
		struct conn_idle *id = &s->idle[i];
		shade_conn_stats st;

		if (!shade_conn_is_open(c))
			continue;
		shade_conn_stats_get(c, &st);
		if (st.frames_received != id->frames || st.pending > 0 ||
		    conn_busy(c)) {
			id->frames = st.frames_received;
			id->since = now;
		} else if (now - id->since >= s->opts.idle_timeout_ms) {
			shade_conn_close(c);
		}
	}
}

/* One turn on pollfd array p (room for 1 + listeners + connections).
 * `waiting`: NULL for an outermost turn; in a nested turn the connection
 * a handler waits on, polled but not served, ending the turn's wait when
 * ready.  Busy connections (a handler running) are skipped in nested
 * turns. */
static shade_status turn(shade_server *s, struct pollfd *p,
			 shade_conn *waiting, int timeout_ms,
			 shade_error **err)
{
	size_t i, nl = s->n_listeners, nc = s->n_conns;
	char buf[64];
	bool ready = false;
	int r;

	p[0] = (struct pollfd){ s->wake[0], POLLIN, 0 };
	for (i = 0; i < nl; i++)
		p[1 + i] = (struct pollfd){
			shade_listener_fd(s->listeners[i]), POLLIN, 0 };
	for (i = 0; i < nc; i++) {
		shade_conn *c = s->conns[i];
		shade_transport *t = shade_conn_transport(c);
		struct pollfd *q = &p[1 + nl + i];
		bool full = shade_conn_out_pending(c) > s->opts.max_output;

		q->fd = shade_conn_fd(c);
		q->events = full ? 0 : POLLIN;
		q->revents = 0;
		if (c == waiting)
			q->events = POLLIN;
		else if (waiting != NULL && conn_busy(c))
			q->fd = -1; /* its handler reads it */
		if (q->fd >= 0 && shade_conn_wants_write(c)) {
			/* exec: transports write to another fd; the read
			 * fd's POLLOUT is then a close approximation. */
			q->events |= POLLOUT;
		}
		if (q->fd >= 0 && (!full || c == waiting) &&
		    shade_transport_has_frame(t))
			ready = true;
	}
	r = poll(p, 1 + nl + nc, ready ? 0 : timeout_ms);
	if (r < 0 && errno != EINTR)
		return shade_error_set(err, SHADE_ERR_IO, "poll: %s",
				       strerror(errno));
	if (r > 0 && (p[0].revents & POLLIN))
		while (read(s->wake[0], buf, sizeof(buf)) > 0)
			;
	if (__atomic_load_n(&s->stopped, __ATOMIC_ACQUIRE))
		return SHADE_AGAIN;
	for (i = 0; r > 0 && i < nl; i++)
		if (p[1 + i].revents & POLLIN)
			accept_some(s, s->listeners[i]);
	for (i = 0; i < nc; i++) {
		shade_conn *c = s->conns[i];
		shade_transport *t = shade_conn_transport(c);
		short ev = p[1 + nl + i].revents;
		bool full;

		if (c == waiting || p[1 + nl + i].fd < 0)
			continue;
		full = shade_conn_out_pending(c) > s->opts.max_output;
		if (ev & POLLOUT)
			shade_conn_flush(c, NULL);
		if (full)
			continue;
		if ((ev & (POLLIN | POLLHUP | POLLERR)) ||
		    shade_transport_has_frame(t))
			conn_process(c, s->opts.frames_per_turn, true, NULL);
	}
	return SHADE_OK;
}

shade_status shade_server_run_once(shade_server *s, int timeout_ms,
				   shade_error **err)
{
	shade_server *outer = tl_loop;
	struct pollfd *p;
	shade_status st;

	if (__atomic_load_n(&s->stopped, __ATOMIC_ACQUIRE))
		return SHADE_AGAIN;
	if (s->depth > 0)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "shade_server_run_once called from "
				       "one of its handlers");
	if (s->opts.idle_timeout_ms > 0) {
		/* Wake often enough to close idle connections in time. */
		int step = s->opts.idle_timeout_ms / 4 + 1;

		if (timeout_ms < 0 || timeout_ms > step)
			timeout_ms = step;
	}
	p = talloc_realloc(s, s->pfds, struct pollfd,
			   1 + s->n_listeners + s->n_conns);
	if (p == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	s->pfds = p;
	tl_loop = s;
	s->depth = 1;
	st = turn(s, p, NULL, timeout_ms, err);
	s->depth = 0;
	tl_loop = outer;
	if (st == SHADE_OK && s->opts.idle_timeout_ms > 0)
		close_idle(s);
	if (st == SHADE_OK)
		sweep(s);
	return st;
}

bool server_can_nest(void *sv)
{
	shade_server *s = sv;

	return tl_loop == s && s->depth > 0 && s->depth < MAX_NEST &&
	       !__atomic_load_n(&s->stopped, __ATOMIC_ACQUIRE);
}

void server_nested_turn(void *sv, shade_conn *c, int timeout_ms)
{
	shade_server *s = sv;
	struct pollfd *p;

	/* Its own array: the outer turns still read theirs. */
	p = malloc((1 + s->n_listeners + s->n_conns) * sizeof(*p));
	if (p == NULL)
		return;
	s->depth++;
	turn(s, p, c, timeout_ms, NULL);
	s->depth--;
	free(p);
}

shade_status shade_server_run(shade_server *s, shade_error **err)
{
	shade_status st;

	while ((st = shade_server_run_once(s, -1, err)) == SHADE_OK)
		;
	return st == SHADE_AGAIN ? SHADE_OK : st;
}
