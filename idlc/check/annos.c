/*
 * idlc/check/annos.c - annotation applications checked against the
 * annotation's declaration: the built-in ones of IDL 4 and DDS-XTypes (a
 * table below), shade's own, and those a file declares with @annotation.
 *
 * An argument must name a member of the annotation (a single positional
 * argument stands for the only member, or for `value`), appear once, and
 * have the member's type: an integer in range, a boolean, a string, or
 * one of the enumerators of the member's enum.  An annotation that is
 * declared nowhere is a warning (an error under -Werror=annotations).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "base/comp.h"
#include "check/annos.h"
#include "check/eval.h"
#include "check/scope.h"

/* What a built-in annotation member accepts. */
typedef enum anno_kind {
	A_ANY,    /* any constant (the annotated member's type decides) */
	A_BOOL,   /* boolean */
	A_USHORT, /* unsigned short */
	A_ULONG,  /* unsigned long */
	A_STRING, /* string */
	A_ENUM    /* one of `enums` */
} anno_kind;

/* One member of a built-in annotation. */
typedef struct anno_member {
	const char *name;         /* member name; NULL ends the list */
	anno_kind kind;           /* accepted values */
	bool required;            /* must be given (no default) */
	idlc_int lo, hi;          /* integer range (lo < hi: checked) */
	const char *const *enums; /* A_ENUM: enumerator names, NULL-ended */
} anno_member;

/* One built-in annotation. */
typedef struct anno_spec {
	const char *name;           /* annotation name */
	bool unchecked;             /* arguments not checked */
	anno_member members[3];     /* members, ended by a NULL name */
} anno_spec;

static const char *const autoid_kinds[] = { "SEQUENTIAL", "HASH", NULL };
static const char *const ext_kinds[] = { "FINAL", "APPENDABLE", "MUTABLE",
					 NULL };
static const char *const placements[] = {
	"BEGIN_FILE", "BEFORE_DECLARATION", "BEGIN_DECLARATION",
	"END_DECLARATION", "AFTER_DECLARATION", "END_FILE", NULL
};
static const char *const try_kinds[] = { "DISCARD", "USE_DEFAULT", "TRIM",
					 NULL };

/* A boolean `value` member, defaulting to TRUE. */
#define BOOL_VALUE { { "value", A_BOOL, false, 0, 0, NULL } }
/* A required member `value` of any constant. */
#define ANY_VALUE { { "value", A_ANY, true, 0, 0, NULL } }

/* IDL 4.2 section 8.3 and DDS-XTypes 1.3 section 7.3.1.2, plus shade's
 * copy-policy annotations (doc/idl.md "Copy policy"; their targets are
 * checked by check_policy()). */
static const anno_spec builtins[] = {
	{ "id", false, { { "value", A_ULONG, true, 0, 0, NULL } } },
	{ "autoid", false, { { "value", A_ENUM, false, 0, 0, autoid_kinds } } },
	{ "optional", false, BOOL_VALUE },
	{ "position", false, { { "value", A_USHORT, true, 0, 0, NULL } } },
	{ "value", false, ANY_VALUE },
	{ "extensibility", false, { { "value", A_ENUM, true, 0, 0,
				      ext_kinds } } },
	{ "final", false, { { NULL, A_ANY, false, 0, 0, NULL } } },
	{ "appendable", false, { { NULL, A_ANY, false, 0, 0, NULL } } },
	{ "mutable", false, { { NULL, A_ANY, false, 0, 0, NULL } } },
	{ "key", false, BOOL_VALUE },
	{ "must_understand", false, BOOL_VALUE },
	{ "default_literal", false, { { NULL, A_ANY, false, 0, 0, NULL } } },
	{ "default", false, ANY_VALUE },
	{ "range", false, { { "min", A_ANY, true, 0, 0, NULL },
			    { "max", A_ANY, true, 0, 0, NULL } } },
	{ "min", false, ANY_VALUE },
	{ "max", false, ANY_VALUE },
	{ "unit", false, { { "value", A_STRING, true, 0, 0, NULL } } },
	{ "bit_bound", false, { { "value", A_USHORT, true, 1, 64, NULL } } },
	{ "external", false, BOOL_VALUE },
	{ "nested", false, BOOL_VALUE },
	{ "verbatim", false, { { "language", A_STRING, false, 0, 0, NULL },
			       { "placement", A_ENUM, false, 0, 0,
				 placements },
			       { "text", A_STRING, true, 0, 0, NULL } } },
	{ "service", false, { { "platform", A_STRING, false, 0, 0, NULL } } },
	{ "oneway", false, BOOL_VALUE },
	{ "ami", false, BOOL_VALUE },
	{ "topic", false, { { "name", A_STRING, false, 0, 0, NULL },
			    { "platform", A_STRING, false, 0, 0, NULL } } },
	{ "non_serialized", false, BOOL_VALUE },
	{ "ignore_literal_names", false, BOOL_VALUE },
	{ "try_construct", false, { { "value", A_ENUM, false, 0, 0,
				      try_kinds } } },
	{ "hashid", false, { { "value", A_STRING, false, 0, 0, NULL } } },
	{ "data_representation", true, { { NULL, A_ANY, false, 0, 0, NULL } } },
	{ "shared", true, { { NULL, A_ANY, false, 0, 0, NULL } } },
	{ "deprecated", true, { { NULL, A_ANY, false, 0, 0, NULL } } },
	{ "choice", true, { { NULL, A_ANY, false, 0, 0, NULL } } },
	{ "empty", true, { { NULL, A_ANY, false, 0, 0, NULL } } },
	{ "format", true, { { NULL, A_ANY, false, 0, 0, NULL } } },
	{ "sequence_max_length", true, { { NULL, A_ANY, false, 0, 0, NULL } } },
	{ "eager", false, { { NULL, A_ANY, false, 0, 0, NULL } } },
	{ "byvalue", false, { { NULL, A_ANY, false, 0, 0, NULL } } },
	{ "byref", false, { { NULL, A_ANY, false, 0, 0, NULL } } },
	{ "chunk", false, { { "value", A_ULONG, true, 1, UINT32_MAX,
			      NULL } } },
	{ "doc", true, { { NULL, A_ANY, false, 0, 0, NULL } } },
};

