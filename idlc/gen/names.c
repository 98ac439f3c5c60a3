/*
 * idlc/gen/names.c - the C names of generated code, in one place.
 *
 * The rule (doc/idl.md "C names"): a declaration's C name is its
 * qualified IDL name joined with '_' (m::S -> m_S); a member, parameter or
 * enumerator keeps its IDL name.  A name that C, C++, the C library
 * headers the generated code includes, or the generated code itself
 * reserves (`class`, `bool`, `uint32_t`, `NULL`, `INT32_MAX`, `FILE`,
 * `self`...) gets a '_' appended.  Two declarations whose C names would
 * still be equal (`a::b_c` and `a_b::c` are both a_b_c; an interface
 * `Widget_narrow` and the narrow function of `Widget`; an operation
 * `narrow` of `Widget` and the same function) are refused with a
 * diagnostic naming both, before anything is written.
 *
 * A generated `#include` keeps the folders of the IDL include that it
 * stands for (a/msg/Time.idl -> "a/msg/Time.h").
 */
#include <stdlib.h>
#include <string.h>

#include "gen/gen_int.h"

/* Names reserved in generated code, sorted (strcmp): C11 and C++
 * keywords, the names of <stdbool.h>, <stddef.h>, <stdint.h>,
 * <limits.h>, <stdarg.h>, <assert.h>, <string.h>, <stdio.h> and
 * <stdlib.h> (the generated files include them, directly or through
 * talloc.h), talloc's, and the parameters of generated functions. */
