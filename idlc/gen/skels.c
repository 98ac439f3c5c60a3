/*
 * idlc/gen/skels.c - the server side of an interface: the table of
 * implementation functions (I_impl), the dispatch function that decodes
 * a request, calls the implementation and encodes its reply, and serve.
 *
 * What a request decodes to lives on the dispatch's per-call context
 * (shade_dispatch_mem), freed once the reply is sent.  The operations of
 * a base interface are shared like their stubs: one static function per
 * operation (idl_I_op_skel_) takes the implementation's function.
 */
#include <string.h>

#include "gen/gen_int.h"

/* " SHADE_UNUSED" after parameter `name` when `body` does not use it. */
static const char *unused(const char *body, const char *name)
{
	return idlc_gen_uses(body, name) ? "" : " SHADE_UNUSED";
}

/* Declarations a skeleton body uses: mem_ctx, the temporaries, idl_st. */
static char *body_decls(gen *g, const char *code, bool status)
{
	return idlc_arena_printf(g->a, "%s%s%s",
		idlc_gen_uses(code, "mem_ctx") ?
		"\tTALLOC_CTX *mem_ctx = shade_dispatch_mem(cx);\n" : "",
		idlc_gen_temps(g, code), status && idlc_gen_uses(code, "idl_st")
		? "\tshade_status idl_st;\n" : "");
}

/* A block `{ ... }` putting `v`, a sequence of type s under @chunk(n),
 * into the reply as a list shared for the peer to read in chunks; its
 * lines after the first indented by `tabs`. */
static char *put_chunked(gen *g, const scalar *s, const char *v,
			 const char *n, int tabs)
{
	const char *body = idlc_arena_printf(g->a, "/* @chunk(%s): shared as a "
		"list, read in chunks */\nstruct shade_buf *idl_b = shade_buf_new("
		"mem_ctx, 64);\n\nidl_st = idl_b == NULL ? shade_error_set(err, "
		"SHADE_ERR_NOMEM,\n\t\t\"out of memory\")\n\t: idl_put_%s_("
		"cx, NULL, idl_b, &%s, err);\nif (idl_st == SHADE_OK)\n\tidl_st"
		" = shade_typed_put_list(cx, NULL, out, idl_b, err);\n", n, s->c,
		v);

	return body ? idlc_arena_printf(g->a, "{\n%s%.*s}\n",
		idlc_gen_indent(g, body, tabs + 1), tabs, "\t\t\t\t\t\t\t\t")
		: NULL;
}

/* Statements of operation w: decode the arguments, call `fn` with
 * `self` first, encode the reply and `return idl_st;`, no indentation.
 * Its locals go to *locals. */
