/*
 * pool.c - the worker pool of a server (see pool_int.h): a FIFO of
 * connections with a request ready to start, taken by N worker threads.
 *
 * A connection is on the ready list at most once.  A worker takes it,
 * pops the head of its queue of unnested requests (`unnested`, where the
 * reader left it), puts it back on the list at once when its next request
 * may start too (a concurrent one), serves the request, then puts it
 * back if more may start.  A request is ordered unless the pool is
 * concurrent or its target object is (shade_ref_set_concurrent); an
 * ordered request starts only when none of its connection runs, and
 * nothing starts while an ordered one runs.  A RELEASE queued behind
 * requests is always ordered (the requests before it may name what it
 * releases).  Nothing of a connection starts while its unsent output is
 * over the server's limit (the loop schedules it again once it drained).
 * A request stays in its connection's queue until it starts,
 * so a CANCEL read meanwhile withdraws it (route.c).
 *
 * At most `size` threads serve at once; a worker that waits for a reply
 * (a handler calling out, conn_wait) does not count meanwhile, and when
 * work is ready and no thread is idle another thread is started in its
 * stead (at most POOL_EXTRA more, kept until the pool ends), so handlers
 * waiting for their callers' answers never starve other connections.
 *
 * A connection on the list, or served by a worker, counts as being
 * served (`serving`), so its server does not free it meanwhile.  After a
 * request, the worker asks the loop to look at the connection again
 * (loop_fd_want_write) when the loop has something to do there: replies
 * a full socket did not take, a BYE whose requests are now all answered,
 * input it stopped reading for a full queue (let_go).
 *
 * Linger: a worker done with a quiet connection, when no other work
 * waits and another thread is idle, keeps reading it itself (it owns it,
 * `pool_owner`, and the loop leaves its input alone) for up to LINGER_MS
 * between requests, serving what it reads: a client making one call at
 * a time costs no hand-off between the loop's thread and a worker.  It
 * gives the connection back to the loop when the wait ends, when work
 * is queued for the pool (a kick on the pipe `kick` calls it), when its
 * handler waits for a reply (pool_block), and when the idle thread that
 * watches the owned connections sees a request run over LINGER_SERVE_MS
 * (what comes meanwhile, a CANCEL say, is then read by the loop).
 *
 * Lock order: a connection's `mu`, then the pool's `mu`; handlers run
 * with neither held.
 */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <unistd.h>

#include <talloc.h>

#include "base/clock_int.h"
#include "conn/conn_int.h"
#include "conn/pool_int.h"
#include "conn/route_int.h"
#include "conn/send_int.h"
#include "conn/serve_int.h"
#include "loop/loop_int.h"
#include "transport/transport_int.h"

/* Threads a pool may start beyond its size, to stand in for workers
 * waiting for a reply (pool_block). */
#define POOL_EXTRA 64u

/* Requests of one connection a worker serves in a row, at most, before
 * it goes back to the ready list. */
#define POOL_BURST 16u

/* How long a worker that served a connection's last request waits on
 * that connection for the next one, reading it itself (linger), before
 * it gives it back to the loop; and the frames it reads per wake-up. */
#define LINGER_MS 20
#define LINGER_FRAMES 16u

/* A request served by a lingering worker for longer than this gives its
 * connection back to the loop (an idle worker watches), so what comes
 * meanwhile (a CANCEL, requests that may start beside it) is read. */
#define LINGER_SERVE_MS 2

