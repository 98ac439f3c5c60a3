/*
 * import.c - a connection's import table: one open-addressing table of
 * proxy pointers keyed by the eid each proxy holds (see import_int.h for
 * the layout and its invariants).
 */
#include <talloc.h>

#include "conn/conn_int.h"
#include "conn/import_int.h"
#include "base/hmap_int.h"

/* The home slot of eid in a table of cap slots (cap < 2^32): 32 mixed
 * bits of the key scaled to cap, which need not be a power of two. */
static size_t itab_home(uint64_t eid, size_t cap)
{
	uint64_t h = hmap_hash(eid, (size_t)1 << 32);

	return (size_t)((h * (uint64_t)cap) >> 32);
}

/* The slot after i, wrapping at cap. */
static size_t itab_step(size_t i, size_t cap)
{
	return i + 1 == cap ? 0 : i + 1;
}

/* The slot holding eid's proxy, or the empty slot where its probe ends
 * (cap is not 0, and a table at most 7/8 full has an empty slot). */
static size_t itab_probe(struct proxy *const *s, size_t cap, uint64_t eid)
{
	size_t i;

	for (i = itab_home(eid, cap);; i = itab_step(i, cap))
		if (s[i] == NULL || s[i]->eid == eid)
			return i;
}

void itab_init(struct import_table *t, void *owner)
{
	t->slots = NULL;
	t->cap = 0;
	t->n = 0;
	t->owner = owner;
}

struct proxy *itab_get(const struct import_table *t, uint64_t eid)
{
	if (t->cap == 0 || eid == 0)
		return NULL;
	return t->slots[itab_probe(t->slots, t->cap, eid)];
}

/* Move the table to ncap slots; false when out of memory. */
static bool itab_resize(struct import_table *t, size_t ncap)
{
	struct proxy **ns = talloc_zero_array(t->owner, struct proxy *, ncap);
	size_t i;

	if (ns == NULL)
		return false;
	for (i = 0; i < t->cap; i++)
		if (t->slots[i] != NULL)
			ns[itab_probe(ns, ncap, t->slots[i]->eid)] =
				t->slots[i];
	talloc_free(t->slots);
	t->slots = ns;
	t->cap = ncap;
	return true;
}

bool itab_add(struct import_table *t, struct proxy *p)
{
	if ((t->n + 1) * 8 > t->cap * 7) {
		size_t ncap = t->cap ? t->cap + t->cap / 2 : ITAB_MIN;

		if (ncap >= (size_t)1 << 32 || !itab_resize(t, ncap))
			return false;
	}
	t->slots[itab_probe(t->slots, t->cap, p->eid)] = p;
	t->n++;
	return true;
}

void itab_del(struct import_table *t, const struct proxy *p)
{
	struct proxy **s = t->slots;
	size_t cap = t->cap, i, j;

	if (cap == 0)
		return;
	i = itab_probe(s, cap, p->eid);
	if (s[i] != p)
		return;
	/* Backward-shift deletion: move a later member of the cluster into
	 * the hole when its home slot does not lie between hole and it. */
	for (j = itab_step(i, cap); s[j] != NULL; j = itab_step(j, cap)) {
		size_t home = itab_home(s[j]->eid, cap);

		if ((j + cap - home) % cap >= (j + cap - i) % cap) {
			s[i] = s[j];
			i = j;
		}
	}
	s[i] = NULL;
	t->n--;
}

struct proxy *itab_next(const struct import_table *t, size_t *pos)
{
	while (*pos < t->cap) {
		struct proxy *p = t->slots[(*pos)++];

		if (p != NULL)
			return p;
	}
	return NULL;
}

void itab_clear(struct import_table *t)
{
	TALLOC_FREE(t->slots);
	t->cap = 0;
	t->n = 0;
}

size_t itab_bytes(const struct import_table *t)
{
	return t->cap * sizeof(*t->slots);
}
