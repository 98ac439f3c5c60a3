/*
 * pool.c - the worker pool of a server (see pool_int.h): a FIFO of
 * connections with a request ready to start, taken by N worker threads,
 * and the connections the workers read themselves ("owned").
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
 * Owned connections (leader/follower): a worker done with a quiet
 * connection does not give it back to the loop's thread; the pool owns
 * it (`pool_owner`, the loop leaves its input alone) and registers its
 * fd, one-shot, in the pool's own epoll set, on which the idle workers
 * wait.  The worker that the kernel wakes for it reads what came, arms
 * the fd again (so what comes while it serves, a CANCEL or the next
 * pipelined request, is read by another idle worker) and serves the
 * requests itself: the thread that reads a request serves it, with no
 * hand-off between the loop's thread and a worker, whatever the number
 * of busy connections.  The pool gives a connection back to the loop
 * (`drop`) when it waited LINGER_MS for input (so the server's idle
 * clocks and trimming see it), when its output backs up, when its queue
 * is full, after BYE and when it ends.  The epoll registration of a
 * dropped connection is left in place (disarmed or armed): its slot
 * carries a generation, and an event naming an old one is ignored, so
 * no stale registration is ever looked up and no fd that may have been
 * reused is touched.  Without epoll (off Linux) nothing is owned: every
 * request is read by the loop's thread and handed to a worker.
 *
 * Lock order: a connection's `mu`, then the pool's `mu`; handlers run
 * with neither held.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/epoll.h>
#endif

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

/* How long an owned connection waits for input before the pool gives it
 * back to its loop; and the frames a worker reads per wake-up. */
#define LINGER_MS 20
#define LINGER_FRAMES 16u

/* Events a worker takes from the epoll set at once (fewer wake-ups
 * with many busy connections).  It handles the first; the others wait
 * on the pool's list of events (`pend`), which any worker takes before
 * it sleeps, and an idle worker is woken for them: a slow handler of the
 * first never holds the others while a worker is free. */
#define POOL_EVENTS 4

/* Events the pool keeps for later at most (past that, the worker that
 * took them handles them itself, in turn). */
#define POOL_PEND 64

/* Connections given back to the loop per pass of the idle scan. */
#define DROP_BATCH 16u

/* The epoll data of the wake-up pipe (a slot's is its generation and
 * index). */
#define KICK_DATA UINT64_MAX

/* A slot's state while its connection is owned. */
enum {
	SLOT_FREE,    /* not in use */
	SLOT_ARMED,   /* its fd waits for input in the pool's epoll set */
	SLOT_READING, /* a worker reads it (an event meanwhile: `again`) */
};

/* An owned connection, named by index and generation in its epoll
 * registration. */
struct pool_slot {
	struct shade_conn *c;  /* the connection, its count held; NULL
				* when free */
	uint32_t gen;          /* bumped when freed: older events are
				* ignored */
	uint8_t state;         /* SLOT_* */
	bool again;            /* an event came while a worker read it (it
				* armed the fd again before it let go) */
	int64_t armed_at;      /* when it last started waiting for input */
	unsigned next_free;    /* next free slot (free list) */
};

/* A pool. */
struct conn_pool {
	pthread_mutex_t mu;          /* guards what follows and the pool_*
				      * fields of attached connections */
	pthread_cond_t cv;           /* work arrived, or stop (no epoll) */
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
	int ep;                      /* the epoll set of the owned
				      * connections and the kick pipe; -1:
				      * none, nothing is owned */
	int kick[2];                 /* a pipe: a byte in it wakes an idle
				      * worker (-1: none) */
	bool kicked;                 /* a byte is in kick */
	struct pool_slot *slots;     /* talloc array of nslots */
	unsigned nslots;             /* slots made */
	unsigned free_slot;          /* first free slot, or UINT32_MAX */
	unsigned owned;              /* slots in use */
	unsigned reading;            /* slots SLOT_READING */
	bool watching;               /* an idle worker waits with a timeout,
				      * to give back the owned connections
				      * that stayed quiet */
	int64_t scanned;             /* when they were last looked at */
	uint64_t pend[POOL_PEND];    /* events taken and not yet handled
				      * (a ring; their data, as in the
				      * epoll set) */
	unsigned pend_head;          /* first of them */
	unsigned pend_n;             /* how many */
	bool no_linger;              /* nothing is owned any more
				      * (pool_unlinger) */
	pthread_cond_t io_cv;        /* reading dropped to 0 */
	bool concurrent;             /* every request may run at once */
	bool stop;                   /* workers leave */
};