static const char *const reserved_names[] = {
	"BUFSIZ", "CHAR_BIT", "CHAR_MAX", "CHAR_MIN", "EOF", "EXIT_FAILURE",
	"EXIT_SUCCESS", "FILE", "FILENAME_MAX", "FOPEN_MAX", "INT16_C", "INT16_MAX",
	"INT16_MIN", "INT32_C", "INT32_MAX", "INT32_MIN", "INT64_C", "INT64_MAX",
	"INT64_MIN", "INT8_C", "INT8_MAX", "INT8_MIN", "INTMAX_C", "INTMAX_MAX",
	"INTMAX_MIN", "INTPTR_MAX", "INTPTR_MIN", "INT_FAST16_MAX",
	"INT_FAST16_MIN", "INT_FAST32_MAX", "INT_FAST32_MIN", "INT_FAST64_MAX",
	"INT_FAST64_MIN", "INT_FAST8_MAX", "INT_FAST8_MIN", "INT_LEAST16_MAX",
	"INT_LEAST16_MIN", "INT_LEAST32_MAX", "INT_LEAST32_MIN", "INT_LEAST64_MAX",
	"INT_LEAST64_MIN", "INT_LEAST8_MAX", "INT_LEAST8_MIN", "INT_MAX", "INT_MIN",
	"LLONG_MAX", "LLONG_MIN", "LONG_MAX", "LONG_MIN", "L_tmpnam", "MB_CUR_MAX",
	"MB_LEN_MAX", "NULL", "PTRDIFF_MAX", "PTRDIFF_MIN", "RAND_MAX", "SCHAR_MAX",
	"SCHAR_MIN", "SEEK_CUR", "SEEK_END", "SEEK_SET", "SHRT_MAX", "SHRT_MIN",
	"SIG_ATOMIC_MAX", "SIG_ATOMIC_MIN", "SIZE_MAX", "TALLOC_CTX", "TMP_MAX",
	"UCHAR_MAX", "UINT16_C", "UINT16_MAX", "UINT32_C", "UINT32_MAX", "UINT64_C",
	"UINT64_MAX", "UINT8_C", "UINT8_MAX", "UINTMAX_C", "UINTMAX_MAX",
	"UINTPTR_MAX", "UINT_FAST16_MAX", "UINT_FAST32_MAX", "UINT_FAST64_MAX",
	"UINT_FAST8_MAX", "UINT_LEAST16_MAX", "UINT_LEAST32_MAX",
	"UINT_LEAST64_MAX", "UINT_LEAST8_MAX", "UINT_MAX", "ULLONG_MAX",
	"ULONG_MAX", "USHRT_MAX", "WCHAR_MAX", "WCHAR_MIN", "WINT_MAX", "WINT_MIN",
	"_Alignas", "_Alignof", "_Atomic", "_Bool", "_Complex", "_Exit", "_Generic",
	"_IOFBF", "_IOLBF", "_IONBF", "_Imaginary", "_Noreturn", "_Static_assert",
	"_Thread_local", "__asm__", "__bool_true_false_are_defined", "abort", "abs",
	"alignas", "aligned_alloc", "alignof", "and", "and_eq", "asm", "assert",
	"at_quick_exit", "atexit", "atof", "atoi", "atol", "atoll", "auto",
	"bitand", "bitor", "bool", "break", "bsearch", "calloc", "case", "catch",
	"char", "char16_t", "char32_t", "char8_t", "class", "clearerr", "co_await",
	"co_return", "co_yield", "compl", "concept", "const", "const_cast",
	"consteval", "constexpr", "constinit", "continue", "decltype", "default",
	"delete", "div", "div_t", "do", "double", "dynamic_cast", "else", "enum",
	"err", "errno", "exit", "explicit", "export", "extern", "false", "fclose",
	"feof", "ferror", "fflush", "fgetc", "fgetpos", "fgets", "final", "float",
	"fopen", "for", "fpos_t", "fprintf", "fputc", "fputs", "fread", "free",
	"freopen", "friend", "fscanf", "fseek", "fsetpos", "ftell", "fwrite",
	"getc", "getchar", "getenv", "gets", "goto", "idl_call", "idl_r", "if",
	"inline", "int", "int16_t", "int32_t", "int64_t", "int8_t", "int_fast16_t",
	"int_fast32_t", "int_fast64_t", "int_fast8_t", "int_least16_t",
	"int_least32_t", "int_least64_t", "int_least8_t", "intmax_t", "intptr_t",
	"labs", "ldiv", "ldiv_t", "llabs", "lldiv", "lldiv_t", "long", "malloc",
	"max_align_t", "mblen", "mbstowcs", "mbtowc", "mem_ctx", "memchr", "memcmp",
	"memcpy", "memmove", "memset", "mutable", "namespace", "new", "noexcept",
	"not", "not_eq", "nullptr", "offsetof", "operator", "or", "or_eq",
	"override", "perror", "printf", "private", "protected", "ptrdiff_t",
	"public", "putc", "putchar", "puts", "qsort", "quick_exit", "rand",
	"realloc", "register", "reinterpret_cast", "remove", "rename", "requires",
	"restrict", "result", "return", "rewind", "scanf", "self", "setbuf",
	"setvbuf", "short", "signed", "size_t", "sizeof", "snprintf", "sprintf",
	"srand", "sscanf", "static", "static_assert", "static_cast", "stderr",
	"stdin", "stdout", "strcat", "strchr", "strcmp", "strcoll", "strcpy",
	"strcspn", "strerror", "strlen", "strncat", "strncmp", "strncpy", "strpbrk",
	"strrchr", "strspn", "strstr", "strtod", "strtof", "strtok", "strtol",
	"strtold", "strtoll", "strtoul", "strtoull", "struct", "strxfrm", "switch",
	"system", "talloc", "template", "this", "thread_local", "throw", "tmpfile",
	"tmpnam", "true", "try", "typedef", "typeid", "typename", "typeof",
	"uint16_t", "uint32_t", "uint64_t", "uint8_t", "uint_fast16_t",
	"uint_fast32_t", "uint_fast64_t", "uint_fast8_t", "uint_least16_t",
	"uint_least32_t", "uint_least64_t", "uint_least8_t", "uintmax_t",
	"uintptr_t", "ungetc", "union", "unsigned", "using", "va_arg", "va_copy",
	"va_end", "va_list", "va_start", "vfprintf", "vfscanf", "virtual", "void",
	"volatile", "vprintf", "vscanf", "vsnprintf", "vsprintf", "vsscanf",
	"wchar_t", "wcstombs", "wctomb", "while", "xor", "xor_eq",
};

