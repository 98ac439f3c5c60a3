/*
 * idlc/gen/values.c - valuetypes: state that crosses by value,
 * operations that run where the value is.
 *
 * A valuetype V maps to a struct of its state (types.c; its first member
 * the shade_value_head that says which type the value is and where its
 * operations are, inside `_base` for a derived one), a table of its
 * operations V_ops (a base's table first, as `_base`, then the
 * operations and attribute accessors of the abstract valuetypes it
 * inherits, then its own operations, accessors and factories), V_new()
 * making a value with the registered table, V_register_factory()
 * registering the table in the runtime's factory registry, one call per
 * entry (V_op, V_get_x, V_set_x through the value's table; V_make, a
 * factory, through the table registered for V), and its descriptor
 * V_INFO: the repository id, the concrete base's descriptor, the
 * truncatable flag and the state codec, which the runtime uses to send
 * and receive it (doc/idl.md "Valuetypes").  An abstract valuetype has no table of
 * its own; a custom one and `supports` are refused.
 */
#include <string.h>

#include "gen/gen_int.h"

/* The concrete base valuetype of v, or NULL. */
static const idlc_node *concrete_base(const idlc_node *v)
{
	const idlc_node *b = v->n_bases > 0 ?
			     idlc_gen_defn(v->base_nodes[0]) : NULL;

	return b && b->kind == IDLC_VALUETYPE &&
	       !(b->flags & IDLC_F_ABSTRACT) ? b : NULL;
}

/* State members of v, its concrete bases' included. */
static unsigned n_state(const idlc_node *v)
{
	const idlc_node *m;
	unsigned n = 0;
	int depth;

	for (depth = 0; v && depth < 256; depth++, v = concrete_base(v))
		for (m = v->children; m; m = m->next)
			n += m->kind == IDLC_STATE_MEMBER;
	return n;
}

/* A field of the operations table: `decl` with its comment. */
static int field(gen *g, idlc_tv *fields, const char *decl, const char *doc)
{
	idlc_tv *f = idlc_tv_obj(g->a);

	if (f == NULL || decl == NULL || doc == NULL ||
	    idlc_tv_set_str(f, "decl", "%s", decl) < 0 ||
	    idlc_tv_set_str(f, "doc", "\t/* %s */\n", doc) < 0)
		return -1;
	return idlc_tv_push(fields, f);
}

/* One entry of valuetype `name`'s operations table, field `fn` of type
 * `shade_status (*fn)(PARAMS, shade_error **err)`, and its call
 * `name_fn(PARAMS, shade_error **err)` passing `args`; `what` says what
 * it is ("operation area"), `member` its IDL name.  PARAMS start with
 * `V *self` and the call finds the table in the value's head; for a
 * factory (`self` false) they start with `TALLOC_CTX *mem_ctx` and the
 * call finds the table registered for the type. */
static int entry(gen *g, const char *name, const char *qname, bool self,
		 const char *fn, const char *what, const char *member,
		 const char *params, const char *args, idlc_tv *fields,
		 idlc_tv *protos, idlc_tv *functions)
{
	const char *all = idlc_arena_printf(g->a, "%s%s, shade_error **err",
		self ? idlc_arena_printf(g->a, "%s *self", name) :
		"TALLOC_CTX *mem_ctx", params);
	const char *call = idlc_arena_printf(g->a, "%s_%s", name, fn);

	if (all == NULL || call == NULL ||
	    field(g, fields, idlc_gen_wrap(g, idlc_arena_printf(g->a,
		  "shade_status (*%s)(%s)", fn, all), strlen(all) +
		  strlen(fn) + 24, 2), what) < 0 ||
	    idlc_gen_function(g, protos, self ? idlc_arena_printf(g->a,
		  "/* Run %s of the %s self with the operations\n * its "
		  "factory registered; Unimplemented when none did. */\n",
		  what, qname) : idlc_arena_printf(g->a, "/* Make a %s on "
		  "mem_ctx with %s registered for it\n * "
		  "(%s_register_factory); Unimplemented when none was. */\n",
		  qname, what, name), "shade_status", call, all, "") < 0)
		return -1;
	return idlc_gen_function(g, functions, "", "shade_status", call, all,
		idlc_arena_printf(g->a, "\tconst %s_ops *idl_ops = %s;\n\n"
		"\tif (idl_ops == NULL || idl_ops->%s == NULL)\n\t\treturn "
		"shade_error_set(err, SHADE_ERR_UNIMPLEMENTED,\n\t\t\t\t       "
		"\"%s.%s is not implemented (no factory \"\n\t\t\t\t       "
		"\"registered)\");\n\treturn idl_ops->%s(%s%s, err);\n", name,
		self ? idlc_arena_printf(g->a, "(const %s_ops *)((const "
		"shade_value_head *)\n\t\t(const void *)self)->ops", name) :
		idlc_arena_printf(g->a, "(const %s_ops *)\n\t\t"
		"shade_typed_value_ops(&%s_INFO)", name, name), fn, qname,
		member, fn, self ? "self" : "mem_ctx", args));
}

