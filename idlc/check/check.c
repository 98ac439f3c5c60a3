/*
 * idlc/check/check.c - semantic checks over the resolved tree, and the check
 * of the subset that the C mapping supports.
 *
 * Rules checked here (the resolve pass already did names, kinds, bases,
 * constants and bounds): members clashing with inherited ones, oneway
 * operations, union discriminators and labels, annotations (annos.c).
 */
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "base/comp.h"
#include "check/annos.h"
#include "check/check.h"
#include "check/scope.h"

static void check_list(idlc_compilation *comp, idlc_node *n);

/* Add every ancestor of interface n to out (no duplicates). */
static void ancestors(const idlc_node *n, const idlc_node **out, size_t *count,
		      size_t max, int depth)
{
	size_t i, j;

	if (depth > 64)
		return;
	for (i = 0; i < n->n_bases; i++) {
		const idlc_node *b = n->base_nodes[i];
		for (j = 0; j < *count; j++)
			if (out[j] == b)
				break;
		if (j < *count || *count >= max)
			continue;
		out[(*count)++] = b;
		ancestors(b, out, count, max, depth + 1);
	}
}

/* True for the members that form an interface's shape. */
static bool is_shape_member(const idlc_node *m)
{
	return m->kind == IDLC_ATTRIBUTE || m->kind == IDLC_OPERATION;
}

/* Own members must not redefine inherited ones; two bases must not bring
 * two different members of the same name. */
static void check_inherited(idlc_compilation *comp, idlc_node *n)
{
	const idlc_node *anc[256];
	size_t count = 0, i, j;
	idlc_node *m, *o;

	ancestors(n, anc, &count, 256, 0);
	for (m = n->children; m; m = m->next) {
		if (!is_shape_member(m))
			continue;
		for (i = 0; i < count; i++)
			for (o = anc[i]->children; o; o = o->next)
				if (is_shape_member(o) &&
				    strcasecmp(o->name, m->name) == 0) {
					idlc_error(comp, &m->name_loc, "'%s' is "
						   "already declared in base "
						   "interface '%s'", m->name,
						   anc[i]->name);
					i = count;
					break;
				}
	}
	for (i = 0; i < count; i++)
		for (m = anc[i]->children; m; m = m->next) {
			if (!is_shape_member(m))
				continue;
			for (j = i + 1; j < count; j++)
				for (o = anc[j]->children; o; o = o->next)
					if (is_shape_member(o) &&
					    strcasecmp(o->name, m->name) == 0)
						idlc_error(comp, &n->name_loc,
							   "'%s' is inherited "
							   "from both '%s' and "
							   "'%s'", m->name,
							   anc[i]->name,
							   anc[j]->name);
		}
}

/* oneway: void result, only in parameters, no raises. */
static void check_oneway(idlc_compilation *comp, idlc_node *op)
{
	idlc_node *q;

	if (!(op->flags & IDLC_F_ONEWAY))
		return;
	if (op->type && op->type->kind != IDLC_T_VOID)
		idlc_error(comp, &op->type->loc, "oneway operation '%s' must "
			   "return void", op->name);
	for (q = op->children; q; q = q->next)
		if (q->dir != IDLC_DIR_IN)
			idlc_error(comp, &q->name_loc, "oneway operation '%s' "
				   "cannot have %s parameter '%s'", op->name,
				   q->dir == IDLC_DIR_OUT ? "out" : "inout",
				   q->name);
	if (op->raises)
		idlc_error(comp, &op->raises->loc, "oneway operation '%s' "
			   "cannot raise exceptions", op->name);
}

/* One slot of the label set: a label, NULL when free. */
typedef struct label_set {
	const idlc_label **slots; /* open addressing, a power of 2 */
	size_t mask;              /* slots - 1 */
} label_set;

/* Hash of a label value (kind and integer). */
static size_t label_hash(const idlc_value *v)
{
	uint64_t h = ((uint64_t)v->i ^ ((uint64_t)v->kind << 56)) *
		     UINT64_C(0x9e3779b97f4a7c15);

	return (size_t)(h >> 20);
}

/* Add l to the set; returns the label it duplicates, or NULL. */
static const idlc_label *label_add(label_set *set, const idlc_label *l)
{
	size_t i = label_hash(&l->value) & set->mask;

	for (; set->slots[i]; i = (i + 1) & set->mask) {
		const idlc_label *o = set->slots[i];
		if (o->value.kind == l->value.kind && o->value.i == l->value.i)
			return o;
	}
	set->slots[i] = l;
	return NULL;
}

/* True when d (unaliased) may be a union discriminator. */
static bool is_discriminator(const idlc_type *d)
{
	switch (d->kind) {
	case IDLC_T_BOOLEAN: case IDLC_T_CHAR: case IDLC_T_WCHAR:
	case IDLC_T_OCTET: case IDLC_T_INT8: case IDLC_T_UINT8:
	case IDLC_T_SHORT: case IDLC_T_USHORT: case IDLC_T_LONG:
	case IDLC_T_ULONG: case IDLC_T_LLONG: case IDLC_T_ULLONG:
		return true;
	case IDLC_T_NAMED:
		return d->ref->kind == IDLC_ENUM;
	default:
		return false;
	}
}

