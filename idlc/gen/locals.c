/*
 * idlc/gen/locals.c - local interfaces: used in the process that
 * implements them, never across the wire.
 *
 * A local interface L maps to a table of implementation functions
 * (L_impl, the same shape as a remote interface's), a plain C object
 * holding the table and its self pointer (struct L; not a shade
 * reference, so it cannot be passed where a reference goes), L_local()
 * to make one, and one call per member (L_op, L_get_a, L_set_a) that
 * calls the implementation directly.  A parameter may itself be a local
 * interface (`L2 *`).  A non-local interface whose operation or
 * attribute uses a local interface is refused with a diagnostic.
 */
#include <string.h>

#include "gen/gen_int.h"

/* The local interface behind t (through typedefs), or NULL. */
static const idlc_node *local_iface(const idlc_type *t)
{
	const idlc_type *u = idlc_type_unalias(t);
	const idlc_node *d;

	if (u == NULL || u->kind != IDLC_T_NAMED || u->ref == NULL)
		return NULL;
	d = idlc_gen_defn(u->ref);
	return (d->kind == IDLC_INTERFACE && (d->flags & IDLC_F_LOCAL)) ?
	       d : NULL;
}

/* How type t is passed to a local call: a local interface as `L *`, the
 * rest as in typed stubs.  1 with *s filled, 0 when it has no C form
 * here, -1 on out of memory. */
static int local_param(gen *g, const idlc_type *t, const char *anon,
		       scalar *s)
{
	const idlc_node *l = local_iface(t);

	if (l == NULL)
		return idlc_gen_wire(g, t, anon, s);
	memset(s, 0, sizeof(*s));
	s->w = W_LOCAL;
	s->iface = idlc_gen_c_name(g, l);
	s->c = s->iface ? idlc_arena_printf(g->a, "%s *", s->iface) : NULL;
	return s->c ? 1 : -1;
}

/* The parameters of a local call of operation op; see gen_int.h. */
char *idlc_gen_local_params(gen *g, const char *name, const idlc_node *op,
		       char **args, bool *skip)
{
	char *p = idlc_arena_printf(g->a, "%s", "");
	const idlc_node *q;
	scalar s;
	bool mem = false;
	int r;

	*args = idlc_arena_printf(g->a, "%s", "");
	for (q = op->children; q && p && *args; q = q->next) {
		const char *id = idlc_gen_ident(g, q->name);
		r = local_param(g, q->type, idlc_arena_printf(g->a, "%s_%s_%s_seq",
				name, op->name, q->name), &s);
		if (r <= 0) {
			*skip = r == 0;
			return NULL;
		}
		mem |= q->dir != IDLC_DIR_IN && idlc_gen_allocates(&s);
		p = idlc_arena_append(g->a, p, ", %s", q->dir == IDLC_DIR_IN ?
				      idlc_gen_in_decl(g, &s, id) :
				      idlc_gen_out_decl(g, &s, id));
		*args = idlc_arena_append(g->a, *args, ", %s", id);
	}
	if (p && *args && op->type && op->type->kind != IDLC_T_VOID) {
		r = local_param(g, op->type, idlc_arena_printf(g->a,
				"%s_%s_result_seq", name, op->name), &s);
		if (r <= 0) {
			*skip = r == 0;
			return NULL;
		}
		mem |= idlc_gen_allocates(&s);
		p = idlc_arena_append(g->a, p, ", %s",
				      idlc_gen_out_decl(g, &s, "result"));
		*args = idlc_arena_append(g->a, *args, ", result");
	}
	if (mem && p && *args) {
		p = idlc_arena_printf(g->a, ", TALLOC_CTX *mem_ctx%s", p);
		*args = idlc_arena_printf(g->a, ", mem_ctx%s", *args);
	}
	return p;
}

