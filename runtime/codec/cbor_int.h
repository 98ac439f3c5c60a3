/*
 * cbor_int.h - codec internals shared by the files of runtime/codec:
 * the inline fast paths of the item encoder and decoder, and the item
 * helpers the value encoder/decoder build on.  Not installed.
 *
 * Files, lowest first: item_put.c, item_read.c (CBOR items, no values),
 * value_encode.c, value_decode.c (values <-> CBOR), hex.c.
 */
#ifndef SHADE_CBOR_INT_H
#define SHADE_CBOR_INT_H

#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "shade/cbor.h"

/* Initial bytes and additional information with a fixed meaning. */
#define CBOR_IB_FALSE 0xf4 /* false */
#define CBOR_IB_TRUE 0xf5  /* true */
#define CBOR_IB_NULL 0xf6  /* null */
#define CBOR_IB_BREAK 0xff /* break (end of an indefinite item) */
#define CBOR_AI_INDEF 31   /* indefinite length */

/* A decoded head. */
struct cbor_head {
	size_t at;       /* offset of the initial byte */
	unsigned major;  /* major type */
	unsigned ai;     /* additional information */
	uint64_t arg;    /* argument (INDEFINITE for AI 31) */
};

/* Append a head followed by n bytes of data. */
SHADE_INTERNAL shade_status cbor_put_string(shade_buf *b, unsigned major,
					    const void *s, size_t n);

/* Write f in its shortest exact form at p (room for 9); returns size. */
SHADE_INTERNAL size_t cbor_float_at(uint8_t *p, double f);

/* Check that a definite string of n bytes fits in the input. */
SHADE_INTERNAL shade_status cbor_check_string(const shade_cbor_dec *d,
					      const struct cbor_head *h,
					      shade_error **err);

/* Validate text at the cursor of n bytes. */
SHADE_INTERNAL shade_status cbor_check_utf8(const shade_cbor_dec *d, size_t n,
					    size_t item_at, shade_error **err);

/* Measure the string (definite or indefinite) whose head h was just read:
 * validates chunks (and UTF-8 for text) and returns the total length;
 * the cursor ends after the string. */
SHADE_INTERNAL shade_status cbor_scan_string(shade_cbor_dec *d,
					     const struct cbor_head *h,
					     uint64_t max_len, size_t *total,
					     shade_error **err);

/* Copy the chunks of the indefinite string starting after head h (whose
 * data begins at `from`) into dst. */
SHADE_INTERNAL void cbor_gather_chunks(const shade_cbor_dec *d, size_t from,
				       uint8_t *dst);

/* The double of a float head (AI 25-27). */
SHADE_INTERNAL double cbor_float_of(const struct cbor_head *h);

/* Check the simple value of a major-7 head h (not a float). */
SHADE_INTERNAL shade_status cbor_check_simple(const struct cbor_head *h,
					      shade_error **err);

/* Name of a major type for messages. */
static inline const char *cbor_major_name(unsigned major)
{
	static const char *const names[] = {
		"unsigned integer", "negative integer", "byte string",
		"text string", "array", "map", "tag", "simple value or float"
	};

	return names[major & 7];
}

/* Room for n bytes at the end of b (fast path inline). */
static inline uint8_t *cbor_room(shade_buf *b, size_t n)
{
	if (b->cap - b->len >= n && b->status == SHADE_OK)
		return b->data + b->len;
	return shade_buf_reserve(b, n);
}

