/*
 * idlc/check/resolve.c - the resolve pass: declare every name in its scope and
 * bind every scoped name, in source order (IDL requires declaration
 * before use), evaluating constants, bounds and labels on the way.
 *
 * Errors here are reported and the pass goes on, so that one run lists
 * as many problems as possible; a declaration whose type did not resolve
 * keeps `ref` NULL and later passes skip it.
 */
#include <string.h>
#include <strings.h>

#include "base/comp.h"
#include "check/eval.h"
#include "check/resolve.h"
#include "check/scope.h"
#include "front/keywords.h"

static void resolve_node(idlc_compilation *comp, idlc_scope *scope,
			 idlc_node *n);

/* Forward-declaration kind matching a definition kind, or -1. */
static int forward_of(idlc_kind k)
{
	switch (k) {
	case IDLC_INTERFACE: return IDLC_INTERFACE_FWD;
	case IDLC_STRUCT: return IDLC_STRUCT_FWD;
	case IDLC_UNION: return IDLC_UNION_FWD;
	case IDLC_VALUETYPE: return IDLC_VALUE_FWD;
	case IDLC_COMPONENT: return IDLC_COMPONENT_FWD;
	default: return -1;
	}
}

/* True for forward declarations. */
static bool is_forward(const idlc_node *n)
{
	return n->kind == IDLC_INTERFACE_FWD || n->kind == IDLC_STRUCT_FWD ||
	       n->kind == IDLC_UNION_FWD || n->kind == IDLC_VALUE_FWD ||
	       n->kind == IDLC_COMPONENT_FWD;
}

/* Kind of a forward declaration's definition. */
static idlc_kind defined_kind(const idlc_node *n)
{
	switch (n->kind) {
	case IDLC_INTERFACE_FWD: return IDLC_INTERFACE;
	case IDLC_STRUCT_FWD: return IDLC_STRUCT;
	case IDLC_UNION_FWD: return IDLC_UNION;
	case IDLC_VALUE_FWD: return IDLC_VALUETYPE;
	case IDLC_COMPONENT_FWD: return IDLC_COMPONENT;
	default: return n->kind;
	}
}

/* The definition behind a chain of forward declarations. */
static idlc_node *definition_of(idlc_node *n)
{
	while (n && n->definition)
		n = n->definition;
	return n;
}

/* True when a scope owned by this kind may not reuse its own name. */
static bool scope_name_reserved(const idlc_node *owner)
{
	switch (owner->kind) {
	case IDLC_MODULE: case IDLC_INTERFACE: case IDLC_STRUCT:
	case IDLC_UNION: case IDLC_EXCEPTION: case IDLC_VALUETYPE:
	case IDLC_COMPONENT: case IDLC_HOME:
		return true;
	default:
		return false;
	}
}

/* Keywords newer than the CORBA 2 files that use them as names: those
 * of CORBA 3 (components; omniidl warns too) and IDL 4's constructed
 * types (the CORBA services declare `EventType`, `Map`...).  A name equal
 * to one of them but for case is a warning; to any other keyword
 * (`String`, `INT8`), an error. */
static bool newer_keyword(const char *kw)
{
	static const char *const corba3[] = {
		"component", "consumes", "emits", "eventtype", "finder",
		"getraises", "home", "import", "manages", "multiple",
		"primarykey", "provides", "publishes", "setraises", "typeid",
		"typeprefix", "uses", "map", "bitset", "bitmask", "bitfield",
		NULL
	};
	size_t i;

	for (i = 0; corba3[i]; i++)
		if (strcmp(corba3[i], kw) == 0)
			return true;
	return false;
}

/* n is declared under a name that equals the keyword kw but for case. */
static void keyword_clash(idlc_compilation *comp, const idlc_node *n,
			  const char *kw)
{
	idlc_report(comp, newer_keyword(kw) ? IDLC_WARNING : IDLC_ERROR,
		    &n->name_loc, "'%s' collides with the keyword '%s' "
		    "(identifiers that differ from a keyword only in case "
		    "are reserved; write '_%s')", n->name, kw, n->name);
}

/* Declare n in scope, reporting clashes.  Forward declarations and their
 * definitions are linked; returns false on a clash. */
