/*
 * idlc/gen/codecs.c - how each type travels in typed calls: the C
 * spelling of a value, the statements that put it into a buffer or get
 * it from a decoder, and the codec functions of structs and sequences.
 *
 * Wire convention (the same as for dynamic calls, doc/idl.md): the
 * arguments are the array of the in and inout parameters in order; the
 * reply is the result alone, or, when there are out/inout parameters,
 * the array [result (unless void), out and inout values in order].  A
 * struct travels as the array of its members, a sequence as the array of
 * its items.
 *
 * Types with a typed form: the basic types, strings, wchar and wstring,
 * fixed, long double, enums, any, Object,
 * interfaces, structs and sequences of them, arrays as struct members
 * (see wirable()).  The runtime side is shade/typed.h.
 */
#include <string.h>

#include "check/eval.h"
#include "gen/gen_int.h"

static int wire_of(gen *g, const idlc_type *t, const char *anon,
		   scalar *s);

/* Describe a basic type or enum; see gen_int.h. */
bool idlc_gen_basic(gen *g, const idlc_type *t, scalar *s)
{
	const idlc_type *u = idlc_type_unalias(t);
	static const struct {
		idlc_tkind k;
		scalar s;
	} table[] = {
		{ IDLC_T_BOOLEAN, { "bool", W_BOOL, NULL, NULL, NULL, false, false } },
		{ IDLC_T_CHAR, { "char", W_INT, "CHAR_MIN", "CHAR_MAX", NULL, false, false } },
		{ IDLC_T_OCTET, { "uint8_t", W_UINT, NULL, "UINT8_MAX", NULL, false, false } },
		{ IDLC_T_UINT8, { "uint8_t", W_UINT, NULL, "UINT8_MAX", NULL, false, false } },
		{ IDLC_T_INT8, { "int8_t", W_INT, "INT8_MIN", "INT8_MAX", NULL, false, false } },
		{ IDLC_T_SHORT, { "int16_t", W_INT, "INT16_MIN", "INT16_MAX", NULL, false, false } },
		{ IDLC_T_USHORT, { "uint16_t", W_UINT, NULL, "UINT16_MAX", NULL, false, false } },
		{ IDLC_T_LONG, { "int32_t", W_INT, "INT32_MIN", "INT32_MAX", NULL, false, false } },
		{ IDLC_T_ULONG, { "uint32_t", W_UINT, NULL, "UINT32_MAX", NULL, false, false } },
		{ IDLC_T_LLONG, { "int64_t", W_INT, "INT64_MIN", "INT64_MAX", NULL, false, false } },
		{ IDLC_T_ULLONG, { "uint64_t", W_UINT, NULL, "UINT64_MAX", NULL, false, false } },
		{ IDLC_T_FLOAT, { "float", W_FLOAT, NULL, NULL, NULL, false, false } },
		{ IDLC_T_DOUBLE, { "double", W_FLOAT, NULL, NULL, NULL, false, false } },
		{ IDLC_T_STRING, { "char *", W_STRING, NULL, NULL, NULL, false, false } },
		{ IDLC_T_WSTRING, { "char *", W_STRING, NULL, NULL, NULL, false, false } },
		{ IDLC_T_WCHAR, { "uint32_t", W_WCHAR, NULL, NULL, NULL, false, false } },
		{ IDLC_T_LDOUBLE, { "long double", W_LDOUBLE, NULL, NULL, NULL, false, false } },
		{ IDLC_T_ANY, { "shade_value *", W_ANY, NULL, NULL, NULL, false, false } },
		{ IDLC_T_OBJECT, { "shade_ref *", W_OBJECT, NULL, NULL, NULL, false, false } },
	};
	size_t i;

	if (u == NULL)
		return false;
	memset(s, 0, sizeof(*s));
	if (u->kind == IDLC_T_NAMED && u->ref &&
	    (u->ref->kind == IDLC_INTERFACE ||
	     (u->ref->kind == IDLC_INTERFACE_FWD && u->ref->definition))) {
		const idlc_node *d = u->ref;
		while (d->definition)
			d = d->definition;
		if (d->flags & IDLC_F_LOCAL)
			return false; /* never crosses the wire */
		s->iface = idlc_gen_c_name(g, d);
		s->c = idlc_arena_printf(g->a, "%s *", s->iface);
		s->w = W_IFACE;
		return s->c != NULL && s->iface != NULL;
	}
	if (u->kind == IDLC_T_NAMED && u->ref &&
	    u->ref->kind == IDLC_BITMASK) {
		uint64_t bits = idlc_gen_bitmask_bits(u->ref);
		s->c = idlc_gen_c_name(g, u->ref);
		s->w = W_UINT;
		s->hi = bits <= 8 ? "UINT8_MAX" : bits <= 16 ? "UINT16_MAX" :
			bits <= 32 ? "UINT32_MAX" : "UINT64_MAX";
		s->lo = idlc_arena_printf(g->a, "UINT64_C(0x%llx)",
			(unsigned long long)idlc_gen_bitmask_flags(u->ref));
		return s->c != NULL && s->lo != NULL;
	}
	if (u->kind == IDLC_T_FIXED) {
		s->c = "char *";
		s->w = W_FIXED;
		s->lo = idlc_arena_printf(g->a, "%llu",
					  (unsigned long long)u->bound);
		s->hi = idlc_arena_printf(g->a, "%llu",
					  (unsigned long long)u->scale);
		return s->lo != NULL && s->hi != NULL;
	}
	if (u->kind == IDLC_T_NAMED && u->ref && u->ref->kind == IDLC_ENUM) {
		s->c = idlc_gen_c_name(g, u->ref);
		s->w = W_INT;
		s->lo = "0";
		s->hi = "INT32_MAX";
		return s->c != NULL;
	}
	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (table[i].k == u->kind) {
			*s = table[i].s;
			if (s->w == W_STRING && u->bound) /* string<N> */
				s->hi = idlc_arena_printf(g->a, "%llu",
					(unsigned long long)u->bound);
			return s->w != W_STRING || !u->bound || s->hi;
		}
	return false;
}

/* True when buffer or decoder `name` is the skeleton's ("in", "out"). */
static bool on_server(const char *name)
{
	return strcmp(name, "in") == 0 || strcmp(name, "out") == 0;
}

/* True when buffer or decoder `name` is a codec's ("b", "d"). */
static bool in_codec(const char *name)
{
	return strcmp(name, "b") == 0 || strcmp(name, "d") == 0;
}

/* The dispatch context expression for a buffer's side (NULL in
 * client stubs). */
static const char *cx_of(const char *name)
{
	return on_server(name) || in_codec(name) ? "cx" : "NULL";
}

/* The request expression for a buffer's side (NULL on the server). */
static const char *call_of(const char *name)
{
	return on_server(name) ? "NULL" : "idl_call";
}

/* `&e` without `&*`: e is an lvalue, or `*p`. */
static char *addr(gen *g, const char *e)
{
	return e[0] == '*' ? idlc_arena_printf(g->a, "%s", e + 1)
			   : idlc_arena_printf(g->a, "&%s", e);
}