/* A pool. */
struct conn_pool {
	pthread_mutex_t mu;          /* guards what follows and the pool_*
				      * fields of attached connections */
	pthread_cond_t cv;           /* work arrived, or stop */
	struct shade_conn *head;     /* ready list: first to take */
	struct shade_conn *tail;     /* ready list: last */
	pthread_t *th;               /* the threads (talloc array of cap) */
	unsigned n;                  /* threads started */
	unsigned cap;                /* at most: size + POOL_EXTRA */
	unsigned size;               /* workers running handlers at once */
	unsigned running;            /* threads serving, not waiting for a
				      * reply */
	unsigned idle;               /* threads waiting for work */
	unsigned blocked;            /* workers waiting for a reply */
	size_t max_output;           /* a connection with more output
				      * unsent starts nothing (its server's
				      * backpressure) */
	unsigned lingering;          /* threads reading a connection of
				      * their own (linger) */
	int kick[2];                 /* a pipe: a byte in it calls the
				      * lingering threads back to the ready
				      * list (-1: none) */
	bool kicked;                 /* a byte is in kick */
	struct shade_conn *owned;    /* connections read by a lingering
				      * thread (linked by pool_onext) */
	bool watching;               /* an idle thread watches them */
	bool no_linger;              /* no thread lingers any more
				      * (pool_unlinger) */
	unsigned linger_io;          /* lingering threads reading their
				      * connection now (waiting or reading) */
	pthread_cond_t io_cv;        /* linger_io dropped to 0 */
	bool concurrent;             /* every request may run at once */
	bool stop;                   /* workers leave */
};

/* The pool this thread works for, or NULL. */
static _Thread_local struct conn_pool *tl_pool;

/* The connection this worker reads itself (linger), or NULL. */
static _Thread_local struct shade_conn *tl_owned;

static void *worker(void *arg);

/* Work is ready (under p's mu): wake an idle thread, or call back a
 * lingering one that waits on its connection, or start one when fewer
 * than `size` threads are not waiting for a reply.  A lingering thread
 * that is serving (its handler may wait for a reply for long) is not
 * counted on: it takes the ready list when it is done (linger). */
static void wake_one(struct conn_pool *p)
{
	char b = 1;

	if (p->idle > 0) {
		pthread_cond_signal(&p->cv);
		return;
	}
	if (p->linger_io > 0 && !p->kicked && p->kick[1] >= 0 &&
	    write(p->kick[1], &b, 1) == 1) {
		p->kicked = true; /* a lingering thread comes */
		return;
	}
	if (p->n - p->blocked < p->size && p->n < p->cap && !p->stop &&
	    pthread_create(&p->th[p->n], NULL, worker, p) == 0)
		p->n++;
}

/* May the request of `it` run beside others of its connection (under c's
 * mu and p's mu)? */
static bool item_concurrent(struct conn_pool *p, struct shade_conn *c,
			    const struct frame_item *it)
{
	struct export_entry *e;
	shade_cbor_dec d;
	uint64_t eid;

	if (!it->parsed || it->m.op == OP_RELEASE)
		return false;
	if (p->concurrent)
		return true;
	if (it->m.op == OP_LOOKUP || it->m.op == OP_NAMES)
		return false;
	d = it->m.d; /* a copy: the frame is read again when served */
	if (shade_cbor_read_uint(&d, &eid, NULL) != SHADE_OK)
		return false;
	e = etab_by_eid(&c->exports, eid);
	return e != NULL && e->obj != NULL &&
	       __atomic_load_n(&e->obj->concurrent, __ATOMIC_ACQUIRE);
}

/* Is c's unsent output over p's limit?  Asked before the locks are
 * taken (send_mu comes before mu). */
static bool out_full(struct conn_pool *p, struct shade_conn *c)
{
	return shade_conn_out_pending(c) > p->max_output;
}

/* May c's next request start now (under c's mu and p's mu; full: what
 * out_full said)? */
static bool ready(struct conn_pool *p, struct shade_conn *c, bool full)
{
	const struct frame_item *it = c->unnested.head;

	return it != NULL && !c->pool_excl && !full &&
	       (c->pool_running == 0 || item_concurrent(p, c, it));
}

/* Append c to the ready list unless it is on it (under both locks);
 * it counts as served from now on. */
