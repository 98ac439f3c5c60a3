/*
 * idlc/gen/gen_stubs.c - typed client stubs, skeletons and narrow functions.
 *
 * Per interface I the header gets:
 *
 *   struct I { shade_ref *ref; uint32_t map[N]; }   a typed reference
 *   I_narrow(mem_ctx, ref, &typed, &err)            structural check
 *   I_op(self, [mem_ctx,] args..., [&result,] &err) one stub per operation
 *   I_get_a / I_set_a                               per attribute
 *   I_impl                                          function pointers
 *   I_serve(impl, self, &ref, &err)                 a local typed object
 *
 * Stubs write arguments straight into the request with the CBOR item
 * functions and read results straight from the reply; skeletons do the
 * reverse (no intermediate dynamic values).  Wire convention (the same
 * as for dynamic calls, doc/idl.md): the arguments are the array of the
 * in and inout parameters in order; the reply is the result alone, or,
 * when there are out/inout parameters, the array [result (unless void),
 * out and inout values in order].
 *
 * Types with a typed stub: the basic types, strings, enums, any, Object,
 * interfaces, structs and sequences of the non-reference ones, arrays as
 * struct members (see wirable()).  A member using any other type keeps
 * its place in the shape (the dynamic API reaches it) and gets a comment
 * instead of a stub.  mem_ctx is a parameter only where something
 * allocated comes back.  The operations of a base interface are shared
 * with the interfaces that inherit them (op_member()).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "gen/gen_int.h"

/* How a scalar travels. */
typedef enum wire_class {
	W_INT,    /* signed integer or enum: CBOR int */
	W_UINT,   /* unsigned integer: CBOR uint */
	W_BOOL,   /* boolean */
	W_FLOAT,  /* float, double */
	W_STRING, /* string: text */
	W_ANY,    /* any: a dynamic value, references included */
	W_OBJECT, /* Object: a reference */
	W_CODEC,  /* struct or sequence: generated codec functions */
	W_IFACE   /* interface: a reference, narrowed on arrival */
} wire_class;

/* A scalar type's C spelling and wire form. */
typedef struct scalar {
	const char *c;    /* C type ("int32_t", "char *", "bank_Kind") */
	wire_class w;     /* wire form */
	const char *lo;   /* W_INT: smallest value */
	const char *hi;   /* W_INT, W_UINT: largest value */
	const char *iface;/* W_IFACE: the interface's C name */
} scalar;

