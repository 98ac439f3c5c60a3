/*
 * seq.c - tuple and list storage (struct shade_seq): allocation,
 * growth, the destructor releasing refs, and the sequence's part of
 * deep copy and equality.  The item-level copy and equality are passed
 * in by copy.c and compare.c, so this file calls neither.
 */
#include <string.h>

#include <talloc.h>

#include "shade/value.h"
#include "base/bigbuf_int.h"
#include "value/value_int.h"

/* Destructor of a seq holding refs. */
static int seq_destructor(struct shade_seq *s)
{
	size_t i = 0;

	for (i = 0; i < s->len; i++)
		if (shade_tag_kind_(&s->items[i]) == SHADE_REF)
			shade_ref_release_(s->items[i].u.ref);
	return 0;
}

/* Make a seq release the refs in its slots when freed. */
void shade_seq_watch_refs_(struct shade_seq *s)
{
	if (!s->has_refs) {
		s->has_refs = true;
		talloc_set_destructor(s, seq_destructor);
	}
}

/* A new seq with room for cap items, the items inline. */
struct shade_seq *shade_seq_alloc_(TALLOC_CTX *owner, size_t cap)
{
	struct shade_seq *s;

	if (cap > (SIZE_MAX - sizeof(*s)) / sizeof(shade_value))
		return NULL;
	if (cap * sizeof(shade_value) >= BIGBUF_MIN) {
		/* Large: the items in a block of their own (kept for reuse
		 * when freed), none inline. */
		s = shade_seq_alloc_(owner, 0);
		if (s != NULL && shade_seq_reserve_(s, cap) != SHADE_OK)
			TALLOC_FREE(s);
		return s;
	}
	s = talloc_size(owner, sizeof(*s) + cap * sizeof(shade_value));
	if (s == NULL)
		return NULL;
	talloc_set_name_const(s, "struct shade_seq");
	s->len = 0;
	s->cap = cap;
	s->items = cap > 0 ? s->inline_ : NULL;
	s->has_refs = false;
	s->text = s->text_at = NULL;
	s->text_left = s->text_used = s->text_dead = 0;
	return s;
}

/* Size of the first text chunk, and most the next ones take. */
#define TEXT_CHUNK_MIN 64
#define TEXT_CHUNK_MAX ((size_t)64 << 10)

/* Dead text bytes below which the chunks are never rewritten. */
#define TEXT_DEAD_MIN 4096

/* A new text chunk for s with at least n bytes free: the first one
 * below s, the next ones below the first (freeing it frees all), each
 * about as large as all before it, up to TEXT_CHUNK_MAX. */
static bool seq_text_grow(struct shade_seq *s, size_t n)
{
	size_t sz = s->text_used;
	uint8_t *c;

	if (sz < TEXT_CHUNK_MIN)
		sz = TEXT_CHUNK_MIN;
	if (sz > TEXT_CHUNK_MAX)
		sz = TEXT_CHUNK_MAX;
	if (sz < n)
		sz = n;
	c = talloc_size(s->text != NULL ? (void *)s->text : (void *)s, sz);
	if (c == NULL)
		return false;
	talloc_set_name_const(c, "shade seq text");
	if (s->text == NULL)
		s->text = c;
	s->text_at = c;
	s->text_left = sz;
	return true;
}

shade_status shade_seq_set_text_(struct shade_seq *s, shade_value *dst,
				 shade_kind kind, const void *p, size_t len)
{
	uint8_t *d;

	if (len == 0 || len > SHADE_SEQ_TEXT_MAX)
		return shade_slot_set_data_(s, dst, kind, p, len);
	if (s->text_left < len + 1 && !seq_text_grow(s, len + 1))
		return SHADE_ERR_NOMEM;
	d = s->text_at;
	memcpy(d, p, len);
	d[len] = '\0';
	s->text_at += len + 1;
	s->text_left -= len + 1;
	s->text_used += len + 1;
	dst->tag = (uint8_t)(kind | SHADE_VF_BORROWED | SHADE_VF_NUL);
	dst->reserved_[0] = dst->reserved_[1] = dst->reserved_[2] = 0;
	dst->len = (uint32_t)len;
	dst->u.p = d;
	return SHADE_OK;
}

/* True when slot v is a str or bytes a text chunk may hold: borrowed,
 * 1 to SHADE_SEQ_TEXT_MAX bytes. */
static bool slot_is_text(const shade_value *v)
{
	unsigned k = shade_tag_kind_(v);

	return (k == SHADE_STR || k == SHADE_BYTES) &&
	       (v->tag & (SHADE_VF_BORROWED | SHADE_VF_VIEW)) ==
		       SHADE_VF_BORROWED &&
	       v->len > 0 && v->len <= SHADE_SEQ_TEXT_MAX;
}

void shade_seq_drop_(struct shade_seq *s, size_t i)
{
	if (slot_is_text(&s->items[i]))
		s->text_dead += s->items[i].len + 1;
	shade_slot_clear_(&s->items[i]);
}

/* Rewrite s's texts into one new chunk of the live bytes and free the
 * old chunks; nothing done when out of memory.  Texts borrowed from
 * elsewhere (a decoded message's arena) are copied in as well: every
 * borrowed short text then lies in the new chunk. */
