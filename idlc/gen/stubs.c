/*
 * idlc/gen/stubs.c - the client side of an interface: narrow, and one
 * stub per member with a typed form.
 *
 * A stub writes its arguments straight into the request with the CBOR
 * item functions and reads the reply straight into locals (no dynamic
 * values in between).  What it allocates lands on a per-call context
 * under the request; only when everything decoded are the results moved
 * onto the caller's mem_ctx (shade_typed_adopt) and stored through the
 * out pointers, so a failed call leaves both as they were.  mem_ctx is a
 * parameter only where something allocated comes back.
 *
 * The operations of a base interface are shared with the interfaces
 * that inherit them: its stubs call one static function per operation
 * taking the reference and the member number (idl_I_op_).
 */
#include <string.h>

#include "gen/gen_int.h"

/* What a stub body is made of. */
typedef struct call {
	const char *ref;     /* the reference expression */
	const char *member;  /* the member number expression */
	const char *op;      /* SHADE_DISPATCH_INVOKE, _GET or _SET */
	const char *name;    /* the stub's name, for the error message */
	bool oneway;         /* send without waiting for a reply */
	bool mem;            /* decode onto a per-call context */
	bool share;          /* encode and decode in share scopes */
	sb locals;           /* declarations of the reply's locals */
	sb puts;             /* statements encoding the arguments */
	sb gets;             /* statements decoding the reply */
	sb stores;           /* statements storing the locals (success) */
	sb drops;            /* statements releasing them (failure) */
} call;

/* The body of a stub from its pieces. */
static char *call_body(gen *g, const call *c)
{
	char *code = idlc_arena_printf(g->a, "%s%s", idlc_sbs(&c->puts),
				       idlc_sbs(&c->gets));
	char *out = idlc_arena_printf(g->a, "\tshade_request *idl_call;\n"
		"\tstruct shade_buf *idl_args;\n\tstruct shade_cbor_dec *idl_res "
		"= NULL;\n%s%s%s%s%s\tshade_status idl_st;\n\n\tidl_st = "
		"shade_request_begin(%s, %s,\n\t\t\t\t  %s, %s, &idl_call, "
		"&idl_args, err);\n\tif (idl_st < 0)\n\t\treturn idl_st;\n",
		c->oneway ? "\tstatic const shade_call_opts idl_oneway = "
		"{ .oneway = true };\n" : "",
		c->mem ? "\tTALLOC_CTX *idl_mem;\n" : "",
		c->share ? "\tshade_typed_share idl_share;\n" : "",
		idlc_gen_temps(g, code ? code : ""), idlc_sbs(&c->locals),
		c->ref, c->member, c->op, c->oneway ? "&idl_oneway" : "NULL");

	if (c->mem)
		out = idlc_arena_append(g->a, out, "\tidl_mem = talloc_new("
			"idl_call);\n\tif (idl_mem == NULL)\n\t\tidl_st = "
			"shade_error_set(err, SHADE_ERR_NOMEM, \"out of memory\");"
			"\n");
	out = idlc_arena_append(g->a, out, "%s%s%s\tif (idl_st == SHADE_OK)\n"
		"\t\tidl_st = shade_request_finish(idl_call, &idl_res, err);\n"
		"%s%s%s", c->share ? "\tshade_typed_share_begin(&idl_share, "
		"idl_args);\n" : "", idlc_sbs(&c->puts), c->share ?
		"\tshade_typed_share_end(&idl_share);\n" : "", c->share &&
		c->gets.len ? "\tshade_typed_share_begin(&idl_share, idl_res);\n"
		: "", idlc_sbs(&c->gets), c->share && c->gets.len ?
		"\tshade_typed_share_end(&idl_share);\n" : "");
	if (c->mem)
		out = idlc_arena_append(g->a, out, "\tif (idl_st == SHADE_OK)\n"
			"\t\tidl_st = shade_typed_adopt(mem_ctx, idl_mem, err);\n");
	if (c->stores.len)
		out = idlc_arena_append(g->a, out, "\tif (idl_st == SHADE_OK) {\n"
					"%s\t}\n", idlc_sbs(&c->stores));
	return idlc_arena_append(g->a, out, "\ttalloc_free(idl_call);\n"
		"\tif (idl_st < 0) {\n%s\t\tshade_error_set(err, idl_st, "
		"\"%s failed\");\n\t}\n\treturn idl_st;\n", idlc_sbs(&c->drops),
		c->name);
}

