/*
 * idlc/gen/gen.c - code generation: the checked tree becomes a tree of
 * template values (the C mapping is decided here), which the templates
 * lay out as FILE.h and FILE.c.  See doc/idl.md for the mapping.
 *
 * Only the declarations of the main file are generated; declarations of
 * included files come from their own generated headers, which the output
 * includes.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gen/gen.h"
#include "gen/gen_int.h"
#include "base/arena.h"
#include "gen/tmpl.h"
#include "check/check.h"

/* Go to `fail` when a template value could not be built. */
#define G(call) do { if ((call) < 0) goto fail; } while (0)

/* C keywords that IDL allows as identifiers: they get a '_' suffix. */
static const char *const c_keywords[] = {
	"auto", "break", "continue", "do", "else", "extern", "for", "goto",
	"if", "inline", "int", "register", "restrict", "return", "signed",
	"sizeof", "static", "volatile", "while", "bool", "true", "false",
	"asm", "typeof", "errno", "NULL", "self", "err", "result",
	"mem_ctx", NULL
};

/* A member/parameter name safe in C; see gen_int.h. */
const char *idlc_gen_ident(gen *g, const char *name)
{
	size_t i;

	for (i = 0; c_keywords[i]; i++)
		if (strcmp(name, c_keywords[i]) == 0)
			return idlc_arena_printf(g->a, "%s_", name);
	return name;
}

/* Qualified name of n joined with sep, in the arena. */
static char *qualified(gen *g, const idlc_node *n, const char *sep)
{
	size_t len = idlc_qualified_name_buf(n, sep, NULL, 0);
	char *out = idlc_arena_alloc(g->a, len + 1);

	if (out)
		idlc_qualified_name_buf(n, sep, out, len + 1);
	return out;
}

/* C name of a declaration; see gen_int.h. */
char *idlc_gen_c_name(gen *g, const idlc_node *n)
{
	return qualified(g, n, "_");
}

/* Shape name of a declaration: its qualified name joined with '.'. */
static char *dotted_name(gen *g, const idlc_node *n)
{
	return qualified(g, n, ".");
}

/* The definition behind forward declarations. */
static const idlc_node *defn(const idlc_node *n)
{
	while (n && n->definition)
		n = n->definition;
	return n;
}

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

static int gen_decl(gen *g, const idlc_node *n);

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
		const idlc_node *r = defn(t->ref);
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

/* A doc comment as a C comment; see gen_int.h. */
char *idlc_gen_doc(gen *g, const char *doc, const char *indent)
{
	char *out;
	const char *s, *e;

	if (doc == NULL || *doc == '\0')
		return idlc_arena_printf(g->a, "%s", "");
	out = idlc_arena_printf(g->a, "%s/**\n", indent);
	for (s = doc; out && *s; s = *e ? e + 1 : e) {
		e = strchr(s, '\n');
		if (e == NULL)
			e = s + strlen(s);
		const char *close = memmem(s, (size_t)(e - s), "*/", 2);
		size_t len = close ? (size_t)(close - s) : (size_t)(e - s);
		/* a comment end inside the doc is cut there */
		out = idlc_arena_append(g->a, out, "%s *%s%.*s\n", indent,
					     len ? " " : "", (int)len, s);
	}
	return out ? idlc_arena_append(g->a, out, "%s */\n", indent) : NULL;
}

/* A new declaration object of `kind` with its doc comment. */
static idlc_tv *decl_obj(gen *g, const char *kind, const char *name,
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
	    idlc_tv_set_str(o, "c_name", "%s", name) < 0 ||
	    idlc_tv_set_str(o, "doc", "%s", idlc_gen_doc(g, doc, "")) < 0)
		return NULL;
	return o;
}

/* FNV-1a of a string. */
static uint32_t str_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 16777619u;
	}
	return h;
}

/* Is a name marked done; see gen_int.h. */
bool idlc_gen_has(const gen *g, const char *name)
{
	size_t mask = g->cap_done - 1, i;

	if (g->cap_done == 0)
		return false;
	for (i = str_hash(name) & mask; g->done[i]; i = (i + 1) & mask)
		if (strcmp(g->done[i], name) == 0)
			return true;
	return false;
}

/* Mark with "base NAME" every interface generated here that an
 * interface generated here inherits (they come first in the file): their
 * operations are shared with the interfaces that inherit them.  Returns
 * 0 or -1. */