/* bsearch comparison of a name with a table entry. */
static int name_cmp(const void *key, const void *entry)
{
	return strcmp(key, *(const char *const *)entry);
}

/* True when `name` is reserved in generated code. */
static bool is_reserved(const char *name)
{
	return bsearch(name, reserved_names,
		       sizeof(reserved_names) / sizeof(reserved_names[0]),
		       sizeof(reserved_names[0]), name_cmp) != NULL;
}

/* A member/parameter name safe in C; see gen_int.h. */
const char *idlc_gen_ident(gen *g, const char *name)
{
	return is_reserved(name) ? idlc_arena_printf(g->a, "%s_", name) : name;
}

/* Identifiers of generated function bodies, parameters and fields, sorted:
 * a constant or a bitmask flag (a macro) may not take one of them, nor
 * start with `arg_` (the skeletons' locals). */
static const char *const body_names[] = {
	"_base", "_d", "_u", "a", "args", "b", "cx", "d", "e", "fn", "i",
	"items", "keys", "kind", "len", "map", "member", "n", "o", "op",
	"out", "ref", "s", "sv", "t", "tags", "u", "v", "value", "values",
};

/* True for the nodes that become macros. */
static bool is_macro(const idlc_node *n)
{
	return n->kind == IDLC_CONST || n->kind == IDLC_BIT_VALUE;
}

/* True when macro name `name` would rewrite generated code. */
static bool is_body_name(const char *name)
{
	return strncmp(name, "arg_", 4) == 0 ||
	       bsearch(name, body_names,
		       sizeof(body_names) / sizeof(body_names[0]),
		       sizeof(body_names[0]), name_cmp) != NULL;
}

/* C name of a declaration; see gen_int.h. */
char *idlc_gen_c_name(gen *g, const idlc_node *n)
{
	size_t len = idlc_qualified_name_buf(n, "_", NULL, 0);
	char *out = idlc_arena_alloc(g->a, len + 2);

	if (out == NULL)
		return NULL;
	idlc_qualified_name_buf(n, "_", out, len + 1);
	if (is_reserved(out) || (is_macro(n) && is_body_name(out))) {
		out[len] = '_';
		out[len + 1] = '\0';
	}
	return out;
}

/* ---------------------------------------------------------------- collisions */

/* One C name claimed by a declaration. */
typedef struct claim {
	const char *name;      /* the C name (NULL: free slot) */
	const idlc_node *node; /* the declaration it stands for */
	const char *what;      /* "" or what of it ("the narrow function") */
} claim;

/* The C names of the whole tree: open addressing on the name. */
typedef struct claims {
	gen *g;          /* generation state */
	claim *slots;    /* table (talloc on g->tmp) */
	size_t n_slots;  /* a power of two */
	size_t n_used;   /* names in the table */
	int errors;      /* collisions reported */
	struct claims *idents; /* the member and parameter names (a
				* second table), or NULL in that table */
	bool set_only;   /* a set: the same name twice is no collision */
	const idlc_node **macros; /* constants and flags (talloc array) */
	size_t n_macros; /* entries in macros */
} claims;

/* FNV-1a; see gen_int.h. */
uint32_t idlc_gen_hash(const char *s, uint32_t h)
{
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 16777619u;
	}
	return h;
}

/* Hash of a name. */
static size_t name_hash(const char *s)
{
	return idlc_gen_hash(s, IDLC_GEN_HASH_SEED);
}

