/*
 * idlc/gen/gen_int.h - what the generators share.
 *
 * Files, each calling only those listed after it (no file calls one
 * before it):
 *
 *   gen.c         the driver: walks the tree, builds the template model,
 *                 renders templates/ and writes FILE.h and FILE.c
 *   stubs.c       client side: narrow, one stub per member, shared calls
 *   skels.c       server side: impl table, dispatch, serve
 *   values.c      valuetypes: operations table, factory, calls, info
 *   locals.c      local interfaces: impl table, local object, calls
 *   exceptions.c  raise/catch helpers of exceptions
 *   shapes.c      shape descriptors, signatures, fingerprints
 *   codecs.c      how each type travels: statements and codec functions
 *   types.c       C declarations of the IDL types (the header's content)
 *   text.c        doc comments, growing strings, code layout
 *   names.c       C names: mangling, collisions, include paths
 *
 * Generated statements are written by code here, never by templates:
 * templates/ hold the frame of each file (banner, includes, guards,
 * declarations, the order of sections); see doc/idl.md "How shade-idlc
 * writes code".
 */
#ifndef IDLC_GEN_GEN_INT_H
#define IDLC_GEN_GEN_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "shade/shape.h"

#include "base/arena.h"
#include "base/comp.h"
#include "gen/tmpl.h"

/* Generation state. */
typedef struct gen {
	idlc_compilation *comp;  /* the compilation */
	TALLOC_CTX *tmp;         /* scratch talloc context */
	idlc_arena *a;           /* strings and template values */
	idlc_tv *forwards;       /* list: struct/interface forward typedefs */
	idlc_tv *decls;          /* list: declarations in order */
	idlc_tv *codecs;         /* list: struct/sequence codec functions */
	const char **done;       /* set of emitted helper types and codecs
				  * (open addressing, NULL: free slot) */
	size_t n_done;           /* names in the set */
	size_t cap_done;         /* slots (a power of two) */
} gen;

/* One member of a shape. */
typedef struct smember {
	const char *name;       /* member name */
	shade_member_kind kind; /* attribute, readonly, method, oneway */
	const char *sig;        /* signature */
	const idlc_node *node;  /* the attribute or operation */
} smember;

/* ---------------------------------------------------------------- text.c */

/* A growing string: pieces of code are built by many small appends. */
typedef struct sb {
	char *s;     /* text (talloc on g->tmp), NULL while empty */
	size_t len;  /* its length */
	size_t cap;  /* allocated bytes */
} sb;

/* Append formatted text to b.  Returns 0 or -1. */
int idlc_sb_add(gen *g, sb *b, const char *fmt, ...) IDLC_PRINTF(3, 4);

/* The text of b ("" while empty). */
const char *idlc_sbs(const sb *b);

/* Free b's text. */
void idlc_sb_free(sb *b);

/* Append formatted text to sb *s or return -1 (needs `g` in scope). */
#define ADD(s, ...) do { \
	if (idlc_sb_add(g, (s), __VA_ARGS__) < 0) \
		return -1; \
} while (0)

/* Go to `fail` when a template value could not be built. */
#define G(call) do { if ((call) < 0) goto fail; } while (0)

/* ---------------------------------------------------------------- names.c */

/* FNV-1a of s continuing from h (start with IDLC_GEN_HASH_SEED). */
uint32_t idlc_gen_hash(const char *s, uint32_t h);
/* The FNV-1a offset basis. */
#define IDLC_GEN_HASH_SEED 2166136261u

/* C name of a declaration: its qualified name joined with '_', with a
 * '_' appended when C, C++, the C library or generated code reserves it
 * (in the arena). */
char *idlc_gen_c_name(gen *g, const idlc_node *n);

/* True when declaration n gets a C_REPO_ID macro (its repository id):
 * interfaces, valuetypes, boxed valuetypes, structs, unions, enums,
 * exceptions, typedefs, bitmasks and bitsets. */
