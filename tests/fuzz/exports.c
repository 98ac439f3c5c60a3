/*
 * exports.c - see exports.h.
 */
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "exports.h"
#include "../helpers/handlers.h"

/* ------------------------------------------------------------ handlers */

/* fail(): always ValueError. */
static shade_status fz_fail(shade_call_ctx *call)
{
	return shade_error_set(call->err, SHADE_ERR_VALUE, "asked to fail");
}

/* echo(args...): the arguments back, as a tuple (references included). */
static shade_status fz_echo(shade_call_ctx *call)
{
	call->result = shade_value_copy(call->mem, call->args);
	return call->result ? SHADE_OK
			    : shade_error_set(call->err, SHADE_ERR_NOMEM,
					      "out of memory");
}

/* call(f, args...): call the callable f (normally a proxy of one of the
 * caller's objects: a callback) with the remaining arguments. */
static shade_status fz_call(shade_call_ctx *call)
{
	const shade_value *f = shade_seq_at(call->args, 0);
	shade_value *rest;
	size_t i, n = shade_seq_len(call->args);
	shade_status st;

	if (f == NULL || shade_value_kind(f) != SHADE_REF)
		return shade_error_set(call->err, SHADE_ERR_TYPE,
				       "call: first argument is not callable");
	rest = shade_tuple_new(call->mem, n);
	if (rest == NULL)
		return shade_error_set(call->err, SHADE_ERR_NOMEM,
				       "out of memory");
	for (i = 1; i < n; i++)
		SHADE_CHECK(shade_seq_append(rest, shade_seq_at(call->args, i),
					     call->err));
	st = shade_call(call->mem, shade_value_as_ref(f), rest, call->kwargs,
			&call->result, call->err);
	talloc_free(rest);
	return st;
}

/* big(n): n bytes (at most udata's bound), a pattern. */
static shade_status fz_big(shade_call_ctx *call)
{
	size_t max = (size_t)(uintptr_t)call->udata, n, i;
	const shade_value *a = shade_seq_at(call->args, 0);
	uint8_t *p;

	if (a == NULL || shade_value_kind(a) != SHADE_INT ||
	    shade_value_as_int(a) < 0)
		return shade_error_set(call->err, SHADE_ERR_TYPE,
				       "big: want a size");
	if ((uint64_t)shade_value_as_int(a) > max)
		return shade_error_set(call->err, SHADE_ERR_LIMIT,
				       "big: at most %zu bytes", max);
	n = (size_t)shade_value_as_int(a);
	p = talloc_size(call->mem, n ? n : 1);
	if (p == NULL)
		return shade_error_set(call->err, SHADE_ERR_NOMEM,
				       "out of memory");
	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 31u + 7u);
	call->result = shade_bytes(call->mem, p, n);
	talloc_free(p);
	return call->result ? SHADE_OK
			    : shade_error_set(call->err, SHADE_ERR_NOMEM,
					      "out of memory");
}

/* sleep(ms): wait (at most udata's bound), return none. */
static shade_status fz_sleep(shade_call_ctx *call)
{
	int max = (int)(intptr_t)call->udata;
	const shade_value *a = shade_seq_at(call->args, 0);
	int64_t ms;
	struct timespec ts;

	if (a == NULL || shade_value_kind(a) != SHADE_INT)
		return shade_error_set(call->err, SHADE_ERR_TYPE,
				       "sleep: want milliseconds");
	ms = shade_value_as_int(a);
	if (ms > max)
		ms = max;
	if (ms > 0) {
		ts.tv_sec = ms / 1000;
		ts.tv_nsec = (long)(ms % 1000) * 1000000L;
		while (nanosleep(&ts, &ts) != 0)
			;
	}
	return SHADE_OK;
}

/* ping(): oneway, does nothing. */
static shade_status fz_ping(shade_call_ctx *call)
{
	(void)call;
	return SHADE_OK;
}

/* Property p: an int kept in the object's udata slot. */
struct fz_prop {
	int64_t v; /* current value */
};

/* Getter of p. */
static shade_status fz_prop_get(shade_call_ctx *call)
{
	struct fz_prop *p = call->udata;

	call->result = shade_int(call->mem, p->v);
	return call->result ? SHADE_OK
			    : shade_error_set(call->err, SHADE_ERR_NOMEM,
					      "out of memory");
}

