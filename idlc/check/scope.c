/*
 * idlc/check/scope.c - scopes: declare, find, resolve scoped names.
 *
 * A scope is an open-addressing hash table keyed on the lower-cased name
 * (OMG IDL: identifiers that differ only in case collide), holding the
 * node declared under that name.  Lookups that match only up to case are
 * reported to the caller so that it can say so.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "check/scope.h"

/* One slot of a scope's table. */
struct idlc_entry {
	idlc_node *node;  /* declared node, NULL when the slot is free */
	uint32_t hash;    /* case-insensitive hash of node->name */
};

/* FNV-1a over the lower-cased name. */
static uint32_t name_hash(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s; s++) {
		h ^= (uint32_t)tolower((unsigned char)*s);
		h *= 16777619u;
	}
	return h;
}

/* Create a scope; see its header. */
idlc_scope *idlc_scope_new(idlc_compilation *comp, idlc_scope *parent,
			   idlc_node *owner, const char *name)
{
	idlc_scope *s = talloc_zero(comp, idlc_scope);

	if (s == NULL)
		return NULL;
	s->parent = parent;
	s->owner = owner;
	s->name = name ? name : "";
	return s;
}

/* The slot for `name` (occupied by a case-insensitive match, or free). */
static struct idlc_entry *slot_of(const idlc_scope *s, const char *name,
				  uint32_t h)
{
	size_t mask = s->n_slots - 1, i = h & mask;

	for (;;) {
		struct idlc_entry *e = &s->slots[i];
		if (e->node == NULL ||
		    (e->hash == h && strcasecmp(e->node->name, name) == 0))
			return e;
		i = (i + 1) & mask;
	}
}

/* Double the table. */
static int grow(idlc_scope *s)
{
	size_t n = s->n_slots ? s->n_slots * 2 : 8, i;
	struct idlc_entry *old = s->slots, *slots;
	size_t old_n = s->n_slots;

	slots = talloc_zero_array(s, struct idlc_entry, n);
	if (slots == NULL)
		return -1;
	s->slots = slots;
	s->n_slots = n;
	for (i = 0; i < old_n; i++)
		if (old[i].node)
			*slot_of(s, old[i].node->name, old[i].hash) = old[i];
	talloc_free(old);
	return 0;
}

/* Declare; see its header. */
idlc_node *idlc_scope_declare(idlc_scope *scope, idlc_node *node,
			      bool replace)
{
	uint32_t h = name_hash(node->name);
	struct idlc_entry *e;

	if ((scope->n_used + 1) * 4 > scope->n_slots * 3 && grow(scope) < 0)
		return NULL;
	e = slot_of(scope, node->name, h);
	if (e->node != NULL) {
		if (!replace)
			return e->node;
		e->node = node;
		return NULL;
	}
	e->node = node;
	e->hash = h;
	scope->n_used++;
	return NULL;
}

/* Find; see its header. */
idlc_node *idlc_scope_find(const idlc_scope *scope, const char *name,
			   idlc_node **case_clash)
{
	struct idlc_entry *e;

	if (scope->n_slots == 0)
		return NULL;
	e = slot_of(scope, name, name_hash(name));
	if (e->node == NULL)
		return NULL;
	if (strcmp(e->node->name, name) == 0)
		return e->node;
	if (case_clash)
		*case_clash = e->node;
	return NULL;
}

/* The complete definition behind a forward declaration, if known. */
static idlc_node *definition_of(idlc_node *n)
{
	while (n && n->definition)
		n = n->definition;
	return n;
}

/* Find `name` in `scope` or, for interfaces, valuetypes and components,
 * in the scopes of their bases (depth first). */
static idlc_node *find_inherited(const idlc_scope *scope, const char *name,
				 idlc_node **case_clash, int depth)
{
	idlc_node *n = idlc_scope_find(scope, name, case_clash), *owner;
	size_t i;

	if (n != NULL || depth > 64)
		return n;
	owner = scope->owner;
	if (owner == NULL)
		return NULL;
	for (i = 0; i < owner->n_bases; i++) {
		idlc_node *b = definition_of(owner->base_nodes[i]);
		if (b && b->scope) {
			n = find_inherited(b->scope, name, case_clash,
					   depth + 1);
			if (n)
				return n;
		}
	}
	return NULL;
}

/* Resolve; see its header. */
idlc_node *idlc_scope_resolve(idlc_compilation *comp, idlc_scope *scope,
			      idlc_scoped_name *sn)
{
	idlc_node *n = NULL, *clash = NULL;
	idlc_scope *s;
	size_t i;

	if (sn->absolute) {
		n = find_inherited(comp->root_scope, sn->parts[0], &clash, 0);
	} else {
		for (s = scope; s && n == NULL; s = s->parent)
			n = find_inherited(s, sn->parts[0], &clash, 0);
	}
	for (i = 0;; i++) {
		if (n == NULL) {
			char *full = idlc_scoped_name_str(comp, sn);
			if (clash)
				idlc_error(comp, &sn->loc, "'%s' is not "
					   "declared (did you mean '%s'?)",
					   sn->parts[i], clash->name);
			else if (i == 0)
				idlc_error(comp, &sn->loc, "'%s' is not "
					   "declared", full);
			else
				idlc_error(comp, &sn->loc, "'%s' is not "
					   "declared in '%s'", sn->parts[i],
					   sn->parts[i - 1]);
			talloc_free(full);
			return NULL;
		}
		n = definition_of(n);
		if (i + 1 == sn->n)
			break;
		if (n->scope == NULL) {
			idlc_error(comp, &sn->loc, "'%s' is a %s, not a scope",
				   sn->parts[i], idlc_kind_name(n->kind));
			return NULL;
		}
		clash = NULL;
		n = find_inherited(n->scope, sn->parts[i + 1], &clash, 0);
	}
	sn->ref = n;
	return n;
}