static void enqueue(struct conn_pool *p, struct shade_conn *c)
{
	if (c->pool_queued)
		return;
	c->pool_queued = true;
	c->pool_next = NULL;
	__atomic_add_fetch(&c->serving, 1, __ATOMIC_ACQ_REL);
	if (p->tail != NULL)
		p->tail->pool_next = c;
	else
		p->head = c;
	p->tail = c;
	wake_one(p);
}

void pool_schedule(struct conn_pool *p, struct shade_conn *c)
{
	bool full;

	if (__atomic_load_n(&c->unnested.head, __ATOMIC_ACQUIRE) == NULL)
		return; /* a hint: the usual empty queue, no lock */
	full = out_full(p, c);
	pthread_mutex_lock(&c->mu);
	pthread_mutex_lock(&p->mu);
	if (ready(p, c, full))
		enqueue(p, c);
	pthread_mutex_unlock(&p->mu);
	pthread_mutex_unlock(&c->mu);
}

/* Take c's next request when it may start (under c's mu and p's mu;
 * full: what out_full said), counting it as running; *conc: whether it
 * is concurrent.  When the one after it may start too, c goes back on
 * the ready list for another worker.  NULL when none may start. */
static struct frame_item *take(struct conn_pool *p, struct shade_conn *c,
			       bool full, bool *conc)
{
	struct frame_item *it;

	if (!ready(p, c, full))
		return NULL;
	*conc = item_concurrent(p, c, c->unnested.head);
	/* Off c under its lock: the reader adds to c meanwhile. */
	it = talloc_steal(NULL, queue_pop(&c->unnested));
	__atomic_add_fetch(&c->answering, 1, __ATOMIC_ACQ_REL);
	c->pool_running++;
	if (!*conc)
		c->pool_excl = true;
	else if (ready(p, c, full))
		enqueue(p, c); /* the next may start beside it */
	return it;
}

/* Serve requests of c (taken off the ready list, its count held): up to
 * POOL_BURST in a row while the next may start, their replies batched
 * and written after the last (a pipelining client gets them together). */
static void work_on(struct conn_pool *p, struct shade_conn *c)
{
	struct frame_item *it;
	bool conc = false, full = out_full(p, c);
	unsigned k;

	pthread_mutex_lock(&c->mu);
	pthread_mutex_lock(&p->mu);
	it = take(p, c, full, &conc);
	pthread_mutex_unlock(&p->mu);
	pthread_mutex_unlock(&c->mu);
	send_hold(c); /* the replies go at the end, flushed here */
	for (k = 1; it != NULL; k++) {
		serve_frame(c, NULL, talloc_steal(NULL, it->frame), it->len,
			    it->parsed ? &it->m : NULL, it->arrived, true);
		talloc_free(it);
		it = NULL;
		full = out_full(p, c);
		pthread_mutex_lock(&c->mu);
		pthread_mutex_lock(&p->mu);
		c->pool_running--;
		if (!conc)
			c->pool_excl = false;
		if (k < POOL_BURST)
			it = take(p, c, full, &conc);
		if (it == NULL && ready(p, c, full))
			enqueue(p, c);
		pthread_mutex_unlock(&p->mu);
		pthread_mutex_unlock(&c->mu);
		__atomic_sub_fetch(&c->answering, 1, __ATOMIC_ACQ_REL);
		if (it != NULL)
			continue;
		send_hold(NULL);
		conn_flush_batch(c, NULL);
		/* References the requests held, given back (RELEASE): now,
		 * as the loop would at the end of its turn. */
		if (__atomic_load_n(&c->n_rel, __ATOMIC_RELAXED) > 0)
			(void)shade_conn_flush(c, NULL);
	}
}

/* Done with c (its count held).  The loop is told only when it has
 * something to do: write what the socket did not take, end a connection
 * whose BYE waited for these replies, watch the input it stopped
 * reading for the full queue (conn_pool_throttle); else a wake-up of the
 * loop's thread per request would be spent on nothing. */
