/*
 * value_decode.c - CBOR to shade values: strict, bounded decoding of
 * one item into a new box (mapping and error rules in shade/cbor.h),
 * references through the decode_ref hook.
 *
 * Invariants:
 *   - a declared length is compared with the bytes left before any
 *     allocation, so memory stays proportional to the input;
 *   - the decoder builds into a temporary talloc context and moves the
 *     result onto the caller's context only on success;
 *   - decoded str/bytes data inside containers is copied into an arena
 *     (chunks hung below the outermost decoded container, flagged
 *     SHADE_VF_BORROWED | SHADE_VF_NUL) instead of one allocation per
 *     string; the chunks never exceed the input left, so a small frame
 *     never causes a large allocation.  A run of short ASCII texts in an
 *     array (a list of strings) is copied in one piece, heads included,
 *     each string's NUL written over the head that follows it in the
 *     copy (dec_text_run).
 */
#include <inttypes.h>
#include <math.h>
#include <string.h>

#include <talloc.h>

#include "shade/cbor.h"
#include "codec/cbor_int.h"
#include "base/bigbuf_int.h"
#include "base/buf_int.h"
#include "value/value_int.h"

/* Decoder state for one shade_cbor_decode_value call. */
struct dstate {
	shade_cbor_dec *d;          /* the cursor */
	const shade_cbor_opts *o;   /* caller's options (may be NULL) */
	unsigned max_depth;         /* nesting limit */
	uint64_t max_len;           /* per-item length limit */
	uint64_t max_items;         /* total item limit, 0: none */
	uint64_t items;             /* items decoded so far */
	bool zero_copy;             /* borrow strings from the input */
	struct cbor_views *views;   /* large strings as views, or NULL */
	TALLOC_CTX *tmp;            /* scratch context handed to hooks, made
				     * on first use (dstate_tmp), or NULL */
	TALLOC_CTX *arena_owner;    /* outermost container, or NULL */
	uint8_t *arena;             /* free space in the current chunk */
	size_t arena_left;          /* bytes free there */
	size_t arena_next;          /* size of the next chunk */
	shade_error **err;          /* where failures go */
};

/* Arena chunks from this size on are blocks kept for reuse, and the
 * next chunk takes every byte the input may still need. */
#define ARENA_BIG ((size_t)64 << 10)

/* A new arena chunk holding at least n bytes, at most `bound` (an upper
 * limit of the string data still to come) unless n is more.  Small
 * chunks double; once they reach ARENA_BIG (many strings: a list of
 * them) one chunk of `bound` bytes from bigbuf_alloc() ends the growth,
 * its pages kept for the next decode.  False when out of memory. */
static bool arena_grow(struct dstate *s, size_t n, size_t bound)
{
	size_t sz = s->arena_next < bound ? s->arena_next : bound;

	if (s->arena_next >= ARENA_BIG && bound >= BIGBUF_MIN)
		sz = bound;
	if (sz < n)
		sz = n;
	s->arena = sz >= BIGBUF_MIN
			   ? talloc_steal(s->arena_owner, bigbuf_alloc(sz))
			   : talloc_size(s->arena_owner, sz);
	if (s->arena == NULL) {
		s->arena_left = 0;
		return false;
	}
	talloc_set_name_const(s->arena, "shade decode arena");
	s->arena_left = sz;
	if (s->arena_next < ((size_t)1 << 20))
		s->arena_next *= 2;
	return true;
}

/* Storage for n bytes of string data (n includes the NUL): from the
 * arena when inside a container, else a block of its own on owner.
 * `bound` is an upper limit of all string data still to come. */
static uint8_t *str_storage(struct dstate *s, TALLOC_CTX *owner, size_t n,
			    size_t bound, bool *borrowed)
{
	uint8_t *p;

	if (n >= BIGBUF_MIN) {
		/* Large: a block of its own whose pages are kept for reuse,
		 * below the arena's owner when inside a container. */
		*borrowed = s->arena_owner != NULL;
		return talloc_steal(*borrowed ? s->arena_owner : owner,
				    bigbuf_alloc(n));
	}
	if (s->arena_owner == NULL) {
		*borrowed = false;
		return talloc_size(owner, n);
	}
	*borrowed = true;
	if (s->arena_left < n && !arena_grow(s, n, bound))
		return NULL;
	p = s->arena;
	s->arena += n;
	s->arena_left -= n;
	return p;
}

static shade_status dec_item(struct dstate *s, TALLOC_CTX *owner,
			     shade_value *out, unsigned depth);

/* s's scratch context in *out, made on first use: the texts of an
 * exception and a reference hook's scratch need it, most values not. */
static shade_status dstate_tmp(struct dstate *s, TALLOC_CTX **out)
{
	if (s->tmp == NULL && (s->tmp = talloc_new(NULL)) == NULL)
		return shade_error_set(s->err, SHADE_ERR_NOMEM,
				       "out of memory");
	*out = s->tmp;
	return SHADE_OK;
}

/* A large definite string of total bytes at d->buf + from as a view of
 * the input instead of a copy (struct cbor_views): SHADE_OK with out
 * set, or SHADE_AGAIN when it has to be copied after all. */