/* Free the texts of a call. */
static void call_free(call *c)
{
	idlc_sb_free(&c->locals);
	idlc_sb_free(&c->puts);
	idlc_sb_free(&c->gets);
	idlc_sb_free(&c->stores);
	idlc_sb_free(&c->drops);
}

/* Decode a reply value of type s into local `local`, stored through
 * `out` on success. */
static int reply_value(gen *g, call *c, const scalar *s, const char *local,
		       const char *out)
{
	ADD(&c->locals, "\t%s\n", idlc_gen_local(g, s, local));
	ADD(&c->gets, "\tif (idl_st == SHADE_OK) {\n%s\t}\n", idlc_gen_indent(g,
	    idlc_gen_get(g, s, "idl_res", local, "idl_mem"), 2));
	ADD(&c->stores, "\t\t%s\n", idlc_gen_store(g, s, out, local));
	if (s->w == W_OBJECT)
		ADD(&c->drops, "\t\tshade_ref_release(%s);\n", local);
	return 0;
}

/* Decode a @chunk(n) sequence of type s into local `local`, stored
 * through `out` on success: the reply is a reference to a list, read n
 * items per FORCE until a chunk comes back short. */
static int chunked_value(gen *g, call *c, const scalar *s, const char *n,
			 const char *local, const char *out)
{
	ADD(&c->locals, "\tshade_ref *idl_list = NULL;\n\tstruct shade_cbor_dec "
	    "*idl_d = NULL;\n\t%s\n\t%s\n", idlc_gen_local(g, s, local),
	    idlc_gen_local(g, s, "idl_part"));
	ADD(&c->gets, "\tif (idl_st == SHADE_OK)\n\t\tidl_st = "
	    "shade_typed_get_ref(NULL, idl_call, idl_res, &idl_list, err);\n"
	    "\t/* @chunk(%s): a remote list, read %s items per round trip */\n"
	    "\twhile (idl_st == SHADE_OK) {\n\t\tidl_st = shade_typed_force("
	    "idl_mem, idl_list, %s.len, %s,\n\t\t\t\t\t   &idl_d, err);\n"
	    "\t\tif (idl_st == SHADE_OK)\n\t\t\tidl_st = idl_get_%s_(NULL, "
	    "idl_call, idl_mem, idl_d, &idl_part, err);\n\t\tTALLOC_FREE("
	    "idl_d);\n\t\tif (idl_st == SHADE_OK)\n\t\t\tidl_st = "
	    "shade_typed_seq_append(idl_mem, &%s.items, &%s.len,\n\t\t"
	    "\t\tidl_part.items, idl_part.len, sizeof(*%s.items), err);\n"
	    "\t\tif (idl_part.len < %s)\n\t\t\tbreak;\n\t}\n\t"
	    "shade_ref_release(idl_list);\n", n, n, local, n, s->c, local,
	    local, local, n);
	ADD(&c->stores, "\t\t%s\n", idlc_gen_store(g, s, out, local));
	return 0;
}

/* Encode argument e of type s. */
static int argument(gen *g, call *c, const scalar *s, const char *e)
{
	ADD(&c->puts, "\tif (idl_st == SHADE_OK)\n%s", idlc_gen_indent(g,
	    idlc_gen_put(g, s, "idl_args", e), 2));
	return 0;
}

/* Share the @byref argument e (a pointer to a sequence or a struct of
 * IDL type t, C type s) for the call: encode it, then pass a reference
 * to a list of its items or to an object whose readonly attributes are
 * its fields. */
