/*
 * idlc/ast.h - the syntax tree: declarations, types, constant
 * expressions and values, and how they are printed.
 */
#ifndef IDLC_AST_H
#define IDLC_AST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <talloc.h>

/*
 * Invariants:
 * - a node's children are in declaration order, linked through `next`;
 * - after a successful resolve, every IDLC_T_NAMED type has `ref` set to a
 *   type declaration (never a forward declaration once the definition is
 *   known), every constant has `cval` evaluated and every bound/dimension
 *   has its numeric `bound` set;
 * - names are stored with the IDL escape underscore removed.
 */

/* Integer constants are evaluated on 128 bits so that every IDL integer
 * (long long and unsigned long long) and every overflow are exact. */
__extension__ typedef __int128 idlc_int;
__extension__ typedef unsigned __int128 idlc_uint;

typedef struct idlc_node idlc_node;
typedef struct idlc_type idlc_type;
typedef struct idlc_expr idlc_expr;
typedef struct idlc_scope idlc_scope;

/* A source range.  Lines and columns are 1-based; last_column is one past
 * the last character.  `doc` is the doc comment that preceded the first
 * token of the range, or NULL; `bol` points at the start of the token's
 * line in the preprocessed text (used to map columns back to the file). */
typedef struct idlc_loc {
	const char *file;  /* file name from the line markers (interned) */
	int first_line;    /* first line of the range */
	int first_column;  /* first column of the range */
	int last_line;     /* last line of the range */
	int last_column;   /* column one past the end of the range */
	const char *doc;   /* cleaned doc comment before the range, or NULL */
	const char *bol;   /* start of first_line in the scanned text, or NULL */
} idlc_loc;

/* What a declaration node is. */
typedef enum idlc_kind {
	IDLC_SPECIFICATION,  /* the root: one per compilation */
	IDLC_MODULE,         /* module (each reopening is its own node) */
	IDLC_INTERFACE,      /* interface definition */
	IDLC_INTERFACE_FWD,  /* interface forward declaration */
	IDLC_STRUCT,         /* struct definition */
	IDLC_STRUCT_FWD,     /* struct forward declaration */
	IDLC_UNION,          /* union definition */
	IDLC_UNION_FWD,      /* union forward declaration */
	IDLC_ENUM,           /* enum */
	IDLC_ENUMERATOR,     /* one enumerator of an enum */
	IDLC_BITMASK,        /* IDL 4 bitmask */
	IDLC_BIT_VALUE,      /* one flag of a bitmask */
	IDLC_BITSET,         /* IDL 4 bitset */
	IDLC_BITFIELD,       /* one bitfield of a bitset (name may be NULL) */
	IDLC_TYPEDEF,        /* one declarator of a typedef */
	IDLC_NATIVE,         /* native type */
	IDLC_CONST,          /* constant */
	IDLC_EXCEPTION,      /* exception */
	IDLC_MEMBER,         /* one declarator of a struct/exception member */
	IDLC_CASE,           /* one element of a union, with its labels */
	IDLC_ATTRIBUTE,      /* one declarator of an attribute */
	IDLC_OPERATION,      /* operation */
	IDLC_PARAM,          /* operation / factory parameter */
	IDLC_VALUETYPE,      /* valuetype or eventtype definition */
	IDLC_VALUE_FWD,      /* valuetype / eventtype forward declaration */
	IDLC_VALUE_BOX,      /* boxed valuetype */
	IDLC_STATE_MEMBER,   /* public/private state member of a valuetype */
	IDLC_FACTORY,        /* valuetype/home factory or home finder */
	IDLC_COMPONENT,      /* component definition */
	IDLC_COMPONENT_FWD,  /* component forward declaration */
	IDLC_PORT,           /* provides/uses/emits/publishes/consumes */
	IDLC_HOME,           /* home */
	IDLC_ANNOTATION_DECL,/* @annotation declaration */
	IDLC_ANNOTATION_MEMBER, /* member of an @annotation declaration */
	IDLC_TYPEID,         /* typeid declaration */
	IDLC_TYPEPREFIX,     /* typeprefix declaration */
	IDLC_IMPORT,         /* import declaration */
	IDLC_PRAGMA_PREFIX,  /* #pragma prefix "str": the prefix of the
			      * repository ids declared after it in its
			      * scope and the scopes within */
	IDLC_PRAGMA_ID,      /* #pragma ID target "str" */
	IDLC_PRAGMA_VERSION, /* #pragma version target str ("2.3") */
	IDLC_KIND_COUNT_     /* number of kinds */
} idlc_kind;