static int mark_bases(gen *g, const idlc_node *n)
{
	const idlc_node *m;
	size_t i;

	if (n->kind == IDLC_MODULE) {
		for (m = n->children; m; m = m->next)
			if (mark_bases(g, m) < 0)
				return -1;
		return 0;
	}
	if (n->kind != IDLC_INTERFACE)
		return 0;
	if (idlc_gen_once(g, idlc_arena_printf(g->a, "here %s",
					       idlc_gen_c_name(g, n))) < 0)
		return -1;
	for (i = 0; i < n->n_bases; i++) {
		const char *b = idlc_gen_c_name(g, n->base_nodes[i]);
		const char *here = idlc_arena_printf(g->a, "here %s", b);
		const char *base = idlc_arena_printf(g->a, "base %s", b);
		if (here == NULL || base == NULL)
			return -1;
		if (idlc_gen_has(g, here) && idlc_gen_once(g, base) < 0)
			return -1;
	}
	return 0;
}

/* Mark a name done; see gen_int.h.  An open-addressing set: generating
 * a large file marks thousands of names. */
int idlc_gen_once(gen *g, const char *name)
{
	size_t mask, i;

	if ((g->n_done + 1) * 2 > g->cap_done) {
		size_t cap = g->cap_done ? g->cap_done * 2 : 256, k;
		const char **d = idlc_arena_zalloc(g->a, cap * sizeof(*d));
		if (d == NULL)
			return -1;
		for (k = 0; k < g->cap_done; k++) {
			if (g->done[k] == NULL)
				continue;
			for (i = str_hash(g->done[k]) & (cap - 1); d[i];
			     i = (i + 1) & (cap - 1))
				;
			d[i] = g->done[k];
		}
		g->done = d;
		g->cap_done = cap;
	}
	mask = g->cap_done - 1;
	for (i = str_hash(name) & mask; g->done[i]; i = (i + 1) & mask)
		if (strcmp(g->done[i], name) == 0)
			return 1;
	g->done[i] = name;
	g->n_done++;
	return 0;
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
	o = decl_obj(g, "is_sequence", name, doc);
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

/* Add `typedef struct name name;` to the forward declarations. */
static int forward(gen *g, const char *name)
{
	idlc_tv *o = idlc_tv_obj(g->a);

	if (o == NULL || idlc_tv_set_str(o, "c_name", "%s", name) < 0)
		return -1;
	return idlc_tv_push(g->forwards, o);
}

/* Struct or exception with its members. */
static int gen_struct(gen *g, const idlc_node *n)
{
	char *name = idlc_gen_c_name(g, n);
	idlc_tv *o, *members = idlc_tv_list(g->a);
	const idlc_node *m;

	if (name == NULL || members == NULL || forward(g, name) < 0)
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
		    gen_decl(g, m->type->decl) < 0)
			return -1;
		d = c_decl(g, m->type, idlc_gen_ident(g, m->name), anon);
		if (d == NULL)
			return -1;
		G(idlc_tv_set_str(mo, "decl", "%s", d));
		G(idlc_tv_set_str(mo, "doc", "%s", idlc_gen_doc(g, m->doc, "\t")));
		G(idlc_tv_push(members, mo));
	}
	o = decl_obj(g, "is_struct", name, n->doc);
	if (o == NULL)
		return -1;
	G(idlc_tv_set(o, "members", members));
	G(idlc_tv_set_bool(o, "is_exception", n->kind == IDLC_EXCEPTION));
	G(idlc_tv_set_str(o, "qname", "%s", dotted_name(g, n)));
	if (n->kind == IDLC_EXCEPTION)
		G(idlc_gen_exception(g, n, o));
	return idlc_tv_push(g->decls, o);
fail:
	return -1;
}

/* enum */
static int gen_enum(gen *g, const idlc_node *n)
{
	idlc_tv *o = decl_obj(g, "is_enum", idlc_gen_c_name(g, n), n->doc);
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
	    gen_decl(g, t->decl) < 0)
		return -1;
	if (t->kind == IDLC_T_SEQUENCE)
		return idlc_gen_sequence(g, name, t, n->doc);
	d = c_decl(g, t, name, idlc_arena_printf(g->a, "%s_seq", name));
	o = decl_obj(g, "is_typedef", name, n->doc);
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
	idlc_tv *o = decl_obj(g, "is_const", idlc_gen_c_name(g, n), n->doc);
	char *v = c_value(g, n->type, &n->value);

	if (o == NULL || v == NULL)
		return -1;
	G(idlc_tv_set_str(o, "value", "%s", v));
	return idlc_tv_push(g->decls, o);
