/*
 * idlc/check/repoid.c - repository ids, as CORBA compilers give them.
 *
 * A declaration's id is "IDL:" + prefix + "/" + its name relative to
 * the scope where the prefix was set (its components joined with '/')
 * + ":" + version, unless a `typeid` or `#pragma ID` gives it whole.
 * The prefix is that of the last `#pragma prefix` before the
 * declaration in its own scope or an enclosing one, in the same file
 * (a prefix ends with its scope, and an included file starts without
 * one), or that of a `typeprefix` naming an enclosing scope; the
 * version is "1.0" unless a `#pragma version` names the declaration.
 * omniidl gives the same ids (tests/test_idlc_repoids.c).
 */
#include <string.h>

#include "base/comp.h"
#include "check/repoid.h"
#include "check/scope.h"

/* The node that holds what pragmas set on n: a definition for a
 * forward declaration, the first opening of a reopened module. */
static idlc_node *canon(idlc_node *n)
{
	while (n->definition)
		n = n->definition;
	if (n->kind == IDLC_MODULE && n->scope && n->scope->owner)
		n = n->scope->owner;
	return n;
}

/* True when n has a repository id. */
static bool has_id(const idlc_node *n)
{
	switch (n->kind) {
	case IDLC_MODULE: case IDLC_INTERFACE: case IDLC_INTERFACE_FWD:
	case IDLC_STRUCT: case IDLC_STRUCT_FWD: case IDLC_UNION:
	case IDLC_UNION_FWD: case IDLC_ENUM: case IDLC_BITMASK:
	case IDLC_BITSET: case IDLC_TYPEDEF: case IDLC_NATIVE:
	case IDLC_CONST: case IDLC_EXCEPTION: case IDLC_ATTRIBUTE:
	case IDLC_OPERATION: case IDLC_VALUETYPE: case IDLC_VALUE_FWD:
	case IDLC_VALUE_BOX: case IDLC_COMPONENT: case IDLC_COMPONENT_FWD:
	case IDLC_HOME:
		return n->name != NULL;
	default:
		return false;
	}
}

/* What pragma p sets (its string), by kind, for messages. */
static const char *what(const idlc_node *p)
{
	switch (p->kind) {
	case IDLC_PRAGMA_VERSION: return "version";
	case IDLC_TYPEPREFIX: return "type prefix";
	default: return "repository id";
	}
}

/* Record pragma p on *slot (the target's), refusing a second one that
 * says something else. */
static void record(idlc_compilation *comp, const idlc_node *p,
		   const idlc_node *target, const idlc_node **slot)
{
	if (*slot && strcmp((*slot)->str, p->str) != 0) {
		idlc_error(comp, &p->loc, "the %s of '%s' is set twice: "
			   "\"%s\" here, \"%s\" before", what(p), target->name,
			   p->str, (*slot)->str);
		idlc_note(comp, &(*slot)->loc, "set here first");
		return;
	}
	if (*slot == NULL)
		*slot = p;
}

/* Mark what the pragmas and typeid/typeprefix of the chain n (and
 * below) set on their targets, and the #pragma prefix in effect at
 * each declaration (per file: an included file's own pragmas do not
 * reach the including one). */