/* Put statement; see gen_int.h. */
char *idlc_gen_put(gen *g, const scalar *s, const char *b, const char *e)
{
	const char *enc = on_server(b) ? "shade_dispatch_encode_value(cx"
				       : "shade_request_encode_value(idl_call";

	switch (s->w) {
	case W_INT:
		return idlc_arena_printf(g->a, "idl_st = shade_cbor_put_int(%s, "
					 "(int64_t)%s);", b, e);
	case W_UINT:
		if (s->lo) /* a bitmask: its flags only */
			return idlc_arena_printf(g->a, "idl_st = shade_typed_put_"
						 "bits(%s, (uint64_t)%s,\n\t%s, "
						 "\"%s\", err);", b, e, s->lo,
						 s->c);
		return idlc_arena_printf(g->a, "idl_st = shade_cbor_put_uint(%s, "
					 "(uint64_t)%s);", b, e);
	case W_BOOL:
		return idlc_arena_printf(g->a, "idl_st = shade_cbor_put_bool(%s, "
					 "%s);", b, e);
	case W_FLOAT:
		return idlc_arena_printf(g->a, "idl_st = shade_cbor_put_float(%s, "
					 "(double)%s);", b, e);
	case W_WCHAR:
		return idlc_arena_printf(g->a, "idl_st = shade_typed_put_wchar(%s, "
					 "%s, err);", b, e);
	case W_FIXED:
		return idlc_arena_printf(g->a, "idl_st = shade_typed_put_fixed(%s, "
					 "%s, %s, %s, err);", b, e, s->lo, s->hi);
	case W_LDOUBLE:
		return idlc_arena_printf(g->a, "idl_st = shade_typed_put_ldouble(%s, "
					 "%s, err);", b, e);
	case W_ANY:
		if (in_codec(b)) /* either side: cx tells which */
			return idlc_arena_printf(g->a, "idl_st = %s == NULL ? "
				"shade_cbor_put_null(%s)\n\t: cx ? "
				"shade_dispatch_encode_value(cx, %s, %s, err)\n\t"
				": shade_request_encode_value(idl_call, %s, %s, "
				"err);", e, b, b, e, b, e);
		return idlc_arena_printf(g->a, "idl_st = %s ? %s, %s, %s, err)\n"
					 "\t: shade_cbor_put_null(%s);", e, enc, b,
					 e, b);
	case W_OBJECT:
		return idlc_arena_printf(g->a, "idl_st = shade_typed_put_ref(%s, "
					 "%s, %s, %s, err);", cx_of(b), call_of(b),
					 b, e);
	case W_CODEC:
		/* a pointer to an array does not convert to a pointer to a
		 * const array in C11: said with a cast */
		return idlc_arena_printf(g->a, "idl_st = idl_put_%s_(%s, %s, %s, "
					 "%s%s%s%s, err);", s->c, cx_of(b),
					 call_of(b), b, s->arr ? "(const " : "",
					 s->arr ? s->c : "", s->arr ? " *)" : "",
					 addr(g, e));
	case W_IFACE:
		return idlc_arena_printf(g->a, "idl_st = shade_typed_put_ref(%s, "
					 "%s, %s,\n\t%s ? %s->ref : NULL, err);",
					 cx_of(b), call_of(b), b, e, e);
	case W_BOX:
		if (s->value)
			return idlc_arena_printf(g->a, "idl_st = shade_typed_put_"
						 "value(%s, %s, %s, %s, &%s_INFO, "
						 "err);", cx_of(b), call_of(b),
						 b, e, s->iface);
		return idlc_arena_printf(g->a, "idl_st = %s == NULL ? "
					 "shade_cbor_put_null(%s)\n\t: idl_put_%s_("
					 "%s, %s, %s, %s, err);", e, b, s->iface,
					 cx_of(b), call_of(b), b, e);
	default:
		if (s->hi) /* string<N>: at most N characters */
			return idlc_arena_printf(g->a, "idl_st = "
				"shade_typed_put_bstr(%s, %s, %s, %s%s%s, err);", b,
				e, s->hi, on_server(b) || in_codec(b) ? "NULL" :
				"\"", on_server(b) || in_codec(b) ? "" :
				e[0] == '*' ? e + 1 : e, on_server(b) ||
				in_codec(b) ? "" : "\"");
		/* a caller's NULL is refused: IDL strings are never null */
		if (!on_server(b) && !in_codec(b))
			return idlc_arena_printf(g->a, "idl_st = "
				"shade_typed_put_str(%s, %s, \"%s\", err);", b,
				e, e[0] == '*' ? e + 1 : e);
		return idlc_arena_printf(g->a, "idl_st = shade_cbor_put_cstr(%s, "
					 "%s ? %s : \"\");", b, e, e);
	}
}

/* Get statements; see gen_int.h. */
char *idlc_gen_get(gen *g, const scalar *s, const char *d, const char *v,
		   const char *mem)
{
	switch (s->w) {
	case W_INT:
		return idlc_arena_printf(g->a, "idl_st = shade_typed_get_int(%s, "
					 "%s, %s, &idl_i, err);\n%s = (%s)idl_i;",
					 d, s->lo, s->hi, v, s->c);
	case W_UINT:
		if (s->lo) /* a bitmask: its flags only */
			return idlc_arena_printf(g->a, "idl_st = shade_typed_get_"
						 "bits(%s, %s, %s,\n\t\"%s\", "
						 "&idl_u, err);\n%s = (%s)idl_u;",
						 d, s->hi, s->lo, s->c, v, s->c);
		return idlc_arena_printf(g->a, "idl_st = shade_typed_get_uint(%s, "
					 "%s, &idl_u, err);\n%s = (%s)idl_u;", d,
					 s->hi, v, s->c);
	case W_BOOL:
		return idlc_arena_printf(g->a, "idl_st = shade_cbor_read_bool(%s, "
					 "%s, err);", d, addr(g, v));
	case W_FLOAT:
		return idlc_arena_printf(g->a, "idl_st = shade_cbor_read_float(%s, "
					 "&idl_f, err);\n%s = (%s)idl_f;", d, v,
					 s->c);
	case W_WCHAR:
		return idlc_arena_printf(g->a, "idl_st = shade_typed_get_wchar(%s, "
					 "%s, err);", d, addr(g, v));
	case W_FIXED:
		return idlc_arena_printf(g->a, "idl_st = shade_typed_get_fixed(%s, "
					 "%s, %s, %s, %s, err);", mem, d, s->lo,
					 s->hi, addr(g, v));
	case W_LDOUBLE:
		return idlc_arena_printf(g->a, "idl_st = shade_cbor_read_float(%s, "
					 "&idl_f, err);\n%s = (long double)idl_f;",
					 d, v);
	case W_ANY:
		if (in_codec(d)) /* either side: cx tells which */
			return idlc_arena_printf(g->a, "idl_st = cx ? "
				"shade_dispatch_decode_value(cx, %s, %s, err)\n"
				"\t: shade_request_decode_value(%s, idl_call, %s, "
				"%s, err);", d, addr(g, v), mem, d, addr(g, v));
		if (on_server(d))
			return idlc_arena_printf(g->a, "idl_st = "
				"shade_dispatch_decode_value(cx, %s, %s, err);",
				d, addr(g, v));
		return idlc_arena_printf(g->a, "idl_st = shade_request_decode_value("
			"%s, idl_call, %s,\n\t%s, err);", mem, d, addr(g, v));
	case W_OBJECT:
		if (in_codec(d)) /* the reference belongs to mem */
			return idlc_arena_printf(g->a, "idl_st = "
				"shade_typed_get_ref_on(cx, idl_call, %s, %s,\n\t"
				"%s, err);", mem, d, addr(g, v));
		return idlc_arena_printf(g->a, "idl_st = shade_typed_get_ref(%s, "
					 "%s, %s, %s, err);", cx_of(d), call_of(d),
					 d, addr(g, v));
	case W_CODEC:
		return idlc_arena_printf(g->a, "idl_st = idl_get_%s_(%s, %s, %s, "
					 "%s, %s, err);", s->c, cx_of(d),
					 call_of(d), mem, d, addr(g, v));
	case W_BOX:
		if (s->value)
			return idlc_arena_printf(g->a, "{\n\tvoid *idl_p = NULL;\n\n"
				"\tidl_st = shade_typed_get_value(%s, %s, %s, %s, "
				"&%s_INFO,\n\t\t\t\t       &idl_p, err);\n\t%s = "
				"idl_p;\n}", cx_of(d), call_of(d), mem, d, s->iface,
				v);
		return idlc_arena_printf(g->a, "if (shade_cbor_at_null(%s)) {\n"
			"\tidl_st = shade_cbor_read_null(%s, err);\n\t%s = NULL;\n"
			"} else {\n\t%s = talloc_zero(%s, %s);\n\tidl_st = %s == NULL ?"
			" shade_error_set(err, SHADE_ERR_NOMEM, \"out of memory\")\n"
			"\t\t: idl_get_%s_(%s, %s, %s, %s, %s, err);\n}", d, d, v, v,
			mem, s->iface, v, s->iface, cx_of(d), call_of(d), mem, d,
			v);
	case W_IFACE:
		return idlc_arena_printf(g->a, "idl_st = shade_typed_get_ref(%s, "
					 "%s, %s, &idl_r, err);\nif (idl_st == "
					 "SHADE_OK && idl_r != NULL)\n\tidl_st = "
					 "%s_narrow(%s, idl_r, %s, err);\n"
					 "shade_ref_release(idl_r);\nidl_r = NULL;",
					 cx_of(d), call_of(d), d, s->iface, mem,
					 addr(g, v));
	default:
		if (s->hi) /* string<N> */
			return idlc_arena_printf(g->a, "idl_st = "
				"shade_typed_get_bstr(%s, %s, %s, %s, err);", mem, d,
				s->hi, addr(g, v));
		return idlc_arena_printf(g->a, "idl_st = shade_cbor_read_text_dup("
					 "%s, %s, %s, NULL, err);", mem, d,
					 addr(g, v));
	}
}

/* "T name" for an in parameter; see gen_int.h. */
char *idlc_gen_in_decl(gen *g, const scalar *s, const char *name)
{
	if (s->w == W_STRING || s->w == W_FIXED)
		return idlc_arena_printf(g->a, "const char *%s", name);
	if (s->w == W_ANY)
		return idlc_arena_printf(g->a, "const shade_value *%s", name);
	if (s->w == W_OBJECT || s->w == W_IFACE || s->w == W_LOCAL)
		return idlc_arena_printf(g->a, "%s%s", s->c, name);
	if (s->w == W_CODEC)
		return idlc_arena_printf(g->a, "const %s *%s", s->c, name);
	if (s->w == W_BOX)
		return idlc_arena_printf(g->a, "const %s *%s", s->iface, name);
	return idlc_arena_printf(g->a, "%s %s", s->c, name);
}

