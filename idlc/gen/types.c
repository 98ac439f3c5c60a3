/*
 * idlc/gen/types.c - the C declarations of the IDL types: constants,
 * enums, typedefs, sequence structs, structs and exceptions (the
 * header's content).  See doc/idl.md for the mapping.
 */
#include <stdint.h>
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
	case IDLC_T_WCHAR: return "uint32_t";
	case IDLC_T_WSTRING: return "char *";
	case IDLC_T_LDOUBLE: return "long double";
	case IDLC_T_FIXED: return "char *";
	case IDLC_T_VALUEBASE: return "shade_value *";
	default: return NULL;
	}
}

/* C spelling of a reference to the declaration r: interfaces, values
 * and boxes by pointer, natives opaque, the CORBA pseudo-types mapped
 * (doc/idl.md). */
static char *named_base(gen *g, const idlc_node *r)
{
	char *base;

	if (r->flags & IDLC_F_BUILTIN)
		return idlc_arena_printf(g->a, "%s",
					 strcmp(r->name, "TypeCode") == 0 ?
					 "const shade_shape_desc *" :
					 "shade_value *");
	base = idlc_gen_c_name(g, r);
	switch (r->kind) {
	case IDLC_INTERFACE: case IDLC_INTERFACE_FWD:
	case IDLC_VALUETYPE: case IDLC_VALUE_FWD: case IDLC_VALUE_BOX:
		return idlc_arena_printf(g->a, "%s *", base);
	default:
		return base;
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
	} else if (t->kind == IDLC_T_MAP) {
		if (idlc_gen_map(g, anon, t) < 0)
			return NULL;
		base = idlc_arena_printf(g->a, "%s", anon);
	} else if (t->kind == IDLC_T_NAMED) {
		base = named_base(g, idlc_gen_defn(t->ref));
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
		"is_local", "is_value", NULL };
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

/* The declarator of a member: its C-safe name, behind a pointer when
 * @external (the value is held elsewhere: a forward-declared type or a
 * recursion is allowed there). */
static const char *member_ident(gen *g, const idlc_node *m)
{
	const char *id = idlc_gen_ident(g, m->name);

	return idlc_find_annotation(m, "external") ?
	       idlc_arena_printf(g->a, "*%s", id) : id;
}

/* Append a member object {decl, doc} to the list `members`. */
static int member_obj(gen *g, idlc_tv *members, const char *decl,
		      const char *doc)
{
	idlc_tv *mo = idlc_tv_obj(g->a);

	if (mo == NULL || decl == NULL || doc == NULL)
		return -1;
	G(idlc_tv_set_str(mo, "decl", "%s", decl));
	G(idlc_tv_set_str(mo, "doc", "%s", doc));
	return idlc_tv_push(members, mo);
fail:
	return -1;
}

/* A struct-shaped C type `name` with the member objects `members`:
 * forward typedef, then the struct. */
static int struct_obj(gen *g, const idlc_node *n, const char *name,
		      idlc_tv *members, idlc_tv **out)
{
	idlc_tv *o = idlc_gen_decl_obj(g, "is_struct", name,
				       n ? n->doc : NULL);

	if (o == NULL)
		return -1;
	G(idlc_tv_set(o, "members", members));
	G(idlc_tv_set_bool(o, "is_exception", false));
	G(idlc_tv_set_str(o, "qname", "%s", n ? idlc_gen_dotted_name(g, n)
					       : name));
	if (out)
		*out = o;
	return idlc_tv_push(g->decls, o);
fail:
	return -1;
}

/* map<K, V>: struct { uint32_t len; K *keys; V *values; }; see
 * gen_int.h. */
int idlc_gen_map(gen *g, const char *name, const idlc_type *t)
{
	idlc_tv *members = idlc_tv_list(g->a);
	int once = idlc_gen_once(g, idlc_arena_printf(g->a, "type %s", name));

	if (once != 0)
		return once < 0 ? -1 : 0;
	if (members == NULL || idlc_gen_forward(g, name) < 0 ||
	    member_obj(g, members, "uint32_t len", "\t/* number of entries "
		       "*/\n") < 0 ||
	    member_obj(g, members, c_decl(g, t->key, "*keys",
			idlc_arena_printf(g->a, "%s_key", name)),
		       "\t/* talloc array of len keys */\n") < 0 ||
	    member_obj(g, members, c_decl(g, t->elem, "*values",
			idlc_arena_printf(g->a, "%s_value", name)),
		       "\t/* talloc array of len values, values[i] for "
		       "keys[i] */\n") < 0)
		return -1;
	return struct_obj(g, NULL, name, members, NULL);
}

/* Struct or exception with its members; *out gets its object. */
static int gen_struct(gen *g, const idlc_node *n, idlc_tv **out)
{
	char *name = idlc_gen_c_name(g, n);
	idlc_tv *o, *members = idlc_tv_list(g->a);
	const idlc_node *m;

	if (name == NULL || members == NULL || idlc_gen_forward(g, name) < 0)
		return -1;
	if (n->n_bases > 0 && member_obj(g, members, idlc_arena_printf(g->a,
			"%s _base", idlc_gen_c_name(g, n->base_nodes[0])),
			"\t/* the base struct's members */\n") < 0)
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
		d = c_decl(g, m->type, member_ident(g, m), anon);
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

/* A C string literal for s (len bytes); see gen_int.h. */
char *idlc_gen_c_string(gen *g, const char *s, size_t len)
{
	/* at most 4 bytes a character ("\\ooo"), written in place: linear
	 * in the string, however long */
	char *out = len > (SIZE_MAX - 3) / 4 ? NULL :
		idlc_arena_alloc(g->a, len * 4 + 3);
	char *o = out;
	size_t i;

	if (out == NULL)
		return NULL;
	*o++ = '"';
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			*o++ = '\\';
			*o++ = (char)c;
		} else if (c == '\n' || c == '\t') {
			*o++ = '\\';
			*o++ = c == '\n' ? 'n' : 't';
		} else if (c < 0x20 || c >= 0x7f || c == '?') {
			*o++ = '\\';
			*o++ = (char)('0' + (c >> 6));
			*o++ = (char)('0' + ((c >> 3) & 7));
			*o++ = (char)('0' + (c & 7));
		} else {
			*o++ = (char)c;
		}
	}
	*o++ = '"';
	*o = '\0';
	return out;
}

