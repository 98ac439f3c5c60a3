/*
 * loop_int.h - a small single-threaded event loop in the style of Redis
 * ae: file descriptors with read/write interest, timers, a hook that runs
 * before each wait, and nested turns for a caller that waits inside a
 * callback.
 *
 * A turn: the prepare hook runs, the backend waits (not at all when a
 * watch is marked ready or was closed), then the callbacks run: each
 * watch with an event (the normal class first, then at most
 * LOW_PER_TURN of the low class: loop_fd_set_low), then each watch
 * marked ready (loop_fd_ready: input
 * already buffered, which no event announces) that had none (events 0),
 * then each watch given output by another thread (loop_fd_want_write:
 * LOOP_WRITE, once), then each watch closed since the last turn
 * (LOOP_CLOSED, once), then,
 * in an outermost turn only, the timers that are due.  Interest is kept
 * by the kernel between turns: a watch's owner changes it when its state
 * changes, so a turn's work depends on the watches with something to do,
 * not on the watches held.  The backend (epoll, or poll(2) with
 * -DSHADE_LOOP_POLL) is chosen at compile time.
 *
 * Driven by another loop (shade/server.h, "embedding"): that loop
 * watches loop_host_fd() for input, sleeps at most loop_next_ms(), and
 * then calls loop_turn() with timeout 0.
 *
 * Nested turns: a callback that must wait (a handler waiting for its
 * client's answer) may turn the loop again from inside, through
 * loop_can_nest() and loop_nest(), up to the depth given to loop_new().
 * The nested turn names the watch being waited on (loop_waiting()); it
 * runs no timers, so a timer never runs inside a callback's wait.
 *
 * Threads: one thread turns a loop at a time; every call below is for
 * that thread, except loop_fd_close(), loop_fd_want_write() and
 * loop_stop(), which any thread
 * may call at any time.  A watch or timer is freed outside turns only
 * (the loop holds pointers to them while it dispatches).
 */
#ifndef SHADE_LOOP_INT_H
#define SHADE_LOOP_INT_H

#include <stdbool.h>

#include <talloc.h>

#include "shade/error.h"
#include "shade/visibility.h"

struct loop;
struct loop_fd;
struct loop_timer;

/* Interest and event bits.  LOOP_ERROR (hang-up or error) is reported
 * whatever the interest; LOOP_CLOSED alone, once, after loop_fd_close;
 * LOOP_HUP, with LOOP_READ interest, when the peer hung up (closed or
 * shut down its sending side: no byte will come after those buffered),
 * beside LOOP_READ or LOOP_ERROR. */
#define LOOP_READ 1u
#define LOOP_WRITE 2u
#define LOOP_ERROR 4u
#define LOOP_CLOSED 8u
#define LOOP_HUP 16u

/* A watch's callback: `events` are the LOOP_* bits that fired, 0 when
 * the watch was marked ready (loop_fd_ready) and had no event, or
 * LOOP_CLOSED when it was closed. */
typedef void loop_fd_fn(void *udata, unsigned events);

/* The hook run at the start of every turn, nested ones included. */
typedef void loop_prepare_fn(void *udata);

/* A timer's callback: returns the milliseconds until it runs again, or
 * -1 to disarm it.  It must not free timers. */
typedef int loop_timer_fn(void *udata);

/* A new loop on mem_ctx whose nested turns go at most max_depth deep
 * (counting the outermost turn). */
SHADE_INTERNAL shade_status loop_new(TALLOC_CTX *mem_ctx, int max_depth,
				     struct loop **out, shade_error **err);

/* Set the hook run before each wait (NULL: none). */
SHADE_INTERNAL void loop_set_prepare(struct loop *l, loop_prepare_fn *fn,
				     void *udata);

/* The backend's name ("epoll" or "poll"), for messages. */
SHADE_INTERNAL const char *loop_backend(void);

/* A new watch on mem_ctx calling fn(udata, events), with no fd yet
 * (loop_fd_set registers one); NULL when out of memory.  Freeing it
 * takes it out of the loop. */
SHADE_INTERNAL struct loop_fd *loop_fd_new(TALLOC_CTX *mem_ctx,
					   struct loop *l, loop_fd_fn *fn,
					   void *udata);

/* loop_fd_new whose udata (*udata) is a zeroed block of size bytes
 * (aligned for any type) in the watch's own allocation: one allocation
 * for a watch and its owner's record, freed with the watch. */
SHADE_INTERNAL struct loop_fd *loop_fd_new_sized(TALLOC_CTX *mem_ctx,
						 struct loop *l,
						 loop_fd_fn *fn, size_t size,
						 void **udata);