static char *op_stmts(gen *g, const wire_op *w, const char *fn,
		      const char *self, char **locals)
{
	bool share = w->share;
	char *s = idlc_arena_printf(g->a, "%sidl_st = shade_typed_get_array("
				    "in, %zu, err);\n", share ?
				    "shade_typed_share_begin(&idl_share, in);\n"
				    : "", w->n_in);
	char *args = idlc_arena_printf(g->a, "%s", w->mem ? ", mem_ctx" : "");
	char *drop = idlc_arena_printf(g->a, "%s", "");
	size_t i;

	*locals = idlc_arena_printf(g->a, "%s", share ?
				    "shade_typed_share idl_share;\n" : "");
	for (i = 0; s && i < w->n; i++) {
		const char *v = idlc_arena_printf(g->a, "arg_%s", w->ident[i]);
		*locals = idlc_arena_append(g->a, *locals, "%s\n",
					    idlc_gen_local(g, &w->ps[i], v));
		args = idlc_arena_append(g->a, args, ", %s%s", w->dir[i] ==
					 IDLC_DIR_IN && w->ps[i].w != W_CODEC ?
					 "" : w->dir[i] == IDLC_DIR_IN &&
					 w->ps[i].arr ? idlc_arena_printf(g->a,
					 "(const %s *)&", w->ps[i].c) : "&", v);
		if (w->ps[i].w == W_OBJECT)
			drop = idlc_arena_append(g->a, drop,
				"shade_typed_release_later(cx, %s);\n", v);
		if (w->dir[i] != IDLC_DIR_OUT)
			s = idlc_arena_append(g->a, s, "if (idl_st == SHADE_OK) "
				"{\n%s\tif (idl_st < 0)\n\t\tidl_st = "
				"shade_typed_bad_arg(idl_st, \"%s\", err);\n}\n",
				idlc_gen_indent(g, idlc_gen_get(g, &w->ps[i],
				"in", v, "mem_ctx"), 1), w->ident[i]);
	}
	if (w->has_result) {
		*locals = idlc_arena_append(g->a, *locals, "%s\n",
					    idlc_gen_local(g, &w->rs,
							   "idl_result"));
		args = idlc_arena_append(g->a, args, ", &idl_result");
		if (w->rs.w == W_OBJECT)
			drop = idlc_arena_append(g->a, drop,
				"shade_typed_release_later(cx, idl_result);\n");
	}
	s = idlc_arena_append(g->a, s, "%sif (idl_st == SHADE_OK)\n\tidl_st = "
			      "%s(%s%s, err);\n%s", share ?
			      "shade_typed_share_end(&idl_share);\n" : "", fn,
			      self, args, share ?
			      "shade_typed_share_begin(&idl_share, out);\n" : "");
	if (w->n_out)
		s = idlc_arena_append(g->a, s, "if (idl_st == SHADE_OK)\n\t"
				      "idl_st = shade_cbor_put_array(out, %zu);"
				      "\n", w->n_out + w->has_result);
	if (w->has_result)
		s = idlc_arena_append(g->a, s, "if (idl_st == SHADE_OK)%s%s",
			w->chunk ? " " : "\n", w->chunk ? put_chunked(g, &w->rs,
			"idl_result", w->chunk, 0) : idlc_gen_indent(g,
			idlc_gen_put(g, &w->rs, "out", "idl_result"), 1));
	for (i = 0; s && i < w->n; i++)
		if (w->dir[i] != IDLC_DIR_IN)
			s = idlc_arena_append(g->a, s, "if (idl_st == SHADE_OK)"
				"\n%s", idlc_gen_indent(g, idlc_gen_put(g,
				&w->ps[i], "out", idlc_arena_printf(g->a,
				"arg_%s", w->ident[i])), 1));
	return idlc_arena_append(g->a, s, "%s%sreturn idl_st;\n", share ?
				 "shade_typed_share_end(&idl_share);\n" : "",
				 drop);
}

/* Statements of operation w through its table `table`: decode the
 * arguments (shade_typed_args), call `fn` with `self` first, encode the
 * reply (shade_typed_reply) and `return idl_st;`, no indentation.  Its
 * locals, and the pointers to them in idl_a, go to *locals. */
static char *table_stmts(gen *g, const wire_op *w, const char *table,
			 const char *fn, const char *self, char **locals)
{
	char *args = idlc_arena_printf(g->a, "%s", w->mem ? ", mem_ctx" : "");
	char *argv = idlc_arena_printf(g->a, "%s", "");
	size_t i;

	*locals = idlc_arena_printf(g->a, "%s", "");
	for (i = 0; argv && i < w->n; i++) {
		const char *v = idlc_arena_printf(g->a, "arg_%s", w->ident[i]);
		*locals = idlc_arena_append(g->a, *locals, "%s\n",
					    idlc_gen_local(g, &w->ps[i], v));
		args = idlc_arena_append(g->a, args, ", %s%s", w->dir[i] ==
					 IDLC_DIR_IN && w->ps[i].w != W_CODEC ?
					 "" : "&", v);
		argv = idlc_arena_append(g->a, argv, "%s&%s", i ? ", " : "", v);
	}
	if (argv && w->has_result) {
		*locals = idlc_arena_append(g->a, *locals, "%s\n",
					    idlc_gen_local(g, &w->rs,
							   "idl_result"));
		args = idlc_arena_append(g->a, args, ", &idl_result");
		argv = idlc_arena_append(g->a, argv, "%s&idl_result",
					 w->n ? ", " : "");
	}
	if (argv && *argv)
		*locals = idlc_arena_append(g->a, *locals, "void *const idl_a[] "
					    "= { %s };\n", argv);
	if (*locals == NULL || args == NULL || argv == NULL)
		return NULL;
	return idlc_arena_printf(g->a, "idl_st = shade_typed_args(cx, in, &%s, "
		"%s, err);\nif (idl_st == SHADE_OK)\n\tidl_st = %s(%s%s, err);\n"
		"%sreturn idl_st;\n", table, *argv ? "idl_a" : "NULL", fn, self,
		args, w->n_out || w->has_result ? idlc_arena_printf(g->a,
		"if (idl_st == SHADE_OK)\n\tidl_st = shade_typed_reply(out, "
		"&%s, idl_a, err);\n", table) : "");
}

/* Impl field, dispatch case (and shared skeleton) of operation m, member
 * of interface n (C name iface).  Returns 0, 1 when it has no typed
 * form, or -1. */