/* Setter of p: ints only. */
static shade_status fz_prop_set(shade_call_ctx *call)
{
	struct fz_prop *p = call->udata;

	if (shade_value_kind(call->value) != SHADE_INT)
		return shade_error_set(call->err, SHADE_ERR_TYPE,
				       "p: want an int");
	p->v = shade_value_as_int(call->value);
	return SHADE_OK;
}

/* Free hook: free a talloc block. */
static void fz_free_block(void *udata)
{
	talloc_free(udata);
}

/* A new fuzz.Obj with its members.  big_max / sleep_max_ms bound the
 * handlers. */
static shade_status fz_obj_new(size_t big_max, int sleep_max_ms,
			       shade_ref **out, shade_error **err)
{
	shade_ref *o = NULL;
	struct fz_prop *prop;
	shade_value *x = NULL, *ro = NULL;
	shade_status st;

	SHADE_CHECK(shade_object_new("fuzz.Obj", NULL, &o, err));
	prop = talloc_zero(NULL, struct fz_prop);
	x = shade_int(NULL, 3);
	ro = shade_str(NULL, "fixed");
	if (prop == NULL || x == NULL || ro == NULL) {
		talloc_free(prop);
		st = shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
		goto done;
	}
	shade_object_on_free(o, fz_free_block, prop);
	st = shade_object_add_attr(o, "x", x, false, err);
	if (st == SHADE_OK)
		st = shade_object_add_attr(o, "ro", ro, true, err);
	if (st == SHADE_OK)
		st = shade_object_add_property(o, "p", fz_prop_get,
					       fz_prop_set, prop, err);
	if (st == SHADE_OK)
		st = shade_object_add_method(o, "add", th_add, NULL, false,
					     err);
	if (st == SHADE_OK)
		st = shade_object_add_method(o, "fail", fz_fail, NULL, false,
					     err);
	if (st == SHADE_OK)
		st = shade_object_add_method(o, "echo", fz_echo, NULL, false,
					     err);
	if (st == SHADE_OK)
		st = shade_object_add_method(o, "call", fz_call, NULL, false,
					     err);
	if (st == SHADE_OK)
		st = shade_object_add_method(o, "big", fz_big,
					     (void *)(uintptr_t)big_max, false,
					     err);
	if (st == SHADE_OK)
		st = shade_object_add_method(o, "sleep", fz_sleep,
					     (void *)(intptr_t)sleep_max_ms,
					     false, err);
	if (st == SHADE_OK)
		st = shade_object_add_method(o, "ping", fz_ping, NULL, true,
					     err);
done:
	talloc_free(x);
	talloc_free(ro);
	if (st != SHADE_OK) {
		shade_ref_release(o);
		return st;
	}
	*out = o;
	return SHADE_OK;
}

/* The type's constructor: a new fuzz.Obj (no big/sleep). */
static shade_status fz_ctor(shade_call_ctx *call)
{
	shade_ref *o;

	SHADE_CHECK(fz_obj_new(0, 0, &o, call->err));
	call->result = shade_ref_value_take(call->mem, o);
	return call->result ? SHADE_OK
			    : shade_error_set(call->err, SHADE_ERR_NOMEM,
					      "out of memory");
}

/* ------------------------------------------------------------ typed */

/* Members of fuzz.Counter. */
static const shade_member_desc fz_counter_members[] = {
	{ "value", SHADE_MEMBER_ATTR, "long long", NULL },
	{ "step", SHADE_MEMBER_READONLY, "long long", NULL },
	{ "inc", SHADE_MEMBER_METHOD, "(in long long n)->long long", NULL },
};

const shade_shape_desc fz_counter_shape = {
	SHADE_SHAPE_OBJECT, "fuzz.Counter", NULL, 0, fz_counter_members,
	sizeof(fz_counter_members) / sizeof(fz_counter_members[0]), 0, NULL
};

/* The state of a fuzz.Counter. */
struct fz_counter {
	int64_t value; /* attribute value */
};

/* Read one int64 argument at `in` through the dispatch context. */
static shade_status fz_read_int(shade_dispatch_ctx *cx, shade_cbor_dec *in,
				int64_t *out, shade_error **err)
{
	shade_value *v;

	SHADE_CHECK(shade_dispatch_decode_value(cx, in, &v, err));
	if (shade_value_kind(v) != SHADE_INT) {
		talloc_free(v);
		return shade_error_set(err, SHADE_ERR_TYPE, "want an int");
	}
	*out = shade_value_as_int(v);
	talloc_free(v);
	return SHADE_OK;
}