fail:
	return -1;
}

/* IDL spelling of a type for shape signatures: typedefs resolved,
 * declared types by their dotted qualified name. */
static char *sig_type(gen *g, const idlc_type *t)
{
	char *e;

	t = idlc_type_unalias(t);
	switch (t->kind) {
	case IDLC_T_SEQUENCE:
		e = sig_type(g, t->elem);
		if (t->bound)
			return idlc_arena_printf(g->a, "sequence<%s,%llu>", e,
					       (unsigned long long)t->bound);
		return idlc_arena_printf(g->a, "sequence<%s>", e);
	case IDLC_T_ARRAY:
		return idlc_arena_printf(g->a, "%s[%llu]",
				       sig_type(g, t->elem),
				       (unsigned long long)t->bound);
	case IDLC_T_NAMED:
		return dotted_name(g, defn(t->ref));
	default:
		return idlc_type_name(g->tmp, t);
	}
}

/* Signature of an operation: "(in T,out U)->R". */
static char *sig_op(gen *g, const idlc_node *op)
{
	static const char *const dirs[] = { "", "in", "out", "inout" };
	char *s = idlc_arena_printf(g->a, "%s", "(");
	const idlc_node *q;

	for (q = op->children; s && q; q = q->next)
		s = idlc_arena_append(g->a, s, "%s%s %s", q == op->children ?
					   "" : ",", dirs[q->dir],
					   sig_type(g, q->type));
	return s ? idlc_arena_append(g->a, s, ")->%s", sig_type(g, op->type))
		 : NULL;
}

/* ---------------------------------------------------------------- shapes */

/* Collect ancestors nearest first (breadth first, no duplicates). */
static size_t collect_bases(const idlc_node *n, const idlc_node **out,
			    size_t max)
{
	size_t count = 0, head = 0, i, j;

	for (i = 0; i < n->n_bases && count < max; i++)
		out[count++] = n->base_nodes[i];
	while (head < count) {
		const idlc_node *b = out[head++];
		for (i = 0; i < b->n_bases; i++) {
			for (j = 0; j < count; j++)
				if (out[j] == b->base_nodes[i])
					break;
			if (j == count && count < max)
				out[count++] = b->base_nodes[i];
		}
	}
	return count;
}

/* Add the members of n (own ones, after those of its bases, depth
 * first) that are not there yet. */
static void collect_members(gen *g, const idlc_node *n, smember *out,
			    size_t *count, size_t max,
			    const idlc_node **seen, size_t *n_seen)
{
	const idlc_node *m;
	size_t i;

	for (i = 0; i < *n_seen; i++)
		if (seen[i] == n)
			return;
	if (*n_seen < 256)
		seen[(*n_seen)++] = n;
	for (i = 0; i < n->n_bases; i++)
		collect_members(g, n->base_nodes[i], out, count, max, seen,
				n_seen);
	for (m = n->children; m && *count < max; m = m->next) {
		smember *s = &out[*count];
		if (m->kind == IDLC_ATTRIBUTE) {
			s->kind = (m->flags & IDLC_F_READONLY) ?
				  SHADE_MEMBER_READONLY : SHADE_MEMBER_ATTR;
			s->sig = sig_type(g, m->type);
		} else if (m->kind == IDLC_OPERATION) {
			s->kind = (m->flags & IDLC_F_ONEWAY) ?
				  SHADE_MEMBER_ONEWAY : SHADE_MEMBER_METHOD;
			s->sig = sig_op(g, m);
		} else {
			continue;
		}
		s->name = m->name;
		s->node = m;
		(*count)++;
	}
}

/* Shape descriptor of an interface, with its fingerprint computed by
 * the runtime's own shape code from the same descriptor. */
