/*
 * dict.c - dict storage (struct shade_dict), insertion-ordered: compact
 * entries plus an open-addressing index (linear probing) of 32-bit entry
 * positions.  Finding, inserting, replacing and removing entries, the
 * destructor releasing refs, and the dict's part of deep copy and
 * equality (item copy and equality passed in by copy.c / compare.c).
 * Keys are compared with hash.c's shade_key_equal_.
 *
 * Invariants (see also value_int.h):
 *   - entries[0..used-1] are in insertion order; deleted ones are holes
 *     whose key tag is SHADE_DELETED_ and whose index position holds
 *     SHADE_IX_DUMMY;
 *   - the index has mask+1 >= 8 positions, a power of two, more than
 *     cap * 3/2, so at least a third of it is always SHADE_IX_EMPTY and
 *     every probe ends;
 *   - entries and index live in one talloc block, `table`, child of the
 *     dict; slot payloads are children of the dict itself, so they
 *     survive a table resize.
 */
#include <string.h>

#include <talloc.h>

#include "shade/value.h"
#include "value/value_int.h"

/* Destructor of a dict holding refs. */
static int dict_destructor(struct shade_dict *d)
{
	size_t i;

	for (i = 0; i < d->used; i++)
		if (shade_tag_kind_(&d->entries[i].val) == SHADE_REF)
			shade_ref_release_(d->entries[i].val.u.ref);
	return 0;
}

/* Make a dict release the refs in its slots when freed. */
void shade_dict_watch_refs_(struct shade_dict *d)
{
	if (!d->has_refs) {
		d->has_refs = true;
		talloc_set_destructor(d, dict_destructor);
	}
}

/* Index position of entry with hash h: the first empty one on its probe
 * sequence. */
static size_t probe_empty(const struct shade_dict *d, uint64_t h)
{
	size_t i = (size_t)h & d->mask;

	while (d->index[i] != SHADE_IX_EMPTY)
		i = (i + 1) & d->mask;
	return i;
}

/* Rebuild storage for ncap entries, dropping holes. */
static shade_status table_resize(struct shade_dict *d, size_t ncap)
{
	size_t ix = 8, i, n = 0, esz;
	struct shade_dict_entry *ne;
	void *t;

	if (ncap > SHADE_DICT_MAX)
		return SHADE_ERR_LIMIT;
	while (ix <= ncap + ncap / 2)
		ix *= 2;
	esz = ncap * sizeof(struct shade_dict_entry);
	if (ix > (SIZE_MAX - esz) / sizeof(uint32_t))
		return SHADE_ERR_NOMEM;
	t = talloc_size(d, esz + ix * sizeof(uint32_t));
	if (t == NULL)
		return SHADE_ERR_NOMEM;
	talloc_set_name_const(t, "shade dict table");
	ne = t;
	for (i = 0; i < d->used; i++)
		if (shade_tag_kind_(&d->entries[i].key) != SHADE_DELETED_)
			ne[n++] = d->entries[i];
	talloc_free(d->table);
	d->table = t;
	d->entries = ne;
	d->index = (uint32_t *)((char *)t + esz);
	d->mask = ix - 1;
	d->cap = ncap;
	d->used = n;
	memset(d->index, 0xff, ix * sizeof(uint32_t));
	for (i = 0; i < n; i++)
		d->index[probe_empty(d, ne[i].hash)] = (uint32_t)i;
	return SHADE_OK;
}

/* A new dict on owner with room for cap entries. */
struct shade_dict *shade_dict_alloc_(TALLOC_CTX *owner, size_t cap)
{
	struct shade_dict *d = talloc_zero(owner, struct shade_dict);

	if (d == NULL)
		return NULL;
	if (cap > 0 && table_resize(d, cap) != SHADE_OK) {
		talloc_free(d);
		return NULL;
	}
	return d;
}

/* Find key (hash h): returns its entry position or SIZE_MAX; *where is
 * the index position holding it, or the position to insert at. */
static size_t find(const struct shade_dict *d, const shade_value *key,
		   uint64_t h, size_t *where)
{
	size_t i, dummy = SIZE_MAX;

	if (d->index == NULL) {
		*where = SIZE_MAX;
		return SIZE_MAX;
	}
	for (i = (size_t)h & d->mask;; i = (i + 1) & d->mask) {
		uint32_t ix = d->index[i];

		if (ix == SHADE_IX_EMPTY) {
			*where = dummy != SIZE_MAX ? dummy : i;
			return SIZE_MAX;
		}
		if (ix == SHADE_IX_DUMMY) {
			if (dummy == SIZE_MAX)
				dummy = i;
			continue;
		}
		if (d->entries[ix].hash == h &&
		    shade_key_equal_(&d->entries[ix].key, key)) {
			*where = i;
			return ix;
		}
	}
}

