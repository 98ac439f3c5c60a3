/*
 * export.c - a connection's export table: dense entries plus two uint32
 * index tables (see export_int.h for the layout and its invariants).
 */
#include <talloc.h>

#include "conn/export_int.h"
#include "base/hmap_int.h"

/* The index table hashed by object (by_obj) or by export id. */
static uint32_t *etab_slots(const struct export_table *t, bool by_obj)
{
	return by_obj ? t->by_obj : t->by_eid;
}

/* The key of entry i in the table hashed by object or by export id. */
static uint64_t etab_key(const struct export_table *t, bool by_obj,
			 size_t i)
{
	return by_obj ? (uint64_t)(uintptr_t)t->ents[i].obj : t->ents[i].eid;
}

/* The slot holding key, or the empty slot where its probe ends (cap is
 * not 0, and a table at most half full always has an empty slot). */
static size_t etab_probe(const struct export_table *t, bool by_obj,
			 uint64_t key)
{
	const uint32_t *s = etab_slots(t, by_obj);
	size_t mask = t->cap - 1, i;

	for (i = hmap_hash(key, t->cap);; i = (i + 1) & mask)
		if (s[i] == 0 || etab_key(t, by_obj, s[i] - 1) == key)
			return i;
}

/* Point a slot of one table at entry i, whose key is not there yet. */
static void etab_place(struct export_table *t, bool by_obj, size_t i)
{
	etab_slots(t, by_obj)[etab_probe(t, by_obj, etab_key(t, by_obj, i))] =
		(uint32_t)(i + 1);
}

/* Empty slot i of one table, shifting later members of its cluster back
 * into the hole when their home slot does not lie between hole and
 * them. */
static void etab_unslot(struct export_table *t, bool by_obj, size_t i)
{
	uint32_t *s = etab_slots(t, by_obj);
	size_t mask = t->cap - 1, j;

	for (j = (i + 1) & mask; s[j] != 0; j = (j + 1) & mask) {
		size_t home = hmap_hash(etab_key(t, by_obj, s[j] - 1), t->cap);

		if (((j - home) & mask) >= ((j - i) & mask)) {
			s[i] = s[j];
			i = j;
		}
	}
	s[i] = 0;
}

/* Make room for one more entry: the array and, past half full, both
 * index tables double.  False when out of memory (nothing changed that
 * the table's content depends on). */
static bool etab_reserve(struct export_table *t)
{
	uint32_t *be, *bo;
	size_t ncap, i;

	if (t->n >= UINT32_MAX - 1)
		return false; /* an index plus one must fit a slot */
	if (t->n == t->ents_cap) {
		size_t nents = t->ents_cap ? t->ents_cap * 2 : 16;
		struct export_entry *ne = talloc_realloc(
			t->owner, t->ents, struct export_entry, nents);

		if (ne == NULL)
			return false;
		t->ents = ne;
		t->ents_cap = nents;
	}
	if ((t->n + 1) * 2 <= t->cap)
		return true;
	ncap = t->cap ? t->cap * 2 : 32;
	be = talloc_zero_array(t->owner, uint32_t, ncap);
	bo = talloc_zero_array(t->owner, uint32_t, ncap);
	if (be == NULL || bo == NULL) {
		talloc_free(be);
		talloc_free(bo);
		return false;
	}
	talloc_free(t->by_eid);
	talloc_free(t->by_obj);
	t->by_eid = be;
	t->by_obj = bo;
	t->cap = ncap;
	for (i = 0; i < t->n; i++) {
		etab_place(t, false, i);
		etab_place(t, true, i);
	}
	return true;
}

void etab_init(struct export_table *t, void *owner)
{
	t->ents = NULL;
	t->n = 0;
	t->ents_cap = 0;
	t->by_eid = NULL;
	t->by_obj = NULL;
	t->cap = 0;
	t->owner = owner;
}

struct export_entry *etab_by_eid(const struct export_table *t, uint64_t eid)
{
	size_t pos;

	if (t->n == 0)
		return NULL;
	pos = etab_probe(t, false, eid);
	return t->by_eid[pos] ? &t->ents[t->by_eid[pos] - 1] : NULL;
}

struct export_entry *etab_by_obj(const struct export_table *t,
				 const struct shade_ref *obj)
{
	size_t pos;

	if (t->n == 0)
		return NULL;
	pos = etab_probe(t, true, (uint64_t)(uintptr_t)obj);
	return t->by_obj[pos] ? &t->ents[t->by_obj[pos] - 1] : NULL;
}

struct export_entry *etab_add(struct export_table *t, struct shade_ref *obj,
			      uint64_t eid)
{
	struct export_entry *e;

	if (!etab_reserve(t))
		return NULL;
	e = &t->ents[t->n];
	e->obj = obj;
	e->eid = eid;
	e->out = 0;
	etab_place(t, false, t->n);
	etab_place(t, true, t->n);
	t->n++;
	return e;
}

struct shade_ref *etab_del(struct export_table *t, struct export_entry *e)
{
	size_t i = (size_t)(e - t->ents), last = t->n - 1;
	struct shade_ref *obj = e->obj;

	etab_unslot(t, false, etab_probe(t, false, e->eid));
	etab_unslot(t, true, etab_probe(t, true, (uint64_t)(uintptr_t)obj));
	if (i != last) {
		/* The last entry fills the hole: repoint its two slots. */
		t->by_eid[etab_probe(t, false, t->ents[last].eid)] =
			(uint32_t)(i + 1);
		t->by_obj[etab_probe(t, true, etab_key(t, true, last))] =
			(uint32_t)(i + 1);
		t->ents[i] = t->ents[last];
	}
	t->n--;
	return obj;
}

void etab_clear(struct export_table *t)
{
	talloc_free(t->ents);
	talloc_free(t->by_eid);
	talloc_free(t->by_obj);
	etab_init(t, t->owner);
}

size_t etab_bytes(const struct export_table *t)
{
	return t->ents_cap * sizeof(struct export_entry) +
	       2 * t->cap * sizeof(uint32_t);
}
