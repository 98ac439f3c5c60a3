/*
 * object.c - local objects: dynamic objects, functions, types,
 * containers, bound methods and typed objects; their shapes; the
 * operations a peer (or local code) performs on them; the registry of
 * exported names.
 */
#include <stdio.h>
#include <string.h>

#include <talloc.h>

#include "shade/cbor.h"
#include "shade/object.h"
#include "conn/msg_int.h"
#include "object/object_int.h"

/* ------------------------------------------------------------ counting */

/* References alive in the process (local objects and proxies). */
static long live_refs;

void obj_count(int delta)
{
	__atomic_add_fetch(&live_refs, delta, __ATOMIC_RELAXED);
}

long obj_live_refs(void)
{
	return __atomic_load_n(&live_refs, __ATOMIC_RELAXED);
}

/* Value-model retain for local objects. */
static void local_retain(struct shade_ref *r)
{
	__atomic_add_fetch(&r->refs, 1, __ATOMIC_RELAXED);
}

/* Value-model release for local objects: free on the last count. */
static void local_release(struct shade_ref *r)
{
	if (__atomic_sub_fetch(&r->refs, 1, __ATOMIC_ACQ_REL) == 0)
		talloc_free(r);
}

/* Value-model describe: `obj(<type>)`. */
static char *local_describe(TALLOC_CTX *mem_ctx, const struct shade_ref *r)
{
	const struct local_obj *o = (const struct local_obj *)r;

	return talloc_asprintf(mem_ctx, "local(%s)", o->type_name);
}

const shade_ref_ops obj_local_ops = {
	local_retain, local_release, local_describe
};

shade_ref *shade_ref_retain(shade_ref *r)
{
	if (r != NULL)
		r->head.ops->retain(r);
	return r;
}

void shade_ref_release(shade_ref *r)
{
	if (r != NULL)
		r->head.ops->release(r);
}

bool shade_ref_is_proxy(const shade_ref *r)
{
	return r != NULL && r->kind == REF_PROXY;
}

bool shade_ref_same(const shade_ref *a, const shade_ref *b)
{
	return a == b;
}

/* Destructor of a local object: run the free hook, drop what it holds. */
static int local_destructor(struct local_obj *o)
{
	if (o->on_free != NULL)
		o->on_free(o->free_udata);
	if (o->target != NULL)
		shade_ref_release(o->target);
	obj_count(-1);
	return 0;
}

/* Allocate a local object of the given kind with one count. */
static shade_status local_new(enum ref_kind kind, const char *type_name,
			      const char *const *bases, struct local_obj **out,
			      shade_error **err)
{
	struct local_obj *o;
	size_t n = 0, i;

	*out = NULL;
	if (type_name == NULL ||
	    shade_utf8_check(type_name, strlen(type_name), NULL) != SHADE_OK)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "object type name missing or not UTF-8");
	while (bases != NULL && bases[n] != NULL)
		n++;
	o = talloc_zero(NULL, struct local_obj);
	if (o == NULL)
		goto nomem;
	o->ref.head.ops = &obj_local_ops;
	o->ref.refs = 1;
	o->ref.kind = (uint8_t)kind;
	o->type_name = talloc_strdup(o, type_name);
	o->bases = talloc_zero_array(o, char *, n + 1);
	if (o->type_name == NULL || o->bases == NULL)
		goto nomem;
	for (i = 0; i < n; i++)
		if ((o->bases[i] = talloc_strdup(o->bases, bases[i])) == NULL)
			goto nomem;
	o->n_bases = n;
	obj_count(1);
	talloc_set_destructor(o, local_destructor);
	*out = o;
	return SHADE_OK;
nomem:
	talloc_free(o);
	return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
}

/* ------------------------------------------------------------ shapes */

