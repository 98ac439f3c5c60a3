/*
 * idlc/front/create.c - node constructors for the grammar actions.
 *
 * Everything is allocated on the compilation context.  Values dropped by
 * the parser's error recovery are freed one by one by the %destructors;
 * what they point to stays owned by the compilation.
 */
#include <stdint.h>
#include <string.h>

#include "front/create.h"

/* Define a chain-append helper for a struct type with a `next` field. */
#define DEFINE_APPEND(fn, type)                  \
	type *fn(type *a, type *b)               \
	{                                        \
		type *t;                         \
		if (a == NULL)                   \
			return b;                \
		for (t = a; t->next; t = t->next) \
			;                        \
		t->next = b;                     \
		return a;                        \
	}

/* The chain-append helpers declared in create.h. */
DEFINE_APPEND(idlc_scoped_name_append, idlc_scoped_name)
DEFINE_APPEND(idlc_declarator_append, idlc_declarator)
DEFINE_APPEND(idlc_label_append, idlc_label)
DEFINE_APPEND(idlc_annotation_append, idlc_annotation)
DEFINE_APPEND(idlc_anno_param_append, idlc_anno_param)

/* Merge rule locations: first position of the first non-empty symbol,
 * last position of the last one; the doc comment of the first non-empty
 * symbol.  An empty rule sits at the end of the previous symbol. */
void idlc_loc_merge(idlc_loc *cur, const idlc_loc *rhs, int n)
{
	int k;

	if (n == 0) {
		cur->file = rhs[0].file;
		cur->first_line = cur->last_line = rhs[0].last_line;
		cur->first_column = cur->last_column = rhs[0].last_column;
		cur->doc = NULL;
		cur->bol = NULL;
		return;
	}
	for (k = 1; k < n; k++) {
		const idlc_loc *l = &rhs[k];
		if (l->first_line != l->last_line ||
		    l->first_column != l->last_column)
			break;
	}
	cur->file = rhs[k].file;
	cur->first_line = rhs[k].first_line;
	cur->first_column = rhs[k].first_column;
	cur->doc = rhs[k].doc;
	cur->bol = rhs[k].bol;
	cur->last_line = rhs[n].last_line;
	cur->last_column = rhs[n].last_column;
}

/* Append chain b (may be several nodes) to chain a, keeping the head's
 * tail pointer up to date. */
idlc_node *idlc_append(idlc_node *a, idlc_node *b)
{
	idlc_node *t;

	if (b == NULL)
		return a;
	if (b->tail == NULL)
		for (b->tail = b; b->tail->next; b->tail = b->tail->next)
			;
	if (a == NULL)
		return b;
	if (a->tail == NULL)
		for (a->tail = a; a->tail->next; a->tail = a->tail->next)
			;
	t = b->tail;
	a->tail->next = b;
	a->tail = t;
	b->tail = NULL;
	return a;
}

/* A new node of `kind` named `name`; doc from the location. */
static idlc_node *node_new(idlc_parser *p, const idlc_loc *loc,
			   idlc_kind kind, const char *name,
			   const idlc_loc *name_loc)
{
	idlc_node *n = talloc_zero(p->comp, idlc_node);

	if (n == NULL)
		return NULL;
	n->kind = kind;
	n->loc = *loc;
	n->name_loc = name_loc ? *name_loc : *loc;
	n->name = name;
	n->doc = loc->doc;
	return n;
}

/* A new node holding the chain `children` (their parent set). */
static idlc_node *parent_new(idlc_parser *p, const idlc_loc *loc,
			     idlc_kind kind, const char *name,
			     const idlc_loc *name_loc, idlc_node *children)
{
	idlc_node *n = node_new(p, loc, kind, name, name_loc), *c;

	if (n == NULL)
		return NULL;
	n->children = children;
	for (c = children; c; c = c->next)
		c->parent = n;
	return n;
}

