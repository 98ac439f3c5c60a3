/*
 * dispatch.c - the member and container operations on local objects
 * (enum obj_opcode, object_int.h): reading and writing attributes,
 * calling methods, functions and types through their handlers, bound
 * methods, the list and dict operations of shared containers, and the
 * cycle guard on stores.  Callers (the connection serving a peer, the
 * local path of the proxy API) map their own requests to these.
 */

#include <talloc.h>

#include "shade/object.h"
#include "object/object_int.h"


/* Names of the operations, for messages (the protocol's names). */
static const char *const op_names[OBJ_OP_COUNT_] = {
	[OBJ_OP_GETATTR] = "GETATTR", [OBJ_OP_SETATTR] = "SETATTR",
	[OBJ_OP_INVOKE] = "INVOKE",   [OBJ_OP_CALL] = "CALL",
	[OBJ_OP_LEN] = "LEN",         [OBJ_OP_GETITEM] = "GETITEM",
	[OBJ_OP_SETITEM] = "SETITEM", [OBJ_OP_DELITEM] = "DELITEM",
	[OBJ_OP_CONTAINS] = "CONTAINS", [OBJ_OP_APPEND] = "APPEND",
	[OBJ_OP_FORCE] = "FORCE",
};

const char *obj_op_name(enum obj_opcode op)
{
	return (unsigned)op < OBJ_OP_COUNT_ ? op_names[op] : "unknown";
}

