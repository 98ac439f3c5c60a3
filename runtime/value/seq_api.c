/*
 * seq_api.c - the public tuple and list API: constructors, access by
 * Python-style index, append / set / insert / delete (copying or taking
 * the value), membership.  Storage lives in seq.c.
 */
#include <inttypes.h>
#include <string.h>

#include <talloc.h>

#include "shade/value.h"
#include "value/value_int.h"

/* A box of the given sequence kind. */
static shade_value *box_seq(TALLOC_CTX *mem_ctx, shade_kind kind, size_t cap)
{
	shade_value *b = talloc(mem_ctx, shade_value);

	if (b == NULL)
		return NULL;
	*b = shade_value_none();
	b->u.seq = shade_seq_alloc_(b, cap);
	if (b->u.seq == NULL) {
		talloc_free(b);
		return NULL;
	}
	b->tag = (uint8_t)kind;
	return b;
}

shade_value *shade_tuple_new(TALLOC_CTX *mem_ctx, size_t cap_hint)
{
	return box_seq(mem_ctx, SHADE_TUPLE, cap_hint);
}

shade_value *shade_list_new(TALLOC_CTX *mem_ctx, size_t cap_hint)
{
	return box_seq(mem_ctx, SHADE_LIST, cap_hint);
}

shade_value *shade_tuple_from(TALLOC_CTX *mem_ctx, size_t n,
			      const shade_value *const *items)
{
	shade_value *b = box_seq(mem_ctx, SHADE_TUPLE, n);
	size_t i = 0;

	if (b == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		shade_value none = shade_value_none();

		if (shade_seq_append(b, items[i] ? items[i] : &none, NULL)
		    != SHADE_OK) {
			talloc_free(b);
			return NULL;
		}
	}
	return b;
}

/* Fail with SHADE_ERR_TYPE unless v is a tuple or list. */
static shade_status need_seq(const shade_value *v, shade_error **err)
{
	if (v != NULL && shade_value_is_seq(v))
		return SHADE_OK;
	return shade_error_set(err, SHADE_ERR_TYPE,
			       "expected a tuple or list, got %s",
			       v ? shade_kind_name(shade_value_kind(v)) : "NULL");
}

/* Resolve a Python-style index against len. */
static shade_status norm_index(size_t len, int64_t index, size_t *out,
			       shade_error **err)
{
	int64_t i = index;

	if (i < 0)
		i += (int64_t)len;
	if (i < 0 || (uint64_t)i >= len)
		return shade_error_set(err, SHADE_ERR_INDEX,
				       "index %" PRId64
				       " out of range (length %zu)",
				       index, len);
	*out = (size_t)i;
	return SHADE_OK;
}

size_t shade_seq_len(const shade_value *seq)
{
	return shade_value_is_seq(seq) ? seq->u.seq->len : 0;
}

const shade_value *shade_seq_items(const shade_value *seq, size_t *len)
{
	if (!shade_value_is_seq(seq) || seq->u.seq->len == 0) {
		if (len != NULL)
			*len = 0;
		return NULL;
	}
	if (len != NULL)
		*len = seq->u.seq->len;
	return seq->u.seq->items;
}

const shade_value *shade_seq_at(const shade_value *seq, size_t i)
{
	if (!shade_value_is_seq(seq) || i >= seq->u.seq->len)
		return NULL;
	return &seq->u.seq->items[i];
}

shade_status shade_seq_get(const shade_value *seq, int64_t index,
			   const shade_value **out, shade_error **err)
{
	size_t i = 0;

	SHADE_CHECK(need_seq(seq, err));
	SHADE_CHECK(norm_index(seq->u.seq->len, index, &i, err));
	*out = &seq->u.seq->items[i];
	return SHADE_OK;
}

/* Put the prepared slot tmp (owned by s) at position pos, shifting the
 * items from pos on up by one.  Clears tmp on failure. */
static shade_status seq_place(struct shade_seq *s, size_t pos,
			      shade_value *tmp, shade_error **err)
{
	if (shade_seq_reserve_(s, s->len + 1) != SHADE_OK) {
		shade_slot_clear_(tmp);
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	}
	if (pos < s->len)
		memmove(&s->items[pos + 1], &s->items[pos],
			(s->len - pos) * sizeof(shade_value));
	s->items[pos] = *tmp;
	s->len++;
	if (shade_tag_kind_(tmp) == SHADE_REF)
		shade_seq_watch_refs_(s);
	return SHADE_OK;
}

/* Deep-copy v into a temporary slot owned by s. */
static shade_status seq_prepare(struct shade_seq *s, shade_value *tmp,
				const shade_value *v, shade_error **err)
{
	shade_kind k = shade_value_kind(v);
	shade_status st = k == SHADE_STR || k == SHADE_BYTES
				  ? shade_seq_set_text_(s, tmp, k, v->u.p, v->len)
				  : shade_slot_copy_(s, tmp, v, NULL);

	if (st != SHADE_OK)
		return shade_error_set(err, st, "cannot copy the %s value",
				       shade_kind_name(shade_value_kind(v)));
	return SHADE_OK;
}

/* Move box v into a temporary slot owned by seq (v freed always). */
static shade_status seq_prepare_take(shade_value *seq, shade_value *tmp,
				     shade_value *v, shade_error **err)
{
	if (v == NULL)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       VALUE_NULL_TAKEN);
	if (v == seq || shade_box_contains_(v, seq->u.seq)) {
		talloc_free(v);
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "cannot move a container into itself");
	}
	shade_slot_take_(seq->u.seq, tmp, v);
	return SHADE_OK;
}