/* The root node. */
int idlc_create_specification(idlc_parser *p, const idlc_loc *loc,
			      idlc_node *defs)
{
	idlc_node *n = parent_new(p, loc, IDLC_SPECIFICATION, NULL, NULL, defs);

	if (n == NULL)
		return -1;
	n->doc = NULL;
	p->comp->root = n;
	return 0;
}

/* Attach annotations to a chain of declarations, and the doc comment
 * that precedes them when the declaration has none of its own. */
int idlc_create_annotated(idlc_parser *p, const idlc_loc *loc,
			  idlc_node *node, idlc_annotation *annos,
			  idlc_node **out)
{
	idlc_node *n;

	(void)p;
	for (n = node; n; n = n->next) {
		if (n->doc == NULL)
			n->doc = loc->doc;
		if (annos != NULL)
			n->annotations = idlc_annotation_append(annos,
							n->annotations);
	}
	*out = node;
	return 0;
}

/* module name { defs } */
int idlc_create_module(idlc_parser *p, const idlc_loc *loc, const char *name,
		       const idlc_loc *name_loc, idlc_node *defs,
		       idlc_node **out)
{
	*out = parent_new(p, loc, IDLC_MODULE, name, name_loc, defs);
	return *out ? 0 : -1;
}

/* Forward declarations of interfaces, structs, unions, valuetypes,
 * components. */
int idlc_create_forward(idlc_parser *p, const idlc_loc *loc, idlc_kind kind,
			unsigned flags, const char *name,
			const idlc_loc *name_loc, idlc_node **out)
{
	idlc_node *n = node_new(p, loc, kind, name, name_loc);

	if (n == NULL)
		return -1;
	n->flags = flags;
	*out = n;
	return 0;
}

/* interface name : bases { exports } */
int idlc_create_interface(idlc_parser *p, const idlc_loc *loc,
			  unsigned flags, const char *name,
			  const idlc_loc *name_loc, idlc_scoped_name *bases,
			  idlc_node *exports, idlc_node **out)
{
	idlc_node *n = parent_new(p, loc, IDLC_INTERFACE, name, name_loc,
			exports);

	if (n == NULL)
		return -1;
	n->flags = flags;
	n->bases = bases;
	*out = n;
	return 0;
}

/* Build or extend a scoped name. */
int idlc_create_scoped_name(idlc_parser *p, const idlc_loc *loc,
			    idlc_scoped_name *prefix, bool absolute,
			    const char *ident, idlc_scoped_name **out)
{
	idlc_scoped_name *sn = prefix;
	const char **parts;

	if (sn == NULL) {
		sn = talloc_zero(p->comp, idlc_scoped_name);
		if (sn == NULL)
			return -1;
		sn->absolute = absolute;
	}
	parts = talloc_realloc(sn, sn->parts, const char *, sn->n + 1);
	if (parts == NULL)
		return -1;
	parts[sn->n++] = ident;
	sn->parts = parts;
	sn->loc = *loc;
	*out = sn;
	return 0;
}

/* One IDLC_ATTRIBUTE node per declarator. */
int idlc_create_attributes(idlc_parser *p, const idlc_loc *loc,
			   unsigned flags, idlc_type *type,
			   idlc_declarator *names, idlc_scoped_name *raises,
			   idlc_scoped_name *getraises,
			   idlc_scoped_name *setraises, idlc_node **out)
{
	idlc_node *head = NULL;
	idlc_declarator *d;

	if ((raises || getraises || setraises) && names && names->next)
		idlc_error(p->comp, &names->next->loc,
			   "an attribute with a raises clause must be "
			   "declared alone");
	if (raises && !(flags & IDLC_F_READONLY))
		idlc_error(p->comp, loc, "use getraises/setraises, not raises, "
			   "on a writable attribute");
	if ((getraises || setraises) && (flags & IDLC_F_READONLY))
		idlc_error(p->comp, loc, "use raises, not getraises/setraises, "
			   "on a readonly attribute");
	for (d = names; d; d = d->next) {
		idlc_node *n = node_new(p, loc, IDLC_ATTRIBUTE, d->name,
					&d->loc);
		if (n == NULL)
			return -1;
		n->flags = flags;
		n->type = type;
		n->raises = raises ? raises : getraises;
		n->setraises = setraises;
		head = idlc_append(head, n);
	}
	*out = head;
	return 0;
}