static shade_status view_string(struct dstate *s, TALLOC_CTX *owner,
				shade_value *out, unsigned kind, size_t from,
				size_t total)
{
	struct cbor_views *v = s->views;
	const uint8_t *p = s->d->buf + from, *f = v->frame;
	size_t off, size;
	bool nul;

	if (f == NULL) { /* the input outlives the value: borrowed */
		out->tag = (uint8_t)(kind | SHADE_VF_BORROWED);
		out->u.p = p;
		return SHADE_OK;
	}
	size = talloc_get_size(f);
	if (p < f || (size_t)(p - f) > v->frame_len ||
	    total > v->frame_len - (size_t)(p - f))
		return SHADE_AGAIN; /* not inside the frame */
	off = (size_t)(p - f);
	if (s->arena_owner == NULL &&
	    (v->adopted || off > SHADE_VIEW_OFFSET_MAX))
		return SHADE_AGAIN;
	/* A NUL after the data when the frame ends with it and its block
	 * has a byte to spare (the transport leaves one). */
	nul = off + total == v->frame_len && size > v->frame_len;
	if (!v->adopted) {
		/* The frame goes below the value: the outermost container
		 * (like the arena) or, for a string alone, its box. */
		v->parent = talloc_parent(f);
		talloc_steal(s->arena_owner != NULL ? s->arena_owner : owner,
			     f);
		v->adopted = true;
	}
	if (nul)
		((uint8_t *)v->frame)[off + total] = '\0';
	if (s->arena_owner != NULL) {
		out->tag = (uint8_t)(kind | SHADE_VF_BORROWED |
				     (nul ? SHADE_VF_NUL : 0));
		out->u.p = p;
	} else {
		shade_slot_view_(out, kind, f, off, (uint32_t)total, nul);
	}
	return SHADE_OK;
}

/* Decode the string whose head h was just read into out. */
static shade_status dec_string(struct dstate *s, TALLOC_CTX *owner,
			       shade_value *out, const struct cbor_head *h)
{
	shade_cbor_dec *d = s->d;
	size_t from = d->pos, total;
	unsigned kind = h->major == SHADE_CBOR_TEXT ? SHADE_STR : SHADE_BYTES;
	uint8_t *p;
	bool borrowed;

	SHADE_CHECK(cbor_scan_string(d, h, s->max_len, &total, s->err));
	if (total > SHADE_STR_MAX)
		return shade_error_set(s->err, SHADE_ERR_LIMIT,
				       "string at offset %zu is too long",
				       h->at);
	out->len = (uint32_t)total;
	if (total == 0) {
		out->tag = (uint8_t)(kind | SHADE_VF_BORROWED | SHADE_VF_NUL);
		out->u.s = shade_empty_;
		return SHADE_OK;
	}
	if (s->zero_copy && h->arg != SHADE_CBOR_INDEFINITE) {
		out->tag = (uint8_t)(kind | SHADE_VF_BORROWED);
		out->u.p = d->buf + from;
		return SHADE_OK;
	}
	if (s->views != NULL && total >= BUF_REF_MIN &&
	    h->arg != SHADE_CBOR_INDEFINITE &&
	    view_string(s, owner, out, kind, from, total) == SHADE_OK)
		return SHADE_OK;
	p = str_storage(s, owner, total + 1, d->len - from + 1, &borrowed);
	if (p == NULL)
		return shade_error_set(s->err, SHADE_ERR_NOMEM,
				       "out of memory for the string at "
				       "offset %zu", h->at);
	if (h->arg == SHADE_CBOR_INDEFINITE)
		cbor_gather_chunks(d, from, p);
	else
		memcpy(p, d->buf + from, total);
	p[total] = '\0';
	out->tag = (uint8_t)(kind | SHADE_VF_NUL |
			     (borrowed ? SHADE_VF_BORROWED : 0));
	out->u.p = p;
	return SHADE_OK;
}

/* Fill slot v as the str of n bytes at p, borrowed (the arena's). */
static inline void slot_arena_text(shade_value *v, uint8_t *p, size_t n)
{
	v->tag = SHADE_STR | SHADE_VF_NUL | SHADE_VF_BORROWED;
	v->reserved_[0] = v->reserved_[1] = v->reserved_[2] = 0;
	v->len = (uint32_t)n;
	v->u.p = p;
}

/* The text string of 1-23 bytes at the cursor (one-byte head) as the
 * next item of q, when it is ASCII, fits in the input and the limits,
 * and the arena has room (or gets a chunk).  False, cursor unmoved,
 * when dec_item must decode it (and say what is wrong). */
static bool dec_short_text(struct dstate *s, struct shade_seq *q)
{
	shade_cbor_dec *d = s->d;
	size_t n = d->buf[d->pos] & 31, i;
	const uint8_t *src = d->buf + d->pos + 1;
	shade_value *v = &q->items[q->len];
	uint8_t hi = 0, *p;

	if (s->max_items != 0 || s->zero_copy || n > d->len - d->pos - 1 ||
	    n > s->max_len || s->arena_owner == NULL)
		return false;
	for (i = 0; i < n; i++)
		hi |= src[i];
	if (hi & 0x80) /* not ASCII: the UTF-8 check of dec_string */
		return false;
	if (s->arena_left < n + 1 &&
	    !arena_grow(s, n + 1, d->len - d->pos))
		return false;
	p = s->arena;
	s->arena += n + 1;
	s->arena_left -= n + 1;
	cbor_copy_short(p, src, n);
	p[n] = '\0';
	slot_arena_text(v, p, n);
	d->pos += n + 1;
	q->len++;
	return true;
}

/* True when a byte of p[0, n) has its high bit set (not ASCII): eight
 * bytes a step. */
static bool any_high_bit(const uint8_t *p, size_t n)
{
	uint64_t acc = 0, w;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		memcpy(&w, p + i, 8);
		acc |= w;
	}
	for (; i < n; i++)
		acc |= p[i];
	return (acc & UINT64_C(0x8080808080808080)) != 0;
}

/* Shortest run of short texts dec_text_run takes: below it the
 * per-item path costs no more. */
#define TEXT_RUN_MIN 4

/* Most items dec_text_run takes in one call (48 KiB of input at most). */
#define TEXT_RUN_MAX 2048

