/*
 * methods.c - the methods of shared lists and dicts, the members of the
 * built-in shapes builtins.list and builtins.dict (shape.c): append,
 * extend, insert, pop, remove, index, count, clear, reverse; get,
 * setdefault, update, pop, keys, values, items, clear.  Each runs on
 * the container's value in place, as Python's do.  dispatch.c calls
 * obj_container_method for an INVOKE (or a bound method's CALL) on a
 * container, after its cycle guard for the methods that store.
 *
 * Arguments and results are plain values: what a method stores is a
 * copy of its argument, what it returns a copy of the item.  An
 * iterable argument (extend, update) is a tuple, a list, a dict, or a
 * reference to a container of this process; a reference to a remote
 * container cannot be read here (the object layer makes no requests)
 * and is TypeError.
 */
#include <talloc.h>

#include "shade/object.h"
#include "object/object_int.h"

/* List methods, in the order of shade_shape_list's members. */
enum { L_APPEND, L_EXTEND, L_INSERT, L_POP, L_REMOVE, L_INDEX, L_COUNT,
       L_CLEAR, L_REVERSE };

/* Dict methods, in the order of shade_shape_dict's members. */
enum { D_GET, D_SETDEFAULT, D_UPDATE, D_POP, D_KEYS, D_VALUES, D_ITEMS,
       D_CLEAR };

/* Argument counts each method takes: at least min, at most max. */
struct arity {
	unsigned min; /* required arguments */
	unsigned max; /* with the optional ones */
};

static const struct arity list_arity[] = {
	[L_APPEND] = { 1, 1 }, [L_EXTEND] = { 1, 1 }, [L_INSERT] = { 2, 2 },
	[L_POP] = { 0, 1 },    [L_REMOVE] = { 1, 1 }, [L_INDEX] = { 1, 1 },
	[L_COUNT] = { 1, 1 },  [L_CLEAR] = { 0, 0 },  [L_REVERSE] = { 0, 0 },
};

static const struct arity dict_arity[] = {
	[D_GET] = { 1, 2 },  [D_SETDEFAULT] = { 1, 2 }, [D_UPDATE] = { 0, 1 },
	[D_POP] = { 1, 2 },  [D_KEYS] = { 0, 0 },       [D_VALUES] = { 0, 0 },
	[D_ITEMS] = { 0, 0 }, [D_CLEAR] = { 0, 0 },
};

int obj_container_method_stores(const shade_value *c, uint32_t member)
{
	if (shade_value_kind(c) == SHADE_LIST) {
		if (member == L_EXTEND)
			return 2;
		return member == L_APPEND || member == L_INSERT;
	}
	if (member == D_UPDATE)
		return 2;
	return member == D_SETDEFAULT;
}

/* The value an iterable argument stands for: v itself, or the value of
 * the local container v refers to. */
static shade_status iterable_of(const char *meth, const shade_value *v,
				const shade_value **out, shade_error **err)
{
	shade_ref *r;
	shade_value *inner;

	if (shade_value_kind(v) == SHADE_REF) {
		r = shade_value_as_ref(v);
		inner = shade_container_value(r);
		if (inner == NULL)
			return shade_error_set(
				err, SHADE_ERR_TYPE,
				"%s: the argument is a reference to %s %s, "
				"which cannot be read here: pass the items by "
				"value (SHADE_VF_BYVALUE or the call's byvalue "
				"option)",
				meth, shade_ref_is_proxy(r) ? "a remote" : "a",
				shade_ref_type_name(r));
		v = inner;
	}
	switch (shade_value_kind(v)) {
	case SHADE_TUPLE:
	case SHADE_LIST:
	case SHADE_DICT:
		*out = v;
		return SHADE_OK;
	default:
		return shade_error_set(err, SHADE_ERR_TYPE,
				       "%s: '%s' object is not iterable", meth,
				       shade_kind_name(shade_value_kind(v)));
	}
}

