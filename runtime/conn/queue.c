/*
 * queue.c - FIFO queues of request frames (see queue_int.h).
 *
 * Lock order: none taken here; the caller holds the connection's `mu`
 * (the head is also stored atomically for lock-free peeks).
 */
#include <talloc.h>

#include "base/clock_int.h"
#include "conn/queue_int.h"

/* Append request frame (stolen into a new item, stamped with the time)
 * to q, with its head m as msg_parse left it (`parsed`: it parsed);
 * false when out of memory (the frame is freed). */
bool queue_push(TALLOC_CTX *owner, struct frame_queue *q,
		uint8_t *frame, size_t len, const struct msg *m,
		bool parsed)
{
	struct frame_item *it = talloc_zero(owner, struct frame_item);

	if (it == NULL) {
		talloc_free(frame);
		return false;
	}
	it->frame = talloc_steal(it, frame);
	it->len = len;
	it->rid = m->id;
	it->parsed = parsed;
	it->m = *m;
	it->arrived = clock_now_ms();
	if (q->tail)
		q->tail->next = it;
	else
		__atomic_store_n(&q->head, it, __ATOMIC_RELEASE);
	q->tail = it;
	queue_count(q, 1);
	return true;
}

/* Remove the item of request rid from q and return it (the caller frees
 * it); NULL when there is none. */
struct frame_item *queue_remove(struct frame_queue *q, uint64_t rid)
{
	struct frame_item *it, *prev = NULL;

	for (it = q->head; it != NULL; prev = it, it = it->next) {
		if (it->rid != rid)
			continue;
		if (prev != NULL)
			prev->next = it->next;
		else
			__atomic_store_n(&q->head, it->next, __ATOMIC_RELEASE);
		if (q->tail == it)
			q->tail = prev;
		it->next = NULL;
		queue_count(q, -1);
		return it;
	}
	return NULL;
}

/* Append the items of `from` to q, moved onto owner (from is left
 * empty). */
void queue_move(TALLOC_CTX *owner, struct frame_queue *q,
		struct frame_queue *from)
{
	struct frame_item *it;

	while ((it = queue_pop(from)) != NULL) {
		talloc_steal(owner, it);
		if (q->tail)
			q->tail->next = it;
		else
			__atomic_store_n(&q->head, it, __ATOMIC_RELEASE);
		q->tail = it;
		queue_count(q, 1);
	}
}

/* Free every item of q. */
void queue_clear(struct frame_queue *q)
{
	struct frame_item *it;

	while ((it = queue_pop(q)) != NULL)
		talloc_free(it);
}
