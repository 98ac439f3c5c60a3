/*
 * loop.c - the event loop (see loop_int.h): watches, timers, turns and
 * nested turns; the backend lives in loop_epoll.inc or loop_poll.inc,
 * included below behind the same static functions.
 *
 * Locking: `mu` orders changes of the backend's fd set between the loop
 * thread (loop_fd_set, freeing a watch) and loop_fd_close on any thread;
 * `closed` is written under it and read with atomics.  A watch's fd and
 * mask, the watch and timer lists and the turn state belong to the loop
 * thread alone (loop_fd_close never writes them).  `stopped` is atomic.
 *
 * Invariants: every live watch is on the `watches` list (its fd is
 * registered with the backend exactly when fd >= 0 and it is not
 * closed); a watch is on the `ready` list (loop thread) exactly when
 * `on_ready`, and on the `ended` list (under mu) exactly when
 * `on_ended`, and on the `writes` list (under mu) exactly when
 * `on_write`; `calling` is the watch whose callback runs (restored when
 * it returns); `cur` is the serial of the innermost running turn and
 * `waiting` its watch, both restored when a nested turn returns.
 *
 * Cost: a turn touches the watches with an event, the watches on the
 * ready and ended lists and the timers, never the others, so it costs
 * the same whatever the number of idle watches (epoll backend).
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "base/clock_int.h"
#include "loop/loop_int.h"

/* Events taken from the backend per turn (more wait for the next). */
#define EVENTS_PER_TURN 256
/* Events of low watches (loop_fd_set_low) taken per turn, after the
 * others (more wait for the next). */
#define LOW_PER_TURN 1

/* One event of a turn, as the backend reports it. */
struct loop_fired {
	struct loop_fd *w;  /* the watch */
	unsigned events;    /* LOOP_* bits */
};

/* A watched fd. */
struct loop_fd {
	struct loop *l;           /* its loop; NULL once that was freed */
	struct loop_fd *prev;     /* previous on l's list, or NULL */
	struct loop_fd *next;     /* next on l's list, or NULL */
	loop_fd_fn *fn;           /* callback */
	void *udata;              /* its argument */
	int fd;                   /* fd registered, -1 when none */
	unsigned mask;            /* interest registered (LOOP_* bits) */
	unsigned seen;            /* serial of the last turn that had an
				   * event for it */
	struct loop_fd *rprev;    /* previous on l's ready list */
	struct loop_fd *rnext;    /* next on l's ready list */
	bool on_ready;            /* on l's ready list */
	struct loop_fd *eprev;    /* previous on l's ended list (mu) */
	struct loop_fd *enext;    /* next on l's ended list (mu) */
	bool on_ended;            /* on l's ended list (mu) */
	struct loop_fd *wprev;    /* previous on l's write list (mu) */
	struct loop_fd *wnext;    /* next on l's write list (mu) */
	bool on_write;            /* on l's write list (mu) */
	int closed;               /* never registered again (atomic; set
				   * under l->mu) */
	bool always;              /* the backend refused the fd: always
				   * ready, never registered */
	bool low;                 /* low class: LOW_PER_TURN per turn, after
				   * the others (loop_fd_set_low) */
};

/* A timer. */
struct loop_timer {
	struct loop *l;           /* its loop; NULL once that was freed */
	struct loop_timer *next;  /* next on l's list, or NULL */
	struct loop_timer **pprev;/* the pointer that points at it */
	int64_t when;             /* next run (monotonic ms), -1: disarmed */
	loop_timer_fn *fn;        /* callback */
	void *udata;              /* its argument */
};