static bool declare(idlc_compilation *comp, idlc_scope *scope, idlc_node *n)
{
	idlc_node *old;
	unsigned fl = IDLC_F_LOCAL | IDLC_F_ABSTRACT;
	const char *kw;

	if (n->name == NULL || scope == NULL)
		return true;
	if (comp->kw_used && (kw = idlc_keyword_ident(comp, n->name)))
		keyword_clash(comp, n, kw);
	if (scope->owner && scope->owner->name &&
	    scope_name_reserved(scope->owner) &&
	    strcasecmp(scope->owner->name, n->name) == 0) {
		if (strcmp(scope->owner->name, n->name) == 0)
			idlc_error(comp, &n->name_loc, "'%s' has the same name "
				   "as the enclosing %s", n->name,
				   idlc_kind_name(scope->owner->kind));
		else
			idlc_error(comp, &n->name_loc, "'%s' clashes with the "
				   "enclosing %s '%s' (names that differ only "
				   "in case collide)", n->name,
				   idlc_kind_name(scope->owner->kind),
				   scope->owner->name);
		return false;
	}
	old = idlc_scope_declare(scope, n, false);
	if (old == NULL)
		return true;
	if (strcmp(old->name, n->name) == 0 && is_forward(old) &&
	    defined_kind(old) == defined_kind(n)) {
		idlc_node *def = definition_of(old);
		if ((old->flags & fl) != (n->flags & fl) &&
		    old->kind == IDLC_INTERFACE_FWD) {
			idlc_error(comp, &n->name_loc, "'%s' does not match "
				   "its forward declaration (local and "
				   "abstract must agree)", n->name);
			idlc_note(comp, &old->name_loc, "forward declaration "
				  "of '%s' is here", old->name);
		}
		if (is_forward(n)) {
			n->definition = def == old ? old : def;
			return true;
		}
		if (!is_forward(def)) {
			idlc_error(comp, &n->name_loc, "redefinition of '%s'",
				   n->name);
			idlc_note(comp, &def->name_loc, "previous definition "
				  "of '%s' is here", def->name);
			return false;
		}
		def->definition = n;
		idlc_scope_declare(scope, n, true);
		return true;
	}
	if (strcmp(old->name, n->name) == 0 && is_forward(n) &&
	    forward_of(old->kind) == (int)n->kind) {
		n->definition = old;
		return true;
	}
	if (strcmp(old->name, n->name) != 0)
		idlc_error(comp, &n->name_loc, "'%s' clashes with '%s' "
			   "(names that differ only in case collide)",
			   n->name, old->name);
	else if (defined_kind(old) == defined_kind(n))
		idlc_error(comp, &n->name_loc, "redefinition of '%s'",
			   n->name);
	else
		idlc_error(comp, &n->name_loc, "'%s' is already declared as "
			   "%s %s", n->name,
			   strchr("aeiou", idlc_kind_name(old->kind)[0]) ?
			   "an" : "a", idlc_kind_name(old->kind));
	idlc_note(comp, &old->name_loc, "previous declaration of '%s' is "
		  "here", old->name);
	return false;
}

/* Evaluate a positive bound/size. */
static bool eval_bound(idlc_compilation *comp, idlc_scope *scope,
		       idlc_expr *e, const char *what, uint64_t *out)
{
	idlc_value v;
	char buf[48];

	if (idlc_eval(comp, scope, e, NULL, &v) < 0)
		return false;
	if (v.kind != IDLC_V_INT) {
		idlc_error(comp, &e->loc, "%s must be an integer", what);
		return false;
	}
	if (v.i <= 0) {
		idlc_error(comp, &e->loc, "%s must be positive, got %s", what,
			   idlc_int_str(buf, v.i));
		return false;
	}
	if (v.i > (idlc_int)UINT32_MAX) {
		idlc_error(comp, &e->loc, "%s %s is too large", what,
			   idlc_int_str(buf, v.i));
		return false;
	}
	*out = (uint64_t)v.i;
	return true;
}

/* Resolve a type expression.  `member` is the declaration it types when
 * the value is held by value (struct member, union case): an incomplete
 * or self-containing type is an error there. */
