/*
 * idlc/check/scope.h - scopes: declare / find / resolve names.
 */
#ifndef IDLC_CHECK_SCOPE_H
#define IDLC_CHECK_SCOPE_H

#include <stdbool.h>
#include <stddef.h>

#include "base/comp.h"

/* A scope: the names declared directly in a module, interface, struct...
 * Reopened modules share one scope.  Lookup is case-insensitive so that
 * names differing only in case collide, as OMG IDL requires. */
struct idlc_scope {
	idlc_scope *parent;   /* enclosing scope, NULL for the root */
	idlc_node *owner;     /* node that opened it (first one for modules) */
	const char *name;     /* scope name, "" for the root */
	struct idlc_entry *slots; /* open-addressing table */
	size_t n_slots;       /* size of slots (power of two) */
	size_t n_used;        /* occupied slots */
};

/* Create a scope named `name` under `parent`, owned by `owner`. */
idlc_scope *idlc_scope_new(idlc_compilation *comp, idlc_scope *parent,
			   idlc_node *owner, const char *name);

/* Declare `node` under node->name in `scope`.  On a clash returns the
 * node already there (case-insensitive match) and declares nothing;
 * returns NULL when declared.  `replace` overwrites an existing entry
 * (a forward declaration being completed). */
idlc_node *idlc_scope_declare(idlc_scope *scope, idlc_node *node,
			      bool replace);

/* Find `name` declared directly in `scope` (exact case), or NULL.  Sets
 * *case_clash to a node whose name differs only in case, when found. */
idlc_node *idlc_scope_find(const idlc_scope *scope, const char *name,
			   idlc_node **case_clash);

/* Resolve a scoped name from `scope` outwards (and through the bases of
 * enclosing interfaces/valuetypes).  Returns the node, or NULL after
 * reporting a diagnostic. */
idlc_node *idlc_scope_resolve(idlc_compilation *comp, idlc_scope *scope,
			      idlc_scoped_name *sn);

#endif /* IDLC_CHECK_SCOPE_H */