static int gen_shape(gen *g, const idlc_node *n, idlc_tv *o)
{
	static const char *const kinds[] = {
		[SHADE_MEMBER_ATTR] = "SHADE_MEMBER_ATTR",
		[SHADE_MEMBER_READONLY] = "SHADE_MEMBER_READONLY",
		[SHADE_MEMBER_METHOD] = "SHADE_MEMBER_METHOD",
		[SHADE_MEMBER_ONEWAY] = "SHADE_MEMBER_ONEWAY" };
	const idlc_node *bases[256], *seen[256];
	const char *base_names[256];
	smember *members;
	shade_member_desc *md;
	shade_shape_desc d = { .kind = SHADE_SHAPE_OBJECT };
	size_t nb, nm = 0, n_seen = 0, i;
	idlc_tv *bl = idlc_tv_list(g->a), *ml = idlc_tv_list(g->a);
	char *qname = dotted_name(g, n);
	uint64_t fp = 0;

	members = talloc_array(g->tmp, smember, 1024);
	md = talloc_array(g->tmp, shade_member_desc, 1024);
	if (bl == NULL || ml == NULL || qname == NULL || members == NULL ||
	    md == NULL)
		return -1;
	nb = collect_bases(n, bases, 256);
	collect_members(g, n, members, &nm, 1024, seen, &n_seen);
	for (i = 0; i < nb; i++) {
		idlc_tv *b = idlc_tv_obj(g->a);
		base_names[i] = dotted_name(g, bases[i]);
		if (b == NULL || base_names[i] == NULL)
			return -1;
		G(idlc_tv_set_str(b, "qname", "%s", base_names[i]));
		G(idlc_tv_push(bl, b));
	}
	for (i = 0; i < nm; i++) {
		idlc_tv *m = idlc_tv_obj(g->a);
		md[i].name = members[i].name;
		md[i].kind = members[i].kind;
		md[i].signature = members[i].sig;
		if (m == NULL || members[i].sig == NULL)
			return -1;
		G(idlc_tv_set_str(m, "name", "%s", members[i].name));
		G(idlc_tv_set_str(m, "kind", "%s", kinds[members[i].kind]));
		G(idlc_tv_set_str(m, "sig", "%s", members[i].sig));
		G(idlc_tv_set_str(m, "index", "%zu", i));
		G(idlc_tv_push(ml, m));
	}
	d.name = qname;
	d.bases = base_names;
	d.n_bases = nb;
	d.members = md;
	d.n_members = nm;
	if (shade_shape_fingerprint(&d, &fp, NULL) != SHADE_OK) {
		idlc_error(g->comp, &n->name_loc, "interface '%s': no shape "
			   "fingerprint (a name is not UTF-8?)", qname);
		return -1;
	}
	G(idlc_tv_set_str(o, "qname", "%s", qname));
	G(idlc_tv_set(o, "bases", bl));
	G(idlc_tv_set_str(o, "n_bases", "%zu", nb));
	G(idlc_tv_set(o, "shape_members", ml));
	G(idlc_tv_set_str(o, "n_members", "%zu", nm));
	G(idlc_tv_set_str(o, "fingerprint", "0x%016llx",
			  (unsigned long long)fp));
	G(idlc_gen_stubs(g, n, members, nm, o));
	talloc_free(members);
	talloc_free(md);
	return 0;
fail:
	return -1;
}

/* interface: typed reference type, nested declarations, shape. */
static int gen_interface(gen *g, const idlc_node *n)
{
	char *name = idlc_gen_c_name(g, n);
	idlc_tv *o;
	const idlc_node *m;

	if (name == NULL || forward(g, name) < 0)
		return -1;
	for (m = n->children; m; m = m->next)
		if (gen_decl(g, m) < 0)
			return -1;
	o = decl_obj(g, "is_interface", name, n->doc);
	if (o == NULL || gen_shape(g, n, o) < 0)
		return -1;
	G(idlc_tv_push(g->shapes, o));
	return idlc_tv_push(g->decls, o);
fail:
	return -1;
}

/* Generate one declaration (and what it contains). */
static int gen_decl(gen *g, const idlc_node *n)
{
	const idlc_node *m;

	switch (n->kind) {
	case IDLC_MODULE:
		for (m = n->children; m; m = m->next)
			if (gen_decl(g, m) < 0)
				return -1;
		return 0;
	case IDLC_STRUCT:
	case IDLC_EXCEPTION:
		return gen_struct(g, n);
	case IDLC_ENUM:
		return gen_enum(g, n);
	case IDLC_TYPEDEF:
		return gen_typedef(g, n);
	case IDLC_CONST:
		return gen_const(g, n);
	case IDLC_INTERFACE:
		return gen_interface(g, n);
	case IDLC_INTERFACE_FWD:
		return n->definition ? 0 : forward(g, idlc_gen_c_name(g, n));
	default:
		return 0;
	}
}

/* ---------------------------------------------------------------- files */