/* Add a plain name to a declarator list (attribute names). */
int idlc_declarator_add(idlc_parser *p, const idlc_loc *loc,
			idlc_declarator *list, const char *name,
			idlc_declarator **out)
{
	idlc_declarator *d;

	if (idlc_create_declarator(p, loc, name, NULL, NULL, &d) < 0)
		return -1;
	*out = idlc_declarator_append(list, d);
	return 0;
}

/* [oneway] result name(params) raises(...) context(...) */
int idlc_create_operation(idlc_parser *p, const idlc_loc *loc,
			  unsigned flags, idlc_type *result,
			  const char *name, const idlc_loc *name_loc,
			  idlc_node *params, idlc_scoped_name *raises,
			  idlc_strlist *context, idlc_node **out)
{
	idlc_node *n = parent_new(p, loc, IDLC_OPERATION, name, name_loc,
			params);

	if (n == NULL)
		return -1;
	n->flags = flags;
	n->type = result;
	n->raises = raises;
	n->context = context;
	*out = n;
	return 0;
}

/* in|out|inout type name */
int idlc_create_param(idlc_parser *p, const idlc_loc *loc,
		      idlc_annotation *annos, unsigned dir, idlc_type *type,
		      const char *name, const idlc_loc *name_loc,
		      idlc_node **out)
{
	idlc_node *n = node_new(p, loc, IDLC_PARAM, name, name_loc);

	if (n == NULL)
		return -1;
	n->dir = (idlc_dir)dir;
	n->type = type;
	n->annotations = annos;
	*out = n;
	return 0;
}

/* Append a string literal to a context list. */
int idlc_create_strlist(idlc_parser *p, idlc_strlist *list, idlc_expr *str,
			idlc_strlist **out)
{
	idlc_strlist *s = talloc_zero(p->comp, idlc_strlist), *t;

	if (s == NULL)
		return -1;
	s->str = str->value.str;
	if (list == NULL) {
		*out = s;
		return 0;
	}
	for (t = list; t->next; t = t->next)
		;
	t->next = s;
	*out = list;
	return 0;
}

/* A new type object. */
static idlc_type *type_new(idlc_parser *p, const idlc_loc *loc,
			   idlc_tkind kind)
{
	idlc_type *t = talloc_zero(p->comp, idlc_type);

	if (t == NULL)
		return NULL;
	t->kind = kind;
	t->loc = *loc;
	return t;
}

/* A basic type. */
int idlc_create_base_type(idlc_parser *p, const idlc_loc *loc,
			  idlc_tkind kind, idlc_type **out)
{
	*out = type_new(p, loc, kind);
	return *out ? 0 : -1;
}

/* A type by name, or an inline struct/union/enum declaration. */
int idlc_create_named_type(idlc_parser *p, const idlc_loc *loc,
			   idlc_scoped_name *name, idlc_node *decl,
			   idlc_type **out)
{
	idlc_type *t = type_new(p, loc, IDLC_T_NAMED);

	if (t == NULL)
		return -1;
	t->name = name;
	t->decl = decl;
	*out = t;
	return 0;
}

/* sequence, map, string<N>, wstring<N>, fixed<d,s>. */
int idlc_create_template_type(idlc_parser *p, const idlc_loc *loc,
			      idlc_tkind kind, idlc_type *elem,
			      idlc_type *key, idlc_expr *bound,
			      idlc_expr *scale, idlc_type **out)
{
	idlc_type *t = type_new(p, loc, kind);

	if (t == NULL)
		return -1;
	t->elem = elem;
	t->key = key;
	t->bound_expr = bound;
	t->scale_expr = scale;
	*out = t;
	return 0;
}

