/*
 * bigbuf_int.h - large buffers kept for reuse: a received frame, the
 * encoding of a large value.
 *
 * A buffer of BIGBUF_MIN bytes or more from the C library is usually a
 * fresh mmap: every page of it faults when first written and goes back
 * to the kernel when freed, so a 1 MiB value crossing once costs
 * hundreds of page faults per buffer.  bigbuf_alloc() hands out talloc
 * blocks whose destructor, instead of freeing, keeps the block in the
 * freeing thread's cache (at most BIGBUF_KEEP blocks, each at most
 * BIGBUF_KEEP_MAX bytes); the next bigbuf_alloc() in that thread reuses
 * it, its pages already mapped.  A block sitting unused for
 * BIGBUF_IDLE_MS is freed at the thread's next bigbuf call, all of them
 * by bigbuf_trim(), at thread exit, and the exiting thread's at process
 * exit.
 *
 * The cache is per thread, not per connection: a frame is freed by the
 * thread that consumed it (a server loop, a calling thread), which is
 * the thread that reads the next one, and no lock is needed.  A block's
 * capacity (bigbuf_cap) may exceed the size asked for; a cached block is
 * handed out only for a size it holds, so nothing larger than asked is
 * ever newly allocated.
 */
#ifndef SHADE_BIGBUF_INT_H
#define SHADE_BIGBUF_INT_H

#include <stddef.h>

#include "shade/visibility.h"

/* Buffers smaller than this are plain talloc blocks (malloc keeps
 * them in its heap anyway). */
#define BIGBUF_MIN ((size_t)128 << 10)
/* Blocks a thread keeps: a served call with a large string holds four
 * at once (request frame, argument, result, output queue). */
#define BIGBUF_KEEP 4
/* Largest block kept; larger ones are freed. */
#define BIGBUF_KEEP_MAX ((size_t)32 << 20)
/* A kept block unused this long is freed. */
#define BIGBUF_IDLE_MS 2000

/* A top-level talloc block of at least size bytes (size >= BIGBUF_MIN:
 * smaller sizes are allocated plainly, not cached), this thread's kept
 * block when one holds size bytes.  Freeing it (talloc_free, or its
 * parent's) keeps it for reuse.  NULL when out of memory. */
SHADE_INTERNAL void *bigbuf_alloc(size_t size);

/* Grow or shrink block p (from bigbuf_alloc, any parent) so it holds at
 * least size bytes, contents kept; a block already that large is
 * returned as it is.  NULL when out of memory (p unchanged). */
SHADE_INTERNAL void *bigbuf_realloc(void *p, size_t size);

/* Bytes block p (from bigbuf_alloc) holds. */
SHADE_INTERNAL size_t bigbuf_cap(const void *p);

/* Free every block this thread keeps. */
SHADE_INTERNAL void bigbuf_trim(void);

/* Blocks this thread keeps now (for tests). */
SHADE_INTERNAL unsigned bigbuf_kept(void);

/* Blocks this thread's bigbuf_alloc() has handed out again from its
 * cache so far (for tests and benchmarks). */
SHADE_INTERNAL unsigned long bigbuf_reused(void);

#endif /* SHADE_BIGBUF_INT_H */