const struct shade_dict_entry *shade_dict_find_(const struct shade_dict *d,
						const shade_value *key,
						uint64_t h)
{
	size_t where, pos = find(d, key, h, &where);

	return pos == SIZE_MAX ? NULL : &d->entries[pos];
}

/* Insert key/val moved in, unless key is present (SHADE_AGAIN). */
shade_status shade_dict_add_new_(struct shade_dict *d, shade_value *key,
				 shade_value *val, uint64_t hash)
{
	size_t where, pos = find(d, key, hash, &where);
	struct shade_dict_entry *e;

	if (pos != SIZE_MAX)
		return SHADE_AGAIN;
	if (d->used == d->cap) {
		size_t ncap = d->cap < 4 ? 4 :
			      d->len < d->cap / 2 ? d->cap : d->cap * 2;
		shade_status st = table_resize(d, ncap);

		if (st != SHADE_OK)
			return st;
		find(d, key, hash, &where);
	}
	e = &d->entries[d->used];
	e->key = *key;
	e->val = *val;
	e->hash = hash;
	d->index[where] = (uint32_t)d->used;
	d->used++;
	d->len++;
	if (shade_tag_kind_(val) == SHADE_REF)
		shade_dict_watch_refs_(d);
	return SHADE_OK;
}

/* Store k, v (slots owned by d) under hash h, replacing the value of an
 * equal key (whose key slot is kept).  On failure both are cleared. */
shade_status shade_dict_store_(struct shade_dict *d, shade_value *k,
			       shade_value *v, uint64_t h)
{
	size_t where, pos = find(d, k, h, &where);
	shade_status st;

	if (pos != SIZE_MAX) {
		shade_slot_clear_(k);
		shade_slot_clear_(&d->entries[pos].val);
		d->entries[pos].val = *v;
		if (shade_tag_kind_(v) == SHADE_REF)
			shade_dict_watch_refs_(d);
		return SHADE_OK;
	}
	st = shade_dict_add_new_(d, k, v, h);
	if (st != SHADE_OK) {
		shade_slot_clear_(k);
		shade_slot_clear_(v);
	}
	return st;
}

/* Remove the entry whose key equals key (hash h); false when absent. */
bool shade_dict_remove_(struct shade_dict *d, const shade_value *key,
			uint64_t h)
{
	size_t where, pos = find(d, key, h, &where);

	if (pos == SIZE_MAX)
		return false;
	shade_slot_clear_(&d->entries[pos].key);
	shade_slot_clear_(&d->entries[pos].val);
	d->entries[pos].key.tag = SHADE_DELETED_;
	d->index[where] = SHADE_IX_DUMMY;
	d->len--;
	if (d->len == 0) {
		/* forget the holes: start over in the same table */
		d->used = 0;
		memset(d->index, 0xff, (d->mask + 1) * sizeof(uint32_t));
	}
	return true;
}

/* Copy a dict's storage onto owner (entries keep their order), keys
 * and values through copy. */
shade_status shade_dict_copy_(TALLOC_CTX *owner, struct shade_dict **out,
			      const struct shade_dict *src,
			      shade_slot_copy_fn copy)
{
	struct shade_dict *d = shade_dict_alloc_(owner, src->len);
	size_t i = 0;
	shade_status st;

	if (d == NULL)
		return SHADE_ERR_NOMEM;
	for (i = 0; i < src->used; i++) {
		const struct shade_dict_entry *e = &src->entries[i];
		shade_value k, v;

		if (shade_tag_kind_(&e->key) == SHADE_DELETED_)
			continue;
		st = copy(d, &k, &e->key, NULL);
		if (st == SHADE_OK) {
			st = copy(d, &v, &e->val, NULL);
			if (st != SHADE_OK)
				shade_slot_clear_(&k);
		}
		if (st == SHADE_OK) {
			if (shade_tag_kind_(&v) == SHADE_REF)
				shade_dict_watch_refs_(d);
			st = shade_dict_add_new_(d, &k, &v, e->hash);
			if (st != SHADE_OK) {
				shade_slot_clear_(&k);
				shade_slot_clear_(&v);
			}
		}
		if (st != SHADE_OK) {
			talloc_free(d);
			return st;
		}
	}
	*out = d;
	return SHADE_OK;
}

/* Equality of two dicts: same pairs, any order, values compared by eq. */
bool shade_dict_equal_(const struct shade_dict *a, const struct shade_dict *b,
		       shade_value_eq_fn eq)
{
	size_t i = 0;

	if (a->len != b->len)
		return false;
	for (i = 0; i < a->used; i++) {
		const struct shade_dict_entry *e = &a->entries[i];
		const struct shade_dict_entry *o;

		if (shade_tag_kind_(&e->key) == SHADE_DELETED_)
			continue;
		o = shade_dict_find_(b, &e->key, e->hash);
		if (o == NULL || !eq(&e->val, &o->val))
			return false;
	}
	return true;
}
