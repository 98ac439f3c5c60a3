/*
 * idlc/gen/gen_int.h - what the generators (gen.c, gen_stubs.c) share.
 */
#ifndef IDLC_GEN_INT_H
#define IDLC_GEN_INT_H

#include "shade/shape.h"

#include "base/arena.h"
#include "compile.h"
#include "gen/tmpl.h"

/* Generation state. */
typedef struct gen {
	idlc_compilation *comp;  /* the compilation */
	TALLOC_CTX *tmp;         /* scratch talloc context */
	idlc_arena *a;           /* strings and template values */
	idlc_tv *forwards;       /* list: struct/interface forward typedefs */
	idlc_tv *decls;          /* list: declarations in order */
	idlc_tv *shapes;         /* list: interface shape descriptors */
	idlc_tv *codecs;         /* list: struct/sequence codec functions */
	const char **done;       /* set of emitted helper types and codecs
				  * (open addressing, NULL: free slot) */
	size_t n_done;           /* names in the set */
	size_t cap_done;         /* slots (a power of two) */
	bool need_int;           /* generated code calls idl_get_int_ */
	bool need_uint;          /* ... idl_get_uint_ */
	bool need_ref;           /* ... idl_put_ref_ / idl_get_ref_ */
	bool need_ref_on;        /* ... idl_get_ref_on_ */
	bool need_array;         /* ... idl_get_array_ */
	bool need_seq;           /* ... idl_read_seq_ */
} gen;

/* One member of a shape. */
typedef struct smember {
	const char *name;  /* member name */
	shade_member_kind kind; /* attribute, readonly, method, oneway */
	const char *sig;   /* signature */
	const idlc_node *node; /* the attribute or operation */
} smember;

/* C name of a declaration: its qualified name joined with '_' (in the
 * arena). */
char *idlc_gen_c_name(gen *g, const idlc_node *n);

/* True when `name` is marked done (idlc_gen_once()); marks nothing. */
bool idlc_gen_has(const gen *g, const char *name);

/* True when `name` was marked done (an emitted type or codec); marks it
 * otherwise.  Returns -1 on out of memory. */
int idlc_gen_once(gen *g, const char *name);

/* Emit `typedef struct name { uint32_t len; T *items; } name;` for the
 * sequence type t, once per name.  Returns 0 or -1. */
int idlc_gen_sequence(gen *g, const char *name, const idlc_type *t,
		      const char *doc);

/* IDL doc comment `doc` as a C comment block indented by `indent` (in
 * the arena), or "" when there is none. */
char *idlc_gen_doc(gen *g, const char *doc, const char *indent);

/* A member or parameter name safe in C (C keywords get a '_' suffix). */
const char *idlc_gen_ident(gen *g, const char *name);

/* Typed stubs, skeleton and narrow function of interface n, whose shape
 * members (inherited ones included, in index order) are members[0..nm):
 * sets the template values of `o` (the interface's object).  Returns 0
 * or -1 on out of memory. */
int idlc_gen_stubs(gen *g, const idlc_node *n, const smember *members,
		   size_t nm, idlc_tv *o);

/* raise/catch helpers of exception n (when its fields have a typed
 * form): sets has_helpers, helpers_proto and helpers_code on `o`.
 * Returns 0 or -1 on out of memory. */
int idlc_gen_exception(gen *g, const idlc_node *n, idlc_tv *o);

#endif /* IDLC_GEN_INT_H */
