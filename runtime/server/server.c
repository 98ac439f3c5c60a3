/*
 * server.c - a server: listeners, accepting, connections served on an
 * event loop (loop/loop_int.h), and the idle policy (see shade/server.h).
 *
 * Invariant: conns[0..n_conns) are the live connections owned by the
 * server (talloc children), each with its record (struct srv_conn, a
 * child of the connection) holding its loop watch and its index in
 * conns; a connection that ended is told once (LOOP_CLOSED), put on the
 * `dead` list and freed after an outermost turn, once no handler of it
 * runs; the array is compacted by moving its last entry into the hole and
 * shrinks when a quarter of it is used.
 *
 * Work per turn: a connection's interest (input unless its output is
 * over the limit or it said BYE, output while some is queued) is set by
 * conn_settle after each of its events, and the loop keeps it with the
 * kernel, so a turn costs in the connections with an event, the ones
 * with a whole frame buffered (marked ready) and the timers due, not in
 * the connections held.  Each ready connection gets at most
 * frames_per_turn frames per turn (its budget) and then waits for the
 * others, in the order the kernel reports them (round robin).
 *
 * Known before new: a connection that has completed no frame yet, and
 * the listeners, are in the loop's low class (loop_fd_set_low), moved
 * out when the connection completes its first frame (two epoll_ctl
 * calls, once).  A turn serves every known connection with an event
 * first, then one low event (LOW_PER_TURN in loop.c): one accept
 * (ACCEPTS_PER_TURN), or one new connection's input or hang-up and
 * teardown.  A known connection that hangs up with nothing pending
 * goes back to the low class (conn_defer_hangup), so its teardown is
 * one of those low events too.  So a flood of connections, of half
 * HELLOs or of hang-ups (of new or known connections) delays a known
 * client's call by one such piece of work per turn, not by the flood;
 * the flood waits in the kernel (the listener's backlog, the sockets'
 * buffers) and is served at the pace of the turns.
 *
 * Nested turns: a handler that waits for its client's answer (a callback)
 * runs on the loop thread; the connection's wait asks the loop for a
 * nested turn (up to MAX_NEST deep), which serves every connection that
 * has no handler running; the waiting connection is read by the wait
 * itself, and a connection with a running handler is parked (no
 * interest) until the outermost turn ends, so no connection's requests
 * are started out of order and none is freed under a handler.  Nested
 * turns never sweep and run no timers; they only append to conns
 * (accepts), which the outer turn tolerates.
 *
 * Idle policy and memory: connections sit on two lists ordered by the
 * time they last completed a frame (`since`): `active`, and `quiet` for
 * those that completed none for QUIET_MS and gave back their buffers
 * (conn_trim).  Both lists are queues of deadlines (every connection has
 * the same timeout): the tick timer looks at their heads only, so it
 * costs in the connections that expire.  The bytes held in frames not yet
 * whole are summed over connections (`held`); over max_input_held the
 * connection holding most is refused (LimitExceeded).  When a crowd
 * left (the array shrank) the tick hands its memory back to the system
 * (malloc_trim), once no connection was accepted for a tick: the trim
 * takes milliseconds, which no client should wait for during a flood.
 *
 * Accepting: at most ACCEPTS_PER_TURN per listener event; when accept
 * fails (out of file descriptors: EMFILE, ENFILE, or memory) the
 * listeners leave the loop, the log is told, and they come back after a
 * back-off (doubling up to BACKOFF_MAX_MS) or as soon as a connection is
 * freed, while connected clients are served throughout.
 */
#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <talloc.h>

#include "shade/conn.h"
#include "shade/object.h"
#include "shade/server.h"
#include "shade/transport.h"
#include "base/clock_int.h"
#include "base/log_int.h"
#include "loop/loop_int.h"
#include "conn/conn_int.h"
#include "conn/pool_int.h"
#include "server/server_int.h"

#define DEFAULT_FRAMES_PER_TURN 16u
#define DEFAULT_MAX_OUTPUT ((size_t)4 << 20)
#define DEFAULT_MAX_CONNS 65536u
#define DEFAULT_MAX_INPUT_HELD ((size_t)256 << 20)
/* Connections accepted per listener event (one low event a turn). */
#define ACCEPTS_PER_TURN 1
/* Loop turns nested in waiting handlers, at most. */
#define MAX_NEST 8
/* A connection that completed no frame for this long gives back the
 * buffers it keeps for speed. */