/* Build the shape of a dynamic object from its members. */
static shade_shape_desc *build_shape(struct local_obj *o)
{
	shade_shape_desc *d = talloc_zero(o, shade_shape_desc);
	shade_member_desc *m;
	size_t i;

	if (d == NULL)
		return NULL;
	m = talloc_zero_array(d, shade_member_desc, o->n_members + 1);
	if (m == NULL) {
		talloc_free(d);
		return NULL;
	}
	for (i = 0; i < o->n_members; i++) {
		m[i].name = o->members[i].name;
		m[i].kind = o->members[i].kind;
	}
	d->kind = o->ref.kind == REF_TYPE ? SHADE_SHAPE_TYPE
					  : SHADE_SHAPE_OBJECT;
	d->name = o->type_name;
	d->bases = (const char *const *)o->bases;
	d->n_bases = o->n_bases;
	d->members = m;
	d->n_members = o->n_members;
	d->fingerprint = shade_shape_fp(d);
	return d;
}

const shade_shape_desc *obj_shape(struct shade_ref *r)
{
	struct local_obj *o = (struct local_obj *)r;

	if (r->shape != NULL)
		return r->shape;
	switch ((enum ref_kind)r->kind) {
	case REF_FUNCTION:
	case REF_BOUND:
		r->shape = &shade_shape_function;
		break;
	case REF_CONTAINER:
		r->shape = shade_value_kind(o->value) == SHADE_DICT
				   ? &shade_shape_dict
				   : &shade_shape_list;
		break;
	case REF_DYNAMIC:
	case REF_TYPE:
		o->own_shape = build_shape(o);
		r->shape = o->own_shape;
		break;
	case REF_TYPED:
	case REF_PROXY:
		break;
	}
	return r->shape;
}

const shade_shape_desc *shade_ref_shape(shade_ref *r)
{
	if (r == NULL)
		return NULL;
	if (r->kind == REF_PROXY)
		return r->shape;
	return obj_shape(r);
}

const char *shade_ref_type_name(shade_ref *r)
{
	const shade_shape_desc *d = shade_ref_shape(r);

	return d != NULL ? d->name : "";
}