bool idlc_gen_has_repo_macro(const idlc_node *n);

/* A member or parameter name safe in C: a reserved one (a C or C++
 * keyword, a C library name, a name generated code uses) gets a '_'
 * suffix (in the arena, or `name` itself). */
const char *idlc_gen_ident(gen *g, const char *name);

/* Refuse, with a diagnostic naming both, any two declarations of the
 * whole tree whose C names (or those of their generated helpers,
 * stubs and indexes) are equal.  Returns 0, or -1 after reporting. */
int idlc_gen_check_names(gen *g);

/* The header that an included IDL file stands for in a generated
 * #include: its path relative to the main file's directory or to an -I
 * directory (the shortest), .idl replaced by .h ("a/msg/Time.h"; in the
 * arena). */
char *idlc_gen_include_name(gen *g, const char *file);

/* The include guard of the main file's header: its base name and a
 * hash of the C names it declares (two Time.idl files in different
 * folders get different guards; in the arena). */
char *idlc_gen_guard(gen *g, const char *base);

/* ---------------------------------------------------------------- text.c */

/* Shape name of a declaration: its qualified name joined with '.'. */
char *idlc_gen_dotted_name(gen *g, const idlc_node *n);

/* The definition behind forward declarations. */
const idlc_node *idlc_gen_defn(const idlc_node *n);


/* `text` with a blank put inside every comment opener and closer
 * ('/' then '*', '*' then '/'), so that it can stand inside a C comment
 * (in the arena, or `text` itself). */
const char *idlc_gen_comment_safe(gen *g, const char *text);

/* IDL doc comment `doc` as a C comment block indented by `indent` (in
 * the arena), or "" when there is none. */
char *idlc_gen_doc(gen *g, const char *doc, const char *indent);

/* True when `name` is marked done (idlc_gen_once()); marks nothing. */
bool idlc_gen_has(const gen *g, const char *name);

/* True (1) when `name` was marked done (an emitted type or codec); marks
 * it otherwise (0).  Returns -1 on out of memory. */
int idlc_gen_once(gen *g, const char *name);

/* True when the operations of interface d are shared with the
 * interfaces that inherit them (the driver marked it "base NAME"). */
bool idlc_gen_shared(gen *g, const idlc_node *d);

/* `code` with every line indented by `tabs` tab characters (in the
 * arena); empty lines stay empty. */
char *idlc_gen_indent(gen *g, const char *code, int tabs);

/* params ("A a, B b") with each ", " replaced by ",\n" and `tabs` tabs
 * when `width` (the prototype's length) is over 80 columns. */
const char *idlc_gen_wrap(gen *g, const char *params, size_t width,
			  int tabs);

/* True when `word` occurs in `code` as a whole C identifier. */
bool idlc_gen_uses(const char *code, const char *word);

/* Declarations of the decoding temporaries `code` uses (idl_i, idl_u,
 * idl_f, idl_r), each on its own line indented by one tab. */
const char *idlc_gen_temps(gen *g, const char *code);

/* A function of the generated source: pushed onto `list` as a template
 * object {doc, ret, name, params, body}. */
int idlc_gen_function(gen *g, idlc_tv *list, const char *doc,
		      const char *ret, const char *name, const char *params,
		      const char *body);

/* ---------------------------------------------------------------- types.c */

/* Emit `typedef struct name { uint32_t len; T *items; } name;` for the
 * sequence type t, once per name.  Returns 0 or -1. */
int idlc_gen_sequence(gen *g, const char *name, const idlc_type *t,
		      const char *doc);

/* Emit `struct name { uint32_t len; K *keys; V *values; }` for the map
 * type t, once per name.  Returns 0 or -1. */
int idlc_gen_map(gen *g, const char *name, const idlc_type *t);

/* Add `typedef struct name name;` to the forward declarations. */
int idlc_gen_forward(gen *g, const char *name);

