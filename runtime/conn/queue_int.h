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

struct item_cache;

/* A request frame waiting to be served.  An item of a connection's
 * cache (`cache` set) holds its frame in `room` and goes back to the
 * cache once served; any other holds it as a talloc child. */
struct frame_item {
	struct frame_item *next; /* next in the queue (or the cache) */
	uint8_t *frame;          /* the frame: `room`, or a talloc child of
				  * this item */
	size_t len;              /* its length */
	uint64_t rid;            /* its request id (0: oneway), for CANCEL */
	int64_t arrived;         /* when it was read (monotonic ms), for
				  * its deadline */
	bool parsed;             /* m holds the frame parsed by the
				  * router (else serving parses it and
				  * reports what is wrong) */
	struct msg m;            /* its parsed head, cursor into frame */
	struct item_cache *cache; /* the cache it belongs to, or NULL */
	uint8_t room[];          /* a cached item's frame (ITEM_ROOM) */
};

/* Bytes of frame a cached item holds in its room: a request with a few
 * small arguments.  A larger frame is a block of its own. */
#define ITEM_ROOM 160

/* Cached items one cache keeps at most (about 290 bytes each). */
#define ITEM_CACHE_MAX 32

/*
 * A connection's cache of request items, so that a request read into an
 * item's room is queued and served without a heap allocation: the
 * reader takes an item before it reads (item_take, by the thread
 * holding the reader role: one taker at a time) and whoever served the
 * request gives it back (item_done, any thread, no lock: a push onto a
 * stack that only the reader pops, so a popped item cannot come back
 * between the load and the exchange).  Like the connection's scratch
 * pool, cached items have no talloc parent (threads free and make them
 * outside mu): the connection's end frees the spare ones
 * (item_cache_free) once its queue is cleared.
 */
struct item_cache {
	struct frame_item *top;  /* spare items (atomic) */
	unsigned n;              /* cached items alive, spare or in use
				  * (atomic) */
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

/* Append item it (its frame already in place, len bytes) to q, as
 * queue_push does (under the lock). */
SHADE_INTERNAL void queue_push_item(struct frame_queue *q,
				    struct frame_item *it, size_t len,
				    const struct msg *m, bool parsed);

/* A spare item of cache, or NULL when none is left and the cache is
 * full, or out of memory (one taker at a time: the connection's
 * reader). */
SHADE_INTERNAL struct frame_item *item_take(struct item_cache *cache);

/* Free cache's spare items (none may be in use any more). */
SHADE_INTERNAL void item_cache_free(struct item_cache *cache);

/* Done with item it (NULL is fine): a cached item goes back to its
 * cache, any other is freed with its frame. */
SHADE_INTERNAL void item_done(struct frame_item *it);

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