/* A declarator, or one more array dimension on `prev`. */
int idlc_create_declarator(idlc_parser *p, const idlc_loc *loc,
			   const char *name, idlc_declarator *prev,
			   idlc_expr *dim, idlc_declarator **out)
{
	idlc_declarator *d = prev;
	idlc_expr *e;

	if (d == NULL) {
		d = talloc_zero(p->comp, idlc_declarator);
		if (d == NULL)
			return -1;
		d->name = name;
		d->loc = *loc;
	}
	if (dim != NULL) {
		if (d->dims == NULL) {
			d->dims = dim;
		} else {
			for (e = d->dims; e->next; e = e->next)
				;
			e->next = dim;
		}
	}
	*out = d;
	return 0;
}

/* The type of one declarator: the base type wrapped in its array
 * dimensions (outermost first). */
static idlc_type *declarator_type(idlc_parser *p, idlc_type *base,
				  const idlc_declarator *d)
{
	idlc_type *top = NULL, **slot = &top;
	idlc_expr *e;

	for (e = d->dims; e; e = e->next) {
		idlc_type *a = type_new(p, &d->loc, IDLC_T_ARRAY);
		if (a == NULL)
			return NULL;
		a->bound_expr = e;
		a->loc = e->loc;
		*slot = a;
		slot = &a->elem;
	}
	*slot = base;
	return top;
}

/* Nodes of `kind` for each declarator of a list, sharing the base type. */
static int declare_each(idlc_parser *p, const idlc_loc *loc, idlc_kind kind,
			unsigned flags, idlc_annotation *annos,
			idlc_type *type, idlc_declarator *decls,
			idlc_node **out)
{
	idlc_node *head = NULL;
	idlc_declarator *d;
	idlc_expr *e;

	for (d = decls; d; d = d->next) {
		idlc_node *n = node_new(p, loc, kind, d->name, &d->loc);
		if (n == NULL)
			return -1;
		n->flags = flags;
		n->annotations = annos;
		n->type = declarator_type(p, type, d);
		if (n->type == NULL)
			return -1;
		head = idlc_append(head, n);
	}
	for (d = decls; d; d = d->next)
		for (e = d->dims; e; e = e->next)
			e->next = NULL;
	*out = head;
	return 0;
}

/* typedef type a, b[3]; */
int idlc_create_typedef(idlc_parser *p, const idlc_loc *loc,
			idlc_type *type, idlc_declarator *decls,
			idlc_node **out)
{
	return declare_each(p, loc, IDLC_TYPEDEF, 0, NULL, type, decls, out);
}

/* native name; */
int idlc_create_native(idlc_parser *p, const idlc_loc *loc,
		       const char *name, const idlc_loc *name_loc,
		       idlc_node **out)
{
	*out = node_new(p, loc, IDLC_NATIVE, name, name_loc);
	return *out ? 0 : -1;
}

/* struct or exception with members. */
int idlc_create_struct(idlc_parser *p, const idlc_loc *loc, idlc_kind kind,
		       const char *name, const idlc_loc *name_loc,
		       idlc_scoped_name *bases, idlc_node *members,
		       idlc_node **out)
{
	idlc_node *n = parent_new(p, loc, kind, name, name_loc, members);

	if (n == NULL)
		return -1;
	n->bases = bases;
	*out = n;
	return 0;
}

/* Struct/exception members or valuetype state members. */
int idlc_create_members(idlc_parser *p, const idlc_loc *loc, idlc_kind kind,
			unsigned flags, idlc_annotation *annos,
			idlc_type *type, idlc_declarator *decls,
			idlc_node **out)
{
	return declare_each(p, loc, kind, flags, annos, type, decls, out);
}