/* A run of text strings of 0-23 bytes (one-byte heads 0x60-0x77) at the
 * cursor, at most `room` of them (and TEXT_RUN_MAX), as the next items
 * of q: the input the run may span (24 bytes an item, as much as the
 * arena holds) is copied into the arena in one piece, then the heads are walked once, each item a
 * slot written and the head byte after its data overwritten with its
 * NUL in the copy (the copy has one byte more for the last).  Taken
 * when the run holds TEXT_RUN_MIN strings or more, is ASCII and fits in
 * the input, the limits and the arena.  False, cursor unmoved, when the
 * items must be decoded one by one (and said what is wrong). */
static bool dec_text_run(struct dstate *s, struct shade_seq *q, size_t room)
{
	shade_cbor_dec *d = s->d;
	const uint8_t *src = d->buf + d->pos;
	size_t left = d->len - d->pos, k = 0, o = 0, n, most;
	shade_value *v = &q->items[q->len];
	uint8_t *p;

	if (s->max_items != 0 || s->zero_copy || s->max_len < 23 ||
	    s->arena_owner == NULL || room < TEXT_RUN_MIN)
		return false;
	if (room > TEXT_RUN_MAX)
		room = TEXT_RUN_MAX;
	most = room * 24 < left ? room * 24 : left;
	if (s->arena_left < most + 1) {
		/* what the arena holds, or a new chunk for all of it */
		if (s->arena_left > 24 * TEXT_RUN_MIN)
			most = s->arena_left - 1;
		else if (!arena_grow(s, most + 1, left + 1))
			return false;
	}
	p = s->arena;
	memcpy(p, src, most);
	/* Where 24 bytes are left any such item fits: one test an item;
	 * then the last ones with their length checked. */
	for (; k < room && most - o >= 24; k++) {
		n = (size_t)src[o] - 0x60;
		if (n >= 24)
			break;
		slot_arena_text(&v[k], p + o + 1, n);
		o += 1 + n;
		p[o] = '\0'; /* the next head in the copy, or the extra byte */
	}
	for (; k < room && o < most; k++) {
		n = (size_t)src[o] - 0x60;
		if (n >= 24 || n >= most - o)
			break;
		slot_arena_text(&v[k], p + o + 1, n);
		o += 1 + n;
		p[o] = '\0';
	}
	if (k < TEXT_RUN_MIN || any_high_bit(src, o))
		return false;
	s->arena += o + 1;
	s->arena_left -= o + 1;
	d->pos += o;
	q->len += k;
	return true;
}

/* Check a container of n items (n per-byte units) at h against the
 * limits; SHADE_OK when it may be built. */
static shade_status check_count(struct dstate *s, const struct cbor_head *h,
				uint64_t n, unsigned per)
{
	shade_cbor_dec *d = s->d;

	if (n != SHADE_CBOR_INDEFINITE && n > (d->len - d->pos) / per)
		return shade_error_set(s->err, SHADE_ERR_TRUNCATED,
				       "%s at offset %zu declares %" PRIu64
				       " items, only %zu bytes left",
				       cbor_major_name(h->major), h->at, n,
				       d->len - d->pos);
	if (n != SHADE_CBOR_INDEFINITE && n > s->max_len)
		return shade_error_set(s->err, SHADE_ERR_LIMIT,
				       "%s at offset %zu of %" PRIu64 " items "
				       "exceeds the limit of %" PRIu64,
				       cbor_major_name(h->major), h->at, n,
				       s->max_len);
	return SHADE_OK;
}

/* Fail with SHADE_ERR_TOO_DEEP when children at depth+1 are too deep. */
static shade_status check_depth(struct dstate *s, const struct cbor_head *h,
				unsigned depth)
{
	if (depth + 1 > s->max_depth)
		return shade_error_set(s->err, SHADE_ERR_TOO_DEEP,
				       "item at offset %zu nests deeper than "
				       "%u levels", h->at, s->max_depth);
	return SHADE_OK;
}

/* Decode an array (head h read) into out as a tuple. */
static shade_status dec_array(struct dstate *s, TALLOC_CTX *owner,
			      shade_value *out, const struct cbor_head *h,
			      unsigned depth)
{
	shade_cbor_dec *d = s->d;
	bool indef = h->arg == SHADE_CBOR_INDEFINITE;
	size_t cap;
	struct shade_seq *q;

	SHADE_CHECK(check_depth(s, h, depth));
	SHADE_CHECK(check_count(s, h, h->arg, 1));
	cap = indef ? 0 : (size_t)h->arg;
	q = shade_seq_alloc_(owner, cap);
	if (q == NULL)
		return shade_error_set(s->err, SHADE_ERR_NOMEM,
				       "out of memory for the array at "
				       "offset %zu", h->at);
	out->tag = SHADE_TUPLE;
	out->u.seq = q;
	if (s->arena_owner == NULL)
		s->arena_owner = q;
	for (;;) {
		if (indef) {
			if (shade_cbor_at_break(d)) {
				d->pos++;
				break;
			}
			if (q->len >= s->max_len)
				return shade_error_set(s->err, SHADE_ERR_LIMIT,
						       "array at offset %zu "
						       "exceeds %" PRIu64
						       " items", h->at,
						       s->max_len);
			if (shade_seq_reserve_(q, q->len + 1) != SHADE_OK)
				return shade_error_set(s->err, SHADE_ERR_NOMEM,
						       "out of memory");
		} else if (q->len == cap) {
			break;
		}
		/* fast path: integers (major 0 and 1) */
		if (s->max_items == 0 && d->pos < d->len &&
		    d->buf[d->pos] < 0x40) {
			shade_value *slot = &q->items[q->len];
			uint8_t ib = d->buf[d->pos];
			struct cbor_head ih;

			if ((ib & 0x1f) < 24) {
				d->pos++;
				shade_slot_int_(slot, ib < 0x20 ? ib
								: 0x1f - ib);
			} else {
				SHADE_CHECK(cbor_rd_head(d, &ih, s->err));
				shade_slot_int_(slot, 0);
				SHADE_CHECK(cbor_int_of(&ih, &slot->u.i, s->err));
			}
			q->len++;
			continue;
		}
		/* fast path: a run of short text strings into the arena in
		 * one copy (a list of them), or one of them alone; anything
		 * unusual takes dec_item below */
		if (d->pos < d->len && d->buf[d->pos] >= 0x60 &&
		    d->buf[d->pos] < 0x78 &&
		    ((!indef && dec_text_run(s, q, cap - q->len)) ||
		     (d->buf[d->pos] > 0x60 && dec_short_text(s, q))))
			continue;
		shade_slot_int_(&q->items[q->len], 0);
		q->items[q->len].tag = SHADE_NONE;
		SHADE_CHECK(dec_item(s, q, &q->items[q->len], depth + 1));
		if (shade_tag_kind_(&q->items[q->len]) == SHADE_REF)
			shade_seq_watch_refs_(q);
		q->len++;
	}
	return SHADE_OK;
}

