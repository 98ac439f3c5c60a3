/*
 * idlc/gen/types.c - the C declarations of the IDL types: constants,
 * enums, typedefs, sequence structs, structs and exceptions (the
 * header's content).  See doc/idl.md for the mapping.
 */
#include <stdio.h>
#include <string.h>

#include "gen/gen_int.h"

static int type_decl(gen *g, const idlc_node *n);

/* C spelling of the basic types. */
static const char *c_base(idlc_tkind k)
{
	switch (k) {
	case IDLC_T_VOID: return "void";
	case IDLC_T_BOOLEAN: return "bool";
	case IDLC_T_CHAR: return "char";
	case IDLC_T_OCTET: return "uint8_t";
	case IDLC_T_INT8: return "int8_t";
	case IDLC_T_UINT8: return "uint8_t";
	case IDLC_T_SHORT: return "int16_t";
	case IDLC_T_USHORT: return "uint16_t";
	case IDLC_T_LONG: return "int32_t";
	case IDLC_T_ULONG: return "uint32_t";
	case IDLC_T_LLONG: return "int64_t";
	case IDLC_T_ULLONG: return "uint64_t";
	case IDLC_T_FLOAT: return "float";
	case IDLC_T_DOUBLE: return "double";
	case IDLC_T_STRING: return "char *";
	case IDLC_T_ANY: return "shade_value *";
	case IDLC_T_OBJECT: return "shade_ref *";
	default: return NULL;
	}
}

/* C declaration of `name` with type t ("int32_t x[3]", "char *s").
 * Anonymous sequences become helper types named `anon`, emitted first. */
static char *c_decl(gen *g, const idlc_type *t, const char *name,
		    const char *anon)
{
	char *suffix = idlc_arena_printf(g->a, "%s", ""), *base;
	const char *sp;

	while (t->kind == IDLC_T_ARRAY) {
		suffix = idlc_arena_append(g->a, suffix, "[%llu]",
						(unsigned long long)t->bound);
		t = t->elem;
	}
	if (t->kind == IDLC_T_SEQUENCE) {
		if (idlc_gen_sequence(g, anon, t, "") < 0)
			return NULL;
		base = idlc_arena_printf(g->a, "%s", anon);
	} else if (t->kind == IDLC_T_NAMED) {
		const idlc_node *r = idlc_gen_defn(t->ref);
		base = idlc_gen_c_name(g, r);
		if (r->kind == IDLC_INTERFACE || r->kind == IDLC_INTERFACE_FWD)
			base = idlc_arena_printf(g->a, "%s *", base);
	} else {
		base = idlc_arena_printf(g->a, "%s", c_base(t->kind));
	}
	if (base == NULL || suffix == NULL)
		return NULL;
	sp = base[strlen(base) - 1] == '*' ? "" : " ";
	return idlc_arena_printf(g->a, "%s%s%s%s", base, sp, name, suffix);
}

/* A new declaration object; see gen_int.h. */
idlc_tv *idlc_gen_decl_obj(gen *g, const char *kind, const char *name,
			 const char *doc)
{
	static const char *const kinds[] = {
		"is_const", "is_enum", "is_typedef", "is_sequence",
		"is_struct", "is_exception", "is_interface", "has_helpers",
		NULL };
	idlc_tv *o = idlc_tv_obj(g->a);
	size_t i;

	for (i = 0; o && kinds[i]; i++)
		if (idlc_tv_set_bool(o, kinds[i], false) < 0)
			return NULL;
	if (o == NULL || idlc_tv_set_bool(o, kind, true) < 0 ||
	    idlc_tv_set(o, "functions", idlc_tv_list(g->a)) < 0 ||
	    idlc_tv_set_str(o, "c_name", "%s", name) < 0 ||
	    idlc_tv_set_str(o, "doc", "%s", idlc_gen_doc(g, doc, "")) < 0)
		return NULL;
	return o;
}

/* typedef struct { uint32_t len; T *items; } name; see gen_int.h. */
int idlc_gen_sequence(gen *g, const char *name, const idlc_type *t,
		      const char *doc)
{
	idlc_tv *o;
	char *anon = idlc_arena_printf(g->a, "%s_elem", name);
	char *items;
	int once = idlc_gen_once(g, idlc_arena_printf(g->a, "type %s", name));

	if (once != 0)
		return once < 0 ? -1 : 0;
	o = idlc_gen_decl_obj(g, "is_sequence", name, doc);
	if (o == NULL || anon == NULL)
		return -1;
	items = c_decl(g, t->elem, "*items", anon);
	if (items == NULL)
		return -1;
	if (idlc_tv_set_str(o, "items", "%s", items) < 0)
		return -1;
	if (t->bound)
		G(idlc_tv_set_str(o, "bound", "%llu",
				  (unsigned long long)t->bound));
	else
		G(idlc_tv_set_str(o, "bound", "%s", ""));
	return idlc_tv_push(g->decls, o);
fail:
	return -1;
}

