/*
 * value_encode.c - shade values to CBOR: the deterministic encoding of
 * every kind (mapping in shade/cbor.h), references through the
 * encode_ref hook, exceptions as tag 202.
 */
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include <talloc.h>

#include "shade/cbor.h"
#include "codec/cbor_int.h"
#include "value/value_int.h"

/* Report a failed buffer as SHADE_ERR_NOMEM. */
static shade_status buf_failed(shade_buf *b, shade_error **err)
{
	return shade_error_set(err, b->status, "out of memory after %zu "
			       "encoded bytes", b->len);
}

static shade_status enc(shade_buf *b, const shade_value *v,
			const shade_cbor_opts *o, unsigned depth,
			unsigned max_depth, shade_error **err);

/* Encode an exception as tag 202 [name, message, args, chain]. */
static shade_status enc_exc(shade_buf *b, const shade_error *e,
			    const shade_cbor_opts *o, unsigned depth,
			    unsigned max_depth, shade_error **err)
{
	shade_cbor_opts snap;
	size_t i;

	/* An exception's arguments travel by value (doc/protocol.md §3.2). */
	if (o != NULL && o->share != NULL) {
		snap = *o;
		snap.share = NULL;
		o = &snap;
	}
	/* tag, its array, the chain array and its triples each nest */
	if (depth + 3 + (e->chain_len > 0) > max_depth)
		return shade_error_set(err, SHADE_ERR_TOO_DEEP,
				       "exception nested deeper than %u",
				       max_depth);
	cbor_put_head(b, SHADE_CBOR_TAG, SHADE_CBOR_TAG_EXCEPTION);
	cbor_put_head(b, SHADE_CBOR_ARRAY, 4);
	shade_cbor_put_cstr(b, e->name ? e->name : "");
	shade_cbor_put_cstr(b, e->message ? e->message : "");
	if (e->args != NULL && shade_value_is_seq(e->args)) {
		shade_value t = *e->args;

		t.tag = SHADE_TUPLE;
		SHADE_CHECK(enc(b, &t, o, depth + 2, max_depth, err));
	} else {
		cbor_put_head(b, SHADE_CBOR_ARRAY, 0);
	}
	cbor_put_head(b, SHADE_CBOR_ARRAY, e->chain_len);
	for (i = 0; i < e->chain_len; i++) {
		cbor_put_head(b, SHADE_CBOR_ARRAY, 3);
		shade_cbor_put_cstr(b, e->chain[i].side ? e->chain[i].side : "");
		shade_cbor_put_cstr(b, e->chain[i].type ? e->chain[i].type : "");
		shade_cbor_put_cstr(b, e->chain[i].member ?
				    e->chain[i].member : "");
	}
	return b->status == SHADE_OK ? SHADE_OK : buf_failed(b, err);
}

/* For a list or dict v under options o that share: NULL when v is to
 * be shared, else (v marked SHADE_VF_BYVALUE) o without sharing, in
 * *snap, so that everything inside the snapshot is a snapshot too. */
static const shade_cbor_opts *by_value(const shade_cbor_opts *o,
				       const shade_value *v,
				       shade_cbor_opts *snap)
{
	if (!(v->tag & SHADE_VF_BYVALUE))
		return NULL;
	*snap = *o;
	snap->share = NULL;
	return snap;
}

/* Store the low w bytes of u at p, little-endian. */
static inline void put_le(uint8_t *p, uint64_t u, unsigned w)
{
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	memcpy(p, &u, w);
#else
	for (unsigned k = 0; k < w; k++)
		p[k] = (uint8_t)(u >> (8 * k));
#endif
}

/* Items per block of the typed-array encoder: their slots (64 KiB)
 * stay in cache between checking them and writing them. */
#define TYPED_BLOCK 4096

/* Write ints it[from..to) as w-byte items at q (item `from` first):
 * truncated to w bytes, which hold them. */
static void put_ints(uint8_t *q, const shade_value *it, size_t from,
		     size_t to, unsigned w)
{
	size_t i;

	/* One loop per width: each compiles to plain stores. */
	switch (w) {
	case 1:
		for (i = from; i < to; i++)
			q[i] = (uint8_t)it[i].u.i;
		break;
	case 2:
		for (i = from; i < to; i++)
			put_le(q + 2 * i, (uint64_t)it[i].u.i, 2);
		break;
	case 4:
		for (i = from; i < to; i++)
			put_le(q + 4 * i, (uint64_t)it[i].u.i, 4);
		break;
	default:
		for (i = from; i < to; i++)
			put_le(q + 8 * i, (uint64_t)it[i].u.i, 8);
		break;
	}
}