/* A copy of v onto mem_ctx as the result, or NoMemory. */
static shade_status result_copy(TALLOC_CTX *mem_ctx, const shade_value *v,
				shade_value **out, shade_error **err)
{
	*out = v != NULL ? shade_value_copy(mem_ctx, v) : shade_none(mem_ctx);
	if (*out == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	return SHADE_OK;
}

/* The position of the first item of list c equal to v, or -1. */
static long list_find(const shade_value *c, const shade_value *v)
{
	size_t i, n = shade_seq_len(c);

	for (i = 0; i < n; i++)
		if (shade_value_equal(shade_seq_at(c, i), v))
			return (long)i;
	return -1;
}

/* The list methods. */
static shade_status list_method(TALLOC_CTX *mem_ctx, shade_value *c,
				uint32_t m, const shade_value *a,
				size_t na, shade_value **out,
				shade_error **err)
{
	const shade_value *src, *k;
	size_t i, n = 0, pos = 0;
	int64_t at = -1;
	long found;

	switch (m) {
	case L_APPEND:
		return shade_seq_append(c, &a[0], err);
	case L_EXTEND:
		SHADE_CHECK(iterable_of("list.extend()", &a[0], &src, err));
		if (src == c) {
			/* l.extend(l): the items as they were (appending
			 * may move the items being read: copy them first). */
			shade_value *snap = shade_value_copy(NULL, c);
			shade_status st;

			if (snap == NULL)
				return shade_error_set(err, SHADE_ERR_NOMEM,
						       "out of memory");
			st = list_method(mem_ctx, c, L_EXTEND, snap, 1, out,
					 err);
			talloc_free(snap);
			return st;
		}
		if (shade_value_kind(src) == SHADE_DICT) {
			while (shade_dict_next(src, &pos, &k, NULL))
				SHADE_CHECK(shade_seq_append(c, k, err));
			return SHADE_OK;
		}
		n = shade_seq_len(src);
		for (i = 0; i < n; i++)
			SHADE_CHECK(shade_seq_append(c, shade_seq_at(src, i),
						     err));
		return SHADE_OK;
	case L_INSERT:
		if (shade_value_kind(&a[0]) != SHADE_INT)
			return shade_error_set(err, SHADE_ERR_TYPE,
					       "list.insert(): the index must "
					       "be an integer");
		return shade_seq_insert(c, a[0].u.i, &a[1], err);
	case L_POP:
		if (na == 1) {
			if (shade_value_kind(&a[0]) != SHADE_INT)
				return shade_error_set(
					err, SHADE_ERR_TYPE,
					"list.pop(): the index must be an "
					"integer");
			at = a[0].u.i;
		}
		if (shade_seq_len(c) == 0)
			return shade_error_set(err, SHADE_ERR_INDEX,
					       "pop from empty list");
		if (shade_seq_get(c, at, &src, NULL) != SHADE_OK)
			return shade_error_set(err, SHADE_ERR_INDEX,
					       "pop index out of range");
		SHADE_CHECK(result_copy(mem_ctx, src, out, err));
		return shade_seq_delete(c, at, err);
	case L_REMOVE:
		found = list_find(c, &a[0]);
		if (found < 0)
			return shade_error_set(err, SHADE_ERR_VALUE,
					       "list.remove(x): x not in list");
		return shade_seq_delete(c, found, err);
	case L_INDEX:
		found = list_find(c, &a[0]);
		if (found < 0)
			return shade_error_set(err, SHADE_ERR_VALUE,
					       "list.index(x): x not in list");
		*out = shade_int(mem_ctx, found);
		break;
	case L_COUNT:
		n = shade_seq_len(c);
		for (i = 0, pos = 0; i < n; i++)
			pos += shade_value_equal(shade_seq_at(c, i), &a[0]);
		*out = shade_int(mem_ctx, (int64_t)pos);
		break;
	case L_CLEAR:
		return shade_value_clear(c, err);
	case L_REVERSE:
		return shade_seq_reverse(c, err);
	}
	if (*out == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	return SHADE_OK;
}

/* update(): store every pair of src (a dict, or a sequence of pairs). */
static shade_status dict_update(shade_value *c, const shade_value *src,
				shade_error **err)
{
	const shade_value *k, *v, *pair;
	size_t i, n, pos = 0;

	if (shade_value_kind(src) == SHADE_DICT) {
		if (src == c)
			return SHADE_OK;
		while (shade_dict_next(src, &pos, &k, &v))
			SHADE_CHECK(shade_dict_set(c, k, v, err));
		return SHADE_OK;
	}
	n = shade_seq_len(src);
	for (i = 0; i < n; i++) {
		pair = shade_seq_at(src, i);
		if (!shade_value_is_seq(pair) || shade_seq_len(pair) != 2)
			return shade_error_set(err, SHADE_ERR_VALUE,
					       "dict.update(): element #%zu of "
					       "the sequence is not a pair", i);
		SHADE_CHECK(shade_dict_set(c, shade_seq_at(pair, 0),
					   shade_seq_at(pair, 1), err));
	}
	return SHADE_OK;
}

/* keys(), values() or items() as a new list on mem_ctx. */
static shade_status dict_view(TALLOC_CTX *mem_ctx, const shade_value *c,
			      uint32_t m, shade_value **out,
			      shade_error **err)
{
	const shade_value *k, *v;
	shade_value *l = shade_list_new(mem_ctx, shade_dict_len(c));
	shade_value *pair;
	size_t pos = 0;
	shade_status st = SHADE_OK;

	if (l == NULL)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	while (st == SHADE_OK && shade_dict_next(c, &pos, &k, &v)) {
		if (m == D_KEYS) {
			st = shade_seq_append(l, k, err);
		} else if (m == D_VALUES) {
			st = shade_seq_append(l, v, err);
		} else {
			const shade_value *kv[2] = { k, v };

			pair = shade_tuple_from(NULL, 2, kv);
			st = pair != NULL ? shade_seq_append_take(l, pair, err)
					  : shade_error_set(err,
							    SHADE_ERR_NOMEM,
							    "out of memory");
		}
	}
	if (st != SHADE_OK) {
		talloc_free(l);
		return st;
	}
	*out = l;
	return SHADE_OK;
}

/* The dict methods. */
static shade_status dict_method(TALLOC_CTX *mem_ctx, shade_value *c,
				uint32_t m, const shade_value *a,
				size_t na, const shade_value *kwargs,
				shade_value **out, shade_error **err)
{
	const shade_value *got = NULL, *src;

	switch (m) {
	case D_GET:
	case D_SETDEFAULT:
	case D_POP:
		if (!shade_value_is_hashable(&a[0]))
			return shade_error_set(err, SHADE_ERR_TYPE,
					       "unhashable type: '%s'",
					       shade_kind_name(
						       shade_value_kind(&a[0])));
		got = shade_dict_get(c, &a[0]);
		if (got != NULL) {
			SHADE_CHECK(result_copy(mem_ctx, got, out, err));
			return m == D_POP ? shade_dict_delete(c, &a[0], err)
					  : SHADE_OK;
		}
		if (m == D_POP && na < 2)
			return shade_dict_lookup(c, &a[0], &got, err);
		if (m == D_SETDEFAULT) {
			shade_value none = shade_value_none();

			SHADE_CHECK(shade_dict_set(c, &a[0],
						   na > 1 ? &a[1] : &none,
						   err));
		}
		return result_copy(mem_ctx, na > 1 ? &a[1] : NULL, out, err);
	case D_UPDATE:
		if (na == 1) {
			SHADE_CHECK(iterable_of("dict.update()", &a[0], &src,
						err));
			SHADE_CHECK(dict_update(c, src, err));
		}
		if (kwargs != NULL)
			SHADE_CHECK(dict_update(c, kwargs, err));
		return SHADE_OK;
	case D_KEYS:
	case D_VALUES:
	case D_ITEMS:
		return dict_view(mem_ctx, c, m, out, err);
	case D_CLEAR:
		return shade_value_clear(c, err);
	}
	return SHADE_OK;
}

shade_status obj_container_method(TALLOC_CTX *mem_ctx, shade_value *c,
				  uint32_t member, const shade_value *args,
				  const shade_value *kwargs, shade_value **out,
				  shade_error **err)
{
	bool is_list = shade_value_kind(c) == SHADE_LIST;
	const shade_shape_desc *d = is_list ? &shade_shape_list
					    : &shade_shape_dict;
	const struct arity *ar = is_list ? list_arity : dict_arity;
	size_t na = args != NULL ? shade_seq_len(args) : 0;

	*out = NULL;
	if (member >= d->n_members)
		return shade_error_set(err, SHADE_ERR_ATTRIBUTE,
				       "'%s' object has no member #%u", d->name,
				       (unsigned)member);
	if (na < ar[member].min || na > ar[member].max) {
		if (ar[member].min == ar[member].max)
			return shade_error_set(
				err, SHADE_ERR_TYPE,
				"%s.%s() takes %u argument%s (%zu given)",
				is_list ? "list" : "dict",
				d->members[member].name, ar[member].min,
				ar[member].min == 1 ? "" : "s", na);
		return shade_error_set(err, SHADE_ERR_TYPE,
				       "%s.%s() takes %u to %u arguments (%zu "
				       "given)",
				       is_list ? "list" : "dict",
				       d->members[member].name, ar[member].min,
				       ar[member].max, na);
	}
	if (kwargs != NULL && shade_dict_len(kwargs) > 0 &&
	    (is_list || member != D_UPDATE))
		return shade_error_set(err, SHADE_ERR_TYPE,
				       "%s.%s() takes no keyword arguments",
				       is_list ? "list" : "dict",
				       d->members[member].name);
	if (is_list)
		return list_method(mem_ctx, c, member,
				   na ? shade_seq_items(args, NULL) : NULL, na,
				   out, err);
	return dict_method(mem_ctx, c, member,
			   na ? shade_seq_items(args, NULL) : NULL, na, kwargs,
			   out, err);
}
