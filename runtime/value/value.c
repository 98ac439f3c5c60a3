/*
 * value.c - boxes, slots, sequences, equality, hashing, diagnostics.
 *
 * The ownership invariants are written down in value_int.h.  Dicts live
 * in dict.c, UTF-8 validation in utf8.c.
 */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <talloc.h>

#include "shade/cbor.h"
#include "shade/value.h"
#include "value/value_int.h"

const char shade_empty_[1] = "";

/* ------------------------------------------------------------ refs */

/* Add a holder to r. */
void shade_ref_retain_(struct shade_ref *r)
{
	const shade_ref_head *h = (const shade_ref_head *)r;

	if (r != NULL && h->ops != NULL && h->ops->retain != NULL)
		h->ops->retain(r);
}

/* Drop a holder of r. */
void shade_ref_release_(struct shade_ref *r)
{
	const shade_ref_head *h = (const shade_ref_head *)r;

	if (r != NULL && h->ops != NULL && h->ops->release != NULL)
		h->ops->release(r);
}

/* Destructor of a box: release its ref if it still holds one. */
static int box_destructor(shade_value *v)
{
	if (shade_tag_kind_(v) == SHADE_REF) {
		struct shade_ref *r = v->u.ref;

		v->tag = SHADE_NONE;
		shade_ref_release_(r);
	}
	return 0;
}

/* Make a SHADE_REF box release its ref when freed. */
void shade_box_watch_ref_(shade_value *box)
{
	talloc_set_destructor(box, box_destructor);
}

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

/* ------------------------------------------------------------ slots */

/* The talloc block a slot owns, or NULL. */
static void *slot_payload(const shade_value *v)
{
	switch (shade_tag_kind_(v)) {
	case SHADE_STR:
	case SHADE_BYTES:
		return (v->tag & SHADE_VF_BORROWED) ? NULL : (void *)v->u.p;
	case SHADE_TUPLE:
	case SHADE_LIST:
		return v->u.seq;
	case SHADE_DICT:
		return v->u.dict;
	case SHADE_EXC:
		return v->u.exc;
	default:
		return NULL;
	}
}

/* Release what a slot owns and make it none. */
void shade_slot_clear_(shade_value *v)
{
	if (shade_tag_kind_(v) == SHADE_REF)
		shade_ref_release_(v->u.ref);
	else
		talloc_free(slot_payload(v));
	*v = shade_value_none();
}

/* Fill slot dst with a copy of len bytes at p (str or bytes kind). */
static shade_status slot_set_data(TALLOC_CTX *owner, shade_value *dst,
				  shade_kind kind, const void *p, size_t len)
{
	char *d;

	if (len > SHADE_STR_MAX)
		return SHADE_ERR_LIMIT;
	dst->reserved_[0] = dst->reserved_[1] = dst->reserved_[2] = 0;
	if (len == 0) {
		dst->tag = (uint8_t)(kind | SHADE_VF_BORROWED | SHADE_VF_NUL);
		dst->len = 0;
		dst->u.s = shade_empty_;
		return SHADE_OK;
	}
	d = talloc_size(owner, len + 1);
	if (d == NULL)
		return SHADE_ERR_NOMEM;
	talloc_set_name_const(d, kind == SHADE_STR ? "shade str" : "shade bytes");
	memcpy(d, p, len);
	d[len] = '\0';
	dst->tag = (uint8_t)(kind | SHADE_VF_NUL);
	dst->len = (uint32_t)len;
	dst->u.s = d;
	return SHADE_OK;
}

