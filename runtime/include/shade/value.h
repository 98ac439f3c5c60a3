/*
 * shade/value.h - the tagged value model (doc/api.md §3, doc/protocol.md §7).
 *
 * A shade_value is 16 bytes: a one-byte tag, a 32-bit length and an
 * 8-byte union.  Kinds:
 *
 *   SHADE_NONE   nothing                      u unused
 *   SHADE_BOOL   true / false                 u.b
 *   SHADE_INT    signed 64-bit integer        u.i
 *   SHADE_FLOAT  IEEE 754 double              u.f
 *   SHADE_STR    UTF-8 text, validated        u.s, len (bytes)
 *   SHADE_BYTES  byte string                  u.p, len
 *   SHADE_TUPLE  immutable-by-convention seq  u.seq
 *   SHADE_LIST   mutable sequence (snapshot)  u.seq
 *   SHADE_DICT   insertion-ordered map        u.dict
 *   SHADE_REF    object reference             u.ref (object layer)
 *   SHADE_EXC    exception                    u.exc (a shade_error)
 *
 * Tag bit layout (shade_value.tag):
 *
 *   bits 0-3  kind (enum shade_kind, 0..10)
 *   bit  4    SHADE_VF_BORROWED: str/bytes data is not owned by this value.
 *             It lives either in a decoded frame the caller keeps alive
 *             (zero-copy decoding) or in storage owned by the outermost
 *             container the value was decoded into.  Never freed through
 *             this value; valid as long as that owner lives.
 *   bit  5    SHADE_VF_NUL: str data is followed by a NUL byte, so u.s is
 *             usable as a C string (always set for owned strings; clear
 *             for strings borrowed from a frame).
 *   bit  6    SHADE_VF_BYVALUE: this list or dict crosses the wire by
 *             value (a snapshot) where the default would send it by
 *             reference (doc/api.md, "Copy rules").  Kept by copies.
 *   bit  7    SHADE_VF_VIEW: str/bytes data lies inside a larger talloc
 *             block the value owns (a received frame it took over when
 *             it was decoded, so the bytes were not copied out of it);
 *             reserved_ holds the data's offset in that block (24 bits,
 *             little-endian).  Copies own their data as usual.
 *
 * Boxes and slots.  Constructors return a *box*: a talloc object of type
 * shade_value allocated on mem_ctx, whose payload (owned string bytes,
 * container storage, error object) hangs below it as talloc children, so
 * talloc_free(box) (or shade_value_free) releases everything.  Tuples,
 * lists and dicts store their elements INLINE as an array of shade_value
 * (*slots*), not as boxes: a slot is not a talloc object; its payload
 * hangs below the container's storage.  Getters return `const
 * shade_value *` pointing at a slot: a borrowed view, valid until the
 * container is modified or freed.  To keep a slot, copy it with
 * shade_value_copy().
 *
 * Ownership rule for insertion (one rule everywhere):
 *   - functions taking `const shade_value *v` DEEP-COPY v: the caller
 *     keeps v; borrowed strings become owned copies; refs are retained;
 *   - functions whose name ends in `_take` MOVE a box: its payload is
 *     transferred into the container and the box itself is freed, on
 *     success AND on failure (so `shade_seq_append_take(l, shade_int(ctx,
 *     1), err)` never leaks).  The box must not be a slot.
 *
 * Equality is structural and follows the CBOR data model: same kind and
 * same content.  So int 1, float 1.0 and true are three different values;
 * floats compare by bit pattern except that every NaN equals every NaN
 * (0.0 and -0.0 differ); tuple and list with the same items differ;
 * dicts are equal when they hold the same key/value pairs in any order;
 * refs are equal when they are the same pointer; exceptions when name,
 * message, args and chain are equal.
 *
 * Hashable kinds (usable as dict keys): none, bool, int, float, str,
 * bytes, and tuples whose items are all hashable.  Dict keys are stored
 * as copies, so a key cannot change while in a dict.
 *
 * API argument checks (kind of the value passed to an accessor) are
 * assertions compiled in when SHADE_DEBUG is defined.
 *
 * Values are not synchronised: several threads may read one value at the
 * same time, but a value being modified must not be touched by any other
 * thread.  Ref retain/release calls go to the object layer, which makes
 * them thread-safe as it needs.
 *
 * Exception names and messages are C strings: a U+0000 in them ends
 * them (arguments are values and may hold any text).
 */
