/*
 * idlc/front/create.h - node constructors called by the grammar actions.
 *
 * Every idlc_create_<kind>() allocates on the compilation context, fills
 * *out and returns 0, or returns -1 on out of memory (the parser then
 * aborts).  They never resolve names nor report semantic errors: that is
 * the business of the resolve and check passes.  Lists are chains linked
 * through `next`; the *_append() helpers concatenate two chains.
 */
#ifndef IDLC_CREATE_H
#define IDLC_CREATE_H

#include "front/parser.h"

/* Merge the locations of a rule's n right-hand symbols (rhs[1..n]; rhs[0]
 * is the symbol before them) into *cur, as YYLLOC_DEFAULT. */
void idlc_loc_merge(idlc_loc *cur, const idlc_loc *rhs, int n);

/* Append the chain `b` to the chain `a`; returns the head. */
idlc_node *idlc_append(idlc_node *a, idlc_node *b);

/* Chain helpers: append b to a, return the head. */
idlc_scoped_name *idlc_scoped_name_append(idlc_scoped_name *a,
					  idlc_scoped_name *b);
idlc_declarator *idlc_declarator_append(idlc_declarator *a,
					idlc_declarator *b);
idlc_label *idlc_label_append(idlc_label *a, idlc_label *b);
idlc_annotation *idlc_annotation_append(idlc_annotation *a,
					idlc_annotation *b);
idlc_anno_param *idlc_anno_param_append(idlc_anno_param *a,
					idlc_anno_param *b);

/* The position of loc in the scanned text (0 when unknown). */
size_t idlc_text_pos(const idlc_parser *p, const idlc_loc *loc);

/* Merge into the declarations `list` of the scope whose '{' is at
 * `open` the pending pragmas (p->pragmas) written inside it (those of
 * the scopes within were taken before), each at its place; all that are
 * left when `open` is NULL (the whole file).  Returns the head. */
idlc_node *idlc_take_pragmas(idlc_parser *p, const idlc_loc *open,
			     idlc_node *list);

/* A #pragma prefix (target NULL), ID or version node. */
int idlc_create_pragma(idlc_parser *p, const idlc_loc *loc, idlc_kind kind,
		       idlc_scoped_name *target, const char *str,
		       idlc_node **out);

int idlc_create_specification(idlc_parser *p, const idlc_loc *loc,
			      idlc_node *defs);
int idlc_create_annotated(idlc_parser *p, const idlc_loc *loc,
			  idlc_node *node, idlc_annotation *annos,
			  idlc_node **out);
int idlc_create_module(idlc_parser *p, const idlc_loc *loc, const char *name,
		       const idlc_loc *name_loc, idlc_node *defs,
		       idlc_node **out);
int idlc_create_forward(idlc_parser *p, const idlc_loc *loc, idlc_kind kind,
			unsigned flags, const char *name,
			const idlc_loc *name_loc, idlc_node **out);
int idlc_create_interface(idlc_parser *p, const idlc_loc *loc,
			  unsigned flags, const char *name,
			  const idlc_loc *name_loc, idlc_scoped_name *bases,
			  idlc_node *exports, idlc_node **out);
int idlc_create_scoped_name(idlc_parser *p, const idlc_loc *loc,
			    idlc_scoped_name *prefix, bool absolute,
			    const char *ident, idlc_scoped_name **out);
int idlc_create_attributes(idlc_parser *p, const idlc_loc *loc,
			   unsigned flags, idlc_type *type,
			   idlc_declarator *names, idlc_scoped_name *raises,
			   idlc_scoped_name *getraises,
			   idlc_scoped_name *setraises, idlc_node **out);
int idlc_declarator_add(idlc_parser *p, const idlc_loc *loc,
			idlc_declarator *list, const char *name,
			idlc_declarator **out);
int idlc_create_operation(idlc_parser *p, const idlc_loc *loc,
			  unsigned flags, idlc_type *result,
			  const char *name, const idlc_loc *name_loc,
			  idlc_node *params, idlc_scoped_name *raises,
			  idlc_strlist *context, idlc_node **out);
int idlc_create_param(idlc_parser *p, const idlc_loc *loc,
		      idlc_annotation *annos, unsigned dir, idlc_type *type,
		      const char *name, const idlc_loc *name_loc,
		      idlc_node **out);
int idlc_create_strlist(idlc_parser *p, idlc_strlist *list, idlc_expr *str,
			idlc_strlist **out);
int idlc_create_base_type(idlc_parser *p, const idlc_loc *loc,
			  idlc_tkind kind, idlc_type **out);
int idlc_create_named_type(idlc_parser *p, const idlc_loc *loc,
			   idlc_scoped_name *name, idlc_node *decl,
			   idlc_type **out);
int idlc_create_template_type(idlc_parser *p, const idlc_loc *loc,
			      idlc_tkind kind, idlc_type *elem,
			      idlc_type *key, idlc_expr *bound,
			      idlc_expr *scale, idlc_type **out);
int idlc_create_declarator(idlc_parser *p, const idlc_loc *loc,
			   const char *name, idlc_declarator *prev,
			   idlc_expr *dim, idlc_declarator **out);
int idlc_create_typedef(idlc_parser *p, const idlc_loc *loc,
			idlc_type *type, idlc_declarator *decls,
			idlc_node **out);
int idlc_create_native(idlc_parser *p, const idlc_loc *loc,
		       const char *name, const idlc_loc *name_loc,
		       idlc_node **out);