/* Decode a map (head h read) into out as a dict. */
static shade_status dec_map(struct dstate *s, TALLOC_CTX *owner,
			    shade_value *out, const struct cbor_head *h,
			    unsigned depth)
{
	shade_cbor_dec *d = s->d;
	bool indef = h->arg == SHADE_CBOR_INDEFINITE;
	struct shade_dict *m;
	uint64_t i;

	SHADE_CHECK(check_depth(s, h, depth));
	SHADE_CHECK(check_count(s, h, h->arg, 2));
	m = shade_dict_alloc_(owner, indef ? 0 : (size_t)h->arg);
	if (m == NULL)
		return shade_error_set(s->err, SHADE_ERR_NOMEM,
				       "out of memory for the map at offset "
				       "%zu", h->at);
	out->tag = SHADE_DICT;
	out->u.dict = m;
	if (s->arena_owner == NULL)
		s->arena_owner = m;
	for (i = 0;; i++) {
		shade_value k = shade_value_none(), v = shade_value_none();
		size_t kat = d->pos;
		uint64_t hash;
		shade_status st;

		if (indef) {
			if (shade_cbor_at_break(d)) {
				d->pos++;
				break;
			}
			if (i >= s->max_len)
				return shade_error_set(s->err, SHADE_ERR_LIMIT,
						       "map at offset %zu "
						       "exceeds %" PRIu64
						       " entries", h->at,
						       s->max_len);
		} else if (i == h->arg) {
			break;
		}
		SHADE_CHECK(dec_item(s, m, &k, depth + 1));
		if (!shade_value_hash_(&k, &hash)) {
			/* Named before the slot is cleared (then a none). */
			const char *kind =
				shade_kind_name(shade_value_kind(&k));

			shade_slot_clear_(&k);
			return shade_error_set(s->err, SHADE_ERR_TYPE,
					       "map key at offset %zu is a %s, "
					       "which cannot be a dict key",
					       kat, kind);
		}
		if (indef && shade_cbor_at_break(d)) {
			shade_slot_clear_(&k);
			return shade_error_set(s->err, SHADE_ERR_MALFORMED,
					       "map at offset %zu has a key "
					       "without a value", h->at);
		}
		st = dec_item(s, m, &v, depth + 1);
		if (st == SHADE_OK)
			st = shade_dict_add_new_(m, &k, &v, hash);
		if (st != SHADE_OK) {
			shade_slot_clear_(&k);
			shade_slot_clear_(&v);
			if (st == SHADE_AGAIN)
				return shade_error_set(s->err,
						       SHADE_ERR_MALFORMED,
						       "duplicate map key at "
						       "offset %zu", kat);
			return shade_error_set(s->err, st, "cannot store the "
					       "map entry at offset %zu", kat);
		}
	}
	return SHADE_OK;
}

/* Decode a bignum (tag 2 or 3, content at the cursor) into an int. */
static shade_status dec_bignum(struct dstate *s, shade_value *out,
			       const struct cbor_head *h)
{
	const uint8_t *p = NULL;
	size_t len = 0, i;
	uint64_t u = 0;

	SHADE_CHECK(shade_cbor_read_bytes(s->d, &p, &len, s->err));
	while (len > 0 && *p == 0) {
		p++;
		len--;
	}
	if (len > 8)
		goto overflow;
	for (i = 0; i < len; i++)
		u = u << 8 | p[i];
	if (u > INT64_MAX)
		goto overflow;
	*out = shade_value_int(h->arg == SHADE_CBOR_TAG_POS_BIGNUM
			       ? (int64_t)u : -1 - (int64_t)u);
	return SHADE_OK;
overflow:
	return shade_error_set(s->err, SHADE_ERR_OVERFLOW,
			       "bignum at offset %zu is outside the 64-bit "
			       "signed range", h->at);
}