/* Built-in templates (generated from templates/ at build time). */
typedef struct idlc_builtin_template {
	const char *name;          /* file name in templates/ */
	const char *const *lines;  /* its lines, NULL-terminated */
} idlc_builtin_template;
extern const idlc_builtin_template idlc_builtin_templates[];

/* Text of template `name`: from dir when given, else built in. */
static char *template_text(gen *g, const char *dir, const char *name)
{
	char *text = NULL;
	size_t i, j;

	if (dir != NULL) {
		char *path = idlc_arena_printf(g->a, "%s/%s", dir, name);
		size_t len;
		if (path == NULL ||
		    idlc_read_file(g->tmp, path, &text, &len) < 0) {
			idlc_error(g->comp, NULL, "cannot read template '%s': "
				   "%s", path ? path : name, strerror(errno));
			return NULL;
		}
		return text;
	}
	for (i = 0; idlc_builtin_templates[i].name; i++) {
		if (strcmp(idlc_builtin_templates[i].name, name) != 0)
			continue;
		size_t len = 0, l;
		for (j = 0; idlc_builtin_templates[i].lines[j]; j++)
			len += strlen(idlc_builtin_templates[i].lines[j]);
		text = idlc_arena_alloc(g->a, len + 1);
		if (text == NULL)
			return NULL;
		for (len = 0, j = 0; idlc_builtin_templates[i].lines[j]; j++) {
			l = strlen(idlc_builtin_templates[i].lines[j]);
			memcpy(text + len, idlc_builtin_templates[i].lines[j], l);
			len += l;
		}
		text[len] = '\0';
		return text;
	}
	idlc_error(g->comp, NULL, "no built-in template '%s'", name);
	return NULL;
}

/* Base name of a path without directory and extension. */
static char *base_name(TALLOC_CTX *ctx, const char *path)
{
	const char *s = strrchr(path, '/'), *dot;

	s = s ? s + 1 : path;
	dot = strrchr(s, '.');
	return talloc_strndup(ctx, s, dot ? (size_t)(dot - s) : strlen(s));
}

/* The root value of the templates for comp's main file. */
static idlc_tv *build_model(gen *g)
{
	idlc_tv *root = idlc_tv_obj(g->a), *incs = idlc_tv_list(g->a);
	char *base = base_name(g->tmp, g->comp->main_file), *guard, *p;
	const idlc_dep *d;
	const idlc_node *n;

	g->forwards = idlc_tv_list(g->a);
	g->decls = idlc_tv_list(g->a);
	g->shapes = idlc_tv_list(g->a);
	g->codecs = idlc_tv_list(g->a);
	if (!root || !incs || !base || !g->forwards || !g->decls ||
	    !g->shapes || !g->codecs)
		return NULL;
	guard = idlc_arena_printf(g->a, "SHADE_IDL_%s_H", base);
	for (p = guard; p && *p; p++)
		*p = (char)((*p >= 'a' && *p <= 'z') ? *p - 32 :
			    ((*p >= 'A' && *p <= 'Z') ||
			     (*p >= '0' && *p <= '9')) ? *p : '_');
	for (d = g->comp->deps ? g->comp->deps->next : NULL; d; d = d->next) {
		idlc_tv *i = idlc_tv_obj(g->a);
		if (i == NULL)
			return NULL;
		G(idlc_tv_set_str(i, "header", "%s.h",
				  base_name(g->tmp, d->file)));
		G(idlc_tv_push(incs, i));
	}
	for (n = g->comp->root->children; n; n = n->next)
		if (strcmp(n->loc.file, g->comp->main_file) == 0 &&
		    mark_bases(g, n) < 0)
			return NULL;
	for (n = g->comp->root->children; n; n = n->next)
		if (strcmp(n->loc.file, g->comp->main_file) == 0 &&
		    gen_decl(g, n) < 0)
			return NULL;
	G(idlc_tv_set_str(root, "source", "%s", g->comp->main_file));
	G(idlc_tv_set_str(root, "base", "%s", base));
	G(idlc_tv_set_str(root, "guard", "%s", guard));
	G(idlc_tv_set_str(root, "version", "%s", IDLC_VERSION));
	G(idlc_tv_set(root, "includes", incs));
	G(idlc_tv_set(root, "forwards", g->forwards));
	G(idlc_tv_set(root, "decls", g->decls));
	G(idlc_tv_set(root, "shapes", g->shapes));
	G(idlc_tv_set(root, "codecs", g->codecs));
	G(idlc_tv_set_bool(root, "need_int", g->need_int));
	G(idlc_tv_set_bool(root, "need_uint", g->need_uint));
	G(idlc_tv_set_bool(root, "need_ref", g->need_ref));
	G(idlc_tv_set_bool(root, "need_ref_on", g->need_ref_on));
	G(idlc_tv_set_bool(root, "need_array", g->need_array));
	G(idlc_tv_set_bool(root, "need_seq", g->need_seq || g->need_array));
	return root;
fail:
	return NULL;
}