/* A loop. */
struct loop {
	pthread_mutex_t mu;          /* orders fd-set changes (top) */
	bool mu_ready;               /* mu initialised */
	int be;                      /* the backend's fd (epoll), or -1 */
	int be_low;                  /* its set of low watches (epoll, a
				      * member of be), or -1 */
	int wake[2];                 /* self-pipe: read end, write end */
	struct loop_fd *wake_w;      /* the watch of wake[0] */
	struct loop_fd *watches;     /* every live watch */
	struct loop_fd *ready;       /* watches to call without an event
				      * in the next turn (loop thread) */
	struct loop_fd *ended;       /* watches closed by loop_fd_close,
				      * not yet told (under mu; the head
				      * is read as a hint with atomics) */
	struct loop_fd *writes;      /* watches with output queued by
				      * loop_fd_want_write, not yet told
				      * (under mu; the head is read as a
				      * hint with atomics) */
	struct loop_timer *timers;   /* every live timer */
	loop_prepare_fn *prepare;    /* hook before each wait, or NULL */
	void *prepare_udata;         /* its argument */
	int depth;                   /* turns running (nested: > 1) */
	int max_depth;               /* bound on depth */
	unsigned serial;             /* turns started */
	unsigned cur;                /* serial of the innermost turn */
	struct loop_fd *waiting;     /* watch the innermost turn waits on */
	struct loop_fd *calling;     /* watch whose callback runs now */
	int stopped;                 /* loop_stop was called (atomic) */
};

/* The loop whose turn this thread runs, or NULL. */
static _Thread_local struct loop *tl_running;

#if defined(SHADE_LOOP_POLL) || !defined(__linux__)
#include "loop/loop_poll.inc"
#else
#include "loop/loop_epoll.inc"
#endif

/* Destructor: detach what outlives the loop, close the fds. */
static int loop_destructor(struct loop *l)
{
	struct loop_fd *w;
	struct loop_timer *t;

	for (w = l->watches; w != NULL; w = w->next)
		w->l = NULL;
	for (t = l->timers; t != NULL; t = t->next)
		t->l = NULL;
	be_free(l);
	if (l->wake[0] >= 0)
		close(l->wake[0]);
	if (l->wake[1] >= 0)
		close(l->wake[1]);
	if (l->mu_ready)
		pthread_mutex_destroy(&l->mu);
	return 0;
}

/* Nothing to do: wake-ups are drained by the turn. */
static void wake_fn(void *udata, unsigned events)
{
	(void)udata;
	(void)events;
}