/* Slot of `name` (its claim or a free slot). */
static claim *slot_of(claim *slots, size_t n_slots, const char *name)
{
	size_t mask = n_slots - 1, i = name_hash(name) & mask;

	while (slots[i].name && strcmp(slots[i].name, name) != 0)
		i = (i + 1) & mask;
	return &slots[i];
}

/* How a claim is named in a message: "'a::b_c'" or "the narrow
 * function of 'Widget'" (in the arena). */
static const char *claim_text(gen *g, const claim *c)
{
	char *q = idlc_qualified_name(g->tmp, c->node, "::");

	return idlc_arena_printf(g->a, "%s%s'%s'", c->what,
				 *c->what ? " of " : "", q ? q : "?");
}

/* Claim `name` for node n (`what` of it); a name already claimed by
 * another declaration is reported.  Returns -1 on out of memory. */
static int claim_name(claims *cl, const char *name, const idlc_node *n,
		      const char *what)
{
	claim *c;

	if (name == NULL)
		return -1;
	if ((cl->n_used + 1) * 2 > cl->n_slots) {
		size_t n_new = cl->n_slots ? cl->n_slots * 2 : 1024, i;
		claim *slots = talloc_zero_array(cl->g->tmp, claim, n_new);
		if (slots == NULL)
			return -1;
		for (i = 0; i < cl->n_slots; i++)
			if (cl->slots[i].name)
				*slot_of(slots, n_new, cl->slots[i].name) =
					cl->slots[i];
		talloc_free(cl->slots);
		cl->slots = slots;
		cl->n_slots = n_new;
	}
	c = slot_of(cl->slots, cl->n_slots, name);
	if (c->name == NULL) {
		c->name = name;
		c->node = n;
		c->what = what;
		cl->n_used++;
		return 0;
	}
	if (cl->set_only || (c->node == n && strcmp(c->what, what) == 0))
		return 0;
	{
		claim mine = { name, n, what };
		idlc_error(cl->g->comp, &n->name_loc, "%s and %s both have the "
			   "C name '%s' (rename one)", claim_text(cl->g, &mine),
			   claim_text(cl->g, c), name);
		idlc_note(cl->g->comp, &c->node->name_loc, "'%s' is declared "
			  "here", c->node->name);
	}
	cl->errors++;
	return 0;
}

static int claim_tree(claims *cl, const idlc_node *n);

/* Remember a constant or flag for the check against member names. */
static int add_macro(claims *cl, const idlc_node *n)
{
	if ((cl->n_macros & (cl->n_macros + 1)) == 0 || cl->macros == NULL) {
		const idlc_node **m = talloc_realloc(cl->g->tmp, cl->macros,
						     const idlc_node *,
						     cl->n_macros * 2 + 8);
		if (m == NULL)
			return -1;
		cl->macros = m;
	}
	cl->macros[cl->n_macros++] = n;
	return 0;
}

/* Claim "<iface>_<suffix>" for member m of interface iface. */
static int claim_member(claims *cl, const char *iface, const char *pre,
			const idlc_node *m, const char *suffix)
{
	gen *g = cl->g;

	return claim_name(cl, idlc_arena_printf(g->a, "%s_%s%s%s", iface, pre,
						m->name, suffix), m, "");
}

/* The helpers every (non-local) interface gets. */
static const char *const iface_helpers[][2] = {
	{ "narrow", "the narrow function" }, { "serve", "the serve function" },
	{ "shape", "the shape descriptor" }, { "impl", "the impl table" },
	{ "served_self", "the served_self function" },
	{ "members", "the member table" },
	{ "dispatch_", "the dispatch function" },
};

/* The C names of an interface: its type, its helpers, each member's
 * stubs and index. */
