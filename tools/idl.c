/*
 * tools/idl.c - declared types for the shade explorer (idl.h), on the
 * compiler's front end (libidlc): parse + resolve + check, then walk the
 * tree for the interface whose dotted qualified name is the object's
 * type name, through its bases for members.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "shade/shade.h"
#include "compile.h"
#include "check/eval.h"
#include "idl.h"

/* A read IDL file. */
struct tool_idl {
	idlc_compilation *comp; /* the compilation (owns the tree) */
};

shade_status tool_idl_load(TALLOC_CTX *mem_ctx, const char *path,
			   tool_idl **out, shade_error **err)
{
	idlc_options o = { .diag_stream = stderr, .error_limit = 20 };
	tool_idl *idl = talloc_zero(mem_ctx, tool_idl);

	if (idl == NULL ||
	    (idl->comp = idlc_compilation_new(idl, &o)) == NULL) {
		talloc_free(idl);
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	}
	if (idlc_compile_file(idl->comp, path) != 0) {
		int n = idl->comp->n_errors;

		talloc_free(idl);
		return shade_error_set(err, SHADE_ERR_INVALID,
				       "%s: %d error%s", path, n,
				       n == 1 ? "" : "s");
	}
	*out = idl;
	return SHADE_OK;
}

/* The interface named `name` ("a.b.I") under n, or NULL. */
static const idlc_node *find_iface(const idlc_node *n, const char *name)
{
	char buf[512];

	for (; n != NULL; n = n->next) {
		const idlc_node *f;

		if (n->kind == IDLC_INTERFACE &&
		    idlc_qualified_name_buf(n, ".", buf, sizeof(buf)) <
			    sizeof(buf) &&
		    strcmp(buf, name) == 0)
			return n;
		if (n->kind == IDLC_MODULE &&
		    (f = find_iface(n->children, name)) != NULL)
			return f;
	}
	return NULL;
}

/* Member `member` (an operation or attribute) of interface i or of its
 * bases, or NULL. */
static const idlc_node *find_member(const idlc_node *i, const char *member,
				    int depth)
{
	const idlc_node *c;
	size_t k;

	if (i == NULL || depth > 32)
		return NULL;
	for (c = i->children; c != NULL; c = c->next)
		if ((c->kind == IDLC_OPERATION || c->kind == IDLC_ATTRIBUTE) &&
		    c->name != NULL && strcmp(c->name, member) == 0)
			return c;
	for (k = 0; k < i->n_bases; k++)
		if ((c = find_member(i->base_nodes[k], member, depth + 1)))
			return c;
	return NULL;
}

/* The member node, or NULL when undeclared. */
static const idlc_node *lookup(const tool_idl *idl, const char *type_name,
			       const char *member)
{
	if (idl == NULL || type_name == NULL)
		return NULL;
	return find_member(find_iface(idl->comp->root ?
					      idl->comp->root->children : NULL,
				      type_name), member, 0);
}

const char *tool_idl_doc(const tool_idl *idl, const char *type_name)
{
	const idlc_node *i;

	if (idl == NULL || idl->comp->root == NULL)
		return NULL;
	i = find_iface(idl->comp->root->children, type_name);
	return i ? i->doc : NULL;
}

/* Append "a::b" names of a raises-style list. */
static char *names_of(char *s, const idlc_scoped_name *sn)
{
	size_t k;

	for (; sn != NULL; sn = sn->next) {
		for (k = 0; k < sn->n; k++)
			s = talloc_asprintf_append_buffer(s, "%s%s",
							  k ? "::" : "",
							  sn->parts[k]);
		if (sn->next)
			s = talloc_strdup_append_buffer(s, ", ");
	}
	return s;
}