/* The built-in annotation `name`, or NULL. */
static const anno_spec *builtin(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++)
		if (strcmp(builtins[i].name, name) == 0)
			return &builtins[i];
	return NULL;
}

/* The innermost scope around n (where its annotations' names resolve). */
static idlc_scope *scope_of(const idlc_compilation *comp, const idlc_node *n)
{
	for (n = n->parent; n; n = n->parent)
		if (n->scope)
			return n->scope;
	return comp->root_scope;
}

/* Check one argument against a built-in member. */
static void check_builtin_arg(idlc_compilation *comp, idlc_scope *scope,
			      const char *anno, const anno_member *m,
			      const idlc_anno_param *p)
{
	static const idlc_type t_bool = { .kind = IDLC_T_BOOLEAN };
	static const idlc_type t_ushort = { .kind = IDLC_T_USHORT };
	static const idlc_type t_ulong = { .kind = IDLC_T_ULONG };
	static const idlc_type t_string = { .kind = IDLC_T_STRING };
	const idlc_type *t = NULL;
	idlc_value v;
	char list[160];
	size_t i, len;

	switch (m->kind) {
	case A_ANY:
		return;
	case A_ENUM: {
		const idlc_scoped_name *sn = p->value->name;
		if (p->value->op == IDLC_OP_NAME && sn && sn->n > 0)
			for (i = 0; m->enums[i]; i++)
				if (strcmp(m->enums[i],
					   sn->parts[sn->n - 1]) == 0)
					return;
		for (i = 0, len = 0; m->enums[i] && len < sizeof(list); i++)
			len += (size_t)snprintf(list + len, sizeof(list) - len,
						"%s%s", i ? ", " : "",
						m->enums[i]);
		idlc_error(comp, &p->value->loc, "argument '%s' of '@%s' must "
			   "be one of %s", m->name, anno, list);
		return;
	}
	case A_BOOL: t = &t_bool; break;
	case A_USHORT: t = &t_ushort; break;
	case A_ULONG: t = &t_ulong; break;
	case A_STRING: t = &t_string; break;
	}
	if (idlc_eval(comp, scope, p->value, t, &v) < 0) {
		idlc_note(comp, &p->loc, "in argument '%s' of '@%s'", m->name,
			  anno);
		return;
	}
	if (m->lo < m->hi && v.kind == IDLC_V_INT &&
	    (v.i < m->lo || v.i > m->hi))
		idlc_error(comp, &p->value->loc, "argument '%s' of '@%s' is "
			   "out of range (%lld..%lld)", m->name, anno,
			   (long long)m->lo, (long long)m->hi);
}

/* The member that argument p of '@anno' sets, an index into
 * names[0..n): a single positional argument sets the only member.
 * Returns -1 after an error about p, -2 after one about the whole
 * application. */