shade_status obj_resolve(struct shade_ref *r, const char *name,
			 uint64_t index, uint32_t *out, shade_error **err)
{
	const shade_shape_desc *d = r->kind == REF_PROXY ? r->shape
							 : obj_shape(r);
	long i;

	if (d == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	if (name != NULL) {
		i = shade_shape_find(d, name);
		if (i < 0)
			return shade_error_set(err, SHADE_ERR_ATTRIBUTE,
					       "'%s' object has no attribute "
					       "'%s'", d->name, name);
		*out = (uint32_t)i;
		return SHADE_OK;
	}
	if (index >= d->n_members)
		return shade_error_set(err, SHADE_ERR_ATTRIBUTE,
				       "'%s' object has no member #%llu",
				       d->name, (unsigned long long)index);
	*out = (uint32_t)index;
	return SHADE_OK;
}

/* ------------------------------------------------------------ building */

/* The dynamic object behind obj, or NULL after setting *err. */
static struct local_obj *dynamic_of(shade_ref *obj, shade_error **err)
{
	if (obj == NULL || obj->kind != REF_DYNAMIC) {
		shade_error_set(err, SHADE_ERR_INVALID,
				"not a dynamic object");
		return NULL;
	}
	return (struct local_obj *)obj;
}

/* Append a member slot named name; NULL after setting *err. */
static struct obj_member *add_member(struct local_obj *o, const char *name,
				     shade_member_kind kind, shade_error **err)
{
	struct obj_member *m;
	size_t i;

	if (name == NULL || shade_utf8_check(name, strlen(name), NULL) != 0) {
		shade_error_set(err, SHADE_ERR_INVALID,
				"member name missing or not UTF-8");
		return NULL;
	}
	for (i = 0; i < o->n_members; i++)
		if (strcmp(o->members[i].name, name) == 0) {
			shade_error_set(err, SHADE_ERR_INVALID,
					"%s already has a member %s",
					o->type_name, name);
			return NULL;
		}
	m = talloc_realloc(o, o->members, struct obj_member, o->n_members + 1);
	if (m == NULL) {
		shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
		return NULL;
	}
	o->members = m;
	m = &m[o->n_members];
	memset(m, 0, sizeof(*m));
	m->name = talloc_strdup(o->members, name);
	if (m->name == NULL) {
		shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
		return NULL;
	}
	m->kind = kind;
	o->n_members++;
	/* The shape changes: drop the cached one. */
	TALLOC_FREE(o->own_shape);
	o->ref.shape = NULL;
	return m;
}

shade_status shade_object_new(const char *type_name, const char *const *bases,
			      shade_ref **out, shade_error **err)
{
	struct local_obj *o;

	SHADE_CHECK(local_new(REF_DYNAMIC, type_name, bases, &o, err));
	*out = &o->ref;
	return SHADE_OK;
}

shade_status shade_object_add_attr(shade_ref *obj, const char *name,
				   const shade_value *initial, bool readonly,
				   shade_error **err)
{
	struct local_obj *o = dynamic_of(obj, err);
	struct obj_member *m;
	shade_value *v;

	if (o == NULL)
		return SHADE_ERR_INVALID;
	v = initial ? shade_value_copy(o, initial) : shade_none(o);
	if (v == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	m = add_member(o, name, readonly ? SHADE_MEMBER_READONLY
					 : SHADE_MEMBER_ATTR, err);
	if (m == NULL) {
		talloc_free(v);
		return (*err) ? (*err)->code : SHADE_ERR_INVALID;
	}
	m->stored = v;
	return SHADE_OK;
}

shade_status shade_object_add_property(shade_ref *obj, const char *name,
				       shade_getter_fn getter,
				       shade_setter_fn setter, void *udata,
				       shade_error **err)
{
	struct local_obj *o = dynamic_of(obj, err);
	struct obj_member *m;

	if (o == NULL)
		return SHADE_ERR_INVALID;
	if (getter == NULL)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "property %s needs a getter", name);
	m = add_member(o, name, setter ? SHADE_MEMBER_ATTR
				       : SHADE_MEMBER_READONLY, err);
	if (m == NULL)
		return SHADE_ERR_INVALID;
	m->get = getter;
	m->set = setter;
	m->udata = udata;
	return SHADE_OK;
}

shade_status shade_object_add_method(shade_ref *obj, const char *name,
				     shade_method_fn fn, void *udata,
				     bool oneway, shade_error **err)
{
	struct local_obj *o = dynamic_of(obj, err);
	struct obj_member *m;

	if (o == NULL)
		return SHADE_ERR_INVALID;
	if (fn == NULL)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "method %s needs a handler", name);
	m = add_member(o, name, oneway ? SHADE_MEMBER_ONEWAY
				       : SHADE_MEMBER_METHOD, err);
	if (m == NULL)
		return SHADE_ERR_INVALID;
	m->fn = fn;
	m->udata = udata;
	return SHADE_OK;
}

const shade_value *shade_object_attr(shade_ref *obj, const char *name)
{
	struct local_obj *o;
	size_t i;

	if (obj == NULL || obj->kind != REF_DYNAMIC)
		return NULL;
	o = (struct local_obj *)obj;
	for (i = 0; i < o->n_members; i++)
		if (strcmp(o->members[i].name, name) == 0)
			return o->members[i].stored;
	return NULL;
}

void shade_object_on_free(shade_ref *obj, void (*fn)(void *udata),
			  void *udata)
{
	if (obj != NULL && obj->kind != REF_PROXY) {
		((struct local_obj *)obj)->on_free = fn;
		((struct local_obj *)obj)->free_udata = udata;
	}
}

void shade_object_on_unexport(shade_ref *obj, shade_unexport_fn fn,
			      void *udata)
{
	if (obj != NULL && obj->kind != REF_PROXY) {
		((struct local_obj *)obj)->on_unexport = fn;
		((struct local_obj *)obj)->unexport_udata = udata;
	}
}

void obj_chain_names(struct shade_ref *r, const char **type,
		     const char **member)
{
	struct local_obj *o = (struct local_obj *)r;
	const shade_shape_desc *d;

	*type = "";
	if (!obj_is_local(r))
		return;
	switch ((enum ref_kind)r->kind) {
	case REF_FUNCTION:
		*type = "builtins.function";
		*member = o->type_name;
		break;
	case REF_BOUND:
		d = obj_shape(o->target);
		if (obj_is_local(o->target) && d != NULL) {
			*type = d->name;
			*member = d->members[o->member].name;
		}
		break;
	default:
		*type = o->type_name;
		break;
	}
}