/* Flags of a node (meaning depends on the kind). */
enum {
	IDLC_F_ABSTRACT = 1u << 0,    /* abstract interface / valuetype */
	IDLC_F_LOCAL = 1u << 1,       /* local interface */
	IDLC_F_READONLY = 1u << 2,    /* readonly attribute */
	IDLC_F_ONEWAY = 1u << 3,      /* oneway operation */
	IDLC_F_CUSTOM = 1u << 4,      /* custom valuetype */
	IDLC_F_TRUNCATABLE = 1u << 5, /* valuetype with truncatable base */
	IDLC_F_EVENT = 1u << 6,       /* eventtype rather than valuetype */
	IDLC_F_PUBLIC = 1u << 7,      /* public state member */
	IDLC_F_PRIVATE = 1u << 8,     /* private state member */
	IDLC_F_MULTIPLE = 1u << 9,    /* uses multiple */
	IDLC_F_FINDER = 1u << 10,     /* home finder rather than factory */
	IDLC_F_DEFAULT_CASE = 1u << 11, /* union case holding `default:` */
	IDLC_F_RESOLVED = 1u << 12,   /* resolve pass has processed it */
	IDLC_F_RESOLVING = 1u << 13,  /* resolve pass is inside it */
	IDLC_F_BUILTIN = 1u << 14,    /* predeclared (CORBA::TypeCode...) */
};

/* Direction of a parameter. */
typedef enum idlc_dir {
	IDLC_DIR_NONE = 0, /* not a parameter */
	IDLC_DIR_IN,       /* in */
	IDLC_DIR_OUT,      /* out */
	IDLC_DIR_INOUT     /* inout */
} idlc_dir;

/* Port kinds of a component. */
typedef enum idlc_port_kind {
	IDLC_PORT_PROVIDES,  /* provides */
	IDLC_PORT_USES,      /* uses */
	IDLC_PORT_EMITS,     /* emits */
	IDLC_PORT_PUBLISHES, /* publishes */
	IDLC_PORT_CONSUMES   /* consumes */
} idlc_port_kind;

/* A scoped name as written: `a::b`, `::a::b`. */
typedef struct idlc_scoped_name {
	idlc_loc loc;                  /* where it is written */
	bool absolute;                 /* starts with `::` */
	const char **parts;            /* talloc array of identifiers */
	size_t n;                      /* number of parts */
	idlc_node *ref;                /* what it resolved to, or NULL */
	struct idlc_scoped_name *next; /* next in a list (bases, raises) */
} idlc_scoped_name;

/* Kinds of types. */
typedef enum idlc_tkind {
	IDLC_T_VOID,      /* void (operation results only) */
	IDLC_T_BOOLEAN,   /* boolean */
	IDLC_T_CHAR,      /* char */
	IDLC_T_WCHAR,     /* wchar */
	IDLC_T_OCTET,     /* octet */
	IDLC_T_INT8,      /* int8 */
	IDLC_T_UINT8,     /* uint8 */
	IDLC_T_SHORT,     /* short / int16 */
	IDLC_T_USHORT,    /* unsigned short / uint16 */
	IDLC_T_LONG,      /* long / int32 */
	IDLC_T_ULONG,     /* unsigned long / uint32 */
	IDLC_T_LLONG,     /* long long / int64 */
	IDLC_T_ULLONG,    /* unsigned long long / uint64 */
	IDLC_T_FLOAT,     /* float */
	IDLC_T_DOUBLE,    /* double */
	IDLC_T_LDOUBLE,   /* long double */
	IDLC_T_STRING,    /* string, string<N> */
	IDLC_T_WSTRING,   /* wstring, wstring<N> */
	IDLC_T_FIXED,     /* fixed<d,s>, or bare `fixed` in a const */
	IDLC_T_ANY,       /* any */
	IDLC_T_OBJECT,    /* Object */
	IDLC_T_VALUEBASE, /* ValueBase */
	IDLC_T_SEQUENCE,  /* sequence<T>, sequence<T,N> */
	IDLC_T_MAP,       /* map<K,V>, map<K,V,N> */
	IDLC_T_ARRAY,     /* one array dimension over `elem` */
	IDLC_T_NAMED      /* a scoped name, or an inline struct/union/enum */
} idlc_tkind;