/* Add a forward typedef; see gen_int.h. */
int idlc_gen_forward(gen *g, const char *name)
{
	idlc_tv *o = idlc_tv_obj(g->a);

	if (o == NULL || idlc_tv_set_str(o, "c_name", "%s", name) < 0)
		return -1;
	return idlc_tv_push(g->forwards, o);
}

/* Struct or exception with its members; *out gets its object. */
static int gen_struct(gen *g, const idlc_node *n, idlc_tv **out)
{
	char *name = idlc_gen_c_name(g, n);
	idlc_tv *o, *members = idlc_tv_list(g->a);
	const idlc_node *m;

	if (name == NULL || members == NULL || idlc_gen_forward(g, name) < 0)
		return -1;
	/* inline declarations and anonymous sequences come first */
	for (m = n->children; m; m = m->next) {
		idlc_tv *mo = idlc_tv_obj(g->a);
		char *anon = idlc_arena_printf(g->a, "%s_%s_seq", name,
					     m->name);
		char *d;
		if (mo == NULL || anon == NULL)
			return -1;
		if (m->type && m->type->kind == IDLC_T_NAMED && m->type->decl &&
		    type_decl(g, m->type->decl) < 0)
			return -1;
		d = c_decl(g, m->type, idlc_gen_ident(g, m->name), anon);
		if (d == NULL)
			return -1;
		G(idlc_tv_set_str(mo, "decl", "%s", d));
		G(idlc_tv_set_str(mo, "doc", "%s", idlc_gen_doc(g, m->doc, "\t")));
		G(idlc_tv_push(members, mo));
	}
	o = idlc_gen_decl_obj(g, "is_struct", name, n->doc);
	if (o == NULL)
		return -1;
	G(idlc_tv_set(o, "members", members));
	G(idlc_tv_set_bool(o, "is_exception", n->kind == IDLC_EXCEPTION));
	G(idlc_tv_set_str(o, "qname", "%s", idlc_gen_dotted_name(g, n)));
	*out = o;
	return idlc_tv_push(g->decls, o);
fail:
	return -1;
}

/* enum */
static int gen_enum(gen *g, const idlc_node *n, idlc_tv **out)
{
	idlc_tv *o = idlc_gen_decl_obj(g, "is_enum", idlc_gen_c_name(g, n), n->doc);
	idlc_tv *list = idlc_tv_list(g->a);
	const idlc_node *m;
	char buf[48];

	if (o == NULL || list == NULL)
		return -1;
	for (m = n->children; m; m = m->next) {
		idlc_tv *e = idlc_tv_obj(g->a);
		if (e == NULL)
			return -1;
		G(idlc_tv_set_str(e, "c_name", "%s", idlc_gen_c_name(g, m)));
		G(idlc_tv_set_str(e, "value", "%s",
				  idlc_int_str(buf, m->value.i)));
		G(idlc_tv_set_str(e, "doc", "%s", idlc_gen_doc(g, m->doc, "\t")));
		G(idlc_tv_push(list, e));
	}
	G(idlc_tv_set(o, "enumerators", list));
	*out = o;
	return idlc_tv_push(g->decls, o);
fail:
	return -1;
}

/* typedef */
static int gen_typedef(gen *g, const idlc_node *n)
{
	char *name = idlc_gen_c_name(g, n);
	const idlc_type *t = n->type;
	idlc_tv *o;
	char *d;

	if (t->kind == IDLC_T_NAMED && t->decl &&
	    type_decl(g, t->decl) < 0)
		return -1;
	if (t->kind == IDLC_T_SEQUENCE)
		return idlc_gen_sequence(g, name, t, n->doc);
	d = c_decl(g, t, name, idlc_arena_printf(g->a, "%s_seq", name));
	o = idlc_gen_decl_obj(g, "is_typedef", name, n->doc);
	if (d == NULL || o == NULL)
		return -1;
	G(idlc_tv_set_str(o, "decl", "%s", d));
	return idlc_tv_push(g->decls, o);
fail:
	return -1;
}

