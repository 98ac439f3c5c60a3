/*
 * import_int.h - a connection's import table: the proxies of the peer's
 * exports, found by export id (a tag 200 arriving for an import that
 * already has a proxy gets the same one).
 *
 * Layout, chosen for memory (a client may hold 10^6 proxies): one
 * open-addressing table of proxy pointers; the key is read from the
 * proxy a slot points at (p->eid) and the count of references received
 * lives in the proxy (ref.received), so a slot is one pointer.  The slot
 * count grows by half (any size, not a power of two: a slot index is the
 * hash scaled to the size), so the table stays between 7/12 and 7/8
 * full: 9 to 14 bytes a proxy, against 27 to 55 for a uint64 -> pointer
 * map of 24-byte slots doubling at 7/8.
 *
 * Invariants:
 * - each live import has exactly one slot; no two slots point at proxies
 *   of the same eid; an eid is never 0;
 * - cap is 0 or at least ITAB_MIN, and n * 8 <= cap * 7 (there is always
 *   an empty slot, so a probe ends); linear probing, and deletion shifts
 *   later slots back (no tombstones).
 * The table takes no lock and holds no count on the proxies (weak): its
 * owner (the connection, under its mutex) does both.
 */
#ifndef SHADE_IMPORT_INT_H
#define SHADE_IMPORT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shade/visibility.h"

struct proxy;

/* Slots of a table's first allocation. */
#define ITAB_MIN 16u

/* The table.  Embed it in a talloc object; its slot array becomes a
 * talloc child of the `owner` given to itab_init. */
struct import_table {
	struct proxy **slots; /* talloc array of cap slots (NULL: empty) */
	size_t cap;           /* slots allocated */
	size_t n;             /* proxies present */
	void *owner;          /* talloc parent of the slot array */
};

/* Prepare an empty table whose storage hangs below owner. */
SHADE_INTERNAL void itab_init(struct import_table *t, void *owner);

/* The proxy of export eid, or NULL. */
SHADE_INTERNAL struct proxy *itab_get(const struct import_table *t,
				      uint64_t eid);

/* Add p, whose eid (not 0) is not in the table.  Returns false when out
 * of memory (the table is unchanged). */
SHADE_INTERNAL bool itab_add(struct import_table *t, struct proxy *p);

/* Remove p (present in the table). */
SHADE_INTERNAL void itab_del(struct import_table *t, const struct proxy *p);

/* Iterate: start with *pos = 0; returns the next proxy, or NULL at the
 * end.  The table must not change meanwhile. */
SHADE_INTERNAL struct proxy *itab_next(const struct import_table *t,
				       size_t *pos);

/* Free the storage and empty the table (the proxies are not touched). */
SHADE_INTERNAL void itab_clear(struct import_table *t);

/* Bytes the table holds (its slot array). */
SHADE_INTERNAL size_t itab_bytes(const struct import_table *t);

#endif /* SHADE_IMPORT_INT_H */