/* A type expression. */
struct idlc_type {
	idlc_tkind kind;        /* what type */
	idlc_loc loc;           /* where written */
	idlc_type *elem;        /* sequence/array element, map value */
	idlc_type *key;         /* map key */
	idlc_expr *bound_expr;  /* bound / array size / fixed digits, or NULL */
	idlc_expr *scale_expr;  /* fixed scale, or NULL */
	uint64_t bound;         /* evaluated bound (0: unbounded) / digits */
	uint64_t scale;         /* evaluated fixed scale */
	idlc_scoped_name *name; /* IDLC_T_NAMED: the name written, or NULL */
	idlc_node *decl;        /* IDLC_T_NAMED: inline declaration, or NULL */
	idlc_node *ref;         /* IDLC_T_NAMED: resolved declaration */
};

/* Kinds of constant values. */
typedef enum idlc_vkind {
	IDLC_V_NONE,    /* not evaluated / error */
	IDLC_V_INT,     /* integer (any integer type, octet) */
	IDLC_V_FLOAT,   /* floating point */
	IDLC_V_FIXED,   /* fixed point (digits + scale in `str`) */
	IDLC_V_CHAR,    /* char */
	IDLC_V_WCHAR,   /* wchar */
	IDLC_V_STRING,  /* string */
	IDLC_V_WSTRING, /* wide string (UTF-8 encoded) */
	IDLC_V_BOOL,    /* boolean */
	IDLC_V_ENUM     /* enumerator (node in `enumerator`) */
} idlc_vkind;

/* A constant value. */
typedef struct idlc_value {
	idlc_vkind kind;       /* which field is meaningful */
	idlc_int i;            /* IDLC_V_INT, IDLC_V_BOOL, char codes */
	long double f;         /* IDLC_V_FLOAT, IDLC_V_FIXED */
	const char *str;       /* strings (UTF-8), fixed literal text */
	size_t len;            /* length of str in bytes */
	idlc_node *enumerator; /* IDLC_V_ENUM */
} idlc_value;

/* Expression operators. */
typedef enum idlc_op {
	IDLC_OP_LITERAL, /* `value` holds it */
	IDLC_OP_NAME,    /* a scoped name of a constant or enumerator */
	IDLC_OP_OR,      /* | */
	IDLC_OP_XOR,     /* ^ */
	IDLC_OP_AND,     /* & */
	IDLC_OP_SHL,     /* << */
	IDLC_OP_SHR,     /* >> */
	IDLC_OP_ADD,     /* + */
	IDLC_OP_SUB,     /* - */
	IDLC_OP_MUL,     /* * */
	IDLC_OP_DIV,     /* / */
	IDLC_OP_MOD,     /* % */
	IDLC_OP_NEG,     /* unary - */
	IDLC_OP_POS,     /* unary + */
	IDLC_OP_NOT      /* unary ~ */
} idlc_op;

/* A constant expression. */
struct idlc_expr {
	idlc_op op;             /* operator */
	idlc_loc loc;           /* where written (operator position: whole) */
	idlc_expr *lhs;         /* left / only operand */
	idlc_expr *rhs;         /* right operand */
	idlc_value value;       /* literal value */
	idlc_scoped_name *name; /* IDLC_OP_NAME */
	idlc_expr *next;        /* next in a list (annotation params) */
};

/* A declarator as written: a name and array dimensions. */
typedef struct idlc_declarator {
	idlc_loc loc;                 /* where the name is */
	const char *name;             /* identifier */
	idlc_expr *dims;              /* array sizes, outermost first */
	struct idlc_declarator *next; /* next declarator of the list */
} idlc_declarator;

/* One parameter of an annotation application. */
typedef struct idlc_anno_param {
	idlc_loc loc;                 /* where written */
	const char *name;             /* parameter name, NULL if positional */
	idlc_expr *value;             /* value expression */
	struct idlc_anno_param *next; /* next parameter */
} idlc_anno_param;

/* An annotation application `@name(params)`. */
typedef struct idlc_annotation {
	idlc_loc loc;                 /* where written */
	idlc_scoped_name *name;       /* annotation name */
	idlc_anno_param *params;      /* parameters, or NULL */
	struct idlc_annotation *next; /* next annotation on the same node */
} idlc_annotation;

/* A union case label. */
typedef struct idlc_label {
	idlc_loc loc;            /* where written */
	idlc_expr *expr;         /* label value, NULL for `default` */
	idlc_value value;        /* evaluated label value */
	struct idlc_label *next; /* next label of the case */
} idlc_label;