/* A new declaration object of `kind` ("is_struct"...) with its doc. */
idlc_tv *idlc_gen_decl_obj(gen *g, const char *kind, const char *name,
			   const char *doc);

/* The C declaration of a struct, exception, enum, typedef or constant
 * n, appended to the declarations; *out (may be NULL) gets its object.
 * Other kinds are ignored.  Returns 0 or -1. */
int idlc_gen_type(gen *g, const idlc_node *n, idlc_tv **out);

/* The smallest unsigned C type of `bits` bits ("uint8_t"...). */
const char *idlc_gen_uint_of(uint64_t bits);

/* The width of bitmask n: its @bit_bound, 32 by default. */
uint64_t idlc_gen_bitmask_bits(const idlc_node *n);

/* The declared flags of bitmask n, or'ed. */
uint64_t idlc_gen_bitmask_flags(const idlc_node *n);

/* A C string literal for s (len bytes: quotes, escapes, octal for
 * what is not printable ASCII), in the arena. */
char *idlc_gen_c_string(gen *g, const char *s, size_t len);

/* C expression for the constant v of type t (a union label, a const's
 * value), in the arena. */
char *idlc_gen_c_value(gen *g, const idlc_type *t, const idlc_value *v);

/* ---------------------------------------------------------------- codecs.c */

/* How a scalar travels. */
typedef enum wire_class {
	W_INT,    /* signed integer or enum: CBOR int */
	W_UINT,   /* unsigned integer: CBOR uint */
	W_BOOL,   /* boolean */
	W_FLOAT,  /* float, double */
	W_STRING, /* string: text */
	W_ANY,    /* any: a dynamic value, references included */
	W_OBJECT, /* Object: a reference */
	W_CODEC,  /* struct or sequence: generated codec functions */
	W_IFACE,  /* interface: a reference, narrowed on arrival */
	W_WCHAR,  /* wchar: text of one code point (UTF-8) */
	W_FIXED,  /* fixed<d, s>: decimal text (lo: d, hi: s) */
	W_LDOUBLE,/* long double: a float64, range-checked */
	W_LOCAL,  /* local interface: never travels (local calls only) */
	W_BOX     /* boxed valuetype: null, or its value (codec functions
		   * of the box's C name in iface) */
} wire_class;

/* A type's C spelling and wire form. */
typedef struct scalar {
	const char *c;    /* C type ("int32_t", "char *", "bank_Kind") */
	wire_class w;     /* wire form */
	const char *lo;   /* W_INT: smallest value; W_FIXED: digits;
			   * W_UINT: a bitmask's flags (NULL: any value
			   * up to hi) */
	const char *hi;   /* W_INT, W_UINT: largest value; W_FIXED:
			   * scale */
	const char *iface;/* W_IFACE: the interface's C name */
	bool arr;         /* W_CODEC: a C array type (an IDL array
			   * typedef), copied with memcpy, not `=` */
	bool value;       /* W_BOX: a valuetype (iface its C name),
			   * travelling as `[ids, state]` */
} scalar;

/* Most parameters of an operation with a typed stub. */
#define IDLC_MAX_PARAMS 64

/* How the values of an operation travel. */
typedef struct wire_op {
	scalar rs;                           /* the result, when has_result */
	scalar ps[IDLC_MAX_PARAMS];          /* the parameters */
	const char *ident[IDLC_MAX_PARAMS];  /* their names, safe in C */
	idlc_dir dir[IDLC_MAX_PARAMS];       /* their directions */
	const idlc_type *types[IDLC_MAX_PARAMS]; /* their IDL types */
	bool byref[IDLC_MAX_PARAMS];         /* @byref in sequences and
					      * structs: shared as a list or
					      * an object, a shade_ref * on
					      * the server side */
	size_t n;                            /* parameters */
	size_t n_in;                         /* in and inout parameters */
	size_t n_out;                        /* out and inout parameters */
	bool has_result;                     /* the result is not void */
	bool mem;                            /* something allocated comes
					      * back: a mem_ctx parameter */
	const char *chunk;                   /* @chunk(N) of a sequence
					      * result: N, or NULL */
	bool share;                          /* a value may hold a
					      * valuetype value
					      * (idlc_gen_holds_value) */
} wire_op;

