/*
 * server.c - the event loop serving listeners and connections (see
 * shade/server.h).
 *
 * Invariant: conns[0..n_conns) are live connections owned by the server
 * (talloc children); a connection found closed is freed at the end of an
 * outermost turn, once no handler of it runs.  The self-pipe wakes the
 * loop for shade_server_stop.
 *
 * Readiness comes from one level-triggered epoll set.  Every registered
 * fd carries a `struct slot` (the wake pipe, each listener, each
 * connection).  Each turn sets every connection's interest (what it
 * would have asked of poll: input unless its output is over the limit,
 * output while the transport has some queued) and changes the kernel's
 * copy only when it differs, so an idle turn makes no epoll_ctl call and
 * the wait costs the same whatever the number of connections.  A
 * connection is taken out of the set before its fd closes
 * (server_conn_closing, called by the connection as it ends, on any
 * thread; `ep_mu` orders that against the loop's own changes), so no
 * event ever names a freed slot, even when the fd lives on in a dup.
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
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <talloc.h>

#include "shade/conn.h"
#include "shade/object.h"
#include "shade/server.h"
#include "shade/transport.h"
#include "conn/conn_int.h"
#include "base/clock_int.h"
#include "transport/transport_int.h"

#define DEFAULT_FRAMES_PER_TURN 16u
#define DEFAULT_MAX_OUTPUT ((size_t)4 << 20)
#define DEFAULT_MAX_CONNS 65536u
/* Connections accepted per listener per turn. */
#define ACCEPTS_PER_TURN 64
/* Loop turns nested in waiting handlers, at most. */
#define MAX_NEST 8
/* Events taken from the kernel per turn (more wait for the next). */
#define EVENTS_PER_TURN 256

/* What a registered fd is. */
enum slot_kind { SLOT_WAKE, SLOT_LISTENER, SLOT_CONN };

/* One fd of the epoll set (epoll_event.data.ptr). */
struct slot {
	enum slot_kind kind;  /* what it is */
	size_t li;            /* SLOT_LISTENER: index in listeners */
	shade_conn *c;        /* SLOT_CONN: the connection */
	int fd;               /* fd registered, -1 when none (loop thread) */
	uint32_t mask;        /* events registered (loop thread) */
	unsigned seen;        /* serial of the last turn that had an event
			       * for it (loop thread) */
	unsigned planned;     /* serial of the turn that set serve/ready */
	bool serve;           /* it may be served in that turn */
	bool ready;           /* it had a whole frame buffered then */
	int closed;           /* the connection ended: never registered
			       * again (atomic; set under ep_mu) */
	bool always;          /* epoll refused the fd (a regular file,
			       * always ready): served every turn */
};

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
	int ep;                       /* the epoll set */
	pthread_mutex_t ep_mu;        /* orders changes to the set between
				       * the loop and ending connections */
	bool ep_mu_ready;             /* ep_mu initialised */
	struct slot wake_slot;        /* the self-pipe's read end */
	unsigned serial;              /* turns started (names a turn) */
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
	if (s->ep >= 0)
		close(s->ep);
	if (s->ep_mu_ready)
		pthread_mutex_destroy(&s->ep_mu);
	return 0;
}

/* Register fd for slot sl with events mask (caller holds ep_mu, or is
 * setting up); false when the kernel refused. */
static bool slot_add(shade_server *s, struct slot *sl, int fd, uint32_t mask)
{
	struct epoll_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = mask;
	ev.data.ptr = sl;
	if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &ev) != 0)
		return false;
	sl->fd = fd;
	sl->mask = mask;
	return true;
}

