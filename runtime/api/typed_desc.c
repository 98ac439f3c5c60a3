/*
 * runtime/api/typed_desc.c - descriptor-driven marshalling (see
 * shade/typed.h): the values of generated types and operations encoded
 * and decoded from const tables, so that shade-idlc emits tables and
 * small stubs instead of a codec function per type and a body per call.
 * The wire form is that of the generated codecs (doc/idl.md).
 */
#include <stdalign.h>
#include <stddef.h>
#include <string.h>

#include <talloc.h>

#include "shade/cbor.h"
#include "shade/typed.h"

/* Read the signed integer of `size` bytes at p. */
static int64_t load_int(const void *p, uint32_t size)
{
	switch (size) {
	case 1: { int8_t x; memcpy(&x, p, 1); return x; }
	case 2: { int16_t x; memcpy(&x, p, 2); return x; }
	case 4: { int32_t x; memcpy(&x, p, 4); return x; }
	default: { int64_t x; memcpy(&x, p, 8); return x; }
	}
}

/* Read the unsigned integer of `size` bytes at p. */
static uint64_t load_uint(const void *p, uint32_t size)
{
	switch (size) {
	case 1: { uint8_t x; memcpy(&x, p, 1); return x; }
	case 2: { uint16_t x; memcpy(&x, p, 2); return x; }
	case 4: { uint32_t x; memcpy(&x, p, 4); return x; }
	default: { uint64_t x; memcpy(&x, p, 8); return x; }
	}
}

/* Store the low `size` bytes of u at p (the integer's own type). */
static void store_uint(void *p, uint32_t size, uint64_t u)
{
	switch (size) {
	case 1: { uint8_t x = (uint8_t)u; memcpy(p, &x, 1); break; }
	case 2: { uint16_t x = (uint16_t)u; memcpy(p, &x, 2); break; }
	case 4: { uint32_t x = (uint32_t)u; memcpy(p, &x, 4); break; }
	default: memcpy(p, &u, 8); break;
	}
}

static shade_status put_compound(struct shade_buf *b,
				 const shade_typed_type *t, const void *v,
				 shade_error **err);

/* Encode the value of type t at v: scalars here, inlined into the loops
 * over fields and items (the cost of a table is per item). */
static inline shade_status put_one(struct shade_buf *b,
				   const shade_typed_type *t, const void *v,
				   shade_error **err)
{
	const char *s;

	switch (t->kind) {
	case SHADE_TYPED_INT:
		return shade_cbor_put_int(b, load_int(v, t->size));
	case SHADE_TYPED_UINT:
		return shade_cbor_put_uint(b, load_uint(v, t->size));
	case SHADE_TYPED_BITS:
		return shade_typed_put_bits(b, load_uint(v, t->size), t->flags,
					    t->name, err);
	case SHADE_TYPED_BOOL:
		return shade_cbor_put_bool(b, *(const bool *)v);
	case SHADE_TYPED_FLOAT:
		if (t->size == sizeof(float))
			return shade_cbor_put_float(b, *(const float *)v);
		return shade_cbor_put_float(b, *(const double *)v);
	case SHADE_TYPED_STRING:
		memcpy(&s, v, sizeof(s));
		if (t->hi != 0) /* string<N> */
			return shade_typed_put_bstr(b, s, t->hi, NULL, err);
		return shade_cbor_put_cstr(b, s ? s : "");
	default:
		return put_compound(b, t, v, err);
	}
}

