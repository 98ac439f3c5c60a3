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
#include "base/buf_int.h"

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
	b->refs = NULL;
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
			if (b->len > 0) /* data is NULL while cap is 0 */
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

/* The references of a buffer that may reference any string and has
 * none yet: shared, never written (the first reference replaces it with
 * a buffer's own), so that a request allocates nothing for them. */
static const struct shade_buf_refs buf_refs_any = { true, NULL, NULL, 0, 0,
						    0, NULL };

/* Empty the buffer, keep the allocation, clear the sticky error. */
void shade_buf_reset(shade_buf *b)
{
	b->len = 0;
	b->status = SHADE_OK;
	if (b->refs == &buf_refs_any) {
		b->refs = NULL;
	} else if (b->refs != NULL) {
		b->refs->on = false;
		b->refs->n = 0;
		b->refs->total = 0;
	}
}

/* Move the bytes onto mem_ctx and leave b empty. */
uint8_t *shade_buf_steal(TALLOC_CTX *mem_ctx, shade_buf *b, size_t *len)
{
	uint8_t *d;

	if (buf_has_refs(b))
		buf_flatten(b);
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

/* ---------------------------------------------------------- references */

/* b's references, its own (allocated now if need be); NULL when out of
 * memory. */
static struct shade_buf_refs *refs_own(shade_buf *b)
{
	if (b->refs == NULL || b->refs == &buf_refs_any) {
		struct shade_buf_refs *r = talloc_zero(b, struct shade_buf_refs);

		if (r == NULL)
			return NULL;
		r->on = b->refs == &buf_refs_any;
		b->refs = r;
	}
	return b->refs;
}

shade_status buf_refs_enable(shade_buf *b, const void *lo, size_t len)
{
	struct shade_buf_refs *r;

	if (lo == NULL && (b->refs == NULL || b->refs == &buf_refs_any)) {
		b->refs = (struct shade_buf_refs *)&buf_refs_any;
		return SHADE_OK;
	}
	r = refs_own(b);
	if (r == NULL)
		return SHADE_ERR_NOMEM; /* b simply copies */
	r->on = true;
	r->lo = lo;
	r->hi = lo != NULL ? (const uint8_t *)lo + len : NULL;
	return SHADE_OK;
}

bool buf_put_ref(shade_buf *b, const void *p, size_t n)
{
	struct shade_buf_refs *r = b->refs;
	const uint8_t *q = p;

	if (r == NULL || !r->on || n < BUF_REF_MIN || b->status != SHADE_OK ||
	    (r->lo != NULL &&
	     (q < r->lo || q > r->hi || n > (size_t)(r->hi - q))))
		return false;
	if ((r = refs_own(b)) == NULL)
		return false;
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 4;
		struct buf_ref *nr = talloc_realloc(r, r->r, struct buf_ref,
						    cap);

		if (nr == NULL)
			return false;
		r->r = nr;
		r->cap = cap;
	}
	r->r[r->n].at = b->len;
	r->r[r->n].p = q;
	r->r[r->n].len = n;
	r->n++;
	r->total += n;
	return true;
}

shade_status buf_flatten(shade_buf *b)
{
	struct shade_buf_refs *r = b->refs;
	size_t end, shift, i;

	if (r == NULL || r->n == 0)
		return b->status;
	if (shade_buf_reserve(b, r->total) == NULL)
		return b->status;
	/* From the last reference back: the bytes behind each move up by
	 * what the references before them add, the string goes in the
	 * gap. */
	end = b->len;
	shift = r->total;
	for (i = r->n; i-- > 0;) {
		const struct buf_ref *x = &r->r[i];

		memmove(b->data + x->at + shift, b->data + x->at, end - x->at);
		shift -= x->len;
		memcpy(b->data + x->at + shift, x->p, x->len);
		end = x->at;
	}
	b->len += r->total;
	r->n = 0;
	r->total = 0;
	return SHADE_OK;
}

int buf_iov(const shade_buf *b, struct iovec *iov, int max)
{
	const struct shade_buf_refs *r = b->refs;
	size_t from = 0, i, nr = r != NULL ? r->n : 0;
	int k = 0;

	if ((size_t)max < 2 * nr + 1)
		return -1;
	for (i = 0; i < nr; i++) {
		if (r->r[i].at > from) {
			iov[k].iov_base = b->data + from;
			iov[k++].iov_len = r->r[i].at - from;
		}
		iov[k].iov_base = (void *)r->r[i].p;
		iov[k++].iov_len = r->r[i].len;
		from = r->r[i].at;
	}
	if (b->len > from) {
		iov[k].iov_base = b->data + from;
		iov[k++].iov_len = b->len - from;
	}
	return k;
}
