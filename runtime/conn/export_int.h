/*
 * export_int.h - a connection's export table: the local objects handed
 * to the peer, found by export id (a request naming its target, a
 * reference coming back, RELEASE) and by object (the same object sent
 * twice gets the same id).
 *
 * Layout, chosen for memory (a server may hold 10^6 exports): one dense
 * array of entries plus two open-addressing tables of uint32 slots, one
 * hashed by export id, one by object address.  A slot holds an entry's
 * index plus one (0: empty); the key is read from the entry it points at,
 * so the tables carry no copy of it.  About 42 bytes per export at 10^6
 * (24-byte entries, 2 x 4-byte slots at most half full), against 96 for
 * two uint64 -> pointer maps.
 *
 * Invariants:
 * - ents[0 .. n) are the live entries, in no particular order; each has
 *   a distinct eid (never 0) and a distinct obj.  Removing an entry moves
 *   the last one into its place (both tables are repointed), so the array
 *   never has holes.
 * - by_eid and by_obj each hold exactly one slot per live entry; cap is 0
 *   or a power of two with n * 2 <= cap (at most half full, so a probe
 *   stays short although each step reads an entry); linear probing, and
 *   deletion shifts later slots back (no tombstones).
 * - Entry pointers are valid until the next etab_add or etab_del.
 * The table takes no lock and holds no count on the objects: its owner
 * (the connection, under its mutex) does both.
 */
#ifndef SHADE_EXPORT_INT_H
#define SHADE_EXPORT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shade/visibility.h"

struct shade_ref;

/* One export. */
struct export_entry {
	struct shade_ref *obj; /* the object (its owner holds one count) */
	uint64_t eid;          /* its export id on the wire, never 0 */
	uint64_t out;          /* references handed out and not released */
};

/* The table.  Embed it in a talloc object; its arrays become talloc
 * children of the `owner` given to etab_init. */
struct export_table {
	struct export_entry *ents; /* talloc array of ents_cap entries */
	size_t n;                  /* live entries: ents[0 .. n) */
	size_t ents_cap;           /* entries allocated */
	uint32_t *by_eid;          /* cap slots hashed by eid: index + 1 */
	uint32_t *by_obj;          /* cap slots hashed by obj: index + 1 */
	size_t cap;                /* slots in each table (0 or a power of
				    * two) */
	void *owner;               /* talloc parent of the arrays */
};

/* Prepare an empty table whose storage hangs below owner. */
SHADE_INTERNAL void etab_init(struct export_table *t, void *owner);

/* The entry of export id eid, or NULL. */
SHADE_INTERNAL struct export_entry *etab_by_eid(const struct export_table *t,
						uint64_t eid);

/* The entry of object obj, or NULL. */
SHADE_INTERNAL struct export_entry *
etab_by_obj(const struct export_table *t, const struct shade_ref *obj);

/* Add obj under eid (neither present, eid not 0) with out = 0; returns
 * the new entry, or NULL when out of memory (the table is unchanged). */
SHADE_INTERNAL struct export_entry *etab_add(struct export_table *t,
					     struct shade_ref *obj,
					     uint64_t eid);

/* Remove entry e (a live entry of t); returns its object, whose count
 * the caller now owns. */
SHADE_INTERNAL struct shade_ref *etab_del(struct export_table *t,
					  struct export_entry *e);

/* Free the storage and empty the table (the objects are not released:
 * read them from ents[0 .. n) first). */
SHADE_INTERNAL void etab_clear(struct export_table *t);

/* Bytes of memory the table holds. */
SHADE_INTERNAL size_t etab_bytes(const struct export_table *t);

#endif /* SHADE_EXPORT_INT_H */