/* Write the head (major << 5 | ai, arg) at p; returns its size. */
static inline size_t cbor_head_at(uint8_t *p, unsigned major, uint64_t arg)
{
	uint8_t m = (uint8_t)(major << 5);

	if (arg < 24) {
		p[0] = (uint8_t)(m | arg);
		return 1;
	}
	if (arg <= UINT8_MAX) {
		p[0] = m | 24;
		p[1] = (uint8_t)arg;
		return 2;
	}
	if (arg <= UINT16_MAX) {
		p[0] = m | 25;
		p[1] = (uint8_t)(arg >> 8);
		p[2] = (uint8_t)arg;
		return 3;
	}
	if (arg <= UINT32_MAX) {
		p[0] = m | 26;
		p[1] = (uint8_t)(arg >> 24);
		p[2] = (uint8_t)(arg >> 16);
		p[3] = (uint8_t)(arg >> 8);
		p[4] = (uint8_t)arg;
		return 5;
	}
	p[0] = m | 27;
	for (int i = 0; i < 8; i++)
		p[1 + i] = (uint8_t)(arg >> (56 - 8 * i));
	return 9;
}

/* Append a head when b has to grow first (kept out of line so that the
 * fast path of cbor_put_head needs no stack frame). */
static __attribute__((noinline, unused)) shade_status
cbor_put_head_grow(shade_buf *b, unsigned major, uint64_t arg)
{
	uint8_t *p = shade_buf_reserve(b, 9);

	if (p != NULL)
		b->len += cbor_head_at(p, major, arg);
	return b->status;
}

/* Append a head. */
static inline shade_status cbor_put_head(shade_buf *b, unsigned major,
					 uint64_t arg)
{
	if (b->cap - b->len >= 9 && b->status == SHADE_OK) {
		b->len += cbor_head_at(b->data + b->len, major, arg);
		return SHADE_OK;
	}
	return cbor_put_head_grow(b, major, arg);
}

/* Append the integer i (major 0 or 1), inline. */
static inline void cbor_put_int(shade_buf *b, int64_t i)
{
	uint8_t *p = cbor_room(b, 9);

	if (p == NULL)
		return;
	if (i >= 0)
		b->len += cbor_head_at(p, SHADE_CBOR_UINT, (uint64_t)i);
	else
		b->len += cbor_head_at(p, SHADE_CBOR_NINT, ~(uint64_t)i);
}

/* Append one byte. */
static inline shade_status cbor_put_byte(shade_buf *b, uint8_t c)
{
	uint8_t *p = cbor_room(b, 1);

	if (p != NULL) {
		*p = c;
		b->len++;
	}
	return b->status;
}

/* Read a head at the cursor. */
static inline shade_status cbor_rd_head(shade_cbor_dec *d, struct cbor_head *h,
					shade_error **err)
{
	const uint8_t *p;
	size_t n;

	h->at = d->pos;
	h->major = h->ai = 0;
	h->arg = 0;
	if (d->pos >= d->len)
		return shade_error_set(err, SHADE_ERR_TRUNCATED,
				       "input ends at offset %zu where an "
				       "item was expected", d->pos);
	p = d->buf + d->pos;
	h->major = p[0] >> 5;
	h->ai = p[0] & 31;
	if (h->ai < 24) {
		h->arg = h->ai;
		d->pos++;
		return SHADE_OK;
	}
	if (h->ai == CBOR_AI_INDEF) {
		if (h->major == SHADE_CBOR_UINT || h->major == SHADE_CBOR_NINT
		    || h->major == SHADE_CBOR_TAG)
			return shade_error_set(err, SHADE_ERR_MALFORMED,
					       "indefinite length with major "
					       "type %u at offset %zu",
					       h->major, h->at);
		h->arg = SHADE_CBOR_INDEFINITE;
		d->pos++;
		return SHADE_OK;
	}
	if (h->ai > 27)
		return shade_error_set(err, SHADE_ERR_MALFORMED,
				       "reserved additional information %u "
				       "at offset %zu", h->ai, h->at);
	n = (size_t)1 << (h->ai - 24);
	if (d->len - d->pos - 1 < n)
		return shade_error_set(err, SHADE_ERR_TRUNCATED,
				       "head at offset %zu needs %zu more "
				       "bytes, input has %zu", h->at, n,
				       d->len - d->pos - 1);
	h->arg = 0;
	for (size_t i = 1; i <= n; i++)
		h->arg = h->arg << 8 | p[i];
	if (h->arg == SHADE_CBOR_INDEFINITE && h->major >= SHADE_CBOR_BYTES &&
	    h->major <= SHADE_CBOR_MAP)
		/* 2^64-1 items or bytes: more than any input holds, and
		 * the value that means "indefinite" to every reader. */
		return shade_error_set(err, SHADE_ERR_LIMIT,
				       "%s at offset %zu declares a length of "
				       "2^64-1", cbor_major_name(h->major),
				       h->at);
	d->pos += 1 + n;
	return SHADE_OK;
}