/* The entries of member m (an operation, an attribute or a factory of
 * n, or of an abstract valuetype n inherits) in the table of valuetype
 * `name`.  1 when m has no C form here. */
static int member(gen *g, const char *name, const char *qname,
		  const idlc_node *m, idlc_tv *fields, idlc_tv *protos,
		  idlc_tv *functions)
{
	bool skip = false;
	char *args = NULL, *params;
	int r;

	switch (m->kind) {
	case IDLC_OPERATION:
		params = idlc_gen_local_params(g, name, m, &args, &skip);
		return params == NULL ? (skip ? 1 : -1) :
		       entry(g, name, qname, true, idlc_gen_ident(g, m->name),
			     idlc_arena_printf(g->a, "operation %s", m->name),
			     m->name, params, args, fields, protos, functions);
	case IDLC_FACTORY:
		params = idlc_gen_local_params(g, name, m, &args, &skip);
		return params == NULL ? (skip ? 1 : -1) :
		       entry(g, name, qname, false, idlc_gen_ident(g, m->name),
			     idlc_arena_printf(g->a, "factory %s", m->name),
			     m->name, idlc_arena_printf(g->a, "%s, %s **result",
			     params, name), idlc_arena_printf(g->a, "%s, result",
			     args), fields, protos, functions);
	case IDLC_ATTRIBUTE:
		params = idlc_gen_local_attr_params(g, name, m, false, &args,
						    &skip);
		if (params == NULL)
			return skip ? 1 : -1;
		r = entry(g, name, qname, true, idlc_arena_printf(g->a, "get_%s",
			  m->name), idlc_arena_printf(g->a, "attribute %s "
			  "(read)", m->name), m->name, params, args, fields,
			  protos, functions);
		if (r != 0 || (m->flags & IDLC_F_READONLY))
			return r;
		params = idlc_gen_local_attr_params(g, name, m, true, &args,
						    &skip);
		return params == NULL ? -1 :
		       entry(g, name, qname, true, idlc_arena_printf(g->a,
			     "set_%s", m->name), idlc_arena_printf(g->a,
			     "attribute %s (write)", m->name), m->name, params,
			     args, fields, protos, functions);
	default:
		return 0;
	}
}

/* The members of abstract valuetype a and of its abstract bases not in
 * done[0..*n) (added there), in the table of valuetype `name`;
 * `skipped` gets those without a C form. */
static int abstract_members(gen *g, const char *name, const char *qname,
			    const idlc_node *a, const idlc_node **done,
			    size_t *n, idlc_tv *fields, idlc_tv *protos,
			    idlc_tv *functions, idlc_tv *skipped);

/* Add the members of n's abstract bases (those its concrete base does
 * not already have) to its table. */
static int abstract_bases(gen *g, const char *name, const char *qname,
			  const idlc_node *n, const idlc_node **done,
			  size_t *count, idlc_tv *fields, idlc_tv *protos,
			  idlc_tv *functions, idlc_tv *skipped)
{
	size_t i;

	for (i = 0; i < n->n_bases; i++) {
		const idlc_node *b = idlc_gen_defn(n->base_nodes[i]);
		if (b->kind == IDLC_VALUETYPE && (b->flags & IDLC_F_ABSTRACT) &&
		    abstract_members(g, name, qname, b, done, count, fields,
				     protos, functions, skipped) < 0)
			return -1;
	}
	return 0;
}

/* Mark the abstract valuetypes that n and its concrete bases inherit
 * as done (their members are in the concrete base's table). */
static void inherited_abstracts(const idlc_node *n, const idlc_node **done,
				size_t *count, int depth)
{
	size_t i, j;

	for (i = 0; depth < 64 && i < n->n_bases; i++) {
		const idlc_node *b = idlc_gen_defn(n->base_nodes[i]);
		if (b->kind != IDLC_VALUETYPE)
			continue;
		if (b->flags & IDLC_F_ABSTRACT) {
			for (j = 0; j < *count && done[j] != b; j++)
				;
			if (j == *count && *count < 64)
				done[(*count)++] = b;
		}
		inherited_abstracts(b, done, count, depth + 1);
	}
}

/* Skipped member m: listed in the header's comment. */
static int skipped_member(gen *g, idlc_tv *skipped, const idlc_node *m)
{
	idlc_tv *k = idlc_tv_obj(g->a);

	if (k == NULL || idlc_tv_set_str(k, "name", "%s", m->name) < 0 ||
	    idlc_tv_set_str(k, "sig", "%s", idlc_kind_name(m->kind)) < 0)
		return -1;
	return idlc_tv_push(skipped, k);
}