/* True when the C type is a pointer ("char *"). */
static bool is_pointer(const scalar *s)
{
	return s->w == W_STRING || s->w == W_FIXED || s->w == W_ANY ||
	       s->w == W_OBJECT || s->w == W_IFACE || s->w == W_LOCAL ||
	       s->w == W_BOX;
}

/* Store a local; see gen_int.h. */
char *idlc_gen_store(gen *g, const scalar *s, const char *out,
		     const char *local)
{
	if (s->arr)
		return idlc_arena_printf(g->a, "memcpy(%s, &%s, sizeof(%s));",
					 out, local, local);
	return idlc_arena_printf(g->a, "*%s = %s;", out, local);
}

/* Does decoding allocate; see gen_int.h. */
bool idlc_gen_allocates(const scalar *s)
{
	return s->w == W_STRING || s->w == W_FIXED || s->w == W_ANY ||
	       s->w == W_CODEC || s->w == W_IFACE || s->w == W_BOX;
}

/* Whether a value of type t may hold a valuetype value; seen holds
 * the *n declarations (of cap) already looked at in this query. */
static bool holds_value(const idlc_type *t, const idlc_node **seen,
			size_t *n, size_t cap)
{
	const idlc_node *d, *m;
	size_t i;

	for (; t && t->kind != IDLC_T_NAMED; t = t->elem)
		if (t->kind == IDLC_T_VALUEBASE)
			return true;
	d = t ? idlc_gen_defn(t->decl ? t->decl : t->ref) : NULL;
	if (d == NULL)
		return false;
	if (d->kind == IDLC_VALUETYPE || d->kind == IDLC_VALUE_FWD)
		return true;
	for (i = 0; i < *n && seen[i] != d; i++)
		;
	if (i < *n) /* looked at already, or on the way (recursion) */
		return false;
	if (*n == cap)
		return true; /* too many to tell: say it may */
	seen[(*n)++] = d;
	if (d->kind == IDLC_TYPEDEF || d->kind == IDLC_VALUE_BOX)
		return holds_value(d->type, seen, n, cap);
	if (d->kind != IDLC_STRUCT && d->kind != IDLC_UNION)
		return false;
	for (i = 0; i < d->n_bases; i++)
		if (d->base_nodes[i] && d->base_nodes[i]->kind == IDLC_STRUCT) {
			idlc_type b = { .kind = IDLC_T_NAMED,
					.ref = d->base_nodes[i] };
			if (holds_value(&b, seen, n, cap))
				return true;
		}
	for (m = d->children; m; m = m->next)
		if (m->type && holds_value(m->type, seen, n, cap))
			return true;
	return false;
}

/* May it hold a valuetype value; see gen_int.h. */
bool idlc_gen_holds_value(const idlc_type *t)
{
	const idlc_node *seen[256];
	size_t n = 0;

	return holds_value(t, seen, &n, sizeof(seen) / sizeof(seen[0]));
}

/* "T *name" for an out parameter; see gen_int.h. */
char *idlc_gen_out_decl(gen *g, const scalar *s, const char *name)
{
	return idlc_arena_printf(g->a, "%s%s*%s", s->c,
				 is_pointer(s) ? "" : " ", name);
}

/* A zeroed local; see gen_int.h. */
char *idlc_gen_local(gen *g, const scalar *s, const char *name)
{
	return idlc_arena_printf(g->a, "%s%s%s = %s;", s->c,
				 is_pointer(s) ? "" : " ", name,
				 s->w == W_CODEC ? "{ 0 }" :
				 is_pointer(s) ? "NULL" : "0");
}

/* Claim the codec of `name`: 0 when it is to be generated now, 1 when
 * it already was (or is being: recursive types), -1 on out of memory.
 * Callers check wirable() first, so every codec started is finished. */
static int codec_begin(gen *g, const char *name)
{
	return idlc_gen_once(g, idlc_arena_printf(g->a, "codec %s", name));
}

/* " SHADE_UNUSED" after parameter `name` when `body` does not use it. */
static const char *unused(const char *body, const char *name)
{
	return idlc_gen_uses(body, name) ? "" : " SHADE_UNUSED";
}

/* Record the codec functions of type `name`: put and get are their
 * bodies (declarations first, then statements, one tab in). */
static int push_codec(gen *g, const char *name, const char *put,
		      const char *get)
{
	idlc_tv *o = idlc_tv_obj(g->a);
	const char *pp = idlc_arena_printf(g->a, "static inline shade_status "
		"idl_put_%s_(shade_dispatch_ctx *cx,\n\tshade_request *idl_call, "
		"struct shade_buf *b, const %s *v,\n\tshade_error **err)", name,
		name);
	const char *gp = idlc_arena_printf(g->a, "static inline shade_status "
		"idl_get_%s_(shade_dispatch_ctx *cx,\n\tshade_request *idl_call, "
		"TALLOC_CTX *mem_ctx, struct shade_cbor_dec *d,\n\t%s *v, "
		"shade_error **err)", name, name);
	const char *pd = idlc_arena_printf(g->a, "static inline shade_status "
		"idl_put_%s_(shade_dispatch_ctx *cx%s,\n\tshade_request *idl_call%s, "
		"struct shade_buf *b, const %s *v%s,\n\tshade_error **err%s)",
		name, unused(put, "cx"), unused(put, "idl_call"), name,
		unused(put, "v"), unused(put, "err"));
	const char *gd = idlc_arena_printf(g->a, "static inline shade_status "
		"idl_get_%s_(shade_dispatch_ctx *cx%s,\n\tshade_request *idl_call%s, "
		"TALLOC_CTX *mem_ctx%s, struct shade_cbor_dec *d,\n\t%s *v%s, "
		"shade_error **err)", name, unused(get, "cx"),
		unused(get, "idl_call"), unused(get, "mem_ctx"), name,
		unused(get, "v"));

	if (o == NULL || pp == NULL || gp == NULL || pd == NULL || gd == NULL ||
	    idlc_tv_set_str(o, "name", "%s", name) < 0 ||
	    idlc_tv_set_str(o, "proto", "%s;\n%s;\n", pp, gp) < 0 ||
	    idlc_tv_set_str(o, "code", "\n/* Encode a %s. */\n%s\n{\n%s}\n\n"
			    "/* Decode a %s (memory on mem_ctx). */\n%s\n{\n"
			    "%s%s}\n", name, pd, put, name, gd,
			    idlc_gen_temps(g, get), get) < 0)
		return -1;
	return idlc_tv_push(g->codecs, o);
}

/* Most array dimensions of a struct member handled. */
#define MAX_DIMS 8

/* The element type of t once its array dimensions (through typedefs)
 * are taken off; their sizes, outermost first, in dims[0..*nd).  NULL
 * when there are more than MAX_DIMS. */
static const idlc_type *strip_array(const idlc_type *t, uint64_t *dims,
				    int *nd)
{
	const idlc_type *u;

	*nd = 0;
	while ((u = idlc_type_unalias(t)) != NULL && u->kind == IDLC_T_ARRAY) {
		if (*nd == MAX_DIMS)
			return NULL;
		dims[(*nd)++] = u->bound;
		t = u->elem;
	}
	return t;
}

/* Put (put: true) or get statements of f, an array of dimensions
 * dims[0..nd) of s: nested CBOR arrays, loops over the indexes idl_a[]
 * declared first; in a block of its own when `block`. */
static char *array_stmts(gen *g, const scalar *s, const char *f,
			 const uint64_t *dims, int nd, bool put, bool block)
{
	char *out = idlc_arena_printf(g->a, "size_t idl_a[%d];\n\n", nd);
	char *lv = idlc_arena_printf(g->a, "%s", f);
	int k;

	for (k = 0; k < nd && out && lv; k++) {
		char *head = put ? idlc_arena_printf(g->a, "if (idl_st == "
			"SHADE_OK)\n\tidl_st = shade_cbor_put_array(b, %llu);\n",
			(unsigned long long)dims[k]) : idlc_arena_printf(g->a,
			"if (idl_st == SHADE_OK)\n\tidl_st = "
			"shade_typed_get_array(d, %llu, err);\n",
			(unsigned long long)dims[k]);

		head = idlc_arena_append(g->a, head, "for (idl_a[%d] = 0; idl_st "
			"== SHADE_OK && idl_a[%d] < %llu; idl_a[%d]++) {\n",
			k, k, (unsigned long long)dims[k], k);
		out = idlc_arena_append(g->a, out, "%s",
					idlc_gen_indent(g, head, k));
		lv = idlc_arena_append(g->a, lv, "[idl_a[%d]]", k);
	}
	if (out == NULL || lv == NULL)
		return NULL;
	out = idlc_arena_append(g->a, out, "%s", idlc_gen_indent(g, put ?
				idlc_gen_put(g, s, "b", lv) :
				idlc_gen_get(g, s, "d", lv, "mem_ctx"), nd));
	for (k = nd; k-- > 0 && out;)
		out = idlc_arena_append(g->a, out, "%.*s}\n", k,
					"\t\t\t\t\t\t\t\t\t\t");
	if (out == NULL || !block)
		return out;
	return idlc_arena_printf(g->a, "{\n%s}\n", idlc_gen_indent(g, out, 1));
}