static int byref_argument(gen *g, call *c, const scalar *s, const char *e,
			  const idlc_type *t)
{
	const idlc_node *st = idlc_gen_struct_of(t);
	const char *shape = st ? idlc_gen_fields_shape(g, st) : "";

	if (shape == NULL)
		return -1;
	ADD(&c->puts, "\tif (idl_st == SHADE_OK) {\n\t\t/* @byref: shared as "
	    "%s */\n%s\t\tstruct shade_buf *idl_b = shade_buf_new(idl_call, "
	    "64);\n\n\t\tidl_st = idl_b == NULL ? shade_error_set(err, "
	    "SHADE_ERR_NOMEM,\n\t\t\t\t\t\"out of memory\")\n\t\t\t: "
	    "idl_put_%s_(NULL, idl_call, idl_b, %s, err);\n\t\tif (idl_st == "
	    "SHADE_OK)\n\t\t\tidl_st = %s;\n\t}\n", st ? "an object whose "
	    "attributes are its fields" : "a list the callee reads",
	    idlc_gen_indent(g, shape, 2), s->c, e, st ?
	    "shade_typed_put_fields(NULL, idl_call, idl_args,\n\t\t\t\t"
	    "\t\t\t&idl_shape, idl_b, err)" :
	    "shade_typed_put_list(NULL, idl_call, idl_args, idl_b,\n\t\t\t"
	    "\t\t\t\t      err)");
	return 0;
}

/* Parameters after self of a stub for w: ", TALLOC_CTX *mem_ctx, ...". */
static char *op_params(gen *g, const wire_op *w)
{
	char *p = idlc_arena_printf(g->a, "%s", w->mem ?
				    ", TALLOC_CTX *mem_ctx" : "");
	size_t i;

	for (i = 0; p && i < w->n; i++)
		p = idlc_arena_append(g->a, p, ", %s", w->dir[i] == IDLC_DIR_IN ?
				      idlc_gen_in_decl(g, &w->ps[i], w->ident[i]) :
				      idlc_gen_out_decl(g, &w->ps[i], w->ident[i]));
	if (p && w->has_result)
		p = idlc_arena_append(g->a, p, ", %s",
				      idlc_gen_out_decl(g, &w->rs, "result"));
	return p;
}

/* The call of operation op (values w) on ref/member into c. */
static int op_call(gen *g, const wire_op *w, call *c)
{
	size_t i;

	c->op = "SHADE_DISPATCH_INVOKE";
	c->mem = w->mem;
	c->share = w->share;
	ADD(&c->puts, "\tif (idl_st == SHADE_OK)\n\t\tidl_st = "
	    "shade_cbor_put_array(idl_args, %zu);\n", w->n_in);
	for (i = 0; i < w->n; i++) {
		const char *e = w->dir[i] == IDLC_DIR_IN ? w->ident[i] :
			idlc_arena_printf(g->a, "*%s", w->ident[i]);
		if (w->byref[i]) {
			if (byref_argument(g, c, &w->ps[i], w->ident[i],
					   w->types[i]) < 0)
				return -1;
			continue;
		}
		if (w->dir[i] != IDLC_DIR_OUT &&
		    argument(g, c, &w->ps[i], w->ps[i].w == W_CODEC &&
			     w->dir[i] == IDLC_DIR_IN ?
			     idlc_arena_printf(g->a, "*%s", e) : e) < 0)
			return -1;
	}
	if (w->n_out)
		ADD(&c->gets, "\tif (idl_st == SHADE_OK)\n\t\tidl_st = "
		    "shade_typed_get_array(idl_res, %zu, err);\n",
		    w->n_out + w->has_result);
	if (w->has_result &&
	    (w->chunk ? chunked_value(g, c, &w->rs, w->chunk, "idl_result",
				      "result") :
	     reply_value(g, c, &w->rs, "idl_result", "result")) < 0)
		return -1;
	for (i = 0; i < w->n; i++)
		if (w->dir[i] != IDLC_DIR_IN &&
		    reply_value(g, c, &w->ps[i], idlc_arena_printf(g->a,
				"arg_%s", w->ident[i]), w->ident[i]) < 0)
			return -1;
	return 0;
}