/* union name switch (type) { cases } */
int idlc_create_union(idlc_parser *p, const idlc_loc *loc, const char *name,
		      const idlc_loc *name_loc, idlc_annotation *annos,
		      idlc_type *discriminator, idlc_node *cases,
		      idlc_node **out)
{
	idlc_node *n = parent_new(p, loc, IDLC_UNION, name, name_loc, cases);

	(void)annos;
	if (n == NULL)
		return -1;
	n->type = discriminator;
	*out = n;
	return 0;
}

/* One union element with its labels. */
int idlc_create_case(idlc_parser *p, const idlc_loc *loc, idlc_label *labels,
		     idlc_annotation *annos, idlc_type *type,
		     idlc_declarator *decl, idlc_node **out)
{
	idlc_node *n;
	idlc_label *l;

	if (declare_each(p, loc, IDLC_CASE, 0, annos, type, decl, &n) < 0)
		return -1;
	n->labels = labels;
	for (l = labels; l; l = l->next)
		if (l->expr == NULL)
			n->flags |= IDLC_F_DEFAULT_CASE;
	*out = n;
	return 0;
}

/* case expr: / default: */
int idlc_create_label(idlc_parser *p, const idlc_loc *loc, idlc_expr *expr,
		      idlc_label **out)
{
	idlc_label *l = talloc_zero(p->comp, idlc_label);

	if (l == NULL)
		return -1;
	l->loc = *loc;
	l->expr = expr;
	*out = l;
	return 0;
}

/* enum / bitmask with its enumerators. */
int idlc_create_enum(idlc_parser *p, const idlc_loc *loc, idlc_kind kind,
		     const char *name, const idlc_loc *name_loc,
		     idlc_node *enumerators, idlc_node **out)
{
	*out = parent_new(p, loc, kind, name, name_loc, enumerators);
	return *out ? 0 : -1;
}

/* One enumerator or bitmask flag. */
int idlc_create_enumerator(idlc_parser *p, const idlc_loc *loc,
			   idlc_kind kind, idlc_annotation *annos,
			   const char *name, const idlc_loc *name_loc,
			   idlc_node **out)
{
	idlc_node *n = node_new(p, loc, kind, name, name_loc);

	if (n == NULL)
		return -1;
	n->annotations = annos;
	*out = n;
	return 0;
}

/* bitset name : base { bitfields } */
int idlc_create_bitset(idlc_parser *p, const idlc_loc *loc, const char *name,
		       const idlc_loc *name_loc, idlc_scoped_name *bases,
		       idlc_node *fields, idlc_node **out)
{
	return idlc_create_struct(p, loc, IDLC_BITSET, name, name_loc, bases,
				  fields, out);
}

/* bitfield<width[, type]> [name]; */
int idlc_create_bitfield(idlc_parser *p, const idlc_loc *loc,
			 idlc_annotation *annos, idlc_expr *width,
			 idlc_type *type, const char *name,
			 const idlc_loc *name_loc, idlc_node **out)
{
	idlc_node *n = node_new(p, loc, IDLC_BITFIELD, name, name_loc);

	if (n == NULL)
		return -1;
	n->annotations = annos;
	n->expr = width;
	n->type = type;
	*out = n;
	return 0;
}

/* const type name = value; */
int idlc_create_const(idlc_parser *p, const idlc_loc *loc, idlc_type *type,
		      const char *name, const idlc_loc *name_loc,
		      idlc_expr *value, idlc_node **out)
{
	idlc_node *n = node_new(p, loc, IDLC_CONST, name, name_loc);

	if (n == NULL)
		return -1;
	n->type = type;
	n->expr = value;
	*out = n;
	return 0;
}