/* Attribute accessor parameters; see gen_int.h. */
char *idlc_gen_local_attr_params(gen *g, const char *name, const idlc_node *m,
				 bool set, char **args, bool *skip)
{
	scalar s;
	int r = local_param(g, m->type, idlc_arena_printf(g->a, "%s_%s_seq",
			    name, m->name), &s);

	*skip = r == 0;
	if (r <= 0)
		return NULL;
	if (set) {
		*args = ", value";
		return idlc_arena_printf(g->a, ", %s",
					 idlc_gen_in_decl(g, &s, "value"));
	}
	*args = idlc_gen_allocates(&s) ? ", mem_ctx, out" : ", out";
	return idlc_arena_printf(g->a, "%s, %s", idlc_gen_allocates(&s) ?
				 ", TALLOC_CTX *mem_ctx" : "",
				 idlc_gen_out_decl(g, &s, "out"));
}

/* One member of local interface `name` (shape name qname): its impl
 * field (appended to fields) and its call (prototype onto protos,
 * function onto functions).  fn is the impl field and call suffix, what
 * the member is ("operation op"); params and args as op_params(). */
static int member(gen *g, const char *name, const char *qname,
		  const char *fn, const char *what, const char *params,
		  const char *args, idlc_tv *fields, idlc_tv *protos,
		  idlc_tv *functions)
{
	const char *sig = idlc_arena_printf(g->a, "shade_status (*%s)(void "
					    "*self%s, shade_error **err)", fn,
					    params);
	const char *call = idlc_arena_printf(g->a, "%s_%s", name, fn);
	const char *all = idlc_arena_printf(g->a, "%s *self%s, shade_error "
					    "**err", name, params);
	const char *doc = idlc_arena_printf(g->a, "/* Call %s of a local "
					    "%s. */\n", what, qname);
	idlc_tv *mo = idlc_tv_obj(g->a);

	if (sig == NULL || call == NULL || all == NULL || doc == NULL ||
	    mo == NULL ||
	    idlc_tv_set_str(mo, "decl", "%s", idlc_gen_wrap(g, sig,
			    strlen(sig) + 8, 2)) < 0 ||
	    idlc_tv_set_str(mo, "doc", "\t/* %s */\n", what) < 0 ||
	    idlc_tv_push(fields, mo) < 0 ||
	    idlc_gen_function(g, protos, doc, "shade_status", call, all,
			      "") < 0)
		return -1;
	return idlc_gen_function(g, functions, "", "shade_status", call, all,
		idlc_arena_printf(g->a, "\tif (self->impl->%s == NULL)\n"
		"\t\treturn shade_error_set(err, SHADE_ERR_UNIMPLEMENTED,\n"
		"\t\t\t\t       \"%s.%s is not implemented\");\n"
		"\treturn self->impl->%s(self->self%s, err);\n", fn, qname,
		what + strcspn(what, " ") + 1, fn, args));
}

/* A struct-shaped declaration `name` with members, after its forward
 * typedef. */
static int struct_decl(gen *g, const char *name, const char *doc,
		       idlc_tv *members)
{
	idlc_tv *o = idlc_gen_decl_obj(g, "is_struct", name, doc);

	if (o == NULL || idlc_gen_forward(g, name) < 0 ||
	    idlc_tv_set(o, "members", members) < 0 ||
	    idlc_tv_set_str(o, "qname", "%s", name) < 0)
		return -1;
	return idlc_tv_push(g->decls, o);
}

/* Calls of the members of local interface n (C name `name`); see
 * gen_int.h. */