static void seq_text_rewrite(struct shade_seq *s)
{
	uint8_t *old = s->text, *c, *d;
	size_t i, need = 0;

	for (i = 0; i < s->len; i++)
		if (slot_is_text(&s->items[i]))
			need += s->items[i].len + 1;
	c = need > 0 ? talloc_size(s, need) : NULL;
	if (need > 0 && c == NULL)
		return;
	if (c != NULL)
		talloc_set_name_const(c, "shade seq text");
	for (i = 0, d = c; i < s->len; i++) {
		shade_value *v = &s->items[i];

		if (!slot_is_text(v))
			continue;
		memcpy(d, v->u.p, v->len);
		d[v->len] = '\0';
		v->tag |= SHADE_VF_NUL;
		v->u.p = d;
		d += v->len + 1;
	}
	talloc_free(old);
	s->text = c;
	s->text_at = c != NULL ? c + need : NULL;
	s->text_left = 0;
	s->text_used = need;
	s->text_dead = 0;
}

void shade_seq_tidy_(struct shade_seq *s)
{
	size_t live = s->text_used > s->text_dead
			      ? s->text_used - s->text_dead : 0;

	if (s->len == 0) {
		TALLOC_FREE(s->text);
		s->text_at = NULL;
		s->text_left = s->text_used = s->text_dead = 0;
		return;
	}
	if (s->text_dead >= TEXT_DEAD_MIN && s->text_dead > live)
		seq_text_rewrite(s);
}

/* Move s's items into a block of at least ncap items from bigbuf_alloc
 * (its pages kept for reuse once freed). */
static shade_status seq_reserve_big(struct shade_seq *s, size_t ncap)
{
	shade_value *ni;

	if (s->cap * sizeof(shade_value) >= BIGBUF_MIN) {
		ni = bigbuf_realloc(s->items, ncap * sizeof(shade_value));
		if (ni == NULL)
			return SHADE_ERR_NOMEM;
	} else {
		ni = talloc_steal(s, bigbuf_alloc(ncap * sizeof(shade_value)));
		if (ni == NULL)
			return SHADE_ERR_NOMEM;
		if (s->len > 0)
			memcpy(ni, s->items, s->len * sizeof(shade_value));
		if (s->items != s->inline_ && s->items != NULL)
			talloc_free(s->items);
	}
	s->items = ni;
	s->cap = bigbuf_cap(ni) / sizeof(shade_value);
	return SHADE_OK;
}

/* Grow s to hold need items. */
shade_status shade_seq_reserve_(struct shade_seq *s, size_t need)
{
	size_t ncap;
	shade_value *ni;

	if (need <= s->cap)
		return SHADE_OK;
	ncap = s->cap < 4 ? 4 : s->cap;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2 / sizeof(shade_value))
			return SHADE_ERR_NOMEM;
		ncap *= 2;
	}
	if (ncap * sizeof(shade_value) >= BIGBUF_MIN)
		return seq_reserve_big(s, ncap);
	if (s->items == s->inline_ || s->items == NULL) {
		ni = talloc_array(s, shade_value, ncap);
		if (ni == NULL)
			return SHADE_ERR_NOMEM;
		if (s->len > 0)
			memcpy(ni, s->items, s->len * sizeof(shade_value));
	} else {
		ni = talloc_realloc(s, s->items, shade_value, ncap);
		if (ni == NULL)
			return SHADE_ERR_NOMEM;
	}
	s->items = ni;
	s->cap = ncap;
	return SHADE_OK;
}

/* Copy a sequence's storage onto owner, each item through copy. */
shade_status shade_seq_copy_(TALLOC_CTX *owner, struct shade_seq **out,
			     const struct shade_seq *src,
			     shade_slot_copy_fn copy)
{
	struct shade_seq *s = shade_seq_alloc_(owner, src->len);
	size_t i = 0;
	shade_status st;

	if (s == NULL)
		return SHADE_ERR_NOMEM;
	for (i = 0; i < src->len; i++) {
		/* none, bool, int, float: nothing owned, the slot as is */
		if (shade_tag_kind_(&src->items[i]) <= SHADE_FLOAT) {
			s->items[i] = src->items[i];
			s->len = i + 1;
			continue;
		}
		if (shade_tag_kind_(&src->items[i]) == SHADE_STR ||
		    shade_tag_kind_(&src->items[i]) == SHADE_BYTES)
			st = shade_seq_set_text_(s, &s->items[i],
						 shade_tag_kind_(&src->items[i]),
						 src->items[i].u.p,
						 src->items[i].len);
		else
			st = copy(s, &s->items[i], &src->items[i], NULL);
		if (st != SHADE_OK) {
			talloc_free(s);
			return st;
		}
		s->len = i + 1;
		if (shade_tag_kind_(&s->items[i]) == SHADE_REF)
			shade_seq_watch_refs_(s);
	}
	*out = s;
	return SHADE_OK;
}

/* Equality of two sequences: same length, items pairwise equal by eq. */
bool shade_seq_equal_(const struct shade_seq *a, const struct shade_seq *b,
		      shade_value_eq_fn eq)
{
	size_t i = 0;

	if (a->len != b->len)
		return false;
	for (i = 0; i < a->len; i++)
		if (!eq(&a->items[i], &b->items[i]))
			return false;
	return true;
}