char *tool_idl_member(TALLOC_CTX *mem_ctx, const tool_idl *idl,
		      const char *type_name, const char *member,
		      const char **doc)
{
	static const char *const dirs[] = { "", "in ", "out ", "inout " };
	const idlc_node *m = lookup(idl, type_name, member), *p;
	char *s, *t;

	if (doc != NULL)
		*doc = m ? m->doc : NULL;
	if (m == NULL)
		return NULL;
	t = idlc_type_name(NULL, m->type);
	if (m->kind == IDLC_ATTRIBUTE) {
		s = talloc_asprintf(mem_ctx, "%sattribute %s %s",
				    m->flags & IDLC_F_READONLY ? "readonly "
							       : "",
				    t, m->name);
		talloc_free(t);
		return s;
	}
	s = talloc_asprintf(mem_ctx, "%s%s %s(",
			    m->flags & IDLC_F_ONEWAY ? "oneway " : "", t,
			    m->name);
	talloc_free(t);
	for (p = m->children; p != NULL; p = p->next) {
		if (p->kind != IDLC_PARAM)
			continue;
		t = idlc_type_name(NULL, p->type);
		s = talloc_asprintf_append_buffer(s, "%s%s%s %s",
						  p == m->children ? "" : ", ",
						  dirs[p->dir & 3], t, p->name);
		talloc_free(t);
	}
	s = talloc_strdup_append_buffer(s, ")");
	if (m->raises != NULL) {
		s = talloc_strdup_append_buffer(s, " raises (");
		s = names_of(s, m->raises);
		s = talloc_strdup_append_buffer(s, ")");
	}
	return s;
}

/* Check v against declared type t; on a mismatch, a reason on ctx.
 * Ints stand for floats (the caller widens top-level ones). */
static char *mismatch(TALLOC_CTX *ctx, const idlc_type *t,
		      const shade_value *v, int depth)
{
	const idlc_type *u = idlc_type_unalias(t);
	shade_kind k = shade_value_kind(v);
	char *tn, *why = NULL, lb[48], hb[48];
	idlc_int lo, hi;
	int bits;
	size_t i;

	if (u == NULL || depth > 32)
		return NULL;
	tn = idlc_type_name(ctx, t);
	if (idlc_int_range(u->kind, &lo, &hi, &bits)) {
		if (k != SHADE_INT)
			why = talloc_asprintf(ctx, "%s wants an integer, got "
					      "%s", tn, shade_kind_name(k));
		else if (shade_value_as_int(v) < lo ||
			 shade_value_as_int(v) > hi)
			why = talloc_asprintf(ctx, "%s wants an integer from "
					      "%s to %s, not %" PRId64, tn,
					      idlc_int_str(lb, lo),
					      idlc_int_str(hb, hi),
					      shade_value_as_int(v));
	} else if (u->kind == IDLC_T_FLOAT || u->kind == IDLC_T_DOUBLE ||
		   u->kind == IDLC_T_LDOUBLE) {
		if (k != SHADE_FLOAT && k != SHADE_INT)
			why = talloc_asprintf(ctx, "%s wants a number, got "
					      "%s", tn, shade_kind_name(k));
	} else if (u->kind == IDLC_T_STRING || u->kind == IDLC_T_WSTRING ||
		   u->kind == IDLC_T_CHAR || u->kind == IDLC_T_WCHAR) {
		if (k != SHADE_STR)
			why = talloc_asprintf(ctx, "%s wants a string, got %s",
					      tn, shade_kind_name(k));
	} else if (u->kind == IDLC_T_BOOLEAN) {
		if (k != SHADE_BOOL)
			why = talloc_asprintf(ctx, "%s wants true or false, "
					      "got %s", tn,
					      shade_kind_name(k));
	} else if (u->kind == IDLC_T_SEQUENCE &&
		   idlc_type_unalias(u->elem)->kind == IDLC_T_OCTET &&
		   k == SHADE_BYTES) {
		why = NULL;
	} else if (u->kind == IDLC_T_SEQUENCE || u->kind == IDLC_T_ARRAY) {
		if (k != SHADE_LIST && k != SHADE_TUPLE)
			why = talloc_asprintf(ctx, "%s wants an array, got "
					      "%s", tn, shade_kind_name(k));
		for (i = 0; why == NULL && i < shade_seq_len(v); i++) {
			char *w = mismatch(ctx, u->elem, shade_seq_at(v, i),
					   depth + 1);

			if (w != NULL)
				why = talloc_asprintf(ctx, "item %zu: %s", i,
						      w);
		}
	} else if (u->kind == IDLC_T_NAMED && u->ref != NULL &&
		   u->ref->kind == IDLC_STRUCT) {
		const idlc_node *m;

		if (k != SHADE_DICT)
			why = talloc_asprintf(ctx, "%s wants an object, got "
					      "%s", tn, shade_kind_name(k));
		for (m = u->ref->children; why == NULL && m; m = m->next) {
			const shade_value *f;
			char *w;

			if (m->kind != IDLC_MEMBER)
				continue;
			f = shade_dict_get_str(v, m->name);
			if (f == NULL)
				why = talloc_asprintf(ctx, "%s wants member "
						      "'%s'", tn, m->name);
			else if ((w = mismatch(ctx, m->type, f, depth + 1)))
				why = talloc_asprintf(ctx, "member '%s': %s",
						      m->name, w);
		}
	}
	return why;
}

