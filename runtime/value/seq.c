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
	return s;
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