#define QUIET_MS 1000
/* Back-off of the listeners after a failed accept: first, most. */
#define BACKOFF_MIN_MS 10
#define BACKOFF_MAX_MS 1000
/* Entries of conns below which it does not shrink. */
#define CONNS_MIN 16

struct srv_conn;

/* A queue of connections by the time they last completed a frame. */
struct srv_list {
	struct srv_conn *head;  /* oldest */
	struct srv_conn *tail;  /* newest */
};

/* The server's record of one connection: the block of its watch
 * (loop_fd_new_sized), a talloc child of the connection. */
struct srv_conn {
	shade_server *s;      /* the server */
	shade_conn *c;        /* the connection */
	struct loop_fd *w;    /* its watch (holding this record) */
	size_t idx;           /* its index in s->conns */
	struct srv_list *on;  /* the list it is on (active, quiet), or
			       * NULL once it ended */
	struct srv_conn *prev;/* previous on that list */
	struct srv_conn *next;/* next on that list */
	struct srv_conn *dnext; /* next on the dead list */
	struct srv_conn *pnext; /* next on the parked list */
	bool dead;            /* it ended (on the dead list) */
	bool parked;          /* on the parked list */
	bool low;             /* its watch is in the loop's low class (no
			       * frame completed yet, or hung up) */
	bool gone;            /* it hung up with nothing pending: low
			       * until its teardown */
	uint64_t frames;      /* frames received when last seen */
	int64_t since;        /* when that count last moved (monotonic
			       * ms) */
	size_t held;          /* input bytes it held when last seen */
};

/* A listener and its watch (a talloc child of the listener). */
struct srv_listener {
	shade_server *s;      /* the server */
	shade_listener *l;    /* the listener */
	struct loop_fd *w;    /* its watch */
};

/* A server. */
struct shade_server {
	shade_registry *names;        /* exported names (child) */
	struct srv_listener **lsn;    /* talloc array: the listeners */
	size_t n_listeners;           /* entries in lsn */
	struct srv_conn **conns;      /* talloc array: live connections */
	size_t n_conns;               /* entries used in conns */
	size_t cap_conns;             /* entries allocated */
	struct srv_list active;       /* connections that completed a frame
				       * in the last QUIET_MS */
	struct srv_list quiet;        /* the others, trimmed */
	struct srv_conn *dead;        /* ended, to be freed */
	struct srv_conn *parked;      /* left alone during nested turns */
	size_t held;                  /* input bytes held, all connections */
	struct loop *loop;            /* the event loop (child) */
	struct loop_timer *resume;    /* brings paused listeners back */
	int backoff_ms;               /* the next pause */
	bool paused;                  /* listeners are out of the loop */
	bool trim;                    /* a crowd left: give its memory
				       * back once accepting stops */
	uint64_t accepts;             /* connections accepted, ever */
	uint64_t accepts_seen;        /* accepts at the last tick */
	shade_conn_opts copts;        /* options for accepted connections */
	shade_server_opts opts;       /* the server's options, defaults set */
	char *side;                   /* copy of opts.side */
	struct conn_pool *pool;       /* worker pool (child), or NULL: the
				       * loop's thread serves */
};

/* Destructor: free the connections first (each leaves the loop as it
 * ends); listeners and the loop are children and go with the server. */
static int server_destructor(shade_server *s)
{
	size_t i;

	if (s->pool != NULL) {
		/* No worker reads a connection; waiting handlers wake
		 * (ConnectionLost); then the workers are joined before what
		 * they serve is freed. */
		pool_unlinger(s->pool);
		for (i = 0; i < s->n_conns; i++)
			shade_conn_close(s->conns[i]->c);
		TALLOC_FREE(s->pool);
	}
	for (i = 0; i < s->n_conns; i++)
		talloc_free(s->conns[i]->c);
	s->n_conns = 0;
	return 0;
}

/* Tell the log (shade/log.h, category errors) of something an operator
 * should know. */
#define srv_log(s, fmt, ...)                                              \
	do {                                                              \
		if (LOG_ON(SHADE_LOG_ERRORS, 1))                          \
			log_emit(SHADE_LOG_ERRORS, 1, "%s: " fmt, (s)->side, \
				 __VA_ARGS__);                            \
	} while (0)

