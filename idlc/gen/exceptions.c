/*
 * idlc/gen/exceptions.c - raise and catch helpers of IDL exceptions.
 *
 * An exception travels as a shade error named after its qualified name,
 * its fields (in order) as the error's arguments.  When every field is a
 * basic type, an enum or a string, the helpers build and read those
 * values directly; otherwise (structs, sequences, unions, arrays,
 * bitmasks, whose flags are checked...)
 * they go through the exception's codec, the array of its fields as for
 * a struct, and shade_typed_raise / shade_typed_catch_begin turn it into
 * the error's arguments and back.  A field holding a reference (any,
 * Object, an interface) is written and read through a local dispatch
 * context (shade_typed_local_cx): the error's arguments hold the
 * reference, which travels as in a result.
 */
#include <string.h>

#include "gen/gen_int.h"

/* Statements filling the error's arguments (put) and reading them back
 * (get) for field f of type s, index i. */
static int field(gen *g, const scalar *s, const char *f, size_t i, sb *put,
		 sb *get)
{
	static const char *const make[] = {
		[W_INT] = "shade_int(args, (int64_t)ex->%s)",
		[W_UINT] = "shade_int(args, (int64_t)ex->%s)",
		[W_BOOL] = "shade_bool(args, ex->%s)",
		[W_FLOAT] = "shade_float(args, (double)ex->%s)",
		[W_STRING] = "shade_str(args, ex->%s ? ex->%s : \"\")",
	};

	ADD(put, "\tif (args != NULL &&\n\t    shade_seq_append_take(args, ");
	ADD(put, make[s->w], f, f);
	ADD(put, ", NULL) != SHADE_OK)\n\t\targs = NULL;\n");
	ADD(get, "\ta = shade_seq_at(err->args, %zu);\n", i);
	switch (s->w) {
	case W_STRING:
		ADD(get, "\tif (shade_value_kind(a) != SHADE_STR)\n\t\treturn "
		    "false;\n\tout->%s = talloc_strdup(mem_ctx, "
		    "shade_value_cstr(a));\n", f);
		break;
	case W_BOOL:
		ADD(get, "\tif (shade_value_kind(a) != SHADE_BOOL)\n\t\treturn "
		    "false;\n\tout->%s = shade_value_as_bool(a);\n", f);
		break;
	case W_FLOAT:
		ADD(get, "\tif (shade_value_kind(a) == SHADE_INT)\n\t\tout->%s = "
		    "(%s)shade_value_as_int(a);\n\telse if (shade_value_kind(a) "
		    "== SHADE_FLOAT)\n\t\tout->%s = (%s)shade_value_as_float(a);"
		    "\n\telse\n\t\treturn false;\n", f, s->c, f, s->c);
		break;
	default:
		ADD(get, "\tif (shade_value_kind(a) != SHADE_INT)\n\t\treturn "
		    "false;\n\tout->%s = (%s)shade_value_as_int(a);\n", f, s->c);
	}
	return 0;
}

/* The two helpers of exception `name` with n fields. */
static int helpers(gen *g, const char *name, size_t n, const sb *put,
		   const sb *get, idlc_tv *functions)
{
	if (idlc_gen_function(g, functions, "", "shade_status",
		idlc_arena_printf(g->a, "%s_raise", name), idlc_arena_printf(g->a,
		"shade_error **err, const %s *ex%s", name, n ? "" :
		" SHADE_UNUSED"), idlc_arena_printf(g->a, "\tshade_value *args;\n"
		"\n\tif (err == NULL || *err != NULL)\n\t\treturn SHADE_ERR_USER;\n"
		"\tshade_error_set_named(err, SHADE_ERR_USER, %s_NAME, \"%%s\",\n"
		"\t\t\t      %s_NAME);\n\tif (*err == NULL)\n\t\treturn "
		"SHADE_ERR_USER;\n\targs = shade_tuple_new(*err, %zu);\n%s"
		"\t(*err)->args = args;\n\treturn SHADE_ERR_USER;\n", name, name,
		n, idlc_sbs(put))) < 0)
		return -1;
	return idlc_gen_function(g, functions, "", "bool",
		idlc_arena_printf(g->a, "%s_catch", name), idlc_arena_printf(g->a,
		"TALLOC_CTX *mem_ctx%s, const shade_error *err, %s *out",
		idlc_gen_uses(idlc_sbs(get), "mem_ctx") ? "" : " SHADE_UNUSED",
		name), idlc_arena_printf(g->a, "%s\tif (err == "
		"NULL || err->name == NULL ||\n\t    strcmp(err->name, %s_NAME) "
		"!= 0 || err->args == NULL ||\n\t    shade_value_len(err->args) != "
		"%zu)\n\t\treturn false;\n\tmemset(out, 0, sizeof(*out));\n%s"
		"\treturn true;\n", n ? "\tconst shade_value *a;\n\n" : "", name,
		n, idlc_sbs(get)));
}