static bool resolve_type(idlc_compilation *comp, idlc_scope *scope,
			 idlc_type *t, idlc_node *member)
{
	idlc_node *n;
	bool ok = true;

	if (t == NULL)
		return false;
	switch (t->kind) {
	case IDLC_T_NAMED:
		if (t->decl) {
			resolve_node(comp, scope, t->decl);
			t->ref = t->decl;
			return true;
		}
		n = idlc_scope_resolve(comp, scope, t->name);
		if (n == NULL)
			return false;
		if (!idlc_is_type_decl(n)) {
			char *s = idlc_scoped_name_str(comp, t->name);
			idlc_error(comp, &t->loc, "'%s' is %s %s, not a type",
				   s, strchr("aeiou", idlc_kind_name(n->kind)[0])
				   ? "an" : "a", idlc_kind_name(n->kind));
			talloc_free(s);
			return false;
		}
		t->ref = n;
		if (member == NULL)
			return true;
		if ((n->kind == IDLC_STRUCT_FWD || n->kind == IDLC_UNION_FWD) &&
		    idlc_find_annotation(member, "external") == NULL) {
			idlc_error(comp, &t->loc, "%s '%s' has incomplete type "
				   "'%s'", idlc_kind_name(member->kind),
				   member->name, n->name);
			return false;
		}
		if ((n->flags & IDLC_F_RESOLVING) &&
		    (n->kind == IDLC_STRUCT || n->kind == IDLC_UNION ||
		     n->kind == IDLC_EXCEPTION) &&
		    idlc_find_annotation(member, "external") == NULL) {
			idlc_error(comp, &t->loc, "%s '%s' cannot contain "
				   "itself (use a sequence)",
				   idlc_kind_name(n->kind), n->name);
			return false;
		}
		return true;
	case IDLC_T_SEQUENCE:
		ok = resolve_type(comp, scope, t->elem, NULL);
		if (t->bound_expr)
			ok = eval_bound(comp, scope, t->bound_expr,
					"sequence bound", &t->bound) && ok;
		return ok;
	case IDLC_T_MAP:
		ok = resolve_type(comp, scope, t->key, NULL);
		ok = resolve_type(comp, scope, t->elem, NULL) && ok;
		if (t->bound_expr)
			ok = eval_bound(comp, scope, t->bound_expr,
					"map bound", &t->bound) && ok;
		return ok;
	case IDLC_T_ARRAY:
		ok = eval_bound(comp, scope, t->bound_expr, "array size",
				&t->bound);
		return resolve_type(comp, scope, t->elem, member) && ok;
	case IDLC_T_STRING:
	case IDLC_T_WSTRING:
		if (t->bound_expr)
			return eval_bound(comp, scope, t->bound_expr,
					  "string bound", &t->bound);
		return true;
	case IDLC_T_FIXED:
		if (t->bound_expr == NULL)
			return true;
		ok = eval_bound(comp, scope, t->bound_expr, "fixed digits",
				&t->bound);
		if (ok && t->bound > 31) {
			idlc_error(comp, &t->bound_expr->loc, "fixed-point "
				   "type has more than 31 digits");
			ok = false;
		}
		if (ok) {
			idlc_value v;
			if (idlc_eval(comp, scope, t->scale_expr, NULL, &v) < 0)
				return false;
			if (v.kind != IDLC_V_INT || v.i < 0 ||
			    v.i > (idlc_int)t->bound) {
				idlc_error(comp, &t->scale_expr->loc,
					   "fixed-point scale must be between "
					   "0 and the number of digits");
				return false;
			}
			t->scale = (uint64_t)v.i;
		}
		return ok;
	default:
		return true;
	}
}

/* Resolve a list of names that must each denote `want` (an exception,
 * an interface...); duplicates are reported. */
static void resolve_names(idlc_compilation *comp, idlc_scope *scope,
			  idlc_scoped_name *list, idlc_kind want,
			  const char *clause)
{
	idlc_scoped_name *sn, *q;

	for (sn = list; sn; sn = sn->next) {
		idlc_node *n = idlc_scope_resolve(comp, scope, sn);
		if (n == NULL)
			continue;
		if (defined_kind(n) != want) {
			char *s = idlc_scoped_name_str(comp, sn);
			idlc_error(comp, &sn->loc, "'%s' in %s is %s %s, not "
				   "%s %s", s, clause,
				   strchr("aeiou", idlc_kind_name(n->kind)[0]) ?
				   "an" : "a", idlc_kind_name(n->kind),
				   strchr("aeiou", idlc_kind_name(want)[0]) ?
				   "an" : "a", idlc_kind_name(want));
			talloc_free(s);
			sn->ref = NULL;
			continue;
		}
		for (q = list; q != sn; q = q->next)
			if (q->ref == n) {
				idlc_error(comp, &sn->loc, "'%s' is listed "
					   "twice in %s", n->name, clause);
				sn->ref = NULL;
				break;
			}
	}
}