/* Render template `name` into *out, or, when f is not NULL, into f. */
static int render(gen *g, const char *dir, const char *name,
		  const idlc_tv *root, FILE *f, char **out)
{
	char *text = template_text(g, dir, name), *msg = NULL;
	int rc;

	if (text == NULL)
		return -1;
	rc = f ? idlc_tmpl_render_file(g->tmp, f, name, text, root, &msg)
	       : idlc_tmpl_render(g->tmp, name, text, root, out, &msg);
	if (rc < 0)
		idlc_error(g->comp, NULL, "template %s", msg ? msg : name);
	return rc;
}

/* Render both outputs into dir/base.h and dir/base.c, written together:
 * through temporary files renamed only when both are complete. */
static int write_outputs(gen *g, const char *dir, const char *tdir,
			 const idlc_tv *root)
{
	const char *base = base_name(g->tmp, g->comp->main_file);
	const char *ext[2] = { "h", "c" };
	const char *tmpl[2] = { "header.h.tmpl", "source.c.tmpl" };
	char *path[2], *tmp[2];
	int i, rc = 0;

	for (i = 0; i < 2; i++) {
		FILE *f;
		path[i] = talloc_asprintf(g->tmp, "%s/%s.%s", dir, base, ext[i]);
		tmp[i] = talloc_asprintf(g->tmp, "%s.tmp", path[i]);
		f = tmp[i] ? fopen(tmp[i], "wb") : NULL;
		if (f == NULL) {
			idlc_error(g->comp, NULL, "cannot write '%s': %s",
				   path[i] ? path[i] : base, strerror(errno));
			rc = -1;
			break;
		}
		setvbuf(f, NULL, _IOFBF, 1u << 16);
		if (render(g, tdir, tmpl[i], root, f, NULL) < 0)
			rc = -1;
		if (fclose(f) != 0 && rc == 0) {
			idlc_error(g->comp, NULL, "cannot write '%s': %s",
				   path[i], strerror(errno));
			rc = -1;
		}
		if (rc < 0) {
			i++;
			break;
		}
	}
	while (rc == 0 && i-- > 0)
		if (rename(tmp[i], path[i]) != 0) {
			idlc_error(g->comp, NULL, "cannot write '%s': %s",
				   path[i], strerror(errno));
			rc = -1;
		}
	if (rc < 0)
		while (i-- > 0)
			remove(tmp[i]);
	return rc;
}

/* Generate; see gen.h. */
int idlc_generate(idlc_compilation *comp, const char *out_dir,
		  const char *templates_dir)
{
	gen g = { .comp = comp };
	idlc_tv *root;
	char *h = NULL, *c = NULL;
	int rc = -1;

	if (comp->root == NULL || comp->n_errors)
		return -1;
	if (idlc_check_subset(comp) < 0)
		return -1;
	/* not under comp: the compilation lives in a talloc pool, which never
	 * reuses the space of what is freed or reallocated in it, and code
	 * generation frees and grows many buffers */
	g.tmp = talloc_new(NULL);
	g.a = g.tmp ? idlc_arena_new(g.tmp) : NULL;
	if (g.a == NULL) {
		talloc_free(g.tmp);
		return -1;
	}
	root = build_model(&g);
	if (root == NULL) {
		idlc_error(comp, NULL, "out of memory");
		goto done;
	}
	if (out_dir != NULL) {
		rc = write_outputs(&g, out_dir, templates_dir, root);
		goto done;
	}
	if (render(&g, templates_dir, "header.h.tmpl", root, NULL, &h) < 0 ||
	    render(&g, templates_dir, "source.c.tmpl", root, NULL, &c) < 0)
		goto done;
	comp->out_h = talloc_steal(comp, h);
	comp->out_c = talloc_steal(comp, c);
	rc = 0;
done:
	talloc_free(g.tmp);
	return rc;
}