#ifndef SHADE_VALUE_H
#define SHADE_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <talloc.h>

#include "shade/error.h"
#include "shade/visibility.h"

#ifdef SHADE_DEBUG
#include <assert.h>
#define SHADE_API_CHECK(cond) assert(cond)
#else
#define SHADE_API_CHECK(cond) ((void)0)
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* The kinds of value; stored in the low 4 bits of shade_value.tag. */
typedef enum shade_kind {
	SHADE_NONE = 0,   /* null */
	SHADE_BOOL = 1,   /* boolean */
	SHADE_INT = 2,    /* int64_t */
	SHADE_FLOAT = 3,  /* double */
	SHADE_STR = 4,    /* UTF-8 text */
	SHADE_BYTES = 5,  /* byte string */
	SHADE_TUPLE = 6,  /* sequence, by value on the wire */
	SHADE_LIST = 7,   /* mutable sequence (a by-value snapshot) */
	SHADE_DICT = 8,   /* insertion-ordered map */
	SHADE_REF = 9,    /* reference to an object (object layer) */
	SHADE_EXC = 10    /* exception (a shade_error) */
} shade_kind;

#define SHADE_KIND_MASK   0x0fu /* tag bits holding the kind */
#define SHADE_VF_BORROWED 0x10u /* str/bytes data not owned by the value */
#define SHADE_VF_NUL      0x20u /* str data is NUL-terminated */
#define SHADE_VF_BYVALUE  0x40u /* list/dict crosses by value */
#define SHADE_VF_VIEW     0x80u /* str/bytes data inside a block it owns */

/* Longest str or bytes a value can hold (the length field is 32 bits). */
#define SHADE_STR_MAX UINT32_MAX

struct shade_seq;   /* tuple/list storage, private to runtime/value */
struct shade_dict;  /* dict storage, private to runtime/value */
struct shade_ref;   /* defined by the object layer; see shade_ref_head */

/* A value (box or slot).  16 bytes; see the bit layout above. */
typedef struct shade_value {
	uint8_t tag;          /* kind in bits 0-3, SHADE_VF_* flags above */
	uint8_t reserved_[3]; /* zero; SHADE_VF_VIEW: the data's offset */
	uint32_t len;         /* str/bytes length in bytes; 0 otherwise */
	union {
		bool b;                  /* SHADE_BOOL */
		int64_t i;               /* SHADE_INT */
		double f;                /* SHADE_FLOAT */
		const char *s;           /* SHADE_STR data (len bytes) */
		const uint8_t *p;        /* SHADE_BYTES data (len bytes) */
		struct shade_seq *seq;   /* SHADE_TUPLE, SHADE_LIST */
		struct shade_dict *dict; /* SHADE_DICT */
		struct shade_ref *ref;   /* SHADE_REF */
		struct shade_error *exc; /* SHADE_EXC */
	} u;                          /* payload, selected by the kind */
} shade_value;

/* ------------------------------------------------------------ references
 *
 * The value model does not know what a reference is; it only holds one.
 * The object layer defines `struct shade_ref`, whose FIRST member must be
 * a shade_ref_head, so the value model can reach the operations below.
 * A value holding a ref owns one "holder" count on it: creating or
 * copying such a value calls retain, freeing it calls release.
 */