/* Decode the content of tag 202 into an exception. */
static shade_status dec_exc(struct dstate *s, TALLOC_CTX *owner,
			    shade_value *out, const struct cbor_head *h,
			    unsigned depth)
{
	shade_cbor_dec *d = s->d;
	shade_error *e = NULL;
	char *name, *msg;
	shade_value args = shade_value_none();
	uint64_t n, i;
	TALLOC_CTX *saved_owner = s->arena_owner, *tmp = NULL;
	uint8_t *saved_arena = s->arena;
	size_t saved_left = s->arena_left;
	shade_status st;

	SHADE_CHECK(cbor_rd_container(d, SHADE_CBOR_ARRAY, 1, &n, s->err));
	if (n != 4)
		return shade_error_set(s->err, SHADE_ERR_PROTOCOL,
				       "exception at offset %zu is not a "
				       "4-item array", h->at);
	SHADE_CHECK(check_depth(s, h, depth + 1));
	SHADE_CHECK(dstate_tmp(s, &tmp));
	SHADE_CHECK(shade_cbor_read_text_dup(tmp, d, &name, NULL, s->err));
	SHADE_CHECK(shade_cbor_read_text_dup(tmp, d, &msg, NULL, s->err));
	shade_error_set_named(&e, shade_status_from_name(name), name, "%s",
			      msg);
	if (e == NULL)
		return shade_error_set(s->err, SHADE_ERR_NOMEM,
				       "out of memory");
	talloc_steal(owner, e);
	out->tag = SHADE_EXC;
	out->u.exc = e;
	/* args: an array, an arena root of its own below the error */
	if (d->pos < d->len && d->buf[d->pos] >> 5 != SHADE_CBOR_ARRAY)
		return shade_error_set(s->err, SHADE_ERR_PROTOCOL,
				       "exception arguments at offset %zu are "
				       "not an array", d->pos);
	s->arena_owner = NULL;
	s->arena_left = 0;
	st = dec_item(s, e, &args, depth + 2);
	s->arena_owner = saved_owner;
	s->arena = saved_arena;
	s->arena_left = saved_left;
	SHADE_CHECK(st);
	e->args = shade_slot_box_(e, &args);
	if (e->args == NULL) {
		shade_slot_clear_(&args);
		return shade_error_set(s->err, SHADE_ERR_NOMEM,
				       "out of memory");
	}
	SHADE_CHECK(cbor_rd_container(d, SHADE_CBOR_ARRAY, 1, &n, s->err));
	SHADE_CHECK(check_depth(s, h, depth + 2));
	if (n > 0)
		SHADE_CHECK(check_depth(s, h, depth + 3));
	if (n == SHADE_CBOR_INDEFINITE)
		return shade_error_set(s->err, SHADE_ERR_PROTOCOL,
				       "exception chain at offset %zu must "
				       "have a definite length", d->pos);
	for (i = 0; i < n; i++) {
		char *f[3];
		uint64_t three;
		int k;

		SHADE_CHECK(cbor_rd_container(d, SHADE_CBOR_ARRAY, 1, &three,
					      s->err));
		if (three != 3)
			return shade_error_set(s->err, SHADE_ERR_PROTOCOL,
					       "exception chain entry before "
					       "offset %zu is not [side, type, "
					       "member]", d->pos);
		for (k = 0; k < 3; k++)
			SHADE_CHECK(shade_cbor_read_text_dup(tmp, d, &f[k],
							     NULL, s->err));
		if (shade_error_push_frame(e, f[0], f[1], f[2]) != SHADE_OK)
			return shade_error_set(s->err, SHADE_ERR_NOMEM,
					       "out of memory");
	}
	return SHADE_OK;
}

/* The w-byte unsigned number at p, little-endian (le) or big-endian;
 * with w and le constant it compiles to one load. */
static inline uint64_t ld_num(const uint8_t *p, unsigned w, bool le)
{
	uint64_t u = 0;

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	if (le) {
		memcpy(&u, p, w);
		return u;
	}
#endif
	for (unsigned k = 0; k < w; k++)
		u |= (uint64_t)p[le ? k : w - 1 - k] << (8 * k);
	return u;
}

/* Fill the n int slots at v from the w-byte items at p (signed sg,
 * little-endian le).  False when an unsigned 64-bit item exceeds
 * int64 (*bad: its index). */
static inline bool fill_ints(shade_value *v, const uint8_t *p, size_t n,
			     unsigned w, bool le, bool sg, size_t *bad)
{
	unsigned shift = 64 - 8 * w;
	uint64_t u;
	size_t i;

	for (i = 0; i < n; i++) {
		u = ld_num(p + i * w, w, le);
		if (sg)
			shade_slot_int_(&v[i], (int64_t)(u << shift) >> shift);
		else if (u > INT64_MAX)
			break;
		else
			shade_slot_int_(&v[i], (int64_t)u);
	}
	*bad = i;
	return i == n;
}

/* Fill the n float slots at v from the w-byte IEEE 754 items at p
 * (half and single widened exactly). */
static inline void fill_floats(shade_value *v, const uint8_t *p, size_t n,
			       unsigned w, bool le)
{
	struct cbor_head h = { .at = 0, .major = SHADE_CBOR_SIMPLE };
	size_t i;
	double f;
	uint32_t u4;
	float f4;

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	/* The usual layouts: each item loaded as what it is, straight
	 * into its slot (no detour through an integer). */
	if (le && w == 4) {
		for (i = 0; i < n; i++) {
			memcpy(&f4, p + 4 * i, 4);
			shade_slot_float_(&v[i], f4);
		}
		return;
	}
	if (le && w == 8) {
		for (i = 0; i < n; i++) {
			memcpy(&f, p + 8 * i, 8);
			shade_slot_float_(&v[i], f);
		}
		return;
	}
#endif
	h.ai = 25;
	for (i = 0; i < n; i++) {
		h.arg = ld_num(p + i * w, w, le);
		if (w == 8) {
			memcpy(&f, &h.arg, 8);
		} else if (w == 4) {
			u4 = (uint32_t)h.arg;
			memcpy(&f4, &u4, 4);
			f = f4;
		} else {
			f = cbor_float_of(&h);
		}
		shade_slot_float_(&v[i], f);
	}
}

/* Decode the content of typed-array tag h (RFC 8746, doc/protocol.md
 * 7.4) into out as a tuple of ints or floats: one block for the slots,
 * filled in one pass. */