/* Resolve the bases of an interface, valuetype, struct, component, home
 * or bitset.  They must be complete definitions of `want`. */
static void resolve_bases(idlc_compilation *comp, idlc_scope *scope,
			  idlc_node *n, idlc_kind want)
{
	idlc_scoped_name *sn;
	size_t count = 0, i;

	for (sn = n->bases; sn; sn = sn->next)
		count++;
	if (count == 0)
		return;
	n->base_nodes = talloc_zero_array(n, idlc_node *, count);
	if (n->base_nodes == NULL)
		return;
	for (sn = n->bases; sn; sn = sn->next) {
		idlc_node *b = idlc_scope_resolve(comp, scope, sn);
		char *s;
		if (b == NULL)
			continue;
		s = idlc_scoped_name_str(comp, sn);
		if (b == n) {
			idlc_error(comp, &sn->loc, "%s '%s' cannot inherit "
				   "from itself", idlc_kind_name(n->kind),
				   n->name);
		} else if (b->flags & IDLC_F_RESOLVING) {
			idlc_error(comp, &sn->loc, "cyclic inheritance "
				   "involving '%s'", s);
		} else if (is_forward(b) && defined_kind(b) == want) {
			idlc_error(comp, &sn->loc, "%s '%s' cannot inherit "
				   "from '%s', which is only forward-declared",
				   idlc_kind_name(n->kind), n->name, s);
		} else if (b->kind != want) {
			idlc_error(comp, &sn->loc, "'%s' is %s %s, not %s %s",
				   s, strchr("aeiou", idlc_kind_name(b->kind)[0])
				   ? "an" : "a", idlc_kind_name(b->kind),
				   strchr("aeiou", idlc_kind_name(want)[0]) ?
				   "an" : "a", idlc_kind_name(want));
		} else {
			for (i = 0; i < n->n_bases; i++)
				if (n->base_nodes[i] == b)
					break;
			if (i < n->n_bases) {
				idlc_error(comp, &sn->loc, "'%s' is listed "
					   "twice as a base of '%s'", s,
					   n->name);
			} else if (want == IDLC_INTERFACE &&
				   (n->flags & IDLC_F_ABSTRACT) &&
				   !(b->flags & IDLC_F_ABSTRACT)) {
				idlc_error(comp, &sn->loc, "abstract interface "
					   "'%s' cannot inherit from "
					   "non-abstract interface '%s'",
					   n->name, s);
			} else if (want == IDLC_INTERFACE &&
				   !(n->flags & IDLC_F_LOCAL) &&
				   (b->flags & IDLC_F_LOCAL)) {
				idlc_error(comp, &sn->loc, "interface '%s' "
					   "cannot inherit from local interface "
					   "'%s'", n->name, s);
			} else {
				n->base_nodes[n->n_bases++] = b;
			}
		}
		talloc_free(s);
	}
}

/* Resolve a chain of declarations in `scope`. */
static void resolve_list(idlc_compilation *comp, idlc_scope *scope,
			 idlc_node *n)
{
	for (; n; n = n->next)
		resolve_node(comp, scope, n);
}

/* Enumerators and bitmask flags: values in order, @value(n) overrides. */
static void resolve_enumerators(idlc_compilation *comp, idlc_scope *scope,
				idlc_node *e)
{
	idlc_node *m;
	idlc_int next = 0;
	int pos = 0;

	for (m = e->children; m; m = m->next, pos++) {
		const idlc_annotation *a = idlc_find_annotation(
			m, e->kind == IDLC_ENUM ? "value" : "position");
		idlc_value v;
		if (a && a->params &&
		    idlc_eval(comp, scope, a->params->value, NULL, &v) == 0 &&
		    v.kind == IDLC_V_INT)
			next = v.i;
		m->flags |= IDLC_F_RESOLVED;
		if (e->kind == IDLC_ENUM) {
			m->value.kind = IDLC_V_ENUM;
			m->value.enumerator = m;
			m->value.i = next++;
			declare(comp, scope, m);
		} else {
			m->value.kind = IDLC_V_INT;
			if (next < 0 || next > 63) {
				idlc_error(comp, &m->loc, "bitmask position "
					   "out of range");
				next = 0;
			}
			m->value.i = (idlc_int)1 << next++;
			declare(comp, e->scope, m);
		}
	}
}