/* Encode the struct or sequence of type t at v. */
static shade_status put_compound(struct shade_buf *b,
				 const shade_typed_type *t, const void *v,
				 shade_error **err)
{
	shade_status st;
	shade_typed_seq q;
	const char *p;
	uint32_t k;

	switch (t->kind) {
	case SHADE_TYPED_STRUCT:
		st = shade_cbor_put_array(b, t->n);
		for (k = 0; st == SHADE_OK && k < t->n; k++)
			st = put_one(b, t->fields[k].type, (const char *)v +
				     t->fields[k].offset, err);
		return st;
	case SHADE_TYPED_SEQ:
		memcpy(&q, v, sizeof(q));
		st = shade_cbor_put_array(b, q.len);
		p = q.items;
		if (t->item->kind == SHADE_TYPED_UINT && t->item->size == 1) {
			/* octets: the common bulk case, without the switch */
			for (k = 0; st == SHADE_OK && k < q.len; k++)
				st = shade_cbor_put_uint(b, (uint8_t)p[k]);
			return st;
		}
		for (k = 0; st == SHADE_OK && k < q.len; k++)
			st = put_one(b, t->item, p + (size_t)k * t->item->size,
				     err);
		return st;
	default:
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "typed: bad descriptor");
	}
}

/* Encode a value; see shade/typed.h. */
shade_status shade_typed_put(struct shade_buf *b, const shade_typed_type *t,
			     const void *v, shade_error **err)
{
	return put_one(b, t, v, err);
}

static shade_status get_compound(TALLOC_CTX *mem_ctx,
				 struct shade_cbor_dec *d,
				 const shade_typed_type *t, void *v,
				 shade_error **err);

/* Decode a value of type t into v: scalars here, inlined into the loops
 * over fields and items. */
static inline shade_status get_one(TALLOC_CTX *mem_ctx,
				   struct shade_cbor_dec *d,
				   const shade_typed_type *t, void *v,
				   shade_error **err)
{
	shade_status st;
	int64_t i = 0;
	uint64_t u = 0;
	double f = 0;
	char *s = NULL;

	switch (t->kind) {
	case SHADE_TYPED_INT:
		st = shade_typed_get_int(d, t->lo, (int64_t)t->hi, &i, err);
		store_uint(v, t->size, (uint64_t)i);
		return st;
	case SHADE_TYPED_UINT:
		st = shade_typed_get_uint(d, t->hi, &u, err);
		store_uint(v, t->size, u);
		return st;
	case SHADE_TYPED_BITS:
		st = shade_typed_get_bits(d, t->hi, t->flags, t->name, &u, err);
		store_uint(v, t->size, u);
		return st;
	case SHADE_TYPED_BOOL:
		return shade_cbor_read_bool(d, (bool *)v, err);
	case SHADE_TYPED_FLOAT:
		st = shade_cbor_read_float(d, &f, err);
		if (t->size == sizeof(float))
			*(float *)v = (float)f;
		else
			*(double *)v = f;
		return st;
	case SHADE_TYPED_STRING:
		st = t->hi != 0 ? shade_typed_get_bstr(mem_ctx, d, t->hi, &s, err)
				: shade_cbor_read_text_dup(mem_ctx, d, &s, NULL, err);
		memcpy(v, &s, sizeof(s));
		return st;
	default:
		return get_compound(mem_ctx, d, t, v, err);
	}
}

/* Decode a sequence of type t into v. */
static shade_status get_seq(TALLOC_CTX *mem_ctx, struct shade_cbor_dec *d,
			    const shade_typed_type *t, void *v,
			    shade_error **err)
{
	uint64_t n = 0, k, u = 0;
	shade_typed_seq q = { 0, NULL };
	shade_status st = shade_typed_read_seq(d, &n, err);
	char *p;

	if (st < 0)
		return st;
	if (n == SHADE_CBOR_INDEFINITE || n > UINT32_MAX ||
	    (t->hi != 0 && n > t->hi) ||
	    n > SIZE_MAX / t->item->size)
		return shade_error_set(err, SHADE_ERR_LIMIT, "%s: too many "
				       "items", t->name);
	q.len = (uint32_t)n;
	if (n > 0) {
		q.items = talloc_zero_size(mem_ctx, (size_t)n * t->item->size);
		if (q.items == NULL)
			return shade_error_set(err, SHADE_ERR_NOMEM,
					       "out of memory");
	}
	memcpy(v, &q, sizeof(q));
	p = q.items;
	if (t->item->kind == SHADE_TYPED_UINT && t->item->size == 1) {
		for (k = 0; st == SHADE_OK && k < n; k++) {
			st = shade_typed_get_uint(d, t->item->hi, &u, err);
			p[k] = (char)(uint8_t)u;
		}
		return st;
	}
	for (k = 0; st == SHADE_OK && k < n; k++)
		st = get_one(mem_ctx, d, t->item, p + (size_t)k * t->item->size,
			     err);
	return st;
}