/* The pool this thread works for, or NULL. */
static _Thread_local struct conn_pool *tl_pool;

static void *worker(void *arg);

/* Wake an idle worker (under p's mu): a byte on the kick pipe (one is
 * enough; the worker it wakes takes it out), or the condition variable
 * when the pool has no epoll set. */
static void kick_one(struct conn_pool *p)
{
	char b = 1;

	if (p->ep < 0) {
		pthread_cond_signal(&p->cv);
		return;
	}
	if (!p->kicked && write(p->kick[1], &b, 1) == 1)
		p->kicked = true;
}

/* Start another thread when fewer than `size` are not waiting for a
 * reply (under p's mu). */
static void start_one(struct conn_pool *p)
{
	if (p->n - p->blocked < p->size && p->n < p->cap && !p->stop &&
	    pthread_create(&p->th[p->n], NULL, worker, p) == 0)
		p->n++;
}

/* This thread leaves the idle ones to serve (under p's mu): when none is
 * left to read the owned connections while fewer than `size` would
 * serve, start one, as the loop's thread would read them. */
static void keep_reader(struct conn_pool *p)
{
	if (p->idle == 0 && p->owned > 0 && p->running + 1 < p->size)
		start_one(p);
}

/* Work is ready (under p's mu): wake an idle thread, or start one when
 * fewer than `size` threads are not waiting for a reply. */
