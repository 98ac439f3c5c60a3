/*
 * buf.c - shade_buf, the growable byte buffer the encoder writes into.
 *
 * Invariant: len <= cap; data is NULL only while cap is 0; once status
 * is an error every append is a no-op until shade_buf_reset().
 *
 * The first cap bytes live in the same talloc block as the struct, right
 * after it (one allocation per buffer); growing moves them into a talloc
 * child of the struct.  inline_data() tells the two apart.  Once it
 * reaches BIGBUF_MIN bytes that child comes from bigbuf_alloc(), so the
 * pages of a large encoding are kept for the next one.
 */
#include <stdbool.h>
#include <string.h>

#include <talloc.h>

#include "shade/buf.h"
#include "base/bigbuf_int.h"

/* True while b's bytes are the ones allocated with the struct. */
static inline bool inline_data(const shade_buf *b)
{
	return b->data == (const uint8_t *)(b + 1);
}

/* A new buffer on mem_ctx with cap bytes preallocated, in one block. */
shade_buf *shade_buf_new(TALLOC_CTX *mem_ctx, size_t cap)
{
	shade_buf *b;

	if (cap > SIZE_MAX / 2)
		return NULL;
	b = talloc_named_const(mem_ctx, sizeof(*b) + cap, "shade_buf");
	if (b == NULL)
		return NULL;
	b->data = cap > 0 ? (uint8_t *)(b + 1) : NULL;
	b->len = 0;
	b->cap = cap;
	b->status = SHADE_OK;
	return b;
}

/* Grow so that n more bytes fit; sticky failure. */
uint8_t *shade_buf_reserve(shade_buf *b, size_t n)
{
	size_t want;
	uint8_t *nd;

	if (b->status != SHADE_OK)
		return NULL;
	if (b->cap - b->len >= n)
		return b->data + b->len;
	if (n > SIZE_MAX / 2 - b->len) {
		b->status = SHADE_ERR_NOMEM;
		return NULL;
	}
	want = b->cap < 64 ? 64 : b->cap;
	while (want - b->len < n)
		want *= 2;
	if (want >= BIGBUF_MIN && (inline_data(b) || b->cap < BIGBUF_MIN)) {
		/* Large: a block whose pages are kept for reuse. */
		nd = bigbuf_alloc(want);
		if (nd != NULL) {
			memcpy(nd, b->data, b->len);
			if (!inline_data(b))
				talloc_free(b->data);
			talloc_steal(b, nd);
		}
	} else if (want >= BIGBUF_MIN) {
		nd = bigbuf_realloc(b->data, want);
	} else if (inline_data(b)) {
		nd = talloc_size(b, want);
		if (nd != NULL)
			memcpy(nd, b->data, b->len);
	} else {
		nd = talloc_realloc_size(b, b->data, want);
	}
	if (nd == NULL) {
		b->status = SHADE_ERR_NOMEM;
		return NULL;
	}
	b->data = nd;
	b->cap = want >= BIGBUF_MIN ? bigbuf_cap(nd) : want;
	return b->data + b->len;
}

/* Append n uninitialised bytes. */
uint8_t *shade_buf_grow(shade_buf *b, size_t n)
{
	uint8_t *p = shade_buf_reserve(b, n);

	if (p != NULL)
		b->len += n;
	return p;
}

/* Append n bytes from p (room checked here first: the common case
 * makes no further call but memcpy). */
shade_status shade_buf_append(shade_buf *b, const void *p, size_t n)
{
	uint8_t *d;

	if (n == 0)
		return b->status;
	if (b->cap - b->len >= n && b->status == SHADE_OK)
		d = b->data + b->len;
	else if ((d = shade_buf_reserve(b, n)) == NULL)
		return b->status;
	memcpy(d, p, n);
	b->len += n;
	return SHADE_OK;
}

/* Empty the buffer, keep the allocation, clear the sticky error. */
void shade_buf_reset(shade_buf *b)
{
	b->len = 0;
	b->status = SHADE_OK;
}

/* Move the bytes onto mem_ctx and leave b empty. */
uint8_t *shade_buf_steal(TALLOC_CTX *mem_ctx, shade_buf *b, size_t *len)
{
	uint8_t *d;

	if (b->status != SHADE_OK || b->len == 0) {
		if (len != NULL)
			*len = 0;
		return NULL;
	}
	if (inline_data(b)) {
		d = talloc_memdup(mem_ctx, b->data, b->len);
		if (d == NULL) {
			b->status = SHADE_ERR_NOMEM;
			if (len != NULL)
				*len = 0;
			return NULL;
		}
	} else {
		/* Exactly len bytes (talloc_get_size is the length; a large
		 * block shrinks in place and is still kept when freed). */
		d = talloc_realloc_size(b, b->data, b->len);
		if (d == NULL)
			d = b->data;
		talloc_steal(mem_ctx, d);
	}
	if (len != NULL)
		*len = b->len;
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	return d;
}