void obj_unexported(struct shade_ref *r, struct shade_conn *conn)
{
	struct local_obj *o = (struct local_obj *)r;

	if (obj_is_local(r) && o->on_unexport != NULL)
		o->on_unexport(o->unexport_udata, r, conn);
}

shade_status shade_function_new(const char *name, shade_method_fn fn,
				void *udata, shade_ref **out,
				shade_error **err)
{
	struct local_obj *o;

	if (fn == NULL)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "function needs a body");
	SHADE_CHECK(local_new(REF_FUNCTION, name ? name : "function", NULL,
			      &o, err));
	o->fn = fn;
	o->udata = udata;
	*out = &o->ref;
	return SHADE_OK;
}

shade_status shade_type_new(const char *type_name, const char *const *bases,
			    shade_method_fn ctor, void *udata,
			    shade_ref **out, shade_error **err)
{
	struct local_obj *o;

	if (ctor == NULL)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "type needs a constructor");
	SHADE_CHECK(local_new(REF_TYPE, type_name, bases, &o, err));
	o->fn = ctor;
	o->udata = udata;
	*out = &o->ref;
	return SHADE_OK;
}

shade_status shade_container_new(shade_value *value, shade_ref **out,
				 shade_error **err)
{
	struct local_obj *o;
	shade_kind k = value ? shade_value_kind(value) : SHADE_NONE;
	shade_status st;

	if (k != SHADE_LIST && k != SHADE_DICT) {
		talloc_free(value);
		return shade_error_set(err, SHADE_ERR_TYPE,
				       "a container holds a list or a dict");
	}
	st = local_new(REF_CONTAINER, k == SHADE_LIST ? "builtins.list"
						      : "builtins.dict",
		       NULL, &o, err);
	if (st != SHADE_OK) {
		talloc_free(value);
		return st;
	}
	o->value = talloc_steal(o, value);
	*out = &o->ref;
	return SHADE_OK;
}

shade_value *shade_container_value(shade_ref *obj)
{
	if (obj == NULL || obj->kind != REF_CONTAINER)
		return NULL;
	return ((struct local_obj *)obj)->value;
}

shade_status shade_object_new_typed(const shade_shape_desc *shape,
				    shade_dispatch_fn dispatch, void *self,
				    shade_ref **out, shade_error **err)
{
	struct local_obj *o;

	if (shape == NULL || dispatch == NULL)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "typed object needs a shape and a "
				       "dispatch function");
	SHADE_CHECK(local_new(REF_TYPED, shape->name, NULL, &o, err));
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

/* ------------------------------------------------------------ operations */

/* A new bound method of r's member (one count). */
static shade_status bound_new(struct shade_ref *r, uint32_t member,
			      shade_ref **out, shade_error **err)
{
	struct local_obj *o;

	SHADE_CHECK(local_new(REF_BOUND, "builtins.method", NULL, &o, err));
	o->target = shade_ref_retain(r);
	o->member = member;
	*out = &o->ref;
	return SHADE_OK;
}