/* A new bound method of r's member (one count). */
static shade_status bound_new(struct shade_ref *r, uint32_t member,
			      shade_ref **out, shade_error **err)
{
	struct local_obj *o;

	SHADE_CHECK(obj_local_new(REF_BOUND, "builtins.method", NULL, &o, err));
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

/* GETATTR on a local object. */
static shade_status op_getattr(TALLOC_CTX *mem_ctx, struct local_obj *o,
			       uint32_t member, struct shade_conn *conn,
			       const shade_cbor_opts *copts,
			       shade_value **out, shade_error **err)
{
	const shade_shape_desc *d = obj_shape(&o->ref);
	shade_member_kind kind = d->members[member].kind;
	struct local_obj *owner;
	struct obj_member *m;
	shade_ref *bm;

	if (kind == SHADE_MEMBER_METHOD || kind == SHADE_MEMBER_ONEWAY) {
		SHADE_CHECK(bound_new(&o->ref, member, &bm, err));
		return ref_result(mem_ctx, bm, out, err);
	}
	if (o->ref.kind == REF_TYPED)
		return obj_typed_by_value(mem_ctx, o, member, SHADE_DISPATCH_GET,
				      NULL, copts, out, err);
	m = obj_member_at(o, member, &owner);
	if (m->get != NULL) {
		shade_call_ctx call = {
			.self = &o->ref, .member = m->name,
			.err = err, .conn = conn,
			.udata = m->udata, .mem = mem_ctx
		};
		shade_status st = m->get(&call);

		if (st == SHADE_OK)
			*out = call.result;
		return st;
	}
	*out = shade_value_copy(mem_ctx, m->stored);
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
	case REF_TYPE:
		for (i = 0; i < o->n_members; i++)
			if (value_reaches(o->members[i].stored, target, budget))
				return true;
		return o->type != NULL && ref_reaches(o->type, target, budget);
	default: /* proxies, functions, typed objects hold none */
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
	struct local_obj *owner;
	struct obj_member *m;
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
		st = obj_typed_by_value(NULL, o, member, SHADE_DISPATCH_SET, v,
				    copts, &ignored, err);
		talloc_free(ignored);
		return st;
	}
	m = obj_member_at(o, member, &owner);
	if (m->set != NULL) {
		shade_call_ctx call = {
			.self = &o->ref, .member = m->name,
			.value = v, .err = err, .conn = conn,
			.udata = m->udata, .mem = mem_ctx
		};

		/* A local shade_setattr has no context to give: lend one. */
		if (mem_ctx == NULL && (call.mem = talloc_new(NULL)) == NULL)
			return shade_error_set(err, SHADE_ERR_NOMEM,
					       "out of memory");
		st = m->set(&call);
		if (mem_ctx == NULL)
			talloc_free(call.mem);
		return st;
	}
	SHADE_CHECK(check_no_cycle(&owner->ref, v, err));
	nv = shade_value_copy(owner->members, v);
	if (nv == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	talloc_free(m->stored);
	m->stored = nv;
	return SHADE_OK;
}

/* INVOKE of a method of a shared list or dict, after the cycle guard on
 * what it stores: its arguments, or for extend and update the items of
 * the iterable (a reference to a local container stands for its value:
 * l.extend(l) stores l's items, not l). */
static shade_status container_invoke(TALLOC_CTX *mem_ctx, struct local_obj *o,
				     const struct obj_op *op,
				     shade_value **out, shade_error **err)
{
	int stores = obj_container_method_stores(o->value, op->member);
	const shade_value *chk = op->args, *a0;
	shade_value *inner;

	if (stores == 2 && op->args != NULL && shade_seq_len(op->args) == 1) {
		a0 = shade_seq_at(op->args, 0);
		inner = shade_value_kind(a0) == SHADE_REF
				? shade_container_value(shade_value_as_ref(a0))
				: NULL;
		if (inner != NULL)
			chk = inner;
	}
	if (stores != 0) {
		SHADE_CHECK(check_no_cycle(&o->ref, chk, err));
		SHADE_CHECK(check_no_cycle(&o->ref, op->kwargs, err));
	}
	return obj_container_method(mem_ctx, o->value, op->member, op->args,
				    op->kwargs, out, err);
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
	struct local_obj *owner;
	struct obj_member *m;
	shade_call_ctx call;
	shade_status st;

	if (kind != SHADE_MEMBER_METHOD && kind != SHADE_MEMBER_ONEWAY)
		return shade_error_set(err, SHADE_ERR_TYPE,
				       "'%s.%s' is not a method", d->name,
				       d->members[member].name);
	if (o->ref.kind == REF_CONTAINER)
		return container_invoke(mem_ctx, o, op, out, err);
	if (o->ref.kind == REF_TYPED && op->kwargs != NULL &&
	    shade_dict_len(op->kwargs) > 0)
		return shade_error_set(err, SHADE_ERR_TYPE,
				       "%s.%s() takes no keyword arguments (a "
				       "typed method: pass them by position)",
				       d->name, d->members[member].name);
	if (o->ref.kind == REF_TYPED)
		return obj_typed_by_value(mem_ctx, o, member,
				      SHADE_DISPATCH_INVOKE, op->args, copts,
				      out, err);
	m = obj_member_at(o, member, &owner);
	if (m->bind == SHADE_BIND_INSTANCE && o->ref.kind == REF_TYPE)
		return shade_error_set(err, SHADE_ERR_TYPE,
				       "'%s.%s' needs an instance: call it "
				       "through one", d->name, m->name);
	call = (shade_call_ctx){
		.self = m->bind == SHADE_BIND_INSTANCE ? &o->ref
			: m->bind == SHADE_BIND_CLASS  ? &owner->ref
						       : NULL,
		.member = m->name, .args = op->args, .kwargs = op->kwargs,
		.err = err, .conn = op->conn, .udata = m->udata,
		.mem = mem_ctx
	};
	st = m->fn(&call);
	if (st == SHADE_OK)
		*out = call.result;
	return st;
}

/* Snapshot [start, start+count) of a list or dict onto mem_ctx. */
static shade_status op_force(TALLOC_CTX *mem_ctx, const shade_value *c,
			     uint64_t start, uint64_t count, bool view,
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

		if (start == 0 && end == len && view) {
			/* A box sharing c's storage without owning it:
			 * freeing the box leaves c as it is (no copy of a
			 * list of a million items only to encode it). */
			r = talloc(mem_ctx, shade_value);
			if (r != NULL) {
				*r = *c;
				r->tag = SHADE_LIST;
			}
		} else if (start == 0 && end == len) {
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
	const shade_value *got = NULL;
	bool b;

	switch (op->op) {
	case OBJ_OP_LEN:
		*out = shade_int(mem_ctx, (int64_t)shade_value_len(c));
		break;
	case OBJ_OP_GETITEM:
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
	case OBJ_OP_SETITEM:
		SHADE_CHECK(check_no_cycle(&o->ref, op->value, err));
		if (is_list) {
			if (shade_value_kind(op->key) != SHADE_INT)
				return shade_error_set(err, SHADE_ERR_TYPE,
						       "list indices must be "
						       "integers");
			return shade_seq_set(c, op->key->u.i, op->value, err);
		}
		return shade_dict_set(c, op->key, op->value, err);
	case OBJ_OP_DELITEM:
		if (is_list) {
			if (shade_value_kind(op->key) != SHADE_INT)
				return shade_error_set(err, SHADE_ERR_TYPE,
						       "list indices must be "
						       "integers");
			return shade_seq_delete(c, op->key->u.i, err);
		}
		return shade_dict_delete(c, op->key, err);
	case OBJ_OP_CONTAINS:
		b = is_list ? shade_seq_contains(c, op->value)
			    : shade_dict_contains(c, op->value);
		*out = shade_bool(mem_ctx, b);
		break;
	case OBJ_OP_APPEND:
		if (!is_list)
			return shade_error_set(err, SHADE_ERR_TYPE,
					       "dict has no append");
		SHADE_CHECK(check_no_cycle(&o->ref, op->value, err));
		return shade_seq_append(c, op->value, err);
	case OBJ_OP_FORCE:
		return op_force(mem_ctx, c, op->start, op->count, op->view, out,
				err);
	default:
		return shade_error_set(err, SHADE_ERR_TYPE,
				       "%s is not supported by a %s",
				       obj_op_name(op->op), o->type_name);
	}
	if (*out == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	return SHADE_OK;
}

/* The special member standing for container operation op, or NULL. */
static const char *special_name(enum obj_opcode op)
{
	switch (op) {
	case OBJ_OP_LEN: return SHADE_SPECIAL_LEN;
	case OBJ_OP_GETITEM: return SHADE_SPECIAL_GETITEM;
	case OBJ_OP_SETITEM: return SHADE_SPECIAL_SETITEM;
	case OBJ_OP_DELITEM: return SHADE_SPECIAL_DELITEM;
	case OBJ_OP_CONTAINS: return SHADE_SPECIAL_CONTAINS;
	case OBJ_OP_FORCE: return SHADE_SPECIAL_ITER;
	case OBJ_OP_CALL: return SHADE_SPECIAL_CALL;
	default: return NULL;
	}
}

/* Check and shape what special member `name` of o returned for op: a
 * count for LEN, a bool for CONTAINS, a slice of the list or dict for
 * FORCE, nothing for SETITEM and DELITEM.  Takes res over. */
static shade_status special_result(TALLOC_CTX *mem_ctx, struct local_obj *o,
				   const struct obj_op *op, const char *name,
				   shade_value *res, shade_value **out,
				   shade_error **err)
{
	shade_kind k = res ? shade_value_kind(res) : SHADE_NONE;
	const shade_value *c = res;
	shade_status st = SHADE_OK;
	shade_ref *ir;

	if (op->op == OBJ_OP_FORCE && k == SHADE_REF &&
	    (ir = shade_value_as_ref(res))->kind == REF_CONTAINER) {
		c = ((struct local_obj *)ir)->value;
		k = shade_value_kind(c);
	}
	if ((op->op == OBJ_OP_LEN && (k != SHADE_INT || res->u.i < 0)) ||
	    (op->op == OBJ_OP_CONTAINS && k != SHADE_BOOL) ||
	    (op->op == OBJ_OP_FORCE && k != SHADE_LIST && k != SHADE_DICT))
		st = shade_error_set(err, SHADE_ERR_TYPE,
				     "%s.%s returned %s, not %s", o->type_name,
				     name, shade_kind_name(k),
				     op->op == OBJ_OP_LEN ? "an int >= 0"
				     : op->op == OBJ_OP_CONTAINS
					     ? "a bool"
					     : "a list, a dict or a shared "
					       "container");
	else if (op->op == OBJ_OP_FORCE)
		st = op_force(mem_ctx, c, op->start, op->count, false, out,
			      err);
	else if (op->op != OBJ_OP_SETITEM && op->op != OBJ_OP_DELITEM)
		*out = talloc_steal(mem_ctx, res), res = NULL;
	talloc_free(res);
	return st;
}

/* A container operation, or CALL, on an object that is no container
 * (nor function, type or bound method): an INVOKE of the special
 * member standing for it (object.h), when o's shape lists one. */
static shade_status op_special(TALLOC_CTX *mem_ctx, struct local_obj *o,
			       const struct obj_op *op,
			       const shade_cbor_opts *copts, shade_value **out,
			       shade_error **err)
{
	const char *name = special_name(op->op);
	const shade_shape_desc *d = obj_shape(&o->ref);
	long i = name != NULL ? shade_shape_find(d, name) : -1;
	const shade_value *a[2] = { op->key, op->value };
	struct obj_op inv = *op;
	TALLOC_CTX *tmp;
	shade_value *args = NULL, *res = NULL;
	shade_status st = SHADE_OK;
	size_t n = 0, j;

	if (i < 0 && op->op == OBJ_OP_CALL)
		return shade_error_set(err, SHADE_ERR_TYPE,
				       "'%s' object is not callable", d->name);
	if (i < 0)
		return shade_error_set(err, SHADE_ERR_TYPE,
				       "'%s' object is not a container",
				       d->name);
	if ((tmp = talloc_new(NULL)) == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	if (op->op == OBJ_OP_CONTAINS)
		a[0] = op->value;
	if (op->op == OBJ_OP_GETITEM || op->op == OBJ_OP_DELITEM ||
	    op->op == OBJ_OP_CONTAINS)
		n = 1;
	else if (op->op == OBJ_OP_SETITEM)
		n = 2;
	if (op->op != OBJ_OP_CALL) {
		args = shade_tuple_new(tmp, n);
		for (j = 0; args != NULL && st == SHADE_OK && j < n; j++)
			st = shade_seq_append(args, a[j], err);
		if (args == NULL)
			st = shade_error_set(err, SHADE_ERR_NOMEM,
					     "out of memory");
		inv.args = args;
		inv.kwargs = NULL;
	}
	inv.op = OBJ_OP_INVOKE;
	inv.member = (uint32_t)i;
	if (st == SHADE_OK)
		st = op_invoke(tmp, o, &inv, copts, &res, err);
	if (st == SHADE_OK)
		st = special_result(mem_ctx, o, op, name, res, out, err);
	talloc_free(tmp);
	return st;
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
		if (o->fn == NULL)
			return shade_error_set(err, SHADE_ERR_TYPE,
					       "cannot create '%s' instances",
					       o->type_name);
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
		inv.op = OBJ_OP_INVOKE;
		inv.member = o->member;
		if (!obj_is_local(o->target))
			return shade_error_set(err, SHADE_ERR_TYPE,
					       "bound method of a proxy");
		return obj_perform(mem_ctx, o->target, &inv, copts, out, err);
	case REF_DYNAMIC:
	case REF_TYPED:
		return op_special(mem_ctx, o, op, copts, out, err);
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
			   r->kind == REF_TYPE || r->kind == REF_CONTAINER;

	*out = NULL;
	if (d == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	switch (op->op) {
	case OBJ_OP_GETATTR:
	case OBJ_OP_SETATTR:
	case OBJ_OP_INVOKE:
		if (!has_members || op->member >= d->n_members)
			return shade_error_set(err, SHADE_ERR_ATTRIBUTE,
					       "'%s' object has no member #%u",
					       d->name, (unsigned)op->member);
		if (op->op == OBJ_OP_GETATTR)
			return op_getattr(mem_ctx, o, op->member, op->conn,
					  copts, out, err);
		if (op->op == OBJ_OP_SETATTR)
			return op_setattr(mem_ctx, o, op->member, op->value,
					  op->conn, copts, err);
		return op_invoke(mem_ctx, o, op, copts, out, err);
	case OBJ_OP_CALL:
		return op_call(mem_ctx, o, op, copts, out, err);
	default:
		if (r->kind == REF_DYNAMIC || r->kind == REF_TYPED)
			return op_special(mem_ctx, o, op, copts, out, err);
		if (r->kind != REF_CONTAINER)
			return shade_error_set(err, SHADE_ERR_TYPE,
					       "'%s' object is not a container",
					       d->name);
		return op_container(mem_ctx, o, op, out, err);
	}
}