static void let_go(struct shade_conn *c)
{
	bool poke;

	/* Under mu, after the take from the queue (conn_pool_throttle). */
	pthread_mutex_lock(&c->mu);
	poke = c->pool_throttled || c->bye_seen || !c->open;
	c->pool_throttled = false;
	pthread_mutex_unlock(&c->mu);
	if ((poke || shade_conn_wants_write(c)) && c->watch != NULL)
		loop_fd_want_write(c->watch);
	__atomic_sub_fetch(&c->serving, 1, __ATOMIC_ACQ_REL);
}

bool pool_owns(const struct shade_conn *c)
{
	return __atomic_load_n(&c->pool_owner, __ATOMIC_ACQUIRE) != NULL;
}

bool pool_loop_enter(struct shade_conn *c)
{
	bool ok;

	pthread_mutex_lock(&c->mu);
	ok = !pool_owns(c);
	c->pool_loop_busy = ok;
	pthread_mutex_unlock(&c->mu);
	return ok;
}

void pool_loop_leave(struct shade_conn *c)
{
	bool ended;

	pthread_mutex_lock(&c->mu);
	c->pool_loop_busy = false;
	ended = __atomic_load_n(&c->t_close, __ATOMIC_ACQUIRE) != 0;
	pthread_mutex_unlock(&c->mu);
	if (ended) /* it ended during the event: the close is the loop's */
		conn_close_transport(c);
}

void pool_unlinger(struct conn_pool *p)
{
	char b = 1;

	pthread_mutex_lock(&p->mu);
	p->no_linger = true;
	if (p->lingering > 0 && !p->kicked && p->kick[1] >= 0 &&
	    write(p->kick[1], &b, 1) == 1)
		p->kicked = true;
	while (p->linger_io > 0)
		pthread_cond_wait(&p->io_cv, &p->mu);
	pthread_mutex_unlock(&p->mu);
}

/* Take c off p's list of owned connections (under p's mu). */
static void owned_remove(struct conn_pool *p, struct shade_conn *c)
{
	struct shade_conn **pp = &p->owned;

	while (*pp != NULL && *pp != c)
		pp = &(*pp)->pool_onext;
	if (*pp == c)
		*pp = c->pool_onext;
	c->pool_onext = NULL;
}

/* Stop reading c, which this thread owned: the loop watches it again.
 * Nothing when the watch took it meanwhile (owned_watch; another worker
 * may own it since). */
static void own_drop(struct conn_pool *p, struct shade_conn *c)
{
	bool mine;

	tl_owned = NULL;
	pthread_mutex_lock(&p->mu);
	mine = __atomic_load_n(&c->pool_owner, __ATOMIC_ACQUIRE) ==
	       (void *)&tl_owned;
	if (mine) {
		__atomic_store_n(&c->pool_owner, NULL, __ATOMIC_RELEASE);
		owned_remove(p, c);
	}
	pthread_mutex_unlock(&p->mu);
	if (mine && c->watch != NULL)
		loop_fd_want_write(c->watch);
}

/* An idle thread's watch (under p's mu): a connection whose lingering
 * worker has been serving it for LINGER_SERVE_MS goes back to the loop,
 * which reads it meanwhile (the worker, when done, sees it lost it). */
static void owned_watch(struct conn_pool *p)
{
	int64_t now = clock_now_ms();
	struct shade_conn **pp = &p->owned, *c;

	while ((c = *pp) != NULL) {
		if (c->pool_since == 0 || now - c->pool_since < LINGER_SERVE_MS) {
			pp = &c->pool_onext;
			continue;
		}
		*pp = c->pool_onext; /* off the list: no longer owned */
		c->pool_onext = NULL;
		__atomic_store_n(&c->pool_owner, NULL, __ATOMIC_RELEASE);
		/* Its worker holds c's count: c lives. */
		loop_fd_want_write(c->watch);
	}
}