/* Operation / factory parameters and raises. */
static void resolve_params(idlc_compilation *comp, idlc_scope *scope,
			   idlc_node *n)
{
	idlc_node *q;

	n->scope = idlc_scope_new(comp, scope, n, n->name);
	if (n->scope == NULL)
		return;
	for (q = n->children; q; q = q->next) {
		resolve_type(comp, scope, q->type, NULL);
		declare(comp, n->scope, q);
		q->flags |= IDLC_F_RESOLVED;
	}
	resolve_names(comp, scope, n->raises, IDLC_EXCEPTION,
		      "raises clause");
}

/* Resolve one declaration. */
static void resolve_node(idlc_compilation *comp, idlc_scope *scope,
			 idlc_node *n)
{
	idlc_node *old, *m;
	idlc_label *l;

	if (n->flags & IDLC_F_RESOLVED)
		return;
	switch (n->kind) {
	case IDLC_MODULE:
		old = idlc_scope_find(scope, n->name, NULL);
		if (old && old->kind == IDLC_MODULE) {
			n->scope = old->scope;
		} else {
			declare(comp, scope, n);
			n->scope = idlc_scope_new(comp, scope, n, n->name);
		}
		if (n->scope)
			resolve_list(comp, n->scope, n->children);
		break;
	case IDLC_INTERFACE:
	case IDLC_VALUETYPE:
	case IDLC_COMPONENT:
	case IDLC_HOME:
	case IDLC_STRUCT:
	case IDLC_EXCEPTION:
	case IDLC_UNION:
	case IDLC_BITSET:
		declare(comp, scope, n);
		n->scope = idlc_scope_new(comp, scope, n, n->name);
		if (n->scope == NULL)
			return;
		n->flags |= IDLC_F_RESOLVING;
		resolve_bases(comp, scope, n, n->kind);
		if (n->kind == IDLC_VALUETYPE || n->kind == IDLC_COMPONENT ||
		    n->kind == IDLC_HOME)
			resolve_names(comp, scope, n->supports, IDLC_INTERFACE,
				      "supports clause");
		if (n->kind == IDLC_HOME) {
			resolve_names(comp, scope, n->target, IDLC_COMPONENT,
				      "manages clause");
			resolve_names(comp, scope, n->key, IDLC_VALUETYPE,
				      "primarykey clause");
		}
		if (n->kind == IDLC_UNION)
			resolve_type(comp, scope, n->type, NULL);
		resolve_list(comp, n->scope, n->children);
		n->flags &= ~(unsigned)IDLC_F_RESOLVING;
		break;
	case IDLC_INTERFACE_FWD:
	case IDLC_STRUCT_FWD:
	case IDLC_UNION_FWD:
	case IDLC_VALUE_FWD:
	case IDLC_COMPONENT_FWD:
	case IDLC_NATIVE:
		declare(comp, scope, n);
		break;
	case IDLC_ENUM:
	case IDLC_BITMASK:
		declare(comp, scope, n);
		n->scope = idlc_scope_new(comp, scope, n, n->name);
		if (n->scope)
			resolve_enumerators(comp, scope, n);
		break;
	case IDLC_TYPEDEF:
	case IDLC_VALUE_BOX:
		resolve_type(comp, scope, n->type, NULL);
		declare(comp, scope, n);
		break;
	case IDLC_CONST:
		if (resolve_type(comp, scope, n->type, NULL))
			idlc_eval(comp, scope, n->expr, n->type, &n->value);
		declare(comp, scope, n);
		break;
	case IDLC_MEMBER:
	case IDLC_STATE_MEMBER:
		resolve_type(comp, scope, n->type, n);
		declare(comp, scope, n);
		break;
	case IDLC_CASE:
		resolve_type(comp, scope, n->type, n);
		declare(comp, scope, n);
		m = n->parent;
		for (l = n->labels; l; l = l->next)
			if (l->expr && m && m->type &&
			    (m->type->kind != IDLC_T_NAMED || m->type->ref))
				idlc_eval(comp, scope, l->expr, m->type,
					  &l->value);
		break;
	case IDLC_ATTRIBUTE:
		resolve_type(comp, scope, n->type, NULL);
		declare(comp, scope, n);
		resolve_names(comp, scope, n->raises, IDLC_EXCEPTION,
			      n->setraises ? "getraises clause" :
			      (n->flags & IDLC_F_READONLY) ? "raises clause" :
			      "getraises clause");
		resolve_names(comp, scope, n->setraises, IDLC_EXCEPTION,
			      "setraises clause");
		break;
	case IDLC_OPERATION:
		resolve_type(comp, scope, n->type, NULL);
		declare(comp, scope, n);
		resolve_params(comp, scope, n);
		break;
	case IDLC_FACTORY:
		declare(comp, scope, n);
		resolve_params(comp, scope, n);
		break;
	case IDLC_PORT:
		if (n->target && !(n->target->absolute && n->target->n == 1 &&
				   strcmp(n->target->parts[0], "Object") == 0))
			resolve_names(comp, scope, n->target,
				      n->port <= IDLC_PORT_USES ?
				      IDLC_INTERFACE : IDLC_VALUETYPE,
				      "port declaration");
		declare(comp, scope, n);
		break;
	case IDLC_BITFIELD:
		if (n->expr) {
			uint64_t w = 0;
			if (eval_bound(comp, scope, n->expr, "bitfield width",
				       &w) && w > 64)
				idlc_error(comp, &n->expr->loc, "bitfield width "
					   "%llu is larger than 64",
					   (unsigned long long)w);
			else if (w > 0) {
				n->value.kind = IDLC_V_INT;
				n->value.i = (idlc_int)w;
			}
		}
		if (n->type)
			resolve_type(comp, scope, n->type, NULL);
		declare(comp, scope, n);
		break;
	case IDLC_ANNOTATION_DECL:
		if (comp->anno_scope == NULL)
			comp->anno_scope = idlc_scope_new(comp, NULL, NULL,
							  "@");
		if (comp->anno_scope)
			declare(comp, comp->anno_scope, n);
		break;
	case IDLC_TYPEID:
	case IDLC_TYPEPREFIX:
	case IDLC_PRAGMA_ID:
	case IDLC_PRAGMA_VERSION:
		if (n->target)
			idlc_scope_resolve(comp, scope, n->target);
		break;
	case IDLC_IMPORT:
		if (n->target)
			idlc_scope_resolve(comp, scope, n->target);
		else
			idlc_warning(comp, &n->loc, "import of \"%s\" is "
				     "ignored: use #include", n->str);
		break;
	default:
		break;
	}
	n->flags |= IDLC_F_RESOLVED;
}