/* Whether talloc's null tracking is on (talloc_enable_null_tracking):
 * every block made without a parent then joins one list that talloc
 * does not lock, so threads making such blocks at once (as workers do)
 * corrupt it. */
static bool null_tracked(void)
{
	void *probe = talloc_new(NULL);
	bool on = probe != NULL && talloc_parent(probe) != NULL;

	talloc_free(probe);
	return on;
}

/* The cores this process may run on: its CPU affinity (what nproc(1)
 * counts; a server started under `taskset -c 0` has one), else the
 * online ones. */
static unsigned usable_cores(void)
{
	long n;
#ifdef CPU_COUNT
	cpu_set_t set;

	CPU_ZERO(&set);
	if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
		return (unsigned)CPU_COUNT(&set);
#endif
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 1 ? (unsigned)n : 1;
}

/* Take sc off its list. */
static void list_remove(struct srv_conn *sc)
{
	struct srv_list *q = sc->on;

	if (q == NULL)
		return;
	if (sc->prev != NULL)
		sc->prev->next = sc->next;
	else
		q->head = sc->next;
	if (sc->next != NULL)
		sc->next->prev = sc->prev;
	else
		q->tail = sc->prev;
	sc->prev = sc->next = NULL;
	sc->on = NULL;
}

/* Put sc at the tail of q (taking it off the list it was on). */
static void list_append(struct srv_list *q, struct srv_conn *sc)
{
	list_remove(sc);
	sc->on = q;
	sc->prev = q->tail;
	if (q->tail != NULL)
		q->tail->next = sc;
	else
		q->head = sc;
	q->tail = sc;
}

/* Refuse the connections holding most input until all of them hold no
 * more than max_input_held (a pass over the connections, only when the
 * cap is passed). */
static void shed_input(shade_server *s)
{
	while (s->held > s->opts.max_input_held) {
		struct srv_conn *big = NULL;
		char why[160];
		size_t i;

		for (i = 0; i < s->n_conns; i++)
			if (!s->conns[i]->dead &&
			    (big == NULL || s->conns[i]->held > big->held))
				big = s->conns[i];
		if (big == NULL || big->held == 0)
			return;
		snprintf(why, sizeof(why), "input of the server's connections "
			 "over %zu bytes; this one held %zu in frames not "
			 "yet whole", s->opts.max_input_held, big->held);
		s->held -= big->held;
		big->held = 0;
		conn_refuse(big->c, SHADE_ERR_LIMIT, why);
	}
}

/* After an event of sc (or its adoption): set its interest, mark it
 * ready when a whole frame is buffered, move its idle clock when it
 * completed a frame, count the input it holds. */
static void conn_settle(shade_server *s, struct srv_conn *sc)
{
	shade_conn *c = sc->c;
	bool done, full;
	unsigned mask;
	uint64_t frames;
	size_t held;

	done = conn_bye_close(c); /* it said BYE: no more input */
	if (!shade_conn_is_open(c))
		return; /* LOOP_CLOSED follows */
	/* A worker reading c itself (pool_owns) counts as full too. */
	full = shade_conn_out_pending(c) > s->opts.max_output ||
	       (s->pool != NULL && (conn_pool_throttle(c) || pool_owns(c)));
	mask = full || done ? 0 : LOOP_READ;
	if (shade_conn_wants_write(c)) {
		/* exec: transports write to another fd; the read fd's
		 * writability is then a close approximation. */
		mask |= LOOP_WRITE;
	}
	loop_fd_set(sc->w, shade_conn_fd(c), mask);
	if (!full && !done &&
	    (loop_fd_always(sc->w) ||
	     shade_transport_has_frame(shade_conn_transport(c))))
		loop_fd_ready(sc->w);
	frames = conn_frames_in(c);
	if (frames != sc->frames) {
		if (sc->low && !sc->gone) { /* its first frame: known */
			sc->low = false;
			loop_fd_set_low(sc->w, false);
		}
		sc->frames = frames;
		sc->since = clock_now_ms();
		list_append(&s->active, sc);
	}
	held = conn_input_held(c);
	s->held += held - sc->held;
	sc->held = held;
	if (s->held > s->opts.max_input_held)
		shed_input(s);
}

/* sc ended (LOOP_CLOSED): on the dead list, once. */
static void conn_ended(shade_server *s, struct srv_conn *sc)
{
	if (sc->dead)
		return;
	sc->dead = true;
	sc->dnext = s->dead;
	s->dead = sc;
	list_remove(sc);
	s->held -= sc->held;
	sc->held = 0;
}