/* Check one value against t for `what` (a parameter or attribute); an
 * int where a float is declared is replaced by the float in *v. */
static shade_status convert(const idlc_node *m, const idlc_type *t,
			    const char *what, const char *name,
			    const shade_value *v, shade_value **widened,
			    shade_error **err)
{
	TALLOC_CTX *tmp = talloc_new(NULL);
	const idlc_type *u = idlc_type_unalias(t);
	char *why = mismatch(tmp, t, v, 0);
	shade_status st = SHADE_OK;

	*widened = NULL;
	if (why != NULL)
		st = shade_error_set(err, SHADE_ERR_TYPE, "%s: %s '%s': %s",
				     m->name, what, name, why);
	else if (u != NULL && shade_value_kind(v) == SHADE_INT &&
		 (u->kind == IDLC_T_FLOAT || u->kind == IDLC_T_DOUBLE ||
		  u->kind == IDLC_T_LDOUBLE))
		*widened = shade_float(NULL, (double)shade_value_as_int(v));
	talloc_free(tmp);
	return st;
}

shade_status tool_idl_args(const tool_idl *idl, const char *type_name,
			   const char *member, shade_value *args,
			   shade_error **err)
{
	const idlc_node *m = lookup(idl, type_name, member), *p;
	size_t want = 0, i = 0;
	char *names;

	if (m == NULL || m->kind != IDLC_OPERATION)
		return SHADE_OK;
	names = talloc_strdup(NULL, "");
	for (p = m->children; p != NULL; p = p->next)
		if (p->kind == IDLC_PARAM && p->dir != IDLC_DIR_OUT)
			names = talloc_asprintf_append_buffer(
				names, "%s%s", want++ ? ", " : "", p->name);
	if (shade_seq_len(args) != want) {
		shade_status st = shade_error_set(
			err, SHADE_ERR_TYPE, "%s takes %zu argument%s (%s), "
			"not %zu", m->name, want, want == 1 ? "" : "s", names,
			shade_seq_len(args));

		talloc_free(names);
		return st;
	}
	talloc_free(names);
	for (p = m->children; p != NULL; p = p->next) {
		shade_value *w;

		if (p->kind != IDLC_PARAM || p->dir == IDLC_DIR_OUT)
			continue;
		SHADE_CHECK(convert(m, p->type, "parameter", p->name,
				    shade_seq_at(args, i), &w, err));
		if (w != NULL)
			SHADE_CHECK(shade_seq_set_take(args, (int64_t)i, w,
						       err));
		i++;
	}
	return SHADE_OK;
}

shade_status tool_idl_attr(const tool_idl *idl, const char *type_name,
			   const char *member, shade_value **v,
			   shade_error **err)
{
	const idlc_node *m = lookup(idl, type_name, member);
	shade_value *w;

	if (m == NULL || m->kind != IDLC_ATTRIBUTE)
		return SHADE_OK;
	if (m->flags & IDLC_F_READONLY)
		return shade_error_set(err, SHADE_ERR_ATTRIBUTE,
				       "%s: attribute '%s' is declared "
				       "readonly", type_name, member);
	SHADE_CHECK(convert(m, m->type, "attribute", m->name, *v, &w, err));
	if (w != NULL) {
		talloc_steal(talloc_parent(*v), w);
		talloc_free(*v);
		*v = w;
	}
	return SHADE_OK;
}