/* Append the put and get statements of field f of type s (a member of
 * a struct, a bitfield) to *put and *get, one tab in. */
static void add_field(gen *g, const scalar *s, const char *f, char **put,
		      char **get)
{
	*put = idlc_arena_append(g->a, *put, "\tif (idl_st == SHADE_OK)\n%s",
				 idlc_gen_indent(g, idlc_gen_put(g, s, "b", f),
						 2));
	*get = idlc_arena_append(g->a, *get, "\tif (idl_st == SHADE_OK) {\n"
				 "%s\t}\n", idlc_gen_indent(g, idlc_gen_get(g,
				 s, "d", f, "mem_ctx"), 2));
}

/* The base struct of struct st, or NULL. */
static const idlc_node *base_struct(const idlc_node *st)
{
	return st->n_bases > 0 ? idlc_gen_defn(st->base_nodes[0]) : NULL;
}

/* The concrete base valuetype of valuetype v, or NULL (none, or only
 * abstract ones, which have no state). */
static const idlc_node *value_base(const idlc_node *v)
{
	const idlc_node *b = v->n_bases > 0 ?
			     idlc_gen_defn(v->base_nodes[0]) : NULL;

	return b && b->kind == IDLC_VALUETYPE &&
	       !(b->flags & IDLC_F_ABSTRACT) ? b : NULL;
}

/* True when m is a member that travels with its declaration: any
 * member of a struct or union, a state member of a valuetype. */
static bool travels(const idlc_node *d, const idlc_node *m)
{
	return d->kind != IDLC_VALUETYPE || m->kind == IDLC_STATE_MEMBER;
}

/* Append the put and get statements of the members of struct st,
 * reached through `prefix` ("v->", "v->_base."), to *put and *get: its
 * base's members first; *n counts them.  Returns 0 or -1. */
static int struct_fields(gen *g, const idlc_node *st, const char *prefix,
			 char **put, char **get, size_t *n)
{
	const char *name = idlc_gen_c_name(g, st);
	const idlc_node *m, *base = st->kind == IDLC_VALUETYPE ?
				    value_base(st) : base_struct(st);

	if (name == NULL || (base && struct_fields(g, base,
			idlc_arena_printf(g->a, "%s_base.", prefix), put, get,
			n) < 0))
		return -1;
	for (m = st->children; m; m = m->next) {
		scalar ms;
		uint64_t dims[MAX_DIMS];
		int nd, r;
		const idlc_type *et;
		const char *f;

		if (!travels(st, m))
			continue;
		(*n)++;
		et = strip_array(m->type, dims, &nd);
		f = idlc_arena_printf(g->a, "%s%s", prefix,
				      idlc_gen_ident(g, m->name));
		r = et ? wire_of(g, et, idlc_arena_printf(g->a,
				 "%s_%s_seq", name, m->name), &ms) : 0;
		if (r <= 0) /* wirable() said it was: out of memory */
			return -1;
		if (nd > 0) {
			*put = idlc_arena_append(g->a, *put, "%s", idlc_gen_indent(g,
				array_stmts(g, &ms, f, dims, nd, true, true), 1));
			*get = idlc_arena_append(g->a, *get, "%s", idlc_gen_indent(g,
				array_stmts(g, &ms, f, dims, nd, false, true), 1));
			continue;
		}
		add_field(g, &ms, f, put, get);
	}
	return *put && *get ? 0 : -1;
}

/* How bitfield m travels: an integer of its width in the type written
 * (or the smallest unsigned type holding it), a boolean for a boolean
 * bitfield.  False when the type written has no typed form. */
static bool bitfield_scalar(gen *g, const idlc_node *m, scalar *s)
{
	uint64_t w = (uint64_t)m->value.i;

	memset(s, 0, sizeof(*s));
	if (m->type != NULL && !idlc_gen_basic(g, m->type, s))
		return false;
	if (m->type == NULL) {
		s->c = idlc_gen_uint_of(w);
		s->w = W_UINT;
	}
	if (s->w == W_UINT)
		s->hi = w >= 64 ? "UINT64_MAX" : idlc_arena_printf(g->a,
			"UINT64_C(%llu)", (unsigned long long)((1ULL << w) - 1));
	else if (s->w == W_INT && w < 64) {
		s->lo = idlc_arena_printf(g->a, "INT64_C(-%llu)",
					  (unsigned long long)(1ULL << (w - 1)));
		s->hi = idlc_arena_printf(g->a, "INT64_C(%llu)",
				(unsigned long long)((1ULL << (w - 1)) - 1));
	}
	return s->w == W_UINT || s->w == W_INT || s->w == W_BOOL;
}

/* Append the put and get statements of the named bitfields of bitset
 * bs, reached through `prefix`, to *put and *get: its base's first; *n
 * counts them.  Returns 0 or -1. */
static int bitset_fields(gen *g, const idlc_node *bs, const char *prefix,
			 char **put, char **get, size_t *n)
{
	const idlc_node *m, *base = bs->n_bases > 0 ?
		idlc_gen_defn(bs->base_nodes[0]) : NULL;

	if (base && bitset_fields(g, base, idlc_arena_printf(g->a,
				  "%s_base.", prefix), put, get, n) < 0)
		return -1;
	for (m = bs->children; m; m = m->next) {
		scalar ms;
		const char *f;
		if (m->name == NULL) /* padding */
			continue;
		f = idlc_arena_printf(g->a, "%s%s", prefix,
				      idlc_gen_ident(g, m->name));
		if (!bitfield_scalar(g, m, &ms) || f == NULL)
			return -1;
		(*n)++;
		add_field(g, &ms, f, put, get);
	}
	return *put && *get ? 0 : -1;
}

/* The statements of the fields of n reached through a prefix ("v->"),
 * appended to *put and *get, counted in *n: struct_fields or
 * bitset_fields. */
typedef int (*fields_fn)(gen *g, const idlc_node *n, const char *prefix,
			 char **put, char **get, size_t *count);

/* ---------------------------------------------------------------- tables */

/* Push C text `code` (a table) to the codecs section. */
static int push_table(gen *g, const char *name, const char *code)
{
	idlc_tv *o = idlc_tv_obj(g->a);

	if (o == NULL || code == NULL ||
	    idlc_tv_set_str(o, "name", "%s", name) < 0 ||
	    idlc_tv_set_str(o, "proto", "%s", "") < 0 ||
	    idlc_tv_set_str(o, "code", "%s", code) < 0)
		return -1;
	return idlc_tv_push(g->codecs, o);
}

/* The table (a shade_typed_type) of the values of s, emitted once: its
 * name, or NULL when s has none (a reference, a codec generated as
 * functions, an array) or on out of memory. */
static const char *type_table(gen *g, const scalar *s)
{
	const char *base = s->c, *init;
	char *name, *key;
	size_t i;
	int r;

	switch (s->w) {
	case W_INT:
		init = idlc_arena_printf(g->a, "SHADE_TYPED_INT_OF(%s, %s, %s)",
					 s->c, s->lo, s->hi);
		break;
	case W_UINT:
		init = s->lo ? idlc_arena_printf(g->a, "SHADE_TYPED_BITS_OF(%s, "
						 "%s, %s)", s->c, s->hi, s->lo)
		       : idlc_arena_printf(g->a, "SHADE_TYPED_UINT_OF(%s, %s)",
					   s->c, s->hi);
		break;
	case W_BOOL:
		init = "SHADE_TYPED_BOOL_OF";
		break;
	case W_FLOAT:
		init = idlc_arena_printf(g->a, "SHADE_TYPED_FLOAT_OF(%s)", s->c);
		break;
	case W_STRING:
		init = s->hi ? idlc_arena_printf(g->a, "SHADE_TYPED_BSTRING_OF(%s)",
						 s->hi) : "SHADE_TYPED_STRING_OF";
		base = s->hi ? idlc_arena_printf(g->a, "string%s", s->hi) :
		       "string";
		break;
	case W_CODEC:
		key = idlc_arena_printf(g->a, "table %s", s->c);
		if (s->arr || key == NULL || !idlc_gen_has(g, key))
			return NULL;
		return idlc_arena_printf(g->a, "idl_%s_type_", s->c);
	default:
		return NULL;
	}
	name = idlc_arena_printf(g->a, "idl_%s_type_", base);
	if (name == NULL || init == NULL)
		return NULL;
	for (i = 0; name[i]; i++)
		if (name[i] == ' ')
			name[i] = '_';
	r = idlc_gen_once(g, idlc_arena_printf(g->a, "table %s", base));
	if (r < 0 || (r == 0 && push_table(g, name, idlc_arena_printf(g->a,
		"static const shade_typed_type %s SHADE_UNUSED =\n\t%s;\n", name,
		init)) < 0))
		return NULL;
	return name;
}