/* Decode the struct or sequence of type t into v. */
static shade_status get_compound(TALLOC_CTX *mem_ctx,
				 struct shade_cbor_dec *d,
				 const shade_typed_type *t, void *v,
				 shade_error **err)
{
	shade_status st;
	uint32_t k;

	switch (t->kind) {
	case SHADE_TYPED_STRUCT:
		st = shade_typed_get_array(d, t->n, err);
		for (k = 0; st == SHADE_OK && k < t->n; k++)
			st = get_one(mem_ctx, d, t->fields[k].type,
				     (char *)v + t->fields[k].offset, err);
		return st;
	case SHADE_TYPED_SEQ:
		return get_seq(mem_ctx, d, t, v, err);
	default:
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "typed: bad descriptor");
	}
}

/* Decode a value; see shade/typed.h. */
shade_status shade_typed_get(TALLOC_CTX *mem_ctx, struct shade_cbor_dec *d,
			     const shade_typed_type *t, void *v,
			     shade_error **err)
{
	return get_one(mem_ctx, d, t, v, err);
}

/* Encode the result and the out values of op from argv into out: the
 * array [result, outs...] when there are out values, else the result
 * alone (or nothing). */
shade_status shade_typed_reply(struct shade_buf *out, const shade_typed_op *op,
			       void *const *argv, shade_error **err)
{
	shade_status st = SHADE_OK;
	bool result = op->n > 0 &&
		      op->params[op->n - 1].dir == SHADE_TYPED_RESULT;
	uint32_t k;

	if (op->n_out > 0)
		st = shade_cbor_put_array(out, op->n_out + result);
	if (st == SHADE_OK && result)
		st = shade_typed_put(out, op->params[op->n - 1].type,
				     argv[op->n - 1], err);
	for (k = 0; st == SHADE_OK && k < op->n; k++)
		if (op->params[k].dir == SHADE_TYPED_OUT ||
		    op->params[k].dir == SHADE_TYPED_INOUT)
			st = shade_typed_put(out, op->params[k].type, argv[k],
					     err);
	return st;
}

/* Decode the arguments of op; see shade/typed.h. */
shade_status shade_typed_args(shade_dispatch_ctx *cx, struct shade_cbor_dec *in,
			      const shade_typed_op *op, void *const *argv,
			      shade_error **err)
{
	TALLOC_CTX *mem = shade_dispatch_mem(cx);
	shade_status st = SHADE_OK;
	uint32_t k;

	if (op->op == SHADE_DISPATCH_INVOKE)
		st = shade_typed_get_array(in, op->n_in, err);
	for (k = 0; st == SHADE_OK && k < op->n; k++) {
		const shade_typed_param *p = &op->params[k];
		if (p->dir != SHADE_TYPED_IN && p->dir != SHADE_TYPED_INOUT)
			continue;
		st = shade_typed_get(mem, in, p->type, argv[k], err);
		if (st < 0)
			st = shade_typed_bad_arg(st, p->name, err);
	}
	return st;
}

/* Room for the decoded values of a call that needs no heap. */
#define CALL_SCRATCH 256

/* The room value t takes in the scratch space (aligned like
 * max_align_t). */
static size_t room(const shade_typed_type *t)
{
	size_t a = alignof(max_align_t);

	return (t->size + a - 1) / a * a;
}

/* Decode the reply of op from res into the scratch space s, the values
 * that come back one after the other in the C order (the result last):
 * the array [result, outs...] when there are out values, else the
 * result alone. */