static int claim_interface(claims *cl, const idlc_node *n)
{
	gen *g = cl->g;
	const char *iface = idlc_gen_c_name(g, n);
	const idlc_node *m;
	size_t i;

	if (claim_name(cl, iface, n, "") < 0)
		return -1;
	if (n->flags & IDLC_F_LOCAL)
		return 0;
	for (i = 0; i < sizeof(iface_helpers) / sizeof(iface_helpers[0]); i++)
		if (claim_name(cl, idlc_arena_printf(g->a, "%s_%s", iface,
						     iface_helpers[i][0]),
			       n, iface_helpers[i][1]) < 0)
			return -1;
	for (m = n->children; m; m = m->next) {
		const idlc_node *q;
		if (cl->idents && (m->kind == IDLC_OPERATION ||
				   m->kind == IDLC_ATTRIBUTE) &&
		    claim_name(cl->idents, idlc_gen_ident(g, m->name), m,
			       "") < 0)
			return -1;
		for (q = m->children; q; q = q->next)
			if (cl->idents && q->kind == IDLC_PARAM &&
			    claim_name(cl->idents, idlc_gen_ident(g, q->name),
				       q, "") < 0)
				return -1;
		if (m->kind == IDLC_OPERATION) {
			if (claim_member(cl, iface, "", m, "") < 0 ||
			    claim_member(cl, iface, "", m, "_INDEX") < 0)
				return -1;
		} else if (m->kind == IDLC_ATTRIBUTE) {
			if (claim_member(cl, iface, "get_", m, "") < 0 ||
			    claim_member(cl, iface, "", m, "_INDEX") < 0 ||
			    (!(m->flags & IDLC_F_READONLY) &&
			     claim_member(cl, iface, "set_", m, "") < 0))
				return -1;
		} else if (claim_tree(cl, m) < 0) {
			return -1;
		}
	}
	return 0;
}

/* Claim the names generated for valuetype n (values.c): its operations
 * table, descriptor, constructor, registration and operation calls. */
static int claim_value(claims *cl, const idlc_node *n)
{
	static const char *const helpers[][2] = {
		{ "_ops", "the operations table" },
		{ "_INFO", "the descriptor" },
		{ "_new", "the constructor" },
		{ "_register_factory", "the factory registration" },
	};
	gen *g = cl->g;
	const char *name = idlc_gen_c_name(g, n);
	const idlc_node *m;
	size_t i;

	for (i = 0; i < sizeof(helpers) / sizeof(helpers[0]); i++)
		if (claim_name(cl, idlc_arena_printf(g->a, "%s%s", name,
			       helpers[i][0]), n, helpers[i][1]) < 0)
			return -1;
	for (m = n->children; m; m = m->next) {
		if ((m->kind == IDLC_OPERATION || m->kind == IDLC_FACTORY) &&
		    claim_name(cl, idlc_arena_printf(g->a, "%s_%s", name,
			       idlc_gen_ident(g, m->name)), m,
			       m->kind == IDLC_FACTORY ? "the factory's call" :
			       "the operation's call") < 0)
			return -1;
		if (m->kind == IDLC_ATTRIBUTE &&
		    (claim_name(cl, idlc_arena_printf(g->a, "%s_get_%s", name,
				m->name), m, "the attribute's getter") < 0 ||
		     (!(m->flags & IDLC_F_READONLY) &&
		      claim_name(cl, idlc_arena_printf(g->a, "%s_set_%s", name,
				 m->name), m, "the attribute's setter") < 0)))
			return -1;
	}
	return 0;
}

/* Repository id macro; see gen_int.h. */
bool idlc_gen_has_repo_macro(const idlc_node *n)
{
	switch (n->kind) {
	case IDLC_INTERFACE: case IDLC_VALUETYPE: case IDLC_VALUE_BOX:
	case IDLC_STRUCT: case IDLC_UNION: case IDLC_ENUM:
	case IDLC_EXCEPTION: case IDLC_TYPEDEF: case IDLC_BITMASK:
	case IDLC_BITSET:
		return n->repo_id != NULL;
	default:
		return false;
	}
}

static int claim_tree(claims *cl, const idlc_node *n);

/* Claim the C names of n and of what it declares inside, but its
 * repository id macro. */