/* May this worker keep reading c itself after serving it (under p's mu)?
 * When c is a quiet server connection (nothing queued, running or
 * unsent) and the pool is quiet too (no work waits, another worker is
 * idle: it watches, and takes what the loop reads meanwhile): it then
 * owns c.  With more busy clients than workers, none lingers. */
static bool own_try(struct conn_pool *p, struct shade_conn *c)
{
	bool ok;

	if (c->watch == NULL || p->kick[0] < 0 || p->stop || p->no_linger ||
	    p->head != NULL || p->idle == 0 || c->pool_queued ||
	    c->pool_running > 0 ||
	    __atomic_load_n(&c->out_frames, __ATOMIC_RELAXED) > 0)
		return false;
	/* c's mu comes before p's: taken again in that order.  Not while
	 * the loop handles an event of c or anyone reads it. */
	pthread_mutex_unlock(&p->mu);
	pthread_mutex_lock(&c->mu);
	pthread_mutex_lock(&p->mu);
	/* The fd is looked at under mu, once c is seen open: its
	 * transport is closed only after c ended (lost.c). */
	ok = !c->pool_loop_busy && !c->reading && c->open &&
	     shade_conn_fd(c) >= 0 && !c->bye_seen &&
	     __atomic_load_n(&c->pool_owner, __ATOMIC_ACQUIRE) == NULL &&
	     c->unnested.head == NULL && !c->pool_queued &&
	     c->pool_running == 0 && !p->stop && !p->no_linger;
	if (ok)
		__atomic_store_n(&c->pool_owner, (void *)&tl_owned,
				 __ATOMIC_RELEASE);
	pthread_mutex_unlock(&c->mu);
	if (!ok)
		return false;
	tl_owned = c;
	c->pool_since = 0;
	c->pool_onext = p->owned;
	p->owned = c;
	if (!p->watching && p->idle > 0)
		pthread_cond_signal(&p->cv); /* one idle thread watches */
	return true;
}

/* May a lingering worker go on reading c (no lock held)?  When it may,
 * it is c's reader (`reading`) until linger_unread: nothing closes c's
 * transport while it polls c (lost.c). */
static bool own_keep(struct shade_conn *c)
{
	bool ok;

	if (tl_owned != c ||
	    __atomic_load_n(&c->pool_owner, __ATOMIC_ACQUIRE) != &tl_owned ||
	    shade_conn_out_pending(c) > 0 || conn_pool_full(c))
		return false; /* a wait gave it back (pool_block), or the
			       * watch took it (owned_watch) */
	pthread_mutex_lock(&c->mu);
	ok = c->open && !c->bye_seen && !c->reading;
	c->reading = ok;
	pthread_mutex_unlock(&c->mu);
	return ok;
}

/* The lingering worker stops being c's reader (own_keep was true); it
 * closes c's transport when c ended meanwhile. */
static void linger_unread(struct shade_conn *c)
{
	bool ended;

	pthread_mutex_lock(&c->mu);
	ended = conn_reader_leave(c);
	pthread_mutex_unlock(&c->mu);
	if (ended)
		conn_close_transport(c);
}

/* Read what c has, up to LINGER_FRAMES frames (this thread owns it);
 * the requests are queued on c as the loop would queue them.  The
 * number of frames read. */
static unsigned linger_read(struct shade_conn *c)
{
	unsigned i;

	for (i = 0; i < LINGER_FRAMES; i++) {
		if (conn_read_one(c, NULL, NULL, NULL) != SHADE_OK)
			break;
		/* As conn_process: no read that would find nothing. */
		if (conn_pool_full(c) || transport_drained(c->t))
			return i + 1;
	}
	return i;
}

