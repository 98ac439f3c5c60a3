/*
 * grammar/idl.y - pure bison parser for OMG IDL (3.5 and IDL 4 syntax).
 *
 * The whole syntax parses; which constructs can be mapped to C is decided
 * later (idlc_check_subset).  Actions stay thin: each calls one
 * idlc_create_<kind>() from idlc/front/create.c and nothing else.  Values not yet
 * attached to the tree are freed by the %destructors on error recovery.
 *
 * `>>` is scanned as T_GTGT (a '>' immediately followed by '>') then '>',
 * so that `sequence<sequence<long>>` closes both templates; the shift
 * operator is T_GTGT '>'.  Template bounds are additive expressions (use
 * parentheses for anything else), which keeps the grammar conflict-free.
 * For the same reason an annotation's name is one token (T_ANNO_NAME,
 * `@a::b`): otherwise `@a ::b` could continue the annotation's name or
 * start the absolute name of the annotated type.
 */
%define api.pure full
%define api.prefix {idl_yy}
%define api.location.type {idlc_loc}
%define parse.error verbose
%locations
%expect 0
%parse-param {idlc_parser *p}
%param {void *scanner}

%code requires {
#include "front/parser.h"
#include "front/create.h"
}

%code provides {
/* Merge locations: a rule's range spans its symbols, and its doc comment
 * is the one of its first non-empty symbol. */
#define YYLLOC_DEFAULT(cur, rhs, n) idlc_loc_merge(&(cur), (rhs), (n))
void idl_yyerror(IDL_YYLTYPE *loc, idlc_parser *p, void *scanner,
		 const char *msg);
}

%code {
int idl_yylex(IDL_YYSTYPE *lval, IDL_YYLTYPE *lloc, void *scanner);

/* Out of memory in a create function aborts the parse. */
#define TRY(call) do { if ((call) < 0) YYNOMEM; } while (0)
}

%union {
	char *str;
	idlc_node *node;
	idlc_type *type;
	idlc_expr *expr;
	idlc_scoped_name *sname;
	idlc_declarator *decl;
	idlc_annotation *anno;
	idlc_anno_param *aparam;
	idlc_label *label;
	idlc_strlist *strs;
	unsigned flags;
}

%token <str> T_IDENT "identifier"
%token <expr> T_INTEGER "integer literal"
%token <expr> T_FLOATING "floating-point literal"
%token <expr> T_FIXED_LIT "fixed-point literal"
%token <expr> T_CHAR_LIT "character literal"
%token <expr> T_WCHAR_LIT "wide character literal"
%token <expr> T_STRING_LIT "string literal"
%token <expr> T_WSTRING_LIT "wide string literal"
%token T_SCOPE "::"
%token T_LSHIFT "<<"
%token T_GTGT "'>>'"
%token T_ANNOTATION "@annotation"
%token <sname> T_ANNO_NAME "annotation name"

%token T_ABSTRACT "abstract" T_ANY "any" T_ATTRIBUTE "attribute"
%token T_BITFIELD "bitfield" T_BITMASK "bitmask" T_BITSET "bitset"
%token T_BOOLEAN "boolean" T_CASE "case" T_CHAR "char"
%token T_COMPONENT "component" T_CONST "const" T_CONSUMES "consumes"
%token T_CONTEXT "context" T_CUSTOM "custom" T_DEFAULT "default"
%token T_DOUBLE "double" T_EMITS "emits" T_ENUM "enum"
%token T_EVENTTYPE "eventtype" T_EXCEPTION "exception"
%token T_FACTORY "factory" T_FALSE "FALSE" T_FINDER "finder"
%token T_FIXED "fixed" T_FLOAT "float" T_GETRAISES "getraises"
%token T_HOME "home" T_IMPORT "import" T_IN "in" T_INOUT "inout"
%token T_INT8 "int8" T_INT16 "int16" T_INT32 "int32" T_INT64 "int64"
%token T_INTERFACE "interface" T_LOCAL "local" T_LONG "long"
%token T_MANAGES "manages" T_MAP "map" T_MODULE "module"
%token T_MULTIPLE "multiple" T_NATIVE "native" T_OBJECT "Object"
%token T_OCTET "octet" T_ONEWAY "oneway" T_OUT "out"
%token T_PRIMARYKEY "primarykey" T_PRIVATE "private"
%token T_PROVIDES "provides" T_PUBLIC "public" T_PUBLISHES "publishes"
%token T_RAISES "raises" T_READONLY "readonly" T_SEQUENCE "sequence"
%token T_SETRAISES "setraises" T_SHORT "short" T_STRING "string"
%token T_STRUCT "struct" T_SUPPORTS "supports" T_SWITCH "switch"
%token T_TRUE "TRUE" T_TRUNCATABLE "truncatable" T_TYPEDEF "typedef"
%token T_TYPEID "typeid" T_TYPEPREFIX "typeprefix"
%token T_UINT8 "uint8" T_UINT16 "uint16" T_UINT32 "uint32"
%token T_UINT64 "uint64" T_UNION "union" T_UNSIGNED "unsigned"
%token T_USES "uses" T_VALUEBASE "ValueBase" T_VALUETYPE "valuetype"
%token T_VOID "void" T_WCHAR "wchar" T_WSTRING "wstring"