/* Watch fd for the LOOP_READ/LOOP_WRITE bits of mask (fd -1 or mask 0:
 * watch nothing).  The kernel is asked only when fd or mask change.  An
 * fd the backend cannot watch (epoll refuses regular files, which are
 * always ready) is kept as "always ready" (loop_fd_always) and never
 * changed again.  False, errno set, when the kernel refused otherwise;
 * nothing happens once the watch is closed. */
SHADE_INTERNAL bool loop_fd_set(struct loop_fd *w, int fd, unsigned mask);

/* Mark w ready (loop thread): the next turn to start (this one, from the
 * prepare hook) does not block, and w's callback runs once with events 0
 * in it unless an event came for w; then the mark stays for the turn
 * after. */
SHADE_INTERNAL void loop_fd_ready(struct loop_fd *w);

/* Put w in the low class (low true) or back in the normal one: a turn
 * calls the watches with an event of the normal class first, then at
 * most a few (LOW_PER_TURN, loop.c) of the low class, whose other events
 * wait for later turns; so a crowd of low watches (connections not yet
 * known, a listener) costs each turn a bounded amount of work, whatever
 * their number, and never delays a normal watch by more than that.
 * Moving a registered watch costs two calls to the kernel. */
SHADE_INTERNAL void loop_fd_set_low(struct loop_fd *w, bool low);

/* True when w's fd could not be watched and counts as always ready. */
SHADE_INTERNAL bool loop_fd_always(const struct loop_fd *w);

/* Stop watching for good, before the fd closes (any thread): no event
 * names w once this returns, even when the fd lives on in a dup; the
 * next turn (woken when another thread calls) calls w's callback once
 * with LOOP_CLOSED.  Freeing a watch closes it without telling it. */
SHADE_INTERNAL void loop_fd_close(struct loop_fd *w);

/* w has output queued that its fd did not take (any thread): the next
 * turn (woken when another thread calls) calls w's callback once with
 * LOOP_WRITE, so its owner writes and sets write interest; nothing when
 * called from w's own callback (its owner sets interest after it) or
 * once w is closed. */
SHADE_INTERNAL void loop_fd_want_write(struct loop_fd *w);

/* A new timer on mem_ctx running fn(udata) ms from now, again after the
 * delay it returns; NULL when out of memory.  Freeing it disarms it. */
SHADE_INTERNAL struct loop_timer *loop_timer_new(TALLOC_CTX *mem_ctx,
						 struct loop *l, int ms,
						 loop_timer_fn *fn,
						 void *udata);

/* Run t ms from now (-1: disarm it), whatever it was set to. */
SHADE_INTERNAL void loop_timer_arm(struct loop_timer *t, int ms);

/* One outermost turn, waiting at most timeout_ms (-1: until something
 * happens, or the next timer).  SHADE_AGAIN once loop_stop was called;
 * SHADE_ERR_INVALID from inside a turn of l. */
SHADE_INTERNAL shade_status loop_turn(struct loop *l, int timeout_ms,
				      shade_error **err);

/* True when the calling thread runs a turn of l (it is in one of l's
 * callbacks) and may turn it once more nested: below the depth bound,
 * not stopped. */
SHADE_INTERNAL bool loop_can_nest(struct loop *l);

/* One nested turn (after loop_can_nest) for a caller waiting on watch
 * `waiting`: the prepare hook and callbacks see it as loop_waiting();
 * returns after one wait of at most timeout_ms (-1: no bound). */
SHADE_INTERNAL void loop_nest(struct loop *l, struct loop_fd *waiting,
			      int timeout_ms);

/* The watch the innermost running turn waits on (NULL outermost). */
SHADE_INTERNAL struct loop_fd *loop_waiting(const struct loop *l);

/* The serial number of the innermost running turn: it changes when a
 * nested turn ran since a value was read in the same turn. */
SHADE_INTERNAL unsigned loop_turn_id(const struct loop *l);

/* Turns of l running: 0 outside, 1 in a turn, more when nested. */
SHADE_INTERNAL int loop_depth(const struct loop *l);

/* An fd that polls readable (POLLIN, level-triggered) while a turn of l
 * has a kernel event to take (the epoll set itself: its watches, the low
 * set and the self-pipe other threads write to), for a host loop that
 * drives l; -1 with the poll(2) backend, which keeps no such fd. */
SHADE_INTERNAL int loop_host_fd(const struct loop *l);

/* Milliseconds until a turn of l has work that no event of
 * loop_host_fd() announces: 0 when a watch is marked ready, closed or
 * given output by another thread, or l was stopped; else until the next
 * timer is due (0 when one is); -1 when no timer is armed. */
SHADE_INTERNAL int loop_next_ms(const struct loop *l);

/* Make the running (or next) turn return SHADE_AGAIN, and every later
 * one (any thread). */
SHADE_INTERNAL void loop_stop(struct loop *l);

/* True once loop_stop was called. */
SHADE_INTERNAL bool loop_stopped(struct loop *l);

#endif /* SHADE_LOOP_INT_H */