/* Wait for c's input or a kick (no lock held): true when c has some. */
static bool linger_wait(struct conn_pool *p, struct shade_conn *c)
{
	struct pollfd fds[2] = {
		{ .fd = shade_conn_fd(c), .events = POLLIN },
		{ .fd = p->kick[0], .events = POLLIN },
	};

	if (shade_transport_has_frame(shade_conn_transport(c)))
		return true;
	if (poll(fds, 2, LINGER_MS) <= 0)
		return false;
	return (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0;
}

/* A lingering thread is done reading its connection (under p's mu). */
static void io_done(struct conn_pool *p)
{
	if (--p->linger_io == 0 && p->no_linger)
		pthread_cond_broadcast(&p->io_cv);
}

/* Serve c, which this worker owns (its count held), reading it itself
 * while it stays quiet and nothing else waits for a worker: a client
 * calling one call at a time is then read, served and answered by one
 * thread, with no hand-off to the loop's thread and back.  Under p's
 * mu, the thread counted neither running nor idle; returns so. */
static void linger(struct conn_pool *p, struct shade_conn *c)
{
	char b[16];
	bool input, kept;
	unsigned n;

	p->lingering++;
	for (;;) {
		if (p->no_linger || p->head != NULL)
			break; /* other work first */
		p->linger_io++;
		pthread_mutex_unlock(&p->mu);
		kept = own_keep(c);
		input = kept && linger_wait(p, c);
		if (kept)
			linger_unread(c);
		pthread_mutex_lock(&p->mu);
		if (p->kicked) {
			while (read(p->kick[0], b, sizeof(b)) > 0)
				;
			p->kicked = false;
		}
		if (!input || p->stop || p->no_linger || p->head != NULL ||
		    p->running >= p->size || tl_owned != c) {
			io_done(p);
			break;
		}
		p->running++;
		pthread_mutex_unlock(&p->mu);
		n = linger_read(c);
		pthread_mutex_lock(&p->mu);
		io_done(p);
		if (n == 0 &&
		    __atomic_load_n(&c->unnested.head, __ATOMIC_ACQUIRE) ==
			    NULL) {
			p->running--;
			break; /* nothing came: the loop reads */
		}
		c->pool_since = clock_now_ms();
		pthread_mutex_unlock(&p->mu);
		work_on(p, c);
		pthread_mutex_lock(&p->mu);
		c->pool_since = 0;
		p->running--;
		if (c->pool_queued || c->pool_running > 0)
			break; /* another worker serves it */
	}
	p->lingering--;
	pthread_mutex_unlock(&p->mu);
	own_drop(p, c);
	pool_schedule(p, c); /* what was read and not started */
	__atomic_sub_fetch(&c->serving, 1, __ATOMIC_ACQ_REL);
	pthread_mutex_lock(&p->mu);
}

/* Wait on p's cv at most ms milliseconds (under p's mu). */
static void cond_wait_ms(struct conn_pool *p, int ms)
{
	struct timespec ts;

	clock_timespec(clock_deadline(ms), &ts);
	pthread_cond_timedwait(&p->cv, &p->mu, &ts);
}

/* A worker: take ready connections until the pool stops. */
static void *worker(void *arg)
{
	struct conn_pool *p = arg;
	struct shade_conn *c;

	tl_pool = p;
	pthread_mutex_lock(&p->mu);
	for (;;) {
		while (!p->stop &&
		       (p->head == NULL || p->running >= p->size)) {
			p->idle++;
			if (p->owned != NULL && !p->watching) {
				/* One idle thread watches the owned. */
				p->watching = true;
				cond_wait_ms(p, LINGER_SERVE_MS);
				p->watching = false;
				owned_watch(p);
			} else {
				pthread_cond_wait(&p->cv, &p->mu);
			}
			p->idle--;
		}
		if (p->stop)
			break;
		c = p->head;
		p->head = c->pool_next;
		if (p->head == NULL)
			p->tail = NULL;
		c->pool_queued = false;
		p->running++;
		pthread_mutex_unlock(&p->mu);
		work_on(p, c);
		pthread_mutex_lock(&p->mu);
		p->running--;
		if (own_try(p, c)) {
			linger(p, c);
		} else {
			pthread_mutex_unlock(&p->mu);
			let_go(c);
			pthread_mutex_lock(&p->mu);
		}
		if (p->head != NULL && p->idle > 0)
			pthread_cond_signal(&p->cv);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* Destructor: stop and join the workers. */
static int pool_destructor(struct conn_pool *p)
{
	unsigned i;

	unsigned n;

	char b = 1;

	pthread_mutex_lock(&p->mu);
	p->stop = true;
	pthread_cond_broadcast(&p->cv);
	if (p->kick[1] >= 0 && write(p->kick[1], &b, 1) == 1)
		p->kicked = true; /* the lingering threads leave */
	n = p->n; /* none starts after stop */
	pthread_mutex_unlock(&p->mu);
	for (i = 0; i < n; i++)
		pthread_join(p->th[i], NULL);
	if (p->kick[0] >= 0) {
		close(p->kick[0]);
		close(p->kick[1]);
	}
	pthread_cond_destroy(&p->cv);
	pthread_cond_destroy(&p->io_cv);
	pthread_mutex_destroy(&p->mu);
	return 0;
}

shade_status pool_new(TALLOC_CTX *mem_ctx, unsigned threads, bool concurrent,
		      size_t max_output, struct conn_pool **out,
		      shade_error **err)
{
	struct conn_pool *p = talloc_zero(mem_ctx, struct conn_pool);
	pthread_condattr_t ca;
	int rc;

	if (p == NULL || threads == 0 ||
	    (p->th = talloc_array(p, pthread_t, threads + POOL_EXTRA)) ==
		    NULL) {
		talloc_free(p);
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	}
	pthread_mutex_init(&p->mu, NULL);
	/* Its timed waits count on the clock of clock_timespec. */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->cv, &ca);
	pthread_condattr_destroy(&ca);
	pthread_cond_init(&p->io_cv, NULL);
	/* Without the pipe no worker lingers (a hand-off each request). */
	if (pipe(p->kick) != 0) {
		p->kick[0] = p->kick[1] = -1;
	} else {
		(void)fcntl(p->kick[0], F_SETFL, O_NONBLOCK);
		(void)fcntl(p->kick[1], F_SETFL, O_NONBLOCK);
		(void)fcntl(p->kick[0], F_SETFD, FD_CLOEXEC);
		(void)fcntl(p->kick[1], F_SETFD, FD_CLOEXEC);
	}
	p->concurrent = concurrent;
	p->max_output = max_output;
	p->size = threads;
	p->cap = threads + POOL_EXTRA;
	talloc_set_destructor(p, pool_destructor);
	pthread_mutex_lock(&p->mu);
	while (p->n < threads) {
		rc = pthread_create(&p->th[p->n], NULL, worker, p);
		if (rc != 0) {
			pthread_mutex_unlock(&p->mu);
			talloc_free(p);
			return shade_error_set(err, SHADE_ERR_IO,
					       "starting worker %u of %u: "
					       "error %d", p->n + 1, threads,
					       rc);
		}
		p->n++;
	}
	pthread_mutex_unlock(&p->mu);
	*out = p;
	return SHADE_OK;
}

void pool_attach(struct conn_pool *p, struct shade_conn *c)
{
	c->pool = p;
}

unsigned pool_threads(const struct conn_pool *p)
{
	return p->size;
}

void pool_block(bool waiting)
{
	struct conn_pool *p = tl_pool;

	if (p == NULL)
		return;
	if (waiting && tl_owned != NULL)
		own_drop(p, tl_owned); /* the loop reads for the wait */
	pthread_mutex_lock(&p->mu);
	if (waiting) {
		p->running--;
		p->blocked++;
		if (p->head != NULL)
			wake_one(p);
	} else {
		p->running++;
		p->blocked--;
	}
	pthread_mutex_unlock(&p->mu);
}
