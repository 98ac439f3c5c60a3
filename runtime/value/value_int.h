/*
 * value_int.h - value model internals shared by the files of
 * runtime/value and by the codec.  Not installed.
 *
 * The files of runtime/value, lowest first; each calls only files
 * above it in this list (deep copy and equality recurse through the
 * containers by passing themselves down as function pointers):
 *   slot.c      slot ownership, string storage, ref holder counts
 *   hash.c      hashing and key equality (hashable values)
 *   seq.c       tuple/list storage, its copy and equality
 *   dict.c      dict storage, its copy and equality
 *   copy.c      deep copy of any value (dispatch)
 *   box.c       boxes of scalars, strings, bytes, refs, exceptions
 *   compare.c   equality of any values (dispatch)
 *   seq_api.c   public tuple/list API
 *   diag.c      diagnostic notation
 *   dict_api.c  public dict API
 *
 * Invariants:
 *   - a slot's owned payload (owned str/bytes data, seq, dict, error) is
 *     a talloc child of its "owner": the box for a box, the container's
 *     shade_seq / shade_dict struct for a slot inside a container;
 *   - a str or bytes of 1 to SHADE_SEQ_TEXT_MAX bytes stored into a
 *     tuple or list lies in the sequence's text chunks (`text`, below
 *     the shade_seq; SHADE_VF_BORROWED); an item dropped leaves its
 *     text there (`text_dead`) until the chunks are rewritten, which
 *     happens once the dead bytes pass the live ones (and 4 KiB);
 *   - a container whose `has_refs` is set releases the refs in its
 *     slots from its talloc destructor; a box of kind SHADE_REF has a
 *     destructor releasing its ref;
 *   - empty strings and bytes point at a static "" and carry
 *     SHADE_VF_BORROWED (there is nothing to free);
 *   - dict entries with the key tag SHADE_DELETED_ are holes left by a
 *     delete; `used` counts entries including holes.
 */
#ifndef SHADE_VALUE_INT_H
#define SHADE_VALUE_INT_H

#include "shade/value.h"

/* Internal kind marking a deleted dict entry (never visible outside). */
#define SHADE_DELETED_ 15

/* Marks in the dict index. */
#define SHADE_IX_EMPTY UINT32_MAX        /* never used */
#define SHADE_IX_DUMMY (UINT32_MAX - 1)  /* was used, entry deleted */
/* Most entries a dict may hold (the index stores 32-bit positions). */
#define SHADE_DICT_MAX ((size_t)UINT32_MAX - 2)

/* The message when a _take function is handed NULL: usually a
 * constructor that failed just before. */
#define VALUE_NULL_TAKEN "NULL value to take (did its constructor fail? " \
	"shade_str() returns NULL on invalid UTF-8: shade_str_new() says why)"

/* Tuple and list storage. */
struct shade_seq {
	size_t len;          /* items in use */
	size_t cap;          /* items allocated at `items` */
	shade_value *items;  /* the slots: inline_ or a separate child block */
	bool has_refs;       /* some slot holds (or held) a ref */
	uint8_t *text;       /* first chunk of the short texts, or NULL */
	uint8_t *text_at;    /* free space in the newest text chunk */
	size_t text_left;    /* bytes free there */
	size_t text_used;    /* bytes taken in the chunks, dead ones too */
	size_t text_dead;    /* bytes of texts whose items were dropped */
	shade_value inline_[]; /* initial storage allocated with the struct */
};

/* Longest str or bytes a list keeps in its text chunks (seq.c). */
#define SHADE_SEQ_TEXT_MAX 64

/* One dict entry. */
struct shade_dict_entry {
	shade_value key;     /* the key (a slot), tag SHADE_DELETED_ if hole */
	shade_value val;     /* the value (a slot) */
	uint64_t hash;       /* shade_value_hash(&key) */
};

/* Dict storage: entries in insertion order plus an open-addressing
 * index of 2^k uint32 positions, both in one `table` block. */
struct shade_dict {
	size_t len;                       /* live entries */
	size_t used;                      /* entries used, holes included */
	size_t cap;                       /* entries allocated */
	struct shade_dict_entry *entries; /* cap entries (inside table) */
	uint32_t *index;                  /* mask+1 positions (inside table) */
	size_t mask;                      /* index size - 1 */
	void *table;                      /* the talloc block, or NULL */
	bool has_refs;                    /* some slot holds (or held) a ref */
};