static long arg_index(idlc_compilation *comp, const char *anno,
		      const char *const *names, size_t n,
		      const idlc_anno_param *p)
{
	size_t i;

	if (p->name == NULL) {
		if (n == 1)
			return 0;
		idlc_error(comp, &p->loc, "'@%s' %s", anno,
			   n ? "takes named arguments" : "takes no arguments");
		return -2;
	}
	for (i = 0; i < n; i++)
		if (strcmp(names[i], p->name) == 0)
			return (long)i;
	idlc_error(comp, &p->loc, "'@%s' has no argument '%s'", anno, p->name);
	return -1;
}

/* Arguments of a built-in annotation. */
static void check_builtin(idlc_compilation *comp, idlc_scope *scope,
			  const idlc_annotation *a, const anno_spec *s)
{
	const char *anno = s->name, *names[3];
	const idlc_anno_param *p;
	unsigned given = 0;
	size_t n_members = 0, i;
	long k;

	if (s->unchecked)
		return;
	while (n_members < 3 && s->members[n_members].name) {
		names[n_members] = s->members[n_members].name;
		n_members++;
	}
	for (p = a->params; p; p = p->next) {
		if ((k = arg_index(comp, anno, names, n_members, p)) == -2)
			return;
		if (k < 0)
			continue;
		if (given & (1u << k)) {
			idlc_error(comp, &p->loc, "argument '%s' of '@%s' is "
				   "given twice", names[k], anno);
			continue;
		}
		given |= 1u << k;
		check_builtin_arg(comp, scope, anno, &s->members[k], p);
	}
	for (i = 0; i < n_members; i++)
		if (s->members[i].required && !(given & (1u << i)))
			idlc_error(comp, &a->loc, "'@%s' needs its argument "
				   "'%s'", anno, names[i]);
}

/* Arguments of an annotation the file declares: each names a member;
 * a member of a basic type checks its value. */
static void check_declared(idlc_compilation *comp, idlc_scope *scope,
			   const idlc_annotation *a, const idlc_node *decl)
{
	const idlc_anno_param *p;
	const idlc_node *m, **members;
	const char **names;
	size_t n = 0;
	idlc_value v;
	long k;

	for (m = decl->children; m; m = m->next)
		n += m->kind == IDLC_ANNOTATION_MEMBER;
	members = talloc_array(comp, const idlc_node *, n + 1);
	names = talloc_array(members, const char *, n + 1);
	if (members == NULL || names == NULL) {
		talloc_free(members);
		return;
	}
	for (n = 0, m = decl->children; m; m = m->next)
		if (m->kind == IDLC_ANNOTATION_MEMBER) {
			members[n] = m;
			names[n++] = m->name;
		}
	for (p = a->params; p; p = p->next) {
		if ((k = arg_index(comp, decl->name, names, n, p)) == -2)
			break;
		if (k < 0)
			continue;
		m = members[k];
		if (m->type && m->type->kind != IDLC_T_NAMED &&
		    m->type->kind != IDLC_T_ANY &&
		    idlc_eval(comp, scope, p->value, m->type, &v) < 0)
			idlc_note(comp, &p->loc, "in argument '%s' of '@%s'",
				  m->name, decl->name);
	}
	talloc_free(members);
}

/* True when a value of type t may hold a reference (any, Object, an
 * interface, a valuetype), directly or inside a struct, union,
 * exception, sequence, array or map; depth bounds the look. */
static bool holds_ref(const idlc_type *t, int depth)
{
	const idlc_node *d, *m;

	t = t ? idlc_type_unalias(t) : NULL;
	if (t == NULL || depth > 32)
		return false;
	switch (t->kind) {
	case IDLC_T_ANY:
	case IDLC_T_OBJECT:
	case IDLC_T_VALUEBASE:
		return true;
	case IDLC_T_SEQUENCE:
	case IDLC_T_ARRAY:
		return holds_ref(t->elem, depth + 1);
	case IDLC_T_MAP:
		return holds_ref(t->key, depth + 1) ||
		       holds_ref(t->elem, depth + 1);
	case IDLC_T_NAMED:
		break;
	default:
		return false;
	}
	for (d = t->ref; d && d->definition; d = d->definition)
		;
	if (d == NULL)
		return false;
	switch (d->kind) {
	case IDLC_INTERFACE:
	case IDLC_INTERFACE_FWD:
	case IDLC_VALUETYPE:
	case IDLC_VALUE_FWD:
	case IDLC_VALUE_BOX:
		return true;
	case IDLC_STRUCT:
	case IDLC_UNION:
	case IDLC_EXCEPTION:
		for (m = d->children; m; m = m->next)
			if ((m->kind == IDLC_MEMBER || m->kind == IDLC_CASE) &&
			    holds_ref(m->type, depth + 1))
				return true;
		return false;
	default:
		return false;
	}
}