static shade_status dec_typed(struct dstate *s, TALLOC_CTX *owner,
			      shade_value *out, const struct cbor_head *h)
{
	shade_cbor_dec *d = s->d;
	unsigned t = (unsigned)(h->arg - SHADE_CBOR_TAG_TYPED_FIRST);
	bool flt = t & 16, le = t & 4, ok;
	unsigned w = flt ? 2u << (t & 3) : 1u << (t & 3);
	struct cbor_head bh;
	struct shade_seq *q;
	const uint8_t *p;
	size_t n, bad;

	/* tag 76 (int8 "little-endian") is reserved; float128 has no
	 * double to hold it */
	if (h->arg == 76 || (flt && w == 16))
		return shade_error_set(s->err, SHADE_ERR_PROTOCOL,
				       "typed array tag %" PRIu64 " at offset "
				       "%zu is not supported", h->arg, h->at);
	SHADE_CHECK(cbor_rd_head(d, &bh, s->err));
	if (bh.major != SHADE_CBOR_BYTES || bh.arg == SHADE_CBOR_INDEFINITE)
		return shade_error_set(s->err, SHADE_ERR_PROTOCOL,
				       "typed array tag %" PRIu64 " at offset "
				       "%zu is not over a definite byte string",
				       h->arg, h->at);
	SHADE_CHECK(cbor_check_string(d, &bh, s->err));
	if (bh.arg % w != 0)
		return shade_error_set(s->err, SHADE_ERR_PROTOCOL,
				       "typed array tag %" PRIu64 " at offset "
				       "%zu holds %" PRIu64 " bytes, not a "
				       "multiple of %u", h->arg, h->at, bh.arg,
				       w);
	n = (size_t)(bh.arg / w);
	if (n > s->max_len)
		return shade_error_set(s->err, SHADE_ERR_LIMIT,
				       "typed array at offset %zu of %zu items "
				       "exceeds the limit of %" PRIu64, h->at,
				       n, s->max_len);
	if (s->max_items != 0 && (s->items += n) > s->max_items)
		return shade_error_set(s->err, SHADE_ERR_LIMIT,
				       "more than %" PRIu64 " items (at offset "
				       "%zu)", s->max_items, h->at);
	q = shade_seq_alloc_(owner, n);
	if (q == NULL)
		return shade_error_set(s->err, SHADE_ERR_NOMEM,
				       "out of memory for the typed array at "
				       "offset %zu", h->at);
	out->tag = SHADE_TUPLE;
	out->u.seq = q;
	p = d->buf + d->pos;
	d->pos += (size_t)bh.arg;
	if (flt) {
		if (w == 8 && le)
			fill_floats(q->items, p, n, 8, true);
		else if (w == 4 && le)
			fill_floats(q->items, p, n, 4, true);
		else
			fill_floats(q->items, p, n, w, le);
		q->len = n;
		return SHADE_OK;
	}
	/* One call per layout, so that each loop is specialised. */
	switch (t & 15) {
	case 0: case 4: /* uint8 (and the clamped tag 68) */
		ok = fill_ints(q->items, p, n, 1, true, false, &bad);
		break;
	case 8: /* int8 */
		ok = fill_ints(q->items, p, n, 1, true, true, &bad);
		break;
	case 1: ok = fill_ints(q->items, p, n, 2, false, false, &bad); break;
	case 2: ok = fill_ints(q->items, p, n, 4, false, false, &bad); break;
	case 3: ok = fill_ints(q->items, p, n, 8, false, false, &bad); break;
	case 5: ok = fill_ints(q->items, p, n, 2, true, false, &bad); break;
	case 6: ok = fill_ints(q->items, p, n, 4, true, false, &bad); break;
	case 7: ok = fill_ints(q->items, p, n, 8, true, false, &bad); break;
	case 9: ok = fill_ints(q->items, p, n, 2, false, true, &bad); break;
	case 10: ok = fill_ints(q->items, p, n, 4, false, true, &bad); break;
	case 11: ok = fill_ints(q->items, p, n, 8, false, true, &bad); break;
	case 13: ok = fill_ints(q->items, p, n, 2, true, true, &bad); break;
	case 14: ok = fill_ints(q->items, p, n, 4, true, true, &bad); break;
	default: ok = fill_ints(q->items, p, n, 8, true, true, &bad); break;
	}
	q->len = bad;
	if (!ok)
		return shade_error_set(s->err, SHADE_ERR_OVERFLOW,
				       "item %zu of the typed array at offset "
				       "%zu is outside the 64-bit signed range",
				       bad, h->at);
	return SHADE_OK;
}

/* Refuse the text array at offset `at` (a ProtocolError): why. */
static shade_status texts_bad(struct dstate *s, size_t at, const char *why)
{
	return shade_error_set(s->err, SHADE_ERR_PROTOCOL,
			       "text array at offset %zu: %s", at, why);
}

/* Copy the n strings whose lengths are lens[0..n) from the m bytes at
 * src into t, each followed by a NUL, and make slots v[0..n) borrowed
 * strs of them.  Strings of up to 23 bytes move with fixed-size copies:
 * 24 bytes where the input has that many left. */
static void fill_texts(shade_value *v, const uint8_t *lens, size_t n,
		       const uint8_t *src, size_t m, uint8_t *t)
{
	size_t i, o = 0, len;

	for (i = 0; i < n; i++) {
		len = lens[i];
		if (len < 24 && m - o >= 24) {
			memcpy(t, src + o, 16);
			memcpy(t + 16, src + o + 16, 8);
		} else if (len > 0) {
			memcpy(t, src + o, len);
		}
		t[len] = '\0';
		slot_arena_text(&v[i], t, len);
		o += len;
		t += len + 1;
	}
}

/* The sum of lens[0..n), eight at a time (byte pairs added as 16-bit
 * lanes, then the lanes), and in *most the largest when `want_most`. */
static size_t texts_sum(const uint8_t *lens, size_t n, bool want_most,
			uint8_t *most)
{
	const uint64_t lo = UINT64_C(0x00ff00ff00ff00ff);
	size_t i = 0, sum = 0;
	uint64_t w, pairs;
	uint8_t hi = 0;

	for (; i + 8 <= n; i += 8) {
		memcpy(&w, lens + i, 8);
		pairs = (w & lo) + ((w >> 8) & lo); /* four sums <= 510 */
		sum += (size_t)((pairs * UINT64_C(0x0001000100010001)) >> 48);
	}
	for (; i < n; i++)
		sum += lens[i];
	for (i = 0; want_most && i < n; i++)
		hi = lens[i] > hi ? lens[i] : hi;
	*most = hi;
	return sum;
}