static shade_status get_reply(TALLOC_CTX *mem, struct shade_cbor_dec *res,
			      const shade_typed_op *op, char *s, size_t total,
			      shade_error **err)
{
	const shade_typed_param *last = &op->params[op->n - 1];
	bool result = last->dir == SHADE_TYPED_RESULT;
	shade_status st = SHADE_OK;
	size_t at = 0;
	uint32_t k;

	if (op->n_out > 0)
		st = shade_typed_get_array(res, op->n_out + result, err);
	if (st == SHADE_OK && result)
		st = shade_typed_get(mem, res, last->type,
				     s + total - room(last->type), err);
	for (k = 0; st == SHADE_OK && k + result < op->n; k++) {
		if (op->params[k].dir == SHADE_TYPED_IN)
			continue;
		st = shade_typed_get(mem, res, op->params[k].type, s + at,
				     err);
		at += room(op->params[k].type);
	}
	return st;
}

/* Encode the arguments of op from argv into args. */
static shade_status put_args(struct shade_buf *args, const shade_typed_op *op,
			     void *const *argv, shade_error **err)
{
	shade_status st = SHADE_OK;
	uint32_t k;

	if (op->op == SHADE_DISPATCH_INVOKE)
		st = shade_cbor_put_array(args, op->n_in);
	for (k = 0; st == SHADE_OK && k < op->n; k++) {
		const shade_typed_param *p = &op->params[k];
		if (p->dir != SHADE_TYPED_IN && p->dir != SHADE_TYPED_INOUT)
			continue;
		/* a caller's NULL string is refused: never null in IDL */
		if (p->type->kind == SHADE_TYPED_STRING && p->type->hi != 0)
			st = shade_typed_put_bstr(args, *(const char *const *)
						  argv[k], p->type->hi, p->name,
						  err);
		else if (p->type->kind == SHADE_TYPED_STRING)
			st = shade_typed_put_str(args, *(const char *const *)
						 argv[k], p->name, err);
		else
			st = shade_typed_put(args, p->type, argv[k], err);
	}
	return st;
}

/* A stub's call; see shade/typed.h. */
shade_status shade_typed_call(shade_ref *ref, uint32_t member,
			      const shade_typed_op *op, TALLOC_CTX *mem_ctx,
			      void *const *argv, shade_error **err)
{
	static const shade_call_opts oneway = { .oneway = true };
	union {
		max_align_t align;
		char bytes[CALL_SCRATCH];
	} stack;
	shade_request *call;
	struct shade_buf *args;
	struct shade_cbor_dec *res = NULL;
	TALLOC_CTX *mem = NULL;
	char *s = stack.bytes;
	size_t total = 0, at;
	uint32_t k;
	shade_status st;

	st = shade_request_begin(ref, member, op->op, op->oneway ? &oneway :
				 NULL, &call, &args, err);
	if (st < 0)
		return st;
	for (k = 0; k < op->n; k++)
		if (op->params[k].dir != SHADE_TYPED_IN)
			total += room(op->params[k].type);
	if (op->mem || total > sizeof(stack.bytes)) {
		mem = talloc_new(call);
		if (mem == NULL)
			st = shade_error_set(err, SHADE_ERR_NOMEM,
					     "out of memory");
	}
	if (st == SHADE_OK && total > sizeof(stack.bytes)) {
		s = talloc_size(call, total); /* not adopted: on the call */
		if (s == NULL)
			st = shade_error_set(err, SHADE_ERR_NOMEM,
					     "out of memory");
	}
	if (st == SHADE_OK)
		memset(s, 0, total);
	if (st == SHADE_OK)
		st = put_args(args, op, argv, err);
	if (st == SHADE_OK)
		st = shade_request_finish(call, &res, err);
	if (st == SHADE_OK && total > 0)
		st = get_reply(mem ? mem : call, res, op, s, total, err);
	if (st == SHADE_OK && op->mem)
		st = shade_typed_adopt(mem_ctx, mem, err);
	for (k = 0, at = 0; st == SHADE_OK && k < op->n; k++) {
		if (op->params[k].dir == SHADE_TYPED_IN)
			continue;
		memcpy(argv[k], s + at, op->params[k].type->size);
		at += room(op->params[k].type);
	}
	talloc_free(call);
	if (st < 0)
		shade_error_set(err, st, "%s failed", op->name);
	return st;
}