/* The byte at the cursor when it is a whole item head of major type
 * `major` with its argument inside (additional information < 24): the
 * argument, cursor moved past it; else -1, cursor unmoved.  The common
 * case of every reader, without building a struct cbor_head. */
static inline int cbor_rd_tiny(shade_cbor_dec *d, unsigned major)
{
	uint8_t b;

	if (d->pos >= d->len)
		return -1;
	b = d->buf[d->pos];
	if ((unsigned)(b >> 5) != major || (b & 31) >= 24)
		return -1;
	d->pos++;
	return b & 31;
}

/* Read a head and require major type `want` (cursor back at the head
 * when it is another). */
static inline shade_status cbor_rd_expect(shade_cbor_dec *d, unsigned want,
					  struct cbor_head *h,
					  shade_error **err)
{
	SHADE_CHECK(cbor_rd_head(d, h, err));
	if (h->major != want) {
		d->pos = h->at;
		return shade_error_set(err, SHADE_ERR_PROTOCOL,
				       "expected %s at offset %zu, found %s",
				       cbor_major_name(want), h->at,
				       cbor_major_name(h->major));
	}
	return SHADE_OK;
}

/* cbor_rd_container past its one-byte case: a whole head of major type
 * `major` whose count n (times `per` bytes) fits in the input. */
static __attribute__((noinline, unused)) shade_status
cbor_rd_container_head(shade_cbor_dec *d, unsigned major, unsigned per,
		       uint64_t *n, shade_error **err)
{
	struct cbor_head h;

	SHADE_CHECK(cbor_rd_expect(d, major, &h, err));
	if (h.arg != SHADE_CBOR_INDEFINITE &&
	    h.arg > (d->len - d->pos) / per)
		return shade_error_set(err, SHADE_ERR_TRUNCATED,
				       "%s at offset %zu declares %" PRIu64
				       " items, only %zu bytes left",
				       cbor_major_name(major), h.at, h.arg,
				       d->len - d->pos);
	*n = h.arg;
	return SHADE_OK;
}

/* Read an array or map head; check n (times `per` bytes) fits. */
static inline shade_status cbor_rd_container(shade_cbor_dec *d, unsigned major,
					     unsigned per, uint64_t *n,
					     shade_error **err)
{
	int v = cbor_rd_tiny(d, major);

	if (v >= 0) {
		if ((size_t)v * per <= d->len - d->pos) {
			*n = (uint64_t)v;
			return SHADE_OK;
		}
		d->pos--;
	}
	return cbor_rd_container_head(d, major, per, n, err);
}

/* An int64 from a major 0/1 head, or SHADE_ERR_OVERFLOW. */
static inline shade_status cbor_int_of(const struct cbor_head *h, int64_t *out,
				       shade_error **err)
{
	if (h->arg > INT64_MAX)
		return shade_error_set(err, SHADE_ERR_OVERFLOW,
				       "integer at offset %zu is outside the "
				       "64-bit signed range", h->at);
	*out = h->major == SHADE_CBOR_UINT ? (int64_t)h->arg
					   : -1 - (int64_t)h->arg;
	return SHADE_OK;
}

/* The limit values, defaults filled in. */
static inline unsigned cbor_opt_depth(const shade_cbor_opts *o)
{
	return o && o->max_depth ? o->max_depth : SHADE_CBOR_DEFAULT_MAX_DEPTH;
}

#endif /* SHADE_CBOR_INT_H */