%type <node> definitions definition definition_body module
%type <node> interface_dcl exports export export_body
%type <node> type_dcl struct_dcl union_dcl enum_dcl bitmask_dcl bitset_dcl
%type <node> members member cases case enumerators enumerator
%type <node> bit_values bit_value bitfields bitfield
%type <node> const_dcl except_dcl attr_dcl op_dcl params params_opt param
%type <node> value_dcl value_elements value_element value_element_body
%type <node> component_dcl component_body component_export
%type <node> component_export_body home_dcl home_body home_export
%type <node> home_export_body annotation_dcl annotation_body
%type <node> annotation_member typeid_dcl import_dcl
%type <type> type_spec simple_type_spec base_type_spec template_type_spec
%type <type> constr_type_spec param_type_spec op_type_spec const_type
%type <type> integer_type floating_type sequence_type string_type
%type <type> wstring_type fixed_type map_type switch_type
%type <expr> const_exp or_expr xor_expr and_expr shift_expr add_expr
%type <expr> mult_expr unary_expr primary_expr literal string_lit
%type <expr> wstring_lit tbound default_opt
%type <sname> scoped_name scoped_names inheritance_opt supports_opt
%type <sname> raises_opt raises_expr home_key_opt port_type
%type <decl> declarators declarator
%type <anno> annotations_opt annotations annotation
%type <aparam> anno_params named_params named_param
%type <label> case_labels case_label
%type <strs> context_opt strings
%type <flags> interface_kind value_kind readonly_opt oneway_opt param_dir
%type <flags> multiple_opt truncatable_opt
%type <str> identifier
%type <decl> attr_names

%destructor { talloc_free($$); } <node> <type> <expr> <sname> <decl>
%destructor { talloc_free($$); } <anno> <aparam> <label> <strs>

%%

specification
	: definitions
		{ TRY(idlc_create_specification(p, &@$,
					idlc_take_pragmas(p, NULL, $1))); }
	;

definitions
	: %empty { $$ = NULL; }
	| definitions definition { $$ = idlc_append($1, $2); }
	;

definition
	: annotations_opt definition_body ';'
		{ TRY(idlc_create_annotated(p, &@$, $2, $1, &$$)); }
	| error ';' { $$ = NULL; }
	;

definition_body
	: module | type_dcl | const_dcl | except_dcl | interface_dcl
	| value_dcl | component_dcl | home_dcl | annotation_dcl
	| typeid_dcl | import_dcl
	;

identifier
	: T_IDENT
	;

module
	: T_MODULE identifier '{' definitions '}'
		{ TRY(idlc_create_module(p, &@$, $2, &@2,
					 idlc_take_pragmas(p, &@3, $4), &$$)); }
	;

/* ------------------------------------------------------------ interfaces */

interface_kind
	: T_INTERFACE { $$ = 0; }
	| T_ABSTRACT T_INTERFACE { $$ = IDLC_F_ABSTRACT; }
	| T_LOCAL T_INTERFACE { $$ = IDLC_F_LOCAL; }
	;

interface_dcl
	: interface_kind identifier
		{ TRY(idlc_create_forward(p, &@$, IDLC_INTERFACE_FWD, $1, $2, &@2, &$$)); }
	| interface_kind identifier inheritance_opt '{' exports '}'
		{ TRY(idlc_create_interface(p, &@$, $1, $2, &@2, $3,
					    idlc_take_pragmas(p, &@4, $5), &$$)); }
	;

inheritance_opt
	: %empty { $$ = NULL; }
	| ':' scoped_names { $$ = $2; }
	;

scoped_names
	: scoped_name
	| scoped_names ',' scoped_name { $$ = idlc_scoped_name_append($1, $3); }
	;

scoped_name
	: identifier { TRY(idlc_create_scoped_name(p, &@$, NULL, false, $1, &$$)); }
	| T_SCOPE identifier { TRY(idlc_create_scoped_name(p, &@$, NULL, true, $2, &$$)); }
	| scoped_name T_SCOPE identifier
		{ TRY(idlc_create_scoped_name(p, &@$, $1, false, $3, &$$)); }
	;

