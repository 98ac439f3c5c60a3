/*
 * slot.c - what a value slot owns: the payload a slot or box carries,
 * releasing, moving and boxing it, string/bytes storage, and the ref
 * holder counts.  The lowest file of the value layer: it calls no other.
 *
 * The ownership invariants are written down in value_int.h.
 */
#include <string.h>

#include <talloc.h>

#include "shade/value.h"
#include "base/bigbuf_int.h"
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

/* ------------------------------------------------------------ slots */

/* The talloc block a slot owns, or NULL. */
static void *slot_payload(const shade_value *v)
{
	switch (shade_tag_kind_(v)) {
	case SHADE_STR:
	case SHADE_BYTES:
		if (v->tag & SHADE_VF_VIEW) /* the block the data lies in */
			return (void *)(v->u.p - shade_view_offset_(v));
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
shade_status shade_slot_set_data_(TALLOC_CTX *owner, shade_value *dst,
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
	/* Large data: a block whose pages are kept for reuse once freed. */
	d = len + 1 >= BIGBUF_MIN ? talloc_steal(owner, bigbuf_alloc(len + 1))
				  : talloc_size(owner, len + 1);
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