/* The two helpers of exception `name` through its codec; `refs`: its
 * fields hold references, written and read through a local dispatch
 * context (shade_typed_local_cx). */
static int codec_helpers(gen *g, const char *name, bool refs,
			 idlc_tv *functions)
{
	if (idlc_gen_function(g, functions, "", "shade_status",
		idlc_arena_printf(g->a, "%s_raise", name), idlc_arena_printf(g->a,
		"shade_error **err, const %s *ex", name), idlc_arena_printf(g->a,
		"\tstruct shade_buf *b;\n%s\tshade_status idl_st;\n\n"
		"\tif (err == NULL || *err != NULL)\n\t\treturn SHADE_ERR_USER;\n"
		"\tb = shade_buf_new(NULL, 64);\n%s\t\treturn "
		"shade_error_set(err, SHADE_ERR_NOMEM, \"out of memory\");\n%s"
		"\tidl_st = idl_put_%s_(%s, NULL, b, ex, err);\n"
		"\tif (idl_st == SHADE_OK)\n\t\tidl_st = shade_typed_raise%s(%s"
		"err, %s_NAME, b);\n\ttalloc_free(b);\n\treturn idl_st;\n",
		refs ? "\tshade_dispatch_ctx *cx;\n" : "",
		refs ? "\tcx = b ? shade_typed_local_cx(b, NULL) : NULL;\n"
		"\tif (cx == NULL) {\n\t\ttalloc_free(b);\n" :
		"\tif (b == NULL)\n", refs ? "\t}\n" : "", name,
		refs ? "cx" : "NULL", refs ? "_cx" : "", refs ? "cx, " : "",
		name)) < 0)
		return -1;
	return idlc_gen_function(g, functions, "", "bool",
		idlc_arena_printf(g->a, "%s_catch", name), idlc_arena_printf(g->a,
		"TALLOC_CTX *mem_ctx, const shade_error *err, %s *out", name),
		idlc_arena_printf(g->a, "\tstruct shade_cbor_dec d;\n%s\t%s v;\n"
		"\tTALLOC_CTX *mem = shade_typed_catch_begin%s(err, %s_NAME, "
		"&d%s);\n\tbool ok;\n\n\tif (mem == NULL)\n\t\treturn false;\n"
		"\tmemset(&v, 0, sizeof(v));\n\tok = idl_get_%s_(%s, NULL, mem, "
		"&d, &v, NULL) == SHADE_OK;\n\tok = shade_typed_catch_end(mem_ctx, "
		"mem, ok);\n\tif (ok)\n\t\t*out = v;\n\treturn ok;\n",
		refs ? "\tshade_dispatch_ctx *cx;\n" : "", name,
		refs ? "_cx" : "", name, refs ? ", &cx" : "", name,
		refs ? "cx" : "NULL"));
}

/* See gen_int.h. */
int idlc_gen_exception(gen *g, const idlc_node *n, idlc_tv *functions)
{
	const char *name = idlc_gen_c_name(g, n);
	sb put = { 0 }, get = { 0 };
	const idlc_node *m;
	size_t count = 0;
	int rc = -1;

	if (name == NULL)
		return -1;
	for (m = n->children; m; m = m->next) {
		scalar s;
		if (!idlc_gen_basic(g, m->type, &s) || s.w == W_ANY ||
		    s.w == W_OBJECT || s.w == W_IFACE || s.w >= W_WCHAR ||
		    (s.w == W_UINT && s.lo != NULL)) { /* a bitmask: checked */
			rc = idlc_gen_fields_codec(g, n);
			return rc <= 0 ? rc : codec_helpers(g, name, rc == 2,
							    functions);
		}
	}
	for (m = n->children; m; m = m->next, count++) {
		scalar s;
		idlc_gen_basic(g, m->type, &s);
		if (field(g, &s, idlc_gen_ident(g, m->name), count, &put,
			  &get) < 0)
			goto done;
	}
	rc = helpers(g, name, count, &put, &get, functions);
done:
	idlc_sb_free(&put);
	idlc_sb_free(&get);
	return rc;
}