typedef struct shade_ref_ops {
	/* Add one holder to ref. */
	void (*retain)(struct shade_ref *ref);
	/* Drop one holder; the object layer frees ref on the last one. */
	void (*release)(struct shade_ref *ref);
	/* Describe ref for shade_value_diag() (e.g. `200([7, "Account"])`),
	 * allocated on mem_ctx; NULL means "use a generic text". May be
	 * NULL itself. */
	char *(*describe)(TALLOC_CTX *mem_ctx, const struct shade_ref *ref);
} shade_ref_ops;

/* The common beginning of every struct shade_ref. */
typedef struct shade_ref_head {
	const shade_ref_ops *ops; /* never NULL */
} shade_ref_head;

/* ------------------------------------------------------------ accessors */

/* The kind of v. */
static inline shade_kind shade_value_kind(const shade_value *v)
{
	return (shade_kind)(v->tag & SHADE_KIND_MASK);
}

/* True when v's str/bytes data is borrowed (see SHADE_VF_BORROWED). */
static inline bool shade_value_is_borrowed(const shade_value *v)
{
	return (v->tag & SHADE_VF_BORROWED) != 0;
}

/* True when list or dict v is marked to cross by value
 * (SHADE_VF_BYVALUE). */
static inline bool shade_value_is_byvalue(const shade_value *v)
{
	return (v->tag & SHADE_VF_BYVALUE) != 0;
}

/* Mark list or dict v to cross the wire by value (on) or by the default
 * rule (off); no effect on other kinds, which the rule never shares. */
static inline void shade_value_set_byvalue(shade_value *v, bool on)
{
	unsigned k = v->tag & SHADE_KIND_MASK;

	if (k != SHADE_LIST && k != SHADE_DICT)
		return;
	v->tag = (uint8_t)(on ? v->tag | SHADE_VF_BYVALUE
			      : v->tag & ~SHADE_VF_BYVALUE);
}

/* The boolean in a SHADE_BOOL value. */
static inline bool shade_value_as_bool(const shade_value *v)
{
	SHADE_API_CHECK(shade_value_kind(v) == SHADE_BOOL);
	return v->u.b;
}

/* The integer in a SHADE_INT value. */
static inline int64_t shade_value_as_int(const shade_value *v)
{
	SHADE_API_CHECK(shade_value_kind(v) == SHADE_INT);
	return v->u.i;
}

/* The double in a SHADE_FLOAT value. */
static inline double shade_value_as_float(const shade_value *v)
{
	SHADE_API_CHECK(shade_value_kind(v) == SHADE_FLOAT);
	return v->u.f;
}

/* The text of a SHADE_STR value (valid UTF-8, `*len` bytes, may hold
 * U+0000).  Not NUL-terminated when borrowed from a frame: use
 * shade_value_cstr() or `len`.  Owned by v; len may be NULL. */
static inline const char *shade_value_as_str(const shade_value *v,
					     size_t *len)
{
	SHADE_API_CHECK(shade_value_kind(v) == SHADE_STR);
	if (len != NULL)
		*len = v->len;
	return v->u.s;
}

/* The text of a SHADE_STR value as a C string when it is NUL-terminated
 * (SHADE_VF_NUL), NULL otherwise (see shade_value_strdup()). */
static inline const char *shade_value_cstr(const shade_value *v)
{
	SHADE_API_CHECK(shade_value_kind(v) == SHADE_STR);
	return (v->tag & SHADE_VF_NUL) ? v->u.s : NULL;
}

/* The data of a SHADE_BYTES value (`*len` bytes, owned by v). */
static inline const uint8_t *shade_value_as_bytes(const shade_value *v,
						  size_t *len)
{
	SHADE_API_CHECK(shade_value_kind(v) == SHADE_BYTES);
	if (len != NULL)
		*len = v->len;
	return v->u.p;
}

