/*
 * idlc/ast.c - small queries over the tree: names of kinds and types,
 * typedef chains, annotations, value printing.
 */
#include <stdio.h>
#include <string.h>

#include "ast.h"

static const char *const kind_names[IDLC_KIND_COUNT_] = {
	[IDLC_SPECIFICATION] = "specification",
	[IDLC_MODULE] = "module",
	[IDLC_INTERFACE] = "interface",
	[IDLC_INTERFACE_FWD] = "interface",
	[IDLC_STRUCT] = "struct",
	[IDLC_STRUCT_FWD] = "struct",
	[IDLC_UNION] = "union",
	[IDLC_UNION_FWD] = "union",
	[IDLC_ENUM] = "enum",
	[IDLC_ENUMERATOR] = "enumerator",
	[IDLC_BITMASK] = "bitmask",
	[IDLC_BIT_VALUE] = "bitmask value",
	[IDLC_BITSET] = "bitset",
	[IDLC_BITFIELD] = "bitfield",
	[IDLC_TYPEDEF] = "typedef",
	[IDLC_NATIVE] = "native type",
	[IDLC_CONST] = "constant",
	[IDLC_EXCEPTION] = "exception",
	[IDLC_MEMBER] = "member",
	[IDLC_CASE] = "union member",
	[IDLC_ATTRIBUTE] = "attribute",
	[IDLC_OPERATION] = "operation",
	[IDLC_PARAM] = "parameter",
	[IDLC_VALUETYPE] = "valuetype",
	[IDLC_VALUE_FWD] = "valuetype",
	[IDLC_VALUE_BOX] = "boxed valuetype",
	[IDLC_STATE_MEMBER] = "state member",
	[IDLC_FACTORY] = "factory",
	[IDLC_COMPONENT] = "component",
	[IDLC_COMPONENT_FWD] = "component",
	[IDLC_PORT] = "port",
	[IDLC_HOME] = "home",
	[IDLC_ANNOTATION_DECL] = "annotation",
	[IDLC_ANNOTATION_MEMBER] = "annotation member",
	[IDLC_TYPEID] = "typeid",
	[IDLC_TYPEPREFIX] = "typeprefix",
	[IDLC_IMPORT] = "import",
	[IDLC_PRAGMA_PREFIX] = "#pragma prefix",
	[IDLC_PRAGMA_ID] = "#pragma ID",
	[IDLC_PRAGMA_VERSION] = "#pragma version",
};

/* Human name of a kind; see its header. */
const char *idlc_kind_name(idlc_kind kind)
{
	if ((unsigned)kind >= IDLC_KIND_COUNT_)
		return "declaration";
	return kind_names[kind];
}

/* Names of the basic types, by kind. */
static const char *const base_names[] = {
	[IDLC_T_VOID] = "void", [IDLC_T_BOOLEAN] = "boolean",
	[IDLC_T_CHAR] = "char", [IDLC_T_WCHAR] = "wchar",
	[IDLC_T_OCTET] = "octet", [IDLC_T_INT8] = "int8",
	[IDLC_T_UINT8] = "uint8", [IDLC_T_SHORT] = "short",
	[IDLC_T_USHORT] = "unsigned short", [IDLC_T_LONG] = "long",
	[IDLC_T_ULONG] = "unsigned long", [IDLC_T_LLONG] = "long long",
	[IDLC_T_ULLONG] = "unsigned long long", [IDLC_T_FLOAT] = "float",
	[IDLC_T_DOUBLE] = "double", [IDLC_T_LDOUBLE] = "long double",
	[IDLC_T_STRING] = "string", [IDLC_T_WSTRING] = "wstring",
	[IDLC_T_FIXED] = "fixed", [IDLC_T_ANY] = "any",
	[IDLC_T_OBJECT] = "Object", [IDLC_T_VALUEBASE] = "ValueBase",
	[IDLC_T_SEQUENCE] = "sequence", [IDLC_T_MAP] = "map",
	[IDLC_T_ARRAY] = "array", [IDLC_T_NAMED] = "",
};

/* Human name of a type; see its header. */
char *idlc_type_name(TALLOC_CTX *mem_ctx, const idlc_type *t)
{
	char *a, *b, *out;

	switch (t->kind) {
	case IDLC_T_SEQUENCE:
		a = idlc_type_name(mem_ctx, t->elem);
		out = t->bound ? talloc_asprintf(mem_ctx, "sequence<%s, %llu>",
						 a, (unsigned long long)t->bound)
			       : talloc_asprintf(mem_ctx, "sequence<%s>", a);
		talloc_free(a);
		return out;
	case IDLC_T_MAP:
		a = idlc_type_name(mem_ctx, t->key);
		b = idlc_type_name(mem_ctx, t->elem);
		out = talloc_asprintf(mem_ctx, "map<%s, %s>", a, b);
		talloc_free(a);
		talloc_free(b);
		return out;
	case IDLC_T_ARRAY:
		a = idlc_type_name(mem_ctx, t->elem);
		out = talloc_asprintf(mem_ctx, "%s[%llu]", a,
				      (unsigned long long)t->bound);
		talloc_free(a);
		return out;
	case IDLC_T_STRING:
	case IDLC_T_WSTRING:
		if (t->bound)
			return talloc_asprintf(mem_ctx, "%s<%llu>",
					       base_names[t->kind],
					       (unsigned long long)t->bound);
		return talloc_strdup(mem_ctx, base_names[t->kind]);
	case IDLC_T_FIXED:
		if (t->bound_expr)
			return talloc_asprintf(mem_ctx, "fixed<%llu, %llu>",
					       (unsigned long long)t->bound,
					       (unsigned long long)t->scale);
		return talloc_strdup(mem_ctx, "fixed");
	case IDLC_T_NAMED:
		if (t->ref)
			return idlc_qualified_name(mem_ctx, t->ref, "::");
		if (t->name)
			return idlc_scoped_name_str(mem_ctx, t->name);
		return talloc_strdup(mem_ctx, t->decl && t->decl->name ?
				     t->decl->name : "?");
	default:
		return talloc_strdup(mem_ctx, base_names[t->kind]);
	}
}