/* Dispatch of fuzz.Counter. */
static shade_status fz_counter_dispatch(void *self, shade_dispatch_ctx *cx,
					uint32_t member, shade_dispatch_op op,
					shade_cbor_dec *in, shade_buf *out,
					shade_error **err)
{
	struct fz_counter *c = self;
	uint64_t n, i;
	int64_t by = 1;

	switch (member) {
	case 0:
		if (op == SHADE_DISPATCH_SET)
			return fz_read_int(cx, in, &c->value, err);
		return shade_cbor_put_int(out, c->value);
	case 1:
		return shade_cbor_put_int(out, 1);
	case 2:
		SHADE_CHECK(shade_cbor_read_array(in, &n, err));
		if (n == SHADE_CBOR_INDEFINITE || n > 1)
			return shade_error_set(err, SHADE_ERR_TYPE,
					       "inc: at most one argument");
		for (i = 0; i < n; i++)
			SHADE_CHECK(fz_read_int(cx, in, &by, err));
		if (__builtin_add_overflow(c->value, by, &c->value))
			return shade_error_set(err, SHADE_ERR_OVERFLOW,
					       "inc: out of range");
		return shade_cbor_put_int(out, c->value);
	default:
		return shade_error_set(err, SHADE_ERR_ATTRIBUTE,
				       "no member %u", (unsigned)member);
	}
}

/* ------------------------------------------------------------ registry */

/* Add obj under name and drop our count (also on failure). */
static shade_status fz_export(shade_registry *reg, const char *name,
			      shade_ref *obj, shade_error **err)
{
	shade_status st = shade_registry_add(reg, name, obj, err);

	shade_ref_release(obj);
	return st;
}

shade_registry *fz_exports_new(TALLOC_CTX *mem_ctx, const fz_config *cfg)
{
	shade_registry *reg = shade_registry_new(mem_ctx);
	shade_error *err = NULL;
	shade_ref *o;
	shade_value *v;
	struct fz_counter *cs;
	shade_status st;

	if (reg == NULL)
		return NULL;
	st = fz_obj_new(cfg->big_max, cfg->sleep_max_ms, &o, &err);
	if (st == SHADE_OK)
		st = fz_export(reg, "obj", o, &err);

	v = shade_list_new(NULL, 3);
	if (st == SHADE_OK && v == NULL)
		st = SHADE_ERR_NOMEM;
	if (st == SHADE_OK)
		st = shade_seq_append_take(v, shade_int(v, 1), &err);
	if (st == SHADE_OK)
		st = shade_seq_append_take(v, shade_str(v, "a"), &err);
	if (st == SHADE_OK)
		st = shade_seq_append_take(v, shade_float(v, 2.5), &err);
	if (st == SHADE_OK) {
		st = shade_container_new(v, &o, &err);
		v = NULL;
	}
	if (st == SHADE_OK)
		st = fz_export(reg, "list", o, &err);
	talloc_free(v);

	v = shade_dict_new(NULL, 2);
	if (st == SHADE_OK && v == NULL)
		st = SHADE_ERR_NOMEM;
	if (st == SHADE_OK)
		st = shade_dict_set_take(v, shade_str(v, "k"), shade_int(v, 1),
					 &err);
	if (st == SHADE_OK)
		st = shade_dict_set_take(v, shade_int(v, 2),
					 shade_str(v, "two"), &err);
	if (st == SHADE_OK) {
		st = shade_container_new(v, &o, &err);
		v = NULL;
	}
	if (st == SHADE_OK)
		st = fz_export(reg, "dict", o, &err);
	talloc_free(v);

	if (st == SHADE_OK)
		st = shade_function_new("add", th_add, NULL, &o, &err);
	if (st == SHADE_OK)
		st = fz_export(reg, "fn", o, &err);
	if (st == SHADE_OK)
		st = shade_type_new("fuzz.Obj", NULL, fz_ctor, NULL, &o, &err);
	if (st == SHADE_OK)
		st = fz_export(reg, "type", o, &err);

	cs = talloc_zero(NULL, struct fz_counter);
	if (st == SHADE_OK && cs == NULL)
		st = SHADE_ERR_NOMEM;
	if (st == SHADE_OK) {
		st = shade_object_new_typed(&fz_counter_shape,
					    fz_counter_dispatch, cs, &o, &err);
		if (st == SHADE_OK) {
			shade_object_on_free(o, fz_free_block, cs);
			cs = NULL;
			st = fz_export(reg, "typed", o, &err);
		}
	}
	talloc_free(cs);
	shade_error_free(err);
	if (st != SHADE_OK) {
		talloc_free(reg);
		return NULL;
	}
	return reg;
}