/* Decode the content of text-array tag h (doc/protocol.md 7.5) into out
 * as a tuple of strs: [lengths, texts], the strings copied into one
 * block below the tuple, NUL after each. */
static shade_status dec_texts(struct dstate *s, TALLOC_CTX *owner,
			      shade_value *out, const struct cbor_head *h)
{
	shade_cbor_dec *d = s->d;
	struct cbor_head ah, lh, th;
	const uint8_t *lens, *src;
	struct shade_seq *q;
	size_t n, m, i, sum, o, need;
	uint8_t most;
	uint8_t *t;

	SHADE_CHECK(cbor_rd_head(d, &ah, s->err));
	if (ah.major != SHADE_CBOR_ARRAY || ah.arg != 2)
		return texts_bad(s, h->at, "not over an array of two items");
	SHADE_CHECK(cbor_rd_head(d, &lh, s->err));
	if (lh.major != SHADE_CBOR_BYTES || lh.arg == SHADE_CBOR_INDEFINITE)
		return texts_bad(s, h->at, "lengths not a definite byte string");
	SHADE_CHECK(cbor_check_string(d, &lh, s->err));
	lens = d->buf + d->pos;
	n = (size_t)lh.arg;
	d->pos += n;
	SHADE_CHECK(cbor_rd_head(d, &th, s->err));
	if (th.major != SHADE_CBOR_TEXT || th.arg == SHADE_CBOR_INDEFINITE)
		return texts_bad(s, h->at, "texts not a definite text string");
	SHADE_CHECK(cbor_check_string(d, &th, s->err));
	src = d->buf + d->pos;
	m = (size_t)th.arg;
	sum = texts_sum(lens, n, s->max_len < SHADE_CBOR_TEXTS_MAX, &most);
	if (sum != m)
		return texts_bad(s, h->at, "lengths do not add up to the texts");
	if (n > s->max_len || most > s->max_len)
		return shade_error_set(s->err, SHADE_ERR_LIMIT,
				       "text array at offset %zu exceeds the "
				       "limit of %" PRIu64, h->at, s->max_len);
	if (s->max_items != 0 && (s->items += n) > s->max_items)
		return shade_error_set(s->err, SHADE_ERR_LIMIT,
				       "more than %" PRIu64 " items (at offset "
				       "%zu)", s->max_items, h->at);
	if (any_high_bit(src, m)) {
		/* UTF-8: the whole valid, and every string starting on a
		 * character (not on a continuation byte), so each is */
		SHADE_CHECK(cbor_check_utf8(d, m, th.at, s->err));
		for (i = 0, o = 0; i < n; o += lens[i], i++)
			if (o < m && (src[o] & 0xc0) == 0x80)
				return texts_bad(s, h->at, "a string starts "
						 "inside a UTF-8 character");
	}
	q = shade_seq_alloc_(owner, n);
	need = m + n;
	t = need == 0 ? NULL
	    : need >= BIGBUF_MIN ? talloc_steal(q, bigbuf_alloc(need + 24))
				 : talloc_size(q, need + 24);
	if (q == NULL || (need > 0 && t == NULL)) {
		talloc_free(q);
		return shade_error_set(s->err, SHADE_ERR_NOMEM,
				       "out of memory for the text array at "
				       "offset %zu", h->at);
	}
	if (t != NULL)
		talloc_set_name_const(t, "shade decoded texts");
	fill_texts(q->items, lens, n, src, m, t);
	q->len = n;
	out->tag = SHADE_TUPLE;
	out->u.seq = q;
	d->pos += m;
	return SHADE_OK;
}

/* Whether the cursor is at a typed-array or text-array tag (a two-byte
 * head). */
static bool at_typed(const shade_cbor_dec *d)
{
	return d->len - d->pos >= 2 && d->buf[d->pos] == 0xd8 &&
	       ((d->buf[d->pos + 1] >= SHADE_CBOR_TAG_TYPED_FIRST &&
		 d->buf[d->pos + 1] <= SHADE_CBOR_TAG_TYPED_LAST) ||
		d->buf[d->pos + 1] == SHADE_CBOR_TAG_TEXTS);
}

/* Decode a tagged item (tag head h read). */
static shade_status dec_tag(struct dstate *s, TALLOC_CTX *owner,
			    shade_value *out, const struct cbor_head *h,
			    unsigned depth)
{
	shade_cbor_dec *d = s->d;
	const shade_cbor_hooks *hk = s->o ? s->o->hooks : NULL;
	struct shade_ref *ref = NULL;
	TALLOC_CTX *tmp = NULL;
	shade_status st;
	unsigned saved;

	SHADE_CHECK(check_depth(s, h, depth));
	switch (h->arg) {
	case SHADE_CBOR_TAG_POS_BIGNUM:
	case SHADE_CBOR_TAG_NEG_BIGNUM:
		return dec_bignum(s, out, h);
	case SHADE_CBOR_TAG_SENDER_HOSTED:
	case SHADE_CBOR_TAG_RECEIVER_HOSTED:
	case SHADE_CBOR_TAG_PROMISE:
		if (hk == NULL || hk->decode_ref == NULL)
			return shade_error_set(s->err, SHADE_ERR_PROTOCOL,
					       "reference (tag %" PRIu64 ") at "
					       "offset %zu but no reference "
					       "hook", h->arg, h->at);
		SHADE_CHECK(dstate_tmp(s, &tmp));
		saved = d->depth;
		d->depth = depth + 1;
		st = hk->decode_ref(hk->udata, tmp, h->arg, d, &ref, s->err);
		d->depth = saved;
		if (st != SHADE_OK)
			return st;
		if (ref == NULL)
			return shade_error_set(s->err, SHADE_ERR_PROTOCOL,
					       "reference hook returned no "
					       "reference for offset %zu", h->at);
		out->tag = SHADE_REF;
		out->u.ref = ref;
		return SHADE_OK;
	case SHADE_CBOR_TAG_EXCEPTION:
		return dec_exc(s, owner, out, h, depth);
	case SHADE_CBOR_TAG_VALUE_REF: /* doc/protocol.md section 12.1 */
		return shade_error_set(s->err, SHADE_ERR_PROTOCOL, "value "
				       "back-reference (tag 205) at offset %zu: "
				       "shared valuetype values are read by "
				       "typed code only", h->at);
	case SHADE_CBOR_TAG_LIST:
		if (d->pos < d->len && d->buf[d->pos] >> 5 != SHADE_CBOR_ARRAY
		    && !at_typed(d))
			return shade_error_set(s->err, SHADE_ERR_PROTOCOL,
					       "tag 203 at offset %zu does not "
					       "wrap an array", h->at);
		SHADE_CHECK(dec_item(s, owner, out, depth + 1));
		out->tag = SHADE_LIST;
		return SHADE_OK;
	default:
		if (h->arg >= SHADE_CBOR_TAG_TYPED_FIRST &&
		    h->arg <= SHADE_CBOR_TAG_TYPED_LAST)
			return dec_typed(s, owner, out, h);
		if (h->arg == SHADE_CBOR_TAG_TEXTS)
			return dec_texts(s, owner, out, h);
		return dec_item(s, owner, out, depth + 1);
	}
}