/* Follow typedefs; see its header. */
const idlc_type *idlc_type_unalias(const idlc_type *t)
{
	int guard = 0;

	while (t && t->kind == IDLC_T_NAMED && t->ref &&
	       t->ref->kind == IDLC_TYPEDEF && t->ref->type && guard++ < 256)
		t = t->ref->type;
	return t;
}

/* True for type declarations; see its header. */
bool idlc_is_type_decl(const idlc_node *n)
{
	switch (n->kind) {
	case IDLC_INTERFACE: case IDLC_INTERFACE_FWD:
	case IDLC_STRUCT: case IDLC_STRUCT_FWD:
	case IDLC_UNION: case IDLC_UNION_FWD:
	case IDLC_ENUM: case IDLC_BITMASK: case IDLC_BITSET:
	case IDLC_TYPEDEF: case IDLC_NATIVE:
	case IDLC_VALUETYPE: case IDLC_VALUE_FWD: case IDLC_VALUE_BOX:
	case IDLC_COMPONENT: case IDLC_COMPONENT_FWD:
	case IDLC_HOME:
		return true;
	default:
		return false;
	}
}

/* Find an annotation by its last name part; see its header. */
const idlc_annotation *idlc_find_annotation(const idlc_node *n,
					    const char *name)
{
	const idlc_annotation *a;

	for (a = n->annotations; a; a = a->next)
		if (strcmp(a->name->parts[a->name->n - 1], name) == 0)
			return a;
	return NULL;
}

/* Decimal text of a 128-bit integer; see its header. */
const char *idlc_int_str(char buf[48], idlc_int v)
{
	char tmp[48];
	int k = 0, o = 0;
	bool neg = v < 0;
	idlc_uint u = neg ? (idlc_uint)(-(v + 1)) + 1 : (idlc_uint)v;
	do {
		tmp[k++] = (char)('0' + (int)(u % 10));
		u /= 10;
	} while (u && k < 46);
	if (neg)
		buf[o++] = '-';
	while (k)
		buf[o++] = tmp[--k];
	buf[o] = '\0';
	return buf;
}

/* Value as text; see its header. */
char *idlc_value_str(TALLOC_CTX *mem_ctx, const idlc_value *v)
{
	char b[48];

	switch (v->kind) {
	case IDLC_V_INT:
		return talloc_strdup(mem_ctx, idlc_int_str(b, v->i));
	case IDLC_V_FLOAT:
		return talloc_asprintf(mem_ctx, "%.17Lg", v->f);
	case IDLC_V_FIXED:
		return talloc_strdup(mem_ctx, v->str ? v->str : "0");
	case IDLC_V_CHAR:
	case IDLC_V_WCHAR:
		if (v->i >= 0x20 && v->i < 0x7f && v->i != '\'' &&
		    v->i != '\\')
			return talloc_asprintf(mem_ctx, "'%c'", (char)v->i);
		return talloc_asprintf(mem_ctx, "'\\x%02x'", (unsigned)v->i);
	case IDLC_V_STRING:
	case IDLC_V_WSTRING:
		return talloc_asprintf(mem_ctx, "\"%s\"", v->str);
	case IDLC_V_BOOL:
		return talloc_strdup(mem_ctx, v->i ? "TRUE" : "FALSE");
	case IDLC_V_ENUM:
		return talloc_strdup(mem_ctx, v->enumerator->name);
	default:
		return talloc_strdup(mem_ctx, "?");
	}
}

/* Qualified name into a buffer; see ast.h. */
size_t idlc_qualified_name_buf(const idlc_node *n, const char *sep, char *buf,
			       size_t size)
{
	const idlc_node *chain[128];
	size_t k = 0, len = 0, seplen = strlen(sep);

	if (n != NULL)
		chain[k++] = n;
	for (n = n ? n->parent : NULL;
	     n && n->kind != IDLC_SPECIFICATION && k < 128; n = n->parent)
		if (n->name != NULL && n->kind != IDLC_ENUM)
			chain[k++] = n;
	while (k > 0) {
		const char *nm = chain[--k]->name ? chain[k]->name : "";
		size_t l = strlen(nm);
		if (len + l < size)
			memcpy(buf + len, nm, l);
		len += l;
		if (k) {
			if (len + seplen < size)
				memcpy(buf + len, sep, seplen);
			len += seplen;
		}
	}
	if (size)
		buf[len < size ? len : size - 1] = '\0';
	return len;
}

/* Qualified name; see ast.h. */
char *idlc_qualified_name(TALLOC_CTX *mem_ctx, const idlc_node *n,
			  const char *sep)
{
	size_t len = idlc_qualified_name_buf(n, sep, NULL, 0);
	char *out = talloc_size(mem_ctx, len + 1);

	if (out == NULL)
		return NULL;
	idlc_qualified_name_buf(n, sep, out, len + 1);
	talloc_set_name_const(out, out);
	return out;
}

/* Scoped name as text; see ast.h. */
char *idlc_scoped_name_str(TALLOC_CTX *mem_ctx, const idlc_scoped_name *sn)
{
	char *out = talloc_strdup(mem_ctx, sn->absolute ? "::" : "");
	size_t i;

	for (i = 0; out && i < sn->n; i++)
		out = talloc_asprintf_append(out, "%s%s", i ? "::" : "",
					     sn->parts[i]);
	return out;
}