static int abstract_members(gen *g, const char *name, const char *qname,
			    const idlc_node *a, const idlc_node **done,
			    size_t *n, idlc_tv *fields, idlc_tv *protos,
			    idlc_tv *functions, idlc_tv *skipped)
{
	const idlc_node *m;
	size_t i;
	int r;

	for (i = 0; i < *n; i++)
		if (done[i] == a)
			return 0;
	if (*n == 64)
		return 0;
	done[(*n)++] = a;
	if (abstract_bases(g, name, qname, a, done, n, fields, protos,
			   functions, skipped) < 0)
		return -1;
	for (m = a->children; m; m = m->next) {
		if (m->kind == IDLC_FACTORY) /* an abstract one has none */
			continue;
		r = member(g, name, qname, m, fields, protos, functions);
		if (r < 0 || (r > 0 && skipped_member(g, skipped, m) < 0))
			return -1;
	}
	return 0;
}

/* Refuse what has no C mapping: a custom valuetype (it marshals its own
 * state) and `supports` (a value served as an interface).  True when
 * refused. */
static bool refused(gen *g, const idlc_node *n)
{
	bool r = false;

	if (n->flags & IDLC_F_CUSTOM) {
		idlc_error(g->comp, &n->name_loc, "custom valuetype '%s' "
			   "marshals its own state, which shade does not map "
			   "to C (drop 'custom': its state members then "
			   "travel)", n->name);
		r = true;
	}
	if (n->supports) {
		char *i = idlc_scoped_name_str(g->tmp, n->supports);
		idlc_error(g->comp, &n->supports->loc, "valuetype '%s' "
			   "supports interface '%s', which shade does not map "
			   "to C (serve an implementation of '%s' instead)",
			   n->name, i ? i : "", i ? i : "");
		r = true;
	}
	return r;
}

/* The descriptor's state codec wrappers (functions of `void *`). */
static int wrappers(gen *g, const char *name, idlc_tv *functions)
{
	return idlc_gen_function(g, functions, idlc_arena_printf(g->a,
		"/* The state of a %s (V_INFO's put_state). */\n", name),
		"static shade_status", idlc_arena_printf(g->a, "idl_vput_%s_",
		name), "shade_dispatch_ctx *cx, shade_request *idl_call, "
		"struct shade_buf *b, const void *v, shade_error **err",
		idlc_arena_printf(g->a, "\treturn idl_put_%s_(cx, idl_call, b, "
		"(const %s *)v, err);\n", name, name)) < 0 ||
	       idlc_gen_function(g, functions, idlc_arena_printf(g->a,
		"/* Read the state of a %s (V_INFO's get_state). */\n", name),
		"static shade_status", idlc_arena_printf(g->a, "idl_vget_%s_",
		name), "shade_dispatch_ctx *cx, shade_request *idl_call, "
		"TALLOC_CTX *mem_ctx, struct shade_cbor_dec *d, void *v, "
		"shade_error **err", idlc_arena_printf(g->a, "\treturn "
		"idl_get_%s_(cx, idl_call, mem_ctx, d, (%s *)v, err);\n", name,
		name)) < 0 ? -1 : 0;
}