/* The table of a codec's type `name` (its initializer `init`, and the
 * fields `fields` before it when not NULL) and the macros that stand
 * for its codec functions. */
static int push_type_table(gen *g, const char *name, const char *what,
			   const char *fields, const char *init)
{
	if (idlc_gen_once(g, idlc_arena_printf(g->a, "table %s", name)) < 0)
		return -1;
	return push_table(g, name, idlc_arena_printf(g->a, "\n/* How a %s "
		"travels: %s. */\n%sstatic const shade_typed_type idl_%s_type_ "
		"SHADE_UNUSED =\n\t%s;\n#define idl_put_%s_(cx, call, b, v, err) "
		"((void)(cx), (void)(call), \\\n\tshade_typed_put(b, "
		"&idl_%s_type_, v, err))\n#define idl_get_%s_(cx, call, mem, d, v, "
		"err) ((void)(cx), (void)(call), \\\n\tshade_typed_get(mem, d, "
		"&idl_%s_type_, v, err))\n", name, what, fields ? fields : "",
		name, init, name, name, name, name));
}

/* Append the table entries of the fields of struct st (through
 * `prefix`, "" or "_base.") to *out, its base's first; *n counts them.
 * 1 when all have a table, 0 when one has none, -1 on out of memory. */
static int table_fields(gen *g, const idlc_node *st, const char *top,
			const char *prefix, char **out, size_t *n)
{
	const char *name = idlc_gen_c_name(g, st);
	const idlc_node *m, *base = base_struct(st);
	int r;

	if (name == NULL)
		return -1;
	if (base) {
		r = table_fields(g, base, top, idlc_arena_printf(g->a,
				 "%s_base.", prefix), out, n);
		if (r <= 0)
			return r;
	}
	for (m = st->children; m; m = m->next) {
		scalar ms;
		uint64_t dims[MAX_DIMS];
		int nd;
		const idlc_type *et = strip_array(m->type, dims, &nd);
		const char *t;

		if (et == NULL || nd > 0)
			return 0;
		r = wire_of(g, et, idlc_arena_printf(g->a, "%s_%s_seq", name,
			    m->name), &ms);
		if (r <= 0)
			return r < 0 ? -1 : 0;
		t = type_table(g, &ms);
		if (t == NULL)
			return 0;
		*out = idlc_arena_append(g->a, *out, "\t{ offsetof(%s, %s%s), "
					 "&%s },\n", top, prefix,
					 idlc_gen_ident(g, m->name), t);
		(*n)++;
	}
	return *out ? 1 : -1;
}

/* Struct or exception st (C name `name`) as a table when all its fields
 * have one: 1 when emitted, 0 when not, -1 on out of memory. */
static int struct_table(gen *g, const idlc_node *st, const char *name)
{
	char *fields = idlc_arena_printf(g->a, "%s", "");
	size_t n = 0;
	int r;

	if ((st->kind != IDLC_STRUCT && st->kind != IDLC_EXCEPTION) ||
	    g->comp->opts.no_tables)
		return 0;
	r = fields ? table_fields(g, st, name, "", &fields, &n) : -1;
	if (r <= 0 || n == 0)
		return r;
	return push_type_table(g, name, "the array of its fields",
		idlc_arena_printf(g->a, "static const shade_typed_field "
				  "idl_%s_fields_[] = {\n%s};\n", name, fields),
		idlc_arena_printf(g->a, "SHADE_TYPED_STRUCT_OF(%s, "
				  "idl_%s_fields_)", name, name)) < 0 ? -1 : 1;
}

/* Sequence t (C name `name`, items es) as a table when its items have
 * one: 1 when emitted, 0 when not, -1 on out of memory. */
static int sequence_table(gen *g, const idlc_type *t, const char *name,
			  const scalar *es)
{
	const char *item = g->comp->opts.no_tables ? NULL :
			   type_table(g, es);

	if (item == NULL)
		return 0;
	return push_type_table(g, name, "the array of its items", NULL,
		idlc_arena_printf(g->a, "SHADE_TYPED_SEQ_OF(%s, %s, %llu)", name,
				  item, (unsigned long long)t->bound)) < 0 ?
		-1 : 1;
}

/* Codec of a struct, exception, bitset or valuetype n (C name `name`):
 * the array of the fields `fields` lists, in order (a valuetype's state
 * without the array head).  Returns 1 when available, -1 on out of
 * memory. */
static int fields_codec(gen *g, const idlc_node *n, const char *name,
			fields_fn fields)
{
	char *put = idlc_arena_printf(g->a, "%s", "");
	char *get = idlc_arena_printf(g->a, "%s", "");
	bool value = n->kind == IDLC_VALUETYPE;
	size_t count = 0;
	int once = codec_begin(g, name);

	if (once != 0)
		return once < 0 ? -1 : 1;
	if (fields == struct_fields) {
		int r = struct_table(g, n, name);
		if (r != 0)
			return r;
	}
	if (put == NULL || get == NULL ||
	    fields(g, n, "v->", &put, &get, &count) < 0)
		return -1;
	/* a value's state goes without an array head: the runtime writes
	 * and reads `[ids, state]` around it */
	put = idlc_arena_printf(g->a, "\tshade_status idl_st = %s%s;\n\n%s"
				"\treturn idl_st;\n", value ? "SHADE_OK" :
				"shade_cbor_put_array(b, ", value ? "" :
				idlc_arena_printf(g->a, "%zu)", count),
				value && count == 0 ? "\t(void)b;\n\t(void)err;"
				"\n" : put);
	get = idlc_arena_printf(g->a, "\tshade_status idl_st = %s%s;\n\n%s"
				"\treturn idl_st;\n", value ? "SHADE_OK" :
				"shade_typed_get_array(d, ", value ? "" :
				idlc_arena_printf(g->a, "%zu, err)", count),
				value && count == 0 ? "\t(void)d;\n\t(void)err;"
				"\n" : get);
	if (put == NULL || get == NULL || push_codec(g, name, put, get) < 0)
		return -1;
	return 1;
}

/* The condition selecting case c of a union: its labels compared with
 * v->_d of type dt, one a line (NULL for a case with only `default`). */
static char *case_cond(gen *g, const idlc_type *dt, const idlc_node *c)
{
	const idlc_label *l;
	char *cond = NULL;

	for (l = c->labels; l; l = l->next) {
		if (l->expr == NULL)
			continue;
		cond = cond ? idlc_arena_append(g->a, cond, " ||\n\t    ")
			    : idlc_arena_printf(g->a, "%s", "");
		cond = cond ? idlc_arena_append(g->a, cond, "v->_d == %s",
				idlc_gen_c_value(g, dt, &l->value)) : NULL;
	}
	return cond;
}

/* Put (put: true) or get statements of union case c (C name of the
 * union `name`): its member, arrays included; no indentation.  NULL on
 * out of memory. */
static char *case_stmts(gen *g, const idlc_node *c, const char *name,
			bool put)
{
	uint64_t dims[MAX_DIMS];
	int nd;
	const idlc_type *et = strip_array(c->type, dims, &nd);
	const char *f = idlc_arena_printf(g->a, "v->_u.%s",
					  idlc_gen_ident(g, c->name));
	scalar ms;

	/* wirable() said it was: a failure is out of memory */
	if (et == NULL || wire_of(g, et, idlc_arena_printf(g->a, "%s_%s_seq",
				  name, c->name), &ms) <= 0 || f == NULL)
		return NULL;
	if (nd > 0)
		return array_stmts(g, &ms, f, dims, nd, put, false);
	return put ? idlc_gen_put(g, &ms, "b", f)
		   : idlc_gen_get(g, &ms, "d", f, "mem_ctx");
}

/* The end of a union codec: `code` as the else branch when there were
 * cases (`chain`), alone otherwise; then the return. */
static char *else_part(gen *g, bool chain, const char *code)
{
	if (code == NULL)
		return NULL;
	if (chain)
		return idlc_arena_printf(g->a, "\t} else {\n%s\t}\n\treturn "
					 "idl_st;\n", idlc_gen_indent(g, code, 2));
	return idlc_arena_printf(g->a, "%s\treturn idl_st;\n",
				 idlc_gen_indent(g, code, 1));
}