/* Leave sc alone until the outermost turn ends (a handler of it runs
 * further out): no interest, no ready mark. */
static void conn_park(shade_server *s, struct srv_conn *sc)
{
	loop_fd_set(sc->w, shade_conn_fd(sc->c), 0);
	if (sc->parked)
		return;
	sc->parked = true;
	sc->pnext = s->parked;
	s->parked = sc;
}

/* A known connection hung up (ev has LOOP_HUP) with nothing pending: no
 * frame buffered, no request running or awaited, no output queued.  Its
 * teardown (reading the end, closing, freeing) is left to the loop's low
 * class, LOW_PER_TURN a turn after the known connections' events, so a
 * crowd hanging up at once costs a turn two epoll_ctl calls each instead
 * of its teardowns.  True when so deferred. */
static bool conn_defer_hangup(struct srv_conn *sc, unsigned ev)
{
	shade_conn *c = sc->c;

	if (!(ev & LOOP_HUP) || sc->low || conn_busy(c) ||
	    conn_engaged(c) || shade_conn_out_pending(c) > 0 ||
	    shade_transport_has_frame(shade_conn_transport(c)))
		return false;
	sc->low = sc->gone = true;
	loop_fd_set_low(sc->w, true);
	return true;
}

/* An event of sc while a worker reads it (pool_owns): write what is
 * queued, watch no input (the worker gives it back).  The worker may
 * end c meanwhile and close its transport: its fd is read under mu,
 * c seen open (it is closed only after c ended, and after c's watch
 * sc->w was closed, which loop_fd_set looks at under the loop's lock). */
static void conn_event_owned(struct srv_conn *sc, unsigned ev)
{
	shade_conn *c = sc->c;
	int fd;

	if (ev & (LOOP_WRITE | LOOP_ERROR))
		shade_conn_flush(c, NULL);
	pthread_mutex_lock(&c->mu);
	fd = c->open ? shade_conn_fd(c) : -1;
	pthread_mutex_unlock(&c->mu);
	if (fd >= 0)
		loop_fd_set(sc->w, fd,
			    shade_conn_wants_write(c) ? LOOP_WRITE : 0);
}

static void conn_event_body(struct srv_conn *sc, unsigned ev);

/* A connection's watch fired (events 0: it had a frame buffered).  With
 * workers, the loop leaves a connection a worker reads alone, and no
 * worker takes one the loop handles (pool_loop_enter). */
static void conn_event(void *udata, unsigned ev)
{
	struct srv_conn *sc = udata;
	shade_server *s = sc->s;

	if ((ev & LOOP_CLOSED) || s->pool == NULL) {
		conn_event_body(sc, ev);
		return;
	}
	if (!pool_loop_enter(sc->c)) {
		conn_event_owned(sc, ev);
		return;
	}
	conn_event_body(sc, ev);
	pool_loop_leave(sc->c);
}

/* conn_event's work. */
static void conn_event_body(struct srv_conn *sc, unsigned ev)
{
	shade_server *s = sc->s;
	shade_conn *c = sc->c;
	struct loop_fd *waiting = loop_waiting(s->loop);

	if (ev & LOOP_CLOSED) {
		conn_ended(s, sc);
		return;
	}
	if (sc->w == waiting || !shade_conn_is_open(c))
		return; /* its wait reads it; or LOOP_CLOSED follows */
	if (waiting != NULL && conn_busy(c)) {
		conn_park(s, sc); /* its handler reads it */
		return;
	}
	if (conn_defer_hangup(sc, ev))
		return;
	if (ev & (LOOP_WRITE | LOOP_ERROR)) {
		shade_conn_flush(c, NULL);
		if (s->pool != NULL) /* it may have drained */
			pool_schedule(s->pool, c);
	}
	if (((ev & (LOOP_READ | LOOP_ERROR)) || ev == 0) &&
	    shade_conn_is_open(c) && (s->pool == NULL || !pool_owns(c)) &&
	    shade_conn_out_pending(c) <= s->opts.max_output) {
		conn_process(c, s->opts.frames_per_turn, true, NULL);
		if (s->pool != NULL)
			pool_schedule(s->pool, c);
	}
	if (shade_conn_is_open(c))
		conn_settle(s, sc);
}