/* Discriminator type, duplicate labels (a hash set: linear in the
 * number of labels), several defaults. */
static void check_union(idlc_compilation *comp, idlc_node *u)
{
	const idlc_type *d = idlc_type_unalias(u->type);
	idlc_node *c, *first_default = NULL;
	const idlc_label *l, *dup;
	label_set set;
	size_t n = 0, size = 8;

	if (d == NULL || (d->kind == IDLC_T_NAMED && d->ref == NULL))
		return;
	if (!is_discriminator(d)) {
		char *tn = idlc_type_name(comp, u->type);
		idlc_error(comp, &u->type->loc, "'%s' cannot be the "
			   "discriminator of union '%s'", tn, u->name);
		talloc_free(tn);
		return;
	}
	for (c = u->children; c; c = c->next)
		for (l = c->labels; l; l = l->next)
			n++;
	while (size < 2 * n)
		size *= 2;
	set.mask = size - 1;
	set.slots = talloc_zero_array(comp, const idlc_label *, size);
	if (set.slots == NULL) {
		idlc_error(comp, &u->name_loc, "out of memory");
		return;
	}
	for (c = u->children; c; c = c->next) {
		for (l = c->labels; l; l = l->next) {
			if (l->expr == NULL) {
				if (first_default && first_default != c)
					idlc_error(comp, &l->loc, "more than "
						   "one default label in "
						   "union '%s'", u->name);
				first_default = c;
				continue;
			}
			if (l->value.kind == IDLC_V_NONE)
				continue;
			dup = label_add(&set, l);
			if (dup) {
				char *v = idlc_value_str(comp, &l->value);
				idlc_error(comp, &l->loc, "duplicate case "
					   "label %s", v);
				idlc_note(comp, &dup->loc, "previous label %s "
					  "is here", v);
				talloc_free(v);
			}
		}
	}
	talloc_free(set.slots);
}

/* A forward-declared interface that nothing defines (in the main file
 * only: an included file's loose ends are its own). */
static void check_forward(idlc_compilation *comp, const idlc_node *n)
{
	if (n->definition == NULL && comp->main_file &&
	    n->loc.file && strcmp(n->loc.file, comp->main_file) == 0)
		idlc_warning(comp, &n->name_loc, "interface '%s' is "
			     "forward-declared but never defined", n->name);
}

/* Inline declarations held by a type (typedef struct {...} T). */
static void check_type_decls(idlc_compilation *comp, const idlc_type *t)
{
	for (; t; t = t->elem)
		if (t->kind == IDLC_T_NAMED && t->decl)
			check_list(comp, t->decl);
}

/* Check one node and its children. */
static void check_node(idlc_compilation *comp, idlc_node *n)
{
	idlc_check_annotations(comp, n);
	check_type_decls(comp, n->type);
	switch (n->kind) {
	case IDLC_INTERFACE:
		check_inherited(comp, n);
		break;
	case IDLC_OPERATION:
		check_oneway(comp, n);
		break;
	case IDLC_UNION:
		check_union(comp, n);
		break;
	case IDLC_INTERFACE_FWD:
		check_forward(comp, n);
		break;
	default:
		break;
	}
	if (n->kind != IDLC_ENUM || n->children)
		check_list(comp, n->children);
}

/* Check a chain (only one node when called for an inline decl). */
static void check_list(idlc_compilation *comp, idlc_node *n)
{
	for (; n; n = n->next)
		check_node(comp, n);
}

/* The check pass; see its header. */
int idlc_check(idlc_compilation *comp)
{
	int before = comp->n_errors;

	if (comp->root == NULL)
		return -1;
	check_list(comp, comp->root->children);
	return comp->n_errors > before ? -1 : 0;
}

/* Subset check of one declaration and what it contains: everything
 * maps to C but the CORBA Component Model (components and homes). */
static void subset_node(idlc_compilation *comp, const idlc_node *n)
{
	const idlc_node *m;

	switch (n->kind) {
	case IDLC_MODULE:
		for (m = n->children; m; m = m->next)
			subset_node(comp, m);
		return;
	case IDLC_COMPONENT: case IDLC_COMPONENT_FWD: case IDLC_HOME:
		idlc_error(comp, &n->name_loc, "%s '%s' is outside the IDL "
			   "subset that shade maps to C",
			   idlc_kind_name(n->kind), n->name);
		return;
	default:
		return;
	}
}

/* Subset check; see its header.  Only the main file's declarations are
 * generated, so only they are checked. */
int idlc_check_subset(idlc_compilation *comp)
{
	int before = comp->n_errors;
	const idlc_node *n;

	if (comp->root == NULL)
		return -1;
	for (n = comp->root->children; n; n = n->next)
		if (strcmp(n->loc.file, comp->main_file) == 0)
			subset_node(comp, n);
	return comp->n_errors > before ? -1 : 0;
}
