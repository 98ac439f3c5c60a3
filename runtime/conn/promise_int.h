/*
 * promise_int.h - results kept for pipelined calls, on the side that
 * serves them (doc/protocol.md §13).
 *
 * A request the peer sent with OPT_KEEP registers a promise under its
 * request id as it arrives (promise_expect); serving it settles the
 * promise from the reply it built (promise_settle): the object the
 * RETURN hands out, or the ERROR with its chain.  A request naming a
 * promise (OPT_ON) that is not settled yet waits on the promise
 * (promise_park) and joins the connection's queue when it settles; once
 * settled, serving it finds its target there (promise_target).  DROP
 * forgets promises (promise_drop); the end of the connection all of
 * them (promise_clear).
 *
 * Locking: the table is guarded by the connection's `mu`.  promise_expect
 * and promise_park are called with mu held; the others take it.  Objects
 * are released with no lock held.
 */
#ifndef SHADE_PROMISE_INT_H
#define SHADE_PROMISE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <talloc.h>

#include "shade/buf.h"
#include "shade/error.h"
#include "conn/msg_int.h"

struct shade_conn;
struct shade_ref;

/* Register a promise for the peer's request rid, not settled (caller
 * holds mu).  False when none can be kept (out of memory, or as many
 * promises as the pending limit): calls naming rid then fail NotFound. */
SHADE_INTERNAL bool promise_expect(struct shade_conn *c, uint64_t rid);

/* Does request m name a promise not settled yet, by OPT_ON or OPT_AWAIT
 * (caller holds mu)? */
SHADE_INTERNAL bool promise_parked(struct shade_conn *c, const struct msg *m);

/* Queue request m (frame of len bytes, taken over) on the first promise
 * it names that is not settled (promise_parked); it moves on to the
 * next such one, if any, when that one settles.  False when out of
 * memory (the frame is freed).  Caller holds mu. */
SHADE_INTERNAL bool promise_park(struct shade_conn *c, const struct msg *m,
				 uint8_t *frame, size_t len);

/* Remove the request of id rid from the promise it waits on and return
 * it (the caller frees it); NULL when no promise holds it.  Caller holds
 * mu. */
SHADE_INTERNAL struct frame_item *promise_unpark(struct shade_conn *c,
						 uint64_t rid);

/* Settle the promise of request rid from reply (a whole RETURN or
 * ERROR message) and move the requests waiting on it to the queue they
 * nest in.  No lock held. */
SHADE_INTERNAL void promise_settle(struct shade_conn *c, uint64_t rid,
				   const shade_buf *reply);

/* The target of request m (OPT_ON): its target field (0) read, the
 * object of the promise it names with the names of its path read one
 * after the other (GETATTR), retained in *out.  The promise's error
 * (with its chain) when it failed; NotFound when there is none. */
SHADE_INTERNAL shade_status promise_target(struct shade_conn *c,
					   TALLOC_CTX *tmp, struct msg *m,
					   struct shade_ref **out,
					   shade_error **err);

/* Decode the argument at d, after tag 206: [rid, name...], the object
 * kept for the peer's request rid with the path read, retained in *out.
 * The kept failure (with its chain) when it failed; ProtocolError when
 * nothing is kept under rid or it is not there yet (a request names in
 * option 15 the results its arguments name, and waits for them).  No
 * lock held. */
SHADE_INTERNAL shade_status promise_arg(struct shade_conn *c,
					TALLOC_CTX *tmp, shade_cbor_dec *d,
					struct shade_ref **out,
					shade_error **err);

/* Apply DROP m: forget the promises it names (one not settled is
 * forgotten when it settles).  No lock held. */
SHADE_INTERNAL void promise_drop(struct shade_conn *c, struct msg *m);

/* The request of id rid was withdrawn before it ran: settle its promise
 * as Cancelled.  No lock held. */
SHADE_INTERNAL void promise_cancelled(struct shade_conn *c, uint64_t rid);

/* Forget every promise of c (it ended); requests waiting on them are
 * freed.  No lock held. */
SHADE_INTERNAL void promise_clear(struct shade_conn *c);

#endif /* SHADE_PROMISE_INT_H */