/* After an outermost turn: the parked connections get their interest
 * back. */
static void unpark(shade_server *s)
{
	struct srv_conn *sc;

	while ((sc = s->parked) != NULL) {
		s->parked = sc->pnext;
		sc->parked = false;
		if (!sc->dead && shade_conn_is_open(sc->c))
			conn_settle(s, sc);
	}
}

/* Close the connections at the head of q idle for idle_timeout_ms (no
 * frame completed since); one with a handler running or a request of
 * ours outstanding starts its clock again. */
static void close_idle(shade_server *s, struct srv_list *q, int64_t now)
{
	struct srv_conn *sc;

	while ((sc = q->head) != NULL &&
	       now - sc->since >= s->opts.idle_timeout_ms) {
		if (conn_engaged(sc->c)) {
			sc->since = now;
			list_append(&s->active, sc);
			continue;
		}
		list_remove(sc); /* LOOP_CLOSED follows */
		srv_log(s, "%s: idle for %d ms, closing",
			shade_transport_address(shade_conn_transport(sc->c)),
			s->opts.idle_timeout_ms);
		shade_conn_close(sc->c);
	}
}

/* The loop's tick timer: connections quiet for QUIET_MS give back their
 * buffers; those idle for idle_timeout_ms are closed.  A connection
 * that sent half a frame is idle (slowloris).  Runs again in idle/8 ms,
 * at most QUIET_MS. */
static int tick(void *udata)
{
	shade_server *s = udata;
	int64_t now = clock_now_ms();
	struct srv_conn *sc;
	int next = QUIET_MS;

	while ((sc = s->active.head) != NULL && now - sc->since >= QUIET_MS) {
		if (!conn_busy(sc->c))
			conn_trim(sc->c);
		list_append(&s->quiet, sc);
	}
#ifdef __GLIBC__
	/* A crowd left and none came since the last tick: hand the memory
	 * of its connections back to the system (malloc keeps freed memory
	 * otherwise).  Not while connections flood in: it takes
	 * milliseconds, which every client would wait. */
	if (s->trim && s->accepts == s->accepts_seen) {
		s->trim = false;
		malloc_trim(0);
	}
#endif
	s->accepts_seen = s->accepts;
	if (s->opts.idle_timeout_ms > 0) {
		close_idle(s, &s->quiet, now);
		close_idle(s, &s->active, now);
		if (s->opts.idle_timeout_ms / 8 + 1 < next)
			next = s->opts.idle_timeout_ms / 8 + 1;
	}
	return next;
}

/* Bring the listeners back into the loop. */
static void listeners_resume(shade_server *s)
{
	size_t i;

	if (!s->paused)
		return;
	s->paused = false;
	loop_timer_arm(s->resume, -1);
	for (i = 0; i < s->n_listeners; i++)
		loop_fd_set(s->lsn[i]->w, shade_listener_fd(s->lsn[i]->l),
			    LOOP_READ);
}

/* The resume timer: the back-off ended. */
static int resume_fn(void *udata)
{
	listeners_resume(udata);
	return -1;
}

/* Take the listeners out of the loop for the back-off (accept failed:
 * the pending connections would wake every turn and fail again). */