exports
	: %empty { $$ = NULL; }
	| exports export { $$ = idlc_append($1, $2); }
	;

export
	: annotations_opt export_body ';'
		{ TRY(idlc_create_annotated(p, &@$, $2, $1, &$$)); }
	| error ';' { $$ = NULL; }
	;

export_body
	: type_dcl | const_dcl | except_dcl | attr_dcl | op_dcl | typeid_dcl
	;

readonly_opt
	: %empty { $$ = 0; }
	| T_READONLY { $$ = IDLC_F_READONLY; }
	;

attr_dcl
	: readonly_opt T_ATTRIBUTE param_type_spec attr_names
		{ TRY(idlc_create_attributes(p, &@$, $1, $3, $4, NULL, NULL, NULL, &$$)); }
	| readonly_opt T_ATTRIBUTE param_type_spec attr_names raises_expr
		{ TRY(idlc_create_attributes(p, &@$, $1, $3, $4, $5, NULL, NULL, &$$)); }
	| readonly_opt T_ATTRIBUTE param_type_spec attr_names T_GETRAISES '(' scoped_names ')'
		{ TRY(idlc_create_attributes(p, &@$, $1, $3, $4, NULL, $7, NULL, &$$)); }
	| readonly_opt T_ATTRIBUTE param_type_spec attr_names T_SETRAISES '(' scoped_names ')'
		{ TRY(idlc_create_attributes(p, &@$, $1, $3, $4, NULL, NULL, $7, &$$)); }
	| readonly_opt T_ATTRIBUTE param_type_spec attr_names T_GETRAISES '(' scoped_names ')' T_SETRAISES '(' scoped_names ')'
		{ TRY(idlc_create_attributes(p, &@$, $1, $3, $4, NULL, $7, $11, &$$)); }
	;

attr_names
	: identifier { TRY(idlc_declarator_add(p, &@1, NULL, $1, &$$)); }
	| attr_names ',' identifier { TRY(idlc_declarator_add(p, &@3, $1, $3, &$$)); }
	;

oneway_opt
	: %empty { $$ = 0; }
	| T_ONEWAY { $$ = IDLC_F_ONEWAY; }
	;

op_dcl
	: oneway_opt op_type_spec identifier '(' params_opt ')' raises_opt context_opt
		{ TRY(idlc_create_operation(p, &@$, $1, $2, $3, &@3, $5, $7, $8, &$$)); }
	;

op_type_spec
	: param_type_spec
	| T_VOID { TRY(idlc_create_base_type(p, &@$, IDLC_T_VOID, &$$)); }
	;

params_opt
	: %empty { $$ = NULL; }
	| params
	;

params
	: param
	| params ',' param { $$ = idlc_append($1, $3); }
	;

param
	: annotations_opt param_dir param_type_spec identifier
		{ TRY(idlc_create_param(p, &@$, $1, $2, $3, $4, &@4, &$$)); }
	;

param_dir
	: T_IN { $$ = IDLC_DIR_IN; }
	| T_OUT { $$ = IDLC_DIR_OUT; }
	| T_INOUT { $$ = IDLC_DIR_INOUT; }
	;

raises_opt
	: %empty { $$ = NULL; }
	| raises_expr
	;

raises_expr
	: T_RAISES '(' scoped_names ')' { $$ = $3; }
	;

context_opt
	: %empty { $$ = NULL; }
	| T_CONTEXT '(' strings ')' { $$ = $3; }
	;

strings
	: string_lit { TRY(idlc_create_strlist(p, NULL, $1, &$$)); }
	| strings ',' string_lit { TRY(idlc_create_strlist(p, $1, $3, &$$)); }
	;

/* ------------------------------------------------------------ types */

type_dcl
	: T_TYPEDEF type_spec declarators
		{ TRY(idlc_create_typedef(p, &@$, $2, $3, &$$)); }
	| struct_dcl | union_dcl | enum_dcl | bitmask_dcl | bitset_dcl
	| T_STRUCT identifier
		{ TRY(idlc_create_forward(p, &@$, IDLC_STRUCT_FWD, 0, $2, &@2, &$$)); }
	| T_UNION identifier
		{ TRY(idlc_create_forward(p, &@$, IDLC_UNION_FWD, 0, $2, &@2, &$$)); }
	| T_NATIVE identifier
		{ TRY(idlc_create_native(p, &@$, $2, &@2, &$$)); }
	;

type_spec
	: simple_type_spec
	| constr_type_spec
	;

