/*
 * hmap_int.h - a small open-addressing hash map from nonzero uint64 keys
 * to pointers, used for the connection tables (request ids, export ids,
 * object pointers, fingerprints).
 *
 * Invariants: key 0 marks an empty slot (callers never use key 0); the
 * table size is a power of two and at most 7/8 full; deletion shifts
 * later entries back (no tombstones), so lookups stay short after churn.
 */
#ifndef SHADE_HMAP_INT_H
#define SHADE_HMAP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shade/visibility.h"

/* Mix the bits of k (splitmix64 finaliser) so sequential ids and aligned
 * pointers spread over a table of cap slots (a power of two); returns a
 * slot index below cap. */
static inline size_t hmap_hash(uint64_t k, size_t cap)
{
	k ^= k >> 30;
	k *= UINT64_C(0xbf58476d1ce4e5b9);
	k ^= k >> 27;
	k *= UINT64_C(0x94d049bb133111eb);
	k ^= k >> 31;
	return (size_t)k & (cap - 1);
}

/* One slot of the map. */
struct hmap_slot {
	uint64_t key; /* 0 when the slot is empty */
	void *val;    /* the value stored for key */
	uint64_t aux; /* a second word stored with the value */
};

/* The map.  Embed it in a talloc object; its slot array becomes a talloc
 * child of the `owner` given to hmap_init. */
struct hmap {
	struct hmap_slot *slots; /* talloc array of cap slots, or NULL */
	size_t cap;              /* slots allocated (0 or a power of two) */
	size_t count;            /* keys present */
	void *owner;             /* talloc parent of the slot array */
};

/* Prepare an empty map whose storage hangs below owner. */
SHADE_INTERNAL void hmap_init(struct hmap *m, void *owner);

/* The value stored for key, or NULL. */
SHADE_INTERNAL void *hmap_get(const struct hmap *m, uint64_t key);

/* Store val for key (replacing; aux set to 0).  Returns false when out
 * of memory. */
SHADE_INTERNAL bool hmap_put(struct hmap *m, uint64_t key, void *val);

/* The slot of key, or NULL: its val and aux may be changed in place.
 * Valid until the next put or del. */
SHADE_INTERNAL struct hmap_slot *hmap_find(const struct hmap *m, uint64_t key);

/* Remove key; returns its value or NULL when absent. */
SHADE_INTERNAL void *hmap_del(struct hmap *m, uint64_t key);

/* Iterate: start with *pos = 0; returns true and the next key/value. */
SHADE_INTERNAL bool hmap_next(const struct hmap *m, size_t *pos,
			      uint64_t *key, void **val);

/* Free the storage and empty the map. */
SHADE_INTERNAL void hmap_clear(struct hmap *m);

#endif /* SHADE_HMAP_INT_H */