/* put_ints while checking, in one pass: writes ints it[from..to) as
 * w-byte items at q and widens *lo..*hi to their range; false when one
 * is not an int (what was written is to be dropped).  The caller writes
 * them again wider when the range needs it. */
static bool put_ints_checked(uint8_t *q, const shade_value *it, size_t from,
			     size_t to, unsigned w, int64_t *lo, int64_t *hi)
{
	int64_t l = *lo, h = *hi, x;
	unsigned bad = 0;
	size_t i;

	/* One loop per width, without a branch */
#define PUT_CHECKED(W)                                                      \
	for (i = from; i < to; i++) {                                       \
		x = it[i].u.i;                                              \
		bad |= shade_tag_kind_(&it[i]) ^ SHADE_INT;                 \
		l = x < l ? x : l;                                          \
		h = x > h ? x : h;                                          \
		put_le(q + (W) * i, (uint64_t)x, (W));                      \
	}
	switch (w) {
	case 1: PUT_CHECKED(1) break;
	case 2: PUT_CHECKED(2) break;
	case 4: PUT_CHECKED(4) break;
	default: PUT_CHECKED(8) break;
	}
#undef PUT_CHECKED
	*lo = l;
	*hi = h;
	return bad == 0;
}

/* Bytes of the narrowest of int8, int16, int32, int64 holding lo..hi. */
static unsigned int_width(int64_t lo, int64_t hi)
{
	if (lo >= INT8_MIN && hi <= INT8_MAX)
		return 1;
	if (lo >= INT16_MIN && hi <= INT16_MAX)
		return 2;
	if (lo >= INT32_MIN && hi <= INT32_MAX)
		return 4;
	return 8;
}

/* Whether double f has a float (NaN: any NaN) holding it exactly.
 * Without branches (the loop calling it vectorizes), and without
 * converting a double outside the float range. */
static inline bool fits_float(double f)
{
	double c = fabs(f) <= FLT_MAX ? f : 0.0;

	return ((double)(float)c == f) | (f != f);
}

/* Write floats it[from..to) as float64 at q (item `from` first), the
 * one NaN for every NaN (7.1). */
static void put_floats8(uint8_t *q, const shade_value *it, size_t from,
			size_t to)
{
	uint64_t u;
	size_t i;

	for (i = from; i < to; i++) {
		memcpy(&u, &it[i].u.f, 8);
		u = it[i].u.f != it[i].u.f ? UINT64_C(0x7ff8000000000000) : u;
		put_le(q + 8 * i, u, 8);
	}
}

/* Write floats it[from..to) as float32 at q (item `from` first) while
 * checking them, in one pass: false when one is not a float or not held
 * exactly by a float32 (the caller writes them again as float64).  A
 * NaN is written as the one NaN (7.1), in a second pass over the block
 * only when there is one. */
static bool put_floats4_checked(uint8_t *q, const shade_value *it,
				size_t from, size_t to)
{
	unsigned bad = 0, narrow = 1, nan = 0;
	uint32_t u4;
	size_t i;
	float f4;

	/* no early exit: the loop has no branch */
	for (i = from; i < to; i++) {
		double f = it[i].u.f;

		f4 = (float)(fabs(f) <= FLT_MAX ? f : 0.0);
		bad |= shade_tag_kind_(&it[i]) ^ SHADE_FLOAT;
		narrow &= ((double)f4 == f) | (f != f);
		nan |= f != f;
		memcpy(&u4, &f4, 4);
		put_le(q + 4 * i, u4, 4);
	}
	if (bad != 0 || !narrow)
		return false;
	for (i = from; nan && i < to; i++)
		if (it[i].u.f != it[i].u.f)
			put_le(q + 4 * i, UINT32_C(0x7fc00000), 4);
	return true;
}

/* Write seq s as a typed array (doc/protocol.md 7.4) when it may be
 * one: SHADE_CBOR_TYPED_MIN items or more, all ints or all floats.
 * False when it is not (nothing written); true when written or when b
 * failed (b->status says which).  One pass over the slots, a block at a
 * time, each item checked as it is written at the width so far; when a
 * block needs a wider one, everything up to its end is written again at
 * that width (at most three times for ints, once for floats). */