simple_type_spec
	: base_type_spec
	| template_type_spec
	| scoped_name { TRY(idlc_create_named_type(p, &@$, $1, NULL, &$$)); }
	;

constr_type_spec
	: struct_dcl { TRY(idlc_create_named_type(p, &@$, NULL, $1, &$$)); }
	| union_dcl { TRY(idlc_create_named_type(p, &@$, NULL, $1, &$$)); }
	| enum_dcl { TRY(idlc_create_named_type(p, &@$, NULL, $1, &$$)); }
	;

base_type_spec
	: integer_type
	| floating_type
	| T_CHAR { TRY(idlc_create_base_type(p, &@$, IDLC_T_CHAR, &$$)); }
	| T_WCHAR { TRY(idlc_create_base_type(p, &@$, IDLC_T_WCHAR, &$$)); }
	| T_BOOLEAN { TRY(idlc_create_base_type(p, &@$, IDLC_T_BOOLEAN, &$$)); }
	| T_OCTET { TRY(idlc_create_base_type(p, &@$, IDLC_T_OCTET, &$$)); }
	| T_ANY { TRY(idlc_create_base_type(p, &@$, IDLC_T_ANY, &$$)); }
	| T_OBJECT { TRY(idlc_create_base_type(p, &@$, IDLC_T_OBJECT, &$$)); }
	| T_VALUEBASE { TRY(idlc_create_base_type(p, &@$, IDLC_T_VALUEBASE, &$$)); }
	;

integer_type
	: T_SHORT { TRY(idlc_create_base_type(p, &@$, IDLC_T_SHORT, &$$)); }
	| T_LONG { TRY(idlc_create_base_type(p, &@$, IDLC_T_LONG, &$$)); }
	| T_LONG T_LONG { TRY(idlc_create_base_type(p, &@$, IDLC_T_LLONG, &$$)); }
	| T_UNSIGNED T_SHORT { TRY(idlc_create_base_type(p, &@$, IDLC_T_USHORT, &$$)); }
	| T_UNSIGNED T_LONG { TRY(idlc_create_base_type(p, &@$, IDLC_T_ULONG, &$$)); }
	| T_UNSIGNED T_LONG T_LONG { TRY(idlc_create_base_type(p, &@$, IDLC_T_ULLONG, &$$)); }
	| T_INT8 { TRY(idlc_create_base_type(p, &@$, IDLC_T_INT8, &$$)); }
	| T_UINT8 { TRY(idlc_create_base_type(p, &@$, IDLC_T_UINT8, &$$)); }
	| T_INT16 { TRY(idlc_create_base_type(p, &@$, IDLC_T_SHORT, &$$)); }
	| T_UINT16 { TRY(idlc_create_base_type(p, &@$, IDLC_T_USHORT, &$$)); }
	| T_INT32 { TRY(idlc_create_base_type(p, &@$, IDLC_T_LONG, &$$)); }
	| T_UINT32 { TRY(idlc_create_base_type(p, &@$, IDLC_T_ULONG, &$$)); }
	| T_INT64 { TRY(idlc_create_base_type(p, &@$, IDLC_T_LLONG, &$$)); }
	| T_UINT64 { TRY(idlc_create_base_type(p, &@$, IDLC_T_ULLONG, &$$)); }
	;

floating_type
	: T_FLOAT { TRY(idlc_create_base_type(p, &@$, IDLC_T_FLOAT, &$$)); }
	| T_DOUBLE { TRY(idlc_create_base_type(p, &@$, IDLC_T_DOUBLE, &$$)); }
	| T_LONG T_DOUBLE { TRY(idlc_create_base_type(p, &@$, IDLC_T_LDOUBLE, &$$)); }
	;

template_type_spec
	: sequence_type | string_type | wstring_type | fixed_type | map_type
	;

tclose
	: '>'
	| T_GTGT
	;

tbound
	: add_expr
	;

sequence_type
	: T_SEQUENCE '<' simple_type_spec tclose
		{ TRY(idlc_create_template_type(p, &@$, IDLC_T_SEQUENCE, $3, NULL, NULL, NULL, &$$)); }
	| T_SEQUENCE '<' simple_type_spec ',' tbound tclose
		{ TRY(idlc_create_template_type(p, &@$, IDLC_T_SEQUENCE, $3, NULL, $5, NULL, &$$)); }
	;

map_type
	: T_MAP '<' simple_type_spec ',' simple_type_spec tclose
		{ TRY(idlc_create_template_type(p, &@$, IDLC_T_MAP, $5, $3, NULL, NULL, &$$)); }
	| T_MAP '<' simple_type_spec ',' simple_type_spec ',' tbound tclose
		{ TRY(idlc_create_template_type(p, &@$, IDLC_T_MAP, $5, $3, $7, NULL, &$$)); }
	;