static int op_skel(gen *g, const idlc_node *n, const char *iface,
		   const idlc_node *m, sb *fields, sb *cases,
		   idlc_tv *functions)
{
	bool core = idlc_gen_shared(g, m->parent);
	const char *decl = core ? idlc_gen_c_name(g, m->parent) : iface;
	const char *id = idlc_gen_ident(g, m->name);
	char *ip, *stmts, *locals, *sig, *body;
	const char *table;
	wire_op w;
	size_t i;
	int t;
	int rc = decl ? idlc_gen_wire_op(g, decl, m, &w) : -1;

	if (rc != 0)
		return rc;
	idlc_gen_byref_server(&w);
	table = idlc_arena_printf(g->a, "idl_%s_%s_op_", decl, m->name);
	t = table ? idlc_gen_op_table(g, table, idlc_arena_printf(g->a,
		"%s_%s", decl, m->name), "SHADE_DISPATCH_INVOKE",
		(m->flags & IDLC_F_ONEWAY) != 0, &w) : -1;
	if (t < 0)
		return -1;
	ip = idlc_arena_printf(g->a, "%s", w.mem ? ", TALLOC_CTX *mem_ctx" : "");
	for (i = 0; ip && i < w.n; i++)
		ip = idlc_arena_append(g->a, ip, ", %s", w.dir[i] == IDLC_DIR_IN ?
				       idlc_gen_in_decl(g, &w.ps[i], w.ident[i]) :
				       idlc_gen_out_decl(g, &w.ps[i], w.ident[i]));
	if (ip && w.has_result)
		ip = idlc_arena_append(g->a, ip, ", %s",
				       idlc_gen_out_decl(g, &w.rs, "result"));
	sig = idlc_arena_printf(g->a, "void *self%s, shade_error **err", ip);
	if (sig == NULL)
		return -1;
	ADD(fields, "%s\t/* operation %s */\n\tshade_status (*%s)(%s);\n",
	    idlc_gen_doc(g, m->doc, "\t"), m->name, id,
	    idlc_gen_wrap(g, sig, strlen(sig) + strlen(id) + 30, 2));
	if (core) {
		const char *skel = idlc_arena_printf(g->a, "idl_%s_%s_skel_",
						     decl, m->name);
		ADD(cases, "\tcase %s_%s_INDEX:\n\t\tif (op == "
		    "SHADE_DISPATCH_INVOKE && impl->%s)\n\t\t\treturn %s("
		    "impl->%s, sv->self,\n\t\t\t\t\tcx, in, out, err);\n"
		    "\t\tbreak;\n", iface, m->name, id, skel, id);
		if (m->parent != n)
			return 0;
		stmts = t ? table_stmts(g, &w, table, "fn", "self", &locals) :
			op_stmts(g, &w, "fn", "self", &locals);
		body = stmts ? idlc_arena_printf(g->a, "%s%s\tshade_status "
			"idl_st;\n\n%s", body_decls(g, stmts, false),
			idlc_gen_indent(g, locals, 1),
			idlc_gen_indent(g, stmts, 1)) : NULL;
		if (body == NULL || idlc_gen_function(g, functions,
			idlc_arena_printf(g->a, "/* %s.%s: decode a request, call "
				"fn, encode its reply (shared like\n * the %s). "
				"*/\n", decl, m->name, t ? "table" : "call"), "static shade_status", skel,
			idlc_arena_printf(g->a, "shade_status (*fn)(%s), void *self, "
				"shade_dispatch_ctx *cx%s, struct shade_cbor_dec "
				"*in, struct shade_buf *out%s, shade_error **err",
				idlc_gen_wrap(g, sig, 100, 2), unused(body, "cx"),
				unused(body, "out")), body) < 0)
			return -1;
		return 0;
	}
	stmts = t ? table_stmts(g, &w, table, idlc_arena_printf(g->a,
			"impl->%s", id), "sv->self", &locals) :
		op_stmts(g, &w, idlc_arena_printf(g->a, "impl->%s", id),
			 "sv->self", &locals);
	if (stmts == NULL)
		return -1;
	ADD(cases, "\tcase %s_%s_INDEX: {\n%s\n\t\tif (op != "
	    "SHADE_DISPATCH_INVOKE || impl->%s == NULL)\n\t\t\tbreak;\n%s\t}\n",
	    iface, m->name, idlc_gen_indent(g, locals, 2), id,
	    idlc_gen_indent(g, stmts, 2));
	return 0;
}