shade_status loop_new(TALLOC_CTX *mem_ctx, int max_depth, struct loop **out,
		      shade_error **err)
{
	struct loop *l = talloc_zero(mem_ctx, struct loop);
	int e;

	if (l == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	l->wake[0] = l->wake[1] = -1;
	l->be = l->be_low = -1;
	l->max_depth = max_depth;
	talloc_set_destructor(l, loop_destructor);
	if (pipe2(l->wake, O_NONBLOCK | O_CLOEXEC) != 0) {
		e = errno;
		talloc_free(l);
		return shade_error_set(err, SHADE_ERR_IO, "pipe: %s",
				       strerror(e));
	}
	if (pthread_mutex_init(&l->mu, NULL) != 0) {
		talloc_free(l);
		return shade_error_set(err, SHADE_ERR_NOMEM, "mutex: out of "
				       "resources");
	}
	l->mu_ready = true;
	l->wake_w = loop_fd_new(l, l, wake_fn, NULL);
	if (l->wake_w == NULL) {
		talloc_free(l);
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	}
	if (be_init(l) != 0 || !loop_fd_set(l->wake_w, l->wake[0], LOOP_READ)) {
		e = errno;
		talloc_free(l);
		return shade_error_set(err, SHADE_ERR_IO, "%s: %s",
				       loop_backend(), strerror(e));
	}
	*out = l;
	return SHADE_OK;
}

void loop_set_prepare(struct loop *l, loop_prepare_fn *fn, void *udata)
{
	l->prepare = fn;
	l->prepare_udata = udata;
}

/* Take w off the ready list (loop thread). */
static void ready_unlink(struct loop *l, struct loop_fd *w)
{
	if (!w->on_ready)
		return;
	if (w->rprev != NULL)
		w->rprev->rnext = w->rnext;
	else
		l->ready = w->rnext;
	if (w->rnext != NULL)
		w->rnext->rprev = w->rprev;
	w->rprev = w->rnext = NULL;
	w->on_ready = false;
}

/* Take w off the ended list (caller holds mu). */
static void ended_unlink(struct loop *l, struct loop_fd *w)
{
	if (!w->on_ended)
		return;
	if (w->eprev != NULL)
		w->eprev->enext = w->enext;
	else
		__atomic_store_n(&l->ended, w->enext, __ATOMIC_RELEASE);
	if (w->enext != NULL)
		w->enext->eprev = w->eprev;
	w->eprev = w->enext = NULL;
	w->on_ended = false;
}

/* Take w off the write list (caller holds mu). */
static void write_unlink(struct loop *l, struct loop_fd *w)
{
	if (!w->on_write)
		return;
	if (w->wprev != NULL)
		w->wprev->wnext = w->wnext;
	else
		__atomic_store_n(&l->writes, w->wnext, __ATOMIC_RELEASE);
	if (w->wnext != NULL)
		w->wnext->wprev = w->wprev;
	w->wprev = w->wnext = NULL;
	w->on_write = false;
}

/* Stop watching w's fd for good (caller holds mu). */
static void fd_unregister(struct loop *l, struct loop_fd *w)
{
	if (!__atomic_load_n(&w->closed, __ATOMIC_ACQUIRE) && w->fd >= 0)
		be_del(l, w);
	__atomic_store_n(&w->closed, 1, __ATOMIC_RELEASE);
}

/* Destructor: take the watch out of its loop (loop thread, no turn). */
static int watch_destructor(struct loop_fd *w)
{
	struct loop *l = w->l;

	if (l == NULL)
		return 0;
	pthread_mutex_lock(&l->mu);
	fd_unregister(l, w);
	ended_unlink(l, w);
	write_unlink(l, w);
	pthread_mutex_unlock(&l->mu);
	ready_unlink(l, w);
	if (w->prev != NULL)
		w->prev->next = w->next;
	else
		l->watches = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	return 0;
}

/* Put the new watch w (zeroed) on l's list. */
static struct loop_fd *fd_attach(struct loop_fd *w, struct loop *l,
				 loop_fd_fn *fn, void *udata)
{
	w->l = l;
	w->fn = fn;
	w->udata = udata;
	w->fd = -1;
	w->next = l->watches;
	if (l->watches != NULL)
		l->watches->prev = w;
	l->watches = w;
	talloc_set_destructor(w, watch_destructor);
	return w;
}

struct loop_fd *loop_fd_new(TALLOC_CTX *mem_ctx, struct loop *l,
			    loop_fd_fn *fn, void *udata)
{
	struct loop_fd *w = talloc_zero(mem_ctx, struct loop_fd);

	return w == NULL ? NULL : fd_attach(w, l, fn, udata);
}

/* Bytes of a watch rounded up to max_align_t: where its owner's block
 * starts in loop_fd_new_sized. */
#define FD_ROUNDED ((sizeof(struct loop_fd) + _Alignof(max_align_t) - 1) & \
		    ~(_Alignof(max_align_t) - 1))

struct loop_fd *loop_fd_new_sized(TALLOC_CTX *mem_ctx, struct loop *l,
				  loop_fd_fn *fn, size_t size, void **udata)
{
	struct loop_fd *w = talloc_zero_size(mem_ctx, FD_ROUNDED + size);

	if (w == NULL)
		return NULL;
	talloc_set_name_const(w, "struct loop_fd");
	*udata = (char *)w + FD_ROUNDED;
	return fd_attach(w, l, fn, *udata);
}