/* Describe a basic type or enum; false when t is none of those. */
bool idlc_gen_basic(gen *g, const idlc_type *t, scalar *s);

/* How type t travels: 1 with *s filled (and the codecs it needs
 * generated), 0 when it has no typed form, -1 on out of memory.  `anon`
 * names the C type of an anonymous sequence. */
int idlc_gen_wire(gen *g, const idlc_type *t, const char *anon, scalar *s);

/* How the values of operation op of interface `iface` travel: 0 with *w
 * filled, 1 when one has no typed form, -1 on out of memory. */
int idlc_gen_wire_op(gen *g, const char *iface, const idlc_node *op,
		     wire_op *w);

/* Statement putting expression e of type s into buffer b ("idl_args" on
 * the client, "out" on the server, "b" in a codec). */
char *idlc_gen_put(gen *g, const scalar *s, const char *b, const char *e);

/* Statements reading from decoder d ("idl_res", "in", "d") into lvalue
 * v, allocating on mem; one a line, without indentation. */
char *idlc_gen_get(gen *g, const scalar *s, const char *d, const char *v,
		   const char *mem);

/* "T name" for an in parameter (strings and values as const). */
char *idlc_gen_in_decl(gen *g, const scalar *s, const char *name);

/* "T *name" for an out parameter. */
char *idlc_gen_out_decl(gen *g, const scalar *s, const char *name);

/* "T name = 0;" (NULL, { 0 }) for a local of the type. */
char *idlc_gen_local(gen *g, const scalar *s, const char *name);

/* The statement storing local `local` of type s into *out. */
char *idlc_gen_store(gen *g, const scalar *s, const char *out,
		     const char *local);

/* The codec of the fields of exception n, as of a struct (the array of
 * its fields): idl_put_N_ and idl_get_N_.  1 when generated, 2 when
 * generated and a field holds a reference (any, Object, an interface,
 * a valuetype), 0 when a field has no typed form, -1 on out of
 * memory. */
int idlc_gen_fields_codec(gen *g, const idlc_node *n);

/* The state codec of valuetype n (idl_put_N_, idl_get_N_: its state
 * members, a base's first, without an array head).  1 when generated,
 * 0 when a state member has no typed form or n is abstract or custom,
 * -1 on out of memory. */
int idlc_gen_value_codec(gen *g, const idlc_node *n);

/* The table (a static shade_typed_op named `name`) of the values w of
 * a stub named `stub` doing `op` ("SHADE_DISPATCH_INVOKE", _GET, _SET;
 * `oneway`), for shade_typed_call() and shade_typed_args(), emitted
 * once.  1 when emitted (or already), 0 when a value has no table (a
 * reference, @byref, @chunk, an array: the stub is generated as code),
 * -1 on out of memory. */
int idlc_gen_op_table(gen *g, const char *name, const char *stub,
		      const char *op, bool oneway, const wire_op *w);

/* The struct declaration behind type t (typedefs followed), or NULL. */
const idlc_node *idlc_gen_struct_of(const idlc_type *t);

/* w with each @byref parameter described as the reference the server
 * side gets (shade_ref *, an Object). */
void idlc_gen_byref_server(wire_op *w);

/* The N of attribute or operation m's @chunk(N) as C text, when m has
 * one and its value (of type s) is a sequence; NULL otherwise. */
const char *idlc_gen_chunk(gen *g, const idlc_node *m, const scalar *s);

/* True when decoding the type allocates (a mem_ctx is needed). */
bool idlc_gen_allocates(const scalar *s);