/* A predeclared node of `kind` named `name` in `scope` under `parent`. */
static idlc_node *predeclare(idlc_compilation *comp, idlc_scope *scope,
			     idlc_node *parent, idlc_kind kind,
			     const char *name)
{
	idlc_node *n = talloc_zero(comp, idlc_node);

	if (n == NULL)
		return NULL;
	n->kind = kind;
	n->name = name;
	n->parent = parent;
	n->flags = IDLC_F_BUILTIN | IDLC_F_RESOLVED;
	n->loc.file = n->name_loc.file = "<built-in>";
	idlc_scope_declare(scope, n, false);
	return n;
}

/* The names every IDL compiler predeclares: the CORBA module's
 * pseudo-objects TypeCode and Principal (opaque `native` types: what a
 * TypeCode describes, shade carries as a shape; doc/idl.md).  A file's
 * `module CORBA` reopens this module. */
static int predeclare_corba(idlc_compilation *comp)
{
	idlc_node *m = predeclare(comp, comp->root_scope, comp->root,
				  IDLC_MODULE, "CORBA");

	if (m == NULL ||
	    (m->scope = idlc_scope_new(comp, comp->root_scope, m,
				       "CORBA")) == NULL ||
	    predeclare(comp, m->scope, m, IDLC_NATIVE, "TypeCode") == NULL ||
	    predeclare(comp, m->scope, m, IDLC_NATIVE, "Principal") == NULL)
		return -1;
	return 0;
}

/* The resolve pass; see its header. */
int idlc_resolve(idlc_compilation *comp)
{
	int before = comp->n_errors;

	if (comp->root == NULL)
		return -1;
	comp->root_scope = idlc_scope_new(comp, NULL, comp->root, "");
	if (comp->root_scope == NULL)
		return -1;
	comp->root->scope = comp->root_scope;
	if (predeclare_corba(comp) < 0)
		return -1;
	resolve_list(comp, comp->root_scope, comp->root->children);
	return comp->n_errors > before ? -1 : 0;
}
