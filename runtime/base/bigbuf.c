/*
 * bigbuf.c - large buffers kept for reuse by the thread that freed them
 * (see bigbuf_int.h).
 *
 * Invariants: a kept block is a top-level talloc block with no children
 * whose destructor is bigbuf_keep(); slot i of the cache is empty when
 * its block is NULL.  The cache belongs to one thread (thread-local), so
 * nothing here locks.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <talloc.h>

#include "base/bigbuf_int.h"
#include "base/clock_int.h"

/* One kept block. */
struct kept {
	void *block;      /* the block, or NULL */
	int64_t since_ms; /* when it was kept (clock_now_ms) */
};

static _Thread_local struct kept tl_kept[BIGBUF_KEEP]; /* this thread's */
static _Thread_local bool tl_keyed;  /* cache_key set for this thread */
static _Thread_local bool tl_exiting; /* thread exit: keep nothing */
static _Thread_local unsigned long tl_reused; /* blocks handed out again */
static pthread_key_t cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;
static bool cache_ok;

static int bigbuf_keep(void *p);

/* Free a kept block for good. */
static void drop(struct kept *k)
{
	talloc_set_destructor(k->block, NULL);
	talloc_free(k->block);
	k->block = NULL;
}

/* At thread exit: free the thread's blocks. */
static void cache_exit(void *unused)
{
	(void)unused;
	tl_exiting = true;
	bigbuf_trim();
}

/* At exit (and when the library is unloaded): free the blocks of the
 * thread that exits, the main thread's among them (key destructors do
 * not run for it), and keep nothing freed after. */
static void __attribute__((destructor)) cache_fini(void)
{
	tl_exiting = true;
	bigbuf_trim();
}

/* Once: the key whose destructor frees a thread's blocks. */
static void cache_init(void)
{
	cache_ok = pthread_key_create(&cache_key, cache_exit) == 0;
}

/* Free the blocks kept longer than BIGBUF_IDLE_MS. */
static void drop_idle(int64_t now)
{
	unsigned i;

	for (i = 0; i < BIGBUF_KEEP; i++)
		if (tl_kept[i].block != NULL &&
		    now - tl_kept[i].since_ms > BIGBUF_IDLE_MS)
			drop(&tl_kept[i]);
}

/* The destructor of a block from bigbuf_alloc: keep it in this thread's
 * cache (-1: talloc does not free it) when there is room, else let it be
 * freed (0).  A block of a parent being freed is moved to the top level
 * first, which talloc allows from a destructor. */
static int bigbuf_keep(void *p)
{
	size_t cap = talloc_get_size(p);
	int64_t now;
	unsigned i, slot = BIGBUF_KEEP;

	if (cap > BIGBUF_KEEP_MAX || tl_exiting)
		return 0;
	if (!tl_keyed) {
		pthread_once(&cache_once, cache_init);
		if (!cache_ok || pthread_setspecific(cache_key, &tl_kept) != 0)
			return 0;
		tl_keyed = true;
	}
	now = clock_now_ms();
	drop_idle(now);
	for (i = 0; i < BIGBUF_KEEP; i++) {
		if (tl_kept[i].block == NULL) {
			slot = i;
			break;
		}
		/* Full: replace a smaller block, so the larger stay. */
		if (talloc_get_size(tl_kept[i].block) < cap &&
		    (slot == BIGBUF_KEEP ||
		     talloc_get_size(tl_kept[i].block) <
			     talloc_get_size(tl_kept[slot].block)))
			slot = i;
	}
	if (slot == BIGBUF_KEEP)
		return 0;
	if (tl_kept[slot].block != NULL)
		drop(&tl_kept[slot]);
	talloc_free_children(p);
	talloc_steal(NULL, p);
	tl_kept[slot].block = p;
	tl_kept[slot].since_ms = now;
	return -1;
}

void *bigbuf_alloc(size_t size)
{
	unsigned i, best = BIGBUF_KEEP;
	void *p;

	if (size < BIGBUF_MIN)
		return talloc_size(NULL, size);
	for (i = 0; i < BIGBUF_KEEP; i++) {
		void *b = tl_kept[i].block;

		/* The smallest kept block that holds size. */
		if (b != NULL && talloc_get_size(b) >= size &&
		    (best == BIGBUF_KEEP ||
		     talloc_get_size(b) < talloc_get_size(tl_kept[best].block)))
			best = i;
	}
	if (best < BIGBUF_KEEP) {
		p = tl_kept[best].block;
		tl_kept[best].block = NULL;
		tl_reused++;
		return p;
	}
	if (tl_keyed)
		drop_idle(clock_now_ms());
	p = talloc_size(NULL, size);
	if (p != NULL)
		talloc_set_destructor(p, bigbuf_keep);
	return p;
}

void *bigbuf_realloc(void *p, size_t size)
{
	void *np;

	if (talloc_get_size(p) >= size)
		return p;
	np = talloc_realloc_size(NULL, p, size);
	if (np != NULL && size >= BIGBUF_MIN)
		talloc_set_destructor(np, bigbuf_keep);
	return np;
}

size_t bigbuf_cap(const void *p)
{
	return talloc_get_size(p);
}

void bigbuf_trim(void)
{
	unsigned i;

	for (i = 0; i < BIGBUF_KEEP; i++)
		if (tl_kept[i].block != NULL)
			drop(&tl_kept[i]);
}

unsigned bigbuf_kept(void)
{
	unsigned i, n = 0;

	for (i = 0; i < BIGBUF_KEEP; i++)
		n += tl_kept[i].block != NULL;
	return n;
}

unsigned long bigbuf_reused(void)
{
	return tl_reused;
}