/* Append a C string literal for s (len bytes) to out. */
static char *c_string(gen *g, const char *s, size_t len)
{
	char *out = idlc_arena_printf(g->a, "%s", "\"");
	size_t i;

	for (i = 0; out && i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			out = idlc_arena_append(g->a, out, "\\%c", c);
		else if (c == '\n')
			out = idlc_arena_append(g->a, out, "\\n");
		else if (c == '\t')
			out = idlc_arena_append(g->a, out, "\\t");
		else if (c < 0x20 || c >= 0x7f || c == '?')
			out = idlc_arena_append(g->a, out, "\\%03o", c);
		else
			out = idlc_arena_append(g->a, out, "%c", c);
	}
	return out ? idlc_arena_append(g->a, out, "\"") : NULL;
}

/* C expression for a constant of type t. */
static char *c_value(gen *g, const idlc_type *t, const idlc_value *v)
{
	const idlc_type *u = idlc_type_unalias(t);
	char buf[48], *s;

	switch (v->kind) {
	case IDLC_V_INT:
		idlc_int_str(buf, v->i);
		switch (u->kind) {
		case IDLC_T_LLONG:
			if (v->i == -((idlc_int)1 << 63))
				return idlc_arena_printf(g->a, "%s", "(-INT64_C("
						     "9223372036854775807) - 1)");
			return idlc_arena_printf(g->a, "INT64_C(%s)", buf);
		case IDLC_T_ULLONG:
			return idlc_arena_printf(g->a, "UINT64_C(%s)", buf);
		case IDLC_T_LONG:
			if (v->i == -((idlc_int)1 << 31))
				return idlc_arena_printf(g->a, "%s", "(-INT32_C("
						     "2147483647) - 1)");
			return idlc_arena_printf(g->a, "INT32_C(%s)", buf);
		case IDLC_T_ULONG:
			return idlc_arena_printf(g->a, "UINT32_C(%s)", buf);
		default:
			return idlc_arena_printf(g->a, "((%s)%s)",
					       c_base(u->kind), buf);
		}
	case IDLC_V_FLOAT:
		s = idlc_arena_printf(g->a, u->kind == IDLC_T_FLOAT ? "%.9Lg"
				    : "%.17Lg", v->f);
		if (s && !strpbrk(s, ".eEni"))
			s = idlc_arena_append(g->a, s, ".0");
		if (s && u->kind == IDLC_T_FLOAT)
			s = idlc_arena_append(g->a, s, "f");
		return s;
	case IDLC_V_CHAR:
		if (v->i >= 0x20 && v->i < 0x7f && v->i != '\'' &&
		    v->i != '\\')
			return idlc_arena_printf(g->a, "'%c'", (char)v->i);
		return idlc_arena_printf(g->a, "'\\%03o'", (unsigned)v->i);
	case IDLC_V_STRING:
		return c_string(g, v->str, v->len);
	case IDLC_V_BOOL:
		return idlc_arena_printf(g->a, "%s", v->i ? "true" : "false");
	case IDLC_V_ENUM:
		return idlc_gen_c_name(g, v->enumerator);
	default:
		return idlc_arena_printf(g->a, "%s", "0");
	}
}

/* const */
static int gen_const(gen *g, const idlc_node *n)
{
	idlc_tv *o = idlc_gen_decl_obj(g, "is_const", idlc_gen_c_name(g, n), n->doc);
	char *v = c_value(g, n->type, &n->value);

	if (o == NULL || v == NULL)
		return -1;
	G(idlc_tv_set_str(o, "value", "%s", v));
	return idlc_tv_push(g->decls, o);
fail:
	return -1;
}

/* The declaration of a type; see gen_int.h. */
int idlc_gen_type(gen *g, const idlc_node *n, idlc_tv **out)
{
	idlc_tv *o = NULL;

	if (out == NULL)
		out = &o;
	*out = NULL;
	switch (n->kind) {
	case IDLC_STRUCT:
	case IDLC_EXCEPTION:
		return gen_struct(g, n, out);
	case IDLC_ENUM:
		return gen_enum(g, n, out);
	case IDLC_TYPEDEF:
		return gen_typedef(g, n);
	case IDLC_CONST:
		return gen_const(g, n);
	default:
		return 0;
	}
}

/* An inline declaration (a struct or enum declared in a member). */
static int type_decl(gen *g, const idlc_node *n)
{
	return idlc_gen_type(g, n, NULL);
}