static bool enc_typed(shade_buf *b, const struct shade_seq *s)
{
	static const uint8_t int_tags[9] = {
		[1] = SHADE_CBOR_TAG_SINT8, [2] = SHADE_CBOR_TAG_SINT16LE,
		[4] = SHADE_CBOR_TAG_SINT32LE, [8] = SHADE_CBOR_TAG_SINT64LE
	};
	const shade_value *it = s->items;
	size_t i, j, e, n = s->len, off;
	int64_t lo, hi;
	unsigned w, nw, k, bad;
	bool flt;
	uint8_t head[9], *p;

	if (n < SHADE_CBOR_TYPED_MIN)
		return false;
	k = shade_tag_kind_(&it[0]);
	if (k != SHADE_INT && k != SHADE_FLOAT)
		return false;
	flt = k == SHADE_FLOAT;
	/* tag (2 bytes), byte string head (at most 9), 8 bytes an item */
	p = cbor_room(b, 11 + n * 8);
	if (p == NULL)
		return true;
	lo = hi = flt ? 0 : it[0].u.i;
	w = flt ? (fits_float(it[0].u.f) ? 4 : 8) : int_width(lo, hi);
	off = 2 + cbor_head_at(head, SHADE_CBOR_BYTES, (uint64_t)n * w);
	for (i = 0; i < n; i = e) {
		e = n - i > TYPED_BLOCK ? i + TYPED_BLOCK : n;
		if (!flt) {
			/* written as checked; again, wider, when the
			 * block's range needs it */
			if (!put_ints_checked(p + off, it, i, e, w, &lo, &hi))
				return false;
			if ((nw = int_width(lo, hi)) != w) {
				w = nw;
				off = 2 + cbor_head_at(head, SHADE_CBOR_BYTES,
						       (uint64_t)n * w);
				put_ints(p + off, it, 0, e, w);
			}
			continue;
		}
		/* float32 while they fit, checked as written */
		if (w == 4 && put_floats4_checked(p + off, it, i, e))
			continue;
		bad = 0;
		for (j = i; j < e; j++) /* no early exit: it vectorizes */
			bad |= shade_tag_kind_(&it[j]) ^ SHADE_FLOAT;
		if (bad != 0)
			return false;
		if (w == 4) {
			/* one needs float64: all of them, then */
			w = 8;
			off = 2 + cbor_head_at(head, SHADE_CBOR_BYTES,
					       (uint64_t)n * w);
			put_floats8(p + off, it, 0, i);
		}
		put_floats8(p + off, it, i, e);
	}
	cbor_head_at(p, SHADE_CBOR_TAG,
		     !flt ? int_tags[w]
		     : w == 4 ? SHADE_CBOR_TAG_FLOAT32LE
			      : SHADE_CBOR_TAG_FLOAT64LE);
	cbor_head_at(p + 2, SHADE_CBOR_BYTES, (uint64_t)n * w);
	b->len += off + n * w;
	return true;
}

/* enc_texts for strings of at most 23 bytes, in one pass: room for 24
 * bytes a string asked once, each length and string written as its slot
 * is checked, the texts' head written last (its width known only then:
 * the texts moved down when it is narrower than the 5 bytes left for
 * it).  False, nothing written, when a slot is not such a string. */
static bool enc_texts_short(shade_buf *b, const shade_value *it, size_t n)
{
	size_t i, len, total, w;
	uint8_t *p, *lens, *t0, *q;
	unsigned bad = 0;

	if (n > UINT32_MAX / 24)
		return false;
	/* tag (2), array of 2 (1), lengths' head (at most 9), texts' head
	 * (5: the texts are under 4 GiB) */
	p = cbor_room(b, 17 + n * 24);
	if (p == NULL)
		return false;
	lens = p + 3;
	lens += cbor_head_at(lens, SHADE_CBOR_BYTES, n);
	t0 = q = lens + n + 5;
	for (i = 0; i < n; i++) {
		len = it[i].len;
		bad |= (unsigned)(shade_tag_kind_(&it[i]) ^ SHADE_STR) |
		       (unsigned)(len > 23);
		if (bad != 0)
			return false;
		lens[i] = (uint8_t)len;
		if (len > 0)
			cbor_copy_short(q, (const uint8_t *)it[i].u.s, len);
		q += len;
	}
	total = (size_t)(q - t0);
	cbor_head_at(p, SHADE_CBOR_TAG, SHADE_CBOR_TAG_TEXTS);
	p[2] = SHADE_CBOR_ARRAY << 5 | 2;
	w = cbor_head_at(lens + n, SHADE_CBOR_TEXT, total);
	if (w < 5)
		memmove(lens + n + w, t0, total);
	b->len += (size_t)(lens + n + w + total - p);
	return true;
}