/* Describe a basic type or enum; false when t is none of those. */
static bool basic_of(gen *g, const idlc_type *t, scalar *s)
{
	const idlc_type *u = idlc_type_unalias(t);
	static const struct {
		idlc_tkind k;
		scalar s;
	} table[] = {
		{ IDLC_T_BOOLEAN, { "bool", W_BOOL, NULL, NULL, NULL } },
		{ IDLC_T_CHAR, { "char", W_INT, "CHAR_MIN", "CHAR_MAX", NULL } },
		{ IDLC_T_OCTET, { "uint8_t", W_UINT, NULL, "UINT8_MAX", NULL } },
		{ IDLC_T_UINT8, { "uint8_t", W_UINT, NULL, "UINT8_MAX", NULL } },
		{ IDLC_T_INT8, { "int8_t", W_INT, "INT8_MIN", "INT8_MAX", NULL } },
		{ IDLC_T_SHORT, { "int16_t", W_INT, "INT16_MIN", "INT16_MAX", NULL } },
		{ IDLC_T_USHORT, { "uint16_t", W_UINT, NULL, "UINT16_MAX", NULL } },
		{ IDLC_T_LONG, { "int32_t", W_INT, "INT32_MIN", "INT32_MAX", NULL } },
		{ IDLC_T_ULONG, { "uint32_t", W_UINT, NULL, "UINT32_MAX", NULL } },
		{ IDLC_T_LLONG, { "int64_t", W_INT, "INT64_MIN", "INT64_MAX", NULL } },
		{ IDLC_T_ULLONG, { "uint64_t", W_UINT, NULL, "UINT64_MAX", NULL } },
		{ IDLC_T_FLOAT, { "float", W_FLOAT, NULL, NULL, NULL } },
		{ IDLC_T_DOUBLE, { "double", W_FLOAT, NULL, NULL, NULL } },
		{ IDLC_T_STRING, { "char *", W_STRING, NULL, NULL, NULL } },
		{ IDLC_T_ANY, { "shade_value *", W_ANY, NULL, NULL, NULL } },
		{ IDLC_T_OBJECT, { "shade_ref *", W_OBJECT, NULL, NULL, NULL } },
	};
	size_t i;

	if (u == NULL)
		return false;
	if (u->kind == IDLC_T_NAMED && u->ref &&
	    (u->ref->kind == IDLC_INTERFACE ||
	     (u->ref->kind == IDLC_INTERFACE_FWD && u->ref->definition))) {
		const idlc_node *d = u->ref;
		while (d->definition)
			d = d->definition;
		s->iface = idlc_gen_c_name(g, d);
		s->c = idlc_arena_printf(g->a, "%s *", s->iface);
		s->w = W_IFACE;
		s->lo = s->hi = NULL;
		return s->c != NULL && s->iface != NULL;
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
			return true;
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

/* Statement putting expression e of type s into buffer b. */
static char *put_stmt(gen *g, const scalar *s, const char *b, const char *e)
{
	const char *enc = on_server(b) ? "shade_dispatch_encode_value(cx"
				       : "shade_request_encode_value(idl_call";

	switch (s->w) {
	case W_INT:
		return idlc_arena_printf(g->a, "idl_st = shade_cbor_put_int(%s, "
					 "(int64_t)(%s));", b, e);
	case W_UINT:
		return idlc_arena_printf(g->a, "idl_st = shade_cbor_put_uint(%s, "
					 "(uint64_t)(%s));", b, e);
	case W_BOOL:
		return idlc_arena_printf(g->a, "idl_st = shade_cbor_put_bool(%s, "
					 "%s);", b, e);
	case W_FLOAT:
		return idlc_arena_printf(g->a, "idl_st = shade_cbor_put_float(%s, "
					 "(double)(%s));", b, e);
	case W_ANY:
		if (in_codec(b)) /* either side: cx tells which */
			return idlc_arena_printf(g->a, "idl_st = !(%s) ? "
				"shade_cbor_put_null(%s) : cx ?\n\t\t\t"
				"shade_dispatch_encode_value(cx, %s, (%s), err) :"
				"\n\t\t\tshade_request_encode_value(idl_call, "
				"%s, (%s), err);", e, b, b, e, b, e);
		return idlc_arena_printf(g->a, "idl_st = (%s) ? %s, %s, (%s), "
					 "err) : shade_cbor_put_null(%s);", e, enc,
					 b, e, b);
	case W_OBJECT:
		g->need_ref = true;
		return idlc_arena_printf(g->a, "idl_st = idl_put_ref_(%s, %s, "
					 "%s, %s, err);", cx_of(b), call_of(b), b,
					 e);
	case W_CODEC:
		return idlc_arena_printf(g->a, "idl_st = idl_put_%s_(%s, %s, %s, "
					 "&(%s), err);", s->c, cx_of(b),
					 call_of(b), b, e);
	case W_IFACE:
		g->need_ref = true;
		return idlc_arena_printf(g->a, "idl_st = idl_put_ref_(%s, %s, "
					 "%s, (%s) ? (%s)->ref : NULL, err);",
					 cx_of(b), call_of(b), b, e, e);
	default:
		return idlc_arena_printf(g->a, "idl_st = shade_cbor_put_cstr(%s, "
					 "(%s) ? (%s) : \"\");", b, e, e);
	}
}

/* Statement reading from decoder d into lvalue v (strings and values on
 * mem; references with one count). */
static char *get_stmt(gen *g, const scalar *s, const char *d, const char *v,
		      const char *mem)
{
	switch (s->w) {
	case W_INT:
		g->need_int = true;
		return idlc_arena_printf(g->a, "idl_st = idl_get_int_(%s, %s, %s, "
					 "&idl_i, err); %s = (%s)idl_i;", d, s->lo,
					 s->hi, v, s->c);
	case W_UINT:
		g->need_uint = true;
		return idlc_arena_printf(g->a, "idl_st = idl_get_uint_(%s, %s, "
					 "&idl_u, err); %s = (%s)idl_u;", d, s->hi, v,
					 s->c);
	case W_BOOL:
		return idlc_arena_printf(g->a, "idl_st = shade_cbor_read_bool(%s, "
					 "&%s, err);", d, v);
	case W_FLOAT:
		return idlc_arena_printf(g->a, "idl_st = shade_cbor_read_float(%s, "
					 "&idl_f, err); %s = (%s)idl_f;", d, v, s->c);
	case W_ANY:
		if (in_codec(d)) /* either side: cx tells which */
			return idlc_arena_printf(g->a, "idl_st = cx ? "
				"shade_dispatch_decode_value(cx, %s, &%s, err)\n"
				"\t\t\t: shade_request_decode_value(%s, idl_call, "
				"%s, &%s, err);", d, v, mem, d, v);
		if (on_server(d))
			return idlc_arena_printf(g->a, "idl_st = "
				"shade_dispatch_decode_value(cx, %s, &%s, err);",
				d, v);
		return idlc_arena_printf(g->a, "idl_st = "
			"shade_request_decode_value(%s, idl_call, %s, &%s, err);",
			mem, d, v);
	case W_OBJECT:
		if (in_codec(d)) { /* the reference belongs to mem */
			g->need_ref_on = true;
			return idlc_arena_printf(g->a, "idl_st = idl_get_ref_on_("
				"cx, idl_call, %s, %s, &%s, err);", mem, d, v);
		}
		g->need_ref = true;
		return idlc_arena_printf(g->a, "idl_st = idl_get_ref_(%s, %s, %s, "
					 "&%s, err);", cx_of(d), call_of(d), d, v);
	case W_CODEC:
		return idlc_arena_printf(g->a, "idl_st = idl_get_%s_(%s, %s, %s, "
					 "%s, &(%s), err);", s->c, cx_of(d),
					 call_of(d), mem, d, v);
	case W_IFACE:
		g->need_ref = true;
		return idlc_arena_printf(g->a, "idl_st = idl_get_ref_(%s, %s, %s, "
					 "&idl_r, err);\n\t\tif (idl_st == SHADE_OK "
					 "&& idl_r != NULL)\n\t\t\tidl_st = "
					 "%s_narrow(%s, idl_r, &%s, err);\n\t\t"
					 "shade_ref_release(idl_r);\n\t\tidl_r = "
					 "NULL;", cx_of(d), call_of(d), d,
					 s->iface, mem, v);
	default:
		return idlc_arena_printf(g->a, "idl_st = shade_cbor_read_text_dup("
					 "%s, %s, &%s, NULL, err);", mem, d, v);
	}
}

/* "T name" for an in parameter (strings and values as const). */
static char *in_decl(gen *g, const scalar *s, const char *name)
{
	if (s->w == W_STRING)
		return idlc_arena_printf(g->a, "const char *%s", name);
	if (s->w == W_ANY)
		return idlc_arena_printf(g->a, "const shade_value *%s", name);
	if (s->w == W_OBJECT || s->w == W_IFACE)
		return idlc_arena_printf(g->a, "%s%s", s->c, name);
	if (s->w == W_CODEC)
		return idlc_arena_printf(g->a, "const %s *%s", s->c, name);
	return idlc_arena_printf(g->a, "%s %s", s->c, name);
}

/* True when the C type is a pointer ("char *"). */
static bool is_pointer(const scalar *s)
{
	return s->w == W_STRING || s->w == W_ANY || s->w == W_OBJECT ||
	       s->w == W_IFACE;
}

/* True when decoding the type allocates (a mem_ctx is needed). */
static bool comes_with_memory(const scalar *s)
{
	return s->w == W_STRING || s->w == W_ANY || s->w == W_CODEC ||
	       s->w == W_IFACE;
}

/* Initializer of a local of the type. */
static const char *zero(const scalar *s)
{
	return s->w == W_CODEC ? "{ 0 }" : "0";
}

/* "T *name" for an out parameter. */
static char *out_decl(gen *g, const scalar *s, const char *name)
{
	return idlc_arena_printf(g->a, "%s%s*%s", s->c,
				 is_pointer(s) ? "" : " ", name);
}

static int wire_of(gen *g, const idlc_type *t, const char *anon,
		   scalar *s);
static const char *temps(gen *g, const char *code, const char *indent);

/* Claim the codec of `name`: 0 when it is to be generated now, 1 when
 * it already was (or is being: recursive types), -1 on out of memory.
 * Callers check wirable() first, so every codec started is finished. */
static int codec_begin(gen *g, const char *name)
{
	const char *key = idlc_arena_printf(g->a, "codec %s", name);

	return key ? idlc_gen_once(g, key) : -1;
}

/* Record the codec functions `code` (their prototypes in `proto`). */
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

	if (o == NULL || pp == NULL || gp == NULL ||
	    idlc_tv_set_str(o, "name", "%s", name) < 0 ||
	    idlc_tv_set_str(o, "proto", "%s;\n%s;\n", pp, gp) < 0 ||
	    idlc_tv_set_str(o, "code", "\n/* Encode a %s. */\n%s\n{\n%s}\n\n"
			    "/* Decode a %s (memory on mem_ctx). */\n%s\n{\n"
			    "%s\n\t(void)cx;\n\t(void)idl_call;\n"
			    "\t(void)mem_ctx;\n%s}\n", name, pp, put, name, gp,
			    temps(g, get, "\t"), get) < 0)
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

/* Put (put: true) or get statements of struct member f, an array of
 * dimensions dims[0..nd) of s: nested CBOR arrays, loops over the
 * indexes idl_a[]. */
static char *array_stmts(gen *g, const scalar *s, const char *f,
			 const uint64_t *dims, int nd, bool put)
{
	char *out = idlc_arena_printf(g->a, "\t{\n\t\tsize_t idl_a[%d];\n\n",
				      nd);
	char *lv = idlc_arena_printf(g->a, "%s", f), *tabs;
	int k;

	for (k = 0; k < nd && out && lv; k++) {
		tabs = idlc_arena_printf(g->a, "%.*s", k + 2, "\t\t\t\t\t\t\t\t\t\t");
		out = idlc_arena_append(g->a, out, put ? "%sif (idl_st == SHADE_OK)"
			"\n%s\tidl_st = shade_cbor_put_array(b, %llu);\n" :
			"%sif (idl_st == SHADE_OK)\n%s\tidl_st = idl_get_array_(d, "
			"%llu, err);\n", tabs, tabs, (unsigned long long)dims[k]);
		out = idlc_arena_append(g->a, out, "%sfor (idl_a[%d] = 0; idl_st "
			"== SHADE_OK && idl_a[%d] < %llu; idl_a[%d]++) {\n", tabs,
			k, k, (unsigned long long)dims[k], k);
		lv = idlc_arena_append(g->a, lv, "[idl_a[%d]]", k);
	}
	if (out == NULL || lv == NULL)
		return NULL;
	tabs = idlc_arena_printf(g->a, "%.*s", nd + 2, "\t\t\t\t\t\t\t\t\t\t\t");
	out = idlc_arena_append(g->a, out, "%s%s\n", tabs, put ?
				put_stmt(g, s, "b", lv) :
				get_stmt(g, s, "d", lv, "mem_ctx"));
	for (k = nd; k-- > 0 && out;)
		out = idlc_arena_append(g->a, out, "%.*s}\n", k + 2,
					"\t\t\t\t\t\t\t\t\t\t");
	return idlc_arena_append(g->a, out, "\t}\n");
}

/* Codec of struct st (C name `name`): an array of its members in order.
 * Returns 1 when available, 0 when a member has no typed form, -1. */
static int struct_codec(gen *g, const idlc_node *st, const char *name)
{
	char *put, *get;
	const idlc_node *m;
	size_t n = 0;
	int once = codec_begin(g, name);

	if (once != 0)
		return once < 0 ? -1 : 1;
	for (m = st->children; m; m = m->next)
		n++;
	g->need_array = true;
	put = idlc_arena_printf(g->a, "\tshade_status idl_st = "
				"shade_cbor_put_array(b, %zu);\n\n\t(void)cx;\n"
				"\t(void)idl_call;\n\t(void)err;\n", n);
	get = idlc_arena_printf(g->a, "\tshade_status idl_st = "
				"idl_get_array_(d, %zu, err);\n\n", n);
	for (m = st->children; m; m = m->next) {
		scalar ms;
		uint64_t dims[MAX_DIMS];
		int nd;
		const idlc_type *et = strip_array(m->type, dims, &nd);
		const char *f = idlc_arena_printf(g->a, "v->%s",
						  idlc_gen_ident(g, m->name));
		int r = et ? wire_of(g, et, idlc_arena_printf(g->a,
				     "%s_%s_seq", name, m->name), &ms) : 0;
		if (r <= 0) /* wirable() said it was: out of memory */
			return -1;
		if (nd > 0) {
			put = idlc_arena_append(g->a, put, "%s", array_stmts(g,
						&ms, f, dims, nd, true));
			get = idlc_arena_append(g->a, get, "%s", array_stmts(g,
						&ms, f, dims, nd, false));
			continue;
		}
		put = idlc_arena_append(g->a, put, "\tif (idl_st == SHADE_OK)\n"
					"\t\t%s\n", put_stmt(g, &ms, "b", f));
		get = idlc_arena_append(g->a, get, "\tif (idl_st == SHADE_OK) {"
					"\n\t\t%s\n\t}\n",
					get_stmt(g, &ms, "d", f, "mem_ctx"));
	}
	put = idlc_arena_append(g->a, put, "\treturn idl_st;\n");
	get = idlc_arena_append(g->a, get, "\treturn idl_st;\n");
	if (put == NULL || get == NULL || push_codec(g, name, put, get) < 0)
		return -1;
	return 1;
}

/* Codec of sequence type t (C name `name`): an array of its items. */
static int sequence_codec(gen *g, const idlc_type *t, const char *name)
{
	char *put, *get, *bound;
	scalar es;
	int r = codec_begin(g, name);

	if (r != 0)
		return r < 0 ? -1 : 1;
	r = wire_of(g, t->elem, idlc_arena_printf(g->a, "%s_elem", name), &es);
	if (r <= 0) /* wirable() said it was: out of memory */
		return -1;
	g->need_seq = true;
	bound = t->bound ? idlc_arena_printf(g->a, " || idl_n > %llu",
					     (unsigned long long)t->bound)
			 : idlc_arena_printf(g->a, "%s", "");
	put = idlc_arena_printf(g->a, "\tuint32_t idl_k;\n\tshade_status idl_st ="
		" shade_cbor_put_array(b, v->len);\n\n\t(void)cx;\n"
		"\t(void)idl_call;\n\t(void)err;\n\tfor (idl_k = 0; idl_st == SHADE_OK && "
		"idl_k < v->len; idl_k++)\n\t\t%s\n\treturn idl_st;\n",
		put_stmt(g, &es, "b", "v->items[idl_k]"));
	get = idlc_arena_printf(g->a, "\tuint64_t idl_n = 0, idl_k;\n"
		"\tshade_status idl_st = idl_read_seq_(d, &idl_n, err);\n"
		"\n\tif (idl_st < 0)\n\t\treturn idl_st;\n"
		"\tif (idl_n == SHADE_CBOR_INDEFINITE || idl_n > UINT32_MAX%s)\n"
		"\t\treturn shade_error_set(err, SHADE_ERR_LIMIT, \"%s: too many "
		"items\");\n\tv->len = (uint32_t)idl_n;\n\tv->items = NULL;\n"
		"\tif (idl_n > 0) {\n\t\tv->items = talloc_zero_array(mem_ctx, "
		"%s, idl_n);\n\t\tif (v->items == NULL)\n\t\t\treturn "
		"shade_error_set(err, SHADE_ERR_NOMEM, \"out of memory\");\n"
		"\t}\n\tfor (idl_k = 0; idl_st == SHADE_OK && idl_k < idl_n; "
		"idl_k++) {\n\t\t%s\n\t}\n\treturn idl_st;\n", bound, name,
		es.c, get_stmt(g, &es, "d", "v->items[idl_k]", "mem_ctx"));
	if (put == NULL || get == NULL || push_codec(g, name, put, get) < 0)
		return -1;
	return 1;
}

/* True when t has a typed form: basic types, strings, enums, any,
 * Object, interfaces, and structs (members may be arrays) and sequences
 * of them.  stack[0..depth) are the structs being looked into. */
static bool can_wire(gen *g, const idlc_type *t, const idlc_node **stack,
		     int depth)
{
	const idlc_type *u = idlc_type_unalias(t);
	const idlc_node *d, *m;
	scalar s;
	int i;

	if (u == NULL || depth > 32)
		return false;
	if (u->kind == IDLC_T_SEQUENCE)
		return can_wire(g, u->elem, stack, depth);
	if (u->kind == IDLC_T_NAMED && u->ref) {
		for (d = u->ref; d->definition; d = d->definition)
			;
		if (d->kind == IDLC_STRUCT) {
			for (i = 0; i < depth; i++)
				if (stack[i] == d)
					return true;
			stack[depth] = d;
			for (m = d->children; m; m = m->next) {
				/* members may be arrays */
				uint64_t dims[MAX_DIMS];
				int nd;
				const idlc_type *et = strip_array(m->type,
								  dims, &nd);
				if (et == NULL || !can_wire(g, et, stack,
							    depth + 1))
					return false;
			}
			return true;
		}
	}
	return basic_of(g, u, &s);
}

/* can_wire() from the top. */
static bool wirable(gen *g, const idlc_type *t)
{
	const idlc_node *stack[33];

	return can_wire(g, t, stack, 0);
}

/* How type t travels in a typed stub: 1 and *s filled, or 0 when it has
 * no typed form yet, or -1 on out of memory.  `anon` names the C type of
 * an anonymous sequence (emitted into the header when needed). */
static int wire_of(gen *g, const idlc_type *t, const char *anon, scalar *s)
{
	const idlc_type *u = t;
	const char *name;
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
		u = u->ref->type;
	}
	if (u->kind == IDLC_T_NAMED && u->ref) {
		const idlc_node *d = u->ref;
		while (d->definition)
			d = d->definition;
		if (d->kind == IDLC_STRUCT) {
			name = idlc_gen_c_name(g, d);
			r = struct_codec(g, d, name);
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
	return basic_of(g, u, s) ? 1 : 0;
codec:
	if (r <= 0 || name == NULL)
		return name ? r : -1;
	s->c = name;
	s->w = W_CODEC;
	s->lo = s->hi = NULL;
	return 1;
}

/* A growing string: pieces of code are built by many small appends. */
typedef struct sb {
	char *s;     /* text (talloc on g->tmp), NULL while empty */
	size_t len;  /* its length */
	size_t cap;  /* allocated bytes */
} sb;

/* Append formatted text to b.  Returns 0 or -1. */
static int sb_add(gen *g, sb *b, const char *fmt, ...) IDLC_PRINTF(3, 4);
static int sb_add(gen *g, sb *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = idlc_vfmt(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0,
		      fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	if (b->s == NULL || b->len + (size_t)n + 1 > b->cap) {
		size_t cap = (b->len + (size_t)n + 1) * 2;
		char *ns = talloc_realloc(g->tmp, b->s, char, cap < 256 ? 256
								 : cap);
		if (ns == NULL)
			return -1;
		b->s = ns;
		b->cap = cap < 256 ? 256 : cap;
		va_start(ap, fmt);
		idlc_vfmt(b->s + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t)n;
	return 0;
}

/* The text of b ("" while empty). */
static const char *sbs(const sb *b)
{
	return b->s ? b->s : "";
}

/* Free b's text. */
static void sb_free(sb *b)
{
	talloc_free(b->s);
	memset(b, 0, sizeof(*b));
}

/* Append formatted text to sb *s or return -1. */
#define ADD(s, ...) do { \
	if (sb_add(g, (s), __VA_ARGS__) < 0) \
		return -1; \
} while (0)

/* Code pieces of one member, built in parallel for stub and skeleton. */
typedef struct piece {
	sb params;        /* client parameters after self */
	sb iparams;       /* implementation parameters after self */
	sb body;          /* client body statements */
	sb dispatch;      /* skeleton case statements */
	sb locals;        /* skeleton local declarations */
	sb call;          /* skeleton call arguments after self */
	sb cleanup;       /* skeleton statements run before returning */
	sb args;          /* shared form: the call's arguments after
			   * idl_member */
	bool mem;         /* a string comes back: mem_ctx parameter */
	bool core;        /* shared form (see op_piece) */
} piece;


/* Operation: its stub and dispatch case.  With p->core set, the shared
 * form instead: a client body that calls member idl_member of idl_ref,
 * and a skeleton body that calls fn(self, ...) (see shared_op()); the
 * caller then names the anonymous types after the declaring interface. */
static int op_piece(gen *g, const char *iface, const idlc_node *op,
		    size_t idx, piece *p)
{
	scalar rs, ps[64];
	const idlc_node *q;
	size_t n_in = 0, n_out = 0, i;
	bool has_result = op->type->kind != IDLC_T_VOID;
	const char *ident[64];
	const char *tab = p->core ? "\t" : "\t\t";
	int r;

	/* check everything first: codecs are generated only when used */
	if (has_result && !wirable(g, op->type))
		return 1;
	for (q = op->children; q; q = q->next)
		if (!wirable(g, q->type))
			return 1;
	if (has_result) {
		r = wire_of(g, op->type, idlc_arena_printf(g->a,
			    "%s_%s_result_seq", iface, op->name), &rs);
		if (r <= 0)
			return r < 0 ? -1 : 1;
	}
	for (q = op->children, i = 0; q; q = q->next, i++) {
		if (i == 64)
			return 1;
		r = wire_of(g, q->type, idlc_arena_printf(g->a, "%s_%s_%s_seq",
			    iface, op->name, q->name), &ps[i]);
		if (r <= 0)
			return r < 0 ? -1 : 1;
		ident[i] = idlc_gen_ident(g, q->name);
		n_in += q->dir != IDLC_DIR_OUT;
		n_out += q->dir != IDLC_DIR_IN;
		if (q->dir != IDLC_DIR_IN && comes_with_memory(&ps[i]))
			p->mem = true;
	}
	if (has_result && comes_with_memory(&rs))
		p->mem = true;
	if (p->mem) {
		ADD(&p->params, ", TALLOC_CTX *mem_ctx");
		ADD(&p->iparams, ", TALLOC_CTX *mem_ctx");
		ADD(&p->call, ", mem_ctx");
		ADD(&p->args, ", mem_ctx");
	}
	/* parameters, arguments and locals */
	for (q = op->children, i = 0; q; q = q->next, i++) {
		char *d = q->dir == IDLC_DIR_IN ? in_decl(g, &ps[i], ident[i])
						: out_decl(g, &ps[i], ident[i]);
		ADD(&p->params, ", %s", d);
		ADD(&p->iparams, ", %s", d);
		ADD(&p->args, ", %s", ident[i]);
		ADD(&p->locals, "%s%s%sarg_%s = %s;\n", tab, ps[i].c,
		    is_pointer(&ps[i]) ? "" : " ", ident[i], zero(&ps[i]));
		if (ps[i].w == W_OBJECT)
			ADD(&p->cleanup, "%sshade_ref_release(arg_%s);\n",
			    tab, ident[i]);
		ADD(&p->call, ", %sarg_%s", q->dir == IDLC_DIR_IN &&
		    ps[i].w != W_CODEC ? "" : "&", ident[i]);
	}
	if (has_result) {
		ADD(&p->params, ", %s", out_decl(g, &rs, "result"));
		ADD(&p->iparams, ", %s", out_decl(g, &rs, "result"));
		ADD(&p->args, ", result");
		ADD(&p->locals, "%s%s%sidl_result = %s;\n", tab, rs.c,
		    is_pointer(&rs) ? "" : " ", zero(&rs));
		if (rs.w == W_OBJECT)
			ADD(&p->cleanup, "%sshade_ref_release(idl_result);\n",
			    tab);
		ADD(&p->call, ", &idl_result");
	}

	/* client: encode the in/inout arguments, read the reply */
	if (p->core)
		ADD(&p->body, "\tidl_st = shade_request_begin(idl_ref, idl_member, "
		    "SHADE_DISPATCH_INVOKE, NULL,\n\t\t\t\t  &idl_call, &idl_args,"
		    " err);\n");
	else
		ADD(&p->body, "\tidl_st = shade_request_begin(self->ref, "
		    "self->map[%zu], SHADE_DISPATCH_INVOKE, NULL,\n\t\t\t\t  "
		    "&idl_call, &idl_args, err);\n", idx);
	ADD(&p->body, "\tif (idl_st < 0)\n\t\treturn idl_st;\n"
	    "\tidl_st = shade_cbor_put_array(idl_args, %zu);\n", n_in);
	for (q = op->children, i = 0; q; q = q->next, i++) {
		const char *e = q->dir == IDLC_DIR_IN && ps[i].w != W_CODEC ?
			ident[i] : idlc_arena_printf(g->a, "*%s", ident[i]);
		if (q->dir != IDLC_DIR_OUT)
			ADD(&p->body, "\tif (idl_st == SHADE_OK)\n\t\t%s\n",
			    put_stmt(g, &ps[i], "idl_args", e));
	}
	ADD(&p->body, "\tif (idl_st == SHADE_OK)\n\t\tidl_st = shade_request_finish("
	    "idl_call, &idl_res, err);\n");
	if (n_out)
		ADD(&p->body, "\tif (idl_st == SHADE_OK)\n\t\tidl_st = idl_get_array_("
		    "idl_res, %zu, err);\n", n_out + has_result);
	if (has_result)
		ADD(&p->body, "\tif (idl_st == SHADE_OK) {\n\t\t%s\n\t}\n",
		    get_stmt(g, &rs, "idl_res", "*result", "mem_ctx"));
	for (q = op->children, i = 0; q; q = q->next, i++)
		if (q->dir != IDLC_DIR_IN)
			ADD(&p->body, "\tif (idl_st == SHADE_OK) {\n\t\t%s\n\t}\n",
			    get_stmt(g, &ps[i], "idl_res",
				     idlc_arena_printf(g->a, "*%s", ident[i]),
				     "mem_ctx"));

	/* skeleton: decode the arguments, call, encode the reply */
	g->need_array = true;
	if (!p->core)
		ADD(&p->dispatch, "\t\tif (op != SHADE_DISPATCH_INVOKE || "
		    "sv->impl->%s == NULL)\n\t\t\tbreak;\n",
		    idlc_gen_ident(g, op->name));
	ADD(&p->dispatch, "%sidl_st = idl_get_array_(in, %zu, err);\n", tab,
	    n_in);
	for (q = op->children, i = 0; q; q = q->next, i++)
		if (q->dir != IDLC_DIR_OUT)
			ADD(&p->dispatch, "%sif (idl_st == SHADE_OK) {\n%s\t%s"
			    "\n%s}\n", tab, tab, get_stmt(g, &ps[i], "in",
			    idlc_arena_printf(g->a, "arg_%s", ident[i]),
			    "mem_ctx"), tab);
	if (p->core)
		ADD(&p->dispatch, "\tif (idl_st == SHADE_OK)\n\t\tidl_st = "
		    "fn(self%s, err);\n", sbs(&p->call));
	else
		ADD(&p->dispatch, "\t\tif (idl_st == SHADE_OK)\n\t\t\tidl_st = "
		    "sv->impl->%s(sv->self%s, err);\n",
		    idlc_gen_ident(g, op->name), sbs(&p->call));
	if (n_out)
		ADD(&p->dispatch, "%sif (idl_st == SHADE_OK)\n%s\tidl_st = "
		    "shade_cbor_put_array(out, %zu);\n", tab, tab,
		    n_out + has_result);
	if (has_result)
		ADD(&p->dispatch, "%sif (idl_st == SHADE_OK)\n%s\t%s\n", tab,
		    tab, put_stmt(g, &rs, "out", "idl_result"));
	for (q = op->children, i = 0; q; q = q->next, i++)
		if (q->dir != IDLC_DIR_IN)
			ADD(&p->dispatch, "%sif (idl_st == SHADE_OK)\n%s\t%s\n",
			    tab, tab, put_stmt(g, &ps[i], "out",
				     idlc_arena_printf(g->a, "arg_%s", ident[i])));
	ADD(&p->dispatch, "%s%sreturn idl_st;\n", sbs(&p->cleanup), tab);
	return 0;
}

/* Free the texts of a piece. */
static void piece_free(piece *p)
{
	sb_free(&p->params);
	sb_free(&p->iparams);
	sb_free(&p->body);
	sb_free(&p->dispatch);
	sb_free(&p->locals);
	sb_free(&p->call);
	sb_free(&p->cleanup);
	sb_free(&p->args);
}

/* params (", A a, B b") with each ", " followed by `sep` instead of a
 * blank, for prototypes too long for one line. */
static const char *wrap_params(gen *g, const char *params, const char *sep)
{
	char *out = idlc_arena_alloc(g->a, strlen(params) * 3 + 1), *o = out;
	const char *p;

	if (out == NULL)
		return NULL;
	for (p = params; *p; p++) {
		if (p[0] == ',' && p[1] == ' ') {
			*o++ = ',';
			o += strlen(strcpy(o, sep));
			p++;
			continue;
		}
		*o++ = *p;
	}
	*o = '\0';
	return out;
}

/* True for the characters of a C identifier. */
static bool ident_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_';
}

/* Declarations of the decoding temporaries that `code` uses (idl_i,
 * idl_u, idl_f, idl_r as whole words), found in one pass over it. */
static const char *temps(gen *g, const char *code, const char *indent)
{
	static const char *const decl[4] = {
		"int64_t idl_i = 0;", "uint64_t idl_u = 0;",
		"double idl_f = 0;", "shade_ref *idl_r = NULL;",
	};
	static const char names[4] = { 'i', 'u', 'f', 'r' };
	bool used[4] = { false, false, false, false };
	const char *p;
	char *out;
	size_t i;

	for (p = strstr(code, "idl_"); p; p = strstr(p + 4, "idl_")) {
		if ((p > code && ident_char(p[-1])) || ident_char(p[5]))
			continue;
		for (i = 0; i < 4; i++)
			used[i] |= p[4] == names[i];
	}
	out = idlc_arena_printf(g->a, "%s", "");
	for (i = 0; out && i < 4; i++)
		if (used[i])
			out = idlc_arena_append(g->a, out, "%s%s\n", indent,
						decl[i]);
	return out;
}

/* One template object for a stub function: body is its code, or,
 * when forward is not NULL, the stub only returns that call. */
static int push_stub(gen *g, idlc_tv *list, const char *doc, const char *ret,
		     const char *name, const char *params, const char *body,
		     const char *forward)
{
	idlc_tv *o = idlc_tv_obj(g->a);
	size_t width = strlen(ret) + 2 * strlen(name) + strlen(params) + 40;

	/* one parameter per line when the prototype would not fit */
	if (width > 80 && params[0] != '\0')
		params = wrap_params(g, params, "\n\t");
	if (params == NULL)
		return -1;

	if (o == NULL || idlc_tv_set_str(o, "doc", "%s", doc) < 0 ||
	    idlc_tv_set_str(o, "name", "%s", name) < 0 ||
	    idlc_tv_set_str(o, "ret", "%s", ret) < 0 ||
	    idlc_tv_set_str(o, "params", "%s", params) < 0 ||
	    idlc_tv_set_str(o, "temps", "%s", temps(g, body, "\t")) < 0 ||
	    idlc_tv_set_str(o, "body", "%s", body) < 0 ||
	    idlc_tv_set_str(o, "forward", "%s", forward ? forward : "") < 0)
		return -1;
	return idlc_tv_push(list, o);
}

/* Stub, impl field and dispatch case of an attribute. */
static int attr_pieces(gen *g, const char *iface, const idlc_node *a,
		       size_t idx, idlc_tv *stubs, sb *fields, sb *cases)
{
	scalar s;
	bool ro = (a->flags & IDLC_F_READONLY) != 0, mem;
	char *doc;
	const char *release;

	int r = wirable(g, a->type) ? wire_of(g, a->type, idlc_arena_printf(
		g->a, "%s_%s_seq", iface, a->name), &s) : 0;

	if (r <= 0)
		return r < 0 ? -1 : 1;
	release = s.w == W_OBJECT ? "\t\t\tshade_ref_release(idl_v);\n" : "";
	mem = comes_with_memory(&s);
	doc = idlc_arena_printf(g->a, "%s/* Read attribute %s%s. */\n",
				idlc_gen_doc(g, a->doc, ""), a->name,
				mem ? " (what comes back lands on mem_ctx)" : "");
	if (doc == NULL || push_stub(g, stubs, doc, "shade_status",
		idlc_arena_printf(g->a, "%s_get_%s", iface, a->name),
		idlc_arena_printf(g->a, "%s, %s", mem ? ", TALLOC_CTX *mem_ctx"
				  : "", out_decl(g, &s, "out")),
		idlc_arena_printf(g->a, "\tidl_st = shade_request_begin(self->ref, "
			"self->map[%zu], SHADE_DISPATCH_GET, NULL,\n\t\t\t\t"
			"  &idl_call, &idl_args, err);\n\tif (idl_st < 0)\n\t\treturn "
			"idl_st;\n\tidl_st = shade_request_finish(idl_call, &idl_res, err);"
			"\n\tif (idl_st == SHADE_OK) {\n\t\t%s\n\t}\n", idx,
			get_stmt(g, &s, "idl_res", "*out", "mem_ctx")), NULL) < 0)
		return -1;
	ADD(fields, "\t/* attribute %s: read it into *out */\n\tshade_status "
	    "(*get_%s)(void *self%s,\n\t\t%s, shade_error **err);\n", a->name,
	    a->name, mem ? ", TALLOC_CTX *mem_ctx" : "",
	    out_decl(g, &s, "out"));
	ADD(cases, "\tcase %zu: { /* %s */\n\t\t%s%sidl_v = %s;\n\n"
	    "\t\tif (op == SHADE_DISPATCH_GET && sv->impl->get_%s) {\n"
	    "\t\t\tidl_st = sv->impl->get_%s(sv->self%s, &idl_v, err);\n"
	    "\t\t\tif (idl_st == SHADE_OK)\n\t\t\t\t%s\n%s\t\t\treturn idl_st;\n"
	    "\t\t}\n", idx, a->name, s.c, is_pointer(&s) ? "" : " ", zero(&s),
	    a->name, a->name, mem ? ", mem_ctx" : "",
	    put_stmt(g, &s, "out", "idl_v"), release);
	if (!ro) {
		if (push_stub(g, stubs, idlc_arena_printf(g->a, "/* Write "
			"attribute %s. */\n", a->name), "shade_status",
			idlc_arena_printf(g->a, "%s_set_%s", iface, a->name),
			idlc_arena_printf(g->a, ", %s", in_decl(g, &s,
							       "value")),
			idlc_arena_printf(g->a, "\tidl_st = shade_request_begin("
				"self->ref, self->map[%zu], SHADE_DISPATCH_SET, "
				"NULL,\n\t\t\t\t  &idl_call, &idl_args, err);\n\tif "
				"(idl_st < 0)\n\t\treturn idl_st;\n\t%s\n\tif (idl_st == "
				"SHADE_OK)\n\t\tidl_st = shade_request_finish(idl_call,"
				" &idl_res, err);\n", idx,
				put_stmt(g, &s, "idl_args", s.w == W_CODEC ?
					 "*value" : "value")), NULL) < 0)
			return -1;
		ADD(fields, "\t/* attribute %s: store value */\n\tshade_status "
		    "(*set_%s)(void *self,\n\t\t%s, shade_error **err);\n", a->name,
		    a->name, in_decl(g, &s, "value"));
		ADD(cases, "\t\tif (op == SHADE_DISPATCH_SET && "
		    "sv->impl->set_%s) {\n\t\t\t%s\n\t\t\tif (idl_st == SHADE_OK)"
		    "\n\t\t\t\tidl_st = sv->impl->set_%s(sv->self, %sidl_v, "
		    "err);\n%s\t\t\treturn idl_st;\n\t\t}\n", a->name,
		    get_stmt(g, &s, "in", "idl_v", "mem_ctx"), a->name,
		    s.w == W_CODEC ? "&" : "", release);
	}
	ADD(cases, "\t\tbreak;\n\t}\n");
	return 0;
}

/* True when the operations of interface d are shared with the interfaces
 * that inherit them (d is generated here and is some interface's base). */
static bool shared(gen *g, const idlc_node *d)
{
	const char *key = idlc_arena_printf(g->a, "base %s",
					    idlc_gen_c_name(g, d));

	return key && d && d->kind == IDLC_INTERFACE && idlc_gen_has(g, key);
}

/* The shared functions of operation op of interface `decl` (see
 * shared()): the call, on a reference and a member number, and the
 * skeleton part, on the implementation's function.  Appended to cores. */
static int op_cores(gen *g, const char *decl, const idlc_node *op,
		    const piece *p, sb *cores)
{
	const char *params = idlc_arena_printf(g->a, "shade_ref *idl_ref, "
		"uint32_t idl_member%s", sbs(&p->params));
	const char *ip = sbs(&p->iparams);

	if (params == NULL || (params = wrap_params(g, params, "\n\t")) == NULL ||
	    (ip = wrap_params(g, ip, "\n\t\t")) == NULL)
		return -1;
	ADD(cores, "\n/* %s.%s: the call, shared by every interface that has "
	    "it. */\nstatic shade_status idl_%s_%s_(%s,\n\tshade_error **err)\n"
	    "{\n\tshade_request *idl_call;\n\tstruct shade_buf *idl_args;\n"
	    "\tstruct shade_cbor_dec *idl_res = NULL;\n\tshade_status idl_st;\n"
	    "%s\n%s\ttalloc_free(idl_call);\n\tif (idl_st < 0)\n\t\t"
	    "shade_error_set(err, idl_st, \"%s_%s failed\");\n\treturn idl_st;"
	    "\n}\n", decl, op->name, decl, op->name, params,
	    temps(g, sbs(&p->body), "\t"), sbs(&p->body), decl, op->name);
	ADD(cores, "\n/* %s.%s: decode a request, call fn, encode its reply "
	    "(shared like\n * the call). */\nstatic shade_status idl_%s_%s_skel_("
	    "shade_status (*fn)(void *self%s,\n\t\tshade_error **err),\n"
	    "\tvoid *self, shade_dispatch_ctx *cx, struct shade_cbor_dec *in,\n"
	    "\tstruct shade_buf *out, shade_error **err)\n{\n"
	    "\tTALLOC_CTX *mem_ctx = shade_dispatch_mem(cx);\n"
	    "\tshade_status idl_st;\n%s%s\n\t(void)mem_ctx;\n\t(void)out;\n"
	    "%s}\n", decl, op->name, decl, op->name, ip,
	    temps(g, sbs(&p->dispatch), "\t"), sbs(&p->locals),
	    sbs(&p->dispatch));
	return 0;
}

/* Stub, impl field and dispatch case of operation m, member i of
 * interface n (C name iface).  An operation of a shared interface
 * (shared()) gets a stub and a case that call its shared functions,
 * generated with its declaring interface into cores.  Returns 0, 1
 * when it has no typed form, or -1. */
static int op_member(gen *g, const idlc_node *n, const char *iface,
		     const idlc_node *m, size_t i, idlc_tv *stubs, sb *fields,
		     sb *cases, sb *cores)
{
	piece p = { .core = shared(g, m->parent) };
	const char *decl = p.core ? idlc_gen_c_name(g, m->parent) : iface;
	const char *id = idlc_gen_ident(g, m->name), *ip, *fwd = NULL;
	char *doc;
	int rc = decl ? op_piece(g, decl, m, i, &p) : -1;

	if (rc != 0)
		goto done;
	rc = -1;
	if (p.core && m->parent == n && op_cores(g, decl, m, &p, cores) < 0)
		goto done;
	if (p.core)
		fwd = idlc_arena_printf(g->a, "idl_%s_%s_(self->ref, "
					"self->map[%zu]%s, err)", decl, m->name,
					i, sbs(&p.args));
	doc = idlc_arena_printf(g->a, "%s/* Call %s%s%s. */\n",
				idlc_gen_doc(g, m->doc, ""), m->name,
				(m->flags & IDLC_F_ONEWAY) ?
				" (oneway: no reply)" : "",
				p.mem ? " (what comes back lands on "
				"mem_ctx)" : "");
	if (doc == NULL || (p.core && fwd == NULL) ||
	    push_stub(g, stubs, doc, "shade_status",
		      idlc_arena_printf(g->a, "%s_%s", iface, m->name),
		      sbs(&p.params), sbs(&p.body), fwd) < 0)
		goto done;
	ip = sbs(&p.iparams);
	if (strlen(ip) + strlen(id) + 50 > 72 &&
	    (ip = wrap_params(g, ip, "\n\t\t")) == NULL)
		goto done;
	if (sb_add(g, fields, "\t/* operation %s */\n\tshade_status "
		   "(*%s)(void *self%s,\n\t\tshade_error **err);\n", m->name,
		   id, ip) < 0)
		goto done;
	if (p.core)
		rc = sb_add(g, cases, "\tcase %zu: /* %s */\n\t\tif (op == "
			    "SHADE_DISPATCH_INVOKE && sv->impl->%s)\n\t\t\t"
			    "return idl_%s_%s_skel_(sv->impl->%s, sv->self,"
			    "\n\t\t\t\t\tcx, in, out, err);\n\t\tbreak;\n",
			    i, m->name, id, decl, m->name, id);
	else
		rc = sb_add(g, cases, "\tcase %zu: { /* %s */\n%s\n%s\t}\n",
			    i, m->name, sbs(&p.locals), sbs(&p.dispatch));
done:
	piece_free(&p);
	return rc;
}

/* See gen_int.h. */
int idlc_gen_stubs(gen *g, const idlc_node *n, const smember *members,
		   size_t nm, idlc_tv *o)
{
	const char *iface = idlc_gen_c_name(g, n);
	idlc_tv *stubs = idlc_tv_list(g->a), *skipped = idlc_tv_list(g->a);
	sb fields = { 0 }, cases = { 0 }, cores = { 0 };
	size_t i;
	int rc;

	if (!iface || !stubs || !skipped)
		return -1;
	for (i = 0; i < nm; i++) {
		const idlc_node *m = members[i].node;
		if (m->kind == IDLC_ATTRIBUTE) {
			rc = attr_pieces(g, iface, m, i, stubs, &fields, &cases);
		} else {
			rc = op_member(g, n, iface, m, i, stubs, &fields,
				       &cases, &cores);
		}
		if (rc < 0)
			return -1;
		if (rc > 0) {
			idlc_tv *s = idlc_tv_obj(g->a);
			if (s == NULL ||
			    idlc_tv_set_str(s, "name", "%s", m->name) < 0 ||
			    idlc_tv_set_str(s, "sig", "%s", members[i].sig) < 0 ||
			    idlc_tv_push(skipped, s) < 0)
				return -1;
		}
	}
	if (idlc_tv_set(o, "stubs", stubs) < 0 ||
	    idlc_tv_set(o, "skipped", skipped) < 0 ||
	    idlc_tv_set_str(o, "impl_fields", "%s", sbs(&fields)) < 0 ||
	    idlc_tv_set_str(o, "dispatch_cases", "%s", sbs(&cases)) < 0 ||
	    idlc_tv_set_str(o, "cores", "%s", sbs(&cores)) < 0 ||
	    idlc_tv_set_str(o, "dispatch_temps", "%s",
			    temps(g, sbs(&cases), "\t")) < 0 ||
	    idlc_tv_set_str(o, "map_size", "%zu", nm ? nm : 1) < 0)
		return -1;
	sb_free(&fields);
	sb_free(&cases);
	sb_free(&cores);
	return 0;
}

/* See gen_int.h.  An exception travels as a shade error named after its
 * qualified name, its fields (in order) as the error's arguments. */
int idlc_gen_exception(gen *g, const idlc_node *n, idlc_tv *o)
{
	const char *name = idlc_gen_c_name(g, n);
	sb put = { 0 }, get = { 0 };
	const idlc_node *m;
	size_t count = 0, i;
	int rc = -1;

	if (name == NULL)
		return -1;
	for (m = n->children; m; m = m->next) {
		scalar s;
		if (!basic_of(g, m->type, &s) || s.w == W_ANY ||
		    s.w == W_OBJECT || s.w == W_IFACE)
			return 0;
		count++;
	}
	for (m = n->children, i = 0; m; m = m->next, i++) {
		scalar s;
		const char *f = idlc_gen_ident(g, m->name);
		static const char *const make[] = {
			[W_INT] = "shade_int(args, (int64_t)ex->%s)",
			[W_UINT] = "shade_int(args, (int64_t)ex->%s)",
			[W_BOOL] = "shade_bool(args, ex->%s)",
			[W_FLOAT] = "shade_float(args, (double)ex->%s)",
			[W_STRING] = "shade_str(args, ex->%s ? ex->%s : \"\")",
		};
		basic_of(g, m->type, &s);
		ADD(&put, "\tif (args != NULL && shade_seq_append_take(args, ");
		ADD(&put, make[s.w], f, f);
		ADD(&put, ", NULL) != SHADE_OK)\n\t\targs = NULL;\n");
		ADD(&get, "\ta = shade_seq_at(err->args, %zu);\n", i);
		switch (s.w) {
		case W_STRING:
			ADD(&get, "\tif (shade_value_kind(a) != SHADE_STR)\n\t\t"
			    "return false;\n\tout->%s = talloc_strdup(mem_ctx, "
			    "shade_value_cstr(a));\n", f);
			break;
		case W_BOOL:
			ADD(&get, "\tif (shade_value_kind(a) != SHADE_BOOL)\n\t\t"
			    "return false;\n\tout->%s = shade_value_as_bool(a);"
			    "\n", f);
			break;
		case W_FLOAT:
			ADD(&get, "\tif (shade_value_kind(a) == SHADE_INT)\n\t\t"
			    "out->%s = (%s)shade_value_as_int(a);\n\telse if "
			    "(shade_value_kind(a) == SHADE_FLOAT)\n\t\tout->%s = "
			    "(%s)shade_value_as_float(a);\n\telse\n\t\treturn "
			    "false;\n", f, s.c, f, s.c);
			break;
		default:
			ADD(&get, "\tif (shade_value_kind(a) != SHADE_INT)\n\t\t"
			    "return false;\n\tout->%s = (%s)shade_value_as_int(a);"
			    "\n", f, s.c);
		}
	}
	if (idlc_tv_set_bool(o, "has_helpers", true) < 0 ||
	    idlc_tv_set_str(o, "helpers_put", "%s", sbs(&put)) < 0 ||
	    idlc_tv_set_str(o, "helpers_get", "%s", sbs(&get)) < 0 ||
	    idlc_tv_set_str(o, "n_fields", "%zu", count) < 0)
		goto done;
	rc = 0;
done:
	sb_free(&put);
	sb_free(&get);
	return rc;
}