/* The reference in a SHADE_REF value (owned by v: retain it to keep). */
static inline struct shade_ref *shade_value_as_ref(const shade_value *v)
{
	SHADE_API_CHECK(shade_value_kind(v) == SHADE_REF);
	return v->u.ref;
}

/* The error in a SHADE_EXC value (owned by v). */
static inline const struct shade_error *shade_value_as_exc(
	const shade_value *v)
{
	SHADE_API_CHECK(shade_value_kind(v) == SHADE_EXC);
	return v->u.exc;
}

/* True for SHADE_TUPLE and SHADE_LIST. */
static inline bool shade_value_is_seq(const shade_value *v)
{
	shade_kind k = shade_value_kind(v);
	return k == SHADE_TUPLE || k == SHADE_LIST;
}

/* Unboxed scalar values, for stack use and for passing to the copying
 * insert functions without an allocation:
 *     shade_value one = shade_value_int(1);
 *     shade_seq_append(list, &one, &err);                              */
static inline shade_value shade_value_none(void)
{
	shade_value v;

	memset(&v, 0, sizeof v);
	v.tag = SHADE_NONE;
	v.u.i = 0;
	return v;
}

/* Unboxed bool (see shade_value_none). */
static inline shade_value shade_value_bool(bool b)
{
	shade_value v;

	memset(&v, 0, sizeof v);
	v.tag = SHADE_BOOL;
	v.u.b = b;
	return v;
}

/* Unboxed int (see shade_value_none). */
static inline shade_value shade_value_int(int64_t i)
{
	shade_value v;

	memset(&v, 0, sizeof v);
	v.tag = SHADE_INT;
	v.u.i = i;
	return v;
}

/* Unboxed float (see shade_value_none). */
static inline shade_value shade_value_float(double f)
{
	shade_value v;

	memset(&v, 0, sizeof v);
	v.tag = SHADE_FLOAT;
	v.u.f = f;
	return v;
}

/* ------------------------------------------------------------ constructors
 *
 * Each returns a new box on mem_ctx (owned by the caller, free with
 * talloc_free or shade_value_free), or NULL when out of memory or, for
 * text, when the input is not valid UTF-8.
 */

/* A none box. */
SHADE_API shade_value *shade_none(TALLOC_CTX *mem_ctx);
/* A bool box. */
SHADE_API shade_value *shade_bool(TALLOC_CTX *mem_ctx, bool b);
/* An int box. */
SHADE_API shade_value *shade_int(TALLOC_CTX *mem_ctx, int64_t i);
/* A float box. */
SHADE_API shade_value *shade_float(TALLOC_CTX *mem_ctx, double f);

/* A str box copying the C string s; NULL if s is NULL or not UTF-8
 * (shade_str_new() says which). */
SHADE_API shade_value *shade_str(TALLOC_CTX *mem_ctx, const char *s);

/* Like shade_str() but reports a failure at construction: *out is a new
 * str box on mem_ctx, or NULL with SHADE_ERR_UTF8 ("invalid UTF-8 at
 * byte offset N"), SHADE_ERR_LIMIT, SHADE_ERR_NOMEM, or SHADE_ERR_INVALID
 * when s or out is NULL. */
SHADE_API shade_status shade_str_new(TALLOC_CTX *mem_ctx, const char *s,
				     shade_value **out, shade_error **err);

/* A str box copying len bytes of s (may contain NUL); NULL if not
 * UTF-8 or longer than SHADE_STR_MAX. */
SHADE_API shade_value *shade_strn(TALLOC_CTX *mem_ctx, const char *s,
				  size_t len);

/* Like shade_strn() but reports why it failed: SHADE_ERR_UTF8 (message
 * names the byte offset), SHADE_ERR_LIMIT or SHADE_ERR_NOMEM. */
SHADE_API shade_value *shade_str_checked(TALLOC_CTX *mem_ctx, const char *s,
					 size_t len, shade_error **err);