/* Write seq s as a text array (doc/protocol.md 7.5) when it may be
 * one: SHADE_CBOR_TYPED_MIN items or more, all strs of at most
 * SHADE_CBOR_TEXTS_MAX bytes.  False when it is not (nothing written);
 * true when written or when b failed (b->status says which).  One pass
 * over the slots checks them (no early exit: it vectorizes), one writes
 * each length and each string's bytes. */
static bool enc_texts(shade_buf *b, const struct shade_seq *s)
{
	const shade_value *it = s->items;
	size_t i, n = s->len, total = 0, off;
	unsigned bad = 0;
	uint8_t *p, *lens, *q;

	if (n < SHADE_CBOR_TYPED_MIN || shade_tag_kind_(&it[0]) != SHADE_STR)
		return false;
	if (enc_texts_short(b, it, n) || b->status != SHADE_OK)
		return true;
	for (i = 0; i < n; i++) {
		bad |= (unsigned)(shade_tag_kind_(&it[i]) ^ SHADE_STR) |
		       (unsigned)(it[i].len > SHADE_CBOR_TEXTS_MAX);
		total += it[i].len;
	}
	if (bad != 0)
		return false;
	/* tag (2 bytes), array of 2 (1), two heads (at most 9 each) */
	p = cbor_room(b, 21 + n + total);
	if (p == NULL)
		return true;
	off = cbor_head_at(p, SHADE_CBOR_TAG, SHADE_CBOR_TAG_TEXTS);
	p[off++] = SHADE_CBOR_ARRAY << 5 | 2;
	off += cbor_head_at(p + off, SHADE_CBOR_BYTES, n);
	lens = p + off;
	q = lens + n;
	q += cbor_head_at(q, SHADE_CBOR_TEXT, total);
	for (i = 0; i < n; i++) {
		size_t len = it[i].len;

		lens[i] = (uint8_t)len;
		if (len > 0 && len < 24)
			cbor_copy_short(q, (const uint8_t *)it[i].u.s, len);
		else if (len > 0)
			memcpy(q, it[i].u.s, len);
		q += len;
	}
	b->len += (size_t)(q - p);
	return true;
}

/* Items of a block of enc_text_run: 24 KiB of room asked at once. */
#define TEXT_BLOCK 1024

/* Write the short strings (str of 0-23 bytes: a one-byte head) that
 * lead it[0..n), room for a block of them asked once, each a head byte
 * and a fixed-size copy: a list of short strings.  Returns how many were
 * written: 0 when it[0] is not one or b failed (b->status). */
static size_t enc_text_run(shade_buf *b, const shade_value *it, size_t n)
{
	size_t i = 0, j, e, len;
	uint8_t *p, *q;

	while (i < n) {
		e = n - i > TEXT_BLOCK ? i + TEXT_BLOCK : n;
		p = cbor_room(b, (e - i) * 24);
		if (p == NULL)
			return i;
		q = p;
		for (j = i; j < e; j++) {
			len = it[j].len;
			if (shade_tag_kind_(&it[j]) != SHADE_STR || len > 23)
				break;
			*q = (uint8_t)(SHADE_CBOR_TEXT << 5 | len);
			if (len > 0)
				cbor_copy_short(q + 1, (const uint8_t *)it[j].u.s,
						len);
			q += 1 + len;
		}
		b->len += (size_t)(q - p);
		if (j < e)
			return j;
		i = j;
	}
	return i;
}

