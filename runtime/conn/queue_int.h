/*
 * queue_int.h - FIFO queues of request frames waiting to be served: a
 * connection's queue of requests nesting in no call (`unnested`) and each
 * pending call's queue of requests nested in it.
 *
 * Locking: a queue is guarded by its connection's `mu`; its head is also
 * written with atomic stores, so that a thread may peek at it without the
 * lock (a hint: the usual empty queue costs no lock).
 */
#ifndef SHADE_QUEUE_INT_H
#define SHADE_QUEUE_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <talloc.h>

#include "shade/visibility.h"
#include "conn/msg_int.h"

/* A request frame waiting to be served. */
struct frame_item {
	struct frame_item *next; /* next in the queue */
	uint8_t *frame;          /* the frame (talloc child of this item) */
	size_t len;              /* its length */
	uint64_t rid;            /* its request id (0: oneway), for CANCEL */
	int64_t arrived;         /* when it was read (monotonic ms), for
				  * its deadline */
	bool parsed;             /* m holds the frame parsed by the
				  * router (else serving parses it and
				  * reports what is wrong) */
	struct msg m;            /* its parsed head, cursor into frame */
};

/* A FIFO of frames. */
struct frame_queue {
	struct frame_item *head; /* first to serve, or NULL */
	struct frame_item *tail; /* last, or NULL */
	size_t n;                /* items (written with atomic stores) */
};

/* Items in q, read without the lock (a hint). */
static inline size_t queue_len(const struct frame_queue *q)
{
	return __atomic_load_n(&q->n, __ATOMIC_RELAXED);
}

/* Count one item more (d 1) or less (d -1) in q (under the lock). */
static inline void queue_count(struct frame_queue *q, int d)
{
	__atomic_store_n(&q->n, q->n + (size_t)(ptrdiff_t)d,
			 __ATOMIC_RELAXED);
}

/* Append request frame (stolen into a new item on owner, stamped with
 * the time) to q, with its head m as msg_parse left it (`parsed`: it
 * parsed); false when out of memory (the frame is freed). */
SHADE_INTERNAL bool queue_push(TALLOC_CTX *owner, struct frame_queue *q,
			       uint8_t *frame, size_t len, const struct msg *m,
			       bool parsed);

/* Remove the first item of q (NULL when empty); the caller frees it. */
static inline struct frame_item *queue_pop(struct frame_queue *q)
{
	struct frame_item *it = q->head;

	if (it != NULL) {
		__atomic_store_n(&q->head, it->next, __ATOMIC_RELEASE);
		if (q->head == NULL)
			q->tail = NULL;
		it->next = NULL;
		queue_count(q, -1);
	}
	return it;
}

/* Remove the item of request rid from q and return it (the caller frees
 * it); NULL when there is none. */
SHADE_INTERNAL struct frame_item *queue_remove(struct frame_queue *q,
					       uint64_t rid);

/* Append the items of `from` to q, moved onto owner (from is left
 * empty). */
SHADE_INTERNAL void queue_move(TALLOC_CTX *owner, struct frame_queue *q,
			       struct frame_queue *from);

/* Free every item of q. */
SHADE_INTERNAL void queue_clear(struct frame_queue *q);

#endif /* SHADE_QUEUE_INT_H */