/* A str box formatted with printf; NULL if the result is not UTF-8. */
SHADE_API shade_value *shade_str_printf(TALLOC_CTX *mem_ctx,
					const char *fmt, ...)
	SHADE_PRINTF(2, 3);

/* A str box that BORROWS s (validated, not copied): the caller keeps the
 * len bytes at s alive and unchanged for the life of the box. */
SHADE_API shade_value *shade_str_borrow(TALLOC_CTX *mem_ctx, const char *s,
					size_t len, shade_error **err);

/* A bytes box copying len bytes of p (p may be NULL when len is 0). */
SHADE_API shade_value *shade_bytes(TALLOC_CTX *mem_ctx, const void *p,
				   size_t len);

/* A bytes box BORROWING p (see shade_str_borrow). */
SHADE_API shade_value *shade_bytes_borrow(TALLOC_CTX *mem_ctx, const void *p,
					  size_t len);

/* An empty tuple with room for cap_hint items before it reallocates. */
SHADE_API shade_value *shade_tuple_new(TALLOC_CTX *mem_ctx, size_t cap_hint);

/* A tuple of n items deep-copied from items[0..n-1] (NULL entries are
 * taken as none). */
SHADE_API shade_value *shade_tuple_from(TALLOC_CTX *mem_ctx, size_t n,
					const shade_value *const *items);

/* An empty list with room for cap_hint items. */
SHADE_API shade_value *shade_list_new(TALLOC_CTX *mem_ctx, size_t cap_hint);

/* An empty dict with room for cap_hint entries. */
SHADE_API shade_value *shade_dict_new(TALLOC_CTX *mem_ctx, size_t cap_hint);

/* A ref box holding ref (retains it: the caller keeps its own count). */
SHADE_API shade_value *shade_ref_value(TALLOC_CTX *mem_ctx,
				       struct shade_ref *ref);

/* A ref box taking over one holder count the caller already has. */
SHADE_API shade_value *shade_ref_value_take(TALLOC_CTX *mem_ctx,
					    struct shade_ref *ref);

/* An exception box holding a deep copy of e (name, message, args,
 * chain; code and category kept). */
SHADE_API shade_value *shade_exc(TALLOC_CTX *mem_ctx, const shade_error *e);

/* An exception box taking e over (talloc_steal): the caller must not
 * free e afterwards.  On NULL return e has been freed. */
SHADE_API shade_value *shade_exc_take(TALLOC_CTX *mem_ctx, shade_error *e);

/* ------------------------------------------------------------ generic */

/* Deep copy of v (box or slot) as a new box on mem_ctx: strings owned
 * (borrowed data copied), containers copied, refs retained, errors
 * copied.  NULL when out of memory. */
SHADE_API shade_value *shade_value_copy(TALLOC_CTX *mem_ctx,
					const shade_value *v);

/* A box on mem_ctx for v that BORROWS v's data when v is a str or bytes
 * (no copy, no UTF-8 check: see shade_str_borrow), valid while v is;
 * for any other kind, shade_value_copy(mem_ctx, v).  For a handler
 * that hands back an argument (doc/api.md, "Handlers"):
 * `call->result = shade_value_borrow(call->mem, x)`.  NULL when v is
 * NULL or out of memory. */
SHADE_API shade_value *shade_value_borrow(TALLOC_CTX *mem_ctx,
					  const shade_value *v);

/* Free a box and everything it owns (releasing refs).  NULL is fine.
 * Same as talloc_free(v). */
SHADE_API void shade_value_free(shade_value *v);

/* Length of a str/bytes (bytes), tuple/list (items) or dict (entries);
 * 0 for the other kinds. */
SHADE_API size_t shade_value_len(const shade_value *v);

/* A NUL-terminated copy of a str value's text on mem_ctx (a str holding
 * U+0000 is cut there); NULL when out of memory or v is not a str. */
SHADE_API char *shade_value_strdup(TALLOC_CTX *mem_ctx, const shade_value *v);