/* Encode v at nesting depth `depth`. */
static shade_status enc(shade_buf *b, const shade_value *v,
			const shade_cbor_opts *o, unsigned depth,
			unsigned max_depth, shade_error **err)
{
	const shade_cbor_opts *share_o = o;
	shade_cbor_opts snap;
	uint8_t *p;
	size_t i;

	switch (shade_tag_kind_(v)) {
	case SHADE_NONE:
		cbor_put_byte(b, CBOR_IB_NULL);
		break;
	case SHADE_BOOL:
		cbor_put_byte(b, v->u.b ? CBOR_IB_TRUE : CBOR_IB_FALSE);
		break;
	case SHADE_INT:
		cbor_put_int(b, v->u.i);
		break;
	case SHADE_FLOAT:
		p = cbor_room(b, 9);
		if (p != NULL)
			b->len += cbor_float_at(p, v->u.f);
		break;
	case SHADE_STR:
		cbor_put_string(b, SHADE_CBOR_TEXT, v->u.s, v->len);
		break;
	case SHADE_BYTES:
		cbor_put_string(b, SHADE_CBOR_BYTES, v->u.p, v->len);
		break;
	case SHADE_LIST:
		if (o != NULL && o->share != NULL && (o = by_value(o, v, &snap))
						     == NULL)
			goto shared;
		if (depth + 1 > max_depth)
			goto too_deep;
		cbor_put_head(b, SHADE_CBOR_TAG, SHADE_CBOR_TAG_LIST);
		depth++;
		/* fall through */
	case SHADE_TUPLE: {
		const struct shade_seq *s = v->u.seq;

		if (depth + 1 > max_depth)
			goto too_deep;
		/* read atomically: the connection turns it on from HELLO
		 * while other threads encode */
		if (o != NULL && __atomic_load_n(&o->typed_arrays,
						 __ATOMIC_RELAXED) &&
		    enc_typed(b, s))
			break;
		if (o != NULL && __atomic_load_n(&o->text_arrays,
						 __ATOMIC_RELAXED) &&
		    enc_texts(b, s))
			break;
		cbor_put_head(b, SHADE_CBOR_ARRAY, s->len);
		for (i = 0; i < s->len && b->status == SHADE_OK; i++) {
			const shade_value *it = &s->items[i];

			/* fast path: integers need no recursion */
			if (shade_tag_kind_(it) == SHADE_INT) {
				cbor_put_int(b, it->u.i);
				continue;
			}
			/* and short strings no call: those in a row in one
			 * loop (a list of them) */
			if (shade_tag_kind_(it) == SHADE_STR && it->len < 24) {
				size_t k = enc_text_run(b, it, s->len - i);

				if (k == 0)
					break; /* b failed */
				i += k - 1;
				continue;
			}
			SHADE_CHECK(enc(b, it, o, depth + 1, max_depth, err));
		}
		break;
	}
	case SHADE_DICT: {
		const struct shade_dict *d = v->u.dict;

		if (o != NULL && o->share != NULL && (o = by_value(o, v, &snap))
						     == NULL)
			goto shared;
		if (depth + 1 > max_depth)
			goto too_deep;
		cbor_put_head(b, SHADE_CBOR_MAP, d->len);
		for (i = 0; i < d->used && b->status == SHADE_OK; i++) {
			const struct shade_dict_entry *e = &d->entries[i];

			if (shade_tag_kind_(&e->key) == SHADE_DELETED_)
				continue;
			SHADE_CHECK(enc(b, &e->key, o, depth + 1, max_depth,
					err));
			SHADE_CHECK(enc(b, &e->val, o, depth + 1, max_depth,
					err));
		}
		break;
	}
	case SHADE_REF:
		if (o == NULL || o->hooks == NULL ||
		    o->hooks->encode_ref == NULL)
			return shade_error_set(err, SHADE_ERR_TYPE,
					       "cannot encode a reference "
					       "without an encode_ref hook");
		SHADE_CHECK(o->hooks->encode_ref(o->hooks->udata, b,
						 v->u.ref, err));
		break;
	case SHADE_EXC:
		return enc_exc(b, v->u.exc, o, depth, max_depth, err);
	default:
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "invalid value tag 0x%02x", v->tag);
	}
	if (b->status != SHADE_OK)
		return buf_failed(b, err);
	return SHADE_OK;
shared:
	/* By reference: the hook writes one item (a tag 200). */
	return share_o->share(share_o->hooks ? share_o->hooks->udata : NULL, b,
			      v, err);
too_deep:
	return shade_error_set(err, SHADE_ERR_TOO_DEEP,
			       "value nested deeper than %u levels", max_depth);
}

shade_status shade_cbor_encode_value(shade_buf *b, const shade_value *v,
				     const shade_cbor_opts *opts,
				     shade_error **err)
{
	if (b->status != SHADE_OK)
		return buf_failed(b, err);
	return enc(b, v, opts, 0, cbor_opt_depth(opts), err);
}

uint8_t *shade_cbor_encode(TALLOC_CTX *mem_ctx, const shade_value *v,
			   const shade_cbor_opts *opts, size_t *len,
			   shade_error **err)
{
	shade_buf *b = shade_buf_new(NULL, 64);
	uint8_t *out = NULL;

	if (b == NULL) {
		shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
		return NULL;
	}
	if (shade_cbor_encode_value(b, v, opts, err) == SHADE_OK)
		out = shade_buf_steal(mem_ctx, b, len);
	talloc_free(b);
	return out;
}
