/*
 * route_int.h - routing received frames (route.c).
 */
#ifndef SHADE_ROUTE_INT_H
#define SHADE_ROUTE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "shade/error.h"
#include "shade/visibility.h"
#include "conn/msg_int.h"
#include "conn/queue_int.h"

struct shade_conn;

/* A request the router handed to the reader instead of queueing it. */
struct direct {
	uint8_t *frame;          /* the frame (the reader's), or NULL */
	size_t len;              /* its length */
	struct msg m;            /* its parsed head */
	struct frame_item *item; /* the cached item whose room holds the
				  * frame, or NULL: the frame is a block on
				  * the reader's context */
};

/* Send our HELLO (version, features, known fingerprints). */
SHADE_INTERNAL shade_status route_send_hello(struct shade_conn *c,
					     shade_error **err);

/* A frame read onto a waiter's context (`where`, see conn_wait) that
 * goes anywhere else is first moved to a chunk of its own: talloc is not
 * thread-safe, and the waiter keeps allocating from its context (a pool)
 * while another thread frees what goes elsewhere.  m's cursor follows.
 * Returns the frame to use (NULL when out of memory). */
SHADE_INTERNAL uint8_t *route_unpool(uint8_t *frame, size_t len,
				     const void *where, struct msg *m);

/* The router of a waiting thread (which holds the reader role): returns
 * with mu held, which the waiter takes next anyway.  A reply, the frame
 * it usually reads, is delivered under that same lock; anything else is
 * routed first.  in_slot: the frame lies in a slot (a request's room,
 * or the reading thread's scratch), not in a block of its own: a reply
 * to a request with room for it is copied there, anything else copied
 * out first. */
SHADE_INTERNAL void route_for_waiter(struct shade_conn *c, uint8_t *frame,
				     size_t len, const void *where,
				     bool in_slot);

/* Read and route one frame without blocking (a loop): replies go to
 * their callers, requests to the queues (served by shade_conn_process or
 * a waiting thread), except that with `dir` a well-formed request
 * nesting in no call, with none queued before it, lands in *dir for the
 * caller to serve or queue.  The frame is read onto `where` (NULL: a
 * chunk of its own); only one handed over in *dir stays there.
 * SHADE_AGAIN when none is ready; an error when the connection ended. */
SHADE_INTERNAL shade_status conn_read_one(struct shade_conn *c,
					  struct direct *dir, void *where,
					  shade_error **err);

/* The same in steps, for a run of reads with one hand-over of the
 * reader role: conn_read_begin takes it (SHADE_AGAIN when another
 * thread reads or BYE came; an error when c ended), each
 * conn_read_next reads and routes one frame as conn_read_one does
 * (SHADE_AGAIN: none whole; after BYE, none is read), and
 * conn_read_end gives the role back, waking the threads that wait for
 * it (and closing the transport when c ended meanwhile).  Between
 * begin and end the caller must not wait for anything on c (serve,
 * call, block): a thread waiting for the role would wait for it. */
SHADE_INTERNAL shade_status conn_read_begin(struct shade_conn *c,
					    shade_error **err);
SHADE_INTERNAL shade_status conn_read_next(struct shade_conn *c,
					   struct direct *dir, void *where,
					   shade_error **err);
SHADE_INTERNAL void conn_read_end(struct shade_conn *c);

/* Connecting side with a key, after HELLO and AUTH step 0: read the
 * peer's HELLO and AUTH messages until both sides proved their key
 * (SHADE_OK) or the exchange failed (c ended: its error, such as
 * PermissionDenied, in *err), within c's auth_timeout_ms. */
SHADE_INTERNAL shade_status route_handshake(struct shade_conn *c,
					    shade_error **err);

#endif /* SHADE_ROUTE_INT_H */