/* Structural equality (see the top of this file). */
SHADE_API bool shade_value_equal(const shade_value *a, const shade_value *b);

/* True when v can be a dict key (see the top of this file). */
SHADE_API bool shade_value_is_hashable(const shade_value *v);

/* 64-bit hash of a hashable value, consistent with shade_value_equal
 * (equal values hash equal).  Stable across processes and versions
 * only within a build: do not put it on the wire.  0 for unhashable. */
SHADE_API uint64_t shade_value_hash(const shade_value *v);

/* v in CBOR diagnostic notation (RFC 8949 §8), e.g.
 * `[1, "a", h'00ff', 203([true]), {"k": null}, 1.5, -Infinity]`,
 * allocated on mem_ctx.  Lists print as 203(...), exceptions as
 * 202([name, message, args, chain]).  NULL when out of memory. */
SHADE_API char *shade_value_diag(TALLOC_CTX *mem_ctx, const shade_value *v);

/* The name of a kind ("none", "bool", "int", "float", "str", "bytes",
 * "tuple", "list", "dict", "ref", "exc"); never NULL. */
SHADE_API const char *shade_kind_name(shade_kind kind);

/* Validate UTF-8 (RFC 3629: no overlongs, no surrogates, <= U+10FFFF).
 * Returns SHADE_OK, or SHADE_ERR_UTF8 and sets *bad_offset to the offset
 * of the first byte of the offending sequence (bad_offset may be NULL). */
SHADE_API shade_status shade_utf8_check(const void *s, size_t len,
					size_t *bad_offset);

/* Write the UTF-8 encoding of code point cp into out; returns its length
 * (1 to 4), or 0 when cp is a surrogate or over U+10FFFF. */
SHADE_API size_t shade_utf8_encode(uint32_t cp, char out[4]);

/* ------------------------------------------------------------ sequences
 *
 * These work on tuples and lists alike ("seq").  Index arguments of type
 * int64_t follow Python: negative counts from the end; out of range is
 * SHADE_ERR_INDEX.  Passing a value of another kind is SHADE_ERR_TYPE.
 */

/* Number of items of a tuple or list (0 for other kinds). */
SHADE_API size_t shade_seq_len(const shade_value *seq);

/* The item array of a tuple or list (`*len` items; NULL when empty).
 * Borrowed view, valid until seq is modified. */
SHADE_API const shade_value *shade_seq_items(const shade_value *seq,
					     size_t *len);

/* Item i (0 <= i < len) of a tuple or list, NULL when out of range.
 * Borrowed view, valid until seq is modified. */
SHADE_API const shade_value *shade_seq_at(const shade_value *seq, size_t i);

/* Item at a Python-style index into *out (borrowed view). */
SHADE_API shade_status shade_seq_get(const shade_value *seq, int64_t index,
				     const shade_value **out,
				     shade_error **err);

/* Append a deep copy of v. */
SHADE_API shade_status shade_seq_append(shade_value *seq, const shade_value *v,
					shade_error **err);

/* Append box v, moving it (v is freed in every case). */
SHADE_API shade_status shade_seq_append_take(shade_value *seq, shade_value *v,
					     shade_error **err);

/* Append a str copied from s (len bytes), validating UTF-8. */
SHADE_API shade_status shade_seq_append_str(shade_value *seq, const char *s,
					    size_t len, shade_error **err);

/* Replace the item at index with a deep copy of v. */
SHADE_API shade_status shade_seq_set(shade_value *seq, int64_t index,
				     const shade_value *v, shade_error **err);

/* Replace the item at index with box v, moving it (v freed always). */
SHADE_API shade_status shade_seq_set_take(shade_value *seq, int64_t index,
					  shade_value *v, shade_error **err);

/* Insert a deep copy of v before index (Python list.insert: an index
 * past either end is clamped, never an error). */