/* C expression for a constant; see gen_int.h. */
char *idlc_gen_c_value(gen *g, const idlc_type *t, const idlc_value *v)
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
		if (s && u->kind == IDLC_T_LDOUBLE)
			s = idlc_arena_append(g->a, s, "L");
		return s;
	case IDLC_V_WCHAR:
		return idlc_arena_printf(g->a, "UINT32_C(%s)",
					 idlc_int_str(buf, v->i));
	case IDLC_V_WSTRING:
		return idlc_gen_c_string(g, v->str, v->len);
	case IDLC_V_FIXED:
		return idlc_gen_c_string(g, v->str ? v->str : "0",
				v->str ? strlen(v->str) : 1);
	case IDLC_V_CHAR:
		if (v->i >= 0x20 && v->i < 0x7f && v->i != '\'' &&
		    v->i != '\\')
			return idlc_arena_printf(g->a, "'%c'", (char)v->i);
		return idlc_arena_printf(g->a, "'\\%03o'", (unsigned)v->i);
	case IDLC_V_STRING:
		return idlc_gen_c_string(g, v->str, v->len);
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
	char *v = idlc_gen_c_value(g, n->type, &n->value);

	if (o == NULL || v == NULL)
		return -1;
	G(idlc_tv_set_str(o, "value", "%s", v));
	return idlc_tv_push(g->decls, o);
fail:
	return -1;
}

/* union: struct { D _d; union { ... } _u; }, the discriminator and the
 * case members (a case's member is meaningful when _d selects it). */