static void listeners_pause(shade_server *s, const char *why)
{
	size_t i;

	if (s->paused)
		return;
	s->paused = true;
	for (i = 0; i < s->n_listeners; i++)
		loop_fd_set(s->lsn[i]->w, shade_listener_fd(s->lsn[i]->l), 0);
	srv_log(s, "%s; not accepting for %d ms (%zu connections held)",
		why, s->backoff_ms, s->n_conns);
	loop_timer_arm(s->resume, s->backoff_ms);
	s->backoff_ms = s->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS
							   : s->backoff_ms * 2;
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
	if (s->opts.max_input_held == 0)
		s->opts.max_input_held = DEFAULT_MAX_INPUT_HELD;
	s->backoff_ms = BACKOFF_MIN_MS;
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
	if (s->opts.conn != NULL)
		s->copts = *s->opts.conn;
	/* The connections borrow it (conn_set_loop): the server's copy. */
	s->copts.side = s->copts.side == NULL
				? s->side
				: talloc_strdup(s, s->copts.side);
	if (s->copts.timeout_ms == 0)
		s->copts.timeout_ms = s->opts.timeout_ms;
	if (s->copts.names == NULL)
		s->copts.names = s->names;
	s->opts.conn = NULL; /* copied into copts */
	if (s->copts.side == NULL) {
		talloc_free(s);
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	}
	if (s->opts.idle_timeout_ms < 0)
		s->opts.idle_timeout_ms = 0;
	if (s->opts.threads == 0 && null_tracked()) {
		srv_log(s, "%s", "talloc null tracking is on: serving on the "
			"loop's thread, without workers");
		s->opts.threads = 1;
	}
	if (s->opts.threads == 0 ||
	    s->opts.threads == SHADE_SERVER_THREADS_CORES) {
		s->opts.threads = usable_cores();
	} else if (s->opts.threads > 1 && null_tracked()) {
		srv_log(s, "%u workers with talloc null tracking on: blocks "
			"made without a parent share one unlocked list",
			s->opts.threads);
	}
	if (s->opts.threads > 1 &&
	    pool_new(s, s->opts.threads, s->opts.concurrent,
		     s->opts.max_output, &s->pool, err) != SHADE_OK) {
		talloc_free(s);
		return err && *err ? (*err)->code : SHADE_ERR_NOMEM;
	}
	s->resume = loop_timer_new(s, s->loop, 0, resume_fn, s);
	if (s->resume == NULL ||
	    loop_timer_new(s, s->loop, tick(s), tick, s) == NULL) {
		talloc_free(s);
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	}
	loop_timer_arm(s->resume, -1);
	*out = s;
	return SHADE_OK;
}