static int claim_decl(claims *cl, const idlc_node *n)
{
	gen *g = cl->g;
	const idlc_node *m;
	const idlc_type *t;
	const char *name;

	for (t = n->type; t; t = t->elem)
		if (t->kind == IDLC_T_NAMED && t->decl &&
		    claim_tree(cl, t->decl) < 0)
			return -1;
	switch (n->kind) {
	case IDLC_MODULE:
		for (m = n->children; m; m = m->next)
			if (claim_tree(cl, m) < 0)
				return -1;
		return 0;
	case IDLC_INTERFACE:
		return claim_interface(cl, n);
	case IDLC_EXCEPTION:
		name = idlc_gen_c_name(g, n);
		if (claim_name(cl, name, n, "") < 0 ||
		    claim_name(cl, idlc_arena_printf(g->a, "%s_NAME", name), n,
			       "the name macro") < 0 ||
		    claim_name(cl, idlc_arena_printf(g->a, "%s_raise", name), n,
			       "the raise function") < 0 ||
		    claim_name(cl, idlc_arena_printf(g->a, "%s_catch", name), n,
			       "the catch function") < 0)
			return -1;
		break;
	case IDLC_VALUETYPE:
		if (!(n->flags & IDLC_F_ABSTRACT) && claim_value(cl, n) < 0)
			return -1;
		/* fall through */
	case IDLC_STRUCT: case IDLC_UNION: case IDLC_ENUM:
	case IDLC_BITMASK: case IDLC_BITSET: case IDLC_TYPEDEF:
	case IDLC_NATIVE: case IDLC_CONST:
	case IDLC_VALUE_BOX: case IDLC_ENUMERATOR: case IDLC_BIT_VALUE:
		if (claim_name(cl, idlc_gen_c_name(g, n), n, "") < 0 ||
		    (is_macro(n) && add_macro(cl, n) < 0))
			return -1;
		break;
	case IDLC_MEMBER: case IDLC_PARAM: case IDLC_CASE:
	case IDLC_STATE_MEMBER: case IDLC_ATTRIBUTE: case IDLC_OPERATION:
	case IDLC_BITFIELD:
		if (n->name && cl->idents &&
		    claim_name(cl->idents, idlc_gen_ident(g, n->name), n,
			       "") < 0)
			return -1;
		break;
	default:
		return 0;
	}
	/* enumerators, flags and the types declared inside a struct,
	 * union or exception */
	for (m = n->children; m; m = m->next)
		if (claim_tree(cl, m) < 0)
			return -1;
	return 0;
}

/* Claim the C names of n and of what it declares inside; its repository
 * id macro unless its own name collided (one diagnostic is enough). */
static int claim_tree(claims *cl, const idlc_node *n)
{
	int errors = cl->errors;

	if (claim_decl(cl, n) < 0)
		return -1;
	if (cl->errors == errors && idlc_gen_has_repo_macro(n) &&
	    claim_name(cl, idlc_arena_printf(cl->g->a, "%s_REPO_ID",
			idlc_gen_c_name(cl->g, n)), n,
		       "the repository id macro") < 0)
		return -1;
	return 0;
}

/* The claim of `name` in cl, or NULL. */
static const claim *find_claim(const claims *cl, const char *name)
{
	const claim *c;

	if (cl->n_slots == 0)
		return NULL;
	c = slot_of(cl->slots, cl->n_slots, name);
	return c->name ? c : NULL;
}

/* Collision check; see gen_int.h.  A constant is a macro: its C name
 * must not be the name of any member or parameter either. */
