/*
 * ref.c - references and local objects: counting, the value-model ops of
 * local objects, their shapes and member lookup, and the constructors of
 * dynamic objects, functions, types and shared containers.  Operations
 * on them are in dispatch.c, typed objects in typed_object.c.
 */
#include <string.h>

#include <talloc.h>

#include "shade/object.h"
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

void shade_ref_set_concurrent(shade_ref *r, bool on)
{
	if (r != NULL)
		__atomic_store_n(&r->concurrent, on, __ATOMIC_RELEASE);
}

bool shade_ref_concurrent(const shade_ref *r)
{
	return r != NULL && __atomic_load_n(&r->concurrent, __ATOMIC_ACQUIRE);
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
	if (o->type != NULL)
		shade_ref_release(o->type);
	obj_count(-1);
	return 0;
}

shade_status obj_local_new(enum ref_kind kind, const char *type_name,
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

struct obj_member *obj_member_at(struct local_obj *o, uint32_t i,
				 struct local_obj **owner)
{
	struct local_obj *t = (struct local_obj *)o->type;

	if (t != NULL && i < t->n_members) {
		*owner = t;
		return &t->members[i];
	}
	*owner = o;
	return &o->members[i - (t ? t->n_members : 0)];
}

/* Build the shape of a dynamic object or type from its members (an
 * instance: its type's first; a stored class attribute is readonly
 * through an instance). */
static shade_shape_desc *build_shape(struct local_obj *o)
{
	shade_shape_desc *d = talloc_zero(o, shade_shape_desc);
	struct local_obj *t = (struct local_obj *)o->type, *owner;
	size_t n = o->n_members + (t ? t->n_members : 0);
	shade_member_desc *m;
	size_t i;

	if (d == NULL)
		return NULL;
	m = talloc_zero_array(d, shade_member_desc, n + 1);
	if (m == NULL) {
		talloc_free(d);
		return NULL;
	}
	for (i = 0; i < n; i++) {
		const struct obj_member *om = obj_member_at(o, (uint32_t)i,
							    &owner);

		m[i].name = om->name;
		m[i].kind = om->kind;
		m[i].doc = om->doc;
		if (owner != o && om->stored != NULL &&
		    om->kind == SHADE_MEMBER_ATTR)
			m[i].kind = SHADE_MEMBER_READONLY;
	}
	d->kind = o->ref.kind == REF_TYPE ? SHADE_SHAPE_TYPE
					  : SHADE_SHAPE_OBJECT;
	d->name = o->type_name;
	d->bases = (const char *const *)o->bases;
	d->n_bases = o->n_bases;
	d->members = m;
	d->n_members = n;
	d->doc = o->doc != NULL ? o->doc : t != NULL ? t->doc : NULL;
	d->fingerprint = shade_shape_fp(d);
	return d;
}

const shade_shape_desc *obj_shape(struct shade_ref *r)
{
	struct local_obj *o = (struct local_obj *)r;
	const shade_shape_desc *d = __atomic_load_n(&r->shape, __ATOMIC_ACQUIRE);
	shade_shape_desc *built, *none = NULL;

	if (d != NULL)
		return d;
	switch ((enum ref_kind)r->kind) {
	case REF_FUNCTION:
	case REF_BOUND:
		__atomic_store_n(&r->shape, &shade_shape_function,
				 __ATOMIC_RELEASE);
		break;
	case REF_CONTAINER:
		__atomic_store_n(&r->shape,
				 shade_value_kind(o->value) == SHADE_DICT
					 ? &shade_shape_dict
					 : &shade_shape_list,
				 __ATOMIC_RELEASE);
		break;
	case REF_DYNAMIC:
	case REF_TYPE:
		/* Two workers may encode the object at once: the first shape
		 * built is kept, the other thrown away. */
		built = build_shape(o);
		if (built == NULL)
			break;
		if (__atomic_compare_exchange_n(&o->own_shape, &none, built,
						false, __ATOMIC_ACQ_REL,
						__ATOMIC_ACQUIRE)) {
			__atomic_store_n(&r->shape, built, __ATOMIC_RELEASE);
			return built;
		}
		talloc_free(built);
		return none;
	case REF_TYPED:
	case REF_PROXY:
		break;
	}
	return __atomic_load_n(&r->shape, __ATOMIC_ACQUIRE);
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

/* The member of o (its own, or its type's) called name, or NULL. */
static struct obj_member *member_named(struct local_obj *o, const char *name)
{
	struct local_obj *t = (struct local_obj *)o->type;
	size_t i;

	for (i = 0; i < o->n_members; i++)
		if (strcmp(o->members[i].name, name) == 0)
			return &o->members[i];
	return t != NULL ? member_named(t, name) : NULL;
}

/* Append a member slot called name of the given kind to o (a dynamic
 * object or a type), dropping its cached shape; NULL after setting *err
 * (InvalidArgument for a bad or taken name). */
static struct obj_member *add_member(struct local_obj *o, const char *name,
				     shade_member_kind kind, shade_error **err)
{
	struct obj_member *m;

	if (name == NULL || shade_utf8_check(name, strlen(name), NULL) != 0) {
		shade_error_set(err, SHADE_ERR_INVALID,
				"member name missing or not UTF-8");
		return NULL;
	}
	if (member_named(o, name) != NULL) {
		shade_error_set(err, SHADE_ERR_INVALID,
				"%s already has a member %s", o->type_name,
				name);
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

	SHADE_CHECK(obj_local_new(REF_DYNAMIC, type_name, bases, &o, err));
	*out = &o->ref;
	return SHADE_OK;
}

shade_status obj_add_attr(struct local_obj *o, const char *name,
			  const shade_value *initial, bool readonly,
			  shade_error **err)
{
	struct obj_member *m;
	shade_value *v;

	v = initial ? shade_value_copy(o, initial) : shade_none(o);
	if (v == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	m = add_member(o, name, readonly ? SHADE_MEMBER_READONLY
					 : SHADE_MEMBER_ATTR, err);
	if (m == NULL) {
		talloc_free(v);
		return SHADE_ERR_INVALID;
	}
	m->stored = v;
	return SHADE_OK;
}

shade_status obj_add_property(struct local_obj *o, const char *name,
			      shade_getter_fn getter, shade_setter_fn setter,
			      void *udata, shade_error **err)
{
	struct obj_member *m;

	if (getter == NULL)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "property %s needs a getter",
				       name ? name : "?");
	m = add_member(o, name, setter ? SHADE_MEMBER_ATTR
				       : SHADE_MEMBER_READONLY, err);
	if (m == NULL)
		return SHADE_ERR_INVALID;
	m->get = getter;
	m->set = setter;
	m->udata = udata;
	return SHADE_OK;
}

shade_status obj_add_method(struct local_obj *o, const char *name,
			    shade_method_fn fn, void *udata,
			    shade_member_kind kind, shade_binding bind,
			    shade_error **err)
{
	struct obj_member *m;

	if (fn == NULL)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "method %s needs a handler",
				       name ? name : "?");
	m = add_member(o, name, kind, err);
	if (m == NULL)
		return SHADE_ERR_INVALID;
	m->fn = fn;
	m->udata = udata;
	m->bind = bind;
	return SHADE_OK;
}

shade_status shade_object_add_attr(shade_ref *obj, const char *name,
				   const shade_value *initial, bool readonly,
				   shade_error **err)
{
	struct local_obj *o = dynamic_of(obj, err);

	return o ? obj_add_attr(o, name, initial, readonly, err)
		 : SHADE_ERR_INVALID;
}

shade_status shade_object_add_property(shade_ref *obj, const char *name,
				       shade_getter_fn getter,
				       shade_setter_fn setter, void *udata,
				       shade_error **err)
{
	struct local_obj *o = dynamic_of(obj, err);

	return o ? obj_add_property(o, name, getter, setter, udata, err)
		 : SHADE_ERR_INVALID;
}

shade_status shade_object_add_method(shade_ref *obj, const char *name,
				     shade_method_fn fn, void *udata,
				     bool oneway, shade_error **err)
{
	struct local_obj *o = dynamic_of(obj, err);

	return o ? obj_add_method(o, name, fn, udata,
				  oneway ? SHADE_MEMBER_ONEWAY
					 : SHADE_MEMBER_METHOD,
				  SHADE_BIND_INSTANCE, err)
		 : SHADE_ERR_INVALID;
}

const shade_value *shade_object_attr(shade_ref *obj, const char *name)
{
	const struct obj_member *m;

	if (obj == NULL || (obj->kind != REF_DYNAMIC && obj->kind != REF_TYPE))
		return NULL;
	m = member_named((struct local_obj *)obj, name);
	return m != NULL ? m->stored : NULL;
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

bool obj_moves_by_value(const struct shade_ref *r)
{
	const struct local_obj *o = (const struct local_obj *)r;

	if (r->kind == REF_BOUND)
		r = o->target;
	if (r->kind == REF_PROXY)
		return r->shape != NULL && (r->shape->kind == SHADE_SHAPE_LIST ||
					    r->shape->kind == SHADE_SHAPE_DICT);
	return r->kind == REF_CONTAINER;
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
	SHADE_CHECK(obj_local_new(REF_FUNCTION, name ? name : "function", NULL,
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

	SHADE_CHECK(obj_local_new(REF_TYPE, type_name, bases, &o, err));
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
	st = obj_local_new(REF_CONTAINER, k == SHADE_LIST ? "builtins.list"
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