/* A new expression. */
static idlc_expr *expr_new(idlc_parser *p, const idlc_loc *loc, idlc_op op)
{
	idlc_expr *e = talloc_zero(p->comp, idlc_expr);

	if (e == NULL)
		return NULL;
	e->op = op;
	e->loc = *loc;
	return e;
}

/* Binary or unary (rhs NULL) operator. */
int idlc_create_binary(idlc_parser *p, const idlc_loc *loc, idlc_op op,
		       idlc_expr *lhs, idlc_expr *rhs, idlc_expr **out)
{
	idlc_expr *e = expr_new(p, loc, op);

	if (e == NULL)
		return -1;
	e->lhs = lhs;
	e->rhs = rhs;
	*out = e;
	return 0;
}

/* Reference to a constant or enumerator. */
int idlc_create_name_expr(idlc_parser *p, const idlc_loc *loc,
			  idlc_scoped_name *name, idlc_expr **out)
{
	idlc_expr *e = expr_new(p, loc, IDLC_OP_NAME);

	if (e == NULL)
		return -1;
	e->name = name;
	*out = e;
	return 0;
}

/* TRUE / FALSE */
int idlc_create_bool(idlc_parser *p, const idlc_loc *loc, bool v,
		     idlc_expr **out)
{
	idlc_value val = { .kind = IDLC_V_BOOL, .i = v };

	return idlc_create_literal(p, loc, &val, out);
}

/* A literal (built by the scanner). */
int idlc_create_literal(idlc_parser *p, const idlc_loc *loc,
			const idlc_value *v, idlc_expr **out)
{
	idlc_expr *e = expr_new(p, loc, IDLC_OP_LITERAL);

	if (e == NULL)
		return -1;
	e->value = *v;
	*out = e;
	return 0;
}

/* "a" "b" -> "ab" (adjacent string literals concatenate). */
int idlc_create_concat(idlc_parser *p, const idlc_loc *loc, idlc_expr *a,
		       idlc_expr *b, idlc_expr **out)
{
	size_t need = a->value.len + b->value.len + 1;
	char *s = p->concat;

	/* "a" "b" "c"...: the text of the first concatenations grows in
	 * place (doubling), so that n pieces cost linear time and memory */
	if (s == NULL || a->value.str != s || need > p->concat_cap) {
		size_t cap = need < SIZE_MAX / 2 ? need * 2 : need;
		s = a->value.str == p->concat && s != NULL ?
			talloc_realloc(p->comp, s, char, cap) :
			talloc_array(p->comp, char, cap);
		if (s == NULL)
			return -1;
		if (a->value.str != p->concat || p->concat == NULL)
			memcpy(s, a->value.str, a->value.len);
		p->concat = s;
		p->concat_cap = cap;
	}
	memcpy(s + a->value.len, b->value.str, b->value.len);
	s[a->value.len + b->value.len] = '\0';
	a->value.str = s;
	a->value.len += b->value.len;
	a->loc = *loc;
	talloc_free(b);
	*out = a;
	return 0;
}

/* @name(params) */
int idlc_create_annotation(idlc_parser *p, const idlc_loc *loc,
			   idlc_scoped_name *name, idlc_anno_param *params,
			   idlc_annotation **out)
{
	idlc_annotation *a = talloc_zero(p->comp, idlc_annotation);

	if (a == NULL)
		return -1;
	a->loc = *loc;
	a->name = name;
	a->params = params;
	*out = a;
	return 0;
}

/* One annotation parameter, named or positional. */
int idlc_create_anno_param(idlc_parser *p, const idlc_loc *loc,
			   idlc_anno_param *prev, const char *name,
			   idlc_expr *value, idlc_anno_param **out)
{
	idlc_anno_param *a = talloc_zero(p->comp, idlc_anno_param);

	if (a == NULL)
		return -1;
	a->loc = *loc;
	a->name = name;
	a->value = value;
	*out = idlc_anno_param_append(prev, a);
	return 0;
}

