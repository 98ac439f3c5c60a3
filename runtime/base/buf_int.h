/*
 * buf_int.h - referenced strings in a shade_buf (buf.c): a message the
 * runtime sends may carry its large strings as references to where they
 * lie instead of copies, so that the transport writes them from there
 * (one writev of the buffer's pieces and the strings between them).
 *
 * A buffer with references stands for its bytes with each referenced
 * string spliced in at the offset where it was put.  Only the runtime's
 * own message buffers take references (buf_refs_enable), and each is
 * sent, flattened or reset before the strings it names can change.
 * shade_buf_reset() drops the references and turns taking them off.
 */
#ifndef SHADE_BUF_INT_H
#define SHADE_BUF_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "shade/buf.h"

/* Strings at least this long are referenced (below it a copy is as
 * cheap as the bookkeeping). */
#define BUF_REF_MIN ((size_t)64 << 10)

/* One referenced string. */
struct buf_ref {
	size_t at;        /* offset in data where it goes */
	const uint8_t *p; /* its bytes */
	size_t len;       /* their count */
};

/* The references of a buffer (a talloc child of it). */
struct shade_buf_refs {
	bool on;            /* new strings may be referenced */
	const uint8_t *lo;  /* only strings inside [lo, hi) (NULL: any) */
	const uint8_t *hi;  /* end of that region */
	size_t total;       /* bytes referenced */
	size_t n;           /* references in r */
	size_t cap;         /* room in r */
	struct buf_ref *r;  /* the references, by offset */
};

/* Let b reference strings of BUF_REF_MIN bytes or more put from now on,
 * those inside [lo, lo + len) only when lo is not NULL.  A new request's
 * buffer (lo NULL, no references yet) allocates nothing for it. */
SHADE_INTERNAL shade_status buf_refs_enable(shade_buf *b, const void *lo,
					    size_t len);

/* Reference n bytes at p at the end of b instead of copying them: true
 * when done, false when b takes no reference of them (copy them). */
SHADE_INTERNAL bool buf_put_ref(shade_buf *b, const void *p, size_t n);

/* Whether b holds references. */
static inline bool buf_has_refs(const shade_buf *b)
{
	return b->refs != NULL && b->refs->n > 0;
}

/* The size of the message b stands for: its bytes and the strings it
 * references. */
static inline size_t buf_total(const shade_buf *b)
{
	return b->len + (b->refs != NULL ? b->refs->total : 0);
}

/* Copy the referenced strings into b's bytes (b then holds none). */
SHADE_INTERNAL shade_status buf_flatten(shade_buf *b);

/* The pieces of b in order into iov (at most max); their count, or -1
 * when max is too small (2 * references + 1 always suffice). */
SHADE_INTERNAL int buf_iov(const shade_buf *b, struct iovec *iov, int max);

#endif /* SHADE_BUF_INT_H */
