/*
 * typed_object.c - typed objects: a `static const` shape served by a skeleton's
 * dispatch function that reads arguments straight from the request bytes
 * and writes the result straight to the reply; the bridge that serves a
 * value-level operation (a local call, a dynamic call from a peer)
 * through the same dispatch.
 */
#include <talloc.h>

#include "shade/cbor.h"
#include "shade/object.h"
#include "object/object_int.h"

shade_status shade_object_new_typed(const shade_shape_desc *shape,
				    shade_dispatch_fn dispatch, void *self,
				    shade_ref **out, shade_error **err)
{
	struct local_obj *o;

	if (shape == NULL || dispatch == NULL)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "typed object needs a shape and a "
				       "dispatch function");
	SHADE_CHECK(obj_local_new(REF_TYPED, shape->name, NULL, &o, err));
	o->dispatch = dispatch;
	o->self = self;
	o->ref.shape = shape;
	*out = &o->ref;
	return SHADE_OK;
}

void *shade_object_typed_self(shade_ref *obj)
{
	if (obj == NULL || obj->kind != REF_TYPED)
		return NULL;
	return ((struct local_obj *)obj)->self;
}

TALLOC_CTX *shade_dispatch_mem(shade_dispatch_ctx *cx)
{
	return cx->mem;
}

shade_status shade_dispatch_decode_value(shade_dispatch_ctx *cx,
					 shade_cbor_dec *in, shade_value **out,
					 shade_error **err)
{
	return shade_cbor_decode_value(cx->mem, in, cx->copts, out, err);
}

shade_status shade_dispatch_encode_value(shade_dispatch_ctx *cx,
					 shade_buf *out, const shade_value *v,
					 shade_error **err)
{
	return shade_cbor_encode_value(out, v, cx->copts, err);
}


shade_status obj_typed_by_value(TALLOC_CTX *mem_ctx, struct local_obj *o,
				uint32_t member, shade_dispatch_op dop,
				const shade_value *in,
				const shade_cbor_opts *copts,
				shade_value **out, shade_error **err)
{
	TALLOC_CTX *tmp = talloc_new(NULL);
	shade_buf *ib = shade_buf_new(tmp, 64), *ob = shade_buf_new(tmp, 64);
	shade_dispatch_ctx cx = { tmp, copts };
	shade_cbor_dec d;
	shade_status st;

	if (tmp == NULL || ib == NULL || ob == NULL) {
		talloc_free(tmp);
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	}
	if (in != NULL) {
		st = shade_cbor_encode_value(ib, in, copts, err);
		if (st != SHADE_OK)
			goto done;
	}
	shade_cbor_dec_init(&d, ib->data, ib->len);
	st = o->dispatch(o->self, &cx, member, dop, in ? &d : NULL, ob, err);
	if (st != SHADE_OK)
		goto done;
	if (ob->status != SHADE_OK) {
		st = shade_error_set(err, ob->status, "out of memory");
		goto done;
	}
	*out = NULL;
	if (ob->len > 0)
		st = shade_cbor_decode(mem_ctx, ob->data, ob->len, copts, out,
				       err);
done:
	talloc_free(tmp);
	return st;
}

shade_status obj_dispatch_typed(struct shade_ref *r, shade_dispatch_ctx *cx,
				uint32_t member, shade_dispatch_op op,
				shade_cbor_dec *in, shade_buf *out,
				shade_error **err)
{
	struct local_obj *o = (struct local_obj *)r;

	return o->dispatch(o->self, cx, member, op, in, out, err);
}
