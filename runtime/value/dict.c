/*
 * dict.c - insertion-ordered dicts: compact entries plus an open-
 * addressing index (linear probing) of 32-bit entry positions.
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
		    shade_value_equal(&d->entries[ix].key, key)) {
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

/* ------------------------------------------------------------ public */

/* Fail with SHADE_ERR_TYPE unless v is a dict. */
static shade_status need_dict(const shade_value *v, shade_error **err)
{
	if (v != NULL && shade_value_kind(v) == SHADE_DICT)
		return SHADE_OK;
	return shade_error_set(err, SHADE_ERR_TYPE, "expected a dict, got %s",
			       v ? shade_kind_name(shade_value_kind(v)) : "NULL");
}

/* Hash key or fail with SHADE_ERR_TYPE. */
static shade_status need_key(const shade_value *key, uint64_t *h,
			     shade_error **err)
{
	if (key != NULL && shade_value_hash_(key, h))
		return SHADE_OK;
	return shade_error_set(err, SHADE_ERR_TYPE,
			       "unhashable dict key of kind %s",
			       key ? shade_kind_name(shade_value_kind(key))
				   : "NULL");
}

/* Fail with SHADE_ERR_KEY naming the key (Python: KeyError(key)). */
static shade_status key_error(const shade_value *key, shade_error **err)
{
	char *s = shade_value_diag(NULL, key);
	shade_status st = shade_error_set(err, SHADE_ERR_KEY, "%s",
					  s ? s : "key not found");

	talloc_free(s);
	return st;
}

size_t shade_dict_len(const shade_value *dict)
{
	return shade_value_kind(dict) == SHADE_DICT ? dict->u.dict->len : 0;
}

const shade_value *shade_dict_get(const shade_value *dict,
				  const shade_value *key)
{
	const struct shade_dict_entry *e;
	uint64_t h;

	if (shade_value_kind(dict) != SHADE_DICT || !shade_value_hash_(key, &h))
		return NULL;
	e = shade_dict_find_(dict->u.dict, key, h);
	return e ? &e->val : NULL;
}

const shade_value *shade_dict_get_str(const shade_value *dict,
				      const char *key)
{
	shade_value k = shade_value_none();
	size_t len = strlen(key);

	if (len > SHADE_STR_MAX)
		return NULL;
	k.tag = SHADE_STR | SHADE_VF_BORROWED | SHADE_VF_NUL;
	k.len = (uint32_t)len;
	k.u.s = key;
	return shade_dict_get(dict, &k);
}

shade_status shade_dict_lookup(const shade_value *dict,
			       const shade_value *key,
			       const shade_value **out, shade_error **err)
{
	const struct shade_dict_entry *e;
	uint64_t h;

	SHADE_CHECK(need_dict(dict, err));
	SHADE_CHECK(need_key(key, &h, err));
	e = shade_dict_find_(dict->u.dict, key, h);
	if (e == NULL)
		return key_error(key, err);
	*out = &e->val;
	return SHADE_OK;
}

/* Store the prepared slots k, v (owned by d) under hash h, replacing the
 * value of an existing equal key (whose key slot is kept). */
static shade_status dict_store(struct shade_dict *d, shade_value *k,
			       shade_value *v, uint64_t h, shade_error **err)
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
		return shade_error_set(err, st, "cannot grow the dict to %zu "
				       "entries", d->len + 1);
	}
	return SHADE_OK;
}

shade_status shade_dict_set(shade_value *dict, const shade_value *key,
			    const shade_value *val, shade_error **err)
{
	struct shade_dict *d;
	shade_value k, v;
	uint64_t h;

	SHADE_CHECK(need_dict(dict, err));
	SHADE_CHECK(need_key(key, &h, err));
	d = dict->u.dict;
	if (shade_slot_copy_(d, &k, key, NULL) != SHADE_OK)
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	if (shade_slot_copy_(d, &v, val, NULL) != SHADE_OK) {
		shade_slot_clear_(&k);
		return shade_error_set(err, SHADE_ERR_NOMEM, "out of memory");
	}
	return dict_store(d, &k, &v, h, err);
}

shade_status shade_dict_set_take(shade_value *dict, shade_value *key,
				 shade_value *val, shade_error **err)
{
	struct shade_dict *d;
	shade_value k, v;
	uint64_t h;
	shade_status st = need_dict(dict, err);

	if (st == SHADE_OK)
		st = need_key(key, &h, err);
	if (st == SHADE_OK && val == NULL)
		st = shade_error_set(err, SHADE_ERR_INVALID, "NULL value");
	if (st == SHADE_OK &&
	    (key == dict || val == dict ||
	     shade_box_contains_(key, dict->u.dict) ||
	     shade_box_contains_(val, dict->u.dict)))
		st = shade_error_set(err, SHADE_ERR_INVALID,
				     "cannot move a container into itself");
	if (st != SHADE_OK) {
		talloc_free(key);
		talloc_free(val);
		return st;
	}
	d = dict->u.dict;
	shade_slot_take_(d, &k, key);
	shade_slot_take_(d, &v, val);
	return dict_store(d, &k, &v, h, err);
}

shade_status shade_dict_set_str(shade_value *dict, const char *key,
				const shade_value *val, shade_error **err)
{
	shade_value k = shade_value_none();
	size_t len, bad;

	if (key == NULL)
		return shade_error_set(err, SHADE_ERR_INVALID, "NULL key");
	len = strlen(key);
	if (len > SHADE_STR_MAX)
		return shade_error_set(err, SHADE_ERR_LIMIT, "key too long");
	if (shade_utf8_check(key, len, &bad) != SHADE_OK)
		return shade_error_set(err, SHADE_ERR_UTF8,
				       "invalid UTF-8 at byte offset %zu", bad);
	k.tag = SHADE_STR | SHADE_VF_BORROWED | SHADE_VF_NUL;
	k.len = (uint32_t)len;
	k.u.s = key;
	return shade_dict_set(dict, &k, val, err);
}

shade_status shade_dict_delete(shade_value *dict, const shade_value *key,
			       shade_error **err)
{
	struct shade_dict *d;
	size_t where, pos;
	uint64_t h;

	SHADE_CHECK(need_dict(dict, err));
	SHADE_CHECK(need_key(key, &h, err));
	d = dict->u.dict;
	pos = find(d, key, h, &where);
	if (pos == SIZE_MAX)
		return key_error(key, err);
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
	return SHADE_OK;
}

bool shade_dict_contains(const shade_value *dict, const shade_value *key)
{
	return shade_dict_get(dict, key) != NULL;
}

bool shade_dict_next(const shade_value *dict, size_t *pos,
		     const shade_value **key, const shade_value **val)
{
	const struct shade_dict *d;

	if (shade_value_kind(dict) != SHADE_DICT)
		return false;
	d = dict->u.dict;
	while (*pos < d->used) {
		const struct shade_dict_entry *e = &d->entries[(*pos)++];

		if (shade_tag_kind_(&e->key) == SHADE_DELETED_)
			continue;
		if (key != NULL)
			*key = &e->key;
		if (val != NULL)
			*val = &e->val;
		return true;
	}
	return false;
}