SHADE_API shade_status shade_seq_insert(shade_value *seq, int64_t index,
					const shade_value *v,
					shade_error **err);

/* Remove (and free) the item at index; later items move down. */
SHADE_API shade_status shade_seq_delete(shade_value *seq, int64_t index,
					shade_error **err);

/* Reverse the items of seq in place.  SHADE_ERR_TYPE unless a tuple or
 * list. */
SHADE_API shade_status shade_seq_reverse(shade_value *seq, shade_error **err);

/* Remove every item of seq (a tuple or list), or every entry of a dict.
 * SHADE_ERR_TYPE for any other kind. */
SHADE_API shade_status shade_value_clear(shade_value *v, shade_error **err);

/* True when some item equals v. */
SHADE_API bool shade_seq_contains(const shade_value *seq,
				  const shade_value *v);

/* ------------------------------------------------------------ dicts
 *
 * Insertion-ordered (setting an existing key keeps its position; deleting
 * and re-adding moves it to the end), compact storage with an open-
 * addressing index.  Keys must be hashable (SHADE_ERR_TYPE otherwise).
 */

/* Number of entries (0 for other kinds). */
SHADE_API size_t shade_dict_len(const shade_value *dict);

/* The value for key, or NULL when absent or key is unhashable.
 * Borrowed view, valid until dict is modified. */
SHADE_API const shade_value *shade_dict_get(const shade_value *dict,
					    const shade_value *key);

/* Like shade_dict_get with a str key given as C string. */
SHADE_API const shade_value *shade_dict_get_str(const shade_value *dict,
						const char *key);

/* The value for key into *out; SHADE_ERR_KEY when absent,
 * SHADE_ERR_TYPE when key is unhashable. */
SHADE_API shade_status shade_dict_lookup(const shade_value *dict,
					 const shade_value *key,
					 const shade_value **out,
					 shade_error **err);

/* Set dict[key] to a deep copy of val (key copied too). */
SHADE_API shade_status shade_dict_set(shade_value *dict, const shade_value *key,
				      const shade_value *val,
				      shade_error **err);

/* Set dict[key] = val moving both boxes (both freed in every case). */
SHADE_API shade_status shade_dict_set_take(shade_value *dict, shade_value *key,
					   shade_value *val,
					   shade_error **err);

/* Set dict[key] (a C string, validated) to a deep copy of val. */
SHADE_API shade_status shade_dict_set_str(shade_value *dict, const char *key,
					  const shade_value *val,
					  shade_error **err);

/* Remove key and its value; SHADE_ERR_KEY when absent. */
SHADE_API shade_status shade_dict_delete(shade_value *dict,
					 const shade_value *key,
					 shade_error **err);

/* True when key is present. */
SHADE_API bool shade_dict_contains(const shade_value *dict,
				   const shade_value *key);

/* Iterate in insertion order: start with *pos = 0; each call returns
 * true and sets *key, *val (borrowed views; either may be NULL) for the
 * next entry, false at the end.  The dict must not change meanwhile. */
SHADE_API bool shade_dict_next(const shade_value *dict, size_t *pos,
			       const shade_value **key,
			       const shade_value **val);

/* ------------------------------------------------------------ errors */

/*
 * Attach a copy of v (NULL: none) under `name` to the latest site of
 * *err (the one SHADE_RAISE or SHADE_ERROR_FRAME recorded last; a site
 * without a place when there is none): the C counterpart of a frame's
 * locals, shown by shade_error_describe and, to a peer that asked for a
 * post-mortem, by the frames of the remote traceback.  A name attached
 * twice keeps the last value.  SHADE_ERR_INVALID when err, *err or name
 * is NULL; SHADE_ERR_NOMEM.
 */
SHADE_API shade_status shade_error_attach(shade_error **err, const char *name,
					  const shade_value *v);

#ifdef __cplusplus
}
#endif

#endif /* SHADE_VALUE_H */
