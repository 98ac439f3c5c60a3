/*
 * shade/shape.h - shape descriptors and fingerprints (doc/protocol.md §8).
 *
 * A shape is the set of members of a type: its kind, qualified name,
 * ancestors, members (name, kind, optional type signature, optional doc
 * string) and optional doc string.  Its fingerprint is the 64-bit FNV-1a
 * hash of the deterministic CBOR encoding of the canonical array
 *
 *     [kind, name, [base...], [member...]] or [kind, name, [base...],
 *     [member...], doc], each member [name, mkind], [name, mkind, sig]
 *     or [name, mkind, sig or null, doc]
 *
 * A doc string is part of the shape: a NULL doc adds nothing to the
 * encoding, so shapes without docs keep their fingerprints.
 *
 * Member order is declaration order and defines the member indexes that
 * INVOKE/GETATTR/SETATTR may use on the wire.
 *
 * Declared shapes are `static const shade_shape_desc` tables emitted by
 * shade-idlc with the fingerprint precomputed; shade_shape_fingerprint()
 * computes it at run time so a test can check the two agree:
 *
 *     static const char *const acct_bases[] = { "bank.Base" };
 *     static const shade_member_desc acct_members[] = {
 *         { "balance", SHADE_MEMBER_READONLY, "long long", NULL },
 *         { "deposit", SHADE_MEMBER_METHOD, "(in long long)->void",
 *           "Add an amount to the balance." },
 *     };
 *     static const shade_shape_desc bank_Account_shape = {
 *         SHADE_SHAPE_OBJECT, "bank.Account", acct_bases, 1,
 *         acct_members, 2, UINT64_C(0x...), "A bank account." };
 *
 * Shapes learnt from a peer are shade_shape_desc values allocated with
 * talloc (shade_shape_copy), with every string below the descriptor.
 */
#ifndef SHADE_SHAPE_H
#define SHADE_SHAPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shade/error.h"
#include "shade/visibility.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What kind of thing a shape describes (wire values, never renumber). */
typedef enum shade_shape_kind {
	SHADE_SHAPE_OBJECT = 0,   /* an object with members */
	SHADE_SHAPE_FUNCTION = 1, /* a callable: function or bound method */
	SHADE_SHAPE_TYPE = 2,     /* a type: callable, creates instances */
	SHADE_SHAPE_LIST = 3,     /* a list by reference */
	SHADE_SHAPE_DICT = 4      /* a dict by reference */
} shade_shape_kind;

/* What kind of member (wire values, never renumber). */
typedef enum shade_member_kind {
	SHADE_MEMBER_ATTR = 0,     /* read/write attribute */
	SHADE_MEMBER_READONLY = 1, /* readonly attribute */
	SHADE_MEMBER_METHOD = 2,   /* method: one round trip per call */
	SHADE_MEMBER_ONEWAY = 3    /* method without a reply */
} shade_member_kind;

/* One member of a shape. */
typedef struct shade_member_desc {
	const char *name;       /* member name, UTF-8, unique in the shape */
	shade_member_kind kind; /* attribute, readonly, method or oneway */
	const char *signature;  /* declared type text, or NULL if undeclared */
	const char *doc;        /* doc string, UTF-8, or NULL for none */
} shade_member_desc;

/* A shape.  Usable as `static const` data. */
typedef struct shade_shape_desc {
	shade_shape_kind kind;             /* object, function, type... */
	const char *name;                  /* qualified type name */
	const char *const *bases;          /* every ancestor, nearest first */
	size_t n_bases;                    /* entries in bases */
	const shade_member_desc *members;  /* members in declaration order */
	size_t n_members;                  /* entries in members */
	uint64_t fingerprint;              /* FNV-1a 64 of the canonical
					    * form; 0 = not computed yet */
	const char *doc;                   /* doc string of the type, UTF-8,
					    * or NULL for none */
} shade_shape_desc;

/* FNV-1a 64 parameters used for fingerprints. */
#define SHADE_FNV64_OFFSET UINT64_C(0xcbf29ce484222325)
#define SHADE_FNV64_PRIME UINT64_C(0x100000001b3)

/* Built-in shapes every peer knows (doc/protocol.md §8.2). */
SHADE_API extern const shade_shape_desc shade_shape_function;
SHADE_API extern const shade_shape_desc shade_shape_list;
SHADE_API extern const shade_shape_desc shade_shape_dict;

/*
 * Compute the fingerprint of d from its canonical form (ignoring
 * d->fingerprint).  SHADE_ERR_INVALID when a name is NULL or not UTF-8 or
 * a kind is out of range; SHADE_ERR_NOMEM.
 */
SHADE_API shade_status shade_shape_fingerprint(const shade_shape_desc *d,
					       uint64_t *out,
					       shade_error **err);

/*
 * The canonical CBOR encoding of d, a new talloc byte array on mem_ctx
 * (talloc_get_size() is its length) in *out.  Same errors as above.
 */
SHADE_API shade_status shade_shape_canonical(void *mem_ctx,
					     const shade_shape_desc *d,
					     uint8_t **out, shade_error **err);

/* The fingerprint of d: d->fingerprint when set, else computed (0 on
 * failure). */
SHADE_API uint64_t shade_shape_fp(const shade_shape_desc *d);

/* Index of the member called name in d, or -1. */
SHADE_API long shade_shape_find(const shade_shape_desc *d, const char *name);

/*
 * A deep copy of d on mem_ctx (strings included), with the fingerprint
 * filled in.  NULL when out of memory.
 */
SHADE_API shade_shape_desc *shade_shape_copy(void *mem_ctx,
					     const shade_shape_desc *d);

/* True when an object of shape d is an instance of type name `type`:
 * d's name is `type` or `type` is one of its bases. */
SHADE_API bool shade_shape_is_a(const shade_shape_desc *d, const char *type);

/*
 * Narrowing check: can an object of shape `have` (what the peer sent) be
 * used through the interface `want` (a declared descriptor)?  True when
 * the fingerprints are equal (fast path), or when every member of want
 * exists in have by name with a compatible kind (equal, or attribute for
 * a wanted readonly, or method for a wanted oneway) and, when both declare
 * a signature, the same signature (names of the types need not match:
 * the check is structural).  When map is non-NULL (want->n_members entries), map[i] is set
 * to the index in `have` of want's member i.  SHADE_ERR_TYPE with a
 * message naming the first missing or mismatched member otherwise.
 */
SHADE_API shade_status shade_shape_check(const shade_shape_desc *have,
					 const shade_shape_desc *want,
					 uint32_t *map, shade_error **err);

/* Name of a member kind ("attribute", "readonly", "method", "oneway"). */
SHADE_API const char *shade_member_kind_name(shade_member_kind kind);

#ifdef __cplusplus
}
#endif

#endif /* SHADE_SHAPE_H */