int idlc_gen_local_iface(gen *g, const idlc_node *n)
{
	const char *name = idlc_gen_c_name(g, n);
	const char *qname = idlc_gen_dotted_name(g, n);
	idlc_tv *scratch = idlc_tv_obj(g->a), *fields = idlc_tv_list(g->a);
	idlc_tv *protos = idlc_tv_list(g->a), *skipped = idlc_tv_list(g->a);
	idlc_tv *functions = idlc_tv_list(g->a), *obj = idlc_tv_list(g->a);
	idlc_tv *o, *f;
	smember *members;
	size_t nm, i;

	if (!name || !qname || !scratch || !fields || !protos || !skipped ||
	    !functions || !obj ||
	    idlc_gen_shape(g, n, scratch, &members, &nm) < 0)
		return -1;
	for (i = 0; i < nm; i++) {
		const idlc_node *m = members[i].node;
		bool skip = false;
		char *params, *args = NULL;
		int r = 0;

		if (m->kind == IDLC_OPERATION) {
			params = idlc_gen_local_params(g, name, m, &args, &skip);
			if (params)
				r = member(g, name, qname, idlc_gen_ident(g,
					   m->name), idlc_arena_printf(g->a,
					   "operation %s", m->name), params,
					   args, fields, protos, functions);
		} else {
			params = idlc_gen_local_attr_params(g, name, m, false,
							    &args, &skip);
			if (params)
				r = member(g, name, qname, idlc_arena_printf(
					g->a, "get_%s", m->name),
					idlc_arena_printf(g->a, "attribute %s "
					"(read)", m->name), params, args,
					fields, protos, functions);
			if (params && r == 0 && !(m->flags & IDLC_F_READONLY)) {
				char *sp = idlc_gen_local_attr_params(g, name,
					m, true, &args, &skip);
				r = sp == NULL ? -1 : member(g, name, qname,
					idlc_arena_printf(g->a, "set_%s",
					m->name), idlc_arena_printf(g->a,
					"attribute %s (write)", m->name), sp,
					args, fields, protos, functions);
			}
		}
		if (r < 0 || (params == NULL && !skip))
			return -1;
		if (skip) {
			idlc_tv *k = idlc_tv_obj(g->a);
			if (k == NULL || idlc_tv_set_str(k, "name", "%s",
						members[i].name) < 0 ||
			    idlc_tv_set_str(k, "sig", "%s", members[i].sig) < 0 ||
			    idlc_tv_push(skipped, k) < 0)
				return -1;
		}
	}
	talloc_free(members);
	if (idlc_tv_len(fields) == 0 &&
	    (f = idlc_tv_obj(g->a)) != NULL &&
	    (idlc_tv_set_str(f, "decl", "%s", "char empty_") < 0 ||
	     idlc_tv_set_str(f, "doc", "%s", "\t/* no member has a C call "
			     "*/\n") < 0 || idlc_tv_push(fields, f) < 0))
		return -1;
	if (struct_decl(g, idlc_arena_printf(g->a, "%s_impl", name),
			idlc_arena_printf(g->a, "What implements a local %s: "
			"each function gets the self pointer\ngiven to "
			"%s_local(); a NULL one answers Unimplemented.", qname,
			name), fields) < 0)
		return -1;
	o = idlc_tv_obj(g->a);
	f = idlc_tv_obj(g->a);
	if (o == NULL || f == NULL ||
	    idlc_tv_set_str(o, "decl", "const %s_impl *impl", name) < 0 ||
	    idlc_tv_set_str(o, "doc", "%s", "\t/* its implementation */\n") < 0 ||
	    idlc_tv_set_str(f, "decl", "%s", "void *self") < 0 ||
	    idlc_tv_set_str(f, "doc", "%s", "\t/* first argument of every "
			    "impl function */\n") < 0 ||
	    idlc_tv_push(obj, o) < 0 || idlc_tv_push(obj, f) < 0)
		return -1;
	o = idlc_gen_decl_obj(g, "is_struct", name, idlc_arena_printf(g->a,
			      "A local %s: used in this process only, it never "
			      "crosses the wire.", qname));
	if (o == NULL || idlc_tv_set(o, "members", obj) < 0 ||
	    idlc_tv_set_str(o, "qname", "%s", qname) < 0 ||
	    idlc_tv_push(g->decls, o) < 0)
		return -1;
	if (idlc_gen_function(g, functions, "", idlc_arena_printf(g->a, "%s *",
		name), idlc_arena_printf(g->a, "%s_local", name),
		idlc_arena_printf(g->a, "TALLOC_CTX *mem_ctx, const %s_impl "
		"*impl, void *self", name), idlc_arena_printf(g->a, "\t%s *l = "
		"talloc_zero(mem_ctx, %s);\n\n\tif (l == NULL)\n\t\treturn NULL;"
		"\n\tl->impl = impl;\n\tl->self = self;\n\treturn l;\n", name,
		name)) < 0 ||
	    idlc_gen_function(g, protos, idlc_arena_printf(g->a, "/* A local "
		"%s calling impl with self (a talloc object on\n * mem_ctx; "
		"impl and self must outlive it), NULL when out of memory. */\n",
		qname), idlc_arena_printf(g->a, "%s *", name),
		idlc_arena_printf(g->a, "%s_local", name), idlc_arena_printf(
		g->a, "TALLOC_CTX *mem_ctx, const %s_impl *impl, void *self",
		name), "") < 0)
		return -1;
	o = idlc_gen_decl_obj(g, "is_local", name, NULL);
	if (o == NULL || idlc_tv_set(o, "stubs", protos) < 0 ||
	    idlc_tv_set(o, "skipped", skipped) < 0 ||
	    idlc_tv_set(o, "functions", functions) < 0 ||
	    idlc_tv_set_str(o, "qname", "%s", qname) < 0)
		return -1;
	return idlc_tv_push(g->decls, o);
}