struct loop *server_loop(const shade_server *s)
{
	return s->loop;
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

shade_status shade_server_export_value(shade_server *s, const char *name,
				       const shade_value *value,
				       shade_error **err)
{
	return shade_registry_add_value(s->names, name, value, err);
}

shade_status shade_server_export_in(shade_server *s, const char *ns,
				    const char *name, shade_ref *obj,
				    const shade_value *value, shade_error **err)
{
	shade_registry *reg = shade_registry_namespace(s->names, ns, true);

	if (reg == NULL)
		return shade_error_set(err, ns ? SHADE_ERR_NOMEM
					       : SHADE_ERR_INVALID,
				       "shade_server_export_in: no namespace");
	return obj ? shade_registry_add(reg, name, obj, err)
		   : shade_registry_add_value(reg, name, value, err);
}

shade_status shade_server_export_concurrent(shade_server *s,
					    const char *name, shade_ref *obj,
					    shade_error **err)
{
	SHADE_CHECK(shade_registry_add(s->names, name, obj, err));
	shade_ref_set_concurrent(obj, true);
	return SHADE_OK;
}

unsigned shade_server_threads(const shade_server *s)
{
	return s->pool != NULL ? pool_threads(s->pool) : 0;
}

/* A listener's watch fired: accept up to ACCEPTS_PER_TURN pending
 * connections; when accept fails, pause the listeners. */
static void accept_some(void *udata, unsigned ev)
{
	struct srv_listener *sl = udata;
	shade_server *s = sl->s;
	shade_transport *t;
	shade_error *e = NULL;
	shade_status st;
	int i;

	(void)ev;
	for (i = 0; i < ACCEPTS_PER_TURN && !s->paused; i++) {
		st = shade_listener_accept(sl->l, s, 0, &t, &e);
		if (st == SHADE_AGAIN)
			return;
		if (st != SHADE_OK) {
			/* EMFILE, ENFILE, ENOBUFS, ENOMEM: it fails again
			 * until something is freed. */
			listeners_pause(s, e != NULL ? e->message
						     : "accept failed");
			shade_error_free(e);
			return;
		}
		s->backoff_ms = BACKOFF_MIN_MS;
		s->accepts++;
		if (shade_server_adopt(s, t, NULL, NULL) != SHADE_OK)
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
	struct srv_listener **ls, *sl;
	shade_listener *l;

	if (address != NULL && strcmp(address, "systemd:") == 0)
		return listen_inherited(s, err);

	ls = talloc_realloc(s, s->lsn, struct srv_listener *,
			    s->n_listeners + 1);
	if (ls == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	s->lsn = ls;
	SHADE_CHECK(shade_listener_open(s, address, s->opts.transport, &l,
					err));
	sl = talloc_zero(l, struct srv_listener);
	if (sl == NULL ||
	    (sl->w = loop_fd_new(sl, s->loop, accept_some, sl)) == NULL) {
		talloc_free(l);
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	}
	sl->s = s;
	sl->l = l;
	loop_fd_set_low(sl->w, true);
	if (!loop_fd_set(sl->w, shade_listener_fd(l),
			 s->paused ? 0 : LOOP_READ)) {
		int e = errno;

		talloc_free(l);
		return shade_error_set(err, SHADE_ERR_IO, "%s: %s",
				       loop_backend(), strerror(e));
	}
	ls[s->n_listeners++] = sl;
	return SHADE_OK;
}

const char *shade_server_address(shade_server *s, size_t i)
{
	return i < s->n_listeners ? shade_listener_address(s->lsn[i]->l)
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

/* Room for one more entry in conns (doubling); false when out of
 * memory. */
static bool conns_grow(shade_server *s)
{
	struct srv_conn **cs;
	size_t cap;

	if (s->n_conns < s->cap_conns)
		return true;
	cap = s->cap_conns < CONNS_MIN ? CONNS_MIN : s->cap_conns * 2;
	cs = talloc_realloc(s, s->conns, struct srv_conn *, cap);
	if (cs == NULL)
		return false;
	s->conns = cs;
	s->cap_conns = cap;
	return true;
}

shade_status shade_server_adopt(shade_server *s, shade_transport *t,
				shade_conn **out, shade_error **err)
{
	struct srv_conn *sc;
	struct loop_fd *w;
	void *udata;
	shade_conn *c;

	if (s->n_conns >= s->opts.max_conns) {
		srv_log(s, "%s: connection refused: limit of %zu connections "
			"reached", shade_transport_address(t),
			s->opts.max_conns);
		talloc_free(t);
		return shade_error_set(err, SHADE_ERR_LIMIT,
				       "%zu connections", s->n_conns);
	}
	if (!conns_grow(s)) {
		talloc_free(t);
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	}
	if (shade_transport_set_nonblocking(t, true, err) != SHADE_OK) {
		talloc_free(t);
		return SHADE_ERR_IO;
	}
	SHADE_CHECK(shade_conn_new(s, t, true, &s->copts, &c, err));
	w = loop_fd_new_sized(c, s->loop, conn_event, sizeof(*sc), &udata);
	if (w == NULL) {
		talloc_free(c);
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	}
	sc = udata;
	sc->w = w;
	sc->s = s;
	sc->c = c;
	sc->since = clock_now_ms();
	sc->frames = conn_frames_in(c);
	sc->low = true;
	loop_fd_set_low(w, true);
	conn_set_loop(c, s->loop, sc->w, s->copts.side);
	if (s->pool != NULL)
		pool_attach(s->pool, c);
	sc->idx = s->n_conns;
	s->conns[s->n_conns++] = sc;
	list_append(&s->active, sc);
	conn_settle(s, sc);
	if (out != NULL)
		*out = c;
	return SHADE_OK;
}

void shade_server_stop(shade_server *s)
{
	loop_stop(s->loop);
}

/* Free the connections that ended (the dead list); one whose request
 * is still being served (by a thread of the user's) waits for a later
 * turn.  A connection freed brings paused listeners back. */
static void sweep(shade_server *s)
{
	struct srv_conn **pp = &s->dead, *sc, *last;
	bool freed = false;
	size_t cap;

	while ((sc = *pp) != NULL) {
		if (conn_busy(sc->c)) {
			pp = &sc->dnext;
			continue;
		}
		*pp = sc->dnext;
		last = s->conns[--s->n_conns];
		s->conns[sc->idx] = last;
		last->idx = sc->idx;
		talloc_free(sc->c);
		freed = true;
	}
	cap = s->cap_conns;
	while (cap > CONNS_MIN && s->n_conns < cap / 4)
		cap /= 2;
	if (cap < s->cap_conns) {
		struct srv_conn **cs = talloc_realloc(s, s->conns,
						      struct srv_conn *, cap);

		if (cs != NULL) {
			s->conns = cs;
			s->cap_conns = cap;
		}
		s->trim = true;
	}
	if (freed)
		listeners_resume(s);
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
	if (st == SHADE_OK) {
		unpark(s);
		sweep(s);
	}
	return st;
}

shade_status shade_server_run(shade_server *s, shade_error **err)
{
	shade_status st;

	while ((st = shade_server_run_once(s, -1, err)) == SHADE_OK)
		;
	return st == SHADE_AGAIN ? SHADE_OK : st;
}