/* True when t is a sequence once typedefs are followed. */
static bool is_seq(const idlc_type *t)
{
	t = t ? idlc_type_unalias(t) : NULL;
	return t && t->kind == IDLC_T_SEQUENCE;
}

/* True when t is a struct once typedefs are followed. */
static bool is_struct(const idlc_type *t)
{
	const idlc_node *d;

	t = t ? idlc_type_unalias(t) : NULL;
	if (t == NULL || t->kind != IDLC_T_NAMED)
		return false;
	for (d = t->ref; d && d->definition; d = d->definition)
		;
	return d && d->kind == IDLC_STRUCT;
}

/* The targets of shade's copy-policy annotations: @eager on a readonly
 * attribute whose value holds no reference, @chunk(N) on an attribute
 * or operation of a sequence type holding no reference, @byref / @byvalue (not both) on a
 * parameter, struct member or attribute of a struct or sequence type. */
static void check_policy(idlc_compilation *comp, const idlc_node *n,
			 const idlc_annotation *a, const char *name)
{
	const char *what = n->name ? n->name : "";

	if (strcmp(name, "eager") == 0) {
		if (n->kind != IDLC_ATTRIBUTE)
			idlc_error(comp, &a->loc, "'@eager' applies to a "
				   "readonly attribute, not to %s '%s'",
				   idlc_kind_name(n->kind), what);
		else if (!(n->flags & IDLC_F_READONLY))
			idlc_error(comp, &a->loc, "'@eager' applies to a "
				   "readonly attribute: '%s' is writable", what);
		else if (holds_ref(n->type, 0))
			idlc_error(comp, &a->loc, "'@eager' attribute '%s' "
				   "may hold a reference, which cannot ride "
				   "with another reference", what);
	} else if (strcmp(name, "chunk") == 0) {
		if ((n->kind != IDLC_ATTRIBUTE && n->kind != IDLC_OPERATION) ||
		    !is_seq(n->type))
			idlc_error(comp, &a->loc, "'@chunk' applies to an "
				   "attribute or operation of a sequence type, "
				   "not to %s '%s'", idlc_kind_name(n->kind),
				   what);
		else if (holds_ref(n->type, 0))
			idlc_error(comp, &a->loc, "'@chunk' sequence '%s' may "
				   "hold a reference, which a shared list does "
				   "not carry", what);
	} else if (strcmp(name, "byref") == 0 ||
		   strcmp(name, "byvalue") == 0) {
		const idlc_annotation *o = idlc_find_annotation(n,
			name[2] == 'r' ? "byvalue" : "byref");
		if ((n->kind != IDLC_PARAM && n->kind != IDLC_MEMBER &&
		     n->kind != IDLC_ATTRIBUTE) ||
		    (!is_seq(n->type) && !is_struct(n->type)))
			idlc_error(comp, &a->loc, "'@%s' applies to a parameter, "
				   "member or attribute of a struct or sequence "
				   "type, not to %s '%s'", name,
				   idlc_kind_name(n->kind), what);
		else if (o != NULL && name[2] == 'r')
			idlc_error(comp, &a->loc, "'%s' is both '@byref' and "
				   "'@byvalue'", what);
		else if (name[2] == 'r' && holds_ref(n->type, 0))
			idlc_error(comp, &a->loc, "'@byref' '%s' may hold a "
				   "reference, which a shared list or struct "
				   "does not carry", what);
	}
}

/* Check; see its header. */
void idlc_check_annotations(idlc_compilation *comp, const idlc_node *n)
{
	const idlc_annotation *a;
	idlc_scope *scope = NULL;

	for (a = n->annotations; a; a = a->next) {
		const char *name = a->name->parts[a->name->n - 1];
		const anno_spec *s = NULL;
		idlc_node *decl = comp->anno_scope ?
			idlc_scope_find(comp->anno_scope, name, NULL) : NULL;

		if (decl == NULL && (s = builtin(name)) == NULL) {
			idlc_report(comp, comp->opts.werror_annotations ?
				    IDLC_ERROR : IDLC_WARNING, &a->loc,
				    "unknown annotation '@%s'%s", name,
				    comp->opts.werror_annotations ?
				    " [-Werror=annotations]" : " ignored");
			continue;
		}
		if (a->params == NULL && s == NULL)
			continue;
		if (scope == NULL)
			scope = scope_of(comp, n);
		if (decl && decl->kind == IDLC_ANNOTATION_DECL)
			check_declared(comp, scope, a, decl);
		else if (s) {
			check_builtin(comp, scope, a, s);
			check_policy(comp, n, a, name);
		}
	}
}
