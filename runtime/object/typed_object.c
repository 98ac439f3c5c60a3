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

shade_status shade_object_typed_eager(shade_ref *obj,
				      const uint32_t *members, size_t n,
				      shade_error **err)
{
	struct local_obj *o = (struct local_obj *)obj;
	size_t i;

	if (obj == NULL || obj->kind != REF_TYPED || (n > 0 && !members))
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "eager members need a typed object");
	for (i = 0; i < n; i++)
		if (members[i] >= obj->shape->n_members ||
		    obj->shape->members[members[i]].kind !=
		    SHADE_MEMBER_READONLY)
			return shade_error_set(err, SHADE_ERR_INVALID,
					       "eager member %u of '%s' is not "
					       "a readonly attribute",
					       (unsigned)members[i],
					       obj->shape->name);
	o->eager = n ? members : NULL;
	o->n_eager = n;
	return SHADE_OK;
}

bool obj_has_eager(const struct shade_ref *r)
{
	return r->kind == REF_TYPED &&
	       ((const struct local_obj *)r)->n_eager > 0;
}

shade_status obj_eager_put(struct shade_ref *r, shade_buf *b)
{
	struct local_obj *o = (struct local_obj *)r;
	TALLOC_CTX *tmp = talloc_new(NULL);
	shade_buf *all = shade_buf_new(tmp, 64), *one;
	size_t i, n = 0;

	if (tmp == NULL || all == NULL) {
		talloc_free(tmp);
		return shade_cbor_put_map(b, 0);
	}
	for (i = 0; i < o->n_eager; i++) {
		/* no reference hooks: a value holding one fails and is
		 * left out */
		shade_dispatch_ctx cx = { .mem = talloc_new(tmp) };
		shade_error *e = NULL;

		one = shade_buf_new(cx.mem, 32);
		if (cx.mem == NULL || one == NULL)
			break;
		if (o->dispatch(o->self, &cx, o->eager[i], SHADE_DISPATCH_GET,
				NULL, one, &e) == SHADE_OK &&
		    one->status == SHADE_OK && one->len > 0) {
			shade_cbor_put_uint(all, o->eager[i]);
			shade_buf_append(all, one->data, one->len);
			n++;
		}
		talloc_free(e);
		talloc_free(cx.mem);
	}
	if (all->status != SHADE_OK)
		n = 0;
	shade_cbor_put_map(b, n);
	if (n > 0)
		shade_buf_append(b, all->data, all->len);
	talloc_free(tmp);
	return b->status;
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

/* The references of obj_local_copts (a bridged call with no codec
 * options of its own: a local call, a path step of a pipelined call;
 * exception fields raised locally): each crosses the bytes as tag 200
 * over its index in this table, which holds a count, and comes back as
 * the same object. */
struct local_refs {
	shade_cbor_hooks hooks; /* udata: this */
	shade_cbor_opts copts;  /* hooks: the above */
	shade_ref **r;          /* the references encoded (talloc array) */
	size_t n;               /* entries used */
};

/* Encode hook of local_refs: tag 200 over the table index. */
static shade_status local_encode(void *udata, shade_buf *b, shade_ref *ref,
				 shade_error **err)
{
	struct local_refs *l = udata;
	shade_ref **grown = talloc_realloc(l, l->r, shade_ref *, l->n + 1);

	if (grown == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	l->r = grown;
	l->r[l->n] = shade_ref_retain(ref);
	shade_cbor_put_tag(b, SHADE_CBOR_TAG_SENDER_HOSTED);
	return shade_cbor_put_uint(b, (uint64_t)l->n++);
}

/* Decode hook of local_refs: the object at the index, one count more. */
static shade_status local_decode(void *udata, TALLOC_CTX *mem_ctx,
				 uint64_t tag, shade_cbor_dec *d,
				 shade_ref **out, shade_error **err)
{
	struct local_refs *l = udata;
	uint64_t i = 0;

	(void)mem_ctx;
	SHADE_CHECK(shade_cbor_read_uint(d, &i, err));
	if (tag != SHADE_CBOR_TAG_SENDER_HOSTED || i >= l->n)
		return shade_error_set(err, SHADE_ERR_PROTOCOL,
				       "not a reference of this process");
	*out = shade_ref_retain(l->r[i]);
	return SHADE_OK;
}

/* talloc destructor: drop the table's counts. */
static int local_refs_free(struct local_refs *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		shade_ref_release(l->r[i]);
	return 0;
}

const shade_cbor_opts *obj_local_copts(TALLOC_CTX *owner)
{
	struct local_refs *l = talloc_zero(owner, struct local_refs);

	if (l == NULL)
		return NULL;
	l->hooks.encode_ref = local_encode;
	l->hooks.decode_ref = local_decode;
	l->hooks.udata = l;
	l->copts.hooks = &l->hooks;
	talloc_set_destructor(l, local_refs_free);
	return &l->copts;
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

	if (copts == NULL && tmp != NULL) /* no peer: references stay here */
		cx.copts = copts = obj_local_copts(tmp);
	if (tmp == NULL || ib == NULL || ob == NULL || copts == NULL) {
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
