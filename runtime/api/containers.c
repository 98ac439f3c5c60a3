/*
 * containers.c - the container protocol on references: len, get/set/
 * delete item, contains, append, force (whole or a range), keys /
 * values / items, equality with a value; and the methods of lists and
 * dicts by name (extend, insert, pop, remove, index, count, clear,
 * reverse, get, setdefault, update), one INVOKE each.
 */
#include <string.h>

#include <talloc.h>

#include "shade/cbor.h"
#include "shade/proxy.h"
#include "api/api_int.h"
#include "conn/conn_int.h"
#include "object/shape_int.h"

/* A container operation: op with up to two value fields after target. */
static shade_status container_op(TALLOC_CTX *mem_ctx, shade_ref *r,
				 unsigned opcode, const shade_value *a,
				 const shade_value *b, shade_value **out,
				 shade_error **err)
{
	struct api_field f[3];
	struct proxy *p;
	unsigned nf = 1;

	SHADE_CHECK(api_check_ref(r, err));
	if (!shade_ref_is_proxy(r)) {
		struct obj_op op = { .op = msg_obj_op(opcode) };

		if (opcode == OP_CONTAINS || opcode == OP_APPEND)
			op.value = a;
		else {
			op.key = a;
			op.value = b;
		}
		return api_local_op(mem_ctx, r, &op, NULL, out, err);
	}
	SHADE_CHECK(api_live_proxy(r, &p, err));
	f[0] = (struct api_field){ API_FLD_UINT, p->eid, NULL, NULL };
	if (a != NULL)
		f[nf++] = (struct api_field){ API_FLD_VALUE, 0, NULL, a };
	if (b != NULL)
		f[nf++] = (struct api_field){ API_FLD_VALUE, 0, NULL, b };
	return api_roundtrip(mem_ctx, p->conn, p, opcode, f, nf, NULL, NULL, out,
			     err);
}

shade_status shade_len(shade_ref *r, size_t *out, shade_error **err)
{
	shade_value *v;

	SHADE_CHECK(container_op(NULL, r, OP_LEN, NULL, NULL, &v, err));
	if (shade_value_kind(v) != SHADE_INT || v->u.i < 0) {
		talloc_free(v);
		return shade_error_set(err, SHADE_ERR_PROTOCOL,
				       "LEN returned no count");
	}
	*out = (size_t)v->u.i;
	talloc_free(v);
	return SHADE_OK;
}

shade_status shade_getitem(TALLOC_CTX *mem_ctx, shade_ref *r,
			   const shade_value *key, shade_value **out,
			   shade_error **err)
{
	if (key == NULL)
		return shade_error_set(err, SHADE_ERR_INVALID, "key is NULL");
	return container_op(mem_ctx, r, OP_GETITEM, key, NULL, out, err);
}

shade_status shade_setitem(shade_ref *r, const shade_value *key,
			   const shade_value *v, shade_error **err)
{
	if (key == NULL || v == NULL)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "key or value is NULL");
	return container_op(NULL, r, OP_SETITEM, key, v, NULL, err);
}

shade_status shade_delitem(shade_ref *r, const shade_value *key,
			   shade_error **err)
{
	if (key == NULL)
		return shade_error_set(err, SHADE_ERR_INVALID, "key is NULL");
	return container_op(NULL, r, OP_DELITEM, key, NULL, NULL, err);
}

shade_status shade_contains(shade_ref *r, const shade_value *v, bool *out,
			    shade_error **err)
{
	shade_value *res;

	if (v == NULL)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "value is NULL");
	SHADE_CHECK(container_op(NULL, r, OP_CONTAINS, v, NULL, &res, err));
	if (shade_value_kind(res) != SHADE_BOOL) {
		talloc_free(res);
		return shade_error_set(err, SHADE_ERR_PROTOCOL,
				       "CONTAINS returned no bool");
	}
	*out = res->u.b;
	talloc_free(res);
	return SHADE_OK;
}

shade_status shade_append(shade_ref *r, const shade_value *v, shade_error **err)
{
	if (v == NULL)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "value is NULL");
	return container_op(NULL, r, OP_APPEND, v, NULL, NULL, err);
}