/* The body of a stub that calls through the table `table` of its
 * values w: the pointers to its parameters (in order, the result last)
 * and shade_typed_call(). */
static char *table_body(gen *g, const char *member, const char *table,
			const wire_op *w, const char *res)
{
	char *argv = idlc_arena_printf(g->a, "%s", "");
	size_t i;

	for (i = 0; argv && i < w->n; i++)
		argv = idlc_arena_append(g->a, argv, "%s%s%s", i ? ", " : "",
			w->dir[i] != IDLC_DIR_IN ? "" : w->ps[i].w == W_CODEC ?
			"(void *)" : "&", w->ident[i]);
	if (argv && w->has_result)
		argv = idlc_arena_append(g->a, argv, "%s%s", w->n ? ", " : "",
					 res);
	if (argv == NULL)
		return NULL;
	return idlc_arena_printf(g->a, "%s%s%s\treturn shade_typed_call(self->ref, "
		"%s,\n\t\t\t\t&%s, %s, %s, err);\n", *argv ?
		"\tvoid *const idl_a[] = { " : "", argv, *argv ? " };\n\n" : "",
		member, table, w->mem ? "mem_ctx" : "NULL",
		*argv ? "idl_a" : "NULL");
}

/* A stub: its prototype into `protos`, its code into `functions`. */
static int push_stub(gen *g, idlc_tv *protos, idlc_tv *functions,
		     const char *doc, const char *iface, const char *name,
		     const char *params, const char *body)
{
	const char *all = idlc_arena_printf(g->a, "%s *self%s, shade_error "
					    "**err", iface, params);

	if (all == NULL ||
	    idlc_gen_function(g, protos, doc, "shade_status", name, all,
			      "") < 0)
		return -1;
	return idlc_gen_function(g, functions, "", "shade_status", name, all,
				 body);
}

/* The future-returning form of attribute a (C type s, an interface) of
 * interface iface: a typed reference to the object it holds, given at
 * once (shade_promise_attr): on a promise, a promise of the attribute
 * of its result, read at the peer by the next call that uses it (no
 * message of its own, doc/protocol.md §13). */
static int attr_async_stub(gen *g, const char *iface, const idlc_node *a,
			   const scalar *s, idlc_tv *protos,
			   idlc_tv *functions)
{
	const char *stub = idlc_arena_printf(g->a, "%s_get_%s_async", iface,
					     a->name);
	char *body = idlc_arena_printf(g->a, "\tshade_ref *idl_r = NULL;\n"
		"\tshade_status idl_st = shade_promise_attr(self->ref, \"%s\", "
		"&idl_r, err);\n\n\tif (idl_st == SHADE_OK)\n\t\tidl_st = "
		"%s_narrow(mem_ctx, idl_r, out, err);\n\tshade_ref_release("
		"idl_r);\n\tif (idl_st < 0) {\n\t\tshade_error_set(err, idl_st, "
		"\"%s failed\");\n\t}\n\treturn idl_st;\n", a->name, s->iface,
		stub);
	char *doc = idlc_arena_printf(g->a, "/* Read attribute %s without "
		"waiting: *out (on mem_ctx) is a typed\n * reference to the %s "
		"it holds.  On a promise it is a promise too, and\n * costs no "
		"message: calls made on it (or passing it) read the\n * "
		"attribute where the result is, pipelined (one round trip for "
		"the\n * chain). */\n", a->name, s->iface);

	if (stub == NULL || body == NULL || doc == NULL)
		return -1;
	return push_stub(g, protos, functions, doc, iface, stub,
			 idlc_arena_printf(g->a, ", TALLOC_CTX *mem_ctx, %s "
					   "**out", s->iface), body);
}

/* Stubs of attribute a, member idx.  Returns 0, 1 when it has no typed
 * form, or -1. */