/* The static empty string every empty str/bytes points at. */
SHADE_INTERNAL extern const char shade_empty_[1];

/* The kind of a slot, including SHADE_DELETED_. */
static inline unsigned shade_tag_kind_(const shade_value *v)
{
	return v->tag & SHADE_KIND_MASK;
}

/* Largest data offset a SHADE_VF_VIEW slot can record. */
#define SHADE_VIEW_OFFSET_MAX ((size_t)0xffffff)

/* The offset of a SHADE_VF_VIEW slot's data in the block it owns. */
static inline size_t shade_view_offset_(const shade_value *v)
{
	return (size_t)v->reserved_[0] | (size_t)v->reserved_[1] << 8 |
	       (size_t)v->reserved_[2] << 16;
}

/* Make slot v a view of len bytes at block + off (off at most
 * SHADE_VIEW_OFFSET_MAX), a str or bytes owning the talloc block
 * `block`; nul: a NUL byte follows the data. */
static inline void shade_slot_view_(shade_value *v, unsigned kind,
				    const uint8_t *block, size_t off,
				    uint32_t len, bool nul)
{
	v->tag = (uint8_t)(kind | SHADE_VF_VIEW | (nul ? SHADE_VF_NUL : 0));
	v->reserved_[0] = (uint8_t)off;
	v->reserved_[1] = (uint8_t)(off >> 8);
	v->reserved_[2] = (uint8_t)(off >> 16);
	v->len = len;
	v->u.p = block + off;
}

/* Make slot v the int i, field by field (no temporary: the hot loops
 * of the decoder write slots through this). */
static inline void shade_slot_int_(shade_value *v, int64_t i)
{
	v->tag = SHADE_INT;
	v->reserved_[0] = v->reserved_[1] = v->reserved_[2] = 0;
	v->len = 0;
	v->u.i = i;
}

/* Make slot v the float f, field by field (as shade_slot_int_). */
static inline void shade_slot_float_(shade_value *v, double f)
{
	v->tag = SHADE_FLOAT;
	v->reserved_[0] = v->reserved_[1] = v->reserved_[2] = 0;
	v->len = 0;
	v->u.f = f;
}

/* Deep-copies src into the slot dst under owner (shade_slot_copy_). */
typedef shade_status (*shade_slot_copy_fn)(TALLOC_CTX *owner, shade_value *dst,
					   const shade_value *src,
					   bool *has_ref);

/* Equality of two values (shade_value_equal). */
typedef bool (*shade_value_eq_fn)(const shade_value *a, const shade_value *b);

/* A new seq with room for cap items on owner, items inline. */
SHADE_INTERNAL struct shade_seq *shade_seq_alloc_(TALLOC_CTX *owner,
						  size_t cap);

/* Make room for at least `need` items in total (amortised doubling). */
SHADE_INTERNAL shade_status shade_seq_reserve_(struct shade_seq *s,
					       size_t need);

/* Make slot dst (kind str or bytes) a copy of len bytes at p stored
 * in s: in its text chunks when short (SHADE_SEQ_TEXT_MAX), else as
 * shade_slot_set_data_() does.  SHADE_ERR_NOMEM or SHADE_ERR_LIMIT. */
SHADE_INTERNAL shade_status shade_seq_set_text_(struct shade_seq *s,
						shade_value *dst,
						shade_kind kind,
						const void *p, size_t len);

/* Release what item i of s holds (it becomes none), counting its text
 * as dead when it lies in a text chunk. */
SHADE_INTERNAL void shade_seq_drop_(struct shade_seq *s, size_t i);

/* After items were dropped: rewrite the text chunks when the dead
 * bytes pass the live ones (and 4 KiB); when s is empty, free them. */
SHADE_INTERNAL void shade_seq_tidy_(struct shade_seq *s);

/* A new dict with room for cap entries on owner. */
SHADE_INTERNAL struct shade_dict *shade_dict_alloc_(TALLOC_CTX *owner,
						    size_t cap);

/* Insert key/val (slots already owned by d: moved in) unless key is
 * present.  Returns SHADE_OK, SHADE_ERR_NOMEM, SHADE_ERR_LIMIT, or
 * SHADE_AGAIN when key was present (nothing inserted; caller still
 * owns the slots' payloads, which hang below d). */
SHADE_INTERNAL shade_status shade_dict_add_new_(struct shade_dict *d,
						shade_value *key,
						shade_value *val,
						uint64_t hash);