shade_status shade_force_range(TALLOC_CTX *mem_ctx, shade_ref *r, size_t start,
			       size_t count, shade_value **out,
			       shade_error **err)
{
	struct api_field f[3];
	struct proxy *p;
	shade_kind k;

	SHADE_CHECK(api_check_ref(r, err));
	if (!shade_ref_is_proxy(r)) {
		struct obj_op op = { .op = OBJ_OP_FORCE, .start = start,
				     .count = count == SIZE_MAX ? UINT64_MAX
								: count };

		return api_local_op(mem_ctx, r, &op, NULL, out, err);
	}
	SHADE_CHECK(api_live_proxy(r, &p, err));
	f[0] = (struct api_field){ API_FLD_UINT, p->eid, NULL, NULL };
	f[1] = (struct api_field){ API_FLD_UINT, start, NULL, NULL };
	if (count == SIZE_MAX)
		f[2] = (struct api_field){ API_FLD_NULL, 0, NULL, NULL };
	else
		f[2] = (struct api_field){ API_FLD_UINT, count, NULL, NULL };
	SHADE_CHECK(api_roundtrip(mem_ctx, p->conn, p, OP_FORCE, f, 3, NULL, NULL,
				  out, err));
	k = shade_value_kind(*out);
	if (k != SHADE_LIST && k != SHADE_DICT) {
		TALLOC_FREE(*out);
		return shade_error_set(err, SHADE_ERR_PROTOCOL,
				       "FORCE returned no list or dict");
	}
	return SHADE_OK;
}

shade_status shade_force(TALLOC_CTX *mem_ctx, shade_ref *r, shade_value **out,
			 shade_error **err)
{
	return shade_force_range(mem_ctx, r, 0, SIZE_MAX, out, err);
}

/* What to extract from a snapshot. */
enum extract { EX_KEYS, EX_VALUES, EX_ITEMS };

/* Force r and build the keys, values or items of the snapshot. */
static shade_status extract(TALLOC_CTX *mem_ctx, shade_ref *r, enum extract ex,
			    shade_value **out, shade_error **err)
{
	shade_value *snap, *res, *pair, *ik;
	const shade_value *k, *v;
	size_t pos = 0, i = 0;
	bool dict;
	shade_status st = SHADE_OK;

	SHADE_CHECK(shade_force(NULL, r, &snap, err));
	dict = shade_value_kind(snap) == SHADE_DICT;
	res = shade_list_new(mem_ctx, shade_value_len(snap));
	while (res != NULL && st == SHADE_OK) {
		if (dict) {
			if (!shade_dict_next(snap, &pos, &k, &v))
				break;
		} else {
			if (i >= shade_seq_len(snap))
				break;
			v = shade_seq_at(snap, i);
			k = v;
		}
		if (ex == EX_KEYS)
			st = shade_seq_append(res, k, err);
		else if (ex == EX_VALUES)
			st = shade_seq_append(res, v, err);
		else {
			pair = shade_tuple_new(NULL, 2);
			ik = dict ? NULL : shade_int(NULL, (int64_t)i);
			if (pair == NULL || (!dict && ik == NULL))
				st = shade_error_set(err, SHADE_ERR_NOMEM,
						     "out of memory");
			if (st == SHADE_OK)
				st = shade_seq_append(pair, dict ? k : ik,
						      err);
			if (st == SHADE_OK)
				st = shade_seq_append(pair, v, err);
			talloc_free(ik);
			if (st == SHADE_OK)
				st = shade_seq_append_take(res, pair, err);
			else
				talloc_free(pair);
		}
		i++;
	}
	talloc_free(snap);
	if (res == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	if (st != SHADE_OK) {
		talloc_free(res);
		return st;
	}
	*out = res;
	return SHADE_OK;
}

shade_status shade_keys(TALLOC_CTX *mem_ctx, shade_ref *r, shade_value **out,
			shade_error **err)
{
	return extract(mem_ctx, r, EX_KEYS, out, err);
}

shade_status shade_values(TALLOC_CTX *mem_ctx, shade_ref *r, shade_value **out,
			  shade_error **err)
{
	return extract(mem_ctx, r, EX_VALUES, out, err);
}

shade_status shade_items(TALLOC_CTX *mem_ctx, shade_ref *r, shade_value **out,
			 shade_error **err)
{
	return extract(mem_ctx, r, EX_ITEMS, out, err);
}

/* shade_equal through the object's __eq__. */
static shade_status equal_special(shade_ref *r, const shade_value *v,
				  bool *out, shade_error **err)
{
	/* a comparison transfers the value whole (doc/api.md, "Copy
	 * rules"): the other side compares items, not a reference */
	const shade_call_opts co = { .byvalue = true };
	shade_value *args = shade_tuple_new(NULL, 1), *res = NULL;
	shade_status st;

	if (args == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	st = shade_seq_append(args, v, err);
	if (st == SHADE_OK)
		st = shade_invoke_ex(args, r, SHADE_SPECIAL_EQ, args, NULL,
				     &co, &res, err);
	if (st == SHADE_OK && shade_value_kind(res) != SHADE_BOOL)
		st = shade_error_set(err, SHADE_ERR_TYPE,
				     "%s.%s returned %s, not a bool",
				     shade_ref_type_name(r), SHADE_SPECIAL_EQ,
				     shade_kind_name(shade_value_kind(res)));
	if (st == SHADE_OK)
		*out = res->u.b;
	talloc_free(args);
	return st;
}

shade_status shade_equal(shade_ref *r, const shade_value *v, bool *out,
			 shade_error **err)
{
	shade_value *snap;

	if (v == NULL)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "value is NULL");
	if (api_has_special(r, SHADE_SPECIAL_EQ))
		return equal_special(r, v, out, err);
	SHADE_CHECK(shade_force(NULL, r, &snap, err));
	*out = shade_value_equal(snap, v);
	talloc_free(snap);
	return SHADE_OK;
}

/* ------------------------------------------------------------ methods */

/* Method `name` of the list or dict r with n arguments (NULL entries
 * are left out from there on), by INVOKE: one round trip on a proxy.
 * The arguments cross by value (a container stores copies). */
static shade_status method(TALLOC_CTX *mem_ctx, shade_ref *r, const char *name,
			   const shade_value *a0, const shade_value *a1,
			   const shade_value *kwargs, shade_value **out,
			   shade_error **err)
{
	const shade_value *items[2] = { a0, a1 };
	shade_value *args;
	shade_status st;

	args = shade_tuple_from(NULL, a0 == NULL ? 0 : a1 == NULL ? 1 : 2,
				items);
	if (args == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	st = shade_invoke(mem_ctx, r, name, args, kwargs, out, err);
	talloc_free(args);
	return st;
}

/* A method whose result is a count or a position, into *out. */
static shade_status method_size(shade_ref *r, const char *name,
				const shade_value *v, size_t *out,
				shade_error **err)
{
	shade_value *res;

	if (v == NULL)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "value is NULL");
	SHADE_CHECK(method(NULL, r, name, v, NULL, NULL, &res, err));
	if (shade_value_kind(res) != SHADE_INT || res->u.i < 0) {
		talloc_free(res);
		return shade_error_set(err, SHADE_ERR_PROTOCOL,
				       "%s returned no count", name);
	}
	*out = (size_t)res->u.i;
	talloc_free(res);
	return SHADE_OK;
}

shade_status shade_extend(shade_ref *r, const shade_value *items,
			  shade_error **err)
{
	if (items == NULL)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "items is NULL");
	return method(NULL, r, "extend", items, NULL, NULL, NULL, err);
}