string_type
	: T_STRING { TRY(idlc_create_template_type(p, &@$, IDLC_T_STRING, NULL, NULL, NULL, NULL, &$$)); }
	| T_STRING '<' tbound tclose
		{ TRY(idlc_create_template_type(p, &@$, IDLC_T_STRING, NULL, NULL, $3, NULL, &$$)); }
	;

wstring_type
	: T_WSTRING { TRY(idlc_create_template_type(p, &@$, IDLC_T_WSTRING, NULL, NULL, NULL, NULL, &$$)); }
	| T_WSTRING '<' tbound tclose
		{ TRY(idlc_create_template_type(p, &@$, IDLC_T_WSTRING, NULL, NULL, $3, NULL, &$$)); }
	;

fixed_type
	: T_FIXED '<' tbound ',' tbound tclose
		{ TRY(idlc_create_template_type(p, &@$, IDLC_T_FIXED, NULL, NULL, $3, $5, &$$)); }
	;

param_type_spec
	: simple_type_spec
	;

declarators
	: declarator
	| declarators ',' declarator { $$ = idlc_declarator_append($1, $3); }
	;

declarator
	: identifier { TRY(idlc_create_declarator(p, &@$, $1, NULL, NULL, &$$)); }
	| declarator '[' const_exp ']' { TRY(idlc_create_declarator(p, &@$, NULL, $1, $3, &$$)); }
	;

struct_dcl
	: T_STRUCT identifier inheritance_opt '{' members '}'
		{ TRY(idlc_create_struct(p, &@$, IDLC_STRUCT, $2, &@2, $3, $5, &$$)); }
	;

except_dcl
	: T_EXCEPTION identifier '{' members '}'
		{ TRY(idlc_create_struct(p, &@$, IDLC_EXCEPTION, $2, &@2, NULL, $4, &$$)); }
	;

members
	: %empty { $$ = NULL; }
	| members member { $$ = idlc_append($1, $2); }
	;

member
	: annotations_opt type_spec declarators ';'
		{ TRY(idlc_create_members(p, &@$, IDLC_MEMBER, 0, $1, $2, $3, &$$)); }
	| error ';' { $$ = NULL; }
	;

union_dcl
	: T_UNION identifier T_SWITCH '(' annotations_opt switch_type ')' '{' cases '}'
		{ TRY(idlc_create_union(p, &@$, $2, &@2, $5, $6, $9, &$$)); }
	;

switch_type
	: simple_type_spec
	| enum_dcl { TRY(idlc_create_named_type(p, &@$, NULL, $1, &$$)); }
	;

cases
	: case
	| cases case { $$ = idlc_append($1, $2); }
	;

case
	: case_labels annotations_opt type_spec declarator ';'
		{ TRY(idlc_create_case(p, &@$, $1, $2, $3, $4, &$$)); }
	| error ';' { $$ = NULL; }
	;

case_labels
	: case_label
	| case_labels case_label { $$ = idlc_label_append($1, $2); }
	;

case_label
	: T_CASE const_exp ':' { TRY(idlc_create_label(p, &@$, $2, &$$)); }
	| T_DEFAULT ':' { TRY(idlc_create_label(p, &@$, NULL, &$$)); }
	;

enum_dcl
	: T_ENUM identifier '{' enumerators '}'
		{ TRY(idlc_create_enum(p, &@$, IDLC_ENUM, $2, &@2, $4, &$$)); }
	;

enumerators
	: enumerator
	| enumerators ',' enumerator { $$ = idlc_append($1, $3); }
	;

enumerator
	: annotations_opt identifier
		{ TRY(idlc_create_enumerator(p, &@$, IDLC_ENUMERATOR, $1, $2, &@2, &$$)); }
	;

bitmask_dcl
	: T_BITMASK identifier '{' bit_values '}'
		{ TRY(idlc_create_enum(p, &@$, IDLC_BITMASK, $2, &@2, $4, &$$)); }
	;

bit_values
	: bit_value
	| bit_values ',' bit_value { $$ = idlc_append($1, $3); }
	;

bit_value
	: annotations_opt identifier
		{ TRY(idlc_create_enumerator(p, &@$, IDLC_BIT_VALUE, $1, $2, &@2, &$$)); }
	;

bitset_dcl
	: T_BITSET identifier inheritance_opt '{' bitfields '}'
		{ TRY(idlc_create_bitset(p, &@$, $2, &@2, $3, $5, &$$)); }
	;