static int attr_stubs(gen *g, const char *iface, const idlc_node *a,
		      idlc_tv *protos, idlc_tv *functions)
{
	const char *stub = idlc_arena_printf(g->a, "%s_get_%s", iface, a->name);
	const char *index = idlc_arena_printf(g->a, "self->map[%s_%s_INDEX]",
					      iface, a->name);
	call c = { .ref = "self->ref", .member = index, .name = stub,
		   .op = "SHADE_DISPATCH_GET" };
	scalar s;
	wire_op w;
	char *doc;
	const char *chunk, *table;
	int t;
	int rc = idlc_gen_wire(g, a->type, idlc_arena_printf(g->a,
			       "%s_%s_seq", iface, a->name), &s);

	if (rc <= 0)
		return rc < 0 ? -1 : 1;
	rc = -1;
	c.mem = idlc_gen_allocates(&s);
	doc = idlc_arena_printf(g->a, "%s/* Read attribute %s%s%s. */\n",
				idlc_gen_doc(g, a->doc, ""), a->name, c.mem ?
				" (what comes back lands on mem_ctx)" : "",
				idlc_find_annotation(a, "eager") ? ";\n * @eager:"
				" no round trip when its value came with the "
				"reference" : "");
	chunk = idlc_gen_chunk(g, a, &s);
	c.share = idlc_gen_holds_value(a->type);
	memset(&w, 0, sizeof(w));
	w.has_result = true;
	w.rs = s;
	w.mem = c.mem;
	w.chunk = chunk;
	table = idlc_arena_printf(g->a, "idl_%s_op_", stub);
	t = table ? idlc_gen_op_table(g, table, stub, c.op, false, &w) : -1;
	if (t < 0)
		goto done;
	if (doc == NULL || (t == 0 && (chunk ? chunked_value(g, &c, &s, chunk,
						"idl_v", "out") :
			    reply_value(g, &c, &s, "idl_v", "out")) < 0) ||
	    push_stub(g, protos, functions, doc, iface, stub,
		      idlc_arena_printf(g->a, "%s, %s", c.mem ?
					", TALLOC_CTX *mem_ctx" : "",
					idlc_gen_out_decl(g, &s, "out")),
		      t ? table_body(g, index, table, &w, "out") :
		      call_body(g, &c)) < 0)
		goto done;
	if (s.w == W_IFACE && !chunk &&
	    attr_async_stub(g, iface, a, &s, protos, functions) < 0)
		goto done;
	call_free(&c);
	if (a->flags & IDLC_F_READONLY) {
		rc = 0;
		goto done;
	}
	c.name = stub = idlc_arena_printf(g->a, "%s_set_%s", iface, a->name);
	c.op = "SHADE_DISPATCH_SET";
	c.mem = false;
	memset(&w, 0, sizeof(w));
	w.ps[0] = s;
	w.ident[0] = "value";
	w.dir[0] = IDLC_DIR_IN;
	w.n = w.n_in = 1;
	table = idlc_arena_printf(g->a, "idl_%s_op_", stub);
	t = table ? idlc_gen_op_table(g, table, stub, c.op, false, &w) : -1;
	if (t < 0 || (t == 0 && argument(g, &c, &s, s.w == W_CODEC ?
					 "*value" : "value") < 0) ||
	    push_stub(g, protos, functions, idlc_arena_printf(g->a,
		      "/* Write attribute %s. */\n", a->name), iface, stub,
		      idlc_arena_printf(g->a, ", %s", idlc_gen_in_decl(g, &s,
								 "value")),
		      t ? table_body(g, index, table, &w, NULL) :
		      call_body(g, &c)) < 0)
		goto done;
	rc = 0;
done:
	call_free(&c);
	return rc;
}

/* The future-returning form of operation m (values w) of interface
 * iface, for an operation that returns an interface and has no out or
 * inout parameters: it sends the call with opts.promise and gives a
 * typed reference to the result at once (a promise: calls made on it
 * are pipelined, doc/protocol.md §13).  Returns 0, 1 when m has no such
 * form, or -1. */