/* Codec of union un (C name `name`): the array [discriminator, value of
 * the member it selects], value null when it selects none.  Returns 1
 * when available, -1 on out of memory. */
static int union_codec(gen *g, const idlc_node *un, const char *name)
{
	const idlc_node *c, *dflt = NULL;
	char *put, *get, *cond, *cp, *cg;
	const char *kw = "if";
	scalar ds;
	int once = codec_begin(g, name);

	if (once != 0)
		return once < 0 ? -1 : 1;
	if (!idlc_gen_basic(g, un->type, &ds))
		return -1;
	put = idlc_arena_printf(g->a, "\tshade_status idl_st = "
		"shade_cbor_put_array(b, 2);\n\n\tif (idl_st == SHADE_OK)\n%s"
		"\tif (idl_st != SHADE_OK)\n\t\treturn idl_st;\n",
		idlc_gen_indent(g, idlc_gen_put(g, &ds, "b", "v->_d"), 2));
	get = idlc_arena_printf(g->a, "\tshade_status idl_st = "
		"shade_typed_get_array(d, 2, err);\n\n\tif (idl_st == SHADE_OK) "
		"{\n%s\t}\n\tif (idl_st != SHADE_OK)\n\t\treturn idl_st;\n",
		idlc_gen_indent(g, idlc_gen_get(g, &ds, "d", "v->_d", "mem_ctx"),
				2));
	for (c = un->children; c && put && get; c = c->next) {
		if (c->flags & IDLC_F_DEFAULT_CASE)
			dflt = c;
		cond = case_cond(g, un->type, c);
		if (cond == NULL)
			continue;
		cp = idlc_gen_indent(g, case_stmts(g, c, name, true), 2);
		cg = idlc_gen_indent(g, case_stmts(g, c, name, false), 2);
		if (cp == NULL || cg == NULL)
			return -1;
		put = idlc_arena_append(g->a, put, "\t%s (%s) {\n%s", kw, cond,
					cp);
		get = idlc_arena_append(g->a, get, "\t%s (%s) {\n%s", kw, cond,
					cg);
		kw = "} else if";
	}
	if (put == NULL || get == NULL)
		return -1;
	/* the default case, or no member: null */
	put = idlc_arena_append(g->a, put, "%s", else_part(g, kw[0] == '}',
		dflt ? case_stmts(g, dflt, name, true) :
		"idl_st = shade_cbor_put_null(b);"));
	get = idlc_arena_append(g->a, get, "%s", else_part(g, kw[0] == '}',
		dflt ? case_stmts(g, dflt, name, false) :
		"idl_st = shade_cbor_read_null(d, err);"));
	if (put == NULL || get == NULL || push_codec(g, name, put, get) < 0)
		return -1;
	return 1;
}

/* Codec of array typedef t (C name `name`): nested arrays, outermost
 * dimension first, like an array member of a struct. */
static int array_codec(gen *g, const idlc_type *t, const char *name)
{
	uint64_t dims[MAX_DIMS];
	int nd;
	const idlc_type *et = strip_array(t, dims, &nd);
	char *put, *get;
	scalar es;
	int r = codec_begin(g, name);

	if (r != 0)
		return r < 0 ? -1 : 1;
	/* wirable() said it was: a failure is out of memory */
	if (et == NULL || wire_of(g, et, idlc_arena_printf(g->a, "%s_seq",
				  name), &es) <= 0)
		return -1;
	put = idlc_arena_printf(g->a, "\tshade_status idl_st = SHADE_OK;\n%s"
		"\treturn idl_st;\n", idlc_gen_indent(g, array_stmts(g, &es,
		"(*v)", dims, nd, true, false), 1));
	get = idlc_arena_printf(g->a, "\tshade_status idl_st = SHADE_OK;\n%s"
		"\treturn idl_st;\n", idlc_gen_indent(g, array_stmts(g, &es,
		"(*v)", dims, nd, false, false), 1));
	if (put == NULL || get == NULL || push_codec(g, name, put, get) < 0)
		return -1;
	return 1;
}

/* The start of a sequence or map decoder: its declarations, the head
 * read by `reader` into idl_n, checked against UINT32_MAX and the bound
 * of t (`what` says what is counted in the error). */
static char *count_head(gen *g, const char *reader, const idlc_type *t,
			const char *name, const char *what)
{
	char *bound = t->bound ? idlc_arena_printf(g->a, " ||\n\t    idl_n > "
				 "%llu", (unsigned long long)t->bound)
			       : idlc_arena_printf(g->a, "%s", "");

	return idlc_arena_printf(g->a, "\tuint64_t idl_n = 0;\n\tuint64_t "
		"idl_k;\n\tshade_status idl_st = %s(d, &idl_n, err);\n\n\tif "
		"(idl_st < 0)\n\t\treturn idl_st;\n\tif (idl_n == "
		"SHADE_CBOR_INDEFINITE || idl_n > UINT32_MAX%s)\n\t\treturn "
		"shade_error_set(err, SHADE_ERR_LIMIT,\n\t\t\t\t\t\"%s: too many "
		"%s\");\n", reader, bound, name, what);
}

/* Codec of map type t (C name `name`, struct `st`, which names its
 * anonymous key and value types): a CBOR map of its entries in order,
 * keys[i] to values[i]. */
static int map_codec(gen *g, const idlc_type *t, const char *name,
		     const char *st)
{
	char *put, *get;
	scalar ks, vs;
	int r = codec_begin(g, name);

	if (r != 0)
		return r < 0 ? -1 : 1;
	/* wirable() said they were: a failure is out of memory */
	if (wire_of(g, t->key, idlc_arena_printf(g->a, "%s_key", st),
		    &ks) <= 0 ||
	    wire_of(g, t->elem, idlc_arena_printf(g->a, "%s_value", st),
		    &vs) <= 0)
		return -1;
	put = idlc_arena_printf(g->a, "\tuint32_t idl_k;\n\tshade_status idl_st ="
		" shade_cbor_put_map(b, v->len);\n\n\tfor (idl_k = 0; idl_st == "
		"SHADE_OK && idl_k < v->len; idl_k++) {\n%s\t\tif (idl_st == "
		"SHADE_OK)\n%s\t}\n\treturn idl_st;\n",
		idlc_gen_indent(g, idlc_gen_put(g, &ks, "b", "v->keys[idl_k]"), 2),
		idlc_gen_indent(g, idlc_gen_put(g, &vs, "b", "v->values[idl_k]"),
				3));
	get = idlc_arena_printf(g->a, "%s\tv->len = (uint32_t)idl_n;\n"
		"\tv->keys = NULL;\n\tv->values = NULL;\n\tif (idl_n > 0) {\n"
		"\t\tv->keys = talloc_zero_array(mem_ctx, %s, idl_n);\n"
		"\t\tv->values = talloc_zero_array(mem_ctx, %s, idl_n);\n"
		"\t\tif (v->keys == NULL || v->values == NULL)\n\t\t\treturn "
		"shade_error_set(err, SHADE_ERR_NOMEM,\n\t\t\t\t\t\t"
		"\"out of memory\");\n\t}\n\tfor (idl_k = 0; idl_st == SHADE_OK && "
		"idl_k < idl_n; idl_k++) {\n%s\t\tif (idl_st == SHADE_OK) {\n%s"
		"\t\t}\n\t}\n\treturn idl_st;\n", count_head(g,
		"shade_cbor_read_map", t, name, "entries"), ks.c, vs.c,
		idlc_gen_indent(g, idlc_gen_get(g, &ks, "d", "v->keys[idl_k]",
						"mem_ctx"), 2),
		idlc_gen_indent(g, idlc_gen_get(g, &vs, "d", "v->values[idl_k]",
						"mem_ctx"), 3));
	if (put == NULL || get == NULL || push_codec(g, name, put, get) < 0)
		return -1;
	return 1;
}

/* Codec of boxed valuetype bx (C name `name`): the form of its value
 * (null is handled where a box is put or got: the pointer). */
static int box_codec(gen *g, const idlc_node *bx, const char *name)
{
	char *put, *get;
	scalar es;
	int r = codec_begin(g, name);

	if (r != 0)
		return r < 0 ? -1 : 1;
	/* wirable() said it was: a failure is out of memory */
	if (wire_of(g, bx->type, idlc_arena_printf(g->a, "%s_value_seq",
				  name), &es) <= 0)
		return -1;
	put = idlc_arena_printf(g->a, "\tshade_status idl_st;\n\n%s"
		"\treturn idl_st;\n", idlc_gen_indent(g, idlc_gen_put(g, &es,
		"b", "v->value"), 1));
	get = idlc_arena_printf(g->a, "\tshade_status idl_st;\n\n%s"
		"\treturn idl_st;\n", idlc_gen_indent(g, idlc_gen_get(g, &es,
		"d", "v->value", "mem_ctx"), 1));
	if (put == NULL || get == NULL || push_codec(g, name, put, get) < 0)
		return -1;
	return 1;
}