bitfields
	: %empty { $$ = NULL; }
	| bitfields bitfield { $$ = idlc_append($1, $2); }
	;

bitfield
	: annotations_opt T_BITFIELD '<' tbound tclose ';'
		{ TRY(idlc_create_bitfield(p, &@$, $1, $4, NULL, NULL, NULL, &$$)); }
	| annotations_opt T_BITFIELD '<' tbound tclose identifier ';'
		{ TRY(idlc_create_bitfield(p, &@$, $1, $4, NULL, $6, &@6, &$$)); }
	| annotations_opt T_BITFIELD '<' tbound ',' switch_type tclose identifier ';'
		{ TRY(idlc_create_bitfield(p, &@$, $1, $4, $6, $8, &@8, &$$)); }
	;

/* ------------------------------------------------------------ constants */

const_dcl
	: T_CONST const_type identifier '=' const_exp
		{ TRY(idlc_create_const(p, &@$, $2, $3, &@3, $5, &$$)); }
	;

const_type
	: integer_type
	| floating_type
	| T_CHAR { TRY(idlc_create_base_type(p, &@$, IDLC_T_CHAR, &$$)); }
	| T_WCHAR { TRY(idlc_create_base_type(p, &@$, IDLC_T_WCHAR, &$$)); }
	| T_BOOLEAN { TRY(idlc_create_base_type(p, &@$, IDLC_T_BOOLEAN, &$$)); }
	| T_OCTET { TRY(idlc_create_base_type(p, &@$, IDLC_T_OCTET, &$$)); }
	| string_type
	| wstring_type
	| T_FIXED { TRY(idlc_create_template_type(p, &@$, IDLC_T_FIXED, NULL, NULL, NULL, NULL, &$$)); }
	| scoped_name { TRY(idlc_create_named_type(p, &@$, $1, NULL, &$$)); }
	;

const_exp
	: or_expr
	;

or_expr
	: xor_expr
	| or_expr '|' xor_expr { TRY(idlc_create_binary(p, &@$, IDLC_OP_OR, $1, $3, &$$)); }
	;

xor_expr
	: and_expr
	| xor_expr '^' and_expr { TRY(idlc_create_binary(p, &@$, IDLC_OP_XOR, $1, $3, &$$)); }
	;

and_expr
	: shift_expr
	| and_expr '&' shift_expr { TRY(idlc_create_binary(p, &@$, IDLC_OP_AND, $1, $3, &$$)); }
	;

shift_expr
	: add_expr
	| shift_expr T_GTGT '>' add_expr { TRY(idlc_create_binary(p, &@$, IDLC_OP_SHR, $1, $4, &$$)); }
	| shift_expr T_LSHIFT add_expr { TRY(idlc_create_binary(p, &@$, IDLC_OP_SHL, $1, $3, &$$)); }
	;

add_expr
	: mult_expr
	| add_expr '+' mult_expr { TRY(idlc_create_binary(p, &@$, IDLC_OP_ADD, $1, $3, &$$)); }
	| add_expr '-' mult_expr { TRY(idlc_create_binary(p, &@$, IDLC_OP_SUB, $1, $3, &$$)); }
	;

mult_expr
	: unary_expr
	| mult_expr '*' unary_expr { TRY(idlc_create_binary(p, &@$, IDLC_OP_MUL, $1, $3, &$$)); }
	| mult_expr '/' unary_expr { TRY(idlc_create_binary(p, &@$, IDLC_OP_DIV, $1, $3, &$$)); }
	| mult_expr '%' unary_expr { TRY(idlc_create_binary(p, &@$, IDLC_OP_MOD, $1, $3, &$$)); }
	;

unary_expr
	: primary_expr
	| '-' primary_expr { TRY(idlc_create_binary(p, &@$, IDLC_OP_NEG, $2, NULL, &$$)); }
	| '+' primary_expr { TRY(idlc_create_binary(p, &@$, IDLC_OP_POS, $2, NULL, &$$)); }
	| '~' primary_expr { TRY(idlc_create_binary(p, &@$, IDLC_OP_NOT, $2, NULL, &$$)); }
	;

primary_expr
	: scoped_name { TRY(idlc_create_name_expr(p, &@$, $1, &$$)); }
	| literal
	| '(' const_exp ')' { $$ = $2; }
	;

literal
	: T_INTEGER | T_FLOATING | T_FIXED_LIT | T_CHAR_LIT | T_WCHAR_LIT
	| string_lit | wstring_lit
	| T_TRUE { TRY(idlc_create_bool(p, &@$, true, &$$)); }
	| T_FALSE { TRY(idlc_create_bool(p, &@$, false, &$$)); }
	;

