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
	queue_push_item(q, it, len, m, parsed);
	return true;
}

void queue_push_item(struct frame_queue *q, struct frame_item *it,
		     size_t len, const struct msg *m, bool parsed)
{
	it->next = NULL;
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
}

/* A cached item freed (a withdrawn request, its connection freed): one
 * fewer alive. */
static int item_destructor(struct frame_item *it)
{
	__atomic_sub_fetch(&it->cache->n, 1, __ATOMIC_RELAXED);
	return 0;
}

struct frame_item *item_take(struct item_cache *cache)
{
	struct frame_item *it =
		__atomic_load_n(&cache->top, __ATOMIC_ACQUIRE);

	/* The only taker (the caller holds the reader role): it->next
	 * is stable, only pushes race with the exchange. */
	while (it != NULL &&
	       !__atomic_compare_exchange_n(&cache->top, &it, it->next, false,
					    __ATOMIC_ACQUIRE,
					    __ATOMIC_ACQUIRE))
		;
	if (it != NULL)
		return it;
	if (__atomic_load_n(&cache->n, __ATOMIC_RELAXED) >= ITEM_CACHE_MAX)
		return NULL;
	it = talloc_size(NULL, sizeof(*it) + ITEM_ROOM);
	if (it == NULL)
		return NULL;
	talloc_set_name_const(it, "struct frame_item");
	it->cache = cache;
	talloc_set_destructor(it, item_destructor);
	__atomic_add_fetch(&cache->n, 1, __ATOMIC_RELAXED);
	return it;
}

void item_cache_free(struct item_cache *cache)
{
	struct frame_item *it;

	while ((it = cache->top) != NULL) {
		cache->top = it->next;
		talloc_free(it);
	}
}

void item_done(struct frame_item *it)
{
	struct item_cache *cache;

	if (it == NULL)
		return;
	if ((cache = it->cache) == NULL) {
		talloc_free(it);
		return;
	}
	it->next = __atomic_load_n(&cache->top, __ATOMIC_RELAXED);
	while (!__atomic_compare_exchange_n(&cache->top, &it->next, it, false,
					    __ATOMIC_RELEASE,
					    __ATOMIC_RELAXED))
		;
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