int idlc_gen_check_names(gen *g)
{
	claims idents = { .g = g, .set_only = true }, cl = { .g = g, .idents = &idents };
	const idlc_node *n;
	size_t i;
	int rc = 0;

	for (n = g->comp->root->children; n; n = n->next)
		if (!(n->flags & IDLC_F_BUILTIN) && claim_tree(&cl, n) < 0) {
			idlc_error(g->comp, NULL, "out of memory");
			rc = -1;
			goto done;
		}
	for (i = 0; i < cl.n_macros; i++) {
		const char *name = idlc_gen_c_name(g, cl.macros[i]);
		const claim *c = name ? find_claim(&idents, name) : NULL;
		if (c == NULL)
			continue;
		claim mine = { name, cl.macros[i], "" };
		idlc_error(g->comp, &cl.macros[i]->name_loc, "%s is the macro "
			   "'%s', which would replace the name of %s (rename "
			   "one)", claim_text(g, &mine), name, claim_text(g, c));
		idlc_note(g->comp, &c->node->name_loc, "'%s' is declared "
			  "here", c->node->name);
		cl.errors++;
	}
	rc = cl.errors ? -1 : 0;
done:
	talloc_free(cl.slots);
	talloc_free(idents.slots);
	talloc_free(cl.macros);
	return rc;
}

/* Hash the C names of the declarations of n that the main file makes. */
static uint32_t decl_hash(gen *g, const idlc_node *n, uint32_t h)
{
	const char *s;

	for (; n; n = n->next) {
		if (n->flags & IDLC_F_BUILTIN ||
		    strcmp(n->loc.file, g->comp->main_file) != 0)
			continue;
		if (n->kind == IDLC_MODULE) {
			h = decl_hash(g, n->children, h);
			continue;
		}
		s = idlc_gen_c_name(g, n);
		h = idlc_gen_hash(";", idlc_gen_hash(s ? s : "", h));
	}
	return h;
}

/* Include guard; see gen_int.h. */
char *idlc_gen_guard(gen *g, const char *base)
{
	char *guard = idlc_arena_printf(g->a, "SHADE_IDL_%s_%08X_H", base,
					(unsigned)decl_hash(g,
						g->comp->root->children,
						IDLC_GEN_HASH_SEED)), *p;

	for (p = guard; p && *p; p++)
		*p = (char)((*p >= 'a' && *p <= 'z') ? *p - 32 :
			    ((*p >= 'A' && *p <= 'Z') ||
			     (*p >= '0' && *p <= '9')) ? *p : '_');
	return guard;
}

/* ---------------------------------------------------------------- includes */

/* `path` without `dir` and a '/' in front, or NULL when dir is not a
 * prefix of it. */
static const char *under(const char *path, const char *dir, size_t len)
{
	if (len == 0 || strncmp(path, dir, len) != 0)
		return NULL;
	if (dir[len - 1] == '/')
		return path + len;
	return path[len] == '/' ? path + len + 1 : NULL;
}

/* Header an included IDL file stands for; see gen_int.h. */
char *idlc_gen_include_name(gen *g, const char *file)
{
	const idlc_compilation *comp = g->comp;
	const char *main_slash = strrchr(comp->main_file, '/');
	const char *best = NULL, *r, *dot, *slash;
	size_t i;

	/* the directory of the main file, then each -I directory: the
	 * shortest remainder is the path as an #include names it */
	if (main_slash)
		best = under(file, comp->main_file,
			     (size_t)(main_slash - comp->main_file));
	else if (file[0] != '/')
		best = file;
	for (i = 0; i < comp->opts.n_include_dirs; i++) {
		const char *d = comp->opts.include_dirs[i];
		r = under(file, d, strlen(d));
		if (r && (best == NULL || strlen(r) < strlen(best)))
			best = r;
	}
	if (best == NULL) {
		slash = strrchr(file, '/');
		best = slash ? slash + 1 : file;
	}
	while (best[0] == '.' && best[1] == '/')
		best += 2;
	slash = strrchr(best, '/');
	dot = strrchr(slash ? slash : best, '.');
	return idlc_arena_printf(g->a, "%.*s.h", (int)(dot ? (size_t)(dot - best)
							   : strlen(best)),
				 best);
}