static void mark(idlc_compilation *comp, idlc_node *n, int depth)
{
	/* the last prefix of each file met in the chain (a chain spans
	 * files only at the top, through includes: a few entries) */
	struct { const char *file; const idlc_node *prefix; } *files = NULL;
	size_t n_files = 0, at = 0, i;
	idlc_node *t;

	if (depth > 256) /* the resolve pass refused deeper nesting */
		return;
	for (; n; n = n->next) {
		if (n->loc.file == NULL)
			continue;
		if (n_files == 0 || strcmp(files[at].file, n->loc.file) != 0) {
			for (i = 0; i < n_files; i++)
				if (strcmp(files[i].file, n->loc.file) == 0)
					break;
			if (i == n_files) {
				void *grown = talloc_realloc_size(comp, files,
					(n_files + 1) * sizeof(*files));
				if (grown == NULL)
					break;
				files = grown;
				files[n_files].file = n->loc.file;
				files[n_files++].prefix = NULL;
			}
			at = i;
		}
		switch (n->kind) {
		case IDLC_PRAGMA_PREFIX:
			files[at].prefix = n;
			continue;
		case IDLC_PRAGMA_ID: case IDLC_TYPEID:
		case IDLC_PRAGMA_VERSION: case IDLC_TYPEPREFIX:
			if (n->target == NULL || n->target->ref == NULL)
				continue; /* not resolved: reported */
			t = canon(n->target->ref);
			if (!has_id(t) || (n->kind == IDLC_TYPEPREFIX &&
					   t->scope == NULL)) {
				idlc_error(comp, &n->target->loc, "%s names "
					   "%s '%s', which has no %s",
					   idlc_kind_name(n->kind),
					   idlc_kind_name(t->kind), t->name ?
					   t->name : "", n->kind ==
					   IDLC_TYPEPREFIX ? "scope" :
					   "repository id");
				continue;
			}
			record(comp, n, t, n->kind == IDLC_PRAGMA_VERSION ?
			       &t->version_set : n->kind == IDLC_TYPEPREFIX ?
			       &t->prefix_set : &t->id_set);
			continue;
		default:
			break;
		}
		n->prefix_in = files[at].prefix;
		if (n->kind == IDLC_MODULE || n->kind == IDLC_INTERFACE ||
		    n->kind == IDLC_VALUETYPE || n->kind == IDLC_COMPONENT ||
		    n->kind == IDLC_HOME)
			mark(comp, n->children, depth + 1);
	}
	talloc_free(files);
}

/* The repository id of n computed from the prefixes and versions (not
 * an explicit one), on comp. */
static char *computed(idlc_compilation *comp, const idlc_node *n,
		      const char *version)
{
	const idlc_node *cur, *d = canon((idlc_node *)n), *stop = NULL;
	const char *prefix = "";
	char *path = NULL, *id;

	for (cur = d; cur && cur->kind != IDLC_SPECIFICATION;
	     cur = cur->parent) {
		const idlc_node *c = canon((idlc_node *)cur);

		if (c->prefix_set) {
			prefix = c->prefix_set->str;
			stop = cur;
			break;
		}
		if (cur->prefix_in) {
			prefix = cur->prefix_in->str;
			stop = cur;
			break;
		}
	}
	for (cur = d; cur && cur->kind != IDLC_SPECIFICATION;
	     cur = cur->parent) {
		path = path ? talloc_asprintf(comp, "%s/%s", cur->name, path)
			    : talloc_strdup(comp, cur->name);
		if (path == NULL || cur == stop)
			break;
	}
	if (path == NULL)
		return NULL;
	id = talloc_asprintf(comp, "IDL:%s%s%s:%s", prefix, *prefix ? "/" :
			     "", path, version);
	talloc_free(path);
	return id;
}

/* Set the ids of the chain n and below. */
static void assign(idlc_compilation *comp, idlc_node *n, int depth)
{
	if (depth > 256)
		return;
	for (; n; n = n->next) {
		const idlc_node *c;
		const char *version;

		if (n->children)
			assign(comp, n->children, depth + 1);
		if (!has_id(n))
			continue;
		c = canon(n);
		version = c->version_set ? c->version_set->str : "1.0";
		if (c->id_set == NULL) {
			n->repo_id = computed(comp, n, version);
			continue;
		}
		n->repo_id = c->id_set->str;
		if (c->version_set && n == c) {
			/* an explicit IDL id must agree with the version */
			const char *colon = strrchr(c->id_set->str, ':');

			if (strncmp(c->id_set->str, "IDL:", 4) != 0 ||
			    colon == NULL || strcmp(colon + 1, version) != 0) {
				const idlc_node *later =
					c->version_set->loc.bol >
					c->id_set->loc.bol ? c->version_set :
					c->id_set;
				idlc_error(comp, &later->loc, "the repository id "
					   "of '%s', \"%s\", does not have the "
					   "version %s given by #pragma version",
					   c->name, c->id_set->str, version);
				idlc_note(comp, &(later == c->id_set ?
					  c->version_set : c->id_set)->loc,
					  "set here");
			}
		}
	}
}

/* See its header. */
int idlc_repoids(idlc_compilation *comp)
{
	int before = comp->n_errors;

	if (comp->root == NULL)
		return -1;
	mark(comp, comp->root->children, 0);
	assign(comp, comp->root->children, 0);
	return comp->n_errors > before ? -1 : 0;
}