static void wake_one(struct conn_pool *p)
{
	if (p->idle > 0)
		kick_one(p);
	else
		start_one(p);
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
	/* Off c under its lock: the reader adds to c meanwhile (a cached
	 * item stays on c: only c's end frees it, and nobody serving). */
	it = queue_pop(&c->unnested);
	if (it != NULL && it->cache == NULL)
		talloc_steal(NULL, it);
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
		serve_item(c, it);
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

static bool own_try(struct conn_pool *p, struct shade_conn *c);

void pool_loop_leave(struct shade_conn *c)
{
	struct conn_pool *p = c->pool;
	bool ended, offer, owned;

	pthread_mutex_lock(&c->mu);
	c->pool_loop_busy = false;
	offer = c->pool_want_own;
	c->pool_want_own = false;
	ended = __atomic_load_n(&c->t_close, __ATOMIC_ACQUIRE) != 0;
	pthread_mutex_unlock(&c->mu);
	if (ended) { /* it ended during the event: the close is the loop's */
		conn_close_transport(c);
		return;
	}
	if (!offer)
		return;
	/* A worker served c while this event ran: the pool reads it from
	 * now on, with a count of its own (else the loop goes on). */
	__atomic_add_fetch(&c->serving, 1, __ATOMIC_ACQ_REL);
	pthread_mutex_lock(&p->mu);
	owned = own_try(p, c);
	pthread_mutex_unlock(&p->mu);
	if (!owned)
		__atomic_sub_fetch(&c->serving, 1, __ATOMIC_ACQ_REL);
}

/* Register fd in p's epoll set, edge-triggered, its events naming slot
 * i of generation gen: true when the kernel took it. */
static bool ep_add(const struct conn_pool *p, int fd, unsigned i,
		   uint32_t gen)
{
#ifdef __linux__
	struct epoll_event ev = {
		.events = EPOLLIN | EPOLLET,
		.data.u64 = (uint64_t)gen << 32 | i,
	};

	if (epoll_ctl(p->ep, EPOLL_CTL_ADD, fd, &ev) == 0)
		return true;
	return errno == EEXIST && epoll_ctl(p->ep, EPOLL_CTL_MOD, fd, &ev) == 0;
#else
	(void)p;
	(void)fd;
	(void)i;
	(void)gen;
	return false;
#endif
}

/* Take c's fd out of p's epoll set (no lock held), while it is still
 * c's: under c's mu with c open (its transport closes only after c
 * ended, under mu).  Once c ended its fd is left alone: closing it took
 * it out, or an event it still brings names a freed slot. */
static void ep_del(const struct conn_pool *p, struct shade_conn *c)
{
#ifdef __linux__
	pthread_mutex_lock(&c->mu);
	if (c->open && shade_conn_fd(c) >= 0)
		(void)epoll_ctl(p->ep, EPOLL_CTL_DEL, shade_conn_fd(c), NULL);
	pthread_mutex_unlock(&c->mu);
#else
	(void)p;
	(void)c;
#endif
}

/* A free slot for c (under p's mu), or UINT32_MAX when out of memory. */
static unsigned slot_new(struct conn_pool *p, struct shade_conn *c)
{
	struct pool_slot *s;
	unsigned i, n;

	if (p->free_slot == UINT32_MAX) {
		n = p->nslots == 0 ? 16 : p->nslots * 2;
		s = talloc_realloc(p, p->slots, struct pool_slot, n);
		if (s == NULL)
			return UINT32_MAX;
		for (i = p->nslots; i < n; i++) {
			s[i] = (struct pool_slot){ .next_free = i + 1 };
		}
		s[n - 1].next_free = p->free_slot;
		p->free_slot = p->nslots;
		p->slots = s;
		p->nslots = n;
	}
	i = p->free_slot;
	s = &p->slots[i];
	p->free_slot = s->next_free;
	s->c = c;
	s->state = SLOT_ARMED;
	s->again = false;
	s->armed_at = clock_now_ms();
	p->owned++;
	c->pool_slot = i;
	__atomic_store_n(&c->pool_owner, (void *)p, __ATOMIC_RELEASE);
	return i;
}

/* Slot i is no longer c's (under p's mu): c's loop reads it again once
 * told (drop_done). */
static struct shade_conn *slot_free(struct conn_pool *p, unsigned i)
{
	struct pool_slot *s = &p->slots[i];
	struct shade_conn *c = s->c;

	if (s->state == SLOT_READING && --p->reading == 0 && p->no_linger)
		pthread_cond_broadcast(&p->io_cv);
	__atomic_store_n(&c->pool_owner, NULL, __ATOMIC_RELEASE);
	s->c = NULL;
	s->gen++;
	s->state = SLOT_FREE;
	s->next_free = p->free_slot;
	p->free_slot = i;
	p->owned--;
	return c;
}

/* A connection given back (slot_free; no lock held): out of the epoll
 * set, its loop looks at it, then the count the slot held goes. */
static void drop_done(struct conn_pool *p, struct shade_conn *c)
{
	ep_del(p, c);
	if (c->watch != NULL)
		loop_fd_want_write(c->watch);
	__atomic_sub_fetch(&c->serving, 1, __ATOMIC_ACQ_REL);
}

/* After a worker served c from the ready list (under p's mu, c's count
 * held): own c when it is a quiet server connection (nothing queued,
 * running or unsent, no BYE), so the workers read it from now on; the
 * count then stays with its slot.  False: c stays the loop's. */
static bool own_try(struct conn_pool *p, struct shade_conn *c)
{
	unsigned i;
	bool ok;

	if (c->watch == NULL || p->ep < 0 || p->stop || p->no_linger ||
	    c->pool_queued || c->pool_running > 0 ||
	    __atomic_load_n(&c->out_frames, __ATOMIC_RELAXED) > 0)
		return false;
	/* c's mu comes before p's: taken again in that order.  Not while
	 * the loop handles an event of c or anyone reads it. */
	pthread_mutex_unlock(&p->mu);
	pthread_mutex_lock(&c->mu);
	pthread_mutex_lock(&p->mu);
	/* The fd is used under mu, once c is seen open: its transport is
	 * closed only after c ended, under mu (lost.c). */
	c->pool_want_own = c->pool_loop_busy; /* pool_loop_leave offers it */
	ok = !c->pool_loop_busy && !c->reading && c->open &&
	     shade_conn_fd(c) >= 0 && !c->bye_seen && !pool_owns(c) &&
	     c->unnested.head == NULL && !c->pool_queued &&
	     c->pool_running == 0 && !p->stop && !p->no_linger &&
	     /* Whole frames its loop read ahead bring no event: the
	      * loop (which marked them ready) serves them first. */
	     !shade_transport_has_frame(c->t);
	if (ok && (i = slot_new(p, c)) != UINT32_MAX) {
		if (!ep_add(p, shade_conn_fd(c), i, p->slots[i].gen)) {
			slot_free(p, i);
			ok = false;
		}
	} else {
		ok = false;
	}
	pthread_mutex_unlock(&c->mu);
	/* Off a worker (the loop's thread) no worker may be waiting with
	 * a timeout: one is woken, to give c back if it stays quiet. */
	if (ok && tl_pool == NULL && !p->watching && p->idle > 0)
		kick_one(p);
	return ok;
}

/* May a worker arm c's fd again, the pool owning c (no lock held)?  When
 * it may, it is c's reader (`reading`) until conn_reader_done: nothing
 * closes c's transport meanwhile (lost.c).  Not when c's output backs up (the
 * loop writes it) or its queue is full (the loop stops reading it). */
static bool read_enter(struct shade_conn *c)
{
	bool ok;

	if (shade_conn_out_pending(c) > 0 || conn_pool_full(c))
		return false; /* the loop writes; or the queue is full */
	pthread_mutex_lock(&c->mu);
	ok = c->open && !c->bye_seen && !c->reading;
	c->reading = ok;
	pthread_mutex_unlock(&c->mu);
	return ok;
}

/* Read what c has, up to LINGER_FRAMES frames, as the loop would (c's
 * reader's place taken once for them all); the requests are queued on
 * c. */
static void read_some(struct shade_conn *c)
{
	unsigned i;

	if (conn_read_begin(c, NULL) != SHADE_OK)
		return;
	for (i = 0; i < LINGER_FRAMES; i++) {
		if (conn_read_next(c, NULL, NULL, NULL) != SHADE_OK)
			break;
		/* As conn_process: no read that would find nothing.  The
		 * reader's transport is not closed under it. */
		if (transport_drained(c->t) || conn_pool_full(c))
			break;
	}
	conn_read_end(c);
}

/* Serve what c has queued (no lock held; c's count held by the caller):
 * on this thread when fewer than `size` serve, else through the ready
 * list. */
static void serve_owned(struct conn_pool *p, struct shade_conn *c)
{
	bool here;

	if (__atomic_load_n(&c->unnested.head, __ATOMIC_ACQUIRE) == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	here = p->running < p->size;
	if (here)
		p->running++;
	pthread_mutex_unlock(&p->mu);
	if (!here) {
		pool_schedule(p, c);
		return;
	}
	work_on(p, c);
	pthread_mutex_lock(&p->mu);
	p->running--;
	if (p->head != NULL && p->idle > 0)
		kick_one(p);
	pthread_mutex_unlock(&p->mu);
}

/* The kernel woke this worker for slot i (data: its generation and
 * index; under p's mu, returns so): read the connection, arm its fd
 * again unless it goes back to the loop, and serve what was read.  When
 * the transport holds more than one read took (no edge will announce
 * it), or an event came while it read, an event of its own goes on the
 * pool's list for any worker, so what follows is read while this one
 * serves (a handler may wait for the very next request). */
static void on_input(struct conn_pool *p, uint64_t data)
{
	unsigned i = (unsigned)(data & UINT32_MAX);
	struct pool_slot *s;
	struct shade_conn *c;
	uint32_t gen = (uint32_t)(data >> 32);
	bool armed, more;

	if (i >= p->nslots || p->slots[i].gen != gen ||
	    p->slots[i].c == NULL)
		return; /* an old registration: dropped meanwhile */
	s = &p->slots[i];
	if (s->state != SLOT_ARMED) {
		s->again = true; /* its reader reads again */
		return;
	}
	c = s->c;
	/* The count the serving below holds, taken while the slot still
	 * holds its own: once the slot is armed again or freed, another
	 * worker may drop it and c's loop free c. */
	__atomic_add_fetch(&c->serving, 1, __ATOMIC_ACQ_REL);
	keep_reader(p);
	for (;;) {
		s->state = SLOT_READING;
		s->again = false;
		p->reading++;
		pthread_mutex_unlock(&p->mu);
		read_some(c);
		/* Kept when its reader may go on; with the fd left unread
		 * or frames buffered (read_some's limit) no edge comes. */
		more = false;
		armed = !__atomic_load_n(&p->no_linger, __ATOMIC_RELAXED) &&
			read_enter(c);
		if (armed) {
			more = !transport_drained(c->t);
			conn_reader_done(c);
		}
		pthread_mutex_lock(&p->mu);
		s = &p->slots[i]; /* the array may have moved */
		if (!armed || p->stop || p->no_linger) {
			slot_free(p, i);
			pthread_mutex_unlock(&p->mu);
			drop_done(p, c);
			break;
		}
		p->reading--;
		s->state = SLOT_ARMED;
		s->armed_at = clock_now_ms();
		if ((more || s->again) && p->pend_n < POOL_PEND) {
			/* No edge will come for what is left: an event of
			 * its own, for any worker (this one serves, maybe
			 * for long). */
			s->again = false;
			p->pend[(p->pend_head + p->pend_n++) % POOL_PEND] =
				data;
			if (p->idle > 0)
				kick_one(p);
		} else if (more || s->again) {
			continue; /* no room for it: read on first */
		}
		pthread_mutex_unlock(&p->mu);
		break;
	}
	serve_owned(p, c);
	let_go(c);
	pthread_mutex_lock(&p->mu);
}

/* Give back to their loops the owned connections that waited for input
 * for LINGER_MS, or all of them (under p's mu, which it lets go and
 * takes again). */
static void drop_quiet(struct conn_pool *p, bool all)
{
	struct shade_conn *out[DROP_BATCH];
	int64_t now = clock_now_ms();
	unsigned i, k, n;

	p->scanned = now;
	do {
		n = 0;
		for (i = 0; i < p->nslots && n < DROP_BATCH; i++) {
			if (p->slots[i].state == SLOT_ARMED &&
			    (all || now - p->slots[i].armed_at >= LINGER_MS))
				out[n++] = slot_free(p, i);
		}
		if (n == 0)
			return;
		pthread_mutex_unlock(&p->mu);
		for (k = 0; k < n; k++)
			drop_done(p, out[k]);
		pthread_mutex_lock(&p->mu);
	} while (n == DROP_BATCH);
}

void pool_unlinger(struct conn_pool *p)
{
	pthread_mutex_lock(&p->mu);
	__atomic_store_n(&p->no_linger, true, __ATOMIC_RELAXED);
	drop_quiet(p, true);
	while (p->reading > 0)
		pthread_cond_wait(&p->io_cv, &p->mu);
	pthread_mutex_unlock(&p->mu);
}

/* Wait for work or input (under p's mu, which it lets go meanwhile):
 * on the epoll set, with a timeout for the one worker that watches the
 * owned connections; on the condition variable without epoll. */
static void wait_work(struct conn_pool *p)
{
#ifdef __linux__
	struct epoll_event ev[POOL_EVENTS];
	bool watch = false;
	int i, n;
	char b[16];

	if (p->ep < 0) {
		pthread_cond_wait(&p->cv, &p->mu);
		return;
	}
	if (p->owned > 0 && !p->watching)
		p->watching = watch = true;
	p->idle++;
	pthread_mutex_unlock(&p->mu);
	n = epoll_wait(p->ep, ev, POOL_EVENTS, watch ? LINGER_MS : -1);
	pthread_mutex_lock(&p->mu);
	p->idle--;
	if (watch)
		p->watching = false;
	if (p->owned > 0 && clock_now_ms() - p->scanned >= LINGER_MS / 2)
		drop_quiet(p, false);
	if (p->stop)
		return; /* the byte stays: every worker wakes and leaves */
	if (p->kicked) { /* one drain for whichever worker wakes */
		while (read(p->kick[0], b, sizeof(b)) > 0)
			;
		p->kicked = false;
	}
	for (i = n - 1; i >= 0; i--) {
		if (ev[i].data.u64 == KICK_DATA)
			continue;
		if (i > 0 && p->pend_n < POOL_PEND) {
			p->pend[(p->pend_head + p->pend_n++) % POOL_PEND] =
				ev[i].data.u64;
			if (p->idle > 0)
				kick_one(p);
			continue;
		}
		on_input(p, ev[i].data.u64);
	}
#else
	p->idle++;
	pthread_cond_wait(&p->cv, &p->mu);
	p->idle--;
#endif
}

/* A worker: take ready connections, and read owned ones, until the
 * pool stops. */
static void *worker(void *arg)
{
	struct conn_pool *p = arg;
	struct shade_conn *c;
	uint64_t data;

	tl_pool = p;
	pthread_mutex_lock(&p->mu);
	while (!p->stop) {
		if (p->head == NULL || p->running >= p->size) {
			if (p->pend_n == 0) {
				wait_work(p);
				continue;
			}
			data = p->pend[p->pend_head];
			p->pend_head = (p->pend_head + 1) % POOL_PEND;
			p->pend_n--;
			on_input(p, data);
			continue;
		}
		keep_reader(p);
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
		if (!own_try(p, c)) {
			pthread_mutex_unlock(&p->mu);
			let_go(c);
			pthread_mutex_lock(&p->mu);
		}
		if (p->head != NULL && p->idle > 0)
			kick_one(p);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* Destructor: stop and join the workers. */
static int pool_destructor(struct conn_pool *p)
{
	unsigned i, n;
	char b = 1;

	pthread_mutex_lock(&p->mu);
	p->stop = true;
	pthread_cond_broadcast(&p->cv);
	/* Left in the pipe: it wakes every worker in epoll_wait. */
	if (p->kick[1] >= 0 && write(p->kick[1], &b, 1) == 1)
		p->kicked = true;
	n = p->n; /* none starts after stop */
	pthread_mutex_unlock(&p->mu);
	for (i = 0; i < n; i++)
		pthread_join(p->th[i], NULL);
	/* Owned connections left (no pool_unlinger): their counts. */
	for (i = 0; i < p->nslots; i++)
		if (p->slots[i].c != NULL)
			__atomic_sub_fetch(&p->slots[i].c->serving, 1,
					   __ATOMIC_ACQ_REL);
	if (p->ep >= 0)
		close(p->ep);
	if (p->kick[0] >= 0) {
		close(p->kick[0]);
		close(p->kick[1]);
	}
	pthread_cond_destroy(&p->cv);
	pthread_cond_destroy(&p->io_cv);
	pthread_mutex_destroy(&p->mu);
	return 0;
}

/* The epoll set of p and its kick pipe; without them (off Linux, or
 * out of descriptors) nothing is owned (ep -1). */
static void ep_open(struct conn_pool *p)
{
	p->ep = p->kick[0] = p->kick[1] = -1;
#ifdef __linux__
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = KICK_DATA };

	if (pipe2(p->kick, O_NONBLOCK | O_CLOEXEC) != 0) {
		p->kick[0] = p->kick[1] = -1;
		return;
	}
	p->ep = epoll_create1(EPOLL_CLOEXEC);
	if (p->ep >= 0 &&
	    epoll_ctl(p->ep, EPOLL_CTL_ADD, p->kick[0], &ev) != 0) {
		close(p->ep);
		p->ep = -1;
	}
	if (p->ep < 0) {
		close(p->kick[0]);
		close(p->kick[1]);
		p->kick[0] = p->kick[1] = -1;
	}
#endif
}

shade_status pool_new(TALLOC_CTX *mem_ctx, unsigned threads, bool concurrent,
		      size_t max_output, struct conn_pool **out,
		      shade_error **err)
{
	struct conn_pool *p = talloc_zero(mem_ctx, struct conn_pool);
	int rc;

	if (p == NULL || threads == 0 ||
	    (p->th = talloc_array(p, pthread_t, threads + POOL_EXTRA)) ==
		    NULL) {
		talloc_free(p);
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	}
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	pthread_cond_init(&p->io_cv, NULL);
	ep_open(p);
	p->free_slot = UINT32_MAX;
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
	pthread_mutex_lock(&p->mu);
	if (waiting) {
		p->running--;
		p->blocked++;
		/* Another serves meanwhile, and one reads the owned
		 * connections (the reply may come on one). */
		if (p->head != NULL || (p->owned > 0 && p->idle == 0))
			wake_one(p);
	} else {
		p->running++;
		p->blocked--;
	}
	pthread_mutex_unlock(&p->mu);
}