static int op_async_stub(gen *g, const char *iface, const idlc_node *m,
			 const wire_op *w, const char *params,
			 idlc_tv *protos, idlc_tv *functions)
{
	const char *stub = idlc_arena_printf(g->a, "%s_%s_async", iface,
					     m->name);
	call c = { .ref = "self->ref", .name = stub };
	char *body, *doc;
	int rc = -1;

	if (!w->has_result || w->rs.w != W_IFACE || w->n_out > 0 ||
	    (m->flags & IDLC_F_ONEWAY))
		return 1;
	if (op_call(g, w, &c) < 0)
		goto done;
	body = idlc_arena_printf(g->a, "\tstatic const shade_call_opts "
		"idl_promise = { .promise = true };\n\tshade_request *idl_call;\n"
		"\tstruct shade_buf *idl_args;\n\tshade_ref *idl_r = NULL;\n%s"
		"%s\tshade_status idl_st;\n\n\tidl_st = shade_request_begin("
		"self->ref, self->map[%s_%s_INDEX],\n\t\t\t\t  "
		"SHADE_DISPATCH_INVOKE, &idl_promise, &idl_call, &idl_args, "
		"err);\n\tif (idl_st < 0)\n\t\treturn idl_st;\n%s%s%s"
		"\tif (idl_st == SHADE_OK)\n\t\tidl_st = shade_request_promise("
		"idl_call, &idl_r, err);\n\tif (idl_st == SHADE_OK && idl_r != "
		"NULL)\n\t\tidl_st = %s_narrow(mem_ctx, idl_r, result, err);\n"
		"\telse if (idl_st == SHADE_OK)\n\t\t*result = NULL;\n"
		"\tshade_ref_release(idl_r);\n\ttalloc_free(idl_call);\n"
		"\tif (idl_st < 0) {\n\t\tshade_error_set(err, idl_st, \"%s "
		"failed\");\n\t}\n\treturn idl_st;\n",
		idlc_gen_temps(g, idlc_sbs(&c.puts)), c.share ?
		"\tshade_typed_share idl_share;\n" : "", iface, m->name,
		c.share ? "\tshade_typed_share_begin(&idl_share, idl_args);\n" :
		"", idlc_sbs(&c.puts), c.share ?
		"\tshade_typed_share_end(&idl_share);\n" : "", w->rs.iface,
		stub);
	doc = idlc_arena_printf(g->a, "/* Call %s without waiting: *result "
		"(on mem_ctx) is a promise of the %s it\n * returns, usable at "
		"once; calls made on it are pipelined (one round\n * trip for "
		"the chain) and a failure of %s reaches them. */\n", m->name,
		w->rs.iface, m->name);
	if (body == NULL || doc == NULL ||
	    push_stub(g, protos, functions, doc, iface, stub, params, body) < 0)
		goto done;
	rc = 0;
done:
	call_free(&c);
	return rc;
}

/* Stub of operation m, member of interface n (C name iface).  An
 * operation of a shared interface gets a stub that calls its shared
 * call, generated with its declaring interface.  Returns 0, 1 when it
 * has no typed form, or -1. */