shade_status shade_seq_append(shade_value *seq, const shade_value *v,
			      shade_error **err)
{
	shade_value tmp;

	SHADE_CHECK(need_seq(seq, err));
	SHADE_CHECK(seq_prepare(seq->u.seq, &tmp, v, err));
	return seq_place(seq->u.seq, seq->u.seq->len, &tmp, err);
}

shade_status shade_seq_append_take(shade_value *seq, shade_value *v,
				   shade_error **err)
{
	shade_value tmp;
	shade_status st = need_seq(seq, err);

	if (st != SHADE_OK) {
		talloc_free(v);
		return st;
	}
	SHADE_CHECK(seq_prepare_take(seq, &tmp, v, err));
	return seq_place(seq->u.seq, seq->u.seq->len, &tmp, err);
}

shade_status shade_seq_append_str(shade_value *seq, const char *s, size_t len,
				  shade_error **err)
{
	shade_value tmp;
	size_t bad;

	SHADE_CHECK(need_seq(seq, err));
	if (s == NULL && len > 0)
		return shade_error_set(err, SHADE_ERR_INVALID, "NULL text");
	if (shade_utf8_check(s, len, &bad) != SHADE_OK)
		return shade_error_set(err, SHADE_ERR_UTF8,
				       "invalid UTF-8 at byte offset %zu", bad);
	if (shade_seq_set_text_(seq->u.seq, &tmp, SHADE_STR, s, len) !=
	    SHADE_OK)
		return shade_error_set(err, len > SHADE_STR_MAX
				       ? SHADE_ERR_LIMIT : SHADE_ERR_NOMEM,
				       "cannot store text of %zu bytes", len);
	return seq_place(seq->u.seq, seq->u.seq->len, &tmp, err);
}

/* Replace item i of seq with the prepared slot tmp. */
static void seq_replace(struct shade_seq *s, size_t i, shade_value *tmp)
{
	shade_seq_drop_(s, i);
	s->items[i] = *tmp;
	if (shade_tag_kind_(tmp) == SHADE_REF)
		shade_seq_watch_refs_(s);
	shade_seq_tidy_(s);
}

shade_status shade_seq_set(shade_value *seq, int64_t index,
			   const shade_value *v, shade_error **err)
{
	shade_value tmp;
	size_t i = 0;

	SHADE_CHECK(need_seq(seq, err));
	SHADE_CHECK(norm_index(seq->u.seq->len, index, &i, err));
	SHADE_CHECK(seq_prepare(seq->u.seq, &tmp, v, err));
	seq_replace(seq->u.seq, i, &tmp);
	return SHADE_OK;
}

shade_status shade_seq_set_take(shade_value *seq, int64_t index,
				shade_value *v, shade_error **err)
{
	shade_value tmp;
	size_t i = 0;
	shade_status st = need_seq(seq, err);

	if (st == SHADE_OK)
		st = norm_index(seq->u.seq->len, index, &i, err);
	if (st != SHADE_OK) {
		talloc_free(v);
		return st;
	}
	SHADE_CHECK(seq_prepare_take(seq, &tmp, v, err));
	seq_replace(seq->u.seq, i, &tmp);
	return SHADE_OK;
}

shade_status shade_seq_insert(shade_value *seq, int64_t index,
			      const shade_value *v, shade_error **err)
{
	shade_value tmp;
	int64_t len, i = index;

	SHADE_CHECK(need_seq(seq, err));
	len = (int64_t)seq->u.seq->len;
	if (i < 0)
		i += len;
	if (i < 0)
		i = 0;
	if (i > len)
		i = len;
	SHADE_CHECK(seq_prepare(seq->u.seq, &tmp, v, err));
	return seq_place(seq->u.seq, (size_t)i, &tmp, err);
}

shade_status shade_seq_delete(shade_value *seq, int64_t index,
			      shade_error **err)
{
	struct shade_seq *s;
	size_t i = 0;

	SHADE_CHECK(need_seq(seq, err));
	s = seq->u.seq;
	SHADE_CHECK(norm_index(s->len, index, &i, err));
	shade_seq_drop_(s, i);
	memmove(&s->items[i], &s->items[i + 1],
		(s->len - i - 1) * sizeof(shade_value));
	s->len--;
	shade_seq_tidy_(s);
	return SHADE_OK;
}

bool shade_seq_contains(const shade_value *seq, const shade_value *v)
{
	size_t i = 0;

	if (!shade_value_is_seq(seq))
		return false;
	for (i = 0; i < seq->u.seq->len; i++)
		if (shade_value_equal(&seq->u.seq->items[i], v))
			return true;
	return false;
}

shade_status shade_seq_reverse(shade_value *seq, shade_error **err)
{
	struct shade_seq *s;
	shade_value t;
	size_t i;

	SHADE_CHECK(need_seq(seq, err));
	s = seq->u.seq;
	/* Slots keep their owner (this seq): swapping them moves nothing. */
	for (i = 0; i < s->len / 2; i++) {
		t = s->items[i];
		s->items[i] = s->items[s->len - 1 - i];
		s->items[s->len - 1 - i] = t;
	}
	return SHADE_OK;
}