static int gen_union(gen *g, const idlc_node *n, idlc_tv **out)
{
	char *name = idlc_gen_c_name(g, n), *body, *d;
	idlc_tv *members = idlc_tv_list(g->a);
	const idlc_node *m;

	if (name == NULL || members == NULL || idlc_gen_forward(g, name) < 0)
		return -1;
	if (n->type->kind == IDLC_T_NAMED && n->type->decl &&
	    type_decl(g, n->type->decl) < 0)
		return -1;
	d = c_decl(g, n->type, "_d", idlc_arena_printf(g->a, "%s_d", name));
	body = idlc_arena_printf(g->a, "%s", "union {\n");
	for (m = n->children; m && body; m = m->next) {
		char *md;
		if (m->type->kind == IDLC_T_NAMED && m->type->decl &&
		    type_decl(g, m->type->decl) < 0)
			return -1;
		md = c_decl(g, m->type, member_ident(g, m),
			    idlc_arena_printf(g->a, "%s_%s_seq", name,
					      m->name));
		if (md == NULL)
			return -1;
		body = idlc_arena_append(g->a, body, "%s\t\t%s;\n",
					 idlc_gen_doc(g, m->doc, "\t\t"), md);
	}
	if (body && n->children == NULL)
		body = idlc_arena_append(g->a, body, "\t\tchar empty_;\n");
	if (body)
		body = idlc_arena_append(g->a, body, "\t} _u");
	if (member_obj(g, members, d, "\t/* the discriminator */\n") < 0 ||
	    member_obj(g, members, body, "\t/* the member _d selects */\n") < 0)
		return -1;
	return struct_obj(g, n, name, members, out);
}

/* valuetype / eventtype: its nested declarations, then a struct of its
 * state (the base's state first, as `_base`); operations run locally
 * and have no C declaration here.  boxed valuetype: struct { T value; }.
 * Both are used through pointers (a NULL value is allowed). */
static int gen_value(gen *g, const idlc_node *n, idlc_tv **out)
{
	char *name = idlc_gen_c_name(g, n);
	idlc_tv *members = idlc_tv_list(g->a);
	const idlc_node *m;

	if (name == NULL || members == NULL || idlc_gen_forward(g, name) < 0)
		return -1;
	if (n->kind == IDLC_VALUE_BOX) {
		if (n->type->kind == IDLC_T_NAMED && n->type->decl &&
		    type_decl(g, n->type->decl) < 0)
			return -1;
		if (member_obj(g, members, c_decl(g, n->type, "value",
				idlc_arena_printf(g->a, "%s_value_seq", name)),
			       "\t/* the boxed value */\n") < 0)
			return -1;
		return struct_obj(g, n, name, members, out);
	}
	for (m = n->children; m; m = m->next)
		if (m->kind != IDLC_STATE_MEMBER && idlc_gen_type(g, m, NULL) < 0)
			return -1;
	if (n->n_bases > 0 && n->base_nodes[0]->kind == IDLC_VALUETYPE &&
	    !(idlc_gen_defn(n->base_nodes[0])->flags & IDLC_F_ABSTRACT)) {
		if (member_obj(g, members, idlc_arena_printf(g->a, "%s _base",
				idlc_gen_c_name(g, n->base_nodes[0])),
			       "\t/* the base value's state */\n") < 0)
			return -1;
	} else if (!(n->flags & IDLC_F_ABSTRACT) &&
		   member_obj(g, members, "shade_value_head _head",
			      "\t/* its type and operations */\n") < 0) {
		return -1;
	}
	for (m = n->children; m; m = m->next) {
		if (m->kind != IDLC_STATE_MEMBER)
			continue;
		if (m->type->kind == IDLC_T_NAMED && m->type->decl &&
		    type_decl(g, m->type->decl) < 0)
			return -1;
		if (member_obj(g, members, c_decl(g, m->type,
				member_ident(g, m),
				idlc_arena_printf(g->a, "%s_%s_seq", name,
						  m->name)),
			       idlc_gen_doc(g, m->doc, "\t")) < 0)
			return -1;
	}
	return struct_obj(g, n, name, members, out);
}

/* The smallest unsigned C type of `bits` bits; see gen_int.h. */
const char *idlc_gen_uint_of(uint64_t bits)
{
	return bits <= 8 ? "uint8_t" : bits <= 16 ? "uint16_t" :
	       bits <= 32 ? "uint32_t" : "uint64_t";
}