/* Bring connection slot sl's registration to `mask` (0: none). */
static void conn_slot_set(shade_server *s, struct slot *sl, uint32_t mask)
{
	struct epoll_event ev;
	int fd = shade_conn_fd(sl->c);

	if (fd < 0)
		mask = 0;
	if (sl->always || (sl->mask == mask && (mask == 0 || sl->fd == fd)))
		return; /* unchanged, or an fd epoll refused: no call */
	pthread_mutex_lock(&s->ep_mu);
	if (!__atomic_load_n(&sl->closed, __ATOMIC_ACQUIRE)) {
		fd = shade_conn_fd(sl->c);
		if (sl->fd >= 0 && (mask == 0 || fd != sl->fd)) {
			epoll_ctl(s->ep, EPOLL_CTL_DEL, sl->fd, NULL);
			sl->fd = -1;
			sl->mask = 0;
		}
		if (mask != 0 && fd >= 0 && sl->fd < 0) {
			if (!slot_add(s, sl, fd, mask) && errno == EPERM)
				sl->always = true;
		} else if (mask != 0 && fd >= 0) {
			memset(&ev, 0, sizeof(ev));
			ev.events = mask;
			ev.data.ptr = sl;
			if (epoll_ctl(s->ep, EPOLL_CTL_MOD, fd, &ev) == 0)
				sl->mask = mask;
		}
	}
	pthread_mutex_unlock(&s->ep_mu);
}

void server_conn_closing(void *sv, shade_conn *c)
{
	shade_server *s = sv;
	struct slot *sl = c->server_slot;

	if (sl == NULL)
		return;
	pthread_mutex_lock(&s->ep_mu);
	if (!__atomic_load_n(&sl->closed, __ATOMIC_ACQUIRE) && sl->fd >= 0)
		epoll_ctl(s->ep, EPOLL_CTL_DEL, sl->fd, NULL);
	__atomic_store_n(&sl->closed, 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&s->ep_mu);
}