/* Decode one item at nesting `depth` into the slot out (payload on
 * owner).  On failure out may hold a partial payload below owner (never
 * a ref), which the caller's cleanup frees. */
static shade_status dec_item(struct dstate *s, TALLOC_CTX *owner,
			     shade_value *out, unsigned depth)
{
	shade_cbor_dec *d = s->d;
	struct cbor_head h;

	if (s->max_items != 0 && ++s->items > s->max_items)
		return shade_error_set(s->err, SHADE_ERR_LIMIT,
				       "more than %" PRIu64 " items (at offset "
				       "%zu)", s->max_items, d->pos);
	SHADE_CHECK(cbor_rd_head(d, &h, s->err));
	switch (h.major) {
	case SHADE_CBOR_UINT:
	case SHADE_CBOR_NINT:
		out->tag = SHADE_INT;
		return cbor_int_of(&h, &out->u.i, s->err);
	case SHADE_CBOR_BYTES:
	case SHADE_CBOR_TEXT:
		return dec_string(s, owner, out, &h);
	case SHADE_CBOR_ARRAY:
		return dec_array(s, owner, out, &h, depth);
	case SHADE_CBOR_MAP:
		return dec_map(s, owner, out, &h, depth);
	case SHADE_CBOR_TAG:
		return dec_tag(s, owner, out, &h, depth);
	default:
		break;
	}
	switch (h.ai) {
	case 20:
	case 21:
		*out = shade_value_bool(h.ai == 21);
		return SHADE_OK;
	case 22:
		return SHADE_OK;
	case 25:
	case 26:
	case 27:
		*out = shade_value_float(cbor_float_of(&h));
		return SHADE_OK;
	default:
		SHADE_CHECK(cbor_check_simple(&h, s->err));
		return shade_error_set(s->err, SHADE_ERR_PROTOCOL,
				       "unsupported simple value %" PRIu64
				       " at offset %zu", h.arg, h.at);
	}
}

shade_status shade_cbor_decode_value(TALLOC_CTX *mem_ctx, shade_cbor_dec *d,
				     const shade_cbor_opts *opts,
				     shade_value **out, shade_error **err)
{
	return cbor_decode_value_views(mem_ctx, d, opts, NULL, out, err);
}

shade_status cbor_decode_value_views(TALLOC_CTX *mem_ctx, shade_cbor_dec *d,
				     const shade_cbor_opts *opts,
				     struct cbor_views *views,
				     shade_value **out, shade_error **err)
{
	struct dstate s;
	shade_value *box;
	shade_status st;

	*out = NULL;
	memset(&s, 0, sizeof(s));
	s.d = d;
	s.o = opts;
	s.max_depth = cbor_opt_depth(opts);
	s.max_len = opts && opts->max_len ? opts->max_len
					  : SHADE_CBOR_DEFAULT_MAX_LEN;
	s.max_items = opts ? opts->max_items : 0;
	s.zero_copy = opts && opts->zero_copy;
	s.views = views;
	s.arena_next = 256;
	s.err = err;
	/* The box is made where it goes (freed again on failure); the
	 * scratch context only when something needs it. */
	box = talloc(mem_ctx, shade_value);
	if (box == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	*box = shade_value_none();
	st = dec_item(&s, box, box, d->depth);
	if (st == SHADE_OK) {
		if (shade_tag_kind_(box) == SHADE_REF)
			shade_box_watch_ref_(box);
		*out = box;
	} else {
		if (views != NULL && views->adopted) {
			/* Failed: the frame goes back where it was. */
			talloc_steal(views->parent, views->frame);
			views->adopted = false;
		}
		talloc_free(box);
	}
	talloc_free(s.tmp);
	return st;
}

shade_status shade_cbor_decode(TALLOC_CTX *mem_ctx, const void *buf, size_t len,
			       const shade_cbor_opts *opts, shade_value **out,
			       shade_error **err)
{
	shade_cbor_dec d;

	shade_cbor_dec_init(&d, buf, len);
	SHADE_CHECK(shade_cbor_decode_value(mem_ctx, &d, opts, out, err));
	if (d.pos != d.len) {
		talloc_free(*out);
		*out = NULL;
		return shade_error_set(err, SHADE_ERR_MALFORMED,
				       "trailing bytes at offset %zu (%zu "
				       "bytes after the item)", d.pos,
				       d.len - d.pos);
	}
	return SHADE_OK;
}
