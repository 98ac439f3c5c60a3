/*
 * copy.c - deep copy of any value: the dispatcher over the kinds, which
 * hands itself to seq.c and dict.c for the containers' items, and the
 * deep copy of an error (exc payloads).
 */
#include <talloc.h>

#include "shade/value.h"
#include "value/value_int.h"

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
	c->user_code = e->user_code;
	for (i = 0; i < e->sites_len; i++) {
		const shade_error_site *st = &e->sites[i];

		if (shade_error_push_site(c, st->function, st->file,
					  st->line) != SHADE_OK)
			goto fail;
		if (st->values != NULL &&
		    (c->sites[i].values = shade_value_copy(
			     c->sites, st->values)) == NULL)
			goto fail;
	}
	if (e->traceback != NULL &&
	    (c->traceback = shade_value_copy(c, e->traceback)) == NULL)
		goto fail;
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
		return shade_slot_set_data_(owner, dst, SHADE_STR, src->u.s,
					    src->len);
	case SHADE_BYTES:
		return shade_slot_set_data_(owner, dst, SHADE_BYTES, src->u.p,
					    src->len);
	case SHADE_TUPLE:
	case SHADE_LIST:
		st = shade_seq_copy_(owner, &dst->u.seq, src->u.seq,
				     shade_slot_copy_);
		if (st == SHADE_OK)
			dst->tag = src->tag & (SHADE_KIND_MASK |
					       SHADE_VF_BYVALUE);
		return st;
	case SHADE_DICT:
		st = shade_dict_copy_(owner, &dst->u.dict, src->u.dict,
				      shade_slot_copy_);
		if (st == SHADE_OK)
			dst->tag = src->tag & (SHADE_KIND_MASK |
					       SHADE_VF_BYVALUE);
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

shade_value *shade_value_borrow(TALLOC_CTX *mem_ctx, const shade_value *v)
{
	unsigned k = v != NULL ? shade_tag_kind_(v) : SHADE_NONE;
	shade_value *b;

	if (v == NULL)
		return NULL;
	if ((k != SHADE_STR && k != SHADE_BYTES) || v->len == 0)
		return shade_value_copy(mem_ctx, v);
	b = talloc(mem_ctx, shade_value);
	if (b == NULL)
		return NULL;
	*b = shade_value_none();
	b->tag = (uint8_t)(k | SHADE_VF_BORROWED | (v->tag & SHADE_VF_NUL));
	b->len = v->len;
	b->u.p = v->u.p;
	return b;
}