/* @annotation name { members } */
int idlc_create_annotation_decl(idlc_parser *p, const idlc_loc *loc,
				const char *name, const idlc_loc *name_loc,
				idlc_node *members, idlc_node **out)
{
	*out = parent_new(p, loc, IDLC_ANNOTATION_DECL, name, name_loc,
			members);
	return *out ? 0 : -1;
}

/* type name [default value]; inside an @annotation (type NULL: any). */
int idlc_create_annotation_member(idlc_parser *p, const idlc_loc *loc,
				  idlc_type *type, const char *name,
				  const idlc_loc *name_loc, idlc_expr *dflt,
				  idlc_node **out)
{
	idlc_node *n = node_new(p, loc, IDLC_ANNOTATION_MEMBER, name,
				name_loc);

	if (n == NULL)
		return -1;
	n->type = type;
	n->expr = dflt;
	*out = n;
	return 0;
}

/* Position of a location; see create.h. */
size_t idlc_text_pos(const idlc_parser *p, const idlc_loc *loc)
{
	if (loc->bol == NULL || p->text == NULL || loc->bol < p->text)
		return 0;
	return (size_t)(loc->bol - p->text) + (size_t)loc->first_column;
}

/* Pending pragmas into a list; see create.h. */
idlc_node *idlc_take_pragmas(idlc_parser *p, const idlc_loc *open,
			     idlc_node *list)
{
	size_t at = open ? idlc_text_pos(p, open) : 0, k = p->n_pragmas, i;
	idlc_node *taken = NULL, *n, *out = NULL;

	/* the pragmas of this scope are the last ones pending (those of
	 * the scopes within were taken when they closed): each pragma is
	 * taken once */
	while (k > 0 && (open == NULL ||
			 idlc_text_pos(p, &p->pragmas[k - 1]->loc) > at))
		k--;
	for (i = k; i < p->n_pragmas; i++) {
		n = p->pragmas[i];
		/* a prefix set inside a struct, union or exception body
		 * (which opens no scope of pragmas) is refused, as omniidl
		 * does: it would name nothing, silently */
		if (n->kind == IDLC_PRAGMA_PREFIX && n->brace != at) {
			idlc_error(p->comp, &n->loc, "'#pragma prefix' inside a "
				   "struct, union or exception body sets the "
				   "prefix of nothing: put it before the "
				   "declaration");
			continue;
		}
		taken = idlc_append(taken, n);
	}
	p->n_pragmas = k;
	if (taken == NULL)
		return list;
	/* merged with the declarations by position */
	while (list || taken) {
		idlc_node **from = taken == NULL ? &list : list == NULL ?
			&taken : idlc_text_pos(p, &taken->loc) <
			idlc_text_pos(p, &list->name_loc) ? &taken : &list;

		n = *from;
		*from = n->next;
		if (*from && n->tail)
			(*from)->tail = n->tail;
		n->next = NULL;
		n->tail = NULL;
		out = idlc_append(out, n);
	}
	return out;
}

/* A pragma node; see create.h. */
int idlc_create_pragma(idlc_parser *p, const idlc_loc *loc, idlc_kind kind,
		       idlc_scoped_name *target, const char *str,
		       idlc_node **out)
{
	idlc_node *n = node_new(p, loc, kind, NULL, NULL);

	if (n == NULL)
		return -1;
	n->doc = NULL;
	n->target = target;
	n->str = str;
	n->brace = p->n_braces > 0 ? p->braces[p->n_braces - 1] : 0;
	*out = n;
	return 0;
}

/* typeid / typeprefix / import. */
int idlc_create_typeid(idlc_parser *p, const idlc_loc *loc, idlc_kind kind,
		       idlc_scoped_name *target, idlc_expr *str,
		       idlc_node **out)
{
	idlc_node *n = node_new(p, loc, kind, NULL, NULL);

	if (n == NULL)
		return -1;
	n->target = target;
	n->str = str ? str->value.str : NULL;
	*out = n;
	return 0;
}

