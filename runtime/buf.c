/*
 * buf.c - shade_buf, the growable byte buffer the encoder writes into.
 *
 * Invariant: len <= cap; data is NULL only while cap is 0; once status
 * is an error every append is a no-op until shade_buf_reset().
 */
#include <string.h>

#include <talloc.h>

#include "shade/cbor.h"

/* A new buffer on mem_ctx with cap bytes preallocated. */
shade_buf *shade_buf_new(TALLOC_CTX *mem_ctx, size_t cap)
{
	shade_buf *b = talloc_zero(mem_ctx, shade_buf);

	if (b == NULL)
		return NULL;
	if (cap > 0) {
		b->data = talloc_size(b, cap);
		if (b->data == NULL) {
			talloc_free(b);
			return NULL;
		}
		b->cap = cap;
	}
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
	nd = talloc_realloc_size(b, b->data, want);
	if (nd == NULL) {
		b->status = SHADE_ERR_NOMEM;
		return NULL;
	}
	b->data = nd;
	b->cap = want;
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
	d = talloc_realloc_size(b, b->data, b->len);
	if (d == NULL)
		d = b->data;
	if (len != NULL)
		*len = b->len;
	talloc_steal(mem_ctx, d);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	return d;
}
