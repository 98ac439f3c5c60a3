/*
 * hmap.c - open-addressing uint64 -> pointer map (see hmap_int.h).
 */
#include <talloc.h>

#include "base/hmap_int.h"

void hmap_init(struct hmap *m, void *owner)
{
	m->slots = NULL;
	m->cap = 0;
	m->count = 0;
	m->owner = owner;
}

struct hmap_slot *hmap_find(const struct hmap *m, uint64_t key)
{
	size_t i;

	if (m->cap == 0 || key == 0)
		return NULL;
	for (i = hmap_hash(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
		if (m->slots[i].key == key)
			return &m->slots[i];
		if (m->slots[i].key == 0)
			return NULL;
	}
}

void *hmap_get(const struct hmap *m, uint64_t key)
{
	struct hmap_slot *sl = hmap_find(m, key);

	return sl ? sl->val : NULL;
}

/* Insert without growing; the caller made room. */
static void hmap_insert(struct hmap_slot *slots, size_t cap, uint64_t key,
			void *val, uint64_t aux, size_t *count)
{
	size_t i;

	for (i = hmap_hash(key, cap);; i = (i + 1) & (cap - 1)) {
		if (slots[i].key == key) {
			slots[i].val = val;
			slots[i].aux = aux;
			return;
		}
		if (slots[i].key == 0) {
			slots[i].key = key;
			slots[i].val = val;
			slots[i].aux = aux;
			(*count)++;
			return;
		}
	}
}

bool hmap_put(struct hmap *m, uint64_t key, void *val)
{
	if ((m->count + 1) * 8 > m->cap * 7) {
		size_t ncap = m->cap ? m->cap * 2 : 16, i, n = 0;
		struct hmap_slot *ns = talloc_zero_array(m->owner,
							 struct hmap_slot,
							 ncap);

		if (ns == NULL)
			return false;
		for (i = 0; i < m->cap; i++)
			if (m->slots[i].key != 0)
				hmap_insert(ns, ncap, m->slots[i].key,
					    m->slots[i].val, m->slots[i].aux,
					    &n);
		talloc_free(m->slots);
		m->slots = ns;
		m->cap = ncap;
		m->count = n;
	}
	hmap_insert(m->slots, m->cap, key, val, 0, &m->count);
	return true;
}

void *hmap_del(struct hmap *m, uint64_t key)
{
	size_t i, j, mask = m->cap - 1;
	void *val;

	if (m->cap == 0 || key == 0)
		return NULL;
	for (i = hmap_hash(key, m->cap);; i = (i + 1) & mask) {
		if (m->slots[i].key == 0)
			return NULL;
		if (m->slots[i].key == key)
			break;
	}
	val = m->slots[i].val;
	/* Backward-shift deletion: move later members of the cluster into
	 * the hole when their home slot does not lie between hole and them. */
	for (j = (i + 1) & mask; m->slots[j].key != 0; j = (j + 1) & mask) {
		size_t home = hmap_hash(m->slots[j].key, m->cap);

		if (((j - home) & mask) >= ((j - i) & mask)) {
			m->slots[i] = m->slots[j];
			i = j;
		}
	}
	m->slots[i].key = 0;
	m->slots[i].val = NULL;
	m->slots[i].aux = 0;
	m->count--;
	return val;
}

bool hmap_next(const struct hmap *m, size_t *pos, uint64_t *key, void **val)
{
	while (*pos < m->cap) {
		size_t i = (*pos)++;

		if (m->slots[i].key != 0) {
			if (key != NULL)
				*key = m->slots[i].key;
			if (val != NULL)
				*val = m->slots[i].val;
			return true;
		}
	}
	return false;
}

void hmap_clear(struct hmap *m)
{
	talloc_free(m->slots);
	m->slots = NULL;
	m->cap = 0;
	m->count = 0;
}
