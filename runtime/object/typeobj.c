/*
 * typeobj.c - types as objects: the members of a type (class attributes,
 * computed attributes, methods bound to the instance, to the type or to
 * nothing), instances of a type, the type of an instance, and doc
 * strings on objects, types and their members.  The shapes they make
 * are built in ref.c, the operations on them run in dispatch.c.
 */
#include <string.h>

#include <talloc.h>

#include "shade/object.h"
#include "object/object_int.h"

/* The local type behind r, still open to new members; NULL after
 * setting *err. */
static struct local_obj *open_type(shade_ref *r, shade_error **err)
{
	struct local_obj *t = (struct local_obj *)r;

	if (r == NULL || r->kind != REF_TYPE) {
		shade_error_set(err, SHADE_ERR_INVALID,
				"not a local type object");
		return NULL;
	}
	if (t->has_instances) {
		shade_error_set(err, SHADE_ERR_INVALID,
				"type %s already has instances: add its "
				"members and doc before making one",
				t->type_name);
		return NULL;
	}
	return t;
}

/* The status *err holds after a failure (InvalidArgument when none). */
static shade_status failed(shade_error **err)
{
	return err != NULL && *err != NULL ? (*err)->code : SHADE_ERR_INVALID;
}

shade_status shade_type_add_attr(shade_ref *type, const char *name,
				 const shade_value *initial, bool readonly,
				 shade_error **err)
{
	struct local_obj *t = open_type(type, err);

	return t ? obj_add_attr(t, name, initial, readonly, err) : failed(err);
}

shade_status shade_type_add_property(shade_ref *type, const char *name,
				     shade_getter_fn getter,
				     shade_setter_fn setter, void *udata,
				     shade_error **err)
{
	struct local_obj *t = open_type(type, err);

	return t ? obj_add_property(t, name, getter, setter, udata, err)
		 : failed(err);
}

shade_status shade_type_add_method(shade_ref *type, const char *name,
				   shade_method_fn fn, void *udata,
				   shade_binding binding, shade_error **err)
{
	struct local_obj *t;

	if ((unsigned)binding > SHADE_BIND_STATIC)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "method %s: binding %d out of range",
				       name ? name : "?", (int)binding);
	t = open_type(type, err);
	return t ? obj_add_method(t, name, fn, udata, SHADE_MEMBER_METHOD,
				  binding, err)
		 : failed(err);
}

shade_status shade_instance_new(shade_ref *type, shade_ref **out,
				shade_error **err)
{
	struct local_obj *t = (struct local_obj *)type, *o;

	if (type == NULL || type->kind != REF_TYPE)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "not a local type object");
	SHADE_CHECK(obj_local_new(REF_DYNAMIC, t->type_name,
				  (const char *const *)t->bases, &o, err));
	__atomic_store_n(&t->has_instances, true, __ATOMIC_RELEASE);
	o->type = shade_ref_retain(type);
	*out = &o->ref;
	return SHADE_OK;
}

shade_status shade_object_type(shade_ref *obj, shade_ref **out,
			       shade_error **err)
{
	struct local_obj *o = (struct local_obj *)obj;

	if (obj == NULL)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "reference is NULL");
	if (!obj_is_local(obj))
		return shade_error_set(err, SHADE_ERR_TYPE,
				       "a proxy's type is asked of its peer "
				       "(shade_type_of)");
	if (o->type == NULL)
		return shade_error_set(err, SHADE_ERR_TYPE,
				       "'%s' object has no type object",
				       o->type_name);
	*out = shade_ref_retain(o->type);
	return SHADE_OK;
}

shade_status shade_ref_set_doc(shade_ref *r, const char *member,
			       const char *doc, shade_error **err)
{
	struct local_obj *o = (struct local_obj *)r;
	char **slot = NULL;
	char *copy = NULL;
	size_t i;

	if (r == NULL || (r->kind != REF_DYNAMIC && r->kind != REF_TYPE))
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "doc strings are set on local objects "
				       "and types");
	if (r->kind == REF_TYPE && open_type(r, err) == NULL)
		return failed(err);
	if (doc != NULL &&
	    shade_utf8_check(doc, strlen(doc), NULL) != SHADE_OK)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "doc string is not UTF-8");
	if (member == NULL)
		slot = &o->doc;
	for (i = 0; slot == NULL && i < o->n_members; i++)
		if (strcmp(o->members[i].name, member) == 0)
			slot = &o->members[i].doc;
	if (slot == NULL)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "%s has no member %s of its own",
				       o->type_name, member);
	if (doc != NULL && (copy = talloc_strdup(o, doc)) == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	talloc_free(*slot);
	*slot = copy;
	/* The shape changes: drop the cached one. */
	TALLOC_FREE(o->own_shape);
	o->ref.shape = NULL;
	return SHADE_OK;
}

const char *shade_ref_doc(shade_ref *r, const char *member)
{
	const shade_shape_desc *d = shade_ref_shape(r);
	long i;

	if (d == NULL)
		return NULL;
	if (member == NULL)
		return d->doc;
	i = shade_shape_find(d, member);
	return i < 0 ? NULL : d->members[i].doc;
}