/* Store key/val (slots owned by d) under hash, replacing the value of an
 * equal key.  On failure (SHADE_ERR_NOMEM, SHADE_ERR_LIMIT) both slots
 * are cleared. */
SHADE_INTERNAL shade_status shade_dict_store_(struct shade_dict *d,
					      shade_value *key,
					      shade_value *val, uint64_t hash);

/* Remove the entry whose key equals key (hash h); false when absent. */
SHADE_INTERNAL bool shade_dict_remove_(struct shade_dict *d,
				       const shade_value *key, uint64_t h);

/* Copy a seq / dict onto owner, each slot through copy; on failure
 * nothing is left allocated. */
SHADE_INTERNAL shade_status shade_seq_copy_(TALLOC_CTX *owner,
					    struct shade_seq **out,
					    const struct shade_seq *src,
					    shade_slot_copy_fn copy);
SHADE_INTERNAL shade_status shade_dict_copy_(TALLOC_CTX *owner,
					     struct shade_dict **out,
					     const struct shade_dict *src,
					     shade_slot_copy_fn copy);

/* Equality of two seqs (pairwise, in order) / dicts (same pairs, any
 * order), values compared with eq. */
SHADE_INTERNAL bool shade_seq_equal_(const struct shade_seq *a,
				     const struct shade_seq *b,
				     shade_value_eq_fn eq);
SHADE_INTERNAL bool shade_dict_equal_(const struct shade_dict *a,
				      const struct shade_dict *b,
				      shade_value_eq_fn eq);

/* Hash of v into *h (shade_value_hash); false when v is unhashable. */
SHADE_INTERNAL bool shade_value_hash_(const shade_value *v, uint64_t *h);

/* Equality of two hashable values (kinds none to bytes, and tuples of
 * those); false for any other kind. */
SHADE_INTERNAL bool shade_key_equal_(const shade_value *a,
				     const shade_value *b);

/* The live entry of d whose key equals key (hash h), or NULL. */
SHADE_INTERNAL const struct shade_dict_entry *shade_dict_find_(
	const struct shade_dict *d, const shade_value *key, uint64_t h);

/* Make slot dst (owner `owner`) a str or bytes of kind `kind` holding a
 * copy of len bytes at p (NUL-terminated; an empty one borrows ""). */
SHADE_INTERNAL shade_status shade_slot_set_data_(TALLOC_CTX *owner,
						 shade_value *dst,
						 shade_kind kind,
						 const void *p, size_t len);

/* Release whatever a slot owns and make it none. */
SHADE_INTERNAL void shade_slot_clear_(shade_value *v);

/* Deep-copy src into the slot dst, allocating under owner; sets
 * *has_ref when a ref was copied.  On failure dst is none. */
SHADE_INTERNAL shade_status shade_slot_copy_(TALLOC_CTX *owner,
					     shade_value *dst,
					     const shade_value *src,
					     bool *has_ref);

/* Turn a slot into a box on mem_ctx by moving: *box = *slot, payload
 * stolen onto the new box, the slot left none. */
SHADE_INTERNAL shade_value *shade_slot_box_(TALLOC_CTX *mem_ctx,
					    shade_value *slot);

/* Move box into the slot dst whose owner is `owner` (payload stolen
 * onto owner); the box is freed. */
SHADE_INTERNAL void shade_slot_take_(TALLOC_CTX *owner, shade_value *dst,
				     shade_value *box);

/* True when the talloc block `inner` is (or lies below) box's payload,
 * so moving box into inner would make a loop. */
SHADE_INTERNAL bool shade_box_contains_(const shade_value *box,
					const void *inner);

/* Install the destructor releasing the ref of a SHADE_REF box. */
SHADE_INTERNAL void shade_box_watch_ref_(shade_value *box);

/* Install the ref-releasing destructors of a seq / dict. */
SHADE_INTERNAL void shade_seq_watch_refs_(struct shade_seq *s);
SHADE_INTERNAL void shade_dict_watch_refs_(struct shade_dict *d);

/* Retain / release a ref through its head. */
SHADE_INTERNAL void shade_ref_retain_(struct shade_ref *r);
SHADE_INTERNAL void shade_ref_release_(struct shade_ref *r);

/* Deep copy of an error onto mem_ctx; NULL when out of memory. */
SHADE_INTERNAL shade_error *shade_error_copy_(TALLOC_CTX *mem_ctx,
					      const shade_error *e);

#endif /* SHADE_VALUE_INT_H */