shade_status shade_server_new(TALLOC_CTX *mem_ctx,
			      const shade_server_opts *opts,
			      shade_server **out, shade_error **err)
{
	shade_server *s = talloc_zero(mem_ctx, shade_server);

	if (s == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	s->wake[0] = s->wake[1] = -1;
	s->ep = -1;
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
	if (pthread_mutex_init(&s->ep_mu, NULL) != 0) {
		talloc_free(s);
		return shade_error_set(err, SHADE_ERR_NOMEM, "mutex: out of "
				       "resources");
	}
	s->ep_mu_ready = true;
	s->ep = epoll_create1(EPOLL_CLOEXEC);
	s->wake_slot = (struct slot){ .kind = SLOT_WAKE, .fd = -1 };
	if (s->ep < 0 || !slot_add(s, &s->wake_slot, s->wake[0], EPOLLIN)) {
		int e = errno;

		talloc_free(s);
		return shade_error_set(err, SHADE_ERR_IO, "epoll: %s",
				       strerror(e));
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

	struct slot *sl;

	ls = talloc_realloc(s, s->listeners, shade_listener *,
			    s->n_listeners + 1);
	if (ls == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	s->listeners = ls;
	SHADE_CHECK(shade_listener_open(s, address, s->opts.transport, &l,
					err));
	sl = talloc_zero(l, struct slot);
	if (sl == NULL) {
		talloc_free(l);
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	}
	*sl = (struct slot){ .kind = SLOT_LISTENER, .li = s->n_listeners,
			     .fd = -1 };
	if (!slot_add(s, sl, shade_listener_fd(l), EPOLLIN)) {
		int e = errno;

		talloc_free(l);
		return shade_error_set(err, SHADE_ERR_IO, "epoll: %s",
				       strerror(e));
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
	return i < s->n_conns ? s->conns[i] : NULL;
}

shade_status shade_server_adopt(shade_server *s, shade_transport *t,
				shade_conn **out, shade_error **err)
{
	shade_conn **cs, *c;
	struct conn_idle *id;
	struct slot *sl;

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
	sl = talloc_zero(c, struct slot);
	if (sl == NULL) {
		talloc_free(c);
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	}
	*sl = (struct slot){ .kind = SLOT_CONN, .c = c, .fd = -1 };
	c->server_slot = sl;
	c->server = s;
	id[s->n_conns] = (struct conn_idle){ 0, clock_now_ms() };
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
	int64_t now = clock_now_ms();
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

/* The interest connection c should have in this turn (`waiting` as for
 * turn), and whether it may be served; *ready when it has a whole frame
 * buffered that it may serve now. */
static uint32_t conn_interest(shade_server *s, shade_conn *c,
			      shade_conn *waiting, bool *serve, bool *ready)
{
	bool full = shade_conn_out_pending(c) > s->opts.max_output;
	uint32_t mask = full ? 0 : EPOLLIN;

	*serve = !full && c != waiting;
	if (c == waiting) {
		mask = EPOLLIN;
	} else if (waiting != NULL && conn_busy(c)) {
		*serve = false; /* its handler reads it */
		*ready = false;
		return 0;
	}
	if (shade_conn_wants_write(c)) {
		/* exec: transports write to another fd; the read fd's
		 * EPOLLOUT is then a close approximation. */
		mask |= EPOLLOUT;
	}
	*ready = (!full || c == waiting) && shade_conn_fd(c) >= 0 &&
		 (shade_transport_has_frame(shade_conn_transport(c)) ||
		  ((struct slot *)c->server_slot)->always);
	return mask;
}

/* Serve connection c after the wait of turn `serial`: events ev (0 when
 * it had none). */
static void conn_serve(shade_server *s, shade_conn *c, shade_conn *waiting,
		       unsigned serial, uint32_t ev)
{
	struct slot *sl = c->server_slot;
	bool serve = sl->serve, ready = sl->ready;

	if (c == waiting || shade_conn_fd(c) < 0)
		return;
	if (sl->planned != serial) /* a nested turn ran since */
		conn_interest(s, c, waiting, &serve, &ready);
	if (waiting != NULL && conn_busy(c))
		return;
	if (ev & EPOLLOUT)
		shade_conn_flush(c, NULL);
	if (serve && ((ev & (EPOLLIN | EPOLLHUP | EPOLLERR)) || ready))
		conn_process(c, s->opts.frames_per_turn, true, NULL);
}

/* One turn.  `waiting`: NULL for an outermost turn; in a nested turn the
 * connection a handler waits on, watched but not served, ending the
 * turn's wait when ready.  Busy connections (a handler running) are left
 * out of nested turns. */
static shade_status turn(shade_server *s, shade_conn *waiting, int timeout_ms,
			 shade_error **err)
{
	struct epoll_event evs[EVENTS_PER_TURN];
	size_t i, nc = s->n_conns;
	unsigned serial = ++s->serial;
	char buf[64];
	bool ready = false;
	int r, k;

	for (i = 0; i < nc; i++) {
		shade_conn *c = s->conns[i];
		struct slot *sl = c->server_slot;

		conn_slot_set(s, sl, conn_interest(s, c, waiting, &sl->serve,
						   &sl->ready));
		sl->planned = serial;
		ready |= sl->ready;
	}
	r = epoll_wait(s->ep, evs, EVENTS_PER_TURN, ready ? 0 : timeout_ms);
	if (r < 0 && errno != EINTR)
		return shade_error_set(err, SHADE_ERR_IO, "epoll_wait: %s",
				       strerror(errno));
	for (k = 0; k < r; k++) {
		struct slot *sl = evs[k].data.ptr;

		if (sl->kind == SLOT_WAKE)
			while (read(s->wake[0], buf, sizeof(buf)) > 0)
				;
	}
	if (__atomic_load_n(&s->stopped, __ATOMIC_ACQUIRE))
		return SHADE_AGAIN;
	for (k = 0; k < r; k++) {
		struct slot *sl = evs[k].data.ptr;

		if (sl->kind == SLOT_LISTENER)
			accept_some(s, s->listeners[sl->li]);
	}
	for (k = 0; k < r; k++) {
		struct slot *sl = evs[k].data.ptr;

		if (sl->kind != SLOT_CONN)
			continue;
		sl->seen = serial;
		conn_serve(s, sl->c, waiting, serial, evs[k].events);
	}
	/* Frames left buffered by the last turn's budget. */
	for (i = 0; ready && i < nc; i++) {
		shade_conn *c = s->conns[i];
		struct slot *sl = c->server_slot;

		if (sl->seen != serial)
			conn_serve(s, c, waiting, serial, 0);
	}
	return SHADE_OK;
}

shade_status shade_server_run_once(shade_server *s, int timeout_ms,
				   shade_error **err)
{
	shade_server *outer = tl_loop;
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
	tl_loop = s;
	s->depth = 1;
	st = turn(s, NULL, timeout_ms, err);
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

	s->depth++;
	turn(s, c, timeout_ms, NULL);
	s->depth--;
}

shade_status shade_server_run(shade_server *s, shade_error **err)
{
	shade_status st;

	while ((st = shade_server_run_once(s, -1, err)) == SHADE_OK)
		;
	return st == SHADE_AGAIN ? SHADE_OK : st;
}