/* Copy a sequence's storage onto owner. */
static shade_status seq_copy(TALLOC_CTX *owner, struct shade_seq **out,
			     const struct shade_seq *src)
{
	struct shade_seq *s = shade_seq_alloc_(owner, src->len);
	size_t i = 0;
	shade_status st;

	if (s == NULL)
		return SHADE_ERR_NOMEM;
	for (i = 0; i < src->len; i++) {
		st = shade_slot_copy_(s, &s->items[i], &src->items[i], NULL);
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

/* Copy a dict's storage onto owner (entries keep their order). */
static shade_status dict_copy(TALLOC_CTX *owner, struct shade_dict **out,
			      const struct shade_dict *src)
{
	struct shade_dict *d = shade_dict_alloc_(owner, src->len);
	size_t i = 0;
	shade_status st;

	if (d == NULL)
		return SHADE_ERR_NOMEM;
	for (i = 0; i < src->used; i++) {
		const struct shade_dict_entry *e = &src->entries[i];
		shade_value k, v;

		if (shade_tag_kind_(&e->key) == SHADE_DELETED_)
			continue;
		st = shade_slot_copy_(d, &k, &e->key, NULL);
		if (st == SHADE_OK) {
			st = shade_slot_copy_(d, &v, &e->val, NULL);
			if (st != SHADE_OK)
				shade_slot_clear_(&k);
		}
		if (st == SHADE_OK) {
			if (shade_tag_kind_(&v) == SHADE_REF)
				shade_dict_watch_refs_(d);
			st = shade_dict_add_new_(d, &k, &v, e->hash);
			if (st != SHADE_OK) {
				shade_slot_clear_(&k);
				shade_slot_clear_(&v);
			}
		}
		if (st != SHADE_OK) {
			talloc_free(d);
			return st;
		}
	}
	*out = d;
	return SHADE_OK;
}

/* Deep copy of an error onto mem_ctx. */
shade_error *shade_error_copy_(TALLOC_CTX *mem_ctx, const shade_error *e)
{
	shade_error *c = NULL;
	size_t i = 0;

	shade_error_set_named(&c, e->code, e->name, "%s",
			      e->message ? e->message : "");
	if (c == NULL)
		return NULL;
	c->category = e->category;
	for (i = 0; i < e->chain_len; i++) {
		if (shade_error_push_frame(c, e->chain[i].side,
					   e->chain[i].type,
					   e->chain[i].member) != SHADE_OK)
			goto fail;
	}
	if (e->args != NULL) {
		c->args = shade_value_copy(c, e->args);
		if (c->args == NULL)
			goto fail;
	}
	return talloc_steal(mem_ctx, c);
fail:
	talloc_free(c);
	return NULL;
}

/* Deep-copy src into slot dst under owner. */
shade_status shade_slot_copy_(TALLOC_CTX *owner, shade_value *dst,
			      const shade_value *src, bool *has_ref)
{
	shade_status st;

	*dst = shade_value_none();
	switch (shade_tag_kind_(src)) {
	case SHADE_NONE:
	case SHADE_BOOL:
	case SHADE_INT:
	case SHADE_FLOAT:
		*dst = *src;
		return SHADE_OK;
	case SHADE_STR:
		return slot_set_data(owner, dst, SHADE_STR, src->u.s, src->len);
	case SHADE_BYTES:
		return slot_set_data(owner, dst, SHADE_BYTES, src->u.p,
				     src->len);
	case SHADE_TUPLE:
	case SHADE_LIST:
		st = seq_copy(owner, &dst->u.seq, src->u.seq);
		if (st == SHADE_OK)
			dst->tag = src->tag & SHADE_KIND_MASK;
		return st;
	case SHADE_DICT:
		st = dict_copy(owner, &dst->u.dict, src->u.dict);
		if (st == SHADE_OK)
			dst->tag = SHADE_DICT;
		return st;
	case SHADE_REF:
		shade_ref_retain_(src->u.ref);
		dst->tag = SHADE_REF;
		dst->u.ref = src->u.ref;
		if (has_ref != NULL)
			*has_ref = true;
		return SHADE_OK;
	case SHADE_EXC:
		dst->u.exc = shade_error_copy_(owner, src->u.exc);
		if (dst->u.exc == NULL)
			return SHADE_ERR_NOMEM;
		dst->tag = SHADE_EXC;
		return SHADE_OK;
	default:
		return SHADE_ERR_INVALID;
	}
}

/* Move a slot into a new box on mem_ctx. */
shade_value *shade_slot_box_(TALLOC_CTX *mem_ctx, shade_value *slot)
{
	shade_value *b = talloc(mem_ctx, shade_value);
	void *payload;

	if (b == NULL)
		return NULL;
	*b = *slot;
	payload = slot_payload(b);
	if (payload != NULL)
		talloc_steal(b, payload);
	if (shade_tag_kind_(b) == SHADE_REF)
		shade_box_watch_ref_(b);
	*slot = shade_value_none();
	return b;
}

/* Move box into slot dst whose owner is `owner`; the box is freed. */
void shade_slot_take_(TALLOC_CTX *owner, shade_value *dst, shade_value *box)
{
	void *payload = slot_payload(box);

	*dst = *box;
	if (payload != NULL)
		talloc_steal(owner, payload);
	box->tag = SHADE_NONE;
	talloc_free(box);
}

/* True when talloc block `inner` lies inside (or is) box's payload, so
 * moving box into it would make a loop. */
bool shade_box_contains_(const shade_value *box, const void *inner)
{
	const void *payload = slot_payload(box);

	if (payload == NULL)
		return false;
	for (; inner != NULL; inner = talloc_parent(inner))
		if (inner == payload)
			return true;
	return false;
}

/* ------------------------------------------------------------ boxes */

/* A new box on mem_ctx holding the scalar v. */
static shade_value *box_scalar(TALLOC_CTX *mem_ctx, shade_value v)
{
	shade_value *b = talloc(mem_ctx, shade_value);

	if (b != NULL)
		*b = v;
	return b;
}

shade_value *shade_none(TALLOC_CTX *mem_ctx)
{
	return box_scalar(mem_ctx, shade_value_none());
}

shade_value *shade_bool(TALLOC_CTX *mem_ctx, bool b)
{
	return box_scalar(mem_ctx, shade_value_bool(b));
}

shade_value *shade_int(TALLOC_CTX *mem_ctx, int64_t i)
{
	return box_scalar(mem_ctx, shade_value_int(i));
}

shade_value *shade_float(TALLOC_CTX *mem_ctx, double f)
{
	return box_scalar(mem_ctx, shade_value_float(f));
}

/* Check and box text; borrow it instead of copying when `borrow`. */
static shade_value *box_text(TALLOC_CTX *mem_ctx, const char *s, size_t len,
			     bool borrow, shade_error **err)
{
	shade_value *b;
	size_t bad;

	if (s == NULL && len > 0) {
		shade_error_set(err, SHADE_ERR_INVALID, "NULL text");
		return NULL;
	}
	if (len > SHADE_STR_MAX) {
		shade_error_set(err, SHADE_ERR_LIMIT,
				"text of %zu bytes exceeds the limit", len);
		return NULL;
	}
	if (shade_utf8_check(s, len, &bad) != SHADE_OK) {
		shade_error_set(err, SHADE_ERR_UTF8,
				"invalid UTF-8 at byte offset %zu", bad);
		return NULL;
	}
	b = talloc(mem_ctx, shade_value);
	if (b == NULL)
		goto nomem;
	if (borrow && len > 0) {
		*b = shade_value_none();
		b->tag = SHADE_STR | SHADE_VF_BORROWED;
		b->len = (uint32_t)len;
		b->u.s = s;
		return b;
	}
	if (slot_set_data(b, b, SHADE_STR, s, len) != SHADE_OK) {
		talloc_free(b);
		goto nomem;
	}
	return b;
nomem:
	shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	return NULL;
}

shade_value *shade_str(TALLOC_CTX *mem_ctx, const char *s)
{
	if (s == NULL)
		return NULL;
	return box_text(mem_ctx, s, strlen(s), false, NULL);
}

shade_value *shade_strn(TALLOC_CTX *mem_ctx, const char *s, size_t len)
{
	return box_text(mem_ctx, s, len, false, NULL);
}

shade_value *shade_str_checked(TALLOC_CTX *mem_ctx, const char *s, size_t len,
			       shade_error **err)
{
	return box_text(mem_ctx, s, len, false, err);
}

shade_value *shade_str_borrow(TALLOC_CTX *mem_ctx, const char *s, size_t len,
			      shade_error **err)
{
	return box_text(mem_ctx, s, len, true, err);
}

shade_value *shade_str_printf(TALLOC_CTX *mem_ctx, const char *fmt, ...)
{
	va_list ap;
	char *s;
	shade_value *b;

	va_start(ap, fmt);
	s = talloc_vasprintf(NULL, fmt, ap);
	va_end(ap);
	if (s == NULL)
		return NULL;
	b = box_text(mem_ctx, s, strlen(s), false, NULL);
	talloc_free(s);
	return b;
}

/* Box len bytes at p, copying unless `borrow`. */
static shade_value *box_bytes(TALLOC_CTX *mem_ctx, const void *p, size_t len,
			      bool borrow)
{
	shade_value *b;

	if ((p == NULL && len > 0) || len > SHADE_STR_MAX)
		return NULL;
	b = talloc(mem_ctx, shade_value);
	if (b == NULL)
		return NULL;
	if (borrow && len > 0) {
		*b = shade_value_none();
		b->tag = SHADE_BYTES | SHADE_VF_BORROWED;
		b->len = (uint32_t)len;
		b->u.p = p;
		return b;
	}
	if (slot_set_data(b, b, SHADE_BYTES, p, len) != SHADE_OK) {
		talloc_free(b);
		return NULL;
	}
	return b;
}

shade_value *shade_bytes(TALLOC_CTX *mem_ctx, const void *p, size_t len)
{
	return box_bytes(mem_ctx, p, len, false);
}

shade_value *shade_bytes_borrow(TALLOC_CTX *mem_ctx, const void *p, size_t len)
{
	return box_bytes(mem_ctx, p, len, true);
}

/* A new seq with room for cap items, the items inline. */
struct shade_seq *shade_seq_alloc_(TALLOC_CTX *owner, size_t cap)
{
	struct shade_seq *s;

	if (cap > (SIZE_MAX - sizeof(*s)) / sizeof(shade_value))
		return NULL;
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

shade_value *shade_dict_new(TALLOC_CTX *mem_ctx, size_t cap_hint)
{
	shade_value *b = talloc(mem_ctx, shade_value);

	if (b == NULL)
		return NULL;
	*b = shade_value_none();
	b->u.dict = shade_dict_alloc_(b, cap_hint);
	if (b->u.dict == NULL) {
		talloc_free(b);
		return NULL;
	}
	b->tag = SHADE_DICT;
	return b;
}

shade_value *shade_ref_value_take(TALLOC_CTX *mem_ctx, struct shade_ref *ref)
{
	shade_value *b;

	if (ref == NULL)
		return NULL;
	b = talloc(mem_ctx, shade_value);
	if (b == NULL) {
		shade_ref_release_(ref);
		return NULL;
	}
	*b = shade_value_none();
	b->tag = SHADE_REF;
	b->u.ref = ref;
	shade_box_watch_ref_(b);
	return b;
}

shade_value *shade_ref_value(TALLOC_CTX *mem_ctx, struct shade_ref *ref)
{
	if (ref == NULL)
		return NULL;
	shade_ref_retain_(ref);
	return shade_ref_value_take(mem_ctx, ref);
}

shade_value *shade_exc_take(TALLOC_CTX *mem_ctx, shade_error *e)
{
	shade_value *b;

	if (e == NULL)
		return NULL;
	b = talloc(mem_ctx, shade_value);
	if (b == NULL) {
		talloc_free(e);
		return NULL;
	}
	*b = shade_value_none();
	b->tag = SHADE_EXC;
	b->u.exc = talloc_steal(b, e);
	return b;
}

shade_value *shade_exc(TALLOC_CTX *mem_ctx, const shade_error *e)
{
	shade_error *c;

	if (e == NULL)
		return NULL;
	c = shade_error_copy_(NULL, e);
	if (c == NULL)
		return NULL;
	return shade_exc_take(mem_ctx, c);
}

/* ------------------------------------------------------------ generic */

shade_value *shade_value_copy(TALLOC_CTX *mem_ctx, const shade_value *v)
{
	shade_value *b = talloc(mem_ctx, shade_value);

	if (b == NULL)
		return NULL;
	if (shade_slot_copy_(b, b, v, NULL) != SHADE_OK) {
		talloc_free(b);
		return NULL;
	}
	if (shade_tag_kind_(b) == SHADE_REF)
		shade_box_watch_ref_(b);
	return b;
}

void shade_value_free(shade_value *v)
{
	talloc_free(v);
}

size_t shade_value_len(const shade_value *v)
{
	switch (shade_tag_kind_(v)) {
	case SHADE_STR:
	case SHADE_BYTES:
		return v->len;
	case SHADE_TUPLE:
	case SHADE_LIST:
		return v->u.seq->len;
	case SHADE_DICT:
		return v->u.dict->len;
	default:
		return 0;
	}
}

char *shade_value_strdup(TALLOC_CTX *mem_ctx, const shade_value *v)
{
	if (shade_tag_kind_(v) != SHADE_STR)
		return NULL;
	return talloc_strndup(mem_ctx, v->u.s, v->len);
}

const char *shade_kind_name(shade_kind kind)
{
	static const char *const names[] = {
		"none", "bool", "int", "float", "str", "bytes",
		"tuple", "list", "dict", "ref", "exc"
	};

	if ((unsigned)kind < sizeof(names) / sizeof(names[0]))
		return names[kind];
	return "invalid";
}

/* ------------------------------------------------------------ sequences */

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
	shade_status st = shade_slot_copy_(s, tmp, v, NULL);

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
		return shade_error_set(err, SHADE_ERR_INVALID, "NULL value");
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
	if (slot_set_data(seq->u.seq, &tmp, SHADE_STR, s, len) != SHADE_OK)
		return shade_error_set(err, len > SHADE_STR_MAX
				       ? SHADE_ERR_LIMIT : SHADE_ERR_NOMEM,
				       "cannot store text of %zu bytes", len);
	return seq_place(seq->u.seq, seq->u.seq->len, &tmp, err);
}

/* Replace item i of seq with the prepared slot tmp. */
static void seq_replace(struct shade_seq *s, size_t i, shade_value *tmp)
{
	shade_slot_clear_(&s->items[i]);
	s->items[i] = *tmp;
	if (shade_tag_kind_(tmp) == SHADE_REF)
		shade_seq_watch_refs_(s);
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
	shade_slot_clear_(&s->items[i]);
	memmove(&s->items[i], &s->items[i + 1],
		(s->len - i - 1) * sizeof(shade_value));
	s->len--;
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

/* ------------------------------------------------------------ equality */

/* Bits of a double, every NaN folded to one pattern. */
static uint64_t float_bits(double f)
{
	uint64_t u;

	if (isnan(f))
		return UINT64_C(0x7ff8000000000000);
	memcpy(&u, &f, sizeof(u));
	return u;
}

/* Equality of two optional strings. */
static bool str_eq(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

/* Equality of two errors (name, message, args, chain). */
static bool exc_equal(const shade_error *a, const shade_error *b)
{
	size_t i = 0;
	shade_value none = shade_value_none();

	if (a == b)
		return true;
	if (!str_eq(a->name, b->name) || !str_eq(a->message, b->message))
		return false;
	if (a->chain_len != b->chain_len)
		return false;
	for (i = 0; i < a->chain_len; i++)
		if (!str_eq(a->chain[i].side, b->chain[i].side) ||
		    !str_eq(a->chain[i].type, b->chain[i].type) ||
		    !str_eq(a->chain[i].member, b->chain[i].member))
			return false;
	/* a missing args tuple equals an empty one */
	if ((a->args ? shade_value_len(a->args) : 0) == 0 &&
	    (b->args ? shade_value_len(b->args) : 0) == 0)
		return true;
	return shade_value_equal(a->args ? a->args : &none,
				 b->args ? b->args : &none);
}

/* Equality of two dicts: same pairs, any order. */
static bool dict_equal(const struct shade_dict *a, const struct shade_dict *b)
{
	size_t i = 0;

	if (a->len != b->len)
		return false;
	for (i = 0; i < a->used; i++) {
		const struct shade_dict_entry *e = &a->entries[i];
		const struct shade_dict_entry *o;

		if (shade_tag_kind_(&e->key) == SHADE_DELETED_)
			continue;
		o = shade_dict_find_(b, &e->key, e->hash);
		if (o == NULL || !shade_value_equal(&e->val, &o->val))
			return false;
	}
	return true;
}

bool shade_value_equal(const shade_value *a, const shade_value *b)
{
	unsigned k = shade_tag_kind_(a);
	size_t i = 0;

	if (k != shade_tag_kind_(b))
		return false;
	switch (k) {
	case SHADE_NONE:
		return true;
	case SHADE_BOOL:
		return a->u.b == b->u.b;
	case SHADE_INT:
		return a->u.i == b->u.i;
	case SHADE_FLOAT:
		return float_bits(a->u.f) == float_bits(b->u.f);
	case SHADE_STR:
	case SHADE_BYTES:
		return a->len == b->len &&
		       (a->len == 0 || memcmp(a->u.p, b->u.p, a->len) == 0);
	case SHADE_TUPLE:
	case SHADE_LIST:
		if (a->u.seq->len != b->u.seq->len)
			return false;
		for (i = 0; i < a->u.seq->len; i++)
			if (!shade_value_equal(&a->u.seq->items[i],
					       &b->u.seq->items[i]))
				return false;
		return true;
	case SHADE_DICT:
		return dict_equal(a->u.dict, b->u.dict);
	case SHADE_REF:
		return a->u.ref == b->u.ref;
	case SHADE_EXC:
		return exc_equal(a->u.exc, b->u.exc);
	default:
		return false;
	}
}

/* ------------------------------------------------------------ hashing */

/* A 64-bit finaliser (splitmix64). */
static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= UINT64_C(0xbf58476d1ce4e5b9);
	x ^= x >> 27;
	x *= UINT64_C(0x94d049bb133111eb);
	x ^= x >> 31;
	return x;
}

/* Hash len bytes, eight at a time. */
static uint64_t hash_bytes(const uint8_t *p, size_t len, uint64_t seed)
{
	uint64_t h = seed ^ (len * UINT64_C(0x9e3779b97f4a7c15));
	uint64_t w;

	while (len >= 8) {
		memcpy(&w, p, 8);
		h = (h ^ mix64(w)) * UINT64_C(0x9e3779b97f4a7c15);
		h ^= h >> 29;
		p += 8;
		len -= 8;
	}
	w = 0;
	if (len > 0)
		memcpy(&w, p, len);
	return mix64(h ^ w ^ ((uint64_t)len << 56));
}

/* Hash v into *h; false when v is not hashable. */
static bool hash_of(const shade_value *v, uint64_t *h)
{
	unsigned k = shade_tag_kind_(v);
	uint64_t seed = UINT64_C(0x51ed270b27a8c3d5) * (k + 1);
	size_t i = 0;

	switch (k) {
	case SHADE_NONE:
		*h = mix64(seed);
		return true;
	case SHADE_BOOL:
		*h = mix64(seed ^ (uint64_t)v->u.b);
		return true;
	case SHADE_INT:
		*h = mix64(seed ^ (uint64_t)v->u.i);
		return true;
	case SHADE_FLOAT:
		*h = mix64(seed ^ float_bits(v->u.f));
		return true;
	case SHADE_STR:
	case SHADE_BYTES:
		*h = hash_bytes(v->u.p, v->len, seed);
		return true;
	case SHADE_TUPLE: {
		uint64_t acc = mix64(seed ^ v->u.seq->len), ih;

		for (i = 0; i < v->u.seq->len; i++) {
			if (!hash_of(&v->u.seq->items[i], &ih))
				return false;
			acc = mix64(acc + ih) ^ (acc >> 17);
		}
		*h = acc;
		return true;
	}
	default:
		return false;
	}
}

bool shade_value_is_hashable(const shade_value *v)
{
	uint64_t h;

	return hash_of(v, &h);
}

uint64_t shade_value_hash(const shade_value *v)
{
	uint64_t h;

	return hash_of(v, &h) ? h : 0;
}

/* Internal: hash for the dict, false when unhashable. */
bool shade_value_hash_(const shade_value *v, uint64_t *h)
{
	return hash_of(v, h);
}

/* ------------------------------------------------------------ diagnostics */

/* Append a C string to the diagnostic buffer. */
static void put_s(shade_buf *b, const char *s)
{
	shade_buf_append(b, s, strlen(s));
}

/* Shortest decimal digits of finite f > 0 that read back as f: digits
 * into ds (no trailing zeros), returns the exponent e of d.ddd x 10^e. */
static int shortest_digits(double f, char *ds, size_t dslen)
{
	char tmp[64], cand[24];
	int prec, e = 0, k;

	for (prec = 1; prec <= 17; prec++) {
		long long m;
		char *x;
		size_t i, n = 0;

		snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, f);
		x = strchr(tmp, 'e');
		e = atoi(x + 1);
		for (i = 0; tmp + i < x; i++)
			if (tmp[i] != '.')
				ds[n++] = tmp[i];
		ds[n] = '\0';
		m = atoll(ds);
		/* the correctly rounded digits, then their neighbours (the
		 * shortest round-tripping string is not always the rounded
		 * one next to a power of two) */
		for (k = 0; k < 3; k++) {
			long long c = m + (k == 1 ? 1 : k == 2 ? -1 : 0);
			int ce = e;

			if (c <= 0)
				continue;
			snprintf(cand, sizeof(cand), "%lld", c);
			if (strlen(cand) > (size_t)prec) {      /* 99 + 1 */
				cand[prec] = '\0';
				ce++;
			}
			snprintf(tmp, sizeof(tmp), "%.1s.%se%d", cand,
				 cand[1] ? cand + 1 : "0", ce);
			if (strtod(tmp, NULL) == f) {
				if (strlen(cand) < dslen)
					memcpy(ds, cand, strlen(cand) + 1);
				e = ce;
				goto found;
			}
		}
	}
found:
	for (k = (int)strlen(ds) - 1; k > 0 && ds[k] == '0'; k--)
		ds[k] = '\0';
	return e;
}

/* Append a float in the notation of RFC 8949 Appendix A: shortest
 * round-trip digits, fixed notation for exponents -5..15, otherwise
 * d.ddde+x; always a point. */
static void put_float(shade_buf *b, double f)
{
	char ds[32], out[64];
	int e, n, i, len;

	if (isnan(f)) {
		put_s(b, "NaN");
		return;
	}
	if (isinf(f)) {
		put_s(b, f < 0 ? "-Infinity" : "Infinity");
		return;
	}
	if (signbit(f))
		put_s(b, "-");
	f = fabs(f);
	if (f == 0) {
		put_s(b, "0.0");
		return;
	}
	e = shortest_digits(f, ds, sizeof(ds));
	n = (int)strlen(ds);
	if (e >= -5 && e < 16) {
		len = 0;
		if (e < 0) {
			len += snprintf(out, sizeof(out), "0.");
			for (i = 0; i < -e - 1; i++)
				out[len++] = '0';
			snprintf(out + len, sizeof(out) - (size_t)len, "%s", ds);
		} else {
			for (i = 0; i <= e; i++)
				out[len++] = i < n ? ds[i] : '0';
			out[len++] = '.';
			if (n > e + 1)
				snprintf(out + len, sizeof(out) - (size_t)len,
					 "%s", ds + e + 1);
			else
				snprintf(out + len, sizeof(out) - (size_t)len,
					 "0");
		}
	} else {
		snprintf(out, sizeof(out), "%.1s.%se%c%d", ds,
			 n > 1 ? ds + 1 : "0", e < 0 ? '-' : '+', abs(e));
	}
	put_s(b, out);
}

/* Append text as a JSON-style string literal, non-ASCII as \uXXXX. */
static void put_text(shade_buf *b, const char *s, size_t len)
{
	const uint8_t *p = (const uint8_t *)s;
	size_t i = 0;
	char tmp[16];

	shade_buf_append(b, "\"", 1);
	while (i < len) {
		uint32_t c = p[i];
		size_t n = 1, k;

		if (c >= 0x80) {
			n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
			c &= n == 4 ? 0x07 : n == 3 ? 0x0f : 0x1f;
			for (k = 1; k < n && i + k < len; k++)
				c = (c << 6) | (p[i + k] & 0x3f);
		}
		i += n;
		if (c == '"' || c == '\\') {
			tmp[0] = '\\';
			tmp[1] = (char)c;
			shade_buf_append(b, tmp, 2);
		} else if (c == '\n') {
			put_s(b, "\\n");
		} else if (c == '\t') {
			put_s(b, "\\t");
		} else if (c == '\r') {
			put_s(b, "\\r");
		} else if (c < 0x20 || (c >= 0x7f && c < 0x10000)) {
			snprintf(tmp, sizeof(tmp), "\\u%04" PRIx32, c);
			put_s(b, tmp);
		} else if (c >= 0x10000) {
			c -= 0x10000;
			snprintf(tmp, sizeof(tmp), "\\u%04" PRIx32 "\\u%04" PRIx32,
				 0xd800 + (c >> 10), 0xdc00 + (c & 0x3ff));
			put_s(b, tmp);
		} else {
			tmp[0] = (char)c;
			shade_buf_append(b, tmp, 1);
		}
	}
	shade_buf_append(b, "\"", 1);
}

/* Append bytes as h'..'. */
static void put_hex(shade_buf *b, const uint8_t *p, size_t len)
{
	static const char hx[] = "0123456789abcdef";
	uint8_t *d;
	size_t i = 0;

	put_s(b, "h'");
	d = shade_buf_grow(b, len * 2);
	if (d != NULL)
		for (i = 0; i < len; i++) {
			d[2 * i] = (uint8_t)hx[p[i] >> 4];
			d[2 * i + 1] = (uint8_t)hx[p[i] & 15];
		}
	put_s(b, "'");
}

static void put_diag(shade_buf *b, const shade_value *v);

/* Append the exception as 202([name, message, args, chain]). */
static void put_exc(shade_buf *b, const shade_error *e)
{
	size_t i = 0;
	const char *name = e->name ? e->name : "";
	const char *msg = e->message ? e->message : "";

	put_s(b, "202([");
	put_text(b, name, strlen(name));
	put_s(b, ", ");
	put_text(b, msg, strlen(msg));
	put_s(b, ", ");
	if (e->args != NULL && shade_value_is_seq(e->args)) {
		shade_value t = *e->args;

		t.tag = SHADE_TUPLE;
		put_diag(b, &t);
	} else {
		put_s(b, "[]");
	}
	put_s(b, ", [");
	for (i = 0; i < e->chain_len; i++) {
		const char *f[3] = { e->chain[i].side, e->chain[i].type,
				     e->chain[i].member };
		int k;

		put_s(b, i ? ", [" : "[");
		for (k = 0; k < 3; k++) {
			const char *s = f[k] ? f[k] : "";

			if (k)
				put_s(b, ", ");
			put_text(b, s, strlen(s));
		}
		put_s(b, "]");
	}
	put_s(b, "]])");
}

/* Append v in diagnostic notation. */
static void put_diag(shade_buf *b, const shade_value *v)
{
	char tmp[32];
	size_t i = 0;

	switch (shade_tag_kind_(v)) {
	case SHADE_NONE:
		put_s(b, "null");
		break;
	case SHADE_BOOL:
		put_s(b, v->u.b ? "true" : "false");
		break;
	case SHADE_INT:
		snprintf(tmp, sizeof(tmp), "%" PRId64, v->u.i);
		put_s(b, tmp);
		break;
	case SHADE_FLOAT:
		put_float(b, v->u.f);
		break;
	case SHADE_STR:
		put_text(b, v->u.s, v->len);
		break;
	case SHADE_BYTES:
		put_hex(b, v->u.p, v->len);
		break;
	case SHADE_LIST:
	case SHADE_TUPLE:
		if (shade_tag_kind_(v) == SHADE_LIST)
			put_s(b, "203(");
		put_s(b, "[");
		for (i = 0; i < v->u.seq->len; i++) {
			if (i)
				put_s(b, ", ");
			put_diag(b, &v->u.seq->items[i]);
		}
		put_s(b, "]");
		if (shade_tag_kind_(v) == SHADE_LIST)
			put_s(b, ")");
		break;
	case SHADE_DICT: {
		const struct shade_dict *d = v->u.dict;
		bool first = true;

		put_s(b, "{");
		for (i = 0; i < d->used; i++) {
			if (shade_tag_kind_(&d->entries[i].key) ==
			    SHADE_DELETED_)
				continue;
			if (!first)
				put_s(b, ", ");
			first = false;
			put_diag(b, &d->entries[i].key);
			put_s(b, ": ");
			put_diag(b, &d->entries[i].val);
		}
		put_s(b, "}");
		break;
	}
	case SHADE_REF: {
		const shade_ref_head *h = (const shade_ref_head *)v->u.ref;
		char *s = NULL;

		if (h->ops != NULL && h->ops->describe != NULL)
			s = h->ops->describe(NULL, v->u.ref);
		if (s != NULL) {
			put_s(b, s);
			talloc_free(s);
		} else {
			snprintf(tmp, sizeof(tmp), "ref(%p)", (void *)v->u.ref);
			put_s(b, tmp);
		}
		break;
	}
	case SHADE_EXC:
		put_exc(b, v->u.exc);
		break;
	default:
		put_s(b, "invalid");
		break;
	}
}

char *shade_value_diag(TALLOC_CTX *mem_ctx, const shade_value *v)
{
	shade_buf *b = shade_buf_new(NULL, 64);
	char *s = NULL;
	size_t len;

	if (b == NULL)
		return NULL;
	put_diag(b, v);
	shade_buf_append(b, "", 1);
	s = (char *)shade_buf_steal(mem_ctx, b, &len);
	talloc_free(b);
	return s;
}