/* A list of strings (operation context). */
typedef struct idlc_strlist {
	const char *str;            /* the string */
	struct idlc_strlist *next;  /* next string */
} idlc_strlist;

/* A declaration.  One fat node type serves every kind; which fields are
 * meaningful is written beside each. */
struct idlc_node {
	idlc_kind kind;              /* what it declares */
	idlc_loc loc;                /* location of the whole declaration */
	idlc_loc name_loc;           /* location of its identifier */
	const char *name;            /* identifier, or NULL */
	const char *doc;             /* doc comment, or NULL */
	unsigned flags;              /* IDLC_F_* */
	idlc_node *parent;           /* enclosing declaration */
	idlc_node *next;             /* next sibling */
	idlc_node *tail;             /* last node of the chain (heads only) */
	idlc_node *children;         /* definitions, members, params, cases */
	idlc_annotation *annotations;/* annotations applied to it */
	idlc_scope *scope;           /* scope it opens, or NULL */
	idlc_type *type;             /* member/param/attr/typedef/const type,
					* operation result, union discriminator,
					* value box type, bitfield bits type */
	idlc_dir dir;                /* parameter direction */
	idlc_port_kind port;         /* port kind */
	idlc_scoped_name *bases;     /* inheritance as written */
	idlc_node **base_nodes;      /* resolved bases (talloc array) */
	size_t n_bases;              /* entries in base_nodes */
	idlc_scoped_name *supports;  /* supports clause */
	idlc_scoped_name *raises;    /* raises / getraises */
	idlc_scoped_name *setraises; /* setraises */
	idlc_scoped_name *target;    /* typeid/typeprefix/import target, port
					* type, home manages */
	idlc_scoped_name *key;       /* home primarykey */
	idlc_strlist *context;       /* operation context strings */
	idlc_expr *expr;             /* const value, annotation member default,
					* bitfield width */
	idlc_value value;            /* evaluated constant / enumerator value */
	idlc_label *labels;          /* union case labels */
	const char *str;             /* typeid/typeprefix/import string */
	idlc_node *definition;       /* forward decl: the full definition */
	size_t brace;                /* pragmas: the text position of the
				      * innermost '{' around it, 0 at the
				      * top */
	const idlc_node *id_set;     /* the typeid or #pragma ID naming it */
	const idlc_node *version_set;/* the #pragma version naming it */
	const idlc_node *prefix_set; /* scopes: the typeprefix naming it */
	const idlc_node *prefix_in;  /* the #pragma prefix in effect where it
				      * is declared (same file, same or
				      * enclosing scope), or NULL */
	const char *repo_id;         /* its repository id ("IDL:a/b:1.0"),
				      * set by the check pass for what has
				      * one, else NULL */
};

/* Human name of a node kind ("interface", "struct"...). */
const char *idlc_kind_name(idlc_kind kind);

/* Human name of a type ("long", "sequence<long>", "::m::S"...). */
char *idlc_type_name(TALLOC_CTX *mem_ctx, const idlc_type *t);

/* Follow typedefs from `t` to the underlying type (never NULL for a
 * resolved type). */
const idlc_type *idlc_type_unalias(const idlc_type *t);

/* True when `n` declares a type (struct, typedef, interface...). */
bool idlc_is_type_decl(const idlc_node *n);

/* Find the first annotation named `name` on `n` (last part compared). */
const idlc_annotation *idlc_find_annotation(const idlc_node *n,
					    const char *name);

/* Fully qualified name of a node, "a::b::c" (talloc'd on mem_ctx). */
char *idlc_qualified_name(TALLOC_CTX *mem_ctx, const idlc_node *n,
			  const char *sep);

/* Same into buf (size bytes, NUL-terminated, truncated if short);
 * returns the full length, as snprintf does. */
size_t idlc_qualified_name_buf(const idlc_node *n, const char *sep, char *buf,
			       size_t size);

/* Scoped name as text "a::b", "::a::b" (talloc'd on mem_ctx). */
char *idlc_scoped_name_str(TALLOC_CTX *mem_ctx, const idlc_scoped_name *sn);

/* Value as text for messages and generated code (talloc'd on mem_ctx). */
char *idlc_value_str(TALLOC_CTX *mem_ctx, const idlc_value *v);

/* Decimal text of a 128-bit integer into buf (at least 48 bytes). */
const char *idlc_int_str(char buf[48], idlc_int v);

#endif /* IDLC_AST_H */
