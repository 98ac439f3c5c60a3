/*
 * pool_int.h - a pool of worker threads serving the requests of the
 * connections attached to it (pool.c): a connection's requests in the
 * order they came, one at a time, unless the pool or the target object
 * is concurrent; different connections never wait for each other.
 *
 * Locking: the pool's own mutex guards its ready list and the pool_*
 * fields of the connections; it is taken after a connection's `mu`
 * (never the other way round), and no user code runs while it is held.
 */
#ifndef SHADE_POOL_INT_H
#define SHADE_POOL_INT_H

#include <stdbool.h>

#include <talloc.h>

#include "shade/error.h"
#include "shade/visibility.h"

struct shade_conn;
struct conn_pool;

/* A pool of `threads` workers (at least 1) on mem_ctx; `concurrent`: the
 * requests of one connection may all run at once (else only those on
 * objects marked with shade_ref_set_concurrent); a connection with more
 * than max_output bytes unsent starts no request.  Freeing it stops and
 * joins the workers (after the handlers running return). */
SHADE_INTERNAL shade_status pool_new(TALLOC_CTX *mem_ctx, unsigned threads,
				     bool concurrent, size_t max_output,
				     struct conn_pool **out, shade_error **err);

/* Serve c's requests with pool p from now on (once, before c reads
 * anything): its reader queues them instead of serving them, and its
 * waits never read (the loop that serves c reads for them). */
SHADE_INTERNAL void pool_attach(struct conn_pool *p, struct shade_conn *c);

/* c (attached to p) may have queued requests: put it on p's ready list
 * when the next of them may start.  Any thread. */
SHADE_INTERNAL void pool_schedule(struct conn_pool *p, struct shade_conn *c);

/* The calling thread, when it is a worker of a pool, starts (true) or
 * ends (false) waiting for a reply: another thread may serve meanwhile. */
SHADE_INTERNAL void pool_block(bool waiting);

/* True while c's pool reads c itself (its workers wait on c's fd once
 * they served c, pool.c): c's loop must not watch its input meanwhile;
 * when the pool gives c back, it asks the loop to look at c
 * (loop_fd_want_write).  Any thread. */
SHADE_INTERNAL bool pool_owns(const struct shade_conn *c);

/* The loop's thread starts handling an event of c (attached to a pool):
 * false when a worker reads c (pool_owns), and the loop must then leave
 * c's input alone (no read, no look at what its transport buffered);
 * true, and no worker takes c to read until pool_loop_leave(c). */
SHADE_INTERNAL bool pool_loop_enter(struct shade_conn *c);

/* The loop's thread is done with the event of pool_loop_enter(c)
 * (which returned true).  When a worker served c meanwhile and would
 * have taken c to read but for this event, the pool takes it now
 * (pool_owns). */
SHADE_INTERNAL void pool_loop_leave(struct shade_conn *c);

/* Before p's server closes its connections: no worker reads one of them
 * any more once this returns (the pool gives them all back; a handler
 * that runs goes on). */
SHADE_INTERNAL void pool_unlinger(struct conn_pool *p);

/* Workers of p (its size). */
SHADE_INTERNAL unsigned pool_threads(const struct conn_pool *p);

#endif /* SHADE_POOL_INT_H */