/* Codec of sequence type t (C name `name`): an array of its items. */
static int sequence_codec(gen *g, const idlc_type *t, const char *name)
{
	char *put, *get;
	scalar es;
	int r = codec_begin(g, name);

	if (r != 0)
		return r < 0 ? -1 : 1;
	r = wire_of(g, t->elem, idlc_arena_printf(g->a, "%s_elem", name), &es);
	if (r <= 0) /* wirable() said it was: out of memory */
		return -1;
	r = sequence_table(g, t, name, &es);
	if (r != 0)
		return r;
	put = idlc_arena_printf(g->a, "\tuint32_t idl_k;\n\tshade_status idl_st ="
		" shade_cbor_put_array(b, v->len);\n\n\tfor (idl_k = 0; idl_st == "
		"SHADE_OK && idl_k < v->len; idl_k++)\n%s\treturn idl_st;\n",
		idlc_gen_indent(g, idlc_gen_put(g, &es, "b", "v->items[idl_k]"),
				2));
	get = idlc_arena_printf(g->a, "%s\tv->len = (uint32_t)idl_n;\n"
		"\tv->items = NULL;\n\tif (idl_n > 0) {\n\t\tv->items = "
		"talloc_zero_array(mem_ctx, %s, idl_n);\n\t\tif (v->items == NULL)"
		"\n\t\t\treturn shade_error_set(err, SHADE_ERR_NOMEM,\n\t\t\t\t\t\t"
		"\"out of memory\");\n\t}\n\tfor (idl_k = 0; idl_st == SHADE_OK && "
		"idl_k < idl_n; idl_k++) {\n%s\t}\n\treturn idl_st;\n", count_head(g,
		"shade_typed_read_seq", t, name, "items"),
		es.c, idlc_gen_indent(g, idlc_gen_get(g, &es, "d",
		"v->items[idl_k]", "mem_ctx"), 2));
	if (put == NULL || get == NULL || push_codec(g, name, put, get) < 0)
		return -1;
	return 1;
}

static bool can_wire(gen *g, const idlc_type *t, const idlc_node **stack,
		     int depth, bool plain);

/* True when struct or union d has a typed form: its discriminator, its
 * members (arrays of them too) and its base struct's members do;
 * stack[0..depth) are the types being looked into (a type met again is
 * a recursion through a sequence: fine). */
static bool can_wire_decl(gen *g, const idlc_node *d,
			  const idlc_node **stack, int depth, bool plain)
{
	const idlc_node *m, *base = d->kind == IDLC_STRUCT ? base_struct(d)
			   : d->kind == IDLC_VALUETYPE ? value_base(d) : NULL;
	scalar s;
	int i;

	if (depth > 32)
		return false;
	for (i = 0; i < depth; i++)
		if (stack[i] == d)
			return true;
	stack[depth] = d;
	if (d->kind == IDLC_UNION && !idlc_gen_basic(g, d->type, &s))
		return false;
	if (d->kind == IDLC_VALUETYPE) {
		/* a custom value marshals itself: no typed form */
		if ((d->flags & (IDLC_F_ABSTRACT | IDLC_F_CUSTOM)) ||
		    (base && !can_wire_decl(g, base, stack, depth + 1, plain)))
			return false;
	} else if (d->n_bases > 0 && (base == NULL ||
		   base->kind != IDLC_STRUCT || !can_wire_decl(g, base, stack,
							       depth + 1,
							       plain))) {
		return false;
	}
	for (m = d->children; m; m = m->next) {
		uint64_t dims[MAX_DIMS];
		int nd;
		const idlc_type *et;

		if (!travels(d, m))
			continue;
		et = strip_array(m->type, dims, &nd);
		if (et == NULL || idlc_find_annotation(m, "external") ||
		    !can_wire(g, et, stack, depth + 1, plain))
			return false;
	}
	return true;
}

/* True when every named bitfield of bitset d (and of its base) has a
 * typed form. */
static bool can_wire_bitset(gen *g, const idlc_node *d)
{
	const idlc_node *m;
	scalar s;
	int depth;

	for (depth = 0; d && depth < 32; depth++) {
		for (m = d->children; m; m = m->next)
			if (m->name && !bitfield_scalar(g, m, &s))
				return false;
		d = d->n_bases > 0 ? idlc_gen_defn(d->base_nodes[0]) : NULL;
	}
	return d == NULL;
}

/* True when t has a typed form: basic types, strings, enums, any,
 * Object, interfaces, structs and unions (see can_wire_decl()), arrays
 * and sequences of them; when `plain`, none holding a reference (any,
 * Object, interfaces).  stack[0..depth) are the types being looked
 * into. */
static bool can_wire(gen *g, const idlc_type *t, const idlc_node **stack,
		     int depth, bool plain)
{
	const idlc_type *u = idlc_type_unalias(t);
	const idlc_node *d;
	scalar s;
	int i;

	if (u == NULL || depth > 32)
		return false;
	if (u->kind == IDLC_T_SEQUENCE)
		return can_wire(g, u->elem, stack, depth, plain);
	if (u->kind == IDLC_T_MAP)
		return can_wire(g, u->key, stack, depth, plain) &&
		       can_wire(g, u->elem, stack, depth, plain);
	if (u->kind == IDLC_T_ARRAY) {
		uint64_t dims[MAX_DIMS];
		int nd;
		const idlc_type *et = strip_array(u, dims, &nd);
		return et != NULL && can_wire(g, et, stack, depth, plain);
	}
	if (u->kind == IDLC_T_NAMED && u->ref) {
		d = idlc_gen_defn(u->ref);
		if (d->kind == IDLC_STRUCT || d->kind == IDLC_UNION ||
		    d->kind == IDLC_VALUETYPE)
			return can_wire_decl(g, d, stack, depth, plain);
		if (d->kind == IDLC_BITSET)
			return can_wire_bitset(g, d);
		if (d->kind == IDLC_VALUE_BOX) {
			for (i = 0; i < depth; i++)
				if (stack[i] == d)
					return true;
			stack[depth] = d;
			return can_wire(g, d->type, stack, depth + 1, plain);
		}
	}
	if (!idlc_gen_basic(g, u, &s))
		return false;
	return !plain || (s.w != W_ANY && s.w != W_OBJECT && s.w != W_IFACE);
}

/* can_wire() from the top. */
static bool wirable(gen *g, const idlc_type *t)
{
	const idlc_node *stack[34];

	return can_wire(g, t, stack, 0, false);
}

/* How type t travels in a typed stub: 1 and *s filled, or 0 when it has
 * no typed form yet, or -1 on out of memory.  `anon` names the C type of
 * an anonymous sequence (emitted into the header when needed). */
static int wire_of(gen *g, const idlc_type *t, const char *anon, scalar *s)
{
	const idlc_type *u = t;
	const char *name;
	bool arr = false;
	int r;

	if (anon == NULL)
		return -1;
	while (u->kind == IDLC_T_NAMED && u->ref &&
	       u->ref->kind == IDLC_TYPEDEF) {
		if (u->ref->type->kind == IDLC_T_SEQUENCE) {
			name = idlc_gen_c_name(g, u->ref);
			r = sequence_codec(g, u->ref->type, name);
			goto codec;
		}
		if (u->ref->type->kind == IDLC_T_MAP) {
			/* the typedef names the map struct `<typedef>_seq` */
			name = idlc_gen_c_name(g, u->ref);
			r = map_codec(g, u->ref->type, name,
				      idlc_arena_printf(g->a, "%s_seq", name));
			goto codec;
		}
		if (u->ref->type->kind == IDLC_T_ARRAY) {
			name = idlc_gen_c_name(g, u->ref);
			r = array_codec(g, u->ref->type, name);
			arr = true;
			goto codec;
		}
		u = u->ref->type;
	}
	if (u->kind == IDLC_T_NAMED && u->ref) {
		const idlc_node *d = u->ref;
		while (d->definition)
			d = d->definition;
		if (d->kind == IDLC_VALUE_BOX) {
			name = idlc_gen_c_name(g, d);
			r = name ? box_codec(g, d, name) : -1;
			if (r <= 0)
				return -1;
			memset(s, 0, sizeof(*s));
			s->iface = name;
			s->c = idlc_arena_printf(g->a, "%s *", name);
			s->w = W_BOX;
			return s->c ? 1 : -1;
		}
		if (d->kind == IDLC_VALUETYPE) {
			name = idlc_gen_c_name(g, d);
			if (name == NULL ||
			    fields_codec(g, d, name, struct_fields) < 0)
				return -1;
			memset(s, 0, sizeof(*s));
			s->iface = name;
			s->c = idlc_arena_printf(g->a, "%s *", name);
			s->w = W_BOX;
			s->value = true;
			return s->c ? 1 : -1;
		}
		if (d->kind == IDLC_STRUCT || d->kind == IDLC_UNION ||
		    d->kind == IDLC_BITSET) {
			name = idlc_gen_c_name(g, d);
			r = d->kind == IDLC_STRUCT ?
			    fields_codec(g, d, name, struct_fields) :
			    d->kind == IDLC_UNION ? union_codec(g, d, name) :
			    fields_codec(g, d, name, bitset_fields);
			goto codec;
		}
	}
	if (u->kind == IDLC_T_SEQUENCE) {
		name = anon;
		if (idlc_gen_sequence(g, anon, u, "") < 0)
			return -1;
		r = sequence_codec(g, u, name);
		goto codec;
	}
	if (u->kind == IDLC_T_MAP) {
		name = anon;
		if (idlc_gen_map(g, anon, u) < 0)
			return -1;
		r = map_codec(g, u, name, name);
		goto codec;
	}
	return idlc_gen_basic(g, u, s) ? 1 : 0;
codec:
	if (r <= 0 || name == NULL)
		return name ? r : -1;
	memset(s, 0, sizeof(*s));
	s->c = name;
	s->w = W_CODEC;
	s->arr = arr;
	return 1;
}