/* The bits of a bitmask; see gen_int.h. */
uint64_t idlc_gen_bitmask_bits(const idlc_node *n)
{
	const idlc_annotation *a = idlc_find_annotation(n, "bit_bound");

	if (a && a->params && a->params->value->op == IDLC_OP_LITERAL &&
	    a->params->value->value.kind == IDLC_V_INT)
		return (uint64_t)a->params->value->value.i;
	return 32;
}

/* The declared flags of a bitmask, or'ed; see gen_int.h. */
uint64_t idlc_gen_bitmask_flags(const idlc_node *n)
{
	const idlc_node *m;
	uint64_t flags = 0;

	for (m = n->children; m; m = m->next)
		flags |= (uint64_t)m->value.i;
	return flags;
}

/* bitmask: an unsigned integer typedef (@bit_bound bits, 32 by
 * default) and one constant per flag. */
static int gen_bitmask(gen *g, const idlc_node *n)
{
	char *name = idlc_gen_c_name(g, n);
	uint64_t bits = idlc_gen_bitmask_bits(n);
	const idlc_node *m;
	idlc_tv *o;

	o = idlc_gen_decl_obj(g, "is_typedef", name, n->doc);
	if (o == NULL || name == NULL)
		return -1;
	G(idlc_tv_set_str(o, "decl", "%s %s", idlc_gen_uint_of(bits), name));
	G(idlc_tv_push(g->decls, o));
	for (m = n->children; m; m = m->next) {
		o = idlc_gen_decl_obj(g, "is_const", idlc_gen_c_name(g, m),
				      m->doc);
		if (o == NULL)
			return -1;
		G(idlc_tv_set_str(o, "value", "((%s)UINT64_C(%llu))", name,
				  (unsigned long long)m->value.i));
		G(idlc_tv_push(g->decls, o));
	}
	return 0;
fail:
	return -1;
}

/* bitset: a struct of its named bitfields, each in the type written or
 * the smallest unsigned type of its width (the base's fields first). */
static int gen_bitset(gen *g, const idlc_node *n, idlc_tv **out)
{
	char *name = idlc_gen_c_name(g, n);
	idlc_tv *members = idlc_tv_list(g->a);
	const idlc_node *m;

	if (name == NULL || members == NULL || idlc_gen_forward(g, name) < 0)
		return -1;
	if (n->n_bases > 0 &&
	    member_obj(g, members, idlc_arena_printf(g->a, "%s _base",
			idlc_gen_c_name(g, n->base_nodes[0])),
		       "\t/* the base bitset's fields */\n") < 0)
		return -1;
	for (m = n->children; m; m = m->next) {
		const char *id;
		if (m->name == NULL)
			continue;
		id = idlc_gen_ident(g, m->name);
		if (member_obj(g, members, m->type ?
			       c_decl(g, m->type, id, "") :
			       idlc_arena_printf(g->a, "%s %s",
				idlc_gen_uint_of((uint64_t)m->value.i), id),
			       idlc_arena_printf(g->a, "\t/* %llu bits */\n",
				(unsigned long long)m->value.i)) < 0)
			return -1;
	}
	return struct_obj(g, n, name, members, out);
}

/* native: an opaque pointer. */
static int gen_native(gen *g, const idlc_node *n)
{
	char *name = idlc_gen_c_name(g, n);
	idlc_tv *o = idlc_gen_decl_obj(g, "is_typedef", name, n->doc);

	if (o == NULL || name == NULL)
		return -1;
	G(idlc_tv_set_str(o, "decl", "void *%s", name));
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
	case IDLC_UNION:
		return gen_union(g, n, out);
	case IDLC_VALUETYPE:
	case IDLC_VALUE_BOX:
		return gen_value(g, n, out);
	case IDLC_BITMASK:
		return gen_bitmask(g, n);
	case IDLC_BITSET:
		return gen_bitset(g, n, out);
	case IDLC_NATIVE:
		return gen_native(g, n);
	case IDLC_STRUCT_FWD:
	case IDLC_UNION_FWD:
	case IDLC_VALUE_FWD:
		return idlc_gen_forward(g, idlc_gen_c_name(g, n));
	default:
		return 0;
	}
}

/* An inline declaration (a struct or enum declared in a member). */
static int type_decl(gen *g, const idlc_node *n)
{
	return idlc_gen_type(g, n, NULL);
}