/* Wrap a new ref (one count) in a value on mem_ctx. */
static shade_status ref_result(TALLOC_CTX *mem_ctx, shade_ref *ref,
			       shade_value **out, shade_error **err)
{
	*out = shade_ref_value_take(mem_ctx, ref);
	if (*out == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	return SHADE_OK;
}

/* Run a typed object's dispatch for a value-level operation: encode the
 * input value, dispatch, decode the output. */
static shade_status typed_by_value(TALLOC_CTX *mem_ctx, struct local_obj *o,
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

/* GETATTR on a local object. */
static shade_status op_getattr(TALLOC_CTX *mem_ctx, struct local_obj *o,
			       uint32_t member, struct shade_conn *conn,
			       const shade_cbor_opts *copts,
			       shade_value **out, shade_error **err)
{
	const shade_shape_desc *d = obj_shape(&o->ref);
	shade_member_kind kind = d->members[member].kind;
	shade_ref *bm;

	if (kind == SHADE_MEMBER_METHOD || kind == SHADE_MEMBER_ONEWAY) {
		SHADE_CHECK(bound_new(&o->ref, member, &bm, err));
		return ref_result(mem_ctx, bm, out, err);
	}
	if (o->ref.kind == REF_TYPED)
		return typed_by_value(mem_ctx, o, member, SHADE_DISPATCH_GET,
				      NULL, copts, out, err);
	if (o->members[member].get != NULL) {
		shade_call_ctx call = {
			.self = &o->ref, .member = o->members[member].name,
			.err = err, .conn = conn,
			.udata = o->members[member].udata, .mem = mem_ctx
		};
		shade_status st = o->members[member].get(&call);

		if (st == SHADE_OK)
			*out = call.result;
		return st;
	}
	*out = shade_value_copy(mem_ctx, o->members[member].stored);
	if (*out == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	return SHADE_OK;
}

/* Cycle guard.  Reference counts never free a cycle, so a peer that could
 * make a local object hold itself (x.self = x, a list appended to
 * itself, a.b = b; b.a = a) would leak objects for good, one request at
 * a time.  SETATTR on a stored attribute and SETITEM/APPEND on a shared
 * container therefore refuse a value that reaches back to the object
 * being changed through stored attributes, container items and bound
 * methods of local objects.  The walk visits at most CYCLE_WALK_MAX
 * values; past that the store is refused with LimitExceeded. */
#define CYCLE_WALK_MAX 100000

static bool ref_reaches(const struct shade_ref *r,
			const struct shade_ref *target, size_t *budget);

/* True when v reaches target (or the walk ran out of budget). */
static bool value_reaches(const shade_value *v,
			  const struct shade_ref *target, size_t *budget)
{
	const shade_value *item;
	size_t i, n, pos = 0;

	if (v == NULL)
		return false;
	if (*budget == 0)
		return true;
	(*budget)--;
	switch (shade_value_kind(v)) {
	case SHADE_TUPLE:
	case SHADE_LIST:
		n = shade_seq_len(v);
		for (i = 0; i < n; i++)
			if (value_reaches(shade_seq_at(v, i), target, budget))
				return true;
		return false;
	case SHADE_DICT:
		while (shade_dict_next(v, &pos, NULL, &item))
			if (value_reaches(item, target, budget))
				return true;
		return false;
	case SHADE_REF:
		return ref_reaches(shade_value_as_ref(v), target, budget);
	default:
		return false;
	}
}

/* True when r is target or reaches it (see value_reaches). */
static bool ref_reaches(const struct shade_ref *r,
			const struct shade_ref *target, size_t *budget)
{
	const struct local_obj *o = (const struct local_obj *)r;
	size_t i;

	if (r == target)
		return true;
	switch (r->kind) {
	case REF_BOUND:
		return ref_reaches(o->target, target, budget);
	case REF_CONTAINER:
		return value_reaches(o->value, target, budget);
	case REF_DYNAMIC:
		for (i = 0; i < o->n_members; i++)
			if (value_reaches(o->members[i].stored, target, budget))
				return true;
		return false;
	default: /* proxies, functions, types, typed objects hold none */
		return false;
	}
}

/* Refuse storing v into target when that would close a cycle. */
static shade_status check_no_cycle(const struct shade_ref *target,
				   const shade_value *v, shade_error **err)
{
	size_t budget = CYCLE_WALK_MAX;

	if (!value_reaches(v, target, &budget))
		return SHADE_OK;
	if (budget == 0)
		return shade_error_set(err, SHADE_ERR_LIMIT,
				       "value too large to check for a "
				       "reference cycle (%d values)",
				       CYCLE_WALK_MAX);
	return shade_error_set(err, SHADE_ERR_VALUE,
			       "storing this value would make the object "
			       "refer to itself (reference cycle)");
}

/* SETATTR on a local object. */
static shade_status op_setattr(TALLOC_CTX *mem_ctx, struct local_obj *o,
			       uint32_t member, const shade_value *v,
			       struct shade_conn *conn,
			       const shade_cbor_opts *copts, shade_error **err)
{
	const shade_shape_desc *d = obj_shape(&o->ref);
	shade_value *nv, *ignored = NULL;
	shade_status st;

	if (d->members[member].kind != SHADE_MEMBER_ATTR)
		return shade_error_set(err, SHADE_ERR_ATTRIBUTE,
				       "'%s' attribute '%s' is %s", d->name,
				       d->members[member].name,
				       d->members[member].kind ==
						       SHADE_MEMBER_READONLY
					       ? "readonly"
					       : "a method");
	if (o->ref.kind == REF_TYPED) {
		st = typed_by_value(NULL, o, member, SHADE_DISPATCH_SET, v,
				    copts, &ignored, err);
		talloc_free(ignored);
		return st;
	}
	if (o->members[member].set != NULL) {
		shade_call_ctx call = {
			.self = &o->ref, .member = o->members[member].name,
			.value = v, .err = err, .conn = conn,
			.udata = o->members[member].udata, .mem = mem_ctx
		};

		/* A local shade_setattr has no context to give: lend one. */
		if (mem_ctx == NULL && (call.mem = talloc_new(NULL)) == NULL)
			return shade_error_set(err, SHADE_ERR_NOMEM,
					       "out of memory");
		st = o->members[member].set(&call);
		if (mem_ctx == NULL)
			talloc_free(call.mem);
		return st;
	}
	SHADE_CHECK(check_no_cycle(&o->ref, v, err));
	nv = shade_value_copy(o->members, v);
	if (nv == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	talloc_free(o->members[member].stored);
	o->members[member].stored = nv;
	return SHADE_OK;
}

/* INVOKE on a local object. */
static shade_status op_invoke(TALLOC_CTX *mem_ctx, struct local_obj *o,
			      const struct obj_op *op,
			      const shade_cbor_opts *copts,
			      shade_value **out, shade_error **err)
{
	const shade_shape_desc *d = obj_shape(&o->ref);
	uint32_t member = op->member;
	shade_member_kind kind = d->members[member].kind;
	shade_call_ctx call;
	shade_status st;

	if (kind != SHADE_MEMBER_METHOD && kind != SHADE_MEMBER_ONEWAY)
		return shade_error_set(err, SHADE_ERR_TYPE,
				       "'%s.%s' is not a method", d->name,
				       d->members[member].name);
	if (o->ref.kind == REF_TYPED)
		return typed_by_value(mem_ctx, o, member,
				      SHADE_DISPATCH_INVOKE, op->args, copts,
				      out, err);
	call = (shade_call_ctx){
		.self = &o->ref, .member = o->members[member].name,
		.args = op->args, .kwargs = op->kwargs, .err = err,
		.conn = op->conn, .udata = o->members[member].udata,
		.mem = mem_ctx
	};
	st = o->members[member].fn(&call);
	if (st == SHADE_OK)
		*out = call.result;
	return st;
}

/* Snapshot [start, start+count) of a list or dict onto mem_ctx. */
static shade_status op_force(TALLOC_CTX *mem_ctx, const shade_value *c,
			     uint64_t start, uint64_t count,
			     shade_value **out, shade_error **err)
{
	size_t len = shade_value_len(c), i, end;
	shade_value *r;
	shade_status st = SHADE_OK;

	if (start > len)
		start = len;
	end = count > len - start ? len : (size_t)(start + count);
	if (shade_value_kind(c) == SHADE_LIST) {
		const shade_value *items = shade_seq_items(c, NULL);

		if (start == 0 && end == len) {
			r = shade_value_copy(mem_ctx, c);
		} else {
			r = shade_list_new(mem_ctx, end - start);
			for (i = start; r && st == SHADE_OK && i < end; i++)
				st = shade_seq_append(r, &items[i], err);
		}
	} else {
		const shade_value *k, *v;
		size_t pos = 0;

		r = shade_dict_new(mem_ctx, end - start);
		for (i = 0; r && st == SHADE_OK && i < end &&
			    shade_dict_next(c, &pos, &k, &v); i++)
			if (i >= start)
				st = shade_dict_set(r, k, v, err);
	}
	if (r == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	if (st != SHADE_OK) {
		talloc_free(r);
		return st;
	}
	*out = r;
	return SHADE_OK;
}

/* A container operation on a local list or dict. */
static shade_status op_container(TALLOC_CTX *mem_ctx, struct local_obj *o,
				 const struct obj_op *op, shade_value **out,
				 shade_error **err)
{
	shade_value *c = o->value;
	bool is_list = shade_value_kind(c) == SHADE_LIST;
	const shade_value *got;
	bool b;

	switch (op->op) {
	case OP_LEN:
		*out = shade_int(mem_ctx, (int64_t)shade_value_len(c));
		break;
	case OP_GETITEM:
		if (is_list) {
			if (shade_value_kind(op->key) != SHADE_INT)
				return shade_error_set(err, SHADE_ERR_TYPE,
						       "list indices must be "
						       "integers");
			SHADE_CHECK(shade_seq_get(c, op->key->u.i, &got, err));
		} else {
			SHADE_CHECK(shade_dict_lookup(c, op->key, &got, err));
		}
		*out = shade_value_copy(mem_ctx, got);
		break;
	case OP_SETITEM:
		SHADE_CHECK(check_no_cycle(&o->ref, op->value, err));
		if (is_list) {
			if (shade_value_kind(op->key) != SHADE_INT)
				return shade_error_set(err, SHADE_ERR_TYPE,
						       "list indices must be "
						       "integers");
			return shade_seq_set(c, op->key->u.i, op->value, err);
		}
		return shade_dict_set(c, op->key, op->value, err);
	case OP_DELITEM:
		if (is_list) {
			if (shade_value_kind(op->key) != SHADE_INT)
				return shade_error_set(err, SHADE_ERR_TYPE,
						       "list indices must be "
						       "integers");
			return shade_seq_delete(c, op->key->u.i, err);
		}
		return shade_dict_delete(c, op->key, err);
	case OP_CONTAINS:
		b = is_list ? shade_seq_contains(c, op->value)
			    : shade_dict_contains(c, op->value);
		*out = shade_bool(mem_ctx, b);
		break;
	case OP_APPEND:
		if (!is_list)
			return shade_error_set(err, SHADE_ERR_TYPE,
					       "dict has no append");
		SHADE_CHECK(check_no_cycle(&o->ref, op->value, err));
		return shade_seq_append(c, op->value, err);
	case OP_FORCE:
		return op_force(mem_ctx, c, op->start, op->count, out, err);
	default:
		return shade_error_set(err, SHADE_ERR_TYPE,
				       "%s is not supported by a %s",
				       msg_op_name(op->op), o->type_name);
	}
	if (*out == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	return SHADE_OK;
}

/* CALL on a local object. */
static shade_status op_call(TALLOC_CTX *mem_ctx, struct local_obj *o,
			    const struct obj_op *op,
			    const shade_cbor_opts *copts, shade_value **out,
			    shade_error **err)
{
	struct obj_op inv;
	shade_call_ctx call;
	shade_status st;

	switch ((enum ref_kind)o->ref.kind) {
	case REF_FUNCTION:
	case REF_TYPE:
		call = (shade_call_ctx){
			.self = &o->ref, .member = o->type_name,
			.args = op->args, .kwargs = op->kwargs, .err = err,
			.conn = op->conn, .udata = o->udata, .mem = mem_ctx
		};
		st = o->fn(&call);
		if (st == SHADE_OK)
			*out = call.result;
		return st;
	case REF_BOUND:
		inv = *op;
		inv.op = OP_INVOKE;
		inv.member = o->member;
		if (!obj_is_local(o->target))
			return shade_error_set(err, SHADE_ERR_TYPE,
					       "bound method of a proxy");
		return obj_perform(mem_ctx, o->target, &inv, copts, out, err);
	default:
		return shade_error_set(err, SHADE_ERR_TYPE,
				       "'%s' object is not callable",
				       o->type_name);
	}
}

shade_status obj_perform(TALLOC_CTX *mem_ctx, struct shade_ref *r,
			 const struct obj_op *op, const shade_cbor_opts *copts,
			 shade_value **out, shade_error **err)
{
	struct local_obj *o = (struct local_obj *)r;
	const shade_shape_desc *d = obj_shape(r);
	bool has_members = r->kind == REF_DYNAMIC || r->kind == REF_TYPED ||
			   r->kind == REF_TYPE;

	*out = NULL;
	if (d == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	switch (op->op) {
	case OP_GETATTR:
	case OP_SETATTR:
	case OP_INVOKE:
		if (!has_members || op->member >= d->n_members)
			return shade_error_set(err, SHADE_ERR_ATTRIBUTE,
					       "'%s' object has no member #%u",
					       d->name, (unsigned)op->member);
		if (op->op == OP_GETATTR)
			return op_getattr(mem_ctx, o, op->member, op->conn,
					  copts, out, err);
		if (op->op == OP_SETATTR)
			return op_setattr(mem_ctx, o, op->member, op->value,
					  op->conn, copts, err);
		return op_invoke(mem_ctx, o, op, copts, out, err);
	case OP_CALL:
		return op_call(mem_ctx, o, op, copts, out, err);
	default:
		if (r->kind != REF_CONTAINER)
			return shade_error_set(err, SHADE_ERR_TYPE,
					       "'%s' object is not a container",
					       d->name);
		return op_container(mem_ctx, o, op, out, err);
	}
}

/* ------------------------------------------------------------ registry */

/* One exported name. */
struct reg_entry {
	char *name;      /* the name */
	shade_ref *obj;  /* the object (one count held) */
};

/* Names -> objects, in export order. */
struct shade_registry {
	struct reg_entry *entries; /* talloc array */
	size_t n;                  /* entries used */
};

/* Destructor: drop the counts the registry holds. */
static int registry_destructor(shade_registry *reg)
{
	size_t i;

	for (i = 0; i < reg->n; i++)
		shade_ref_release(reg->entries[i].obj);
	return 0;
}

shade_registry *shade_registry_new(TALLOC_CTX *mem_ctx)
{
	shade_registry *reg = talloc_zero(mem_ctx, shade_registry);

	if (reg != NULL)
		talloc_set_destructor(reg, registry_destructor);
	return reg;
}

/* Index of name in reg, or -1. */
static long registry_find(const shade_registry *reg, const char *name)
{
	size_t i;

	for (i = 0; i < reg->n; i++)
		if (strcmp(reg->entries[i].name, name) == 0)
			return (long)i;
	return -1;
}

shade_status shade_registry_add(shade_registry *reg, const char *name,
				shade_ref *obj, shade_error **err)
{
	long i;
	struct reg_entry *e;

	if (reg == NULL || name == NULL || obj == NULL)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "registry_add: NULL argument");
	i = registry_find(reg, name);
	if (i >= 0) {
		shade_ref_release(reg->entries[i].obj);
		reg->entries[i].obj = shade_ref_retain(obj);
		return SHADE_OK;
	}
	e = talloc_realloc(reg, reg->entries, struct reg_entry, reg->n + 1);
	if (e == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	reg->entries = e;
	e[reg->n].name = talloc_strdup(e, name);
	if (e[reg->n].name == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	e[reg->n].obj = shade_ref_retain(obj);
	reg->n++;
	return SHADE_OK;
}

shade_status shade_registry_remove(shade_registry *reg, const char *name,
				   shade_error **err)
{
	long i = registry_find(reg, name);

	if (i < 0)
		return shade_error_set(err, SHADE_ERR_NOT_FOUND,
				       "no export named '%s'", name);
	shade_ref_release(reg->entries[i].obj);
	talloc_free(reg->entries[i].name);
	memmove(&reg->entries[i], &reg->entries[i + 1],
		(reg->n - (size_t)i - 1) * sizeof(reg->entries[0]));
	reg->n--;
	return SHADE_OK;
}

shade_ref *shade_registry_get(const shade_registry *reg, const char *name)
{
	long i = reg ? registry_find(reg, name) : -1;

	return i >= 0 ? reg->entries[i].obj : NULL;
}

size_t shade_registry_count(const shade_registry *reg)
{
	return reg ? reg->n : 0;
}

const char *shade_registry_name(const shade_registry *reg, size_t i)
{
	return reg && i < reg->n ? reg->entries[i].name : NULL;
}