/* Codec of the fields of an exception; see gen_int.h. */
int idlc_gen_fields_codec(gen *g, const idlc_node *n)
{
	const idlc_node *stack[34];
	bool plain = can_wire_decl(g, n, stack, 0, true);
	int r;

	if (!plain && !can_wire_decl(g, n, stack, 0, false))
		return 0;
	r = fields_codec(g, n, idlc_gen_c_name(g, n), struct_fields);
	return r <= 0 ? r : plain ? 1 : 2;
}

/* State codec of valuetype n; see gen_int.h. */
int idlc_gen_value_codec(gen *g, const idlc_node *n)
{
	const idlc_node *stack[34];

	if (!can_wire_decl(g, n, stack, 0, false))
		return 0;
	return fields_codec(g, n, idlc_gen_c_name(g, n), struct_fields);
}

/* How a type travels; see gen_int.h. */
int idlc_gen_wire(gen *g, const idlc_type *t, const char *anon, scalar *s)
{
	return wirable(g, t) ? wire_of(g, t, anon, s) : 0;
}

/* How an operation's values travel; see gen_int.h. */
int idlc_gen_wire_op(gen *g, const char *iface, const idlc_node *op,
		     wire_op *w)
{
	const idlc_node *q;
	size_t i;
	int r;

	memset(w, 0, sizeof(*w));
	w->has_result = op->type->kind != IDLC_T_VOID;
	/* check everything first: codecs are generated only when used */
	if (w->has_result && !wirable(g, op->type))
		return 1;
	for (q = op->children, i = 0; q; q = q->next, i++)
		if (i == IDLC_MAX_PARAMS || !wirable(g, q->type))
			return 1;
	if (w->has_result) {
		r = wire_of(g, op->type, idlc_arena_printf(g->a,
			    "%s_%s_result_seq", iface, op->name), &w->rs);
		if (r <= 0)
			return r < 0 ? -1 : 1;
		w->mem |= idlc_gen_allocates(&w->rs);
		w->chunk = idlc_gen_chunk(g, op, &w->rs);
		w->share = idlc_gen_holds_value(op->type);
	}
	for (q = op->children, i = 0; q; q = q->next, i++) {
		r = wire_of(g, q->type, idlc_arena_printf(g->a, "%s_%s_%s_seq",
			    iface, op->name, q->name), &w->ps[i]);
		if (r <= 0)
			return r < 0 ? -1 : 1;
		w->ident[i] = idlc_gen_ident(g, q->name);
		w->dir[i] = q->dir;
		w->types[i] = q->type;
		w->byref[i] = q->dir == IDLC_DIR_IN && w->ps[i].w == W_CODEC &&
			      !w->ps[i].arr &&
			      (idlc_type_unalias(q->type)->kind ==
			       IDLC_T_SEQUENCE || idlc_gen_struct_of(q->type)) &&
			      idlc_find_annotation(q, "byref") != NULL;
		w->share |= idlc_gen_holds_value(q->type);
		w->n_in += q->dir != IDLC_DIR_OUT;
		w->n_out += q->dir != IDLC_DIR_IN;
		if (q->dir != IDLC_DIR_IN && idlc_gen_allocates(&w->ps[i]))
			w->mem = true;
	}
	w->n = i;
	return 0;
}

/* The struct behind t; see gen_int.h. */
const idlc_node *idlc_gen_struct_of(const idlc_type *t)
{
	const idlc_node *d;

	t = idlc_type_unalias(t);
	if (t->kind != IDLC_T_NAMED || t->ref == NULL)
		return NULL;
	d = idlc_gen_defn(t->ref);
	return d->kind == IDLC_STRUCT ? d : NULL;
}

/* The server side of @byref parameters; see gen_int.h. */
void idlc_gen_byref_server(wire_op *w)
{
	static const scalar obj = { "shade_ref *", W_OBJECT, NULL, NULL,
				    NULL, false, false };
	size_t i;

	for (i = 0; i < w->n; i++)
		if (w->byref[i])
			w->ps[i] = obj;
}

/* @chunk(N) of m; see gen_int.h. */
const char *idlc_gen_chunk(gen *g, const idlc_node *m, const scalar *s)
{
	static const idlc_type t_ulong = { .kind = IDLC_T_ULONG };
	const idlc_annotation *a = idlc_find_annotation(m, "chunk");
	const idlc_type *t = m->type ? idlc_type_unalias(m->type) : NULL;
	idlc_scope *scope = g->comp->root_scope;
	const idlc_node *p;
	idlc_value v;

	if (a == NULL || a->params == NULL || s->w != W_CODEC || t == NULL ||
	    t->kind != IDLC_T_SEQUENCE)
		return NULL;
	for (p = m->parent; p; p = p->parent)
		if (p->scope) {
			scope = p->scope;
			break;
		}
	/* checked (1..2^32-1) before generation */
	if (idlc_eval(g->comp, scope, a->params->value, &t_ulong, &v) < 0 ||
	    v.kind != IDLC_V_INT || v.i < 1 || v.i > UINT32_MAX)
		return NULL;
	return idlc_arena_printf(g->a, "%llu", (unsigned long long)v.i);
}

/* The table of an operation's values; see gen_int.h. */
int idlc_gen_op_table(gen *g, const char *name, const char *stub,
		      const char *op, bool oneway, const wire_op *w)
{
	static const char *const dirs[] = {
		[IDLC_DIR_IN] = "SHADE_TYPED_IN",
		[IDLC_DIR_OUT] = "SHADE_TYPED_OUT",
		[IDLC_DIR_INOUT] = "SHADE_TYPED_INOUT",
	};
	char *params = idlc_arena_printf(g->a, "%s", "");
	const char *t;
	size_t i;
	int r;

	/* only scalars: generated code is as small and faster (measured,
	 * doc/performance.md "Generated code: tables") */
	for (i = 0; i < w->n && w->ps[i].w != W_CODEC; i++)
		;
	if (w->chunk || g->comp->opts.no_tables ||
	    (i == w->n && (!w->has_result || w->rs.w != W_CODEC)))
		return 0;
	for (i = 0; params && i < w->n; i++) {
		t = w->byref[i] ? NULL : type_table(g, &w->ps[i]);
		if (t == NULL)
			return 0;
		params = idlc_arena_append(g->a, params, "\t{ \"%s\", %s, &%s },"
					   "\n", w->ident[i], dirs[w->dir[i]], t);
	}
	if (params && w->has_result) {
		t = type_table(g, &w->rs);
		if (t == NULL)
			return 0;
		params = idlc_arena_append(g->a, params, "\t{ \"result\", "
					   "SHADE_TYPED_RESULT, &%s },\n", t);
	}
	if (params == NULL)
		return -1;
	r = idlc_gen_once(g, idlc_arena_printf(g->a, "table %s", name));
	if (r != 0)
		return r < 0 ? -1 : 1;
	return push_table(g, name, idlc_arena_printf(g->a, "\n/* How the "
		"values of %s travel. */\n%s%s%sstatic const shade_typed_op "
		"%s = {\n\t\"%s\", %s, %s, %s,\n\t%zu, %zu, %zu, %s%s\n};\n", stub,
		w->n + w->has_result ? "static const shade_typed_param " : "",
		w->n + w->has_result ? idlc_arena_printf(g->a, "%sparams_[] = "
			"{\n%s};\n", name, params) : "", "", name, stub, op,
		oneway ? "true" : "false", w->mem ? "true" : "false",
		w->n + w->has_result, w->n_in, w->n_out,
		w->n + w->has_result ? name : "NULL",
		w->n + w->has_result ? "params_" : "")) < 0 ? -1 : 1;
}