bool loop_fd_set(struct loop_fd *w, int fd, unsigned mask)
{
	struct loop *l = w->l;
	bool ok = true;

	mask &= LOOP_READ | LOOP_WRITE;
	if (fd < 0)
		mask = 0;
	if (w->always || (w->mask == mask && (mask == 0 || w->fd == fd)))
		return true; /* unchanged: no system call */
	if (l == NULL)
		return true;
	pthread_mutex_lock(&l->mu);
	if (!__atomic_load_n(&w->closed, __ATOMIC_ACQUIRE)) {
		if (w->fd >= 0 && (mask == 0 || fd != w->fd)) {
			be_del(l, w);
			w->fd = -1;
			w->mask = 0;
		}
		if (mask != 0 && w->fd < 0) {
			if (be_add(l, w, fd, mask) == 0) {
				w->fd = fd;
				w->mask = mask;
			} else if (errno == EPERM) {
				w->always = true;
			} else {
				ok = false;
			}
		} else if (mask != 0 && be_mod(l, w, mask) == 0) {
			w->mask = mask;
		}
	}
	pthread_mutex_unlock(&l->mu);
	return ok;
}

void loop_fd_ready(struct loop_fd *w)
{
	struct loop *l = w->l;

	if (l == NULL || w->on_ready)
		return;
	w->on_ready = true;
	w->rprev = NULL;
	w->rnext = l->ready;
	if (l->ready != NULL)
		l->ready->rprev = w;
	l->ready = w;
}

void loop_fd_set_low(struct loop_fd *w, bool low)
{
	struct loop *l = w->l;

	if (w->low == low)
		return;
	if (l == NULL) {
		w->low = low;
		return;
	}
	pthread_mutex_lock(&l->mu);
	if (!__atomic_load_n(&w->closed, __ATOMIC_ACQUIRE) && w->fd >= 0 &&
	    !w->always) {
		/* Registered: move it to the other class's set. */
		be_del(l, w);
		w->low = low;
		if (be_add(l, w, w->fd, w->mask) != 0) {
			w->fd = -1; /* its owner's next loop_fd_set retries */
			w->mask = 0;
		}
	} else {
		w->low = low;
	}
	pthread_mutex_unlock(&l->mu);
}

bool loop_fd_always(const struct loop_fd *w)
{
	return w->always;
}