/* Valuetype n; see gen_int.h. */
int idlc_gen_value(gen *g, const idlc_node *n)
{
	const char *name = idlc_gen_c_name(g, n);
	const char *qname = idlc_gen_dotted_name(g, n);
	const idlc_node *base = concrete_base(n), *m;
	idlc_tv *fields = idlc_tv_list(g->a), *protos = idlc_tv_list(g->a);
	idlc_tv *skipped = idlc_tv_list(g->a);
	idlc_tv *functions = idlc_tv_list(g->a), *o;
	char *repo;
	int codec, r;

	const idlc_node *done[64];
	size_t n_done = 0;

	if (refused(g, n) || (n->flags & IDLC_F_ABSTRACT))
		return 0; /* an abstract one's members are its heirs' */
	if (!name || !qname || !fields || !protos || !skipped || !functions)
		return -1;
	/* its repository id (#pragma prefix, ID, version, typeid and
	 * typeprefix applied: check/repoid.c) */
	repo = idlc_gen_c_string(g, n->repo_id ? n->repo_id : "",
				 n->repo_id ? strlen(n->repo_id) : 0);
	if (base && field(g, fields, idlc_arena_printf(g->a, "%s_ops _base",
			  idlc_gen_c_name(g, base)), "the base's operations") < 0)
		return -1;
	/* the abstract bases' members (but those the concrete base has),
	 * then its own operations, attributes and factories */
	if (base)
		inherited_abstracts(base, done, &n_done, 0);
	if (abstract_bases(g, name, qname, n, done, &n_done, fields, protos,
			   functions, skipped) < 0)
		return -1;
	for (m = n->children; m; m = m->next) {
		r = member(g, name, qname, m, fields, protos, functions);
		if (r < 0 || (r > 0 && skipped_member(g, skipped, m) < 0))
			return -1;
	}
	if (idlc_tv_len(fields) == 0 &&
	    field(g, fields, "char empty_", "no operation") < 0)
		return -1;
	o = idlc_gen_decl_obj(g, "is_struct", idlc_arena_printf(g->a, "%s_ops",
			      name), idlc_arena_printf(g->a, "The operations "
			      "of a %s, run where the value is; a\nprogram "
			      "registers them with %s_register_factory().",
			      qname, name));
	if (o == NULL || idlc_gen_forward(g, idlc_arena_printf(g->a, "%s_ops",
					  name)) < 0 ||
	    idlc_tv_set(o, "members", fields) < 0 ||
	    idlc_tv_set_str(o, "qname", "%s_ops", name) < 0 ||
	    idlc_tv_push(g->decls, o) < 0)
		return -1;
	codec = idlc_gen_value_codec(g, n);
	if (codec < 0 || (codec > 0 && wrappers(g, name, functions) < 0))
		return -1;
	if (idlc_gen_function(g, protos, idlc_arena_printf(g->a, "/* A new %s "
		"(zeroed state) on mem_ctx with the operations\n * registered "
		"for it, NULL when out of memory. */\n", qname),
		idlc_arena_printf(g->a, "%s *", name), idlc_arena_printf(g->a,
		"%s_new", name), "TALLOC_CTX *mem_ctx", "") < 0 ||
	    idlc_gen_function(g, functions, "", idlc_arena_printf(g->a, "%s *",
		name), idlc_arena_printf(g->a, "%s_new", name),
		"TALLOC_CTX *mem_ctx", idlc_arena_printf(g->a, "\t%s *v = "
		"talloc_zero(mem_ctx, %s);\n\tshade_value_head *h = (shade_value_"
		"head *)(void *)v;\n\n\tif (v == NULL)\n\t\treturn NULL;\n\t"
		"h->info = &%s_INFO;\n\th->ops = shade_typed_value_ops(&%s_INFO);"
		"\n\treturn v;\n", name, name, name, name)) < 0 ||
	    idlc_gen_function(g, protos, idlc_arena_printf(g->a, "/* Register "
		"ops as the operations of every %s made or\n * received from "
		"now on (ops must outlive them); a %s\n * received where a base "
		"is expected keeps its own type.  SHADE_OK,\n * or "
		"SHADE_ERR_NOMEM. */\n", qname, qname), "shade_status",
		idlc_arena_printf(g->a, "%s_register_factory", name),
		idlc_arena_printf(g->a, "const %s_ops *ops", name), "") < 0 ||
	    idlc_gen_function(g, functions, "", "shade_status",
		idlc_arena_printf(g->a, "%s_register_factory", name),
		idlc_arena_printf(g->a, "const %s_ops *ops", name),
		idlc_arena_printf(g->a, "\treturn shade_typed_value_register("
		"&%s_INFO, ops);\n", name)) < 0)
		return -1;
	o = idlc_gen_decl_obj(g, "is_local", name, NULL);
	if (o == NULL || repo == NULL ||
	    idlc_tv_set_bool(o, "is_value", true) < 0 ||
	    idlc_tv_set(o, "stubs", protos) < 0 ||
	    idlc_tv_set(o, "skipped", skipped) < 0 ||
	    idlc_tv_set(o, "functions", functions) < 0 ||
	    idlc_tv_set_str(o, "qname", "%s", qname) < 0 ||
	    idlc_tv_set_str(o, "repo_id", "%s", repo) < 0 ||
	    idlc_tv_set_str(o, "base_info", "%s%s%s", base ? "&" : "NULL",
			    base ? idlc_gen_c_name(g, base) : "",
			    base ? "_INFO" : "") < 0 ||
	    idlc_tv_set_str(o, "truncatable", "%s", base &&
			    (n->flags & IDLC_F_TRUNCATABLE) ? "true" : "false") < 0 ||
	    idlc_tv_set_str(o, "n_state", "%u", n_state(n)) < 0 ||
	    idlc_tv_set_str(o, "put_state", "%s%s%s", codec ? "idl_vput_" :
			    "NULL", codec ? name : "", codec ? "_" : "") < 0 ||
	    idlc_tv_set_str(o, "get_state", "%s%s%s", codec ? "idl_vget_" :
			    "NULL", codec ? name : "", codec ? "_" : "") < 0)
		return -1;
	return idlc_tv_push(g->decls, o);
}