/* Impl fields and dispatch case of attribute a.  Returns 0, 1 when it
 * has no typed form, or -1. */
static int attr_skel(gen *g, const char *iface, const idlc_node *a,
		     sb *fields, sb *cases)
{
	scalar s;
	bool mem, share;
	const char *release, *chunk;
	int r = idlc_gen_wire(g, a->type, idlc_arena_printf(g->a, "%s_%s_seq",
			      iface, a->name), &s);

	if (r <= 0)
		return r < 0 ? -1 : 1;
	release = s.w == W_OBJECT ?
		  "\t\t\tshade_typed_release_later(cx, idl_v);\n" : "";
	chunk = idlc_gen_chunk(g, a, &s);
	mem = idlc_gen_allocates(&s);
	ADD(fields, "%s\t/* attribute %s: read it into *out */\n\tshade_status "
	    "(*get_%s)(void *self%s,\n\t\t%s, shade_error **err);\n",
	    idlc_gen_doc(g, a->doc, "\t"), a->name, a->name,
	    mem ? ", TALLOC_CTX *mem_ctx" : "", idlc_gen_out_decl(g, &s, "out"));
	share = idlc_gen_holds_value(a->type);
	ADD(cases, "\tcase %s_%s_INDEX: {\n\t\t%s\n%s\n\t\tif (op == "
	    "SHADE_DISPATCH_GET && impl->get_%s) {\n\t\t\tidl_st = "
	    "impl->get_%s(sv->self%s, &idl_v, err);\n%s\t\t\tif (idl_st == "
	    "SHADE_OK)%s%s%s%s\t\t\treturn idl_st;\n\t\t}\n", iface, a->name,
	    idlc_gen_local(g, &s, "idl_v"), share ?
	    "\t\tshade_typed_share idl_share;\n" : "", a->name, a->name,
	    mem ? ", mem_ctx" : "", share ? "\t\t\tshade_typed_share_begin("
	    "&idl_share, out);\n" : "", chunk ? " " : "\n", chunk ?
	    put_chunked(g, &s, "idl_v", chunk, 3) : idlc_gen_indent(g,
	    idlc_gen_put(g, &s, "out", "idl_v"), 4), share ?
	    "\t\t\tshade_typed_share_end(&idl_share);\n" : "", release);
	if (!(a->flags & IDLC_F_READONLY)) {
		ADD(fields, "\t/* attribute %s: store value */\n\tshade_status "
		    "(*set_%s)(void *self,\n\t\t%s, shade_error **err);\n",
		    a->name, a->name, idlc_gen_in_decl(g, &s, "value"));
		ADD(cases, "\t\tif (op == SHADE_DISPATCH_SET && impl->set_%s) {\n"
		    "%s%s%s\t\t\tif (idl_st == SHADE_OK)\n\t\t\t\tidl_st = "
		    "impl->set_%s(sv->self, %sidl_v, err);\n%s\t\t\treturn "
		    "idl_st;\n\t\t}\n", a->name, share ? "\t\t\t"
		    "shade_typed_share_begin(&idl_share, in);\n" : "",
		    idlc_gen_indent(g, idlc_gen_get(g, &s, "in", "idl_v",
		    "mem_ctx"), 3), share ? "\t\t\tshade_typed_share_end("
		    "&idl_share);\n" : "", a->name,
		    s.arr ? idlc_arena_printf(g->a, "(const %s *)&", s.c) :
		    s.w == W_CODEC ? "&" : "", release);
	}
	ADD(cases, "\t\tbreak;\n\t}\n");
	return 0;
}

/* The body of serve: the typed object, and, when `eager` (the indexes
 * of its @eager members, n of them) is not empty, those members marked
 * so that their values ride with each reference sent. */
static char *serve_body(gen *g, const char *iface, const char *eager,
			size_t n)
{
	if (n == 0)
		return idlc_arena_printf(g->a, "\treturn shade_typed_serve(&%s_"
			"shape, %s_dispatch_, impl, self,\n\t\t\t\t out, "
			"err);\n", iface, iface);
	return idlc_arena_printf(g->a, "\t/* @eager: read when a reference "
		"is sent, they ride with it */\n\tstatic const uint32_t "
		"idl_eager[] = {%s };\n\tshade_status idl_st = "
		"shade_typed_serve(&%s_shape, %s_dispatch_,\n\t\t\t\t\t\t"
		"impl, self, out, err);\n\n\tif (idl_st == SHADE_OK) {\n\t\t"
		"idl_st = shade_object_typed_eager(*out, idl_eager, %zu, err);"
		"\n\t\tif (idl_st != SHADE_OK)\n\t\t\tshade_ref_release(*out);"
		"\n\t}\n\treturn idl_st;\n", eager, iface, iface, n);
}