/* True when t uses a local interface (through typedefs, sequences,
 * arrays, maps, struct and union members); stack[0..depth) are the
 * declarations being looked into. */
static bool uses_local(const idlc_type *t, const idlc_node **stack,
		       int depth)
{
	const idlc_type *u = idlc_type_unalias(t);
	const idlc_node *d, *m;
	int i;

	if (u == NULL || depth >= 32)
		return false;
	if (u->kind == IDLC_T_SEQUENCE || u->kind == IDLC_T_ARRAY)
		return uses_local(u->elem, stack, depth);
	if (u->kind == IDLC_T_MAP)
		return uses_local(u->key, stack, depth) ||
		       uses_local(u->elem, stack, depth);
	if (local_iface(u) != NULL)
		return true;
	if (u->kind != IDLC_T_NAMED || u->ref == NULL)
		return false;
	d = idlc_gen_defn(u->ref);
	if (d->kind != IDLC_STRUCT && d->kind != IDLC_UNION &&
	    d->kind != IDLC_EXCEPTION)
		return false;
	for (i = 0; i < depth; i++)
		if (stack[i] == d)
			return false;
	stack[depth] = d;
	for (m = d->children; m; m = m->next)
		if (m->type && uses_local(m->type, stack, depth + 1))
			return true;
	return false;
}

/* Refuse the local interfaces in the members of non-local interface n;
 * see gen_int.h. */
void idlc_gen_check_remote(gen *g, const idlc_node *n)
{
	const idlc_node *stack[32], *m, *q;
	static const char *const why = "uses a local interface, which "
				       "cannot cross the wire";

	for (m = n->children; m; m = m->next) {
		if (m->kind == IDLC_ATTRIBUTE && uses_local(m->type, stack, 0))
			idlc_error(g->comp, &m->type->loc, "attribute '%s' of "
				   "interface '%s' %s", m->name, n->name, why);
		if (m->kind != IDLC_OPERATION)
			continue;
		if (uses_local(m->type, stack, 0))
			idlc_error(g->comp, &m->type->loc, "the result of "
				   "operation '%s' of interface '%s' %s",
				   m->name, n->name, why);
		for (q = m->children; q; q = q->next)
			if (uses_local(q->type, stack, 0))
				idlc_error(g->comp, &q->type->loc, "parameter "
					   "'%s' of operation '%s' of interface "
					   "'%s' %s", q->name, m->name, n->name,
					   why);
	}
}