/* valuetype name type; */
int idlc_create_value_box(idlc_parser *p, const idlc_loc *loc,
			  unsigned flags, const char *name,
			  const idlc_loc *name_loc, idlc_type *type,
			  idlc_node **out)
{
	idlc_node *n = node_new(p, loc, IDLC_VALUE_BOX, name, name_loc);

	if (n == NULL)
		return -1;
	if (flags & (IDLC_F_ABSTRACT | IDLC_F_CUSTOM | IDLC_F_EVENT))
		idlc_error(p->comp, loc, "a boxed valuetype cannot be "
			   "abstract, custom or an eventtype");
	n->type = type;
	*out = n;
	return 0;
}

/* valuetype / eventtype definition. */
int idlc_create_valuetype(idlc_parser *p, const idlc_loc *loc,
			  unsigned flags, const char *name,
			  const idlc_loc *name_loc, idlc_scoped_name *bases,
			  idlc_scoped_name *supports, idlc_node *elements,
			  idlc_node **out)
{
	idlc_node *n = parent_new(p, loc, IDLC_VALUETYPE, name, name_loc,
			elements);

	if (n == NULL)
		return -1;
	n->flags = flags;
	n->bases = bases;
	n->supports = supports;
	*out = n;
	return 0;
}

/* factory / finder name(params) raises(...) */
int idlc_create_factory(idlc_parser *p, const idlc_loc *loc, unsigned flags,
			const char *name, const idlc_loc *name_loc,
			idlc_node *params, idlc_scoped_name *raises,
			idlc_node **out)
{
	idlc_node *n = parent_new(p, loc, IDLC_FACTORY, name, name_loc, params);
	idlc_node *q;

	if (n == NULL)
		return -1;
	for (q = params; q; q = q->next)
		if (q->dir != IDLC_DIR_IN)
			idlc_error(p->comp, &q->loc, "parameter '%s' of %s "
				   "'%s' must be 'in'", q->name,
				   (flags & IDLC_F_FINDER) ? "finder" :
				   "factory", name);
	n->flags = flags;
	n->raises = raises;
	*out = n;
	return 0;
}

/* component name : base supports ... { body } */
int idlc_create_component(idlc_parser *p, const idlc_loc *loc,
			  const char *name, const idlc_loc *name_loc,
			  idlc_scoped_name *bases,
			  idlc_scoped_name *supports, idlc_node *body,
			  idlc_node **out)
{
	idlc_node *n = parent_new(p, loc, IDLC_COMPONENT, name, name_loc, body);

	if (n == NULL)
		return -1;
	n->bases = bases;
	n->supports = supports;
	*out = n;
	return 0;
}

/* provides/uses/emits/publishes/consumes type name */
int idlc_create_port(idlc_parser *p, const idlc_loc *loc,
		     idlc_port_kind port, unsigned flags,
		     idlc_scoped_name *type, const char *name,
		     const idlc_loc *name_loc, idlc_node **out)
{
	idlc_node *n = node_new(p, loc, IDLC_PORT, name, name_loc);

	if (n == NULL)
		return -1;
	n->port = port;
	n->flags = flags;
	n->target = type;
	*out = n;
	return 0;
}

/* home name : base supports ... manages C primarykey K { body } */
int idlc_create_home(idlc_parser *p, const idlc_loc *loc, const char *name,
		     const idlc_loc *name_loc, idlc_scoped_name *base,
		     idlc_scoped_name *supports, idlc_scoped_name *manages,
		     idlc_scoped_name *key, idlc_node *body, idlc_node **out)
{
	idlc_node *n = parent_new(p, loc, IDLC_HOME, name, name_loc, body);

	if (n == NULL)
		return -1;
	n->bases = base;
	n->supports = supports;
	n->target = manages;
	n->key = key;
	*out = n;
	return 0;
}