int idlc_create_struct(idlc_parser *p, const idlc_loc *loc, idlc_kind kind,
		       const char *name, const idlc_loc *name_loc,
		       idlc_scoped_name *bases, idlc_node *members,
		       idlc_node **out);
int idlc_create_members(idlc_parser *p, const idlc_loc *loc, idlc_kind kind,
			unsigned flags, idlc_annotation *annos,
			idlc_type *type, idlc_declarator *decls,
			idlc_node **out);
int idlc_create_union(idlc_parser *p, const idlc_loc *loc, const char *name,
		      const idlc_loc *name_loc, idlc_annotation *annos,
		      idlc_type *discriminator, idlc_node *cases,
		      idlc_node **out);
int idlc_create_case(idlc_parser *p, const idlc_loc *loc, idlc_label *labels,
		     idlc_annotation *annos, idlc_type *type,
		     idlc_declarator *decl, idlc_node **out);
int idlc_create_label(idlc_parser *p, const idlc_loc *loc, idlc_expr *expr,
		      idlc_label **out);
int idlc_create_enum(idlc_parser *p, const idlc_loc *loc, idlc_kind kind,
		     const char *name, const idlc_loc *name_loc,
		     idlc_node *enumerators, idlc_node **out);
int idlc_create_enumerator(idlc_parser *p, const idlc_loc *loc,
			   idlc_kind kind, idlc_annotation *annos,
			   const char *name, const idlc_loc *name_loc,
			   idlc_node **out);
int idlc_create_bitset(idlc_parser *p, const idlc_loc *loc, const char *name,
		       const idlc_loc *name_loc, idlc_scoped_name *bases,
		       idlc_node *fields, idlc_node **out);
int idlc_create_bitfield(idlc_parser *p, const idlc_loc *loc,
			 idlc_annotation *annos, idlc_expr *width,
			 idlc_type *type, const char *name,
			 const idlc_loc *name_loc, idlc_node **out);
int idlc_create_const(idlc_parser *p, const idlc_loc *loc, idlc_type *type,
		      const char *name, const idlc_loc *name_loc,
		      idlc_expr *value, idlc_node **out);
int idlc_create_binary(idlc_parser *p, const idlc_loc *loc, idlc_op op,
		       idlc_expr *lhs, idlc_expr *rhs, idlc_expr **out);
int idlc_create_name_expr(idlc_parser *p, const idlc_loc *loc,
			  idlc_scoped_name *name, idlc_expr **out);
int idlc_create_bool(idlc_parser *p, const idlc_loc *loc, bool v,
		     idlc_expr **out);
int idlc_create_literal(idlc_parser *p, const idlc_loc *loc,
			const idlc_value *v, idlc_expr **out);
int idlc_create_concat(idlc_parser *p, const idlc_loc *loc, idlc_expr *a,
		       idlc_expr *b, idlc_expr **out);
int idlc_create_annotation(idlc_parser *p, const idlc_loc *loc,
			   idlc_scoped_name *name, idlc_anno_param *params,
			   idlc_annotation **out);
int idlc_create_anno_param(idlc_parser *p, const idlc_loc *loc,
			   idlc_anno_param *prev, const char *name,
			   idlc_expr *value, idlc_anno_param **out);
int idlc_create_annotation_decl(idlc_parser *p, const idlc_loc *loc,
				const char *name, const idlc_loc *name_loc,
				idlc_node *members, idlc_node **out);
int idlc_create_annotation_member(idlc_parser *p, const idlc_loc *loc,
				  idlc_type *type, const char *name,
				  const idlc_loc *name_loc, idlc_expr *dflt,
				  idlc_node **out);
int idlc_create_typeid(idlc_parser *p, const idlc_loc *loc, idlc_kind kind,
		       idlc_scoped_name *target, idlc_expr *str,
		       idlc_node **out);
int idlc_create_value_box(idlc_parser *p, const idlc_loc *loc,
			  unsigned flags, const char *name,
			  const idlc_loc *name_loc, idlc_type *type,
			  idlc_node **out);
int idlc_create_valuetype(idlc_parser *p, const idlc_loc *loc,
			  unsigned flags, const char *name,
			  const idlc_loc *name_loc, idlc_scoped_name *bases,
			  idlc_scoped_name *supports, idlc_node *elements,
			  idlc_node **out);
int idlc_create_factory(idlc_parser *p, const idlc_loc *loc, unsigned flags,
			const char *name, const idlc_loc *name_loc,
			idlc_node *params, idlc_scoped_name *raises,
			idlc_node **out);
int idlc_create_component(idlc_parser *p, const idlc_loc *loc,
			  const char *name, const idlc_loc *name_loc,
			  idlc_scoped_name *bases,
			  idlc_scoped_name *supports, idlc_node *body,
			  idlc_node **out);
int idlc_create_port(idlc_parser *p, const idlc_loc *loc,
		     idlc_port_kind port, unsigned flags,
		     idlc_scoped_name *type, const char *name,
		     const idlc_loc *name_loc, idlc_node **out);
int idlc_create_home(idlc_parser *p, const idlc_loc *loc, const char *name,
		     const idlc_loc *name_loc, idlc_scoped_name *base,
		     idlc_scoped_name *supports, idlc_scoped_name *manages,
		     idlc_scoped_name *key, idlc_node *body, idlc_node **out);

#endif /* IDLC_CREATE_H */