string_lit
	: T_STRING_LIT
	| string_lit T_STRING_LIT { TRY(idlc_create_concat(p, &@$, $1, $2, &$$)); }
	;

wstring_lit
	: T_WSTRING_LIT
	| wstring_lit T_WSTRING_LIT { TRY(idlc_create_concat(p, &@$, $1, $2, &$$)); }
	;

/* ------------------------------------------------------------ annotations */

annotations_opt
	: %empty { $$ = NULL; }
	| annotations
	;

annotations
	: annotation
	| annotations annotation { $$ = idlc_annotation_append($1, $2); }
	;

annotation
	: T_ANNO_NAME { TRY(idlc_create_annotation(p, &@$, $1, NULL, &$$)); }
	| T_ANNO_NAME '(' ')' { TRY(idlc_create_annotation(p, &@$, $1, NULL, &$$)); }
	| T_ANNO_NAME '(' anno_params ')' { TRY(idlc_create_annotation(p, &@$, $1, $3, &$$)); }
	;

anno_params
	: const_exp { TRY(idlc_create_anno_param(p, &@$, NULL, NULL, $1, &$$)); }
	| named_params
	;

named_params
	: named_param
	| named_params ',' named_param { $$ = idlc_anno_param_append($1, $3); }
	;

named_param
	: identifier '=' const_exp { TRY(idlc_create_anno_param(p, &@$, NULL, $1, $3, &$$)); }
	;

annotation_dcl
	: T_ANNOTATION identifier '{' annotation_body '}'
		{ TRY(idlc_create_annotation_decl(p, &@$, $2, &@2, $4, &$$)); }
	;

annotation_body
	: %empty { $$ = NULL; }
	| annotation_body annotation_member { $$ = idlc_append($1, $2); }
	;

annotation_member
	: const_type identifier default_opt ';'
		{ TRY(idlc_create_annotation_member(p, &@$, $1, $2, &@2, $3, &$$)); }
	| T_ANY identifier default_opt ';'
		{ TRY(idlc_create_annotation_member(p, &@$, NULL, $2, &@2, $3, &$$)); }
	| enum_dcl ';'
	| const_dcl ';'
	| T_TYPEDEF type_spec declarators ';'
		{ TRY(idlc_create_typedef(p, &@$, $2, $3, &$$)); }
	;

default_opt
	: %empty { $$ = NULL; }
	| T_DEFAULT const_exp { $$ = $2; }
	;

/* ------------------------------------------------------------ misc */

typeid_dcl
	: T_TYPEID scoped_name string_lit
		{ TRY(idlc_create_typeid(p, &@$, IDLC_TYPEID, $2, $3, &$$)); }
	| T_TYPEPREFIX scoped_name string_lit
		{ TRY(idlc_create_typeid(p, &@$, IDLC_TYPEPREFIX, $2, $3, &$$)); }
	;

import_dcl
	: T_IMPORT scoped_name
		{ TRY(idlc_create_typeid(p, &@$, IDLC_IMPORT, $2, NULL, &$$)); }
	| T_IMPORT string_lit
		{ TRY(idlc_create_typeid(p, &@$, IDLC_IMPORT, NULL, $2, &$$)); }
	;

/* ------------------------------------------------------------ valuetypes */

value_kind
	: T_VALUETYPE { $$ = 0; }
	| T_CUSTOM T_VALUETYPE { $$ = IDLC_F_CUSTOM; }
	| T_ABSTRACT T_VALUETYPE { $$ = IDLC_F_ABSTRACT; }
	| T_EVENTTYPE { $$ = IDLC_F_EVENT; }
	| T_CUSTOM T_EVENTTYPE { $$ = IDLC_F_EVENT | IDLC_F_CUSTOM; }
	| T_ABSTRACT T_EVENTTYPE { $$ = IDLC_F_EVENT | IDLC_F_ABSTRACT; }
	;

truncatable_opt
	: %empty { $$ = 0; }
	| T_TRUNCATABLE { $$ = IDLC_F_TRUNCATABLE; }
	;

supports_opt
	: %empty { $$ = NULL; }
	| T_SUPPORTS scoped_names { $$ = $2; }
	;

value_dcl
	: value_kind identifier
		{ TRY(idlc_create_forward(p, &@$, IDLC_VALUE_FWD, $1, $2, &@2, &$$)); }
	| value_kind identifier type_spec
		{ TRY(idlc_create_value_box(p, &@$, $1, $2, &@2, $3, &$$)); }
	| value_kind identifier supports_opt '{' value_elements '}'
		{ TRY(idlc_create_valuetype(p, &@$, $1, $2, &@2, NULL, $3,
					    idlc_take_pragmas(p, &@4, $5), &$$)); }
	| value_kind identifier ':' truncatable_opt scoped_names supports_opt '{' value_elements '}'
		{ TRY(idlc_create_valuetype(p, &@$, $1 | $4, $2, &@2, $5, $6,
					    idlc_take_pragmas(p, &@7, $8), &$$)); }
	;