static int op_stub(gen *g, const idlc_node *n, const char *iface,
		   const idlc_node *m, idlc_tv *protos, idlc_tv *functions)
{
	bool core = idlc_gen_shared(g, m->parent);
	const char *decl = core ? idlc_gen_c_name(g, m->parent) : iface;
	const char *stub = idlc_arena_printf(g->a, "%s_%s", iface, m->name);
	const char *index = idlc_arena_printf(g->a, "self->map[%s_%s_INDEX]",
					      iface, m->name);
	call c = { .ref = core ? "idl_ref" : "self->ref",
		   .member = core ? "idl_member" : index, .name = stub,
		   .oneway = (m->flags & IDLC_F_ONEWAY) != 0 };
	const char *params, *body, *doc, *table;
	wire_op w;
	size_t i;
	int t;
	int rc = decl ? idlc_gen_wire_op(g, decl, m, &w) : -1;

	if (rc != 0)
		return rc;
	rc = -1;
	params = op_params(g, &w);
	table = idlc_arena_printf(g->a, "idl_%s_%s_op_", decl, m->name);
	t = params && table ? idlc_gen_op_table(g, table,
		idlc_arena_printf(g->a, "%s_%s", decl, m->name),
		"SHADE_DISPATCH_INVOKE", c.oneway, &w) : -1;
	if (t < 0)
		goto done;
	if (t > 0)
		body = table_body(g, index, table, &w, "result");
	else if (op_call(g, &w, &c) < 0)
		goto done;
	else
		body = call_body(g, &c);
	if (core && t == 0) {
		const char *core_name = idlc_arena_printf(g->a, "idl_%s_%s_",
							  decl, m->name);
		char *args = idlc_arena_printf(g->a, "%s", w.mem ? ", mem_ctx"
					       : "");
		for (i = 0; args && i < w.n; i++)
			args = idlc_arena_append(g->a, args, ", %s", w.ident[i]);
		if (args && w.has_result)
			args = idlc_arena_append(g->a, args, ", result");
		if (m->parent == n && idlc_gen_function(g, functions,
			idlc_arena_printf(g->a, "/* %s.%s: the call, shared by "
					  "every interface that has it. */\n",
					  decl, m->name), "static shade_status",
			core_name, idlc_arena_printf(g->a, "shade_ref *idl_ref, "
				"uint32_t idl_member%s, shade_error **err",
				params), body) < 0)
			goto done;
		body = idlc_arena_printf(g->a, "\treturn %s(self->ref, %s%s, "
					 "err);\n", core_name, index, args);
	}
	doc = idlc_arena_printf(g->a, "%s/* Call %s%s%s. */\n",
				idlc_gen_doc(g, m->doc, ""), m->name,
				(m->flags & IDLC_F_ONEWAY) ?
				" (oneway: no reply)" : "", w.mem ?
				" (what comes back lands on mem_ctx)" : "");
	if (doc == NULL || body == NULL ||
	    push_stub(g, protos, functions, doc, iface, stub, params, body) < 0 ||
	    op_async_stub(g, iface, m, &w, params, protos, functions) < 0)
		goto done;
	rc = 0;
done:
	call_free(&c);
	return rc;
}

/* The narrow function of interface `iface`. */
static int narrow(gen *g, const char *iface, idlc_tv *functions)
{
	return idlc_gen_function(g, functions, "", "shade_status",
		idlc_arena_printf(g->a, "%s_narrow", iface),
		idlc_arena_printf(g->a, "TALLOC_CTX *mem_ctx, shade_ref *ref, %s "
				  "**out, shade_error **err", iface),
		idlc_arena_printf(g->a, "\tvoid *t = NULL;\n\tshade_status idl_st "
				  "= shade_typed_narrow(mem_ctx, ref, &%s_shape,"
				  "\n\t\t\t\t\t\t  sizeof(%s), &t, err);\n\n"
				  "\tif (idl_st == SHADE_OK)\n\t\t*out = t;\n"
				  "\treturn idl_st;\n", iface, iface));
}

/* See gen_int.h. */
int idlc_gen_stubs(gen *g, const idlc_node *n, const smember *members,
		   size_t nm, idlc_tv *o, idlc_tv *functions)
{
	const char *iface = idlc_gen_c_name(g, n);
	idlc_tv *protos = idlc_tv_list(g->a), *skipped = idlc_tv_list(g->a);
	size_t i;
	int rc;

	if (!iface || !protos || !skipped || narrow(g, iface, functions) < 0)
		return -1;
	for (i = 0; i < nm; i++) {
		const idlc_node *m = members[i].node;
		if (m->kind == IDLC_ATTRIBUTE)
			rc = attr_stubs(g, iface, m, protos, functions);
		else
			rc = op_stub(g, n, iface, m, protos, functions);
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
	if (idlc_tv_set(o, "stubs", protos) < 0 ||
	    idlc_tv_set(o, "skipped", skipped) < 0)
		return -1;
	return 0;
}