/* The dispatch function of interface `iface` (shape name qname) over
 * `cases`, then serve (with the @eager members `eager`, n of them) and
 * served_self. */
static int dispatch(gen *g, const char *iface, const char *qname,
		    const char *cases, const char *eager, size_t n,
		    idlc_tv *functions)
{
	const char *sw = idlc_arena_printf(g->a, "\tswitch (member) {\n%s"
		"\tdefault:\n\t\tbreak;\n\t}\n\treturn shade_error_set(err, "
		"SHADE_ERR_UNIMPLEMENTED, \"%s: member \"\n\t\t\t       "
		"\"%%u is not implemented\", (unsigned)member);\n", cases, qname);
	const char *head;

	if (sw == NULL)
		return -1;
	head = idlc_arena_printf(g->a, "%s%s%s%s",
		idlc_gen_uses(sw, "sv") ?
		"\tconst shade_typed_servant *sv = servant;\n" : "",
		idlc_gen_uses(sw, "impl") ? idlc_arena_printf(g->a,
		"\tconst %s_impl *impl = sv->impl;\n", iface) : "",
		body_decls(g, sw, true), idlc_gen_uses(sw, "sv") ? "\n" : "");
	if (head == NULL || idlc_gen_function(g, functions, idlc_arena_printf(
		g->a, "/* Decode a request for member `member` of a served %s, "
		"call the\n * implementation, encode its reply. */\n", qname),
		"static shade_status", idlc_arena_printf(g->a, "%s_dispatch_",
		iface), idlc_arena_printf(g->a, "void *servant%s, "
		"shade_dispatch_ctx *cx%s, uint32_t member, shade_dispatch_op "
		"op%s, struct shade_cbor_dec *in%s, struct shade_buf *out%s, "
		"shade_error **err", idlc_gen_uses(sw, "sv") ? "" : " SHADE_UNUSED",
		idlc_gen_uses(head, "cx") || idlc_gen_uses(sw, "cx") ? "" :
		" SHADE_UNUSED",
		unused(sw, "op"), unused(sw, "in"), unused(sw, "out")),
		idlc_arena_printf(g->a, "%s%s", head, sw)) < 0)
		return -1;
	if (idlc_gen_function(g, functions, "", "shade_status",
		idlc_arena_printf(g->a, "%s_serve", iface), idlc_arena_printf(
		g->a, "const %s_impl *impl, void *self, shade_ref **out, "
		"shade_error **err", iface), serve_body(g, iface, eager, n)) < 0)
		return -1;
	return idlc_gen_function(g, functions, "", "void *",
		idlc_arena_printf(g->a, "%s_served_self", iface),
		"shade_ref *ref", idlc_arena_printf(g->a, "\treturn "
		"shade_typed_served_self(ref, &%s_shape);\n", iface));
}

/* See gen_int.h. */
int idlc_gen_skels(gen *g, const idlc_node *n, const smember *members,
		   size_t nm, idlc_tv *o, idlc_tv *functions)
{
	const char *iface = idlc_gen_c_name(g, n);
	sb fields = { 0 }, cases = { 0 }, eager = { 0 };
	size_t i, n_eager = 0;
	int rc = -1;

	if (iface == NULL)
		return -1;
	for (i = 0; i < nm; i++) {
		const idlc_node *m = members[i].node;
		int r = m->kind == IDLC_ATTRIBUTE ?
			attr_skel(g, iface, m, &fields, &cases) :
			op_skel(g, n, iface, m, &fields, &cases, functions);
		if (r < 0)
			goto done;
		if (members[i].kind == SHADE_MEMBER_READONLY &&
		    idlc_find_annotation(m, "eager")) {
			if (idlc_sb_add(g, &eager, " %s_%s_INDEX,", iface,
					m->name) < 0)
				goto done;
			n_eager++;
		}
	}
	if (eager.len)
		eager.s[--eager.len] = '\0'; /* the last comma */
	if (idlc_tv_set_str(o, "impl_fields", "%s", idlc_sbs(&fields)) < 0 ||
	    dispatch(g, iface, idlc_gen_dotted_name(g, n), idlc_sbs(&cases),
		     idlc_sbs(&eager), n_eager, functions) < 0)
		goto done;
	rc = 0;
done:
	idlc_sb_free(&fields);
	idlc_sb_free(&cases);
	idlc_sb_free(&eager);
	return rc;
}