value_elements
	: %empty { $$ = NULL; }
	| value_elements value_element { $$ = idlc_append($1, $2); }
	;

value_element
	: annotations_opt value_element_body ';'
		{ TRY(idlc_create_annotated(p, &@$, $2, $1, &$$)); }
	| error ';' { $$ = NULL; }
	;

value_element_body
	: export_body
	| T_PUBLIC type_spec declarators
		{ TRY(idlc_create_members(p, &@$, IDLC_STATE_MEMBER, IDLC_F_PUBLIC, NULL, $2, $3, &$$)); }
	| T_PRIVATE type_spec declarators
		{ TRY(idlc_create_members(p, &@$, IDLC_STATE_MEMBER, IDLC_F_PRIVATE, NULL, $2, $3, &$$)); }
	| T_FACTORY identifier '(' params_opt ')' raises_opt
		{ TRY(idlc_create_factory(p, &@$, 0, $2, &@2, $4, $6, &$$)); }
	;

/* ------------------------------------------------------------ components */

component_dcl
	: T_COMPONENT identifier
		{ TRY(idlc_create_forward(p, &@$, IDLC_COMPONENT_FWD, 0, $2, &@2, &$$)); }
	| T_COMPONENT identifier inheritance_opt supports_opt '{' component_body '}'
		{ TRY(idlc_create_component(p, &@$, $2, &@2, $3, $4, $6, &$$)); }
	;

component_body
	: %empty { $$ = NULL; }
	| component_body component_export { $$ = idlc_append($1, $2); }
	;

component_export
	: annotations_opt component_export_body ';'
		{ TRY(idlc_create_annotated(p, &@$, $2, $1, &$$)); }
	| error ';' { $$ = NULL; }
	;

multiple_opt
	: %empty { $$ = 0; }
	| T_MULTIPLE { $$ = IDLC_F_MULTIPLE; }
	;

port_type
	: scoped_name
	| T_OBJECT { TRY(idlc_create_scoped_name(p, &@$, NULL, true, talloc_strdup(p->comp, "Object"), &$$)); }
	;

component_export_body
	: attr_dcl
	| T_PROVIDES port_type identifier
		{ TRY(idlc_create_port(p, &@$, IDLC_PORT_PROVIDES, 0, $2, $3, &@3, &$$)); }
	| T_USES multiple_opt port_type identifier
		{ TRY(idlc_create_port(p, &@$, IDLC_PORT_USES, $2, $3, $4, &@4, &$$)); }
	| T_EMITS scoped_name identifier
		{ TRY(idlc_create_port(p, &@$, IDLC_PORT_EMITS, 0, $2, $3, &@3, &$$)); }
	| T_PUBLISHES scoped_name identifier
		{ TRY(idlc_create_port(p, &@$, IDLC_PORT_PUBLISHES, 0, $2, $3, &@3, &$$)); }
	| T_CONSUMES scoped_name identifier
		{ TRY(idlc_create_port(p, &@$, IDLC_PORT_CONSUMES, 0, $2, $3, &@3, &$$)); }
	;

home_dcl
	: T_HOME identifier inheritance_opt supports_opt T_MANAGES scoped_name home_key_opt '{' home_body '}'
		{ TRY(idlc_create_home(p, &@$, $2, &@2, $3, $4, $6, $7, $9, &$$)); }
	;

home_key_opt
	: %empty { $$ = NULL; }
	| T_PRIMARYKEY scoped_name { $$ = $2; }
	;

home_body
	: %empty { $$ = NULL; }
	| home_body home_export { $$ = idlc_append($1, $2); }
	;

home_export
	: annotations_opt home_export_body ';'
		{ TRY(idlc_create_annotated(p, &@$, $2, $1, &$$)); }
	| error ';' { $$ = NULL; }
	;

home_export_body
	: export_body
	| T_FACTORY identifier '(' params_opt ')' raises_opt
		{ TRY(idlc_create_factory(p, &@$, 0, $2, &@2, $4, $6, &$$)); }
	| T_FINDER identifier '(' params_opt ')' raises_opt
		{ TRY(idlc_create_factory(p, &@$, IDLC_F_FINDER, $2, &@2, $4, $6, &$$)); }
	;

%%