/* Whether a value of IDL type t may hold a valuetype value (is one, or
 * a struct, union, sequence, array, map or box that may): its message
 * is then encoded and decoded in a share scope
 * (shade_typed_share_begin), so that shared values and cycles cross
 * whole. */
bool idlc_gen_holds_value(const idlc_type *t);

/* ---------------------------------------------------------------- shapes.c */

/* Shape descriptor of interface n (template values on `o`, fingerprint
 * by the runtime); its members, inherited ones first, in index order,
 * in *members[0..*nm) (on g->tmp).  Returns 0 or -1. */
int idlc_gen_shape(gen *g, const idlc_node *n, idlc_tv *o,
		   smember **members, size_t *nm);

/* The static shape (idl_shape, members idl_fields) of struct st shared
 * by reference (@byref): kind object, its dotted name, one readonly
 * attribute per field, its base's first, in the order of its codec's
 * array; C text, one declaration a line, without indentation (in the
 * arena; NULL when out of memory). */
char *idlc_gen_fields_shape(gen *g, const idlc_node *st);

/* ---------------------------------------------------------------- values.c */

/* Valuetype n (not abstract, not boxed): its operations table V_ops,
 * V_new(), V_register_factory(), one call per own operation, and its
 * descriptor V_INFO (with the state codec), as a declaration of
 * g->decls.  Returns 0 or -1. */
int idlc_gen_value(gen *g, const idlc_node *n);

/* ---------------------------------------------------------------- locals.c */

/* Local interface n: its impl table, its local object type, L_local()
 * and one call per member, as declarations (g->decls).  Returns 0 or
 * -1. */
int idlc_gen_local_iface(gen *g, const idlc_node *n);

/* The parameters after self of a local call of operation op ("",
 * ", TALLOC_CTX *mem_ctx, int32_t a, ..."; `name` the owner's C name,
 * for anonymous sequences), the call's arguments after self in *args;
 * NULL with *skip when a type has no C form here (without: out of
 * memory). */
char *idlc_gen_local_params(gen *g, const char *name, const idlc_node *op,
			    char **args, bool *skip);

/* The parameters after self of accessor `set` (else get) of attribute
 * m (", TALLOC_CTX *mem_ctx, T *out" or ", T value"), the call's
 * arguments in *args; NULL with *skip when its type has no C form here
 * (without: out of memory). */
char *idlc_gen_local_attr_params(gen *g, const char *name, const idlc_node *m,
				 bool set, char **args, bool *skip);

/* Report an error for each operation parameter, result or attribute of
 * non-local interface n that uses a local interface (it cannot cross
 * the wire). */
void idlc_gen_check_remote(gen *g, const idlc_node *n);

/* ---------------------------------------------------------------- exceptions.c */

/* raise/catch helpers of exception n (when its fields have a typed
 * form): appended to `functions`.  Returns 0 or -1. */
int idlc_gen_exception(gen *g, const idlc_node *n, idlc_tv *functions);

/* ---------------------------------------------------------------- skels.c */

/* Server side of interface n (C name iface) with shape members
 * members[0..nm): the impl fields ("impl_fields" on o), the shared
 * skeleton parts of its own operations, the dispatch function, serve
 * and served_self, appended to `functions`.  Returns 0 or -1. */
int idlc_gen_skels(gen *g, const idlc_node *n, const smember *members,
		   size_t nm, idlc_tv *o, idlc_tv *functions);

/* ---------------------------------------------------------------- stubs.c */

/* Client side of interface n: narrow, the shared calls of its own
 * operations and one stub per member, appended to `functions`; the
 * prototypes ("stubs") and the members without a typed form
 * ("skipped") on o.  Returns 0 or -1. */
int idlc_gen_stubs(gen *g, const idlc_node *n, const smember *members,
		   size_t nm, idlc_tv *o, idlc_tv *functions);

#endif /* IDLC_GEN_GEN_INT_H */