void loop_fd_close(struct loop_fd *w)
{
	struct loop *l = w->l;
	bool told;
	ssize_t r;

	if (l == NULL)
		return;
	pthread_mutex_lock(&l->mu);
	told = __atomic_load_n(&w->closed, __ATOMIC_ACQUIRE);
	fd_unregister(l, w);
	if (!told) {
		/* Its callback hears of it once, with LOOP_CLOSED. */
		w->on_ended = true;
		w->eprev = NULL;
		w->enext = l->ended;
		if (l->ended != NULL)
			l->ended->eprev = w;
		__atomic_store_n(&l->ended, w, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&l->mu);
	if (!told && tl_running != l) {
		r = write(l->wake[1], "x", 1); /* another thread: wake it */
		(void)r;
	}
}

void loop_fd_want_write(struct loop_fd *w)
{
	struct loop *l = w->l;
	bool woke = false;
	ssize_t r;

	if (l == NULL || (tl_running == l && l->calling == w))
		return; /* its own callback: its owner sets interest after */
	pthread_mutex_lock(&l->mu);
	if (!w->on_write && !__atomic_load_n(&w->closed, __ATOMIC_ACQUIRE)) {
		w->on_write = true;
		w->wprev = NULL;
		w->wnext = l->writes;
		if (l->writes != NULL)
			l->writes->wprev = w;
		__atomic_store_n(&l->writes, w, __ATOMIC_RELEASE);
		woke = tl_running != l;
	}
	pthread_mutex_unlock(&l->mu);
	if (woke) {
		r = write(l->wake[1], "x", 1); /* another thread: wake it */
		(void)r;
	}
}

/* Destructor: unlink the timer. */
static int timer_destructor(struct loop_timer *t)
{
	if (t->l == NULL)
		return 0;
	*t->pprev = t->next;
	if (t->next != NULL)
		t->next->pprev = t->pprev;
	return 0;
}

struct loop_timer *loop_timer_new(TALLOC_CTX *mem_ctx, struct loop *l, int ms,
				  loop_timer_fn *fn, void *udata)
{
	struct loop_timer *t = talloc_zero(mem_ctx, struct loop_timer);

	if (t == NULL)
		return NULL;
	t->l = l;
	t->fn = fn;
	t->udata = udata;
	t->when = clock_now_ms() + ms;
	t->next = l->timers;
	t->pprev = &l->timers;
	if (l->timers != NULL)
		l->timers->pprev = &t->next;
	l->timers = t;
	talloc_set_destructor(t, timer_destructor);
	return t;
}

void loop_timer_arm(struct loop_timer *t, int ms)
{
	t->when = ms < 0 ? -1 : clock_now_ms() + ms;
}

/* timeout_ms (-1: none) shortened to the next armed timer. */
static int timers_bound(const struct loop *l, int timeout_ms)
{
	const struct loop_timer *t;
	int64_t now;
	int left;

	if (l->timers == NULL)
		return timeout_ms;
	now = clock_now_ms();
	for (t = l->timers; t != NULL; t = t->next) {
		if (t->when < 0)
			continue;
		left = t->when <= now ? 0
		       : t->when - now > 1000000000 ? 1000000000
						     : (int)(t->when - now);
		if (timeout_ms < 0 || left < timeout_ms)
			timeout_ms = left;
	}
	return timeout_ms;
}

/* Run the timers that are due. */
static void timers_run(struct loop *l)
{
	struct loop_timer *t;
	int64_t now;
	int next;

	if (l->timers == NULL)
		return;
	now = clock_now_ms();
	for (t = l->timers; t != NULL; t = t->next) {
		if (t->when < 0 || t->when > now)
			continue;
		next = t->fn(t->udata);
		t->when = next < 0 ? -1 : clock_now_ms() + next;
	}
}

/* Empty the self-pipe. */
static void wake_drain(struct loop *l)
{
	char buf[64];

	while (read(l->wake[0], buf, sizeof(buf)) > 0)
		;
}

/* Call w's callback with events (loop thread), recording it as the one
 * running. */
static void call_fd(struct loop *l, struct loop_fd *w, unsigned events)
{
	struct loop_fd *saved = l->calling;

	l->calling = w;
	w->fn(w->udata, events);
	l->calling = saved;
}

/* Call the watches marked ready, once each: one that had an event in
 * this turn (serial cur) keeps its mark for the next turn, and so does
 * one marked again by its callback. */
static void run_ready(struct loop *l, unsigned cur)
{
	struct loop_fd *w, *next = l->ready, *keep = NULL;

	l->ready = NULL;
	while ((w = next) != NULL) {
		next = w->rnext;
		w->rprev = NULL;
		if (w->seen == cur) {
			w->rnext = keep; /* still on_ready: not marked twice */
			keep = w;
			continue;
		}
		w->rnext = NULL;
		w->on_ready = false;
		if (!__atomic_load_n(&w->closed, __ATOMIC_ACQUIRE))
			call_fd(l, w, 0);
	}
	while ((w = keep) != NULL) {
		keep = w->rnext;
		w->on_ready = false;
		loop_fd_ready(w);
	}
}

/* Call the watches on a list under mu (`head`, taken off by unlink)
 * once each with events: LOOP_WRITE for the writes list (skipping closed
 * watches), LOOP_CLOSED for the ended list. */
static void run_told(struct loop *l, struct loop_fd **head,
		     void (*unlink)(struct loop *, struct loop_fd *),
		     unsigned events)
{
	struct loop_fd *w;

	if (__atomic_load_n(head, __ATOMIC_ACQUIRE) == NULL)
		return;
	for (;;) {
		pthread_mutex_lock(&l->mu);
		w = *head;
		if (w != NULL)
			unlink(l, w);
		pthread_mutex_unlock(&l->mu);
		if (w == NULL)
			return;
		if (events == LOOP_CLOSED ||
		    !__atomic_load_n(&w->closed, __ATOMIC_ACQUIRE))
			call_fd(l, w, events);
	}
}

/* One turn at the current depth, waiting on `waiting` (NULL outermost);
 * see the top of loop_int.h. */
static shade_status turn(struct loop *l, struct loop_fd *waiting,
			 int timeout_ms, shade_error **err)
{
	struct loop_fired fired[EVENTS_PER_TURN];
	struct loop_fd *saved_waiting = l->waiting, *w;
	unsigned saved_cur = l->cur, cur = ++l->serial;
	shade_status st = SHADE_OK;
	int n, k;

	l->cur = cur;
	l->waiting = waiting;
	if (l->prepare != NULL)
		l->prepare(l->prepare_udata);
	if (l->ready != NULL ||
	    __atomic_load_n(&l->ended, __ATOMIC_ACQUIRE) != NULL ||
	    __atomic_load_n(&l->writes, __ATOMIC_ACQUIRE) != NULL)
		timeout_ms = 0;
	else if (l->depth == 1)
		timeout_ms = timers_bound(l, timeout_ms);
	n = be_wait(l, fired, EVENTS_PER_TURN, timeout_ms);
	if (n < 0) {
		st = shade_error_set(err, SHADE_ERR_IO, "%s: %s",
				     loop_backend(), strerror(errno));
		goto out;
	}
	for (k = 0; k < n; k++)
		if (fired[k].w == l->wake_w)
			wake_drain(l);
	if (__atomic_load_n(&l->stopped, __ATOMIC_ACQUIRE)) {
		st = SHADE_AGAIN;
		goto out;
	}
	for (k = 0; k < n; k++) {
		w = fired[k].w;
		if (w == l->wake_w)
			continue;
		w->seen = cur;
		call_fd(l, w, fired[k].events);
	}
	/* Input buffered from an earlier turn: no event announces it. */
	run_ready(l, cur);
	/* Output queued by other threads, then the watches closed. */
	run_told(l, &l->writes, write_unlink, LOOP_WRITE);
	run_told(l, &l->ended, ended_unlink, LOOP_CLOSED);
	if (l->depth == 1)
		timers_run(l);
out:
	l->cur = saved_cur;
	l->waiting = saved_waiting;
	return st;
}

shade_status loop_turn(struct loop *l, int timeout_ms, shade_error **err)
{
	struct loop *outer = tl_running;
	shade_status st;

	if (__atomic_load_n(&l->stopped, __ATOMIC_ACQUIRE))
		return SHADE_AGAIN;
	if (l->depth > 0)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "loop turned from one of its callbacks");
	tl_running = l;
	l->depth = 1;
	st = turn(l, NULL, timeout_ms, err);
	l->depth = 0;
	tl_running = outer;
	return st;
}