shade_status shade_insert(shade_ref *r, int64_t index, const shade_value *v,
			  shade_error **err)
{
	shade_value i = shade_value_int(index);

	if (v == NULL)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "value is NULL");
	return method(NULL, r, "insert", &i, v, NULL, NULL, err);
}

shade_status shade_pop(TALLOC_CTX *mem_ctx, shade_ref *r,
		       const shade_value *key, shade_value **out,
		       shade_error **err)
{
	return method(mem_ctx, r, "pop", key, NULL, NULL, out, err);
}

shade_status shade_remove(shade_ref *r, const shade_value *v,
			  shade_error **err)
{
	if (v == NULL)
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "value is NULL");
	return method(NULL, r, "remove", v, NULL, NULL, NULL, err);
}

shade_status shade_index(shade_ref *r, const shade_value *v, size_t *out,
			 shade_error **err)
{
	return method_size(r, "index", v, out, err);
}

shade_status shade_count(shade_ref *r, const shade_value *v, size_t *out,
			 shade_error **err)
{
	return method_size(r, "count", v, out, err);
}

shade_status shade_clear(shade_ref *r, shade_error **err)
{
	return method(NULL, r, "clear", NULL, NULL, NULL, NULL, err);
}

shade_status shade_reverse(shade_ref *r, shade_error **err)
{
	return method(NULL, r, "reverse", NULL, NULL, NULL, NULL, err);
}

shade_status shade_get(TALLOC_CTX *mem_ctx, shade_ref *r,
		       const shade_value *key, const shade_value *dflt,
		       shade_value **out, shade_error **err)
{
	if (key == NULL)
		return shade_error_set(err, SHADE_ERR_INVALID, "key is NULL");
	return method(mem_ctx, r, "get", key, dflt, NULL, out, err);
}

shade_status shade_setdefault(TALLOC_CTX *mem_ctx, shade_ref *r,
			      const shade_value *key,
			      const shade_value *dflt, shade_value **out,
			      shade_error **err)
{
	if (key == NULL)
		return shade_error_set(err, SHADE_ERR_INVALID, "key is NULL");
	return method(mem_ctx, r, "setdefault", key, dflt, NULL, out, err);
}

shade_status shade_update(shade_ref *r, const shade_value *other,
			  const shade_value *kwargs, shade_error **err)
{
	return method(NULL, r, "update", other, NULL, kwargs, NULL, err);
}