bool loop_can_nest(struct loop *l)
{
	return tl_running == l && l->depth > 0 && l->depth < l->max_depth &&
	       !__atomic_load_n(&l->stopped, __ATOMIC_ACQUIRE);
}

void loop_nest(struct loop *l, struct loop_fd *waiting, int timeout_ms)
{
	l->depth++;
	turn(l, waiting, timeout_ms, NULL);
	l->depth--;
}

struct loop_fd *loop_waiting(const struct loop *l)
{
	return l->waiting;
}

unsigned loop_turn_id(const struct loop *l)
{
	return l->cur;
}

int loop_depth(const struct loop *l)
{
	return l->depth;
}

void loop_stop(struct loop *l)
{
	ssize_t r;

	__atomic_store_n(&l->stopped, 1, __ATOMIC_RELEASE);
	r = write(l->wake[1], "x", 1);
	(void)r;
}

bool loop_stopped(struct loop *l)
{
	return __atomic_load_n(&l->stopped, __ATOMIC_ACQUIRE);
}

int loop_host_fd(const struct loop *l)
{
	return be_host_fd(l);
}

int loop_next_ms(const struct loop *l)
{
	if (l->ready != NULL ||
	    __atomic_load_n(&l->ended, __ATOMIC_ACQUIRE) != NULL ||
	    __atomic_load_n(&l->writes, __ATOMIC_ACQUIRE) != NULL ||
	    __atomic_load_n(&l->stopped, __ATOMIC_ACQUIRE))
		return 0;
	return timers_bound(l, -1);
}
